// The threaded wasm build in Node (useNodeWasmThreads): the conformance suite on it, bit-identical results to
// tfjs's single-threaded build (compared across processes: one process can start only one wasm build), and
// the errors it raises before changing anything.
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { describe, expect, it } from 'vitest';
import { backendMemory, wasmSimdKernels } from '../src/backends/wasm-simd/index';
import { GANConfigError, GANError, useNodeWasmThreads, wasmThreadCount } from '../src/index';
import type { BackendResults } from './conformance/cases';
import { nodeConformanceSuite } from './conformance/node';

// tfjs's IS_TEST leak check misfires on wasm gradients (tests/setup.ts turns it on for cpu).
tf.env().set('IS_TEST', false);

const THREADS = Math.min(2, availableParallelism());

// Validation first: none of these may change the (not yet started) wasm backend's registration.
const badThreads = await Promise.all([0, 9, 1.5, Number.NaN].map((threads) => useNodeWasmThreads({ threads }).catch((e) => e)));
const installation = await useNodeWasmThreads({ threads: THREADS });

const threadsInUse = () => wasmThreadCount();

nodeConformanceSuite('wasm', `conformance on the threaded wasm build, ${THREADS} threads (Node)`);

describe('useNodeWasmThreads', () => {
  it('rejects a thread count outside 1–8 with a GANConfigError and leaves the backend as it was', () => {
    for (const e of badThreads) {
      expect(e).toBeInstanceOf(GANConfigError);
      expect((e as Error).message).toMatch(/threads.*integer from 1 to 8/);
    }
  });

  it(`starts XNNPACK with ${THREADS} threads`, async () => {
    expect(installation.threads).toBe(THREADS);
    expect(installation.workerScript).toMatch(/\.worker\.cjs$/);
    await tf.setBackend('wasm');
    try {
      expect(threadsInUse()).toBe(THREADS);
      const a = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
      const b = tf.tensor2d([1, 0, 0, 1, 1, 1], [3, 2]);
      const c = tf.matMul(a, b);
      expect(Array.from(c.dataSync())).toEqual([4, 5, 10, 11]);
      tf.dispose([a, b, c]);
      // tfjs-gan's own SIMD kernels (the fused Adam) bind to the threaded build's shared memory too.
      expect(backendMemory(tf.backend())?.buffer).toBeInstanceOf(SharedArrayBuffer);
      expect(wasmSimdKernels(tf.backend())).toBeDefined();
    } finally {
      await tf.setBackend('cpu');
    }
  });

  it('refuses a second call (one build serves the backend), changing nothing', async () => {
    await tf.setBackend('wasm');
    const kept = tf.tensor1d([1, 2, 3]);
    try {
      const e = await useNodeWasmThreads({ threads: 1 }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(GANError);
      expect((e as Error).message).toContain('already called');
      expect(tf.getBackend()).toBe('wasm');
      expect(Array.from(kept.dataSync())).toEqual([1, 2, 3]);
      expect(threadsInUse()).toBe(THREADS);
    } finally {
      kept.dispose();
      await tf.setBackend('cpu');
    }
  });

  it('refuses once the wasm backend has started (re-registering would dispose its tensors)', () => {
    const out = JSON.parse(
      execFileSync(process.execPath, ['--import', 'tsx', 'tests/fixtures/wasm-conformance-child.ts', 'after-start'], {
        encoding: 'utf8',
        timeout: 60_000,
      }),
    ) as { error?: { name: string; message: string }; backend: string; kept: number[] };
    expect(out.error?.name).toBe('GANError');
    expect(out.error?.message).toContain('already initialised');
    expect(out.backend).toBe('wasm');
    expect(out.kept).toEqual([1, 2, 3]);
  });

  it("trains bit-identically to tfjs's single-threaded build, and lets Node exit by itself", () => {
    // Each child runs every conformance case (MLP and DCGAN × 5 losses, a CGAN, second-order gradients) and
    // then simply ends: a child whose pool threads kept Node alive would time this test out.
    const run = (threads: number) =>
      JSON.parse(
        execFileSync(process.execPath, ['--import', 'tsx', 'tests/fixtures/wasm-conformance-child.ts', String(threads)], {
          encoding: 'utf8',
          timeout: 120_000,
        }),
      ) as { threads: number; results: BackendResults };
    const single = run(0);
    const threaded = run(THREADS);
    expect(single.threads).toBe(1);
    expect(threaded.threads).toBe(THREADS);
    expect(threaded.results.training.every((r) => r.error === undefined)).toBe(true);
    expect(threaded.results.training.length).toBeGreaterThanOrEqual(11);
    expect(threaded.results).toEqual(single.results);
  });
});
