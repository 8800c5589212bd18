import * as tf from '@tensorflow/tfjs-core';
import { GANConfigError } from '../errors';
import { Random } from '../random';

/**
 * An equal-weight mixture of isotropic Gaussians with one shared standard deviation —
 * the synthetic benchmarks of mode-collapse papers (VEEGAN, PacGAN).
 */
export interface GaussianMixture {
  /** The mode centres, one `[x, y, …]` row per component. */
  readonly means: readonly (readonly number[])[];
  /** The standard deviation of every component (per coordinate). */
  readonly std: number;
  /**
   * Draws `n` samples `[n, dim]`: a uniformly chosen mode each, plus N(0, std²) noise.
   * The same `seed` gives the same samples. The caller disposes the result.
   */
  sample(n: number, seed?: number): tf.Tensor2D;
}

/** Options of {@link ringOfGaussians}. Defaults are the PacGAN protocol's (see ANCHORS). */
export interface RingOptions {
  /** Number of modes, evenly spaced on the circle. Default 8. */
  readonly modes?: number;
  /** Radius of the circle. Default 1. */
  readonly radius?: number;
  /** Standard deviation of each mode. Default 0.01. */
  readonly std?: number;
}

/** Options of {@link gridOfGaussians}. Defaults are the PacGAN protocol's. */
export interface GridOptions {
  /** Modes per side (side² in all). Default 5. */
  readonly side?: number;
  /** Distance between neighbouring modes; the grid is centred on 0. Default 2 (modes at −4 … 4). */
  readonly spacing?: number;
  /** Standard deviation of each mode. Default 0.05. */
  readonly std?: number;
}

function positive(option: string, v: number): void {
  if (!(Number.isFinite(v) && v > 0)) throw new GANConfigError(option, `must be a positive number, got ${v}`);
}
function count(option: string, v: number, min = 1): void {
  if (!Number.isInteger(v) || v < min) throw new GANConfigError(option, `must be an integer ≥ ${min}, got ${v}`);
}

/**
 * A mixture of the given means with a shared `std`.
 *
 * @throws {@link GANConfigError} for no means, rows of different lengths, or a non-positive std.
 */
export function gaussianMixture(means: readonly (readonly number[])[], std: number): GaussianMixture {
  if (means.length === 0) throw new GANConfigError('means', 'needs at least one mode');
  const dim = (means[0] as readonly number[]).length;
  if (dim === 0 || means.some((m) => m.length !== dim || m.some((v) => !Number.isFinite(v)))) {
    throw new GANConfigError('means', 'every mode must be a non-empty row of finite numbers, all of the same length');
  }
  positive('std', std);
  const frozen = means.map((m) => Object.freeze([...m]));
  const flat = new Float32Array(frozen.flat());
  return {
    means: Object.freeze(frozen),
    std,
    sample(n: number, seed?: number): tf.Tensor2D {
      count('n', n);
      const random = new Random(seed);
      const picks = new Int32Array(n);
      for (let i = 0; i < n; i++) picks[i] = Math.floor(random.next() * frozen.length);
      return tf.tidy(() => {
        const centres = tf.gather(tf.tensor2d(flat, [frozen.length, dim]), tf.tensor1d(picks, 'int32'));
        return tf.add(centres, tf.randomNormal([n, dim], 0, std, 'float32', random.nextSeed())) as tf.Tensor2D;
      });
    },
  };
}

/**
 * `modes` Gaussians evenly spaced on a circle: mode i at radius·(cos 2πi/modes, sin 2πi/modes).
 * Defaults: 8 modes, radius 1, σ = 0.01 — the ring of PacGAN's (and VEEGAN's) protocol.
 */
export function ringOfGaussians(options: RingOptions = {}): GaussianMixture {
  const modes = options.modes ?? 8;
  const radius = options.radius ?? 1;
  count('modes', modes);
  positive('radius', radius);
  const means = Array.from({ length: modes }, (_, i) => {
    const a = (2 * Math.PI * i) / modes;
    return [radius * Math.cos(a), radius * Math.sin(a)];
  });
  return gaussianMixture(means, options.std ?? 0.01);
}

/**
 * side × side Gaussians on a square grid centred on 0 with the given spacing.
 * Defaults: 5 × 5 modes at {−4, −2, 0, 2, 4}², σ = 0.05 — the grid of PacGAN's protocol.
 */
export function gridOfGaussians(options: GridOptions = {}): GaussianMixture {
  const side = options.side ?? 5;
  const spacing = options.spacing ?? 2;
  count('side', side);
  positive('spacing', spacing);
  const offset = ((side - 1) * spacing) / 2;
  const means: number[][] = [];
  for (let i = 0; i < side; i++) for (let j = 0; j < side; j++) means.push([i * spacing - offset, j * spacing - offset]);
  return gaussianMixture(means, options.std ?? 0.05);
}
