import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  installedWasmTrainingKernels,
  installWasmTrainingKernels,
  uninstallWasmTrainingKernels,
  WASM_MISSING_TRAINING_KERNELS,
  WASM_REPLACED_KERNELS,
  type WasmTuneUpOptions,
  type WasmTuneUpReport,
} from '../src/backends/index';
import { setMaxIm2colElementsForTesting } from '../src/backends/wasm';
import { lcg } from './conformance/cases';

// The wasm backend loads its .wasm files from node_modules/@tensorflow/tfjs-backend-wasm/dist in Node.

type Backend = 'cpu' | 'wasm';
interface Result {
  readonly shape: number[];
  readonly values: Float32Array | Int32Array | Uint8Array;
}

function randomTensor(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(lcg(tf.util.sizeFromShape(shape), seed), shape);
}

/** Runs `f` on a backend (inputs created inside `f`) and reads its outputs; leaves the backend on wasm. */
async function runOn(backend: Backend, f: () => tf.Tensor | tf.Tensor[]): Promise<Result[]> {
  await tf.setBackend(backend);
  try {
    const outs = tf.tidy(() => [f()].flat());
    const results = outs.map((t) => ({ shape: t.shape, values: t.dataSync().slice() }));
    tf.dispose(outs);
    return results;
  } finally {
    await tf.setBackend('wasm');
  }
}

/** max |actual − expected| ≤ rtol · max |expected|, and equal shapes. */
function expectClose(actual: readonly Result[], expected: readonly Result[], rtol = 1e-4): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => {
    const e = expected[i]!;
    expect(a.shape).toEqual(e.shape);
    let scale = 0;
    let diff = 0;
    for (let j = 0; j < e.values.length; j++) {
      scale = Math.max(scale, Math.abs(e.values[j]!));
      diff = Math.max(diff, Math.abs(a.values[j]! - e.values[j]!));
    }
    expect(Number.isFinite(diff)).toBe(true);
    expect(diff).toBeLessThanOrEqual(rtol * Math.max(scale, 1e-6));
  });
}

/** The same computation on the wasm backend agrees with the cpu backend. */
async function expectWasmMatchesCpu(f: () => tf.Tensor | tf.Tensor[], rtol = 1e-4): Promise<void> {
  expectClose(await runOn('wasm', f), await runOn('cpu', f), rtol);
}

function runKernel(name: string, inputs: tf.NamedTensorMap, attrs: object): tf.Tensor {
  return tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap) as tf.Tensor;
}

/**
 * tfjs-core's IS_TEST leak check counts the copies the wasm Identity kernel makes when a customGrad
 * op (fused matMul / conv2d in layers) saves tensors as leaks — a false positive of tfjs itself,
 * unrelated to the tune-up. Kernel-level tests keep the check on; whole-model tests switch it off.
 */
function withoutEngineLeakCheck<T>(f: () => T): T {
  const previous = tf.env().getBool('IS_TEST');
  tf.env().set('IS_TEST', false);
  try {
    return f();
  } finally {
    tf.env().set('IS_TEST', previous);
  }
}

/** Tensors and wasm data ids before and after calling `f` three times: no growth. */
function expectNoLeak(f: () => tf.Tensor | tf.Tensor[]): void {
  const backend = tf.engine().backend;
  tf.dispose(f()); // warm-up
  const tensors = tf.memory().numTensors;
  const dataIds = backend.numDataIds();
  for (let i = 0; i < 3; i++) tf.dispose(f());
  expect(tf.memory().numTensors).toBe(tensors);
  expect(backend.numDataIds()).toBe(dataIds);
}

let missingBefore: string[] = [];
let originals: Map<string, tf.KernelFunc>;
let originalSetups: Map<string, tf.KernelSetupFunc | undefined>;
let report: WasmTuneUpReport;

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  uninstallWasmTrainingKernels();
  missingBefore = WASM_MISSING_TRAINING_KERNELS.filter((k) => tf.getKernel(k, 'wasm') === undefined);
  originals = new Map(WASM_REPLACED_KERNELS.map((k) => [k, tf.getKernel(k, 'wasm')!.kernelFunc]));
  originalSetups = new Map(WASM_REPLACED_KERNELS.map((k) => [k, tf.getKernel(k, 'wasm')!.setupFunc]));
  report = installWasmTrainingKernels();
});

afterAll(async () => {
  uninstallWasmTrainingKernels();
  await tf.setBackend('cpu');
});

describe('installWasmTrainingKernels', () => {
  it('adds the kernels tfjs-backend-wasm 4.22 lacks and replaces the slow ones', () => {
    expect(tf.getBackend()).toBe('wasm');
    expect(missingBefore).toEqual([...WASM_MISSING_TRAINING_KERNELS]);
    expect(report).toEqual({
      wasmAvailable: true,
      added: [...WASM_MISSING_TRAINING_KERNELS],
      replaced: [...WASM_REPLACED_KERNELS],
      installed: [...WASM_MISSING_TRAINING_KERNELS, ...WASM_REPLACED_KERNELS],
    });
    for (const k of [...WASM_MISSING_TRAINING_KERNELS, ...WASM_REPLACED_KERNELS]) {
      expect(tf.getKernel(k, 'wasm')).toBeDefined();
    }
    for (const k of WASM_REPLACED_KERNELS) {
      const config = tf.getKernel(k, 'wasm')!;
      expect(config.kernelFunc).not.toBe(originals.get(k));
      expect(config.setupFunc).toBe(originalSetups.get(k)); // the original's, kept for a later backend init
      // Every replaced kernel but Identity (plain JavaScript in tfjs-backend-wasm) has one.
      if (k !== 'Identity') expect(config.setupFunc).toBeDefined();
    }
  });
});

type Pad = 'same' | 'valid' | number | number[][];
// [x shape, filter shape, strides, pad]
const CONV_CASES: [number[], number[], number | [number, number], Pad][] = [
  [[2, 9, 9, 3], [3, 3, 3, 4], 1, 'same'],
  [[2, 9, 9, 3], [3, 3, 3, 4], 2, 'same'],
  [[3, 8, 7, 2], [5, 5, 2, 3], 2, 'valid'],
  [[2, 8, 8, 3], [4, 4, 3, 5], 2, 'same'],
  [[1, 6, 6, 1], [2, 3, 1, 2], [1, 2], 'valid'],
  [
    [2, 7, 6, 2],
    [3, 2, 2, 3],
    [2, 1],
    [
      [0, 0],
      [1, 2],
      [0, 1],
      [0, 0],
    ],
  ],
  [[2, 5, 5, 4], [1, 1, 4, 6], 1, 0],
];

function convOutShape(xShape: number[], filterShape: number[], strides: number | [number, number], pad: unknown): number[] {
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    1,
    pad as 'same',
  );
  return info.outShape;
}

describe('Conv2DBackpropFilter (added)', () => {
  it.each(CONV_CASES)('x %j, filter %j, strides %j, pad %j: matches cpu', async (xShape, filterShape, strides, pad) => {
    const dyShape = convOutShape(xShape, filterShape, strides, pad);
    await expectWasmMatchesCpu(() =>
      runKernel(
        'Conv2DBackpropFilter',
        { x: randomTensor(xShape, 1), dy: randomTensor(dyShape, 2) },
        { strides, pad, dataFormat: 'NHWC', filterShape },
      ),
    );
  });

  it('matches cpu with channels-first data', async () => {
    const attrs = { strides: 2, pad: 'same', dataFormat: 'NCHW', filterShape: [3, 3, 3, 4] };
    await expectWasmMatchesCpu(() =>
      runKernel('Conv2DBackpropFilter', { x: randomTensor([2, 3, 9, 8], 3), dy: randomTensor([2, 4, 5, 4], 4) }, attrs),
    );
  });

  it('matches cpu when the batch runs in chunks', async () => {
    const previous = setMaxIm2colElementsForTesting(2 * 3 * 3 * 3 * 5 * 5); // two images per chunk
    try {
      await expectWasmMatchesCpu(() =>
        runKernel(
          'Conv2DBackpropFilter',
          { x: randomTensor([5, 9, 9, 3], 5), dy: randomTensor([5, 5, 5, 4], 6) },
          { strides: 2, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 3, 4] },
        ),
      );
    } finally {
      setMaxIm2colElementsForTesting(previous);
    }
  });
});

describe('Conv2DBackpropInput (replaced)', () => {
  it.each(CONV_CASES)('x %j, filter %j, strides %j, pad %j: matches cpu', async (xShape, filterShape, strides, pad) => {
    const dyShape = convOutShape(xShape, filterShape, strides, pad);
    await expectWasmMatchesCpu(() =>
      runKernel(
        'Conv2DBackpropInput',
        { dy: randomTensor(dyShape, 7), filter: randomTensor(filterShape, 8) },
        { strides, pad, dataFormat: 'NHWC', inputShape: xShape },
      ),
    );
  });

  it('matches cpu in chunks, and with channels-first data (the original kernel)', async () => {
    const previous = setMaxIm2colElementsForTesting(2 * 3 * 3 * 3 * 5 * 5);
    try {
      await expectWasmMatchesCpu(() =>
        runKernel(
          'Conv2DBackpropInput',
          { dy: randomTensor([5, 5, 5, 4], 9), filter: randomTensor([3, 3, 3, 4], 10) },
          { strides: 2, pad: 'same', dataFormat: 'NHWC', inputShape: [5, 9, 9, 3] },
        ),
      );
    } finally {
      setMaxIm2colElementsForTesting(previous);
    }
    await expectWasmMatchesCpu(() =>
      runKernel(
        'Conv2DBackpropInput',
        { dy: randomTensor([2, 4, 5, 4], 11), filter: randomTensor([3, 3, 3, 4], 12) },
        { strides: 2, pad: 'same', dataFormat: 'NCHW', inputShape: [2, 3, 9, 8] },
      ),
    );
  });
});

describe('convolution gradients through the ops', () => {
  it('conv2d: gradients of x and filter match cpu', async () => {
    for (const [xShape, filterShape, strides, pad] of CONV_CASES.slice(0, 4)) {
      await expectWasmMatchesCpu(() => {
        const x = randomTensor(xShape, 13) as tf.Tensor4D;
        const w = randomTensor(filterShape, 14) as tf.Tensor4D;
        const g = randomTensor(convOutShape(xShape, filterShape, strides, pad), 15);
        return tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, strides, pad as 'same'), g)),
        )([x, w]);
      });
    }
  });

  it('conv2dTranspose: value and gradients of x and filter match cpu', async () => {
    await expectWasmMatchesCpu(() => {
      const x = randomTensor([2, 4, 4, 6], 16) as tf.Tensor4D;
      const w = randomTensor([5, 5, 3, 6], 17) as tf.Tensor4D;
      const g = randomTensor([2, 8, 8, 3], 18);
      const f = (a: tf.Tensor, b: tf.Tensor) => tf.conv2dTranspose(a as tf.Tensor4D, b as tf.Tensor4D, [2, 8, 8, 3], 2, 'same');
      return [f(x, w), ...tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a, b), g)))([x, w])];
    });
  });
});

// [x shape, channel multiplier, strides, pad]
const DEPTHWISE_CASES: [number[], number, number, 'same' | 'valid'][] = [
  [[2, 7, 7, 3], 1, 1, 'same'],
  [[2, 8, 8, 3], 2, 2, 'same'],
  [[3, 9, 8, 2], 3, 2, 'valid'],
  [[1, 5, 6, 4], 1, 1, 'valid'],
];

describe('DepthwiseConv2dNativeBackpropFilter / BackpropInput (added)', () => {
  it.each(DEPTHWISE_CASES)('x %j, multiplier %i, strides %i, pad %s: both gradients match cpu', async (xShape, mult, s, pad) => {
    const c = xShape[3]!;
    await expectWasmMatchesCpu(() => {
      const x = randomTensor(xShape, 19) as tf.Tensor4D;
      const w = randomTensor([3, 3, c, mult], 20) as tf.Tensor4D;
      const y = tf.depthwiseConv2d(x, w, s, pad);
      const g = randomTensor(y.shape, 21);
      return [
        y,
        ...tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, pad), g)),
        )([x, w]),
      ];
    });
  });

  it('handles dilations (checked against the forward op: ⟨dy, conv(x, w)⟩ = ⟨dW, w⟩ = ⟨dX, x⟩)', async () => {
    await tf.setBackend('wasm');
    tf.tidy(() => {
      const dilations: [number, number] = [2, 2];
      const x = randomTensor([2, 9, 9, 2], 22) as tf.Tensor4D;
      const w = randomTensor([3, 3, 2, 2], 23) as tf.Tensor4D;
      const y = tf.depthwiseConv2d(x, w, 1, 'same', 'NHWC', dilations);
      const dy = randomTensor(y.shape, 24);
      const attrs = { strides: 1, pad: 'same', dilations };
      const dW = runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { ...attrs, filterShape: w.shape });
      const dX = runKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter: w }, { ...attrs, inputShape: x.shape });
      const lhs = tf.sum(tf.mul(dy, y)).dataSync()[0]!;
      expect(tf.sum(tf.mul(dW, w)).dataSync()[0]).toBeCloseTo(lhs, 3);
      expect(tf.sum(tf.mul(dX, x)).dataSync()[0]).toBeCloseTo(lhs, 3);
    });
  });
});

describe('UnsortedSegmentSum (added)', () => {
  it('matches cpu: empty and repeated segments, dropped out-of-range ids', async () => {
    await expectWasmMatchesCpu(() => [
      tf.unsortedSegmentSum(randomTensor([6, 4], 25), tf.tensor1d([0, 2, 2, 5, 1, 0], 'int32'), 7),
      tf.unsortedSegmentSum(randomTensor([5], 26), tf.tensor1d([3, 3, 0, 1, 3], 'int32'), 4),
      tf.unsortedSegmentSum(randomTensor([4, 3], 28), tf.tensor1d([-1, 0, 2, 1], 'int32'), 2),
    ]);
  });

  it('takes segment ids of rank 2 (cpu reference: the flattened equivalent; its own kernel rejects rank 2)', async () => {
    const ids = [0, 1, 1, 2, 0, 1];
    const wasm = await runOn('wasm', () =>
      tf.unsortedSegmentSum(randomTensor([2, 3, 4], 27), tf.tensor2d(ids, [2, 3], 'int32') as unknown as tf.Tensor1D, 3),
    );
    const cpu = await runOn('cpu', () =>
      tf.unsortedSegmentSum(tf.reshape(randomTensor([2, 3, 4], 27), [6, 4]), tf.tensor1d(ids, 'int32'), 3),
    );
    expectClose(wasm, cpu);
  });

  it('the gradient of gather (axis 0 and 1, repeated indices) matches cpu', async () => {
    await expectWasmMatchesCpu(() => {
      const p = randomTensor([6, 5], 29);
      const idx = tf.tensor1d([4, 1, 4, 0, 4], 'int32');
      const g0 = randomTensor([5, 5], 30);
      const g1 = randomTensor([6, 5], 31);
      return [
        tf.grad((q: tf.Tensor) => tf.sum(tf.mul(tf.gather(q, idx, 0), g0)))(p),
        tf.grad((q: tf.Tensor) => tf.sum(tf.mul(tf.gather(q, idx, 1), g1)))(p),
      ];
    });
  });
});

describe('MaxPoolGrad (replaced: the wasm kernel drops the gradient of windows with no positive value)', () => {
  // [x shape, filter size, strides, pad]
  const cases: [number[], number | [number, number], number | [number, number], 'same' | 'valid'][] = [
    [[2, 8, 8, 3], 2, 2, 'valid'],
    [[2, 9, 7, 4], 3, 2, 'same'],
    [[1, 6, 6, 2], [2, 3], [1, 2], 'valid'],
    [[3, 5, 5, 1], 3, 1, 'same'],
  ];
  it.each(cases)('x %j, filter %j, strides %j, pad %s: the gradient of maxPool matches cpu', async (shape, size, s, pad) => {
    const f = () => {
      const x = randomTensor(shape, 80) as tf.Tensor4D;
      const g = randomTensor(tf.maxPool(x, size, s, pad).shape, 81);
      return tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, size, s, pad), g)))(x);
    };
    await expectWasmMatchesCpu(f);
  });

  it('the original wasm kernel is wrong for all-negative windows, the replacement right', async () => {
    const f = () =>
      tf.grad((a: tf.Tensor) => tf.sum(tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid')))(tf.tensor4d([-4, -3, -2, -1], [1, 2, 2, 1]));
    expect(Array.from((await runOn('wasm', f))[0]!.values)).toEqual([0, 0, 0, 1]);
    expect(Array.from((await withOriginalKernels(f))[0]!.values)).toEqual([1, 0, 0, 0]); // sent to the tensor's first element
  });
});

/** The result of `f` with the original wasm kernels (tune-up off), then reinstalls. */ /** The result of `f` with the original wasm kernels (tune-up off), then reinstalls. */
/** The tune-up options the tests run under now (withOriginalKernels puts the same back). */
const tuneUp: WasmTuneUpOptions = {};

async function withOriginalKernels(f: () => tf.Tensor | tf.Tensor[]): Promise<Result[]> {
  uninstallWasmTrainingKernels();
  try {
    return await runOn('wasm', f);
  } finally {
    installWasmTrainingKernels(tuneUp);
  }
}

// [a shape, b shape] (untransposed)
const MATMUL_CASES: [number[], number[]][] = [
  [
    [37, 53],
    [53, 29],
  ],
  [
    [5, 7],
    [7, 3],
  ],
  [
    [64, 1],
    [1, 48],
  ],
  [
    [3, 24, 40],
    [3, 40, 20],
  ],
  [
    [3, 24, 40],
    [1, 40, 20],
  ],
  [
    [1, 24, 40],
    [4, 40, 20],
  ],
  [
    [2, 3, 24, 32],
    [2, 3, 32, 24],
  ],
  [
    [2, 1, 24, 32],
    [1, 3, 32, 24],
  ],
];

function swap(shape: number[]): number[] {
  return [...shape.slice(0, -2), shape[shape.length - 1]!, shape[shape.length - 2]!];
}

/**
 * The float32 product tfjs-gan's SIMD kernel computes (and XNNPACK's): each element summed in k order
 * starting from the bias (0 without one), every operation rounded to float32.
 */
function sequentialProduct(a: tf.Tensor2D, b: tf.Tensor2D, ta: boolean, tb: boolean, bias?: tf.Tensor1D): Float32Array {
  const [av, bv] = [a.dataSync(), b.dataSync()];
  const m = ta ? a.shape[1] : a.shape[0];
  const k = ta ? a.shape[0] : a.shape[1];
  const n = tb ? b.shape[0] : b.shape[1];
  const biasValues = bias?.dataSync();
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = biasValues === undefined ? 0 : biasValues[j]!;
      for (let q = 0; q < k; q++) {
        const x = av[ta ? q * m + i : i * k + q]!;
        const y = bv[tb ? j * k + q : q * n + j]!;
        acc = Math.fround(acc + Math.fround(x * y));
      }
      out[i * n + j] = acc;
    }
  }
  return out;
}

describe("LeakyRelu / Tanh (replaced: SIMD loops of tfjs-gan's module)", () => {
  const SPECIAL = [
    0,
    -0,
    1e-40,
    -1e-40,
    3e-4,
    -3e-4,
    5e-4,
    1,
    -1,
    7.9,
    -7.9,
    8,
    9.5,
    20,
    -20,
    Infinity,
    -Infinity,
    Number.NaN,
    5.8278761,
  ];
  /** Every special value, then a dense ramp over [−12, 12] (an odd length: the scalar tail runs too). */
  const inputs = () => tf.tensor1d([...SPECIAL, ...Array.from({ length: 20_001 }, (_, i) => -12 + (24 * i) / 20_000)]);

  it('LeakyRelu gives the same bits as the original wasm kernel (any alpha, signed zeros, NaN, infinities)', async () => {
    const f = () => [0.2, 0.01, 1.5, -0.3].map((alpha) => tf.leakyRelu(inputs(), alpha));
    const tuned = await runOn('wasm', f);
    const original = await withOriginalKernels(f);
    tuned.forEach((t, i) => {
      expect(t.shape).toEqual(original[i]!.shape);
      expect(Array.from(t.values, (v) => (Object.is(v, -0) ? '-0' : v))).toEqual(
        Array.from(original[i]!.values, (v) => (Object.is(v, -0) ? '-0' : v)),
      );
    });
  });

  it('Tanh is within 4.1e-7 of the exact value (7 ulp, at 5.8278761), keeps the sign of zero, NaN and the limits ±1', async () => {
    const [tuned] = await runOn('wasm', () => tf.tanh(inputs()));
    const x = inputs().dataSync();
    let worst = 0;
    tuned!.values.forEach((y, i) => {
      const exact = Math.tanh(x[i]!);
      if (Number.isNaN(exact)) expect(y).toBeNaN();
      else worst = Math.max(worst, Math.abs(y - exact));
    });
    expect(worst).toBeLessThanOrEqual(4.11e-7);
    expect(worst).toBeGreaterThan(4e-7); // an approximation, not std::tanh: its worst float32 input is in the list
    const v = tuned!.values;
    expect([Object.is(v[0], 0), Object.is(v[1], -0)]).toEqual([true, true]);
    expect([v[15], v[16]]).toEqual([1, -1]);
    // int32 input to leakyRelu reaches the original kernel (the replacement takes float32 only).
    await expectWasmMatchesCpu(() => tf.leakyRelu(tf.tensor1d([1, -2, 0], 'int32'), 0.5));
  });

  it('trains through both: value and gradients of tanh(leakyRelu(x·W)) match cpu', async () => {
    await expectWasmMatchesCpu(() => {
      const x = randomTensor([30, 20], 90);
      const w = tf.variable(randomTensor([20, 10], 91));
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.tanh(tf.leakyRelu(tf.matMul(x, w), 0.2))), [w]);
      const out = [value, ...Object.values(grads)];
      w.dispose();
      return out;
    });
  });
});

/** Random operands of an m×k · k×n product plus bias, laid out as the transposes ask (seeds seed…seed+2). */
function productOperands(
  m: number,
  k: number,
  n: number,
  ta: boolean,
  tb: boolean,
  seed: number,
): [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D] {
  return [
    randomTensor(ta ? [k, m] : [m, k], seed) as tf.Tensor2D,
    randomTensor(tb ? [n, k] : [k, n], seed + 1) as tf.Tensor2D,
    randomTensor([n], seed + 2) as tf.Tensor1D,
  ];
}

describe("tfjs-gan's SIMD matrix product (simdMatmul)", () => {
  it('is exactly the float32 sum in k order, for every block remainder, transpose and bias', async () => {
    await tf.setBackend('wasm');
    let seed = 70;
    for (const m of [1, 3, 4, 5, 9]) {
      for (const n of [1, 7, 8, 9, 17]) {
        for (const k of [1, 5, 33]) {
          for (const [ta, tb] of [
            [false, false],
            [true, false],
            [false, true],
            [true, true],
          ] as const) {
            const [a, b, bias] = productOperands(m, k, n, ta, tb, seed);
            seed += 3;
            const plain = tf.matMul(a, b, ta, tb);
            const fused = tf.fused.matMul({ a, b, transposeA: ta, transposeB: tb, bias });
            expect(Array.from(plain.dataSync())).toEqual(Array.from(sequentialProduct(a, b, ta, tb)));
            expect(Array.from(fused.dataSync())).toEqual(Array.from(sequentialProduct(a, b, ta, tb, bias)));
            tf.dispose([a, b, bias, plain, fused]);
          }
        }
      }
    }
  });

  it('keeps that order across its cache blocks (k in blocks of 256, columns in panels of 256)', async () => {
    await tf.setBackend('wasm');
    let seed = 300;
    for (const [m, k, n] of [
      [5, 300, 265],
      [9, 513, 17],
      [2, 257, 520],
    ] as const) {
      for (const [ta, tb] of [
        [false, false],
        [true, true],
      ] as const) {
        const [a, b, bias] = productOperands(m, k, n, ta, tb, seed);
        seed += 3;
        const fused = tf.fused.matMul({ a, b, transposeA: ta, transposeB: tb, bias });
        expect(Array.from(fused.dataSync())).toEqual(Array.from(sequentialProduct(a, b, ta, tb, bias)));
        tf.dispose([a, b, bias, fused]);
      }
    }
  });

  it("gives XNNPACK's bits (the original kernel's) for untransposed products, with and without a bias", async () => {
    const f = () => {
      const a = randomTensor([100, 784], 80) as tf.Tensor2D;
      const b = randomTensor([784, 256], 81) as tf.Tensor2D;
      const bias = randomTensor([256], 82);
      return [tf.matMul(a, b), tf.fused.matMul({ a, b, bias }), tf.matMul(tf.slice(a, [0, 0], [7, 5]), randomTensor([5, 9], 83))];
    };
    const tuned = await runOn('wasm', f);
    const original = await withOriginalKernels(f);
    tuned.forEach((t, i) => {
      expect(Array.from(t.values)).toEqual(Array.from(original[i]!.values));
    });
  });

  it('an empty inner dimension gives 0, or the bias, through the activation (XNNPACK leaves garbage)', async () => {
    await expectWasmMatchesCpu(() => [
      tf.matMul(tf.zeros([3, 0]), tf.zeros([0, 4])),
      tf.fused.matMul({ a: tf.zeros([0, 3]), b: tf.zeros([4, 0]), transposeA: true, transposeB: true, bias: tf.ones([4]) }),
      tf.fused.matMul({ a: tf.zeros([3, 0]), b: tf.zeros([0, 4]), bias: tf.tensor1d([-1, 2, -3, 4]), activation: 'relu' }),
    ]);
  });

  it('replaces XNNPACK for single products (the original is not called), not for batches', async () => {
    uninstallWasmTrainingKernels();
    const original = tf.getKernel('BatchMatMul', 'wasm')!;
    let calls = 0;
    const spy: tf.KernelConfig = {
      ...original,
      kernelFunc: (args) => {
        calls++;
        return original.kernelFunc(args);
      },
    };
    tf.unregisterKernel('BatchMatMul', 'wasm');
    tf.registerKernel(spy);
    try {
      installWasmTrainingKernels();
      tf.tidy(() => tf.matMul(randomTensor([64, 32], 38), randomTensor([48, 64], 39), true, true).dataSync());
      tf.tidy(() => tf.matMul(randomTensor([1, 30, 20], 40), randomTensor([20, 10], 41)).dataSync());
      expect(calls).toBe(0);
      tf.tidy(() => tf.matMul(randomTensor([2, 40, 30], 42), randomTensor([2, 30, 20], 43)).dataSync());
      expect(calls).toBe(2); // a batch: one XNNPACK product per entry
    } finally {
      uninstallWasmTrainingKernels();
      tf.unregisterKernel('BatchMatMul', 'wasm');
      tf.registerKernel(original);
      installWasmTrainingKernels();
    }
  });
});

for (const simdMatmul of [true, false])
  describe(`BatchMatMul / _FusedMatMul (replaced; simdMatmul ${simdMatmul})`, () => {
    beforeAll(() => {
      uninstallWasmTrainingKernels();
      installWasmTrainingKernels({ simdMatmul });
    });
    afterAll(() => {
      uninstallWasmTrainingKernels();
      installWasmTrainingKernels();
    });

    it.each(MATMUL_CASES)(
      'a %j, b %j: all four transpose combinations match the original kernel and cpu',
      async (aShape, bShape) => {
        const f = () =>
          [false, true].flatMap((ta) =>
            [false, true].map((tb) =>
              tf.matMul(randomTensor(ta ? swap(aShape) : aShape, 32), randomTensor(tb ? swap(bShape) : bShape, 33), ta, tb),
            ),
          );
        const tuned = await runOn('wasm', f);
        expectClose(tuned, await withOriginalKernels(f), 1e-5);
        expectClose(tuned, await runOn('cpu', f));
      },
    );

    it('fused: bias and relu / leakyrelu / prelu with transposed operands match cpu', async () => {
      const f = () =>
        [false, true].flatMap((ta) =>
          [false, true].flatMap((tb) => {
            const a = randomTensor(ta ? [40, 30] : [30, 40], 34) as tf.Tensor2D;
            const b = randomTensor(tb ? [20, 40] : [40, 20], 35) as tf.Tensor2D;
            const bias = randomTensor([20], 36);
            const common = { a, b, transposeA: ta, transposeB: tb, bias };
            return [
              tf.fused.matMul({ ...common, activation: 'relu' }),
              tf.fused.matMul({ ...common, activation: 'leakyrelu', leakyreluAlpha: 0.2 }),
              tf.fused.matMul({ ...common, activation: 'prelu', preluActivationWeights: randomTensor([20], 37) }),
              tf.fused.matMul({ ...common, activation: 'relu6' }),
              tf.fused.matMul({ ...common, activation: 'elu' }),
              tf.fused.matMul({ ...common, activation: 'sigmoid', bias: tf.reshape(bias, [1, 20]) }),
              tf.fused.matMul({ a, b, transposeA: ta, transposeB: tb }),
            ];
          }),
        );
      // The original wasm _FusedMatMul adds the bias wrongly whenever it cannot use XNNPACK (transposed
      // or batched operands); the replacement matches cpu, so it is only compared with cpu here.
      expectClose(await runOn('wasm', f), await runOn('cpu', f));
    });

    it('fused: small products with a bias and transposed operands match cpu', async () => {
      await expectWasmMatchesCpu(() => [
        tf.fused.matMul({
          a: randomTensor([7, 5], 46) as tf.Tensor2D,
          b: randomTensor([7, 3], 47) as tf.Tensor2D,
          transposeA: true,
          bias: randomTensor([3], 48),
        }),
        tf.fused.matMul({
          a: randomTensor([5, 60], 49) as tf.Tensor2D,
          b: randomTensor([3, 60], 50) as tf.Tensor2D,
          transposeB: true,
          bias: randomTensor([3], 51),
          activation: 'relu',
        }),
      ]);
    });

    it('fused, batched: bias and prelu weights per batch entry match cpu', async () => {
      await expectWasmMatchesCpu(() => {
        const a = randomTensor([3, 24, 40], 40);
        const b = randomTensor([3, 40, 20], 41);
        const bias = randomTensor([20], 42);
        return [
          tf.fused.matMul({ a, b, bias, activation: 'relu' }),
          tf.fused.matMul({ a, b: randomTensor([1, 20, 40], 43), transposeB: true, bias }),
          tf.fused.matMul({ a, b, bias, activation: 'prelu', preluActivationWeights: randomTensor([20], 44) }),
          tf.fused.matMul({ a, b, activation: 'prelu', preluActivationWeights: randomTensor([3, 24, 20], 45) }),
        ];
      });
    });

    it('multiplies reshaped data right (the original caches its packed right operand by tensor id, not shape)', async () => {
      const f = () => {
        const w = tf.reshape(tf.range(0, 24), [4, 6]);
        const first = tf.matMul(tf.ones([2, 4]), w);
        return [first, tf.matMul(tf.ones([2, 6]), tf.reshape(w, [6, 4]))];
      };
      // (Not run on the original kernel: it writes the first shape's output size past the second's
      // output buffer, corrupting the wasm heap.)
      await expectWasmMatchesCpu(f);
    });

    it('hands the wrapped kernel untransposed operands', async () => {
      uninstallWasmTrainingKernels();
      const original = tf.getKernel('BatchMatMul', 'wasm')!;
      const seen: unknown[] = [];
      const spy: tf.KernelConfig = {
        ...original,
        kernelFunc: (args) => {
          seen.push({ ...args.attrs });
          return original.kernelFunc(args);
        },
      };
      tf.unregisterKernel('BatchMatMul', 'wasm');
      tf.registerKernel(spy);
      try {
        installWasmTrainingKernels({ simdMatmul });
        tf.tidy(() => tf.matMul(randomTensor([64, 32], 38), randomTensor([48, 64], 39), true, true).dataSync());
        // With simdMatmul the product never reaches the wrapped kernel.
        expect(seen).toEqual(simdMatmul ? [] : [{ transposeA: false, transposeB: false }]);
        uninstallWasmTrainingKernels();
        expect(tf.getKernel('BatchMatMul', 'wasm')!.kernelFunc).toBe(spy.kernelFunc); // restores what it wrapped
      } finally {
        tf.unregisterKernel('BatchMatMul', 'wasm');
        tf.registerKernel(original);
        installWasmTrainingKernels({ simdMatmul });
      }
    });
  });

describe('training steps on wasm', () => {
  /** A small DCGAN: G = dense → convT(s2) → BN → LeakyReLU → convT(s2) → tanh; D = conv(s2) → … → dense. */
  function dcgan(): { g: tfl.Sequential; d: tfl.Sequential } {
    const g = tfl.sequential({
      layers: [
        tfl.layers.dense({ inputShape: [8], units: 4 * 4 * 8, useBias: false }),
        tfl.layers.batchNormalization(),
        tfl.layers.leakyReLU({ alpha: 0.2 }),
        tfl.layers.reshape({ targetShape: [4, 4, 8] }),
        tfl.layers.conv2dTranspose({ filters: 4, kernelSize: 4, strides: 2, padding: 'same', useBias: false }),
        tfl.layers.batchNormalization(),
        tfl.layers.leakyReLU({ alpha: 0.2 }),
        tfl.layers.conv2dTranspose({ filters: 1, kernelSize: 4, strides: 2, padding: 'same', activation: 'tanh' }),
      ],
    });
    const d = tfl.sequential({
      layers: [
        tfl.layers.conv2d({ inputShape: [16, 16, 1], filters: 4, kernelSize: 4, strides: 2, padding: 'same' }),
        tfl.layers.leakyReLU({ alpha: 0.2 }),
        tfl.layers.dropout({ rate: 0.3, seed: 7 }),
        tfl.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', useBias: false }),
        tfl.layers.batchNormalization(),
        tfl.layers.leakyReLU({ alpha: 0.2 }),
        tfl.layers.flatten(),
        tfl.layers.dense({ units: 1 }),
      ],
    });
    for (const [i, m] of [g, d].entries()) {
      m.setWeights(m.weights.map((w, j) => tf.mul(randomTensor(w.shape as number[], 100 * i + j), 0.5)));
    }
    return { g, d };
  }

  /** Gradients of a GAN objective with respect to every variable of G and D (D's dropout is seeded). */
  function dcganGradients(): tf.Tensor[] {
    return withoutEngineLeakCheck(() => {
      const { g, d } = dcgan();
      try {
        const real = randomTensor([4, 16, 16, 1], 40);
        const z = randomTensor([4, 8], 41);
        const vars = [...g.trainableWeights, ...d.trainableWeights].map((w) => w.read() as tf.Variable);
        const { value, grads } = tf.variableGrads(() => {
          const fake = g.apply(z, { training: true }) as tf.Tensor;
          const dReal = d.apply(real, { training: true }) as tf.Tensor;
          const dFake = d.apply(fake, { training: true }) as tf.Tensor;
          return tf.add(tf.mean(tf.softplus(tf.neg(dReal))), tf.mean(tf.softplus(dFake))) as tf.Scalar;
        }, vars);
        const out = [value, ...vars.map((v) => grads[v.name]!)];
        // Applying the update works too.
        const optimizer: tf.Optimizer = tf.train.adam(2e-4, 0.5);
        optimizer.applyGradients(grads);
        optimizer.dispose();
        return out;
      } finally {
        g.dispose();
        d.dispose();
      }
    });
  }

  it('a DCGAN step (conv2d, conv2dTranspose, batch norm, LeakyReLU, dropout) matches cpu gradients', async () => {
    const wasm = await runOn('wasm', dcganGradients);
    expect(wasm.length).toBeGreaterThan(10);
    expectClose(wasm, await runOn('cpu', dcganGradients));
  });

  it('fails with "not registered" once uninstalled, and works again after reinstalling', async () => {
    uninstallWasmTrainingKernels();
    try {
      await expect(runOn('wasm', dcganGradients)).rejects.toThrow(
        /Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'/,
      );
    } finally {
      installWasmTrainingKernels();
    }
    expect((await runOn('wasm', dcganGradients)).length).toBeGreaterThan(10);
  });

  it('other layers GANs use (max/avg pooling, upsampling, PReLU, ELU, depthwise/separable conv, layer norm) match cpu', async () => {
    const f = () =>
      withoutEngineLeakCheck(() => {
        const m = tfl.sequential({
          layers: [
            tfl.layers.conv2d({ inputShape: [8, 8, 2], filters: 3, kernelSize: 3, padding: 'same' }),
            tfl.layers.maxPooling2d({ poolSize: 2 }),
            tfl.layers.prelu(),
            // (nearest-neighbour upsampling is left out: the cpu backend's ResizeNearestNeighborGrad is wrong)
            tfl.layers.upSampling2d({ size: [2, 2], interpolation: 'bilinear' }),
            tfl.layers.averagePooling2d({ poolSize: 2 }),
            tfl.layers.elu(),
            tfl.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same' }),
            tfl.layers.separableConv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same' }),
            tfl.layers.layerNormalization(),
            tfl.layers.activation({ activation: 'sigmoid' }),
            tfl.layers.globalAveragePooling2d({}),
            tfl.layers.dense({ units: 1 }),
          ],
        });
        m.setWeights(m.weights.map((w, j) => tf.mul(randomTensor(w.shape as number[], 70 + j), 0.5)));
        const x = randomTensor([2, 8, 8, 2], 69);
        const { value, grads } = tf.variableGrads(() => tf.mean(tf.softplus(m.apply(x) as tf.Tensor)) as tf.Scalar);
        const out = [value, ...m.trainableWeights.map((w) => grads[(w.read() as tf.Variable).name]!)];
        m.dispose();
        return out;
      });
    await expectWasmMatchesCpu(f);
  });

  it('an embedding model trains, with gradients matching cpu', async () => {
    const f = () =>
      withoutEngineLeakCheck(() => {
        const m = tfl.sequential({
          layers: [
            tfl.layers.embedding({ inputDim: 10, outputDim: 6, inputLength: 3 }),
            tfl.layers.flatten(),
            tfl.layers.dense({ units: 4, activation: 'tanh' }),
          ],
        });
        m.setWeights(m.weights.map((w, j) => randomTensor(w.shape as number[], 50 + j)));
        const ids = tf.tensor2d([1, 3, 3, 9, 0, 1, 3, 7, 7, 2, 2, 2], [4, 3], 'int32');
        const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(m.apply(ids) as tf.Tensor)) as tf.Scalar);
        const out = [value, ...m.trainableWeights.map((w) => grads[(w.read() as tf.Variable).name]!)];
        m.dispose();
        return out;
      });
    await expectWasmMatchesCpu(f);
  });
});

describe('memory', () => {
  it('no kernel of the tune-up leaks tensors or wasm data', async () => {
    await tf.setBackend('wasm');
    const x = randomTensor([3, 9, 9, 3], 60) as tf.Tensor4D;
    const w = randomTensor([3, 3, 3, 4], 61) as tf.Tensor4D;
    const dy = randomTensor([3, 5, 5, 4], 62);
    const dw = randomTensor([3, 3, 3, 2], 63) as tf.Tensor4D;
    const dyDepthwise = randomTensor([3, 5, 5, 6], 64);
    const conv = { strides: 2, pad: 'same', dataFormat: 'NHWC' };
    const depthwise = { strides: 2, pad: 'same', dilations: 1 };
    const a = randomTensor([2, 40, 30], 65);
    const b = randomTensor([2, 20, 40], 66);
    const calls: (() => tf.Tensor | tf.Tensor[])[] = [
      () => runKernel('Conv2DBackpropFilter', { x, dy }, { ...conv, filterShape: w.shape }),
      () =>
        runKernel(
          'Conv2DBackpropFilter',
          { x: tf.transpose(x, [0, 3, 1, 2]), dy: tf.transpose(dy, [0, 3, 1, 2]) },
          { ...conv, dataFormat: 'NCHW', filterShape: w.shape },
        ),
      () => runKernel('Conv2DBackpropInput', { dy, filter: w }, { ...conv, inputShape: x.shape }),
      () => runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy: dyDepthwise }, { ...depthwise, filterShape: dw.shape }),
      () =>
        runKernel('DepthwiseConv2dNativeBackpropInput', { dy: dyDepthwise, filter: dw }, { ...depthwise, inputShape: x.shape }),
      () => tf.unsortedSegmentSum(x, tf.tensor1d([2, 0, 2], 'int32'), 4),
      () =>
        runKernel(
          'MaxPoolGrad',
          { dy: tf.ones([3, 5, 5, 3]), input: x, output: tf.maxPool(x, 3, 2, 'same') },
          { filterSize: 3, strides: 2, pad: 'same' },
        ),
      () => [tf.matMul(a, b, true, true), tf.matMul(tf.transpose(a, [0, 2, 1]), tf.transpose(b, [0, 2, 1]))],
      // Single products: tfjs-gan's SIMD kernel, with its temporary transpose of B.
      () => [
        tf.matMul(tf.reshape(a, [80, 30]), tf.reshape(b, [20, 80]), true, true),
        tf.matMul(tf.ones([3, 4]), tf.ones([4, 5])),
      ],
      () =>
        tf.fused.matMul({
          a: tf.reshape(a, [80, 30]),
          b: tf.reshape(b, [80, 20]),
          transposeA: true,
          bias: tf.ones([20]),
          activation: 'relu',
        }),
      () => tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.conv2d(p as tf.Tensor4D, q as tf.Tensor4D, 2, 'same')))([x, w]),
    ];
    const previous = setMaxIm2colElementsForTesting(2 * 3 * 3 * 3 * 5 * 5); // chunked paths too
    try {
      for (const call of calls) expectNoLeak(() => tf.tidy(call));
    } finally {
      setMaxIm2colElementsForTesting(previous);
    }
    tf.dispose([x, w, dy, dw, dyDepthwise, a, b]);
  });
});

describe('install / uninstall', () => {
  it('are idempotent, restore the original kernels, and install parts on request', () => {
    const again = installWasmTrainingKernels();
    expect(again.added).toEqual([]);
    expect(again.replaced).toEqual([]);
    expect(again.installed).toEqual(report.installed);
    const funcs = WASM_REPLACED_KERNELS.map((k) => tf.getKernel(k, 'wasm')!.kernelFunc);

    expect(uninstallWasmTrainingKernels()).toEqual({
      removed: [...WASM_MISSING_TRAINING_KERNELS],
      restored: [...WASM_REPLACED_KERNELS],
    });
    expect(uninstallWasmTrainingKernels()).toEqual({ removed: [], restored: [] });
    expect(installedWasmTrainingKernels()).toEqual([]);
    for (const k of WASM_MISSING_TRAINING_KERNELS) expect(tf.getKernel(k, 'wasm')).toBeUndefined();
    for (const k of WASM_REPLACED_KERNELS) expect(tf.getKernel(k, 'wasm')!.kernelFunc).toBe(originals.get(k));

    const partial = installWasmTrainingKernels({
      matmul: false,
      convTranspose: false,
      fixes: false,
      tile: false,
      gather: false,
      simdElementwise: false,
      identity: false,
      simdReduce: false,
    });
    expect(partial.added).toEqual([...WASM_MISSING_TRAINING_KERNELS]);
    expect(partial.replaced).toEqual([]);
    expect(tf.getKernel('BatchMatMul', 'wasm')!.kernelFunc).toBe(originals.get('BatchMatMul'));
    const rest = installWasmTrainingKernels({ missingKernels: false });
    expect(rest.added).toEqual([]);
    expect(rest.replaced).toEqual([...WASM_REPLACED_KERNELS]);
    expect(WASM_REPLACED_KERNELS.map((k) => tf.getKernel(k, 'wasm')!.kernelFunc)).not.toEqual(funcs); // fresh wrappers

    // A kernel someone else registered in the tune-up's place is theirs: left alone.
    const theirs: tf.KernelConfig = { kernelName: 'UnsortedSegmentSum', backendName: 'wasm', kernelFunc: () => ({}) as never };
    tf.unregisterKernel('UnsortedSegmentSum', 'wasm');
    tf.registerKernel(theirs);
    expect(installedWasmTrainingKernels()).not.toContain('UnsortedSegmentSum');
    expect(uninstallWasmTrainingKernels().removed).not.toContain('UnsortedSegmentSum');
    expect(tf.getKernel('UnsortedSegmentSum', 'wasm')).toBe(theirs);
    tf.unregisterKernel('UnsortedSegmentSum', 'wasm');
  });
});
