import * as tf from '@tensorflow/tfjs-core';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  type ConditionalDiscriminator,
  DataError,
  discriminatorFromFunction,
  GANConfigError,
  mlpDiscriminator,
  ShapeMismatchError,
  sampling,
} from '../src/index';

// p_g = N(0, 1) (the "generator"), p_data = N(1, 0.5²). log(p_data / p_g) = a x² + b x + c with
// a = −1/(2·0.25) + 1/2 = −1.5, b = 1/0.25 = 4, c = −1/(2·0.25) + log(1/0.5) = −2 + log 2.
const A = -1.5;
const B = 4;
const C = -2 + Math.log(2);

/** A logistic model over (x², x, 1): it can represent log(p_data / p_g) exactly. */
function quadraticD(init: [number, number, number] = [0, 0, 0]) {
  const w = tf.variable(tf.tensor1d(init));
  const d = discriminatorFromFunction({
    inputShape: [1],
    variables: [w],
    fn: (x) => {
      const f = tf.concat([tf.square(x), x, tf.onesLike(x)], 1);
      return tf.matMul(f, tf.reshape(w, [3, 1]));
    },
  });
  return { d, w };
}

let calls = 0;
const proposal = (n: number) => tf.randomNormal([n, 1], 0, 1, 'float32', 1000 + calls++);
beforeEach(() => {
  calls = 0; // each test sees the same proposals whatever runs before it
});
const realData = (n: number, seed: number) => tf.randomNormal([n, 1], 1, 0.5, 'float32', seed);

async function moments(x: tf.Tensor): Promise<{ mean: number; std: number }> {
  const v = (await x.data()) as Float32Array;
  const mean = v.reduce((s, a) => s + a, 0) / v.length;
  const std = Math.sqrt(v.reduce((s, a) => s + (a - mean) ** 2, 0) / v.length);
  return { mean, std };
}

describe('fitDiscriminator: the optimal discriminator D* = p_data / (p_data + p_g)', () => {
  it('learns logit D*(x) = log(p_data(x) / p_g(x)) for a frozen generator (Gaussians, closed form)', async () => {
    const { d, w } = quadraticD();
    const real = realData(20_000, 7);
    const before = tf.memory().numTensors;
    const r = await sampling.fitDiscriminator({
      discriminator: d,
      real,
      generate: proposal,
      steps: 1500,
      batchSize: 512,
      optimizer: tf.train.adam(0.05),
      seed: 3,
    });
    const optimizerState = 4; // the caller's Adam: β1ᵗ, β2ᵗ, and two moments of the one weight variable
    expect(tf.memory().numTensors - before).toBe(optimizerState);
    expect(r.steps).toBe(1500);
    const [a, b, c] = Array.from(await w.data());
    expect(Math.abs((a as number) - A)).toBeLessThan(0.25);
    expect(Math.abs((b as number) - B)).toBeLessThan(0.3);
    expect(Math.abs((c as number) - C)).toBeLessThan(0.25);
    // The loss at the optimum is 2 log 2 − 2·JSD(p_data, p_g): well below log 4 for these two Gaussians.
    expect(r.loss).toBeLessThan(Math.log(4) - 0.3);
    tf.dispose([real]);
    d.dispose?.();
  }, 60_000);

  it('takes fresh real examples from a function as well as from a tensor', async () => {
    const { d, w } = quadraticD();
    let seed = 500;
    const before = tf.memory().numTensors;
    await sampling.fitDiscriminator({
      discriminator: d,
      real: (n) => realData(n, seed++),
      generate: proposal,
      steps: 1500,
      batchSize: 512,
      optimizer: tf.train.adam(0.05),
    });
    expect(tf.memory().numTensors - before).toBe(4); // the caller's Adam state only
    const [a, b, c] = Array.from(await w.data()) as [number, number, number];
    expect(Math.abs(a - A)).toBeLessThan(0.25);
    expect(Math.abs(b - B)).toBeLessThan(0.3);
    expect(Math.abs(c - C)).toBeLessThan(0.25);
    await expect(
      sampling.fitDiscriminator({ discriminator: d, real: (n) => tf.zeros([n, 2]), generate: proposal, steps: 1 }),
    ).rejects.toBeInstanceOf(ShapeMismatchError);
    d.dispose?.();
  }, 60_000);

  it('gives D = ½ everywhere and the loss log 4 (V = −log 4) when p_g = p_data', async () => {
    const { d, w } = quadraticD([0.3, -0.2, 0.5]);
    const real = tf.randomNormal([20_000, 1], 0, 1, 'float32', 11);
    const r = await sampling.fitDiscriminator({
      discriminator: d,
      real,
      generate: proposal,
      steps: 800,
      batchSize: 512,
      optimizer: tf.train.adam(0.05),
      seed: 5,
      logEvery: 200,
    });
    for (const v of await w.data()) expect(Math.abs(v)).toBeLessThan(0.1);
    expect(Math.abs(r.loss - Math.log(4))).toBeLessThan(0.02);
    tf.dispose([real]);
    d.dispose?.();
  }, 60_000);

  it('moves only the discriminator, is leak-free with its default optimizer, reports progress and stops on a signal', async () => {
    const d = mlpDiscriminator({ inputShape: [2], hiddenUnits: [8], seed: 1 });
    const real = tf.randomNormal([64, 2], 2, 1, 'float32', 1);
    const g = tf.variable(tf.scalar(0.5));
    const generate = (n: number) => tf.mul(tf.randomNormal([n, 2], 0, 1, 'float32', 9), g);
    const before = tf.memory().numTensors;
    const w0 = await d.trainableVariables[0]?.data();
    const seen: number[] = [];
    const controller = new AbortController();
    const r = await sampling.fitDiscriminator({
      discriminator: d,
      real,
      generate,
      steps: 50,
      batchSize: 16,
      logEvery: 10,
      signal: controller.signal,
      onProgress: (step) => {
        seen.push(step);
        if (step === 30) controller.abort();
      },
    });
    expect(r.steps).toBe(30);
    expect(seen).toEqual([10, 20, 30]);
    expect(Number.isFinite(r.loss)).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
    expect(await g.data()).toEqual(new Float32Array([0.5]));
    const w1 = await d.trainableVariables[0]?.data();
    expect(Array.from(w1 ?? []).some((v, i) => v !== w0?.[i])).toBe(true);
    tf.dispose([real, g]);
    d.dispose?.();
  });

  it("follows a learning-rate schedule and gives a caller's optimizer its rate back; a bad schedule fails first", async () => {
    const { d, w } = quadraticD([0.1, 0.2, 0.3]);
    const real = realData(1000, 3);
    const optimizer = tf.train.adam(0.01);
    const rateOf = () => (optimizer as unknown as { learningRate: number }).learningRate;
    const seen: number[] = [];
    await sampling.fitDiscriminator({
      discriminator: d,
      real,
      generate: proposal,
      steps: 30,
      batchSize: 32,
      optimizer,
      schedule: (step) => 0.1 / (step + 1),
      logEvery: 10,
      onProgress: () => seen.push(rateOf()),
    });
    // onProgress runs after updates 10, 20, 30, whose rates were set for steps 9, 19, 29.
    expect(seen).toEqual([0.1 / 10, 0.1 / 20, 0.1 / 30]);
    expect(rateOf()).toBe(0.01);
    const w1 = Array.from(await w.data());
    for (const bad of [() => -1, () => Number.NaN]) {
      await expect(
        sampling.fitDiscriminator({ discriminator: d, real, generate: proposal, steps: 5, optimizer, schedule: bad }),
      ).rejects.toBeInstanceOf(GANConfigError);
    }
    expect(Array.from(await w.data())).toEqual(w1);
    expect(rateOf()).toBe(0.01);
    optimizer.dispose();
    real.dispose();
    d.dispose?.();
  });

  it('yields to the event loop: an abort from a timer stops it', async () => {
    const { d } = quadraticD();
    const real = realData(1000, 3);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const r = await sampling.fitDiscriminator({
      discriminator: d,
      real,
      generate: proposal,
      steps: 1_000_000,
      batchSize: 8,
      logEvery: 5,
      signal: controller.signal,
    });
    expect(r.steps).toBeLessThan(1_000_000);
    expect(r.steps).toBeGreaterThan(0);
    real.dispose();
    d.dispose?.();
  });

  it('rejects bad options and mismatched shapes before changing anything', async () => {
    const { d, w } = quadraticD([1, 2, 3]);
    const real = tf.zeros([10, 1]);
    const base = { discriminator: d, real, generate: proposal, steps: 5 };
    const wide = tf.zeros([10, 2]);
    const empty = tf.zeros([0, 1]);
    const before = tf.memory().numTensors;
    await expect(sampling.fitDiscriminator({ ...base, steps: 0 })).rejects.toBeInstanceOf(GANConfigError);
    await expect(sampling.fitDiscriminator({ ...base, batchSize: 2.5 })).rejects.toBeInstanceOf(GANConfigError);
    await expect(sampling.fitDiscriminator({ ...base, logEvery: -1 })).rejects.toBeInstanceOf(GANConfigError);
    await expect(sampling.fitDiscriminator({ ...base, real: wide })).rejects.toBeInstanceOf(ShapeMismatchError);
    await expect(sampling.fitDiscriminator({ ...base, generate: (n) => tf.zeros([n, 3]) })).rejects.toBeInstanceOf(
      ShapeMismatchError,
    );
    await expect(sampling.fitDiscriminator({ ...base, real: empty })).rejects.toBeInstanceOf(DataError);
    const nan = tf.tensor2d([[1], [Number.NaN]]);
    await expect(sampling.fitDiscriminator({ ...base, real: nan })).rejects.toBeInstanceOf(DataError);
    // A source that returns another number of rows than asked for.
    await expect(sampling.fitDiscriminator({ ...base, generate: (n) => tf.zeros([n - 1, 1]) })).rejects.toBeInstanceOf(
      ShapeMismatchError,
    );
    await expect(sampling.fitDiscriminator({ ...base, seed: Number.NaN })).rejects.toBeInstanceOf(GANConfigError);
    const frozen = discriminatorFromFunction({ inputShape: [1], variables: [], fn: (x) => x });
    await expect(sampling.fitDiscriminator({ ...base, discriminator: frozen })).rejects.toBeInstanceOf(GANConfigError);
    nan.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(Array.from(await w.data())).toEqual([1, 2, 3]);
    tf.dispose([real, wide, empty]);
    d.dispose?.();
  });
});

describe('rejectionSampler: discriminator rejection sampling', () => {
  it('turns p_g into p_data with the exact D* (mean 1, std 0.5 from proposals of mean 0, std 1), accepting 1/max ratio', async () => {
    const { d } = quadraticD([A, B, C]);
    const drs = await sampling.rejectionSampler({ discriminator: d, generate: proposal, seed: 4, burnIn: 20_000 });
    // The largest logit is at x = −B / 2A = 4/3: max log ratio = C − B² / 4A.
    const maxLogit = C - (B * B) / (4 * A);
    expect(drs.maxLogit).toBeLessThanOrEqual(maxLogit + 1e-4);
    expect(drs.maxLogit).toBeGreaterThan(maxLogit - 0.01);
    const before = tf.memory().numTensors;
    const x = await drs.sample(6000);
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(x.shape).toEqual([6000, 1]);
    const { mean, std } = await moments(x);
    expect(Math.abs(mean - 1)).toBeLessThan(0.03);
    expect(Math.abs(std - 0.5)).toBeLessThan(0.03);
    // Rejection sampling with proposal p_g and bound M = max p_data/p_g accepts 1/M of the proposals.
    expect(Math.abs(drs.acceptanceRate - Math.exp(-maxLogit))).toBeLessThan(0.02);
    expect(drs.accepted).toBe(6000);
    x.dispose();
    d.dispose?.();
  });

  it('with a logit of 0 (D = ½: p_g = p_data) keeps every proposal; γ < 0 keeps more, γ > 0 fewer', async () => {
    const half = discriminatorFromFunction({ inputShape: [1], variables: [], fn: (x) => tf.zerosLike(x) });
    const all = await sampling.rejectionSampler({ discriminator: half, generate: proposal, burnIn: 100 });
    const x = await all.sample(500);
    expect(all.acceptanceRate).toBe(1);
    x.dispose();
    const { d } = quadraticD([A, B, C]);
    const rates: number[] = [];
    for (const gamma of [-2, 0, 2]) {
      const s = await sampling.rejectionSampler({ discriminator: d, generate: proposal, gamma, seed: 8, burnIn: 5000 });
      tf.dispose(await s.sample(1000));
      rates.push(s.acceptanceRate);
    }
    expect(rates[0]).toBeGreaterThan((rates[1] as number) + 0.05);
    expect(rates[1]).toBeGreaterThan((rates[2] as number) + 0.05);
    d.dispose?.();
  });

  it('matches the DRS acceptance formula σ(F − γ), F = d − log(1 − e^(d − ε)), which is e^d at γ = 0', () => {
    for (const d of [-5, -1, -0.1, 0]) {
      expect(sampling.acceptanceProbability(d, 0)).toBeCloseTo(Math.exp(d), 12);
      const f = d - Math.log(1 - Math.exp(d - 1e-6));
      expect(sampling.acceptanceProbability(d, 0, 1.5)).toBeCloseTo(1 / (1 + Math.exp(-(f - 1.5))), 12);
      // σ(F) with γ = 0 is e^d, so the γ ≠ 0 branch agrees with the exact one as γ → 0.
      expect(sampling.acceptanceProbability(d, 0, 1e-9)).toBeCloseTo(Math.exp(d), 5);
    }
    expect(sampling.acceptanceProbability(3, 1)).toBe(1);
  });

  it('a quantile for M keeps acceptance usable when one logit is an outlier', async () => {
    // logit = 20 on ~1 proposal in 740 (x > 3), 0 elsewhere: with M = max, acceptance collapses.
    const spiky = discriminatorFromFunction({
      inputShape: [1],
      variables: [],
      fn: (x) => tf.mul(tf.cast(tf.greater(x, 3), 'float32'), 20),
    });
    const exact = await sampling.rejectionSampler({ discriminator: spiky, generate: proposal, seed: 1, burnIn: 20_000 });
    expect(exact.maxLogit).toBe(20);
    const robust = await sampling.rejectionSampler({
      discriminator: spiky,
      generate: proposal,
      seed: 1,
      burnIn: 20_000,
      maxLogitQuantile: 0.99,
    });
    expect(robust.maxLogit).toBe(0);
    tf.dispose(await robust.sample(1000));
    expect(robust.acceptanceRate).toBe(1);
  });

  it('raises M (quantile 1) whenever a larger logit shows up, so no accepted sample is above it', async () => {
    const identity = discriminatorFromFunction({ inputShape: [1], variables: [], fn: (x) => x }); // logit = x
    const s = await sampling.rejectionSampler({ discriminator: identity, generate: proposal, burnIn: 1, seed: 2 });
    const m0 = s.maxLogit;
    const x = await s.sample(300);
    const top = Math.max(...(await x.data()));
    expect(s.maxLogit).toBeGreaterThan(m0);
    expect(s.maxLogit).toBeGreaterThanOrEqual(top);
    x.dispose();
  });

  it('gammaQuantile sets γ to that quantile of F over the burn-in, as DRS does (with M the largest logit: more kept)', async () => {
    const identity = discriminatorFromFunction({ inputShape: [1], variables: [], fn: (x) => x }); // logit = x
    const opts = { discriminator: identity, generate: proposal, burnIn: 20_000, seed: 3 };
    const drs = await sampling.rejectionSampler({ ...opts, gammaQuantile: 0.95 });
    // Proposals N(0, 1): M is the largest of 20 000 (≈ 3.9), γ is F at the 0.95 normal quantile.
    expect(drs.maxLogit).toBeGreaterThan(3.4);
    const d = 1.6449 - drs.maxLogit;
    const f = d - Math.log(1 - Math.exp(d - 1e-6));
    expect(f).toBeLessThan(-1.5);
    expect(Math.abs(drs.gamma - f)).toBeLessThan(0.05);
    // A proposal at the 0.95 quantile is kept with probability ½.
    expect(sampling.acceptanceProbability(1.6449, drs.maxLogit, drs.gamma)).toBeCloseTo(0.5, 1);
    calls = 0;
    const exact = await sampling.rejectionSampler(opts);
    expect(exact.gamma).toBe(0);
    const xg = await drs.sample(1000);
    const xe = await exact.sample(1000);
    // γ = 0 keeps N(0, 1) ∝ e^x, i.e. N(1, 1); the negative γ keeps more, so its samples lie closer to N(0, 1).
    const exactMean = (await moments(xe)).mean;
    expect(Math.abs(exactMean - 1)).toBeLessThan(0.1);
    expect((await moments(xg)).mean).toBeLessThan(exactMean - 0.15);
    expect(drs.acceptanceRate).toBeGreaterThan(2 * exact.acceptanceRate);
    tf.dispose([xg, xe]);
    await expect(sampling.rejectionSampler({ ...opts, gammaQuantile: 1 })).rejects.toBeInstanceOf(GANConfigError);
    await expect(sampling.rejectionSampler({ ...opts, gamma: 1, gammaQuantile: 0.5 })).rejects.toThrow(/not both/);
  });

  it('errors: bad options, exhausted proposals (typed, leak-free), shape mismatch, non-finite logits', async () => {
    const { d } = quadraticD([A, B, C]);
    await expect(sampling.rejectionSampler({ discriminator: d, generate: proposal, gamma: Number.NaN })).rejects.toBeInstanceOf(
      GANConfigError,
    );
    await expect(sampling.rejectionSampler({ discriminator: d, generate: proposal, maxLogitQuantile: 0 })).rejects.toBeInstanceOf(
      GANConfigError,
    );
    await expect(sampling.rejectionSampler({ discriminator: d, generate: proposal, burnIn: 0 })).rejects.toBeInstanceOf(
      GANConfigError,
    );
    await expect(
      sampling.rejectionSampler({ discriminator: d, generate: (n) => tf.zeros([n, 2]), burnIn: 10 }),
    ).rejects.toBeInstanceOf(ShapeMismatchError);
    const nan = discriminatorFromFunction({ inputShape: [1], variables: [], fn: (x) => tf.div(x, 0) });
    await expect(sampling.rejectionSampler({ discriminator: nan, generate: proposal, burnIn: 10 })).rejects.toBeInstanceOf(
      DataError,
    );
    const s = await sampling.rejectionSampler({
      discriminator: d,
      generate: proposal,
      gamma: 8,
      burnIn: 1000,
      batchSize: 100,
      maxProposals: 300,
    });
    const before = tf.memory().numTensors;
    await expect(s.sample(1000)).rejects.toThrow(/maxProposals: 300 proposals gave \d+ of 1000/);
    const small = await sampling.rejectionSampler({
      discriminator: d,
      generate: proposal,
      gamma: 8,
      burnIn: 10,
      maxProposals: 5,
    });
    await expect(small.sample(1000)).rejects.toThrow(/maxProposals: 5 proposals gave/); // never more than asked
    await expect(
      sampling.rejectionSampler({ discriminator: d, generate: (n) => tf.zeros([Math.max(1, n - 1), 1]), burnIn: 10 }),
    ).rejects.toBeInstanceOf(ShapeMismatchError);
    await expect(s.sample(0)).rejects.toBeInstanceOf(GANConfigError);
    expect(tf.memory().numTensors).toBe(before);
    d.dispose?.();
  });
});

// Conditional: class 0 ~ N(1, 0.5²), class 1 ~ N(−1, 0.5²); the "generator" ignores the class and draws N(0, 1).
// log(p_data(x | y) / p_g(x | y)) = A x² ± B x + C: the two classes' D* mirror each other.
const EXACT: [number, number, number][] = [
  [A, B, C],
  [A, -B, C],
];

/** A conditional logistic model over (x², x, 1), one weight row per class: it can represent both classes' D*. */
function conditionalQuadraticD(
  init: [number, number, number][] = [
    [0, 0, 0],
    [0, 0, 0],
  ],
) {
  const w = tf.variable(tf.tensor2d(init));
  const d: ConditionalDiscriminator = {
    numClasses: 2,
    inputShape: [1],
    trainableVariables: [w],
    apply: (x, { labels }) => tf.sum(tf.mul(tf.concat([tf.square(x), x, tf.onesLike(x)], 1), tf.gather(w, labels)), 1, true),
    dispose: () => w.dispose(),
  };
  return { d, w };
}

let conditionalCalls = 0;
const conditionalProposal = (labels: tf.Tensor1D) =>
  tf.randomNormal([labels.shape[0], 1], 0, 1, 'float32', 5000 + conditionalCalls++);
beforeEach(() => {
  conditionalCalls = 0;
});

/** n real examples: labels alternate 0, 1; x ~ N(±1, 0.5²). */
function conditionalReal(n: number, seed: number) {
  return tf.tidy(() => {
    const labels = tf.tensor1d(
      Array.from({ length: n }, (_, i) => i % 2),
      'int32',
    );
    const sign = tf.reshape(tf.sub(1, tf.mul(2, tf.cast(labels, 'float32'))), [n, 1]);
    const x = tf.add(tf.randomNormal([n, 1], 0, 0.5, 'float32', seed), sign);
    return { x, labels };
  });
}

describe('conditional DRS: fitConditionalDiscriminator and conditionalRejectionSampler', () => {
  it("learns each class's logit D*(x | y) = log(p_data(x | y) / p_g(x | y)) (closed form), leak-free", async () => {
    const { d, w } = conditionalQuadraticD();
    const real = conditionalReal(20_000, 21);
    const before = tf.memory().numTensors;
    const r = await sampling.fitConditionalDiscriminator({
      discriminator: d,
      real,
      generate: conditionalProposal,
      steps: 1500,
      batchSize: 512,
      optimizer: tf.train.adam(0.05),
      seed: 3,
    });
    expect(tf.memory().numTensors - before).toBe(4); // the caller's Adam state only
    expect(r.steps).toBe(1500);
    const rows = (await w.array()) as number[][];
    for (const [c, exact] of EXACT.entries()) {
      for (const [j, v] of exact.entries()) {
        expect(Math.abs((rows[c]?.[j] as number) - v), `class ${c}, weight ${j}`).toBeLessThan(0.3);
      }
    }
    expect(r.loss).toBeLessThan(Math.log(4) - 0.3);
    tf.dispose([real.x, real.labels]);
    d.dispose?.();
  }, 60_000);

  it('takes real examples from a function; bad labels, shapes and an unconditional D fail before anything changes', async () => {
    const { d, w } = conditionalQuadraticD([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const good = conditionalReal(100, 5);
    const plain = quadraticD().d;
    const before = tf.memory().numTensors;
    const base = { discriminator: d, real: good, generate: conditionalProposal, steps: 5, batchSize: 16 };
    const outOfRange = { x: good.x, labels: tf.fill([100], 2, 'int32') as tf.Tensor1D };
    await expect(sampling.fitConditionalDiscriminator({ ...base, real: outOfRange })).rejects.toBeInstanceOf(DataError);
    const fractional = { x: good.x, labels: tf.fill([100], 0.5) as tf.Tensor1D };
    await expect(sampling.fitConditionalDiscriminator({ ...base, real: fractional })).rejects.toBeInstanceOf(DataError);
    const short = { x: good.x, labels: tf.zeros([99], 'int32') as tf.Tensor1D };
    await expect(sampling.fitConditionalDiscriminator({ ...base, real: short })).rejects.toBeInstanceOf(ShapeMismatchError);
    await expect(
      sampling.fitConditionalDiscriminator({
        ...base,
        real: (n) => ({ x: tf.zeros([n, 1]), labels: tf.fill([n], 7, 'int32') as tf.Tensor1D }),
      }),
    ).rejects.toBeInstanceOf(DataError);
    await expect(
      sampling.fitConditionalDiscriminator({ ...base, generate: (y) => tf.zeros([y.shape[0], 2]) }),
    ).rejects.toBeInstanceOf(ShapeMismatchError);
    await expect(
      sampling.fitConditionalDiscriminator({ ...base, discriminator: plain as unknown as ConditionalDiscriminator }),
    ).rejects.toBeInstanceOf(GANConfigError);
    tf.dispose([outOfRange.labels, fractional.labels, short.labels]);
    expect(tf.memory().numTensors).toBe(before);
    expect(await w.array()).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    // A function source's labels are checked as drawn — fractional ones on the first draw, before anything moves…
    await expect(
      sampling.fitConditionalDiscriminator({
        ...base,
        real: (n) => ({ x: tf.zeros([n, 1]), labels: tf.fill([n], 0.5) as tf.Tensor1D }),
      }),
    ).rejects.toBeInstanceOf(DataError);
    expect(tf.memory().numTensors).toBe(before);
    expect(await w.array()).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    // …and out-of-range ones at a later update, as a typed error, leak-free.
    let draws = 0;
    await expect(
      sampling.fitConditionalDiscriminator({
        ...base,
        real: (n) => ({ x: tf.zeros([n, 1]), labels: tf.fill([n], draws++ < 3 ? 1 : 5, 'int32') as tf.Tensor1D }),
      }),
    ).rejects.toThrow(/real labels: label 0 is 5, outside \[0, 1\]/);
    expect(tf.memory().numTensors).toBe(before);
    // A function source: fresh batches every update; only D's variables move and nothing leaks.
    let seed = 900;
    const r = await sampling.fitConditionalDiscriminator({
      ...base,
      real: (n) => conditionalReal(n, seed++),
      steps: 20,
      logEvery: 5,
    });
    expect(r.steps).toBe(20);
    expect(tf.memory().numTensors).toBe(before);
    expect(await w.array()).not.toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    plain.dispose?.();
    tf.dispose([good.x, good.labels]);
    d.dispose?.();
  }, 60_000);

  it("turns each class's proposals into that class's data with the exact D*, returned in the labels' order", async () => {
    const { d } = conditionalQuadraticD(EXACT);
    const drs = await sampling.conditionalRejectionSampler({
      discriminator: d,
      generate: conditionalProposal,
      seed: 6,
      burnIn: 20_000,
    });
    const maxLogit = C - (B * B) / (4 * A); // at x = ±4/3, the same for both classes
    expect(drs.numClasses).toBe(2);
    for (const m of drs.maxLogits) {
      expect(m).toBeLessThanOrEqual(maxLogit + 1e-4);
      expect(m).toBeGreaterThan(maxLogit - 0.01);
    }
    expect(drs.gammas).toEqual([0, 0]);
    // Labels in a mixed order: 3 000 of class 1, then alternating, then class 0.
    const labels = [...new Array(3000).fill(1), ...Array.from({ length: 2000 }, (_, i) => i % 2), ...new Array(1000).fill(0)];
    const before = tf.memory().numTensors;
    const x = await drs.sample(labels);
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(x.shape).toEqual([6000, 1]);
    const v = (await x.data()) as Float32Array;
    const byClass = [0, 1].map((c) => Array.from(v).filter((_, i) => labels[i] === c));
    for (const [c, values] of byClass.entries()) {
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
      expect(Math.abs(mean - (c === 0 ? 1 : -1)), `class ${c} mean`).toBeLessThan(0.04);
      expect(Math.abs(std - 0.5), `class ${c} std`).toBeLessThan(0.04);
    }
    expect(Math.abs(drs.acceptanceRate - Math.exp(-maxLogit))).toBeLessThan(0.02);
    expect(drs.accepted).toBe(6000);
    // One-hot rows are labels too: 300 rows of class 1, then 300 of class 0.
    const oneHot = await drs.sample([...new Array(300).fill([0, 1]), ...new Array(300).fill([1, 0])]);
    expect(oneHot.shape).toEqual([600, 1]);
    const h = Array.from((await oneHot.data()) as Float32Array);
    const meanOf = (a: number[]) => a.reduce((p, q) => p + q, 0) / a.length;
    expect(Math.abs(meanOf(h.slice(0, 300)) + 1)).toBeLessThan(0.15);
    expect(Math.abs(meanOf(h.slice(300)) - 1)).toBeLessThan(0.15);
    tf.dispose([x, oneHot]);
    d.dispose?.();
  }, 60_000);

  it('errors: bad labels before any proposal, an unconditional D, exhausted proposals — typed and leak-free', async () => {
    const { d } = conditionalQuadraticD(EXACT);
    const plain = quadraticD().d;
    const start = tf.memory().numTensors;
    await expect(
      sampling.conditionalRejectionSampler({
        discriminator: plain as unknown as ConditionalDiscriminator,
        generate: conditionalProposal,
      }),
    ).rejects.toBeInstanceOf(GANConfigError);
    await expect(
      sampling.conditionalRejectionSampler({ discriminator: d, generate: conditionalProposal, gamma: 1, gammaQuantile: 0.5 }),
    ).rejects.toThrow(/not both/);
    await expect(
      sampling.conditionalRejectionSampler({ discriminator: d, generate: (y) => tf.zeros([y.shape[0], 3]), burnIn: 10 }),
    ).rejects.toBeInstanceOf(ShapeMismatchError);
    await expect(
      sampling.conditionalRejectionSampler({
        discriminator: d,
        generate: (y) => tf.div(tf.zeros([y.shape[0], 1]), 0),
        burnIn: 10,
      }),
    ).rejects.toThrow(/conditionalRejectionSampler: the discriminator gave a non-finite logit/);
    expect(tf.memory().numTensors).toBe(start); // the constructors' error paths free their proposals
    // The unconditional pair refuses a conditional critic up front, naming the function to use.
    await expect(sampling.rejectionSampler({ discriminator: d as never, generate: proposal })).rejects.toThrow(
      /conditionalRejectionSampler/,
    );
    await expect(
      sampling.fitDiscriminator({ discriminator: d as never, real: tf.zeros([4, 1]), generate: proposal, steps: 1 }),
    ).rejects.toThrow(/fitConditionalDiscriminator/);
    const s = await sampling.conditionalRejectionSampler({
      discriminator: d,
      generate: conditionalProposal,
      burnIn: 100,
      gamma: 8,
      maxProposals: 300,
      batchSize: 100,
    });
    const before = tf.memory().numTensors;
    await expect(s.sample([0, 2])).rejects.toBeInstanceOf(DataError);
    await expect(s.sample([0.5])).rejects.toBeInstanceOf(DataError);
    await expect(s.sample([])).rejects.toBeInstanceOf(GANConfigError);
    expect(s.proposals).toBe(0); // nothing drawn for bad labels
    await expect(s.sample(new Array(1000).fill(1))).rejects.toThrow(/maxProposals: 300 proposals gave \d+ of 1000/);
    expect(tf.memory().numTensors).toBe(before);
    // The budget covers all classes of one call and counts only proposals decided on. γ = 0: acceptance e^−1.36 ≈ 0.26.
    const exact = await sampling.conditionalRejectionSampler({
      discriminator: d,
      generate: conditionalProposal,
      burnIn: 1000,
      batchSize: 100,
      maxProposals: 130,
      seed: 12,
    });
    // One of class 0 decides a few proposals and leaves the rest of the budget to class 1 (a batch's undecided
    // proposals must not count: 100 of them would leave class 1 only 30).
    const few = await exact.sample([0, ...new Array(20).fill(1)]);
    expect(few.shape).toEqual([21, 1]);
    expect(exact.proposals).toBeLessThanOrEqual(130);
    few.dispose();
    // 20 of class 0 take ~78 decisions; class 1 cannot find 20 more in what is left of the call's 130.
    const error = await exact.sample([...new Array(20).fill(0), ...new Array(20).fill(1)]).catch((e: Error) => e);
    expect(error).toBeInstanceOf(GANConfigError);
    const got = Number(/gave (\d+) of 40/.exec((error as Error).message)?.[1]);
    expect(got).toBeGreaterThanOrEqual(20); // class 0 finished: the budget was shared, not per class
    expect(got).toBeLessThan(40);
    expect(tf.memory().numTensors).toBe(before);
    plain.dispose?.();
    d.dispose?.();
  });
});
