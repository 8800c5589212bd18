import * as tf from '@tensorflow/tfjs-core';
import { GANConfigError } from '../errors';
import type { GaussianMixture } from './mixtures';
import { positiveNumber, type Samples, sameWidth, squaredDistances, withMatrices } from './util';

/** Options of {@link modeCoverage}. */
export interface ModeCoverageOptions {
  /** A sample is high quality within `threshold`·σ of its nearest mode. Default 3. */
  readonly threshold?: number;
  /**
   * A mode counts as covered when at least this many high-quality samples have it as their nearest
   * mode. Default 1 (the protocol of VEEGAN and PacGAN).
   */
  readonly minSamples?: number;
}

/** The result of {@link modeCoverage}. */
export interface ModeCoverage {
  /** Modes that are the nearest mode of at least `minSamples` high-quality samples. */
  readonly modesCovered: number;
  /** Modes in the mixture. */
  readonly numModes: number;
  /** Share (0…1) of the samples within threshold·σ of their nearest mode. */
  readonly highQualityShare: number;
  /** High-quality samples per mode, in the mixture's order. */
  readonly perMode: number[];
}

/**
 * Mode coverage and high-quality share of samples from a low-dimensional mixture, as in VEEGAN
 * (Srivastava et al. 2017) and PacGAN (Lin et al. 2018): a sample is *high quality* if it lies within
 * `threshold`·σ of its nearest mode; a mode is *covered* if it is the nearest mode of a high-quality
 * sample. The protocol evaluates 2 500 samples. Real data itself scores 1 − e^(−t²/2) high quality in
 * 2-D (98.9 % for t = 3).
 *
 * @example
 * ```ts
 * const ring = metrics.ringOfGaussians();
 * const { modesCovered, highQualityShare } = await metrics.modeCoverage(trainer.sample(2500), ring);
 * ```
 * @throws {@link ShapeMismatchError} when the samples' width differs from the modes'.
 */
export async function modeCoverage(
  samples: Samples,
  mixture: Pick<GaussianMixture, 'means' | 'std'>,
  options: ModeCoverageOptions = {},
): Promise<ModeCoverage> {
  const threshold = options.threshold ?? 3;
  const minSamples = options.minSamples ?? 1;
  positiveNumber('threshold', threshold);
  if (!Number.isInteger(minSamples) || minSamples < 1) {
    throw new GANConfigError('minSamples', `must be a positive integer, got ${minSamples}`);
  }
  const means = mixture.means.map((m) => [...m]);
  return withMatrices(
    [
      [samples, 'samples'],
      [means, 'mixture means'],
    ],
    async (x, mu) => {
      sameWidth(mu, x, 'samples');
      const [nearest, distance] = tf.tidy(() => {
        const d2 = squaredDistances(x, mu);
        return [tf.argMin(d2, 1), tf.sqrt(tf.min(d2, 1))];
      });
      const [idx, dist] = await Promise.all([nearest.data(), distance.data()]);
      tf.dispose([nearest, distance]);
      const limit = threshold * mixture.std;
      const perMode = new Array<number>(means.length).fill(0);
      let good = 0;
      for (let i = 0; i < idx.length; i++) {
        if ((dist[i] as number) <= limit) {
          good++;
          perMode[idx[i] as number] = (perMode[idx[i] as number] as number) + 1;
        }
      }
      return {
        modesCovered: perMode.filter((c) => c >= minSamples).length,
        numModes: means.length,
        highQualityShare: good / idx.length,
        perMode,
      };
    },
  );
}
