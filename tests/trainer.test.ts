import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  type Discriminator,
  discriminatorFromFunction,
  discriminatorStep,
  earlyStopping,
  type GANLoss,
  GANTrainer,
  type GANTrainerConfig,
  generatorFromFunction,
  generatorStep,
  losses,
  mlpDiscriminator,
  mlpGenerator,
} from '../src/index';
import { gaussian, maxChange, snapshot } from './helpers';

const tiny = (seed = 1) => ({
  generator: mlpGenerator({ latentDim: 2, hiddenUnits: [8], outputShape: [1], outputActivation: 'linear', seed }),
  discriminator: mlpDiscriminator({ inputShape: [1], hiddenUnits: [8], seed: seed + 100 }),
});

function trainer(overrides: Partial<GANTrainerConfig> = {}, seed = 1): GANTrainer {
  return new GANTrainer({ ...tiny(seed), seed, ...overrides });
}

/** Wraps a discriminator to count forward passes. */
function counting(d: Discriminator): Discriminator & { calls: number } {
  const wrapped = {
    calls: 0,
    inputShape: d.inputShape,
    get trainableVariables() {
      return d.trainableVariables;
    },
    apply(x: tf.Tensor, o: { training: boolean }) {
      if (o.training) wrapped.calls++;
      return d.apply(x, o);
    },
    dispose: () => d.dispose?.(),
  };
  return wrapped;
}

describe('updates move only their own network', () => {
  it('discriminatorStep moves only D, generatorStep moves only G', () => {
    const { generator, discriminator } = tiny();
    const parts = { generator, discriminator, loss: losses.nonSaturating() };
    const gBefore = snapshot(generator.trainableVariables);
    const dBefore = snapshot(discriminator.trainableVariables);
    const real = gaussian(16, 4, 0.5, 7);
    const z = tf.randomNormal([16, 2], 0, 1, 'float32', 3) as tf.Tensor2D;
    const opt = tf.train.adam(1e-2);
    tf.dispose(discriminatorStep({ ...parts, optimizer: opt, real, z }));
    expect(maxChange(gBefore, generator.trainableVariables)).toBe(0);
    expect(maxChange(dBefore, discriminator.trainableVariables)).toBeGreaterThan(1e-4);

    const dAfter = snapshot(discriminator.trainableVariables);
    const opt2 = tf.train.adam(1e-2);
    tf.dispose(generatorStep({ ...parts, optimizer: opt2, z }));
    expect(maxChange(dAfter, discriminator.trainableVariables)).toBe(0);
    expect(maxChange(gBefore, generator.trainableVariables)).toBeGreaterThan(1e-4);
    tf.dispose([real, z]);
    generator.model.dispose();
    discriminator.model.dispose();
    opt.dispose();
    opt2.dispose();
  });

  it('discriminatorStep reports [loss, D(x), D(G(z))] consistent with the loss on the pre-update models', () => {
    const { generator, discriminator } = tiny(5);
    const real = gaussian(32, 0, 1, 2);
    const z = tf.randomNormal([32, 2], 0, 1, 'float32', 9) as tf.Tensor2D;
    const expected = tf.tidy(() => {
      const rl = discriminator.apply(real, { training: true });
      const fl = discriminator.apply(generator.apply(z, { training: true }), { training: true });
      return [
        losses.minimax().discriminator({ realLogits: rl, fakeLogits: fl }).dataSync()[0],
        tf.mean(tf.sigmoid(rl)).dataSync()[0],
        tf.mean(tf.sigmoid(fl)).dataSync()[0],
      ];
    });
    const stats = discriminatorStep({ generator, discriminator, loss: losses.minimax(), optimizer: tf.train.sgd(0.1), real, z });
    const got = Array.from(stats.dataSync());
    for (const [i, v] of got.entries()) expect(v).toBeCloseTo(expected[i] as number, 5);
    tf.dispose([stats, real, z]);
  });
});

describe('Algorithm 1: k discriminator updates per generator update', () => {
  it('makes k D updates and g G updates per step', async () => {
    const base = tiny();
    const d = counting(base.discriminator);
    const t = new GANTrainer({ generator: base.generator, discriminator: d, discriminatorSteps: 3, generatorSteps: 2, seed: 1 });
    const data = gaussian(12, 0, 1, 1);
    const history = await t.fit(data, { epochs: 1, batchSize: 2 });
    // 6 batches, 3 per step → 2 steps; each step: 3 D updates × (real + fake) + 2 G updates × 1 = 8 forward passes.
    expect(history.steps).toHaveLength(2);
    expect(d.calls).toBe(2 * 8);
    await t.step([gaussian(4, 0, 1, 2), gaussian(4, 0, 1, 3), gaussian(4, 0, 1, 4)]);
    expect(d.calls).toBe(3 * 8);
    await expect(t.step([gaussian(4, 0, 1, 2), gaussian(4, 0, 1, 3)])).rejects.toThrow(
      /expected 1 batch or k = 3 batches, got 2/,
    );
    t.dispose();
    data.dispose();
  });

  it('each of the k updates sees its own real batch', async () => {
    const seen: number[] = [];
    const base = tiny();
    const d: Discriminator = {
      inputShape: [1],
      get trainableVariables() {
        return base.discriminator.trainableVariables;
      },
      apply(x, o) {
        if (o.training && x.shape[0] === 2) seen.push(x.dataSync()[0] as number);
        return base.discriminator.apply(x, o);
      },
    };
    const t = new GANTrainer({ generator: base.generator, discriminator: d, discriminatorSteps: 2, seed: 3 });
    await t.fit(tf.tensor2d([[1], [2], [3], [4], [5], [6], [7], [8]]), { batchSize: 2, shuffle: false });
    // Passes in training mode: real, fake per D update, then fake for G. Real batches start at 1, 3, 5, 7.
    const reals = seen.filter((v) => Number.isInteger(v));
    expect(reals).toEqual([1, 3, 5, 7]);
    t.dispose();
  });
});

describe('GANTrainer', () => {
  it('logs plain numbers per step and per epoch, with D(x), D(G(z)) as probabilities', async () => {
    const t = trainer();
    const data = gaussian(64, 4, 0.5, 1);
    const history = await t.fit(data, { epochs: 2, batchSize: 16 });
    expect(history.steps).toHaveLength(8);
    expect(history.epochs).toHaveLength(2);
    expect(history.stopReason).toBe('completed');
    for (const s of history.steps) {
      for (const k of ['dLoss', 'gLoss', 'dReal', 'dFake'] as const) expect(typeof s[k]).toBe('number');
      expect(s.dReal).toBeGreaterThan(0);
      expect(s.dReal).toBeLessThan(1);
      expect(s.dFake).toBeGreaterThan(0);
      expect(s.dFake).toBeLessThan(1);
    }
    expect(history.steps.map((s) => s.step)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(history.steps.map((s) => s.epoch)).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
    const e0 = history.epochs[0]!;
    expect(e0.gLoss).toBeCloseTo(
      history
        .series('gLoss')
        .slice(0, 4)
        .reduce((a, b) => a + b) / 4,
      6,
    );
    expect(t.stepCount).toBe(8);
    expect(t.epochCount).toBe(2);
    t.dispose();
    data.dispose();
  });

  it('calls async callbacks in order and waits for them', async () => {
    const events: string[] = [];
    const t = trainer();
    const data = gaussian(8, 0, 1, 1);
    await t.fit(data, {
      epochs: 2,
      batchSize: 4,
      callbacks: [
        {
          onTrainBegin: () => void events.push('train+'),
          onEpochBegin: async (e) => {
            await new Promise((r) => setTimeout(r, 5));
            events.push(`epoch+${e}`);
          },
          onStepBegin: (s) => void events.push(`step+${s}`),
          onStepEnd: (l) => void events.push(`step-${l.step}`),
          onEpochEnd: (l) => void events.push(`epoch-${l.epoch}`),
          onTrainEnd: (h) => void events.push(`train-${h.stopReason}`),
        },
      ],
    });
    expect(events).toEqual([
      'train+',
      'epoch+0',
      'step+0',
      'step-0',
      'step+1',
      'step-1',
      'epoch-0',
      'epoch+1',
      'step+2',
      'step-2',
      'step+3',
      'step-3',
      'epoch-1',
      'train-completed',
    ]);
    t.dispose();
    data.dispose();
  });

  it('stops cleanly on an AbortSignal between steps and can continue afterwards', async () => {
    const t = trainer();
    const data = gaussian(80, 0, 1, 1);
    const controller = new AbortController();
    const history = await t.fit(data, {
      epochs: 5,
      batchSize: 8,
      signal: controller.signal,
      callbacks: [{ onStepEnd: (l) => void (l.step === 2 && controller.abort()) }],
    });
    expect(history.stopReason).toBe('aborted');
    expect(history.steps).toHaveLength(3);
    const logs = await t.step(gaussian(8, 0, 1, 2));
    expect(logs.step).toBe(3);
    const again = await t.fit(data, { epochs: 1, batchSize: 8, signal: AbortSignal.abort() });
    expect(again.steps).toHaveLength(0);
    expect(again.stopReason).toBe('aborted');
    t.dispose();
    data.dispose();
  });

  it('early stopping stops when the monitored epoch metric stops improving', async () => {
    const cb = earlyStopping({ monitor: 'dLoss', patience: 1 });
    let stopped = 0;
    const ctx = { stop: () => void stopped++ };
    await cb.onTrainBegin?.(ctx);
    const e = (epoch: number, dLoss: number) => ({ epoch, steps: 1, dLoss, gLoss: 0, dReal: 0.5, dFake: 0.5 });
    await cb.onEpochEnd?.(e(0, 1.0), ctx);
    await cb.onEpochEnd?.(e(1, 0.9), ctx);
    await cb.onEpochEnd?.(e(2, 0.95), ctx);
    expect(stopped).toBe(0);
    await cb.onEpochEnd?.(e(3, 0.91), ctx);
    expect(stopped).toBe(1);

    const t = trainer();
    const data = gaussian(16, 0, 1, 1);
    const h = await t.fit(data, {
      epochs: 20,
      batchSize: 8,
      callbacks: [earlyStopping({ monitor: 'dFake', mode: 'max', patience: 0, minDelta: 10 })],
    });
    expect(h.stopReason).toBe('stopped');
    expect(h.epochs).toHaveLength(2);
    t.dispose();
    data.dispose();
  });

  it('is reproducible with a seed (noise, shuffling and preset initialisation)', async () => {
    const run = async (seed: number) => {
      const t = trainer({}, seed);
      const data = gaussian(64, 4, 0.5, 11);
      const h = await t.fit(data, { epochs: 2, batchSize: 16 });
      const sample = Array.from(t.sample(4).dataSync());
      t.dispose();
      data.dispose();
      return [...h.series('dLoss'), ...h.series('gLoss'), ...sample];
    };
    const a = await run(42);
    const b = await run(42);
    const c = await run(43);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it('accepts a tensor, nested arrays, flat typed arrays, iterables, async iterables and tf.data-like datasets', async () => {
    const t = trainer();
    const values = Array.from({ length: 16 }, (_, i) => i / 16);
    await t.step([[0], [1]]); // creates the optimizers' slots
    const before = tf.memory().numTensors;
    const fromTensor = tf.tensor2d(values, [16, 1]);
    expect((await t.fit(fromTensor, { batchSize: 4 })).steps).toHaveLength(4);
    expect(fromTensor.isDisposed).toBe(false); // the user's tensor stays the user's
    fromTensor.dispose();
    expect(
      (
        await t.fit(
          values.map((v) => [v]),
          { batchSize: 4 },
        )
      ).steps,
    ).toHaveLength(4);
    expect((await t.fit(new Float32Array(values), { batchSize: 8 })).steps).toHaveLength(2);

    const yielded: tf.Tensor[] = [];
    const batches = function* () {
      for (let i = 0; i < 3; i++) {
        const b = tf.fill([5, 1], i);
        yielded.push(b);
        yield b;
      }
    };
    expect((await t.fit({ [Symbol.iterator]: batches }, { epochs: 2 })).steps).toHaveLength(6);
    expect(yielded.every((b) => b.isDisposed)).toBe(true); // yielded batches belong to the trainer, as in fitDataset

    const asyncBatches = async function* () {
      yield [[0.1], [0.2]];
      yield new Float32Array([0.3, 0.4]);
    };
    expect((await t.fit({ [Symbol.asyncIterator]: asyncBatches }, { epochs: 3 })).steps).toHaveLength(6);

    const datasetLike = {
      iterator: async () => {
        let i = 0;
        return { next: async () => (i++ < 2 ? { value: tf.ones([3, 1]), done: false } : { value: undefined, done: true }) };
      },
    };
    expect((await t.fit(datasetLike as never)).steps).toHaveLength(2);
    expect(tf.memory().numTensors).toBe(before);
    t.dispose();
  });

  it('samples, generates and discriminates with the right shapes', () => {
    const t = trainer();
    const s = t.sample(5);
    expect(s.shape).toEqual([5, 1]);
    const g = t.generate(tf.zeros([3, 2]) as tf.Tensor2D);
    expect(g.shape).toEqual([3, 1]);
    const d = t.discriminate(g);
    expect(d.shape).toEqual([3, 1]);
    for (const p of d.dataSync()) expect(p > 0 && p < 1).toBe(true);
    tf.dispose([s, g, d]);
    t.dispose();
    expect(() => t.sample(1)).toThrow(/disposed/);
  });

  it('trains user-written function models and a user-written loss without any change to the trainer', async () => {
    // G(z) = a·z + b; D(x) = w2·tanh(w1·x + b1) + b2, all plain tf.Variables.
    const a = tf.variable(tf.tensor2d([[0.1]]));
    const b = tf.variable(tf.tensor1d([0]));
    const generator = generatorFromFunction({
      latentDim: 1,
      outputShape: [1],
      variables: [a, b],
      fn: (z) => tf.add(tf.matMul(z, a), b),
    });
    const w1 = tf.variable(tf.randomNormal([1, 16], 0, 1, 'float32', 1));
    const b1 = tf.variable(tf.zeros([16]));
    const w2 = tf.variable(tf.randomNormal([16, 1], 0, 0.1, 'float32', 2));
    const b2 = tf.variable(tf.zeros([1]));
    const discriminator = discriminatorFromFunction({
      inputShape: [1],
      variables: [w1, b1, w2, b2],
      fn: (x) => tf.add(tf.matMul(tf.tanh(tf.add(tf.matMul(x, w1), b1)), w2), b2),
    });
    let called = 0;
    const relativistic: GANLoss = {
      name: 'relativistic-average',
      discriminator: ({ realLogits, fakeLogits }) => {
        called++;
        return losses.nonSaturating().discriminator({
          realLogits: tf.sub(realLogits, tf.mean(fakeLogits)),
          fakeLogits: tf.sub(fakeLogits, tf.mean(realLogits)),
        });
      },
      generator: ({ fakeLogits }) => losses.nonSaturating().generator({ fakeLogits }),
    };
    const t = new GANTrainer({
      generator,
      discriminator,
      loss: relativistic,
      seed: 1,
      generatorOptimizer: tf.train.adam(0.05),
      discriminatorOptimizer: tf.train.adam(0.05),
    });
    const data = gaussian(512, 2, 0.1, 5);
    await t.fit(data, { epochs: 10, batchSize: 64 });
    expect(called).toBe(80);
    // The affine generator moved its mean toward 2.
    expect(b.dataSync()[0]).toBeGreaterThan(1);
    t.dispose();
    expect(a.isDisposed && w1.isDisposed).toBe(true);
    data.dispose();
  });

  it('refuses concurrent training calls', async () => {
    const t = trainer();
    const data = gaussian(16, 0, 1, 1);
    const running = t.fit(data, { batchSize: 4 });
    await expect(t.step(data)).rejects.toThrow(/already running/);
    await running;
    t.dispose();
    data.dispose();
  });
});

describe('step logs', () => {
  it('hold no −0 (a checkpoint stores its history as JSON, where −0 is 0)', async () => {
    await tf.setBackend('cpu');
    const ns = losses.nonSaturating();
    // G's loss is exactly −0: a positive number times −0.
    const loss: GANLoss = {
      ...ns,
      name: 'minus-zero',
      generator: (c) => tf.mul(tf.add(tf.abs(tf.sum(c.fakeLogits)), 1), -0) as tf.Scalar,
    };
    const t = new GANTrainer({
      generator: mlpGenerator({ latentDim: 3, hiddenUnits: [8], outputShape: [2], seed: 1 }),
      discriminator: mlpDiscriminator({ inputShape: [2], hiddenUnits: [8], seed: 2 }),
      loss,
    });
    const batch = tf.randomNormal([8, 2], 0, 1, 'float32', 1);
    const logs = await t.step(batch);
    expect(Object.is(logs.gLoss, 0)).toBe(true);
    batch.dispose();
    t.dispose();
  });
});
