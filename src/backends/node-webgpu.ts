/**
 * WebGPU in Node.js: installs the globals of the `webgpu` npm package (Google's Dawn) that
 * `@tensorflow/tfjs-backend-webgpu` expects from a browser (`navigator.gpu`, `GPUBufferUsage`, …).
 *
 * The library does not depend on `webgpu`: pass the module in ({@link installNodeWebGPU}) or let
 * {@link useNodeWebGPU} import it at run time (an import bundlers leave alone).
 *
 * @module
 */
import { GANConfigError, GANError } from '../errors';

/** The part of the `webgpu` npm package's exports that {@link installNodeWebGPU} uses. */
export interface NodeWebGPUModule {
  /** Creates a `GPU` object (what browsers expose as `navigator.gpu`) from Dawn toggles such as `'backend=vulkan'`. */
  create(options: string[]): unknown;
  /** The WebGPU constants and classes (`GPUBufferUsage`, `GPUMapMode`, …) browsers define globally. */
  readonly globals: Readonly<Record<string, unknown>>;
}

/** Options of {@link installNodeWebGPU} and {@link useNodeWebGPU}. */
export interface NodeWebGPUOptions {
  /** Dawn options passed to `create`, e.g. `['backend=vulkan']`. Default none. */
  readonly dawnOptions?: readonly string[];
  /**
   * Path of a Vulkan driver manifest to use, set as `VK_ICD_FILENAMES` before Dawn starts unless
   * it or `VK_DRIVER_FILES` is already set — e.g. SwiftShader's CPU driver from Debian's `chromium` package,
   * `/usr/lib/chromium/vk_swiftshader_icd.json`, on machines without a GPU. Default: leave the
   * environment alone (Vulkan then finds the system's drivers).
   */
  readonly vulkanDriver?: string;
}

/** What {@link installNodeWebGPU} did. */
export interface NodeWebGPUInstallation {
  /** `false` when `navigator.gpu` already existed (then nothing was changed). */
  readonly installed: boolean;
  /** The names of the globals it defined (those that already existed are kept). */
  readonly globals: readonly string[];
}

type NavigatorHolder = { navigator?: { gpu?: unknown } };

function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}

/**
 * Makes WebGPU available in Node.js through the `webgpu` package (Dawn): defines the WebGPU
 * globals it exports and `navigator.gpu`. Call it **before** `@tensorflow/tfjs-backend-webgpu` is
 * imported — that package registers its backend only if `navigator.gpu` exists when it loads —
 * so import the backend dynamically afterwards. Does nothing when `navigator.gpu` already exists.
 *
 * Needs a Vulkan driver: a GPU's, or on a machine without one SwiftShader's (see
 * {@link NodeWebGPUOptions.vulkanDriver}); on Debian also the `libvulkan1` package.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { installNodeWebGPU, selectBackend } from 'tfjs-gan';
 * installNodeWebGPU(await import('webgpu'));
 * await import('@tensorflow/tfjs-backend-webgpu');
 * await selectBackend(['webgpu', 'cpu']);
 * ```
 * @throws {@link GANError} outside Node.js; {@link GANConfigError} when `webgpu` is not the `webgpu` package.
 */
export function installNodeWebGPU(webgpu: NodeWebGPUModule, options: NodeWebGPUOptions = {}): NodeWebGPUInstallation {
  if (!isNode()) throw new GANError('installNodeWebGPU is for Node.js; browsers with WebGPU have navigator.gpu already');
  if (webgpu == null || typeof webgpu.create !== 'function' || typeof webgpu.globals !== 'object' || webgpu.globals === null) {
    throw new GANConfigError(
      'webgpu',
      "expected the `webgpu` npm package's exports (create and globals): installNodeWebGPU(await import('webgpu'))",
    );
  }
  const g = globalThis as unknown as NavigatorHolder & Record<string, unknown>;
  if (g.navigator?.gpu != null) return { installed: false, globals: [] };
  if (
    options.vulkanDriver !== undefined &&
    process.env.VK_ICD_FILENAMES === undefined &&
    process.env.VK_DRIVER_FILES === undefined
  ) {
    process.env.VK_ICD_FILENAMES = options.vulkanDriver;
  }
  const gpu = webgpu.create([...(options.dawnOptions ?? [])]);
  const defined: string[] = [];
  for (const [name, value] of Object.entries(webgpu.globals)) {
    if (name in g) continue;
    Object.defineProperty(g, name, { value, writable: true, configurable: true, enumerable: false });
    defined.push(name);
  }
  if (g.navigator != null && typeof g.navigator === 'object') {
    // Node ≥ 21 has a global navigator without gpu.
    Object.defineProperty(g.navigator, 'gpu', { value: gpu, writable: true, configurable: true, enumerable: true });
  } else {
    Object.defineProperty(g, 'navigator', { value: { gpu }, writable: true, configurable: true, enumerable: false });
    defined.push('navigator');
  }
  return { installed: true, globals: defined };
}

/** A dynamic import bundlers leave alone (the specifier is not a literal). */
const importAtRunTime = <T>(specifier: string): Promise<T> =>
  import(/* webpackIgnore: true */ /* @vite-ignore */ specifier) as Promise<T>;

/**
 * {@link installNodeWebGPU} with the `webgpu` package imported for you (`npm install webgpu`).
 *
 * @example
 * ```ts
 * await useNodeWebGPU({ vulkanDriver: '/usr/lib/chromium/vk_swiftshader_icd.json' }); // no GPU: SwiftShader
 * await import('@tensorflow/tfjs-backend-webgpu');
 * await tf.setBackend('webgpu');
 * ```
 * @throws {@link GANError} outside Node.js or when the `webgpu` package is not installed.
 */
export async function useNodeWebGPU(options: NodeWebGPUOptions = {}): Promise<NodeWebGPUInstallation> {
  if (!isNode()) throw new GANError('useNodeWebGPU is for Node.js; browsers with WebGPU have navigator.gpu already');
  let webgpu: NodeWebGPUModule;
  try {
    webgpu = await importAtRunTime<NodeWebGPUModule>('webgpu');
  } catch (e) {
    throw new GANError(
      `the \`webgpu\` package could not be imported (npm install webgpu): ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  return installNodeWebGPU(webgpu, options);
}
