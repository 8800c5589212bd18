// The backend conformance suite's computations. Plain TensorFlow.js and tfjs-gan code with no
// Node or vitest imports, so the same body runs in Node (tests/backends-*.test.ts) and, bundled,
// in a browser page (tests/browser/pages/backends-page.ts). tests/conformance/suite.ts asserts
// on what it returns.
import * as tf from '@tensorflow/tfjs-core';
import {
  conditionalMlpDiscriminator,
  conditionalMlpGenerator,
  type Discriminator,
  dcganDiscriminator,
  dcganGenerator,
  GANTrainer,
  installSecondOrderGradients,
  type LossName,
  mlpDiscriminator,
  mlpGenerator,
} from '../../src/index';

/** Every built-in loss. */
export const CONFORMANCE_LOSSES: readonly LossName[] = ['minimax', 'non-saturating', 'least-squares', 'wasserstein', 'hinge'];
/** The model families trained with every loss. */
export const CONFORMANCE_MODELS = ['mlp', 'dcgan'] as const;
/**
 * Plus a conditional MLP GAN (embedding-conditioned G, projection D: the gradient of `gather`,
 * i.e. `UnsortedSegmentSum`) with the hinge loss.
 */
export const CONFORMANCE_EXTRA_RUNS = [{ model: 'cgan', loss: 'hinge' }] as const;
/** Training steps per (model, loss). */
export const CONFORMANCE_STEPS = 3;

/** A thrown error, as data (so it survives the trip out of a browser page). */
export interface ErrorInfo {
  readonly name: string;
  readonly message: string;
  /** `op`/`backend` of a BackendSupportError. */
  readonly op?: string;
  readonly backend?: string;
}

/** A few training steps of one (model, loss) on one backend. */
export interface TrainingRun {
  readonly model: (typeof CONFORMANCE_MODELS)[number] | 'cgan';
  readonly loss: LossName;
  /** dLoss/gLoss of each step; the first is the seeded first step compared across backends. */
  readonly steps: readonly { readonly dLoss: number; readonly gLoss: number }[];
  /** numTensors after the last step minus after the first (0: no leak in the step path). */
  readonly stepLeak: number;
  /** numTensors after disposing the trainer minus before building the models (0: dispose frees all). */
  readonly disposeLeak: number;
  /** Largest change of any generator / discriminator weight over the steps (> 0: training moved them). */
  readonly gMoved: number;
  readonly dMoved: number;
  readonly error?: ErrorInfo;
}

/** d/dθ of a gradient penalty mean_i ||∇ₓD(xᵢ)||² — a second-order gradient. */
export interface SecondOrderRun {
  readonly model: 'dense' | 'conv';
  /** The penalty's value. */
  readonly penalty: number;
  /** Its gradient with respect to every trainable weight of D, concatenated. */
  readonly gradient: readonly number[];
  /** Central finite differences of the penalty at a few weights, next to the analytic gradient there. */
  readonly finiteDifferences: readonly { readonly analytic: number; readonly numeric: number }[];
  /** numTensors after minus before. */
  readonly leak: number;
  readonly error?: ErrorInfo;
}

/** Everything the suite measured on one backend. */
export interface BackendResults {
  readonly backend: string;
  readonly training: readonly TrainingRun[];
  readonly secondOrder: readonly SecondOrderRun[];
}

/** Deterministic values in [-1, 1) (an LCG), identical on every backend and platform. */
export function lcg(size: number, seed: number): Float32Array {
  const out = new Float32Array(size);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

function errorInfo(e: unknown): ErrorInfo {
  if (e instanceof Error) {
    const extra = e as Error & { op?: unknown; backend?: unknown };
    return {
      name: e.name,
      message: e.message.slice(0, 500),
      ...(typeof extra.op === 'string' ? { op: extra.op } : {}),
      ...(typeof extra.backend === 'string' ? { backend: extra.backend } : {}),
    };
  }
  return { name: 'unknown', message: String(e).slice(0, 500) };
}

// Tiny shapes: SwiftShader (a CPU Vulkan driver) runs every kernel as a shader on the CPU.
const BATCH = 4;
const MLP_DIM = 3;
const IMAGE = 8;

function buildModels(model: Exclude<TrainingRun['model'], 'cgan'>) {
  if (model === 'mlp') {
    return {
      generator: mlpGenerator({ latentDim: 4, hiddenUnits: [8], outputShape: [MLP_DIM], outputActivation: 'tanh', seed: 11 }),
      discriminator: mlpDiscriminator({ inputShape: [MLP_DIM], hiddenUnits: [8], seed: 12 }),
      realShape: [BATCH, MLP_DIM],
    };
  }
  // Two stride-2 stages: conv-transpose → batch norm → ReLU → conv-transpose in G; conv → conv → batch norm in D.
  const geometry = { imageSize: IMAGE, channels: 1, baseFilters: 2, stages: 2 };
  return {
    generator: dcganGenerator({ ...geometry, latentDim: 4, seed: 21 }),
    discriminator: dcganDiscriminator({ ...geometry, seed: 22 }),
    realShape: [BATCH, IMAGE, IMAGE, 1],
  };
}

// Asynchronous reads only: webgpu's dataSync() needs OffscreenCanvas, which Node lacks.
async function weights(vars: readonly tf.Variable[]): Promise<Float32Array[]> {
  return Promise.all(vars.map(async (v) => (await v.data()) as Float32Array));
}

async function maxChange(before: readonly Float32Array[], vars: readonly tf.Variable[]): Promise<number> {
  const after = await weights(vars);
  let m = 0;
  after.forEach((now, i) => {
    const was = before[i] as Float32Array;
    for (let j = 0; j < now.length; j++) m = Math.max(m, Math.abs((now[j] as number) - (was[j] as number)));
  });
  return m;
}

const CLASSES = 3;

function buildTrainer(model: TrainingRun['model'], loss: LossName) {
  const common = {
    loss,
    seed: 5,
    // Plain SGD: the first step's losses then depend smoothly on the gradients (Adam's first update is
    // ≈ lr·sign(g), which float rounding can flip for a near-zero gradient component).
    generatorOptimizer: tf.train.sgd(0.05),
    discriminatorOptimizer: tf.train.sgd(0.05),
  };
  if (model === 'cgan') {
    const generator = conditionalMlpGenerator({
      numClasses: CLASSES,
      conditioning: 'embedding',
      latentDim: 4,
      hiddenUnits: [8],
      outputShape: [MLP_DIM],
      seed: 51,
    });
    const discriminator = conditionalMlpDiscriminator({
      numClasses: CLASSES,
      conditioning: 'projection',
      inputShape: [MLP_DIM],
      hiddenUnits: [8],
      seed: 52,
    });
    const x = tf.tensor(lcg(BATCH * MLP_DIM, 31), [BATCH, MLP_DIM]);
    const labels = tf.tensor1d([0, 1, 2, 1], 'int32');
    const trainer = new GANTrainer({ generator, discriminator, ...common });
    return { trainer, generator, discriminator, batch: { x, labels }, inputs: [x, labels] };
  }
  const { generator, discriminator, realShape } = buildModels(model);
  const trainer = new GANTrainer({ generator, discriminator, ...common });
  const real = tf.tensor(
    lcg(
      realShape.reduce((a, b) => a * b, 1),
      31,
    ),
    realShape,
  );
  return { trainer, generator, discriminator, batch: real, inputs: [real] };
}

async function trainingRun(model: TrainingRun['model'], loss: LossName, steps: number): Promise<TrainingRun> {
  const start = tf.memory().numTensors;
  const { trainer, generator, discriminator, batch, inputs } = buildTrainer(model, loss);
  const log: { dLoss: number; gLoss: number }[] = [];
  let stepLeak = 0;
  let gMoved = 0;
  let dMoved = 0;
  let error: ErrorInfo | undefined;
  try {
    const g0 = await weights(generator.trainableVariables);
    const d0 = await weights(discriminator.trainableVariables);
    let afterFirst = 0;
    for (let i = 0; i < steps; i++) {
      // The union of a plain and a labelled batch: GANTrainer's step type depends on the generator's.
      const l = await (trainer as GANTrainer<never>).step(batch as never);
      log.push({ dLoss: l.dLoss, gLoss: l.gLoss });
      if (i === 0) afterFirst = tf.memory().numTensors;
    }
    stepLeak = tf.memory().numTensors - afterFirst;
    gMoved = await maxChange(g0, generator.trainableVariables);
    dMoved = await maxChange(d0, discriminator.trainableVariables);
  } catch (e) {
    error = errorInfo(e);
  }
  tf.dispose(inputs);
  trainer.dispose();
  const disposeLeak = tf.memory().numTensors - start;
  return { model, loss, steps: log, stepLeak, disposeLeak, gMoved, dMoved, ...(error ? { error } : {}) };
}

/** mean_i ||∇ₓD(xᵢ)||² and its gradient with respect to D's weights (double backpropagation). */
export function gradientPenalty(d: Discriminator, x: tf.Tensor): { penalty: tf.Scalar; grads: tf.Tensor[] } {
  const vars = [...d.trainableVariables];
  const { value, grads } = tf.variableGrads(() => {
    const gx = tf.grad((xi: tf.Tensor) => tf.sum(d.apply(xi, { training: true })))(x);
    const axes = gx.shape.slice(1).map((_, i) => i + 1);
    return tf.mean(tf.sum(tf.square(gx), axes));
  }, vars);
  // A weight the penalty does not depend on (a bias of a piecewise-linear D) gets no entry: its gradient is 0.
  return { penalty: value, grads: vars.map((v) => grads[v.name] ?? tf.zerosLike(v)) };
}

async function secondOrderRun(model: SecondOrderRun['model']): Promise<SecondOrderRun> {
  const start = tf.memory().numTensors;
  const d =
    model === 'dense'
      ? mlpDiscriminator({ inputShape: [MLP_DIM], hiddenUnits: [8, 8], seed: 41 })
      : dcganDiscriminator({ imageSize: IMAGE, channels: 1, baseFilters: 2, stages: 2, batchNorm: false, seed: 42 });
  const shape = model === 'dense' ? [BATCH, MLP_DIM] : [BATCH, IMAGE, IMAGE, 1];
  const x = tf.tensor(
    lcg(
      shape.reduce((a, b) => a * b, 1),
      43,
    ),
    shape,
  );
  let penalty = Number.NaN;
  let gradient: number[] = [];
  const finiteDifferences: { analytic: number; numeric: number }[] = [];
  let error: ErrorInfo | undefined;
  try {
    const r = gradientPenalty(d, x);
    penalty = (await r.penalty.data())[0] as number;
    gradient = (await Promise.all(r.grads.map(async (g) => Array.from(await g.data())))).flat();
    tf.dispose([r.penalty, ...r.grads]);
    // Finite differences on the first weight tensor (a kernel), at its 3 largest-gradient entries.
    const w = d.trainableVariables[0] as tf.Variable;
    const w0 = (await w.data()) as Float32Array;
    const size = w0.length;
    const top = [...gradient.slice(0, size).keys()]
      .sort((a, b) => Math.abs(gradient[b] ?? 0) - Math.abs(gradient[a] ?? 0))
      .slice(0, 3);
    const h = 1e-2;
    for (const i of top) {
      const at = async (delta: number): Promise<number> => {
        const shifted = w0.slice();
        shifted[i] = (w0[i] as number) + delta;
        tf.tidy(() => w.assign(tf.tensor(shifted, w.shape)));
        const p = tf.tidy(() => {
          const gx = tf.grad((xi: tf.Tensor) => tf.sum(d.apply(xi, { training: true })))(x);
          return tf.mean(
            tf.sum(
              tf.square(gx),
              gx.shape.slice(1).map((_, k) => k + 1),
            ),
          );
        });
        const v = (await p.data())[0] as number;
        p.dispose();
        return v;
      };
      const numeric = ((await at(h)) - (await at(-h))) / (2 * h);
      finiteDifferences.push({ analytic: gradient[i] as number, numeric });
    }
    tf.tidy(() => w.assign(tf.tensor(w0, w.shape)));
  } catch (e) {
    error = errorInfo(e);
  }
  x.dispose();
  d.dispose?.();
  return { model, penalty, gradient, finiteDifferences, leak: tf.memory().numTensors - start, ...(error ? { error } : {}) };
}

/**
 * Runs the whole suite on `backend` (which must be registered) and leaves that backend active.
 * Each (model, loss) trains for `steps` steps from the same seeds, so the first step's losses are
 * comparable across backends.
 */
export async function runConformance(backend: string, steps = CONFORMANCE_STEPS): Promise<BackendResults> {
  if (!(await tf.setBackend(backend))) throw new Error(`backend '${backend}' failed to initialise`);
  await tf.ready();
  // tfjs has no gradient for comparison ops, which LeakyReLU's gradient uses: the library provides them.
  installSecondOrderGradients();
  const training: TrainingRun[] = [];
  for (const model of CONFORMANCE_MODELS) {
    for (const loss of CONFORMANCE_LOSSES) training.push(await trainingRun(model, loss, steps));
  }
  for (const { model, loss } of CONFORMANCE_EXTRA_RUNS) training.push(await trainingRun(model, loss, steps));
  const secondOrder = [await secondOrderRun('dense'), await secondOrderRun('conv')];
  return { backend, training, secondOrder };
}
