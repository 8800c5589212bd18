import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DataError,
  discriminatorFromFunction,
  discriminatorFromLayersModel,
  GANConfigError,
  GANError,
  GANTrainer,
  generatorFromLayersModel,
  mlpDiscriminator,
  mlpGenerator,
  ShapeMismatchError,
} from '../src/index';
import { allVariables, maxChange, snapshot } from './helpers';

const gen = () => mlpGenerator({ latentDim: 3, hiddenUnits: [4], outputShape: [2], outputActivation: 'linear', seed: 1 });
const disc = () => mlpDiscriminator({ inputShape: [2], hiddenUnits: [4], seed: 2 });

describe('configuration errors are typed and name what was expected and given', () => {
  it('generator output that does not fit the discriminator input', () => {
    const err = (() => {
      try {
        new GANTrainer({ generator: gen(), discriminator: mlpDiscriminator({ inputShape: [3], hiddenUnits: [4] }) });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ShapeMismatchError);
    expect(err).toBeInstanceOf(GANError);
    expect((err as ShapeMismatchError).expected).toBe('[*, 3]');
    expect((err as ShapeMismatchError).actual).toBe('[*, 2]');
    expect((err as Error).message).toMatch(/expected shape \[\*, 3\], got \[\*, 2\]/);
  });

  it('a discriminator that does not return one logit per example', () => {
    const w = tf.variable(tf.ones([2, 2]));
    const twoLogits = discriminatorFromFunction({ inputShape: [2], variables: [w], fn: (x) => tf.matMul(x, w) });
    expect(() => new GANTrainer({ generator: gen(), discriminator: twoLogits })).toThrow(
      /discriminator output .*expected shape \[2, 1\] or \[2\], got \[2, 2\]/,
    );
  });

  it('a LayersModel discriminator with a wrong output width is rejected by its adapter', () => {
    const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [2], units: 3 })] });
    expect(() => discriminatorFromLayersModel(model)).toThrow(ShapeMismatchError);
    expect(() => discriminatorFromLayersModel(model)).toThrow(/expected shape \[\*, 1\], got \[\*, 3\]/);
  });

  it('a latent size mismatch', () => {
    const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [3], units: 2 })] });
    expect(() => generatorFromLayersModel(model, { latentDim: 5 })).toThrow(
      /latent size: expected shape \[\*, 5\], got \[\*, 3\]/,
    );
    const t = new GANTrainer({ generator: gen(), discriminator: disc() });
    expect(() => t.generate(tf.zeros([4, 5]) as tf.Tensor2D)).toThrow(ShapeMismatchError);
    expect(() => t.generate(tf.zeros([4, 5]) as tf.Tensor2D)).toThrow(/expected shape \[\*, 3\], got \[4, 5\]/);
    t.dispose();
  });

  it('k < 1, a non-integer k, a schedule together with counts, an unknown loss, bad noise, bad seed', () => {
    const base = () => ({ generator: gen(), discriminator: disc() });
    expect(() => new GANTrainer({ ...base(), discriminatorSteps: 0 })).toThrow(GANConfigError);
    expect(() => new GANTrainer({ ...base(), discriminatorSteps: 0 })).toThrow(
      /discriminatorSteps \(k\): must be a positive integer, got 0/,
    );
    expect(() => new GANTrainer({ ...base(), discriminatorSteps: 1.5 })).toThrow(GANConfigError);
    expect(() => new GANTrainer({ ...base(), generatorSteps: 0 })).toThrow(GANConfigError);
    expect(
      () =>
        new GANTrainer({ ...base(), discriminatorSteps: 2, schedule: { countsAt: () => ({ discriminator: 1, generator: 1 }) } }),
    ).toThrow(GANConfigError);
    expect(() => new GANTrainer({ ...base(), loss: 'wgan' as never })).toThrow(
      /loss: unknown loss "wgan"; expected one of minimax/,
    );
    expect(() => new GANTrainer({ ...base(), noise: 'gaussian' as never })).toThrow(GANConfigError);
    expect(() => new GANTrainer({ ...base(), seed: Number.NaN })).toThrow(GANConfigError);
  });

  it('bad preset arguments', () => {
    expect(() => mlpGenerator({ latentDim: 0 })).toThrow(GANConfigError);
    expect(() => mlpDiscriminator({ hiddenUnits: [4, -1] })).toThrow(GANConfigError);
    expect(() => mlpDiscriminator({ dropout: 1 })).toThrow(GANConfigError);
  });
});

describe('bad data is rejected before any variable changes', () => {
  let t: GANTrainer;
  let before: Float32Array[];
  const unchanged = () => expect(maxChange(before, allVariables(t.generator, t.discriminator))).toBe(0);

  beforeEach(() => {
    t = new GANTrainer({ generator: gen(), discriminator: disc(), seed: 1 });
    before = snapshot(allVariables(t.generator, t.discriminator));
  });
  afterEach(() => t.dispose());

  it('data whose examples have the wrong shape', async () => {
    await expect(t.step(tf.zeros([4, 3]))).rejects.toThrow(/data batch: expected shape \[\*, 2\], got \[4, 3\]/);
    await expect(t.fit(tf.zeros([8, 2, 1]))).rejects.toThrow(ShapeMismatchError);
    await expect(t.fit(new Float32Array(9))).rejects.toThrow(/a flat array of 9 values/);
    unchanged();
  });

  it('non-finite values in a batch, in a tensor dataset and mid-iterable', async () => {
    await expect(t.step([[0, Number.NaN]])).rejects.toThrow(DataError);
    await expect(t.step([[0, Number.NaN]])).rejects.toThrow(/data batch: contains NaN or Infinity/);
    const bad = tf.tensor2d([
      [1, 2],
      [3, Number.POSITIVE_INFINITY],
      [5, 6],
      [7, 8],
    ]);
    await expect(t.fit(bad, { batchSize: 2 })).rejects.toThrow(/data: contains NaN or Infinity/);
    bad.dispose();
    const iterable = {
      *[Symbol.iterator]() {
        yield tf.tensor2d([[Number.NaN, 0]]);
      },
    };
    await expect(t.fit(iterable)).rejects.toThrow(DataError);
    unchanged();
  });

  it('an empty dataset', async () => {
    await expect(t.fit([])).rejects.toThrow(/data: is empty/);
    await expect(t.fit(tf.zeros([0, 2]))).rejects.toThrow(DataError);
    await expect(t.fit({ *[Symbol.iterator]() {} })).rejects.toThrow(/too few batches for one step/);
    await expect(t.fit(42 as never)).rejects.toThrow(DataError);
    unchanged();
  });

  it('batch size < 1 or larger than the data, bad epochs', async () => {
    const data = tf.zeros([10, 2]);
    await expect(t.fit(data, { batchSize: 0 })).rejects.toThrow(/batchSize: must be a positive integer, got 0/);
    await expect(t.fit(data, { batchSize: 11 })).rejects.toThrow(
      /batchSize: must be an integer in \[1, 10\] \(the number of examples\), got 11/,
    );
    await expect(t.fit(data, { batchSize: 2.5 })).rejects.toThrow(GANConfigError);
    await expect(t.fit(data, { epochs: 0 })).rejects.toThrow(GANConfigError);
    data.dispose();
    unchanged();
    // The trainer is still usable after every rejection.
    await t.step(tf.zeros([4, 2]));
    expect(maxChange(before, allVariables(t.generator, t.discriminator))).toBeGreaterThan(0);
  });

  it('fails without leaking tensors', async () => {
    await t.step(tf.zeros([4, 2])); // optimizer slots
    const n = tf.memory().numTensors;
    await expect(t.step([[Number.NaN, 1]])).rejects.toThrow(DataError);
    await expect(t.fit(tf.zeros([4, 2]), { batchSize: 8 })).rejects.toThrow(GANConfigError);
    await expect(t.step(tf.zeros([4, 7]))).rejects.toThrow(ShapeMismatchError);
    expect(tf.memory().numTensors).toBe(n + 2); // only the two tf.zeros created above
  });
});
