/**
 * Discriminator rejection sampling (Azadi et al. 2019): correcting G's distribution with D.
 *
 * For the cross-entropy GAN objective the optimal discriminator is D* = p_data / (p_data + p_g)
 * (Goodfellow et al. 2014, Prop. 1), so its logit is log(p_data / p_g). A sample x ~ p_g kept with
 * probability exp(logit(x) − M), where M is the largest logit, is then distributed exactly as
 * p_data — rejection sampling with p_g as the proposal. {@link fitDiscriminator} brings a
 * discriminator close to D* for a frozen generator; {@link rejectionSampler} draws with it.
 *
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';

import { type LabelsInput, toLabels } from '../conditional/labels';
import { DataError, GANConfigError, GANError, ShapeMismatchError } from '../errors';
import { minimax } from '../losses/builtins';
import type { AnyDiscriminator, ConditionalDiscriminator, Discriminator } from '../models/types';
import { Random } from '../random';
import { type LearningRateFunction, learningRateSchedule } from '../training/callbacks';
import { assertFinite } from '../training/data';
import { runDiscriminator } from '../training/step';

/**
 * Returns `n` examples, `[n, ...shape]`, as a new tensor that the library disposes when done with it
 * (e.g. `(n) => trainer.sample(n)`). Intermediate tensors are cleaned up (it is called inside `tf.tidy`).
 */
export type SampleSource = (n: number) => tf.Tensor;

/**
 * Examples with their classes, for conditional models: `x` `[N, ...inputShape]` and `labels`, class
 * indices `[N]` (int32) in `[0, numClasses)`.
 */
export interface LabeledExamples {
  /** The examples, `[N, ...inputShape]`. */
  readonly x: tf.Tensor;
  /** Their classes, int32 `[N]`. */
  readonly labels: tf.Tensor1D;
}

/** Returns `n` fresh labeled examples (new tensors the library disposes). */
export type LabeledSampleSource = (n: number) => LabeledExamples;

/**
 * Returns one generated example per class index in `labels` (int32 `[n]`), `[n, ...shape]`, as a new tensor
 * the library disposes — e.g. `(y) => trainer.sample(y.shape[0], y)`. Called inside `tf.tidy`.
 */
export type ConditionalSampleSource = (labels: tf.Tensor1D) => tf.Tensor;

/** How a critic is trained: the options {@link fitDiscriminator} and {@link fitConditionalDiscriminator} share. */
export interface CriticTrainingOptions {
  /** Discriminator updates to make. */
  readonly steps: number;
  /** Real and generated examples per update (each). Default 256. */
  readonly batchSize?: number;
  /**
   * The optimizer of D's variables. Default Adam(1e-3) with β1 0.9 — this is plain classification, not
   * the adversarial game (on the 2-D grid it reached a lower loss than β1 0.5); disposed at the end only when defaulted.
   */
  readonly optimizer?: tf.Optimizer;
  /** The optimizer's learning rate per update (e.g. `linearDecay({ from: 1e-3, steps })`); default: left as it is. */
  readonly schedule?: LearningRateFunction;
  /** Seed of the batch draws. */
  readonly seed?: number;
  /** Called every `logEvery` updates with the mean loss over them. */
  readonly onProgress?: (step: number, loss: number) => void;
  /** How often `onProgress` is called, the loss is read back and the loop yields to the event loop (so a `signal` aborted by a timer or a UI event is seen). Default 100. */
  readonly logEvery?: number;
  /** Stops the loop between updates. */
  readonly signal?: AbortSignal;
}

/** Options of {@link fitDiscriminator}. */
export interface FitDiscriminatorOptions extends CriticTrainingOptions {
  /**
   * The discriminator to train: unconditional, one logit per example. It may be the GAN's own D
   * (continuing its training, as the DRS paper does) or a fresh one — a PacGAN-packed D scores
   * groups of examples, so give a fresh, unpacked D for {@link rejectionSampler}.
   */
  readonly discriminator: Discriminator;
  /**
   * Real examples: a tensor `[N, ...inputShape]` that batches are drawn from at random, or a function
   * returning `n` fresh real examples per call (for data you can sample, this keeps a large critic
   * from fitting a finite set of points).
   */
  readonly real: tf.Tensor | SampleSource;
  /** The frozen generator's samples, e.g. `(n) => trainer.sample(n)` or `(n) => ema.run(() => trainer.sample(n))`. */
  readonly generate: SampleSource;
}

/** Options of {@link fitConditionalDiscriminator}. */
export interface FitConditionalDiscriminatorOptions extends CriticTrainingOptions {
  /** A conditional discriminator D(x | y): one realness logit per example (an ACGAN class head is ignored). */
  readonly discriminator: ConditionalDiscriminator;
  /**
   * Real examples with their classes: tensors that batches are drawn from at random (the labels checked once,
   * up front), or a function returning `n` fresh ones (each batch's labels read back and checked before its
   * update: a bad one stops the fit with a {@link DataError}, the updates before it kept).
   */
  readonly real: LabeledExamples | LabeledSampleSource;
  /**
   * The frozen conditional generator, asked for the real batch's classes — so both sides share the class
   * distribution, and D*'s logit is log(p_data(x | y) / p_g(x | y)).
   */
  readonly generate: ConditionalSampleSource;
}

/** What {@link fitDiscriminator} did. */
export interface FitDiscriminatorResult {
  /** Updates made (fewer than asked when stopped by the signal). */
  readonly steps: number;
  /** Mean cross-entropy loss, −E[log D(x)] − E[log(1 − D(G(z)))], over the updates since the last report (at most `logEvery`). log 4 when D cannot tell real from generated. */
  readonly loss: number;
}

function positiveInt(option: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) throw new GANConfigError(option, `must be a positive integer, got ${value}`);
}

function checkExamples(what: string, x: tf.Tensor, inputShape: readonly number[], n?: number): void {
  const ok =
    x.rank === inputShape.length + 1 && inputShape.every((d, i) => x.shape[i + 1] === d) && (n === undefined || x.shape[0] === n);
  if (!ok) throw new ShapeMismatchError(what, `[${n ?? '*'}, ${inputShape.join(', ')}]`, `[${x.shape.join(', ')}]`);
}

function checkSeed(seed: number | undefined): void {
  if (seed !== undefined && !Number.isFinite(seed)) throw new GANConfigError('seed', `must be a finite number, got ${seed}`);
}

/** Calls `source(n)` inside `tf.tidy`, checks the result is `[n, ...inputShape]` (disposing it if not). */
function draw(what: string, source: SampleSource, n: number, inputShape: readonly number[]): tf.Tensor {
  const x = tf.tidy(() => source(n));
  try {
    checkExamples(what, x, inputShape, n);
  } catch (e) {
    x.dispose();
    throw e;
  }
  return x;
}

function logits(discriminator: AnyDiscriminator, x: tf.Tensor, training: boolean, labels?: tf.Tensor1D): tf.Tensor1D {
  const out = runDiscriminator(discriminator, x, training, labels).logits;
  if (out.size !== x.shape[0]) {
    throw new ShapeMismatchError('discriminator output', `[${x.shape[0]}, 1] or [${x.shape[0]}]`, `[${out.shape.join(', ')}]`);
  }
  return tf.reshape(out, [-1]);
}

/** −E[log D(x)] − E[log(1 − D(G(z)))]: the paper's discriminator loss, as the trainer computes it. */
const crossEntropy = (realLogits: tf.Tensor, fakeLogits: tf.Tensor): tf.Scalar =>
  minimax().discriminator({ realLogits, fakeLogits });

/** Checks the options every critic fit shares (nothing changes); returns batchSize and logEvery. */
function checkTraining(options: CriticTrainingOptions, discriminator: AnyDiscriminator): { batchSize: number; logEvery: number } {
  const batchSize = options.batchSize ?? 256;
  const logEvery = options.logEvery ?? 100;
  positiveInt('steps', options.steps);
  positiveInt('batchSize', batchSize);
  positiveInt('logEvery', logEvery);
  checkSeed(options.seed);
  if (discriminator.trainableVariables.length === 0) {
    throw new GANConfigError('discriminator', 'has no trainable variables: there is nothing to fit');
  }
  return { batchSize, logEvery };
}

/** Checks the learning-rate schedule, if any (after the data probes, as before). */
function checkSchedule(options: CriticTrainingOptions): void {
  if (options.schedule !== undefined) {
    if (typeof options.schedule !== 'function')
      throw new GANConfigError('schedule', 'must be a function (step) => learning rate');
    const first = options.schedule(0);
    if (typeof first !== 'number' || !Number.isFinite(first) || first < 0) {
      throw new GANConfigError('schedule', `returned ${String(first)} for step 0; expected a finite number ≥ 0`);
    }
  }
}

/** One update's batch: `loss(random)`, called inside `tf.tidy`, returns the closure `optimizer.minimize` differentiates. */
interface CriticUpdate {
  /** Who is training, for messages. */
  readonly name: string;
  /** Runs before each update, outside `tf.tidy` (e.g. reading a batch's labels back to check them). */
  readonly prepare?: (random: Random) => Promise<void>;
  readonly loss: (random: Random) => () => tf.Scalar;
  /** Runs after each update (and when the loop stops on an error) to free what `prepare` kept. */
  readonly release?: () => void;
}

/** The update loop both fits share. */
async function trainCritic(
  options: CriticTrainingOptions,
  vars: readonly tf.Variable[],
  logEvery: number,
  update: CriticUpdate,
): Promise<FitDiscriminatorResult> {
  const optimizer = options.optimizer ?? tf.train.adam(1e-3, 0.9);
  let rate: ((step: number) => number) | undefined;
  let restore: (() => void) | undefined;
  try {
    if (options.schedule !== undefined) {
      rate = learningRateSchedule({ optimizers: [optimizer], schedule: options.schedule }).apply;
      const original = (optimizer as unknown as { learningRate: number }).learningRate;
      restore = () => learningRateSchedule({ optimizers: [optimizer], schedule: () => original }).apply(0);
    }
  } catch (e) {
    if (options.optimizer === undefined) optimizer.dispose();
    throw e;
  }
  const random = new Random(options.seed);
  let mean = Number.NaN;
  let done = 0;
  const pending: tf.Scalar[] = [];
  const flush = async () => {
    const stacked = tf.stack(pending);
    tf.dispose(pending.splice(0));
    let values: Float32Array;
    try {
      values = (await stacked.data()) as Float32Array;
    } finally {
      stacked.dispose();
    }
    mean = values.reduce((a, b) => a + b, 0) / values.length;
    if (!Number.isFinite(mean)) {
      throw new GANError(
        `${update.name}: the loss is not finite (NaN or Infinity) by update ${done}; the discriminator's variables have moved`,
      );
    }
    // Let timers and UI events run (an abort from a timer is seen at the next update).
    await new Promise((resolve) => setTimeout(resolve, 0));
  };
  try {
    while (done < options.steps && !options.signal?.aborted) {
      rate?.(done);
      let cost: tf.Scalar;
      try {
        await update.prepare?.(random);
        cost = tf.tidy(() => optimizer.minimize(update.loss(random), true, vars as tf.Variable[]) as tf.Scalar);
      } finally {
        update.release?.();
      }
      pending.push(cost);
      done++;
      if (pending.length === logEvery) {
        await flush();
        options.onProgress?.(done, mean);
      }
    }
    if (pending.length > 0) await flush();
  } finally {
    tf.dispose(pending);
    if (options.optimizer === undefined) optimizer.dispose();
    else restore?.();
  }
  return { steps: done, loss: mean };
}

/** `batchSize` random row indices of `n` rows. */
const rows = (random: Random, n: number, batchSize: number): tf.Tensor1D =>
  tf.tensor1d(
    Int32Array.from({ length: batchSize }, () => Math.floor(random.next() * n)),
    'int32',
  );

/**
 * Trains a discriminator against a frozen generator with the cross-entropy loss — a binary
 * classifier of real versus generated examples, whose optimum is D* = p_data / (p_data + p_g) and
 * whose logit estimates log(p_data / p_g). Only D's variables move; G is only sampled.
 * Leak-free: every update is one `tf.tidy`.
 *
 * @throws {@link GANConfigError} for bad `steps`, `batchSize` or `logEvery`;
 * {@link ShapeMismatchError} when the real or generated examples do not fit D's input shape;
 * {@link DataError} for empty or non-finite real data — all before any variable changes.
 */
export async function fitDiscriminator(options: FitDiscriminatorOptions): Promise<FitDiscriminatorResult> {
  const { discriminator, real, generate } = options;
  unconditional(discriminator, 'fitConditionalDiscriminator');
  const { batchSize, logEvery } = checkTraining(options, discriminator);
  const shape = discriminator.inputShape;
  if (typeof real !== 'function') {
    if (real.shape[0] === 0) throw new DataError('fitDiscriminator: the real data is empty');
    checkExamples('real examples', real, shape);
    await assertFinite(real, 'real examples');
  } else {
    draw('real examples', real, batchSize, shape).dispose();
  }
  draw('generated examples', generate, batchSize, shape).dispose();
  checkSchedule(options);
  const n = typeof real === 'function' ? 0 : (real.shape[0] as number);
  return trainCritic(options, discriminator.trainableVariables, logEvery, {
    name: 'fitDiscriminator',
    loss: (random) => {
      const x = typeof real === 'function' ? real(batchSize) : tf.gather(real, rows(random, n, batchSize));
      checkExamples('real examples', x, shape, batchSize);
      const fake = generate(batchSize);
      checkExamples('generated examples', fake, shape, batchSize);
      // Training mode, as the trainer's D updates (batch-norm batch statistics, dropout).
      return () => crossEntropy(logits(discriminator, x, true), logits(discriminator, fake, true));
    },
  });
}

/** A JavaScript caller can pass either kind: say which function fits. */
function unconditional(discriminator: AnyDiscriminator, instead: string): void {
  if (discriminator.numClasses !== undefined)
    throw new GANConfigError('discriminator', `is conditional (numClasses ${discriminator.numClasses}); use ${instead}`);
}

/** The other way round: returns the number of classes. */
function conditional(discriminator: ConditionalDiscriminator, instead: string): number {
  const numClasses = discriminator.numClasses;
  if (!(Number.isInteger(numClasses) && numClasses >= 1))
    throw new GANConfigError('discriminator', `must be conditional (numClasses ≥ 1); use ${instead} for an unconditional one`);
  return numClasses;
}

/** Checks a labeled batch's shapes: `x` `[n, ...shape]`, labels `[n]` (their values: {@link toLabels}). */
function checkLabeled(what: string, b: LabeledExamples, shape: readonly number[], n: number): void {
  if (b === null || typeof b !== 'object' || !(b.x instanceof tf.Tensor) || !(b.labels instanceof tf.Tensor))
    throw new GANConfigError(what, 'must be { x, labels } tensors');
  checkExamples(`${what} x`, b.x, shape, n);
  if (b.labels.rank !== 1 || b.labels.shape[0] !== n)
    throw new ShapeMismatchError(`${what} labels (one class index per example)`, `[${n}]`, `[${b.labels.shape.join(', ')}]`);
}

/** Calls a conditional source for `labels` inside `tf.tidy` and checks the result is `[n, ...shape]`. */
function drawFor(source: ConditionalSampleSource, labels: tf.Tensor1D, shape: readonly number[]): tf.Tensor {
  const x = tf.tidy(() => source(labels));
  try {
    checkExamples('generated examples', x, shape, labels.shape[0]);
  } catch (e) {
    x.dispose();
    throw e;
  }
  return x;
}

/**
 * {@link fitDiscriminator} for a conditional GAN: trains a conditional discriminator D(x | y) against a frozen
 * conditional generator, each batch's generated examples made for the real batch's classes. At the optimum
 * D*(x | y) = p_data(x | y) / (p_data(x | y) + p_g(x | y)), the logit log(p_data(x | y) / p_g(x | y)) that
 * {@link conditionalRejectionSampler} needs. Only D's variables move. Leak-free.
 *
 * @throws {@link GANConfigError} for bad options or a discriminator without classes; {@link ShapeMismatchError}
 * when examples or labels do not fit; {@link DataError} for empty or non-finite real data, or labels that are not
 * class indices in `[0, numClasses)` — all before any variable changes.
 */
export async function fitConditionalDiscriminator(options: FitConditionalDiscriminatorOptions): Promise<FitDiscriminatorResult> {
  const { discriminator, real, generate } = options;
  const numClasses = conditional(discriminator, 'fitDiscriminator');
  const { batchSize, logEvery } = checkTraining(options, discriminator);
  const shape = discriminator.inputShape;
  let labels: tf.Tensor1D | undefined;
  let n = 0;
  /** A function source's batch, drawn and checked (labels read back) before each update. */
  let held: LabeledExamples | undefined;
  const release = () => {
    if (held !== undefined) tf.dispose([held.x, held.labels]);
    held = undefined;
  };
  const prepare = async () => {
    if (typeof real !== 'function') return;
    const [x, raw] = tf.tidy(() => {
      const b = real(batchSize);
      checkLabeled('real examples', b, shape, batchSize);
      return [b.x, b.labels];
    });
    try {
      held = { x, labels: await toLabels(raw, numClasses, batchSize, 'real labels') };
    } catch (e) {
      x.dispose();
      throw e;
    } finally {
      raw.dispose();
    }
  };
  if (typeof real !== 'function') {
    checkLabeled('real examples', real, shape, real?.x?.shape?.[0] ?? 0);
    n = real.x.shape[0] as number;
    if (n === 0) throw new DataError('fitConditionalDiscriminator: the real data is empty');
    await assertFinite(real.x, 'real examples');
    labels = await toLabels(real.labels, numClasses, n, 'real labels');
  } else {
    await prepare();
    release();
  }
  try {
    const y = tf.tidy(() => tf.fill([batchSize], 0, 'int32') as tf.Tensor1D);
    try {
      drawFor(generate, y, shape).dispose();
    } finally {
      y.dispose();
    }
    checkSchedule(options);
    return await trainCritic(options, discriminator.trainableVariables, logEvery, {
      name: 'fitConditionalDiscriminator',
      prepare,
      release,
      loss: (random) => {
        let b: LabeledExamples;
        if (held !== undefined) b = held;
        else {
          const idx = rows(random, n, batchSize);
          b = { x: tf.gather((real as LabeledExamples).x, idx), labels: tf.gather(labels as tf.Tensor1D, idx) };
        }
        const fake = generate(b.labels);
        checkExamples('generated examples', fake, shape, batchSize);
        return () => crossEntropy(logits(discriminator, b.x, true, b.labels), logits(discriminator, fake, true, b.labels));
      },
    });
  } finally {
    labels?.dispose();
  }
}

/** How proposals are accepted: the options {@link rejectionSampler} and {@link conditionalRejectionSampler} share. */
export interface AcceptanceOptions {
  /**
   * DRS's γ: acceptance is σ(F − γ) with F = logit − M − log(1 − exp(logit − M − ε)). γ = 0 (default) is
   * exact rejection sampling, acceptance exp(logit − M); γ < 0 accepts more (closer to G), γ > 0 less.
   */
  readonly gamma?: number;
  /**
   * Sets γ instead to this quantile of F over the burn-in proposals, as the DRS paper does (it uses 0.95):
   * proposals whose F is above that quantile are kept with probability over ½. With M the largest logit
   * this γ is usually negative — more proposals kept than by exact rejection, closer to G (the paper's use,
   * to keep acceptance up); with M at a lower quantile it can be positive — fewer kept, sharper than exact.
   * Not with `gamma`.
   */
  readonly gammaQuantile?: number;
  /** DRS's ε, keeping the logarithm finite at the maximum (unused at γ = 0). Default 1e-6. */
  readonly epsilon?: number;
  /**
   * Proposals drawn up front to estimate the largest logit M (it is raised whenever a larger one shows up).
   * Default 10 000 ({@link rejectionSampler}); per class, default 2 000 ({@link conditionalRejectionSampler}).
   */
  readonly burnIn?: number;
  /**
   * Which quantile of the burn-in logits serves as M. 1 (default): the largest, raised whenever a larger
   * logit shows up — exact rejection sampling when D = D*, but one over-confident logit makes acceptance
   * tiny. Below 1 (e.g. 0.99): M stays at that quantile and proposals above it are always kept —
   * the distribution is then exact only below M, but acceptance stays usable.
   */
  readonly maxLogitQuantile?: number;
  /** Proposals per batch. Default 1 000. */
  readonly batchSize?: number;
  /**
   * Gives up after deciding on this many proposals in one `sample` call (an error, not a short result); a
   * batch never draws past it. Default 1 000 000.
   */
  readonly maxProposals?: number;
  /** Seed of the accept/reject draws. */
  readonly seed?: number;
}

/** Options of {@link rejectionSampler}. */
export interface RejectionSamplerOptions extends AcceptanceOptions {
  /** An unconditional discriminator whose logit estimates log(p_data / p_g) — see {@link fitDiscriminator}. */
  readonly discriminator: Discriminator;
  /** The generator's samples (proposals). */
  readonly generate: SampleSource;
}

/** What a sampler has done so far. */
export interface SamplerCounts {
  /** Proposals `sample` has decided on so far (the burn-in not counted; a batch's proposals after the last needed acceptance are drawn but not counted). */
  readonly proposals: number;
  /** Proposals accepted so far (including those of a `sample` call that then failed). */
  readonly accepted: number;
  /** accepted ÷ proposals (NaN before the first `sample`). */
  readonly acceptanceRate: number;
}

/** A sampler made by {@link rejectionSampler}. */
export interface RejectionSampler extends SamplerCounts {
  /** Draws `n` accepted examples. The caller disposes the result. */
  sample(n: number): Promise<tf.Tensor>;
  /** The current estimate of the largest logit M. */
  readonly maxLogit: number;
  /** The γ in use (the option, or the quantile of F that `gammaQuantile` asked for). */
  readonly gamma: number;
}

/** The DRS acceptance probability of a logit, for the largest logit `m`. */
export function acceptanceProbability(logit: number, m: number, gamma = 0, epsilon = 1e-6): number {
  const d = Math.min(0, logit - m);
  if (gamma === 0) return Math.exp(d);
  const f = d - Math.log1p(-Math.exp(d - epsilon)) - gamma;
  return 1 / (1 + Math.exp(-f));
}

/** Validated {@link AcceptanceOptions}. */
interface Settings {
  readonly gamma: number;
  readonly gammaQuantile: number | undefined;
  readonly epsilon: number;
  readonly burnIn: number;
  readonly batchSize: number;
  readonly maxProposals: number;
  readonly quantile: number;
}

function settings(options: AcceptanceOptions, defaultBurnIn: number): Settings {
  if (options.gamma !== undefined && options.gammaQuantile !== undefined)
    throw new GANConfigError('gammaQuantile', 'give gamma or gammaQuantile, not both');
  const gammaQuantile = options.gammaQuantile;
  if (gammaQuantile !== undefined && !(gammaQuantile > 0 && gammaQuantile < 1))
    throw new GANConfigError('gammaQuantile', `must be in (0, 1), got ${gammaQuantile}`);
  const gamma = options.gamma ?? 0;
  const epsilon = options.epsilon ?? 1e-6;
  const burnIn = options.burnIn ?? defaultBurnIn;
  const batchSize = options.batchSize ?? 1000;
  const maxProposals = options.maxProposals ?? 1_000_000;
  const quantile = options.maxLogitQuantile ?? 1;
  if (!(quantile > 0 && quantile <= 1)) throw new GANConfigError('maxLogitQuantile', `must be in (0, 1], got ${quantile}`);
  if (!Number.isFinite(gamma)) throw new GANConfigError('gamma', `must be finite, got ${gamma}`);
  if (!(epsilon > 0 && Number.isFinite(epsilon)))
    throw new GANConfigError('epsilon', `must be a positive number, got ${epsilon}`);
  positiveInt('burnIn', burnIn);
  positiveInt('batchSize', batchSize);
  positiveInt('maxProposals', maxProposals);
  checkSeed(options.seed);
  return { gamma, gammaQuantile, epsilon, burnIn, batchSize, maxProposals, quantile };
}

/** One batch of proposals and their logits (read back); the caller disposes `x`. */
type Propose = (n: number) => Promise<{ x: tf.Tensor; l: Float32Array }>;

/** Proposals from `make(n)` (examples, their logits' computation, and a clean-up); reads the logits back, checking they are finite. */
function proposer(name: string, make: (n: number) => { x: tf.Tensor; logits: () => tf.Tensor1D; done: () => void }): Propose {
  return async (n) => {
    const { x, logits: run, done } = make(n);
    try {
      const lt = tf.tidy(run);
      const l = (await lt.data()) as Float32Array;
      lt.dispose();
      for (const v of l) if (!Number.isFinite(v)) throw new DataError(`${name}: the discriminator gave a non-finite logit`);
      return { x, l };
    } catch (e) {
      x.dispose();
      throw e;
    } finally {
      done();
    }
  };
}

/** Shared counters of one sampler and the draws of its accept/reject decisions. */
interface Tally {
  proposals: number;
  accepted: number;
  readonly random: Random;
}

/** Rejection sampling from one proposal stream: M (and γ) from its burn-in, then `take`. */
interface Stream {
  readonly m: number;
  readonly gamma: number;
  /**
   * `n` accepted examples; `budget.tried` counts the proposals decided on against `maxProposals` across
   * streams (a stream's last batch draws up to `batchSize − 1` more that get no decision and are not counted).
   */
  take(n: number, budget: { tried: number; wanted: number; have: number }): Promise<tf.Tensor>;
}

async function openStream(propose: Propose, set: Settings, tally: Tally): Promise<Stream> {
  const seen = new Float32Array(set.burnIn);
  for (let drawn = 0; drawn < set.burnIn; drawn += set.batchSize) {
    const { x, l } = await propose(Math.min(set.batchSize, set.burnIn - drawn));
    x.dispose();
    seen.set(l, drawn);
  }
  seen.sort();
  let m = seen[Math.min(set.burnIn - 1, Math.ceil(set.quantile * set.burnIn) - 1)] as number;
  const raise = set.quantile === 1;
  let gamma = set.gamma;
  if (set.gammaQuantile !== undefined) {
    // DRS's F for every burn-in logit at this M (the logits are sorted, and F rises with the logit).
    const d = Math.min(0, (seen[Math.min(set.burnIn - 1, Math.ceil(set.gammaQuantile * set.burnIn) - 1)] as number) - m);
    gamma = d - Math.log1p(-Math.exp(d - set.epsilon));
  }
  return {
    get m() {
      return m;
    },
    gamma,
    async take(n, budget) {
      const kept: tf.Tensor[] = [];
      let have = 0;
      try {
        while (have < n) {
          if (budget.tried >= set.maxProposals) {
            const got = budget.have + have;
            throw new GANConfigError(
              'maxProposals',
              `${budget.tried} proposals gave ${got} of ${budget.wanted} samples (acceptance ${(got / budget.tried).toExponential(2)}); raise maxProposals or lower gamma`,
            );
          }
          const size = Math.min(set.batchSize, set.maxProposals - budget.tried);
          const { x, l } = await propose(size);
          // M is raised from the whole batch, before any decision on it (exact rejection needs M ≥ every logit).
          if (raise) for (const v of l) if (v > m) m = v;
          const keep: number[] = [];
          for (let i = 0; i < l.length && have + keep.length < n; i++) {
            if (tally.random.next() < acceptanceProbability(l[i] as number, m, gamma, set.epsilon)) keep.push(i);
          }
          // Proposals after the n-th acceptance get no decision: count only those that did.
          const decided = have + keep.length === n ? (keep[keep.length - 1] as number) + 1 : l.length;
          tally.proposals += decided;
          budget.tried += decided;
          tally.accepted += keep.length;
          try {
            if (keep.length > 0) kept.push(tf.tidy(() => tf.gather(x, tf.tensor1d(keep, 'int32'))));
          } finally {
            x.dispose();
          }
          have += keep.length;
        }
      } catch (e) {
        tf.dispose(kept);
        throw e;
      }
      budget.have += have;
      if (kept.length === 1) return kept[0] as tf.Tensor;
      const out = tf.concat(kept, 0);
      tf.dispose(kept);
      return out;
    },
  };
}

const rateOf = (tally: Tally): number => (tally.proposals === 0 ? Number.NaN : tally.accepted / tally.proposals);

/**
 * Discriminator rejection sampling (Azadi et al., ICLR 2019). Proposals come from the generator; each
 * is kept with probability σ(F − γ) (exp(logit − M) at γ = 0). When D is the optimal discriminator for
 * G, the kept samples follow p_data exactly; in practice samples D finds unlike the data — the thin
 * bridges a continuous G leaves between modes, blurry images — are dropped. Backends: any (logits are
 * read with `await data()`). Leak-free: only the returned tensor stays.
 *
 * @example
 * ```ts
 * const critic = mlpDiscriminator({ inputShape: [2], hiddenUnits: [128, 128] });
 * const generate = (n: number) => trainer.sample(n);
 * await fitDiscriminator({ discriminator: critic, real: data, generate, steps: 2000 });
 * const drs = await rejectionSampler({ discriminator: critic, generate });
 * const x = await drs.sample(2500);
 * ```
 * @throws {@link GANConfigError} for bad options (here) or `n` (in `sample`, also when `maxProposals`
 * run out); {@link ShapeMismatchError} when the samples do not fit the discriminator or `generate` returns
 * another number of them; {@link DataError} when the discriminator gives a non-finite logit.
 */
export async function rejectionSampler(options: RejectionSamplerOptions): Promise<RejectionSampler> {
  const { discriminator, generate } = options;
  unconditional(discriminator, 'conditionalRejectionSampler');
  const set = settings(options, 10_000);
  const tally: Tally = { proposals: 0, accepted: 0, random: new Random(options.seed) };
  const propose = proposer('rejectionSampler', (n) => {
    const x = draw('generated examples', generate, n, discriminator.inputShape);
    return { x, logits: () => logits(discriminator, x, false), done: () => {} };
  });
  const stream = await openStream(propose, set, tally);
  return {
    get proposals() {
      return tally.proposals;
    },
    get accepted() {
      return tally.accepted;
    },
    get acceptanceRate() {
      return rateOf(tally);
    },
    get maxLogit() {
      return stream.m;
    },
    gamma: stream.gamma,
    async sample(n: number) {
      positiveInt('n', n);
      return stream.take(n, { tried: 0, wanted: n, have: 0 });
    },
  };
}

/** Options of {@link conditionalRejectionSampler}. */
export interface ConditionalRejectionSamplerOptions extends AcceptanceOptions {
  /** A conditional discriminator whose logit estimates log(p_data(x | y) / p_g(x | y)) — see {@link fitConditionalDiscriminator}. */
  readonly discriminator: ConditionalDiscriminator;
  /** The conditional generator's samples for given classes (proposals). */
  readonly generate: ConditionalSampleSource;
}

/** A sampler made by {@link conditionalRejectionSampler}. */
export interface ConditionalRejectionSampler extends SamplerCounts {
  /**
   * One accepted example per label, in the labels' order (class indices or one-hot rows, as the trainer
   * takes them). The caller disposes the result.
   */
  sample(labels: LabelsInput): Promise<tf.Tensor>;
  /** The discriminator's number of classes. */
  readonly numClasses: number;
  /** M per class. */
  readonly maxLogits: readonly number[];
  /** γ per class (the option, or each class's quantile of F). */
  readonly gammas: readonly number[];
}

/**
 * Discriminator rejection sampling for a conditional GAN: each class has its own proposal stream, G(z | y),
 * its own M (and γ) from its own burn-in, and keeps x with probability exp(logit D(x | y) − M_y) — exact
 * rejection sampling of p_data(x | y) when D is the optimal conditional discriminator
 * ({@link fitConditionalDiscriminator}). The burn-in (`burnIn` proposals per class) runs for every class up
 * front. Leak-free: only the returned tensor stays.
 *
 * @example
 * ```ts
 * const generate = (y: tf.Tensor1D) => trainer.sample(y.shape[0], y);
 * await fitConditionalDiscriminator({ discriminator: critic, real: { x: images, labels }, generate, steps: 2000 });
 * const drs = await conditionalRejectionSampler({ discriminator: critic, generate, maxLogitQuantile: 0.99 });
 * const sevens = await drs.sample(new Array(16).fill(7));
 * ```
 * @throws {@link GANConfigError} for bad options or a discriminator without classes; in `sample`, labels that are
 * not class indices ({@link DataError}, {@link ShapeMismatchError}) before any proposal, and `maxProposals` run out
 * (over all classes of one call); {@link DataError} when the discriminator gives a non-finite logit.
 */
export async function conditionalRejectionSampler(
  options: ConditionalRejectionSamplerOptions,
): Promise<ConditionalRejectionSampler> {
  const { discriminator, generate } = options;
  const numClasses = conditional(discriminator, 'rejectionSampler');
  const set = settings(options, 2000);
  const tally: Tally = { proposals: 0, accepted: 0, random: new Random(options.seed) };
  const streams: Stream[] = [];
  for (let c = 0; c < numClasses; c++) {
    const propose = proposer('conditionalRejectionSampler', (n) => {
      const y = tf.tidy(() => tf.fill([n], c, 'int32') as tf.Tensor1D);
      try {
        const x = drawFor(generate, y, discriminator.inputShape);
        return { x, logits: () => logits(discriminator, x, false, y), done: () => y.dispose() };
      } catch (e) {
        y.dispose();
        throw e;
      }
    });
    streams.push(await openStream(propose, set, tally));
  }
  return {
    get proposals() {
      return tally.proposals;
    },
    get accepted() {
      return tally.accepted;
    },
    get acceptanceRate() {
      return rateOf(tally);
    },
    numClasses,
    get maxLogits() {
      return streams.map((st) => st.m);
    },
    gammas: streams.map((st) => st.gamma),
    async sample(input: LabelsInput) {
      const y = await toLabels(input, numClasses, undefined, 'labels');
      const wanted = Array.from((await y.data()) as Int32Array);
      y.dispose();
      if (wanted.length === 0) throw new GANConfigError('labels', 'ask for at least one sample');
      const budget = { tried: 0, wanted: wanted.length, have: 0 };
      const parts: tf.Tensor[] = [];
      // Row of each wanted label in the class-ordered concatenation of the parts.
      const where = new Int32Array(wanted.length);
      try {
        let offset = 0;
        for (let c = 0; c < numClasses; c++) {
          let k = 0;
          wanted.forEach((label, i) => {
            if (label === c) where[i] = offset + k++;
          });
          if (k === 0) continue;
          parts.push(await (streams[c] as Stream).take(k, budget));
          offset += k;
        }
        return tf.tidy(() =>
          tf.gather(parts.length === 1 ? (parts[0] as tf.Tensor) : tf.concat(parts, 0), tf.tensor1d(where, 'int32')),
        );
      } finally {
        tf.dispose(parts);
      }
    },
  };
}
