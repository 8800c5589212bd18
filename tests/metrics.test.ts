import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { DataError, GANConfigError, metrics, ShapeMismatchError } from '../src/index';

/** Gaussian samples N(mean, diag(std²)) `[n, d]`, seeded. */
function normal(n: number, mean: number[], std: number[], seed: number): tf.Tensor2D {
  return tf.tidy(() => tf.add(tf.mul(tf.randomNormal([n, mean.length], 0, 1, 'float32', seed), std), mean)) as tf.Tensor2D;
}

describe('Gaussian mixtures (PacGAN protocol values)', () => {
  it('ring: 8 modes on the unit circle, σ 0.01; grid: 25 modes at {−4 … 4}², σ 0.05', () => {
    const ring = metrics.ringOfGaussians();
    expect(ring.means).toHaveLength(8);
    expect(ring.std).toBe(0.01);
    for (const [x, y] of ring.means as [number, number][]) expect(Math.hypot(x, y)).toBeCloseTo(1, 12);
    const grid = metrics.gridOfGaussians();
    expect(grid.means).toHaveLength(25);
    expect(grid.std).toBe(0.05);
    expect(new Set(grid.means.flat())).toEqual(new Set([-4, -2, 0, 2, 4]));
  });

  it('samples are seeded, have the mixture’s spread, and visit every mode', async () => {
    const grid = metrics.gridOfGaussians();
    const a = grid.sample(5000, 3);
    const b = grid.sample(5000, 3);
    expect(await a.data()).toEqual(await b.data());
    const c = await metrics.modeCoverage(a, grid, { threshold: 100 });
    // Every mode gets about 5000/25 = 200 samples.
    for (const k of c.perMode) expect(k).toBeGreaterThan(140);
    // Residuals from the nearest mode have std ≈ 0.05.
    const residual = tf.tidy(() => {
      const r = tf.sub(a, tf.mul(tf.round(tf.div(a, 2)), 2));
      return tf.moments(r).variance;
    });
    expect(Math.sqrt((await residual.data())[0] as number)).toBeCloseTo(0.05, 2);
    tf.dispose([a, b, residual]);
  });

  it('rejects bad options with typed errors', () => {
    expect(() => metrics.ringOfGaussians({ modes: 0 })).toThrow(GANConfigError);
    expect(() => metrics.gridOfGaussians({ std: -1 })).toThrow(GANConfigError);
    expect(() => metrics.gaussianMixture([[0, 0], [1]], 1)).toThrow(GANConfigError);
  });
});

describe('modeCoverage', () => {
  it('the real mixtures’ own samples cover every mode with ≈ 98.9 % high quality (1 − e^−4.5)', async () => {
    const ceiling = 1 - Math.exp(-4.5);
    for (const mixture of [metrics.ringOfGaussians(), metrics.gridOfGaussians()]) {
      const real = mixture.sample(20000, 11);
      const c = await metrics.modeCoverage(real, mixture);
      expect(c.modesCovered).toBe(c.numModes);
      // Binomial standard error at n = 20 000 is 0.0007.
      expect(Math.abs(c.highQualityShare - ceiling)).toBeLessThan(0.003);
      expect(c.perMode.reduce((s, v) => s + v, 0)).toBe(Math.round(c.highQualityShare * 20000));
      real.dispose();
    }
  });

  it('a collapsed generator covers one mode; off-mode samples are not high quality', async () => {
    const ring = metrics.ringOfGaussians();
    const collapsed = tf.tensor2d([
      [1, 0],
      [1.005, 0],
      [0.99, 0.01],
      [0, 0],
    ]);
    const c = await metrics.modeCoverage(collapsed, ring);
    expect(c.modesCovered).toBe(1);
    expect(c.highQualityShare).toBe(0.75);
    expect(c.perMode[0]).toBe(3);
    expect((await metrics.modeCoverage(collapsed, ring, { minSamples: 4 })).modesCovered).toBe(0);
    collapsed.dispose();
  });

  it('rejects mismatched widths and bad thresholds, and leaks nothing', async () => {
    const grid = metrics.gridOfGaussians();
    const x = tf.zeros([3, 3]);
    const before = tf.memory().numTensors;
    await expect(metrics.modeCoverage(x, grid)).rejects.toThrow(ShapeMismatchError);
    await expect(metrics.modeCoverage([[0, 0]], grid, { threshold: 0 })).rejects.toThrow(GANConfigError);
    await metrics.modeCoverage([[0, 0]], grid);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});

describe('Parzen-window log-likelihood', () => {
  it('one sample: the estimate is the Gaussian log-density exactly', async () => {
    const mu = [[0.5, -1, 2]];
    const test = [
      [0, 0, 0],
      [1, 1, 1],
    ];
    const sigma = 0.7;
    const r = await metrics.parzenLogLikelihood(mu, test, { sigma });
    const logDensity = (x: number[]) =>
      -x.reduce((s, v, i) => s + (v - (mu[0] as number[])[i]!) ** 2, 0) / (2 * sigma * sigma) -
      3 * Math.log(sigma * Math.sqrt(2 * Math.PI));
    const expected = test.map(logDensity);
    expect(r.mean).toBeCloseTo((expected[0]! + expected[1]!) / 2, 4);
    expect(r.standardError).toBeCloseTo(Math.abs(expected[0]! - expected[1]!) / 2 / Math.sqrt(2), 4);
    expect(r.sigma).toBe(sigma);
  });

  it('many samples of N(0, I): converges to E log N(x; 0, (1 + σ²)I), the analytic value', async () => {
    const d = 2;
    const sigma = 0.5;
    const samples = normal(5000, [0, 0], [1, 1], 1);
    const test = normal(1000, [0, 0], [1, 1], 2);
    const r = await metrics.parzenLogLikelihood(samples, test, { sigma, batchSize: 250 });
    const v = 1 + sigma * sigma;
    const analytic = -(d / 2) * Math.log(2 * Math.PI * v) - d / (2 * v);
    expect(Math.abs(r.mean - analytic)).toBeLessThan(3 * r.standardError + 0.01);
    tf.dispose([samples, test]);
  });

  it('batched equals unbatched (a direct float64 computation) for every batch size', async () => {
    const samples = tf.randomUniform([300, 20], 0, 1, 'float32', 5);
    const test = tf.randomUniform([37, 20], 0, 1, 'float32', 6);
    const s = (await samples.array()) as number[][];
    const t = (await test.array()) as number[][];
    const sigma = 0.3;
    const direct = t.map((x) => {
      const e = s.map((m) => -m.reduce((a, v, i) => a + (x[i]! - v) ** 2, 0) / (2 * sigma * sigma));
      const top = Math.max(...e);
      return (
        top + Math.log(e.reduce((a, v) => a + Math.exp(v - top), 0) / s.length) - 20 * Math.log(sigma * Math.sqrt(2 * Math.PI))
      );
    });
    const mean = direct.reduce((a, v) => a + v, 0) / direct.length;
    const before = tf.memory().numTensors;
    for (const batchSize of [1, 7, 37, 1000]) {
      const r = await metrics.parzenLogLikelihood(samples, test, { sigma, batchSize });
      expect(r.mean).toBeCloseTo(mean, 3);
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([samples, test]);
  });

  it('selects σ on validation data: the candidate nearest the optimum for a known Gaussian', async () => {
    // 1-D, samples of N(0, 1) and validation N(0, 1): E log p is maximised near Silverman's width,
    // and a σ far off (1e-3, 30) must lose against one of the right order.
    const samples = normal(1000, [0], [1], 7);
    const validation = normal(300, [0], [1], 8);
    const sel = await metrics.selectParzenSigma(samples, validation, [1e-3, 0.3, 30]);
    expect(sel.sigma).toBe(0.3);
    expect(sel.scores.map((s) => s.sigma)).toEqual([1e-3, 0.3, 30]);
    const best = Math.max(...sel.scores.map((s) => s.mean));
    expect(sel.scores[1]!.mean).toBe(best);
    const r = await metrics.parzenLogLikelihood(samples, validation, { validation, sigmas: [1e-3, 0.3, 30] });
    expect(r.sigma).toBe(0.3);
    expect(metrics.PARZEN_SIGMAS).toHaveLength(10);
    expect(metrics.PARZEN_SIGMAS[0]).toBeCloseTo(0.1, 12);
    expect(metrics.PARZEN_SIGMAS[9]).toBeCloseTo(1, 12);
    tf.dispose([samples, validation]);
  });

  it('requires σ or a validation set, and matching widths', async () => {
    await expect(metrics.parzenLogLikelihood([[0]], [[0]])).rejects.toThrow(GANConfigError);
    await expect(metrics.parzenLogLikelihood([[0]], [[0, 1]], { sigma: 1 })).rejects.toThrow(ShapeMismatchError);
    await expect(metrics.parzenLogLikelihood([], [[0]], { sigma: 1 })).rejects.toThrow(DataError);
  });
});

describe('Fréchet distance and KID', () => {
  it('is 0 for a set with itself', async () => {
    const x = tf.randomNormal([500, 16], 0, 1, 'float32', 3);
    const y = tf.matMul(x, tf.randomNormal([16, 16], 0, 1, 'float32', 4)); // correlated features
    expect(await metrics.frechetDistance(y, y)).toBeLessThan(1e-3);
    tf.dispose([x, y]);
  });

  it('equals the closed form for two Gaussians with non-commuting covariances (2-D: tr√(AB) = √(tr AB + 2√(det A det B)))', () => {
    const a = { mean: Float64Array.from([1, 2]), covariance: Float64Array.from([2, 0.8, 0.8, 1]), dim: 2, count: 100 };
    const b = { mean: Float64Array.from([-1, 0.5]), covariance: Float64Array.from([0.5, -0.3, -0.3, 3]), dim: 2, count: 100 };
    const trAB = 2 * 0.5 + 0.8 * -0.3 + 0.8 * -0.3 + 1 * 3;
    const det = (2 * 1 - 0.8 * 0.8) * (0.5 * 3 - 0.09);
    const closed = 2 ** 2 + 1.5 ** 2 + 3 + 3.5 - 2 * Math.sqrt(trAB + 2 * Math.sqrt(det));
    expect(metrics.frechetDistanceFromMoments(a, b)).toBeCloseTo(closed, 10);
  });

  it('on samples of two known Gaussians approaches ‖Δμ‖² + Σ(σa − σb)²', async () => {
    const a = normal(20000, [0, 0, 0], [1, 2, 0.5], 1);
    const b = normal(20000, [1, 0, -1], [2, 2, 1], 2);
    const closed = 2 + (1 + 0 + 0.25);
    expect(await metrics.frechetDistance(a, b)).toBeCloseTo(closed, 1);
    tf.dispose([a, b]);
  });

  it('KID is unbiased: its mean over independent same-distribution pairs is ≈ 0; clearly positive for two', async () => {
    const before = tf.memory().numTensors;
    const estimates: number[] = [];
    const biased: number[] = [];
    const k = (p: tf.Tensor2D, q: tf.Tensor2D) => tf.mean(tf.pow(tf.add(tf.div(tf.matMul(p, q, false, true), 4), 1), 3));
    for (let i = 0; i < 40; i++) {
      const a = normal(100, [0, 0, 0, 0], [1, 1, 1, 1], 100 + i);
      const b = normal(100, [0, 0, 0, 0], [1, 1, 1, 1], 200 + i);
      estimates.push((await metrics.kernelInceptionDistance(a, b, { subsets: 1, subsetSize: 100 })).mean);
      // The biased (V-statistic) MMD² of the same pair, for contrast.
      biased.push(tf.tidy(() => tf.sub(tf.add(k(a, a), k(b, b)), tf.mul(k(a, b), 2)).dataSync()[0] as number));
      tf.dispose([a, b]);
    }
    const mean = estimates.reduce((s, v) => s + v, 0) / estimates.length;
    const se = Math.sqrt(estimates.reduce((s, v) => s + (v - mean) ** 2, 0) / (estimates.length - 1) / estimates.length);
    expect(Math.abs(mean)).toBeLessThan(3 * se);
    const biasedMean = biased.reduce((s, v) => s + v, 0) / biased.length;
    expect(biasedMean).toBeGreaterThan(mean + 5 * se);
    const a = normal(600, [0, 0, 0, 0], [1, 1, 1, 1], 1);
    const c = normal(600, [0.7, 0, 0, 0], [1, 1, 1, 1], 3);
    const different = await metrics.kernelInceptionDistance(a, c, { subsets: 5, subsetSize: 300 });
    expect(different.mean).toBeGreaterThan(10 * 3 * se);
    tf.dispose([a, c]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('extractFeatures batches a feature model and rejects bad input', async () => {
    const x = tf.randomNormal([23, 4], 0, 1, 'float32', 1);
    const w = tf.randomNormal([4, 3], 0, 1, 'float32', 2);
    const f = metrics.extractFeatures((b) => tf.matMul(b, w), x, { batchSize: 5 });
    const direct = tf.matMul(x, w);
    expect(f.shape).toEqual([23, 3]);
    expect(tf.max(tf.abs(tf.sub(f, direct))).dataSync()[0]).toBeLessThan(1e-5);
    await expect(metrics.frechetDistance(f, x)).rejects.toThrow(GANConfigError);
    await expect(metrics.frechetDistance([[1, 2]], [[1, 2]])).rejects.toThrow(DataError);
    tf.dispose([x, w, f, direct]);
  });
});

describe('conditionalAccuracy', () => {
  it('counts the samples a classifier assigns to their label, per class', async () => {
    // A "classifier" that predicts the class of 1-D points by rounding: x ≈ class.
    const classifier = (x: tf.Tensor) => tf.oneHot(tf.cast(tf.clipByValue(tf.round(tf.reshape(x, [-1])), 0, 2), 'int32'), 3);
    const x = tf.tensor2d([[0], [0.1], [1.2], [2], [1.9], [0.8]]);
    const r = await metrics.conditionalAccuracy(classifier, x, [0, 1, 1, 2, 2, 0], { batchSize: 4 });
    expect(r.accuracy).toBeCloseTo(4 / 6, 12);
    expect(r.perClass).toEqual([0.5, 0.5, 1]);
    expect(r.counts).toEqual([2, 2, 2]);
    await expect(metrics.conditionalAccuracy(classifier, x, [0, 1])).rejects.toThrow(ShapeMismatchError);
    await expect(metrics.conditionalAccuracy(classifier, x, [0, 1, 1, 2, 2, 5])).rejects.toThrow(GANConfigError);
    x.dispose();
  });
});

describe('Jensen–Shannon divergence on a grid', () => {
  it('is 0 for identical data and log 2 for disjoint data, 1-D and 2-D, histogram and KDE', async () => {
    const a1 = normal(2000, [0], [1], 1);
    const a2 = normal(2000, [0, 0], [1, 1], 2);
    expect((await metrics.jsDivergenceOnGrid(a1, a1)).jsd).toBeCloseTo(0, 12);
    expect((await metrics.jsDivergenceOnGrid(a2, a2, { bandwidth: 0.2 })).jsd).toBeCloseTo(0, 12);
    const left = normal(500, [-5, 0], [0.1, 0.1], 3);
    const right = normal(500, [5, 0], [0.1, 0.1], 4);
    expect((await metrics.jsDivergenceOnGrid(left, right, { bins: 20 })).jsd).toBeCloseTo(Math.log(2), 12);
    expect((await metrics.jsDivergenceOnGrid(left, right, { bins: 20, bandwidth: 0.1 })).jsd).toBeCloseTo(Math.log(2), 6);
    tf.dispose([a1, a2, left, right]);
  });

  it('with the real density: matches the exact JSD of two known 1-D Gaussians’ discretisations', async () => {
    // Fake samples from N(1, 1), real density N(0, 1): compare against the same grid filled with N(1, 1)'s density.
    const fake = normal(200000, [1], [1], 5);
    const pdf = (m: number) => (p: readonly number[]) => Math.exp(-(((p[0] as number) - m) ** 2) / 2);
    const range: [number, number][] = [[-6, 7]];
    const est = await metrics.jsDivergenceOnGrid(pdf(0), fake, { bins: 52, range });
    const exactQ = Array.from({ length: 52 }, (_, i) => pdf(1)([-6 + (i + 0.5) * 0.25]));
    const exact = metrics.jsDivergence(est.p, exactQ);
    expect(exact).toBeGreaterThan(0.05);
    expect(Math.abs(est.jsd - exact)).toBeLessThan(0.01);
    // A reference: for N(0,1) vs N(1,1) the continuous JSD is ≈ 0.1132 nats (numerical integration).
    expect(exact).toBeCloseTo(0.1132, 2);
    fake.dispose();
  });

  it('rejects 3-D data and mismatched widths', async () => {
    await expect(metrics.jsDivergenceOnGrid([[0, 0, 0]], [[0, 0, 0]])).rejects.toThrow(ShapeMismatchError);
    await expect(metrics.jsDivergenceOnGrid([[0]], [[0, 0]])).rejects.toThrow(ShapeMismatchError);
  });
});

describe('the shipped MNIST classifier (assets/mnist-classifier)', () => {
  it('loads from file://, classifies held-out real digits, and its features separate digits from noise', async () => {
    const { mnistSplit } = await import('../examples/lib/mnist');
    const { test, validation } = mnistSplit();
    const classifier = await metrics.loadMnistClassifier(`file://${process.cwd()}/assets/mnist-classifier/model.json`);
    // Every other test digit (503) and every third validation digit (333) keep this test short (the split is ordered by digit).
    const x = tf.tidy(() => tf.gather(tf.tensor2d(test.pixels, [test.count, 784]), tf.range(0, test.count, 2, 'int32')));
    const v = tf.tidy(() =>
      tf.gather(tf.tensor2d(validation.pixels, [validation.count, 784]), tf.range(0, validation.count, 3, 'int32')),
    );
    const noise = tf.randomUniform([300, 784], 0, 1, 'float32', 1);
    const labels = test.labels.filter((_, i) => i % 2 === 0);
    const { accuracy } = await metrics.conditionalAccuracy(classifier.predict, x, labels);
    expect(accuracy).toBeGreaterThan(0.96);
    const [fx, fv, fn] = [x, v, noise].map((t) => metrics.extractFeatures(classifier.features, t)) as [
      tf.Tensor2D,
      tf.Tensor2D,
      tf.Tensor2D,
    ];
    expect(fx.shape).toEqual([labels.length, 64]);
    const real = await metrics.frechetDistance(fx, fv);
    const fake = await metrics.frechetDistance(fx, fn);
    expect(fake).toBeGreaterThan(20 * real);
    await expect(metrics.loadMnistClassifier('file:///nonexistent/model.json')).rejects.toThrow();
    tf.dispose([x, v, noise, fx, fv, fn]);
    classifier.dispose();
  });
});
