// Node side of the conformance suite: runs tests/conformance/cases.ts on a backend and on cpu in this process.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { type BackendResults, runConformance } from './cases';
import { conformanceSuite } from './suite';

/** The suite for `backend` (already registered), with the cpu reference computed in the same run. */
export function nodeConformanceSuite(backend: string, title = `conformance on the ${backend} backend (Node)`): void {
  conformanceSuite(title, async () => {
    const reference = await runConformance('cpu');
    let results: BackendResults;
    try {
      results = await runConformance(backend); // for 'cpu', a second run: determinism
    } finally {
      await tf.setBackend('cpu');
    }
    return { results, reference };
  });
}
