/**
 * What one tfjs-backend-webgpu dispatch costs the CPU to enqueue, with and without the WebGPU
 * tune-up's bind group cache: chains of 2 000 `tf.add`s on 4 096-element tensors (each result
 * disposed as the next is made, as in a training step), timed up to the last enqueue; the GPU's work
 * is waited for afterwards and not counted. On a real GPU a training step is bound by this cost.
 *
 *   node --import tsx scripts/bench/dispatch.ts [--rounds 3] [--chains 12]
 *
 * Prints the median microseconds per dispatch of each round's chains (the first two of each round
 * are warm-up) and the cache's hits and misses. Without a GPU it runs on SwiftShader
 * (`VK_ICD_FILENAMES`, see backends.ts), where the GPU's work runs on the CPU's other threads.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { installWebGPUTuneUp, uninstallWebGPUTuneUp, webgpuBindGroupCacheStats } from '../../src/index';
import { probeWebGpu, useBackend } from './backends';

const argv = process.argv.slice(2);
const arg = (name: string, fallback: number) => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
};
if (!(await useBackend('webgpu'))) throw new Error(`webgpu is not available: ${(await probeWebGpu()).adapter}`);
console.log(`webgpu (${(await probeWebGpu()).adapter})`);
const x = tf.ones([4096]);
const y = tf.ones([4096]);

/** Microseconds per dispatch to enqueue a chain of n adds. */
async function chain(n: number): Promise<number> {
  let z = x;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const next = tf.add(z, y);
    if (z !== x) z.dispose();
    z = next;
  }
  const us = ((performance.now() - t0) * 1000) / n;
  await z.data();
  z.dispose();
  return us;
}

const median = (a: readonly number[]) => [...a].sort((p, q) => p - q)[a.length >> 1] as number;
for (let round = 0; round < arg('--rounds', 3); round++) {
  for (const cache of [false, true]) {
    uninstallWebGPUTuneUp();
    installWebGPUTuneUp({ bindGroups: cache });
    const times: number[] = [];
    for (let i = 0; i < arg('--chains', 12); i++) times.push(await chain(2000));
    const s = webgpuBindGroupCacheStats();
    console.log(
      `${cache ? 'with the bind group cache   ' : 'without the bind group cache'}  ${median(times.slice(2)).toFixed(1)} µs per dispatch` +
        (s === undefined ? '' : `  (hits ${s.hits}, misses ${s.misses})`),
    );
  }
}
uninstallWebGPUTuneUp();
process.exit(0);
