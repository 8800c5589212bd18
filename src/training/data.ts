import * as tf from '@tensorflow/tfjs-core';
import { type LabelsInput, toLabels } from '../conditional/labels';
import { DataError, formatShape, GANConfigError, ShapeMismatchError } from '../errors';
import type { Random } from '../random';

/** Anything `tf.tensor()` accepts: nested number arrays or typed arrays. */
export type TensorLikeData = tf.TensorLike;

/** An iterator over batches, as `tf.data.Dataset.iterator()` resolves to. */
export interface BatchIterator<T> {
  /** The next batch, or `done` at the end of the pass. */
  next(): Promise<IteratorResult<T>>;
}

/** A `tf.data.Dataset`-like source: anything with an async `iterator()` whose `next()` yields batches. */
export interface DatasetLike<T> {
  /** Starts a new pass over the data. */
  iterator(): Promise<BatchIterator<T>>;
}

/** One batch as `fit` and `step` accept it. */
export type BatchInput = tf.Tensor | TensorLikeData;

/**
 * Training data for `fit`:
 * - a `tf.Tensor` whose first axis indexes examples (the trainer batches and shuffles it; you keep ownership);
 * - nested arrays or a typed array of examples (rank-1 data is taken as flat examples);
 * - an iterable, async iterable or `tf.data.Dataset` of **batches**. As in `model.fitDataset`,
 *   batch tensors it yields are disposed by the trainer after use. It must be re-iterable
 *   for more than one epoch.
 */
export type GANData = tf.Tensor | TensorLikeData | Iterable<BatchInput> | AsyncIterable<BatchInput> | DatasetLike<BatchInput>;

/** A labelled batch (or, given to `fit`, a whole labelled dataset): examples and their classes. */
export interface LabeledBatch {
  /** The examples, `[n, ...exampleShape]`. */
  readonly x: BatchInput;
  /** Their classes: indices `[n]` or one-hot `[n, numClasses]`. */
  readonly labels: LabelsInput;
}

/**
 * Training data of a conditional GAN: one {@link LabeledBatch} holding the whole dataset (the
 * trainer batches and shuffles it), or an iterable / async iterable / `tf.data`-like dataset of
 * labelled batches.
 */
export type LabeledData = LabeledBatch | Iterable<LabeledBatch> | AsyncIterable<LabeledBatch> | DatasetLike<LabeledBatch>;

/** A validated batch owned by the trainer. */
export interface Batch {
  /** Examples, float32. */
  readonly x: tf.Tensor;
  /** Class indices, int32, for conditional training. */
  readonly labels?: tf.Tensor1D;
}

/** Disposes a batch's tensors. */
export function disposeBatch(b: Batch): void {
  b.x.dispose();
  b.labels?.dispose();
}

/** A per-epoch stream of batches; each returned batch belongs to the caller. */
export interface BatchStream {
  next(): Promise<Batch | undefined>;
  /** Releases what the stream holds. */
  close(): void;
}

/** A source of epochs. */
export interface DataSource {
  /** `true` when batches still need a finiteness check (the whole-tensor sources were checked once). */
  readonly checkBatches: boolean;
  /** Number of examples, when known. */
  readonly size: number | undefined;
  epoch(random: Random): BatchStream;
  dispose(): void;
}

const isTypedArray = (x: unknown): x is ArrayBufferView => ArrayBuffer.isView(x);

/** Turns one batch (or a whole array dataset) into a float32 tensor shaped `[n, ...exampleShape]`. */
export function toExamples(input: BatchInput, exampleShape: readonly number[], what: string): tf.Tensor {
  return tf.tidy(() => {
    let t = input instanceof tf.Tensor ? input : tf.tensor(input as tf.TensorLike);
    const perExample = exampleShape.reduce((a, b) => a * b, 1);
    if (t.rank === 1) {
      if (t.size % perExample !== 0) {
        throw new ShapeMismatchError(what, formatShape([null, ...exampleShape]), `a flat array of ${t.size} values`);
      }
      t = tf.reshape(t, [-1, ...exampleShape]);
    }
    const shape = t.shape.slice(1);
    if (shape.length !== exampleShape.length || shape.some((d, i) => d !== exampleShape[i])) {
      throw new ShapeMismatchError(what, formatShape([null, ...exampleShape]), formatShape(t.shape));
    }
    if (t.shape[0] === 0) throw new DataError(`${what}: is empty (0 examples)`);
    return t.dtype === 'float32' ? (t === input ? tf.clone(t) : t) : tf.cast(t, 'float32');
  });
}

/** Throws a {@link DataError} if `x` holds NaN or ±Infinity. Reads one boolean back. */
export async function assertFinite(x: tf.Tensor, what: string): Promise<void> {
  const bad = tf.tidy(() => tf.any(tf.logicalNot(tf.isFinite(x))));
  const [flag] = await bad.data();
  bad.dispose();
  if (flag) throw new DataError(`${what}: contains NaN or Infinity`);
}

function tensorSource(data: tf.Tensor, labels: tf.Tensor1D | undefined, batchSize: number, shuffle: boolean): DataSource {
  const n = data.shape[0] as number;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > n) {
    throw new GANConfigError('batchSize', `must be an integer in [1, ${n}] (the number of examples), got ${batchSize}`);
  }
  const batches = Math.floor(n / batchSize);
  return {
    checkBatches: false,
    size: n,
    epoch(random) {
      const order = shuffle ? random.shuffle(Array.from({ length: n }, (_, i) => i)) : undefined;
      let b = 0;
      return {
        next: async () => {
          if (b >= batches) return undefined;
          const start = b++ * batchSize;
          if (order === undefined) {
            return {
              x: tf.slice(data, start, batchSize),
              ...(labels === undefined ? {} : { labels: tf.slice(labels, start, batchSize) }),
            };
          }
          const idx = tf.tensor1d(order.slice(start, start + batchSize), 'int32');
          const batch = { x: tf.gather(data, idx), ...(labels === undefined ? {} : { labels: tf.gather(labels, idx) }) };
          idx.dispose();
          return batch;
        },
        close() {},
      };
    },
    dispose() {
      data.dispose();
      labels?.dispose();
    },
  };
}

type AnyIterable = Iterable<unknown> | AsyncIterable<unknown> | DatasetLike<unknown>;

function iterableSource(data: AnyIterable, shape: readonly number[], numClasses: number | undefined): DataSource {
  return {
    checkBatches: true,
    size: undefined,
    epoch() {
      let iterator: Promise<{ next(): Promise<IteratorResult<unknown>> | IteratorResult<unknown> }> | undefined;
      const open = () => {
        if (Symbol.asyncIterator in data) return Promise.resolve(data[Symbol.asyncIterator]());
        if (Symbol.iterator in data) return Promise.resolve(data[Symbol.iterator]());
        return data.iterator();
      };
      return {
        next: async () => {
          iterator ??= open();
          const result = await (await iterator).next();
          if (result.done) return undefined;
          const value = result.value;
          try {
            return await toBatch(value, shape, numClasses, 'data batch');
          } finally {
            // The trainer owns yielded tensors (as model.fitDataset does).
            tf.dispose(ownedTensors(value));
          }
        },
        close() {},
      };
    },
    dispose() {},
  };
}

function ownedTensors(value: unknown): tf.Tensor[] {
  if (value instanceof tf.Tensor) return [value];
  if (isLabeled(value)) return [value.x, value.labels].filter((t): t is tf.Tensor => t instanceof tf.Tensor);
  return [];
}

/** Whether a value is a `{ x, labels }` record. */
export function isLabeled(value: unknown): value is LabeledBatch {
  return typeof value === 'object' && value !== null && !(value instanceof tf.Tensor) && 'x' in value && 'labels' in value;
}

/**
 * Converts and validates one batch: examples of the right shape and, for conditional
 * training (`numClasses` given), one valid label per example. Returns new tensors.
 */
export async function toBatch(
  value: unknown,
  shape: readonly number[],
  numClasses: number | undefined,
  what: string,
): Promise<Batch> {
  if (numClasses === undefined) {
    if (isLabeled(value)) throw new GANConfigError(what, 'labels were given to an unconditional GAN (pass the examples alone)');
    return { x: toExamples(value as BatchInput, shape, what) };
  }
  if (!isLabeled(value)) {
    throw new GANConfigError(`${what}`, 'a conditional GAN needs labelled batches: { x, labels }');
  }
  const x = toExamples(value.x, shape, what);
  try {
    return { x, labels: await toLabels(value.labels, numClasses, x.shape[0], `${what} labels`) };
  } catch (e) {
    x.dispose();
    throw e;
  }
}

/** Options of {@link createDataSource}. */
export interface DataSourceOptions {
  /** Batch size for tensor and array data. */
  readonly batchSize: number;
  /** Shuffle tensor and array data every epoch. */
  readonly shuffle: boolean;
  /** Check tensor and array data once for NaN/Infinity. */
  readonly checkFinite: boolean;
  /** The number of classes, for conditional training. */
  readonly numClasses?: number;
}

const isWholeData = (data: unknown): boolean => data instanceof tf.Tensor || Array.isArray(data) || isTypedArray(data);

/**
 * Normalises any {@link GANData} (or {@link LabeledData}) into a {@link DataSource},
 * validating tensor and array data (shape, emptiness, batch size, finiteness, labels) up front.
 */
export async function createDataSource(
  data: GANData | LabeledData,
  exampleShape: readonly number[],
  options: DataSourceOptions,
): Promise<DataSource> {
  const { numClasses } = options;
  const whole =
    numClasses === undefined
      ? isWholeData(data)
        ? data
        : undefined
      : isLabeled(data) && isWholeData(data.x)
        ? data.x
        : undefined;
  if (numClasses === undefined && isLabeled(data)) {
    throw new GANConfigError('data', 'labels were given to an unconditional GAN (pass the examples alone)');
  }
  if (whole !== undefined) {
    if (whole instanceof tf.Tensor && whole.isDisposed) throw new DataError('data: the tensor is disposed');
    if (!(whole instanceof tf.Tensor) && (whole as ArrayLike<unknown>).length === 0)
      throw new DataError('data: is empty (0 examples)');
    const examples = toExamples(whole as BatchInput, exampleShape, 'data');
    let labels: tf.Tensor1D | undefined;
    try {
      if (numClasses !== undefined)
        labels = await toLabels((data as LabeledBatch).labels, numClasses, examples.shape[0], 'data labels');
      if (options.checkFinite) await assertFinite(examples, 'data');
      return tensorSource(examples, labels, options.batchSize, options.shuffle);
    } catch (e) {
      examples.dispose();
      labels?.dispose();
      throw e;
    }
  }
  if (
    data !== null &&
    typeof data === 'object' &&
    (Symbol.asyncIterator in data || Symbol.iterator in data || 'iterator' in data)
  ) {
    return iterableSource(data as AnyIterable, exampleShape, numClasses);
  }
  throw new DataError(
    numClasses === undefined
      ? 'data: expected a tf.Tensor, an array, an iterable or async iterable of batches, or a tf.data.Dataset'
      : 'data: expected { x, labels } or an iterable, async iterable or tf.data.Dataset of { x, labels } batches',
  );
}
