/**
 * A speed-only kernel replacement for `@tensorflow/tfjs-backend-wasm` 4.x, installed with the rest of
 * the wasm tune-up by {@link installWasmTrainingKernels} (option `tile`). Results are identical to the
 * original (it only moves data).
 *
 * - `Tile`: the wasm kernel computes every output element's source index with divisions, about
 *   40 ns an element; the gradient of batch normalisation (`FusedBatchNorm`) tiles the per-channel
 *   scale to the full activation shape at every backward pass, which made `Tile` ~12 % of a DCGAN
 *   step on wasm. The replacement copies whole contiguous blocks (`TypedArray.set`/`copyWithin`).
 *
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';

/** The part of tfjs-backend-wasm's `BackendWasm` the JavaScript kernels on its heap use. */
export interface WasmHeap {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: tf.DataId): boolean;
}

function asWasmHeap(backend: unknown): WasmHeap | undefined {
  const b = backend as Partial<WasmHeap> | null;
  return b != null &&
    typeof b.makeOutput === 'function' &&
    typeof b.typedArrayFromHeap === 'function' &&
    typeof b.disposeData === 'function'
    ? (b as WasmHeap)
    : undefined;
}

/**
 * Tiles `src` (shape `shape`) by `reps` into `out` (already sized), in place: the input is copied
 * to the start of `out`, then each axis from the last to the first is expanded by repeating blocks,
 * walking the blocks backwards so that no block is overwritten before it is copied.
 */
export function tileInto(
  src: Float32Array | Int32Array | Uint8Array,
  shape: readonly number[],
  reps: readonly number[],
  out: Float32Array | Int32Array | Uint8Array,
): void {
  (out as Float32Array).set(src as Float32Array, 0);
  const current = [...shape];
  for (let d = shape.length - 1; d >= 0; d--) {
    const r = reps[d] as number;
    if (r === 1) continue;
    let outer = 1;
    for (let i = 0; i < d; i++) outer *= current[i] as number;
    let inner = 1;
    for (let i = d; i < current.length; i++) inner *= current[i] as number;
    for (let o = outer - 1; o >= 0; o--) {
      const from = o * inner;
      const to = o * inner * r;
      if (to !== from) out.copyWithin(to, from, from + inner);
      for (let k = 1; k < r; k++) out.copyWithin(to + k * inner, to, to + inner);
    }
    current[d] = (current[d] as number) * r;
  }
}

/** Wraps the wasm `Tile` kernel: block copies where it can, the original otherwise. */
export function fastTile(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const x = args.inputs.x;
    const reps = (args.attrs as unknown as tf.TileAttrs | undefined)?.reps;
    const backend = asWasmHeap(args.backend);
    if (
      x === undefined ||
      reps === undefined ||
      backend === undefined ||
      x.dtype === 'string' ||
      reps.length !== x.shape.length
    ) {
      return original(args);
    }
    const outShape = x.shape.map((d, i) => d * (reps[i] as number));
    const out = backend.makeOutput(outShape, x.dtype);
    if (tf.util.sizeFromShape(outShape) === 0) return out;
    // Views after the allocation: growing the heap detaches older views.
    tileInto(backend.typedArrayFromHeap(x), x.shape, reps, backend.typedArrayFromHeap(out));
    return out;
  };
}

/**
 * Gathers blocks of `inner` elements: for every outer index o and every index k, copies
 * `src[(o·axisSize + indices[k])·inner …+inner]` to the output in order. Returns `false`, writing
 * nothing, when an index is outside [0, axisSize) (the caller then lets the original kernel report it).
 */
export function gatherInto(
  src: Float32Array | Int32Array | Uint8Array,
  indices: Int32Array | Float32Array | Uint8Array,
  outer: number,
  axisSize: number,
  inner: number,
  out: Float32Array | Int32Array | Uint8Array,
): boolean {
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k] as number;
    if (!(i >= 0 && i < axisSize) || !Number.isInteger(i)) return false;
  }
  const n = indices.length;
  let dst = 0;
  for (let o = 0; o < outer; o++) {
    const base = o * axisSize;
    if (inner === 1) {
      for (let k = 0; k < n; k++) out[dst++] = src[base + (indices[k] as number)] as number;
    } else {
      for (let k = 0; k < n; k++) {
        const from = (base + (indices[k] as number)) * inner;
        (out as Float32Array).set((src as Float32Array).subarray(from, from + inner), dst);
        dst += inner;
      }
    }
  }
  return true;
}

/**
 * Wraps the wasm `GatherV2` kernel (`tf.gather`, the forward pass of embeddings and of DiffAugment's
 * translations): the wasm kernel recomputes every element's source position with divisions, ~45 ns an
 * element (3.6 ms for 78 400 pixels); block copies take a tenth of that. `batchDims` > 0 and
 * out-of-range indices go to the original.
 */
export function fastGather(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x, indices } = args.inputs;
    const attrs = args.attrs as unknown as tf.GatherV2Attrs | undefined;
    const backend = asWasmHeap(args.backend);
    if (
      x === undefined ||
      indices === undefined ||
      backend === undefined ||
      x.dtype === 'string' ||
      (attrs?.batchDims ?? 0) !== 0
    ) {
      return original(args);
    }
    const axis = tf.util.parseAxisParam(attrs?.axis ?? 0, x.shape)[0] as number;
    const axisSize = x.shape[axis] as number;
    const outer = tf.util.sizeFromShape(x.shape.slice(0, axis));
    const inner = tf.util.sizeFromShape(x.shape.slice(axis + 1));
    const outShape = [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)];
    const out = backend.makeOutput(outShape, x.dtype);
    // Views after the allocation: growing the heap detaches older views.
    const view = (t: tf.TensorInfo) => backend.typedArrayFromHeap(t);
    if (gatherInto(view(x), view(indices), outer, axisSize, inner, view(out))) return out;
    // An index out of range: the original kernel reports it.
    backend.disposeData(out.dataId);
    return original(args);
  };
}
