/**
 * The benchmark's two models and its two ways of training them: the library's `GANTrainer.fit`,
 * and a hand-written plain-tfjs loop of the same models (the same tfjs-layers models, the same
 * loss, Adam(2e-4, β1 0.5), noise drawn with `tf.randomNormal`, a shuffled batch gathered from the
 * same data tensor each step, both losses read back once a step and checked for NaN).
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import {
  dcganDiscriminator,
  dcganGenerator,
  GANTrainer,
  type GANTrainerConfig,
  installFusedLeakyReluGradient,
  installFusedTanhGradient,
  installLazyFusedGradients,
  installWasmTrainingKernels,
  installWebGPUTuneUp,
  type LayersDiscriminator,
  type LayersGenerator,
  mlpDiscriminator,
  mlpGenerator,
  uninstallFusedLeakyReluGradient,
  uninstallFusedTanhGradient,
  uninstallLazyFusedGradients,
  uninstallWasmTrainingKernels,
  uninstallWebGPUTuneUp,
} from '../../src/index';

/**
 * Trainer options that switch this tune-ups off: the fused Adam, and (through
 * `backendTuneUp: false` plus {@link withKernels} 'training-only' around its runs) the wasm speed
 * kernels. The wasm training kernels (missing gradients, matmul) installed by the other runners stay.
 */
export const UNTUNED: Partial<GANTrainerConfig> = { fusedAdam: false, backendTuneUp: false };

/**
 * Which backend tune-up a runner trains with: all of the library's ('tuned': wasm kernels, WebGPU
 * uploads and bind group cache, fused LeakyReLU and tanh gradients, lazy fused-op gradients), the wasm training kernels without the fast
 * Tile, Gather, the sharing Identity and tfjs-gan's SIMD kernels (matrix product, LeakyReLU, tanh, column sums), no
 * WebGPU tune-up, tfjs's LeakyReLU and tanh gradients and tfjs's eager fused-op gradients
 * ('training-only'), or tfjs as it ships ('stock'). Kernel registry and backend are global, so
 * runners switch them around each of their runs and put the full tune-up back afterwards.
 */
export type KernelMode = 'tuned' | 'training-only' | 'stock';

/** The WebGPU tune-up of the 'tuned' runners; the benchmark's `--no-bind-group-cache` leaves the bind group cache out. */
export const benchWebGPUTuneUp = { bindGroups: true };

/** Whether the 'tuned' runners use lazy fused-op gradients; the benchmark's `--no-lazy-gradients` leaves them out. */
export const benchLazyGradients = { on: true };

function lazyGradientsAsBenchmarked(): void {
  if (benchLazyGradients.on) installLazyFusedGradients();
  else uninstallLazyFusedGradients();
}

export async function withKernels(mode: KernelMode, f: () => Promise<void>): Promise<void> {
  if (mode === 'tuned') {
    if (!benchWebGPUTuneUp.bindGroups) uninstallWebGPUTuneUp(); // the cache, if a trainer put it in
    installWebGPUTuneUp(benchWebGPUTuneUp); // the hand-written loop too, as a user of the library would have it
    installFusedLeakyReluGradient();
    installFusedTanhGradient();
    lazyGradientsAsBenchmarked();
    return f();
  }
  uninstallWasmTrainingKernels();
  uninstallWebGPUTuneUp();
  uninstallFusedLeakyReluGradient(); // global: a tuned trainer made earlier installed it
  uninstallFusedTanhGradient(); // likewise
  uninstallLazyFusedGradients(); // likewise
  if (mode === 'training-only') {
    installWasmTrainingKernels({
      tile: false,
      gather: false,
      simdMatmul: false,
      simdElementwise: false,
      identity: false,
      simdReduce: false,
    });
  }
  try {
    await f();
  } finally {
    installWasmTrainingKernels();
    installWebGPUTuneUp(benchWebGPUTuneUp);
    installFusedLeakyReluGradient();
    installFusedTanhGradient();
    lazyGradientsAsBenchmarked();
  }
}

/** The models the benchmark trains. */
export type ModelName = 'mlp' | 'dcgan';

/** A model pair and its batch. */
export interface Workload {
  readonly name: ModelName;
  readonly description: string;
  readonly batch: number;
  readonly latentDim: number;
  readonly exampleShape: readonly number[];
  build(): { generator: LayersGenerator; discriminator: LayersDiscriminator };
}

export const WORKLOADS: Readonly<Record<ModelName, Workload>> = {
  mlp: {
    name: 'mlp',
    description: 'MLP GAN, G 64-256-256-784 (tanh), D 784-256-256-1, LeakyReLU 0.2, batch 100',
    batch: 100,
    latentDim: 64,
    exampleShape: [784],
    build: () => ({ generator: mlpGenerator({ seed: 1 }), discriminator: mlpDiscriminator({ seed: 2 }) }),
  },
  dcgan: {
    name: 'dcgan',
    description: 'DCGAN 28x28x1 (dcganGenerator/dcganDiscriminator presets, z 100, batch norm), batch 64',
    batch: 64,
    latentDim: 100,
    exampleShape: [28, 28, 1],
    build: () => ({ generator: dcganGenerator({ seed: 1 }), discriminator: dcganDiscriminator({ seed: 2 }) }),
  },
};

/** Something that trains for a number of steps. */
export interface Runner {
  /** Trains `steps` steps (a multiple of {@link Runner.chunk}). */
  run(steps: number): Promise<void>;
  /** One step, for profiling. */
  stepOnce(): Promise<void>;
  /** Steps per pass over the runner's data. */
  readonly chunk: number;
  dispose(): void;
}

/** "Real" data: deterministic values in [−1, 1], `batches` batches of the workload's shape. */
export function makeData(w: Workload, batches: number, seed = 7): tf.Tensor {
  return tf.randomUniform([batches * w.batch, ...w.exampleShape], -1, 1, 'float32', seed);
}

/**
 * The library driven as a browser app's own loop drives it: `trainer.step(batch)` once per step (each
 * call checks its batch for NaN/Infinity and reads its losses back), over `chunk` batches in turn.
 */
export function stepLoopRunner(w: Workload, chunk: number, options: Partial<GANTrainerConfig> = {}): Runner {
  const trainer = benchTrainer(w, options, 'tuned');
  const data = makeData(w, chunk);
  const batches = tf.split(data, chunk);
  let next = 0;
  const step = () => trainer.step(batches[next++ % chunk] as tf.Tensor);
  return {
    chunk,
    run: (steps) =>
      withKernels('tuned', async () => {
        for (let i = 0; i < steps; i++) await step();
      }),
    stepOnce: () =>
      withKernels('tuned', async () => {
        await step();
      }),
    dispose() {
      trainer.dispose();
      tf.dispose([data, ...batches]);
    },
  };
}

/** The benchmark's trainer of `w`'s models (non-saturating loss, seed 3, the benchmark's tune-up), with `options` on top. */
function benchTrainer(w: Workload, options: Partial<GANTrainerConfig>, kernels: KernelMode): GANTrainer {
  // With backendTuneUp false the trainer installs no kernels: the wasm training kernels are global,
  // so install them here (the 'training-only' mode runs without the fast Tile only).
  if (kernels !== 'stock') installWasmTrainingKernels();
  const { generator, discriminator } = w.build();
  const tuneUp = {
    backendTuneUp: { webgpuBindGroups: benchWebGPUTuneUp.bindGroups, lazyFusedGradients: benchLazyGradients.on },
  };
  return new GANTrainer({ generator, discriminator, loss: 'non-saturating', seed: 3, ...tuneUp, ...options });
}

/** The library: `GANTrainer.fit` over `chunk` batches per epoch. */
export function libraryRunner(
  w: Workload,
  chunk: number,
  options: Partial<GANTrainerConfig> = {},
  kernels: KernelMode = 'tuned',
): Runner {
  const trainer = benchTrainer(w, options, kernels);
  const data = makeData(w, chunk);
  const one = makeData(w, 1, 8);
  return {
    chunk,
    run: (steps) =>
      withKernels(kernels, async () => {
        await trainer.fit(data, { batchSize: w.batch, epochs: Math.ceil(steps / chunk) });
      }),
    stepOnce: () =>
      withKernels(kernels, async () => {
        await trainer.step(one);
      }),
    dispose() {
      trainer.dispose();
      tf.dispose([data, one]);
    },
  };
}

function variablesOf(model: tfl.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

/** A seeded Fisher–Yates permutation of 0..n−1 (mulberry32). */
function permutation(n: number, state: { s: number }): number[] {
  const next = () => {
    state.s = (state.s + 0x6d2b79f5) >>> 0;
    let t = state.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  return order;
}

/**
 * The hand-written loop: what a tfjs user writes without the library. One step: a D update on a
 * shuffled real batch and G(z) (z fresh, G's output outside D's tape), then a G update on fresh z,
 * non-saturating loss, `optimizer.minimize(f, true, varList)`; the two losses are read back once.
 */
export function handwrittenRunner(w: Workload, chunk: number, kernels: KernelMode = 'tuned'): Runner {
  // The kernel tune-up is global: install it here too, as a user of the library would have it.
  installWasmTrainingKernels();
  const { generator, discriminator } = w.build();
  const g = generator.model;
  const d = discriminator.model;
  const gVars = variablesOf(g);
  const dVars = variablesOf(d);
  const gOpt = tf.train.adam(2e-4, 0.5);
  const dOpt = tf.train.adam(2e-4, 0.5);
  const data = makeData(w, chunk);
  const one = makeData(w, 1, 8);
  const m = w.batch;
  const G = (z: tf.Tensor) => g.apply(z, { training: true }) as tf.Tensor;
  const D = (x: tf.Tensor) => d.apply(x, { training: true }) as tf.Tensor;
  const shuffle = { s: 3 };
  const step = async (real: tf.Tensor) => {
    const losses = tf.tidy(() => {
      const fake = G(tf.randomNormal([m, w.latentDim]));
      const dLoss = dOpt.minimize(
        () => tf.add(tf.mean(tf.softplus(tf.neg(D(real)))), tf.mean(tf.softplus(D(fake)))) as tf.Scalar,
        true,
        dVars,
      ) as tf.Scalar;
      const gLoss = gOpt.minimize(
        () => tf.mean(tf.softplus(tf.neg(D(G(tf.randomNormal([m, w.latentDim])))))) as tf.Scalar,
        true,
        gVars,
      ) as tf.Scalar;
      return tf.stack([dLoss, gLoss]);
    });
    const values = await losses.data();
    losses.dispose();
    if (!values.every(Number.isFinite)) throw new Error('non-finite loss');
  };
  const run = async (steps: number) => {
    for (let done = 0; done < steps; ) {
      const order = permutation(chunk * m, shuffle);
      for (let b = 0; b < chunk && done < steps; b++, done++) {
        const idx = tf.tensor1d(order.slice(b * m, (b + 1) * m), 'int32');
        const real = tf.gather(data, idx);
        idx.dispose();
        await step(real);
        real.dispose();
      }
    }
  };
  return {
    chunk,
    run: (steps) => withKernels(kernels, () => run(steps)),
    stepOnce: () => withKernels(kernels, () => step(one)),
    dispose() {
      gOpt.dispose();
      dOpt.dispose();
      g.dispose();
      d.dispose();
      tf.dispose([data, one]);
    },
  };
}
