import * as tf from '@tensorflow/tfjs-core';
import { installSecondOrderGradients } from '../backends/gradients';
import { GANConfigError } from '../errors';
import { type LossName, resolveLoss } from '../losses/builtins';
import type { DiscriminatorLossContext, GANLoss } from '../losses/types';
import { Random } from '../random';
import { savedRandomState, wrapperState } from './state';

/** Options of {@link withGradientPenalty}. */
export interface GradientPenaltyOptions {
  /** λ, the penalty's weight. Default 10 (Gulrajani et al. 2017). */
  readonly weight?: number;
  /** The gradient norm the penalty pulls towards. Default 1. */
  readonly target?: number;
  /** Seed of the interpolation coefficients ε. */
  readonly seed?: number;
  /** The name of its state (the ε generator's) in checkpoints. Default `'gradientPenalty'`. */
  readonly checkpointKey?: string;
}

/** Options of {@link withR1Penalty}. */
export interface R1PenaltyOptions {
  /** γ: the loss gains γ/2 · E‖∇D(x)‖². Default 10 (Mescheder et al. 2018; StyleGAN uses 10 at 1024², less at low resolution). */
  readonly weight?: number;
}

type Discriminate = NonNullable<DiscriminatorLossContext['discriminate']>;

function needs(ctx: DiscriminatorLossContext, which: string): { real: tf.Tensor; fake: tf.Tensor; discriminate: Discriminate } {
  const { real, fake, discriminate } = ctx;
  if (real === undefined || fake === undefined || discriminate === undefined) {
    throw new GANConfigError(
      'loss',
      `${which} needs the real and generated batches and D's forward pass in the loss context (the trainer and discriminatorStep provide them)`,
    );
  }
  return { real, fake, discriminate };
}

/** Per-example squared L2 norms of ∂(Σ D(x))/∂x — D's examples are independent, so each row is that example's gradient. */
function squaredGradientNorms(discriminate: Discriminate, x: tf.Tensor, labels: tf.Tensor1D | undefined): tf.Tensor1D {
  const g = tf.grad((input: tf.Tensor) => tf.sum(discriminate(input, labels)))(x);
  const axes = Array.from({ length: g.rank - 1 }, (_, i) => i + 1);
  return tf.sum(tf.square(g), axes) as tf.Tensor1D;
}

function weightOf(option: number | undefined, fallback: number): number {
  const w = option ?? fallback;
  if (!(Number.isFinite(w) && w >= 0)) throw new GANConfigError('weight', `must be a finite number ≥ 0, got ${w}`);
  return w;
}

/**
 * Adds the WGAN-GP gradient penalty (Gulrajani et al. 2017) to a loss's discriminator side:
 * λ·E[(‖∇D(x̂)‖₂ − 1)²] at x̂ = ε·x + (1 − ε)·G(z), ε ~ U[0, 1] per example. The gradient is taken
 * with `tf.grad` inside D's loss, so D's update differentiates through it (a second-order gradient).
 * The generator side is unchanged. Use it with a critic without batch normalisation (the penalty
 * assumes examples are independent); a conditional critic sees the real labels at x̂. The returned
 * loss is {@link Checkpointable}: the trainer's checkpoints keep the state of its ε generator, so a
 * resumed run draws the same ε as an uninterrupted one.
 *
 * It calls {@link installSecondOrderGradients} (zero gradients for tfjs-core's comparison kernels, so
 * the penalty can differentiate through LeakyReLU's gradient). Backends: all (the conformance suite
 * trains with it on cpu, wasm, webgl and webgpu).
 *
 * @example
 * ```ts
 * const trainer = new GANTrainer({ generator, discriminator, loss: stabilizers.withGradientPenalty('wasserstein'), discriminatorSteps: 5 });
 * ```
 * @throws {@link GANConfigError} for a negative weight; at training time when the context lacks the batches.
 */
export function withGradientPenalty(base: GANLoss | LossName, options: GradientPenaltyOptions = {}): GANLoss {
  const loss = resolveLoss(base);
  const weight = weightOf(options.weight, 10);
  installSecondOrderGradients();
  const target = options.target ?? 1;
  if (!Number.isFinite(target)) throw new GANConfigError('target', `must be a finite number, got ${target}`);
  const random = new Random(options.seed);
  const key = options.checkpointKey ?? 'gradientPenalty';
  const state = wrapperState(
    key,
    {
      save: () => ({ random: random.state }),
      prepare(data) {
        if (data === undefined) return () => {}; // a checkpoint without it: the ε draws go on from here
        const saved = savedRandomState(key, data.random);
        return () => {
          random.state = saved;
        };
      },
    },
    loss,
  );
  return {
    ...state,
    name: `${loss.name}+gp`,
    discriminator: (ctx) => {
      const value = loss.discriminator(ctx);
      if (weight === 0) return value;
      const { real, fake, discriminate } = needs(ctx, 'the gradient penalty');
      const n = real.shape[0] as number;
      const epsilon = tf.randomUniform([n, ...real.shape.slice(1).map(() => 1)], 0, 1, 'float32', random.nextSeed());
      const mixed = tf.add(tf.mul(epsilon, real), tf.mul(tf.sub(1, epsilon), fake));
      const norms = tf.sqrt(tf.add(squaredGradientNorms(discriminate, mixed, ctx.realLabels), 1e-12));
      const penalty = tf.mean(tf.square(tf.sub(norms, target)));
      return tf.add(value, tf.mul(penalty, weight)) as tf.Scalar;
    },
    generator: (ctx) => loss.generator(ctx),
  };
}

/**
 * Adds the R1 penalty (Mescheder et al. 2018) to a loss's discriminator side: γ/2 · E‖∇D(x)‖² on real
 * examples — a zero-centred gradient penalty that makes simultaneous gradient descent converge
 * locally. Needs no interpolation, so a conditional D gets the real labels. Backends as
 * {@link withGradientPenalty}. It has no state of its own; a {@link Checkpointable} base loss stays so.
 *
 * @example
 * ```ts
 * const loss = stabilizers.withR1Penalty(losses.nonSaturating(), { weight: 1 });
 * ```
 */
export function withR1Penalty(base: GANLoss | LossName, options: R1PenaltyOptions = {}): GANLoss {
  const loss = resolveLoss(base);
  const weight = weightOf(options.weight, 10);
  installSecondOrderGradients();
  return {
    ...wrapperState('r1', undefined, loss),
    name: `${loss.name}+r1`,
    discriminator: (ctx) => {
      const value = loss.discriminator(ctx);
      if (weight === 0) return value;
      const { real, discriminate } = needs(ctx, 'the R1 penalty');
      const penalty = tf.mean(squaredGradientNorms(discriminate, real, ctx.realLabels));
      return tf.add(value, tf.mul(penalty, weight / 2)) as tf.Scalar;
    },
    generator: (ctx) => loss.generator(ctx),
  };
}
