/**
 * A tune-up for tfjs-backend-webgpu: uploads through `GPUQueue.writeBuffer`.
 *
 * tfjs-backend-webgpu uploads a tensor's values (every `tf.scalar`, every number an op turns into a
 * tensor, every batch of noise drawn in JavaScript) by creating a new buffer mapped at creation —
 * a staging buffer when a pooled one is reused — copying into it and destroying the staging buffer
 * at the next submit. Through Dawn on a real GPU that costs about 0.8–1.4 ms per upload, more than
 * ten kernels; a GAN step makes 20–100 of them. The tune-up writes the values into a pooled buffer
 * with `queue.writeBuffer` instead (what tfjs already does for its uniform buffers): the same bytes
 * in the same buffer, no buffer created per upload.
 *
 * Works on the backend instance through its fields, structurally: the library does not import
 * `@tensorflow/tfjs-backend-webgpu`. Checked against tfjs-backend-webgpu 4.22.
 *
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';

/** Options of {@link installWebGPUTuneUp}. */
export interface WebGPUTuneUpOptions {
  /** Upload tensor values with `queue.writeBuffer` into pooled buffers. Default `true`. */
  readonly uploads?: boolean;
}

/** What {@link installWebGPUTuneUp} did. */
export interface WebGPUTuneUpReport {
  /** Whether a `webgpu` backend has been created (after `tf.setBackend('webgpu')`); when `false` nothing was changed. */
  readonly webgpuAvailable: boolean;
  /** Whether uploads go through `queue.writeBuffer` after this call (installed by it or earlier). */
  readonly uploads: boolean;
  /** Why a part could not be installed (a tfjs-backend-webgpu whose internals differ from 4.22's), if one could not. */
  readonly reason?: string;
}

interface TensorData {
  values: ArrayLike<number> | null | undefined;
  dtype: tf.DataType;
  shape: number[];
  resource: unknown;
}

interface WebGPUBackendInternals {
  uploadToGPU(dataId: tf.DataId): void;
  tensorMap: { get(dataId: tf.DataId): TensorData | undefined };
  queue: { writeBuffer(buffer: unknown, offset: number, data: ArrayBufferLike, dataOffset: number, size: number): void };
  bufferManager: { acquireBuffer(size: number, usage: number): unknown };
  /** tfjs's staging buffers whose copies are recorded in the command encoder but not yet submitted. */
  stagingPendingDisposal: unknown[];
}

/** The original method is kept on the replacement, so uninstalling restores exactly what was there. */
const ORIGINAL = Symbol.for('tfjs-gan.webgpu.uploadToGPU.original');
type Patched = ((this: WebGPUBackendInternals, dataId: tf.DataId) => void) & {
  [ORIGINAL]?: (dataId: tf.DataId) => void;
};

// GPUBufferUsage.STORAGE | COPY_SRC | COPY_DST: the usage tfjs-backend-webgpu gives tensor buffers.
const TENSOR_BUFFER_USAGE = 0x80 | 0x04 | 0x08;

function webgpuBackend(): WebGPUBackendInternals | undefined {
  // The engine's registry holds backends that have been created; findBackend would create one.
  const registry = (tf.engine() as unknown as { registry: Record<string, unknown> }).registry;
  return registry.webgpu as WebGPUBackendInternals | undefined;
}

function internalsMissing(b: WebGPUBackendInternals): string | undefined {
  if (typeof b.uploadToGPU !== 'function') return 'no uploadToGPU method';
  if (typeof b.tensorMap?.get !== 'function') return 'no tensorMap';
  if (typeof b.queue?.writeBuffer !== 'function') return 'no GPU queue';
  if (typeof b.bufferManager?.acquireBuffer !== 'function') return 'no buffer manager';
  if (!Array.isArray(b.stagingPendingDisposal)) return 'no staging list';
  return undefined;
}

function makeUpload(original: (dataId: tf.DataId) => void): Patched {
  const upload: Patched = function (this: WebGPUBackendInternals, dataId: tf.DataId): void {
    const d = this.tensorMap.get(dataId);
    const values = d?.values;
    const n = d === undefined ? 0 : tf.util.sizeFromShape(d.shape);
    const plain = d?.dtype === 'float32' || d?.dtype === 'int32' || d?.dtype === 'bool';
    // While tfjs's own staging copies are recorded but not submitted, one may target a buffer that is
    // back in the pool (its tensor disposed unused, e.g. after tf.browser.fromPixels): a writeBuffer
    // into that buffer would run first and be overwritten at submit. tfjs's path records its copy
    // after that one, so it is used until the next submit.
    const copiesPending = this.stagingPendingDisposal.length > 0;
    if (d === undefined || d.resource != null || values == null || !plain || n === 0 || values.length !== n || copiesPending) {
      original.call(this, dataId); // already on the GPU, nothing to upload, or a case tfjs's own path handles
      return;
    }
    // The bytes tfjs would write: float32, or int32 for int32 and bool (bool is stored as int32 on the GPU).
    const data =
      d.dtype === 'float32'
        ? values instanceof Float32Array
          ? values
          : Float32Array.from(values)
        : values instanceof Int32Array
          ? values
          : Int32Array.from(values);
    const size = n * 4;
    // Otherwise a pooled buffer is not referenced by commands still being recorded (tfjs releases the
    // buffers of dispatches only at submit), and writeBuffer is ordered after everything submitted.
    const buffer = this.bufferManager.acquireBuffer(size, TENSOR_BUFFER_USAGE);
    this.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, size);
    d.values = null;
    d.resource = buffer;
  };
  upload[ORIGINAL] = original;
  return upload;
}

function isPatched(b: WebGPUBackendInternals): boolean {
  return Object.hasOwn(b, 'uploadToGPU') && (b.uploadToGPU as Patched)[ORIGINAL] !== undefined;
}

/**
 * Installs the WebGPU tune-up on the `webgpu` backend tfjs has created (call it after
 * `tf.setBackend('webgpu')`; the trainer does it at every `step`/`fit` while `backendTuneUp` is on).
 * Idempotent. Results are unchanged: the same values reach the same buffers, only the way they are
 * copied differs. Switch it off with {@link uninstallWebGPUTuneUp}.
 *
 * @example
 * ```ts
 * await tf.setBackend('webgpu');
 * installWebGPUTuneUp(); // { webgpuAvailable: true, uploads: true }
 * ```
 */
export function installWebGPUTuneUp(options: WebGPUTuneUpOptions = {}): WebGPUTuneUpReport {
  const b = webgpuBackend();
  if (b === undefined) return { webgpuAvailable: false, uploads: false };
  if (!(options.uploads ?? true)) return { webgpuAvailable: true, uploads: isPatched(b) };
  if (isPatched(b)) return { webgpuAvailable: true, uploads: true };
  const missing = internalsMissing(b);
  if (missing !== undefined) return { webgpuAvailable: true, uploads: false, reason: missing };
  (b as { uploadToGPU: Patched }).uploadToGPU = makeUpload(b.uploadToGPU);
  return { webgpuAvailable: true, uploads: true };
}

/** Removes the tune-up of {@link installWebGPUTuneUp}; returns whether it was installed. */
export function uninstallWebGPUTuneUp(): boolean {
  const b = webgpuBackend();
  if (b === undefined || !isPatched(b)) return false;
  const original = (b.uploadToGPU as Patched)[ORIGINAL];
  const inherited = (Object.getPrototypeOf(b) as Partial<WebGPUBackendInternals>).uploadToGPU;
  if (original === inherited)
    delete (b as { uploadToGPU?: unknown }).uploadToGPU; // the class's method shows through
  else (b as { uploadToGPU: unknown }).uploadToGPU = original; // someone else's own replacement, put back
  return true;
}
