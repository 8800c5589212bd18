/**
 * The shape of a flat element-wise program for tfjs-backend-webgpu's `runWebGPUProgram` (the fields
 * of its `WebGPUProgram` interface), shared by tfjs-gan's own WebGPU kernels. Structural: the library
 * does not import `@tensorflow/tfjs-backend-webgpu`.
 *
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';

const WORKGROUP = 128;

/**
 * One invocation per output element: `body` (WGSL) runs for each `index` below the output's size,
 * reading the inputs by `variableNames` and writing `result[index]`; `uniforms` declares the
 * program's own uniform fields (`'alpha : f32,'`). Subclass it so that tfjs's profiles name the program.
 */
export class ElementwiseProgram {
  readonly outputShape: number[];
  readonly dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  readonly workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  readonly size = true;

  constructor(
    readonly shaderKey: string,
    readonly variableNames: string[],
    readonly uniforms: string,
    shape: readonly number[],
    private readonly body: string,
  ) {
    this.outputShape = [...shape];
    this.dispatchLayout = { x: shape.map((_, i) => i) };
    this.dispatch = [Math.ceil(tf.util.sizeFromShape(this.outputShape) / WORKGROUP), 1, 1];
  }

  getUserCode(): string {
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          ${this.body}
        }
      }`;
  }
}

/** `x` viewed as one flat dimension (the same data): the shape tfjs-gan's element-wise and reducing programs read. */
export function flatInfo(x: tf.TensorInfo): tf.TensorInfo {
  return { dataId: x.dataId, shape: [tf.util.sizeFromShape(x.shape)], dtype: x.dtype };
}

/** tfjs-backend-webgpu's `ReduceProgram` workgroup size for a reduction of `length` elements (4.22). */
export function reduceWorkgroupSize(length: number, maxComputeWorkgroupSizeX: number): number {
  if (length >= 32768 && maxComputeWorkgroupSizeX >= 512) return 512;
  return length >= 4096 ? 256 : 64;
}

/**
 * tfjs-backend-webgpu's `ReduceProgram.getUserCode` for 'sum' and 'mean' (4.22), with the element read
 * by a WGSL expression of tfjs-gan's choosing: one workgroup of `workgroup` invocations per output
 * `outputIndex` (= index / workgroup), a strided loop over `k` below `uniforms.reduceSize`, the same
 * tree in workgroup memory, the mean's same division — so the same numbers are added in the same order.
 * `element` may use `k` and `outputIndex`; `functions` are WGSL functions it calls.
 */
export function reduceUserCode(workgroup: number, element: string, mean: boolean, functions = ''): string {
  const result = mean ? 'bestValue / f32(uniforms.reduceSize)' : 'bestValue';
  return `${functions}
      fn DIV_CEIL(a : u32, b : u32) -> u32 {
        return ((a - 1u) / b + 1u);
      }
      var<workgroup> xBestValues : array<f32, ${workgroup}>;
      fn main(index : i32) {
        let outputIndex = index / ${workgroup};
        var bestValue = 0.0;
        let Length = uniforms.reduceSize;
        for (var k = i32(localId.x); k < Length && outputIndex < uniforms.size; k = k + ${workgroup}) {
          let candidate = ${element};
          bestValue = bestValue + candidate;
        }
        xBestValues[localId.x] = bestValue;
        workgroupBarrier();
        var reduceSize = min(u32(Length), ${workgroup}u);
        for (var currentSize = reduceSize / 2u; reduceSize > 1u; currentSize = reduceSize / 2u) {
          let interval = DIV_CEIL(reduceSize, 2u);
          if (localId.x < currentSize) {
            let candidate = xBestValues[localId.x + interval];
            bestValue = bestValue + candidate;
            xBestValues[localId.x] = bestValue;
          }
          reduceSize = interval;
          workgroupBarrier();
        }
        if (localId.x == 0u && outputIndex < uniforms.size) {
          setOutputAtIndex(outputIndex, ${result});
        }
      }`;
}
