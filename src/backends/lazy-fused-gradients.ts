/**
 * Lazy gradients for tfjs-core's fused ops: only the input gradients backprop asks for are computed.
 *
 * tfjs-core differentiates `tf.fused.matMul` and `tf.fused.conv2d` — what tfjs-layers' `Dense` and
 * `Conv2D` run — with a `customGrad` whose gradient function computes every input's gradient at
 * once: the input's, the weights' and the bias's. Backprop then uses only those on the path from the
 * variables being trained to the loss. A GAN wastes many: in the generator's update the
 * discriminator's weight gradients are computed and thrown away (one product and one bias sum per
 * dense layer, a `Conv2DBackpropFilter` per convolution), and in the discriminator's update so is the
 * gradient of its first layer's input (the images: a 100×256·256×784 product per batch on the MNIST
 * MLP, twice). For the MNIST MLP GAN that is 6 of 24 backward products and 3 of 12 bias-gradient sums a step.
 *
 * {@link installLazyFusedGradients} gives the tape node of each of these ops a gradient function
 * whose input gradients are thunks, as tfjs-core's registered gradients of unfused kernels already
 * are, so that backprop runs only those it needs. Each thunk runs exactly the kernels tfjs-core's own
 * gradient runs for that input (the same products with the same transposes, the same bias sum, the
 * same `Conv2DBackpropInput`/`Conv2DBackpropFilter`), so every gradient computed has the same bits,
 * and second-order gradients (gradient penalties) differentiate through the same ops.
 *
 * How: tfjs-core records a `customGrad` op on the tape under its op's name (`fusedMatMul__op`,
 * `fusedConv2d__op`) without the kernel's attributes (transposes, strides, padding). The install
 * wraps two methods of the engine object (`tf.engine()`): `runKernel` notes the inputs and attributes
 * of each `_FusedMatMul`/`FusedConv2D` kernel run while gradients are recorded, and `addTapeNode`
 * swaps the gradient function of the op's node when the node's inputs are that kernel's inputs —
 * the same tensor objects; otherwise, and for what the lazy gradient does not cover (NCHW, dilations,
 * PReLU, activations other than linear — tfjs-core fuses no other while recording gradients), the node
 * keeps tfjs's gradient. `tf.fused.depthwiseConv2d` keeps tfjs's gradient too.
 *
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';

/** tfjs-core's `NamedGradientMap` (not exported): a thunk per input. */
type GradMap = Record<string, () => tf.Tensor>;
type GradFunc = (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs?: tf.NamedAttrMap) => GradMap;

/** The parts of tfjs-core's `Engine` that are wrapped (`addTapeNode` is private in its typings). */
interface EngineLike {
  state: { gradientDepth: number };
  runKernel(kernelName: string, inputs: tf.NamedTensorMap, attrs?: tf.NamedAttrMap): tf.Tensor | tf.Tensor[];
  addTapeNode(
    kernelName: string,
    inputs: tf.NamedTensorMap,
    outputs: tf.Tensor[],
    gradientsFunc: GradFunc | null | undefined,
    saved: tf.Tensor[],
    attrs: tf.NamedAttrMap | undefined,
  ): void;
}

/** The last fused kernel run while gradients were being recorded. */
interface FusedRun {
  readonly kernel: string;
  readonly inputs: tf.NamedTensorMap;
  readonly attrs: tf.NamedAttrMap;
}

/** The op (tape node name) of each fused kernel, and the kernel's input names in the op's order. */
const OPS: Readonly<Record<string, { readonly op: string; readonly inputs: readonly [string, string] }>> = {
  _FusedMatMul: { op: 'fusedMatMul__op', inputs: ['a', 'b'] },
  FusedConv2D: { op: 'fusedConv2d__op', inputs: ['x', 'filter'] },
};

interface Patch {
  active: boolean;
  pending: FusedRun | undefined;
  readonly runKernel: EngineLike['runKernel'];
  readonly addTapeNode: EngineLike['addTapeNode'];
  /** The engine's own properties before the install (normally none: the methods are on its prototype). */
  readonly ownBefore: { runKernel: PropertyDescriptor | undefined; addTapeNode: PropertyDescriptor | undefined };
}

const patches = new WeakMap<object, Patch>();

/** The bias gradient, as tfjs-core's `getFusedBiasGradient`. */
function biasGradient(bias: tf.Tensor, dy: tf.Tensor): tf.Tensor {
  const axes = tf.backend_util.getReductionAxes(bias.shape, dy.shape);
  return tf.reshape(axes.length > 0 ? tf.sum(dy, axes) : dy, bias.shape);
}

type Product = (d: tf.Tensor3D, a: tf.Tensor3D, b: tf.Tensor3D) => tf.Tensor;

/**
 * tfjs-core's fused matMul gradient (`fusedMatMul_`'s `grad`), case by case: for each pair of
 * transposes (`transposeA`, `transposeB`), the products giving a's and b's gradients from dy (`d`).
 */
const MATMUL_GRADIENTS: Readonly<Record<string, readonly [Product, Product]>> = {
  'false,false': [(d, _a, b) => tf.matMul(d, b, false, true), (d, a) => tf.matMul(a, d, true, false)],
  'false,true': [(d, _a, b) => tf.matMul(d, b, false, false), (d, a) => tf.matMul(d, a, true, false)],
  'true,false': [(d, _a, b) => tf.matMul(b, d, false, true), (d, a) => tf.matMul(a, d, false, false)],
  'true,true': [(d, _a, b) => tf.matMul(b, d, true, true), (d, a) => tf.matMul(d, a, true, true)],
};

/** tfjs-core's fused matMul gradient (linear activation), one thunk per input. */
function matMulGradient(attrs: tf.NamedAttrMap): GradFunc {
  const [aGradient, bGradient] = MATMUL_GRADIENTS[`${attrs.transposeA === true},${attrs.transposeB === true}`] as readonly [
    Product,
    Product,
  ];
  return (dy, saved) => {
    const [a3D, b3D, y, bias] = saved as [tf.Tensor3D, tf.Tensor3D, tf.Tensor, tf.Tensor | undefined];
    // Linear activation: tfjs-core's getFusedDyActivation returns dy itself.
    const d = tf.reshape(dy as tf.Tensor, y.shape as [number, number, number]) as tf.Tensor3D;
    const grads: GradMap = { 0: () => aGradient(d, a3D, b3D), 1: () => bGradient(d, a3D, b3D) };
    if (bias !== undefined) grads[2] = () => biasGradient(bias, d);
    return grads;
  };
}

/** tfjs-core's fused conv2d gradient (`fusedConv2d_`'s `grad`: NHWC, no dilation, linear activation), one thunk per input. */
function conv2dGradient(attrs: tf.NamedAttrMap): GradFunc {
  const strides = attrs.strides as [number, number] | number;
  const pad = attrs.pad as 'valid' | 'same' | number;
  return (dy, saved) => {
    const [filter, x4D, , bias] = saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor, tf.Tensor | undefined];
    const d = dy as tf.Tensor4D; // linear activation
    const grads: GradMap = {
      // tfjs-core: conv2DBackpropInput(x4D.shape, dy, filter, strides, pad) — what conv2dTranspose runs.
      0: () => tf.conv2dTranspose(d, filter, x4D.shape, strides, pad),
      // tfjs-core: conv2DBackpropFilter(x4D, dy, filter.shape, strides, pad) — not exported, so its kernel.
      1: () =>
        tf.engine().runKernel('Conv2DBackpropFilter', { x: x4D, dy: d.rank === 3 ? tf.reshape(d, [1, ...d.shape]) : d }, {
          strides,
          pad,
          dataFormat: 'NHWC',
          dimRoundingMode: undefined,
          filterShape: filter.shape,
        } as unknown as tf.NamedAttrMap) as tf.Tensor,
    };
    if (bias !== undefined) grads[2] = () => biasGradient(bias, d);
    return grads;
  };
}

/** The lazy gradient for a node, or undefined where tfjs's must stay. */
function lazyGradient(run: FusedRun, inputs: tf.NamedTensorMap, saved: tf.Tensor[]): GradFunc | undefined {
  const names = OPS[run.kernel]?.inputs;
  if (names === undefined) return undefined;
  // The node must be this kernel's op: the same tensor objects, in the op's order (bias third when there is one).
  if (inputs[0] !== run.inputs[names[0]] || inputs[1] !== run.inputs[names[1]] || inputs[2] !== run.inputs.bias) return undefined;
  if (run.inputs.preluActivationWeights != null) return undefined;
  const { attrs } = run;
  // While gradients are recorded tfjs-core fuses linear activations only (shouldFuse); anything else keeps tfjs's gradient.
  if (attrs.activation !== 'linear' && attrs.activation != null) return undefined;
  if (saved.length !== (run.inputs.bias === undefined ? 3 : 4)) return undefined;
  if (run.kernel === '_FusedMatMul') return matMulGradient(attrs);
  const dilations = attrs.dilations as number[] | number | undefined;
  const unitDilations = dilations == null || (Array.isArray(dilations) ? dilations.every((v) => v === 1) : dilations === 1);
  if (attrs.dataFormat !== 'NHWC' || !unitDilations) return undefined; // tfjs's gradient throws its own error
  return conv2dGradient(attrs);
}

function engine(): EngineLike {
  return tf.engine() as unknown as EngineLike;
}

/**
 * Makes backprop through `tf.fused.matMul` and `tf.fused.conv2d` (tfjs-layers' `Dense` and `Conv2D`)
 * compute only the input gradients it uses — the same values, bit for bit, fewer kernels. Wraps two
 * methods of tfjs-core's engine object (`runKernel`, `addTapeNode`); global, like tfjs's registries.
 * Idempotent. A `GANTrainer` installs it when it is made, unless `backendTuneUp` is `false` or
 * `{ lazyFusedGradients: false }`; {@link uninstallLazyFusedGradients} takes it out (until the next
 * trainer is made).
 *
 * @returns `true` (it is in place after the call).
 */
export function installLazyFusedGradients(): boolean {
  const e = engine();
  const existing = patches.get(e);
  if (existing !== undefined) {
    existing.active = true;
    return true;
  }
  const own = (name: 'runKernel' | 'addTapeNode') => Object.getOwnPropertyDescriptor(e, name);
  const ownBefore = { runKernel: own('runKernel'), addTapeNode: own('addTapeNode') };
  const runKernel = e.runKernel;
  const addTapeNode = e.addTapeNode;
  const patch: Patch = {
    active: true,
    pending: undefined,
    ownBefore,
    runKernel(this: EngineLike, kernelName, inputs, attrs) {
      if (patch.active && this.state.gradientDepth > 0 && Object.hasOwn(OPS, kernelName)) {
        patch.pending = { kernel: kernelName, inputs, attrs: attrs ?? {} };
      }
      return runKernel.call(this, kernelName, inputs, attrs);
    },
    addTapeNode(this: EngineLike, kernelName, inputs, outputs, gradientsFunc, saved, attrs) {
      const run = patch.pending;
      let grad = gradientsFunc;
      if (run !== undefined && kernelName === OPS[run.kernel]?.op) {
        patch.pending = undefined;
        if (patch.active && gradientsFunc != null) grad = lazyGradient(run, inputs, saved) ?? gradientsFunc;
      }
      addTapeNode.call(this, kernelName, inputs, outputs, grad, saved, attrs);
    },
  };
  e.runKernel = patch.runKernel;
  e.addTapeNode = patch.addTapeNode;
  patches.set(e, patch);
  return true;
}

/**
 * Takes {@link installLazyFusedGradients} out: tfjs's gradients again for ops recorded from now on.
 * Where someone else has wrapped the same engine methods since, the wrappers stay in place but pass
 * everything through. Returns whether it was installed.
 */
export function uninstallLazyFusedGradients(): boolean {
  const e = engine();
  const patch = patches.get(e);
  if (patch === undefined || !patch.active) return false;
  patch.active = false;
  patch.pending = undefined;
  if (e.runKernel === patch.runKernel && e.addTapeNode === patch.addTapeNode) {
    for (const name of ['runKernel', 'addTapeNode'] as const) {
      const before = patch.ownBefore[name];
      if (before === undefined) delete (e as Partial<EngineLike>)[name];
      else Object.defineProperty(e, name, before);
    }
    patches.delete(e);
  }
  return true;
}

/** Whether {@link installLazyFusedGradients} is in effect on tfjs-core's engine. */
export function lazyFusedGradientsInstalled(): boolean {
  return patches.get(engine())?.active === true;
}
