/**
 * The cross-entropy losses of the GAN objective for tfjs-backend-webgpu in one dispatch each way.
 *
 * The built-in minimax and non-saturating losses take the mean binary cross-entropy of D's logits l
 * against a constant target t: `mean(softplus(−l))` for t = 1, `mean(softplus(l) − l·t)` otherwise.
 * Through tfjs's ops that is three or four kernels forward (`Neg`/`Softplus`/`Mean`, or
 * `Softplus`/`Multiply`/`Sub`/`Mean`) and about as many again backward — on a GPU, where every kernel
 * is a dispatch that costs the CPU tens of µs, some 20 dispatches of an MLP GAN step. Here the forward
 * pass is one program (tfjs's `ReduceProgram` for the mean, with the element computed on the way in by
 * tfjs's own `Neg`/`Softplus`/`Multiply`/`Sub` shader code) and the backward pass one element-wise
 * program (tfjs's `Sigmoid` shader code and the products and sums tfjs's gradients make, in the same
 * order; the mean's 1/n is divided out by tfjs's `div` before, as tfjs's `Mean` gradient does).
 * The same operations, so the same values up to what a shader compiler may fuse (a multiply-add).
 * Targets 1 and 0 only (a target in between — label smoothing's real term — keeps tfjs's ops: tfjs adds
 * its gradient's two terms into the logits' total one at a time, which one fused term cannot reproduce
 * bit for bit when other terms reach the same logits). The fused gradient has a gradient of its own,
 * written with tfjs ops, so penalties on a loss's gradient (second order and higher) work.
 *
 * Part `losses` of the WebGPU tune-up (`installWebGPUTuneUp`); the built-in losses use it through
 * {@link bceMean} while it is installed and the active backend is `webgpu`.
 *
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import type { WebGPUBackendLike } from './kernel-backends';
import { flatInfo, reduceUserCode, reduceWorkgroupSize } from './webgpu-program';

/** Kernel: `mean(bce(x, target))`, input `x` (float32), attribute `target`; output a scalar. */
export const BCE_MEAN_KERNEL = 'TfjsGanBceMean';
/** Kernel: the gradient of {@link BCE_MEAN_KERNEL}: inputs `x` and `scaled` (dy / n, one value), attribute `target`. */
export const BCE_MEAN_GRAD_KERNEL = 'TfjsGanBceMeanGrad';

/** tfjs-backend-webgpu's softplus (unary_op_util.ts, SOFTPLUS), as a function. */
const SOFTPLUS_FN = `
      fn tfjsSoftplus(a : f32) -> f32 {
        let epsilon = 1.1920928955078125e-7;
        let threshold = log(epsilon) + 2.0;
        let too_large = a > -threshold;
        let too_small = a < threshold;
        let exp_a = exp(a);
        if (too_large) {
          return a;
        } else if (too_small) {
          return exp_a;
        } else {
          return log(exp_a + 1.0);
        }
      }`;

/** The element's loss, as tfjs's ops compute it: softplus(neg(x)) for target 1, sub(softplus(x), mul(x, t)) otherwise. */
const elementLoss = (one: boolean) => (one ? 'tfjsSoftplus(-x[k])' : 'tfjsSoftplus(x[k]) - x[k] * uniforms.bceTarget');

/**
 * Means of element values, one workgroup per output: tfjs's `ReduceProgram` for 'mean' (strided loop,
 * tree, division) with `element` computed on the way in ({@link reduceUserCode}). Subclassed so that
 * tfjs's profiles name the program.
 */
class WorkgroupMeansProgram {
  readonly size = true;
  readonly outputShape: number[];
  readonly dispatchLayout = { x: [0] };
  readonly dispatch: [number, number, number];
  readonly workgroupSize: [number, number, number];

  constructor(
    readonly shaderKey: string,
    readonly variableNames: string[],
    readonly uniforms: string,
    outputs: number,
    workgroup: number,
    private readonly element: string,
    private readonly functions: string,
  ) {
    this.outputShape = [outputs];
    this.dispatch = [outputs, 1, 1];
    this.workgroupSize = [workgroup, 1, 1];
  }

  getUserCode(): string {
    return reduceUserCode(this.workgroupSize[0], this.element, true, this.functions);
  }
}

/** The mean of the element losses (one output). */
class BceMeanProgram extends WorkgroupMeansProgram {
  constructor(workgroup: number, one: boolean) {
    super(
      `tfjsGanBceMean_${one ? 'one' : 't'}_${workgroup}`,
      ['x'],
      'reduceSize : i32, bceTarget : f32,',
      1,
      workgroup,
      elementLoss(one),
      SOFTPLUS_FN,
    );
  }
}

/**
 * The gradient, element by element, in the order tfjs's gradients compute it: for target 1,
 * `neg(mul(s, sigmoid(neg(x))))`; otherwise `add(mul(s, sigmoid(x)), mul(neg(s), t))` — `s` the mean's
 * dy / n.
 */
class BceMeanGradProgram {
  readonly variableNames = ['x', 'scaled'];
  readonly uniforms = 'bceTarget : f32,';
  readonly size = true;
  readonly outputShape: number[];
  readonly dispatchLayout: { x: number[] };
  readonly dispatch: [number, number, number];
  readonly workgroupSize: [number, number, number] = [128, 1, 1];
  readonly shaderKey: string;

  constructor(
    n: number,
    private readonly one: boolean,
  ) {
    this.outputShape = [n];
    this.dispatchLayout = { x: [0] };
    this.dispatch = [Math.ceil(n / 128), 1, 1];
    this.shaderKey = `tfjsGanBceMeanGrad_${one ? 'one' : 't'}`;
  }

  getUserCode(): string {
    const sigmoid = (a: string) => `(1.0 / (1.0 + exp(-1.0 * (${a}))))`; // tfjs's SIGMOID
    const body = this.one
      ? `let a = -x[index];
          let s = scaled[0] * ${sigmoid('a')};
          setOutputAtIndex(index, -s);`
      : `let s = scaled[0] * ${sigmoid('x[index]')};
          let m = (-scaled[0]) * uniforms.bceTarget;
          setOutputAtIndex(index, s + m);`;
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          ${body}
        }
      }`;
  }
}

type WebGPUBackend = WebGPUBackendLike & { device?: { limits?: { maxComputeWorkgroupSizeX?: number } } };

const bceMeanKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const x = inputs.x as tf.TensorInfo;
  const target = Number((attrs as { target: number }).target);
  const b = backend as unknown as WebGPUBackend;
  const n = tf.util.sizeFromShape(x.shape);
  const workgroup = reduceWorkgroupSize(n, b.device?.limits?.maxComputeWorkgroupSizeX ?? 256);
  const out = b.runWebGPUProgram(new BceMeanProgram(workgroup, target === 1), [flatInfo(x)], 'float32', [
    { type: 'int32', data: [n] },
    { type: 'float32', data: [target] },
  ]);
  return { dataId: out.dataId, shape: [], dtype: 'float32' };
};

const bceMeanGradKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const x = inputs.x as tf.TensorInfo;
  const scaled = inputs.scaled as tf.TensorInfo;
  const target = Number((attrs as { target: number }).target);
  const b = backend as unknown as WebGPUBackend;
  const n = tf.util.sizeFromShape(x.shape);
  const out = b.runWebGPUProgram(new BceMeanGradProgram(n, target === 1), [flatInfo(x), flatInfo(scaled)], 'float32', [
    { type: 'float32', data: [target] },
  ]);
  return { dataId: out.dataId, shape: [...x.shape], dtype: 'float32' };
};

/** Kernel: `[mean(sigmoid(a)), mean(sigmoid(b))]` for two float32 tensors of one size (D's probabilities, for the logs). */
export const MEAN_SIGMOIDS_KERNEL = 'TfjsGanMeanSigmoids';

/** Two means of tfjs's `Sigmoid`: output 0 reads `a`, output 1 `b` (tfjs's SIGMOID on the way in). */
class MeanSigmoidsProgram extends WorkgroupMeansProgram {
  constructor(workgroup: number) {
    const sigmoid = `
      fn element(which : i32, k : i32) -> f32 {
        let v = select(b[k], a[k], which == 0);
        return 1.0 / (1.0 + exp(-1.0 * v));
      }`;
    super(`tfjsGanMeanSigmoids_${workgroup}`, ['a', 'b'], 'reduceSize : i32,', 2, workgroup, 'element(outputIndex, k)', sigmoid);
  }
}

const meanSigmoidsKernel: tf.KernelFunc = ({ inputs, backend }) => {
  const a = inputs.a as tf.TensorInfo;
  const c = inputs.b as tf.TensorInfo;
  const b = backend as unknown as WebGPUBackend;
  const n = tf.util.sizeFromShape(a.shape);
  const workgroup = reduceWorkgroupSize(n, b.device?.limits?.maxComputeWorkgroupSizeX ?? 256);
  return b.runWebGPUProgram(new MeanSigmoidsProgram(workgroup), [flatInfo(a), flatInfo(c)], 'float32', [
    { type: 'int32', data: [n] },
  ]);
};

/**
 * `[mean(sigmoid(real)), mean(sigmoid(fake))]`: D's mean probabilities, which the trainer logs. One
 * dispatch on webgpu with the tune-up's `losses` part when both hold as many float32 values; tfjs's
 * `Sigmoid`, `Mean` and `Pack` (five) otherwise. The same values.
 */
export function meanProbabilities(real: tf.Tensor, fake: tf.Tensor): tf.Tensor1D {
  if (
    tf.getBackend() === 'webgpu' &&
    real.dtype === 'float32' &&
    fake.dtype === 'float32' &&
    real.size === fake.size &&
    real.size > 0 &&
    tf.getKernel(MEAN_SIGMOIDS_KERNEL, 'webgpu') !== undefined
  ) {
    return tf.engine().runKernel(MEAN_SIGMOIDS_KERNEL, { a: real, b: fake }) as tf.Tensor1D;
  }
  return tf.stack([tf.mean(tf.sigmoid(real)), tf.mean(tf.sigmoid(fake))]) as tf.Tensor1D;
}

/**
 * tfjs's Mean gradient scales dy by `div(dy, n)`, and tfjs-backend-webgpu's `RealDiv` is a GPU
 * dispatch even for one value it holds on the CPU (it has no CPU path). When dy is such a value (in
 * a first-order backward pass, the loss's seed gradient) and no outer gradient is being recorded
 * (which needs `div`'s tape node), the quotient is taken here instead and uploaded with the
 * gradient's other input. It is a float32 division, correctly rounded like SwiftShader's and tfjs's
 * CPU kernels' (a GPU's shader division may differ from it in the last bit).
 */
function meanGradientScale(dy: tf.Tensor, n: number): tf.Tensor {
  const engine = tf.engine() as unknown as { isTapeOn?(): boolean };
  const held = (tf.backend() as unknown as Partial<CpuHeld>).tensorMap?.get(dy.dataId);
  if (engine.isTapeOn?.() === false && dy.dtype === 'float32' && dy.size === 1 && held?.values != null) {
    // Both float32 (n as tfjs makes it a float32 scalar): the double quotient rounds to the float32 one
    // (double rounding is innocuous for ÷).
    return tf.tensor1d([(held.values[0] as number) / Math.fround(n)], 'float32');
  }
  return tf.div(tf.reshape(dy, [1]), n);
}

/** tfjs-backend-webgpu's record of a tensor's data (4.22): `values` while it holds them on the CPU (a tensor's data never changes). */
interface CpuHeld {
  tensorMap: { get(dataId: tf.DataId): { values?: ArrayLike<number> | null } | undefined };
}

let gradientRegistered = false;

/** Registers the two kernels for webgpu (and, once, the forward kernel's gradient). Returns whether they are registered. */
export function installFusedLosses(): boolean {
  if (tf.getKernelsForBackend('webgpu').length === 0) return false; // tfjs-backend-webgpu not loaded
  if (!gradientRegistered) {
    gradientRegistered = true;
    tf.registerGradient({
      kernelName: BCE_MEAN_KERNEL,
      inputsToSave: ['x'],
      gradFunc: (dy, saved, attrs) => {
        const [x] = saved as [tf.Tensor];
        return {
          x: () => {
            const scaled = meanGradientScale(dy as tf.Tensor, tf.util.sizeFromShape(x.shape));
            return tf.engine().runKernel(BCE_MEAN_GRAD_KERNEL, { x, scaled }, attrs as tf.NamedAttrMap) as tf.Tensor;
          },
        };
      },
    });
    // The gradient kernel's own gradient (second-order uses, e.g. a penalty on ‖∇L‖), written with tfjs ops so
    // that higher orders work too. g = −s·σ(−x) (target 1) or s·σ(x) − s·t: ∂g/∂x = s·σ′(a) with a = ∓x, and
    // ∂g/∂s = −σ(−x) or σ(x) − t, summed to s's one value. (Not tf.grads inside a gradient: tfjs-core's
    // outermost backward pass cannot nest another.)
    tf.registerGradient({
      kernelName: BCE_MEAN_GRAD_KERNEL,
      inputsToSave: ['x', 'scaled'],
      gradFunc: (dy, saved, attrs) => {
        const [x, scaled] = saved as [tf.Tensor, tf.Tensor];
        const one = Number((attrs as { target: number }).target) === 1;
        const target = Number((attrs as { target: number }).target);
        const sig = () => tf.sigmoid(one ? tf.neg(x) : x);
        return {
          x: () => {
            const y = sig();
            return tf.mul(tf.mul(dy as tf.Tensor, scaled), tf.mul(y, tf.sub(1, y)));
          },
          scaled: () => {
            const y = sig();
            return tf.reshape(tf.sum(tf.mul(dy as tf.Tensor, one ? tf.neg(y) : tf.sub(y, target))), scaled.shape);
          },
        };
      },
    });
  }
  for (const [kernelName, kernelFunc] of [
    [BCE_MEAN_KERNEL, bceMeanKernel],
    [BCE_MEAN_GRAD_KERNEL, bceMeanGradKernel],
    [MEAN_SIGMOIDS_KERNEL, meanSigmoidsKernel],
  ] as const) {
    if (tf.getKernel(kernelName, 'webgpu') === undefined) tf.registerKernel({ kernelName, backendName: 'webgpu', kernelFunc });
  }
  return fusedLossesInstalled();
}

/** Unregisters the kernels (the built-in losses use tfjs's ops again); returns whether they were registered. */
export function uninstallFusedLosses(): boolean {
  const was = fusedLossesInstalled();
  for (const name of [BCE_MEAN_KERNEL, BCE_MEAN_GRAD_KERNEL, MEAN_SIGMOIDS_KERNEL]) {
    if (tf.getKernel(name, 'webgpu') !== undefined) tf.unregisterKernel(name, 'webgpu');
  }
  return was;
}

/** Whether {@link bceMean} runs the fused kernels on webgpu. */
export function fusedLossesInstalled(): boolean {
  return tf.getKernel(BCE_MEAN_KERNEL, 'webgpu') !== undefined && tf.getKernel(BCE_MEAN_GRAD_KERNEL, 'webgpu') !== undefined;
}

/**
 * Mean binary cross-entropy of logits against a constant target t: `mean(softplus(−l))` for t = 1,
 * `mean(softplus(l) − l·t)` otherwise — through tfjs's ops, or on webgpu with the tune-up's `losses`
 * part installed, one dispatch forward and one backward with the same operations.
 */
export function bceMean(logits: tf.Tensor, target: number): tf.Scalar {
  // Targets 1 and 0 only: for another target (label smoothing's real term) tfjs adds the gradient's two
  // terms into the logits' total one at a time, which a single fused term cannot reproduce bit for bit
  // when something else also differentiates the same logits.
  const fusable = target === 1 || target === 0;
  if (fusable && tf.getBackend() === 'webgpu' && logits.dtype === 'float32' && logits.size > 0 && fusedLossesInstalled()) {
    return tf.engine().runKernel(BCE_MEAN_KERNEL, { x: logits }, { target }) as tf.Scalar;
  }
  const loss = target === 1 ? tf.softplus(tf.neg(logits)) : tf.sub(tf.softplus(logits), tf.mul(logits, target));
  return tf.mean(loss);
}
