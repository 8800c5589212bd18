import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  dcganDiscriminator,
  dcganGenerator,
  GANConfigError,
  GANTrainer,
  mlpDiscriminator,
  mlpGenerator,
  SeededDropout,
} from '../src/index';

type Layered = { model: { layers: { outputShape: unknown; getClassName(): string }[] } };
const layers = (m: Layered) => m.model.layers.filter((l) => l.getClassName() !== 'InputLayer');
const shapes = (m: Layered) => layers(m).map((l) => l.outputShape);
const names = (m: Layered) => layers(m).map((l) => l.getClassName());
const params = (vars: readonly tf.Variable[]) => vars.reduce((n, v) => n + v.size, 0);

describe('MLP presets', () => {
  it("default to the seed's MNIST MLP GAN: 64 → 256 → 256 → 784 tanh, D 784 → 256 → 256 → 1 logit", () => {
    const g = mlpGenerator();
    const d = mlpDiscriminator();
    expect(g.latentDim).toBe(64);
    expect(g.outputShape).toEqual([784]);
    expect(d.inputShape).toEqual([784]);
    expect(params(g.trainableVariables)).toBe(64 * 256 + 256 + 256 * 256 + 256 + 256 * 784 + 784);
    expect(params(d.trainableVariables)).toBe(784 * 256 + 256 + 256 * 256 + 256 + 256 + 1);
    expect(names(g)).toEqual(['Dense', 'LeakyReLU', 'Dense', 'LeakyReLU', 'Dense']);
    expect(names(d)).toEqual(['Dense', 'LeakyReLU', 'Dense', 'LeakyReLU', 'Dense']);
    expect((layers(g)[1] as unknown as { getConfig(): { alpha: number } }).getConfig().alpha).toBeCloseTo(0.2);
    const out = tf.tidy(() => Array.from(g.apply(tf.randomNormal([50, 64], 0, 3), { training: false }).dataSync()));
    expect(Math.max(...out.map(Math.abs))).toBeLessThanOrEqual(1); // tanh output
    g.dispose?.();
    d.dispose?.();
  });

  it('reshape multi-dimensional outputs and flatten multi-dimensional inputs', () => {
    const g = mlpGenerator({ latentDim: 4, hiddenUnits: [8], outputShape: [28, 28, 1] });
    const d = mlpDiscriminator({ inputShape: [28, 28, 1], hiddenUnits: [8] });
    const t = new GANTrainer({ generator: g, discriminator: d });
    const s = t.sample(3);
    expect(s.shape).toEqual([3, 28, 28, 1]);
    s.dispose();
    t.dispose();
  });

  it('the same seed builds the same weights, and layers of equal shape differ', () => {
    const a = mlpGenerator({ hiddenUnits: [16, 16], seed: 5 });
    const b = mlpGenerator({ hiddenUnits: [16, 16], seed: 5 });
    const c = mlpGenerator({ hiddenUnits: [16, 16], seed: 6 });
    const values = (g: typeof a) => g.trainableVariables.map((v) => Array.from(v.dataSync()));
    expect(values(a)).toEqual(values(b));
    expect(values(a)).not.toEqual(values(c));
    // The two 16×16 kernels got different seeds.
    const d = mlpDiscriminator({ inputShape: [16], hiddenUnits: [16, 16], seed: 1 });
    const [k1, , k2] = d.trainableVariables;
    expect(Array.from(k1!.dataSync())).not.toEqual(Array.from(k2!.dataSync()));
    for (const m of [a, b, c, d]) m.dispose?.();
  });
});

describe('DCGAN presets', () => {
  it('match the reference 28×28 DCGAN of ANCHORS.md', () => {
    const g = dcganGenerator();
    const d = dcganDiscriminator();
    expect(g.latentDim).toBe(100);
    expect(shapes(g)).toEqual([
      [null, 7 * 7 * 128],
      [null, 7 * 7 * 128],
      [null, 7 * 7 * 128],
      [null, 7, 7, 128],
      [null, 14, 14, 64],
      [null, 14, 14, 64],
      [null, 14, 14, 64],
      [null, 28, 28, 1],
    ]);
    expect(names(g)).toEqual([
      'Dense',
      'BatchNormalization',
      'ReLU',
      'Reshape',
      'Conv2DTranspose',
      'BatchNormalization',
      'ReLU',
      'Conv2DTranspose',
    ]);
    expect(shapes(d)).toEqual([
      [null, 14, 14, 64],
      [null, 14, 14, 64],
      [null, 7, 7, 128],
      [null, 7, 7, 128],
      [null, 7, 7, 128],
      [null, 7 * 7 * 128],
      [null, 1],
    ]);
    expect(names(d)).toEqual(['Conv2D', 'LeakyReLU', 'Conv2D', 'BatchNormalization', 'LeakyReLU', 'Flatten', 'Dense']);
    g.dispose?.();
    d.dispose?.();
  });

  it('scale to other sizes and channels', () => {
    for (const [imageSize, channels, stages] of [
      [32, 3, 3],
      [64, 3, 4],
      [16, 1, 2],
    ] as const) {
      const g = dcganGenerator({ imageSize, channels, latentDim: 8, baseFilters: 4 });
      const d = dcganDiscriminator({ imageSize, channels, baseFilters: 4 });
      expect(g.outputShape).toEqual([imageSize, imageSize, channels]);
      expect(d.inputShape).toEqual([imageSize, imageSize, channels]);
      expect(d.model.layers.filter((l) => l.getClassName() === 'Conv2D')).toHaveLength(stages);
      const t = new GANTrainer({ generator: g, discriminator: d });
      const s = t.sample(2);
      expect(s.shape).toEqual([2, imageSize, imageSize, channels]);
      s.dispose();
      t.dispose();
    }
    expect(() => dcganGenerator({ imageSize: 28, stages: 3 })).toThrow(GANConfigError);
    expect(() => dcganDiscriminator({ imageSize: 0 })).toThrow(GANConfigError);
  });

  it('trains a step without batch norm too', async () => {
    const t = new GANTrainer({
      generator: dcganGenerator({ imageSize: 8, latentDim: 4, baseFilters: 2, batchNorm: false, seed: 1 }),
      discriminator: dcganDiscriminator({ imageSize: 8, baseFilters: 2, batchNorm: false, seed: 2 }),
    });
    expect(t.generator.trainableVariables.length).toBeGreaterThan(0);
    const logs = await t.step(tf.zeros([4, 8, 8, 1]));
    expect(Number.isFinite(logs.dLoss) && Number.isFinite(logs.gLoss)).toBe(true);
    t.dispose();
  });
});

describe('dropout in the seeded MLP discriminator', () => {
  const x = tf.tensor2d(
    Array.from({ length: 8 * 784 }, (_, i) => Math.sin(i)),
    [8, 784],
  );
  const features = (d: ReturnType<typeof mlpDiscriminator>, training: boolean) =>
    tf.tidy(() => Array.from(d.apply(x, { training }).dataSync()));

  it('draws a fresh mask every training call (tfjs seeded dropout repeats one), reproducibly from the seed', () => {
    const a = mlpDiscriminator({ dropout: 0.5, seed: 3 });
    const b = mlpDiscriminator({ dropout: 0.5, seed: 3 });
    const a1 = features(a, true);
    const a2 = features(a, true);
    expect(a2).not.toEqual(a1); // a new mask
    expect(features(b, true)).toEqual(a1); // same seed, same first mask
    expect(features(b, true)).toEqual(a2); // … and the same second one
    // Inference: no dropout, deterministic, the same as a D built without dropout from the same seed.
    expect(features(a, false)).toEqual(features(mlpDiscriminator({ dropout: 0, seed: 3 }), false));
    a.dispose?.();
    b.dispose?.();
  });

  it('drops the given share of units, and serialises its rate and seed', () => {
    const layer = new SeededDropout({ rate: 0.25, seed: 9 });
    const ones = tf.ones([200, 50]);
    const before = tf.memory().numTensors;
    const masks = [0, 1].map(() => layer.apply(ones, { training: true }) as tf.Tensor);
    const [m0, m1] = masks.map((m) => Array.from(m.dataSync()));
    const dropped = (m: number[]) => m.filter((v) => v === 0).length / m.length;
    expect(dropped(m0 as number[])).toBeCloseTo(0.25, 1);
    expect(m1).not.toEqual(m0);
    expect((m0 as number[]).every((v) => v === 0 || Math.abs(v - 1 / 0.75) < 1e-6)).toBe(true); // inverted dropout
    tf.dispose(masks);
    expect(tf.memory().numTensors).toBe(before);
    expect(layer.getConfig()).toMatchObject({ rate: 0.25, seed: 9 });
    expect(() => new SeededDropout({ rate: 1, seed: 1 })).toThrow(GANConfigError);
    expect(() => new SeededDropout({ rate: 0.5, seed: Number.NaN })).toThrow(GANConfigError);
    ones.dispose();
  });
});
