/**
 * Profiling helper: trains one runner for a number of steps so that `node --cpu-prof` (or the
 * built-in `tf.profile` summary printed here) shows where a step's time goes.
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx scripts/bench/profile.ts --backend wasm --model mlp --steps 40
 *   node --import tsx scripts/bench/profile.ts --runner handwritten --kernels   # per-kernel time from tf.profile
 *   node --import tsx scripts/bench/profile.ts --options '{"guardNonFinite":false}'  # trainer options (library runner)
 *   node --import tsx scripts/bench/profile.ts --wasm-threads 2 --kernels      # wasm's threaded build (useNodeWasmThreads)
 *   node --import tsx scripts/bench/profile.ts --backend webgpu --tf-flag WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE=100
 *   node --import tsx scripts/bench/profile.ts --summarize /tmp/prof/x.cpuprofile  # self time by function
 *   node --import tsx scripts/bench/profile.ts --backend webgpu --dispatches --steps 2  # WebGPU dispatches of one step, by program
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { type GANTrainerConfig, useNodeWasmThreads } from '../../src/index';
import { type BackendName, useBackend } from './backends';
import { handwrittenRunner, libraryRunner, type ModelName, UNTUNED, WORKLOADS } from './workloads';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/** Self time per function (and file) of a V8 .cpuprofile, largest first. */
function summarize(path: string, top = 30): void {
  const p = JSON.parse(readFileSync(path, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  p.samples.forEach((id, i) => {
    const n = byId.get(id);
    const dt = p.timeDeltas[i] ?? 0;
    total += dt;
    if (n === undefined) return;
    const file = n.callFrame.url.split('/').slice(-2).join('/');
    const key = `${n.callFrame.functionName || '(anonymous)'} ${file}:${n.callFrame.lineNumber}`;
    self.set(key, (self.get(key) ?? 0) + dt);
  });
  console.log(`total ${(total / 1000).toFixed(0)} ms`);
  for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((100 * us) / total).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`);
  }
}

const argv = process.argv.slice(2);
const arg = (name: string, fallback: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? (argv[i + 1] ?? fallback) : fallback;
};
if (argv.includes('--summarize')) {
  summarize(arg('--summarize', ''), Number(arg('--top', '30')));
  process.exit(0);
}
const backend = arg('--backend', 'wasm') as BackendName;
const model = arg('--model', 'mlp') as ModelName;
const steps = Number(arg('--steps', '40'));
const which = arg('--runner', 'library');
const wasmThreads = Number(arg('--wasm-threads', '0'));
if (wasmThreads > 0) await useNodeWasmThreads({ threads: wasmThreads });
if (!(await useBackend(backend))) throw new Error(`backend ${backend} is not available`);
// --tf-flag NAME=VALUE (repeatable): a tfjs environment flag, e.g. WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE=100.
argv.forEach((a, i) => {
  if (a !== '--tf-flag') return;
  const v = argv[i + 1] ?? '';
  const [name, raw] = [v.slice(0, v.indexOf('=')), v.slice(v.indexOf('=') + 1)];
  tf.env().set(name as string, raw === 'true' ? true : raw === 'false' ? false : Number.isNaN(Number(raw)) ? raw : Number(raw));
});
const w = WORKLOADS[model];
const runner =
  which === 'handwritten'
    ? handwrittenRunner(w, 10)
    : which === 'library-untuned'
      ? libraryRunner(w, 10, UNTUNED, 'training-only')
      : libraryRunner(w, 10, JSON.parse(arg('--options', '{}')) as Partial<GANTrainerConfig>);
await runner.run(10);
const t0 = performance.now();
const c0 = process.cpuUsage();
await runner.run(Math.ceil(steps / 10) * 10);
const cpu = process.cpuUsage(c0);
console.log(`${((Math.ceil(steps / 10) * 10) / ((cpu.user + cpu.system) / 1e6)).toFixed(2)} steps per CPU-second`);
console.log(
  `${which} on ${backend}, ${model}: ${((Math.ceil(steps / 10) * 10) / ((performance.now() - t0) / 1000)).toFixed(2)} steps/s`,
);
if (argv.includes('--kernels')) {
  const p = await tf.profile(() => runner.stepOnce());
  const byName = new Map<string, [number, number]>();
  for (const k of p.kernels) {
    const e = byName.get(k.name) ?? [0, 0];
    e[0]++;
    e[1] += Number(k.kernelTimeMs) || 0;
    byName.set(k.name, e);
  }
  console.log(`kernels ${p.kernels.length}, new tensors ${p.newTensors}, peak ${(p.peakBytes / 2 ** 20).toFixed(1)} MiB`);
  for (const [k, [c, t]] of [...byName].sort((a, b) => b[1][1] - a[1][1]))
    console.log(`  ${k.padEnd(24)} ${String(c).padStart(4)}×  ${t.toFixed(2)} ms`);
}
if (argv.includes('--dispatches') && backend === 'webgpu') {
  // Every dispatch goes through the backend's recordAndSubmit (tfjs's programs and tfjs-gan's own).
  const b = tf.backend() as unknown as { recordAndSubmit: (program: object, ...rest: unknown[]) => void };
  const recordAndSubmit = b.recordAndSubmit;
  const byProgram = new Map<string, number>();
  b.recordAndSubmit = function (this: unknown, program: object, ...rest: unknown[]) {
    byProgram.set(program.constructor.name, (byProgram.get(program.constructor.name) ?? 0) + 1);
    return recordAndSubmit.call(this, program, ...rest);
  };
  try {
    await runner.stepOnce();
  } finally {
    b.recordAndSubmit = recordAndSubmit;
  }
  const total = [...byProgram.values()].reduce((a, n) => a + n, 0);
  console.log(`dispatches in one step: ${total}`);
  for (const [k, n] of [...byProgram].sort((x, y) => y[1] - x[1])) console.log(`  ${k.padEnd(32)} ${n}`);
}
runner.dispose();
process.exit(0);
