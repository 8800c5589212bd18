import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { formatShape, GANConfigError, ShapeMismatchError } from '../errors';
import { stateOf, trainableOf } from '../models/adapters';
import type { ConditionalDiscriminator, ConditionalForwardOptions, ConditionalGenerator } from '../models/types';

/**
 * How a LayersModel receives the classes: `'one-hot'` — a float input `[n, numClasses]`;
 * `'index'` — a float input `[n, 1]` of class indices (for an `embedding` layer);
 * `'none'` — no label input (an ACGAN discriminator that predicts the class instead).
 */
export type LabelEncoding = 'one-hot' | 'index' | 'none';

/** Options of the conditional LayersModel adapters. */
export interface ConditionalLayersOptions {
  /** Number of classes. */
  readonly numClasses: number;
  /** How the model's second input encodes the classes. Default `'one-hot'`. */
  readonly labelEncoding?: LabelEncoding;
}

/** A {@link ConditionalGenerator} backed by a LayersModel with inputs `[z, labels]`. */
export interface LayersConditionalGenerator extends ConditionalGenerator {
  /** The wrapped model. */
  readonly model: tfl.LayersModel;
  /** How its label input is encoded (also the input an exported model expects). */
  readonly labelEncoding: LabelEncoding;
}

/** A {@link ConditionalDiscriminator} backed by a LayersModel with inputs `[x, labels]` (or `[x]`). */
export interface LayersConditionalDiscriminator extends ConditionalDiscriminator {
  /** The wrapped model. */
  readonly model: tfl.LayersModel;
  /** How its label input is encoded. */
  readonly labelEncoding: LabelEncoding;
}

/** Encodes int32 class indices as the model's label input expects. */
export function encodeLabels(labels: tf.Tensor1D, numClasses: number, encoding: LabelEncoding): tf.Tensor | undefined {
  if (encoding === 'none') return undefined;
  return encoding === 'one-hot'
    ? tf.cast(tf.oneHot(labels, numClasses), 'float32')
    : tf.cast(tf.reshape(labels, [-1, 1]), 'float32');
}

const shapeOf = (t: tfl.SymbolicTensor): (number | null)[] => t.shape.slice(1);
const known = (s: (number | null)[]): s is number[] => s.every((d) => typeof d === 'number' && d > 0);

function checkOptions(role: string, options: ConditionalLayersOptions): LabelEncoding {
  if (!Number.isInteger(options.numClasses) || options.numClasses < 2) {
    throw new GANConfigError(`${role}.numClasses`, `must be an integer ≥ 2, got ${options.numClasses}`);
  }
  return options.labelEncoding ?? 'one-hot';
}

function checkLabelInput(role: string, input: tfl.SymbolicTensor | undefined, numClasses: number, encoding: LabelEncoding): void {
  if (encoding === 'none') return;
  const expected = encoding === 'one-hot' ? [numClasses] : [1];
  const got = input === undefined ? undefined : shapeOf(input);
  if (got === undefined || got.length !== 1 || got[0] !== expected[0]) {
    throw new ShapeMismatchError(
      `${role} label input (${encoding})`,
      formatShape([null, ...expected]),
      got === undefined ? 'none' : formatShape([null, ...got]),
    );
  }
}

/**
 * Adapts a LayersModel with inputs `[z, labels]` into a {@link ConditionalGenerator}.
 * The exported model keeps these inputs: latent vectors `[n, latentDim]` and labels encoded
 * as `labelEncoding` says.
 */
export function conditionalGeneratorFromLayersModel(
  model: tfl.LayersModel,
  options: ConditionalLayersOptions,
): LayersConditionalGenerator {
  const encoding = checkOptions('generator', options);
  if (encoding === 'none')
    throw new GANConfigError('generator.labelEncoding', "a conditional generator needs its labels ('one-hot' or 'index')");
  if (model.inputs.length !== 2 || model.outputs.length !== 1) {
    throw new GANConfigError(
      'generator',
      `the model must have inputs [z, labels] and one output, got ${model.inputs.length} inputs and ${model.outputs.length} outputs`,
    );
  }
  const z = shapeOf(model.inputs[0] as tfl.SymbolicTensor);
  const out = shapeOf(model.outputs[0] as tfl.SymbolicTensor);
  if (z.length !== 1 || !known(z) || !known(out)) {
    throw new ShapeMismatchError(
      'generator inputs/outputs',
      '[*, latentDim] → fully known shape',
      `${formatShape([null, ...z])} → ${formatShape([null, ...out])}`,
    );
  }
  checkLabelInput('generator', model.inputs[1], options.numClasses, encoding);
  const numClasses = options.numClasses;
  return {
    model,
    labelEncoding: encoding,
    numClasses,
    latentDim: z[0] as number,
    outputShape: out,
    get trainableVariables() {
      return trainableOf(model);
    },
    get stateVariables() {
      return stateOf(model);
    },
    apply: (zz: tf.Tensor2D, o: ConditionalForwardOptions) =>
      tf.tidy(
        () => model.apply([zz, encodeLabels(o.labels, numClasses, encoding) as tf.Tensor], { training: o.training }) as tf.Tensor,
      ),
    dispose: () => model.dispose(),
  };
}

/**
 * Adapts a LayersModel with inputs `[x, labels]` (or `[x]` with `labelEncoding: 'none'`) and
 * outputs `logits [n, 1]` (or `[logits [n, 1], classLogits [n, numClasses]]` for ACGAN) into a
 * {@link ConditionalDiscriminator}.
 */
export function conditionalDiscriminatorFromLayersModel(
  model: tfl.LayersModel,
  options: ConditionalLayersOptions,
): LayersConditionalDiscriminator {
  const encoding = checkOptions('discriminator', options);
  const numClasses = options.numClasses;
  const wantInputs = encoding === 'none' ? 1 : 2;
  if (model.inputs.length !== wantInputs || model.outputs.length < 1 || model.outputs.length > 2) {
    throw new GANConfigError(
      'discriminator',
      `the model must have ${wantInputs === 2 ? 'inputs [x, labels]' : 'one input [x]'} and outputs [logits] or [logits, classLogits], got ${model.inputs.length} inputs and ${model.outputs.length} outputs`,
    );
  }
  const x = shapeOf(model.inputs[0] as tfl.SymbolicTensor);
  if (!known(x)) throw new ShapeMismatchError('discriminator input', 'a fully known shape', formatShape([null, ...x]));
  checkLabelInput('discriminator', model.inputs[1], numClasses, encoding);
  const logits = shapeOf(model.outputs[0] as tfl.SymbolicTensor);
  if (logits.length !== 1 || logits[0] !== 1) {
    throw new ShapeMismatchError('discriminator output (one logit per example)', '[*, 1]', formatShape([null, ...logits]));
  }
  const classes = model.outputs[1];
  if (classes !== undefined && (shapeOf(classes).length !== 1 || shapeOf(classes)[0] !== numClasses)) {
    throw new ShapeMismatchError(
      'discriminator class logits',
      formatShape([null, numClasses]),
      formatShape([null, ...shapeOf(classes)]),
    );
  }
  return {
    model,
    labelEncoding: encoding,
    numClasses,
    inputShape: x,
    get trainableVariables() {
      return trainableOf(model);
    },
    get stateVariables() {
      return stateOf(model);
    },
    apply: (xx: tf.Tensor, o: ConditionalForwardOptions) => {
      const encoded = encodeLabels(o.labels, numClasses, encoding);
      const out = model.apply(encoded === undefined ? xx : [xx, encoded], { training: o.training }) as tf.Tensor | tf.Tensor[];
      encoded?.dispose();
      if (!Array.isArray(out)) return out;
      return out.length === 2
        ? { logits: out[0] as tf.Tensor, classLogits: out[1] as tf.Tensor }
        : { logits: out[0] as tf.Tensor };
    },
    dispose: () => model.dispose(),
  };
}
