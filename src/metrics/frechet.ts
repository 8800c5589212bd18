import * as tf from '@tensorflow/tfjs-core';
import { DataError, GANConfigError } from '../errors';
import { Random } from '../random';
import { traceSqrtProduct } from './linalg';
import { asMatrix, positiveInteger, type Samples, sameWidth, withMatrices } from './util';

/** Any function from a batch of examples to a batch of feature vectors `[n, k]` (e.g. a classifier's penultimate layer). */
export type FeatureModel = (x: tf.Tensor) => tf.Tensor;

/** The first two moments of a set of feature vectors. */
export interface FeatureMoments {
  /** The mean vector (length k). */
  readonly mean: Float64Array;
  /** The covariance matrix, k × k row-major, normalised by n − 1. */
  readonly covariance: Float64Array;
  /** The feature width k. */
  readonly dim: number;
  /** The number of vectors they were computed from. */
  readonly count: number;
}

/** Options of {@link extractFeatures}. */
export interface ExtractFeaturesOptions {
  /** Examples per call of the model. Default 500. */
  readonly batchSize?: number;
}

/**
 * Runs a feature model over `x` in batches (inside `tf.tidy`) and returns the features `[n, k]`.
 * The caller disposes the result.
 */
export function extractFeatures(model: FeatureModel, x: tf.Tensor, options: ExtractFeaturesOptions = {}): tf.Tensor2D {
  const batchSize = options.batchSize ?? 500;
  positiveInteger('batchSize', batchSize);
  const n = x.shape[0] as number;
  if (n === 0) throw new DataError('no examples to extract features from');
  const parts: tf.Tensor2D[] = [];
  try {
    for (let start = 0; start < n; start += batchSize) {
      const size = Math.min(batchSize, n - start);
      parts.push(
        tf.tidy(() => {
          const f = model(tf.slice(x, start, size));
          return tf.reshape(f, [size, -1]) as tf.Tensor2D;
        }),
      );
    }
    return parts.length === 1 ? (parts.pop() as tf.Tensor2D) : (tf.concat(parts) as tf.Tensor2D);
  } finally {
    tf.dispose(parts);
  }
}

/** Mean and covariance (n − 1 normalisation) of feature vectors `[n, k]`, n ≥ 2. */
export async function featureMoments(features: Samples): Promise<FeatureMoments> {
  const { m, owned } = asMatrix(features, 'features');
  try {
    const [n, k] = m.shape;
    if (n < 2) throw new DataError(`features: need at least 2 vectors for a covariance, got ${n}`);
    const [mean, cov] = tf.tidy(() => {
      const mu = tf.mean(m, 0);
      const c = tf.sub(m, mu);
      return [mu, tf.div(tf.matMul(c, c, true, false), n - 1)];
    });
    const [mv, cv] = await Promise.all([mean.data(), cov.data()]);
    tf.dispose([mean, cov]);
    const covariance = Float64Array.from(cv);
    for (let i = 0; i < k; i++)
      for (let j = i + 1; j < k; j++) {
        const s = ((covariance[i * k + j] as number) + (covariance[j * k + i] as number)) / 2;
        covariance[i * k + j] = s;
        covariance[j * k + i] = s;
      }
    return { mean: Float64Array.from(mv), covariance, dim: k, count: n };
  } finally {
    if (owned) m.dispose();
  }
}

/**
 * The Fréchet distance between two Gaussians given by their moments:
 * ‖μ_a − μ_b‖² + tr(Σ_a) + tr(Σ_b) − 2·tr √(Σ_a Σ_b) (Dowson & Landau 1982). Computed in float64
 * with Jacobi eigendecompositions: O(k³) per sweep, meant for feature widths up to a few hundred.
 */
export function frechetDistanceFromMoments(a: FeatureMoments, b: FeatureMoments): number {
  if (a.dim !== b.dim) throw new GANConfigError('features', `widths differ: ${a.dim} vs ${b.dim}`);
  const k = a.dim;
  let d = 0;
  for (let i = 0; i < k; i++) d += ((a.mean[i] as number) - (b.mean[i] as number)) ** 2;
  let trace = 0;
  for (let i = 0; i < k; i++) trace += (a.covariance[i * k + i] as number) + (b.covariance[i * k + i] as number);
  return Math.max(d + trace - 2 * traceSqrtProduct(a.covariance, b.covariance, k), 0);
}

/**
 * The Fréchet distance between two sets of feature vectors `[n, k]` — FID (Heusel et al. 2017) when
 * the features are Inception-v3's pool features; here any {@link FeatureModel}'s, e.g. the small
 * MNIST classifier of {@link loadMnistClassifier}. 0 for identical sets; biased upwards for small n,
 * so compare values computed with the same n.
 *
 * @example
 * ```ts
 * const real = metrics.extractFeatures(classifier.features, testDigits);
 * const fake = metrics.extractFeatures(classifier.features, samples);
 * const fd = await metrics.frechetDistance(real, fake);
 * ```
 */
export async function frechetDistance(featuresA: Samples, featuresB: Samples): Promise<number> {
  const [a, b] = await Promise.all([featureMoments(featuresA), featureMoments(featuresB)]);
  return frechetDistanceFromMoments(a, b);
}

/** Options of {@link kernelInceptionDistance}. */
export interface KIDOptions {
  /** Number of random subsets averaged. Default 100. */
  readonly subsets?: number;
  /** Vectors drawn (without replacement) from each set per subset; capped at the smaller set's size. Default 1000. */
  readonly subsetSize?: number;
  /** Seed of the subset draws. Default 0. */
  readonly seed?: number;
}

/** The result of {@link kernelInceptionDistance}. */
export interface KIDResult {
  /** Mean of the unbiased MMD² estimates over the subsets. */
  readonly mean: number;
  /** Their standard deviation. */
  readonly std: number;
}

/**
 * Kernel Inception Distance (Bińkowski et al. 2018): the unbiased estimate of the squared MMD between
 * two feature sets with the cubic polynomial kernel k(x, y) = (xᵀy / k + 1)³, averaged over random
 * subsets. Unbiased: about 0 (and possibly negative) for samples of the same distribution.
 */
export async function kernelInceptionDistance(
  featuresA: Samples,
  featuresB: Samples,
  options: KIDOptions = {},
): Promise<KIDResult> {
  const subsets = options.subsets ?? 100;
  positiveInteger('subsets', subsets);
  positiveInteger('subsetSize', options.subsetSize ?? 1000);
  const random = new Random(options.seed ?? 0);
  return withMatrices(
    [
      [featuresA, 'featuresA'],
      [featuresB, 'featuresB'],
    ],
    async (a, b) => {
      sameWidth(a, b, 'featuresB');
      const m = Math.min(options.subsetSize ?? 1000, a.shape[0], b.shape[0]);
      if (m < 2) throw new DataError('kernelInceptionDistance: each set needs at least 2 vectors');
      const k = a.shape[1];
      const pick = (n: number): Int32Array => {
        const all = random.shuffle(Array.from({ length: n }, (_, i) => i));
        return Int32Array.from(all.slice(0, m));
      };
      const estimates: tf.Tensor1D[] = [];
      try {
        for (let s = 0; s < subsets; s++) {
          const ia = pick(a.shape[0]);
          const ib = pick(b.shape[0]);
          estimates.push(
            tf.tidy(() => {
              const x = tf.gather(a, tf.tensor1d(ia, 'int32'));
              const y = tf.gather(b, tf.tensor1d(ib, 'int32'));
              const kernel = (p: tf.Tensor2D, q: tf.Tensor2D) => tf.pow(tf.add(tf.div(tf.matMul(p, q, false, true), k), 1), 3);
              // Row sums first, so the big reductions stay short; the rest is finished in float64.
              const rowSums = (kk: tf.Tensor) => tf.sum(kk, 1);
              const diagonal = (kk: tf.Tensor) => tf.sum(tf.mul(kk, tf.eye(m)), 1);
              const kxx = kernel(x, x);
              const kyy = kernel(y, y);
              return tf.stack([
                tf.sum(tf.sub(rowSums(kxx), diagonal(kxx))),
                tf.sum(tf.sub(rowSums(kyy), diagonal(kyy))),
                tf.sum(rowSums(kernel(x, y))),
              ]) as tf.Tensor1D;
            }),
          );
        }
        const stacked = tf.stack(estimates);
        const sums = await stacked.data();
        stacked.dispose();
        const values = Array.from({ length: subsets }, (_, i) => {
          const [xx, yy, xy] = [sums[3 * i], sums[3 * i + 1], sums[3 * i + 2]] as [number, number, number];
          return (xx + yy) / (m * (m - 1)) - (2 * xy) / (m * m);
        });
        const mean = values.reduce((p, v) => p + v, 0) / values.length;
        const variance = values.reduce((p, v) => p + (v - mean) ** 2, 0) / values.length;
        return { mean, std: Math.sqrt(variance) };
      } finally {
        tf.dispose(estimates);
      }
    },
  );
}
