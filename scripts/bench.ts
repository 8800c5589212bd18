/**
 * Training-speed benchmark: the library's `GANTrainer` against a hand-written plain-tfjs loop of
 * the same models, in the same process with interleaved runs, on every backend Node has here —
 * and against the seed's PyTorch loop when `/usr/bin/python3` has torch.
 *
 *   npm run bench                                  # every backend found, both models
 *   npm run bench -- --backends wasm --models mlp  # a subset
 *   npm run bench -- --steps 50 --runs 5 --warmup 10
 *   npm run bench -- --memory-steps 1000           # + memory flatness over 1000 steps (library and hand-written)
 *   npm run bench -- --untuned                     # + the trainer without fused Adam and the fast wasm Tile
 *   npm run bench -- --stock                       # + on wasm (MLP) and webgpu: the hand-written loop on tfjs as it ships
 *                                                  #   (no wasm kernels, no WebGPU uploads tune-up); --stock-wasm is an alias
 *   npm run bench -- --json bench.json             # machine-readable results (also: --json - for stdout)
 *   npm run bench -- --no-torch                    # skip PyTorch
 *   npm run bench -- --wasm-threads 2              # wasm: the threaded build (useNodeWasmThreads), 2 threads
 *   npm run bench -- --no-bind-group-cache         # webgpu: the tune-up without its bind group cache (for an A/B)
 *   npm run bench -- --no-lazy-gradients           # tfjs's eager fused-op gradients in the tuned runners (for an A/B)
 *   npm run bench -- --guard read-back             # the library's non-finite guard mode (default: the trainer's choice; for an A/B)
 *   npm run bench -- --step-loop                   # + the library driven by trainer.step() in a loop of your own (as a browser app does)
 *
 * Models: the seed's MNIST MLP GAN (batch 100, 784 dims) and a 28×28 DCGAN (the `dcgan*` presets,
 * batch 64). Data: random values in [−1, 1] (speed does not depend on the pixels). One step = one
 * discriminator update + one generator update. steps/s is the median of the timed runs (their order rotates every round) after a
 * warm-up; "per CPU-s" divides the steps by this process's CPU time instead of wall-clock time
 * (far less sensitive to other processes on the machine, for single-threaded backends); "÷ hand" divides the library's median by the hand-written loop's, both measured in the
 * same process with their runs interleaved, so it is less sensitive to machine load than either.
 * See docs/performance.md.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { type GuardNonFinite, useNodeWasmThreads } from '../src/index';
import { type BackendName, describeBackend, probeWebGpu, useBackend } from './bench/backends';
import {
  type BenchReport,
  formatReport,
  type MemoryTrace,
  type Ratio,
  type RunnerResult,
  type TorchResult,
} from './bench/report';
import {
  benchLazyGradients,
  benchWebGPUTuneUp,
  handwrittenRunner,
  libraryRunner,
  type ModelName,
  type Runner,
  stepLoopRunner,
  UNTUNED,
  WORKLOADS,
} from './bench/workloads';

interface Options {
  backends: BackendName[] | undefined;
  models: ModelName[];
  steps: number | undefined;
  runs: number;
  warmup: number | undefined;
  memorySteps: number;
  untuned: boolean;
  stepLoop: boolean;
  stockWasm: boolean;
  json: string | undefined;
  torch: boolean;
  torchThreads: number;
  wasmThreads: number;
  tfFlags: Record<string, number | boolean | string>;
  python: string;
  torchDevice: string;
  bindGroupCache: boolean;
  lazyGradients: boolean;
  guard: GuardNonFinite | undefined;
}

const HELP = `usage: npm run bench -- [--backends cpu,wasm,webgpu] [--models mlp,dcgan] [--steps N] [--runs R]
  [--warmup W] [--memory-steps N] [--untuned] [--step-loop] [--stock] [--json FILE|-] [--no-torch] [--torch-threads N]
  [--wasm-threads N] [--tf-flag NAME=VALUE]... [--python PATH] [--torch-device cpu|cuda] [--no-bind-group-cache] [--no-lazy-gradients]
  [--guard read-back|on-device|false]`;

function parseArgs(argv: string[]): Options {
  const o: Options = {
    backends: undefined,
    models: ['mlp', 'dcgan'],
    steps: undefined,
    runs: 3,
    warmup: undefined,
    memorySteps: 0,
    untuned: false,
    stepLoop: false,
    stockWasm: false,
    json: undefined,
    torch: true,
    torchThreads: 0,
    wasmThreads: 0,
    tfFlags: {},
    python: '/usr/bin/python3',
    torchDevice: 'cpu',
    bindGroupCache: true,
    lazyGradients: true,
    guard: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const [flag, inline] = arg.includes('=') ? (arg.split('=', 2) as [string, string]) : [arg, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value\n${HELP}`);
      return v;
    };
    const int = (min: number) => {
      const v = Number(value());
      if (!Number.isInteger(v) || v < min) throw new Error(`${flag} must be an integer ≥ ${min}`);
      return v;
    };
    const list = <T extends string>(allowed: readonly T[]) => {
      const v = value().split(',') as T[];
      const bad = v.find((x) => !allowed.includes(x));
      if (bad !== undefined) throw new Error(`${flag}: unknown "${bad}" (one of ${allowed.join(', ')})`);
      return v;
    };
    switch (flag) {
      case '--backends':
        o.backends = list(['cpu', 'wasm', 'webgpu'] as const);
        break;
      case '--models':
        o.models = list(['mlp', 'dcgan'] as const);
        break;
      case '--steps':
        o.steps = int(1);
        break;
      case '--runs':
        o.runs = int(1);
        break;
      case '--warmup':
        o.warmup = int(0);
        break;
      case '--memory-steps':
        o.memorySteps = int(0);
        break;
      case '--untuned':
        o.untuned = true;
        break;
      case '--step-loop':
        o.stepLoop = true;
        break;
      case '--stock':
      case '--stock-wasm':
        o.stockWasm = true;
        break;
      case '--json':
        o.json = value();
        break;
      case '--no-torch':
        o.torch = false;
        break;
      case '--torch-threads':
        o.torchThreads = int(0);
        break;
      case '--wasm-threads':
        o.wasmThreads = int(1);
        break;
      case '--tf-flag': {
        // A tfjs environment flag for every runner, e.g. WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE=100.
        const v = value();
        const eq = v.indexOf('=');
        if (eq <= 0) throw new Error(`--tf-flag needs NAME=VALUE, got "${v}"`);
        const raw = v.slice(eq + 1);
        o.tfFlags[v.slice(0, eq)] =
          raw === 'true' ? true : raw === 'false' ? false : Number.isNaN(Number(raw)) ? raw : Number(raw);
        break;
      }
      case '--no-bind-group-cache':
        // webgpu: the tune-up without its bind group cache (library and hand-written loop), to measure what the cache gives.
        o.bindGroupCache = false;
        break;
      case '--no-lazy-gradients':
        // every backend: tfjs's eager gradients for fused matMul/conv2d in the tuned runners, to measure what the lazy ones give.
        o.lazyGradients = false;
        break;
      case '--guard': {
        // the library runner's GANTrainerConfig.guardNonFinite (the hand-written loop has no guard).
        const v = value();
        if (v !== 'read-back' && v !== 'on-device' && v !== 'false')
          throw new Error(`--guard: read-back, on-device or false, got "${v}"`);
        o.guard = v === 'false' ? false : v;
        break;
      }
      case '--python':
        o.python = value();
        break;
      case '--torch-device':
        o.torchDevice = value();
        break;
      case '--help':
      case '-h':
        console.log(HELP);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown argument ${arg}\n${HELP}`);
    }
  }
  return o;
}

/** Default steps per timed run and warm-up steps, by how fast a backend trains a model. */
function defaults(backend: BackendName, model: ModelName, software: boolean): { steps: number; warmup: number } {
  if (backend === 'wasm') return model === 'mlp' ? { steps: 30, warmup: 10 } : { steps: 4, warmup: 2 };
  if (backend === 'webgpu' && !software) return model === 'mlp' ? { steps: 30, warmup: 10 } : { steps: 10, warmup: 3 };
  // cpu, and webgpu on SwiftShader: seconds per step.
  return model === 'mlp' ? { steps: 2, warmup: 1 } : { steps: 1, warmup: 1 };
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

/** Steps per second of wall-clock time, and per second of this process's CPU time (user + system). */
async function timed(runner: Runner, steps: number): Promise<{ wall: number; cpu: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await runner.run(steps);
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { wall: steps / wall, cpu: steps / ((c.user + c.system) / 1e6) };
}

async function memoryTrace(runner: Runner, steps: number): Promise<MemoryTrace> {
  const passes = Math.max(2, Math.ceil(steps / runner.chunk));
  const tensors: number[] = [];
  const bytes: number[] = [];
  const rss0 = process.memoryUsage().rss;
  for (let p = 0; p < passes; p++) {
    await runner.run(runner.chunk);
    const m = tf.memory();
    tensors.push(m.numTensors);
    bytes.push(m.numBytes);
  }
  const done = passes * runner.chunk;
  const growth = (xs: number[]) => ((xs.at(-1) as number) - (xs[0] as number)) / (done - runner.chunk);
  return {
    steps: done,
    tensors,
    bytes,
    tensorsPerStep: growth(tensors),
    bytesPerStep: growth(bytes),
    rssGrowthMiB: (process.memoryUsage().rss - rss0) / 2 ** 20,
    flat: tensors.every((t) => t === tensors[0]) && bytes.every((b) => b === bytes[0]),
  };
}

function torchAvailable(python: string): boolean {
  const r = spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' });
  return r.status === 0;
}

function runTorch(model: ModelName, o: Options): TorchResult | string {
  const gpu = o.torchDevice !== 'cpu';
  const args = model === 'mlp' || gpu ? ['--steps', '50', '--warmup', '10'] : ['--steps', '5', '--warmup', '2'];
  const r = spawnSync(
    o.python,
    [
      'scripts/bench_torch.py',
      ...['--model', model, '--runs', '3', '--threads', String(o.torchThreads), '--device', o.torchDevice],
      ...args,
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) return `torch ${model}: ${(r.stderr ?? '').slice(-300)}`;
  return JSON.parse(r.stdout.trim().split('\n').at(-1) as string) as TorchResult;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const log = o.json === '-' ? console.error : console.log;
  // Before the wasm backend first starts: its threaded build, with o.wasmThreads threads.
  if (o.wasmThreads > 0) await useNodeWasmThreads({ threads: o.wasmThreads });
  benchWebGPUTuneUp.bindGroups = o.bindGroupCache;
  benchLazyGradients.on = o.lazyGradients;
  const gpu = await probeWebGpu();
  for (const [name, v] of Object.entries(o.tfFlags)) {
    // A backend's flags exist only once its package is loaded (webgpu: when Dawn found an adapter).
    const registry = (tf.env() as unknown as { flagRegistry: Record<string, unknown> }).flagRegistry;
    if (registry[name] !== undefined) tf.env().set(name, v);
    else console.warn(`--tf-flag ${name}: no such tfjs flag here (its backend not loaded?); ignored`);
  }
  const backends = o.backends ?? (['cpu', 'wasm', ...(gpu.available ? ['webgpu' as const] : [])] as BackendName[]);
  const load0 = os.loadavg();
  const results: RunnerResult[] = [];
  const ratios: Ratio[] = [];
  const skipped: string[] = [];
  const described: Record<string, string> = {};
  if (!gpu.available && backends.includes('webgpu')) skipped.push(`webgpu: ${gpu.adapter}`);

  for (const backend of backends) {
    if (!(await useBackend(backend))) {
      if (backend !== 'webgpu' || gpu.available) skipped.push(`${backend}: could not start`);
      continue;
    }
    described[backend] = await describeBackend(backend);
    if (backend === 'webgpu' && !o.bindGroupCache) described[backend] += ', no bind group cache';
    if (!o.lazyGradients) described[backend] += ', eager fused-op gradients';
    if (o.guard !== undefined) described[backend] += `, library guard ${String(o.guard)}`;
    for (const model of o.models) {
      const w = WORKLOADS[model];
      const d = defaults(backend, model, gpu.software);
      const steps = o.steps ?? d.steps;
      const warmup = o.warmup ?? d.warmup;
      log(`\n${described[backend]} · ${w.description}: ${o.runs} runs × ${steps} steps after ${warmup} warm-up steps`);
      const runners: [string, Runner][] = [
        ['library', libraryRunner(w, steps, o.guard === undefined ? {} : { guardNonFinite: o.guard })],
        ['handwritten', handwrittenRunner(w, steps)],
        ...(o.untuned ? [['library-untuned', libraryRunner(w, steps, UNTUNED, 'training-only')] as [string, Runner]] : []),
        ...(o.stepLoop
          ? [
              ['library-step-loop', stepLoopRunner(w, steps, o.guard === undefined ? {} : { guardNonFinite: o.guard })] as [
                string,
                Runner,
              ],
            ]
          : []),
        // Without the wasm kernel tune-up only the MLP trains (the DCGAN needs Conv2DBackpropFilter).
        ...(o.stockWasm && ((backend === 'wasm' && model === 'mlp') || backend === 'webgpu')
          ? [[`handwritten-stock-${backend}`, handwrittenRunner(w, steps, 'stock')] as [string, Runner]]
          : []),
      ];
      try {
        const rates = new Map<string, number[]>(runners.map(([name]) => [name, []]));
        const cpuRates = new Map<string, number[]>(runners.map(([name]) => [name, []]));
        const before = new Map<string, tf.MemoryInfo>();
        for (const [name, r] of runners) {
          if (warmup > 0) await r.run(warmup);
          before.set(name, tf.memory());
        }
        // Memory deltas need each runner's own window: record them around its runs only.
        const held = new Map<string, { tensors: number; bytes: number }>(runners.map(([n]) => [n, { tensors: 0, bytes: 0 }]));
        for (let run = 0; run < o.runs; run++) {
          // Rotate the order every round so that no runner always follows the same one.
          for (const [name, r] of [...runners.slice(run % runners.length), ...runners.slice(0, run % runners.length)]) {
            const m0 = tf.memory();
            const { wall: rate, cpu } = await timed(r, steps);
            const m1 = tf.memory();
            const h = held.get(name) as { tensors: number; bytes: number };
            h.tensors += m1.numTensors - m0.numTensors;
            h.bytes += m1.numBytes - m0.numBytes;
            rates.get(name)?.push(rate);
            cpuRates.get(name)?.push(cpu);
            log(
              `  run ${run + 1} ${name.padEnd(22)} ${rate.toFixed(rate < 1 ? 3 : 2)} steps/s, ${cpu.toFixed(cpu < 1 ? 3 : 2)} per CPU-second`,
            );
          }
        }
        for (const [name, r] of runners) {
          const start = tf.memory().numBytes;
          const profile = await tf.profile(() => r.stepOnce());
          // The long memory check runs for the two runners compared (not the optional before/after ones).
          const traced = o.memorySteps > 0 && (name === 'library' || name === 'handwritten');
          const memory = traced ? await memoryTrace(r, o.memorySteps) : undefined;
          const live = tf.memory();
          const h = held.get(name) as { tensors: number; bytes: number };
          const runs = rates.get(name) as number[];
          results.push({
            backend,
            model,
            runner: name,
            steps,
            runs,
            stepsPerSecond: median(runs),
            cpuRuns: cpuRates.get(name) as number[],
            stepsPerCpuSecond: median(cpuRates.get(name) as number[]),
            tensorsHeldPerStep: h.tensors / (steps * o.runs),
            bytesHeldPerStep: h.bytes / (steps * o.runs),
            liveTensors: live.numTensors,
            liveBytes: live.numBytes,
            kernelsPerStep: profile.kernels.length,
            peakStepBytes: profile.peakBytes - start,
            ...(memory === undefined ? {} : { memory }),
          });
          if (memory !== undefined) {
            log(
              `  memory ${name}: ${memory.flat ? 'flat' : 'GROWS'} over ${memory.steps} steps (tensors ${memory.tensors.join(',')})`,
            );
          }
        }
        const hand = results.find((r) => r.backend === backend && r.model === model && r.runner === 'handwritten');
        for (const r of results.filter((x) => x.backend === backend && x.model === model && x.runner !== 'handwritten')) {
          if (hand === undefined) break;
          const ratio = {
            backend,
            model,
            runner: r.runner,
            overHandwritten: r.stepsPerSecond / hand.stepsPerSecond,
            cpuOverHandwritten: r.stepsPerCpuSecond / hand.stepsPerCpuSecond,
          };
          ratios.push(ratio);
          log(
            `  ${r.runner} / handwritten: ${ratio.overHandwritten.toFixed(3)} (wall), ${ratio.cpuOverHandwritten.toFixed(3)} (CPU time)`,
          );
        }
      } catch (e) {
        skipped.push(`${backend} ${model}: ${String(e).slice(0, 300)}`);
        log(`  failed: ${String(e).slice(0, 300)}`);
      } finally {
        for (const [, r] of runners) r.dispose();
      }
    }
  }

  const torch: TorchResult[] = [];
  if (o.torch) {
    if (torchAvailable(o.python)) {
      for (const model of o.models) {
        log(`\nPyTorch ${model} …`);
        const t = runTorch(model, o);
        if (typeof t === 'string') skipped.push(t);
        else torch.push(t);
      }
    } else {
      skipped.push(`torch: ${o.python} has no torch`);
    }
  }

  const report: BenchReport = {
    meta: {
      date: new Date().toISOString(),
      node: process.version,
      tfjs: tf.version_core,
      cpu: os.cpus()[0]?.model ?? 'unknown',
      cores: os.cpus().length,
      loadAverageStart: load0,
      loadAverageEnd: os.loadavg(),
      backends: described,
      options: o,
    },
    results,
    ratios,
    torch,
    skipped,
  };
  log(
    `\n${formatReport(report)}\n\nload average (1 min) ${load0[0]?.toFixed(2)} at start, ${os.loadavg()[0]?.toFixed(2)} at end, ${os.cpus().length} cores`,
  );
  if (o.json === '-') console.log(JSON.stringify(report, null, 2));
  else if (o.json !== undefined) writeFileSync(o.json, `${JSON.stringify(report, null, 2)}\n`);
}

await main();
process.exit(0);
