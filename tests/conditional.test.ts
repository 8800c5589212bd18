import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type ConditionalGenerator,
  conditionalDcganDiscriminator,
  conditionalDcganGenerator,
  conditionalMlpDiscriminator,
  conditionalMlpGenerator,
  DataError,
  GANConfigError,
  GANTrainer,
  type GANTrainerConfig,
  losses,
  ShapeMismatchError,
} from '../src/index';
import { maxChange, snapshot } from './helpers';

const K = 6;
const SIGMA = 0.1;
const MODES = Array.from(
  { length: K },
  (_, c) => [2 * Math.cos((2 * Math.PI * c) / K), 2 * Math.sin((2 * Math.PI * c) / K)] as const,
);

/** Label c ↦ N(mode c, 0.1²·I): six well-separated Gaussians on a circle of radius 2. */
function mixture(n: number, seed: number): { x: tf.Tensor2D; labels: number[] } {
  const labels = Array.from({ length: n }, (_, i) => i % K);
  const x = tf.tidy(() =>
    tf.add(tf.tensor2d(labels.map((c) => [...MODES[c]!])), tf.randomNormal([n, 2], 0, SIGMA, 'float32', seed)),
  ) as tf.Tensor2D;
  return { x, labels };
}

function small(overrides: Partial<GANTrainerConfig<ConditionalGenerator>> = {}, acgan = false) {
  return new GANTrainer({
    generator: conditionalMlpGenerator({
      numClasses: K,
      latentDim: 4,
      hiddenUnits: [16],
      outputShape: [2],
      outputActivation: 'linear',
      seed: 1,
    }),
    discriminator: conditionalMlpDiscriminator({
      numClasses: K,
      inputShape: [2],
      hiddenUnits: [16],
      seed: 2,
      ...(acgan ? { conditioning: 'none' as const, auxiliaryClassifier: true } : {}),
    }),
    ...(acgan ? { loss: losses.auxiliaryClassifier('non-saturating') } : {}),
    seed: 3,
    ...overrides,
  });
}

const dir = mkdtempSync(join(tmpdir(), 'tfjs-gan-cgan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('conditional GAN (Mirza & Osindero 2014) on the shared core', () => {
  it('conditions: ≥ 95 % of the samples generated for label c land within 3σ of mode c', async () => {
    const { x, labels } = mixture(128 * 50, 1);
    const trainer = new GANTrainer({
      generator: conditionalMlpGenerator({
        numClasses: K,
        latentDim: 8,
        hiddenUnits: [64, 64],
        outputShape: [2],
        outputActivation: 'linear',
        seed: 1,
      }),
      discriminator: conditionalMlpDiscriminator({ numClasses: K, inputShape: [2], hiddenUnits: [64, 64], seed: 2 }),
      generatorOptimizer: tf.train.adam(1e-3, 0.5),
      discriminatorOptimizer: tf.train.adam(1e-3, 0.5),
      seed: 3,
    });
    const history = await trainer.fit({ x, labels }, { epochs: 40, batchSize: 128 });
    expect(history.steps).toHaveLength(2000);
    const per = 500;
    const grid = trainer.sampleGrid(per);
    expect(grid.shape).toEqual([K * per, 2]);
    const points = grid.arraySync() as number[][];
    const shares = MODES.map(
      ([mx, my], c) =>
        points.slice(c * per, (c + 1) * per).filter(([a, b]) => Math.hypot(a! - mx, b! - my) <= 3 * SIGMA).length / per,
    );
    console.log(`share within 3σ of the requested mode, per label: ${shares.map((s) => s.toFixed(3)).join(' ')}`);
    for (const s of shares) expect(s).toBeGreaterThanOrEqual(0.95);
    tf.dispose([grid, x]);
    trainer.dispose();
  }, 300_000);

  for (const [name, acgan] of [
    ['CGAN', false],
    ['ACGAN', true],
  ] as const) {
    it(`${name}: no tensor leaks over 200 steps (step and fit paths)`, async () => {
      const t = small({}, acgan);
      const { x, labels } = mixture(32, 2);
      const counts: number[] = [];
      for (let i = 1; i <= 200; i++) {
        await t.step({ x, labels });
        if (i === 2 || i === 200) counts.push(tf.memory().numTensors);
      }
      expect(counts[1]).toBe(counts[0]);
      const data = mixture(16 * 200, 3);
      const fitCounts: number[] = [];
      await t.fit(data, {
        batchSize: 16,
        callbacks: [{ onStepEnd: (l) => void ((l.step === 201 || l.step === 399) && fitCounts.push(tf.memory().numTensors)) }],
      });
      expect(fitCounts[1]).toBe(fitCounts[0]);
      tf.dispose([x, data.x]);
      t.dispose();
    });
  }

  it('ACGAN: the class loss is part of both objectives', async () => {
    const t = small({}, true);
    const { x, labels } = mixture(64, 4);
    const logs = await t.step({ x, labels });
    // Untrained: the class cross-entropy ≈ log 6 on top of the GAN terms.
    expect(logs.dLoss).toBeGreaterThan(Math.log(4) + 2 * Math.log(K) * 0.7);
    expect(logs.gLoss).toBeGreaterThan(Math.log(K) * 0.7);
    const plain = small();
    await expect(
      new GANTrainer({
        generator: conditionalMlpGenerator({
          numClasses: K,
          latentDim: 4,
          hiddenUnits: [8],
          outputShape: [2],
          outputActivation: 'linear',
        }),
        discriminator: conditionalMlpDiscriminator({ numClasses: K, inputShape: [2], hiddenUnits: [8] }),
        loss: losses.auxiliaryClassifier(),
      }).step({ x, labels }),
    ).rejects.toThrow(/needs real class logits/);
    tf.dispose(x);
    t.dispose();
    plain.dispose();
  });

  it('samples labels uniformly by default, or from a given distribution', () => {
    const probe = (dist?: readonly number[]) => {
      const t = small(dist === undefined ? {} : { labelDistribution: dist });
      // Count the labels G is asked for, through a generator wrapper.
      const seen = new Array<number>(K).fill(0);
      const g = t.generator;
      const original = g.apply.bind(g);
      (g as { apply: typeof g.apply }).apply = (z, o) => {
        for (const c of o.labels.dataSync()) seen[c] = (seen[c] as number) + 1;
        return original(z, o);
      };
      t.sample(6000).dispose();
      t.dispose();
      return seen.map((v) => v / 6000);
    };
    for (const p of probe()) expect(p).toBeCloseTo(1 / K, 1);
    const skewed = [0.5, 0.3, 0.2, 0, 0, 0];
    probe(skewed).forEach((p, c) => {
      expect(Math.abs(p - (skewed[c] as number))).toBeLessThan(0.03);
    });
    expect(() => small({ labelDistribution: [0.5, 0.5] })).toThrow(/must be 6 non-negative probabilities summing to 1/);
  });

  it('sampleGrid orders rows by class; sample(n, labels) generates for the given labels', () => {
    const t = small();
    const grid = t.sampleGrid(3);
    expect(grid.shape).toEqual([18, 2]);
    const z = tf.zeros([2, 4]) as tf.Tensor2D;
    const a = t.generate(z, [0, 5]);
    const b = t.generate(z, [
      [1, 0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0, 1],
    ]); // one-hot rows mean the same labels
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    const c = t.generate(z, [1, 5]);
    expect(Array.from(c.dataSync())).not.toEqual(Array.from(a.dataSync())); // the label changes the output
    tf.dispose([grid, z, a, b, c]);
    t.dispose();
  });
});

describe('conditional bad input: typed errors before any state changes', () => {
  const t = small();
  const before = () => snapshot([...t.generator.trainableVariables, ...t.discriminator.trainableVariables]);
  const x = tf.zeros([4, 2]);
  const cases: [string, unknown, RegExp, new (...a: never[]) => Error][] = [
    ['labels out of range', { x, labels: [0, 1, 2, 6] }, /label 3 is 6, outside \[0, 5\]/, DataError],
    ['negative labels', { x, labels: [0, -1, 2, 3] }, /label 1 is -1, outside/, DataError],
    ['non-integer labels', { x, labels: [0, 1.5, 2, 3] }, /label 1 is 1.5, not an integer class index/, DataError],
    [
      'label count ≠ batch size',
      { x, labels: [0, 1, 2] },
      /one per example\): expected shape \[4\], got \[3\]/,
      ShapeMismatchError,
    ],
    [
      'a wrong one-hot width',
      { x, labels: tf.oneHot(tf.tensor1d([0, 1, 2, 3], 'int32'), 5) },
      /one-hot\): expected shape \[4, 6\], got \[4, 5\]/,
      ShapeMismatchError,
    ],
    [
      'rows that are not one-hot',
      {
        x,
        labels: [
          [1, 1, 0, 0, 0, 0],
          [1, 0, 0, 0, 0, 0],
          [1, 0, 0, 0, 0, 0],
          [1, 0, 0, 0, 0, 0],
        ],
      },
      /row 0 is not one-hot/,
      DataError,
    ],
    ['no labels at all (a JavaScript caller)', x, /a conditional GAN needs labelled batches: \{ x, labels \}/, GANConfigError],
    ['labels: undefined', { x, labels: undefined }, /a conditional model needs labels/, GANConfigError],
  ];
  for (const [what, batch, message, type] of cases) {
    it(`rejects ${what}`, async () => {
      const was = before();
      const error = await t.step(batch as never).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(type);
      expect((error as Error).message).toMatch(message);
      expect(maxChange(was, [...t.generator.trainableVariables, ...t.discriminator.trainableVariables])).toBe(0);
      expect(t.stepCount).toBe(0);
    });
  }

  it('rejects labels given to an unconditional GAN, and mismatched model kinds', async () => {
    const { mlpGenerator, mlpDiscriminator } = await import('../src/index');
    const u = new GANTrainer({
      generator: mlpGenerator({ latentDim: 2, hiddenUnits: [4], outputShape: [2], outputActivation: 'linear' }),
      discriminator: mlpDiscriminator({ inputShape: [2], hiddenUnits: [4] }),
    });
    await expect(u.step({ x, labels: [0, 1, 2, 3] } as never)).rejects.toThrow(/labels were given to an unconditional GAN/);
    await expect(u.fit({ x, labels: [0, 1, 2, 3] } as never)).rejects.toThrow(/labels were given to an unconditional GAN/);
    // @ts-expect-error — rejected at compile time too; this checks what a JavaScript caller gets.
    expect(() => u.sample(2, [0, 1])).toThrow(/labels were given to an unconditional GAN/);
    expect(
      () =>
        new GANTrainer({
          generator: conditionalMlpGenerator({ numClasses: K, latentDim: 2, hiddenUnits: [4], outputShape: [2] }),
          discriminator: mlpDiscriminator({ inputShape: [2], hiddenUnits: [4] }) as never,
        }),
    ).toThrow(/a conditional generator needs a conditional discriminator/);
    expect(
      () =>
        new GANTrainer({
          generator: conditionalMlpGenerator({ numClasses: K, latentDim: 2, hiddenUnits: [4], outputShape: [2] }),
          discriminator: conditionalMlpDiscriminator({ numClasses: 3, inputShape: [2], hiddenUnits: [4] }),
        }),
    ).toThrow(/the generator has 6 classes, the discriminator 3/);
    expect(() => conditionalMlpDiscriminator({ numClasses: K, conditioning: 'none' })).toThrow(/needs auxiliaryClassifier/);
    expect(() => conditionalMlpGenerator({ numClasses: 1 })).toThrow(/numClasses: must be an integer ≥ 2/);
    u.dispose();
  });
});

describe('conditioning strategies and presets', () => {
  it('embedding-multiplied z, projection D, and conv D with label channels all train, leak-free', async () => {
    const configs = [
      {
        generator: conditionalMlpGenerator({
          numClasses: K,
          latentDim: 4,
          hiddenUnits: [8],
          outputShape: [2],
          outputActivation: 'linear',
          conditioning: 'embedding',
        }),
        discriminator: conditionalMlpDiscriminator({
          numClasses: K,
          inputShape: [2],
          hiddenUnits: [8],
          conditioning: 'projection',
        }),
      },
      {
        generator: conditionalDcganGenerator({ numClasses: K, imageSize: 8, latentDim: 4, baseFilters: 2 }),
        discriminator: conditionalDcganDiscriminator({ numClasses: K, imageSize: 8, baseFilters: 2 }),
      },
      {
        generator: conditionalDcganGenerator({
          numClasses: K,
          imageSize: 8,
          latentDim: 4,
          baseFilters: 2,
          conditioning: 'embedding',
        }),
        discriminator: conditionalDcganDiscriminator({
          numClasses: K,
          imageSize: 8,
          baseFilters: 2,
          conditioning: 'projection',
          auxiliaryClassifier: true,
        }),
        loss: losses.auxiliaryClassifier('hinge', { weight: 0.5 }),
      },
    ];
    for (const config of configs) {
      const t = new GANTrainer({ ...config, seed: 1 });
      const shape = [4, ...t.discriminator.inputShape];
      const batch = { x: tf.randomUniform(shape, -1, 1, 'float32', 1), labels: [0, 1, 2, 5] };
      const counts: number[] = [];
      for (let i = 1; i <= 20; i++) {
        const logs = await t.step(batch);
        expect(Number.isFinite(logs.dLoss) && Number.isFinite(logs.gLoss)).toBe(true);
        if (i === 2 || i === 20) counts.push(tf.memory().numTensors);
      }
      expect(counts[1]).toBe(counts[0]);
      const grid = t.sampleGrid(2);
      expect(grid.shape).toEqual([2 * K, ...t.generator.outputShape]);
      tf.dispose([grid, batch.x]);
      t.dispose();
    }
    const conv = conditionalDcganDiscriminator({ numClasses: K, imageSize: 8, baseFilters: 2 });
    // 'concat' on images: the labels enter as K extra channels of the first convolution.
    const firstConv = conv.model.layers.find((l) => l.getClassName() === 'Conv2D');
    expect((firstConv?.getWeights()[0]?.shape ?? [])[2]).toBe(1 + K);
    conv.dispose?.();
  });

  it('checkpoints and exports a conditional generator that plain tfjs loads with inputs [z, one-hot labels]', async () => {
    const t = small();
    const data = mixture(64, 9);
    await t.fit(data, { batchSize: 16 });
    await t.save(`file://${join(dir, 'cgan.tfgan')}`);
    const restored = small({ seed: 99 });
    await restored.restore(`file://${join(dir, 'cgan.tfgan')}`);
    const z = tf.randomNormal([3, 4], 0, 1, 'float32', 5) as tf.Tensor2D;
    expect(Array.from(restored.generate(z, [0, 1, 2]).dataSync())).toEqual(Array.from(t.generate(z, [0, 1, 2]).dataSync()));
    const folder = join(dir, 'cgan-generator');
    await t.exportGenerator(`file://${folder}`);
    const zArr = z.arraySync();
    const oneHot = [0, 1, 2].map((c) => Array.from({ length: K }, (_, i) => (i === c ? 1 : 0)));
    const out = JSON.parse(
      execFileSync('node', ['tests/fixtures/load-exported.mjs', folder, JSON.stringify(zArr), JSON.stringify(oneHot)], {
        encoding: 'utf8',
      }),
    );
    const expected = Array.from(t.generate(z, [0, 1, 2]).dataSync());
    out.output.forEach((v: number, i: number) => {
      expect(v).toBeCloseTo(expected[i] as number, 5);
    });
    tf.dispose([z, data.x]);
    t.dispose();
    restored.dispose();
  });
});
