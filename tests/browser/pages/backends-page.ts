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

Object.assign(globalThis, { availability, conformance, defaults, wasmSimd, webgpuBindGroups, webgpuFusedAdam, ready: true });
