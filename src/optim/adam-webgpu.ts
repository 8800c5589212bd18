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
import type { WebGPUBackendLike } from '../backends/kernel-backends';
import { ElementwiseProgram } from '../backends/webgpu-program';

/** Which output a program writes. */
type Part = 'm' | 'v' | 'w';

/**
 * Each part's inputs, uniforms and shader body. The bodies follow tfjs's op sequence
 * (`AdamOptimizer.applyGradients`) operation by operation, each result rounded to float32.
 */
const PARTS: Readonly<Record<Part, readonly [variableNames: string[], uniforms: string, body: string]>> = {
  // m' = m·β1 + g·(1−β1)
  m: [
    ['M', 'G'],
    'beta1 : f32, oneMinusBeta1 : f32,',
    `let a = M[index] * uniforms.beta1;
          let b = G[index] * uniforms.oneMinusBeta1;
          result[index] = a + b;`,
  ],
  // v' = v·β2 + g²·(1−β2)
  v: [
    ['V', 'G'],
    'beta2 : f32, oneMinusBeta2 : f32,',
    `let a = V[index] * uniforms.beta2;
          let g = G[index];
          let g2 = g * g;
          let b = g2 * uniforms.oneMinusBeta2;
          result[index] = a + b;`,
  ],
  // w' = (m'/(1−β1ᵗ)) / (√(v'/(1−β2ᵗ)) + ε) · (−lr) + w. C1 = 1 − β1ᵗ and C2 = 1 − β2ᵗ: one-element
  // tensors, so no value is read back to the CPU.
  w: [
    ['W', 'M', 'V', 'C1', 'C2'],
    'epsilon : f32, negLearningRate : f32,',
    `let mHat = M[index] / C1[0];
          let vHat = V[index] / C2[0];
          let root = sqrt(vHat);
          let denominator = root + uniforms.epsilon;
          let ratio = mHat / denominator;
          let step = ratio * uniforms.negLearningRate;
          result[index] = step + W[index];`,
  ],
};

/** One of the three programs. */
class FusedAdamProgram extends ElementwiseProgram {
  constructor(part: Part, shape: readonly number[]) {
    const [variableNames, uniforms, body] = PARTS[part];
    super(`tfjsGanFusedAdam_${part}`, [...variableNames], uniforms, shape, body);
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
