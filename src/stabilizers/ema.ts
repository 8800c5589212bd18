import * as tf from '@tensorflow/tfjs-core';
import { CheckpointError, GANConfigError, GANError } from '../errors';
import { assertFits, type Checkpointable, type ComponentState } from '../io/checkpoint';
import type { AnyGenerator } from '../models/types';
import type { GANCallback, StepLogs } from '../training/callbacks';

/** Options of {@link generatorEma}. */
export interface GeneratorEmaOptions {
  /** β: after each step, shadow ← β·shadow + (1 − β)·weights. Default 0.999. */
  readonly decay?: number;
  /**
   * How the average starts, so that it is not dominated by the weights it was created from:
   * - `true` (default): β_t = min(β, (1 + t)/(10 + t)) at the t-th update, as TensorFlow's
   *   ExponentialMovingAverage does with `num_updates`. This also caps the window: β_t < β until
   *   t ≈ 9/(1 − β) — e.g. with β = 0.9995 for the first 18 000 updates, where the average spans
   *   about the last t/9 updates instead of 1/(1 − β).
   * - `'debiased'`: β_t = β·(1 − βᵗ)/(1 − βᵗ⁺¹), Adam's bias correction. The shadow is then exactly
   *   Σ βᵃ·w / Σ βᵃ over the weights folded in so far (a = their age in updates): the first update
   *   copies the weights, the creation-time weights carry no weight, and the window is 1/(1 − β)
   *   as soon as that many updates have run.
   * - `false`: β from the first update (the creation-time weights keep a share βᵗ).
   */
  readonly warmup?: boolean | 'debiased';
  /** Update the average every this many steps. Default 1. */
  readonly every?: number;
  /** The name of its state in checkpoints; give two EMAs of one trainer different keys. Default `'generatorEma'`. */
  readonly checkpointKey?: string;
}

/** An exponential moving average of a generator's weights; pass it to `fit`'s callbacks. */
export interface GeneratorEma extends GANCallback, Checkpointable {
  /** The shadow copies, one per variable of the generator's state, in its order. */
  readonly shadow: readonly tf.Variable[];
  /** Averaging updates made so far. */
  readonly updates: number;
  /** Folds the generator's current weights into the average (the callback does it after each step). */
  update(): void;
  /** Restarts the average from the generator's current weights. */
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
 * Non-trainable state (batch-norm statistics) is averaged too. Backends: all (the conformance
 * suite trains with it on cpu, wasm, webgl and webgpu).
 *
 * It is {@link Checkpointable}: give it to the trainer's `checkpointed` option and checkpoints keep the
 * average (shadow weights, update count, whether it is swapped in), so a resumed run continues it
 * exactly. Restored from a checkpoint that holds no average (version 1, or saved without it), it
 * restarts from the restored generator's weights, as {@link GeneratorEma.reset} does.
 *
 * @example
 * ```ts
 * const ema = stabilizers.generatorEma(generator, { decay: 0.999 });
 * const trainer = new GANTrainer({ generator, discriminator, checkpointed: [ema] });
 * await trainer.fit(data, { callbacks: [ema] });
 * const samples = ema.run(() => trainer.sample(64));
 * ```
 * @throws {@link GANConfigError} for a decay outside [0, 1), a bad `every` or `warmup`.
 */
export function generatorEma(generator: AnyGenerator, options: GeneratorEmaOptions = {}): GeneratorEma {
  const decay = options.decay ?? 0.999;
  if (!(decay >= 0 && decay < 1)) throw new GANConfigError('decay', `must be in [0, 1), got ${decay}`);
  const every = options.every ?? 1;
  if (!Number.isInteger(every) || every < 1) throw new GANConfigError('every', `must be a positive integer, got ${every}`);
  const warmup = options.warmup ?? true;
  if (typeof warmup !== 'boolean' && warmup !== 'debiased') {
    throw new GANConfigError('warmup', `must be true, false or 'debiased', got ${JSON.stringify(warmup)}`);
  }
  const betaAt = (t: number): number => {
    if (warmup === true) return Math.min(decay, (1 + t) / (10 + t));
    if (warmup === 'debiased') return (decay * (1 - decay ** t)) / (1 - decay ** (t + 1));
    return decay;
  };
  const checkpointKey = options.checkpointKey ?? 'generatorEma';
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
      const beta = betaAt(updates);
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
    checkpointKey,
    checkpointState() {
      usable();
      return {
        data: { updates, swapped, decay, warmup, every },
        tensors: Object.fromEntries(shadow.map((s, i) => [`shadow/${i}`, s])),
      };
    },
    prepareRestore(state: ComponentState | undefined) {
      usable();
      if (state === undefined) {
        // None saved: restart from the restored generator, which holds the training weights now.
        return () => {
          tf.tidy(() => {
            weights().forEach((v, i) => {
              (shadow[i] as tf.Variable).assign(v);
            });
          });
          updates = 0;
          swapped = false;
        };
      }
      const { data, tensors } = state;
      const n = Object.keys(tensors).length;
      if (n !== shadow.length) {
        throw new CheckpointError(
          `${checkpointKey}: the checkpoint holds ${n} averaged variables, the generator has ${shadow.length} — another architecture`,
        );
      }
      const values = shadow.map((s, i) => assertFits(`${checkpointKey}: averaged variable ${i}`, tensors[`shadow/${i}`], s));
      const saved = data.updates;
      if (typeof saved !== 'number' || !Number.isInteger(saved) || saved < 0 || typeof data.swapped !== 'boolean') {
        throw new CheckpointError(
          `${checkpointKey}: malformed state (updates ${JSON.stringify(saved)}, swapped ${JSON.stringify(data.swapped)})`,
        );
      }
      const wasSwapped = data.swapped;
      return () => {
        // The trainer has just restored the generator: as saved, it holds the average when wasSwapped.
        tf.tidy(() => {
          values.forEach((t, i) => {
            (shadow[i] as tf.Variable).assign(t);
          });
        });
        updates = saved;
        swapped = wasSwapped;
      };
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
