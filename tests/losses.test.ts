import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { GANConfigError, type GANLoss, losses } from '../src/index';

// The fixed logits of ../shared/ANCHORS.md.
const REAL = [-5, 1.4, 12.5, 2.7];
const FAKE = [10, 4.4, -5.5, 3.6];
const softplus = (x: number) => Math.log1p(Math.exp(-Math.abs(x))) + Math.max(x, 0);
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;

function values(loss: GANLoss, real = REAL, fake = FAKE): { d: number; g: number } {
  return tf.tidy(() => {
    const realLogits = tf.tensor2d(real, [real.length, 1]);
    const fakeLogits = tf.tensor2d(fake, [fake.length, 1]);
    const d = loss.discriminator({ realLogits, fakeLogits });
    const g = loss.generator({ fakeLogits });
    expect(d.rank).toBe(0);
    expect(g.rank).toBe(0);
    return { d: d.dataSync()[0] as number, g: g.dataSync()[0] as number };
  });
}

/** d loss / d logit_i, for real and fake logits, by autodiff. */
function gradients(loss: GANLoss, real = REAL, fake = FAKE) {
  return tf.tidy(() => {
    const r = tf.tensor1d(real);
    const f = tf.tensor1d(fake);
    const [dr, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) => loss.discriminator({ realLogits: a, fakeLogits: b }))([r, f]);
    const gf = tf.grad((b: tf.Tensor) => loss.generator({ fakeLogits: b }))(f);
    return { dReal: Array.from(dr!.dataSync()), dFake: Array.from(df!.dataSync()), gFake: Array.from(gf.dataSync()) };
  });
}

function expectClose(actual: number[], expected: number[], digits = 5) {
  expect(actual.length).toBe(expected.length);
  for (const [i, a] of actual.entries()) expect(a).toBeCloseTo(expected[i] as number, digits);
}

const n = REAL.length;

describe('built-in losses on the ANCHORS logits', () => {
  it('non-saturating: published G value, D = BCE, analytic gradients', () => {
    const { d, g } = values(losses.nonSaturating());
    expect(g).toBeCloseTo(1.38582, 4);
    expect(d).toBeCloseTo(mean(REAL.map((l) => softplus(-l))) + mean(FAKE.map((l) => softplus(l))), 5);
    const grad = gradients(losses.nonSaturating());
    expectClose(
      grad.dReal,
      REAL.map((l) => -sigmoid(-l) / n),
    );
    expectClose(
      grad.dFake,
      FAKE.map((l) => sigmoid(l) / n),
    );
    expectClose(
      grad.gFake,
      FAKE.map((l) => -sigmoid(-l) / n),
    );
  });

  it('minimax: G = E[log(1 − D(G(z)))] computed by hand, gradient −σ(l)/n', () => {
    const { d, g } = values(losses.minimax());
    const byHand = mean(FAKE.map((l) => Math.log(1 - sigmoid(l))));
    expect(g).toBeCloseTo(byHand, 4);
    expect(g).toBeCloseTo(-4.51082, 4); // −(10.00005 + 4.41220 + 0.00408 + 3.62696) / 4, worked out by hand
    expect(d).toBeCloseTo(values(losses.nonSaturating()).d, 6);
    expectClose(
      gradients(losses.minimax()).gFake,
      FAKE.map((l) => -sigmoid(l) / n),
    );
  });

  it('least squares: published G 17.69625 and D 41.73375', () => {
    const { d, g } = values(losses.leastSquares());
    expect(g).toBeCloseTo(17.69625, 4);
    expect(d).toBeCloseTo(41.73375, 4);
    const grad = gradients(losses.leastSquares());
    expectClose(
      grad.dReal,
      REAL.map((l) => (l - 1) / n),
    );
    expectClose(
      grad.dFake,
      FAKE.map((l) => l / n),
    );
    expectClose(
      grad.gFake,
      FAKE.map((l) => (l - 1) / n),
    );
  });

  it('wasserstein: published G −3.125 and D 0.225', () => {
    const { d, g } = values(losses.wasserstein());
    expect(g).toBeCloseTo(-3.125, 5);
    expect(d).toBeCloseTo(0.225, 5);
    const grad = gradients(losses.wasserstein());
    expectClose(
      grad.dReal,
      REAL.map(() => -1 / n),
    );
    expectClose(
      grad.dFake,
      FAKE.map(() => 1 / n),
    );
    expectClose(
      grad.gFake,
      FAKE.map(() => -1 / n),
    );
  });

  it('hinge: published D 6.75, G −E[D(G(z))]', () => {
    const { d, g } = values(losses.hinge());
    expect(d).toBeCloseTo(6.75, 5);
    expect(g).toBeCloseTo(-3.125, 5);
    const grad = gradients(losses.hinge());
    expectClose(
      grad.dReal,
      REAL.map((l) => (l < 1 ? -1 / n : 0)),
    );
    expectClose(
      grad.dFake,
      FAKE.map((l) => (l > -1 ? 1 / n : 0)),
    );
  });

  it('one-sided label smoothing changes only the real term', () => {
    const smooth = values(losses.nonSaturating({ labelSmoothing: 0.1 }));
    const t = 0.9;
    const expected = mean(REAL.map((l) => softplus(l) - t * l)) + mean(FAKE.map((l) => softplus(l)));
    expect(smooth.d).toBeCloseTo(expected, 5);
    expect(smooth.g).toBeCloseTo(1.38582, 4);
    expect(() => losses.minimax({ labelSmoothing: 1 })).toThrow(GANConfigError);
  });

  it('least-squares targets are configurable (a, b, c)', () => {
    const { d, g } = values(losses.leastSquares({ fakeTarget: -1, realTarget: 1, generatorTarget: 0 }));
    expect(d).toBeCloseTo(0.5 * mean(REAL.map((l) => (l - 1) ** 2)) + 0.5 * mean(FAKE.map((l) => (l + 1) ** 2)), 4);
    expect(g).toBeCloseTo(0.5 * mean(FAKE.map((l) => l ** 2)), 4);
  });

  it('is finite and exact at extreme logits (softplus, not log∘sigmoid)', () => {
    const big = [80, -80, 200, -200];
    for (const make of [losses.minimax, losses.nonSaturating]) {
      const { d, g } = values(make(), big, big);
      expect(Number.isFinite(d) && Number.isFinite(g)).toBe(true);
      expect(d).toBeCloseTo(mean(big.map((l) => softplus(-l))) + mean(big.map(softplus)), 3);
    }
    // Naive log(sigmoid(−80)) underflows to −Infinity in float32.
    const naive = tf.tidy(() => tf.log(tf.sigmoid(tf.scalar(-200))).dataSync()[0]);
    expect(naive).toBe(Number.NEGATIVE_INFINITY);
  });

  it('resolves names and rejects unknown ones with a typed error', () => {
    for (const name of losses.lossNames) expect(losses.resolveLoss(name).name).toBe(name);
    const custom: GANLoss = { name: 'x', discriminator: () => tf.scalar(0), generator: () => tf.scalar(0) };
    expect(losses.resolveLoss(custom)).toBe(custom);
    expect(() => losses.resolveLoss('bogus' as never)).toThrow(/unknown loss "bogus"/);
    expect(() => losses.resolveLoss('toString' as never)).toThrow(GANConfigError);
  });
});

describe('minimax vs non-saturating (Goodfellow et al. 2014, section 3)', () => {
  it('at a confident D (D(G(z)) ≈ 0) the minimax generator gradient vanishes, the non-saturating one does not', () => {
    const confident = [-10, -12, -9, -11]; // D(G(z)) = σ(l) < 5e-5
    const mm = gradients(losses.minimax(), REAL, confident).gFake;
    const ns = gradients(losses.nonSaturating(), REAL, confident).gFake;
    for (const g of mm) expect(Math.abs(g)).toBeLessThan(4e-5); // σ(l)/n ≤ σ(−9)/4 ≈ 3.1e-5
    for (const g of ns) expect(Math.abs(g)).toBeGreaterThan(0.24); // ≈ 1/n
    // Four orders of magnitude apart:
    for (let i = 0; i < n; i++) expect(Math.abs(mm[i] as number) / Math.abs(ns[i] as number)).toBeLessThan(2e-4);
    // Both push the logits the same way (up): same optimum, different strength.
    for (let i = 0; i < n; i++) expect(Math.sign(mm[i] as number)).toBe(Math.sign(ns[i] as number));
  });
});

describe('auxiliaryClassifier (ACGAN) weights', () => {
  // Two examples, three classes: cross-entropies by hand (logsumexp − picked logit).
  const realClassLogits = tf.tensor2d([
    [2, 0, -1],
    [0.5, 1.5, 0],
  ]);
  const fakeClassLogits = tf.tensor2d([
    [0, 0, 3],
    [1, -2, 0.5],
  ]);
  const realLabels = tf.tensor1d([0, 1], 'int32');
  const fakeLabels = tf.tensor1d([2, 1], 'int32');
  const ce = (rows: number[][], labels: number[]) =>
    rows.reduce((s, r, i) => s + Math.log(r.reduce((t, v) => t + Math.exp(v), 0)) - (r[labels[i] as number] as number), 0) /
    rows.length;
  const ceReal = ce(
    [
      [2, 0, -1],
      [0.5, 1.5, 0],
    ],
    [0, 1],
  );
  const ceFake = ce(
    [
      [0, 0, 3],
      [1, -2, 0.5],
    ],
    [2, 1],
  );
  const realLogits = tf.tensor1d([1, -0.5]);
  const fakeLogits = tf.tensor1d([-1, 0.25]);
  const base = losses.nonSaturating();
  const baseD = base.discriminator({ realLogits, fakeLogits }).dataSync()[0] as number;
  const baseG = base.generator({ fakeLogits }).dataSync()[0] as number;
  const value = (l: GANLoss) => ({
    d: l.discriminator({ realLogits, fakeLogits, realClassLogits, fakeClassLogits, realLabels, fakeLabels }).dataSync()[0],
    g: l.generator({ fakeLogits, fakeClassLogits, fakeLabels }).dataSync()[0],
  });

  it('adds w·CE(real) + w_fake·CE(fake) to D and w_G·CE(fake) to G, each defaulting to weight', () => {
    const v = value(losses.auxiliaryClassifier(base, { weight: 2 }));
    expect(v.d).toBeCloseTo(baseD + 2 * ceReal + 2 * ceFake, 5);
    expect(v.g).toBeCloseTo(baseG + 2 * ceFake, 5);
    const w = value(losses.auxiliaryClassifier(base, { weight: 1, fakeWeight: 0, generatorWeight: 5 }));
    expect(w.d).toBeCloseTo(baseD + ceReal, 5);
    expect(w.g).toBeCloseTo(baseG + 5 * ceFake, 5);
  });

  it('rejects negative or non-finite weights', () => {
    for (const o of [{ weight: -1 }, { fakeWeight: Number.NaN }, { generatorWeight: -0.5 }, { generatorWeight: Infinity }]) {
      expect(() => losses.auxiliaryClassifier(base, o)).toThrow(GANConfigError);
    }
  });
});
