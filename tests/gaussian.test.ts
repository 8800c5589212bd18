import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { GANTrainer, mlpDiscriminator, mlpGenerator, type StepLogs } from '../src/index';
import { gaussian } from './helpers';

const DATA = { mean: 4, std: 0.5 };

describe('a 1-D GAN learns N(4, 0.5²) from uniform noise (examples/gaussian-1d/main.ts)', () => {
  it('matches the data mean and std within 10 % and ends with mean D(x) ≈ ½', async () => {
    const seed = 1;
    const data = gaussian(12_800, DATA.mean, DATA.std, seed);
    const generator = mlpGenerator({ latentDim: 8, hiddenUnits: [16, 16], outputShape: [1], outputActivation: 'linear', seed });
    const discriminator = mlpDiscriminator({ inputShape: [1], hiddenUnits: [32, 32], seed: seed + 1 });
    // Two-time-scale updates (D 4× faster), then both rates cut 5× to settle — the recipe of examples/gaussian-1d/main.ts.
    const phases = [
      { g: 5e-4, d: 2e-3, epochs: 30 },
      { g: 1e-4, d: 4e-4, epochs: 10 },
    ];
    const untrained = tf.tidy(
      () =>
        tf.mean(generator.apply(tf.randomUniform([1000, 8], -1, 1, 'float32', 3), { training: false })).dataSync()[0] as number,
    );
    const logs: StepLogs[] = [];
    let trainer: GANTrainer | undefined;
    for (const [i, p] of phases.entries()) {
      trainer = new GANTrainer({
        generator,
        discriminator,
        noise: 'uniform',
        seed: seed * 10 + i,
        generatorOptimizer: tf.train.adam(p.g, 0.5),
        discriminatorOptimizer: tf.train.adam(p.d, 0.5),
      });
      logs.push(...(await trainer.fit(data, { epochs: p.epochs, batchSize: 128 })).steps);
      trainer.generatorOptimizer.dispose();
      trainer.discriminatorOptimizer.dispose();
    }
    const samples = trainer!.sample(10_000);
    const m = tf.moments(samples);
    const mean = m.mean.dataSync()[0] as number;
    const std = Math.sqrt(m.variance.dataSync()[0] as number);
    const tail = logs.slice(-200);
    const dReal = tail.reduce((s, l) => s + l.dReal, 0) / tail.length;
    console.log(
      `generated mean ${mean.toFixed(3)}, std ${std.toFixed(3)}; mean D(x) over the last 200 steps ${dReal.toFixed(3)}`,
    );
    expect(Math.abs(mean - DATA.mean) / DATA.mean).toBeLessThan(0.1);
    expect(Math.abs(std - DATA.std) / DATA.std).toBeLessThan(0.1);
    expect(Math.abs(dReal - 0.5)).toBeLessThan(0.1);
    // It learned: the untrained generator was nowhere near (its mean is ≈ 0).
    expect(Math.abs(untrained - DATA.mean)).toBeGreaterThan(2);
    tf.dispose([samples, m.mean, m.variance, data]);
    trainer!.dispose();
  }, 400_000); // ~70 s alone; the whole suite shares 2 cores
});
