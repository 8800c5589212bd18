/**
 * Dropout whose masks come from a seeded stream. tfjs-layers' `dropout({ seed })` seeds a fresh
 * generator with the same seed on every call, so it drops the **same units for every batch** — a fixed
 * random sub-network, not dropout. This layer draws call t's mask with seed f(seed, t): a new mask each
 * training-mode call, and the same sequence of masks in every run with the same seed.
 *
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { GANConfigError } from '../errors';
import { noteForwardState } from './forward-state';

/** Configuration of {@link SeededDropout} (also its serialised form). */
export interface SeededDropoutArgs {
  /** Share of units dropped, in [0, 1). */
  readonly rate: number;
  /** Seed of the stream of masks. */
  readonly seed: number;
  /** Layer name (tfjs-layers makes one up when absent). */
  readonly name?: string;
}

/**
 * A dropout layer with a fresh, reproducible mask at every training-mode call (see the module
 * comment); identity at inference. Registered for (de)serialisation as `TfjsGanSeededDropout`.
 * The call counter lives in JavaScript: a run resumed from a checkpoint draws its masks afresh from
 * the seed (the weights resume exactly; the masks after the resume are a different, equally valid draw),
 * so a model with dropout does not resume bit for bit. An update the trainer's non-finite guard undoes
 * puts the counter back ({@link noteForwardState}).
 *
 * @throws {@link GANConfigError} for a rate outside [0, 1) or a seed that is not an integer.
 */
export class SeededDropout extends tfl.layers.Layer {
  /** @internal */
  static className = 'TfjsGanSeededDropout';
  /** Share of units dropped. */
  readonly rate: number;
  /** Seed of the stream of masks. */
  readonly seed: number;
  private calls = 0;

  constructor(args: SeededDropoutArgs) {
    super(args.name === undefined ? {} : { name: args.name });
    if (!(args.rate >= 0 && args.rate < 1)) throw new GANConfigError('rate', `must be in [0, 1), got ${args.rate}`);
    if (!Number.isSafeInteger(args.seed)) throw new GANConfigError('seed', `must be an integer, got ${String(args.seed)}`);
    this.rate = args.rate;
    this.seed = args.seed;
    this.supportsMasking = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    const x = Array.isArray(inputs) ? (inputs[0] as tf.Tensor) : inputs;
    if (kwargs.training !== true || this.rate === 0) return x; // as tfjs-layers' own dropout does
    // A distinct seed per call: golden-ratio steps of the counter mixed into the layer's seed.
    const calls = this.calls++;
    // An update the non-finite guard undoes gives its masks back: the next update draws them again.
    noteForwardState(() => {
      this.calls = calls;
    });
    const seed = (Math.imul(calls, 0x9e3779b1) ^ this.seed) >>> 0;
    return tf.dropout(x, this.rate, undefined, seed);
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape | tfl.Shape[] {
    return inputShape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate, seed: this.seed };
  }
}
tf.serialization.registerClass(SeededDropout);
