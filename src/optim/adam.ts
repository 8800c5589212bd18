/**
 * A fused update for tfjs's own `tf.train.adam` optimizer.
 *
 * `AdamOptimizer.applyGradients` runs 14 element-wise kernels per variable and uploads 6 fresh
 * scalar tensors per variable every step (`mul(x, 1 − β1)` turns the number into a tensor). On the
 * `cpu` backend each kernel is a JavaScript loop with its own output array; on `wasm` each is a
 * kernel call with its own allocation; on WebGPU each scalar is a buffer upload. {@link fusedAdamUpdate}
 * computes the same update — the same float32 operations in the same order — with one kernel per
 * variable on `cpu` (the same bits), one compute shader per variable on WebGPU (the same
 * operations; a GPU compiler may fuse a multiply and an add, so the last bit can differ), one SIMD pass
 * per variable on `wasm` (the same bits), and elsewhere (WebGL, or a wasm backend tfjs-gan's module cannot
 * reach) with tfjs's op sequence but its constants uploaded once
 * instead of every step (the same bits). The optimizer's state stays
 * where tfjs keeps it (its `m`/`v` slot variables, `accBeta1/2` and iteration count), so
 * `getWeights`/`setWeights`, checkpoints and a later plain `applyGradients` see no difference.
 *
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import type { CpuBackendLike } from '../backends/kernel-backends';
import { heapOffset, type WasmBackendLike, wasmSimdKernels } from '../backends/wasm-simd/index';
import { GANConfigError } from '../errors';
import { webgpuAdamConstantValues, webgpuFusedAdam } from './adam-webgpu';

/** Options of `applyUpdate` (src/training/step.ts). */
export interface ApplyUpdateOptions {
  /**
   * Apply a `tf.train.adam` optimizer's update with {@link fusedAdamUpdate} (the same arithmetic: one
   * kernel per variable on cpu and one shader per variable on webgpu, constants uploaded once
   * elsewhere; bit for bit except that a GPU shader compiler may fuse a multiply-add). Other optimizers
   * ignore it. Default `false`.
   */
  readonly fusedAdam?: boolean;
}

/** Options of {@link fusedAdamUpdate}. */
export interface FusedAdamOptions {
  /**
   * A one-element float32 tensor, read on the device: the weights and moments change only where it
   * is greater than 0 (otherwise each keeps its value, bit for bit — a NaN counts as "no"). Nothing is
   * read back to the CPU, so a GPU backend does not wait. The optimizer's counters (`accBeta1/2`, the
   * iteration count) and new moment slots advance either way: take an {@link adamUndo} before the
   * update and restore it when the update turns out skipped. The trainer's on-device non-finite guard
   * passes its running value here (see `GANTrainerConfig.guardNonFinite`).
   */
  readonly guard?: tf.Tensor;
}

/** Name of the fused Adam kernel this module registers for the `cpu`, `wasm` and `webgpu` backends. */
export const FUSED_ADAM_KERNEL = 'TfjsGanFusedAdam';

/** The AdamOptimizer fields the fused update reads and writes (tfjs 4.x keeps them private). */
interface AdamInternals {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: ({ originalName: string; variable: tf.Variable } | undefined)[];
  accumulatedSecondMoment: ({ originalName: string; variable: tf.Variable } | undefined)[];
  incrementIterations(): void;
}

/**
 * Attributes of the fused kernel: every constant as the float32 value tfjs would upload. The
 * bias corrections 1 − β1ᵗ and 1 − β2ᵗ are inputs (`c1`, `c2`), computed on the backend as tfjs
 * does, so a GPU backend reads nothing back.
 */
interface FusedAdamAttrs {
  beta1: number;
  oneMinusBeta1: number;
  beta2: number;
  oneMinusBeta2: number;
  epsilon: number;
  negLearningRate: number;
}

const f32 = Math.fround;

/**
 * The update of one variable, element by element, rounding to float32 after every operation
 * exactly where tfjs's op-by-op `AdamOptimizer.applyGradients` does:
 *
 *   m' = m·β1 + g·(1−β1);   v' = v·β2 + g²·(1−β2)
 *   w' = (m'/(1−β1ᵗ)) / (√(v'/(1−β2ᵗ)) + ε) · (−lr) + w
 */
function adamLoop(
  w: ArrayLike<number>,
  m: ArrayLike<number>,
  v: ArrayLike<number>,
  g: ArrayLike<number>,
  outW: Float32Array,
  outM: Float32Array,
  outV: Float32Array,
  a: FusedAdamAttrs,
  oneMinusAccBeta1: number,
  oneMinusAccBeta2: number,
): void {
  const { beta1, oneMinusBeta1, beta2, oneMinusBeta2, epsilon, negLearningRate } = a;
  const n = outW.length;
  for (let i = 0; i < n; i++) {
    const gi = g[i] as number;
    const mi = f32(f32((m[i] as number) * beta1) + f32(gi * oneMinusBeta1));
    const vi = f32(f32((v[i] as number) * beta2) + f32(f32(gi * gi) * oneMinusBeta2));
    outM[i] = mi;
    outV[i] = vi;
    const denominator = f32(f32(Math.sqrt(f32(vi / oneMinusAccBeta2))) + epsilon);
    outW[i] = f32(f32(f32(f32(mi / oneMinusAccBeta1) / denominator) * negLearningRate) + (w[i] as number));
  }
}

type Info = tf.TensorInfo;

/** Whether a kernel's optional `guard` input (a one-element float32 tensor) says "apply": greater than 0. */
const guardSaysApply = (guard: ArrayLike<number> | undefined): boolean => guard === undefined || (guard[0] as number) > 0;

function inputsOf(inputs: tf.NamedTensorInfoMap): [Info, Info, Info, Info, Info, Info] {
  const { w, m, v, g, c1, c2, guard } = inputs;
  if (guard !== undefined && (guard.dtype !== 'float32' || tf.util.sizeFromShape(guard.shape) !== 1)) {
    throw new Error(`${FUSED_ADAM_KERNEL}: guard must be one float32 value.`);
  }
  if (w === undefined || m === undefined || v === undefined || g === undefined || c1 === undefined || c2 === undefined) {
    throw new Error(`${FUSED_ADAM_KERNEL}: inputs w, m, v, g, c1 and c2 are required.`);
  }
  for (const t of [w, m, v, g, c1, c2]) {
    if (t.dtype !== 'float32') throw new Error(`${FUSED_ADAM_KERNEL}: float32 tensors only, got ${t.dtype}.`);
  }
  for (const t of [m, v, g]) {
    if (tf.util.sizeFromShape(t.shape) !== tf.util.sizeFromShape(w.shape)) {
      throw new Error(`${FUSED_ADAM_KERNEL}: w, m, v and g must have the same size.`);
    }
  }
  if (tf.util.sizeFromShape(c1.shape) !== 1 || tf.util.sizeFromShape(c2.shape) !== 1) {
    throw new Error(`${FUSED_ADAM_KERNEL}: c1 and c2 must hold one value each.`);
  }
  return [w, m, v, g, c1, c2];
}

const cpuFusedAdam: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const [w, m, v, g, c1, c2] = inputsOf(inputs);
  const b = backend as unknown as CpuBackendLike;
  const read = (t: tf.TensorInfo) => b.readSync(t.dataId) as Float32Array;
  const n = tf.util.sizeFromShape(w.shape);
  const outW = new Float32Array(n);
  const outM = new Float32Array(n);
  const outV = new Float32Array(n);
  const a = attrs as unknown as FusedAdamAttrs;
  const guard = inputs.guard;
  if (guardSaysApply(guard === undefined ? undefined : read(guard))) {
    adamLoop(read(w), read(m), read(v), read(g), outW, outM, outV, a, read(c1)[0] as number, read(c2)[0] as number);
  } else {
    outW.set(read(w));
    outM.set(read(m));
    outV.set(read(v));
  }
  return [
    b.makeTensorInfo([...w.shape], 'float32', outW),
    b.makeTensorInfo([...m.shape], 'float32', outM),
    b.makeTensorInfo([...v.shape], 'float32', outV),
  ];
};

/**
 * WebGPU (src/optim/adam-webgpu.ts): one compute shader per variable. Its inputs differ from the
 * other backends': `p = [1 − β1ᵗ, 1 − β2ᵗ, β1, 1 − β1, β2, 1 − β2, ε, −lr, guard]` in one tensor instead of
 * `c1`, `c2`, the attributes and `guard` (the shader's eight storage buffers leave room for one more input;
 * `guard` is 1 when the caller gave none).
 */
const webgpuFusedAdamKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { w, m, v, g, p } = inputs;
  if (w === undefined || m === undefined || v === undefined || g === undefined || p === undefined) {
    throw new Error(`${FUSED_ADAM_KERNEL} (webgpu): inputs w, m, v, g and p are required.`);
  }
  for (const x of [w, m, v, g, p]) {
    if (x.dtype !== 'float32') throw new Error(`${FUSED_ADAM_KERNEL}: float32 tensors only, got ${x.dtype}.`);
  }
  const n = tf.util.sizeFromShape(w.shape);
  if ([m, v, g].some((x) => tf.util.sizeFromShape(x.shape) !== n)) {
    throw new Error(`${FUSED_ADAM_KERNEL}: w, m, v and g must have the same size.`);
  }
  if (tf.util.sizeFromShape(p.shape) !== 9) throw new Error(`${FUSED_ADAM_KERNEL} (webgpu): p must hold nine values.`);
  return webgpuFusedAdam(backend, { w, m, v, g, p }, attrs as unknown as FusedAdamAttrs);
};

/**
 * wasm: one pass of tfjs-gan's own SIMD kernel (src/backends/wasm-simd/kernels.wat) over the
 * variable in the backend's heap — the same float32 operations in the same order as tfjs's kernels,
 * so the same bits. (A JavaScript loop lost to tfjs's SIMD kernels there: 12 ms against 5.0 ms for
 * 548 000 parameters.) Registered for every wasm backend; {@link fusedAdamUpdate} uses it only
 * where {@link wasmSimdKernels} can bind to the backend's memory.
 */
const wasmFusedAdamKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const [w, m, v, g, c1, c2] = inputsOf(inputs);
  const kernels = wasmSimdKernels(backend);
  if (kernels === undefined) throw new Error(`${FUSED_ADAM_KERNEL}: this wasm backend's memory cannot be reached`);
  const { memory } = kernels;
  const b = backend as unknown as WasmBackendLike;
  const outs = [w, m, v].map((t) => b.makeOutput([...t.shape], 'float32'));
  const [outW, outM, outV] = outs as [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo];
  const n = tf.util.sizeFromShape(w.shape);
  if (n > 0) {
    const at = (t: tf.TensorInfo) => heapOffset(b, t.dataId);
    // Read after the allocations: they may grow (and replace) the heap's buffer.
    const scalar = (t: tf.TensorInfo) => new Float32Array(memory.buffer, at(t), 1)[0] as number;
    const guard = inputs.guard;
    if (!guardSaysApply(guard === undefined ? undefined : [scalar(guard)])) {
      for (const [from, to] of [
        [w, outW],
        [m, outM],
        [v, outV],
      ] as const) {
        new Float32Array(memory.buffer, at(to), n).set(new Float32Array(memory.buffer, at(from), n));
      }
      return outs;
    }
    const a = attrs as unknown as FusedAdamAttrs;
    kernels.adam(
      at(w),
      at(m),
      at(v),
      at(g),
      at(outW),
      at(outM),
      at(outV),
      n,
      a.beta1,
      a.oneMinusBeta1,
      a.beta2,
      a.oneMinusBeta2,
      a.epsilon,
      a.negLearningRate,
      scalar(c1),
      scalar(c2),
    );
  }
  return outs;
};

/** Backends with the fused kernel. Not WebGL (not measured). */
const KERNELS: Readonly<Record<string, tf.KernelFunc>> = {
  cpu: cpuFusedAdam,
  wasm: wasmFusedAdamKernel,
  webgpu: webgpuFusedAdamKernel,
};

/** Backends this module has registered its kernel for (once each: unregistering it afterwards sticks). */
const registeredFor = new Set<string>();

/**
 * Registers the fused Adam kernel for the `cpu`, `wasm` and `webgpu` backends whose packages are loaded, once each;
 * {@link fusedAdamUpdate} calls it itself. Unregister it with
 * `tf.unregisterKernel(FUSED_ADAM_KERNEL, backendName)` to make {@link fusedAdamUpdate} use tfjs
 * ops on that backend (with constants uploaded once).
 */
export function registerFusedAdamKernels(): void {
  for (const [backendName, kernelFunc] of Object.entries(KERNELS)) {
    if (registeredFor.has(backendName)) continue;
    if (tf.getKernelsForBackend(backendName).length === 0) continue; // backend package not loaded (yet)
    registeredFor.add(backendName);
    if (tf.getKernel(FUSED_ADAM_KERNEL, backendName) === undefined) {
      tf.registerKernel({ kernelName: FUSED_ADAM_KERNEL, backendName, kernelFunc });
    }
  }
}

/** Constants uploaded once per optimizer and backend (every backend but `cpu`, where the fused kernel takes them as attributes). */
interface CachedScalars {
  readonly backend: string;
  readonly beta1: tf.Scalar;
  readonly oneMinusBeta1: tf.Scalar;
  readonly beta2: tf.Scalar;
  readonly oneMinusBeta2: tf.Scalar;
  readonly epsilon: tf.Scalar;
  readonly negLearningRate: tf.Scalar;
  readonly one: tf.Scalar;
  /**
   * WebGPU's fused kernel: the six constants in one tensor ({@link webgpuAdamConstantValues}), never
   * used by a GPU program itself (only concatenated, on the CPU, into each update's `p`); undefined elsewhere.
   */
  readonly constants: tf.Tensor1D | undefined;
  /** β1/β2/ε they were made from. */
  readonly hyper: string;
  /** The learning rate `negLearningRate` was made from (a schedule may change it every step). */
  readonly learningRate: number;
}

const cache = new WeakMap<tf.Optimizer, CachedScalars>();

/** WebGPU's constants tensor for `opt` at its current learning rate, or undefined on other backends. */
function constantsFor(opt: AdamInternals, backend: string): tf.Tensor1D | undefined {
  if (backend !== 'webgpu') return undefined;
  return tf.keep(tf.tensor1d(webgpuAdamConstantValues(constantsOf(opt)), 'float32'));
}

function scalarsFor(opt: AdamInternals & tf.Optimizer): CachedScalars {
  const backend = tf.getBackend();
  const hyper = `${opt.beta1}/${opt.beta2}/${opt.epsilon}`;
  const cached = cache.get(opt);
  if (cached !== undefined && cached.backend === backend && cached.hyper === hyper) {
    if (cached.learningRate === opt.learningRate) return cached;
    // Only the learning rate changed (a schedule): upload that one constant again, not all seven.
    tf.dispose([cached.negLearningRate, cached.constants as tf.Tensor]);
    const entry = {
      ...cached,
      negLearningRate: tf.keep(tf.scalar(-opt.learningRate)),
      constants: constantsFor(opt, backend),
      learningRate: opt.learningRate,
    };
    cache.set(opt, entry);
    return entry;
  }
  releaseFusedAdam(opt);
  const s = tf.tidy(() => ({
    beta1: tf.keep(tf.scalar(opt.beta1)),
    oneMinusBeta1: tf.keep(tf.scalar(1 - opt.beta1)),
    beta2: tf.keep(tf.scalar(opt.beta2)),
    oneMinusBeta2: tf.keep(tf.scalar(1 - opt.beta2)),
    epsilon: tf.keep(tf.scalar(opt.epsilon)),
    negLearningRate: tf.keep(tf.scalar(-opt.learningRate)),
    one: tf.keep(tf.scalar(1)),
    constants: constantsFor(opt, backend),
  }));
  const entry = { ...s, backend, hyper, learningRate: opt.learningRate };
  cache.set(opt, entry);
  return entry;
}

/** The fused kernel's constants: every one as the float32 value tfjs would upload. */
function constantsOf(opt: AdamInternals): FusedAdamAttrs {
  return {
    beta1: f32(opt.beta1),
    oneMinusBeta1: f32(1 - opt.beta1),
    beta2: f32(opt.beta2),
    oneMinusBeta2: f32(1 - opt.beta2),
    epsilon: f32(opt.epsilon),
    negLearningRate: f32(-opt.learningRate),
  };
}

/**
 * Disposes the constants {@link fusedAdamUpdate} cached for `optimizer` (on backends other than
 * `cpu`). The trainer calls it when it is disposed; harmless when nothing is cached.
 */
export function releaseFusedAdam(optimizer: tf.Optimizer): void {
  const cached = cache.get(optimizer);
  if (cached === undefined) return;
  cache.delete(optimizer);
  tf.dispose([
    cached.beta1,
    cached.oneMinusBeta1,
    cached.beta2,
    cached.oneMinusBeta2,
    cached.epsilon,
    cached.negLearningRate,
    cached.one,
    ...(cached.constants === undefined ? [] : [cached.constants]),
  ]);
}

/**
 * Whether {@link fusedAdamUpdate} can update `optimizer`: an optimizer made by `tf.train.adam`
 * (exactly `tf.AdamOptimizer`, not a subclass, whose `applyGradients` may differ).
 */
export function canFuseAdam(optimizer: tf.Optimizer): boolean {
  return Object.getPrototypeOf(optimizer) === tf.AdamOptimizer.prototype;
}

/**
 * Applies `grads` to their variables with `optimizer` (a `tf.train.adam` optimizer) — the same
 * update, in the same float32 arithmetic, as `optimizer.applyGradients(grads)`, but on `cpu` one
 * fused kernel per variable instead of 14 (about 14× faster), on WebGPU one compute shader per
 * variable instead of 14 kernels, and on other backends without re-uploading the constants every
 * step (about 15 % faster on wasm). The optimizer's state is
 * updated in place, as `applyGradients` does.
 * The gradients stay the caller's.
 *
 * @throws {@link GANConfigError} when `optimizer` is not a plain `tf.train.adam` optimizer (see
 *   {@link canFuseAdam}) or a gradient names no registered variable; nothing is changed then.
 */
export function fusedAdamUpdate(optimizer: tf.Optimizer, grads: tf.NamedTensorMap, options: FusedAdamOptions = {}): void {
  if (!canFuseAdam(optimizer)) throw new GANConfigError('optimizer', 'is not a tf.train.adam optimizer (fusedAdamUpdate)');
  const unknown = Object.keys(grads).find((name) => tf.engine().registeredVariables[name] === undefined);
  if (unknown !== undefined) throw new GANConfigError('grads', `no variable is named "${unknown}"`);
  const { guard } = options;
  if (guard !== undefined && (guard.isDisposed || guard.dtype !== 'float32' || guard.size !== 1)) {
    throw new GANConfigError('guard', 'must be a live float32 tensor holding one value');
  }
  const opt = optimizer as unknown as AdamInternals & tf.Optimizer;
  registerFusedAdamKernels();
  const backendName = tf.getBackend();
  const fused =
    tf.getKernel(FUSED_ADAM_KERNEL, backendName) !== undefined &&
    (backendName !== 'wasm' || wasmSimdKernels(tf.backend()) !== undefined);
  // Constants uploaded once per optimizer; on cpu the fused kernel takes them as attributes.
  const scalars = fused && backendName === 'cpu' ? undefined : scalarsFor(opt);
  tf.tidy(() => {
    const [oneMinusAccBeta1, oneMinusAccBeta2] = [
      tf.sub(scalars?.one ?? 1, opt.accBeta1),
      tf.sub(scalars?.one ?? 1, opt.accBeta2),
    ] as [tf.Scalar, tf.Scalar];
    const attrs: FusedAdamAttrs | undefined = fused ? constantsOf(opt) : undefined;
    // WebGPU's kernel takes the corrections and constants in one tensor; on the CPU where tfjs-backend-webgpu
    // keeps such small tensors (the corrections are computed there too), so its one upload is the only cost.
    // Without a guard the concatenation stays on the CPU; a guard computed on the GPU makes it one small GPU copy.
    const p =
      attrs !== undefined && backendName === 'webgpu'
        ? tf.concat([
            tf.reshape(oneMinusAccBeta1, [1]),
            tf.reshape(oneMinusAccBeta2, [1]),
            (scalars as CachedScalars).constants as tf.Tensor1D,
            tf.reshape(guard ?? (scalars as CachedScalars).one, [1]),
          ])
        : undefined;
    const apply = guard !== undefined && attrs === undefined ? tf.greater(tf.reshape(guard, []), 0) : undefined;
    const guarded = (next: tf.Tensor, old: tf.Tensor) => (apply === undefined ? next : tf.where(apply, next, old));
    Object.keys(grads).forEach((name, i) => {
      const value = tf.engine().registeredVariables[name] as tf.Variable;
      opt.accumulatedFirstMoment[i] ??= {
        originalName: `${name}/m`,
        variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
      };
      opt.accumulatedSecondMoment[i] ??= {
        originalName: `${name}/v`,
        variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
      };
      const gradient = grads[name];
      if (gradient == null) return;
      const m = (opt.accumulatedFirstMoment[i] as { variable: tf.Variable }).variable;
      const v = (opt.accumulatedSecondMoment[i] as { variable: tf.Variable }).variable;
      if (attrs !== undefined) {
        const inputs: tf.NamedTensorMap =
          p !== undefined
            ? { w: value, m, v, g: gradient, p }
            : {
                w: value,
                m,
                v,
                g: gradient,
                c1: oneMinusAccBeta1,
                c2: oneMinusAccBeta2,
                ...(guard === undefined ? {} : { guard: tf.reshape(guard, []) }),
              };
        const [newValue, newM, newV] = tf
          .engine()
          .runKernel(FUSED_ADAM_KERNEL, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
        m.assign(newM as tf.Tensor);
        v.assign(newV as tf.Tensor);
        value.assign(newValue as tf.Tensor);
        return;
      }
      const s = scalars as CachedScalars;
      // tfjs's AdamOptimizer.applyGradients, op for op, with the constants uploaded once.
      const newM = tf.add(tf.mul(m, s.beta1), tf.mul(gradient, s.oneMinusBeta1));
      const newV = tf.add(tf.mul(v, s.beta2), tf.mul(tf.square(gradient), s.oneMinusBeta2));
      const mHat = tf.div(newM, oneMinusAccBeta1);
      const vHat = tf.div(newV, oneMinusAccBeta2);
      const newValue = tf.add(tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), s.epsilon)), s.negLearningRate), value);
      m.assign(guarded(newM, m));
      v.assign(guarded(newV, v));
      value.assign(guarded(newValue, value));
    });
    opt.accBeta1.assign(tf.mul(opt.accBeta1, scalars?.beta1 ?? opt.beta1));
    opt.accBeta2.assign(tf.mul(opt.accBeta2, scalars?.beta2 ?? opt.beta2));
  });
  opt.incrementIterations();
}

/** What {@link adamUndo} returns: puts a `tf.train.adam` optimizer's counters back, or lets them go. */
export interface AdamUndo {
  /**
   * Restores `accBeta1`, `accBeta2` and the iteration count as they were, and disposes the moment
   * slots created since (the optimizer's weights list is then what it was). The weights and moments
   * themselves are not touched: a guarded update that was skipped left them as they were.
   */
  restore(): void;
  /** Releases what the undo holds (after {@link AdamUndo.restore}, or instead of it). */
  dispose(): void;
}

/**
 * Remembers the state of a `tf.train.adam` optimizer that {@link fusedAdamUpdate} advances even when
 * its `guard` skips the update — the bias-correction powers β1ᵗ and β2ᵗ, the iteration count and
 * the moment slots it creates on a first update — so that a skipped update can be undone exactly.
 * Holds two scalar references (no copy).
 *
 * @throws {@link GANConfigError} when `optimizer` is not a plain `tf.train.adam` optimizer.
 */
export function adamUndo(optimizer: tf.Optimizer): AdamUndo {
  if (!canFuseAdam(optimizer)) throw new GANConfigError('optimizer', 'is not a tf.train.adam optimizer (adamUndo)');
  const opt = optimizer as unknown as AdamInternals & { iterations_: number | undefined };
  const accBeta1 = tf.clone(opt.accBeta1);
  const accBeta2 = tf.clone(opt.accBeta2);
  const iterations = opt.iterations_;
  const slots = [opt.accumulatedFirstMoment, opt.accumulatedSecondMoment];
  const had = slots.map((list) => list.map((entry) => entry !== undefined));
  let released = false;
  return {
    restore() {
      if (released) throw new GANConfigError('undo', 'was already restored or disposed');
      opt.accBeta1.assign(accBeta1);
      opt.accBeta2.assign(accBeta2);
      opt.iterations_ = iterations;
      slots.forEach((list, s) => {
        const existed = had[s] as boolean[];
        list.forEach((entry, i) => {
          if (entry === undefined || existed[i] === true) return;
          entry.variable.dispose();
          list[i] = undefined;
        });
        if (list.length > existed.length) list.length = existed.length;
      });
      this.dispose();
    },
    dispose() {
      if (released) return;
      released = true;
      tf.dispose([accBeta1, accBeta2]);
    },
  };
}
