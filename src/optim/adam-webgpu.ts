/**
 * The fused Adam kernel for tfjs-backend-webgpu. On a real GPU a training step is bound by the CPU
 * cost of enqueueing kernels (tens of µs each through Dawn), not by the GPU, so the number of
 * dispatches is what counts: tfjs's Adam runs fourteen element-wise kernels per variable; this runs
 * **one compute shader per variable**, writing the new weights and both new moments to three new
 * tensors (nothing is written in place: tfjs-backend-webgpu keeps a CPU copy of whatever was read, and
 * tensors are immutable). The bias corrections 1 − βᵗ and the six constants travel in one small
 * tensor `p`, made on the CPU as tfjs-backend-webgpu makes such scalar arithmetic and uploaded once
 * per update, so nothing is read back to the CPU.
 *
 * Works through tfjs-core's kernel registry and, structurally, the backend's `runWebGPUProgram` and
 * (for the one-shader program, which tfjs's program model cannot express: three outputs)
 * `recordAndSubmit`: the library does not import `@tensorflow/tfjs-backend-webgpu`. Where those
 * internals are missing, or tfjs only compiles programs (`WEBGPU_ENGINE_COMPILE_ONLY`), three
 * programs of tfjs's model run instead (new m, new v, new weights), with the same arithmetic.
 *
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import type { WebGPUBackendLike } from '../backends/kernel-backends';
import { ElementwiseProgram, flatInfo } from '../backends/webgpu-program';

/** Which output a program writes. */
type Part = 'm' | 'v' | 'w';

/**
 * Each part's inputs, uniforms and shader body. The bodies follow tfjs's op sequence
 * (`AdamOptimizer.applyGradients`) operation by operation, each result rounded to float32.
 */
const PARTS: Readonly<Record<Part, readonly [variableNames: string[], uniforms: string, body: string]>> = {
  // m' = m·β1 + g·(1−β1), kept as m where the guard P[8] is not above 0.
  m: [
    ['M', 'G', 'P'],
    'beta1 : f32, oneMinusBeta1 : f32,',
    `let a = M[index] * uniforms.beta1;
          let b = G[index] * uniforms.oneMinusBeta1;
          result[index] = select(M[index], a + b, P[8] > 0.0);`,
  ],
  // v' = v·β2 + g²·(1−β2), kept likewise
  v: [
    ['V', 'G', 'P'],
    'beta2 : f32, oneMinusBeta2 : f32,',
    `let a = V[index] * uniforms.beta2;
          let g = G[index];
          let g2 = g * g;
          let b = g2 * uniforms.oneMinusBeta2;
          result[index] = select(V[index], a + b, P[8] > 0.0);`,
  ],
  // w' = (m'/(1−β1ᵗ)) / (√(v'/(1−β2ᵗ)) + ε) · (−lr) + w. P[0] = 1 − β1ᵗ and P[1] = 1 − β2ᵗ (see
  // webgpuAdamConstantValues), so no value is read back to the CPU. (Where the guard says no, m' = m
  // and v' = v were kept by the programs above, and w is kept here.)
  w: [
    ['W', 'M', 'V', 'P'],
    'epsilon : f32, negLearningRate : f32,',
    `let mHat = M[index] / P[0];
          let vHat = V[index] / P[1];
          let root = sqrt(vHat);
          let denominator = root + uniforms.epsilon;
          let ratio = mHat / denominator;
          let step = ratio * uniforms.negLearningRate;
          result[index] = select(W[index], step + W[index], P[8] > 0.0);`,
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
 * The six constants in the order of the kernel's `p` input after 1 − β1ᵗ and 1 − β2ᵗ:
 * `p = [1 − β1ᵗ, 1 − β2ᵗ, β1, 1 − β1, β2, 1 − β2, ε, −lr, guard]` (the update applies where `guard > 0`).
 */
export function webgpuAdamConstantValues(k: WebGPUAdamConstants): number[] {
  return [k.beta1, k.oneMinusBeta1, k.beta2, k.oneMinusBeta2, k.epsilon, k.negLearningRate];
}

const WORKGROUP = 64;

/**
 * The one-shader update: w' to `result` (binding 0), m' to `MOut`, v' to `VOut` — three new tensors;
 * where the guard `P[8]` is not above 0 (a skipped update) they are copies of w, m and v.
 * The same operations in the same order as the three programs above. Eight storage buffers (WebGPU's
 * default per-stage limit, which tfjs does not raise); binding 8 is tfjs's uniform buffer, unused but
 * bound by `recordAndSubmit` (`_ = uniforms.nan` keeps it in the layout).
 */
const ONE_SHADER = `
struct Uniforms { nan : f32 };
@group(0) @binding(0) var<storage, read_write> result : array<f32>;
@group(0) @binding(1) var<storage, read> W : array<f32>;
@group(0) @binding(2) var<storage, read> M : array<f32>;
@group(0) @binding(3) var<storage, read> V : array<f32>;
@group(0) @binding(4) var<storage, read> G : array<f32>;
@group(0) @binding(5) var<storage, read> P : array<f32>;
@group(0) @binding(6) var<storage, read_write> MOut : array<f32>;
@group(0) @binding(7) var<storage, read_write> VOut : array<f32>;
@group(0) @binding(8) var<uniform> uniforms : Uniforms;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) id : vec3<u32>, @builtin(num_workgroups) groups : vec3<u32>) {
  _ = uniforms.nan;
  let index = id.x + id.y * groups.x * ${WORKGROUP}u;
  if (index >= arrayLength(&result)) {
    return;
  }
  let g = G[index];
  let ma = M[index] * P[2];
  let mb = g * P[3];
  let m = ma + mb;
  let va = V[index] * P[4];
  let g2 = g * g;
  let vb = g2 * P[5];
  let v = va + vb;
  let mHat = m / P[0];
  let vHat = v / P[1];
  let root = sqrt(vHat);
  let denominator = root + P[6];
  let ratio = mHat / denominator;
  let step = ratio * P[7];
  let apply = P[8] > 0.0;
  result[index] = select(W[index], step + W[index], apply);
  MOut[index] = select(M[index], m, apply);
  VOut[index] = select(V[index], v, apply);
}`;

/** The parts of tfjs-backend-webgpu's `WebGPUBackend` the one-shader update needs (4.x). */
interface WebGPUInternals extends WebGPUBackendLike {
  device: {
    createShaderModule(d: { code: string; label?: string }): unknown;
    createComputePipeline(d: object): unknown;
    limits: { maxComputeWorkgroupsPerDimension: number };
  };
  makeTensorInfo(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  uploadToGPU(dataId: tf.DataId): void;
  recordAndSubmit(program: object, output: tf.TensorInfo, inputs: tf.TensorInfo[], uniforms?: unknown): void;
}

/** The program record `recordAndSubmit` reads (a tfjs `WebGPUProgram`'s fields; named for tfjs's profiles). */
class TfjsGanFusedAdamOneShader {
  readonly shaderKey = 'tfjsGanFusedAdam_oneShader';
  readonly variableNames = ['W', 'M', 'V', 'G', 'P', 'MOut', 'VOut'];
  readonly outputShape: number[];
  readonly dispatch: [number, number, number];
  readonly workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  constructor(
    readonly pipeline: unknown,
    n: number,
    maxPerDimension: number,
  ) {
    this.outputShape = [n];
    const groups = Math.ceil(n / WORKGROUP);
    const y = Math.ceil(groups / maxPerDimension);
    this.dispatch = [Math.ceil(groups / y), y, 1];
  }
}

const pipelines = new WeakMap<object, unknown>();

function oneShaderPipeline(b: WebGPUInternals): unknown {
  let pipeline = pipelines.get(b.device);
  if (pipeline === undefined) {
    const module = b.device.createShaderModule({ code: ONE_SHADER, label: 'TfjsGanFusedAdamOneShader' });
    pipeline = b.device.createComputePipeline({
      layout: 'auto',
      compute: { module, entryPoint: 'main' },
      label: 'TfjsGanFusedAdamOneShader',
    });
    pipelines.set(b.device, pipeline);
  }
  return pipeline;
}

/** Whether the one-shader update can run: the backend's internals are there and tfjs dispatches programs. */
function oneShaderAvailable(b: Partial<WebGPUInternals>): boolean {
  if (typeof b.recordAndSubmit !== 'function' || typeof b.makeTensorInfo !== 'function' || typeof b.uploadToGPU !== 'function')
    return false;
  if (b.device === undefined || typeof b.device.createComputePipeline !== 'function') return false;
  // tfjs's parallel compilation mode compiles programs without running them: so must we.
  return !(tf.env().getFlags().WEBGPU_ENGINE_COMPILE_ONLY === true);
}

/**
 * Updates one variable: returns `[w', m', v']` as new tensor infos (the engine takes ownership). `p`
 * holds `[1 − β1ᵗ, 1 − β2ᵗ, …webgpuAdamConstantValues(k), guard]`; `k` the same constants as numbers, for the
 * three-program path.
 */
export function webgpuFusedAdam(
  backend: unknown,
  t: Readonly<Record<'w' | 'm' | 'v' | 'g' | 'p', tf.TensorInfo>>,
  k: WebGPUAdamConstants,
): tf.TensorInfo[] {
  const { w, m, v, g, p } = t;
  const n = tf.util.sizeFromShape(w.shape);
  if (n > 0 && oneShaderAvailable(backend as Partial<WebGPUInternals>)) {
    const b = backend as WebGPUInternals;
    const outs = [w, m, v].map((x) => b.makeTensorInfo([...x.shape], 'float32'));
    const [newW, newM, newV] = outs as [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo];
    const inputs = [w, m, v, g, p, newM, newV];
    for (const x of [newW, ...inputs]) b.uploadToGPU(x.dataId); // new outputs: their buffers allocated
    const program = new TfjsGanFusedAdamOneShader(oneShaderPipeline(b), n, b.device.limits.maxComputeWorkgroupsPerDimension);
    b.recordAndSubmit(program, flatInfo(newW), inputs.map(flatInfo));
    return outs;
  }
  const bk = backend as WebGPUBackendLike;
  const f = (...data: number[]) => data.map((x) => ({ type: 'float32' as const, data: [x] }));
  const newM = bk.runWebGPUProgram(new FusedAdamProgram('m', w.shape), [m, g, p], 'float32', f(k.beta1, k.oneMinusBeta1));
  const newV = bk.runWebGPUProgram(new FusedAdamProgram('v', w.shape), [v, g, p], 'float32', f(k.beta2, k.oneMinusBeta2));
  const newW = bk.runWebGPUProgram(
    new FusedAdamProgram('w', w.shape),
    [w, newM, newV, p],
    'float32',
    f(k.epsilon, k.negLearningRate),
  );
  return [newW, newM, newV];
}
