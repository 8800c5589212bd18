// The fused LeakyReLU gradient (src/backends/leaky-relu-grad.ts): the same bits as tfjs's gradient
// (Greater, Multiply, Select) on cpu and wasm, first and second order, and one kernel instead of three.
// WebGPU: tests/backends-webgpu.test.ts.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import {
  installFusedLeakyReluGradient,
  installSecondOrderGradients,
  LEAKY_RELU_GRAD_KERNEL,
  leakyReluGradInto,
  uninstallFusedLeakyReluGradient,
} from '../src/index';
import { trainTinyMlpGan } from './helpers';

const SPECIAL = [3, -2, 0, -0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e-40, -1e-40, 0.5, -0.7, 1e30];

/** x: the special values then a deterministic spread; dy: another spread, with a -0, a NaN and an infinity. */
function operands(n: number): { x: tf.Tensor; dy: tf.Tensor } {
  // The special values at both ends: in wasm's 4-lane blocks and (n = 1203) in its remainder loop.
  const middle = Array.from({ length: n - 2 * SPECIAL.length }, (_, i) => Math.sin(i * 1.7) * 3);
  const x = [...SPECIAL, ...middle, ...SPECIAL.slice(3), ...SPECIAL.slice(0, 3)].slice(0, n - 3);
  x.push(Number.NaN, -0, 1e-40); // the last three: the remainder
  const dy = Array.from({ length: n }, (_, i) => Math.cos(i * 1.3) * 5);
  dy[3] = -0;
  dy[20] = Number.NaN;
  dy[21] = Number.POSITIVE_INFINITY;
  return { x: tf.tensor(x), dy: tf.tensor(dy) };
}

/** The gradient of leakyRelu(x, alpha) for dy, its kernels, and a gradient penalty's gradient through it. */
async function differentiate(shape: number[], alpha: number) {
  const n = shape.reduce((a, b) => a * b, 1);
  const { x: flatX, dy: flatDy } = operands(n);
  const [x, dy] = [tf.reshape(flatX, shape), tf.reshape(flatDy, shape)];
  const g = tf.grad((t: tf.Tensor) => tf.leakyRelu(t, alpha));
  const profile = await tf.profile(() => g(x, dy));
  const first = g(x, dy);
  const w = tf.tensor(
    Array.from({ length: n }, (_, i) => Math.sin(i * 0.7)),
    shape,
  );
  // d/dw of ‖∂/∂x Σ leakyRelu(x·w)·w‖²: differentiates the gradient (a gradient penalty's shape), through
  // both inputs of the gradient kernel (dy and the pre-activation x·w).
  const second = tf.grad((wt: tf.Tensor) => {
    const gx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.leakyRelu(tf.mul(t, wt), alpha), wt)))(x);
    return tf.sum(tf.square(gx));
  })(w);
  const out = {
    first: Array.from(await first.data()),
    second: Array.from(await second.data()),
    kernels: profile.kernels.map((k) => k.name),
  };
  tf.dispose([flatX, flatDy, x, dy, first, w, second, profile.result as tf.Tensor]);
  return out;
}

afterAll(async () => {
  installFusedLeakyReluGradient(); // as the other test files expect it (the trainer installs it anyway)
  await tf.setBackend('cpu');
});

describe.each(['cpu', 'wasm'])('fused LeakyReLU gradient on %s', (backend) => {
  it("gives tfjs's gradient bit for bit — NaN, ±0, ±∞, denormals included — with one kernel instead of three", async () => {
    await tf.setBackend(backend);
    installSecondOrderGradients();
    for (const [shape, alpha] of [
      [[1203], 0.2], // 4-lane blocks and a remainder of 3 on wasm
      [[4, 5, 6, 10], 0.01],
    ] as const) {
      uninstallFusedLeakyReluGradient();
      const tfjs = await differentiate([...shape], alpha);
      expect(installFusedLeakyReluGradient()).toBe(true);
      const before = tf.memory().numTensors;
      const fused = await differentiate([...shape], alpha);
      expect(tf.memory().numTensors).toBe(before);
      expect(fused.first).toHaveLength(tfjs.first.length);
      expect(fused.first.flatMap((v, i) => (Object.is(v, tfjs.first[i]) ? [] : [i]))).toEqual([]); // no element differs
      // Second order: the same values (tfjs's composite adds a +0 where the fused one passes ddx through, so a
      // −0 may come out as +0 there; and it multiplies an infinite incoming gradient by its 0/1 mask, NaN
      // where the fused one keeps ±∞ — not the case here: the penalty's gradients are finite).
      expect(fused.second).toEqual(tfjs.second.map((v, i) => (v === 0 && fused.second[i] === 0 ? fused.second[i] : v)));
      expect(tfjs.kernels).toEqual(expect.arrayContaining(['Greater', 'Select', 'Multiply']));
      expect(fused.kernels).toContain(LEAKY_RELU_GRAD_KERNEL);
      expect(fused.kernels).not.toContain('Greater');
      expect(fused.kernels).not.toContain('Select');
    }
  });
});

describe('wasm: the SIMD pass', () => {
  it("runs tfjs-gan's SIMD kernel, not the JavaScript loop, where the module binds", async () => {
    await tf.setBackend('wasm');
    installFusedLeakyReluGradient();
    const { wasmSimdKernels } = await import('../src/backends/wasm-simd/index');
    const kernels = wasmSimdKernels(tf.backend()) as NonNullable<ReturnType<typeof wasmSimdKernels>>;
    expect(kernels).toBeDefined();
    const simd = kernels.leakyReluGrad;
    let calls = 0;
    kernels.leakyReluGrad = (...a) => {
      calls++;
      return simd(...a);
    };
    try {
      const g = tf.grad((t: tf.Tensor) => tf.leakyRelu(t, 0.2))(tf.tensor([1, -1, 2]), tf.tensor([4, 4, 4]));
      expect(Array.from(g.dataSync())).toEqual([4, Math.fround(4 * Math.fround(0.2)), 4]);
      expect(calls).toBe(1);
      g.dispose();
    } finally {
      kernels.leakyReluGrad = simd;
    }
  });
});

describe('install / uninstall', () => {
  it("puts tfjs's own gradient back, is idempotent, and leaves someone else's replacement alone", async () => {
    await tf.setBackend('cpu');
    uninstallFusedLeakyReluGradient();
    const tfjs = tf.getGradient('LeakyRelu');
    expect(tfjs).toBeDefined();
    expect(installFusedLeakyReluGradient()).toBe(true);
    const ours = tf.getGradient('LeakyRelu');
    expect(ours).not.toBe(tfjs);
    expect(installFusedLeakyReluGradient()).toBe(true);
    expect(tf.getGradient('LeakyRelu')).toBe(ours);
    expect(uninstallFusedLeakyReluGradient()).toBe(true);
    expect(tf.getGradient('LeakyRelu')).toBe(tfjs);
    expect(uninstallFusedLeakyReluGradient()).toBe(false);

    installFusedLeakyReluGradient();
    const oursAgain = tf.getGradient('LeakyRelu');
    expect(oursAgain).not.toBe(tfjs);
    const theirs: tf.GradConfig = { ...(tfjs as tf.GradConfig) };
    tf.registerGradient(theirs);
    expect(installFusedLeakyReluGradient()).toBe(false); // theirs stays
    expect(tf.getGradient('LeakyRelu')).toBe(theirs);
    tf.registerGradient(tfjs as tf.GradConfig); // they put tfjs's back: ours installs again
    expect(installFusedLeakyReluGradient()).toBe(true);
    expect(tf.getGradient('LeakyRelu')).toBe(oursAgain);
    tf.registerGradient(theirs);
    expect(uninstallFusedLeakyReluGradient()).toBe(false);
    expect(tf.getGradient('LeakyRelu')).toBe(theirs);
    tf.registerGradient(tfjs as tf.GradConfig);
    expect(installFusedLeakyReluGradient()).toBe(true);
  });

  it("falls back to tfjs's gradient on a backend without the kernel", async () => {
    await tf.setBackend('cpu');
    installFusedLeakyReluGradient();
    const kernel = tf.getKernel(LEAKY_RELU_GRAD_KERNEL, 'cpu') as tf.KernelConfig;
    tf.unregisterKernel(LEAKY_RELU_GRAD_KERNEL, 'cpu');
    try {
      const fallback = await differentiate([60], 0.3);
      expect(fallback.kernels).toContain('Select');
      expect(fallback.kernels).not.toContain(LEAKY_RELU_GRAD_KERNEL);
    } finally {
      tf.registerKernel(kernel);
    }
  });

  it('the kernel refuses operands of different shapes or dtypes', async () => {
    await tf.setBackend('cpu');
    installFusedLeakyReluGradient();
    const [a, b, c] = [tf.ones([2, 3]), tf.ones([3, 2]), tf.ones([2, 3], 'int32')];
    expect(() => tf.engine().runKernel(LEAKY_RELU_GRAD_KERNEL, { dy: a, x: b }, { alpha: 0.2 })).toThrow(/same shape/);
    expect(() => tf.engine().runKernel(LEAKY_RELU_GRAD_KERNEL, { dy: a, x: c }, { alpha: 0.2 })).toThrow(/float32/);
    tf.dispose([a, b, c]);
  });

  it('leakyReluGradInto rounds the product to float32 as tfjs does', () => {
    const out = new Float32Array(3);
    leakyReluGradInto(Float32Array.of(0.1, 0.1, -0), Float32Array.of(-1, 1, -1), 0.3, out);
    expect(out[0]).toBe(Math.fround(Math.fround(0.1) * Math.fround(0.3)));
    expect(out[1]).toBe(Math.fround(0.1));
    expect(Object.is(out[2], -0)).toBe(true);
  });
});

describe('the trainer', () => {
  it('installs it unless told not to, and trains to the same bits with it as without, leak-free, on wasm', async () => {
    await tf.setBackend('wasm');
    const train = (leakyReluGradient: boolean) => trainTinyMlpGan({ leakyReluGradient });
    uninstallFusedLeakyReluGradient();
    const tfjsGradient = tf.getGradient('LeakyRelu');
    const tfjs = await train(false);
    expect(tf.getGradient('LeakyRelu')).toBe(tfjsGradient); // the trainer left it alone
    expect(tfjs.kernels).toContain('Greater');
    const fused = await train(true);
    expect(tf.getGradient('LeakyRelu')).not.toBe(tfjsGradient);
    expect(fused.kernels).toContain(LEAKY_RELU_GRAD_KERNEL);
    expect(fused.kernels).not.toContain('Greater');
    expect(fused.losses).toEqual(tfjs.losses);
    expect(fused.weights).toEqual(tfjs.weights);
    await tf.setBackend('cpu');
  });
});
