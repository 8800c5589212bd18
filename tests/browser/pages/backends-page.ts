// Browser side of tests/browser/backends.test.ts: the conformance suite's body (tests/conformance/cases.ts)
// on each backend the page can use, with the cpu reference computed in the same page.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { wasmSimdKernels } from '../../../src/backends/wasm-simd/index';
import {
  backendUnavailableReason,
  fusedAdamUpdate,
  installWasmTrainingKernels,
  installWebGPUTuneUp,
  nextGuard,
  releaseFusedAdam,
  selectBackend,
  uninstallWebGPUTuneUp,
  webgpuBindGroupCacheStats,
} from '../../../src/index';
import { type BackendResults, runConformance } from '../../conformance/cases';

setWasmPaths('/wasm/'); // served by the test from node_modules/@tensorflow/tfjs-backend-wasm/dist

let reference: Promise<BackendResults> | undefined;

/** Runs the suite on `backend` and (once per page) on cpu; an unusable backend gives its reason instead. */
async function conformance(
  backend: string,
): Promise<{ results?: BackendResults; reference?: BackendResults; unavailable?: string }> {
  const unavailable = backendUnavailableReason(backend);
  if (unavailable !== undefined) return { unavailable };
  try {
    await selectBackend([backend]);
  } catch (e) {
    return { unavailable: e instanceof Error ? e.message : String(e) };
  }
  reference ??= runConformance('cpu');
  const ref = await reference;
  const results = await runConformance(backend);
  await tf.setBackend('cpu');
  return { results, reference: ref };
}

/** For each backend, why it cannot be used in this page, or `null` when it can (it is then initialised). */
async function availability(backends: readonly string[]): Promise<Record<string, string | null>> {
  const out: Record<string, string | null> = {};
  for (const b of backends) {
    try {
      await selectBackend([b]);
      out[b] = null;
    } catch (e) {
      out[b] = e instanceof Error ? e.message : String(e);
    }
  }
  await tf.setBackend('cpu');
  return out;
}

/** What selectBackend() picks with its default order, and the page's WebGPU/WebGL facts. */
async function defaults(): Promise<{ chosen: string; hasGpu: boolean; webglVersion: number }> {
  const chosen = await selectBackend();
  await tf.setBackend('cpu');
  return {
    chosen,
    hasGpu: (navigator as Navigator & { gpu?: unknown }).gpu !== undefined,
    webglVersion: tf.env().getNumber('WEBGL_VERSION'),
  };
}

/** Whether tfjs-gan's own SIMD kernels bind to the wasm backend's memory here, and a product through them. */
async function wasmSimd(): Promise<{ bound: boolean; product: number[] }> {
  await selectBackend(['wasm']);
  installWasmTrainingKernels(); // what GANTrainer installs: the product below goes through tfjs-gan's gemm
  const bound = wasmSimdKernels(tf.backend()) !== undefined;
  const c = tf.matMul(tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]), tf.tensor2d([1, 0, 0, 1, 1, 1], [3, 2]), true, false);
  const product = Array.from(c.dataSync());
  c.dispose();
  await tf.setBackend('cpu');
  return { bound, product };
}

/**
 * The WebGPU tune-up's bind group cache on Chromium's GPUDevice: a small chain of ops repeated, its
 * results without and with the cache, and the cache's misses in the last repetition.
 */
async function webgpuBindGroups(): Promise<{
  installed: boolean;
  stock: number[][];
  cached: number[][];
  lastMisses: number;
  lastHits: number;
}> {
  await selectBackend(['webgpu']);
  const x = tf.randomNormal([40, 30], 0, 1, 'float32', 1); // 1 200 elements and more: computed on the GPU
  const w = tf.randomNormal([30, 50], 0, 1, 'float32', 2);
  const iterate = async (n: number) => {
    const out: number[][] = [];
    let [misses, hits] = [0, 0];
    for (let i = 0; i < n; i++) {
      const before = webgpuBindGroupCacheStats();
      const y = tf.tidy(() => tf.sum(tf.leakyRelu(tf.add(tf.matMul(x, w), tf.scalar(i % 3)), 0.2), 0));
      out.push(Array.from(await y.data()));
      y.dispose();
      const after = webgpuBindGroupCacheStats();
      misses = (after?.misses ?? 0) - (before?.misses ?? 0);
      hits = (after?.hits ?? 0) - (before?.hits ?? 0);
    }
    return { out, misses, hits };
  };
  uninstallWebGPUTuneUp();
  const stock = await iterate(6);
  const installed = installWebGPUTuneUp().bindGroups;
  const cached = await iterate(12);
  uninstallWebGPUTuneUp();
  tf.dispose([x, w]);
  await tf.setBackend('cpu');
  return { installed, stock: stock.out, cached: cached.out.slice(0, 6), lastMisses: cached.misses, lastHits: cached.hits };
}

/**
 * The fused Adam on Chromium's WebGPU: four updates of two variables by `tf.train.adam`'s own
 * `applyGradients` and by `fusedAdamUpdate`, their weights and moments, and the shader keys of the
 * programs the fused updates dispatched (through the backend's `recordAndSubmit`).
 */
async function webgpuFusedAdam(): Promise<{ plain: number[][]; fused: number[][]; programs: string[] }> {
  await selectBackend(['webgpu']);
  const backend = tf.backend() as unknown as { recordAndSubmit: (program: object, ...rest: unknown[]) => void };
  const recordAndSubmit = backend.recordAndSubmit;
  const programs: string[] = [];
  const run = async (fused: boolean) => {
    const w = tf.variable(tf.randomNormal([130, 7], 0, 1, 'float32', 1), true, `browser-adam-w-${fused}`);
    const b = tf.variable(tf.randomNormal([7], 0, 1, 'float32', 2), true, `browser-adam-b-${fused}`);
    const opt = tf.train.adam(0.01, 0.6, 0.999);
    for (let i = 0; i < 4; i++) {
      const grads = tf.tidy(() => ({
        [w.name]: tf.mul(tf.randomNormal([130, 7], 0, 1, 'float32', 10 + i), 3),
        [b.name]: tf.randomNormal([7], 0, 1, 'float32', 20 + i),
      }));
      if (fused) {
        backend.recordAndSubmit = function (this: unknown, program: object, ...rest: unknown[]) {
          programs.push((program as { shaderKey: string }).shaderKey); // (a bundler may rename classes: FillProgram2)
          return recordAndSubmit.call(this, program, ...rest);
        };
        try {
          fusedAdamUpdate(opt, grads);
        } finally {
          backend.recordAndSubmit = recordAndSubmit;
        }
      } else opt.applyGradients(grads as Parameters<typeof opt.applyGradients>[0]);
      tf.dispose(Object.values(grads));
    }
    const slots = opt as unknown as Record<'accumulatedFirstMoment' | 'accumulatedSecondMoment', { variable: tf.Variable }[]>;
    const all = [w, b, ...[...slots.accumulatedFirstMoment, ...slots.accumulatedSecondMoment].map((x) => x.variable)];
    const values = await Promise.all(all.map(async (t) => Array.from(await t.data())));
    releaseFusedAdam(opt);
    opt.dispose();
    tf.dispose([w, b]);
    return values;
  };
  const plain = await run(false);
  const fused = await run(true);
  await tf.setBackend('cpu');
  return { plain, fused, programs };
}

/**
 * The on-device non-finite guard on Chromium's WebGPU: `nextGuard`'s values for a few updates (a NaN,
 * an infinity, overflowing finite values, 13 tensors in three programs), its programs' shader keys, and
 * whether a fused Adam update whose guard says no left the weight and its moments as they were.
 */
async function webgpuGuard(): Promise<{ values: number[]; programs: string[]; skippedUnchanged: boolean }> {
  await selectBackend(['webgpu']);
  const backend = tf.backend() as unknown as { recordAndSubmit: (program: object, ...rest: unknown[]) => void };
  const recordAndSubmit = backend.recordAndSubmit;
  const programs: string[] = [];
  const cases: [number, number[][]][] = [
    [1, [[1, -2], [0.5]]],
    [2, [[3e38, 3e38], [-0]]],
    [2, [[1, Number.NaN]]],
    [3, [[2], [Number.NEGATIVE_INFINITY]]],
    [-2, [[1]]],
    [3, [...Array.from({ length: 12 }, (_, i) => [i, i + 0.5]), [Number.POSITIVE_INFINITY]]],
  ];
  const values: number[] = [];
  for (const [previous, tensors] of cases) {
    const before = tf.tensor1d([previous]);
    const ts = tensors.map((t) => tf.tensor1d(t));
    backend.recordAndSubmit = function (this: unknown, program: object, ...rest: unknown[]) {
      programs.push((program as { shaderKey: string }).shaderKey);
      return recordAndSubmit.call(this, program, ...rest);
    };
    let next: tf.Tensor;
    try {
      next = nextGuard(before, ts);
    } finally {
      backend.recordAndSubmit = recordAndSubmit;
    }
    values.push((await next.data())[0] as number);
    tf.dispose([before, next, ...ts]);
  }
  const w = tf.variable(tf.randomNormal([130, 7], 0, 1, 'float32', 1), true, 'browser-guard-w');
  const opt = tf.train.adam(0.01);
  const grads = (seed: number) => ({ [w.name]: tf.randomNormal([130, 7], 0, 1, 'float32', seed) });
  const g1 = grads(2);
  fusedAdamUpdate(opt, g1); // moments made and moved
  const slots = opt as unknown as Record<'accumulatedFirstMoment' | 'accumulatedSecondMoment', { variable: tf.Variable }[]>;
  const state = () =>
    Promise.all(
      [w, slots.accumulatedFirstMoment[0]?.variable, slots.accumulatedSecondMoment[0]?.variable].map(async (t) =>
        Array.from(await (t as tf.Tensor).data()),
      ),
    );
  const before = await state();
  const g2 = grads(3);
  const no = tf.tensor1d([0]);
  fusedAdamUpdate(opt, g2, { guard: no });
  const after = await state();
  const skippedUnchanged = JSON.stringify(after) === JSON.stringify(before);
  releaseFusedAdam(opt);
  opt.dispose();
  tf.dispose([w, no, ...Object.values(g1), ...Object.values(g2)]);
  await tf.setBackend('cpu');
  return { values, programs, skippedUnchanged };
}

Object.assign(globalThis, {
  availability,
  conformance,
  defaults,
  wasmSimd,
  webgpuBindGroups,
  webgpuFusedAdam,
  webgpuGuard,
  ready: true,
});
