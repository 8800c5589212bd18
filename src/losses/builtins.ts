import * as tf from '@tensorflow/tfjs-core';
import { bceMean } from '../backends/webgpu-losses';
import { GANConfigError } from '../errors';
import type { DiscriminatorLossContext, GANLoss, GeneratorLossContext } from './types';

/*
 * All losses take logits l. With D = sigmoid(l):
 *   −log D       = softplus(−l)
 *   −log(1 − D)  = softplus(l)
 * which is exact and finite for any finite l, unlike log(sigmoid(l)).
 */

/** Options of the cross-entropy losses ({@link minimax}, {@link nonSaturating}). */
export interface CrossEntropyLossOptions {
  /**
   * One-sided label smoothing (Salimans et al. 2016): real examples are
   * labelled `1 − labelSmoothing` in the discriminator loss. Default 0.
   */
  readonly labelSmoothing?: number;
}

function smoothing(options: CrossEntropyLossOptions): number {
  const s = options.labelSmoothing ?? 0;
  if (!(s >= 0 && s < 1)) throw new GANConfigError('labelSmoothing', `must be in [0, 1), got ${s}`);
  return s;
}

/**
 * Mean binary cross-entropy of logits against a constant target t: softplus(l) − t·l (softplus(−l)
 * for t = 1). On webgpu with the tune-up's `losses` part, one dispatch each way (the same operations).
 */
function bceWithLogits(logits: tf.Tensor, target: number): tf.Scalar {
  return bceMean(logits, target);
}

/** −E[log D(x)] − E[log(1 − D(G(z)))], the discriminator side of the paper's value function. */
function crossEntropyDiscriminator(realLabel: number) {
  return ({ realLogits, fakeLogits }: DiscriminatorLossContext): tf.Scalar =>
    tf.add(bceWithLogits(realLogits, realLabel), bceWithLogits(fakeLogits, 0));
}

/**
 * The paper's minimax game (Goodfellow et al. 2014, eq. 1) with the **saturating**
 * generator loss. D minimises −E[log D(x)] − E[log(1 − D(G(z)))]; G minimises
 * E[log(1 − D(G(z)))] = −E[softplus(l_fake)]. Its gradient vanishes when D
 * confidently rejects the samples — the reason {@link nonSaturating} exists.
 */
export function minimax(options: CrossEntropyLossOptions = {}): GANLoss {
  const realLabel = 1 - smoothing(options);
  return {
    name: 'minimax',
    discriminator: crossEntropyDiscriminator(realLabel),
    generator: ({ fakeLogits }: GeneratorLossContext) => tf.neg(tf.mean(tf.softplus(fakeLogits))) as tf.Scalar,
  };
}

/**
 * The paper's practical variant: the same discriminator loss, while G maximises
 * log D(G(z)), i.e. minimises −E[log D(G(z))] = E[softplus(−l_fake)].
 */
export function nonSaturating(options: CrossEntropyLossOptions = {}): GANLoss {
  const realLabel = 1 - smoothing(options);
  return {
    name: 'non-saturating',
    discriminator: crossEntropyDiscriminator(realLabel),
    generator: ({ fakeLogits }: GeneratorLossContext) => bceWithLogits(fakeLogits, 1),
  };
}

/** Options of {@link leastSquares}: the a–b–c targets of Mao et al. 2017. */
export interface LeastSquaresLossOptions {
  /** Target for fake outputs in D's loss (a). Default 0. */
  readonly fakeTarget?: number;
  /** Target for real outputs in D's loss (b). Default 1. */
  readonly realTarget?: number;
  /** The value G wants D to output for fakes (c). Default 1. */
  readonly generatorTarget?: number;
}

/**
 * Least-squares GAN (Mao et al. 2017) on the raw discriminator outputs:
 * D minimises ½E[(D(x) − b)²] + ½E[(D(G(z)) − a)²]; G minimises ½E[(D(G(z)) − c)²].
 */
export function leastSquares(options: LeastSquaresLossOptions = {}): GANLoss {
  const a = options.fakeTarget ?? 0;
  const b = options.realTarget ?? 1;
  const c = options.generatorTarget ?? 1;
  for (const [k, v] of Object.entries({ fakeTarget: a, realTarget: b, generatorTarget: c })) {
    if (!Number.isFinite(v)) throw new GANConfigError(k, `must be a finite number, got ${v}`);
  }
  const half = (x: tf.Tensor, t: number): tf.Scalar => tf.mul(tf.mean(tf.square(tf.sub(x, t))), 0.5);
  return {
    name: 'least-squares',
    discriminator: ({ realLogits, fakeLogits }) => tf.add(half(realLogits, b), half(fakeLogits, a)),
    generator: ({ fakeLogits }) => half(fakeLogits, c),
  };
}

/**
 * Wasserstein GAN (Arjovsky et al. 2017): the critic minimises E[D(G(z))] − E[D(x)],
 * G minimises −E[D(G(z))]. Needs a Lipschitz constraint on the critic — weight
 * clipping or a gradient penalty — to be meaningful.
 */
export function wasserstein(): GANLoss {
  return {
    name: 'wasserstein',
    discriminator: ({ realLogits, fakeLogits }) => tf.sub(tf.mean(fakeLogits), tf.mean(realLogits)) as tf.Scalar,
    generator: ({ fakeLogits }) => tf.neg(tf.mean(fakeLogits)) as tf.Scalar,
  };
}

/**
 * Hinge loss (Lim & Ye 2017; Miyato et al. 2018): D minimises
 * E[relu(1 − D(x))] + E[relu(1 + D(G(z)))], G minimises −E[D(G(z))].
 */
export function hinge(): GANLoss {
  return {
    name: 'hinge',
    discriminator: ({ realLogits, fakeLogits }) =>
      tf.add(tf.mean(tf.relu(tf.sub(1, realLogits))), tf.mean(tf.relu(tf.add(1, fakeLogits)))) as tf.Scalar,
    generator: ({ fakeLogits }) => tf.neg(tf.mean(fakeLogits)) as tf.Scalar,
  };
}

/** Names accepted wherever a loss can be given by name. */
export type LossName = 'minimax' | 'non-saturating' | 'least-squares' | 'wasserstein' | 'hinge';

const byName: Readonly<Record<LossName, () => GANLoss>> = {
  minimax: () => minimax(),
  'non-saturating': () => nonSaturating(),
  'least-squares': () => leastSquares(),
  wasserstein: () => wasserstein(),
  hinge: () => hinge(),
};

/** Names of the built-in losses. */
export const lossNames: readonly LossName[] = Object.keys(byName) as LossName[];

/**
 * Returns `loss` itself, or the built-in named by it (with default options).
 *
 * @throws {@link GANConfigError} for an unknown name.
 */
export function resolveLoss(loss: GANLoss | LossName): GANLoss {
  if (typeof loss !== 'string') return loss;
  const make = Object.hasOwn(byName, loss) ? byName[loss] : undefined;
  if (make === undefined) {
    throw new GANConfigError(
      'loss',
      `unknown loss "${String(loss)}"; expected one of ${lossNames.join(', ')} or a GANLoss object`,
    );
  }
  return make();
}
