import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  dcganDiscriminator,
  dcganGenerator,
  GANTrainer,
  type LossName,
  losses,
  mlpDiscriminator,
  mlpGenerator,
} from '../src/index';
import { gaussian } from './helpers';

const STEPS = 200;

function mlpTrainer(loss: LossName, discriminatorSteps = 1) {
  return new GANTrainer({
    generator: mlpGenerator({ latentDim: 2, hiddenUnits: [8], outputShape: [1], outputActivation: 'linear', seed: 1 }),
    discriminator: mlpDiscriminator({ inputShape: [1], hiddenUnits: [8], seed: 2 }),
    loss,
    discriminatorSteps,
    seed: 3,
  });
}

describe('no tensor leaks: numTensors after step 2 equals numTensors after step 200', () => {
  for (const loss of losses.lossNames) {
    it(`step() path, ${loss}`, async () => {
      const t = mlpTrainer(loss);
      const batch = gaussian(16, 0, 1, 1);
      const counts: number[] = [];
      for (let i = 1; i <= STEPS; i++) {
        await t.step(batch);
        if (i === 2 || i === STEPS) counts.push(tf.memory().numTensors);
      }
      expect(counts[1]).toBe(counts[0]);
      batch.dispose();
      t.dispose();
    });

    it(`fit() path, ${loss}, k = 2`, async () => {
      const start = tf.memory().numTensors;
      const t = mlpTrainer(loss, 2);
      const data = gaussian(16 * 2 * 50, 0, 1, 1);
      const counts: number[] = [];
      const history = await t.fit(data, {
        epochs: 4,
        batchSize: 16,
        callbacks: [{ onStepEnd: (l) => void ((l.step === 1 || l.step === STEPS - 1) && counts.push(tf.memory().numTensors)) }],
      });
      expect(history.steps).toHaveLength(STEPS);
      expect(counts).toHaveLength(2);
      expect(counts[1]).toBe(counts[0]);
      data.dispose();
      t.dispose();
      // Disposing the trainer frees its models and optimizer state: back to where we started.
      expect(tf.memory().numTensors).toBe(start);
    });
  }

  it('DCGAN with batch norm (moving statistics), fit path', async () => {
    const t = new GANTrainer({
      generator: dcganGenerator({ latentDim: 4, imageSize: 8, baseFilters: 2, seed: 1 }),
      discriminator: dcganDiscriminator({ imageSize: 8, baseFilters: 2, seed: 2 }),
      loss: 'hinge',
      seed: 1,
    });
    const data = tf.randomUniform([4 * 60, 8, 8, 1], -1, 1, 'float32', 1);
    const counts: number[] = [];
    await t.fit(data, {
      epochs: 1,
      batchSize: 4,
      callbacks: [{ onStepEnd: (l) => void ((l.step === 1 || l.step === 59) && counts.push(tf.memory().numTensors)) }],
    });
    expect(counts[1]).toBe(counts[0]);
    const s = t.sample(2);
    expect(s.shape).toEqual([2, 8, 8, 1]);
    tf.dispose([s, data]);
    t.dispose();
  });
});
