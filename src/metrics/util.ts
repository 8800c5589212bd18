import * as tf from '@tensorflow/tfjs-core';
import { DataError, formatShape, GANConfigError, ShapeMismatchError } from '../errors';

/** Samples as a tensor or nested arrays. */
export type Samples = tf.Tensor | readonly (readonly number[])[];

/**
 * A `[n, d]` float tensor view of `x` (rank ≥ 2 tensors are flattened per example), and whether the
 * caller must dispose it.
 */
export function asMatrix(x: Samples, what: string): { m: tf.Tensor2D; owned: boolean } {
  if (x instanceof tf.Tensor) {
    if (x.rank < 2) throw new ShapeMismatchError(what, '[n, d] (or [n, ...])', formatShape(x.shape));
    if (x.shape[0] === 0) throw new DataError(`${what}: no examples`);
    if (x.rank === 2 && x.dtype === 'float32') return { m: x as tf.Tensor2D, owned: false };
    return { m: tf.tidy(() => tf.cast(tf.reshape(x, [x.shape[0] as number, -1]), 'float32') as tf.Tensor2D), owned: true };
  }
  if (!Array.isArray(x) || x.length === 0) throw new DataError(`${what}: no examples`);
  const d = (x[0] as readonly number[]).length;
  if (x.some((r) => !Array.isArray(r) || r.length !== d) || d === 0) {
    throw new ShapeMismatchError(what, '[n, d] rows of equal length', 'ragged rows');
  }
  return { m: tf.tensor2d(x as number[][], [x.length, d], 'float32'), owned: true };
}

/** Runs `f` on matrix views of the inputs and disposes the views it made. */
export async function withMatrices<T>(inputs: readonly [Samples, string][], f: (...ms: tf.Tensor2D[]) => Promise<T>): Promise<T> {
  const views: { m: tf.Tensor2D; owned: boolean }[] = [];
  try {
    for (const [x, what] of inputs) views.push(asMatrix(x, what));
    return await f(...views.map((v) => v.m));
  } finally {
    for (const v of views) if (v.owned) v.m.dispose();
  }
}

/** Throws unless both matrices have the same width. */
export function sameWidth(a: tf.Tensor2D, b: tf.Tensor2D, what: string): void {
  if (a.shape[1] !== b.shape[1]) {
    throw new ShapeMismatchError(what, formatShape([null, a.shape[1]]), formatShape(b.shape));
  }
}

/** Throws a {@link GANConfigError} unless `v` is a positive integer. */
export function positiveInteger(option: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new GANConfigError(option, `must be a positive integer, got ${v}`);
}

/** Throws a {@link GANConfigError} unless `v` is a positive finite number. */
export function positiveNumber(option: string, v: number): void {
  if (!(Number.isFinite(v) && v > 0)) throw new GANConfigError(option, `must be a positive number, got ${v}`);
}

/** Squared Euclidean distances `[a, b]` between the rows of `x` `[a, d]` and `y` `[b, d]`, clipped at 0. */
export function squaredDistances(x: tf.Tensor2D, y: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const xx = tf.sum(tf.square(x), 1, true);
    const yy = tf.reshape(tf.sum(tf.square(y), 1), [1, -1]);
    const xy = tf.matMul(x, y, false, true);
    return tf.relu(tf.sub(tf.add(xx, yy), tf.mul(xy, 2))) as tf.Tensor2D;
  });
}
