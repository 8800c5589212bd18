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

import { DataError, GANConfigError, GANError, ShapeMismatchError } from '../errors';
import type { Discriminator } from '../models/types';
import { Random } from '../random';
import { type LearningRateFunction, learningRateSchedule } from '../training/callbacks';
import { assertFinite } from '../training/data';

/**
 * Returns `n` examples, `[n, ...shape]`, as a new tensor that the library disposes when done with it
 * (e.g. `(n) => trainer.sample(n)`). Intermediate tensors are cleaned up (it is called inside `tf.tidy`).
 */
export type SampleSource = (n: number) => tf.Tensor;

/** Options of {@link fitDiscriminator}. */
export interface FitDiscriminatorOptions {
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

function logits(discriminator: Discriminator, x: tf.Tensor, training: boolean): tf.Tensor1D {
  const out = discriminator.apply(x, { training });
  if (out.size !== x.shape[0]) {
    throw new ShapeMismatchError('discriminator output', `[${x.shape[0]}, 1] or [${x.shape[0]}]`, `[${out.shape.join(', ')}]`);
  }
  return tf.reshape(out, [-1]);
}

/**
 * Trains a discriminator against a frozen generator with the cross-entropy loss — a binary
 * classifier of real versus generated examples, whose optimum is D* = p_data / (p_data + p_g) and
 * whose logit estimates log(p_data / p_g). Only D's variables move; G is only sampled.
 * Leak-free: every update is one `tf.tidy`.
 *
 * @throws {@link GANConfigError} for bad `steps`, `batchSize` or `logEvery`;
 * {@link ShapeMismatchError} when the real or generated examples do not fit D's input shape;
 * {@link DataError} for empty real data — all before any variable changes.
 */
export async function fitDiscriminator(options: FitDiscriminatorOptions): Promise<FitDiscriminatorResult> {
  const { discriminator, real, generate } = options;
  const batchSize = options.batchSize ?? 256;
  const logEvery = options.logEvery ?? 100;
  positiveInt('steps', options.steps);
  positiveInt('batchSize', batchSize);
  positiveInt('logEvery', logEvery);
  checkSeed(options.seed);
  if (discriminator.trainableVariables.length === 0) {
    throw new GANConfigError('discriminator', 'has no trainable variables: there is nothing to fit');
  }
  if (typeof real !== 'function') {
    if (real.shape[0] === 0) throw new DataError('fitDiscriminator: the real data is empty');
    checkExamples('real examples', real, discriminator.inputShape);
    await assertFinite(real, 'real examples');
  } else {
    draw('real examples', real, batchSize, discriminator.inputShape).dispose();
  }
  draw('generated examples', generate, batchSize, discriminator.inputShape).dispose();
  if (options.schedule !== undefined) {
    if (typeof options.schedule !== 'function')
      throw new GANConfigError('schedule', 'must be a function (step) => learning rate');
    const first = options.schedule(0);
    if (typeof first !== 'number' || !Number.isFinite(first) || first < 0) {
      throw new GANConfigError('schedule', `returned ${String(first)} for step 0; expected a finite number ≥ 0`);
    }
  }
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
  const n = typeof real === 'function' ? 0 : real.shape[0];
  const vars = discriminator.trainableVariables;
  let loss = Number.NaN;
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
    loss = values.reduce((a, b) => a + b, 0) / values.length;
    if (!Number.isFinite(loss)) {
      throw new GANError(
        `fitDiscriminator: the loss is not finite (NaN or Infinity) by update ${done}; the discriminator's variables have moved`,
      );
    }
    // Let timers and UI events run (an abort from a timer is seen at the next update).
    await new Promise((resolve) => setTimeout(resolve, 0));
  };
  try {
    while (done < options.steps && !options.signal?.aborted) {
      rate?.(done);
      const idx =
        typeof real === 'function' ? undefined : Int32Array.from({ length: batchSize }, () => Math.floor(random.next() * n));
      const cost = tf.tidy(() => {
        const x = typeof real === 'function' ? real(batchSize) : tf.gather(real, tf.tensor1d(idx as Int32Array, 'int32'));
        checkExamples('real examples', x, discriminator.inputShape, batchSize);
        const fake = generate(batchSize);
        checkExamples('generated examples', fake, discriminator.inputShape, batchSize);
        return optimizer.minimize(
          () => {
            // Training mode, as the trainer's D updates (batch-norm batch statistics, dropout).
            const lr = logits(discriminator, x, true);
            const lf = logits(discriminator, fake, true);
            // −log σ(l_real) − log(1 − σ(l_fake)) = softplus(−l_real) + softplus(l_fake)
            return tf.add(tf.mean(tf.softplus(tf.neg(lr))), tf.mean(tf.softplus(lf))) as tf.Scalar;
          },
          true,
          vars as tf.Variable[],
        ) as tf.Scalar;
      });
      pending.push(cost);
      done++;
      if (pending.length === logEvery) {
        await flush();
        options.onProgress?.(done, loss);
      }
    }
    if (pending.length > 0) await flush();
  } finally {
    tf.dispose(pending);
    if (options.optimizer === undefined) optimizer.dispose();
    else restore?.();
  }
  return { steps: done, loss };
}

/** Options of {@link rejectionSampler}. */
export interface RejectionSamplerOptions {
  /** An unconditional discriminator whose logit estimates log(p_data / p_g) — see {@link fitDiscriminator}. */
  readonly discriminator: Discriminator;
  /** The generator's samples (proposals). */
  readonly generate: SampleSource;
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
  /** Proposals drawn up front to estimate the largest logit M (it is raised whenever a larger one shows up). Default 10 000. */
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
  /** Gives up after drawing this many proposals in one `sample` call (an error, not a short result). Default 1 000 000. */
  readonly maxProposals?: number;
  /** Seed of the accept/reject draws. */
  readonly seed?: number;
}

/** A sampler made by {@link rejectionSampler}. */
export interface RejectionSampler {
  /** Draws `n` accepted examples. The caller disposes the result. */
  sample(n: number): Promise<tf.Tensor>;
  /** The current estimate of the largest logit M. */
  readonly maxLogit: number;
  /** The γ in use (the option, or the quantile of F that `gammaQuantile` asked for). */
  readonly gamma: number;
  /** Proposals `sample` has decided on so far (the burn-in not counted; a batch's proposals after the n-th acceptance are drawn but not counted). */
  readonly proposals: number;
  /** Proposals accepted so far (including those of a `sample` call that then failed). */
  readonly accepted: number;
  /** accepted ÷ proposals (NaN before the first `sample`). */
  readonly acceptanceRate: number;
}

/** The DRS acceptance probability of a logit, for the largest logit `m`. */
export function acceptanceProbability(logit: number, m: number, gamma = 0, epsilon = 1e-6): number {
  const d = Math.min(0, logit - m);
  if (gamma === 0) return Math.exp(d);
  const f = d - Math.log1p(-Math.exp(d - epsilon)) - gamma;
  return 1 / (1 + Math.exp(-f));
}

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
  if (options.gamma !== undefined && options.gammaQuantile !== undefined)
    throw new GANConfigError('gammaQuantile', 'give gamma or gammaQuantile, not both');
  const gammaQuantile = options.gammaQuantile;
  if (gammaQuantile !== undefined && !(gammaQuantile > 0 && gammaQuantile < 1))
    throw new GANConfigError('gammaQuantile', `must be in (0, 1), got ${gammaQuantile}`);
  let gamma = options.gamma ?? 0;
  const epsilon = options.epsilon ?? 1e-6;
  const burnIn = options.burnIn ?? 10_000;
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
  const random = new Random(options.seed);

  /** One batch: the proposals and their logits (read back). */
  async function propose(n: number): Promise<{ x: tf.Tensor; l: Float32Array }> {
    const x = draw('generated examples', generate, n, discriminator.inputShape);
    try {
      const lt = tf.tidy(() => logits(discriminator, x, false));
      const l = (await lt.data()) as Float32Array;
      lt.dispose();
      for (const v of l)
        if (!Number.isFinite(v)) throw new DataError('rejectionSampler: the discriminator gave a non-finite logit');
      return { x, l };
    } catch (e) {
      x.dispose();
      throw e;
    }
  }

  const seen = new Float32Array(burnIn);
  for (let drawn = 0; drawn < burnIn; drawn += batchSize) {
    const { x, l } = await propose(Math.min(batchSize, burnIn - drawn));
    x.dispose();
    seen.set(l, drawn);
  }
  seen.sort();
  let m = seen[Math.min(burnIn - 1, Math.ceil(quantile * burnIn) - 1)] as number;
  const raise = quantile === 1;
  if (gammaQuantile !== undefined) {
    // DRS's F for every burn-in logit at this M (the logits are sorted, and F rises with the logit).
    const f = (v: number) => {
      const d = Math.min(0, v - m);
      return d - Math.log1p(-Math.exp(d - epsilon));
    };
    gamma = f(seen[Math.min(burnIn - 1, Math.ceil(gammaQuantile * burnIn) - 1)] as number);
  }
  let proposals = 0;
  let accepted = 0;

  return {
    get maxLogit() {
      return m;
    },
    get gamma() {
      return gamma;
    },
    get proposals() {
      return proposals;
    },
    get accepted() {
      return accepted;
    },
    get acceptanceRate() {
      return proposals === 0 ? Number.NaN : accepted / proposals;
    },
    async sample(n: number): Promise<tf.Tensor> {
      positiveInt('n', n);
      const kept: tf.Tensor[] = [];
      let have = 0;
      let tried = 0;
      try {
        while (have < n) {
          if (tried >= maxProposals) {
            throw new GANConfigError(
              'maxProposals',
              `${tried} proposals gave ${have} of ${n} samples (acceptance ${(have / tried).toExponential(2)}); raise maxProposals or lower gamma`,
            );
          }
          const size = Math.min(batchSize, maxProposals - tried);
          const { x, l } = await propose(size);
          tried += size;
          // M is raised from the whole batch, before any decision on it (exact rejection needs M ≥ every logit).
          if (raise) for (const v of l) if (v > m) m = v;
          const keep: number[] = [];
          for (let i = 0; i < l.length && have + keep.length < n; i++) {
            if (random.next() < acceptanceProbability(l[i] as number, m, gamma, epsilon)) keep.push(i);
          }
          // Proposals after the n-th acceptance get no decision: count only those that did.
          proposals += have + keep.length === n ? (keep[keep.length - 1] as number) + 1 : l.length;
          accepted += keep.length;
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
      if (kept.length === 1) return kept[0] as tf.Tensor;
      const out = tf.concat(kept, 0);
      tf.dispose(kept);
      return out;
    },
  };
}
