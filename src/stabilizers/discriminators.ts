import * as tf from '@tensorflow/tfjs-core';
import { CheckpointError, formatShape, GANConfigError } from '../errors';
import type { Checkpointable } from '../io/checkpoint';
import type { ConditionalDiscriminator, Discriminator, ForwardOptions } from '../models/types';
import { Random } from '../random';
import type { GANCallback } from '../training/callbacks';
import { savedRandomState, wrapperState } from './state';

function unconditional(d: Discriminator, what: string): void {
  if (d == null || typeof d.apply !== 'function') throw new GANConfigError('discriminator', 'is required');
  if ((d as unknown as { numClasses?: number }).numClasses !== undefined) {
    throw new GANConfigError('discriminator', `${what} wraps unconditional discriminators only`);
  }
}

/**
 * @internal A discriminator that shares `inner`'s variables (and class count, for a conditional one) and
 * runs `apply` instead of it. Typed as unconditional; a conditional caller casts.
 */
export function delegate(
  inner: Discriminator | ConditionalDiscriminator,
  inputShape: readonly number[],
  apply: (x: tf.Tensor, o: ForwardOptions) => tf.Tensor,
): Discriminator {
  return {
    // A Checkpointable inner D (instance noise) stays Checkpointable through a wrapper without state.
    ...wrapperState('discriminator', undefined, inner),
    ...(inner.numClasses === undefined ? {} : { numClasses: inner.numClasses }),
    inputShape,
    get trainableVariables() {
      return inner.trainableVariables;
    },
    ...(inner.stateVariables === undefined
      ? {}
      : {
          get stateVariables() {
            return inner.stateVariables;
          },
        }),
    apply,
    dispose: () => inner.dispose?.(),
  } as unknown as Discriminator;
}

/**
 * The minibatch standard deviation feature (Karras et al. 2018, ProGAN): for groups of `groupSize`
 * examples, the standard deviation of every feature over the group, averaged into one number, is
 * appended to each example as an extra feature (`[n, d] → [n, d + 1]`) or channel
 * (`[n, h, w, c] → [n, h, w, c + 1]`). A discriminator that sees it can tell a collapsed batch from a
 * varied one. Differentiable; use it inside your own D (e.g. {@link discriminatorFromFunction}).
 *
 * @param groupSize examples per group; must divide the batch. A batch smaller than the group is one
 *   group (as in ProGAN's `min(group_size, batch)`), so a group size of 4 still works on the trainer's
 *   2-example dry run. Default: the whole batch.
 */
export function minibatchStdDev(x: tf.Tensor, groupSize?: number): tf.Tensor {
  return tf.tidy(() => {
    const n = x.shape[0] as number;
    const requested = groupSize ?? n;
    if (!Number.isInteger(requested) || requested < 1) {
      throw new GANConfigError('groupSize', `must be a positive integer, got ${requested}`);
    }
    const g = Math.min(requested, n);
    if (n % g !== 0) throw new GANConfigError('groupSize', `must divide the batch (${n}), got ${g}`);
    const features = x.shape.slice(1);
    const grouped = tf.reshape(x, [n / g, g, ...features]);
    const centred = tf.sub(grouped, tf.mean(grouped, 1, true));
    const std = tf.sqrt(tf.add(tf.mean(tf.square(centred), 1), 1e-8)); // [n/g, ...features]
    const axes = Array.from({ length: features.length }, (_, i) => i + 1);
    const perGroup = tf.mean(std, axes); // [n/g]
    const perExample = tf.reshape(tf.tile(tf.reshape(perGroup, [n / g, 1]), [1, g]), [n]);
    const shape = [n, ...features.slice(0, -1), 1];
    const extra = tf.mul(tf.ones(shape), tf.reshape(perExample, [n, ...shape.slice(1).map(() => 1)]));
    return tf.concat([x, extra], -1);
  });
}

/** Options of {@link withMinibatchStdDev}. */
export interface MinibatchStdDevOptions {
  /** Examples per group; must divide every batch D sees that is larger than it (a smaller batch is one group). Default: the whole batch. */
  readonly groupSize?: number;
}

/**
 * Puts {@link minibatchStdDev} in front of a discriminator: the wrapper takes examples of shape
 * `[...s, c]` and gives `inner`, whose input shape must be `[...s, c + 1]`, the examples with the
 * extra feature. Note that the trainer runs D on the real and generated batches separately, so each
 * batch's statistic describes one kind. Backends: all (plain tfjs-core ops).
 *
 * @example
 * ```ts
 * const d = stabilizers.withMinibatchStdDev(mlpDiscriminator({ inputShape: [3] })); // D for 2-D data
 * ```
 * @throws {@link GANConfigError} for a conditional or missing discriminator.
 */
export function withMinibatchStdDev(inner: Discriminator, options: MinibatchStdDevOptions = {}): Discriminator {
  unconditional(inner, 'withMinibatchStdDev');
  const s = inner.inputShape;
  const last = s[s.length - 1];
  if (last === undefined || last < 2) {
    throw new GANConfigError('discriminator', `its input must have a last dimension ≥ 2 (c + 1), got ${formatShape([...s])}`);
  }
  const inputShape = [...s.slice(0, -1), last - 1];
  return delegate(inner, inputShape, (x, o) => inner.apply(minibatchStdDev(x, options.groupSize), o));
}

/**
 * PacGAN packing (Lin et al. 2018): D judges `packing` examples at once, concatenated along the last
 * axis (feature vectors side by side; images along channels), which penalises mode collapse. The
 * wrapper takes single examples `[...s, c]`; `inner` must take `[...s, packing·c]`. Each pack is made
 * of consecutive examples of a batch (the batch must be a multiple of `packing`, or its last pack is
 * completed with its first examples), and every example receives its pack's logit, so the losses and
 * D(x) statistics keep their meaning. Backends: all (plain tfjs-core ops).
 *
 * @example
 * ```ts
 * const d = stabilizers.withPacking(mlpDiscriminator({ inputShape: [2 * 4] }), 4); // PacGAN4 for 2-D data
 * ```
 * @throws {@link GANConfigError} when `packing` is not an integer ≥ 2 or the inner input does not fit.
 */
export function withPacking(inner: Discriminator, packing: number): Discriminator {
  unconditional(inner, 'withPacking');
  if (!Number.isInteger(packing) || packing < 2) throw new GANConfigError('packing', `must be an integer ≥ 2, got ${packing}`);
  const s = inner.inputShape;
  const last = s[s.length - 1];
  if (last === undefined || last % packing !== 0) {
    throw new GANConfigError(
      'discriminator',
      `its input's last dimension must be packing × the example's (${packing} × c), got ${formatShape([...s])}`,
    );
  }
  const inputShape = [...s.slice(0, -1), last / packing];
  return delegate(inner, inputShape, (x: tf.Tensor, o: ForwardOptions) => {
    const n = x.shape[0] as number;
    const packs = Math.ceil(n / packing);
    const padded = packs * packing === n ? x : tf.concat([x, tf.slice(x, 0, packs * packing - n)]);
    const k = inputShape.length;
    const grouped = tf.reshape(padded, [packs, packing, ...inputShape]);
    // [P, m, d1 … dk] → [P, d1 … d(k−1), m, dk] → [P, d1 … d(k−1), m·dk].
    const perm = [0, ...Array.from({ length: k - 1 }, (_, i) => i + 2), 1, k + 1];
    const packed = tf.reshape(tf.transpose(grouped, perm), [packs, ...s]);
    const logits = tf.reshape(inner.apply(packed, o), [packs, 1]);
    return tf.slice(tf.reshape(tf.tile(logits, [1, packing]), [packs * packing, 1]), 0, n);
  });
}

/** Options of {@link withInstanceNoise}. */
export interface InstanceNoiseOptions {
  /** Standard deviation of the noise at step 0. Default 0.1. */
  readonly std?: number;
  /** Steps over which it decays linearly to 0 (Sønderby et al. 2017 anneal it). Default 10 000; `Infinity` keeps it constant. */
  readonly decaySteps?: number;
  /** Seed of the noise. */
  readonly seed?: number;
  /** The name of its state (step and noise generator) in checkpoints. Default `'instanceNoise'`. */
  readonly checkpointKey?: string;
}

/** A discriminator with instance noise that is also the callback that anneals it, and keeps its state in checkpoints. */
export interface InstanceNoiseDiscriminator extends Discriminator, GANCallback, Checkpointable {
  /** The standard deviation of the noise added now. */
  readonly currentStd: number;
}

/**
 * Instance noise (Sønderby et al. 2017; Arjovsky & Bottou 2017): Gaussian noise added to every input
 * of D in training mode — real and generated alike — so that the two distributions overlap and D's
 * gradients stay informative. Its standard deviation decays linearly to 0 over `decaySteps`; pass the
 * returned object to `fit`'s callbacks too so it knows the step (it reads `logs.step`). Inference
 * (`training: false`) sees clean inputs. Backends: all. The trainer's checkpoints keep its step and
 * noise generator ({@link Checkpointable}); from a checkpoint without them it takes the restored step.
 *
 * @example
 * ```ts
 * const d = stabilizers.withInstanceNoise(mlpDiscriminator({ inputShape: [2] }), { std: 0.1, decaySteps: 5000 });
 * const trainer = new GANTrainer({ generator, discriminator: d });
 * await trainer.fit(data, { callbacks: [d] });
 * ```
 */
export function withInstanceNoise(inner: Discriminator, options: InstanceNoiseOptions = {}): InstanceNoiseDiscriminator {
  unconditional(inner, 'withInstanceNoise');
  const start = options.std ?? 0.1;
  const decaySteps = options.decaySteps ?? 10_000;
  if (!(Number.isFinite(start) && start >= 0)) throw new GANConfigError('std', `must be a finite number ≥ 0, got ${start}`);
  if (!(decaySteps > 0)) throw new GANConfigError('decaySteps', `must be positive, got ${decaySteps}`);
  const random = new Random(options.seed);
  let step = 0;
  const std = (): number => (decaySteps === Number.POSITIVE_INFINITY ? start : start * Math.max(0, 1 - step / decaySteps));
  const key = options.checkpointKey ?? 'instanceNoise';
  const base = delegate(inner, inner.inputShape, (x, o) => {
    const s = std();
    if (!o.training || s === 0) return inner.apply(x, o);
    return inner.apply(tf.add(x, tf.randomNormal(x.shape, 0, s, 'float32', random.nextSeed())), o);
  });
  Object.assign(
    base,
    wrapperState(
      key,
      {
        save: () => ({ step, random: random.state }),
        prepare(data, context) {
          if (data === undefined) {
            return () => {
              step = context.step;
            };
          }
          const saved = savedRandomState(key, data.random);
          const s = data.step;
          if (typeof s !== 'number' || !Number.isInteger(s) || s < 0) {
            throw new CheckpointError(`${key}: malformed step ${JSON.stringify(s)}`);
          }
          return () => {
            step = s;
            random.state = saved;
          };
        },
      },
      inner,
    ),
  );
  Object.defineProperty(base, 'currentStd', { get: std, enumerable: true });
  return Object.assign(base as Discriminator & Checkpointable & { readonly currentStd: number }, {
    onStepEnd(logs: { readonly step: number }) {
      step = logs.step + 1;
    },
  });
}
