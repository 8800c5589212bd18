import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  dcganDiscriminator,
  dcganGenerator,
  GANTrainer,
  gatherInto,
  installedWasmTrainingKernels,
  installWasmTrainingKernels,
  mlpDiscriminator,
  mlpGenerator,
  tileInto,
  uninstallWasmTrainingKernels,
} from '../src/index';
import { allVariables, snapshot } from './helpers';

// Parity of the wasm tune-up's speed-only kernels (Tile, GatherV2, Identity, Sum and Mean: options `tile`,
// `gather`, `identity` and `simdReduce` of installWasmTrainingKernels) with the kernels tfjs registers.

/** The rest of the tune-up, without one speed-only kernel (the DCGAN needs its conv gradients). */
function withoutFast(option: 'tile' | 'gather' | 'identity' | 'simdReduce' = 'tile'): void {
  uninstallWasmTrainingKernels();
  installWasmTrainingKernels({ [option]: false });
}
const hasFastTile = (): boolean => installedWasmTrainingKernels().includes('Tile');

let isTest = false;
beforeAll(async () => {
  isTest = tf.env().getBool('IS_TEST');
  tf.env().set('IS_TEST', false); // tfjs's leak check misfires on wasm gradients
  await tf.setBackend('wasm');
});
afterAll(async () => {
  installWasmTrainingKernels();
  tf.env().set('IS_TEST', isTest);
  await tf.setBackend('cpu');
});

/** Runs `f` with the original kernels and with the speed kernels; returns both results' shapes and values. */
function bothWays(
  f: () => tf.Tensor,
  option: 'tile' | 'gather' | 'simdReduce' = 'tile',
): [{ shape: number[]; values: number[] }, { shape: number[]; values: number[] }] {
  const read = () => {
    const t = f();
    const r = { shape: t.shape, values: Array.from(t.dataSync()) };
    t.dispose();
    return r;
  };
  withoutFast(option);
  const original = read();
  installWasmTrainingKernels();
  return [original, read()];
}

/** A deterministic pseudo-random generator (LCG) for test shapes. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('Tile', () => {
  it('matches the wasm kernel exactly for ranks 1–5, every dtype, reps with 1s and 0s', () => {
    const rand = lcg(7);
    for (let t = 0; t < 60; t++) {
      const rank = 1 + Math.floor(rand() * 5);
      const shape = Array.from({ length: rank }, () => 1 + Math.floor(rand() * 3));
      const reps = Array.from({ length: rank }, () => Math.floor(rand() * 3) + (t < 55 ? 1 : 0));
      for (const dtype of ['float32', 'int32', 'bool'] as const) {
        const x = tf.tidy(() => tf.cast(tf.randomUniform(shape, -5, 5, 'float32', t), dtype));
        const [original, fast] = bothWays(() => tf.tile(x, reps));
        expect(fast).toEqual(original);
        x.dispose();
      }
    }
  });

  it('tiles the batch-norm gradient shape [1,1,1,c] → [n,h,w,c] and leaves no tensor behind', () => {
    const x = tf.randomNormal([1, 1, 1, 8]);
    const [original, fast] = bothWays(() => tf.tile(x, [4, 5, 6, 1]));
    expect(fast).toEqual(original);
    const before = tf.memory().numTensors;
    tf.tile(x, [4, 5, 6, 1]).dispose();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('tileInto works on plain typed arrays', () => {
    const out = new Int32Array(12);
    tileInto(new Int32Array([1, 2, 3]), [1, 3], [2, 2], out);
    expect(Array.from(out)).toEqual([1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3]);
    const out2 = new Float32Array(8);
    tileInto(new Float32Array([1, 2]), [2, 1], [2, 2], out2);
    expect(Array.from(out2)).toEqual([1, 1, 2, 2, 1, 1, 2, 2]);
  });
});

describe('GatherV2', () => {
  it('matches the wasm kernel exactly: every axis, ranks 1–4, multi-dimensional and repeated indices, every dtype', () => {
    const rand = lcg(11);
    for (let t = 0; t < 40; t++) {
      const rank = 1 + Math.floor(rand() * 4);
      const shape = Array.from({ length: rank }, () => 1 + Math.floor(rand() * 4));
      const axis = Math.floor(rand() * rank) - (t % 5 === 0 ? rank : 0); // negative axes too
      const size = shape.at(axis) as number;
      const idxShape = t % 3 === 0 ? [2, 3] : [1 + Math.floor(rand() * 6)];
      const ids = Array.from({ length: idxShape.reduce((a, b) => a * b, 1) }, () => Math.floor(rand() * size));
      for (const dtype of ['float32', 'int32', 'bool'] as const) {
        const x = tf.tidy(() => tf.cast(tf.randomUniform(shape, -5, 5, 'float32', t), dtype));
        const indices = tf.tensor(ids, idxShape, 'int32');
        const [original, fast] = bothWays(() => tf.gather(x, indices, axis), 'gather');
        expect(fast, `${shape} axis ${axis} ${dtype}`).toEqual(original);
        tf.dispose([x, indices]);
      }
    }
  });

  it('leaves out-of-range indices and batchDims to the original (same error, same result), leak-free', () => {
    installWasmTrainingKernels();
    const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]);
    const before = tf.memory().numTensors;
    expect(() => tf.gather(x, tf.tensor1d([0, 3], 'int32'))).toThrow(/index value 3 is not in \[0, 2\]/);
    tf.gather(x, tf.tensor1d([2, 0], 'int32')).dispose();
    expect(tf.memory().numTensors).toBe(before + 2); // the two index tensors made inline
    const b = tf.tensor2d([0, 1, 1, 0], [2, 2], 'int32');
    const top = tf.slice(x, 0, 2);
    const [original, fast] = bothWays(() => tf.gather(top, b, 1, 1), 'gather');
    expect(fast).toEqual(original);
    tf.dispose([x, b, top]);
  });

  it('gatherInto copies blocks and refuses an out-of-range index without writing', () => {
    const out = new Float32Array(6).fill(-1);
    expect(gatherInto(new Float32Array([1, 2, 3, 4, 5, 6]), new Int32Array([2, 0, 2]), 1, 3, 2, out)).toBe(true);
    expect(Array.from(out)).toEqual([5, 6, 1, 2, 5, 6]);
    const out2 = new Int32Array(4).fill(-1);
    expect(gatherInto(new Int32Array([1, 2, 3, 4]), new Int32Array([1, 0]), 2, 2, 1, out2)).toBe(true);
    expect(Array.from(out2)).toEqual([2, 1, 4, 3]);
    const out3 = new Float32Array(2).fill(-1);
    expect(gatherInto(new Float32Array([1, 2]), new Int32Array([0, 2]), 1, 2, 1, out3)).toBe(false);
    expect(Array.from(out3)).toEqual([-1, -1]);
  });
});

describe('Identity', () => {
  const dataIds = () => (tf.engine().backend as unknown as { numDataIds(): number }).numDataIds();

  it('shares the input memory instead of copying it, and frees it with the last tensor using it', () => {
    installWasmTrainingKernels();
    const before = { ids: dataIds(), bytes: tf.memory().numBytes };
    const x = tf.tensor([1.5, -2, 3, Number.NaN], [2, 2]);
    const c = tf.clone(x);
    expect(c.dataId).toBe(x.dataId); // one buffer, two tensors
    expect(dataIds()).toBe(before.ids + 1);
    x.dispose();
    expect(Array.from(c.dataSync())).toEqual([1.5, -2, 3, Number.NaN]);
    expect(c.shape).toEqual([2, 2]);
    c.dispose();
    expect(dataIds()).toBe(before.ids);
    expect(tf.memory().numBytes).toBe(before.bytes);
    const s = tf.clone(tf.tensor(['a', 'b'])); // strings: the original kernel
    expect(s.dataSync()).toEqual(['a', 'b']);
    s.dispose();
  });

  it('without the option the wasm kernel copies (the test above can tell)', () => {
    withoutFast('identity');
    const x = tf.tensor([1, 2, 3]);
    const c = tf.clone(x);
    expect(c.dataId).not.toBe(x.dataId);
    tf.dispose([x, c]);
    installWasmTrainingKernels();
  });

  it('an MLP GAN trains to the same bits with and without it, leak-free', async () => {
    const train = async () => {
      const t = new GANTrainer({
        generator: mlpGenerator({ latentDim: 4, hiddenUnits: [16], outputShape: [6], seed: 1 }),
        discriminator: mlpDiscriminator({ inputShape: [6], hiddenUnits: [16], seed: 2 }),
        seed: 4,
        backendTuneUp: { identity: installedWasmTrainingKernels().includes('Identity') },
      });
      const data = tf.randomUniform([24, 6], -1, 1, 'float32', 3);
      await t.fit(data, { batchSize: 8 });
      const held = { tensors: tf.memory().numTensors, ids: dataIds() };
      const h = await t.fit(data, { batchSize: 8, epochs: 2 });
      expect(tf.memory().numTensors).toBe(held.tensors);
      expect(dataIds()).toBe(held.ids);
      const weights = snapshot(allVariables(t.generator, t.discriminator));
      data.dispose();
      t.dispose();
      return { weights, losses: h.steps.map((s) => [s.dLoss, s.gLoss]) };
    };
    installWasmTrainingKernels();
    const shared = await train();
    withoutFast('identity');
    const copied = await train();
    installWasmTrainingKernels();
    expect(copied.losses).toHaveLength(6);
    expect(shared.losses).toEqual(copied.losses);
    expect(shared.weights).toEqual(copied.weights);
  });
});

describe('Sum and Mean over leading axes', () => {
  it('match the wasm kernels bit for bit: ranks 2–5, 1–3 leading axes, keepDims, columns not a multiple of 4, NaN/±∞/−0', () => {
    const next = lcg(11);
    const cases: [number[], number[], boolean][] = [
      [[100, 256], [0], false],
      [[64, 7, 7, 13], [0, 1, 2], false],
      [[64, 7, 7, 13], [0, 1, 2], true],
      [[5, 3, 2], [0], true],
      [[5, 3, 2], [-3, -2], false],
      [[1, 9], [0], false],
      [[9, 1], [0], false],
      [[3, 2, 2, 2, 7], [0, 1], false],
      [[300, 5], [0], false],
    ];
    for (const [shape, axes, keepDims] of cases) {
      const n = shape.reduce((a, b) => a * b, 1);
      const values = Array.from({ length: n }, () => (next() - 0.5) * 1e3);
      values[0] = Number.NaN;
      values[1] = Number.POSITIVE_INFINITY;
      const cols = shape.at(-1) as number;
      if (cols < n) values[cols] = Number.NEGATIVE_INFINITY; // column 0, row 1
      if (n > 5) values[5] = -0;
      for (const reduce of [tf.sum, tf.mean]) {
        const [original, fast] = bothWays(() => tf.tidy(() => reduce(tf.tensor(values, shape), axes, keepDims)), 'simdReduce');
        expect(fast.shape, `${reduce.name} ${shape} ${axes}`).toEqual(original.shape);
        expect(fast.values.map((v) => (Number.isNaN(v) ? 'NaN' : Object.is(v, -0) ? '-0' : v))).toEqual(
          original.values.map((v) => (Number.isNaN(v) ? 'NaN' : Object.is(v, -0) ? '-0' : v)),
        );
      }
    }
  });

  it('leaves other reductions to the wasm kernels (innermost, all, out-of-order axes, int32), leak-free', () => {
    installWasmTrainingKernels();
    const before = tf.memory().numTensors;
    const x = tf.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const values = (f: () => tf.Tensor) => tf.tidy(() => Array.from(f().dataSync()));
    expect(values(() => tf.sum(x, 1))).toEqual([6, 15]);
    expect(values(() => tf.sum(x))).toEqual([21]);
    expect(values(() => tf.sum(tf.reshape(x, [1, 2, 3]), [1, 0]))).toEqual([5, 7, 9]);
    expect(values(() => tf.sum(tf.cast(x, 'int32'), 0))).toEqual([5, 7, 9]);
    expect(values(() => tf.mean(x, 0))).toEqual([2.5, 3.5, 4.5]);
    tf.dispose(x);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('install / uninstall', () => {
  it('are idempotent and restore the original kernel', () => {
    installWasmTrainingKernels();
    expect(installWasmTrainingKernels().replaced).toEqual([]);
    const fast = tf.getKernel('Tile', 'wasm')?.kernelFunc;
    expect(uninstallWasmTrainingKernels().restored).toContain('Tile');
    expect(uninstallWasmTrainingKernels().restored).toEqual([]);
    expect(tf.getKernel('Tile', 'wasm')?.kernelFunc).not.toBe(fast);
    expect(installWasmTrainingKernels({ tile: false }).replaced).not.toContain('Tile');
    expect(hasFastTile()).toBe(false);
    expect(installWasmTrainingKernels().replaced).toEqual(['Tile']);
  });

  it('the trainer installs them unless backendTuneUp is false', () => {
    uninstallWasmTrainingKernels();
    const make = (backendTuneUp: boolean) =>
      new GANTrainer({
        generator: dcganGenerator({ latentDim: 3, imageSize: 8, baseFilters: 2, seed: 1 }),
        discriminator: dcganDiscriminator({ imageSize: 8, baseFilters: 2, seed: 2 }),
        backendTuneUp,
      });
    make(false).dispose();
    expect(hasFastTile()).toBe(false); // was not installed
    make(true).dispose();
    expect(hasFastTile()).toBe(true);
    expect(installWasmTrainingKernels().replaced).toEqual([]); // already installed
  });
});

describe('a DCGAN (batch norm) trains to the same bits with and without the fast Tile', () => {
  it('3 steps', async () => {
    const train = async (backendTuneUp: boolean) => {
      const t = new GANTrainer({
        generator: dcganGenerator({ latentDim: 3, imageSize: 8, baseFilters: 2, seed: 1 }),
        discriminator: dcganDiscriminator({ imageSize: 8, baseFilters: 2, seed: 2 }),
        seed: 4,
        backendTuneUp,
      });
      const data = tf.randomUniform([12, 8, 8, 1], -1, 1, 'float32', 3);
      const h = await t.fit(data, { batchSize: 4 });
      const weights = snapshot(allVariables(t.generator, t.discriminator));
      data.dispose();
      t.dispose();
      return { weights, losses: h.steps.map((s) => [s.dLoss, s.gLoss]) };
    };
    uninstallWasmTrainingKernels();
    const fast = await train(true); // installs the whole tune-up: conv gradients and the fast Tile
    expect(hasFastTile()).toBe(true);
    withoutFast();
    // backendTuneUp false: the conv gradients installed above stay, the original Tile runs.
    const slow = await train(false);
    expect(hasFastTile()).toBe(false); // it was off during the second run
    expect(installWasmTrainingKernels().replaced).toEqual(['Tile']);
    expect(slow.losses).toHaveLength(3);
    expect(fast.losses).toEqual(slow.losses);
    expect(fast.weights).toEqual(slow.weights);
  });
});
