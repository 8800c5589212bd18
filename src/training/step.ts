import * as tf from '@tensorflow/tfjs-core';
import type { DiscriminatorLossContext, GANLoss, GeneratorLossContext } from '../losses/types';
import type { Discriminator, Generator } from '../models/types';

/** The models and objective one update works on. */
export interface GANParts {
  /** The generator G. */
  readonly generator: Generator;
  /** The discriminator (critic) D. */
  readonly discriminator: Discriminator;
  /** The objective. */
  readonly loss: GANLoss;
}

/** Arguments of {@link discriminatorStep}. */
export interface DiscriminatorStepArgs extends GANParts {
  /** The optimizer of D's variables. */
  readonly optimizer: tf.Optimizer;
  /** A batch of real examples, `[m, ...inputShape]`. */
  readonly real: tf.Tensor;
  /** A batch of latent vectors, `[m, latentDim]`. */
  readonly z: tf.Tensor2D;
}

/** Arguments of {@link generatorStep}. */
export interface GeneratorStepArgs extends GANParts {
  /** The optimizer of G's variables. */
  readonly optimizer: tf.Optimizer;
  /** A batch of latent vectors, `[m, latentDim]`. */
  readonly z: tf.Tensor2D;
}

const meanProbability = (logits: tf.Tensor): tf.Scalar => tf.mean(tf.sigmoid(logits));

/**
 * One discriminator update (the inner loop of Algorithm 1): descends D's loss
 * on a real batch and `G(z)`, moving **only** `discriminator.trainableVariables`.
 * Runs inside `tf.tidy`.
 *
 * @returns a new tensor `[dLoss, mean D(x), mean D(G(z))]` (probabilities); the caller disposes it.
 */
export function discriminatorStep(args: DiscriminatorStepArgs): tf.Tensor1D {
  const { generator, discriminator, loss, optimizer, real, z } = args;
  return tf.tidy(() => {
    // G(z) is computed outside the gradient tape: D's update needs no path into G.
    const fake = generator.apply(z, { training: true });
    const discriminate = (x: tf.Tensor): tf.Tensor => discriminator.apply(x, { training: true });
    let probabilities: tf.Tensor | undefined;
    const { value, grads } = tf.variableGrads(() => {
      const realLogits = discriminate(real);
      const fakeLogits = discriminate(fake);
      const context: DiscriminatorLossContext = { realLogits, fakeLogits, real, fake, discriminate };
      const value = loss.discriminator(context);
      probabilities = tf.keep(tf.stack([meanProbability(realLogits), meanProbability(fakeLogits)]));
      return value;
    }, discriminator.trainableVariables as tf.Variable[]);
    optimizer.applyGradients(grads);
    const stats = tf.concat([tf.reshape(value, [1]), probabilities as tf.Tensor]) as tf.Tensor1D;
    probabilities?.dispose();
    return stats;
  });
}

/**
 * One generator update: descends G's loss on `D(G(z))`, moving **only**
 * `generator.trainableVariables`. Runs inside `tf.tidy`.
 *
 * @returns a new scalar tensor holding the generator loss; the caller disposes it.
 */
export function generatorStep(args: GeneratorStepArgs): tf.Scalar {
  const { generator, discriminator, loss, optimizer, z } = args;
  return tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => {
      const fake = generator.apply(z, { training: true });
      const fakeLogits = discriminator.apply(fake, { training: true });
      const context: GeneratorLossContext = { fakeLogits, fake };
      return loss.generator(context);
    }, generator.trainableVariables as tf.Variable[]);
    optimizer.applyGradients(grads);
    return value;
  });
}
