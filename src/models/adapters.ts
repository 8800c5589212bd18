import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { formatShape, GANConfigError, ShapeMismatchError } from '../errors';
import type { Discriminator, ForwardOptions, Generator } from './types';

/** A {@link Generator} backed by a `tf.LayersModel`; `model` stays available for saving and export. */
export interface LayersGenerator extends Generator {
  /** The wrapped model. */
  readonly model: tfl.LayersModel;
}

/** A {@link Discriminator} backed by a `tf.LayersModel`. */
export interface LayersDiscriminator extends Discriminator {
  /** The wrapped model. */
  readonly model: tfl.LayersModel;
}

/** Options of {@link generatorFromLayersModel}. */
export interface GeneratorFromLayersModelOptions {
  /** The latent width you expect; a model whose input width differs is rejected. */
  readonly latentDim?: number;
}

function modelShapes(model: tfl.LayersModel, role: string): { input: number[]; output: number[] } {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new GANConfigError(
      role,
      `the model must have exactly one input and one output, got ${model.inputs.length} and ${model.outputs.length}`,
    );
  }
  const input = (model.inputs[0] as tfl.SymbolicTensor).shape.slice(1);
  const output = (model.outputs[0] as tfl.SymbolicTensor).shape.slice(1);
  const known = (s: (number | null)[]): s is number[] => s.every((d) => typeof d === 'number' && d > 0);
  if (!known(input) || !known(output)) {
    throw new GANConfigError(
      role,
      `the model's input and output shapes must be fully known, got input ${formatShape(input)} and output ${formatShape(output)}`,
    );
  }
  return { input, output };
}

/** @internal A LayersModel's trainable variables. */
export function trainableOf(model: tfl.LayersModel): tf.Variable[] {
  // LayerVariable.read() returns the underlying tf.Variable (what model.fit itself hands to its optimizer).
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

/** @internal All of a LayersModel's variables, trainable or not. */
export function stateOf(model: tfl.LayersModel): tf.Variable[] {
  return model.weights.map((w) => w.read() as tf.Variable);
}

/**
 * Adapts a `tf.LayersModel` (e.g. a `tf.sequential`) whose input is `[null, latentDim]`
 * into a {@link Generator}.
 *
 * @example
 * ```ts
 * const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [8], units: 1 })] });
 * const g = generatorFromLayersModel(model); // g.latentDim === 8, g.outputShape = [1]
 * ```
 * @throws {@link ShapeMismatchError} when `options.latentDim` differs from the model's input width.
 */
export function generatorFromLayersModel(model: tfl.LayersModel, options: GeneratorFromLayersModelOptions = {}): LayersGenerator {
  const { input, output } = modelShapes(model, 'generator');
  if (input.length !== 1) {
    throw new ShapeMismatchError('generator input (latent vectors)', '[*, latentDim]', formatShape([null, ...input]));
  }
  const latentDim = input[0] as number;
  if (options.latentDim !== undefined && options.latentDim !== latentDim) {
    throw new ShapeMismatchError('generator latent size', `[*, ${options.latentDim}]`, formatShape([null, latentDim]));
  }
  return {
    model,
    latentDim,
    outputShape: output,
    get trainableVariables() {
      return trainableOf(model);
    },
    get stateVariables() {
      return stateOf(model);
    },
    apply: (z: tf.Tensor2D, opts: ForwardOptions) => model.apply(z, { training: opts.training }) as tf.Tensor,
    dispose: () => model.dispose(),
  };
}

/**
 * Adapts a `tf.LayersModel` that outputs one logit per example (`[null, 1]`)
 * into a {@link Discriminator}.
 *
 * @throws {@link ShapeMismatchError} when the model's output is not `[*, 1]`.
 */
export function discriminatorFromLayersModel(model: tfl.LayersModel): LayersDiscriminator {
  const { input, output } = modelShapes(model, 'discriminator');
  if (output.length !== 1 || output[0] !== 1) {
    throw new ShapeMismatchError('discriminator output (one logit per example)', '[*, 1]', formatShape([null, ...output]));
  }
  return {
    model,
    inputShape: input,
    get trainableVariables() {
      return trainableOf(model);
    },
    get stateVariables() {
      return stateOf(model);
    },
    apply: (x: tf.Tensor, opts: ForwardOptions) => model.apply(x, { training: opts.training }) as tf.Tensor,
    dispose: () => model.dispose(),
  };
}

function assertShape(role: string, name: string, shape: readonly number[]): void {
  if (shape.length === 0 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new GANConfigError(`${role}.${name}`, `must be a non-empty list of positive integers, got ${formatShape(shape)}`);
  }
}

/** Arguments of {@link generatorFromFunction}. */
export interface FunctionGeneratorArgs {
  /** Width of the latent vectors. */
  readonly latentDim: number;
  /** Shape of one generated example. */
  readonly outputShape: readonly number[];
  /** The variables `fn` reads and the generator update moves. */
  readonly variables: readonly tf.Variable[];
  /** The forward pass: `[n, latentDim]` → `[n, ...outputShape]`. */
  readonly fn: (z: tf.Tensor2D, options: ForwardOptions) => tf.Tensor;
}

/**
 * Builds a {@link Generator} from a plain function over `tf.Variable`s.
 *
 * @example
 * ```ts
 * const w = tf.variable(tf.ones([1, 1]));
 * const b = tf.variable(tf.zeros([1]));
 * const g = generatorFromFunction({
 *   latentDim: 1, outputShape: [1], variables: [w, b],
 *   fn: (z) => tf.add(tf.matMul(z, w), b),
 * });
 * ```
 */
export function generatorFromFunction(args: FunctionGeneratorArgs): Generator {
  if (!Number.isInteger(args.latentDim) || args.latentDim < 1) {
    throw new GANConfigError('generator.latentDim', `must be a positive integer, got ${args.latentDim}`);
  }
  assertShape('generator', 'outputShape', args.outputShape);
  const variables = [...args.variables];
  return {
    latentDim: args.latentDim,
    outputShape: [...args.outputShape],
    trainableVariables: variables.filter((v) => v.trainable),
    stateVariables: variables,
    apply: args.fn,
    dispose: () => {
      for (const v of variables) v.dispose();
    },
  };
}

/** Arguments of {@link discriminatorFromFunction}. */
export interface FunctionDiscriminatorArgs {
  /** Shape of one example. */
  readonly inputShape: readonly number[];
  /** The variables `fn` reads and the discriminator update moves. */
  readonly variables: readonly tf.Variable[];
  /** The forward pass: `[n, ...inputShape]` → logits `[n, 1]` or `[n]`. */
  readonly fn: (x: tf.Tensor, options: ForwardOptions) => tf.Tensor;
}

/** Builds a {@link Discriminator} from a plain function over `tf.Variable`s. */
export function discriminatorFromFunction(args: FunctionDiscriminatorArgs): Discriminator {
  assertShape('discriminator', 'inputShape', args.inputShape);
  const variables = [...args.variables];
  return {
    inputShape: [...args.inputShape],
    trainableVariables: variables.filter((v) => v.trainable),
    stateVariables: variables,
    apply: args.fn,
    dispose: () => {
      for (const v of variables) v.dispose();
    },
  };
}
