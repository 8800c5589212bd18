import * as tf from '@tensorflow/tfjs-core';
import { GANConfigError } from '../errors';
import { positiveInteger, positiveNumber, type Samples, sameWidth, squaredDistances, withMatrices } from './util';

/** `num` numbers evenly spaced on a log scale from 10^start to 10^stop (NumPy's `logspace`). */
export function logspace(start: number, stop: number, num: number): number[] {
  positiveInteger('num', num);
  if (num === 1) return [10 ** start];
  return Array.from({ length: num }, (_, i) => 10 ** (start + ((stop - start) * i) / (num - 1)));
}

/** The σ candidates of Goodfellow et al. (2014): logspace(−1, 0, 10), 0.1 … 1. */
export const PARZEN_SIGMAS: readonly number[] = Object.freeze(logspace(-1, 0, 10));

/** Options of {@link parzenLogLikelihood}. */
export interface ParzenOptions {
  /** The window width. Give it, or give `validation` (and optionally `sigmas`) to select it. */
  readonly sigma?: number;
  /** Candidates for σ when it is selected on `validation`. Default logspace(−1, 0, 10). */
  readonly sigmas?: readonly number[];
  /** Real examples, apart from the test set, on which σ is selected (the paper uses 1 000 digits). */
  readonly validation?: Samples;
  /** Test (or validation) points scored per batch: memory is `batchSize × samples` floats. Default 100. */
  readonly batchSize?: number;
}

/** The result of {@link parzenLogLikelihood}. */
export interface ParzenResult {
  /** Mean log-likelihood of the test points, in nats. */
  readonly mean: number;
  /** Standard error of that mean (population standard deviation / √m, as in the paper's code). */
  readonly standardError: number;
  /** The window width used. */
  readonly sigma: number;
}

/** One σ candidate's score. */
export interface ParzenScore {
  /** The window width. */
  readonly sigma: number;
  /** Mean validation log-likelihood with it, in nats. */
  readonly mean: number;
}

/** The result of {@link selectParzenSigma}. */
export interface ParzenSelection {
  /** The σ with the best mean validation log-likelihood. */
  readonly sigma: number;
  /** Every candidate with its mean validation log-likelihood, in the order given. */
  readonly scores: ParzenScore[];
}

/**
 * Per-point log-likelihoods under the Parzen window of `samples`, one array per σ. Works through
 * `points` in batches, so memory is `batchSize × n` floats, never `[m, n, d]`.
 */
async function logLikelihoods(
  samples: tf.Tensor2D,
  points: tf.Tensor2D,
  sigmas: readonly number[],
  batchSize: number,
): Promise<Float64Array[]> {
  const n = samples.shape[0];
  const m = points.shape[0];
  const d = samples.shape[1];
  const out = sigmas.map(() => new Float64Array(m));
  for (let start = 0; start < m; start += batchSize) {
    const size = Math.min(batchSize, m - start);
    const lse = tf.tidy(() => {
      const batch = tf.slice(points, [start, 0], [size, d]);
      const d2 = squaredDistances(batch, samples);
      return tf.stack(sigmas.map((s) => tf.logSumExp(tf.mul(d2, -1 / (2 * s * s)), 1)));
    });
    const values = await lse.data();
    lse.dispose();
    sigmas.forEach((s, k) => {
      const constant = Math.log(n) + d * Math.log(s * Math.sqrt(2 * Math.PI));
      const row = out[k] as Float64Array;
      for (let i = 0; i < size; i++) row[start + i] = (values[k * size + i] as number) - constant;
    });
  }
  return out;
}

const meanOf = (a: Float64Array): number => a.reduce((s, v) => s + v, 0) / a.length;

function checkSigmas(sigmas: readonly number[]): void {
  if (sigmas.length === 0) throw new GANConfigError('sigmas', 'needs at least one candidate');
  for (const s of sigmas) positiveNumber('sigmas', s);
}

/**
 * Selects the Parzen window width σ with the best mean log-likelihood of `validation` under the
 * window of `samples` (Goodfellow et al. 2014, candidates logspace(−1, 0, 10)). All candidates are
 * scored from one distance computation per batch.
 *
 * @throws {@link ShapeMismatchError} when the widths differ; {@link GANConfigError} for bad candidates.
 */
export async function selectParzenSigma(
  samples: Samples,
  validation: Samples,
  sigmas: readonly number[] = PARZEN_SIGMAS,
  batchSize = 100,
): Promise<ParzenSelection> {
  checkSigmas(sigmas);
  positiveInteger('batchSize', batchSize);
  return withMatrices(
    [
      [samples, 'samples'],
      [validation, 'validation'],
    ],
    async (s, v) => {
      sameWidth(s, v, 'validation');
      const lls = await logLikelihoods(s, v, sigmas, batchSize);
      const scores = sigmas.map((sigma, k) => ({ sigma, mean: meanOf(lls[k] as Float64Array) }));
      const best = scores.reduce((a, b) => (b.mean > a.mean ? b : a));
      return { sigma: best.sigma, scores };
    },
  );
}

/**
 * Gaussian Parzen-window log-likelihood of `test` under `samples` (Goodfellow et al. 2014, Table 1):
 * log p(x) = logmeanexp_j(−‖x − μ_j‖² / 2σ²) − d·log(σ√(2π)), averaged over the test points, with
 * its standard error. σ is `options.sigma`, or selected on `options.validation` from `options.sigmas`.
 * Batched over test points with log-sum-exp: 10 000 samples × 1 000 points × 784 dims needs about
 * 4 MB per batch of 100.
 *
 * The estimate rewards memorised or over-sharp samples and is unreliable in high dimension
 * (Theis et al. 2016): report a feature-based distance ({@link frechetDistance}) beside it.
 *
 * @example
 * ```ts
 * const { mean, standardError, sigma } = await metrics.parzenLogLikelihood(samples, test, { validation });
 * ```
 * @throws {@link GANConfigError} when neither `sigma` nor `validation` is given;
 *   {@link ShapeMismatchError} when the widths differ.
 */
export async function parzenLogLikelihood(samples: Samples, test: Samples, options: ParzenOptions = {}): Promise<ParzenResult> {
  const batchSize = options.batchSize ?? 100;
  positiveInteger('batchSize', batchSize);
  let sigma = options.sigma;
  if (sigma === undefined) {
    if (options.validation === undefined) {
      throw new GANConfigError('sigma', 'give sigma, or a validation set to select it on (never the test set)');
    }
    sigma = (await selectParzenSigma(samples, options.validation, options.sigmas ?? PARZEN_SIGMAS, batchSize)).sigma;
  }
  positiveNumber('sigma', sigma);
  const chosen = sigma;
  return withMatrices(
    [
      [samples, 'samples'],
      [test, 'test'],
    ],
    async (s, t) => {
      sameWidth(s, t, 'test');
      const [ll] = (await logLikelihoods(s, t, [chosen], batchSize)) as [Float64Array];
      const mean = meanOf(ll);
      const variance = ll.reduce((a, v) => a + (v - mean) ** 2, 0) / ll.length;
      return { mean, standardError: Math.sqrt(variance / ll.length), sigma: chosen };
    },
  );
}
