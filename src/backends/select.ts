/**
 * Choosing a TensorFlow.js backend: the first of a preference list that this platform has, that
 * the application has imported, and that initialises.
 *
 * The library imports no backend package: it only looks in tfjs-core's registry.
 *
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import { GANConfigError, GANError } from '../errors';

/**
 * The default order of {@link selectBackend}: WebGPU, then `tensorflow` (tfjs-node, tried only when
 * the application imported it), WebGL, WebAssembly, and the plain-JavaScript `cpu` backend.
 */
export const DEFAULT_BACKEND_ORDER: readonly string[] = ['webgpu', 'tensorflow', 'webgl', 'wasm', 'cpu'];

/** Why one backend of the list was not chosen. */
export interface BackendAttempt {
  /** The backend's name. */
  readonly backend: string;
  /** What is missing, in words, with what to do about it. */
  readonly reason: string;
}

/** No backend of the preference list could be used; {@link BackendSelectionError.attempts} says why for each. */
export class BackendSelectionError extends GANError {
  /** One entry per backend tried, in order. */
  readonly attempts: readonly BackendAttempt[];
  constructor(attempts: readonly BackendAttempt[]) {
    super(`no usable TensorFlow.js backend:\n${attempts.map((a) => `  - ${a.backend}: ${a.reason}`).join('\n')}`);
    this.attempts = attempts;
  }
}

const PACKAGES: Readonly<Record<string, string>> = {
  webgpu: '@tensorflow/tfjs-backend-webgpu',
  webgl: '@tensorflow/tfjs-backend-webgl',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs-backend-cpu',
  tensorflow: '@tensorflow/tfjs-node',
};

function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}

function navigatorGpu(): { requestAdapter?: (o?: unknown) => Promise<unknown> } | undefined {
  const nav = (globalThis as { navigator?: { gpu?: { requestAdapter?: (o?: unknown) => Promise<unknown> } } }).navigator;
  return nav?.gpu ?? undefined;
}

const NODE_WEBGPU_HINT =
  "in Node install the `webgpu` package and call useNodeWebGPU() (or installNodeWebGPU(await import('webgpu'))) " +
  'before importing @tensorflow/tfjs-backend-webgpu';
const BROWSER_WEBGPU_HINT =
  'this browser exposes no WebGPU (it needs a secure context — https or localhost — and WebGPU enabled)';

/**
 * Why `name` cannot be used on this platform as things stand, without initialising anything;
 * `undefined` when it is registered (it may still fail to initialise: {@link selectBackend} finds out).
 */
export function backendUnavailableReason(name: string): string | undefined {
  if (tf.findBackendFactory(name) !== null) return undefined;
  const imported = tf.getKernelsForBackend(name).length > 0;
  const pkg = PACKAGES[name];
  switch (name) {
    case 'webgpu':
      if (navigatorGpu() === undefined) {
        return `no navigator.gpu — ${isNode() ? NODE_WEBGPU_HINT : BROWSER_WEBGPU_HINT}`;
      }
      return imported
        ? '@tensorflow/tfjs-backend-webgpu was imported before navigator.gpu existed, so it registered no backend: import it after installing WebGPU'
        : `${pkg} not imported`;
    case 'webgl':
      return isNode()
        ? 'WebGL exists only in browsers (@tensorflow/tfjs-backend-webgl registers no backend in Node)'
        : `${pkg} not imported`;
    case 'wasm':
      return `${pkg} not imported`;
    case 'cpu':
      return `${pkg} not imported`;
    case 'tensorflow':
      return isNode() ? `${pkg} (optional, native) not imported` : 'tfjs-node (the native TensorFlow backend) runs only in Node';
    default:
      return `no backend named '${name}' is registered`;
  }
}

/** For webgpu: why navigator.gpu cannot give an adapter, or `undefined` when it can. */
async function webgpuAdapterProblem(): Promise<string | undefined> {
  try {
    const adapter = await navigatorGpu()?.requestAdapter?.();
    if (adapter != null) return undefined;
    return isNode()
      ? 'navigator.gpu found no adapter: no Vulkan driver usable by Dawn (install libvulkan1 and a GPU driver, or set VK_ICD_FILENAMES to SwiftShader’s /usr/lib/chromium/vk_swiftshader_icd.json)'
      : 'navigator.gpu.requestAdapter() found no adapter (no GPU, or WebGPU disabled for it)';
  } catch (e) {
    return `navigator.gpu.requestAdapter() failed: ${e instanceof Error ? e.message : String(e)}`;
  }
}

function initialisationHint(name: string): string {
  if (name === 'wasm' && !isNode()) {
    return 'initialisation failed — are its .wasm files served where the page looks (setWasmPaths from @tensorflow/tfjs-backend-wasm)? See the console warning from tfjs';
  }
  return 'initialisation failed (see the warning tfjs printed)';
}

/**
 * Activates the first backend of `preferences` that works here and resolves with its name, after
 * `tf.ready()`. Backends this platform lacks or the application has not imported are skipped
 * (WebGL outside a browser, WebGPU without `navigator.gpu`, an unimported package, …); a
 * registered backend that fails to initialise is skipped too. Supports every registered backend
 * name, including `tensorflow` (tfjs-node) when the application imports it.
 *
 * The library imports no backend: import the ones you want first.
 *
 * @example
 * ```ts
 * import '@tensorflow/tfjs-backend-webgl';
 * import '@tensorflow/tfjs-backend-wasm';
 * import '@tensorflow/tfjs-backend-cpu';
 * const name = await selectBackend(); // 'webgl' in most browsers
 * ```
 * @param preferences backend names, most preferred first. Default {@link DEFAULT_BACKEND_ORDER}.
 * @throws {@link BackendSelectionError} when none works, saying per backend what is missing; the
 *   backend active before the call, if any, is active again. {@link GANConfigError} for an empty or invalid list.
 */
export async function selectBackend(preferences: readonly string[] = DEFAULT_BACKEND_ORDER): Promise<string> {
  if (!Array.isArray(preferences) || preferences.length === 0 || preferences.some((p) => typeof p !== 'string' || p === '')) {
    throw new GANConfigError('preferences', 'expected a non-empty list of backend names, e.g. ["webgpu", "wasm", "cpu"]');
  }
  const previous = (tf.engine() as unknown as { backendName?: string | null }).backendName ?? undefined;
  const attempts: BackendAttempt[] = [];
  for (const name of preferences) {
    // Asking for an adapter first spares tfjs's stack-trace warning when there is none.
    const unavailable = backendUnavailableReason(name) ?? (name === 'webgpu' ? await webgpuAdapterProblem() : undefined);
    if (unavailable !== undefined) {
      attempts.push({ backend: name, reason: unavailable });
      continue;
    }
    let ok = false;
    let thrown: string | undefined;
    try {
      ok = await tf.setBackend(name);
    } catch (e) {
      thrown = e instanceof Error ? e.message : String(e);
    }
    if (ok) {
      await tf.ready();
      return name;
    }
    attempts.push({ backend: name, reason: thrown ?? initialisationHint(name) });
  }
  if (previous !== undefined && tf.findBackend(previous) !== null) await tf.setBackend(previous);
  throw new BackendSelectionError(attempts);
}
