/**
 * A fused gradient for tanh: one kernel where tfjs runs three.
 *
 * tfjs-core differentiates `Tanh` from its output y as `mul(sub(scalar(1), square(y)), dy)`: a
 * `Square`, a `Sub` and a `Multiply`, two intermediate tensors and a scalar made into a tensor. A
 * GAN's generator almost always ends in tanh, so every update that backpropagates through G runs it.
 * {@link installFusedTanhGradient} replaces that gradient by one kernel, `TfjsGanTanhGrad`, computing
 * `(1 − y·y)·dy` — the same float32 operations in the same order, so the same bits (on a GPU whose
 * shader compiler contracts `1 − y·y` into a fused multiply-add, within float32 rounding) — on `cpu`,
 * `wasm` and `webgpu`; on any other backend (WebGL) the gradient stays tfjs's. The new kernel has its
 * own gradient, written with tfjs's ops as tfjs differentiates its composite, so gradient penalties
 * still differentiate through it, to the same bits. (As with tfjs's composite, a second derivative
 * through `tf.tanh` flows through `dy` only: tfjs keeps an op's saved outputs off the tape.)
 *
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import { fusedGradientSwitch, fusedOperands } from './fused-gradient';
import type { CpuBackendLike, WebGPUBackendLike } from './kernel-backends';
import { heapOffset, type WasmBackendLike, wasmSimdKernels } from './wasm-simd/index';
import type { WasmHeap } from './wasm-speed';
import { ElementwiseProgram } from './webgpu-program';

/** The fused kernel's name in tfjs's kernel registry. */
export const TANH_GRAD_KERNEL = 'TfjsGanTanhGrad';

const operands = (inputs: tf.NamedTensorInfoMap) => fusedOperands(TANH_GRAD_KERNEL, inputs, ['dy', 'y']);

/** `out[i] = (1 − y[i]·y[i])·dy[i]`, every operation rounded to float32 as tfjs's `Square`, `Sub` and `Multiply` do. */
export function tanhGradInto(dy: Float32Array, y: Float32Array, out: Float32Array): void {
  for (let i = 0; i < out.length; i++) {
    const v = y[i] as number;
    // float32 × float32 is exact in a double and 1 − (a float32) rounds to the same float32 through a
    // double: each Math.fround (and the store) rounds once, as float32 arithmetic does.
    out[i] = Math.fround(1 - Math.fround(v * v)) * (dy[i] as number);
  }
}

const cpuKernel: tf.KernelFunc = ({ inputs, backend }) => {
  const [dy, y] = operands(inputs);
  const b = backend as unknown as CpuBackendLike;
  const out = new Float32Array(tf.util.sizeFromShape(y.shape));
  tanhGradInto(b.readSync(dy.dataId) as Float32Array, b.readSync(y.dataId) as Float32Array, out);
  return b.makeTensorInfo([...y.shape], 'float32', out);
};

/**
 * wasm: a 4-lane pass of tfjs-gan's SIMD module (src/backends/wasm-simd/kernels.wat) in the backend's
 * memory; where the module cannot bind, a JavaScript loop over views of the heap.
 */
const wasmKernel: tf.KernelFunc = ({ inputs, backend }) => {
  const [dy, y] = operands(inputs);
  const b = backend as unknown as WasmHeap;
  const out = b.makeOutput([...y.shape], 'float32');
  const n = tf.util.sizeFromShape(y.shape);
  if (n === 0) return out;
  const kernels = wasmSimdKernels(backend);
  if (kernels !== undefined) {
    const heap = backend as unknown as WasmBackendLike;
    kernels.tanhGrad(heapOffset(heap, dy.dataId), heapOffset(heap, y.dataId), heapOffset(heap, out.dataId), n);
    return out;
  }
  // Views after the allocation: growing the heap detaches older ones.
  const f32 = (t: tf.TensorInfo) => b.typedArrayFromHeap(t) as Float32Array; // float32 operands only
  tanhGradInto(f32(dy), f32(y), f32(out));
  return out;
};

/** The WebGPU program: `(1 − y·y)·dy`, tfjs's `Square`, `Sub` and `Multiply` in one shader. */
class TanhGradProgram extends ElementwiseProgram {
  constructor(shape: readonly number[]) {
    super(
      'tfjsGanTanhGrad',
      ['dy', 'y'],
      '',
      shape,
      `let v = y[index];
          let square = v * v;
          let oneMinus = 1.0 - square;
          result[index] = oneMinus * dy[index];`,
    );
  }
}

const webgpuKernel: tf.KernelFunc = ({ inputs, backend }) => {
  const [dy, y] = operands(inputs);
  return (backend as unknown as WebGPUBackendLike).runWebGPUProgram(new TanhGradProgram(y.shape), [dy, y], 'float32');
};

function tanhGrad(dy: tf.Tensor, y: tf.Tensor): tf.Tensor {
  return tf.engine().runKernel(TANH_GRAD_KERNEL, { dy, y }) as tf.Tensor;
}

/**
 * The fused kernel's own gradient, as tfjs differentiates `mul(sub(1, square(y)), dy)`: for `dy`,
 * `ddx·(1 − y²)` (the kernel again); for `y`, `−(ddx·dy)·(y·2)`.
 */
const fusedGradientOfGradient: tf.GradConfig = {
  kernelName: TANH_GRAD_KERNEL,
  inputsToSave: ['dy', 'y'],
  gradFunc: (ddx, saved) => {
    const [dy, y] = saved as [tf.Tensor, tf.Tensor];
    return {
      dy: () => tanhGrad(ddx as tf.Tensor, y),
      y: () => tf.mul(tf.neg(tf.mul(ddx as tf.Tensor, dy)), tf.mul(y, tf.scalar(2))),
    };
  },
};

const fused = fusedGradientSwitch({
  forKernel: 'Tanh',
  fusedKernel: TANH_GRAD_KERNEL,
  kernels: { cpu: cpuKernel, wasm: wasmKernel, webgpu: webgpuKernel },
  gradientOfFused: fusedGradientOfGradient,
  saves: { outputsToSave: [true] },
  gradient: (dy, y) => ({ x: () => tanhGrad(dy, y) }),
});

/**
 * Registers the fused kernel for those of `cpu`, `wasm` and `webgpu` whose packages are loaded, once
 * each (unregistering it afterwards sticks: tfjs's gradient then runs there). Cheap to call again:
 * {@link installFusedTanhGradient} and the trainer's every step do, for packages loaded later.
 */
export function registerFusedTanhKernels(): void {
  fused.register();
}

/**
 * Replaces tfjs's gradient of `Tanh` (in tfjs-core's global gradient registry) by one that runs a
 * single fused kernel on `cpu`, `wasm` and `webgpu` — the same values bit for bit — and tfjs's own
 * gradient elsewhere, and registers the kernel ({@link registerFusedTanhKernels}). Idempotent. A
 * `GANTrainer` installs it when it is made, unless `backendTuneUp` is `false` or
 * `{ tanhGradient: false }`; {@link uninstallFusedTanhGradient} puts tfjs's gradient back (until the
 * next trainer is made).
 *
 * @returns whether the fused gradient is in place after the call: `false` when tfjs-core registers
 * no gradient for `Tanh`, or when someone else has replaced it (theirs is left alone; once tfjs's is
 * back, a later call installs the fused one again).
 */
export function installFusedTanhGradient(): boolean {
  return fused.install();
}

/** Puts tfjs's gradient of `Tanh` back; returns whether the fused one was installed. */
export function uninstallFusedTanhGradient(): boolean {
  return fused.uninstall();
}
