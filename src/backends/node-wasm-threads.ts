/**
 * Multi-threaded WebAssembly in Node.js: tfjs-backend-wasm's threaded SIMD build, whose XNNPACK
 * kernels (matrix products, convolutions) split their work over a pool of worker threads.
 *
 * tfjs-backend-wasm 4.x never starts that build in Node (its feature test answers "no threads"
 * there, tensorflow/tfjs#3830), and the way it starts the build in browsers cannot work in Node: it
 * hands Emscripten's pthread workers `blob:` URLs, which `worker_threads` cannot load. It also sizes
 * the pool as *half* the logical cores (assuming two hyper-threads per core), which is one thread on
 * a 2-core machine. {@link useNodeWasmThreads} registers the `wasm` backend again with the threaded
 * build loaded from files and a pool of the size asked for. The kernels are the same ones, so every
 * kernel registered for `wasm` (tfjs's and tfjs-gan's tune-up) runs unchanged.
 *
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import { GANConfigError, GANError } from '../errors';

/** Options of {@link useNodeWasmThreads}. */
export interface NodeWasmThreadsOptions {
  /**
   * Threads for XNNPACK's pool, 1–8 (the build starts 8 workers). Default: the machine's logical
   * cores (`os.availableParallelism()`), at most 8.
   */
  readonly threads?: number;
  /**
   * Where tfjs-backend-wasm is installed (the folder holding its `package.json`). Default: resolved
   * from tfjs-gan's own location, then from the working directory.
   */
  readonly packageDirectory?: string;
}

/** What {@link useNodeWasmThreads} did. */
export interface NodeWasmThreadsInstallation {
  /** The threads XNNPACK will use (the request, capped to the build's 8 workers and the machine's cores). */
  readonly threads: number;
  /** The tfjs-backend-wasm folder the threaded build was loaded from. */
  readonly packageDirectory: string;
  /** The worker script written for Emscripten's pthreads (in the OS temporary folder). */
  readonly workerScript: string;
}

const MAX_THREADS = 8;
const WASM_PRIORITY = 2;
const BUILD = 'tfjs-backend-wasm-threaded-simd';

/** The part of tfjs-backend-wasm's exports this module uses. */
interface WasmPackage {
  BackendWasm: new (module: unknown) => tf.KernelBackend;
  setThreadsCount(threads: number): void;
}

/** The part of an Emscripten module this module uses. */
interface EmscriptenModule {
  cwrap(name: string, returnType: string | null, argTypes: string[]): (...args: number[]) => unknown;
  tfjs?: Record<string, unknown>;
  /** Emscripten's pthread bookkeeping: its workers are Node `worker_threads` Workers here. */
  PThread?: { unusedWorkers?: unknown[]; runningWorkers?: unknown[] };
}

function unrefWorkers(module: EmscriptenModule): void {
  for (const worker of [...(module.PThread?.unusedWorkers ?? []), ...(module.PThread?.runningWorkers ?? [])]) {
    (worker as { unref?: () => void }).unref?.();
  }
}

type Factory = (config: Record<string, unknown>) => Promise<EmscriptenModule>;

function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}

/** A dynamic import bundlers leave alone (the specifier is not a literal). */
const importAtRunTime = <T>(specifier: string): Promise<T> =>
  import(/* webpackIgnore: true */ /* @vite-ignore */ specifier) as Promise<T>;

/** This file's location, in the ESM build (`import.meta.url`) or the CommonJS one (`__filename`). */
function ownLocation(): string | undefined {
  if (typeof __filename === 'string') return __filename;
  try {
    return typeof import.meta.url === 'string' ? import.meta.url : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Makes the `wasm` backend multi-threaded in Node.js: registers it again so that it starts
 * tfjs-backend-wasm's threaded SIMD build with its workers on `worker_threads` and
 * `threads` threads in XNNPACK's pool. Call it after importing `@tensorflow/tfjs-backend-wasm` and
 * **before** the `wasm` backend is first used (`tf.setBackend('wasm')`, {@link selectBackend}).
 *
 * Results are those of the single-threaded build (the same kernels; XNNPACK splits rows of a
 * product between threads, it does not reorder a sum). On the project's 2-core machine two threads
 * make a 100×784 by 784×256 product 1.5× faster; see the performance guide for training figures.
 *
 * It writes one small file, Emscripten's pthread worker script, to the OS temporary folder (the
 * package ships it as a string, meant for a `blob:` URL), and while the build starts (~0.2 s) it
 * reports twice the logical cores from `os.cpus()` so that the build's "half the cores" rule gives
 * the real count; `os.cpus` is restored before this returns.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import '@tensorflow/tfjs-backend-wasm';
 * import { useNodeWasmThreads } from 'tfjs-gan';
 * await useNodeWasmThreads();          // all cores, at most 8
 * await tf.setBackend('wasm');
 * ```
 * @throws {@link GANError} outside Node.js, when tfjs-backend-wasm is not installed or has no
 *   threaded build, when the `wasm` backend is already initialised, on a second call in the same
 *   process (one build serves the backend), or when the build fails to start;
 *   {@link GANConfigError} for a `threads` that is not an integer in 1–8.
 */
export async function useNodeWasmThreads(options: NodeWasmThreadsOptions = {}): Promise<NodeWasmThreadsInstallation> {
  if (!isNode()) {
    throw new GANError(
      'useNodeWasmThreads is for Node.js; in browsers tfjs-backend-wasm starts its threaded build itself on cross-origin-isolated pages',
    );
  }
  const { threads: requested } = options;
  if (requested !== undefined && !(Number.isInteger(requested) && requested >= 1 && requested <= MAX_THREADS)) {
    throw new GANConfigError('threads', `must be an integer from 1 to ${MAX_THREADS}, got ${String(requested)}`);
  }
  if (installing) {
    throw new GANError('useNodeWasmThreads was already called in this process: one threaded wasm build serves the wasm backend');
  }
  if ((tf.engine().registry as Record<string, unknown>).wasm !== undefined) {
    throw new GANError(
      'useNodeWasmThreads: the wasm backend is already initialised; call it before the first tf.setBackend("wasm") (re-registering would dispose its tensors)',
    );
  }
  installing = true;
  try {
    return await install(requested, options);
  } catch (e) {
    installing = false; // nothing was registered: a later call may try again
    throw e;
  }
}

/** Set while a call is under way or once one succeeded (one build per process). */
let installing = false;

async function install(requested: number | undefined, options: NodeWasmThreadsOptions): Promise<NodeWasmThreadsInstallation> {
  // The CommonJS module object (what the build's own require('os') returns), not a frozen namespace.
  const os = (await importAtRunTime<{ default: typeof import('node:os') }>('node:os')).default;
  const path = await importAtRunTime<typeof import('node:path')>('node:path');
  const fs = await importAtRunTime<typeof import('node:fs')>('node:fs');
  const { createRequire } = await importAtRunTime<typeof import('node:module')>('node:module');

  const packageDirectory = options.packageDirectory ?? locatePackage(createRequire, path, process.cwd());
  const require = createRequire(path.join(packageDirectory, 'package.json'));
  const buildDir = path.join(packageDirectory, 'wasm-out');
  let factory: Factory;
  let workerContents: string;
  let wasmPackage: WasmPackage;
  try {
    factory = require(path.join(buildDir, `${BUILD}.js`)) as Factory;
    ({ wasmWorkerContents: workerContents } = require(path.join(buildDir, `${BUILD}.worker.js`)) as {
      wasmWorkerContents: string;
    });
    wasmPackage = require(packageDirectory) as WasmPackage;
  } catch (e) {
    throw new GANError(`useNodeWasmThreads: cannot load tfjs-backend-wasm's threaded build from ${buildDir}: ${String(e)}`);
  }
  if (typeof factory !== 'function' || typeof workerContents !== 'string' || typeof wasmPackage.BackendWasm !== 'function') {
    throw new GANError(`useNodeWasmThreads: ${packageDirectory} does not look like tfjs-backend-wasm 4.x`);
  }

  const logical = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  const threads = Math.min(requested ?? logical, logical, MAX_THREADS);

  // The package ships the worker as a string for a blob: URL, with "\n" escapes that a template
  // literal turned into real newlines (tfjs-backend-wasm undoes that the same way).
  const script = workerContents.replace(/\n/g, '\\n');
  let workerScript = path.join(os.tmpdir(), `tfjs-gan-${BUILD}-${hash(script)}.worker.cjs`);
  // The file is executed: reuse one only if it holds exactly this script (anyone may write to the temp folder).
  const existing = fs.existsSync(workerScript) ? fs.readFileSync(workerScript, 'utf8') : undefined;
  if (existing !== script) {
    if (existing === undefined) {
      const partial = `${workerScript}.${process.pid}`;
      fs.writeFileSync(partial, script, { mode: 0o644 });
      fs.renameSync(partial, workerScript);
    } else {
      // Someone else's file under our name: use a private folder instead.
      workerScript = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-gan-')), `${BUILD}.worker.cjs`);
      fs.writeFileSync(workerScript, script, { mode: 0o600 });
    }
  }

  const module = await startBuild(factory, buildDir, workerScript, os);
  module.tfjs = {
    init: module.cwrap('init', null, []),
    initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
    getThreadsCount: module.cwrap('get_threads_count', 'number', []),
    registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
    disposeData: module.cwrap('dispose_data', null, ['number']),
    dispose: module.cwrap('dispose', null, []),
  };
  let created = false;
  tf.removeBackend('wasm');
  tf.registerBackend(
    'wasm',
    () => {
      // One Emscripten instance serves one backend: its heap holds that backend's tensors.
      if (created) throw new GANError('useNodeWasmThreads: the threaded wasm backend was removed; call useNodeWasmThreads again');
      created = true;
      wasmPackage.setThreadsCount(threads);
      const backend = new wasmPackage.BackendWasm(module);
      // XNNPACK's pool threads now wait in their workers for work; unreferenced, they do not keep
      // Node running once the program is done (they only ever work while the main thread waits).
      unrefWorkers(module);
      return backend;
    },
    WASM_PRIORITY,
  );
  return { threads, packageDirectory, workerScript };
}

function locatePackage(
  createRequire: typeof import('node:module').createRequire,
  path: typeof import('node:path'),
  cwd: string,
): string {
  const bases = [ownLocation(), path.join(cwd, 'index.js')].filter((b): b is string => b !== undefined);
  for (const base of bases) {
    try {
      return path.dirname(createRequire(base).resolve('@tensorflow/tfjs-backend-wasm/package.json'));
    } catch {
      // next base
    }
  }
  throw new GANError(
    'useNodeWasmThreads: @tensorflow/tfjs-backend-wasm is not installed (npm install @tensorflow/tfjs-backend-wasm), or pass packageDirectory',
  );
}

async function startBuild(
  factory: Factory,
  buildDir: string,
  workerScript: string,
  os: typeof import('node:os'),
): Promise<EmscriptenModule> {
  // The build sizes its pool cap as os.cpus().length / 2 while it starts; report twice the cores.
  const cpus = os.cpus;
  const patched = os as { cpus: () => import('node:os').CpuInfo[] };
  patched.cpus = () => {
    const list = cpus();
    return [...list, ...list];
  };
  try {
    return await factory({
      locateFile: (file: string) => (file.endsWith('.worker.js') ? workerScript : `${buildDir}/${file}`),
      // What each worker evaluates to get the module's code (a path: workers read it from disk).
      mainScriptUrlOrBlob: `${buildDir}/${BUILD}.js`,
    });
  } catch (e) {
    throw new GANError(`useNodeWasmThreads: the threaded wasm build failed to start: ${String(e)}`);
  } finally {
    patched.cpus = cpus;
  }
}

/** A short content hash (FNV-1a), so versions of the worker script never overwrite each other. */
function hash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

/**
 * The threads XNNPACK uses on the active `wasm` backend: 1 on tfjs's own build (always, in Node), the
 * pool size on the threaded build ({@link useNodeWasmThreads}); `undefined` when the active backend is
 * not tfjs-backend-wasm's.
 */
export function wasmThreadCount(): number | undefined {
  if (tf.getBackend() !== 'wasm') return undefined;
  const wasm = (tf.backend() as unknown as { wasm?: { tfjs?: { getThreadsCount?: () => number } } }).wasm;
  return wasm?.tfjs?.getThreadsCount?.();
}
