/**
 * Backend set-up for the benchmark: cpu and wasm always (their packages are dev dependencies), WebGPU
 * through the `webgpu` npm package (Dawn) when it finds an adapter. Without a GPU, Dawn can use
 * SwiftShader (Vulkan on the CPU) through `VK_ICD_FILENAMES`; that is slow, so the benchmark runs
 * fewer steps there.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { wasmThreadCount } from '../../src/index';

/** The backends the benchmark knows. */
export type BackendName = 'cpu' | 'wasm' | 'webgpu';

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** Describes the adapter found, or why there is none. */
export interface WebGpuProbe {
  readonly available: boolean;
  readonly adapter: string;
  /** Whether the adapter is SwiftShader (a CPU implementation of Vulkan). */
  readonly software: boolean;
}

let webgpu: WebGpuProbe | undefined;

/** Loads Dawn and tfjs-backend-webgpu once; reports whether an adapter was found. */
export async function probeWebGpu(): Promise<WebGpuProbe> {
  if (webgpu !== undefined) return webgpu;
  const { existsSync } = await import('node:fs');
  const icd = process.env.VK_ICD_FILENAMES;
  if (icd === undefined && process.env.VK_DRIVER_FILES === undefined && existsSync(SWIFTSHADER_ICD)) {
    // No driver named: fall back to SwiftShader where Chromium ships it (Dawn reads this at create()).
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  }
  try {
    const { create, globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    // DAWN_OPTIONS: Dawn toggles for experiments, e.g. 'enable-dawn-features=skip_validation' (';'-separated).
    const gpu = create((process.env.DAWN_OPTIONS ?? '').split(';').filter((x) => x !== ''));
    (globalThis as { navigator?: unknown }).navigator = { gpu };
    const adapter = (await gpu.requestAdapter()) as {
      info?: { vendor?: string; architecture?: string; description?: string };
    } | null;
    if (adapter === null) {
      webgpu = { available: false, adapter: 'Dawn found no adapter', software: false };
      return webgpu;
    }
    await import('@tensorflow/tfjs-backend-webgpu');
    const info = adapter.info ?? {};
    const name = [info.vendor, info.architecture, info.description].filter((s) => s !== undefined && s !== '').join(' ');
    const software = (process.env.VK_ICD_FILENAMES ?? '').includes('swiftshader') || /swiftshader/i.test(name);
    webgpu = { available: true, adapter: name === '' ? (software ? 'SwiftShader' : 'unknown adapter') : name, software };
  } catch (e) {
    webgpu = { available: false, adapter: `webgpu unavailable: ${String(e).slice(0, 200)}`, software: false };
  }
  return webgpu;
}

/** Switches tfjs to `name`; false when that backend cannot start here. */
export async function useBackend(name: BackendName): Promise<boolean> {
  if (name === 'webgpu' && !(await probeWebGpu()).available) return false;
  try {
    const ok = await tf.setBackend(name);
    await tf.ready();
    return ok && tf.getBackend() === name;
  } catch {
    return false;
  }
}

/** A line describing the backend in use (wasm: SIMD and threads). */
export async function describeBackend(name: BackendName): Promise<string> {
  if (name === 'wasm') {
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    // The threads XNNPACK really uses (tfjs's own build in Node: 1; useNodeWasmThreads: more).
    const threads = wasmThreadCount() ?? 1;
    return `wasm (SIMD ${String(simd)}, threads ${threads})`;
  }
  if (name === 'webgpu') return `webgpu (${(await probeWebGpu()).adapter})`;
  return name;
}
