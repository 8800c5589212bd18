import * as tfl from '@tensorflow/tfjs-layers';
import type { Init, Sym } from '../models/presets';
import type { LabelEncoding } from './adapters';

/*
 * Conditioning strategies: small pieces of a functional-API model that bring the class in.
 * Each returns the new label input it created (or none), how that input is encoded, and the
 * conditioned tensor the rest of the network consumes.
 */

/** How a conditional generator combines z with the class y. */
export type GeneratorConditioning = 'concat' | 'embedding';

/**
 * How a conditional discriminator uses y: `'concat'` — one-hot labels joined to the input (as
 * extra channels for images); `'projection'` — the projection discriminator's inner product
 * (Miyato & Koyama 2018); `'none'` — D ignores y (an ACGAN discriminator predicts it instead).
 */
export type DiscriminatorConditioning = 'concat' | 'projection' | 'none';

/** A conditioned tensor and the label input that feeds it. */
export interface Conditioned {
  /** The new model input for the labels, if any. */
  readonly labelInput: Sym | undefined;
  /** How that input is encoded. */
  readonly encoding: LabelEncoding;
  /** The tensor the rest of the network consumes. */
  readonly output: Sym;
}

/** Glorot-uniform embeddings (seeded when the model is): unit-scale, so multiplying z by them keeps its scale. */
function embeddingInit(init: Init): { embeddingsInitializer: ReturnType<typeof tfl.initializers.glorotUniform> } {
  return { embeddingsInitializer: init().kernelInitializer ?? tfl.initializers.glorotUniform({}) };
}

const through = (layer: tfl.layers.Layer, x: Sym | Sym[]): Sym => layer.apply(x) as Sym;

/**
 * Conditions the latent vector: `'concat'` joins one-hot y to z (Mirza & Osindero 2014);
 * `'embedding'` multiplies z by a learned embedding of y (as in the tfjs mnist-acgan example).
 */
export function conditionLatent(z: Sym, numClasses: number, strategy: GeneratorConditioning, init: Init): Conditioned {
  if (strategy === 'concat') {
    const y = tfl.input({ shape: [numClasses] });
    return { labelInput: y, encoding: 'one-hot', output: through(tfl.layers.concatenate(), [z, y]) };
  }
  const latentDim = z.shape[1] as number;
  const y = tfl.input({ shape: [1] });
  const embedded = through(
    tfl.layers.flatten(),
    through(tfl.layers.embedding({ inputDim: numClasses, outputDim: latentDim, ...embeddingInit(init) }), y),
  );
  return { labelInput: y, encoding: 'index', output: through(tfl.layers.multiply(), [z, embedded]) };
}

/**
 * Conditions a discriminator's input with `'concat'`: flat inputs get one-hot y appended;
 * images `[h, w, c]` get y broadcast over the pixels as `numClasses` extra channels.
 * `'projection'` and `'none'` leave the input as it is (see {@link projectionLogit}).
 */
export function conditionInput(x: Sym, numClasses: number, strategy: DiscriminatorConditioning): Conditioned {
  if (strategy !== 'concat') return { labelInput: undefined, encoding: strategy === 'projection' ? 'index' : 'none', output: x };
  const y = tfl.input({ shape: [numClasses] });
  if (x.shape.length === 4) {
    const [h, w] = [x.shape[1] as number, x.shape[2] as number];
    const planes = through(
      tfl.layers.upSampling2d({ size: [h, w] }),
      through(tfl.layers.reshape({ targetShape: [1, 1, numClasses] }), y),
    );
    return { labelInput: y, encoding: 'one-hot', output: through(tfl.layers.concatenate({ axis: -1 }), [x, planes]) };
  }
  const flat = x.shape.length > 2 ? through(tfl.layers.flatten(), x) : x;
  return { labelInput: y, encoding: 'one-hot', output: through(tfl.layers.concatenate(), [flat, y]) };
}

/**
 * The projection discriminator's output (Miyato & Koyama 2018): ψ(φ(x)) + ⟨embed(y), φ(x)⟩,
 * with a new index label input.
 */
export function projectionLogit(features: Sym, numClasses: number, init: Init): { labelInput: Sym; logit: Sym } {
  const width = features.shape[1] as number;
  const y = tfl.input({ shape: [1] });
  const embedded = through(
    tfl.layers.flatten(),
    through(tfl.layers.embedding({ inputDim: numClasses, outputDim: width, ...embeddingInit(init) }), y),
  );
  const projection = through(tfl.layers.dot({ axes: 1 }), [embedded, features]);
  const psi = through(tfl.layers.dense({ units: 1, ...init() }), features);
  return { labelInput: y, logit: through(tfl.layers.add(), [psi, projection]) };
}

/** An auxiliary classifier head (ACGAN): class logits from D's features. */
export function classifierHead(features: Sym, numClasses: number, init: Init): Sym {
  return through(tfl.layers.dense({ units: numClasses, ...init() }), features);
}
