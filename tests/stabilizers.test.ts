import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  CheckpointError,
  discriminatorFromFunction,
  discriminatorGradients,
  GANConfigError,
  type GANLoss,
  GANTrainer,
  generatorFromFunction,
  isCheckpointable,
  losses,
  mlpDiscriminator,
  mlpGenerator,
  type StepLogs,
  stabilizers,
} from '../src/index';
import { gaussian } from './helpers';

/** D(x) = (x·w)², whose input gradient 2(x·w)·w is known in closed form. */
function squareD(w: number[]) {
  const v = tf.variable(tf.tensor2d(w, [w.length, 1]));
  return discriminatorFromFunction({ inputShape: [w.length], variables: [v], fn: (x) => tf.square(tf.matMul(x, v)) });
}

/** G(z) = z·a + b, a linear generator of 2-D points from 2-D noise. */
function linearG(seed = 1) {
  const a = tf.variable(tf.randomNormal([2, 2], 0, 0.3, 'float32', seed));
  const b = tf.variable(tf.zeros([2]));
  return generatorFromFunction({ latentDim: 2, outputShape: [2], variables: [a, b], fn: (z) => tf.add(tf.matMul(z, a), b) });
}

const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * (b[i] as number), 0);
const norm = (a: number[]) => Math.sqrt(dot(a, a));

/** Discriminator loss value of `loss` on real/fake for D. */
function dLoss(loss: GANLoss, d: ReturnType<typeof squareD>, real: tf.Tensor, fake: tf.Tensor): number {
  return tf.tidy(
    () =>
      loss
        .discriminator({
          realLogits: d.apply(real, { training: true }),
          fakeLogits: d.apply(fake, { training: true }),
          real,
          fake,
          discriminate: (x) => d.apply(x, { training: true }),
        })
        .dataSync()[0],
  ) as number;
}

describe('gradient penalties', () => {
  it('WGAN-GP: λ·mean((‖∇D(x̂)‖ − 1)²), by hand (real = fake makes x̂ known whatever ε is)', () => {
    const w = [0.6, -1.2, 0.5];
    const d = squareD(w);
    const rows = [
      [1, 2, 3],
      [-0.5, 0.1, 2],
      [0.3, 0.3, -1],
    ];
    const x = tf.tensor2d(rows);
    const base = losses.wasserstein();
    const gp = stabilizers.withGradientPenalty(base, { weight: 10, seed: 1 });
    const expected = (10 * rows.reduce((s, r) => s + (2 * Math.abs(dot(r, w)) * norm(w) - 1) ** 2, 0)) / rows.length;
    expect(dLoss(gp, d, x, x) - dLoss(base, d, x, x)).toBeCloseTo(expected, 3);
    expect(gp.name).toBe('wasserstein+gp');
    tf.dispose(x);
    d.dispose?.();
  });

  it('WGAN-GP on a linear critic: the penalty is λ(‖w‖ − 1)² for any interpolation', () => {
    const v = tf.variable(tf.tensor2d([3, 4], [2, 1]));
    const d = discriminatorFromFunction({ inputShape: [2], variables: [v], fn: (x) => tf.matMul(x, v) });
    const real = tf.randomNormal([16, 2], 0, 1, 'float32', 1);
    const fake = tf.randomNormal([16, 2], 3, 1, 'float32', 2);
    const base = losses.wasserstein();
    const diff = dLoss(stabilizers.withGradientPenalty(base, { weight: 2 }), d, real, fake) - dLoss(base, d, real, fake);
    expect(diff).toBeCloseTo(2 * (5 - 1) ** 2, 3);
    tf.dispose([real, fake]);
    d.dispose?.();
  });

  it('R1: γ/2·mean‖∇D(x)‖² on real examples, by hand', () => {
    const w = [0.2, 0.7];
    const d = squareD(w);
    const rows = [
      [1, -1],
      [2, 0.5],
    ];
    const real = tf.tensor2d(rows);
    const fake = tf.tensor2d([
      [9, 9],
      [8, 8],
    ]);
    const base = losses.nonSaturating();
    const r1 = stabilizers.withR1Penalty(base, { weight: 4 });
    const expected = (4 / 2) * (rows.reduce((s, r) => s + (2 * dot(r, w) * norm(w)) ** 2, 0) / rows.length);
    expect(dLoss(r1, d, real, fake) - dLoss(base, d, real, fake)).toBeCloseTo(expected, 4);
    tf.dispose([real, fake]);
    d.dispose?.();
  });

  it('D’s update differentiates through the penalty (second-order gradient = finite differences)', () => {
    const w = [0.6, -1.2];
    const real = tf.tensor2d([
      [1, 2],
      [-0.5, 0.1],
    ]);
    const loss = stabilizers.withR1Penalty(losses.nonSaturating(), { weight: 3 });
    const g = linearG();
    const z = tf.randomNormal([2, 2], 0, 1, 'float32', 3) as tf.Tensor2D;
    const lossAt = (ww: number[]) => {
      const d = squareD(ww);
      const u = discriminatorGradients({ generator: g, discriminator: d, loss, real, z });
      const value = u.stats.dataSync()[0] as number;
      const grad = Array.from(Object.values(u.grads)[0]?.dataSync() ?? []);
      tf.dispose([u.stats, ...Object.values(u.grads)]);
      d.dispose?.();
      return { value, grad };
    };
    const { grad } = lossAt(w);
    const h = 1e-2;
    for (let i = 0; i < w.length; i++) {
      const plus = lossAt(w.map((v, j) => (j === i ? v + h : v))).value;
      const minus = lossAt(w.map((v, j) => (j === i ? v - h : v))).value;
      expect(grad[i]).toBeCloseTo((plus - minus) / (2 * h), 1);
    }
    tf.dispose([real, z]);
    g.dispose?.();
  });

  it('needs the batches in the context; rejects negative weights', () => {
    const gp = stabilizers.withGradientPenalty('wasserstein');
    const logits = tf.zeros([2, 1]);
    expect(() => gp.discriminator({ realLogits: logits, fakeLogits: logits })).toThrow(GANConfigError);
    expect(() => stabilizers.withR1Penalty('hinge', { weight: -1 })).toThrow(GANConfigError);
    logits.dispose();
  });
});

describe('discriminator wrappers', () => {
  it('minibatchStdDev appends the mean over features of the per-feature batch std', () => {
    const x = tf.tensor2d([
      [0, 0],
      [2, 4],
    ]);
    // std over the batch: feature 1 → 1, feature 2 → 2; mean 1.5.
    const y = stabilizers.minibatchStdDev(x).arraySync() as number[][];
    expect(y[0]?.[2]).toBeCloseTo(1.5, 4);
    expect(y[1]?.[2]).toBeCloseTo(1.5, 4);
    const img = tf.ones([4, 3, 3, 2]);
    const out = stabilizers.minibatchStdDev(img, 2);
    expect(out.shape).toEqual([4, 3, 3, 3]);
    expect(() => stabilizers.minibatchStdDev(img, 3)).toThrow(GANConfigError);
    expect(() => stabilizers.minibatchStdDev(img, 0)).toThrow(GANConfigError);
    tf.dispose([x, img, out]);
  });

  it('minibatchStdDev treats a batch smaller than the group as one group, so the trainer accepts groupSize 4', async () => {
    const x = tf.tensor2d([
      [0, 0],
      [2, 4],
    ]);
    const whole = stabilizers.minibatchStdDev(x);
    const capped = stabilizers.minibatchStdDev(x, 4);
    expect(capped.arraySync()).toEqual(whole.arraySync());
    // Groups of 4 in a batch of 8: two statistics, one per group.
    const eight = tf.tensor2d([0, 0, 0, 0, 1, 3, 5, 7], [8, 1]);
    const grouped = stabilizers.minibatchStdDev(eight, 4).arraySync() as number[][];
    expect(grouped[0]?.[1]).toBeCloseTo(Math.sqrt(1e-8), 6);
    expect(grouped[7]?.[1]).toBeCloseTo(Math.sqrt(5 + 1e-8), 4);
    const start = tf.memory().numTensors;
    const trainer = new GANTrainer({
      generator: mlpGenerator({ latentDim: 2, hiddenUnits: [8], outputShape: [1], outputActivation: 'linear', seed: 1 }),
      discriminator: stabilizers.withMinibatchStdDev(mlpDiscriminator({ inputShape: [2], hiddenUnits: [8], seed: 2 }), {
        groupSize: 4,
      }),
      seed: 3,
    });
    await trainer.fit(eight, { epochs: 2, batchSize: 8 });
    expect(trainer.stepCount).toBe(2);
    trainer.dispose();
    expect(tf.memory().numTensors).toBe(start);
    tf.dispose([x, whole, capped, eight]);
  });

  it('withPacking gives inner D packs of consecutive examples side by side; each example gets its pack’s logit', () => {
    const seen: number[][] = [];
    const inner = discriminatorFromFunction({
      inputShape: [4],
      variables: [],
      fn: (x) => {
        seen.push(...(x.arraySync() as number[][]));
        return tf.sum(x, 1, true);
      },
    });
    const d = stabilizers.withPacking(inner, 2);
    expect(d.inputShape).toEqual([2]);
    const x = tf.tensor2d([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    const logits = tf.tidy(() => d.apply(x, { training: false }).arraySync()) as number[][];
    expect(seen).toEqual([
      [1, 2, 3, 4],
      [5, 6, 1, 2],
    ]);
    expect(logits).toEqual([[10], [10], [14]]);
    // Images pack along channels.
    const imgInner = discriminatorFromFunction({ inputShape: [2, 2, 6], variables: [], fn: (t) => tf.mean(t, [1, 2, 3]) });
    const img = stabilizers.withPacking(imgInner, 3);
    expect(img.inputShape).toEqual([2, 2, 2]);
    expect(() => stabilizers.withPacking(inner, 3)).toThrow(GANConfigError);
    x.dispose();
  });

  it('withInstanceNoise perturbs training inputs only, and its std decays with the steps it is told', () => {
    const inner = discriminatorFromFunction({ inputShape: [3], variables: [], fn: (x) => tf.sum(x, 1, true) });
    const d = stabilizers.withInstanceNoise(inner, { std: 0.2, decaySteps: 100, seed: 1 });
    const x = tf.zeros([1000, 3]);
    const clean = tf.tidy(() => tf.max(tf.abs(d.apply(x, { training: false }))).dataSync()[0]);
    expect(clean).toBe(0);
    const spread = tf.tidy(() => tf.moments(d.apply(x, { training: true })).variance.dataSync()[0] as number);
    expect(Math.sqrt(spread / 3)).toBeCloseTo(0.2, 1); // the sum of 3 noises has variance 3σ²
    d.onStepEnd?.({ step: 49 } as StepLogs, { stop() {} });
    expect(d.currentStd).toBeCloseTo(0.1, 12);
    d.onStepEnd?.({ step: 200 } as StepLogs, { stop() {} });
    expect(d.currentStd).toBe(0);
    x.dispose();
  });
});

describe('EMA of the generator’s weights', () => {
  it('keeps shadow = β·shadow + (1 − β)·w; run() swaps the average in and back', () => {
    const g = linearG();
    const ema = stabilizers.generatorEma(g, { decay: 0.5, warmup: false });
    const a = g.trainableVariables[0] as tf.Variable;
    const a0 = a.arraySync() as number[][];
    a.assign(tf.fill([2, 2], 1));
    ema.update();
    const expected = a0.map((r) => r.map((v) => 0.5 * v + 0.5));
    const shadow = ema.shadow[0]?.arraySync() as number[][];
    expect(Math.max(...shadow.flat().map((v, k) => Math.abs(v - (expected.flat()[k] as number))))).toBeLessThan(1e-6);
    const inside = ema.run(() => a.arraySync() as number[][]);
    expect(Math.max(...inside.flat().map((v, k) => Math.abs(v - (expected.flat()[k] as number))))).toBeLessThan(1e-6);
    expect(a.arraySync()).toEqual([
      [1, 1],
      [1, 1],
    ]);
    ema.dispose();
    g.dispose?.();
  });

  it('warmup: the first update copies (β_0 = 0.1 weight on the initial shadow)', () => {
    const g = linearG();
    const ema = stabilizers.generatorEma(g, { decay: 0.999 });
    (g.trainableVariables[0] as tf.Variable).assign(tf.fill([2, 2], 2));
    const before = ema.shadow[0]?.arraySync() as number[][];
    ema.update();
    const after = ema.shadow[0]?.arraySync() as number[][];
    const errors = after.flat().map((v, k) => Math.abs(v - (0.1 * (before.flat()[k] as number) + 0.9 * 2)));
    expect(Math.max(...errors)).toBeLessThan(1e-5);
    ema.dispose();
    g.dispose?.();
  });

  it("'debiased': the shadow is Σ βᵃ·w / Σ βᵃ of the weights folded in, none of the creation-time ones; resumes exactly", () => {
    const g = linearG();
    const a = g.trainableVariables[0] as tf.Variable;
    const ema = stabilizers.generatorEma(g, { decay: 0.5, warmup: 'debiased' });
    const fold = (value: number) => {
      a.assign(tf.fill([2, 2], value));
      ema.update();
    };
    const shadowOf = (e: stabilizers.GeneratorEma) => ((e.shadow[0] as tf.Variable).arraySync() as number[][]).flat();
    fold(1);
    expect(shadowOf(ema)).toEqual([1, 1, 1, 1]); // the first update copies: the initial weights carry nothing
    fold(2);
    const saved = ema.checkpointState();
    expect(saved.data).toEqual({ updates: 2, swapped: false, decay: 0.5, warmup: 'debiased', every: 1 });
    const copy = { data: saved.data, tensors: Object.fromEntries(Object.entries(saved.tensors).map(([k, t]) => [k, t.clone()])) };
    fold(3);
    const expected = (3 + 0.5 * 2 + 0.25 * 1) / (1 + 0.5 + 0.25);
    for (const v of shadowOf(ema)) expect(v).toBeCloseTo(expected, 6);
    // A fresh average restored from the state after two updates continues with the same β_t.
    const resumed = stabilizers.generatorEma(g, { decay: 0.5, warmup: 'debiased' });
    resumed.prepareRestore(copy, { step: 2 })();
    tf.dispose(Object.values(copy.tensors));
    resumed.update(); // the generator still holds 3
    for (const v of shadowOf(resumed)) expect(v).toBeCloseTo(expected, 6);
    expect(() => stabilizers.generatorEma(g, { warmup: 'linear' as unknown as boolean })).toThrow(GANConfigError);
    ema.dispose();
    resumed.dispose();
    g.dispose?.();
  });
});

describe('adaptive k', () => {
  it('adds G updates while D runs away, D updates while G does, and relaxes back', () => {
    const s = stabilizers.adaptiveSchedule({ maxExtra: 2, smoothing: 0 });
    const log = (dReal: number, dFake: number) => ({ step: 0, epoch: 0, dLoss: 0, gLoss: 0, dReal, dFake });
    expect(s.countsAt(0)).toEqual({ discriminator: 1, generator: 1 });
    s.observe(log(0.99, 0.01));
    expect(s.countsAt(1)).toEqual({ discriminator: 1, generator: 2 });
    s.observe(log(0.99, 0.01));
    s.observe(log(0.99, 0.01));
    expect(s.countsAt(3)).toEqual({ discriminator: 1, generator: 3 });
    s.observe(log(0.5, 0.5));
    s.observe(log(0.5, 0.5));
    expect(s.countsAt(5)).toEqual({ discriminator: 1, generator: 1 });
    s.observe(log(0.3, 0.7));
    expect(s.countsAt(6)).toEqual({ discriminator: 2, generator: 1 });
    expect(() => stabilizers.adaptiveSchedule({ lower: 1, upper: 0 })).toThrow(GANConfigError);
  });

  it('the trainer feeds it every step’s logs and follows its counts', async () => {
    const schedule = stabilizers.adaptiveSchedule({ smoothing: 0, upper: -2, lower: -3, maxExtra: 2 }); // always "D runs away"
    const t = new GANTrainer({
      generator: mlpGenerator({ latentDim: 2, hiddenUnits: [8], outputShape: [1], outputActivation: 'linear', seed: 1 }),
      discriminator: mlpDiscriminator({ inputShape: [1], hiddenUnits: [8], seed: 2 }),
      schedule,
      seed: 3,
    });
    const data = gaussian(64, 0, 1, 1);
    await t.step(data);
    await t.step(data);
    expect(schedule.extra).toBe(-2);
    expect(schedule.countsAt(t.stepCount)).toEqual({ discriminator: 1, generator: 3 });
    data.dispose();
    t.dispose();
  });
});

describe('stabiliser state for checkpoints (Checkpointable)', () => {
  const ctx = { step: 0 };
  it('an EMA gives its average and count, takes them back, and restarts without saved state', () => {
    const g = linearG();
    const ema = stabilizers.generatorEma(g, { decay: 0.5, warmup: false });
    (g.trainableVariables[0] as tf.Variable).assign(tf.fill([2, 2], 1));
    ema.update();
    const saved = ema.checkpointState();
    expect(saved.data).toEqual({ updates: 1, swapped: false, decay: 0.5, warmup: false, every: 1 });
    expect(Object.keys(saved.tensors)).toEqual(['shadow/0', 'shadow/1']);
    const copy = { data: saved.data, tensors: Object.fromEntries(Object.entries(saved.tensors).map(([k, t]) => [k, t.clone()])) };
    const average = ema.shadow.map((v) => v.arraySync());
    ema.reset();
    expect(ema.updates).toBe(0);
    const apply = ema.prepareRestore(copy, ctx);
    expect(ema.updates).toBe(0); // validation alone changes nothing
    apply();
    tf.dispose(Object.values(copy.tensors));
    expect(ema.updates).toBe(1);
    expect(ema.shadow.map((v) => v.arraySync())).toEqual(average);
    const wrong = { data: saved.data, tensors: { 'shadow/0': tf.zeros([3, 2]), 'shadow/1': tf.zeros([2]) } };
    expect(() => ema.prepareRestore(wrong, ctx)).toThrow(CheckpointError);
    expect(() => ema.prepareRestore(wrong, ctx)).toThrow(
      /averaged variable 0 is float32\[3, 2\] in the checkpoint but float32\[2, 2\]/,
    );
    tf.dispose(Object.values(wrong.tensors));
    ema.prepareRestore(undefined, ctx)(); // none saved: restart from the generator's weights
    expect(ema.shadow.map((v) => v.arraySync())).toEqual(g.trainableVariables.map((v) => v.arraySync()));
    // Also when the average was swapped in: the generator keeps the (restored) weights it holds.
    ema.update();
    (g.trainableVariables[0] as tf.Variable).assign(tf.fill([2, 2], 3));
    ema.swap();
    const restored = g.trainableVariables.map((v) => v.arraySync());
    ema.prepareRestore(undefined, ctx)();
    expect(ema.swapped).toBe(false);
    expect(g.trainableVariables.map((v) => v.arraySync())).toEqual(restored);
    expect(ema.shadow.map((v) => v.arraySync())).toEqual(restored);
    ema.dispose();
    g.dispose?.();
  });

  it('adaptive k keeps its level (NaN as null) and extra, clamping extra to its maxExtra', () => {
    const s = stabilizers.adaptiveSchedule({ maxExtra: 2, smoothing: 0 });
    expect(s.checkpointState().data).toEqual({ level: null, extra: 0 });
    s.observe({ step: 0, epoch: 0, dLoss: 0, gLoss: 0, dReal: 0.99, dFake: 0.01 });
    const saved = s.checkpointState();
    expect(saved.data).toEqual({ level: 0.98, extra: -1 });
    const other = stabilizers.adaptiveSchedule({ maxExtra: 0 });
    other.prepareRestore(saved, ctx)();
    expect([other.level, other.extra]).toEqual([0.98, 0]);
    expect(() => other.prepareRestore({ data: { level: 'high', extra: 1 }, tensors: {} }, ctx)).toThrow(CheckpointError);
  });

  it('wrappers pass a wrapped component’s state through, and nest it under their own', () => {
    const noisy = stabilizers.withInstanceNoise(mlpDiscriminator({ inputShape: [4], hiddenUnits: [4], seed: 1 }), { seed: 5 });
    const packed = stabilizers.withPacking(noisy, 2);
    expect(isCheckpointable(packed)).toBe(true);
    expect(isCheckpointable(stabilizers.withPacking(mlpDiscriminator({ inputShape: [4], hiddenUnits: [4], seed: 1 }), 2))).toBe(
      false,
    );
    noisy.onStepEnd?.({ step: 4 } as StepLogs, { stop() {} });
    expect(isCheckpointable(packed) && packed.checkpointState().data).toMatchObject({ step: 5 });
    const gp = stabilizers.withGradientPenalty('wasserstein', { seed: 2 });
    const r1 = stabilizers.withR1Penalty(gp);
    expect(isCheckpointable(r1) && r1.checkpointKey).toBe('gradientPenalty');
    expect(isCheckpointable(stabilizers.withR1Penalty('hinge'))).toBe(false);
    const noisyTwice = stabilizers.withInstanceNoise(noisy, { seed: 6, checkpointKey: 'outerNoise' });
    const nested = noisyTwice.checkpointState();
    expect(nested.data).toMatchObject({ step: 0, inner: { key: 'instanceNoise', data: { step: 5 } } });
    noisy.onStepEnd?.({ step: 99 } as StepLogs, { stop() {} });
    noisyTwice.prepareRestore(nested, ctx)();
    expect(noisy.currentStd).toBeCloseTo(0.1 * (1 - 5 / 10_000), 12);
    noisy.dispose?.();
  });
});

describe('training with every stabiliser is leak-free (numTensors after step 2 = after step 40)', () => {
  const data = () => gaussian(32, 1, 0.5, 7);
  const cases: [string, () => { trainer: GANTrainer; callbacks: stabilizers.GeneratorEma[]; extra?: () => void }][] = [
    [
      'WGAN-GP',
      () => ({
        trainer: new GANTrainer({
          generator: mlpGenerator({ latentDim: 2, hiddenUnits: [8], outputShape: [1], outputActivation: 'linear', seed: 1 }),
          discriminator: mlpDiscriminator({ inputShape: [1], hiddenUnits: [8], seed: 2 }),
          loss: stabilizers.withGradientPenalty('wasserstein', { seed: 1 }),
          discriminatorSteps: 2,
          seed: 3,
        }),
        callbacks: [],
      }),
    ],
    [
      'R1 + packing + minibatch std + instance noise + adaptive k + EMA',
      () => {
        const generator = mlpGenerator({ latentDim: 2, hiddenUnits: [8], outputShape: [1], outputActivation: 'linear', seed: 1 });
        const inner = stabilizers.withMinibatchStdDev(mlpDiscriminator({ inputShape: [3], hiddenUnits: [8], seed: 2 }));
        return {
          trainer: new GANTrainer({
            generator,
            discriminator: stabilizers.withInstanceNoise(stabilizers.withPacking(inner, 2), { seed: 4 }),
            loss: stabilizers.withR1Penalty(losses.nonSaturating({ labelSmoothing: 0.1 }), { weight: 1 }),
            schedule: stabilizers.adaptiveSchedule(),
            seed: 3,
          }),
          callbacks: [stabilizers.generatorEma(generator)],
        };
      },
    ],
  ];
  for (const [name, make] of cases) {
    it(name, async () => {
      const start = tf.memory().numTensors;
      const { trainer, callbacks } = make();
      const x = data();
      const counts: number[] = [];
      const history = await trainer.fit(x, {
        epochs: 40,
        batchSize: 16,
        callbacks: [
          ...callbacks,
          { onStepEnd: (l) => void ((l.step === 1 || l.step === 39) && counts.push(tf.memory().numTensors)) },
          { onStepEnd: (l, c) => void (l.step >= 39 && c.stop()) },
        ],
      });
      expect(history.steps.length).toBeGreaterThanOrEqual(40);
      expect(counts[1]).toBe(counts[0]);
      for (const s of history.steps) expect(Number.isFinite(s.dLoss) && Number.isFinite(s.gLoss)).toBe(true);
      const sample = callbacks[0]?.run(() => trainer.sample(4)) ?? trainer.sample(4);
      sample.dispose();
      x.dispose();
      for (const c of callbacks) c.dispose();
      trainer.dispose();
      expect(tf.memory().numTensors).toBe(start);
    });
  }
});
