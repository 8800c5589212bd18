/**
 * Backend choice for the Node examples, through tfjs-gan's `selectBackend`: the named backend, or the
 * fastest that initialises here for these models — wasm (the trainer installs tfjs-gan's training
 * kernels for it), else the pure-JS cpu backend. (WebGPU in Node runs on a software Vulkan device
 * unless the machine has a GPU driver, so it is only used when asked for by name.)
 *
 * `--threads N` (N > 1) runs wasm on tfjs-backend-wasm's threaded build (tfjs-gan's `useNodeWasmThreads`)
 * with N threads — faster for the MNIST models on an otherwise idle machine, slower for tiny models or
 * when the cores are busy (see docs/performance.md); the default, 1, is tfjs's own single-threaded build.
 * Both give bit-identical results.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { installWasmTrainingKernels, selectBackend, useNodeWasmThreads, wasmThreadCount } from 'tfjs-gan';
import { positiveInt } from './args';

/** Backends the Node examples try when none is named, fastest first. */
export const NODE_BACKENDS = ['wasm', 'cpu'] as const;

/** The `--threads` flag every example accepts (parseArgs option). */
export const THREADS_OPTION = { threads: { type: 'string' } } as const;

/**
 * Activates `name` (or the first of wasm → cpu that initialises) and returns the active backend's name.
 * `threads` (the `--threads` flag): XNNPACK threads on wasm, at most 8; default 1 (tfjs's own build).
 * Exits with status 2 and tfjs-gan's explanation when a named backend cannot start here.
 */
export async function useBackend(name?: string, threads?: string): Promise<string> {
  let chosen: string;
  // The cpu backend asks Node users to install tfjs-node on start-up; the examples choose their backend on purpose.
  if (name === 'cpu') tf.env().set('IS_TEST', true);
  const wanted = name === undefined || name === 'auto' ? NODE_BACKENDS : [name];
  const count = Math.min(positiveInt('threads', threads, 1), 8);
  try {
    if (wanted.includes('wasm') && count > 1) await useNodeWasmThreads({ threads: count });
    chosen = await selectBackend(wanted);
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(2);
  }
  if (chosen === 'wasm') installWasmTrainingKernels();
  return chosen;
}

/** "wasm, 2 threads", "cpu", …: the active backend for a progress line or summary. */
export function describeBackend(): string {
  const name = tf.getBackend();
  if (name !== 'wasm') return name;
  const threads = wasmThreadCount() ?? 1;
  return `wasm, ${threads} thread${threads === 1 ? '' : 's'}`;
}
