import { readFile } from 'node:fs/promises';
import type * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { GANTrainer, mlpDiscriminator, mlpGenerator } from '../../src/index';
import { browserAvailability, openPage } from './harness';

const browser = browserAvailability();

describe.runIf(browser.run)(`checkpoints in a real browser (${browser.reason})`, () => {
  it('saves and restores through indexeddb:// and downloads://, and exports to a LayersModel tf.loadLayersModel reads', async () => {
    const session = await openPage('tests/browser/pages/checkpoint-page.ts');
    try {
      const downloads: Record<string, Buffer> = {};
      session.page.on('download', async (d) => {
        downloads[d.suggestedFilename()] = await readFile((await d.path()) as string);
      });
      const r = await session.page.evaluate(() =>
        (globalThis as unknown as { runCheckpoints: () => Promise<Record<string, unknown>> }).runCheckpoints(),
      );
      expect(r.backend).toBe('cpu');
      expect(r.got).toEqual(r.expected); // resumed in the browser from IndexedDB: identical losses
      expect(r.sameAfter).toBe(true);
      expect(r.differedBefore).toBe(true);
      (r.exported as number[]).forEach((v, i) => {
        expect(v).toBeCloseTo((r.direct as number[])[i] as number, 5);
      });
      // downloads:// wrote the checkpoint as two files; restore them in Node through an IOHandler.
      await expect
        .poll(() => Object.keys(downloads).sort(), { timeout: 10_000 })
        .toEqual(['tfjs-gan-ckpt.json', 'tfjs-gan-ckpt.weights.bin']);
      const json = JSON.parse((downloads['tfjs-gan-ckpt.json'] as Buffer).toString('utf8'));
      const bin = downloads['tfjs-gan-ckpt.weights.bin'] as Buffer;
      const handler: tf.io.IOHandler = {
        load: async () => ({
          modelTopology: json.modelTopology,
          weightSpecs: json.weightsManifest[0].weights,
          weightData: new Uint8Array(bin).buffer,
        }),
      };
      const node = await GANTrainer.load(handler, {
        generator: mlpGenerator({ latentDim: 2, hiddenUnits: [8], outputShape: [2], outputActivation: 'linear', seed: 7 }),
        discriminator: mlpDiscriminator({ inputShape: [2], hiddenUnits: [8], seed: 8 }),
      });
      expect(node.stepCount).toBe(1);
      expect(node.generator.trainableVariables.map((v) => Array.from(v.dataSync()))).toEqual(r.savedWeights);
      node.dispose();
    } finally {
      await session.close();
    }
  }, 120_000);
});
