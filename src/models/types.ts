import type * as tf from '@tensorflow/tfjs-core';

/** Options passed to every forward pass. */
export interface ForwardOptions {
  /** `true` inside a training update (batch-norm uses batch statistics, dropout is active). */
  readonly training: boolean;
}

/**
 * A generator G: maps latent vectors `z` (shape `[n, latentDim]`) to examples
 * (shape `[n, ...outputShape]`). Any object with these members works; use
 * {@link generatorFromLayersModel} or {@link generatorFromFunction} to adapt
 * an existing model.
 */
export interface Generator {
  /** Width of the latent vectors G consumes. */
  readonly latentDim: number;
  /** Shape of one generated example, without the batch dimension. */
  readonly outputShape: readonly number[];
  /** The variables the generator update may move — and the only ones it moves. */
  readonly trainableVariables: readonly tf.Variable[];
  /**
   * Every variable that makes up G's state — trainable or not (e.g. batch-norm
   * moving statistics) — for checkpoints. Defaults to `trainableVariables`.
   */
  readonly stateVariables?: readonly tf.Variable[];
  /** Runs G on a batch of latent vectors. Called inside `tf.tidy`. */
  apply(z: tf.Tensor2D, options: ForwardOptions): tf.Tensor;
  /** Releases the model's variables. */
  dispose?(): void;
}

/**
 * A discriminator (critic) D: maps examples (shape `[n, ...inputShape]`) to one
 * **logit** per example (shape `[n, 1]` or `[n]`) — not a probability; the
 * losses apply the sigmoid themselves in a numerically stable form.
 */
export interface Discriminator {
  /** Shape of one example, without the batch dimension. */
  readonly inputShape: readonly number[];
  /** The variables the discriminator update may move — and the only ones it moves. */
  readonly trainableVariables: readonly tf.Variable[];
  /** Every variable of D's state, trainable or not, for checkpoints. Defaults to `trainableVariables`. */
  readonly stateVariables?: readonly tf.Variable[];
  /** Runs D on a batch of examples and returns logits. Called inside `tf.tidy`. */
  apply(x: tf.Tensor, options: ForwardOptions): tf.Tensor;
  /** Releases the model's variables. */
  dispose?(): void;
}
