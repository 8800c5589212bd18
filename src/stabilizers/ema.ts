import * as tf from '@tensorflow/tfjs-core';
import { GANConfigError, GANError } from '../errors';
import type { AnyGenerator } from '../models/types';
import type { GANCallback, StepLogs } from '../training/callbacks';

/** Options of {@link generatorEma}. */
export interface GeneratorEmaOptions {
  /** β: after each step, shadow ← β·shadow + (1 − β)·weights. Default 0.999. */
  readonly decay?: number;
  /**
   * Use min(β, (1 + t)/(10 + t)) at the t-th update, as TensorFlow's ExponentialMovingAverage does
   * with `num_updates`, so that an early average is not dominated by the initial weights. Default `true`.
   */
  readonly warmup?: boolean;
  /** Update the average every this many steps. Default 1. */
  readonly every?: number;
}

/** An exponential moving average of a generator's weights; pass it to `fit`'s callbacks. */
export interface GeneratorEma extends GANCallback {
  /** The shadow copies, one per variable of the generator's state, in its order. */
  readonly shadow: readonly tf.Variable[];
  /** Averaging updates made so far. */
  readonly updates: number;
  /** Folds the generator's current weights into the average (the callback does it after each step). */
  update(): void;
  /** Restarts the average from the generator's current weights (e.g. after loading a checkpoint). */
  reset(): void;
  /**
   * Runs `fn` with the averaged weights swapped into the generator, then swaps the training weights
   * back — even if `fn` throws. Use it to sample or export: `ema.run(() => trainer.sample(64))`.
   * `fn` must be synchronous (for async work, use {@link GeneratorEma.swap} twice).
   */
  run<T>(fn: () => T): T;
  /** Exchanges the generator's weights and the averaged ones (call again to swap back). */
  swap(): void;
  /** Whether the averaged weights are swapped in right now. */
  readonly swapped: boolean;
  /** Releases the shadow copies. */
  dispose(): void;
}

/**
 * An exponential moving average of G's weights (Yazıcı et al. 2019; used by ProGAN, StyleGAN,
 * BigGAN): sampling from the average gives smoother, usually better samples than the last iterate.
 * The shadow copies live beside the model; each `update` is one `tf.tidy` of assigns — leak-free.
 * Non-trainable state (batch-norm statistics) is averaged too. The average is not part of the
 * trainer's checkpoint: after `GANTrainer.load`, call `reset()`, or `swap()` before `save` /
 * `exportGenerator` to store the averaged weights as the generator's. Backends: all.
 *
 * @example
 * ```ts
 * const ema = stabilizers.generatorEma(trainer.generator, { decay: 0.999 });
 * await trainer.fit(data, { callbacks: [ema] });
 * const samples = ema.run(() => trainer.sample(64));
 * ```
 * @throws {@link GANConfigError} for a decay outside [0, 1) or a bad `every`.
 */
export function generatorEma(generator: AnyGenerator, options: GeneratorEmaOptions = {}): GeneratorEma {
  const decay = options.decay ?? 0.999;
  if (!(decay >= 0 && decay < 1)) throw new GANConfigError('decay', `must be in [0, 1), got ${decay}`);
  const every = options.every ?? 1;
  if (!Number.isInteger(every) || every < 1) throw new GANConfigError('every', `must be a positive integer, got ${every}`);
  const warmup = options.warmup ?? true;
  const weights = (): readonly tf.Variable[] => generator.stateVariables ?? generator.trainableVariables;
  const shadow = tf.tidy(() => weights().map((v) => tf.variable(v.clone(), false, undefined, v.dtype)));
  let updates = 0;
  let swapped = false;
  let disposed = false;
  const usable = () => {
    if (disposed) throw new GANError('this EMA has been disposed');
  };
  const exchange = () => {
    tf.tidy(() => {
      weights().forEach((v, i) => {
        const s = shadow[i] as tf.Variable;
        const tmp = v.clone();
        v.assign(s);
        s.assign(tmp);
      });
    });
    swapped = !swapped;
  };
  const ema: GeneratorEma = {
    shadow,
    get updates() {
      return updates;
    },
    get swapped() {
      return swapped;
    },
    update() {
      usable();
      if (swapped) throw new GANError('swap the training weights back before updating the average');
      const beta = warmup ? Math.min(decay, (1 + updates) / (10 + updates)) : decay;
      tf.tidy(() => {
        weights().forEach((v, i) => {
          const s = shadow[i] as tf.Variable;
          if (v.dtype !== 'float32') s.assign(v);
          else s.assign(tf.add(tf.mul(s, beta), tf.mul(v, 1 - beta)));
        });
      });
      updates++;
    },
    reset() {
      usable();
      if (swapped) exchange();
      tf.tidy(() => {
        weights().forEach((v, i) => {
          (shadow[i] as tf.Variable).assign(v);
        });
      });
      updates = 0;
    },
    run<T>(fn: () => T): T {
      usable();
      if (swapped) return fn();
      exchange();
      try {
        return fn();
      } finally {
        exchange();
      }
    },
    swap() {
      usable();
      exchange();
    },
    onStepEnd(logs: StepLogs) {
      if ((logs.step + 1) % every === 0) ema.update();
    },
    dispose() {
      if (disposed) return;
      if (swapped) exchange();
      disposed = true;
      tf.dispose(shadow);
    },
  };
  return ema;
}
