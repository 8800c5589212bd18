/**
 * The on-device non-finite guard's step for tfjs-backend-webgpu: one compute shader reads up to six
 * tensors and the guard's running value and writes the next value — no concatenated copy, no
 * full-size boolean tensor, nothing read back. (See `nextGuard` in src/training/guard.ts for what
 * the value means; this computes exactly the same.)
 *
 * Structural, like the library's other WebGPU programs: it runs through the backend's
 * `runWebGPUProgram`, and the library does not import `@tensorflow/tfjs-backend-webgpu`.
 *
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import type { WebGPUBackendLike } from './kernel-backends';
import { flatInfo } from './webgpu-program';

/** Name of the kernel registered for `webgpu`: inputs `previous` and `x0` … `x5` (float32), output one float32. */
export const GUARD_STEP_KERNEL = 'TfjsGanGuardStep';

/** Tensors one program reads besides `previous`: WebGPU's default eight storage buffers, less the output and `previous`. */
export const GUARD_TENSORS_PER_PROGRAM = 6;

const WORKGROUP = 256;

/**
 * One workgroup: every invocation scans a strided share of each tensor for an exponent of all ones
 * (NaN or ±∞: the test tfjs's own `isnan`/`isinf` shaders make on the bits), the workgroup ORs the
 * answers, and invocation 0 writes `previous + increment` (all finite), `−previous` (the first
 * non-finite value seen while `previous > 0`) or `previous` unchanged (`previous ≤ 0`: already failed).
 */
class GuardStepProgram {
  readonly variableNames: string[];
  readonly uniforms: string;
  readonly size = true;
  readonly outputShape = [1];
  readonly dispatchLayout = { x: [0] };
  readonly dispatch: [number, number, number] = [1, 1, 1];
  readonly workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  readonly shaderKey: string;

  constructor(private readonly count: number) {
    const xs = Array.from({ length: count }, (_, i) => `x${i}`);
    this.variableNames = ['previous', ...xs];
    this.uniforms = `${xs.map((x) => `${x}Size : i32,`).join(' ')} increment : f32,`;
    this.shaderKey = `tfjsGanGuardStep_${count}`;
  }

  getUserCode(): string {
    const scans = Array.from(
      { length: this.count },
      (_, i) => `
        for (var k = i32(localId.x); k < uniforms.x${i}Size; k = k + ${WORKGROUP}) {
          bad = bad | nonFinite(x${i}[k]);
        }`,
    ).join('');
    return `
      var<workgroup> badValues : array<u32, ${WORKGROUP}>;
      fn nonFinite(value : f32) -> u32 {
        return select(0u, 1u, (bitcast<u32>(value) & 0x7f800000u) == 0x7f800000u);
      }
      fn main(index : i32) {
        var bad = 0u;${scans}
        badValues[localId.x] = bad;
        workgroupBarrier();
        for (var half = ${WORKGROUP / 2}u; half > 0u; half = half / 2u) {
          if (localId.x < half) {
            badValues[localId.x] = badValues[localId.x] | badValues[localId.x + half];
          }
          workgroupBarrier();
        }
        if (localId.x == 0u) {
          let before = previous[0];
          var after = before;
          if (before > 0.0) {
            after = select(before + uniforms.increment, -before, badValues[0] != 0u);
          }
          setOutputAtIndex(0, after);
        }
      }`;
  }
}

/**
 * The kernel: `previous` (one float32) and the tensors `x0`, `x1`, … (float32, any shapes; at most
 * {@link GUARD_TENSORS_PER_PROGRAM} per program, more run as a chain of programs), attribute
 * `increment` (added once, by the last program). Returns the next guard value, shape `[1]`.
 */
const guardStepKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as unknown as WebGPUBackendLike & { disposeData(dataId: tf.DataId): void };
  const previous = inputs.previous;
  if (previous === undefined || previous.dtype !== 'float32' || tf.util.sizeFromShape(previous.shape) !== 1) {
    throw new Error(`${GUARD_STEP_KERNEL}: previous must be one float32 value.`);
  }
  const xs: tf.TensorInfo[] = [];
  for (let i = 0; inputs[`x${i}`] !== undefined; i++) {
    const x = inputs[`x${i}`] as tf.TensorInfo;
    if (x.dtype !== 'float32') throw new Error(`${GUARD_STEP_KERNEL}: float32 tensors only, got ${x.dtype}.`);
    if (tf.util.sizeFromShape(x.shape) > 0) xs.push(x);
  }
  const increment = Number((attrs as { increment?: number }).increment ?? 1);
  let current: tf.TensorInfo = flatInfo(previous);
  let owned = false;
  for (let start = 0; start < xs.length || start === 0; start += GUARD_TENSORS_PER_PROGRAM) {
    const group = xs.slice(start, start + GUARD_TENSORS_PER_PROGRAM);
    const last = start + GUARD_TENSORS_PER_PROGRAM >= xs.length;
    const next = b.runWebGPUProgram(new GuardStepProgram(group.length), [current, ...group.map(flatInfo)], 'float32', [
      ...group.map((x) => ({ type: 'int32' as const, data: [tf.util.sizeFromShape(x.shape)] })),
      { type: 'float32', data: [last ? increment : 0] },
    ]);
    if (owned) b.disposeData(current.dataId);
    current = next;
    owned = true;
  }
  return current;
};

let registered = false;

/**
 * Registers {@link GUARD_STEP_KERNEL} for `webgpu` once, when tfjs-backend-webgpu's kernels are loaded.
 * Returns whether the kernel is there.
 */
export function registerGuardStepKernel(): boolean {
  if (!registered && tf.getKernelsForBackend('webgpu').length > 0) {
    registered = true;
    if (tf.getKernel(GUARD_STEP_KERNEL, 'webgpu') === undefined) {
      tf.registerKernel({ kernelName: GUARD_STEP_KERNEL, backendName: 'webgpu', kernelFunc: guardStepKernel });
    }
  }
  return tf.getKernel(GUARD_STEP_KERNEL, 'webgpu') !== undefined;
}
