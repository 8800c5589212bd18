import * as tf from '@tensorflow/tfjs-core';
import type { Discriminator, Generator } from '../src/index';

/** Copies of every variable's values, to prove what an update did or did not move. */
export function snapshot(vars: readonly tf.Variable[]): Float32Array[] {
  return vars.map((v) => v.dataSync() as Float32Array).map((a) => a.slice());
}

/** Largest absolute change between a snapshot and the variables now. */
export function maxChange(before: readonly Float32Array[], vars: readonly tf.Variable[]): number {
  let m = 0;
  vars.forEach((v, i) => {
    const now = v.dataSync();
    const was = before[i] as Float32Array;
    for (let j = 0; j < now.length; j++) m = Math.max(m, Math.abs((now[j] as number) - (was[j] as number)));
  });
  return m;
}

/** Variables of both models, for "nothing changed" assertions. */
export function allVariables(g: Generator, d: Discriminator): tf.Variable[] {
  return [...g.trainableVariables, ...d.trainableVariables];
}

/** Samples of N(mean, std²) as an [n, 1] tensor, seeded. */
export function gaussian(n: number, mean: number, std: number, seed: number): tf.Tensor2D {
  return tf.tidy(() => tf.add(tf.mul(tf.randomNormal([n, 1], 0, 1, 'float32', seed), std), mean)) as tf.Tensor2D;
}
