import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { CheckpointError, DataError, GANConfigError, ShapeMismatchError } from '../errors';
import { parseJsonData } from '../io/safe-json';
import { positiveInteger } from './util';

/** Something that maps a batch of examples to class scores `[n, numClasses]` (logits or probabilities). */
export type Classifier = ((x: tf.Tensor) => tf.Tensor) | PredictingModel;

/** A model with a `predict` method, such as a `tf.LayersModel`. */
export interface PredictingModel {
  /** Class scores `[n, numClasses]` (the first output, when there are several). */
  predict(x: tf.Tensor): tf.Tensor | tf.Tensor[];
}

/** Options of {@link conditionalAccuracy}. */
export interface ConditionalAccuracyOptions {
  /** Examples per classifier call. Default 500. */
  readonly batchSize?: number;
}

/** The result of {@link conditionalAccuracy}. */
export interface ConditionalAccuracy {
  /** Share (0…1) of the samples whose predicted class is the label they were generated for. */
  readonly accuracy: number;
  /** The same share per class (`NaN` for a class with no samples). */
  readonly perClass: number[];
  /** How many samples each class had. */
  readonly counts: number[];
}

function scores(classifier: Classifier, x: tf.Tensor): tf.Tensor {
  if (typeof classifier === 'function') return classifier(x);
  const out = classifier.predict(x);
  return Array.isArray(out) ? (out[0] as tf.Tensor) : out;
}

/**
 * Conditional accuracy of a conditional generator's samples: the share that a classifier assigns to
 * the label each was generated for (as the CGAN/ACGAN literature reports it).
 *
 * @example
 * ```ts
 * const labels = Array.from({ length: 1000 }, (_, i) => i % 10);
 * const images = tf.tidy(() => tf.div(tf.add(cgan.sample(1000, labels), 1), 2)); // to [0, 1]
 * const { accuracy } = await metrics.conditionalAccuracy(classifier, images, labels);
 * ```
 * @throws {@link ShapeMismatchError} when the labels' count differs from the samples'.
 */
export async function conditionalAccuracy(
  classifier: Classifier,
  samples: tf.Tensor,
  labels: tf.Tensor1D | ArrayLike<number>,
  options: ConditionalAccuracyOptions = {},
): Promise<ConditionalAccuracy> {
  const batchSize = options.batchSize ?? 500;
  positiveInteger('batchSize', batchSize);
  const n = samples.shape[0] as number;
  if (n === 0) throw new DataError('conditionalAccuracy: no samples');
  const wanted = labels instanceof tf.Tensor ? await labels.data() : labels;
  if (wanted.length !== n) throw new ShapeMismatchError('labels', `[${n}]`, `[${wanted.length}]`);
  const predicted = new Int32Array(n);
  let numClasses = 0;
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    const arg = tf.tidy(() => {
      const s = scores(classifier, tf.slice(samples, start, size));
      if (s.rank !== 2 || s.shape[0] !== size)
        throw new ShapeMismatchError('classifier output', `[${size}, classes]`, `[${s.shape}]`);
      numClasses = s.shape[1] as number;
      return tf.argMax(s, 1);
    });
    predicted.set(await arg.data(), start);
    arg.dispose();
  }
  const right = new Array<number>(numClasses).fill(0);
  const counts = new Array<number>(numClasses).fill(0);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const y = wanted[i] as number;
    if (!Number.isInteger(y) || y < 0 || y >= numClasses) {
      throw new GANConfigError('labels', `label ${y} at ${i} is not a class index in [0, ${numClasses})`);
    }
    counts[y] = (counts[y] as number) + 1;
    if (predicted[i] === y) {
      right[y] = (right[y] as number) + 1;
      total++;
    }
  }
  return { accuracy: total / n, perClass: right.map((r, c) => r / (counts[c] as number)), counts };
}

/** A loaded MNIST classifier: class probabilities and the penultimate-layer features. */
export interface MnistClassifier {
  /** The underlying LayersModel (input `[n, 784]`, output probabilities `[n, 10]`). */
  readonly model: tfl.LayersModel;
  /** Class probabilities `[n, 10]` for digits `[n, 784]` (or `[n, 28, 28, 1]`) with pixels in [0, 1]. */
  predict(x: tf.Tensor): tf.Tensor2D;
  /** The penultimate layer's activations `[n, k]`: the features for {@link frechetDistance} and KID. */
  features(x: tf.Tensor): tf.Tensor2D;
  /** Releases the model's weights. */
  dispose(): void;
}

const importNode = <T>(specifier: string): Promise<T> =>
  import(/* webpackIgnore: true */ /* @vite-ignore */ specifier) as Promise<T>;

/** A load-only handler for `file://…/model.json` in Node (tfjs-core has none without tfjs-node). */
function fileModelHandler(url: string): tf.io.IOHandler {
  return {
    async load() {
      if (typeof process === 'undefined' || process.versions?.node === undefined) {
        throw new CheckpointError('file:// paths need Node.js; in a browser pass an http(s) URL');
      }
      const fs = await importNode<typeof import('node:fs/promises')>('node:fs/promises');
      const path = await importNode<typeof import('node:path')>('node:path');
      const file = url.replace(/^file:\/\//, '');
      const json = parseJsonData(await fs.readFile(file, 'utf8')) as {
        modelTopology?: object;
        weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
      };
      if (json.modelTopology === undefined || !Array.isArray(json.weightsManifest)) {
        throw new CheckpointError(`${file} is not a LayersModel model.json`);
      }
      const specs: tf.io.WeightsManifestEntry[] = [];
      const buffers: ArrayBuffer[] = [];
      for (const group of json.weightsManifest) {
        specs.push(...group.weights);
        for (const p of group.paths) {
          const b = await fs.readFile(path.join(path.dirname(file), p));
          buffers.push(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
        }
      }
      return { modelTopology: json.modelTopology, weightSpecs: specs, weightData: tf.io.concatenateArrayBuffers(buffers) };
    },
  };
}

/**
 * Loads a classifier saved as a LayersModel (such as the repository's `assets/mnist-classifier/model.json`,
 * made by `scripts/train-mnist-classifier.ts`) and exposes its probabilities and the features of its
 * layer named `features` (else its penultimate layer).
 *
 * @param source `file://…/model.json` (Node), an http(s) URL of `model.json`, or any `tf.io.IOHandler`.
 * @throws {@link CheckpointError} when the model cannot be read.
 */
export async function loadMnistClassifier(source: string | tf.io.IOHandler): Promise<MnistClassifier> {
  const handler = typeof source === 'string' && source.startsWith('file://') ? fileModelHandler(source) : source;
  const model = await tfl.loadLayersModel(handler);
  const inputSize = (model.inputs[0]?.shape ?? []).slice(1).reduce<number>((a, b) => a * (b ?? 1), 1);
  const layer = model.layers.find((l) => l.name === 'features') ?? model.layers[model.layers.length - 2];
  if (layer === undefined) {
    model.dispose();
    throw new CheckpointError('the classifier needs at least two layers');
  }
  const featureModel = tfl.model({ inputs: model.inputs, outputs: layer.output as tfl.SymbolicTensor });
  const flat = (x: tf.Tensor): tf.Tensor => {
    const size = x.shape.slice(1).reduce((a, b) => a * b, 1);
    if (size !== inputSize) throw new ShapeMismatchError('digits', `[n, ${inputSize}]`, `[${x.shape}]`);
    return tf.reshape(x, [x.shape[0] as number, ...(model.inputs[0]?.shape ?? []).slice(1).map((d) => d ?? -1)]);
  };
  return {
    model,
    predict: (x) => tf.tidy(() => model.predict(flat(x)) as tf.Tensor2D),
    features: (x) => tf.tidy(() => featureModel.predict(flat(x)) as tf.Tensor2D),
    dispose: () => model.dispose(),
  };
}
