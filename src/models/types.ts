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
  /** Unconditional generators have no classes (this keeps a conditional generator from passing as one). */
  readonly numClasses?: undefined;
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
  /** Unconditional discriminators have no classes. */
  readonly numClasses?: undefined;
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

/** Forward options of conditional models: the class of every example. */
export interface ConditionalForwardOptions extends ForwardOptions {
  /** Class indices, int32 `[n]`, each in `[0, numClasses)`. */
  readonly labels: tf.Tensor1D;
}

/**
 * A conditional generator G(z | y) (Mirza & Osindero 2014): like {@link Generator},
 * but every forward pass also receives the class of each example.
 */
export interface ConditionalGenerator {
  /** Number of classes y ranges over. */
  readonly numClasses: number;
  /** Width of the latent vectors. */
  readonly latentDim: number;
  /** Shape of one generated example. */
  readonly outputShape: readonly number[];
  /** The variables the generator update moves. */
  readonly trainableVariables: readonly tf.Variable[];
  /** Every state variable (trainable or not), for checkpoints. */
  readonly stateVariables?: readonly tf.Variable[];
  /** Runs G on latent vectors and their classes. */
  apply(z: tf.Tensor2D, options: ConditionalForwardOptions): tf.Tensor;
  /** Releases the model's variables. */
  dispose?(): void;
}

/** What a discriminator may return: logits alone, or logits and class logits (ACGAN). */
export interface DiscriminatorOutput {
  /** Realness logits, `[n, 1]` or `[n]`. */
  readonly logits: tf.Tensor;
  /** Class logits `[n, numClasses]` of an auxiliary classifier (ACGAN, Odena et al. 2017). */
  readonly classLogits?: tf.Tensor;
}

/**
 * A conditional discriminator D(x | y). It may ignore the labels and predict the class
 * instead (an ACGAN discriminator returning {@link DiscriminatorOutput.classLogits}).
 */
export interface ConditionalDiscriminator {
  /** Number of classes. */
  readonly numClasses: number;
  /** Shape of one example. */
  readonly inputShape: readonly number[];
  /** The variables the discriminator update moves. */
  readonly trainableVariables: readonly tf.Variable[];
  /** Every state variable (trainable or not), for checkpoints. */
  readonly stateVariables?: readonly tf.Variable[];
  /** Runs D on examples and their classes. */
  apply(x: tf.Tensor, options: ConditionalForwardOptions): tf.Tensor | DiscriminatorOutput;
  /** Releases the model's variables. */
  dispose?(): void;
}

/** Any generator the trainer accepts. */
export type AnyGenerator = Generator | ConditionalGenerator;
/** Any discriminator the trainer accepts. */
export type AnyDiscriminator = Discriminator | ConditionalDiscriminator;

/** The discriminator type that pairs with a generator type. */
export type DiscriminatorFor<G extends AnyGenerator> = G extends ConditionalGenerator ? ConditionalDiscriminator : Discriminator;
