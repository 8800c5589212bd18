import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Discriminator,
  discriminatorStep,
  type Generator,
  generatorFromFunction,
  losses,
  mlpDiscriminator,
} from '../src/index';
import { gaussian } from './helpers';

// Goodfellow et al. 2014, Proposition 1 and Theorem 1, checked numerically on 1-D Gaussians.
const LOG4 = Math.log(4);
const normalPdf = (x: number, m: number, s: number) => Math.exp(-((x - m) ** 2) / (2 * s * s)) / (s * Math.sqrt(2 * Math.PI));

/** A frozen generator: z ~ N(0, 1) ↦ mean + std·z, with no trainable variables. */
function frozenGaussian(mean: number, std: number): Generator {
  return generatorFromFunction({ latentDim: 1, outputShape: [1], variables: [], fn: (z) => tf.add(tf.mul(z, std), mean) });
}

/** Trains D alone against a frozen G with the paper's discriminator loss. */
function trainDiscriminator(g: Generator, data: { mean: number; std: number }, steps: number): Discriminator {
  const discriminator = mlpDiscriminator({ inputShape: [1], hiddenUnits: [32, 32], seed: 7 });
  const loss = losses.minimax();
  // A fast phase, then a slow one so the estimate settles.
  for (const [lr, n] of [
    [3e-3, steps],
    [3e-4, steps / 2],
  ] as const) {
    const optimizer = tf.train.adam(lr, 0.5);
    for (let i = 0; i < n; i++) {
      const real = gaussian(512, data.mean, data.std, 1000 + i + lr * 1e6);
      const z = tf.randomNormal([512, 1], 0, 1, 'float32', 5000 + i + lr * 1e6) as tf.Tensor2D;
      tf.dispose([discriminatorStep({ generator: g, discriminator, loss, optimizer, real, z }), real, z]);
    }
    optimizer.dispose();
  }
  return discriminator;
}

function dOnGrid(d: Discriminator, xs: number[]): number[] {
  return tf.tidy(() => Array.from(tf.sigmoid(d.apply(tf.tensor2d(xs, [xs.length, 1]), { training: false })).dataSync()));
}

/** V(D, G) = E[log D(x)] + E[log(1 − D(G(z)))] by Monte Carlo, in the stable softplus form. */
function valueFunction(d: Discriminator, g: Generator, data: { mean: number; std: number }): number {
  return tf.tidy(() => {
    const real = gaussian(20000, data.mean, data.std, 77);
    const fake = g.apply(tf.randomNormal([20000, 1], 0, 1, 'float32', 78) as tf.Tensor2D, { training: false });
    const lr = d.apply(real, { training: false });
    const lf = d.apply(fake, { training: false });
    return tf.neg(tf.add(tf.mean(tf.softplus(tf.neg(lr))), tf.mean(tf.softplus(lf)))).dataSync()[0] as number;
  });
}

describe('the optimal discriminator (Proposition 1)', () => {
  const data = { mean: 0, std: 1 };
  const gen = { mean: 1, std: 0.5 };
  const grid = Array.from({ length: 15 }, (_, i) => -1.5 + i * 0.25); // where both densities have mass
  const g = frozenGaussian(gen.mean, gen.std);
  let d: Discriminator;
  beforeAll(() => {
    d = trainDiscriminator(g, data, 400);
  });
  afterAll(() => d.dispose?.());

  it('D trained against a frozen G approaches D* = p_data / (p_data + p_g) on a grid', () => {
    const got = dOnGrid(d, grid);
    const optimal = grid.map(
      (x) => normalPdf(x, data.mean, data.std) / (normalPdf(x, data.mean, data.std) + normalPdf(x, gen.mean, gen.std)),
    );
    const errors = got.map((v, i) => Math.abs(v - (optimal[i] as number)));
    console.log(`max |D − D*| on the grid: ${Math.max(...errors).toFixed(4)}`);
    expect(Math.max(...errors)).toBeLessThan(0.04);
    // D* is far from constant here (it spans 0.14 … 0.94), so the match is not trivial.
    expect(Math.max(...optimal) - Math.min(...optimal)).toBeGreaterThan(0.75);
  });

  it('V(D*, G) = −log 4 + 2·JSD(p_data ‖ p_g) (Theorem 1)', () => {
    // JSD by numerical integration.
    let jsd = 0;
    const dx = 0.001;
    for (let x = -8; x < 8; x += dx) {
      const p = normalPdf(x, data.mean, data.std);
      const q = normalPdf(x, gen.mean, gen.std);
      const m = (p + q) / 2;
      if (p > 0) jsd += 0.5 * p * Math.log(p / m) * dx;
      if (q > 0) jsd += 0.5 * q * Math.log(q / m) * dx;
    }
    const v = valueFunction(d, g, data);
    console.log(`V = ${v.toFixed(4)}, −log 4 + 2·JSD = ${(-LOG4 + 2 * jsd).toFixed(4)}`);
    expect(Math.abs(v - (-LOG4 + 2 * jsd))).toBeLessThan(0.015);
    // A constant D = ½ would give −log 4, far outside that tolerance.
    expect(2 * jsd).toBeGreaterThan(0.2);
  });

  it('when p_g = p_data, the trained D is ½ everywhere and V = −log 4', () => {
    const same = frozenGaussian(data.mean, data.std);
    const dSame = trainDiscriminator(same, data, 200);
    for (const p of dOnGrid(dSame, grid)) expect(Math.abs(p - 0.5)).toBeLessThan(0.05);
    expect(Math.abs(valueFunction(dSame, same, data) - -LOG4)).toBeLessThan(0.01);
    dSame.dispose?.();
  });
});
