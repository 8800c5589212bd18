/**
 * A tune-up for tfjs-backend-webgpu: uploads through `GPUQueue.writeBuffer`, a cache of the bind
 * groups its dispatches create, sums over leading axes without a transpose (src/backends/webgpu-sum.ts)
 * and the built-in cross-entropy losses in one dispatch each way (src/backends/webgpu-losses.ts).
 *
 * tfjs-backend-webgpu uploads a tensor's values (every `tf.scalar`, every number an op turns into a
 * tensor, every batch of noise drawn in JavaScript) by creating a new buffer mapped at creation —
 * a staging buffer when a pooled one is reused — copying into it and destroying the staging buffer
 * at the next submit. Through Dawn on a real GPU that costs about 0.8–1.4 ms per upload, more than
 * ten kernels; a GAN step makes 20–100 of them. The tune-up writes the values into a pooled buffer
 * with `queue.writeBuffer` instead (what tfjs already does for its uniform buffers): the same bytes
 * in the same buffer, no buffer created per upload.
 *
 * For every dispatch tfjs-backend-webgpu also creates a bind group (which buffers the shader reads
 * and writes) and asks the pipeline for its bind group layout: 12 µs and 1.4 µs of CPU through Dawn
 * here (SwiftShader), of 32–38 µs per dispatch in all. A training loop dispatches the same
 * programs on the same pooled buffers step after step, so the tune-up keeps the bind groups and
 * gives back the one already made for the same pipeline and the same buffer ranges. A bind group
 * only names buffers; their contents are read when the dispatch runs, so the results are the same.
 *
 * Works on the backend instance through its fields, structurally: the library does not import
 * `@tensorflow/tfjs-backend-webgpu`. Checked against tfjs-backend-webgpu 4.22.
 *
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import { GANConfigError } from '../errors';
import { fusedLossesInstalled, installFusedLosses, uninstallFusedLosses } from './webgpu-losses';
import { columnSumsInstalled, installColumnSums, uninstallColumnSums } from './webgpu-sum';

/** Options of {@link installWebGPUTuneUp}. */
export interface WebGPUTuneUpOptions {
  /** Upload tensor values with `queue.writeBuffer` into pooled buffers. Default `true`. */
  readonly uploads?: boolean;
  /**
   * Reuse the bind groups of tfjs's dispatches: one per pipeline and set of buffer ranges, kept in a
   * least-recently-used cache. Default `true`.
   */
  readonly bindGroups?: boolean;
  /**
   * How many bind groups the cache keeps (least recently used ones are dropped). A training step
   * needs a few per dispatch it makes, since tfjs rotates its uniform buffers: an MLP GAN step (191
   * dispatches) 711. Default 4096. A positive integer (checked even when `bindGroups` is `false`).
   */
  readonly bindGroupCacheSize?: number;
  /**
   * Sum over leading axes (a dense layer's bias gradient: `sum(dy, 0)`) without the transpose
   * tfjs-backend-webgpu makes first: the same program reading down the columns, the same bits
   * (src/backends/webgpu-sum.ts). Replaces `Sum` and `Mean` in tfjs's kernel registry for webgpu. Default `true`.
   */
  readonly sums?: boolean;
  /**
   * The built-in losses' mean binary cross-entropy of logits (minimax, non-saturating) in one dispatch
   * forward and one backward instead of tfjs's seven or so (src/backends/webgpu-losses.ts; the same
   * operations in the same order). Registers tfjs-gan's own kernels for webgpu. Default `true`.
   */
  readonly losses?: boolean;
}

/** What {@link installWebGPUTuneUp} did. */
export interface WebGPUTuneUpReport {
  /** Whether a `webgpu` backend has been created (after `tf.setBackend('webgpu')`); when `false` nothing was changed. */
  readonly webgpuAvailable: boolean;
  /** Whether uploads go through `queue.writeBuffer` after this call (installed by it or earlier). */
  readonly uploads: boolean;
  /** Whether dispatches reuse cached bind groups after this call (installed by it or earlier). */
  readonly bindGroups: boolean;
  /** Whether sums over leading axes skip tfjs's transpose after this call (installed by it or earlier). */
  readonly sums: boolean;
  /** Whether the built-in cross-entropy losses run fused after this call (installed by it or earlier). */
  readonly losses: boolean;
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
  bufferManager: {
    acquireBuffer(size: number, usage: number, mappedAtCreation?: boolean, reuse?: boolean): unknown;
    /** The pooled buffers by `${size}_${usage}`; tfjs hands out the last one. */
    freeBuffers?: unknown;
  };
  /** tfjs's staging buffers whose copies are recorded in the command encoder but not yet submitted. */
  stagingPendingDisposal: unknown[];
  /** Records one dispatch: makes its uniforms and bind group, and encodes it. */
  recordAndSubmit(program: { pipeline?: unknown }, ...rest: unknown[]): void;
  device: { createBindGroup(descriptor: BindGroupDescriptor): unknown };
}

/** The fields of a `GPUBindGroupDescriptor` the cache reads. */
interface BindGroupDescriptor {
  readonly layout: unknown;
  readonly entries: Iterable<{ readonly binding: number; readonly resource: unknown }>;
}

/** The original methods are kept on the replacements, so uninstalling restores exactly what was there. */
const ORIGINAL = Symbol.for('tfjs-gan.webgpu.uploadToGPU.original');

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

function makeUpload(original: Method): Method {
  return function (this: WebGPUBackendInternals, dataId: tf.DataId): void {
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
}

/** A method replaced by the tune-up; the original is kept on the replacement under a symbol. */
// biome-ignore lint/suspicious/noExplicitAny: the methods replaced have various signatures
type Method = (...args: any[]) => unknown;
type PatchedMethod = Method & { [key: symbol]: unknown };

function isPatchedMethod(owner: object, name: string, tag: symbol): boolean {
  const f = (owner as Record<string, unknown>)[name] as PatchedMethod | undefined;
  return Object.hasOwn(owner, name) && typeof f === 'function' && f[tag] !== undefined;
}

function patchMethod(owner: object, name: string, tag: symbol, make: (original: Method) => Method): void {
  const o = owner as Record<string, unknown>;
  const replacement = make(o[name] as Method) as PatchedMethod;
  replacement[tag] = o[name];
  o[name] = replacement;
}

/** Puts back what {@link patchMethod} replaced: the class's method shows through again, or an own one is restored. */
function unpatchMethod(owner: object, name: string, tag: symbol): void {
  const o = owner as Record<string, unknown>;
  const original = (o[name] as PatchedMethod)[tag];
  const inherited = (Object.getPrototypeOf(owner) as Record<string, unknown> | null)?.[name];
  if (original === inherited) delete o[name];
  else o[name] = original; // someone else's own replacement, put back
}

function isPatched(b: WebGPUBackendInternals): boolean {
  return isPatchedMethod(b, 'uploadToGPU', ORIGINAL);
}

const RECORD_ORIGINAL = Symbol.for('tfjs-gan.webgpu.recordAndSubmit.original');
const CREATE_ORIGINAL = Symbol.for('tfjs-gan.webgpu.createBindGroup.original');
const LAYOUT_ORIGINAL = Symbol.for('tfjs-gan.webgpu.getBindGroupLayout.original');
const ACQUIRE_ORIGINAL = Symbol.for('tfjs-gan.webgpu.acquireBuffer.original');

/** The default of {@link WebGPUTuneUpOptions.bindGroupCacheSize}. */
export const DEFAULT_BIND_GROUP_CACHE_SIZE = 4096;

/** How the bind group cache of the WebGPU tune-up has done since it was installed. */
export interface BindGroupCacheStats {
  /** Bind groups kept now. */
  readonly size: number;
  /** The most it keeps ({@link WebGPUTuneUpOptions.bindGroupCacheSize}). */
  readonly capacity: number;
  /** Dispatches that reused a kept bind group. */
  readonly hits: number;
  /** Dispatches whose bind group was created (and then kept). */
  readonly misses: number;
}

/** Numbers standing for GPU objects in the cache's keys. */
const objectIds = new WeakMap<object, number>();
let nextObjectId = 1;
function idOf(o: object): number {
  let id = objectIds.get(o);
  if (id === undefined) {
    id = nextObjectId++;
    objectIds.set(o, id);
  }
  return id;
}

interface Pipeline {
  getBindGroupLayout(index: number): unknown;
}

/** The cache of one backend, least recently used first (a Map keeps insertion order). */
class BindGroupCache {
  readonly groups = new Map<string, unknown>();
  /** Pipelines whose `getBindGroupLayout(0)` returns one kept layout, and that layout. */
  readonly layouts = new Map<object, unknown>();
  /** The pipeline of the dispatch tfjs is recording, while it records one. */
  pipeline: object | undefined;
  /** `false` once uninstalled: wrappers left in place under someone else's pass everything through. */
  active = true;
  hits = 0;
  misses = 0;

  constructor(public capacity: number) {}

  /** Makes the pipeline's layout 0 one object, so that its bind groups can be recognised; tfjs asks for it at every dispatch. */
  keepLayout(pipeline: Pipeline & object): void {
    if (this.layouts.has(pipeline)) return;
    const layout = pipeline.getBindGroupLayout(0);
    this.layouts.set(pipeline, layout);
    patchMethod(
      pipeline,
      'getBindGroupLayout',
      LAYOUT_ORIGINAL,
      (original) =>
        function (this: unknown, index: number) {
          return index === 0 ? layout : original.call(this, index);
        },
    );
  }

  /** The key of a bind group of the current pipeline, or `undefined` when it is not one to keep. */
  key(descriptor: BindGroupDescriptor): string | undefined {
    const pipeline = this.pipeline;
    if (pipeline === undefined || descriptor.layout !== this.layouts.get(pipeline)) return undefined;
    let key = String(idOf(pipeline));
    for (const { binding, resource } of descriptor.entries) {
      const r = resource as { buffer?: unknown; offset?: number; size?: number } | null;
      // Texture views and external textures (tf.browser.fromPixels on the GPU) are not kept.
      if (r === null || typeof r !== 'object' || typeof r.buffer !== 'object' || r.buffer === null) return undefined;
      key += `|${binding}:${idOf(r.buffer)}:${r.offset ?? 0}:${r.size ?? ''}`;
    }
    return key;
  }

  lookup(key: string, make: () => unknown): unknown {
    const kept = this.groups.get(key);
    if (kept !== undefined) {
      this.hits++;
      this.groups.delete(key); // most recently used last
      this.groups.set(key, kept);
      return kept;
    }
    this.misses++;
    const made = make();
    this.groups.set(key, made);
    this.trim();
    return made;
  }

  trim(): void {
    for (const key of this.groups.keys()) {
      if (this.groups.size <= this.capacity) return;
      this.groups.delete(key);
    }
  }

  /** Puts the pipelines' own method back and forgets everything. */
  clear(): void {
    for (const pipeline of this.layouts.keys()) unpatchMethod(pipeline, 'getBindGroupLayout', LAYOUT_ORIGINAL);
    this.layouts.clear();
    this.groups.clear();
  }
}

const caches = new WeakMap<object, BindGroupCache>();

function bindGroupsMissing(b: WebGPUBackendInternals): string | undefined {
  if (typeof b.recordAndSubmit !== 'function') return 'no recordAndSubmit method';
  if (typeof b.device?.createBindGroup !== 'function') return 'no GPU device';
  if (typeof b.bufferManager?.acquireBuffer !== 'function') return 'no buffer manager';
  return undefined;
}

/**
 * Hands out the free buffer seen first (the lowest id) instead of the last one released. tfjs's pool is a
 * stack per size and usage: over a training step its buffers come back in another order, so without this the
 * same dispatch of the next step gets other buffers (a new bind group) for many steps; with it the
 * assignment settles (an MLP GAN: every dispatch a hit from about the 15th step). Only the order
 * changes: the same buffers are free, and tfjs would hand out any of them — which one it gets was
 * already decided by the order of earlier releases.
 */
function makeAcquire(original: Method, cache: BindGroupCache): Method {
  return function (this: WebGPUBackendInternals['bufferManager'], size: number, usage: number, ...rest: unknown[]) {
    if (!cache.active) return original.call(this, size, usage, ...rest);
    const reuse = rest[1] ?? true;
    const free = this.freeBuffers instanceof Map ? (this.freeBuffers.get(`${size}_${usage}`) as unknown) : undefined;
    if (reuse === true && Array.isArray(free) && free.length > 1) {
      let best = free.length - 1;
      for (let i = 0; i < free.length - 1; i++) if (idOf(free[i] as object) < idOf(free[best] as object)) best = i;
      [free[best], free[free.length - 1]] = [free[free.length - 1], free[best]];
    }
    return original.call(this, size, usage, ...rest);
  };
}

function bindGroupsInstalled(b: WebGPUBackendInternals): boolean {
  return caches.has(b);
}

function installBindGroups(b: WebGPUBackendInternals, capacity: number): void {
  const cache = new BindGroupCache(capacity);
  caches.set(b, cache);
  patchMethod(b.bufferManager, 'acquireBuffer', ACQUIRE_ORIGINAL, (original) => makeAcquire(original, cache));
  patchMethod(
    b,
    'recordAndSubmit',
    RECORD_ORIGINAL,
    (original) =>
      function (this: unknown, program: { pipeline?: unknown }, ...rest: unknown[]) {
        const p = program?.pipeline as (Pipeline & object) | undefined;
        // A pipeline still compiling (WEBGPU_ENGINE_COMPILE_ONLY) is tfjs's to reject.
        if (!cache.active || p === undefined || p === null || typeof p !== 'object' || typeof p.getBindGroupLayout !== 'function')
          return original.call(this, program, ...rest);
        cache.keepLayout(p);
        cache.pipeline = p;
        try {
          return original.call(this, program, ...rest);
        } finally {
          cache.pipeline = undefined;
        }
      },
  );
  patchMethod(
    b.device,
    'createBindGroup',
    CREATE_ORIGINAL,
    (original) =>
      function (this: unknown, descriptor: BindGroupDescriptor) {
        // Only the bind groups of tfjs's own dispatches are kept; any other caller gets a new one.
        const key = cache.key(descriptor);
        return key === undefined ? original.call(this, descriptor) : cache.lookup(key, () => original.call(this, descriptor));
      },
  );
}

function uninstallBindGroups(b: WebGPUBackendInternals): boolean {
  const cache = caches.get(b);
  if (cache === undefined) return false;
  // A wrapper someone else put on top of one of ours cannot be taken out from under them: ours then stays, inert.
  cache.active = false;
  if (isPatchedMethod(b, 'recordAndSubmit', RECORD_ORIGINAL)) unpatchMethod(b, 'recordAndSubmit', RECORD_ORIGINAL);
  if (isPatchedMethod(b.device, 'createBindGroup', CREATE_ORIGINAL)) unpatchMethod(b.device, 'createBindGroup', CREATE_ORIGINAL);
  if (isPatchedMethod(b.bufferManager, 'acquireBuffer', ACQUIRE_ORIGINAL))
    unpatchMethod(b.bufferManager, 'acquireBuffer', ACQUIRE_ORIGINAL);
  cache.clear();
  caches.delete(b);
  return true;
}

/**
 * Installs the WebGPU tune-up on the `webgpu` backend tfjs has created (call it after
 * `tf.setBackend('webgpu')`; the trainer does it at every `step`/`fit` while `backendTuneUp` is on):
 * uploads through `queue.writeBuffer`, the bind group cache, sums over leading axes without a
 * transpose (`sums`) and the built-in cross-entropy losses in one dispatch each way (`losses`).
 * Idempotent; a part left out (`false`) is not installed, but one already installed stays. Results
 * are unchanged: the same values reach the same buffers, the sums add the same numbers in the same
 * order, and the fused losses run tfjs's own shader code in tfjs's order (bit for bit on SwiftShader;
 * a GPU's shader compiler may fuse a multiply-add differently). Switch it off with
 * {@link uninstallWebGPUTuneUp}.
 *
 * @throws {GANConfigError} `bindGroupCacheSize` is not a positive integer (nothing is changed).
 *
 * @example
 * ```ts
 * await tf.setBackend('webgpu');
 * installWebGPUTuneUp(); // { webgpuAvailable: true, uploads: true, bindGroups: true, sums: true, losses: true }
 * ```
 */
export function installWebGPUTuneUp(options: WebGPUTuneUpOptions = {}): WebGPUTuneUpReport {
  const capacity = options.bindGroupCacheSize ?? DEFAULT_BIND_GROUP_CACHE_SIZE;
  if (!Number.isSafeInteger(capacity) || capacity < 1) {
    throw new GANConfigError('bindGroupCacheSize', `must be a positive integer, got ${String(capacity)}`);
  }
  const b = webgpuBackend();
  if (b === undefined) return { webgpuAvailable: false, uploads: false, bindGroups: false, sums: false, losses: false };
  const reasons: string[] = [];
  if ((options.uploads ?? true) && !isPatched(b)) {
    const missing = internalsMissing(b);
    if (missing === undefined) patchMethod(b, 'uploadToGPU', ORIGINAL, makeUpload);
    else reasons.push(missing);
  }
  const cache = caches.get(b);
  if (cache !== undefined && options.bindGroupCacheSize !== undefined) {
    cache.capacity = capacity;
    cache.trim();
  }
  if ((options.bindGroups ?? true) && !bindGroupsInstalled(b)) {
    const missing = bindGroupsMissing(b);
    if (missing === undefined) installBindGroups(b, capacity);
    else reasons.push(missing);
  }
  if ((options.sums ?? true) && !installColumnSums()) {
    reasons.push("webgpu's Sum or Mean is missing or someone else's (left alone)");
  }
  if (options.losses ?? true) installFusedLosses();
  const report = {
    webgpuAvailable: true,
    uploads: isPatched(b),
    bindGroups: bindGroupsInstalled(b),
    sums: columnSumsInstalled(),
    losses: fusedLossesInstalled(),
  };
  return reasons.length === 0 ? report : { ...report, reason: reasons.join('; ') };
}

/** Removes the tune-up of {@link installWebGPUTuneUp}, all parts; returns whether any was installed. */
export function uninstallWebGPUTuneUp(): boolean {
  const sums = uninstallColumnSums(); // the kernel registry's, with or without a backend instance
  const losses = uninstallFusedLosses();
  const b = webgpuBackend();
  if (b === undefined) return sums || losses;
  const uploads = isPatched(b);
  if (uploads) unpatchMethod(b, 'uploadToGPU', ORIGINAL);
  const bindGroups = uninstallBindGroups(b);
  return uploads || bindGroups || sums || losses;
}

/**
 * How the WebGPU tune-up's bind group cache has done since it was installed (hits, misses, size),
 * or `undefined` when it is not installed — e.g. to choose {@link WebGPUTuneUpOptions.bindGroupCacheSize}:
 * in a training loop nearly every dispatch should be a hit once the first few steps have run.
 */
export function webgpuBindGroupCacheStats(): BindGroupCacheStats | undefined {
  const b = webgpuBackend();
  const cache = b === undefined ? undefined : caches.get(b);
  if (cache === undefined) return undefined;
  return { size: cache.groups.size, capacity: cache.capacity, hits: cache.hits, misses: cache.misses };
}
