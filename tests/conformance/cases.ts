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
  type GANCallback,
  type GANLoss,
  GANTrainer,
  type GANTrainerConfig,
  installSecondOrderGradients,
  type LossName,
  losses,
  mlpDiscriminator,
  mlpGenerator,
  sampling,
  stabilizers,
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

/**
 * The stabilisers, trained for a few steps on the MLP GAN in two runs (each run costs seconds of
 * shader work on SwiftShader, so they are combined): WGAN-GP with an EMA of G and adaptive k; and R1
 * on the non-saturating loss with one-sided label smoothing, D wrapped in instance noise, PacGAN
 * packing and the minibatch standard deviation.
 */
export const CONFORMANCE_STABILIZERS = [
  'wgan-gp + ema + adaptive-k + diffaugment',
  'r1 + label-smoothing + noise + packing + mbstd',
] as const;
/** Training steps per stabiliser run: 2 (a step of WGAN-GP costs about 2 s on webgpu with SwiftShader). */
export const CONFORMANCE_STABILIZER_STEPS = 2;

/** A few training steps of the MLP GAN with one stabiliser on one backend. */
export interface StabilizerRun extends Omit<TrainingRun, 'model' | 'loss'> {
  readonly stabilizer: (typeof CONFORMANCE_STABILIZERS)[number];
  /** Largest change of the EMA's shadow weights over the steps (0 without an EMA). */
  readonly emaMoved: number;
  /** The averaging updates the EMA made. */
  readonly emaUpdates: number;
  /** The generator updates of each step, as the adaptive schedule decided them (empty without one). */
  readonly generatorUpdates: readonly number[];
  /** Instance noise's standard deviation after the steps, as annealed by its callback (0 without it). */
  readonly noiseStd: number;
}

/** Everything the suite measured on one backend. */
export interface BackendResults {
  readonly backend: string;
  readonly training: readonly TrainingRun[];
  readonly stabilizers: readonly StabilizerRun[];
  readonly secondOrder: readonly SecondOrderRun[];
  readonly sampling: SamplingRun;
  /** The same with a conditional critic (projection) and three classes. */
  readonly conditionalSampling: SamplingRun;
}

/** Discriminator rejection sampling: a few critic updates against fixed "generated" data, then accepted samples. */
export interface SamplingRun {
  /** fitDiscriminator's mean loss over its updates. */
  readonly loss: number;
  /** Largest change of the critic's weights (> 0: it trained). */
  readonly dMoved: number;
  /** The accepted samples' shape. */
  readonly shape: readonly number[];
  /** Proposals looked at, and accepted, by `sample`. */
  readonly proposals: number;
  readonly accepted: number;
  /** numTensors after everything (the sample and critic disposed) minus before. */
  readonly leak: number;
  readonly error?: ErrorInfo;
}

/** Updates of the critic in the sampling run. */
export const CONFORMANCE_SAMPLING_STEPS = 3;
/** Samples drawn in the sampling run. */
export const CONFORMANCE_SAMPLES = 20;

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

/** The MLP GAN of the loss runs with one stabiliser plugged in: its loss, D wrapper, schedule or callbacks. */
function buildStabilized(stabilizer: StabilizerRun['stabilizer']) {
  const generator = mlpGenerator({ latentDim: 4, hiddenUnits: [8], outputShape: [MLP_DIM], outputActivation: 'tanh', seed: 11 });
  const inner = (inputWidth: number) => mlpDiscriminator({ inputShape: [inputWidth], hiddenUnits: [8], seed: 12 });
  let discriminator: Discriminator | undefined;
  let loss: GANLoss | LossName = 'non-saturating';
  const callbacks: GANCallback[] = [];
  const extra: Partial<GANTrainerConfig> = {};
  let ema: stabilizers.GeneratorEma | undefined;
  let schedule: stabilizers.AdaptiveSchedule | undefined;
  let noise: stabilizers.InstanceNoiseDiscriminator | undefined;
  if (stabilizer === 'wgan-gp + ema + adaptive-k + diffaugment') {
    loss = stabilizers.withGradientPenalty('wasserstein', { weight: 10, seed: 61 });
    ema = stabilizers.generatorEma(generator, { decay: 0.5 });
    callbacks.push(ema);
    // Bounds no D(x) − D(G(z)) can stay inside: "D runs away" every step, so G gets 1, then 2 updates per step.
    schedule = stabilizers.adaptiveSchedule({ smoothing: 0, upper: -2, lower: -3, maxExtra: 1 });
    Object.assign(extra, { schedule, checkpointed: [ema] });
    // Each example [3] as a 1×3 image: colour, a shift of ±1 column, a cut-out of 1×2 pixels (the penalty
    // differentiates through them twice).
    discriminator = stabilizers.withDiffAugment(inner(MLP_DIM), { imageShape: [1, MLP_DIM, 1], translation: 0.34, seed: 63 });
  } else {
    loss = stabilizers.withR1Penalty(losses.nonSaturating({ labelSmoothing: 0.1 }), { weight: 1 });
    // Examples [3] → noise → packs of 2 [6] → + the minibatch std feature [7] → the MLP.
    const packed = stabilizers.withPacking(stabilizers.withMinibatchStdDev(inner(2 * MLP_DIM + 1)), 2);
    noise = stabilizers.withInstanceNoise(packed, { std: 0.2, decaySteps: 10, seed: 62 });
    discriminator = noise;
    callbacks.push(noise);
  }
  discriminator ??= inner(MLP_DIM);
  const trainer = new GANTrainer({
    generator,
    discriminator,
    loss,
    seed: 5,
    generatorOptimizer: tf.train.sgd(0.05),
    discriminatorOptimizer: tf.train.sgd(0.05),
    ...extra,
  });
  const real = tf.tensor(lcg(BATCH * MLP_DIM, 31), [BATCH, MLP_DIM]);
  return { trainer, generator, discriminator, real, callbacks, ema, schedule, noise };
}

async function stabilizerRun(stabilizer: StabilizerRun['stabilizer'], steps: number): Promise<StabilizerRun> {
  const start = tf.memory().numTensors;
  const log: { dLoss: number; gLoss: number }[] = [];
  const generatorUpdates: number[] = [];
  let stepLeak = 0;
  let gMoved = 0;
  let dMoved = 0;
  let emaMoved = 0;
  let emaUpdates = 0;
  let noiseStd = 0;
  let error: ErrorInfo | undefined;
  let built: ReturnType<typeof buildStabilized> | undefined;
  try {
    built = buildStabilized(stabilizer);
    const { trainer, generator, discriminator, real, callbacks, ema, schedule, noise } = built;
    const g0 = await weights(generator.trainableVariables);
    const d0 = await weights(discriminator.trainableVariables);
    const e0 = ema && (await weights(ema.shadow));
    let afterFirst = 0;
    for (let i = 0; i < steps; i++) {
      if (schedule) generatorUpdates.push(schedule.countsAt(trainer.stepCount).generator);
      const l = await trainer.step(real);
      // step() runs no callbacks: call the stabilisers' hooks as fit would.
      for (const cb of callbacks) await cb.onStepEnd?.(l, { stop: () => {} });
      log.push({ dLoss: l.dLoss, gLoss: l.gLoss });
      if (i === 0) afterFirst = tf.memory().numTensors;
    }
    stepLeak = tf.memory().numTensors - afterFirst;
    gMoved = await maxChange(g0, generator.trainableVariables);
    dMoved = await maxChange(d0, discriminator.trainableVariables);
    if (ema && e0) {
      emaMoved = await maxChange(e0, ema.shadow);
      emaUpdates = ema.updates;
    }
    noiseStd = noise?.currentStd ?? 0;
  } catch (e) {
    error = errorInfo(e);
  }
  if (built) {
    built.real.dispose();
    built.ema?.dispose();
    built.trainer.dispose();
  }
  const disposeLeak = tf.memory().numTensors - start;
  return {
    stabilizer,
    steps: log,
    stepLeak,
    disposeLeak,
    gMoved,
    dMoved,
    emaMoved,
    emaUpdates,
    generatorUpdates,
    noiseStd,
    ...(error ? { error } : {}),
  };
}

/** Runs the stabiliser cases on the active backend. */
export async function runStabilizerCases(steps = CONFORMANCE_STABILIZER_STEPS): Promise<StabilizerRun[]> {
  const runs: StabilizerRun[] = [];
  for (const stabilizer of CONFORMANCE_STABILIZERS) runs.push(await stabilizerRun(stabilizer, steps));
  return runs;
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

/** fitDiscriminator and rejectionSampler on the active backend, from deterministic data. */
export async function samplingRun(): Promise<SamplingRun> {
  const start = tf.memory().numTensors;
  const critic = mlpDiscriminator({ inputShape: [MLP_DIM], hiddenUnits: [8], seed: 71 });
  const real = tf.tidy(() => tf.add(tf.tensor2d(lcg(64 * MLP_DIM, 72), [64, MLP_DIM]), 0.5));
  let call = 0;
  // Proposals: deterministic values, a different batch each call, identical on every backend.
  const generate = (n: number) => tf.tensor2d(lcg(n * MLP_DIM, 100 + call++), [n, MLP_DIM]);
  let out: Omit<SamplingRun, 'leak'> = { loss: Number.NaN, dMoved: 0, shape: [], proposals: 0, accepted: 0 };
  try {
    const w0 = await weights(critic.trainableVariables);
    const fit = await sampling.fitDiscriminator({
      discriminator: critic,
      real,
      generate,
      steps: CONFORMANCE_SAMPLING_STEPS,
      batchSize: 16,
      seed: 73,
    });
    const dMoved = await maxChange(w0, critic.trainableVariables);
    const drs = await sampling.rejectionSampler({ discriminator: critic, generate, burnIn: 64, batchSize: 32, seed: 74 });
    const x = await drs.sample(CONFORMANCE_SAMPLES);
    out = { loss: fit.loss, dMoved, shape: x.shape, proposals: drs.proposals, accepted: drs.accepted };
    x.dispose();
  } catch (e) {
    out = { ...out, error: errorInfo(e) };
  }
  real.dispose();
  critic.dispose?.();
  return { ...out, leak: tf.memory().numTensors - start };
}

/** fitConditionalDiscriminator and conditionalRejectionSampler on the active backend, from deterministic data. */
export async function conditionalSamplingRun(): Promise<SamplingRun> {
  const start = tf.memory().numTensors;
  const critic = conditionalMlpDiscriminator({
    numClasses: 3,
    conditioning: 'projection',
    inputShape: [MLP_DIM],
    hiddenUnits: [8],
    seed: 81,
  });
  const x = tf.tidy(() => tf.add(tf.tensor2d(lcg(60 * MLP_DIM, 82), [60, MLP_DIM]), 0.5));
  const labels = tf.tensor1d(
    Array.from({ length: 60 }, (_, i) => i % 3),
    'int32',
  );
  let call = 0;
  // Proposals: deterministic values shifted by the class, a different batch each call, identical on every backend.
  const generate = (y: tf.Tensor1D) =>
    tf.add(
      tf.tensor2d(lcg(y.shape[0] * MLP_DIM, 200 + call++), [y.shape[0], MLP_DIM]),
      tf.reshape(tf.cast(y, 'float32'), [-1, 1]),
    );
  let out: Omit<SamplingRun, 'leak'> = { loss: Number.NaN, dMoved: 0, shape: [], proposals: 0, accepted: 0 };
  try {
    const w0 = await weights(critic.trainableVariables);
    const fit = await sampling.fitConditionalDiscriminator({
      discriminator: critic,
      real: { x, labels },
      generate,
      steps: CONFORMANCE_SAMPLING_STEPS,
      batchSize: 16,
      seed: 83,
    });
    const dMoved = await maxChange(w0, critic.trainableVariables);
    const drs = await sampling.conditionalRejectionSampler({
      discriminator: critic,
      generate,
      burnIn: 32,
      batchSize: 16,
      seed: 84,
    });
    const s = await drs.sample(Array.from({ length: CONFORMANCE_SAMPLES }, (_, i) => (2 * i) % 3));
    out = { loss: fit.loss, dMoved, shape: s.shape, proposals: drs.proposals, accepted: drs.accepted };
    s.dispose();
  } catch (e) {
    out = { ...out, error: errorInfo(e) };
  }
  tf.dispose([x, labels]);
  critic.dispose?.();
  return { ...out, leak: tf.memory().numTensors - start };
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
  const stabilizerRuns = await runStabilizerCases();
  const secondOrder = [await secondOrderRun('dense'), await secondOrderRun('conv')];
  return {
    backend,
    training,
    stabilizers: stabilizerRuns,
    secondOrder,
    sampling: await samplingRun(),
    conditionalSampling: await conditionalSamplingRun(),
  };
}
