import * as tf from '@tensorflow/tfjs-core';
import { meanProbabilities } from '../backends/webgpu-losses';
import { GANConfigError } from '../errors';
import type { DiscriminatorLossContext, GANLoss, GeneratorLossContext } from '../losses/types';
import type { AnyDiscriminator, AnyGenerator, DiscriminatorOutput } from '../models/types';
import { type ApplyUpdateOptions, canFuseAdam, fusedAdamUpdate } from '../optim/adam';

/** The models and objective one update works on. */
export interface GANParts {
  /** The generator G (conditional or not). */
  readonly generator: AnyGenerator;
  /** The discriminator (critic) D (conditional or not). */
  readonly discriminator: AnyDiscriminator;
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
  /** Conditional models: the real batch's classes, int32 `[m]`. */
  readonly realLabels?: tf.Tensor1D;
  /** Conditional models: the classes G generates for, int32 `[m]`. */
  readonly fakeLabels?: tf.Tensor1D;
}

/** Arguments of {@link generatorStep}. */
export interface GeneratorStepArgs extends GANParts {
  /** The optimizer of G's variables. */
  readonly optimizer: tf.Optimizer;
  /** A batch of latent vectors, `[m, latentDim]`. */
  readonly z: tf.Tensor2D;
  /** Conditional models: the classes G generates for, int32 `[m]`. */
  readonly fakeLabels?: tf.Tensor1D;
}

/** Runs G, passing labels only to a conditional generator. */
export function runGenerator(
  generator: AnyGenerator,
  z: tf.Tensor2D,
  training: boolean,
  labels: tf.Tensor1D | undefined,
): tf.Tensor {
  if (generator.numClasses === undefined) return generator.apply(z, { training });
  if (labels === undefined) throw new GANConfigError('labels', 'the conditional generator needs labels');
  return generator.apply(z, { training, labels });
}

/** Runs D, passing labels only to a conditional discriminator, and normalises its output. */
export function runDiscriminator(
  discriminator: AnyDiscriminator,
  x: tf.Tensor,
  training: boolean,
  labels: tf.Tensor1D | undefined,
): DiscriminatorOutput {
  if (discriminator.numClasses === undefined) return { logits: discriminator.apply(x, { training }) };
  if (labels === undefined) throw new GANConfigError('labels', 'the conditional discriminator needs labels');
  const out = discriminator.apply(x, { training, labels });
  return out instanceof tf.Tensor ? { logits: out } : out;
}

/** Gradients of one update, not yet applied, with the numbers it reports. The caller disposes both. */
export interface UpdateGradients {
  /** Gradients keyed by variable name, in `trainableVariables` order. */
  readonly grads: tf.NamedTensorMap;
  /** D update: `[loss, mean D(x), mean D(G(z))]`; G update: `[loss]`. */
  readonly stats: tf.Tensor1D;
}

/** The parts of tfjs-core's engine state a failed gradient computation leaves behind (tfjs 4.x). */
interface TapeState {
  gradientDepth: number;
  activeTape: { saved?: tf.Tensor[] }[] | null;
}

/**
 * `tf.variableGrads`, except that when `f` (a model or a loss) or the backward pass throws, the
 * tensors tfjs-core kept for the backward pass are released: tfjs-core disposes them only after a
 * backward pass that succeeded, so every failed outermost gradient computation leaked them (a step
 * whose loss throws: dozens of tensors).
 */
function variableGrads(f: () => tf.Scalar, varList: tf.Variable[]): { value: tf.Scalar; grads: tf.NamedTensorMap } {
  try {
    return tf.variableGrads(f, varList);
  } catch (e) {
    const state = (tf.engine() as unknown as { state: TapeState }).state;
    if (state.gradientDepth === 0 && state.activeTape != null) {
      for (const node of state.activeTape) tf.dispose(node.saved ?? []);
      state.activeTape = null;
    }
    throw e;
  }
}

/**
 * The gradients of D's loss on a real batch and `G(z)` with respect to
 * `discriminator.trainableVariables` only (nothing is applied).
 */
export function discriminatorGradients(args: Omit<DiscriminatorStepArgs, 'optimizer'>): UpdateGradients {
  const { generator, discriminator, loss, real, z, realLabels, fakeLabels } = args;
  return tf.tidy(() => {
    // G(z) is computed outside the gradient tape: D's update needs no path into G.
    const fake = runGenerator(generator, z, true, fakeLabels);
    let probabilities: tf.Tensor | undefined;
    const { value, grads } = variableGrads(() => {
      const r = runDiscriminator(discriminator, real, true, realLabels);
      const f = runDiscriminator(discriminator, fake, true, fakeLabels);
      const realLogits = r.logits;
      const fakeLogits = f.logits;
      const context: DiscriminatorLossContext = {
        realLogits,
        fakeLogits,
        real,
        fake,
        discriminate: (x: tf.Tensor, labels?: tf.Tensor1D) =>
          runDiscriminator(discriminator, x, true, labels ?? realLabels).logits,
        ...(realLabels === undefined ? {} : { realLabels }),
        ...(fakeLabels === undefined ? {} : { fakeLabels }),
        ...(r.classLogits === undefined ? {} : { realClassLogits: r.classLogits }),
        ...(f.classLogits === undefined ? {} : { fakeClassLogits: f.classLogits }),
      };
      const lossValue = loss.discriminator(context);
      probabilities = tf.keep(meanProbabilities(realLogits, fakeLogits));
      return lossValue;
    }, discriminator.trainableVariables as tf.Variable[]);
    const stats = tf.concat([tf.reshape(value, [1]), probabilities as tf.Tensor]) as tf.Tensor1D;
    probabilities?.dispose();
    return { grads, stats };
  });
}

/**
 * The gradients of G's loss on `D(G(z))` with respect to
 * `generator.trainableVariables` only (nothing is applied).
 */
export function generatorGradients(args: Omit<GeneratorStepArgs, 'optimizer'>): UpdateGradients {
  const { generator, discriminator, loss, z, fakeLabels } = args;
  return tf.tidy(() => {
    const { value, grads } = variableGrads(() => {
      const fake = runGenerator(generator, z, true, fakeLabels);
      const f = runDiscriminator(discriminator, fake, true, fakeLabels);
      const context: GeneratorLossContext = {
        fakeLogits: f.logits,
        fake,
        ...(fakeLabels === undefined ? {} : { fakeLabels }),
        ...(f.classLogits === undefined ? {} : { fakeClassLogits: f.classLogits }),
      };
      return loss.generator(context);
    }, generator.trainableVariables as tf.Variable[]);
    return { grads, stats: tf.reshape(value, [1]) as tf.Tensor1D };
  });
}

/**
 * Whether the loss and every gradient of `update` are finite (no NaN, no ±Infinity), read back.
 * Exactly {@link allFinite}'s answer, computed cheaply: a sum is finite only if every one of its
 * terms is (a NaN or an infinity stays non-finite whatever is added to it), so one `sum` per tensor
 * — a single pass, no full-size boolean tensor — settles the common case; only when a sum is not
 * finite (a non-finite element, or finite values whose sum overflows) does the exact per-element
 * check run. On `webgpu`, where every kernel is a dispatch that costs the CPU about 0.1 ms, the
 * tensors are concatenated and summed once instead (a few kernels instead of one per tensor; on
 * `cpu` and `wasm` the copy costs more than it saves).
 */
export async function isUpdateFinite(update: UpdateGradients): Promise<boolean> {
  const tensors = [update.stats, ...Object.values(update.grads)];
  const quick = tf.tidy(() =>
    tf.getBackend() === 'webgpu'
      ? tf.isFinite(tf.sum(tf.concat(tensors.map((t) => tf.reshape(t, [-1])))))
      : tf.all(tf.isFinite(tf.stack(tensors.map((t) => tf.sum(t))))),
  );
  const [sumsFinite] = await quick.data();
  quick.dispose();
  if (sumsFinite) return true;
  const exact = allFinite(update);
  const [ok] = await exact.data();
  exact.dispose();
  return Boolean(ok);
}

/** A scalar boolean tensor: are the loss and every gradient finite? */
export function allFinite(update: UpdateGradients): tf.Scalar {
  return tf.tidy(() => {
    const checks = [update.stats, ...Object.values(update.grads)].map((t) => tf.all(tf.isFinite(t)));
    return tf.all(tf.stack(checks)) as tf.Scalar;
  });
}

/** Applies the gradients of an update with `optimizer` and disposes them (`stats` stays the caller's). */
export function applyUpdate(optimizer: tf.Optimizer, update: UpdateGradients, options: ApplyUpdateOptions = {}): void {
  try {
    if (options.fusedAdam === true && canFuseAdam(optimizer)) fusedAdamUpdate(optimizer, update.grads);
    else optimizer.applyGradients(update.grads);
  } finally {
    tf.dispose(Object.values(update.grads));
  }
}

/**
 * One discriminator update (the inner loop of Algorithm 1): descends D's loss
 * on a real batch and `G(z)`, moving **only** `discriminator.trainableVariables`.
 *
 * @returns a new tensor `[dLoss, mean D(x), mean D(G(z))]` (probabilities); the caller disposes it.
 */
export function discriminatorStep(args: DiscriminatorStepArgs): tf.Tensor1D {
  const update = discriminatorGradients(args);
  applyUpdate(args.optimizer, update);
  return update.stats;
}

/**
 * One generator update: descends G's loss on `D(G(z))`, moving **only**
 * `generator.trainableVariables`.
 *
 * @returns a new scalar tensor holding the generator loss; the caller disposes it.
 */
export function generatorStep(args: GeneratorStepArgs): tf.Scalar {
  const update = generatorGradients(args);
  applyUpdate(args.optimizer, update);
  const value = tf.reshape(update.stats, []) as tf.Scalar;
  update.stats.dispose();
  return value;
}
