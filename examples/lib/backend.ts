/**
 * Backend choice for the Node examples, through tfjs-gan's `selectBackend`: the named backend, or the
 * fastest that initialises here for these models — wasm (the trainer installs tfjs-gan's training
 * kernels for it), else the pure-JS cpu backend. (WebGPU in Node runs on a software Vulkan device
 * unless the machine has a GPU driver, so it is only used when asked for by name.)
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { installWasmTrainingKernels, selectBackend } from 'tfjs-gan';

/** Backends the Node examples try when none is named, fastest first. */
export const NODE_BACKENDS = ['wasm', 'cpu'] as const;

/**
 * Activates `name` (or the first of wasm → cpu that initialises) and returns the active backend's name.
 * Exits with status 2 and tfjs-gan's explanation when a named backend cannot start here.
 */
export async function useBackend(name?: string): Promise<string> {
  let chosen: string;
  // The cpu backend asks Node users to install tfjs-node on start-up; the examples choose their backend on purpose.
  if (name === 'cpu') tf.env().set('IS_TEST', true);
  try {
    chosen = await selectBackend(name === undefined || name === 'auto' ? NODE_BACKENDS : [name]);
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(2);
  }
  if (chosen === 'wasm') installWasmTrainingKernels();
  return chosen;
}
