import * as tf from '@tensorflow/tfjs-core';
import { formatShape, GANConfigError } from '../errors';
import type { Checkpointable, JsonValue } from '../io/checkpoint';
import type { ConditionalDiscriminator, Discriminator, ForwardOptions } from '../models/types';
import { Random } from '../random';
import { delegate } from './discriminators';
import { savedRandomState, wrapperState } from './state';

/** One of DiffAugment's transformation families, applied in the order color → translation → cutout. */
export type AugmentPolicy = 'color' | 'translation' | 'cutout';

const POLICIES: readonly AugmentPolicy[] = ['color', 'translation', 'cutout'];

/** Options of {@link withDiffAugment}. */
export interface DiffAugmentOptions {
  /** Which transformations to apply, in any order (they always run color → translation → cutout). Default all three. */
  readonly policy?: readonly AugmentPolicy[];
  /** Largest shift, as a share of the image's height and width: ±round(ratio·size) pixels (DiffAugment's default 1/8: ±4 on 28×28). Default 0.125. */
  readonly translation?: number;
  /** Side of the cut-out square, as a share of the image's height and width: round(ratio·size) pixels. Default 0.5. */
  readonly cutout?: number;
  /**
   * The value shifted-in borders and the cut-out square take. Default 0, as in DiffAugment (mid-grey for
   * data in [−1, 1]); pass the background value (e.g. −1 for MNIST in [−1, 1]) to keep the image's look.
   */
  readonly fill?: number;
  /**
   * The image shape of one example, for a discriminator that takes flat vectors (e.g. `[28, 28, 1]` for
   * 784 pixels; a flat vector is read in that shape's row-major order). Default: the discriminator's
   * input shape, which must then be rank 3.
   */
  readonly imageShape?: readonly [number, number, number];
  /** How an image is laid out: `[height, width, channels]` (tfjs's default) or `[channels, height, width]`. Default `'channelsLast'`. */
  readonly dataFormat?: 'channelsLast' | 'channelsFirst';
  /** Seed of the random transformations. */
  readonly seed?: number;
  /** The name of its state (the random generator) in checkpoints. Default `'diffAugment'`. */
  readonly checkpointKey?: string;
}

/** A discriminator behind DiffAugment (of the same kind as the one it wraps), which keeps its random state in checkpoints. */
export type DiffAugmentDiscriminator<D extends Discriminator | ConditionalDiscriminator> = (D extends ConditionalDiscriminator
  ? ConditionalDiscriminator
  : Discriminator) &
  Checkpointable;

/**
 * @internal The per-example parameters of one augmentation, as DiffAugment draws them. Output pixel (y, x)
 * reads input pixel (y + shiftY, x + shiftX); the cut-out covers rows cutY … cutY + cutH − 1 and columns
 * cutX … cutX + cutW − 1, clipped to the image.
 */
export interface AugmentParameters {
  readonly brightness: Float32Array; // added, U(−0.5, 0.5)
  readonly saturation: Float32Array; // factor, U(0, 2)
  readonly contrast: Float32Array; // factor, U(0.5, 1.5)
  readonly shiftY: Int32Array;
  readonly shiftX: Int32Array;
  readonly cutY: Int32Array;
  readonly cutX: Int32Array;
}

/** @internal Resolved settings: the image geometry (channels last) and the transformations' sizes. */
export interface AugmentSettings {
  readonly policy: ReadonlySet<AugmentPolicy>;
  readonly h: number;
  readonly w: number;
  readonly c: number;
  readonly channelsFirst: boolean;
  readonly maxShiftY: number;
  readonly maxShiftX: number;
  readonly cutH: number;
  readonly cutW: number;
  readonly fill: number;
}

const uniformInt = (random: Random, lo: number, hi: number): number => lo + Math.floor(random.next() * (hi - lo + 1));

/** @internal Draws `n` examples' parameters the way DiffAugment's code does (`torch.randint(lo, hi + 1)`, `torch.rand`). */
export function drawAugmentParameters(random: Random, n: number, s: AugmentSettings): AugmentParameters {
  const d = {
    brightness: new Float32Array(n),
    saturation: new Float32Array(n),
    contrast: new Float32Array(n),
    shiftY: new Int32Array(n),
    shiftX: new Int32Array(n),
    cutY: new Int32Array(n),
    cutX: new Int32Array(n),
  };
  for (let i = 0; i < n; i++) {
    if (s.policy.has('color')) {
      d.brightness[i] = random.next() - 0.5;
      d.saturation[i] = random.next() * 2;
      d.contrast[i] = random.next() + 0.5;
    }
    if (s.policy.has('translation')) {
      d.shiftY[i] = uniformInt(random, -s.maxShiftY, s.maxShiftY);
      d.shiftX[i] = uniformInt(random, -s.maxShiftX, s.maxShiftX);
    }
    if (s.policy.has('cutout')) {
      // rand_cutout: offset = randint(0, size + (1 − side mod 2)); the square starts at offset − side // 2.
      d.cutY[i] = uniformInt(random, 0, s.h - (s.cutH % 2)) - Math.floor(s.cutH / 2);
      d.cutX[i] = uniformInt(random, 0, s.w - (s.cutW % 2)) - Math.floor(s.cutW / 2);
    }
  }
  return d;
}

/**
 * Indices into the `[n·h·w, c]` rows of a batch for the translated batch, and where they fall inside:
 * row (e, y, x) reads row (e, y + shiftY, x + shiftX); where that is outside the image it reads its own
 * row and `keep` is 0 (the mask then puts the fill there).
 */
function translation(p: AugmentParameters, s: AugmentSettings, n: number): { indices: Int32Array; keep: Float32Array } {
  const indices = new Int32Array(n * s.h * s.w);
  const keep = new Float32Array(n * s.h * s.w);
  for (let e = 0; e < n; e++) {
    const [dy, dx] = [p.shiftY[e] as number, p.shiftX[e] as number];
    for (let y = 0; y < s.h; y++) {
      const sy = y + dy;
      for (let x = 0; x < s.w; x++) {
        const sx = x + dx;
        const at = (e * s.h + y) * s.w + x;
        const inside = sy >= 0 && sy < s.h && sx >= 0 && sx < s.w;
        indices[at] = inside ? (e * s.h + sy) * s.w + sx : at;
        keep[at] = inside ? 1 : 0;
      }
    }
  }
  return { indices, keep };
}

/** Zeroes each example's cut-out square in `mask` (`[n, h, w]`, row-major). */
function cutOut(mask: Float32Array, p: AugmentParameters, s: AugmentSettings, n: number): void {
  for (let e = 0; e < n; e++) {
    const [y0, x0] = [p.cutY[e] as number, p.cutX[e] as number];
    for (let y = Math.max(0, y0); y < Math.min(s.h, y0 + s.cutH); y++) {
      for (let x = Math.max(0, x0); x < Math.min(s.w, x0 + s.cutW); x++) mask[(e * s.h + y) * s.w + x] = 0;
    }
  }
}

const perExample = (values: Float32Array, n: number): tf.Tensor4D => tf.tensor4d(values.subarray(0, n), [n, 1, 1, 1]);

/**
 * @internal DiffAugment's transformations of images `[n, h, w, c]` (channels last) with the parameters
 * `p`: differentiable in the images (a translation gathers pixels, a cut-out is a mask), so G's gradient
 * passes through (a translation gathers pixels, borders and the cut-out are one mask). Creates
 * intermediate tensors: call inside `tf.tidy`.
 */
export function augmentImages(x: tf.Tensor4D, p: AugmentParameters, s: AugmentSettings): tf.Tensor4D {
  const n = x.shape[0];
  let y: tf.Tensor4D = x;
  if (s.policy.has('color')) {
    // brightness: + U(−½, ½); saturation: (x − mean over channels)·U(0, 2) + mean; contrast: (x − mean)·U(½, 1½) + mean.
    y = tf.add(y, perExample(p.brightness, n));
    const channelMean = tf.mean(y, 3, true);
    y = tf.add(tf.mul(tf.sub(y, channelMean), perExample(p.saturation, n)), channelMean);
    const imageMean = tf.mean(y, [1, 2, 3], true);
    y = tf.add(tf.mul(tf.sub(y, imageMean), perExample(p.contrast, n)), imageMean);
  }
  const shifts = s.policy.has('translation');
  if (!shifts && !s.policy.has('cutout')) return y;
  // Shifted-in borders and the cut-out are one mask over the (gathered) pixels, relative to the fill.
  if (s.fill !== 0) y = tf.sub(y, s.fill);
  let mask: Float32Array;
  if (shifts) {
    const t = translation(p, s, n);
    y = tf.reshape(tf.gather(tf.reshape(y, [n * s.h * s.w, s.c]), tf.tensor1d(t.indices, 'int32')), [n, s.h, s.w, s.c]);
    mask = t.keep;
  } else {
    mask = new Float32Array(n * s.h * s.w).fill(1);
  }
  if (s.policy.has('cutout')) cutOut(mask, p, s, n);
  y = tf.mul(y, tf.tensor4d(mask, [n, s.h, s.w, 1]));
  if (s.fill !== 0) y = tf.add(y, s.fill);
  return y;
}

/** @internal Validates the options against D's input shape. */
export function augmentSettings(inputShape: readonly number[], options: DiffAugmentOptions): AugmentSettings {
  const policy = options.policy ?? POLICIES;
  if (!Array.isArray(policy) || policy.length === 0 || policy.some((p) => !POLICIES.includes(p))) {
    throw new GANConfigError(
      'policy',
      `must be a non-empty list of ${POLICIES.map((p) => `'${p}'`).join(', ')}, got ${JSON.stringify(policy)}`,
    );
  }
  const format = options.dataFormat ?? 'channelsLast';
  if (format !== 'channelsLast' && format !== 'channelsFirst') {
    throw new GANConfigError('dataFormat', `must be 'channelsLast' or 'channelsFirst', got ${JSON.stringify(format)}`);
  }
  const image = options.imageShape ?? inputShape;
  if (image.length !== 3 || image.some((v) => !Number.isInteger(v) || v < 1)) {
    throw new GANConfigError(
      'imageShape',
      `the discriminator takes ${formatShape([...inputShape])}: give imageShape (${format === 'channelsLast' ? '[height, width, channels]' : '[channels, height, width]'}) for non-image inputs (got ${formatShape([...image])})`,
    );
  }
  const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
  if (size(image) !== size(inputShape)) {
    throw new GANConfigError(
      'imageShape',
      `${formatShape([...image])} does not hold the discriminator's input ${formatShape([...inputShape])}`,
    );
  }
  const translation = options.translation ?? 0.125;
  const cutout = options.cutout ?? 0.5;
  const fill = options.fill ?? 0;
  if (!(translation >= 0 && translation < 1)) throw new GANConfigError('translation', `must be in [0, 1), got ${translation}`);
  if (!(cutout > 0 && cutout <= 1)) throw new GANConfigError('cutout', `must be in (0, 1], got ${cutout}`);
  if (!Number.isFinite(fill)) throw new GANConfigError('fill', `must be a finite number, got ${fill}`);
  const channelsFirst = format === 'channelsFirst';
  const [h, w, c] = (channelsFirst ? [image[1], image[2], image[0]] : image) as [number, number, number];
  return {
    policy: new Set(policy),
    h,
    w,
    c,
    channelsFirst,
    // DiffAugment: int(size · ratio + 0.5).
    maxShiftY: Math.floor(h * translation + 0.5),
    maxShiftX: Math.floor(w * translation + 0.5),
    cutH: Math.max(1, Math.floor(h * cutout + 0.5)),
    cutW: Math.max(1, Math.floor(w * cutout + 0.5)),
    fill,
  };
}

/**
 * Differentiable augmentation (Zhao et al. 2020, "DiffAugment"): every batch D sees in training — real
 * and generated, in D's updates, in G's and at a gradient penalty's points — goes through random colour
 * changes, translations and cut-outs of the same kinds, with parameters drawn independently for every
 * example. D can no longer memorise a small training set, and because the transformations are
 * differentiable G still learns the un-augmented distribution. The remedy for limited data (the paper:
 * StyleGAN2 on 10 % of CIFAR-10, FID 36 → 15). Inference (`training: false`, e.g. `trainer.score` or
 * rejection sampling) sees the images unchanged.
 *
 * Works for unconditional and conditional discriminators (labels pass through). Inputs must be images
 * (`[h, w, c]`, or `[c, h, w]` with `dataFormat: 'channelsFirst'`), or flat vectors with `imageShape`.
 * Backends: all (gathers, masks and element-wise ops; the random parameters are drawn in JavaScript from
 * `seed`). The trainer's checkpoints keep its random state, so a resumed run continues with the same
 * transformations. The result is typed as a plain discriminator: when it wraps instance noise, pass the
 * noise wrapper itself to `fit`'s callbacks (it anneals there) and read its `currentStd` there.
 *
 * @example
 * ```ts
 * // The MNIST MLP GAN, pixels in [−1, 1]: D sees shifted, cut-out digits with a black (−1) fill.
 * const d = stabilizers.withDiffAugment(mlpDiscriminator(), { imageShape: [28, 28, 1], fill: -1, policy: ['translation', 'cutout'] });
 * const trainer = new GANTrainer({ generator: mlpGenerator(), discriminator: d });
 * ```
 * @throws {@link GANConfigError} for an unknown policy or data format, out-of-range ratios, or inputs that are not images.
 */
export function withDiffAugment<D extends Discriminator | ConditionalDiscriminator>(
  inner: D,
  options: DiffAugmentOptions = {},
): DiffAugmentDiscriminator<D> {
  if (inner == null || typeof inner.apply !== 'function') throw new GANConfigError('discriminator', 'is required');
  const s = augmentSettings(inner.inputShape, options);
  const random = new Random(options.seed);
  const key = options.checkpointKey ?? 'diffAugment';
  // A conditional D may return { logits, classLogits }: passed through as it is.
  const innerApply = inner.apply.bind(inner) as (x: tf.Tensor, o: ForwardOptions) => tf.Tensor;
  const wrapped = delegate(inner, inner.inputShape, (x, o) => {
    if (!o.training) return innerApply(x, o);
    const augmented = tf.tidy(() => {
      const n = x.shape[0] as number;
      const images = s.channelsFirst
        ? tf.transpose(tf.reshape(x, [n, s.c, s.h, s.w]), [0, 2, 3, 1])
        : tf.reshape(x, [n, s.h, s.w, s.c]);
      const out = augmentImages(images as tf.Tensor4D, drawAugmentParameters(random, n, s), s);
      return tf.reshape(s.channelsFirst ? tf.transpose(out, [0, 3, 1, 2]) : out, x.shape);
    });
    // The augmented batch belongs to the caller's scope, as D's own intermediates do.
    return innerApply(augmented, o);
  });
  const own = {
    save: () => ({ random: random.state }),
    prepare(data: { readonly [key: string]: JsonValue } | undefined) {
      if (data === undefined) return () => {};
      const saved = savedRandomState(key, data.random);
      return () => {
        random.state = saved;
      };
    },
  };
  return Object.assign(wrapped, wrapperState(key, own, inner)) as unknown as DiffAugmentDiscriminator<D>;
}
