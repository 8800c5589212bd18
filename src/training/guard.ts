/**
 * The non-finite guard's two ways of checking an update, and what undoes the side effects of an
 * update that turned out not finite.
 *
 * - **read-back**: every update's loss and gradients are checked before it is applied, by reading a
 *   flag back to the CPU ({@link isUpdateFinite}). On a GPU that read waits for the queued work.
 * - **on-device**: the check runs on the device and feeds the optimizer's update ({@link nextGuard},
 *   `fusedAdamUpdate`'s `guard`): an update that is not finite, and every update after it in the same
 *   step, leave the weights and moments as they were; the step's one read-back (its losses) brings
 *   the answer, and the trainer then undoes what those updates did besides ({@link updateUndo}).
 *
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import { GUARD_STEP_KERNEL, registerGuardStepKernel } from '../backends/webgpu-guard';
import type { Checkpointable, JsonValue } from '../io/checkpoint';
import type { recordForwardState } from '../models/forward-state';
import { type AdamUndo, adamUndo } from '../optim/adam';
import type { Random } from '../random';

/**
 * `GANTrainerConfig.guardNonFinite`: `true` chooses for you (on-device on `webgpu` when both
 * optimizers are `tf.train.adam` ones applied with the fused Adam, read-back otherwise), `false`
 * checks only the losses after the step.
 */
export type GuardNonFinite = boolean | 'read-back' | 'on-device';

/** The guard's running value before a step's first update: 1 (no update yet, none failed). */
export function guardStart(): tf.Tensor1D {
  return tf.tensor1d([1], 'float32');
}

/**
 * The guard's running value after one more update whose loss and gradients are `tensors`, computed
 * on the device (nothing is read back). The value is `c + 1` after `c` updates that were all finite,
 * and `−(i + 1)` once update `i` (0-based) was the first that was not; it stays there. So an update
 * is applied exactly while the value is above 0, and {@link firstFailedUpdate} reads it.
 *
 * Exact: an element counts as not finite when it is NaN or ±∞ (no sum that could overflow); tensors
 * that are not float32 (int32, bool) are finite by their type and not read. On `webgpu`, one compute
 * shader per six tensors ({@link GUARD_STEP_KERNEL}); elsewhere tfjs ops.
 */
export function nextGuard(previous: tf.Tensor, tensors: readonly tf.Tensor[], increment = 1): tf.Tensor1D {
  return tf.tidy(() => {
    // int32 and bool values are always finite. (Not cast either: on webgpu a cast from int32 keeps the integer buffer.)
    const floats = tensors.filter((t) => t.dtype === 'float32');
    const before = tf.reshape(previous, [1]);
    if (tf.getBackend() === 'webgpu' && registerGuardStepKernel()) {
      const inputs: tf.NamedTensorMap = { previous: before };
      floats.forEach((t, i) => {
        inputs[`x${i}`] = t;
      });
      return tf.engine().runKernel(GUARD_STEP_KERNEL, inputs, { increment }) as tf.Tensor1D;
    }
    const finite = floats.length === 0 ? tf.scalar(true, 'bool') : tf.all(tf.stack(floats.map((t) => tf.all(tf.isFinite(t)))));
    return tf.where(tf.greater(before, 0), tf.where(finite, tf.add(before, increment), tf.neg(before)), before) as tf.Tensor1D;
  });
}

/** The guard's value when a step's data held NaN or ±∞ ({@link dataGuardStart}): not above 0, and no update's. */
export const DATA_NOT_FINITE = -0.5;

/**
 * The guard's running value before a step's first update, with the step's data batches `xs` checked
 * on the device as well (instead of reading a flag back before the step): 1, as {@link guardStart},
 * when every value is finite, else {@link DATA_NOT_FINITE} — not above 0, so every update of the step
 * is skipped, and the value read back says it was the data. One more guard step, nothing read back.
 */
export function dataGuardStart(xs: readonly tf.Tensor[]): tf.Tensor1D {
  return tf.tidy(() => nextGuard(tf.tensor1d([-DATA_NOT_FINITE], 'float32'), xs, -DATA_NOT_FINITE));
}

/**
 * The index (0-based, in the step's order) of the first update the guard found not finite, or
 * undefined (none did; also when the step's data was not finite, see {@link dataGuardStart}).
 */
export function firstFailedUpdate(value: number): number | undefined {
  return value > -1 ? undefined : Math.round(-value) - 1;
}

/** What {@link updateUndo} returns. */
export interface UpdateUndo {
  /**
   * The undo functions noted during the update (see {@link recordForwardState}: pass this array); they
   * run first on restore, latest first.
   */
  readonly noted: (() => void)[];
  /** Puts everything back as it was when the undo was taken, and releases it. */
  restore(): void;
  /** Releases what the undo holds, restoring nothing. */
  dispose(): void;
}

/** What an update may change besides its weights and moments. */
export interface UpdateSideState {
  /**
   * Variables the forward passes may write: the models' non-trainable state (batch norm's moving
   * statistics). Held by reference (a clone shares the data), so taking the undo copies nothing.
   */
  readonly variables: readonly tf.Variable[];
  /** The trainer's random stream (noise and labels are drawn from it). */
  readonly random: Random;
  /**
   * Components whose state may change during an update (a D wrapper's own random stream, also inside a
   * custom D given as `checkpointed`): those whose `checkpointState()` holds only plain data are saved
   * and put back with `prepareRestore`; one holding tensors (a generator EMA, which changes only between
   * steps) or unable to give its state now (a disposed EMA) is left alone.
   */
  readonly components: readonly Checkpointable[];
  /** The trainer's global step, passed to `prepareRestore`. */
  readonly step: number;
  /** An on-device guarded update's optimizer, whose counters advance even when the update is skipped. */
  readonly optimizer?: tf.Optimizer;
}

/** Takes an undo of `side` before an update. Nothing is held if this throws. */
export function updateUndo(side: UpdateSideState): UpdateUndo {
  const components: [Checkpointable, { readonly [key: string]: JsonValue }][] = [];
  for (const c of side.components) {
    let state: ReturnType<Checkpointable['checkpointState']>;
    try {
      state = c.checkpointState();
    } catch {
      continue; // it cannot be saved now (a disposed EMA): not state an update changes
    }
    if (Object.keys(state.tensors).length === 0) components.push([c, structuredClone(state.data)]);
  }
  const randomState = side.random.state;
  const noted: (() => void)[] = [];
  const values = side.variables.map((v) => tf.clone(v));
  let adam: AdamUndo | undefined;
  try {
    adam = side.optimizer === undefined ? undefined : adamUndo(side.optimizer);
  } catch (e) {
    tf.dispose(values);
    throw e;
  }
  let released = false;
  const dispose = () => {
    if (released) return;
    released = true;
    tf.dispose(values);
    adam?.dispose();
  };
  return {
    noted,
    restore() {
      if (released) return;
      for (let i = noted.length - 1; i >= 0; i--) noted[i]?.();
      side.variables.forEach((v, i) => {
        v.assign(values[i] as tf.Tensor);
      });
      side.random.state = randomState;
      for (const [c, data] of components) c.prepareRestore({ data, tensors: {} }, { step: side.step })();
      adam?.restore();
      dispose();
    },
    dispose,
  };
}
