/**
 * The fused Adam kernel for tfjs-backend-webgpu. On a real GPU a training step is bound by the CPU
 * cost of enqueueing kernels (tens of µs each through Dawn), not by the GPU, so the number of
 * dispatches is what counts: tfjs's Adam runs fourteen element-wise kernels per variable; this runs
 * **one compute shader per variable**, which
 * writes the new weights to a new tensor and the new moments over the old ones — the optimizer's
 * `m`/`v` slot variables, which nothing else references (checked: the backend's reference count is
 * 1; otherwise three shaders write three new tensors, as before). The bias corrections 1 − βᵗ are
 * inputs, computed as tfjs computes them (tfjs-backend-webgpu runs such scalar arithmetic on the CPU
 * and uploads the result), so nothing is read back to the CPU.
 *
 * Works through tfjs-core's kernel registry and, structurally, the backend's `runWebGPUProgram` and
 * (for the one-shader program, whose shader tfjs's program model cannot express: three outputs)
 * `recordAndSubmit`: the library does not import `@tensorflow/tfjs-backend-webgpu`.
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

/** Order of the constants in the one-shader program's `K` tensor (see {@link webgpuAdamConstantValues}). */
export function webgpuAdamConstantValues(k: WebGPUAdamConstants): number[] {
  return [k.beta1, k.oneMinusBeta1, k.beta2, k.oneMinusBeta2, k.epsilon, k.negLearningRate];
}

const WORKGROUP = 64;

/**
 * The one-shader update: `result` (binding 0) gets w', `M` and `V` are overwritten with m' and v'.
 * The same operations in the same order as the three programs above. Eight storage buffers (WebGPU's
 * default per-stage limit, which tfjs does not raise); binding 8 is tfjs's uniform buffer, unused but
 * bound by `recordAndSubmit` (`_ = uniforms.nan` keeps it in the layout).
 */
const ONE_SHADER = `
struct Uniforms { nan : f32 };
@group(0) @binding(0) var<storage, read_write> result : array<f32>;
@group(0) @binding(1) var<storage, read> W : array<f32>;
@group(0) @binding(2) var<storage, read_write> M : array<f32>;
@group(0) @binding(3) var<storage, read_write> V : array<f32>;
@group(0) @binding(4) var<storage, read> G : array<f32>;
@group(0) @binding(5) var<storage, read> C1 : array<f32>;
@group(0) @binding(6) var<storage, read> C2 : array<f32>;
@group(0) @binding(7) var<storage, read> K : array<f32>;
@group(0) @binding(8) var<uniform> uniforms : Uniforms;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) id : vec3<u32>, @builtin(num_workgroups) groups : vec3<u32>) {
  _ = uniforms.nan;
  let index = id.x + id.y * groups.x * ${WORKGROUP}u;
  if (index >= arrayLength(&result)) {
    return;
  }
  let g = G[index];
  let ma = M[index] * K[0];
  let mb = g * K[1];
  let m = ma + mb;
  let va = V[index] * K[2];
  let g2 = g * g;
  let vb = g2 * K[3];
  let v = va + vb;
  let mHat = m / C1[0];
  let vHat = v / C2[0];
  let root = sqrt(vHat);
  let denominator = root + K[4];
  let ratio = mHat / denominator;
  let step = ratio * K[5];
  result[index] = step + W[index];
  M[index] = m;
  V[index] = v;
}`;

/** The parts of tfjs-backend-webgpu's `WebGPUBackend` the one-shader update needs (4.x). */
interface WebGPUInternals extends WebGPUBackendLike {
  device: {
    createShaderModule(d: { code: string; label?: string }): unknown;
    createComputePipeline(d: object): unknown;
    limits: { maxComputeWorkgroupsPerDimension: number };
  };
  tensorMap: { get(dataId: tf.DataId): { refCount: number; dtype: string } | undefined };
  makeTensorInfo(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  uploadToGPU(dataId: tf.DataId): void;
  incRef(dataId: tf.DataId): void;
  recordAndSubmit(program: object, output: tf.TensorInfo, inputs: tf.TensorInfo[], uniforms?: unknown): void;
}

/** The program record `recordAndSubmit` reads (a tfjs `WebGPUProgram`'s fields; named for tfjs's profiles). */
class TfjsGanFusedAdamOneShader {
  readonly shaderKey = 'tfjsGanFusedAdam_oneShader';
  readonly variableNames = ['W', 'M', 'V', 'G', 'C1', 'C2', 'K'];
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

/** Whether the one-shader update may run: the backend's internals are there, and m and v are referenced by their variables only. */
function canUpdateInPlace(
  b: Partial<WebGPUInternals>,
  t: Readonly<Record<'w' | 'm' | 'v' | 'g' | 'c1' | 'c2' | 'k', tf.TensorInfo>>,
): boolean {
  if (
    typeof b.recordAndSubmit !== 'function' ||
    typeof b.incRef !== 'function' ||
    b.tensorMap === undefined ||
    b.device === undefined
  )
    return false;
  // A buffer written in a dispatch may not be bound a second time in it.
  const others = [t.w, t.g, t.c1, t.c2, t.k].map((x) => x.dataId);
  if (t.m.dataId === t.v.dataId || others.includes(t.m.dataId) || others.includes(t.v.dataId)) return false;
  return [t.m, t.v].every((x) => {
    const data = b.tensorMap?.get(x.dataId);
    return data !== undefined && data.refCount === 1 && data.dtype === 'float32';
  });
}

/**
 * Updates one variable: returns `[w', m', v']` as tensor infos (the engine takes ownership). `c1`, `c2`
 * are the one-element tensors 1 − β1ᵗ and 1 − β2ᵗ; `k` the six constants of
 * {@link webgpuAdamConstantValues} as a float32 tensor. With the one shader, m' and v' are `m` and `v`
 * themselves, updated in place (one more reference each, as tfjs's sharing kernels return).
 */
export function webgpuFusedAdam(
  backend: unknown,
  t: Readonly<Record<'w' | 'm' | 'v' | 'g' | 'c1' | 'c2' | 'k', tf.TensorInfo>>,
  k: WebGPUAdamConstants,
): tf.TensorInfo[] {
  const { w, m, v, g, c1, c2 } = t;
  const n = w.shape.reduce((a, d) => a * d, 1);
  if (n > 0 && canUpdateInPlace(backend as Partial<WebGPUInternals>, t)) {
    const b = backend as WebGPUInternals;
    const flat = (x: tf.TensorInfo): tf.TensorInfo => ({
      dataId: x.dataId,
      shape: [x.shape.reduce((a, d) => a * d, 1)],
      dtype: x.dtype,
    });
    const newW = b.makeTensorInfo([...w.shape], 'float32');
    b.uploadToGPU(newW.dataId); // allocates its buffer
    const inputs = [w, m, v, g, c1, c2, t.k];
    for (const x of inputs) b.uploadToGPU(x.dataId);
    const program = new TfjsGanFusedAdamOneShader(oneShaderPipeline(b), n, b.device.limits.maxComputeWorkgroupsPerDimension);
    b.recordAndSubmit(program, flat(newW), inputs.map(flat));
    b.incRef(m.dataId);
    b.incRef(v.dataId);
    return [
      newW,
      { dataId: m.dataId, shape: [...m.shape], dtype: 'float32' },
      { dataId: v.dataId, shape: [...v.shape], dtype: 'float32' },
    ];
  }
  const bk = backend as WebGPUBackendLike;
  const f = (...data: number[]) => data.map((x) => ({ type: 'float32' as const, data: [x] }));
  const newM = bk.runWebGPUProgram(new FusedAdamProgram('m', w.shape), [m, g], 'float32', f(k.beta1, k.oneMinusBeta1));
  const newV = bk.runWebGPUProgram(new FusedAdamProgram('v', w.shape), [v, g], 'float32', f(k.beta2, k.oneMinusBeta2));
  const newW = bk.runWebGPUProgram(
    new FusedAdamProgram('w', w.shape),
    [w, newM, newV, c1, c2],
    'float32',
    f(k.epsilon, k.negLearningRate),
  );
  return [newW, newM, newV];
}
