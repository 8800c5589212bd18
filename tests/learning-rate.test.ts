// Learning-rate schedules: linearDecay's values, and learningRateSchedule driving the trainer's optimizers
// from the global step — the rate really used, no leak when the rate changes every step, errors before a step.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { describe, expect, it } from 'vitest';
import { GANConfigError, GANTrainer, learningRateSchedule, linearDecay } from '../src/index';
import { ringData, smallModels, weightsOf } from './fixtures/models';

/** Trainable weights only (G's batch-norm statistics move in every training-mode forward pass, whatever the rate). */
const trainableOf = (t: GANTrainer) =>
  [...t.generator.trainableVariables, ...t.discriminator.trainableVariables].map((v) => Array.from(v.dataSync()));
const lrOf = (o: tf.Optimizer) => (o as unknown as { learningRate: number }).learningRate;

function trainer(seed = 1, lr = 1e-3) {
  const models = smallModels(seed);
  return {
    models,
    trainer: new GANTrainer({
      ...models,
      seed,
      generatorOptimizer: tf.train.adam(lr, 0.5),
      discriminatorOptimizer: tf.train.adam(lr, 0.5),
    }),
  };
}

/** Two epochs of fit with both optimizers' rate set by `schedule`. */
async function fitScheduled(t: GANTrainer, data: tf.Tensor2D, schedule: (step: number) => number): Promise<void> {
  await t.fit(data, {
    epochs: 2,
    batchSize: 32,
    callbacks: [learningRateSchedule({ optimizers: [t.generatorOptimizer, t.discriminatorOptimizer], schedule })],
  });
}

describe('linearDecay', () => {
  it('holds, then moves linearly to the end value, then stays', () => {
    const f = linearDecay({ from: 1e-3, to: 1e-4, steps: 10, hold: 4 });
    expect([0, 4].map(f)).toEqual([1e-3, 1e-3]);
    expect(f(7)).toBeCloseTo(1e-3 + (1e-4 - 1e-3) * 0.5, 12);
    expect([10, 50].map(f)).toEqual([1e-4, 1e-4]);
    expect(linearDecay({ from: 2, steps: 4 })(3)).toBeCloseTo(0.5, 12);
  });

  it('rejects bad options with a GANConfigError', () => {
    for (const o of [
      { from: -1, steps: 5 },
      { from: Number.NaN, steps: 5 },
      { from: 1, to: -1, steps: 5 },
      { from: 1, steps: 0 },
      { from: 1, steps: 2.5 },
      { from: 1, steps: 5, hold: 5 },
    ]) {
      expect(() => linearDecay(o)).toThrow(GANConfigError);
    }
  });
});

describe('learningRateSchedule', () => {
  it('drives every tfjs optimizer: a schedule of 0 leaves a variable alone (SGD and momentum cache their rate)', async () => {
    const makers = [
      () => tf.train.sgd(0.5),
      () => tf.train.momentum(0.5, 0.9),
      () => tf.train.adam(0.5),
      () => tf.train.rmsprop(0.5),
      () => tf.train.adagrad(0.5),
      () => tf.train.adamax(0.5),
    ];
    for (const make of makers) {
      const v = tf.variable(tf.scalar(1));
      const opt = make();
      learningRateSchedule({ optimizers: [opt], schedule: () => 0 }).apply(0);
      opt.applyGradients([{ name: v.name, tensor: tf.scalar(2) }]);
      expect(v.dataSync()[0]).toBe(1);
      learningRateSchedule({ optimizers: [opt], schedule: () => 0.25 }).apply(1);
      opt.applyGradients([{ name: v.name, tensor: tf.scalar(2) }]);
      expect(v.dataSync()[0]).toBeLessThan(1); // and a positive rate moves it again
      opt.dispose();
      v.dispose();
    }
  });

  it("sets both optimizers' rate from the global step, across fit calls", async () => {
    const { trainer: t } = trainer();
    const data = ringData(64, 2);
    const seen: number[] = [];
    const schedule = learningRateSchedule({
      optimizers: [t.generatorOptimizer, t.discriminatorOptimizer],
      schedule: (step) => {
        seen.push(step);
        return 1e-3 / (step + 1);
      },
    });
    await t.fit(data, { epochs: 1, batchSize: 32, callbacks: [schedule] });
    await t.fit(data, { epochs: 1, batchSize: 32, callbacks: [schedule] });
    expect(seen).toEqual([0, 1, 2, 3]);
    expect(lrOf(t.generatorOptimizer)).toBeCloseTo(1e-3 / 4, 12);
    expect(lrOf(t.discriminatorOptimizer)).toBeCloseTo(1e-3 / 4, 12);
    t.dispose();
    data.dispose();
  });

  it('is the rate the update uses: a schedule of 0 freezes both models, a constant one changes nothing', async () => {
    const data = ringData(64, 3);
    const frozen = trainer(5);
    const before = trainableOf(frozen.trainer);
    await fitScheduled(frozen.trainer, data, () => 0);
    expect(trainableOf(frozen.trainer)).toEqual(before);

    // The same rate through the schedule as fixed in the optimizer: the same weights, bit for bit.
    const plain = trainer(6);
    const scheduled = trainer(6, 0.5);
    const initial = trainableOf(plain.trainer);
    await plain.trainer.fit(data, { epochs: 2, batchSize: 32 });
    await fitScheduled(scheduled.trainer, data, () => 1e-3);
    expect(weightsOf(scheduled.models)).toEqual(weightsOf(plain.models));
    expect(trainableOf(plain.trainer)).not.toEqual(initial);
    for (const x of [frozen, plain, scheduled]) x.trainer.dispose();
    data.dispose();
  });

  it('holds no tensors when the rate changes every step (the fused Adam re-caches its constants)', async () => {
    const { trainer: t } = trainer(7);
    const data = ringData(256, 4);
    const schedule = learningRateSchedule({
      optimizers: [t.generatorOptimizer, t.discriminatorOptimizer],
      schedule: linearDecay({ from: 1e-3, steps: 40 }),
    });
    await t.fit(data, { epochs: 1, batchSize: 32, callbacks: [schedule] });
    const held = tf.memory().numTensors;
    await t.fit(data, { epochs: 3, batchSize: 32, callbacks: [schedule] });
    expect(tf.memory().numTensors).toBe(held);
    expect(lrOf(t.generatorOptimizer)).toBeCloseTo(1e-3 * (1 - 31 / 40), 12);
    t.dispose();
    data.dispose();
  });

  it('holds no tensors on wasm either, where the fused Adam caches its constants as tensors', async () => {
    tf.env().set('IS_TEST', false); // tfjs's leak check misfires on wasm gradients
    await tf.setBackend('wasm');
    try {
      const { trainer: t } = trainer(9);
      const data = ringData(128, 6);
      const schedule = learningRateSchedule({
        optimizers: [t.generatorOptimizer, t.discriminatorOptimizer],
        schedule: linearDecay({ from: 1e-3, steps: 20 }),
      });
      await t.fit(data, { epochs: 1, batchSize: 32, callbacks: [schedule] });
      const held = tf.memory().numTensors;
      await t.fit(data, { epochs: 2, batchSize: 32, callbacks: [schedule] });
      expect(tf.memory().numTensors).toBe(held);
      t.dispose();
      data.dispose();
    } finally {
      await tf.setBackend('cpu');
      tf.env().set('IS_TEST', true);
    }
  });

  it('rejects optimizers without a learning rate, and a bad rate before the step runs', async () => {
    expect(() => learningRateSchedule({ optimizers: [], schedule: () => 1 })).toThrow(GANConfigError);
    expect(() =>
      learningRateSchedule({ optimizers: [{ learningRate: 1 } as unknown as tf.Optimizer], schedule: () => 1 }),
    ).toThrow(GANConfigError);
    const { trainer: t, models } = trainer(8);
    const data = ringData(64, 5);
    const before = weightsOf(models);
    const bad = learningRateSchedule({
      optimizers: [t.generatorOptimizer, t.discriminatorOptimizer],
      schedule: () => Number.NaN,
    });
    const held = tf.memory().numTensors;
    await expect(t.fit(data, { epochs: 1, batchSize: 32, callbacks: [bad] })).rejects.toThrow(GANConfigError);
    expect(tf.memory().numTensors).toBe(held); // the step's batches were freed too
    expect(weightsOf(models)).toEqual(before);
    expect(t.stepCount).toBe(0);
    t.dispose();
    data.dispose();
  });
});
