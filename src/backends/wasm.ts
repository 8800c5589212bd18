/**
 * A training tune-up for TensorFlow.js's `wasm` backend (`@tensorflow/tfjs-backend-wasm` 4.x).
 *
 * That backend runs inference well but cannot train most GANs: it registers no kernel for the
 * filter gradient of a convolution, for either gradient of a depthwise convolution, or for the
 * gradient of `gather` (embeddings); its matrix product is an order of magnitude slower when asked
 * to transpose an operand, which every backward pass of a dense layer does; its transposed
 * convolution (`Conv2DBackpropInput`) is a naive loop; and its `maxPool` gradient is wrong for
 * windows without a positive value.
 *
 * This module fills the gaps through tfjs-core's kernel registry only. It imports nothing from
 * `@tensorflow/tfjs-backend-wasm` (an optional peer of this library): the kernels it adds reach the
 * backend through the `backend` argument every kernel receives, and compose the wasm backend's own
 * registered kernels. When the wasm backend has not been imported, installing does nothing.
 *
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import { leadingAxesReduction, type ReduceAttrs } from './leading-axes';
import { heapOffset, type WasmBackendLike, wasmSimdKernels } from './wasm-simd/index';
import { fastGather, fastTile } from './wasm-speed';

const WASM = 'wasm';

/**
 * The kernels that GAN training (dense, conv, conv-transpose, depthwise conv, batch norm,
 * LeakyReLU, embeddings, dropout) needs and that `@tensorflow/tfjs-backend-wasm` 4.22 does not
 * register. {@link installWasmTrainingKernels} adds each of them that is still missing.
 *
 * - `Conv2DBackpropFilter`: filter gradient of `conv2d` and of `conv2dTranspose` (every conv layer).
 * - `DepthwiseConv2dNativeBackpropFilter`, `DepthwiseConv2dNativeBackpropInput`: both gradients of
 *   `depthwiseConv2d` (depthwise and separable conv layers).
 * - `UnsortedSegmentSum`: the gradient of `gather`, so of embedding layers.
 */
export const WASM_MISSING_TRAINING_KERNELS = [
  'Conv2DBackpropFilter',
  'DepthwiseConv2dNativeBackpropFilter',
  'DepthwiseConv2dNativeBackpropInput',
  'UnsortedSegmentSum',
] as const;

/**
 * The wasm kernels that {@link installWasmTrainingKernels} replaces by faster or correct versions
 * (the originals are kept, and {@link uninstallWasmTrainingKernels} registers them again):
 *
 * - `BatchMatMul`, `_FusedMatMul` (option `matmul`): with `transposeA` or `transposeB` set, as in
 *   every backward pass of a dense layer, or with a batch of matrices, the wasm kernel runs a
 *   naive loop 10–15× slower than its XNNPACK path; the replacement transposes operands first (wasm
 *   `Transpose` kernel) and multiplies batches one matrix at a time, without transpose flags.
 *   The replacement also fixes two bugs of the originals: `_FusedMatMul` adds its bias wrongly on
 *   the naive path (at the wrong index, once per 48-wide block of the inner dimension), and the
 *   XNNPACK path caches the packed right operand by tensor id alone, so data reshaped to another
 *   shape (reshape shares data) is multiplied as the first shape, writing past the output buffer.
 * - `Conv2DBackpropInput` (option `convTranspose`): the forward pass of `conv2dTranspose` and the
 *   input gradient of `conv2d`; the wasm kernel is a naive loop 7–10× slower than `conv2d`, the
 *   replacement is one matrix product plus a col2im scatter.
 * - `MaxPoolGrad` (option `fixes`): the gradient of `maxPool`; the wasm kernel starts each window's
 *   search for the maximum at the smallest positive float instead of −∞, so it drops the gradient
 *   of every window whose values are all ≤ 0. The replacement routes it to the window's first
 *   maximum, as the cpu backend does.
 * - `Tile` (option `tile`): the wasm kernel computes every output element's source index with
 *   divisions; batch normalisation's gradient tiles the per-channel scale to the full activation
 *   shape at every backward pass (about 12 % of a DCGAN step on wasm). The replacement
 *   ({@link tileInto}) copies whole contiguous blocks; results are identical.
 * - `GatherV2` (option `gather`): `tf.gather` — embeddings' forward pass, DiffAugment's translations —
 *   recomputes every element's source position with divisions (3.6 ms for 78 400 single floats); the
 *   replacement ({@link gatherInto}) copies blocks, about ten times faster; results are identical.
 * - `LeakyRelu`, `Tanh` (option `simdElementwise`): the wasm kernels loop one element at a time
 *   (LeakyReLU 5.7 ns, tanh 15 ns an element); the replacements are 4-lane SIMD loops of tfjs-gan's
 *   own module (src/backends/wasm-simd/kernels.wat). LeakyReLU gives the same bits; tanh is Eigen's
 *   (TensorFlow CPU's) rational approximation, within 4.1e-7 (7 ulp) of the exact value, where
 *   tfjs-backend-wasm's std::tanh is within ½ ulp.
 * - `Identity` (option `identity`): the wasm kernel copies its input (`tf.clone`, and the engine's
 *   identities around gradients and layers: 125 a step of the MLP GAN, ~1.6 ms); the replacement shares
 *   the input's memory and counts a reference, as the cpu and webgpu backends' `Identity` and tfjs-backend-wasm's
 *   own `Reshape` do (tensors are immutable; no kernel writes into its inputs).
 * - `Sum`, `Mean` over leading axes (option `simdReduce`): the wasm kernels transpose the input, then
 *   sum each row (batch norm's statistics over [0, 1, 2] of a DCGAN activation: 1.9 ms for 64×14×14×64);
 *   the replacement adds the rows into the output 4 columns at a time — each column's additions in the
 *   same order, so the same bits.
 */
export const WASM_REPLACED_KERNELS = [
  'BatchMatMul',
  '_FusedMatMul',
  'Conv2DBackpropInput',
  'MaxPoolGrad',
  'Tile',
  'GatherV2',
  'LeakyRelu',
  'Tanh',
  'Identity',
  'Sum',
  'Mean',
] as const;

/** What {@link installWasmTrainingKernels} installs; every part defaults to `true`. */
export interface WasmTuneUpOptions {
  /** Register the kernels of {@link WASM_MISSING_TRAINING_KERNELS} that the backend lacks. */
  readonly missingKernels?: boolean;
  /** Replace `BatchMatMul` and `_FusedMatMul` by versions fast with transposed or batched operands. */
  readonly matmul?: boolean;
  /**
   * With `matmul`: multiply single (unbatched) float32 products with tfjs-gan's own WebAssembly SIMD
   * kernel (src/backends/wasm-simd/kernels.wat) instead of XNNPACK, 2–3× faster on a GAN's products
   * (no packing of the right operand, which XNNPACK redoes whenever a weight changes). Used only where
   * the backend's memory can be reached (see `wasmSimdKernels`); otherwise XNNPACK multiplies.
   */
  readonly simdMatmul?: boolean;
  /** Replace `LeakyRelu` and `Tanh` by SIMD versions of tfjs-gan's own module (where it can reach the backend's memory). */
  readonly simdElementwise?: boolean;
  /** Replace `Conv2DBackpropInput` (conv-transpose forward, conv input gradient) by a faster version. */
  readonly convTranspose?: boolean;
  /** Replace wasm kernels that compute wrong results (`MaxPoolGrad`) by correct ones. */
  readonly fixes?: boolean;
  /** Replace `Tile` (batch norm's gradient tiles its scale every backward pass) by a block-copying version. */
  readonly tile?: boolean;
  /** Replace `GatherV2` (`tf.gather`: embeddings, DiffAugment's translations) by a block-copying version. */
  readonly gather?: boolean;
  /** Replace `Identity` (a copy on wasm) by one that shares the input's memory, as the other backends do. */
  readonly identity?: boolean;
  /**
   * Replace `Sum` and `Mean` over leading axes (batch norm's statistics, bias gradients), which the wasm
   * kernels compute as a transpose then a reduction, by one 4-lane pass of tfjs-gan's own module: the same
   * bits (where it can reach the backend's memory; otherwise, and for every other reduction, the original).
   */
  readonly simdReduce?: boolean;
}

/** What {@link installWasmTrainingKernels} did. */
export interface WasmTuneUpReport {
  /**
   * Whether any kernel is registered for the `wasm` backend, i.e. whether
   * `@tensorflow/tfjs-backend-wasm` has been imported. When `false` nothing was changed.
   */
  readonly wasmAvailable: boolean;
  /** Kernels this call registered because the wasm backend had none of that name. */
  readonly added: readonly string[];
  /** Wasm kernels this call replaced by tuned versions (the originals are kept for uninstalling). */
  readonly replaced: readonly string[];
  /** Every kernel of the tune-up in place after this call, installed by it or by an earlier call. */
  readonly installed: readonly string[];
}

/** What {@link uninstallWasmTrainingKernels} did. */
export interface WasmTuneUpRemoval {
  /** Added kernels this call unregistered. */
  readonly removed: readonly string[];
  /** Replaced kernels whose original this call registered again. */
  readonly restored: readonly string[];
}

/** One kernel the tune-up put in the registry, and what was there before. */
interface Installed {
  readonly config: tf.KernelConfig;
  /** The kernel it replaced; `null` for an added kernel. */
  readonly original: tf.KernelConfig | null;
}

const installed = new Map<string, Installed>();

/**
 * Makes the wasm backend able to train convolutional and embedding GANs, and faster at training
 * them. Registers, for the `wasm` backend, the kernels of {@link WASM_MISSING_TRAINING_KERNELS} it
 * lacks (option `missingKernels`), and replaces the kernels of {@link WASM_REPLACED_KERNELS} by
 * faster or correct versions (options `matmul` with `simdMatmul`, `convTranspose`, `fixes`, `tile`, `gather`,
 * `simdElementwise`, `identity`, `simdReduce`), keeping the originals.
 * Results agree with the `cpu` backend within float32 rounding.
 *
 * Idempotent: a kernel already installed is left as it is, so calling it again (say, with a part
 * switched on that an earlier call left off) only adds what is not there yet. Switch the tune-up
 * off with {@link uninstallWasmTrainingKernels}. Safe to call whatever the active backend: when
 * `@tensorflow/tfjs-backend-wasm` has not been imported it changes nothing and reports
 * `wasmAvailable: false`. It may run before the wasm backend has finished initialising.
 *
 * @example
 * ```ts
 * import '@tensorflow/tfjs-backend-wasm';
 * await tf.setBackend('wasm');
 * installWasmTrainingKernels();
 * // { wasmAvailable: true, added: ['Conv2DBackpropFilter', …], replaced: ['BatchMatMul', …], installed: […] }
 * ```
 */
export function installWasmTrainingKernels(options: WasmTuneUpOptions = {}): WasmTuneUpReport {
  forgetOverridden();
  const wasmAvailable = tf.getKernelsForBackend(WASM).length > 0;
  const added: string[] = [];
  const replaced: string[] = [];
  if (wasmAvailable) {
    if (options.missingKernels ?? true) {
      for (const [kernelName, kernelFunc] of Object.entries(MISSING_KERNEL_FUNCS)) {
        if (installed.has(kernelName) || tf.getKernel(kernelName, WASM) !== undefined) continue;
        const config: tf.KernelConfig = { kernelName, backendName: WASM, kernelFunc };
        tf.registerKernel(config);
        installed.set(kernelName, { config, original: null });
        added.push(kernelName);
      }
    }
    for (const kernelName of WASM_REPLACED_KERNELS) {
      const { option, wrap } = REPLACEMENTS[kernelName];
      const original = tf.getKernel(kernelName, WASM);
      if (!(options[option] ?? true) || installed.has(kernelName) || original === undefined) continue;
      // Keep the original's setupFunc/disposeFunc: if the backend initialises after this call,
      // the engine runs them for the kernel registered under the name, and the original needs it.
      const config: tf.KernelConfig = { ...original, kernelFunc: wrap(original.kernelFunc, options) };
      tf.unregisterKernel(kernelName, WASM);
      tf.registerKernel(config);
      installed.set(kernelName, { config, original });
      replaced.push(kernelName);
    }
  }
  return { wasmAvailable, added, replaced, installed: [...installed.keys()] };
}

/**
 * Switches the tune-up of {@link installWasmTrainingKernels} off: unregisters the kernels it added
 * and registers the original kernels it replaced again. Idempotent, and a no-op when
 * nothing is installed. A kernel that someone else has registered in the tune-up's place since is
 * left alone.
 */
export function uninstallWasmTrainingKernels(): WasmTuneUpRemoval {
  forgetOverridden();
  const removed: string[] = [];
  const restored: string[] = [];
  for (const [kernelName, { original }] of installed) {
    tf.unregisterKernel(kernelName, WASM);
    if (original === null) {
      removed.push(kernelName);
    } else {
      tf.registerKernel(original);
      restored.push(kernelName);
    }
  }
  installed.clear();
  return { removed, restored };
}

/** The kernels the tune-up of {@link installWasmTrainingKernels} has in place now (empty when off). */
export function installedWasmTrainingKernels(): string[] {
  forgetOverridden();
  return [...installed.keys()];
}

/** Drops records of kernels that are no longer the tune-up's own (unregistered or replaced by others). */
function forgetOverridden(): void {
  for (const [kernelName, { config }] of installed) {
    if (tf.getKernel(kernelName, WASM)?.kernelFunc !== config.kernelFunc) installed.delete(kernelName);
  }
}

// ---------------------------------------------------------------------------------------------
// Access to the wasm backend, structurally (no import of @tensorflow/tfjs-backend-wasm).

/** The part of tfjs-backend-wasm's `BackendWasm` the kernels below use. */
interface WasmBackend {
  /** Allocates an (uninitialised) tensor on the wasm heap. */
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  /** A view of a tensor's data on the wasm heap; invalidated when the heap grows (any allocation). */
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  /** Releases one reference to a tensor's data. */
  disposeData(dataId: tf.DataId, force?: boolean): boolean;
}

function asWasmBackend(backend: unknown, kernelName: string): WasmBackend {
  const b = backend as Partial<WasmBackend> | null;
  if (
    b == null ||
    typeof b.makeOutput !== 'function' ||
    typeof b.typedArrayFromHeap !== 'function' ||
    typeof b.disposeData !== 'function'
  ) {
    throw new Error(`tfjs-gan's wasm kernel '${kernelName}' was given a backend that is not tfjs-backend-wasm's.`);
  }
  return b as WasmBackend;
}

/** Runs the wasm backend's kernel `kernelName` (whatever is registered now) on `backend`. */
function runKernel(
  kernelName: string,
  backend: WasmBackend,
  inputs: tf.NamedTensorInfoMap,
  attrs: tf.NamedAttrMap = {},
): tf.TensorInfo {
  const kernel = tf.getKernel(kernelName, WASM);
  if (kernel === undefined) throw new Error(`Kernel '${kernelName}' not registered for backend '${WASM}'`);
  const out = kernel.kernelFunc({ inputs, backend, attrs });
  if (Array.isArray(out)) throw new Error(`Kernel '${kernelName}' returned ${out.length} outputs; expected one.`);
  return out;
}

function floatView(backend: WasmBackend, info: tf.TensorInfo): Float32Array {
  const view = backend.typedArrayFromHeap(info);
  if (!(view instanceof Float32Array)) throw new Error(`Expected a float32 tensor, got ${info.dtype}.`);
  return view;
}

function input(inputs: tf.NamedTensorInfoMap, name: string, kernelName: string): tf.TensorInfo {
  const t = inputs[name];
  if (t === undefined) throw new Error(`${kernelName}: input '${name}' is missing.`);
  return t;
}

function assertFloat32(kernelName: string, ...infos: tf.TensorInfo[]): void {
  for (const info of infos) {
    if (info.dtype !== 'float32') throw new Error(`${kernelName} on wasm supports float32 tensors only, got ${info.dtype}.`);
  }
}

function rank4(shape: readonly number[], what: string, kernelName: string): [number, number, number, number] {
  if (shape.length !== 4) throw new Error(`${kernelName}: ${what} must be rank 4, got shape [${shape.join(', ')}].`);
  return shape as [number, number, number, number];
}

function assertShape(actual: readonly number[], expected: readonly number[], what: string, kernelName: string): void {
  if (actual.length !== expected.length || actual.some((d, i) => d !== expected[i])) {
    throw new Error(`${kernelName}: ${what} has shape [${actual.join(', ')}], expected [${expected.join(', ')}].`);
  }
}

// ---------------------------------------------------------------------------------------------
// Matrix products without transpose flags.

/*
 * tfjs-backend-wasm 4.22 multiplies with XNNPACK only when neither operand is transposed and both
 * have a batch size of 1; otherwise it runs a naive loop, 10–15× slower, which in _FusedMatMul
 * also adds the bias wrongly (at index min(row·n + col, n − 1), once per 48-wide block of the
 * inner dimension). The replacements transpose flagged operands first (wasm `Transpose` kernel)
 * and split batched products into one XNNPACK product per batch entry.
 */

/**
 * Smallest products worth rewriting (measured on tfjs-backend-wasm 4.22, SIMD, 1 thread): below
 * 16384 multiply-adds, or with fewer than 16 output rows or columns (e.g. matrix–vector products),
 * transposing and packing the operands for XNNPACK costs more than the naive loop, so the original
 * runs as is (unless a `_FusedMatMul` has a bias, which only its XNNPACK path adds correctly).
 */
const MIN_MACS_TO_REWRITE = 16_384;
const MIN_ROWS_TO_REWRITE = 16;

/**
 * The (k, n) under which each tensor's data has been the right operand of an XNNPACK product. The
 * wasm BatchMatMul caches the packed right operand under the tensor's id alone, so the same data
 * reshaped (reshape shares data) to another (k, n) would be multiplied as the first shape: such an
 * operand is copied first.
 */
const rightOperandShapes = new WeakMap<object, string>();

/** `b`, or a copy of it when its data was the right operand of an XNNPACK product of another shape. */
function safeRightOperand(
  backend: WasmBackend,
  b: tf.TensorInfo,
  k: number,
  n: number,
  temporaries: tf.TensorInfo[],
): tf.TensorInfo {
  const key = `${k}x${n}`;
  const seen = rightOperandShapes.get(b.dataId);
  if (seen === undefined) rightOperandShapes.set(b.dataId, key);
  if (seen === undefined || seen === key) return b;
  const copy = backend.makeOutput([...b.shape], 'float32');
  temporaries.push(copy);
  floatView(backend, copy).set(floatView(backend, b));
  return copy;
}

function swapLastTwo(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return perm;
}

/**
 * Wraps a wasm matmul kernel (`BatchMatMul` or `_FusedMatMul`) so that it multiplies without
 * transpose flags, and a batched product as one product per batch entry.
 */
/** The operands of a matrix product and its m × k · k × n geometry (batch sizes of each operand). */
interface Product {
  readonly a: tf.TensorInfo;
  readonly b: tf.TensorInfo;
  readonly transposeA: boolean;
  readonly transposeB: boolean;
  readonly m: number;
  readonly k: number;
  readonly n: number;
  readonly batchA: number;
  readonly batchB: number;
}

/** A `BatchMatMul`/`_FusedMatMul` call's product, or `undefined` when the original should handle (or reject) it. */
function productOf(args: Parameters<tf.KernelFunc>[0]): Product | undefined {
  const attrs = (args.attrs ?? {}) as unknown as tf.BatchMatMulAttrs;
  const { a, b } = args.inputs;
  if (a === undefined || b === undefined || a.dtype !== 'float32' || b.dtype !== 'float32') return undefined;
  const ra = a.shape.length;
  const rb = b.shape.length;
  if (ra < 2 || rb < 2) return undefined;
  const transposeA = Boolean(attrs.transposeA);
  const transposeB = Boolean(attrs.transposeB);
  const m = (transposeA ? a.shape[ra - 1] : a.shape[ra - 2]) as number;
  const k = (transposeA ? a.shape[ra - 2] : a.shape[ra - 1]) as number;
  const kb = (transposeB ? b.shape[rb - 1] : b.shape[rb - 2]) as number;
  const n = (transposeB ? b.shape[rb - 2] : b.shape[rb - 1]) as number;
  if (k !== kb) return undefined; // the original's error message
  const batchA = tf.util.sizeFromShape(a.shape.slice(0, -2));
  const batchB = tf.util.sizeFromShape(b.shape.slice(0, -2));
  return { a, b, transposeA, transposeB, m, k, n, batchA, batchB };
}

function fastMatMul(original: tf.KernelFunc, kernelName: string, simd: boolean): tf.KernelFunc {
  return (args) => {
    const product = productOf(args);
    if (product === undefined) return original(args);
    if (simd) {
      const out = simdMatMul(args, product, kernelName);
      if (out !== undefined) return out;
    }
    const { a, b, transposeA, transposeB, m, k, n, batchA, batchB } = product;
    const batch = Math.max(batchA, batchB);
    // _FusedMatMul's PReLU weights apply cyclically over the output (period: their size), the same
    // per batch entry only if that size divides one entry's.
    const prelu = args.inputs.preluActivationWeights;
    const splittable = prelu === undefined || (m * n) % tf.util.sizeFromShape(prelu.shape) === 0;
    const macs = m * k * n;
    // The original adds a bias correctly only on its XNNPACK path: always rewrite such products.
    const small =
      args.inputs.bias === undefined && (macs < MIN_MACS_TO_REWRITE || m < MIN_ROWS_TO_REWRITE || n < MIN_ROWS_TO_REWRITE);
    const plain = !transposeA && !transposeB;
    if (!(plain && batch === 1) && (small || (plain && !splittable))) return original(args); // naive loop
    const backend = asWasmBackend(args.backend, kernelName);
    const temporaries: tf.TensorInfo[] = [];
    try {
      if (plain && batch === 1) {
        // Already the XNNPACK path.
        const b1 = safeRightOperand(backend, b, k, n, temporaries);
        return b1 === b ? original(args) : original({ ...args, inputs: { ...args.inputs, b: b1 } });
      }
      const flip = (t: tf.TensorInfo): tf.TensorInfo => {
        const out = runKernel('Transpose', backend, { x: t }, { perm: swapLastTwo(t.shape.length) });
        temporaries.push(out);
        return out;
      };
      const a2 = transposeA ? flip(a) : a;
      const b2 = transposeB ? flip(b) : b;
      const outBatchShape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
      const split =
        splittable &&
        batch > 1 &&
        tf.util.sizeFromShape(outBatchShape) === batch &&
        (batchA === 1 || batchA === batch) &&
        (batchB === 1 || batchB === batch);
      if (!split) {
        return original({
          inputs: { ...args.inputs, a: a2, b: batch === 1 ? safeRightOperand(backend, b2, k, n, temporaries) : b2 },
          backend: args.backend,
          attrs: { ...args.attrs, transposeA: false, transposeB: false },
        });
      }
      const b3 = batchB === 1 ? safeRightOperand(backend, b2, k, n, temporaries) : b2;
      return productPerBatchEntry(original, { ...args, backend }, a2, b3, { batch, batchA, batchB, m, k, n }, outBatchShape);
    } finally {
      for (const t of temporaries) backend.disposeData(t.dataId);
    }
  };
}

/** `_FusedMatMul` activations applied after tfjs-gan's SIMD product, by the wasm kernel of that name. */
const ACTIVATION_KERNELS: Readonly<Record<string, string>> = {
  relu: 'Relu',
  relu6: 'Relu6',
  elu: 'Elu',
  sigmoid: 'Sigmoid',
  leakyrelu: 'LeakyRelu',
};

/**
 * On a threaded wasm build (`useNodeWasmThreads`, or a cross-origin-isolated page) XNNPACK splits a
 * product's rows over its threads, while tfjs-gan's kernel runs on one: from this many output rows
 * XNNPACK is faster with 2 threads (measured, 2-core machine: 512×512×512 6.3 ms against 9.3 ms,
 * 1024×2048×512 41 against 76 ms; below, e.g. 256×1024×1024 22.4 against 20.9 ms and every product of
 * the MLP GAN, tfjs-gan's is).
 */
const THREADED_XNNPACK_ROWS = 512;

/** The threads XNNPACK uses on this wasm backend (1 on the single-threaded builds). */
function xnnpackThreads(backend: unknown): number {
  const tfjs = (backend as { wasm?: { tfjs?: { getThreadsCount?: () => number } } }).wasm?.tfjs;
  return tfjs?.getThreadsCount?.() ?? 1;
}

/**
 * The product with tfjs-gan's own SIMD kernel (`gemm` in src/backends/wasm-simd/kernels.wat), or
 * `undefined` when it does not apply: a batch of more than one matrix, PReLU weights, a
 * large product on a threaded build (see {@link THREADED_XNNPACK_ROWS}), a bias that is not one value per output column, or a backend whose
 * memory cannot be reached. A transposed left operand is read through strides; a transposed right
 * operand is transposed first (the module's `transpose`), as the kernel reads B's rows contiguously.
 */
function simdMatMul(args: Parameters<tf.KernelFunc>[0], product: Product, kernelName: string): tf.TensorInfo | undefined {
  const { bias, preluActivationWeights } = args.inputs;
  const { a, b, transposeA, transposeB, m, k, n, batchA, batchB } = product;
  if (batchA !== 1 || batchB !== 1 || preluActivationWeights !== undefined) return undefined;
  const attrs = (args.attrs ?? {}) as unknown as { activation?: string; leakyreluAlpha?: number };
  const activation = attrs.activation ?? 'linear';
  const activationKernel = ACTIVATION_KERNELS[activation];
  if (activation !== 'linear' && activationKernel === undefined) return undefined;
  if (bias !== undefined && (bias.dtype !== 'float32' || tf.util.sizeFromShape(bias.shape) !== n || bias.shape.at(-1) !== n)) {
    return undefined;
  }
  const kernels = wasmSimdKernels(args.backend);
  if (kernels === undefined) return undefined;
  if (m >= THREADED_XNNPACK_ROWS && xnnpackThreads(args.backend) > 1) return undefined;
  const backend = asWasmBackend(args.backend, kernelName);
  const heap = args.backend as unknown as WasmBackendLike;
  const outShape = [...tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2)), m, n];
  const out = backend.makeOutput(outShape, 'float32');
  if (m === 0 || n === 0) return out;
  let bRows: tf.TensorInfo | undefined;
  try {
    const at = (t: tf.TensorInfo) => heapOffset(heap, t.dataId);
    if (k === 0) {
      // An empty sum: 0, or the bias, in every row (XNNPACK fails here and leaves the output unwritten).
      const values = new Float32Array(kernels.memory.buffer, at(out), m * n);
      const row = bias === undefined ? new Float32Array(n) : new Float32Array(kernels.memory.buffer, at(bias), n).slice();
      for (let i = 0; i < m; i++) values.set(row, i * n);
    } else {
      // B as k×n rows: a transposed B (stored n×k) is transposed first.
      if (transposeB) {
        bRows = backend.makeOutput([k, n], 'float32');
        kernels.transpose(at(b), at(bRows), n, k);
      }
      const [sam, sak] = transposeA ? [1, m] : [k, 1];
      const [biasAt, hasBias] = bias === undefined ? [0, 0 as const] : [at(bias), 1 as const];
      kernels.gemm(at(a), sam, sak, at(bRows ?? b), n, at(out), m, k, n, biasAt, hasBias);
    }
  } catch (error) {
    backend.disposeData(out.dataId);
    throw error;
  } finally {
    if (bRows !== undefined) backend.disposeData(bRows.dataId);
  }
  if (activationKernel === undefined) return out;
  try {
    return runKernel(
      activationKernel,
      backend,
      { x: out },
      activation === 'leakyrelu' ? { alpha: attrs.leakyreluAlpha ?? 0.2 } : {},
    );
  } finally {
    backend.disposeData(out.dataId);
  }
}

/**
 * out[i] = a[i or 0] · b[i or 0] for untransposed a: [batchA, m, k] and b: [batchB, k, n] (each
 * batch size 1 or `batch`), one XNNPACK product per entry; other inputs (bias, PReLU weights) and
 * attributes (activation) of `args` are passed on.
 */
function productPerBatchEntry(
  original: tf.KernelFunc,
  args: Parameters<tf.KernelFunc>[0] & { backend: WasmBackend },
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  { batch, batchA, batchB, m, k, n }: Record<'batch' | 'batchA' | 'batchB' | 'm' | 'k' | 'n', number>,
  outBatchShape: number[],
): tf.TensorInfo {
  const { backend } = args;
  const out = backend.makeOutput([...outBatchShape, m, n], 'float32');
  const entry = (t: tf.TensorInfo, i: number, rows: number, cols: number): tf.TensorInfo => {
    const copy = backend.makeOutput([1, rows, cols], 'float32');
    const size = rows * cols;
    floatView(backend, copy).set(floatView(backend, t).subarray(i * size, (i + 1) * size));
    return copy;
  };
  try {
    for (let i = 0; i < batch; i++) {
      const ai = batchA === 1 ? { dataId: a.dataId, shape: [1, m, k], dtype: a.dtype } : entry(a, i, m, k);
      const bi = batchB === 1 ? { dataId: b.dataId, shape: [1, k, n], dtype: b.dtype } : entry(b, i, k, n);
      try {
        const product = original({
          inputs: { ...args.inputs, a: ai, b: bi },
          backend,
          attrs: { ...args.attrs, transposeA: false, transposeB: false },
        }) as tf.TensorInfo;
        floatView(backend, out).set(floatView(backend, product), i * m * n);
        backend.disposeData(product.dataId);
      } finally {
        if (ai.dataId !== a.dataId) backend.disposeData(ai.dataId);
        if (bi.dataId !== b.dataId) backend.disposeData(bi.dataId);
      }
    }
  } catch (error) {
    backend.disposeData(out.dataId);
    throw error;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Conv2DBackpropFilter: im2col (in JS, straight into the wasm heap) + one wasm matrix product.

/** Most elements of one im2col buffer (64 MiB of float32); larger batches run in chunks of images. */
let maxIm2colElements = 1 << 24;

/**
 * Test hook: sets the im2col chunk budget (elements) and returns the previous one.
 * @internal
 */
export function setMaxIm2colElementsForTesting(elements: number): number {
  const previous = maxIm2colElements;
  maxIm2colElements = elements;
  return previous;
}

/**
 * dW[kh, kw, ci, co] = Σ_{n, oh, ow} x[n, oh·sh + kh − top, ow·sw + kw − left, ci] · dy[n, oh, ow, co].
 *
 * Written as a matrix product: with the image patches laid out as colsT[(kh, kw, ci), (n, oh, ow)]
 * and dy as [(n, oh, ow), co], dW = colsT · dy, which the wasm BatchMatMul computes without
 * transpose flags. The result's [(kh, kw, ci), co] layout is the filter layout.
 */
const conv2DBackpropFilter: tf.KernelFunc = ({ inputs, backend: b, attrs }) => {
  const name = 'Conv2DBackpropFilter';
  const backend = asWasmBackend(b, name);
  const x = input(inputs, 'x', name);
  const dy = input(inputs, 'dy', name);
  assertFloat32(name, x, dy);
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  const format = tf.backend_util.convertConv2DDataFormat(dataFormat ?? 'NHWC');
  const info = tf.backend_util.computeConv2DInfo(
    rank4(x.shape, 'x', name),
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    format,
  );
  assertShape(dy.shape, info.outShape, 'dy', name);
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const pixels = outHeight * outWidth;
  const rows = info.filterHeight * info.filterWidth * inChannels;

  const channelsFirst = info.dataFormat === 'channelsFirst';
  // Element strides of x's batch, row, column and channel axes.
  const xStrides = channelsFirst
    ? [inChannels * inHeight * inWidth, inWidth, 1, inHeight * inWidth]
    : [inHeight * inWidth * inChannels, inWidth * inChannels, inChannels, 1];
  const temporaries: tf.TensorInfo[] = [];
  try {
    // dy as [n, oh, ow, co].
    let dyLast = dy;
    if (channelsFirst) {
      dyLast = runKernel('Transpose', backend, { x: dy }, { perm: [0, 2, 3, 1] });
      temporaries.push(dyLast);
    }
    if (rows * outChannels === 0 || batchSize * pixels === 0) return zeros(backend, filterShape);

    const perChunk = Math.max(1, Math.min(batchSize, Math.floor(maxIm2colElements / (rows * pixels))));
    let out: tf.TensorInfo | null = null;
    try {
      for (let n0 = 0; n0 < batchSize; n0 += perChunk) {
        const nb = Math.min(perChunk, batchSize - n0);
        const cols = nb * pixels;
        const chunk: tf.TensorInfo[] = [];
        try {
          const colsT = backend.makeOutput([1, rows, cols], 'float32');
          chunk.push(colsT);
          // Always a copy: the wasm BatchMatMul caches its packed right operand under the tensor's
          // id (shape not included), so it must not see dy's data under a shape used elsewhere.
          const dyChunk = backend.makeOutput([1, cols, outChannels], 'float32');
          chunk.push(dyChunk);
          const from = n0 * pixels * outChannels;
          floatView(backend, dyChunk).set(floatView(backend, dyLast).subarray(from, from + cols * outChannels));
          // Views are taken after the allocations above: growing the heap detaches older views.
          im2colTransposed(floatView(backend, x), floatView(backend, colsT), info, xStrides, n0, nb);
          const product = runKernel('BatchMatMul', backend, { a: colsT, b: dyChunk }, { transposeA: false, transposeB: false });
          if (out === null) {
            out = product;
          } else {
            chunk.push(product);
            const acc = floatView(backend, out);
            const part = floatView(backend, product);
            for (let i = 0; i < acc.length; i++) acc[i] = (acc[i] as number) + (part[i] as number);
          }
        } finally {
          for (const t of chunk) backend.disposeData(t.dataId);
        }
      }
    } catch (error) {
      if (out !== null) backend.disposeData(out.dataId);
      throw error;
    }
    // [1, (kh, kw, ci), co] is the filter's memory layout.
    return { dataId: (out as tf.TensorInfo).dataId, shape: [...filterShape], dtype: 'float32' };
  } finally {
    for (const t of temporaries) backend.disposeData(t.dataId);
  }
};

/**
 * Fills dst, viewed as [(kh, kw, ci), (n, oh, ow)] for the nb images from n0, with the input value
 * each filter tap sees at each output position (0 in the padding). The loops read x's channels
 * contiguously and write a column of dst per pixel (4–5× faster in V8 than row-wise writes with
 * strided reads).
 */
function im2colTransposed(
  x: Float32Array,
  dst: Float32Array,
  info: tf.backend_util.Conv2DInfo,
  [sN, sH, sW, sC]: number[],
  n0: number,
  nb: number,
): void {
  const { inHeight, inWidth, inChannels, outHeight, outWidth, strideHeight, strideWidth, filterWidth } = info;
  const { top, left } = info.padInfo;
  const cols = nb * outHeight * outWidth;
  const strideN = sN as number;
  const strideH = sH as number;
  const strideW = sW as number;
  const strideC = sC as number;
  for (let kh = 0; kh < info.filterHeight; kh++) {
    for (let kw = 0; kw < filterWidth; kw++) {
      const rowBase = (kh * filterWidth + kw) * inChannels * cols;
      // Output columns whose input column iw = ow·sw + kw − left lies inside the image.
      const owStart = Math.min(outWidth, Math.max(0, Math.ceil((left - kw) / strideWidth)));
      const owEnd = Math.max(owStart, Math.min(outWidth, Math.floor((inWidth - 1 + left - kw) / strideWidth) + 1));
      let p = 0;
      for (let n = n0; n < n0 + nb; n++) {
        for (let oh = 0; oh < outHeight; oh++) {
          const ih = oh * strideHeight + kh - top;
          const rowInside = ih >= 0 && ih < inHeight;
          for (let ow = 0; ow < outWidth; ow++, p++) {
            let d = rowBase + p;
            if (!rowInside || ow < owStart || ow >= owEnd) {
              for (let ci = 0; ci < inChannels; ci++, d += cols) dst[d] = 0;
              continue;
            }
            let src = n * strideN + ih * strideH + (ow * strideWidth + kw - left) * strideW;
            for (let ci = 0; ci < inChannels; ci++, d += cols, src += strideC) dst[d] = x[src] as number;
          }
        }
      }
    }
  }
}

function zeros(backend: WasmBackend, shape: readonly number[]): tf.TensorInfo {
  const out = backend.makeOutput([...shape], 'float32');
  backend.typedArrayFromHeap(out).fill(0);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Conv2DBackpropInput (conv2dTranspose's forward, conv2d's input gradient): one wasm matrix product
// + col2im in JS. The wasm backend's own kernel is a naive loop, 7–10× slower than conv2d.

/**
 * dx[n, ih, iw, ci] = Σ dy[n, oh, ow, co] · w[kh, kw, ci, co] over ih = oh·sh + kh − top, iw = ….
 *
 * As a matrix product: cols[(n, oh, ow), (kh, kw, ci)] = dy[(n, oh, ow), co] · wT[co, (kh, kw, ci)],
 * then each row of cols is scattered (added) into the input pixels its taps read.
 */
function fastConv2DBackpropInput(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const name = 'Conv2DBackpropInput';
    const { inputs, attrs } = args;
    const dy = inputs.dy;
    const filter = inputs.filter;
    const a = attrs as unknown as tf.Conv2DBackpropInputAttrs;
    // channelsFirst, odd dtypes and malformed calls: the original handles (or rejects) them.
    if (dy === undefined || filter === undefined || dy.dtype !== 'float32' || filter.dtype !== 'float32') return original(args);
    if ((a.dataFormat ?? 'NHWC') !== 'NHWC' || a.inputShape?.length !== 4 || filter.shape.length !== 4) return original(args);
    const backend = asWasmBackend(args.backend, name);
    const info = tf.backend_util.computeConv2DInfo(
      a.inputShape,
      filter.shape as [number, number, number, number],
      a.strides,
      1,
      a.pad,
      a.dimRoundingMode,
      false,
      'channelsLast',
    );
    if (dy.shape.length !== 4 || dy.shape.some((d, i) => d !== info.outShape[i])) return original(args);
    const { batchSize, outHeight, outWidth, outChannels } = info;
    const pixels = outHeight * outWidth;
    const rows = info.filterHeight * info.filterWidth * info.inChannels;
    if (rows * outChannels === 0 || batchSize * pixels === 0) return zeros(backend, a.inputShape);

    const temporaries: tf.TensorInfo[] = [];
    const out = backend.makeOutput([...a.inputShape], 'float32');
    try {
      floatView(backend, out).fill(0);
      // The filter as [co, (kh, kw, ci)].
      const wT = runKernel(
        'Transpose',
        backend,
        { x: { dataId: filter.dataId, shape: [rows, outChannels], dtype: 'float32' } },
        { perm: [1, 0] },
      );
      temporaries.push(wT);
      const wT3 = { dataId: wT.dataId, shape: [1, outChannels, rows], dtype: 'float32' as const };
      const perChunk = Math.max(1, Math.min(batchSize, Math.floor(maxIm2colElements / (rows * pixels))));
      for (let n0 = 0; n0 < batchSize; n0 += perChunk) {
        const nb = Math.min(perChunk, batchSize - n0);
        const chunk: tf.TensorInfo[] = [];
        try {
          let dyChunk: tf.TensorInfo;
          if (nb === batchSize) {
            dyChunk = { dataId: dy.dataId, shape: [1, nb * pixels, outChannels], dtype: 'float32' };
          } else {
            dyChunk = backend.makeOutput([1, nb * pixels, outChannels], 'float32');
            chunk.push(dyChunk);
            const from = n0 * pixels * outChannels;
            floatView(backend, dyChunk).set(floatView(backend, dy).subarray(from, from + nb * pixels * outChannels));
          }
          const cols = runKernel('BatchMatMul', backend, { a: dyChunk, b: wT3 }, { transposeA: false, transposeB: false });
          chunk.push(cols);
          col2imAdd(floatView(backend, cols), floatView(backend, out), info, n0, nb);
        } finally {
          for (const t of chunk) backend.disposeData(t.dataId);
        }
      }
    } catch (error) {
      backend.disposeData(out.dataId);
      throw error;
    } finally {
      for (const t of temporaries) backend.disposeData(t.dataId);
    }
    return out;
  };
}

/**
 * Adds each row of cols, viewed as [(n, oh, ow), (kh, kw, ci)] for the nb images from n0, into
 * dx (NHWC) at the input pixels the taps read; taps that fall in the padding are dropped.
 */
function col2imAdd(cols: Float32Array, dx: Float32Array, info: tf.backend_util.Conv2DInfo, n0: number, nb: number): void {
  const { inHeight, inWidth, inChannels, outHeight, outWidth, strideHeight, strideWidth, filterHeight, filterWidth } = info;
  const { top, left } = info.padInfo;
  const rowLength = filterHeight * filterWidth * inChannels;
  let r = 0;
  for (let n = n0; n < n0 + nb; n++) {
    for (let oh = 0; oh < outHeight; oh++) {
      for (let ow = 0; ow < outWidth; ow++, r += rowLength) {
        for (let kh = 0; kh < filterHeight; kh++) {
          const ih = oh * strideHeight + kh - top;
          if (ih < 0 || ih >= inHeight) continue;
          for (let kw = 0; kw < filterWidth; kw++) {
            const iw = ow * strideWidth + kw - left;
            if (iw < 0 || iw >= inWidth) continue;
            const dst = ((n * inHeight + ih) * inWidth + iw) * inChannels;
            const src = r + (kh * filterWidth + kw) * inChannels;
            for (let c = 0; c < inChannels; c++) dx[dst + c] = (dx[dst + c] as number) + (cols[src + c] as number);
          }
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// MaxPoolGrad: the wasm kernel's search for each window's maximum starts at FLT_MIN (the smallest
// positive float) rather than −∞, so windows whose values are all ≤ 0 lose their gradient.

/** dx[n, ih, iw, c] = Σ dy[n, oh, ow, c] over the windows whose first maximum is x[n, ih, iw, c]. */
const maxPoolGrad: tf.KernelFunc = ({ inputs, backend: b, attrs }) => {
  const name = 'MaxPoolGrad';
  const backend = asWasmBackend(b, name);
  const dy = input(inputs, 'dy', name);
  const x = input(inputs, 'input', name);
  assertFloat32(name, dy, x);
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as tf.MaxPoolGradAttrs;
  const info = tf.backend_util.computePool2DInfo(rank4(x.shape, 'input', name), filterSize, strides, 1, pad, dimRoundingMode);
  assertShape(dy.shape, info.outShape, 'dy', name);
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, strideHeight, strideWidth } = info;
  const { effectiveFilterHeight, effectiveFilterWidth, dilationHeight, dilationWidth } = info;
  const { top, left } = info.padInfo;
  const out = backend.makeOutput([...x.shape], 'float32');
  const xv = floatView(backend, x);
  const dyv = floatView(backend, dy);
  const dx = floatView(backend, out);
  dx.fill(0);
  const best = new Float32Array(inChannels);
  const at = new Int32Array(inChannels);
  let dyPixel = 0;
  for (let n = 0; n < batchSize; n++) {
    for (let oh = 0; oh < outHeight; oh++) {
      const ih0 = oh * strideHeight - top;
      for (let ow = 0; ow < outWidth; ow++, dyPixel += inChannels) {
        const iw0 = ow * strideWidth - left;
        best.fill(Number.NEGATIVE_INFINITY);
        at.fill(-1);
        for (let fh = 0; fh < effectiveFilterHeight; fh += dilationHeight) {
          const ih = ih0 + fh;
          if (ih < 0 || ih >= inHeight) continue;
          for (let fw = 0; fw < effectiveFilterWidth; fw += dilationWidth) {
            const iw = iw0 + fw;
            if (iw < 0 || iw >= inWidth) continue;
            const pixel = ((n * inHeight + ih) * inWidth + iw) * inChannels;
            for (let c = 0; c < inChannels; c++) {
              const v = xv[pixel + c] as number;
              if (v > (best[c] as number)) {
                best[c] = v;
                at[c] = pixel + c;
              }
            }
          }
        }
        for (let c = 0; c < inChannels; c++) {
          const i = at[c] as number;
          if (i >= 0) dx[i] = (dx[i] as number) + (dyv[dyPixel + c] as number);
        }
      }
    }
  }
  return out;
};

// ---------------------------------------------------------------------------------------------
// Depthwise convolution gradients: direct loops (a depthwise convolution costs as much as reading
// its operands, so there is no product to hand to a faster kernel).

interface DepthwiseGeometry {
  readonly info: tf.backend_util.Conv2DInfo;
  readonly multiplier: number;
}

function depthwiseGeometry(
  kernelName: string,
  xShape: readonly number[],
  filterShape: readonly number[],
  attrs: tf.DepthwiseConv2dNativeBackpropFilterAttrs | tf.DepthwiseConv2dNativeBackpropInputAttrs,
): DepthwiseGeometry {
  const info = tf.backend_util.computeConv2DInfo(
    rank4(xShape, 'x', kernelName),
    rank4(filterShape, 'filter', kernelName),
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    true,
  );
  return { info, multiplier: info.outChannels / info.inChannels };
}

/**
 * Visits every (image, output position, filter tap) whose input position lies inside the image,
 * with the flat offsets of the input pixel, the output pixel and the tap.
 */
function forEachDepthwiseTap(
  { info, multiplier }: DepthwiseGeometry,
  visit: (xPixel: number, yPixel: number, tap: number) => void,
): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, filterHeight, filterWidth } = info;
  const { strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
  const { top, left } = info.padInfo;
  const xPixelSize = inChannels;
  const yPixelSize = inChannels * multiplier;
  for (let n = 0; n < batchSize; n++) {
    for (let oh = 0; oh < outHeight; oh++) {
      for (let kh = 0; kh < filterHeight; kh++) {
        const ih = oh * strideHeight + kh * dilationHeight - top;
        if (ih < 0 || ih >= inHeight) continue;
        for (let ow = 0; ow < outWidth; ow++) {
          const yPixel = ((n * outHeight + oh) * outWidth + ow) * yPixelSize;
          for (let kw = 0; kw < filterWidth; kw++) {
            const iw = ow * strideWidth + kw * dilationWidth - left;
            if (iw < 0 || iw >= inWidth) continue;
            visit(((n * inHeight + ih) * inWidth + iw) * xPixelSize, yPixel, (kh * filterWidth + kw) * yPixelSize);
          }
        }
      }
    }
  }
}

/** dW[kh, kw, c, m] = Σ_{n, oh, ow} x[n, oh·sh + kh·dh − top, ow·sw + kw·dw − left, c] · dy[n, oh, ow, c·M + m]. */
const depthwiseConv2dNativeBackpropFilter: tf.KernelFunc = ({ inputs, backend: b, attrs }) => {
  const name = 'DepthwiseConv2dNativeBackpropFilter';
  const backend = asWasmBackend(b, name);
  const x = input(inputs, 'x', name);
  const dy = input(inputs, 'dy', name);
  assertFloat32(name, x, dy);
  const a = attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
  const geometry = depthwiseGeometry(name, x.shape, a.filterShape, a);
  assertShape(dy.shape, geometry.info.outShape, 'dy', name);
  const { inChannels } = geometry.info;
  const m = geometry.multiplier;
  const acc = new Float64Array(tf.util.sizeFromShape(a.filterShape));
  const out = backend.makeOutput([...a.filterShape], 'float32');
  const xv = floatView(backend, x);
  const dyv = floatView(backend, dy);
  forEachDepthwiseTap(geometry, (xPixel, yPixel, tap) => {
    for (let c = 0; c < inChannels; c++) {
      const xValue = xv[xPixel + c] as number;
      const yc = yPixel + c * m;
      const tc = tap + c * m;
      for (let j = 0; j < m; j++) acc[tc + j] = (acc[tc + j] as number) + xValue * (dyv[yc + j] as number);
    }
  });
  floatView(backend, out).set(acc);
  return out;
};

/** dx[n, ih, iw, c] = Σ over the taps that read it of dy[n, oh, ow, c·M + m] · w[kh, kw, c, m]. */
const depthwiseConv2dNativeBackpropInput: tf.KernelFunc = ({ inputs, backend: b, attrs }) => {
  const name = 'DepthwiseConv2dNativeBackpropInput';
  const backend = asWasmBackend(b, name);
  const dy = input(inputs, 'dy', name);
  const filter = input(inputs, 'filter', name);
  assertFloat32(name, dy, filter);
  const a = attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
  const geometry = depthwiseGeometry(name, a.inputShape, filter.shape, a);
  assertShape(dy.shape, geometry.info.outShape, 'dy', name);
  const { inChannels } = geometry.info;
  const m = geometry.multiplier;
  const acc = new Float64Array(tf.util.sizeFromShape(a.inputShape));
  const out = backend.makeOutput([...a.inputShape], 'float32');
  const dyv = floatView(backend, dy);
  const wv = floatView(backend, filter);
  forEachDepthwiseTap(geometry, (xPixel, yPixel, tap) => {
    for (let c = 0; c < inChannels; c++) {
      const yc = yPixel + c * m;
      const tc = tap + c * m;
      let s = 0;
      for (let j = 0; j < m; j++) s += (dyv[yc + j] as number) * (wv[tc + j] as number);
      acc[xPixel + c] = (acc[xPixel + c] as number) + s;
    }
  });
  floatView(backend, out).set(acc);
  return out;
};

// ---------------------------------------------------------------------------------------------
// UnsortedSegmentSum (the gradient of gather): one pass in JS.

/**
 * out[s, ...] = Σ_{i : segmentIds[i] = s} x[i, ...], for segmentIds of any rank r (x's first r
 * dimensions); ids outside [0, numSegments) are dropped, as TensorFlow does with negative ids.
 */
const unsortedSegmentSum: tf.KernelFunc = ({ inputs, backend: b, attrs }) => {
  const name = 'UnsortedSegmentSum';
  const backend = asWasmBackend(b, name);
  const x = input(inputs, 'x', name);
  const segmentIds = input(inputs, 'segmentIds', name);
  const { numSegments } = attrs as unknown as tf.UnsortedSegmentSumAttrs;
  if (x.dtype !== 'float32' && x.dtype !== 'int32') {
    throw new Error(`${name} on wasm supports float32 and int32 x only, got ${x.dtype}.`);
  }
  if (segmentIds.dtype !== 'int32') throw new Error(`${name}: segmentIds must be int32, got ${segmentIds.dtype}.`);
  const idsRank = segmentIds.shape.length;
  assertShape(x.shape.slice(0, idsRank), segmentIds.shape, 'the leading dimensions of x', name);
  const innerShape = x.shape.slice(idsRank);
  const inner = tf.util.sizeFromShape(innerShape);
  const out = backend.makeOutput([numSegments, ...innerShape], x.dtype);
  const ids = backend.typedArrayFromHeap(segmentIds);
  const xv = backend.typedArrayFromHeap(x);
  const ov = backend.typedArrayFromHeap(out);
  ov.fill(0);
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i] as number;
    if (s < 0 || s >= numSegments) continue;
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) ov[dst + j] = (ov[dst + j] as number) + (xv[src + j] as number);
  }
  return out;
};

const MISSING_KERNEL_FUNCS: Record<(typeof WASM_MISSING_TRAINING_KERNELS)[number], tf.KernelFunc> = {
  Conv2DBackpropFilter: conv2DBackpropFilter,
  DepthwiseConv2dNativeBackpropFilter: depthwiseConv2dNativeBackpropFilter,
  DepthwiseConv2dNativeBackpropInput: depthwiseConv2dNativeBackpropInput,
  UnsortedSegmentSum: unsortedSegmentSum,
};

const REPLACEMENTS: Record<
  (typeof WASM_REPLACED_KERNELS)[number],
  {
    readonly option: keyof WasmTuneUpOptions;
    readonly wrap: (original: tf.KernelFunc, options: WasmTuneUpOptions) => tf.KernelFunc;
  }
> = {
  BatchMatMul: { option: 'matmul', wrap: (original, o) => fastMatMul(original, 'BatchMatMul', o.simdMatmul ?? true) },
  _FusedMatMul: { option: 'matmul', wrap: (original, o) => fastMatMul(original, '_FusedMatMul', o.simdMatmul ?? true) },
  Conv2DBackpropInput: { option: 'convTranspose', wrap: fastConv2DBackpropInput },
  MaxPoolGrad: { option: 'fixes', wrap: () => maxPoolGrad },
  Tile: { option: 'tile', wrap: fastTile },
  GatherV2: { option: 'gather', wrap: fastGather },
  LeakyRelu: { option: 'simdElementwise', wrap: (original) => simdUnary(original, 'LeakyRelu') },
  Tanh: { option: 'simdElementwise', wrap: (original) => simdUnary(original, 'Tanh') },
  Identity: { option: 'identity', wrap: sharedIdentity },
  Sum: { option: 'simdReduce', wrap: (original) => simdColumnReduce(original, 'Sum') },
  Mean: { option: 'simdReduce', wrap: (original) => simdColumnReduce(original, 'Mean') },
};

/**
 * `Sum`/`Mean` over leading axes (axes 0..k−1 in order, float32) in one pass down the columns of
 * tfjs-gan's SIMD module, where tfjs-backend-wasm transposes the input first and then sums each row in
 * order: the same additions in the same order, so the same bits. Everything else: the original.
 */
function simdColumnReduce(original: tf.KernelFunc, kernelName: 'Sum' | 'Mean'): tf.KernelFunc {
  return (args) => {
    const x = args.inputs.x;
    const kernels = wasmSimdKernels(args.backend);
    const view = x === undefined ? undefined : leadingAxesReduction(x.shape, x.dtype, args.attrs as unknown as ReduceAttrs);
    if (x === undefined || view === undefined || kernels === undefined) return original(args);
    const backend = asWasmBackend(args.backend, kernelName);
    const heap = args.backend as unknown as WasmBackendLike;
    const out = backend.makeOutput(view.outShape, 'float32');
    // Offsets after the allocation: it may grow (and move) the heap.
    kernels.colsum(heapOffset(heap, x.dataId), heapOffset(heap, out.dataId), view.rows, view.cols, kernelName === 'Mean' ? 1 : 0);
    return out;
  };
}

/**
 * Wraps the wasm `Identity` kernel: the output shares the input's memory (one more reference to its
 * data, freed with the last tensor using it) instead of a copy. Strings go to the original.
 */
function sharedIdentity(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const x = args.inputs.x;
    const backend = args.backend as unknown as { incRef?: (dataId: tf.DataId) => void };
    if (x === undefined || x.dtype === 'string' || typeof backend.incRef !== 'function') return original(args);
    backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  };
}

/**
 * Wraps the wasm `LeakyRelu` or `Tanh` kernel: float32 tensors go through tfjs-gan's SIMD module,
 * anything else (other dtypes, a backend whose memory cannot be reached) to the original.
 */
function simdUnary(original: tf.KernelFunc, kernelName: 'LeakyRelu' | 'Tanh'): tf.KernelFunc {
  return (args) => {
    const x = args.inputs.x;
    const kernels = wasmSimdKernels(args.backend);
    if (x === undefined || x.dtype !== 'float32' || kernels === undefined) return original(args);
    const backend = asWasmBackend(args.backend, kernelName);
    const heap = args.backend as unknown as WasmBackendLike;
    const out = backend.makeOutput([...x.shape], 'float32');
    const size = tf.util.sizeFromShape(x.shape);
    if (size === 0) return out;
    const [from, to] = [heapOffset(heap, x.dataId), heapOffset(heap, out.dataId)];
    if (kernelName === 'Tanh') kernels.tanh(from, to, size);
    else kernels.leakyRelu(from, to, size, (args.attrs as unknown as tf.LeakyReluAttrs | undefined)?.alpha ?? 0.2);
    return out;
  };
}
