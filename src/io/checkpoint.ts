import * as tf from '@tensorflow/tfjs-core';
import { CheckpointError } from '../errors';
import type { EpochLogs, StepLogs } from '../training/callbacks';
import { isRecord } from './safe-json';

/** The `format` field of every tfjs-gan checkpoint. */
export const CHECKPOINT_FORMAT = 'tfjs-gan-checkpoint';
/**
 * The checkpoint format version this build writes; it reads this one and older.
 * Version 2 added {@link CheckpointHeader.components} (the state of stabilisers and other
 * {@link Checkpointable} components); version 1 checkpoints load as checkpoints without any.
 */
export const CHECKPOINT_VERSION = 2;

/** One variable as recorded in a checkpoint. */
export interface VariableRecord {
  /** The variable's name when it was saved (informative: restore goes by position). */
  readonly name: string;
  /** Its shape. */
  readonly shape: readonly number[];
  /** Its dtype. */
  readonly dtype: string;
}

/** What a checkpoint records of one network. */
export interface ModelRecord {
  /** Shape of one example (D's input, G's output). */
  readonly exampleShape: readonly number[];
  /** G's latent width (generator only). */
  readonly latentDim?: number;
  /** Every state variable, in order. */
  readonly variables: readonly VariableRecord[];
}

/** What a checkpoint records of one optimizer. */
export interface OptimizerRecord {
  /** `getClassName()`, e.g. `'Adam'`. */
  readonly className: string;
  /** `getConfig()`, enough to rebuild it. */
  readonly config: Record<string, unknown>;
  /** Names (in the weight list) of the optimizer's `getWeights()`, in order. */
  readonly weights: readonly string[];
  /** Extra state variables that `getWeights()` does not cover (Adam's β-power accumulators), by property name. */
  readonly extras: readonly string[];
}

/** The JSON part of a checkpoint. */
export interface CheckpointHeader {
  /** Always {@link CHECKPOINT_FORMAT}. */
  readonly format: typeof CHECKPOINT_FORMAT;
  /** The format version that wrote it. */
  readonly version: number;
  /** The trainer's global step count. */
  readonly step: number;
  /** The trainer's completed epochs. */
  readonly epoch: number;
  /** The trainer's PRNG state. */
  readonly random: number;
  /** The loss's name. */
  readonly loss: string;
  /** Both networks' shapes and variables. */
  readonly models: {
    /** The generator. */
    readonly generator: ModelRecord;
    /** The discriminator. */
    readonly discriminator: ModelRecord;
  };
  /** Both optimizers' classes, configurations and state names. */
  readonly optimizers: {
    /** G's optimizer. */
    readonly generator: OptimizerRecord;
    /** D's optimizer. */
    readonly discriminator: OptimizerRecord;
  };
  /** Trainer options that are plain data. */
  readonly config: Record<string, unknown>;
  /**
   * The state of the trainer's {@link Checkpointable} components (an adaptive schedule, a generator
   * EMA, …) by {@link Checkpointable.checkpointKey}; their tensors are stored as the weights
   * `state/<key>/<name>`. Absent in version 1 checkpoints.
   */
  readonly components?: { readonly [key: string]: ComponentRecord };
  /** The training history so far. */
  readonly history: {
    /** Every step's logs. */
    readonly steps: readonly StepLogs[];
    /** Every epoch's logs. */
    readonly epochs: readonly EpochLogs[];
  };
}

/** A JSON value: what a component's plain-data state may hold. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** The state of one {@link Checkpointable} component, as it gives it to a checkpoint and gets it back. */
export interface ComponentState {
  /**
   * Plain data, stored in the checkpoint's JSON header: finite numbers, strings, booleans, `null`,
   * arrays and plain objects. `save` refuses anything else with a `CheckpointError` (`NaN` would come
   * back as `null`, `undefined` would vanish).
   */
  readonly data: { readonly [key: string]: JsonValue };
  /**
   * Tensors by name (letters, digits, `_ - . /`), stored as weights. A component returns its own
   * tensors (e.g. its variables): the trainer reads them and never disposes them. On restore they
   * are the decoded weights, valid until the function `prepareRestore` returned has run: assign
   * them (`variable.assign` keeps its own reference), do not keep them.
   */
  readonly tensors: { readonly [name: string]: tf.Tensor };
}

/** What {@link Checkpointable.prepareRestore} learns besides the component's own state. */
export interface RestoreContext {
  /** The trainer's global step count in the checkpoint being restored. */
  readonly step: number;
}

/**
 * A component whose state travels in the trainer's checkpoints, so that a resumed run continues
 * exactly. `GANTrainer.save` asks the trainer's schedule, loss and discriminator when they
 * implement it, and every object of `GANTrainerConfig.checkpointed` (a {@link stabilizers.generatorEma}).
 * `adaptiveSchedule`, `generatorEma`, `withGradientPenalty` and `withInstanceNoise` implement it;
 * a custom schedule, loss or callback can too.
 *
 * Restoring is two-phase, so that a bad checkpoint changes nothing: the trainer first calls
 * `prepareRestore` on every component (validation only: throw a {@link CheckpointError} naming the
 * problem), and only when all of them and the trainer's own checks passed, after the models' and
 * optimizers' state is in place, runs the functions they returned, which must not fail.
 */
export interface Checkpointable {
  /** Names this component's state in a checkpoint; unique among a trainer's components. */
  readonly checkpointKey: string;
  /** The state to save now. */
  checkpointState(): ComponentState;
  /**
   * Validates `state` — the one saved under this key, or `undefined` when the checkpoint holds none
   * (a version 1 checkpoint, or one saved without this component) — and returns the function that
   * applies it (for `undefined`: whatever a fresh start from the restored weights means).
   *
   * @throws {@link CheckpointError} when the state cannot be restored into this component.
   */
  prepareRestore(state: ComponentState | undefined, context: RestoreContext): () => void;
}

/** Whether `x` implements {@link Checkpointable}. */
export function isCheckpointable(x: unknown): x is Checkpointable {
  if (typeof x !== 'object' || x === null) return false;
  const c = x as Partial<Checkpointable>;
  return typeof c.checkpointKey === 'string' && typeof c.checkpointState === 'function' && typeof c.prepareRestore === 'function';
}

/** What a checkpoint header records of one component's state. */
export interface ComponentRecord {
  /** The component's plain data. */
  readonly data: { readonly [key: string]: JsonValue };
  /** Its tensors' names (weights `state/<key>/<name>`), shapes and dtypes. */
  readonly tensors: readonly VariableRecord[];
}

/** Weight-list name prefixes. */
export const PREFIX = {
  generator: 'generator/',
  discriminator: 'discriminator/',
  generatorOptimizer: 'optimizer/generator/',
  discriminatorOptimizer: 'optimizer/discriminator/',
  component: 'state/',
} as const;

const KEY_PATTERN = /^[A-Za-z0-9_.-][A-Za-z0-9_./-]*$/;

/** Throws a {@link CheckpointError} unless `name` may name a component or one of its tensors. */
export function assertStateName(what: string, name: string): void {
  if (!KEY_PATTERN.test(name) || name.length > 200) {
    throw new CheckpointError(`${what} ${JSON.stringify(name)} is not a valid name (letters, digits, _ - . /)`);
  }
}

/**
 * Checks that a component's plain data survives JSON unchanged: finite numbers, strings, booleans,
 * `null`, arrays and plain objects only. `JSON.stringify` would turn `NaN`/`Infinity` into `null` and
 * drop `undefined` or functions silently, so the saved state would not be the state.
 */
export function assertJsonData(what: string, value: unknown, path = 'data', seen = new Set<object>()): void {
  const fail: (why: string) => never = (why) => {
    throw new CheckpointError(`refusing to save: ${what} ${path} ${why} (the previous checkpoint is left as it was)`);
  };
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) fail(`is ${value}, which JSON cannot hold`);
    return;
  }
  if (value === undefined) fail('is undefined, which JSON drops');
  if (typeof value !== 'object') fail(`is a ${typeof value}, which JSON cannot hold`);
  if (seen.has(value)) fail('refers to itself');
  const proto = Object.getPrototypeOf(value);
  if (!Array.isArray(value) && proto !== Object.prototype && proto !== null) fail('is not a plain object or array');
  seen.add(value);
  if (Array.isArray(value)) for (const [i, v] of value.entries()) assertJsonData(what, v, `${path}[${i}]`, seen);
  else for (const [k, v] of Object.entries(value as object)) assertJsonData(what, v, `${path}.${k}`, seen);
  seen.delete(value);
}

/** Checks that a restored tensor fits the live variable it goes into. */
export function assertFits(what: string, tensor: tf.Tensor | undefined, live: tf.Tensor): tf.Tensor {
  if (tensor === undefined) throw new CheckpointError(`${what} is missing from the checkpoint`);
  if (
    tensor.dtype !== live.dtype ||
    tensor.shape.length !== live.shape.length ||
    tensor.shape.some((d, i) => d !== live.shape[i])
  ) {
    throw new CheckpointError(
      `${what} is ${tensor.dtype}[${tensor.shape.join(', ')}] in the checkpoint but ${live.dtype}[${live.shape.join(', ')}] here`,
    );
  }
  return tensor;
}

/** A tensor with a name, as tf.io.encodeWeights takes them. */
export interface NamedTensor {
  readonly name: string;
  readonly tensor: tf.Tensor;
}

const variableRecords = (vars: readonly tf.Variable[]): VariableRecord[] =>
  vars.map((v) => ({ name: v.name, shape: [...v.shape], dtype: v.dtype }));

/** Property names of an optimizer's own tf.Variables not returned by getWeights (e.g. Adam's accBeta1/accBeta2). */
export function optimizerExtras(optimizer: tf.Optimizer): [string, tf.Variable][] {
  return Object.entries(optimizer)
    .filter((entry): entry is [string, tf.Variable] => entry[1] instanceof tf.Variable)
    .sort(([a], [b]) => a.localeCompare(b));
}

/** Collects an optimizer's state as named tensors; the caller disposes `owned`. */
export async function optimizerState(
  optimizer: tf.Optimizer,
  prefix: string,
): Promise<{ record: OptimizerRecord; tensors: NamedTensor[]; owned: tf.Tensor[] }> {
  const weights = await optimizer.getWeights();
  const owned = weights.filter((w) => w.name === 'iter').map((w) => w.tensor);
  const tensors: NamedTensor[] = weights.map((w, i) => ({ name: `${prefix}${i}`, tensor: w.tensor }));
  const extras = optimizerExtras(optimizer);
  for (const [key, v] of extras) tensors.push({ name: `${prefix}extra/${key}`, tensor: v });
  const record: OptimizerRecord = {
    className: optimizer.getClassName(),
    config: optimizer.getConfig() as Record<string, unknown>,
    weights: weights.map((w) => w.name),
    extras: extras.map(([k]) => k),
  };
  return { record, tensors, owned };
}

/** Records a network's shape and variables. */
export function modelRecord(exampleShape: readonly number[], vars: readonly tf.Variable[], latentDim?: number): ModelRecord {
  return { exampleShape: [...exampleShape], ...(latentDim === undefined ? {} : { latentDim }), variables: variableRecords(vars) };
}

const isNumberArray = (x: unknown): x is number[] => Array.isArray(x) && x.every((v) => typeof v === 'number');

/**
 * Validates the header of a loaded checkpoint against what this build can read.
 *
 * @throws {@link CheckpointError} naming the first problem.
 */
export function parseHeader(topology: unknown): CheckpointHeader {
  if (!isRecord(topology) || topology.format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(
      `not a tfjs-gan checkpoint (format is ${JSON.stringify(isRecord(topology) ? topology.format : typeof topology)})`,
    );
  }
  const version = topology.version;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    throw new CheckpointError(`invalid checkpoint version ${JSON.stringify(version)}`);
  }
  if (version > CHECKPOINT_VERSION) {
    throw new CheckpointError(
      `checkpoint format version ${version} is newer than this tfjs-gan reads (${CHECKPOINT_VERSION}); upgrade tfjs-gan to load it`,
    );
  }
  for (const key of ['step', 'epoch', 'random'] as const) {
    const v = topology[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new CheckpointError(`invalid ${key}: ${JSON.stringify(v)}`);
  }
  const models = topology.models;
  const optimizers = topology.optimizers;
  if (!isRecord(models) || !isRecord(optimizers))
    throw new CheckpointError('the checkpoint lacks its model or optimizer records');
  for (const role of ['generator', 'discriminator'] as const) {
    const m = models[role];
    if (!isRecord(m) || !isNumberArray(m.exampleShape) || !Array.isArray(m.variables)) {
      throw new CheckpointError(`the ${role} record is malformed`);
    }
    for (const v of m.variables) {
      if (!isRecord(v) || typeof v.name !== 'string' || !isNumberArray(v.shape) || typeof v.dtype !== 'string') {
        throw new CheckpointError(`the ${role} record has a malformed variable`);
      }
    }
    const o = optimizers[role];
    if (
      !isRecord(o) ||
      typeof o.className !== 'string' ||
      !isRecord(o.config) ||
      !Array.isArray(o.weights) ||
      !Array.isArray(o.extras)
    ) {
      throw new CheckpointError(`the ${role} optimizer record is malformed`);
    }
  }
  const history = topology.history;
  if (!isRecord(history) || !Array.isArray(history.steps) || !Array.isArray(history.epochs)) {
    throw new CheckpointError('the checkpoint history is malformed');
  }
  if (typeof topology.loss !== 'string' || !isRecord(topology.config))
    throw new CheckpointError('the checkpoint lacks its loss or config');
  const components = topology.components;
  if (components !== undefined) {
    if (version < 2 || !isRecord(components)) throw new CheckpointError('the component records are malformed');
    for (const [key, c] of Object.entries(components)) {
      assertStateName('component key', key);
      if (!isRecord(c) || !isRecord(c.data) || !Array.isArray(c.tensors)) {
        throw new CheckpointError(`the state record of "${key}" is malformed`);
      }
      for (const t of c.tensors) {
        if (!isRecord(t) || typeof t.name !== 'string' || !isNumberArray(t.shape) || typeof t.dtype !== 'string') {
          throw new CheckpointError(`the state record of "${key}" has a malformed tensor`);
        }
      }
    }
  }
  return topology as unknown as CheckpointHeader;
}

/**
 * Checks that a checkpoint's recorded variables match the live ones exactly
 * (count, shapes, dtypes), so nothing is half-loaded.
 */
export function assertSameVariables(role: string, recorded: readonly VariableRecord[], live: readonly tf.Variable[]): void {
  if (recorded.length !== live.length) {
    throw new CheckpointError(
      `${role}: the checkpoint holds ${recorded.length} variables, the model has ${live.length} — a different architecture`,
    );
  }
  recorded.forEach((r, i) => {
    const v = live[i] as tf.Variable;
    if (r.shape.length !== v.shape.length || r.shape.some((d, j) => d !== v.shape[j]) || r.dtype !== v.dtype) {
      throw new CheckpointError(
        `${role}: variable ${i} ("${r.name}") is ${r.dtype}[${r.shape.join(', ')}] in the checkpoint but ${v.dtype}[${v.shape.join(', ')}] in the model ("${v.name}")`,
      );
    }
  });
}

/** Checks that the weight specs cover exactly the expected bytes. */
export function assertWeightData(specs: readonly tf.io.WeightsManifestEntry[], data: ArrayBuffer): void {
  const bytesPer: Record<string, number> = { float32: 4, int32: 4, bool: 1 };
  let expected = 0;
  for (const s of specs) {
    const per = bytesPer[s.dtype];
    if (per === undefined || s.quantization !== undefined)
      throw new CheckpointError(`weight "${s.name}" has an unsupported dtype ${s.dtype}`);
    expected += per * s.shape.reduce((a, b) => a * b, 1);
  }
  if (data.byteLength !== expected) {
    throw new CheckpointError(
      `the weight data is ${data.byteLength} bytes but the specs need ${expected} — truncated or corrupt`,
    );
  }
}
