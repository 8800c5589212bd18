/**
 * The fused Adam kernel for tfjs-backend-webgpu: three compute shaders per variable (new m, new v,
 * new weights) instead of tfjs's fourteen element-wise kernels. On a real GPU a training step is
 * bound by the CPU cost of enqueueing kernels (about 0.1 ms each through Dawn), not by the GPU, so
 * the number of dispatches is what counts.
 *
 * Works through tfjs-core's kernel registry and the backend's `runWebGPUProgram`, structurally: the
 * library does not import `@tensorflow/tfjs-backend-webgpu`.
 *
 * @module
 */
import type * as tf from '@tensorflow/tfjs-core';

/** The part of tfjs-backend-webgpu's `WebGPUBackend` the kernel uses. */
interface WebGPUBackendLike {
  runWebGPUProgram(
    program: object,
    inputs: tf.TensorInfo[],
    outputDtype: tf.DataType,
    programDefinedUniform?: { type: 'float32' | 'int32'; data: number[] }[],
  ): tf.TensorInfo;
}

/** Which output a program writes. */
type Part = 'm' | 'v' | 'w';

const WORKGROUP = 128;

/**
 * One of the three programs, in the shape tfjs-backend-webgpu's `runWebGPUProgram` expects
 * (the fields of its `WebGPUProgram` interface). The shader body follows tfjs's op sequence
 * (`AdamOptimizer.applyGradients`) operation by operation, each result rounded to float32.
 */
class FusedAdamProgram {
  readonly variableNames: string[];
  readonly outputShape: number[];
  readonly shaderKey: string;
  readonly dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  readonly workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  readonly size = true;
  readonly uniforms: string;

  constructor(
    readonly part: Part,
    shape: readonly number[],
  ) {
    this.outputShape = [...shape];
    this.dispatchLayout = { x: shape.map((_, i) => i) };
    const n = shape.reduce((a, b) => a * b, 1);
    this.dispatch = [Math.ceil(n / WORKGROUP), 1, 1];
    this.shaderKey = `tfjsGanFusedAdam_${part}`;
    if (part === 'm') {
      this.variableNames = ['M', 'G'];
      this.uniforms = 'beta1 : f32, oneMinusBeta1 : f32,';
    } else if (part === 'v') {
      this.variableNames = ['V', 'G'];
      this.uniforms = 'beta2 : f32, oneMinusBeta2 : f32,';
    } else {
      // C1 = 1 − β1ᵗ and C2 = 1 − β2ᵗ: one-element tensors, so no value is read back to the CPU.
      this.variableNames = ['W', 'M', 'V', 'C1', 'C2'];
      this.uniforms = 'epsilon : f32, negLearningRate : f32,';
    }
  }

  getUserCode(): string {
    const body =
      this.part === 'm'
        ? // m' = m·β1 + g·(1−β1)
          `let a = M[index] * uniforms.beta1;
          let b = G[index] * uniforms.oneMinusBeta1;
          result[index] = a + b;`
        : this.part === 'v'
          ? // v' = v·β2 + g²·(1−β2)
            `let a = V[index] * uniforms.beta2;
          let g = G[index];
          let g2 = g * g;
          let b = g2 * uniforms.oneMinusBeta2;
          result[index] = a + b;`
          : // w' = (m'/(1−β1ᵗ)) / (√(v'/(1−β2ᵗ)) + ε) · (−lr) + w
            `let mHat = M[index] / C1[0];
          let vHat = V[index] / C2[0];
          let root = sqrt(vHat);
          let denominator = root + uniforms.epsilon;
          let ratio = mHat / denominator;
          let step = ratio * uniforms.negLearningRate;
          result[index] = step + W[index];`;
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          ${body}
        }
      }`;
  }
}

/** The constants of one update, as the float32 values tfjs would upload. */
export interface WebGPUAdamConstants {
  readonly beta1: number;
  readonly oneMinusBeta1: number;
  readonly beta2: number;
  readonly oneMinusBeta2: number;
  readonly epsilon: number;
  readonly negLearningRate: number;
}

/**
 * Runs the three programs for one variable: returns `[w', m', v']` as new tensor infos (the
 * engine takes ownership). `c1`, `c2` are the one-element tensors 1 − β1ᵗ and 1 − β2ᵗ.
 */
export function webgpuFusedAdam(
  backend: unknown,
  w: tf.TensorInfo,
  m: tf.TensorInfo,
  v: tf.TensorInfo,
  g: tf.TensorInfo,
  c1: tf.TensorInfo,
  c2: tf.TensorInfo,
  k: WebGPUAdamConstants,
): tf.TensorInfo[] {
  const b = backend as WebGPUBackendLike;
  const f = (...data: number[]) => data.map((x) => ({ type: 'float32' as const, data: [x] }));
  const newM = b.runWebGPUProgram(new FusedAdamProgram('m', w.shape), [m, g], 'float32', f(k.beta1, k.oneMinusBeta1));
  const newV = b.runWebGPUProgram(new FusedAdamProgram('v', w.shape), [v, g], 'float32', f(k.beta2, k.oneMinusBeta2));
  const newW = b.runWebGPUProgram(
    new FusedAdamProgram('w', w.shape),
    [w, newM, newV, c1, c2],
    'float32',
    f(k.epsilon, k.negLearningRate),
  );
  return [newW, newM, newV];
}
