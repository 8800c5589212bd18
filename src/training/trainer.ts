import * as tf from '@tensorflow/tfjs-core';
import { DataError, formatShape, GANConfigError, GANError, ShapeMismatchError } from '../errors';
import { type LossName, resolveLoss } from '../losses/builtins';
import type { GANLoss } from '../losses/types';
import type { Discriminator, Generator } from '../models/types';
import { Random } from '../random';
import { type CallbackContext, epochLogs, type GANCallback, History, type StepLogs } from './callbacks';
import { assertFinite, type BatchInput, createDataSource, type GANData, toExamples } from './data';
import { assertCounts, fixedSchedule, type UpdateSchedule } from './schedule';
import { discriminatorStep, generatorStep } from './step';

/** Draws a batch of latent vectors `[n, latentDim]`; `seed` comes from the trainer's seeded generator. */
export type NoiseSampler = (shape: [number, number], seed: number) => tf.Tensor2D;

/** Built-in latent distributions: standard normal, or uniform on [−1, 1]. */
export type NoiseName = 'normal' | 'uniform';

/** Returns the sampler for a built-in latent distribution. */
export function noiseSampler(name: NoiseName): NoiseSampler {
  return name === 'normal'
    ? (shape, seed) => tf.randomNormal(shape, 0, 1, 'float32', seed)
    : (shape, seed) => tf.randomUniform(shape, -1, 1, 'float32', seed);
}

/** Configuration of a {@link GANTrainer}. */
export interface GANTrainerConfig {
  /** The generator G. */
  readonly generator: Generator;
  /** The discriminator (critic) D; it must return logits. */
  readonly discriminator: Discriminator;
  /** The objective: a {@link GANLoss} or a built-in's name. Default `'non-saturating'`. */
  readonly loss?: GANLoss | LossName;
  /** k: discriminator updates per step, each on its own real batch (Algorithm 1). Default 1. */
  readonly discriminatorSteps?: number;
  /** Generator updates per step. Default 1. */
  readonly generatorSteps?: number;
  /** A custom policy for the counts above (adaptive k, …); excludes the two count options. */
  readonly schedule?: UpdateSchedule;
  /** G's optimizer. Default `tf.train.adam(2e-4, 0.5)`. The trainer owns it. */
  readonly generatorOptimizer?: tf.Optimizer;
  /** D's optimizer. Default `tf.train.adam(2e-4, 0.5)`. The trainer owns it. */
  readonly discriminatorOptimizer?: tf.Optimizer;
  /** The latent distribution. Default `'normal'`. */
  readonly noise?: NoiseName | NoiseSampler;
  /** Seed of every random draw the trainer makes (noise, shuffling). */
  readonly seed?: number;
  /** Reject data holding NaN/Infinity before it reaches the models. Default `true`. */
  readonly checkFinite?: boolean;
}

/** Options of {@link GANTrainer.fit}. */
export interface FitOptions {
  /** Passes over the data. Default 1. */
  readonly epochs?: number;
  /** Examples per batch, for tensor and array data. Default 32. */
  readonly batchSize?: number;
  /** Shuffle tensor and array data each epoch. Default `true`. */
  readonly shuffle?: boolean;
  /** Hooks called during training. */
  readonly callbacks?: readonly GANCallback[];
  /** Stops training cleanly between steps; `fit` then resolves with `stopReason: 'aborted'`. */
  readonly signal?: AbortSignal;
}

const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Trains a GAN with Algorithm 1 of Goodfellow et al. (2014): each step makes
 * k discriminator updates, each on a fresh real batch and fresh noise, then
 * the generator updates. D's update moves only D's variables and G's only G's.
 *
 * @example
 * ```ts
 * const trainer = new GANTrainer({ generator: mlpGenerator(), discriminator: mlpDiscriminator(), loss: 'non-saturating' });
 * const history = await trainer.fit(images, { epochs: 10, batchSize: 100 });
 * const samples = trainer.sample(16);
 * ```
 */
export class GANTrainer {
  /** The generator being trained. */
  readonly generator: Generator;
  /** The discriminator being trained. */
  readonly discriminator: Discriminator;
  /** The resolved objective. */
  readonly loss: GANLoss;
  /** The k-steps policy. */
  readonly schedule: UpdateSchedule;
  /** G's optimizer. */
  readonly generatorOptimizer: tf.Optimizer;
  /** D's optimizer. */
  readonly discriminatorOptimizer: tf.Optimizer;
  /** The trainer's seeded random source (noise seeds and shuffling). */
  readonly random: Random;

  private readonly sampleNoise: NoiseSampler;
  private readonly checkFinite: boolean;
  private globalStep = 0;
  private globalEpoch = 0;
  private busy = false;
  private disposed = false;

  /**
   * @throws {@link GANConfigError} for invalid options (unknown loss name, k < 1, …).
   * @throws {@link ShapeMismatchError} when G's output does not fit D's input, or D does not return one logit per example.
   */
  constructor(config: GANTrainerConfig) {
    const { generator, discriminator } = config;
    if (generator == null || discriminator == null) {
      throw new GANConfigError(generator == null ? 'generator' : 'discriminator', 'is required');
    }
    if (!sameShape(generator.outputShape, discriminator.inputShape)) {
      throw new ShapeMismatchError(
        'generator output vs discriminator input',
        formatShape([null, ...discriminator.inputShape]),
        formatShape([null, ...generator.outputShape]),
      );
    }
    this.loss = resolveLoss(config.loss ?? 'non-saturating');
    if (config.schedule !== undefined && (config.discriminatorSteps !== undefined || config.generatorSteps !== undefined)) {
      throw new GANConfigError('schedule', 'give either a schedule or discriminatorSteps/generatorSteps, not both');
    }
    this.schedule =
      config.schedule ?? fixedSchedule({ discriminator: config.discriminatorSteps ?? 1, generator: config.generatorSteps ?? 1 });
    const noise = config.noise ?? 'normal';
    if (typeof noise === 'string' && noise !== 'normal' && noise !== 'uniform') {
      throw new GANConfigError('noise', `unknown noise "${String(noise)}"; expected 'normal', 'uniform' or a function`);
    }
    if (config.seed !== undefined && !Number.isFinite(config.seed)) {
      throw new GANConfigError('seed', `must be a finite number, got ${config.seed}`);
    }
    this.generator = generator;
    this.discriminator = discriminator;
    this.checkDryRun();
    this.sampleNoise = typeof noise === 'function' ? noise : noiseSampler(noise);
    this.random = new Random(config.seed);
    this.checkFinite = config.checkFinite ?? true;
    this.generatorOptimizer = config.generatorOptimizer ?? tf.train.adam(2e-4, 0.5);
    this.discriminatorOptimizer = config.discriminatorOptimizer ?? tf.train.adam(2e-4, 0.5);
  }

  /** Global step counter: the number of training steps run so far. */
  get stepCount(): number {
    return this.globalStep;
  }

  /** Epochs completed by `fit` so far. */
  get epochCount(): number {
    return this.globalEpoch;
  }

  /** Runs G and D once on two zero latent vectors (inference mode: no state changes) to check their shapes. */
  private checkDryRun(): void {
    const { generator: g, discriminator: d } = this;
    tf.tidy(() => {
      const fake = g.apply(tf.zeros([2, g.latentDim]) as tf.Tensor2D, { training: false });
      if (!sameShape(fake.shape, [2, ...g.outputShape])) {
        throw new ShapeMismatchError(
          'generator output (for 2 latent vectors)',
          formatShape([2, ...g.outputShape]),
          formatShape(fake.shape),
        );
      }
      const logits = d.apply(fake, { training: false });
      if (!sameShape(logits.shape, [2, 1]) && !sameShape(logits.shape, [2])) {
        throw new ShapeMismatchError(
          'discriminator output (one logit per example, for 2 examples)',
          '[2, 1] or [2]',
          formatShape(logits.shape),
        );
      }
    });
  }

  private assertUsable(): void {
    if (this.disposed) throw new GANError('this trainer has been disposed');
  }

  private noise(n: number): tf.Tensor2D {
    return this.sampleNoise([n, this.generator.latentDim], this.random.nextSeed());
  }

  /** Runs one step on already validated, trainer-owned batches, then disposes them. */
  private async runStep(batches: tf.Tensor[], epoch: number): Promise<StepLogs> {
    const parts = { generator: this.generator, discriminator: this.discriminator, loss: this.loss };
    const counts = this.schedule.countsAt(this.globalStep);
    const dStats: tf.Tensor[] = [];
    const gLosses: tf.Tensor[] = [];
    let m = 0;
    try {
      for (const real of batches) {
        m = real.shape[0] as number;
        const z = this.noise(m);
        dStats.push(discriminatorStep({ ...parts, optimizer: this.discriminatorOptimizer, real, z }));
        z.dispose();
      }
      for (let i = 0; i < counts.generator; i++) {
        const z = this.noise(m);
        gLosses.push(generatorStep({ ...parts, optimizer: this.generatorOptimizer, z }));
        z.dispose();
      }
    } catch (err) {
      tf.dispose([...dStats, ...gLosses]);
      throw err;
    } finally {
      tf.dispose(batches);
    }
    // One read back per step: [dLoss, dReal, dFake, gLoss].
    const summary = tf.tidy(() => tf.concat([tf.mean(tf.stack(dStats), 0), tf.reshape(tf.mean(tf.stack(gLosses)), [1])]));
    tf.dispose([...dStats, ...gLosses]);
    const values = await summary.data();
    summary.dispose();
    const step = this.globalStep++;
    return {
      step,
      epoch,
      dLoss: values[0] as number,
      dReal: values[1] as number,
      dFake: values[2] as number,
      gLoss: values[3] as number,
    };
  }

  /** Converts and validates user batches; nothing is changed if this throws. */
  private async prepare(inputs: readonly BatchInput[]): Promise<tf.Tensor[]> {
    const prepared: tf.Tensor[] = [];
    try {
      for (const input of inputs) {
        const t = toExamples(input, this.discriminator.inputShape, 'data batch');
        prepared.push(t);
        if (this.checkFinite) await assertFinite(t, 'data batch');
      }
      return prepared;
    } catch (e) {
      tf.dispose(prepared);
      throw e;
    }
  }

  /**
   * Runs one training step: k discriminator updates, then the generator updates.
   *
   * @param batch one real batch (reused for each of the k updates) or exactly k batches.
   *   Your tensors stay yours: the trainer does not dispose them.
   * @throws {@link ShapeMismatchError}, {@link DataError} or {@link GANConfigError} before any variable changes.
   */
  async step(batch: BatchInput | readonly BatchInput[]): Promise<StepLogs> {
    this.assertUsable();
    this.enter();
    try {
      const counts = this.schedule.countsAt(this.globalStep);
      assertCounts(counts);
      const list = isBatchList(batch) ? batch : Array.from({ length: counts.discriminator }, () => batch as BatchInput);
      if (list.length !== counts.discriminator) {
        throw new GANConfigError('batch', `expected 1 batch or k = ${counts.discriminator} batches, got ${list.length}`);
      }
      const batches = await this.prepare(list);
      return await this.runStep(batches, this.globalEpoch);
    } finally {
      this.busy = false;
    }
  }

  private enter(): void {
    if (this.busy) throw new GANError('the trainer is already running a step or fit; await it first');
    this.busy = true;
  }

  /**
   * Trains on `data` for `epochs` passes. With k discriminator updates per step,
   * one epoch is ⌊batches / k⌋ steps; an incomplete final batch is dropped.
   *
   * @throws {@link GANConfigError}, {@link ShapeMismatchError} or {@link DataError} before any variable changes.
   */
  async fit(data: GANData, options: FitOptions = {}): Promise<History> {
    this.assertUsable();
    const epochs = options.epochs ?? 1;
    if (!Number.isInteger(epochs) || epochs < 1) throw new GANConfigError('epochs', `must be a positive integer, got ${epochs}`);
    const batchSize = options.batchSize ?? 32;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new GANConfigError('batchSize', `must be a positive integer, got ${batchSize}`);
    }
    this.enter();
    const history = new History();
    let stopRequested = false;
    const context: CallbackContext = {
      stop: () => {
        stopRequested = true;
      },
    };
    const callbacks = options.callbacks ?? [];
    const signal = options.signal;
    let source: Awaited<ReturnType<typeof createDataSource>> | undefined;
    try {
      source = await createDataSource(data, this.discriminator.inputShape, {
        batchSize,
        shuffle: options.shuffle ?? true,
        checkFinite: this.checkFinite,
      });
      for (const cb of callbacks) await cb.onTrainBegin?.(context);
      let lastYield = Date.now();
      for (let e = 0; e < epochs; e++) {
        if (signal?.aborted) break;
        const epoch = this.globalEpoch;
        for (const cb of callbacks) await cb.onEpochBegin?.(epoch, context);
        const stream = source.epoch(this.random);
        const stepsThisEpoch: StepLogs[] = [];
        try {
          for (;;) {
            if (signal?.aborted || stopRequested) break;
            const counts = this.schedule.countsAt(this.globalStep);
            assertCounts(counts);
            const batches: tf.Tensor[] = [];
            try {
              while (batches.length < counts.discriminator) {
                const b = await stream.next();
                if (b === undefined) break;
                batches.push(b);
                if (source.checkBatches && this.checkFinite) await assertFinite(b, 'data batch');
              }
            } catch (err) {
              tf.dispose(batches);
              throw err;
            }
            if (batches.length < counts.discriminator) {
              tf.dispose(batches);
              break;
            }
            for (const cb of callbacks) await cb.onStepBegin?.(this.globalStep, context);
            const logs = await this.runStep(batches, epoch);
            stepsThisEpoch.push(logs);
            history.steps.push(logs);
            for (const cb of callbacks) await cb.onStepEnd?.(logs, context);
            if (Date.now() - lastYield > 50) {
              // Let a browser page repaint and timers run during long fits.
              await new Promise((resolve) => setTimeout(resolve, 0));
              lastYield = Date.now();
            }
          }
        } finally {
          stream.close();
        }
        if (stepsThisEpoch.length === 0) {
          if (history.steps.length === 0 && !signal?.aborted && !stopRequested) {
            throw new DataError(
              `data: yielded too few batches for one step (k = ${this.schedule.countsAt(this.globalStep).discriminator} batches needed)`,
            );
          }
          break;
        }
        const logs = epochLogs(epoch, stepsThisEpoch);
        history.epochs.push(logs);
        this.globalEpoch++;
        for (const cb of callbacks) await cb.onEpochEnd?.(logs, context);
        if (stopRequested) break;
      }
      history.stopReason = signal?.aborted ? 'aborted' : stopRequested ? 'stopped' : 'completed';
      for (const cb of callbacks) await cb.onTrainEnd?.(history, context);
      return history;
    } finally {
      source?.dispose();
      this.busy = false;
    }
  }

  /**
   * Generates `n` examples from fresh noise (inference mode). The caller disposes the result.
   */
  sample(n: number): tf.Tensor {
    this.assertUsable();
    if (!Number.isInteger(n) || n < 1) throw new GANConfigError('n', `must be a positive integer, got ${n}`);
    return tf.tidy(() => this.generator.apply(this.noise(n), { training: false }));
  }

  /**
   * Runs G on given latent vectors `[n, latentDim]` (inference mode). The caller disposes the result.
   *
   * @throws {@link ShapeMismatchError} when `z` is not `[n, latentDim]`.
   */
  generate(z: tf.Tensor2D): tf.Tensor {
    this.assertUsable();
    if (z.rank !== 2 || z.shape[1] !== this.generator.latentDim) {
      throw new ShapeMismatchError('latent vectors', formatShape([null, this.generator.latentDim]), formatShape(z.shape));
    }
    return tf.tidy(() => this.generator.apply(z, { training: false }));
  }

  /**
   * D's probability D(x) = sigmoid(logit) for a batch of examples (inference mode). The caller disposes the result.
   */
  discriminate(x: tf.Tensor): tf.Tensor {
    this.assertUsable();
    const shape = x.shape.slice(1);
    if (!sameShape(shape, this.discriminator.inputShape)) {
      throw new ShapeMismatchError('examples', formatShape([null, ...this.discriminator.inputShape]), formatShape(x.shape));
    }
    return tf.tidy(() => tf.sigmoid(this.discriminator.apply(x, { training: false })));
  }

  /** Releases both optimizers and both models. The trainer cannot be used afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.generatorOptimizer.dispose();
    this.discriminatorOptimizer.dispose();
    this.generator.dispose?.();
    this.discriminator.dispose?.();
  }
}

function isBatchList(batch: BatchInput | readonly BatchInput[]): batch is readonly BatchInput[] {
  return Array.isArray(batch) && batch.length > 0 && batch.every((b) => b instanceof tf.Tensor);
}
