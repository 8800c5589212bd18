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
