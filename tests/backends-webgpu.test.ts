// Conformance suite on the webgpu backend in Node: Dawn (the `webgpu` package) on a Vulkan driver —
// SwiftShader's CPU driver from Debian's chromium package when there is no GPU. Skips loudly when Dawn
// finds no adapter, except under CI=true, where WebGPU must work (.ci/run installs chromium and libvulkan1).
import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { meanProbabilities } from '../src/backends/webgpu-losses';
import {
  dataGuardStart,
  FUSED_ADAM_KERNEL,
  fusedAdamUpdate,
  GANConfigError,
  type GANLoss,
  GANTrainer,
  installFusedLeakyReluGradient,
  installFusedTanhGradient,
  installSecondOrderGradients,
  installWebGPUTuneUp,
  LEAKY_RELU_GRAD_KERNEL,
  losses,
  mlpDiscriminator,
  mlpGenerator,
  NonFiniteError,
  nextGuard,
  releaseFusedAdam,
  selectBackend,
  TANH_GRAD_KERNEL,
  uninstallFusedLeakyReluGradient,
  uninstallFusedTanhGradient,
  uninstallWebGPUTuneUp,
  useNodeWebGPU,
  webgpuBindGroupCacheStats,
} from '../src/index';
import { webgpuAdamConstantValues, webgpuFusedAdam } from '../src/optim/adam-webgpu';
import { nodeConformanceSuite } from './conformance/node';
import { readsDuringFit, run as runGuarded } from './fixtures/guard';

const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';

async function webgpuAvailability(): Promise<{ run: boolean; reason: string }> {
  try {
    // A GPU's driver is used when VK_ICD_FILENAMES is set; otherwise SwiftShader's, where installed.
    await useNodeWebGPU(existsSync(SWIFTSHADER) ? { vulkanDriver: SWIFTSHADER } : {});
    const gpu = (
      globalThis as unknown as { navigator: { gpu: { requestAdapter(): Promise<{ info?: { description?: string } } | null> } } }
    ).navigator.gpu;
    const adapter = await gpu.requestAdapter();
    if (adapter === null) throw new Error('Dawn found no adapter (no Vulkan driver: apt-get install libvulkan1 chromium)');
    await import('@tensorflow/tfjs-backend-webgpu');
    return { run: true, reason: adapter.info?.description ?? 'adapter found' };
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    if (process.env.CI === 'true') return { run: true, reason: `CI=true, WebGPU must work: ${reason}` };
    console.warn(`\n*** SKIPPING Node WebGPU conformance: ${reason}. Under CI=true it runs. ***\n`);
    return { run: false, reason };
  }
}

const webgpu = await webgpuAvailability();

describe.runIf(webgpu.run)(`webgpu in Node (${webgpu.reason})`, () => {
  it('selectBackend picks webgpu first and reports it', async () => {
    expect(await selectBackend(['webgpu', 'cpu'])).toBe('webgpu');
    expect(tf.getBackend()).toBe('webgpu');
    await tf.setBackend('cpu');
  });
  nodeConformanceSuite('webgpu', 'conformance on the webgpu backend (Node, Dawn)');
  webgpuTuneUpSuite();
});

/** Weights of `vars`, read asynchronously (webgpu has no readSync in Node). */
async function read(vars: readonly tf.Tensor[]): Promise<Float32Array[]> {
  return Promise.all(vars.map(async (v) => (await v.data()) as Float32Array));
}

function maxRelativeDifference(a: readonly Float32Array[], b: readonly Float32Array[]): number {
  let worst = 0;
  a.forEach((x, i) => {
    const y = b[i] as Float32Array;
    for (let j = 0; j < x.length; j++) {
      const d = Math.abs((x[j] as number) - (y[j] as number)) / Math.max(1e-6, Math.abs(x[j] as number));
      worst = Math.max(worst, d);
    }
  });
  return worst;
}

/**
 * Runs `f` on the webgpu backend with its `recordAndSubmit` (every dispatch: tfjs's programs and
 * tfjs-gan's own) wrapped; returns f's result and the shader keys of the programs dispatched, in order.
 */
async function dispatchesDuring<T>(f: () => T | Promise<T>): Promise<{ result: T; keys: string[] }> {
  const backend = tf.backend() as unknown as { recordAndSubmit: (program: object, ...rest: unknown[]) => void };
  const recordAndSubmit = backend.recordAndSubmit;
  const keys: string[] = [];
  backend.recordAndSubmit = function (this: unknown, program: object, ...rest: unknown[]) {
    keys.push((program as { shaderKey: string }).shaderKey);
    return recordAndSubmit.call(this, program, ...rest);
  };
  try {
    return { result: await f(), keys };
  } finally {
    backend.recordAndSubmit = recordAndSubmit;
  }
}

/** The library's WebGPU tune-up: uploads through queue.writeBuffer, the fused Adam shaders, the concatenated guard. */
function webgpuTuneUpSuite(): void {
  describe('webgpu tune-up', () => {
    it('uploads through queue.writeBuffer: same values, no GPU buffer created per upload, and uninstalls', async () => {
      await tf.setBackend('webgpu');
      uninstallWebGPUTuneUp();
      const backend = tf.backend() as unknown as { device: { createBuffer: (...a: unknown[]) => unknown } };
      const device = backend.device;
      const original = device.createBuffer;
      let created = 0;
      device.createBuffer = function (this: unknown, ...a: unknown[]) {
        created++;
        return original.apply(this, a);
      };
      try {
        const uploads = async () => {
          created = 0;
          const out: number[][] = [];
          for (let i = 0; i < 10; i++) {
            // 1 200 elements: tfjs computes ops on tensors under 1 000 elements on the CPU, without uploading.
            const r = tf.tidy(() => [
              tf.add(tf.tensor([1.5, -2, i, ...new Array(1197).fill(0.5)]), tf.scalar(0.25)),
              tf.add(tf.tensor([1, -7, i, ...new Array(1197).fill(3)], undefined, 'int32'), tf.scalar(2, 'int32')),
              tf.cast(
                tf.logicalNot(tf.tensor([true, false, i % 2 === 0, ...new Array(1197).fill(true)], undefined, 'bool')),
                'int32',
              ),
            ]);
            for (const t of r) out.push(Array.from(await t.data()).slice(0, 4));
            tf.dispose(r);
          }
          return { out, created };
        };
        await uploads(); // fill tfjs's buffer pool
        const stock = await uploads();
        const everyPart = { webgpuAvailable: true, uploads: true, bindGroups: true, sums: true, losses: true };
        expect(installWebGPUTuneUp()).toEqual(everyPart);
        expect(installWebGPUTuneUp()).toEqual(everyPart); // idempotent
        await uploads();
        const tuned = await uploads();
        expect(tuned.out).toEqual(stock.out);
        expect(tuned.out[0]).toEqual([1.75, -1.75, 0.25, 0.75]);
        expect(tuned.out[1]).toEqual([3, -5, 2, 5]);
        expect(tuned.out[2]).toEqual([0, 1, 0, 0]);
        // tfjs creates a mapped buffer for every upload (50 here); the tune-up reuses pooled ones.
        expect(stock.created).toBeGreaterThanOrEqual(50);
        expect(tuned.created).toBe(0);
        expect(uninstallWebGPUTuneUp()).toBe(true);
        expect(Object.hasOwn(tf.backend(), 'uploadToGPU')).toBe(false);
        expect(uninstallWebGPUTuneUp()).toBe(false);
        expect((await uploads()).out).toEqual(stock.out);
      } finally {
        device.createBuffer = original;
        await tf.setBackend('cpu');
      }
    });

    it("uploads stay correct next to tfjs's own pending staging copies (a fromPixels tensor disposed unused)", async () => {
      await tf.setBackend('webgpu');
      try {
        const n = 1200;
        const once = async (install: boolean) => {
          uninstallWebGPUTuneUp();
          const warm = tf.add(tf.ones([n]), 0); // a pooled buffer of 4 800 bytes
          await warm.data();
          warm.dispose();
          // tfjs uploads the pixels through a staging copy recorded in its encoder; disposed unused,
          // the tensor's buffer returns to the pool with that copy still pending.
          const px = tf.browser.fromPixels({ data: new Uint8Array(40 * 10 * 4).fill(7), width: 40, height: 10 }, 3);
          px.dispose();
          if (install) installWebGPUTuneUp();
          const x = tf.tensor(new Float32Array(n).fill(0.5));
          const y = tf.sum(x);
          const [v] = await y.data();
          tf.dispose([x, y]);
          return v;
        };
        expect(await once(false)).toBe(600);
        expect(await once(true)).toBe(600);
      } finally {
        uninstallWebGPUTuneUp();
        await tf.setBackend('cpu');
      }
    });

    it('the bind group cache: the same results, no bind group created once warm, bounded, only for tfjs, and uninstalls', async () => {
      await tf.setBackend('webgpu');
      uninstallWebGPUTuneUp();
      type Device = { createBindGroup: (d: unknown) => unknown; createShaderModule: (d: unknown) => unknown };
      const backend = tf.backend() as unknown as { device: Device; bufferManager: object };
      const device = backend.device;
      let created = 0;
      // Counts the bind groups Dawn really creates: the tune-up's cache wraps this.
      device.createBindGroup = function (this: unknown, d: unknown) {
        created++;
        return Object.getPrototypeOf(device).createBindGroup.call(this, d);
      };
      const x = tf.randomNormal([40, 30], 0, 1, 'float32', 1); // 1 200 elements and more: computed on the GPU
      const w = tf.randomNormal([30, 50], 0, 1, 'float32', 2);
      const iterate = async (n: number) => {
        const out: number[][] = [];
        let bindGroups = 0;
        for (let i = 0; i < n; i++) {
          const before = created;
          const y = tf.tidy(() => tf.sum(tf.leakyRelu(tf.add(tf.matMul(x, w), tf.scalar(i % 3)), 0.2), 0));
          out.push(Array.from(await y.data()));
          y.dispose();
          bindGroups = created - before;
        }
        return { out, lastBindGroups: bindGroups };
      };
      try {
        const stock = await iterate(6);
        expect(stock.lastBindGroups).toBeGreaterThanOrEqual(4); // one per dispatch
        expect(installWebGPUTuneUp({ uploads: false })).toEqual({
          webgpuAvailable: true,
          uploads: false,
          bindGroups: true,
          sums: true,
          losses: true,
        });
        const tuned = await iterate(12);
        expect(tuned.out.slice(0, 6)).toEqual(stock.out); // bit for bit
        expect(tuned.lastBindGroups).toBe(0);
        const stats = webgpuBindGroupCacheStats();
        expect(stats?.hits).toBeGreaterThan(0);
        expect(stats?.size).toBe(stats?.misses);
        expect(stats?.capacity).toBe(4096);

        // A bad size is refused before anything changes.
        expect(() => installWebGPUTuneUp({ bindGroupCacheSize: 0 })).toThrow(GANConfigError);
        expect(() => installWebGPUTuneUp({ bindGroupCacheSize: 2.5 })).toThrow(/bindGroupCacheSize/);
        expect(webgpuBindGroupCacheStats()?.capacity).toBe(4096);
        // A smaller cache drops the least recently used groups and stays within its size.
        installWebGPUTuneUp({ bindGroupCacheSize: 2 });
        expect(webgpuBindGroupCacheStats()?.size).toBe(2);
        const small = await iterate(6);
        expect(small.out).toEqual(stock.out);
        expect(webgpuBindGroupCacheStats()?.size).toBeLessThanOrEqual(2);
        expect(small.lastBindGroups).toBeGreaterThan(0); // too small to keep a whole iteration's

        // Bind groups made by anyone else on the same device are not shared.
        const pipeline = (
          device as unknown as { createComputePipeline(d: unknown): { getBindGroupLayout(i: number): unknown } }
        ).createComputePipeline({
          layout: 'auto',
          compute: {
            module: device.createShaderModule({
              code: '@group(0) @binding(0) var<storage, read_write> o: array<f32>; @compute @workgroup_size(1) fn main() { o[0] = 1.0; }',
            }),
            entryPoint: 'main',
          },
        });
        const buffer = (tf.backend() as unknown as { tensorMap: { get(id: unknown): { resource: unknown } } }).tensorMap.get(
          x.dataId,
        ).resource;
        const own = { layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer } }] };
        expect(device.createBindGroup(own)).not.toBe(device.createBindGroup(own));

        const pipelines = Object.values((tf.backend() as unknown as { pipelineCache: Record<string, object> }).pipelineCache);
        expect(pipelines.some((p) => Object.hasOwn(p, 'getBindGroupLayout'))).toBe(true); // kept layouts
        expect(uninstallWebGPUTuneUp()).toBe(true);
        expect(webgpuBindGroupCacheStats()).toBeUndefined();
        expect(pipelines.some((p) => Object.hasOwn(p, 'getBindGroupLayout'))).toBe(false);
        expect(Object.hasOwn(tf.backend(), 'recordAndSubmit')).toBe(false);
        expect(Object.hasOwn(backend.bufferManager, 'acquireBuffer')).toBe(false);
        expect(Object.hasOwn(device, 'createBindGroup')).toBe(true); // the counter above, put back
        const after = await iterate(3);
        expect(after.out).toEqual(stock.out.slice(0, 3));
        expect(after.lastBindGroups).toBe(stock.lastBindGroups);
      } finally {
        delete (device as Partial<Device>).createBindGroup;
        tf.dispose([x, w]);
        await tf.setBackend('cpu');
      }
    });

    it("the bind group cache under someone else's wrapper: installed once, inert after uninstalling", async () => {
      await tf.setBackend('webgpu');
      uninstallWebGPUTuneUp();
      const backend = tf.backend() as unknown as { recordAndSubmit: (...a: unknown[]) => unknown };
      try {
        installWebGPUTuneUp({ uploads: false });
        const ours = backend.recordAndSubmit;
        let calls = 0;
        backend.recordAndSubmit = function (this: unknown, ...a: unknown[]) {
          calls++;
          return ours.apply(this, a);
        };
        installWebGPUTuneUp({ uploads: false }); // as the trainer does at every step: no second layer
        expect(backend.recordAndSubmit).not.toBe(ours);
        const x = tf.randomNormal([40, 30], 0, 1, 'float32', 1);
        const once = async () => {
          const y = tf.tidy(() => tf.sum(tf.mul(tf.add(x, 1), 2)));
          const v = (await y.data())[0];
          y.dispose();
          return v;
        };
        const first = await once();
        expect(calls).toBeGreaterThan(0);
        expect(webgpuBindGroupCacheStats()?.misses).toBeGreaterThan(0);
        expect(uninstallWebGPUTuneUp()).toBe(true);
        expect(webgpuBindGroupCacheStats()).toBeUndefined();
        expect(await once()).toBe(first); // ours, left under theirs, passes everything through
        x.dispose();
      } finally {
        delete (backend as Partial<typeof backend>).recordAndSubmit;
        await tf.setBackend('cpu');
      }
    });

    it.each([
      [
        'LeakyReLU',
        (t: tf.Tensor) => tf.leakyRelu(t, 0.2),
        installFusedLeakyReluGradient,
        uninstallFusedLeakyReluGradient,
        LEAKY_RELU_GRAD_KERNEL,
        'Select',
      ],
      ['tanh', tf.tanh, installFusedTanhGradient, uninstallFusedTanhGradient, TANH_GRAD_KERNEL, 'Square'],
    ] as const)(
      "the fused %s gradient gives tfjs's gradient bit for bit on webgpu, in one dispatch instead of three",
      async (_, f, install, uninstall, kernel, tfjsKernel) => {
        await tf.setBackend('webgpu');
        installSecondOrderGradients();
        const n = 1200; // over 1 000 elements: computed on the GPU
        const special = [3, -2, 0, -0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0.5, -0.7];
        const x = tf.tensor([...special, ...Array.from({ length: n - special.length }, (_, i) => Math.sin(i * 1.7) * 3)]);
        const dy = tf.tensor(Array.from({ length: n }, (_, i) => (i === 3 ? -0 : Math.cos(i * 1.3) * 5)));
        const w = tf.tensor(Array.from({ length: n }, (_, i) => Math.sin(i * 0.7)));
        const run = async (fused: boolean) => {
          if (fused) install();
          else uninstall();
          const g = tf.grad(f);
          const p = await tf.profile(() => g(x, dy));
          const second = tf.grad((wt: tf.Tensor) =>
            tf.sum(tf.square(tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(tf.mul(t, wt)), wt)))(x))),
          )(w);
          const out = {
            first: Array.from(await (p.result as tf.Tensor).data()),
            second: Array.from(await second.data()),
            kernels: p.kernels.map((k) => k.name),
          };
          tf.dispose([p.result as tf.Tensor, second]);
          return out;
        };
        try {
          const tfjs = await run(false);
          const fused = await run(true);
          expect(fused.first.flatMap((v, i) => (Object.is(v, tfjs.first[i]) ? [] : [i]))).toEqual([]); // no element differs
          // tfjs's LeakyReLU composite may turn a −0 into +0 in the second-order gradient (it adds a +0); nothing else differs.
          expect(fused.second.map((v) => (v === 0 ? 0 : v))).toEqual(tfjs.second.map((v) => (v === 0 ? 0 : v)));
          expect(tfjs.kernels).toContain(tfjsKernel);
          expect(fused.kernels).toContain(kernel);
          expect(fused.kernels).not.toContain(tfjsKernel);
        } finally {
          install();
          tf.dispose([x, dy, w]);
          await tf.setBackend('cpu');
        }
      },
    );

    it("the fused Adam shader gives tfjs's Adam update on webgpu: one dispatch per variable, new tensors, leak-free", async () => {
      await tf.setBackend('webgpu');
      // tfjs's AdamOptimizer keeps its moments in these (private) slots: m of each variable, then v.
      const moments = (opt: tf.Optimizer) => {
        const o = opt as unknown as Record<'accumulatedFirstMoment' | 'accumulatedSecondMoment', { variable: tf.Variable }[]>;
        return [...o.accumulatedFirstMoment, ...o.accumulatedSecondMoment].map((x) => x.variable);
      };
      const run = async (fused: boolean) => {
        const init = [tf.randomNormal([130, 7], 0, 1, 'float32', 1), tf.randomNormal([7], 0, 1, 'float32', 2)] as const;
        const w = tf.variable(init[0], true, `adam-webgpu-${fused}`);
        const b = tf.variable(init[1], true, `adam-webgpu-b-${fused}`);
        tf.dispose([...init]); // the variables keep the data
        const opt = tf.train.adam(0.01, 0.6, 0.999); // β1 ≠ 1 − β1
        const kernels: string[] = [];
        // The moments read between updates, a read still in flight during one, and a clone's values: a
        // kernel writing over its inputs would show in each (tfjs-backend-webgpu keeps what it read on the CPU).
        const between: number[][] = [];
        let inFlight: { read: Promise<tf.TypedArray>; before: number[] } | undefined;
        let clone: { copy: tf.Tensor; before: number[] } | undefined;
        for (let i = 0; i < 4; i++) {
          const grads = tf.tidy(() => ({
            [w.name]: tf.mul(tf.randomNormal([130, 7], 0, 1, 'float32', 10 + i), 3),
            [b.name]: tf.randomNormal([7], 0, 1, 'float32', 20 + i),
          }));
          // A schedule's change of the learning rate: the fused kernel's constants are made again.
          if (i === 3) (opt as unknown as { learningRate: number }).learningRate = 0.02;
          if (i === 1) {
            const m = moments(opt)[0] as tf.Variable;
            inFlight = { read: m.data(), before: between[0] as number[] };
          }
          if (i === 2) {
            const copy = tf.clone(moments(opt)[0] as tf.Variable);
            clone = { copy, before: Array.from(await copy.data()) };
          }
          if (fused) {
            const { result: p, keys } = await dispatchesDuring(() => tf.profile(() => fusedAdamUpdate(opt, grads)));
            kernels.push(...p.kernels.map((k) => k.name));
            // tfjs extends a program's key with its shapes (tfjsGanFusedAdam_m_…); the one shader's is its own.
            const dispatches = keys.map((key) => key.match(/^tfjsGanFusedAdam_(oneShader|m|v|w)/)?.[0] ?? key);
            // One dispatch per variable and nothing else: tfjs-backend-webgpu runs the scalar
            // bias-correction arithmetic (1 − βᵗ, βᵗ·β) and the constants' concatenation on the CPU.
            // (The first update also fills the new moments with zeros.)
            expect(dispatches.filter((d) => !d.startsWith('fill'))).toEqual([
              'tfjsGanFusedAdam_oneShader',
              'tfjsGanFusedAdam_oneShader',
            ]);
          } else opt.applyGradients(grads as Parameters<typeof opt.applyGradients>[0]);
          tf.dispose(Object.values(grads));
          between.push(Array.from(await (moments(opt)[0] as tf.Variable).data()));
        }
        const out = await read([w, b]);
        const m = await read(moments(opt));
        expect(Array.from(await (inFlight as { read: Promise<tf.TypedArray> }).read)).toEqual(inFlight?.before);
        expect(Array.from(await (clone as { copy: tf.Tensor }).copy.data())).toEqual(clone?.before);
        clone?.copy.dispose();
        releaseFusedAdam(opt);
        opt.dispose();
        tf.dispose([w, b]);
        return { out, moments: m, between, kernels };
      };
      try {
        expect(tf.getKernel(FUSED_ADAM_KERNEL, 'webgpu')).toBeUndefined(); // registered on first use
        const plain = await run(false);
        const before = tf.memory().numTensors;
        const fused = await run(true);
        expect(tf.getKernel(FUSED_ADAM_KERNEL, 'webgpu')).toBeDefined();
        // One fused kernel per variable per update, no element-wise op of tfjs's Adam left.
        expect(fused.kernels.filter((k) => k === FUSED_ADAM_KERNEL)).toHaveLength(8);
        expect(fused.kernels).not.toContain('Sqrt');
        expect(fused.kernels).not.toContain('RealDiv');
        // The same float32 operations; a GPU compiler may fuse a multiply-add, so allow a few ulps.
        expect(maxRelativeDifference(plain.out, fused.out)).toBeLessThan(1e-6); // SwiftShader: 0
        expect(maxRelativeDifference(plain.moments, fused.moments)).toBeLessThan(1e-6);
        const between = (r: { between: number[][] }) => r.between.map((x) => Float32Array.from(x));
        expect(maxRelativeDifference(between(plain), between(fused))).toBeLessThan(1e-6); // each update's m, read after it
        expect(tf.memory().numTensors).toBe(before);
      } finally {
        await tf.setBackend('cpu');
      }
    });

    it("sums and means over leading axes skip tfjs's transpose: the same bits as tfjs's kernels, one dispatch, and uninstall", async () => {
      await tf.setBackend('webgpu');
      // Shapes and axes: bias gradients ([batch, units], axis 0), a conv's ([n, h, w, c], axes 0-2), keepDims,
      // 4 096+ rows (tfjs's 256-wide workgroup) and the cases that stay tfjs's (innermost, all axes, int32).
      const cases: [number[], number | number[], boolean, tf.DataType][] = [
        [[100, 256], 0, false, 'float32'],
        [[100, 1], 0, false, 'float32'],
        [[7, 3, 5], [0, 1], false, 'float32'],
        [[7, 3, 5], [0, 1], true, 'float32'],
        [[64, 5, 5, 8], [0, 1, 2], false, 'float32'],
        [[5000, 3], -2, false, 'float32'],
        [[129, 2], 0, true, 'float32'],
        [[100, 256], 1, false, 'float32'],
        [[7, 3, 5], [0, 1, 2], false, 'float32'],
        [[7, 3, 5], [0, 2], false, 'float32'],
        [[7, 3, 5], [1, 0], false, 'float32'], // leading, but tfjs adds them in the other order: its kernel
        [[100, 6], 0, false, 'int32'],
      ];
      const sums = async () => {
        const out: { values: number[]; shape: number[]; programs: string[] }[] = [];
        for (const [c, [shape, axis, keepDims, dtype]] of [...cases, ...cases].entries()) {
          const reduce = c < cases.length ? tf.sum : tf.mean;
          const x = tf.tidy(() => {
            const r = tf.randomNormal(shape, 0, 10, 'float32', shape.length * 7 + (shape[0] as number));
            // A NaN and an infinity in the first column's sums, as a gradient might hold.
            const flat = r.dataSync().slice();
            flat[0] = Number.NaN;
            if (flat.length > 3) flat[3] = Number.POSITIVE_INFINITY;
            return tf.cast(tf.tensor(flat, shape), dtype);
          });
          await x.data(); // on the GPU before the sum
          const { result: y, keys } = await dispatchesDuring(() => reduce(x, axis, keepDims));
          const programs = keys.map((key) => key.split('_')[0] as string);
          out.push({ values: Array.from(await y.data()), shape: y.shape, programs });
          tf.dispose([x, y]);
        }
        return out;
      };
      try {
        uninstallWebGPUTuneUp();
        const tfjs = await sums();
        expect(installWebGPUTuneUp({ uploads: false, bindGroups: false })).toMatchObject({ sums: true });
        const before = tf.memory().numTensors;
        const ours = await sums();
        expect(tf.memory().numTensors).toBe(before);
        [...cases, ...cases].forEach(([shape, axis], c) => {
          const [a, b] = [tfjs[c], ours[c]] as [(typeof tfjs)[0], (typeof ours)[0]];
          const [i, op] = c < cases.length ? [c, 'Sum'] : [c - cases.length, 'Mean'];
          expect(b.shape, `${op} ${shape} ${axis}`).toEqual(a.shape);
          expect(b.values, `${op} ${shape} ${axis}`).toEqual(a.values); // bit for bit (NaN where tfjs has NaN)
          // The leading-axes cases: one column-sum dispatch (tfjs: a reduction, after a transpose unless it
          // transposed on the CPU); the others: tfjs's kernel, untouched.
          expect(b.programs, `${op} ${shape} ${axis}`).toEqual(i < 7 ? [`tfjsGanColumn${op}`] : a.programs);
        });
        expect(tfjs[0]?.programs).toEqual(['transposeShared', 'reduce']); // a bias gradient's sum: one dispatch saved
        expect(tfjs[cases.length]?.programs).toEqual(['transposeShared', 'reduce']); // and a mean's
        expect(ours[0]?.values.some(Number.isNaN)).toBe(true);
        expect(uninstallWebGPUTuneUp()).toBe(true);
        const again = await sums();
        expect(again.map((r) => r.programs)).toEqual(tfjs.map((r) => r.programs)); // tfjs's Sum is back
      } finally {
        installWebGPUTuneUp();
        await tf.setBackend('cpu');
      }
    });

    it("the sums part leaves someone else's webgpu Sum alone", async () => {
      await tf.setBackend('webgpu');
      installWebGPUTuneUp(); // the sums part has seen tfjs's kernels
      uninstallWebGPUTuneUp();
      const tfjsSum = tf.getKernel('Sum', 'webgpu') as tf.KernelConfig;
      let calls = 0;
      const theirs: tf.KernelConfig = {
        ...tfjsSum,
        kernelFunc: (args) => {
          calls++;
          return tfjsSum.kernelFunc(args);
        },
      };
      tf.unregisterKernel('Sum', 'webgpu');
      tf.registerKernel(theirs);
      try {
        const report = installWebGPUTuneUp({ uploads: false, bindGroups: false });
        expect(report.sums).toBe(false);
        expect(report.reason).toMatch(/someone else/);
        expect(tf.getKernel('Sum', 'webgpu')).toBe(theirs);
        tf.tidy(() => tf.sum(tf.ones([4, 3]), 0)); // a leading-axis sum: theirs runs
        expect(calls).toBe(1);
      } finally {
        uninstallWebGPUTuneUp();
        tf.unregisterKernel('Sum', 'webgpu');
        tf.registerKernel(tfjsSum);
        installWebGPUTuneUp();
        await tf.setBackend('cpu');
      }
    });

    it("the fused Adam's three-program path (no recordAndSubmit, or compile-only tfjs) gives the one shader's results", async () => {
      await tf.setBackend('webgpu');
      try {
        const k = {
          beta1: 0.6,
          oneMinusBeta1: Math.fround(0.4),
          beta2: 0.999,
          oneMinusBeta2: Math.fround(1 - 0.999),
          epsilon: 1e-7,
          negLearningRate: -0.01,
        };
        const t = {
          w: tf.randomNormal([300, 5], 0, 1, 'float32', 1),
          m: tf.randomNormal([300, 5], 0, 0.1, 'float32', 2),
          v: tf.abs(tf.randomNormal([300, 5], 0, 0.1, 'float32', 3)),
          g: tf.randomNormal([300, 5], 0, 1, 'float32', 4),
          p: tf.tensor1d([Math.fround(1 - 0.6 ** 3), Math.fround(1 - 0.999 ** 3), ...webgpuAdamConstantValues(k), 1]),
        };
        const real = tf.backend() as unknown as { runWebGPUProgram: (...args: unknown[]) => tf.TensorInfo };
        // A view of the backend with runWebGPUProgram only: the one shader cannot run there.
        const view = { runWebGPUProgram: (...args: unknown[]) => real.runWebGPUProgram(...args) };
        const values = async (infos: tf.TensorInfo[]) => {
          const tensors = infos.map((i) => tf.engine().makeTensorFromTensorInfo(i));
          const out = await read(tensors);
          tf.dispose(tensors);
          return out;
        };
        const one = await values(webgpuFusedAdam(real, t, k));
        const three = await values(webgpuFusedAdam(view, t, k));
        expect(three).toHaveLength(3);
        expect(maxRelativeDifference(one, three)).toBe(0); // the same operations in the same order
        expect(one.flatMap((x) => Array.from(x)).every(Number.isFinite)).toBe(true);
        // A guard (p's last value) not above 0: both paths give the inputs back, bit for bit.
        const inputs = await read([t.w, t.m, t.v]);
        for (const guard of [0, -3, Number.NaN]) {
          const p = tf.concat([tf.slice(t.p, 0, 8), tf.tensor1d([guard])]);
          const skipped = { ...t, p };
          expect(await values(webgpuFusedAdam(real, skipped, k))).toEqual(inputs);
          expect(await values(webgpuFusedAdam(view, skipped, k))).toEqual(inputs);
          p.dispose();
        }
        tf.dispose(Object.values(t));
      } finally {
        await tf.setBackend('cpu');
      }
    });

    it("the fused cross-entropy losses: tfjs's values and gradients bit for bit, one dispatch each way, and uninstall", async () => {
      await tf.setBackend('webgpu');
      try {
        for (const n of [1, 7, 100, 5000, 40000]) {
          // GPU-resident logits (outputs of a GPU op), as D's are; with NaN, ±∞ and huge values among them.
          const [x, y] = tf.tidy(() => {
            const base = tf.mul(tf.randomNormal([n, 1], 0, 4, 'float32', n), 1);
            const all =
              n < 100
                ? base
                : tf.concat([
                    base,
                    tf.tensor2d([[Number.NaN], [Number.POSITIVE_INFINITY], [Number.NEGATIVE_INFINITY], [90], [-90]]),
                  ]);
            return [tf.mul(all, 1), tf.mul(all, -0.5)];
          }) as [tf.Tensor, tf.Tensor];
          // Label smoothing 0: D's real target 1; 0.1: target 0.9, which keeps tfjs's ops (the fused gradient's
          // one term could not reproduce tfjs's sums when more terms reach the same logits). D's fake target is 0.
          for (const labelSmoothing of [0, 0.1]) {
            const run = async () => {
              const { result, keys } = await dispatchesDuring(() =>
                tf.tidy(() => {
                  const dLoss = (a: tf.Tensor, b: tf.Tensor) =>
                    losses.minimax({ labelSmoothing }).discriminator({ realLogits: a, fakeLogits: b } as never);
                  const gLoss = (a: tf.Tensor) => losses.nonSaturating().generator({ fakeLogits: a } as never);
                  const d = tf.grads(dLoss)([x, y]);
                  const g = tf.valueAndGrad(gLoss)(y);
                  // More than one term differentiating the same logits: the sums in tfjs's order.
                  const both = tf.grad((a: tf.Tensor) => tf.add(dLoss(a, a), gLoss(a)))(x);
                  return [dLoss(x, y), ...d, g.value, g.grad, both];
                }),
              );
              const values = await read(result);
              tf.dispose(result);
              return { values, keys };
            };
            uninstallWebGPUTuneUp();
            const plain = await run();
            installWebGPUTuneUp();
            const fused = await run();
            expect(fused.values).toEqual(plain.values); // SwiftShader: bit for bit
            // Forward: D's terms in tf.grads, alone and in `both`, G's twice; backward: D's in tf.grads and
            // `both`, G's twice. With label smoothing D's real term keeps tfjs's ops.
            const dTerms = labelSmoothing === 0 ? 2 : 1;
            expect(fused.keys.filter((k) => k.startsWith('tfjsGanBceMean_'))).toHaveLength(3 * dTerms + 2);
            expect(fused.keys.filter((k) => k.startsWith('tfjsGanBceMeanGrad_'))).toHaveLength(2 * dTerms + 2);
            expect(fused.keys.length).toBeLessThan(plain.keys.length - 10);
            // The Mean gradient's dy/n: tfjs's RealDiv (binary op 4) is a dispatch even for a seed held on the CPU;
            // the fused gradient divides that on the CPU (no outer gradient recorded here).
            expect(plain.keys.filter((k) => k.startsWith('binary_4_')).length).toBeGreaterThanOrEqual(2 * dTerms + 2);
            // (Label smoothing's real term keeps tfjs's Mean, whose gradient divides on the GPU: in d and in `both`.)
            expect(fused.keys.filter((k) => k.startsWith('binary_4_'))).toHaveLength(labelSmoothing === 0 ? 0 : 2);
            // Second order (a penalty on the loss's gradient): the fused gradient's gradient is tfjs's ops.
            const second = async () => {
              const r = tf.tidy(() => {
                const gradNormSq = (a: tf.Tensor) =>
                  tf.sum(
                    tf.square(
                      tf.grad((b: tf.Tensor) =>
                        // × mean(b): the loss's dy depends on the logits, so its gradient's `scaled` input gets one too.
                        tf.add(dLoss(b, b), tf.mul(losses.nonSaturating().generator({ fakeLogits: b } as never), tf.mean(b))),
                      )(a),
                    ),
                  );
                const dLoss = (a: tf.Tensor, b: tf.Tensor) =>
                  losses.minimax({ labelSmoothing }).discriminator({ realLogits: a, fakeLogits: b } as never);
                return tf.grad(gradNormSq)(x);
              });
              const v = await read([r]);
              r.dispose();
              return v;
            };
            uninstallWebGPUTuneUp();
            const plainSecond = await second();
            installWebGPUTuneUp();
            const fusedSecond = await second();
            const finite = (v: Float32Array[]) => v.map((a) => a.map((e) => (Number.isFinite(e) ? e : 0)));
            expect(maxRelativeDifference(finite(plainSecond), finite(fusedSecond))).toBeLessThan(1e-5);
            // An inner gradient seeded with a one-value tensor held on the CPU (tfjs-backend-webgpu computes small
            // products there) that the outer gradient differentiates: dy/n must stay on the tape (tfjs's div).
            const weighted = async () => {
              const weight = tf.scalar(0.75);
              const r = tf.grad((w: tf.Tensor) =>
                tf.sum(
                  tf.square(
                    tf.grad((b: tf.Tensor) => losses.nonSaturating().generator({ fakeLogits: b } as never))(y, tf.mul(w, 2)),
                  ),
                ),
              )(weight);
              const v = await read([r]);
              tf.dispose([weight, r]);
              return v;
            };
            uninstallWebGPUTuneUp();
            const plainWeighted = await weighted();
            installWebGPUTuneUp();
            const fusedWeighted = await weighted();
            expect(plainWeighted[0]?.[0]).not.toBe(0);
            expect(maxRelativeDifference(plainWeighted, fusedWeighted)).toBeLessThan(1e-5);
          }
          tf.dispose([x, y]);
        }
        // D's mean probabilities for the logs: one dispatch instead of Sigmoid, Mean (twice) and Pack.
        for (const n of [3, 100, 5000]) {
          const [r, f] = tf.tidy(() => [
            tf.mul(tf.randomNormal([n, 1], 0, 3, 'float32', 1), 1),
            tf.mul(tf.randomNormal([n, 1], 0, 3, 'float32', 2), 1),
          ]);
          uninstallWebGPUTuneUp();
          const plain = await dispatchesDuring(() => meanProbabilities(r, f));
          installWebGPUTuneUp();
          const fused = await dispatchesDuring(() => meanProbabilities(r, f));
          expect(await read([fused.result])).toEqual(await read([plain.result]));
          expect(fused.keys).toHaveLength(1);
          expect(plain.keys.length).toBeGreaterThanOrEqual(4);
          const other = tf.tidy(() => tf.mul(tf.randomNormal([n + 1, 1], 0, 3, 'float32', 3), 1));
          const mixed = await dispatchesDuring(() => meanProbabilities(r, other)); // sizes differ: tfjs's ops
          expect(mixed.keys.some((k) => k.startsWith('tfjsGanMeanSigmoids'))).toBe(false);
          tf.dispose([r, f, other, plain.result, fused.result, mixed.result]);
        }
        expect(uninstallWebGPUTuneUp()).toBe(true);
        expect(tf.getKernel('TfjsGanBceMean', 'webgpu')).toBeUndefined();
        expect(tf.getKernel('TfjsGanMeanSigmoids', 'webgpu')).toBeUndefined();
      } finally {
        await tf.setBackend('cpu');
      }
    });

    it("the on-device guard's step: nextGuard's answers in one dispatch per six tensors, exact, leak-free", async () => {
      await tf.setBackend('webgpu');
      try {
        const BIG = 3e38; // finite, but two of them sum to Infinity
        const cases: [number, number[][], number][] = [
          [1, [[1, -2, 3], [0.5]], 2],
          [2, [[BIG, BIG, 1], [-BIG, -BIG], [-0]], 3],
          [2, [[1, Number.NaN]], -2],
          [1, [[Number.POSITIVE_INFINITY]], -1],
          [4, [[2], [Number.NEGATIVE_INFINITY, 1]], -4],
          [-2, [[1, 2]], -2],
          [-2, [[Number.NaN]], -2],
          [5, [], 6],
          [1, [[], [1]], 2],
          // 13 tensors: three chained programs; the NaN in the last one, then in the first.
          [3, [...Array.from({ length: 12 }, (_, i) => [i, i + 0.5]), [Number.NaN]], -3],
          [3, [[Number.NaN], ...Array.from({ length: 12 }, (_, i) => [i, i + 0.5])], -3],
          [3, Array.from({ length: 13 }, (_, i) => Array.from({ length: 700 }, (_, j) => i * j)), 4],
        ];
        for (const [previous, tensors, expected] of cases) {
          const before = tf.tensor1d([previous]);
          const ts = tensors.map((t) => tf.tensor1d(t));
          const held = tf.memory().numTensors;
          const { result: next, keys } = await dispatchesDuring(() => nextGuard(before, ts));
          expect(tf.memory().numTensors).toBe(held + 1);
          expect(Array.from(await next.data())).toEqual([expected]);
          const programs = Math.max(1, Math.ceil(tensors.filter((t) => t.length > 0).length / 6));
          expect(keys.filter((k) => k.startsWith('tfjsGanGuardStep'))).toHaveLength(programs);
          expect(keys).toHaveLength(programs);
          tf.dispose([before, next, ...ts]);
        }
        // The step's data checked on the device (dataGuardStart): 1, or −0.5 that skips every update; over
        // six tensors a chain, the increment added once.
        for (const [xs, expected] of [
          [[[1, 2]], 1],
          [[[1, Number.NaN]], -0.5],
          [Array.from({ length: 7 }, (_, i) => [i, 2 * i]), 1],
          [[...Array.from({ length: 6 }, (_, i) => [i]), [Number.NEGATIVE_INFINITY]], -0.5],
        ] as [number[][], number][]) {
          const ts = xs.map((x) => tf.tensor1d(x));
          const start = dataGuardStart(ts);
          expect(Array.from(await start.data())).toEqual([expected]);
          tf.dispose([start, ...ts]);
        }
        // int32 and bool tensors are finite by their type: not read (on webgpu a cast of int32 to float32
        // keeps the integer buffer, which a float shader cannot read); work queued beside them is unharmed.
        const ints = tf.tensor1d([1, 2], 'int32');
        const flags = tf.tensor1d([true, false], 'bool');
        const nan = tf.tensor1d([Number.NaN]);
        const one = tf.tensor1d([1]);
        const queued = tf.mul(tf.tensor1d([3]), 10);
        const a = nextGuard(one, [ints, flags]);
        const b = nextGuard(one, [ints, nan]);
        expect([...(await a.data()), ...(await b.data()), ...(await queued.data())]).toEqual([2, -1, 30]);
        tf.dispose([ints, flags, nan, one, queued, a, b]);
      } finally {
        await tf.setBackend('cpu');
      }
    });

    it("the trainer guards on the device by default: one read-back a step, and a failing update ends as with 'read-back'", async () => {
      await tf.setBackend('webgpu');
      try {
        for (const failAt of ['d5', 'g6']) {
          const readBack = await runGuarded('read-back', failAt);
          const onDevice = await runGuarded('on-device', failAt);
          expect(onDevice.error).toBeInstanceOf(NonFiniteError);
          expect((onDevice.error as NonFiniteError).loss).toBe(failAt === 'd5' ? 'discriminator' : 'generator');
          expect(String(onDevice.error)).toBe(String(readBack.error));
          expect(onDevice.afterError).toBe(readBack.afterError);
          expect(onDevice.afterNext).toBe(readBack.afterNext);
          if (failAt === 'd5') expect(onDevice.afterError).toBe(onDevice.beforeStep);
        }
        const reads: Record<string, number> = {};
        for (const mode of ['read-back', true] as const) reads[String(mode)] = await readsDuringFit(mode);
        // The data checked once, then per step its losses — and with 'read-back' a flag per update.
        expect(reads).toEqual({ 'read-back': 1 + 4 * 3, true: 1 + 4 });
      } finally {
        await tf.setBackend('cpu');
      }
    });

    it('the trainer with its tune-up trains as without it, leak-free, and its guard still stops a NaN update', async () => {
      await tf.setBackend('webgpu');
      const build = (options: Partial<ConstructorParameters<typeof GANTrainer>[0]>) =>
        new GANTrainer({
          generator: mlpGenerator({ latentDim: 4, hiddenUnits: [16], outputShape: [6], seed: 1 }),
          discriminator: mlpDiscriminator({ inputShape: [6], hiddenUnits: [16], seed: 2 }),
          loss: 'non-saturating',
          seed: 3,
          ...options,
        });
      const data = tf.tidy(() => tf.tanh(tf.randomNormal([32, 6], 0, 1, 'float32', 4)));
      try {
        const train = async (options: Partial<ConstructorParameters<typeof GANTrainer>[0]>) => {
          const t = build(options);
          await t.step(data);
          const tensors = tf.memory().numTensors;
          const logs = [await t.step(data), await t.step(data)];
          expect(tf.memory().numTensors).toBe(tensors);
          const w = await read([...t.generator.trainableVariables, ...t.discriminator.trainableVariables]);
          t.dispose();
          return { w, logs };
        };
        uninstallWebGPUTuneUp(); // installed by an earlier test's trainer
        const stock = await train({ backendTuneUp: false, fusedAdam: false });
        expect(webgpuBindGroupCacheStats()).toBeUndefined();
        const parts = await train({ backendTuneUp: { webgpuBindGroups: false } });
        expect(webgpuBindGroupCacheStats()).toBeUndefined();
        expect(Object.hasOwn(tf.backend(), 'uploadToGPU')).toBe(true);
        expect(maxRelativeDifference(stock.w, parts.w)).toBeLessThan(1e-4);
        uninstallWebGPUTuneUp();
        const tuned = await train({});
        expect(Object.hasOwn(tf.backend(), 'uploadToGPU')).toBe(true); // the trainer installed it
        expect(webgpuBindGroupCacheStats()?.hits).toBeGreaterThan(0);
        expect(maxRelativeDifference(stock.w, tuned.w)).toBeLessThan(1e-4);
        for (const [i, l] of tuned.logs.entries()) expect(l.dLoss).toBeCloseTo(stock.logs[i]?.dLoss as number, 4);

        let calls = 0;
        const exploding: GANLoss = {
          name: 'exploding',
          discriminator: (c) => losses.nonSaturating().discriminator(c),
          generator: (c) =>
            ++calls === 2 ? tf.mul(losses.nonSaturating().generator(c), Number.NaN) : losses.nonSaturating().generator(c),
        };
        const t = build({ loss: exploding });
        await t.step(data);
        const before = await read(t.generator.trainableVariables);
        const error = await t.step(data).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(NonFiniteError);
        expect(maxRelativeDifference(before, await read(t.generator.trainableVariables))).toBe(0);
        t.dispose();
      } finally {
        data.dispose();
        await tf.setBackend('cpu');
      }
    });

    it('a training step reuses all its bind groups once the buffer pool has settled', async () => {
      await tf.setBackend('webgpu');
      uninstallWebGPUTuneUp();
      const data = tf.tidy(() => tf.tanh(tf.randomNormal([32, 6], 0, 1, 'float32', 4)));
      const t = new GANTrainer({
        generator: mlpGenerator({ latentDim: 4, hiddenUnits: [16], outputShape: [6], seed: 1 }),
        discriminator: mlpDiscriminator({ inputShape: [6], hiddenUnits: [16], seed: 2 }),
        seed: 3,
      });
      try {
        // tfjs's pool hands back buffers in another order every step; the tune-up settles it.
        for (let i = 0; i < 18; i++) await t.step(data);
        const before = webgpuBindGroupCacheStats();
        const tensors = tf.memory().numTensors;
        // Every dispatch of the next two steps (counted at the backend) reuses its bind group.
        const { keys } = await dispatchesDuring(async () => {
          for (let i = 0; i < 2; i++) await t.step(data);
        });
        const dispatches = keys.length;
        const after = webgpuBindGroupCacheStats();
        expect(tf.memory().numTensors).toBe(tensors);
        expect(dispatches).toBeGreaterThan(2 * 50);
        expect((after?.hits ?? 0) - (before?.hits ?? 0)).toBe(dispatches);
        expect((after?.misses ?? 0) - (before?.misses ?? 0)).toBe(0);
      } finally {
        t.dispose();
        data.dispose();
        await tf.setBackend('cpu');
      }
    });
  });
}
