import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wasmSimdKernels } from '../src/backends/wasm-simd/index';
import {
  applyUpdate,
  canFuseAdam,
  FUSED_ADAM_KERNEL,
  fusedAdamUpdate,
  GANConfigError,
  GANTrainer,
  mlpDiscriminator,
  mlpGenerator,
  registerFusedAdamKernels,
  releaseFusedAdam,
} from '../src/index';

// Sizes 35, 5, 24, 1, 33 and 1 027: whole SIMD vectors and every remainder of 4.
const SHAPES = [[7, 5], [5], [3, 4, 2], [1], [33], [1027]];

/** Variables and per-step gradients with deterministic, varied values (incl. zeros and large ones). */
function problem(seed: number) {
  const vars = SHAPES.map((s, i) => tf.tidy(() => tf.variable(tf.randomNormal(s, 0, 1, 'float32', seed + i))));
  const grads = (step: number) =>
    Object.fromEntries(
      vars.map((v, i) => [
        v.name,
        tf.tidy(() => {
          const g = tf.randomNormal(v.shape, 0, step % 2 === 0 ? 1 : 1e3, 'float32', 100 * step + i);
          return i === 3 ? tf.zerosLike(g) : g; // a variable whose gradient is exactly zero
        }),
      ]),
    );
  return { vars, grads };
}

async function state(opt: tf.Optimizer, vars: tf.Variable[]): Promise<Float32Array[]> {
  const weights = await opt.getWeights();
  const out = [...vars.map((v) => v.dataSync() as Float32Array), ...weights.map((w) => w.tensor.dataSync() as Float32Array)];
  // getWeights makes a new 'iter' scalar: dispose it (the moments are the optimizer's own variables).
  weights[0]?.tensor.dispose();
  return out.map((a) => a.slice());
}

/** Runs `steps` Adam updates the tfjs way and the fused way on equal variables; returns both states. */
async function both(steps: number, config: [number, number, number, number?]) {
  const a = problem(1);
  const b = problem(1);
  const plain = tf.train.adam(...config);
  const fused = tf.train.adam(...config);
  for (let s = 0; s < steps; s++) {
    const ga = a.grads(s);
    const gb = Object.fromEntries(b.vars.map((v, i) => [v.name, ga[(a.vars[i] as tf.Variable).name] as tf.Tensor]));
    (plain as tf.Optimizer).applyGradients(ga);
    fusedAdamUpdate(fused, gb);
    tf.dispose(Object.values(ga));
  }
  const result = { plain: await state(plain, a.vars), fused: await state(fused, b.vars) };
  expect(fused.iterations).toBe(plain.iterations);
  plain.dispose();
  fused.dispose();
  releaseFusedAdam(fused);
  tf.dispose([...a.vars, ...b.vars]);
  return result;
}

function expectBitEqual(actual: Float32Array[], expected: Float32Array[]): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => {
    expect(Array.from(a)).toEqual(Array.from(expected[i] as Float32Array));
  });
}

async function trainWith(fusedAdam: boolean, steps: number): Promise<{ weights: Float32Array[]; losses: number[] }> {
  const t = new GANTrainer({
    generator: mlpGenerator({ latentDim: 3, hiddenUnits: [16], outputShape: [4], outputActivation: 'linear', seed: 1 }),
    discriminator: mlpDiscriminator({ inputShape: [4], hiddenUnits: [16], seed: 2 }),
    seed: 5,
    fusedAdam,
  });
  const data = tf.randomNormal([8 * steps, 4], 0, 1, 'float32', 9);
  const history = await t.fit(data, { batchSize: 8, epochs: 1 });
  const weights = [...t.generator.trainableVariables, ...t.discriminator.trainableVariables].map((v) =>
    (v.dataSync() as Float32Array).slice(),
  );
  const opt = await state(t.discriminatorOptimizer, []);
  data.dispose();
  t.dispose();
  return { weights: [...weights, ...opt], losses: history.steps.flatMap((l) => [l.dLoss, l.gLoss]) };
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`fused Adam on ${backend}: the same bits as tf.train.adam`, () => {
    let isTest = false;
    beforeAll(async () => {
      // tfjs's IS_TEST leak check misfires on wasm gradients.
      isTest = tf.env().getBool('IS_TEST');
      if (backend === 'wasm') tf.env().set('IS_TEST', false);
      await tf.setBackend(backend);
      registerFusedAdamKernels();
      // cpu: a JavaScript loop; wasm: tfjs-gan's SIMD kernel on the backend's own memory.
      expect(tf.getKernel(FUSED_ADAM_KERNEL, backend)).toBeDefined();
      if (backend === 'wasm') expect(wasmSimdKernels(tf.backend())).toBeDefined();
    });

    it('runs one fused kernel per variable (not 14 tfjs kernels)', async () => {
      const { vars, grads } = problem(4);
      const opt = tf.train.adam(1e-3);
      const g0 = grads(0);
      fusedAdamUpdate(opt, g0); // creates the moment slots
      const profile = await tf.profile(() => fusedAdamUpdate(opt, g0));
      const names = profile.kernels.map((k) => k.name);
      expect(names.filter((n) => n === FUSED_ADAM_KERNEL)).toHaveLength(vars.length);
      expect(names.filter((n) => n === 'Sqrt' || n === 'RealDiv')).toHaveLength(0);
      opt.dispose();
      releaseFusedAdam(opt);
      tf.dispose([...vars, ...Object.values(g0)]);
    });
    afterAll(async () => {
      tf.env().set('IS_TEST', isTest);
      await tf.setBackend('cpu');
    });

    it('weights, moments and iterations after 6 steps (lr 2e-4, β1 0.5; and defaults with ε given)', async () => {
      for (const config of [
        [2e-4, 0.5, 0.999],
        [1e-2, 0.9, 0.99, 1e-4],
      ] as [number, number, number, number?][]) {
        const { plain, fused } = await both(6, config);
        expectBitEqual(fused, plain);
      }
    });

    it('leaves no tensor behind; releaseFusedAdam frees its cached constants', async () => {
      const start = tf.memory().numTensors;
      const { vars, grads } = problem(3);
      const opt = tf.train.adam(1e-3);
      const g0 = grads(0);
      fusedAdamUpdate(opt, g0); // creates the moment slots (and, off cpu, the cached constants)
      const before = tf.memory().numTensors;
      for (let s = 0; s < 5; s++) fusedAdamUpdate(opt, g0);
      expect(tf.memory().numTensors).toBe(before);
      opt.dispose();
      releaseFusedAdam(opt);
      tf.dispose([...vars, ...Object.values(g0)]);
      expect(tf.memory().numTensors).toBe(start);
    });

    it('a GANTrainer with and without fusedAdam trains to the same weights and losses', async () => {
      const on = await trainWith(true, 4);
      const off = await trainWith(false, 4);
      expect(on.losses).toEqual(off.losses);
      expectBitEqual(on.weights, off.weights);
    });
  });
}

describe('fused Adam without the fused kernel (tfjs ops, constants uploaded once)', () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    it(`gives the same bits on ${backend}, and releaseFusedAdam frees its constants`, async () => {
      const isTest = tf.env().getBool('IS_TEST');
      if (backend === 'wasm') tf.env().set('IS_TEST', false);
      await tf.setBackend(backend);
      registerFusedAdamKernels();
      const kernel = tf.getKernel(FUSED_ADAM_KERNEL, backend);
      if (kernel === undefined) throw new Error(`the ${backend} fused Adam kernel should be registered`);
      tf.unregisterKernel(FUSED_ADAM_KERNEL, backend); // registerFusedAdamKernels does not put it back
      try {
        const start = tf.memory().numTensors;
        const { plain, fused } = await both(5, [2e-4, 0.5, 0.999]);
        expectBitEqual(fused, plain);
        expect(tf.memory().numTensors).toBe(start); // both() released the cached constants
      } finally {
        tf.registerKernel(kernel);
        tf.env().set('IS_TEST', isTest);
        await tf.setBackend('cpu');
      }
    });
  }
});

describe('which optimizers are fused', () => {
  it('only plain tf.train.adam optimizers; applyUpdate falls back to applyGradients for the others', () => {
    class MyAdam extends tf.AdamOptimizer {}
    expect(canFuseAdam(tf.train.adam(1e-3))).toBe(true);
    expect(canFuseAdam(new MyAdam(1e-3, 0.9, 0.999))).toBe(false);
    expect(canFuseAdam(tf.train.sgd(0.1))).toBe(false);
    expect(() => fusedAdamUpdate(tf.train.sgd(0.1), {})).toThrow(GANConfigError);
    const adam = tf.train.adam(1e-3);
    const g0 = tf.scalar(1);
    expect(() => fusedAdamUpdate(adam, { 'no such variable': g0 })).toThrow(/no variable is named/);
    expect(adam.iterations).toBe(0);
    adam.dispose();
    g0.dispose();

    const w = tf.variable(tf.tensor1d([1, 2]));
    const g = tf.tensor1d([0.5, -1]);
    const stats = tf.tensor1d([0]);
    applyUpdate(tf.train.sgd(0.1), { grads: { [w.name]: tf.clone(g) }, stats }, { fusedAdam: true });
    expect(Array.from(w.dataSync())).toEqual([Math.fround(1 - Math.fround(0.1 * 0.5)), Math.fround(2 + 0.1)]);
    tf.dispose([w, g, stats]);
  });
});
