/**
 * The playground's 2-D target distributions: the PacGAN ring and grid (from tfjs-gan's metrics) and a
 * few shapes. Each gives a fixed training set, the points that "the data" means for the
 * distance-to-data measure, and the square region the canvas shows.
 */
import * as tf from '@tensorflow/tfjs-core';
import { metrics, Random } from 'tfjs-gan';

/** Names of the distributions the page offers. */
export type DistributionName = 'ring' | 'grid' | 'moons' | 'spiral' | 'line';

/** A target distribution. */
export interface Distribution {
  readonly name: DistributionName;
  /** The canvas shows [−extent, extent]². */
  readonly extent: number;
  /** Draws `n` points `[n, 2]` (caller disposes). */
  sample(n: number, seed: number): tf.Tensor2D;
  /** Reference points: the modes of a mixture, or a dense sample of a shape. */
  reference(): Float32Array;
  /** The mixture, for `metrics.modeCoverage` (ring and grid only). */
  readonly mixture?: metrics.GaussianMixture;
}

function fromFunction(
  name: DistributionName,
  extent: number,
  point: (rng: Random, normal: () => number) => [number, number],
): Distribution {
  const draw = (n: number, seed: number): Float32Array => {
    const rng = new Random(seed);
    const normal = () => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
    const xy = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) {
      const [x, y] = point(rng, normal);
      xy[2 * i] = x;
      xy[2 * i + 1] = y;
    }
    return xy;
  };
  return {
    name,
    extent,
    sample: (n, seed) => tf.tensor2d(draw(n, seed), [n, 2]),
    reference: () => draw(1500, 12345),
  };
}

function fromMixture(name: DistributionName, extent: number, mixture: metrics.GaussianMixture): Distribution {
  return {
    name,
    extent,
    mixture,
    sample: (n, seed) => mixture.sample(n, seed),
    reference: () => new Float32Array(mixture.means.flat()),
  };
}

/** Builds the named distribution. */
export function distribution(name: DistributionName): Distribution {
  switch (name) {
    case 'ring':
      // A little wider than the protocol's σ = 0.01 so the modes are visible on screen.
      return fromMixture(name, 1.6, metrics.ringOfGaussians({ std: 0.02 }));
    case 'grid':
      return fromMixture(name, 5.5, metrics.gridOfGaussians({ std: 0.1 }));
    case 'moons':
      return fromFunction(name, 2, (rng, normal) => {
        const t = Math.PI * rng.next();
        const upper = rng.next() < 0.5;
        return [
          (upper ? Math.cos(t) : 1 - Math.cos(t)) - 0.5 + 0.05 * normal(),
          (upper ? Math.sin(t) : 0.5 - Math.sin(t)) - 0.25 + 0.05 * normal(),
        ];
      });
    case 'spiral':
      return fromFunction(name, 2, (rng, normal) => {
        const t = 0.5 + 3.5 * Math.PI * Math.sqrt(rng.next());
        const r = (t / (4 * Math.PI)) * 1.6;
        return [r * Math.cos(t) + 0.03 * normal(), r * Math.sin(t) + 0.03 * normal()];
      });
    case 'line':
      return fromFunction(name, 2, (rng, normal) => {
        const t = 2 * rng.next() - 1;
        return [1.2 * t + 0.02 * normal(), 0.6 * t + 0.02 * normal()];
      });
  }
}

/** Mean Euclidean distance from each point of `points` to its nearest point of `reference` (flat x, y pairs). */
export function meanNearestDistance(points: ArrayLike<number>, reference: ArrayLike<number>): number {
  let total = 0;
  const n = points.length / 2;
  for (let i = 0; i < n; i++) {
    const x = points[2 * i] as number;
    const y = points[2 * i + 1] as number;
    let best = Number.POSITIVE_INFINITY;
    for (let j = 0; j < reference.length; j += 2) {
      const dx = x - (reference[j] as number);
      const dy = y - (reference[j + 1] as number);
      const d = dx * dx + dy * dy;
      if (d < best) best = d;
    }
    total += Math.sqrt(best);
  }
  return total / n;
}
