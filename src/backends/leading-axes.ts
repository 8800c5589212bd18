/**
 * Which reductions the backends' `Sum`/`Mean` replacements (src/backends/webgpu-sum.ts, the wasm
 * tune-up's `simdReduce`) take: float32 over leading axes, where tfjs transposes first.
 *
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';

/** The attributes of tfjs's `Sum` and `Mean` kernels. */
export interface ReduceAttrs {
  readonly axis: number | number[];
  readonly keepDims: boolean;
}

/**
 * The `[rows, cols]` view and output shape of a float32 sum or mean over leading axes that
 * tfjs-backend-webgpu and tfjs-backend-wasm would transpose first, or undefined for every other case.
 * Axes must be 0..k−1 in that order: both backends transpose them into the order given, which decides
 * the order of the additions.
 */
export function leadingAxesReduction(
  shape: readonly number[],
  dtype: tf.DataType,
  attrs: ReduceAttrs,
): { rows: number; cols: number; outShape: number[] } | undefined {
  if (dtype !== 'float32' || shape.length < 2) return undefined;
  const axes = tf.util.parseAxisParam(attrs.axis, [...shape]);
  const k = axes.length;
  // Axes 0..k−1 in that order (tfjs transposes them into the order given, which decides the order of
  // the additions), and not all of them (tfjs reduces those without a transpose).
  if (k === 0 || k >= shape.length || axes.some((a, i) => a !== i)) return undefined;
  const rows = tf.util.sizeFromShape(shape.slice(0, k));
  const cols = tf.util.sizeFromShape(shape.slice(k));
  if (rows === 0 || cols === 0) return undefined;
  const outShape = attrs.keepDims ? shape.map((d, i) => (i < k ? 1 : d)) : shape.slice(k);
  return { rows, cols, outShape };
}
