// The fused activation gradients: LeakyReLU's (src/backends/leaky-relu-grad.ts; tfjs runs Greater,
// Multiply, Select) and tanh's (src/backends/tanh-grad.ts; tfjs runs Square, Sub, Multiply). The same
// bits as tfjs's gradients on cpu and wasm, first and second order, with one kernel instead of three;
// install/uninstall (src/backends/fused-gradient.ts). WebGPU: tests/backends-webgpu.test.ts.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import {
  installFusedLeakyReluGradient,
  installFusedTanhGradient,
  installSecondOrderGradients,
  LEAKY_RELU_GRAD_KERNEL,
  leakyReluGradInto,
  TANH_GRAD_KERNEL,
  tanhGradInto,
  uninstallFusedLeakyReluGradient,
  uninstallFusedTanhGradient,
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

/** The gradient of `f` at x for dy, its kernels, and a gradient penalty's gradient through it. */
async function differentiate(shape: number[], f: (t: tf.Tensor) => tf.Tensor) {
  const n = shape.reduce((a, b) => a * b, 1);
  const { x: flatX, dy: flatDy } = operands(n);
  const [x, dy] = [tf.reshape(flatX, shape), tf.reshape(flatDy, shape)];
  const g = tf.grad(f);
  const profile = await tf.profile(() => g(x, dy));
  const first = g(x, dy);
  const w = tf.tensor(
    Array.from({ length: n }, (_, i) => Math.sin(i * 0.7)),
    shape,
  );
  // d/dw of ‖∂/∂x Σ f(x·w)·w‖²: differentiates the gradient (a gradient penalty's shape), through
  // both inputs of the gradient kernel (dy and the pre-activation x·w, or tanh's output).
  const second = tf.grad((wt: tf.Tensor) => {
    const gx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(tf.mul(t, wt)), wt)))(x);
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
  installFusedLeakyReluGradient(); // as the other test files expect them (the trainer installs them anyway)
  installFusedTanhGradient();
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
      const f = (t: tf.Tensor) => tf.leakyRelu(t, alpha);
      const tfjs = await differentiate([...shape], f);
      expect(installFusedLeakyReluGradient()).toBe(true);
      const before = tf.memory().numTensors;
      const fused = await differentiate([...shape], f);
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

describe.each(['cpu', 'wasm'])('fused tanh gradient on %s', (backend) => {
  it("gives tfjs's gradient bit for bit — NaN, ±0, ±∞, |y| > 1 included — with one kernel instead of three", async () => {
    await tf.setBackend(backend);
    installSecondOrderGradients();
    for (const shape of [[1203], [4, 5, 6, 10]]) {
      uninstallFusedTanhGradient();
      const tfjs = await differentiate(shape, tf.tanh);
      expect(installFusedTanhGradient()).toBe(true);
      const before = tf.memory().numTensors;
      const fused = await differentiate(shape, tf.tanh);
      expect(tf.memory().numTensors).toBe(before);
      expect(fused.first).toHaveLength(tfjs.first.length);
      expect(fused.first.flatMap((v, i) => (Object.is(v, tfjs.first[i]) ? [] : [i]))).toEqual([]);
      expect(fused.second.flatMap((v, i) => (Object.is(v, tfjs.second[i]) ? [] : [i]))).toEqual([]);
      expect(tfjs.kernels).toEqual(expect.arrayContaining(['Square', 'Sub', 'Multiply']));
      expect(fused.kernels).toContain(TANH_GRAD_KERNEL);
      expect(fused.kernels).not.toContain('Square');
      expect(fused.kernels).not.toContain('Sub');
    }
    // The kernel itself on outputs tanh cannot give (|y| > 1, ±∞, NaN): tfjs's Square, Sub and Multiply.
    const { x: y, dy } = operands(1203);
    const ours = tf.engine().runKernel(TANH_GRAD_KERNEL, { dy, y }) as tf.Tensor;
    const theirs = tf.mul(tf.sub(tf.scalar(1), tf.square(y)), dy);
    const [a, b] = [Array.from(await ours.data()), Array.from(await theirs.data())];
    expect(a.flatMap((v, i) => (Object.is(v, b[i]) ? [] : [i]))).toEqual([]);
    // The kernel's own gradient, for both inputs. (Through tf.tanh the y input gets none: tfjs keeps an
    // op's saved outputs off the tape, so tfjs's composite and the fused kernel both leave that path out.)
    const w = tf.tensor(Array.from({ length: 1203 }, (_, i) => Math.sin(i * 0.7)));
    const kernel = ([d, t]: tf.Tensor[]) =>
      tf.engine().runKernel(TANH_GRAD_KERNEL, { dy: d as tf.Tensor, y: t as tf.Tensor }) as tf.Tensor;
    const composite = ([d, t]: tf.Tensor[]) => tf.mul(tf.sub(tf.scalar(1), tf.square(t as tf.Tensor)), d as tf.Tensor);
    const grads = (f: typeof kernel) => tf.grads((d: tf.Tensor, t: tf.Tensor) => tf.sum(tf.mul(f([d, t]), w)))([dy, y]);
    const [[oursDy, oursY], [theirsDy, theirsY]] = [grads(kernel), grads(composite)];
    for (const [o, t] of [
      [oursDy, theirsDy],
      [oursY, theirsY],
    ] as const) {
      const [p, q] = [Array.from(await (o as tf.Tensor).data()), Array.from(await (t as tf.Tensor).data())];
      expect(p.flatMap((v, i) => (Object.is(v, q[i]) ? [] : [i]))).toEqual([]);
    }
    tf.dispose([y, dy, ours, theirs, w, oursDy, oursY, theirsDy, theirsY] as tf.Tensor[]);
  });
});

describe('wasm: the SIMD passes', () => {
  it.each([
    ['leakyReluGrad', (t: tf.Tensor) => tf.leakyRelu(t, 0.2), [4, Math.fround(4 * Math.fround(0.2)), 4]],
    ['tanhGrad', tf.tanh, undefined],
  ] as const)("%s runs tfjs-gan's SIMD kernel, not the JavaScript loop, where the module binds", async (name, f, expected) => {
    await tf.setBackend('wasm');
    installFusedLeakyReluGradient();
    installFusedTanhGradient();
    const { wasmSimdKernels } = await import('../src/backends/wasm-simd/index');
    const kernels = wasmSimdKernels(tf.backend()) as NonNullable<ReturnType<typeof wasmSimdKernels>>;
    expect(kernels).toBeDefined();
    const simd = kernels[name] as (...a: number[]) => void;
    let calls = 0;
    kernels[name] = ((...a: number[]) => {
      calls++;
      return simd(...a);
    }) as never;
    try {
      const x = tf.tensor([1, -1, 2]);
      const g = tf.grad(f)(x, tf.tensor([4, 4, 4]));
      const y = tf.tanh(x).dataSync();
      const want = expected ?? Array.from(y, (v) => Math.fround(Math.fround(1 - Math.fround(v * v)) * 4));
      expect(Array.from(g.dataSync())).toEqual(want);
      expect(calls).toBe(1);
      tf.dispose([x, g]);
    } finally {
      kernels[name] = simd as never;
    }
  });
});

/** Each fused gradient's switch, kernel and the tfjs kernel its gradient replaces. */
const GRADIENTS = [
  {
    forKernel: 'LeakyRelu',
    kernel: LEAKY_RELU_GRAD_KERNEL,
    install: installFusedLeakyReluGradient,
    uninstall: uninstallFusedLeakyReluGradient,
    f: (t: tf.Tensor) => tf.leakyRelu(t, 0.3),
    tfjsKernel: 'Select',
    inputs: ['dy', 'x'],
    attrs: { alpha: 0.2 },
    option: 'leakyReluGradient',
  },
  {
    forKernel: 'Tanh',
    kernel: TANH_GRAD_KERNEL,
    install: installFusedTanhGradient,
    uninstall: uninstallFusedTanhGradient,
    f: tf.tanh,
    tfjsKernel: 'Square',
    inputs: ['dy', 'y'],
    attrs: {},
    option: 'tanhGradient',
  },
] as const;

describe.each(GRADIENTS)('install / uninstall: $forKernel', (d) => {
  it("puts tfjs's own gradient back, is idempotent, and leaves someone else's replacement alone", async () => {
    await tf.setBackend('cpu');
    d.uninstall();
    const tfjs = tf.getGradient(d.forKernel);
    expect(tfjs).toBeDefined();
    expect(d.install()).toBe(true);
    const ours = tf.getGradient(d.forKernel);
    expect(ours).not.toBe(tfjs);
    expect(d.install()).toBe(true);
    expect(tf.getGradient(d.forKernel)).toBe(ours);
    expect(d.uninstall()).toBe(true);
    expect(tf.getGradient(d.forKernel)).toBe(tfjs);
    expect(d.uninstall()).toBe(false);

    d.install();
    const oursAgain = tf.getGradient(d.forKernel);
    expect(oursAgain).not.toBe(tfjs);
    const theirs: tf.GradConfig = { ...(tfjs as tf.GradConfig) };
    tf.registerGradient(theirs);
    expect(d.install()).toBe(false); // theirs stays
    expect(tf.getGradient(d.forKernel)).toBe(theirs);
    tf.registerGradient(tfjs as tf.GradConfig); // they put tfjs's back: ours installs again
    expect(d.install()).toBe(true);
    expect(tf.getGradient(d.forKernel)).toBe(oursAgain);
    tf.registerGradient(theirs);
    expect(d.uninstall()).toBe(false);
    expect(tf.getGradient(d.forKernel)).toBe(theirs);
    tf.registerGradient(tfjs as tf.GradConfig);
    expect(d.install()).toBe(true);
  });

  it("falls back to tfjs's gradient on a backend without the kernel", async () => {
    await tf.setBackend('cpu');
    d.install();
    const kernel = tf.getKernel(d.kernel, 'cpu') as tf.KernelConfig;
    tf.unregisterKernel(d.kernel, 'cpu');
    try {
      const fallback = await differentiate([60], d.f);
      expect(fallback.kernels).toContain(d.tfjsKernel);
      expect(fallback.kernels).not.toContain(d.kernel);
    } finally {
      tf.registerKernel(kernel);
    }
  });

  it('the kernel refuses operands of different shapes or dtypes', async () => {
    await tf.setBackend('cpu');
    d.install();
    const [a, b, c] = [tf.ones([2, 3]), tf.ones([3, 2]), tf.ones([2, 3], 'int32')];
    const [first, second] = d.inputs;
    expect(() => tf.engine().runKernel(d.kernel, { [first]: a, [second]: b }, d.attrs)).toThrow(/same shape/);
    expect(() => tf.engine().runKernel(d.kernel, { [first]: a, [second]: c }, d.attrs)).toThrow(/float32/);
    tf.dispose([a, b, c]);
  });

  it('the trainer installs it unless told not to, and trains to the same bits with it as without, leak-free, on wasm', async () => {
    await tf.setBackend('wasm');
    d.uninstall();
    const tfjsGradient = tf.getGradient(d.forKernel);
    const tfjs = await trainTinyMlpGan({ [d.option]: false });
    expect(tf.getGradient(d.forKernel)).toBe(tfjsGradient); // the trainer left it alone
    expect(tfjs.kernels).toContain(d.tfjsKernel);
    const fused = await trainTinyMlpGan({ [d.option]: true });
    expect(tf.getGradient(d.forKernel)).not.toBe(tfjsGradient);
    expect(fused.kernels).toContain(d.kernel);
    expect(fused.kernels).not.toContain(d.tfjsKernel);
    expect(fused.losses).toEqual(tfjs.losses);
    expect(fused.weights).toEqual(tfjs.weights);
    await tf.setBackend('cpu');
  });
});

describe('rounding of the JavaScript loops', () => {
  it('leakyReluGradInto rounds the product to float32 as tfjs does', () => {
    const out = new Float32Array(3);
    leakyReluGradInto(Float32Array.of(0.1, 0.1, -0), Float32Array.of(-1, 1, -1), 0.3, out);
    expect(out[0]).toBe(Math.fround(Math.fround(0.1) * Math.fround(0.3)));
    expect(out[1]).toBe(Math.fround(0.1));
    expect(Object.is(out[2], -0)).toBe(true);
  });

  it('tanhGradInto rounds y·y, 1 − y·y and the product each to float32, as tfjs does', () => {
    const y = Float32Array.of(0.7, -0.3, 1, Number.NaN, 3);
    const dy = Float32Array.of(0.1, 2, 5, 1, -0.5);
    const out = new Float32Array(5);
    tanhGradInto(dy, y, out);
    // tfjs's three kernels, each result stored in a Float32Array.
    const square = y.map((v) => v * v);
    const oneMinus = square.map((v) => 1 - v);
    expect(Array.from(out)).toEqual(Array.from(oneMinus.map((v, i) => v * (dy[i] as number))));
    expect(out[2]).toBe(0);
    expect(out[4]).toBe(4);
  });
});
