import * as tf from '@tensorflow/tfjs-core';
import { DataError, formatShape, GANConfigError, ShapeMismatchError } from '../errors';

/**
 * Class labels as the library accepts them: class indices (`number[]`, `Int32Array`, a 1-D
 * tensor) or one-hot rows (`number[][]`, a 2-D tensor `[n, numClasses]`).
 */
export type LabelsInput = tf.Tensor | readonly number[] | Int32Array | Float32Array | readonly (readonly number[])[];

/** Draws `n` class indices (int32 `[n]`); `seed` comes from the trainer's seeded generator. */
export type LabelSampler = (n: number, seed: number) => tf.Tensor1D;

function indicesFrom(
  values: ArrayLike<number>,
  shape: readonly number[],
  numClasses: number,
  count: number | undefined,
  what: string,
): Int32Array {
  let indices: Int32Array;
  if (shape.length === 2) {
    if (shape[1] !== numClasses)
      throw new ShapeMismatchError(`${what} (one-hot)`, formatShape([shape[0] ?? null, numClasses]), formatShape(shape));
    const n = shape[0] as number;
    indices = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      let ones = 0;
      for (let c = 0; c < numClasses; c++) {
        const v = values[i * numClasses + c] as number;
        if (v === 1) {
          ones++;
          indices[i] = c;
        } else if (v !== 0) ones = 2;
      }
      if (ones !== 1) throw new DataError(`${what}: row ${i} is not one-hot (exactly one 1, zeros elsewhere)`);
    }
  } else if (shape.length === 1) {
    indices = new Int32Array(values.length);
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as number;
      if (!Number.isInteger(v)) throw new DataError(`${what}: label ${i} is ${v}, not an integer class index`);
      if (v < 0 || v >= numClasses) throw new DataError(`${what}: label ${i} is ${v}, outside [0, ${numClasses - 1}]`);
      indices[i] = v;
    }
  } else {
    throw new ShapeMismatchError(what, '[n] class indices or [n, numClasses] one-hot', formatShape(shape));
  }
  if (count !== undefined && indices.length !== count) {
    throw new ShapeMismatchError(`${what} (one per example)`, `[${count}]`, `[${indices.length}]`);
  }
  return indices;
}

function shapeOf(input: Exclude<LabelsInput, tf.Tensor>): number[] {
  const first = (input as ArrayLike<unknown>)[0];
  return Array.isArray(first) ? [input.length, first.length] : [input.length];
}

function missing(input: unknown, what: string): void {
  if (input === undefined || input === null)
    throw new GANConfigError(what, 'a conditional model needs labels: pass { x, labels }');
}

/**
 * Validates labels and returns them as int32 class indices `[n]` (a new tensor the caller
 * disposes). A tensor is read back once, asynchronously, to check its values.
 *
 * @param count the batch size the labels must match, if known.
 * @throws {@link ShapeMismatchError} for a wrong count or one-hot width; {@link DataError} for
 *   non-integer, out-of-range or non-one-hot values; {@link GANConfigError} for no labels.
 */
export async function toLabels(
  input: LabelsInput,
  numClasses: number,
  count: number | undefined,
  what = 'labels',
): Promise<tf.Tensor1D> {
  missing(input, what);
  if (input instanceof tf.Tensor)
    return tf.tensor1d(indicesFrom(await input.data(), input.shape, numClasses, count, what), 'int32');
  return toLabelsSync(input, numClasses, count, what);
}

/** {@link toLabels} without awaiting: tensors are read with `dataSync()`. */
export function toLabelsSync(input: LabelsInput, numClasses: number, count: number | undefined, what = 'labels'): tf.Tensor1D {
  missing(input, what);
  if (input instanceof tf.Tensor)
    return tf.tensor1d(indicesFrom(input.dataSync(), input.shape, numClasses, count, what), 'int32');
  const flat = Array.isArray(input) && Array.isArray(input[0]) ? (input as number[][]).flat() : (input as ArrayLike<number>);
  return tf.tensor1d(indicesFrom(flat, shapeOf(input), numClasses, count, what), 'int32');
}

/**
 * The sampler of the labels the generator is trained on: `'uniform'` over the classes, or a
 * probability for each class.
 *
 * @throws {@link GANConfigError} for probabilities that are negative, the wrong count, or do not sum to 1.
 */
export function labelSampler(distribution: 'uniform' | readonly number[], numClasses: number): LabelSampler {
  if (distribution === 'uniform') {
    return (n, seed) =>
      tf.tidy(() =>
        tf.minimum(
          tf.cast(tf.floor(tf.randomUniform([n], 0, numClasses, 'float32', seed)), 'int32'),
          tf.scalar(numClasses - 1, 'int32'),
        ),
      ) as tf.Tensor1D;
  }
  const p = distribution;
  const sum = p.reduce((a, b) => a + b, 0);
  if (p.length !== numClasses || p.some((v) => !(v >= 0)) || Math.abs(sum - 1) > 1e-6) {
    throw new GANConfigError(
      'labelDistribution',
      `must be ${numClasses} non-negative probabilities summing to 1, got [${p.join(', ')}]`,
    );
  }
  return (n, seed) => tf.tidy(() => tf.reshape(tf.multinomial(tf.tensor2d([[...p]]), n, seed, true), [n])) as tf.Tensor1D;
}
