// Checkpoint state of the stabiliser wrappers (internal): a wrapper's own plain-data state, plus the
// state of the component it wraps when that one is Checkpointable too, so nothing is lost by wrapping.
import type * as tf from '@tensorflow/tfjs-core';
import { CheckpointError } from '../errors';
import {
  type Checkpointable,
  type ComponentState,
  isCheckpointable,
  type JsonValue,
  type RestoreContext,
} from '../io/checkpoint';
import { isRecord } from '../io/safe-json';

/** A wrapper's own plain-data state. */
export interface OwnState {
  /** Its state now. */
  save(): { readonly [key: string]: JsonValue };
  /** Validates saved data (`undefined`: none saved) and returns the function that applies it. */
  prepare(data: { readonly [key: string]: JsonValue } | undefined, context: RestoreContext): () => void;
}

/** The members a wrapper needs to be Checkpointable: its own state (if any) and the wrapped component's. */
export function wrapperState(key: string, own: OwnState | undefined, inner: unknown): Checkpointable | undefined {
  const nested = isCheckpointable(inner) ? inner : undefined;
  if (own === undefined) return nested && forward(nested);
  if (nested === undefined) {
    return {
      checkpointKey: key,
      checkpointState: () => ({ data: own.save(), tensors: {} }),
      prepareRestore: (state, context) => own.prepare(state?.data, context),
    };
  }
  return {
    checkpointKey: key,
    checkpointState() {
      const s = nested.checkpointState();
      const tensors: Record<string, tf.Tensor> = {};
      for (const [name, t] of Object.entries(s.tensors)) tensors[`inner/${name}`] = t;
      return { data: { ...own.save(), inner: { key: nested.checkpointKey, data: s.data } }, tensors };
    },
    prepareRestore(state, context) {
      let innerState: ComponentState | undefined;
      if (state !== undefined) {
        const saved = state.data.inner;
        if (!isRecord(saved) || !isRecord(saved.data))
          throw new CheckpointError(`${key}: the wrapped component's state is missing`);
        const tensors: Record<string, tf.Tensor> = {};
        for (const [name, t] of Object.entries(state.tensors)) if (name.startsWith('inner/')) tensors[name.slice(6)] = t;
        innerState = { data: saved.data as { readonly [key: string]: JsonValue }, tensors };
      }
      const commitInner = nested.prepareRestore(innerState, context);
      const commitOwn = own.prepare(state?.data, context);
      return () => {
        commitInner();
        commitOwn();
      };
    },
  };
}

const forward = (c: Checkpointable): Checkpointable => ({
  checkpointKey: c.checkpointKey,
  checkpointState: () => c.checkpointState(),
  prepareRestore: (state, context) => c.prepareRestore(state, context),
});

/** Reads a saved PRNG state, or throws a CheckpointError. */
export function savedRandomState(key: string, value: JsonValue | undefined): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value >= 2 ** 32) {
    throw new CheckpointError(`${key}: malformed random state ${JSON.stringify(value)}`);
  }
  return value;
}
