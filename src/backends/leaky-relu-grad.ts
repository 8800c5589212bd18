/**
 * A fused gradient for LeakyReLU: one kernel where tfjs runs three.
 *
 * tfjs-core's gradient of `LeakyRelu` is `where(greater(x, 0), dy, mul(dy, alpha))`: a `Greater`, a
 * `Multiply` and a `Select` (and three `Identity`s from `where`'s broadcasting), plus two scalars (0
 * and α) made into tensors — uploaded to the GPU on WebGPU. A GAN's D and G have LeakyReLUs after
 * every hidden layer, so an MLP GAN step runs it 8 times: 48 kernels, 24 of them dispatches on WebGPU
 * (on a real GPU each costs the CPU ~0.1 ms to enqueue; on wasm ~1.5 ms a step).
 * {@link installFusedLeakyReluGradient} replaces the gradient by one kernel, `TfjsGanLeakyReluGrad`,
 * computing `x > 0 ? dy : dy·α` — the same float32 operations, so the same bits — on `cpu`, `wasm`
 * and `webgpu`; on any other backend (WebGL) the gradient stays tfjs's. The new kernel has its own
 * gradient (it is linear in `dy`, piecewise constant in `x`), so gradient penalties still
 * differentiate through it. Second-order values equal tfjs's composite's except where the incoming
 * gradient is not finite (tfjs multiplies it by its 0/1 mask: ∞·0 gives NaN where the fused gradient
 * keeps ±∞) and in the sign of a zero (tfjs adds a +0).
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
export const LEAKY_RELU_GRAD_KERNEL = 'TfjsGanLeakyReluGrad';

interface Attrs {
  readonly alpha: number;
}

const operands = (inputs: tf.NamedTensorInfoMap) => fusedOperands(LEAKY_RELU_GRAD_KERNEL, inputs, ['dy', 'x']);

/** `out[i] = x[i] > 0 ? dy[i] : dy[i]·α`, α and every product rounded to float32 as tfjs's `Multiply` does. */
export function leakyReluGradInto(dy: Float32Array, x: Float32Array, alpha: number, out: Float32Array): void {
  const a = Math.fround(alpha);
  // A float32 × float32 product is exact in a double; the Float32Array store rounds it once, as float32 multiplication does.
  for (let i = 0; i < out.length; i++) out[i] = (x[i] as number) > 0 ? (dy[i] as number) : (dy[i] as number) * a;
}

const cpuKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const [dy, x] = operands(inputs);
  const b = backend as unknown as CpuBackendLike;
  const out = new Float32Array(tf.util.sizeFromShape(x.shape));
  leakyReluGradInto(
    b.readSync(dy.dataId) as Float32Array,
    b.readSync(x.dataId) as Float32Array,
    (attrs as unknown as Attrs).alpha,
    out,
  );
  return b.makeTensorInfo([...x.shape], 'float32', out);
};

/**
 * wasm: a 4-lane pass of tfjs-gan's SIMD module (src/backends/wasm-simd/kernels.wat) in the backend's
 * memory; where the module cannot bind, a JavaScript loop over views of the heap.
 */
const wasmKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const [dy, x] = operands(inputs);
  const alpha = (attrs as unknown as Attrs).alpha;
  const b = backend as unknown as WasmHeap;
  const out = b.makeOutput([...x.shape], 'float32');
  const n = tf.util.sizeFromShape(x.shape);
  if (n === 0) return out;
  const kernels = wasmSimdKernels(backend);
  if (kernels !== undefined) {
    const heap = backend as unknown as WasmBackendLike;
    kernels.leakyReluGrad(heapOffset(heap, dy.dataId), heapOffset(heap, x.dataId), heapOffset(heap, out.dataId), n, alpha);
    return out;
  }
  // Views after the allocation: growing the heap detaches older ones.
  const f32 = (t: tf.TensorInfo) => b.typedArrayFromHeap(t) as Float32Array; // float32 operands only
  leakyReluGradInto(f32(dy), f32(x), alpha, f32(out));
  return out;
};

/** The WebGPU program: `x > 0 ? dy : dy·α`, α a uniform. */
class LeakyReluGradProgram extends ElementwiseProgram {
  constructor(shape: readonly number[]) {
    super(
      'tfjsGanLeakyReluGrad',
      ['dy', 'x'],
      'alpha : f32,',
      shape,
      `let d = dy[index];
          result[index] = select(d * uniforms.alpha, d, x[index] > 0.0);`,
    );
  }
}

const webgpuKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const [dy, x] = operands(inputs);
  const alpha = (attrs as unknown as Attrs).alpha;
  return (backend as unknown as WebGPUBackendLike).runWebGPUProgram(new LeakyReluGradProgram(x.shape), [dy, x], 'float32', [
    { type: 'float32', data: [alpha] },
  ]);
};

const KERNELS: Readonly<Record<string, tf.KernelFunc>> = { cpu: cpuKernel, wasm: wasmKernel, webgpu: webgpuKernel };

/** The fused kernel's own gradient: linear in `dy` (the same kernel applied to the incoming gradient), zero in `x`. */
const fusedGradientOfGradient: tf.GradConfig = {
  kernelName: LEAKY_RELU_GRAD_KERNEL,
  inputsToSave: ['x'],
  gradFunc: (ddx, saved, attrs) => {
    const x = saved[0] as tf.Tensor;
    const alpha = (attrs as unknown as Attrs).alpha;
    return {
      dy: () => leakyReluGrad(ddx as tf.Tensor, x, alpha),
      x: () => tf.zerosLike(x),
    };
  },
};

function leakyReluGrad(dy: tf.Tensor, x: tf.Tensor, alpha: number): tf.Tensor {
  return tf.engine().runKernel(LEAKY_RELU_GRAD_KERNEL, { dy, x }, { alpha } as unknown as tf.NamedAttrMap) as tf.Tensor;
}

const fused = fusedGradientSwitch({
  forKernel: 'LeakyRelu',
  fusedKernel: LEAKY_RELU_GRAD_KERNEL,
  kernels: KERNELS,
  gradientOfFused: fusedGradientOfGradient,
  saves: { inputsToSave: ['x'] },
  gradient: (dy, x, attrs) => ({ x: () => leakyReluGrad(dy, x, (attrs as unknown as Attrs).alpha) }),
});

/**
 * Registers the fused kernel for those of `cpu`, `wasm` and `webgpu` whose packages are loaded, once
 * each (unregistering it afterwards sticks: tfjs's gradient then runs there). Cheap to call again:
 * {@link installFusedLeakyReluGradient} and the trainer's every step do, for packages loaded later.
 */
export function registerFusedLeakyReluKernels(): void {
  fused.register();
}

/**
 * Replaces tfjs's gradient of `LeakyRelu` (in tfjs-core's global gradient registry) by one that runs
 * a single fused kernel on `cpu`, `wasm` and `webgpu` — the same first-order values bit for bit — and
 * tfjs's own gradient elsewhere, and registers the kernel ({@link registerFusedLeakyReluKernels}).
 * Idempotent. A `GANTrainer` installs it when it is made, unless `backendTuneUp` is `false` or
 * `{ leakyReluGradient: false }`; {@link uninstallFusedLeakyReluGradient} puts tfjs's gradient back
 * (until the next trainer is made).
 *
 * @returns whether the fused gradient is in place after the call: `false` when tfjs-core registers
 * no gradient for `LeakyRelu`, or when someone else has replaced it (theirs is left alone; once tfjs's
 * is back, a later call installs the fused one again).
 */
export function installFusedLeakyReluGradient(): boolean {
  return fused.install();
}

/** Puts tfjs's gradient of `LeakyRelu` back; returns whether the fused one was installed. */
export function uninstallFusedLeakyReluGradient(): boolean {
  return fused.uninstall();
}
