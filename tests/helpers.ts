import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import {
  type BackendTuneUpOptions,
  type Discriminator,
  GANTrainer,
  type Generator,
  mlpDiscriminator,
  mlpGenerator,
} from '../src/index';

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

/**
 * Trains a tiny MLP GAN (6 features, two hidden layers of 16) on the active backend with the given
 * backend tune-up: one epoch, one profiled step, two more epochs (checked to hold no new tensors).
 * Returns the final weights, the losses of the last two epochs and the kernels of the profiled step —
 * for "the same bits with a tune-up as without it" tests.
 */
export async function trainTinyMlpGan(
  backendTuneUp: BackendTuneUpOptions,
): Promise<{ weights: Float32Array[]; losses: number[][]; kernels: string[] }> {
  const t = new GANTrainer({
    generator: mlpGenerator({ latentDim: 4, hiddenUnits: [16, 16], outputShape: [6], seed: 1 }),
    discriminator: mlpDiscriminator({ inputShape: [6], hiddenUnits: [16, 16], seed: 2 }),
    seed: 4,
    backendTuneUp,
  });
  const data = tf.randomUniform([24, 6], -1, 1, 'float32', 3);
  await t.fit(data, { batchSize: 8 });
  const held = tf.memory().numTensors;
  const batch = tf.slice(data, 0, 8);
  const kernels = (
    await tf.profile(async () => {
      await t.step(batch);
    })
  ).kernels.map((k) => k.name);
  batch.dispose();
  const h = await t.fit(data, { batchSize: 8, epochs: 2 });
  expect(tf.memory().numTensors).toBe(held);
  const weights = snapshot(allVariables(t.generator, t.discriminator));
  data.dispose();
  t.dispose();
  return { weights, losses: h.steps.map((s) => [s.dLoss, s.gLoss]), kernels };
}
