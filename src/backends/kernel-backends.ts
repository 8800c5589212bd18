/**
 * The parts of tfjs's backends that tfjs-gan's own kernels use, structurally: the library imports
 * no backend package. (wasm: `WasmHeap` in ./wasm-speed and `WasmBackendLike` in ./wasm-simd.)
 *
 * @module
 */
import type * as tf from '@tensorflow/tfjs-core';

/** The cpu backend's storage (tfjs-backend-cpu's `MathBackendCPU`). */
export interface CpuBackendLike {
  readSync(dataId: tf.DataId): unknown;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: Float32Array): tf.TensorInfo;
}

/** The part of tfjs-backend-webgpu's `WebGPUBackend` that runs a program. */
export interface WebGPUBackendLike {
  runWebGPUProgram(
    program: object,
    inputs: tf.TensorInfo[],
    outputDtype: tf.DataType,
    programDefinedUniform?: { type: 'float32' | 'int32'; data: number[] }[],
  ): tf.TensorInfo;
}
