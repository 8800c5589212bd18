/**
 * Benchmark of the wasm training tune-up: an MNIST-shaped MLP GAN trained with plain tfjs-core on
 * the wasm backend, without and with `installWasmTrainingKernels()`.
 *
 *   npx tsx scripts/bench-wasm.ts            # MLP GAN: steps/s without and with the tune-up
 *   npx tsx scripts/bench-wasm.ts --dcgan    # also a small DCGAN (needs the tune-up to train at all)
 *
 * G: 64 → 256 → 256 → 784 (tanh); D: 784 → 256 → 256 → 1 (logit); LeakyReLU 0.2; Adam(2e-4, β1 0.5);
 * batch 100; random "images" in [-1, 1]. One step = one D update then one G update (non-saturating
 * loss), reading both losses back as the trainer does. Reported: the median of 3 runs of 30 steps
 * after a warm-up, runs of the two variants interleaved.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
// tfjs-core alone registers no gradients; tfjs-layers (as @tensorflow/tfjs) registers them all.
import '@tensorflow/tfjs-layers';
import { installWasmTrainingKernels, uninstallWasmTrainingKernels, type WasmTuneUpOptions } from '../src/backends/wasm';

const BATCH = 100;
const LATENT = 64;
const STEPS = 30;
const RUNS = 3;
const WARMUP = 5;

interface Dense {
  readonly w: tf.Variable;
  readonly b: tf.Variable;
}

function dense(inputs: number, units: number, seed: number): Dense {
  const limit = Math.sqrt(6 / (inputs + units)); // Glorot uniform
  return {
    w: tf.variable(tf.randomUniform([inputs, units], -limit, limit, 'float32', seed)),
    b: tf.variable(tf.zeros([units])),
  };
}

function mlp(sizes: number[], seed: number): Dense[] {
  return sizes.slice(1).map((units, i) => dense(sizes[i] as number, units, seed + i));
}

function forward(layers: readonly Dense[], x: tf.Tensor, output: (t: tf.Tensor) => tf.Tensor): tf.Tensor {
  let h = x;
  layers.forEach(({ w, b }, i) => {
    h = tf.add(tf.matMul(h, w), b);
    h = i < layers.length - 1 ? tf.leakyRelu(h, 0.2) : output(h);
  });
  return h;
}

function variables(layers: readonly Dense[]): tf.Variable[] {
  return layers.flatMap(({ w, b }) => [w, b]);
}

/** A GAN training step: one D update, one G update. */
type Step = () => void;

function mlpGan(): { step: Step; dispose: () => void } {
  const g = mlp([LATENT, 256, 256, 784], 1);
  const d = mlp([784, 256, 256, 1], 10);
  const gOpt = tf.train.adam(2e-4, 0.5);
  const dOpt = tf.train.adam(2e-4, 0.5);
  const real = tf.randomUniform([BATCH, 784], -1, 1, 'float32', 99);
  const G = (z: tf.Tensor) => forward(g, z, tf.tanh);
  const D = (x: tf.Tensor) => forward(d, x, (t) => t);
  const step = () => {
    const dLoss = dOpt.minimize(
      () => {
        const fake = G(tf.randomNormal([BATCH, LATENT]));
        return tf.add(tf.mean(tf.softplus(tf.neg(D(real)))), tf.mean(tf.softplus(D(fake)))) as tf.Scalar;
      },
      true,
      variables(d),
    );
    const gLoss = gOpt.minimize(
      () => tf.mean(tf.softplus(tf.neg(D(G(tf.randomNormal([BATCH, LATENT])))))) as tf.Scalar,
      true,
      variables(g),
    );
    for (const loss of [dLoss, gLoss]) {
      if (!Number.isFinite(loss?.dataSync()[0])) throw new Error('non-finite loss');
      loss?.dispose();
    }
  };
  const dispose = () => {
    tf.dispose([...variables(g), ...variables(d), real]);
    gOpt.dispose();
    dOpt.dispose();
  };
  return { step, dispose };
}

/** A small MNIST DCGAN (batch 64) in plain tfjs-core: conv2dTranspose G, strided-conv D. */
function dcgan(): { step: Step; dispose: () => void } {
  const n = 64;
  const init = (shape: number[], seed: number) => tf.variable(tf.randomNormal(shape, 0, 0.02, 'float32', seed));
  const g = {
    fc: init([LATENT, 7 * 7 * 128], 1),
    t1: init([5, 5, 64, 128], 2), // conv2dTranspose filter: [h, w, out, in]
    t2: init([5, 5, 1, 64], 3),
  };
  const d = { c1: init([5, 5, 1, 64], 4), c2: init([5, 5, 64, 128], 5), fc: init([7 * 7 * 128, 1], 6) };
  const bn = (x: tf.Tensor) => {
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    return tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-3)));
  };
  const G = (z: tf.Tensor) => {
    const h1 = tf.reshape(tf.leakyRelu(tf.matMul(z, g.fc), 0.2), [n, 7, 7, 128]) as tf.Tensor4D;
    const h2 = tf.leakyRelu(bn(tf.conv2dTranspose(h1, g.t1 as tf.Tensor4D, [n, 14, 14, 64], 2, 'same')), 0.2) as tf.Tensor4D;
    return tf.tanh(tf.conv2dTranspose(h2, g.t2 as tf.Tensor4D, [n, 28, 28, 1], 2, 'same'));
  };
  const D = (x: tf.Tensor) => {
    const h1 = tf.leakyRelu(tf.conv2d(x as tf.Tensor4D, d.c1 as tf.Tensor4D, 2, 'same'), 0.2) as tf.Tensor4D;
    const h2 = tf.leakyRelu(bn(tf.conv2d(h1, d.c2 as tf.Tensor4D, 2, 'same')), 0.2);
    return tf.matMul(tf.reshape(h2, [n, 7 * 7 * 128]), d.fc);
  };
  const gOpt = tf.train.adam(2e-4, 0.5);
  const dOpt = tf.train.adam(2e-4, 0.5);
  const real = tf.randomUniform([n, 28, 28, 1], -1, 1, 'float32', 99);
  const step = () => {
    const dLoss = dOpt.minimize(
      () => tf.add(tf.mean(tf.softplus(tf.neg(D(real)))), tf.mean(tf.softplus(D(G(tf.randomNormal([n, LATENT])))))) as tf.Scalar,
      true,
      Object.values(d),
    );
    const gLoss = gOpt.minimize(
      () => tf.mean(tf.softplus(tf.neg(D(G(tf.randomNormal([n, LATENT])))))) as tf.Scalar,
      true,
      Object.values(g),
    );
    for (const loss of [dLoss, gLoss]) {
      if (!Number.isFinite(loss?.dataSync()[0])) throw new Error('non-finite loss');
      loss?.dispose();
    }
  };
  const dispose = () => {
    tf.dispose([...Object.values(g), ...Object.values(d), real]);
    gOpt.dispose();
    dOpt.dispose();
  };
  return { step, dispose };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

interface Variant {
  readonly label: string;
  /** `null`: tune-up off. */
  readonly tuneUp: WasmTuneUpOptions | null;
}

function setTuneUp(options: WasmTuneUpOptions | null): void {
  uninstallWasmTrainingKernels();
  if (options !== null) installWasmTrainingKernels(options);
}

/** Steps/s of each variant: warm-up, then `runs` interleaved runs of `steps` steps; the median. */
function bench(step: Step, variants: readonly Variant[], steps: number, runs: number, warmup: number): number[] {
  const rates: number[][] = variants.map(() => []);
  for (const v of variants) {
    setTuneUp(v.tuneUp);
    for (let i = 0; i < warmup; i++) step();
  }
  for (let r = 0; r < runs; r++) {
    variants.forEach((v, i) => {
      setTuneUp(v.tuneUp);
      const t0 = performance.now();
      for (let s = 0; s < steps; s++) step();
      const rate = steps / ((performance.now() - t0) / 1000);
      rates[i]?.push(rate);
      console.log(`  run ${r + 1} ${v.label.padEnd(34)} ${rate.toFixed(2)} steps/s`);
    });
  }
  return rates.map(median);
}

async function main(): Promise<void> {
  await tf.setBackend('wasm');
  await tf.ready();
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  console.log(
    `tfjs-core ${tf.version_core}, backend ${tf.getBackend()} (SIMD ${simd}, threads ${threads}), Node ${process.version}`,
  );

  console.log(`\nMLP GAN (G 64-256-256-784, D 784-256-256-1), batch ${BATCH}: ${RUNS} runs x ${STEPS} steps`);
  const gan = mlpGan();
  const [off, on] = bench(
    gan.step,
    [
      { label: 'without tune-up', tuneUp: null },
      { label: 'with installWasmTrainingKernels()', tuneUp: {} },
    ],
    STEPS,
    RUNS,
    WARMUP,
  );
  gan.dispose();
  console.log(
    `MLP GAN steps/s (median): without ${off?.toFixed(2)}, with ${on?.toFixed(2)} (x${((on ?? 0) / (off ?? 1)).toFixed(2)})`,
  );

  if (process.argv.includes('--dcgan')) {
    console.log('\nDCGAN (MNIST 28x28, batch 64); without the tune-up it cannot train (no Conv2DBackpropFilter)');
    const net = dcgan();
    const [slow, fast] = bench(
      net.step,
      [
        { label: 'missing kernels + matmul', tuneUp: { convTranspose: false } },
        { label: 'full tune-up (+ convTranspose)', tuneUp: {} },
      ],
      5,
      RUNS,
      1,
    );
    net.dispose();
    console.log(`DCGAN steps/s (median): ${slow?.toFixed(3)} without the convTranspose replacement, ${fast?.toFixed(3)} with it`);
  }
  uninstallWasmTrainingKernels();
}

await main();
