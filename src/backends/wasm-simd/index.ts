/**
 * tfjs-gan's own WebAssembly SIMD kernels (kernels.wat), instantiated on the memory of a
 * `@tensorflow/tfjs-backend-wasm` backend so that they read and write its tensors in place.
 *
 * tfjs-backend-wasm does not export its `WebAssembly.Memory` as API; its Emscripten module keeps it
 * as `wasmMemory` (threaded build) or `asm.memory` (single-threaded builds). {@link wasmSimdKernels}
 * finds it, checks that it really is the memory behind the backend's heap, and instantiates the
 * kernels once per backend; where anything is missing (another tfjs-backend-wasm layout, no SIMD)
 * it answers `undefined` and callers use tfjs's own kernels.
 *
 * @module
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { KERNELS_PLAIN_MEMORY, KERNELS_SHARED_MEMORY } from './kernels-binary';

/** The exports of kernels.wat. Offsets are bytes into the backend's heap. */
export interface WasmSimdExports {
  /** Fused Adam update of one variable (see kernels.wat). */
  adam(
    w: number,
    m: number,
    v: number,
    g: number,
    outW: number,
    outM: number,
    outV: number,
    n: number,
    beta1: number,
    oneMinusBeta1: number,
    beta2: number,
    oneMinusBeta2: number,
    epsilon: number,
    negLearningRate: number,
    c1: number,
    c2: number,
  ): void;
  /**
   * C[M,N] = A·B (+ bias on every row), float32, K ≥ 1: A's (m, k) at `a + 4·(m·sam + k·sak)`, B's
   * (k, n) at `b + 4·(k·ldb + n)`, C row-major; each element summed in k order, the bias added last.
   */
  gemm(
    a: number,
    sam: number,
    sak: number,
    b: number,
    ldb: number,
    c: number,
    M: number,
    K: number,
    N: number,
    bias: number,
    hasBias: 0 | 1,
  ): void;
  /** dst (cols×rows) = the transpose of src (rows×cols), float32. */
  transpose(src: number, dst: number, rows: number, cols: number): void;
  /** out = x < 0 ? alpha·x : x over n float32 values. */
  leakyRelu(x: number, out: number, n: number, alpha: number): void;
  /** out = x > 0 ? dy : dy·α (LeakyReLU's gradient), n float32 values. */
  leakyReluGrad(dy: number, x: number, out: number, n: number, alpha: number): void;
  /** out = (1 − y·y)·dy (tanh's gradient from its output y), n float32 values. */
  tanhGrad(dy: number, y: number, out: number, n: number): void;
  /** out = tanh(x) over n float32 values (Eigen's rational approximation, |error| ≤ 4.1e-7). */
  tanh(x: number, out: number, n: number): void;
  /**
   * out[c] = Σ_r x[r·cols + c] for x [rows, cols], r in order from +0 (tfjs-backend-wasm's Sum over
   * leading axes, the same bits); divided by rows when `mean` is 1 (its Mean).
   */
  colsum(x: number, out: number, rows: number, cols: number, mean: 0 | 1): void;
}

/** The parts of tfjs-backend-wasm's backend object the kernels use (structurally; not imported). */
export interface WasmBackendLike {
  readonly wasm: {
    readonly HEAPU8: Uint8Array;
    readonly HEAPF32: Float32Array;
    readonly wasmMemory?: unknown;
    readonly asm?: { readonly memory?: unknown };
  };
  readonly dataIdMap: { get(dataId: unknown): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
}

/** The kernels bound to one backend's memory, and that memory. */
export interface WasmSimdKernels extends WasmSimdExports {
  /** The backend's `WebAssembly.Memory` the kernels read and write (found once, when binding). */
  readonly memory: WebAssembly.Memory;
}

const instances = new WeakMap<object, WasmSimdKernels | null>();

function decode(base64: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

/** The `WebAssembly.Memory` behind a tfjs-backend-wasm backend's heap, or undefined. */
export function backendMemory(backend: unknown): WebAssembly.Memory | undefined {
  const b = backend as Partial<WasmBackendLike> | null;
  const module = b?.wasm;
  if (module == null || !(module.HEAPU8 instanceof Uint8Array)) return undefined;
  for (const candidate of [module.wasmMemory, module.asm?.memory]) {
    if (candidate instanceof WebAssembly.Memory && candidate.buffer === module.HEAPU8.buffer) return candidate;
  }
  return undefined;
}

/**
 * The kernels of kernels.wat bound to `backend`'s memory (instantiated once per backend), or
 * `undefined` when `backend` is not a tfjs-backend-wasm backend whose memory can be found, or the
 * runtime lacks WebAssembly SIMD.
 */
export function wasmSimdKernels(backend: unknown): WasmSimdKernels | undefined {
  if (backend === null || typeof backend !== 'object') return undefined;
  const known = instances.get(backend);
  if (known !== undefined) return known ?? undefined;
  let made: WasmSimdKernels | null = null;
  const memory = backendMemory(backend);
  if (memory !== undefined) {
    const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
    try {
      const bytes = decode(shared ? KERNELS_SHARED_MEMORY : KERNELS_PLAIN_MEMORY);
      const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
      made = { ...(instance.exports as unknown as WasmSimdExports), memory };
    } catch {
      made = null; // no SIMD in this runtime, or a memory the module cannot import
    }
  }
  instances.set(backend, made);
  return made ?? undefined;
}

/** The byte offset of a tensor's data in a wasm backend's heap. */
export function heapOffset(backend: WasmBackendLike, dataId: unknown): number {
  const entry = backend.dataIdMap.get(dataId);
  if (entry === undefined) throw new Error('tfjs-gan wasm kernels: a tensor has no data on this backend');
  return entry.memoryOffset;
}
