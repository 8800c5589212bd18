import type * as tf from '@tensorflow/tfjs-core';

/**
 * What a discriminator loss may read. The trainer fills every field; when you
 * call a loss by hand, the logits are enough for every built-in.
 */
export interface DiscriminatorLossContext {
  /** D's logits on a batch of real examples, `[n, 1]` or `[n]`. */
  readonly realLogits: tf.Tensor;
  /** D's logits on a batch of generated examples. */
  readonly fakeLogits: tf.Tensor;
  /** The real batch (for penalties that need inputs, e.g. gradient penalties). */
  readonly real?: tf.Tensor;
  /** The generated batch. */
  readonly fake?: tf.Tensor;
  /** D's forward pass in training mode, returning logits (for penalties that re-evaluate D); conditional D's get the real labels unless others are given. */
  readonly discriminate?: (x: tf.Tensor, labels?: tf.Tensor1D) => tf.Tensor;
  /** Conditional training: the real batch's classes (int32 `[n]`). */
  readonly realLabels?: tf.Tensor1D;
  /** Conditional training: the classes the fakes were generated for. */
  readonly fakeLabels?: tf.Tensor1D;
  /** ACGAN: D's class logits `[n, numClasses]` on the real batch. */
  readonly realClassLogits?: tf.Tensor;
  /** ACGAN: D's class logits on the generated batch. */
  readonly fakeClassLogits?: tf.Tensor;
}

/** What a generator loss may read. */
export interface GeneratorLossContext {
  /** D's logits on a batch of generated examples. */
  readonly fakeLogits: tf.Tensor;
  /** D's logits on a real batch, when the trainer computes them (relativistic losses); built-ins ignore it. */
  readonly realLogits?: tf.Tensor;
  /** The generated batch. */
  readonly fake?: tf.Tensor;
  /** Conditional training: the classes the fakes were generated for. */
  readonly fakeLabels?: tf.Tensor1D;
  /** ACGAN: D's class logits on the generated batch. */
  readonly fakeClassLogits?: tf.Tensor;
}

/**
 * A GAN objective as a pair of pure functions, each returning a scalar to
 * **minimise**. Any object of this shape plugs into the trainer.
 *
 * @example
 * ```ts
 * const mine: GANLoss = {
 *   name: 'my-loss',
 *   discriminator: ({ realLogits, fakeLogits }) => tf.sub(tf.mean(fakeLogits), tf.mean(realLogits)),
 *   generator: ({ fakeLogits }) => tf.neg(tf.mean(fakeLogits)),
 * };
 * ```
 */
export interface GANLoss {
  /** A short identifier, used in logs and checkpoints. */
  readonly name: string;
  /** The discriminator's (critic's) loss. */
  discriminator(context: DiscriminatorLossContext): tf.Scalar;
  /** The generator's loss. */
  generator(context: GeneratorLossContext): tf.Scalar;
}
