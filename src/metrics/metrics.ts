/**
 * Metrics of GAN quality, for any tfjs backend in Node and the browser: mode coverage on Gaussian
 * mixtures (VEEGAN/PacGAN protocol), Parzen-window log-likelihood (Goodfellow et al. 2014),
 * Fréchet distance and KID on a feature model's features, conditional accuracy, and the
 * Jensen–Shannon divergence on a 1-D/2-D grid. Functions that read results back are async.
 *
 * @example
 * ```ts
 * import { metrics } from 'tfjs-gan';
 * const grid = metrics.gridOfGaussians();
 * const real = grid.sample(2500, 1);
 * const { modesCovered, highQualityShare } = await metrics.modeCoverage(real, grid); // 25, ≈ 0.989
 * ```
 * @module
 */

export {
  type Classifier,
  type ConditionalAccuracy,
  type ConditionalAccuracyOptions,
  conditionalAccuracy,
  loadMnistClassifier,
  type MnistClassifier,
  type PredictingModel,
} from './classifier';
export { type ModeCoverage, type ModeCoverageOptions, modeCoverage } from './coverage';
export {
  type ExtractFeaturesOptions,
  extractFeatures,
  type FeatureModel,
  type FeatureMoments,
  featureMoments,
  frechetDistance,
  frechetDistanceFromMoments,
  type KIDOptions,
  type KIDResult,
  kernelInceptionDistance,
} from './frechet';
export { type Density, type GridDivergence, type GridDivergenceOptions, jsDivergence, jsDivergenceOnGrid } from './jsd';
export {
  type GaussianMixture,
  type GridOptions,
  gaussianMixture,
  gridOfGaussians,
  type RingOptions,
  ringOfGaussians,
} from './mixtures';
export {
  logspace,
  PARZEN_SIGMAS,
  type ParzenOptions,
  type ParzenResult,
  type ParzenScore,
  type ParzenSelection,
  parzenLogLikelihood,
  selectParzenSigma,
} from './parzen';
export type { Samples } from './util';
