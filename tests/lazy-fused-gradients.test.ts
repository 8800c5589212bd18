// Lazy gradients for tfjs-core's fused ops (src/backends/lazy-fused-gradients.ts): whatever backprop
// asks for has the same bits as tfjs's eager gradient, first and second order, and the input
// gradients nobody asked for are not computed (counted kernel by kernel) — on cpu and wasm.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, describe, expect, it } from 'vitest';
import {
  installLazyFusedGradients,
  installSecondOrderGradients,
  installWasmTrainingKernels,
  lazyFusedGradientsInstalled,
  uninstallLazyFusedGradients,
} from '../src/index';
import { trainTinyMlpGan } from './helpers';

afterAll(async () => {
  installLazyFusedGradients();
  await tf.setBackend('cpu');
});

/** Switches backend; tfjs's IS_TEST leak check misfires on wasm gradients (tests/setup.ts turns it on for cpu). */
async function use(backend: 'cpu' | 'wasm'): Promise<void> {
  await tf.setBackend(backend);
  tf.env().set('IS_TEST', backend === 'cpu');
  if (backend === 'wasm') installWasmTrainingKernels(); // tfjs-backend-wasm lacks Conv2DBackpropFilter, among others
}

type Op = (...xs: tf.Tensor[]) => tf.Tensor;

/** A loss that weighs every output element differently: Σ op(inputs) ⊙ sin(0, 1, 2, …). */
function loss(op: Op, inputs: readonly tf.Tensor[]): tf.Scalar {
  const y = op(...inputs);
  return tf.sum(tf.mul(y, tf.sin(tf.reshape(tf.range(0, y.size), y.shape))));
}

/** The gradients of {@link loss} with respect to the inputs numbered `wrt` (the others held fixed), and the kernels run. */
async function gradients(op: Op, inputs: readonly tf.Tensor[], wrt: readonly number[]) {
  const f = (...chosen: tf.Tensor[]) =>
    loss(
      op,
      inputs.map((x, i) => (wrt.includes(i) ? (chosen[wrt.indexOf(i)] as tf.Tensor) : x)),
    );
  const before = tf.memory().numTensors;
  const grads = tf.grads(f)(wrt.map((i) => inputs[i] as tf.Tensor));
  const values = grads.map((g) => ({ shape: g.shape, data: Array.from(g.dataSync()) }));
  tf.dispose(grads);
  expect(tf.memory().numTensors).toBe(before); // no tensor left behind
  const profile = await tf.profile(() => tf.grads(f)(wrt.map((i) => inputs[i] as tf.Tensor)));
  tf.dispose(profile.result as tf.Tensor[]);
  return { values, kernels: profile.kernels.map((k) => k.name) };
}

/** tfjs's eager gradient, then the lazy one. */
async function eagerAndLazy<T>(f: () => Promise<T>): Promise<{ eager: T; lazy: T }> {
  uninstallLazyFusedGradients();
  expect(lazyFusedGradientsInstalled()).toBe(false);
  const eager = await f();
  installLazyFusedGradients();
  expect(lazyFusedGradientsInstalled()).toBe(true);
  const lazy = await f();
  return { eager, lazy };
}

const count = (kernels: readonly string[], name: string) => kernels.filter((k) => k === name).length;
const seeded = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, 'float32', seed);

/** Every non-empty subset of 0..n−1. */
const subsets = (n: number) =>
  Array.from({ length: 2 ** n - 1 }, (_, m) => Array.from({ length: n }, (_, i) => i).filter((i) => ((m + 1) >> i) & 1));

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`on ${backend}`, () => {
    it('fused matMul: every transpose, with and without bias, rank 2 and 3: the same bits, only the products asked for', async () => {
      await use(backend);
      for (const [transposeA, transposeB] of [
        [false, false],
        [false, true],
        [true, false],
        [true, true],
      ] as const) {
        for (const batch of [[], [2]]) {
          const a = seeded(transposeA ? [...batch, 7, 5] : [...batch, 5, 7], 1);
          const b = seeded(transposeB ? [...batch, 3, 7] : [...batch, 7, 3], 2);
          const bias = seeded([3], 3);
          const withBias: Op = (x, y, z) =>
            tf.fused.matMul({ a: x as tf.Tensor2D, b: y as tf.Tensor2D, bias: z, transposeA, transposeB });
          const noBias: Op = (x, y) => tf.fused.matMul({ a: x as tf.Tensor2D, b: y as tf.Tensor2D, transposeA, transposeB });
          for (const [op, inputs] of [
            [withBias, [a, b, bias]],
            [noBias, [a, b]],
          ] as const) {
            for (const wrt of subsets(inputs.length)) {
              const { eager, lazy } = await eagerAndLazy(() => gradients(op, inputs, wrt));
              expect(lazy.values, `tA=${transposeA} tB=${transposeB} batch=${batch} wrt=${wrt}`).toEqual(eager.values);
              const products = wrt.filter((i) => i < 2).length; // one product per matrix asked for; none for the bias
              expect(count(eager.kernels, 'BatchMatMul')).toBe(2);
              expect(count(lazy.kernels, 'BatchMatMul')).toBe(products);
            }
          }
          tf.dispose([a, b, bias]);
        }
      }
    });

    it('fused conv2d: strides, padding, with and without bias: the same bits, only the backprop kernels asked for', async () => {
      await use(backend);
      const x = seeded([2, 7, 7, 3], 4);
      const filter = seeded([3, 3, 3, 4], 5);
      const bias = seeded([4], 6);
      for (const [strides, pad] of [
        [1, 'same'],
        [2, 'valid'],
        [2, 1],
      ] as const) {
        const withBias: Op = (u, v, w) =>
          tf.fused.conv2d({ x: u as tf.Tensor4D, filter: v as tf.Tensor4D, bias: w, strides, pad: pad as 'same' });
        const noBias: Op = (u, v) =>
          tf.fused.conv2d({ x: u as tf.Tensor4D, filter: v as tf.Tensor4D, strides, pad: pad as 'same' });
        for (const [op, inputs] of [
          [withBias, [x, filter, bias]],
          [noBias, [x, filter]],
        ] as const) {
          for (const wrt of subsets(inputs.length)) {
            const { eager, lazy } = await eagerAndLazy(() => gradients(op, inputs, wrt));
            expect(lazy.values, `strides=${strides} pad=${pad} wrt=${wrt}`).toEqual(eager.values);
            for (const k of [eager.kernels, lazy.kernels]) expect(k).toContain('FusedConv2D');
            expect(count(eager.kernels, 'Conv2DBackpropInput') + count(eager.kernels, 'Conv2DBackpropFilter')).toBe(2);
            expect(count(lazy.kernels, 'Conv2DBackpropInput')).toBe(wrt.includes(0) ? 1 : 0);
            expect(count(lazy.kernels, 'Conv2DBackpropFilter')).toBe(wrt.includes(1) ? 1 : 0);
          }
        }
      }
      tf.dispose([x, filter, bias]);
    });

    it('second order: a gradient penalty through Dense and Conv2D layers has the same bits, with fewer kernels', async () => {
      await use(backend);
      installSecondOrderGradients(); // LeakyReLU's gradient of a gradient on cpu and wasm (Greater, Select)
      const model = tfl.sequential({
        layers: [
          tfl.layers.conv2d({ inputShape: [6, 6, 2], filters: 3, kernelSize: 3, strides: 2, padding: 'same', seed: 1 } as never),
          tfl.layers.leakyReLU({ alpha: 0.2 }),
          tfl.layers.flatten(),
          tfl.layers.dense({ units: 5, kernelInitializer: tfl.initializers.glorotNormal({ seed: 2 }) }),
          tfl.layers.leakyReLU({ alpha: 0.2 }),
          tfl.layers.dense({ units: 1, kernelInitializer: tfl.initializers.glorotNormal({ seed: 3 }) }),
        ],
      });
      const x = seeded([4, 6, 6, 2], 7);
      const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
      const penalty = async () => {
        const f = () =>
          tf.tidy(() => {
            const dx = tf.grad((input: tf.Tensor) => tf.sum(model.apply(input) as tf.Tensor))(x);
            const norms = tf.sqrt(tf.sum(tf.square(dx), [1, 2, 3]));
            return tf.mean(tf.square(tf.sub(norms, 1))) as tf.Scalar;
          });
        const { value, grads } = tf.variableGrads(f, vars);
        // (A gradient penalty does not depend on the last layer's bias: no gradient for it.)
        const out = {
          value: value.dataSync()[0],
          grads: vars.map((v) => (grads[v.name] ? Array.from(grads[v.name]!.dataSync()) : null)),
        };
        tf.dispose([value, ...Object.values(grads)]);
        const profile = await tf.profile(() => {
          const r = tf.variableGrads(f, vars);
          return [r.value, ...Object.values(r.grads)];
        });
        tf.dispose(profile.result as tf.Tensor[]);
        return { ...out, kernels: profile.kernels.length };
      };
      const { eager, lazy } = await eagerAndLazy(penalty);
      expect(Number.isFinite(eager.value)).toBe(true);
      expect(lazy.value).toBe(eager.value);
      expect(lazy.grads).toEqual(eager.grads);
      expect(lazy.grads.filter((g) => g === null)).toHaveLength(1);
      expect(lazy.grads.flat().some((v) => v !== null && v !== 0)).toBe(true);
      expect(lazy.kernels).toBeLessThan(eager.kernels);
      model.dispose();
      x.dispose();
    });
  });
}

describe('what keeps tfjs gradient', () => {
  it('dilated convolutions get tfjs-core own error, unchanged', async () => {
    await use('cpu');
    installLazyFusedGradients();
    const x = seeded([1, 7, 7, 2], 1);
    const filter = seeded([3, 3, 2, 2], 2);
    const g = () =>
      tf.grad((f: tf.Tensor) =>
        tf.sum(tf.fused.conv2d({ x: x as tf.Tensor4D, filter: f as tf.Tensor4D, strides: 1, pad: 'same', dilations: 2 })),
      )(filter);
    expect(g).toThrow(/dilation rates greater than 1/);
    tf.dispose([x, filter]);
  });

  it('a fused op called without gradients recorded leaves nothing pending; tensors are not held', async () => {
    await use('cpu');
    installLazyFusedGradients();
    const a = seeded([3, 4], 1);
    const b = seeded([4, 2], 2);
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      tf.fused.matMul({ a, b });
    });
    const grads = tf.grads((x: tf.Tensor) => tf.sum(tf.fused.matMul({ a: x as tf.Tensor2D, b })))([a]);
    expect(grads[0]?.shape).toEqual([3, 4]);
    tf.dispose(grads);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([a, b]);
  });
});

describe('install and uninstall', () => {
  const productsForB = async () => {
    const a = seeded([3, 4], 1);
    const b = seeded([4, 2], 2);
    const p = await tf.profile(() => tf.grads((y: tf.Tensor) => tf.sum(tf.fused.matMul({ a, b: y as tf.Tensor2D })))([b]));
    tf.dispose([a, b, ...(p.result as tf.Tensor[])]);
    return count(
      p.kernels.map((k) => k.name),
      'BatchMatMul',
    );
  };

  it('is idempotent, and uninstalling restores the engine object as it was', async () => {
    await use('cpu');
    const e = tf.engine() as unknown as Record<string, unknown>;
    uninstallLazyFusedGradients();
    expect(Object.hasOwn(e, 'runKernel')).toBe(false);
    expect(Object.hasOwn(e, 'addTapeNode')).toBe(false);
    expect(await productsForB()).toBe(2);
    expect(installLazyFusedGradients()).toBe(true);
    const wrapper = e.runKernel;
    expect(installLazyFusedGradients()).toBe(true);
    expect(e.runKernel).toBe(wrapper); // not wrapped twice
    expect(await productsForB()).toBe(1);
    expect(uninstallLazyFusedGradients()).toBe(true);
    expect(uninstallLazyFusedGradients()).toBe(false);
    expect(Object.hasOwn(e, 'runKernel')).toBe(false);
    expect(Object.hasOwn(e, 'addTapeNode')).toBe(false);
    expect(await productsForB()).toBe(2);
  });

  it('under someone else wrapper: uninstalling makes it inert, installing again makes it active', async () => {
    await use('cpu');
    const e = tf.engine() as unknown as { runKernel: (...args: unknown[]) => unknown };
    installLazyFusedGradients();
    const ours = e.runKernel;
    let calls = 0;
    e.runKernel = function (this: unknown, ...args: unknown[]) {
      calls++;
      return ours.apply(this, args);
    };
    const foreign = e.runKernel;
    expect(uninstallLazyFusedGradients()).toBe(true);
    expect(e.runKernel).toBe(foreign); // theirs stays
    expect(lazyFusedGradientsInstalled()).toBe(false);
    expect(await productsForB()).toBe(2);
    installLazyFusedGradients();
    expect(await productsForB()).toBe(1);
    expect(calls).toBeGreaterThan(0);
    e.runKernel = ours; // theirs removed: now ours can be taken out completely
    expect(uninstallLazyFusedGradients()).toBe(true);
    expect(Object.hasOwn(e, 'runKernel')).toBe(false);
  });
});

describe('the trainer', () => {
  it('installs it unless told not to, and trains to the same bits with it as without, leak-free, on wasm', async () => {
    await use('wasm');
    const train = async (lazyFusedGradients: boolean) => {
      const r = await trainTinyMlpGan({ lazyFusedGradients });
      expect(lazyFusedGradientsInstalled()).toBe(lazyFusedGradients); // installed by the trainer only when asked
      return r;
    };
    uninstallLazyFusedGradients();
    const eager = await train(false);
    const lazy = await train(true);
    // Per step: D's first-layer input gradient (real and fake), D's three weight gradients in G's update, G's first-layer input gradient.
    expect(count(eager.kernels, 'BatchMatMul') - count(lazy.kernels, 'BatchMatMul')).toBe(6);
    expect(lazy.losses).toEqual(eager.losses);
    expect(lazy.weights).toEqual(eager.weights);
  });
});
