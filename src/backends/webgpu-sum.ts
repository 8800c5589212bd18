/**
 * `Sum` and `Mean` over leading axes for tfjs-backend-webgpu without a transpose.
 *
 * tfjs-backend-webgpu reduces only innermost axes: `tf.sum(x, 0)` of a `[100, 256]` tensor — every
 * bias gradient of a dense layer, summed over the batch — first transposes `x` to `[256, 100]` (one
 * dispatch, and a buffer), then reduces each row with its `ReduceProgram` (one workgroup per output,
 * a strided loop then a tree in workgroup memory). An MLP GAN step makes 9 such sums and 2 such means
 * (the trainer's per-step summary): 11 transposes. The replacement reduces the columns where they are:
 * the same program — the same workgroup size for the same reduction length, the same loop and the
 * same tree, the mean's same division — reading `x[k·cols + column]` instead of the transposed copy,
 * so each sum adds the same numbers in the same order: the same bits.
 *
 * It is the third part of the WebGPU tune-up (`installWebGPUTuneUp({ sums })`), a replacement of the
 * `Sum` and `Mean` kernels for the `webgpu` backend in tfjs's registry that hands every other case
 * (innermost axes, all axes, axes out of order, non-float32) to the original kernel.
 *
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import type { WebGPUBackendLike } from './kernel-backends';
import { leadingAxesReduction, type ReduceAttrs } from './leading-axes';
import { reduceUserCode, reduceWorkgroupSize } from './webgpu-program';

type ReduceType = 'sum' | 'mean';

/** Sums (means) of the columns of `x` viewed as `[rows, cols]`: one workgroup per column, as tfjs's ReduceProgram does per row. */
class ColumnReduceProgram {
  readonly variableNames = ['x'];
  readonly uniforms = 'reduceSize : i32, cols : i32,';
  readonly size = true;
  readonly outputShape: number[];
  readonly dispatchLayout: { x: number[] };
  readonly dispatch: [number, number, number];
  readonly workgroupSize: [number, number, number];
  readonly shaderKey: string;

  constructor(
    outputShape: readonly number[],
    cols: number,
    workgroup: number,
    private readonly reduceType: ReduceType,
  ) {
    this.outputShape = [...outputShape];
    this.dispatchLayout = { x: outputShape.map((_, i) => i) };
    this.dispatch = [cols, 1, 1]; // one workgroup per output (tfjs reshapes it past the per-dimension limit)
    this.workgroupSize = [workgroup, 1, 1];
    this.shaderKey = `tfjsGanColumn${reduceType === 'sum' ? 'Sum' : 'Mean'}_${workgroup}`;
  }

  getUserCode(): string {
    // tfjs's ReduceProgram for 'sum' and 'mean', with the input read down a column.
    return reduceUserCode(this.workgroupSize[0], 'f32(x[k * uniforms.cols + outputIndex])', this.reduceType === 'mean');
  }
}

/** A replacement `Sum`/`Mean` kernel function: column reductions where tfjs would transpose, `original` elsewhere. */
export function columnReduceKernel(original: tf.KernelFunc, reduceType: ReduceType): tf.KernelFunc {
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo | undefined;
    const b = args.backend as Partial<WebGPUBackendLike> & { device?: { limits?: { maxComputeWorkgroupSizeX?: number } } };
    const view = x === undefined ? undefined : leadingAxesReduction(x.shape, x.dtype, args.attrs as unknown as ReduceAttrs);
    if (x === undefined || view === undefined || typeof b.runWebGPUProgram !== 'function') return original(args);
    const workgroup = reduceWorkgroupSize(view.rows, b.device?.limits?.maxComputeWorkgroupSizeX ?? 256);
    const program = new ColumnReduceProgram(view.outShape, view.cols, workgroup, reduceType);
    return b.runWebGPUProgram(program, [{ dataId: x.dataId, shape: [view.rows, view.cols], dtype: x.dtype }], 'float32', [
      { type: 'int32', data: [view.rows] },
      { type: 'int32', data: [view.cols] },
    ]);
  };
}

const KERNELS: Readonly<Record<'Sum' | 'Mean', ReduceType>> = { Sum: 'sum', Mean: 'mean' };

/** The registry's kernels for webgpu before the replacement, and the replacements (while installed). */
const replaced = new Map<string, { original: tf.KernelConfig; config: tf.KernelConfig }>();
/** The kernels first found under these names (tfjs-backend-webgpu's): a different one later is someone else's. */
const firstSeen = new Map<string, tf.KernelConfig>();

/** Whether the column-reducing `Sum` and `Mean` are registered for webgpu. */
export function columnSumsInstalled(): boolean {
  return Object.keys(KERNELS).every((name) => {
    const r = replaced.get(name);
    return r !== undefined && tf.getKernel(name, 'webgpu') === r.config;
  });
}

/**
 * Replaces webgpu's `Sum` and `Mean` in tfjs's kernel registry (idempotent). A kernel registered under
 * those names by someone else since the first install is left alone. Returns whether both are replaced.
 */
export function installColumnSums(): boolean {
  for (const [name, reduceType] of Object.entries(KERNELS)) {
    const current = tf.getKernel(name, 'webgpu');
    if (current === undefined) continue;
    if (replaced.get(name)?.config === current) continue;
    const first = firstSeen.get(name);
    if (first === undefined) firstSeen.set(name, current);
    else if (current !== first) continue; // someone else's kernel: theirs stays
    const config: tf.KernelConfig = { ...current, kernelFunc: columnReduceKernel(current.kernelFunc, reduceType) };
    tf.unregisterKernel(name, 'webgpu');
    tf.registerKernel(config);
    replaced.set(name, { original: current, config });
  }
  return columnSumsInstalled();
}

/** Puts tfjs's webgpu `Sum` and `Mean` back (a kernel someone registered since is left alone); returns whether any was installed. */
export function uninstallColumnSums(): boolean {
  let any = false;
  for (const [name, { original, config }] of replaced) {
    if (tf.getKernel(name, 'webgpu') === config) {
      tf.unregisterKernel(name, 'webgpu');
      tf.registerKernel(original);
      any = true;
    }
  }
  replaced.clear();
  return any;
}
