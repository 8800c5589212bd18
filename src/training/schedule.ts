import { CheckpointError, GANConfigError } from '../errors';
import type { Checkpointable, ComponentState } from '../io/checkpoint';
import type { StepLogs } from './callbacks';

/** How many updates of each network one training step makes. */
export interface UpdateCounts {
  /** Discriminator updates (k in Algorithm 1), each on a fresh real batch. */
  readonly discriminator: number;
  /** Generator updates after them. */
  readonly generator: number;
}

/**
 * The policy that decides, step by step, how many D and G updates to make —
 * kept apart from the mechanism that runs them.
 */
export interface UpdateSchedule {
  /** The counts for training step `step` (0-based, counted over the trainer's life). */
  countsAt(step: number): UpdateCounts;
  /**
   * Optional: receives every step's logs right after the step (before callbacks), so an adaptive
   * policy can react to how training goes.
   */
  observe?(logs: StepLogs): void;
}

/**
 * The paper's fixed schedule: k discriminator updates, then `generator` generator updates, every step.
 *
 * @throws {@link GANConfigError} when either count is not a positive integer.
 */
export function fixedSchedule(counts: Partial<UpdateCounts> = {}): UpdateSchedule {
  const resolved: UpdateCounts = { discriminator: counts.discriminator ?? 1, generator: counts.generator ?? 1 };
  assertCounts(resolved);
  return { countsAt: () => resolved };
}

/** Throws a {@link GANConfigError} unless both counts are positive integers. */
export function assertCounts(counts: UpdateCounts): void {
  const check = (option: string, value: number): void => {
    if (!Number.isInteger(value) || value < 1) {
      throw new GANConfigError(option, `must be a positive integer, got ${value}`);
    }
  };
  check('discriminatorSteps (k)', counts.discriminator);
  check('generatorSteps', counts.generator);
}

/** Options of {@link adaptiveSchedule}. */
export interface AdaptiveScheduleOptions {
  /** The counts when neither side runs away. Default 1 and 1. */
  readonly base?: Partial<UpdateCounts>;
  /** The most extra updates either side can get per step. Default 4. */
  readonly maxExtra?: number;
  /**
   * What is watched; higher means D is ahead. Default: D(x) − D(G(z)), the gap between D's mean
   * probabilities on real and generated examples.
   */
  readonly measure?: (logs: StepLogs) => number;
  /** Above this (smoothed) value D runs away: G gets one more update per step, up to `maxExtra`. Default 0.6. */
  readonly upper?: number;
  /** Below this value G runs away: D gets one more update per step. Default −0.1. */
  readonly lower?: number;
  /** Smoothing of the measure: m ← s·m + (1 − s)·value. Default 0.9. */
  readonly smoothing?: number;
  /** The name of its state in checkpoints. Default `'adaptiveSchedule'`. */
  readonly checkpointKey?: string;
}

/** An {@link UpdateSchedule} that adapts to training: what {@link adaptiveSchedule} returns. */
export interface AdaptiveSchedule extends UpdateSchedule, Checkpointable {
  /** Adapts the counts to the step's logs. */
  observe(logs: StepLogs): void;
  /** The smoothed measure, `NaN` before the first step. */
  readonly level: number;
  /** Extra updates now: positive for D, negative for G. */
  readonly extra: number;
}

/**
 * Adaptive k: adds discriminator updates when the generator runs away and generator updates when
 * the discriminator does, one more per step while the smoothed measure stays outside
 * [`lower`, `upper`], one fewer per step once it is back inside (as fastai's adaptive switcher, on
 * D's probabilities instead of raw losses). The trainer calls `observe` after every step; the counts
 * apply from the next one. It is {@link Checkpointable}: the trainer's checkpoints keep its smoothed
 * level and extra updates, so a resumed run makes the same decisions as an uninterrupted one (a
 * checkpoint without them — version 1 — restarts it fresh; a saved `extra` beyond this schedule's
 * `maxExtra` is clamped to it).
 *
 * @example
 * ```ts
 * const trainer = new GANTrainer({ generator, discriminator, schedule: stabilizers.adaptiveSchedule({ maxExtra: 3 }) });
 * ```
 * @throws {@link GANConfigError} for counts that are not positive integers or bounds that are not ordered.
 */
export function adaptiveSchedule(options: AdaptiveScheduleOptions = {}): AdaptiveSchedule {
  const base: UpdateCounts = { discriminator: options.base?.discriminator ?? 1, generator: options.base?.generator ?? 1 };
  assertCounts(base);
  const maxExtra = options.maxExtra ?? 4;
  if (!Number.isInteger(maxExtra) || maxExtra < 0)
    throw new GANConfigError('maxExtra', `must be an integer ≥ 0, got ${maxExtra}`);
  const upper = options.upper ?? 0.6;
  const lower = options.lower ?? -0.1;
  if (!(lower < upper)) throw new GANConfigError('lower', `must be below upper (${upper}), got ${lower}`);
  const smoothing = options.smoothing ?? 0.9;
  if (!(smoothing >= 0 && smoothing < 1)) throw new GANConfigError('smoothing', `must be in [0, 1), got ${smoothing}`);
  const measure = options.measure ?? ((l: StepLogs) => l.dReal - l.dFake);
  let level = Number.NaN;
  let extra = 0;
  return {
    checkpointKey: options.checkpointKey ?? 'adaptiveSchedule',
    // JSON has no NaN: a level not yet measured is stored as null.
    checkpointState: () => ({ data: { level: Number.isNaN(level) ? null : level, extra }, tensors: {} }),
    prepareRestore(state: ComponentState | undefined) {
      if (state === undefined) {
        return () => {
          level = Number.NaN;
          extra = 0;
        };
      }
      const saved = state.data;
      const l = saved.level;
      const e = saved.extra;
      if (!(l === null || (typeof l === 'number' && Number.isFinite(l))) || typeof e !== 'number' || !Number.isInteger(e)) {
        throw new CheckpointError(`adaptive schedule: malformed state (level ${JSON.stringify(l)}, extra ${JSON.stringify(e)})`);
      }
      return () => {
        level = l ?? Number.NaN;
        extra = Math.max(-maxExtra, Math.min(maxExtra, e)) || 0; // no -0
      };
    },
    get level() {
      return level;
    },
    get extra() {
      return extra;
    },
    countsAt: () => ({
      discriminator: base.discriminator + Math.max(extra, 0),
      generator: base.generator + Math.max(-extra, 0),
    }),
    observe(logs) {
      const value = measure(logs);
      if (!Number.isFinite(value)) return;
      level = Number.isNaN(level) ? value : smoothing * level + (1 - smoothing) * value;
      if (level > upper) extra = Math.max(extra - 1, -maxExtra);
      else if (level < lower) extra = Math.min(extra + 1, maxExtra);
      else extra -= Math.sign(extra);
    },
  };
}
