import { GANConfigError } from '../errors';

/** The numbers one training step reports. All are plain numbers. */
export interface StepLogs {
  /** 0-based global step index (over the trainer's life). */
  readonly step: number;
  /** 0-based epoch index. */
  readonly epoch: number;
  /** Discriminator loss, averaged over the step's k updates. */
  readonly dLoss: number;
  /** Generator loss, averaged over the step's generator updates. */
  readonly gLoss: number;
  /** Mean D(x) on real examples, as a probability (sigmoid of the logits). */
  readonly dReal: number;
  /** Mean D(G(z)) on generated examples, as a probability. */
  readonly dFake: number;
}

/** The numeric fields of {@link StepLogs} that can be monitored. */
export type MetricName = 'dLoss' | 'gLoss' | 'dReal' | 'dFake';

/** Means of the step logs of one epoch. */
export interface EpochLogs {
  /** 0-based epoch index. */
  readonly epoch: number;
  /** Number of steps run in this epoch. */
  readonly steps: number;
  /** Mean discriminator loss. */
  readonly dLoss: number;
  /** Mean generator loss. */
  readonly gLoss: number;
  /** Mean D(x). */
  readonly dReal: number;
  /** Mean D(G(z)). */
  readonly dFake: number;
}

/** Why a `fit` call returned. */
export type StopReason = 'completed' | 'aborted' | 'stopped';

/** What callbacks receive besides the logs. */
export interface CallbackContext {
  /** Ask training to stop after the current step (e.g. early stopping). */
  stop(): void;
}

/**
 * Hooks into `fit`. Every method is optional and may be async: training waits
 * for it. Logs are plain numbers, never tensors.
 */
export interface GANCallback {
  /** Before the first step of `fit`. */
  onTrainBegin?(context: CallbackContext): void | Promise<void>;
  /** After the last step of `fit`. */
  onTrainEnd?(history: History, context: CallbackContext): void | Promise<void>;
  /** At the start of each epoch. */
  onEpochBegin?(epoch: number, context: CallbackContext): void | Promise<void>;
  /** At the end of each epoch, with the epoch's means. */
  onEpochEnd?(logs: EpochLogs, context: CallbackContext): void | Promise<void>;
  /** Before each step. */
  onStepBegin?(step: number, context: CallbackContext): void | Promise<void>;
  /** After each step. */
  onStepEnd?(logs: StepLogs, context: CallbackContext): void | Promise<void>;
}

/** Averages step logs into epoch logs. */
export function epochLogs(epoch: number, steps: readonly StepLogs[]): EpochLogs {
  const mean = (k: MetricName): number => (steps.length === 0 ? Number.NaN : steps.reduce((s, l) => s + l[k], 0) / steps.length);
  return { epoch, steps: steps.length, dLoss: mean('dLoss'), gLoss: mean('gLoss'), dReal: mean('dReal'), dFake: mean('dFake') };
}

/** The record `fit` returns: every step's and every epoch's logs. */
export class History {
  /** Logs of every step, in order. */
  readonly steps: StepLogs[] = [];
  /** Logs of every completed epoch, in order. */
  readonly epochs: EpochLogs[] = [];
  /** Why training ended; `undefined` while it runs. */
  stopReason: StopReason | undefined;

  /** The last step's logs, if any. */
  get last(): StepLogs | undefined {
    return this.steps[this.steps.length - 1];
  }

  /** The series of one metric over steps. */
  series(metric: MetricName): number[] {
    return this.steps.map((s) => s[metric]);
  }
}

/** Options of {@link earlyStopping}. */
export interface EarlyStoppingOptions {
  /** The epoch metric to watch. Default `'gLoss'`. */
  readonly monitor?: MetricName;
  /** `'min'`: lower is better; `'max'`: higher is better. Default `'min'`. */
  readonly mode?: 'min' | 'max';
  /** Epochs without improvement before stopping. Default 3. */
  readonly patience?: number;
  /** The least change that counts as an improvement. Default 0. */
  readonly minDelta?: number;
}

/**
 * Stops `fit` when an epoch metric has not improved for `patience` epochs.
 * GAN losses are not a quality measure, so monitor with care.
 */
export function earlyStopping(options: EarlyStoppingOptions = {}): GANCallback {
  const monitor = options.monitor ?? 'gLoss';
  const sign = (options.mode ?? 'min') === 'min' ? 1 : -1;
  const patience = options.patience ?? 3;
  const minDelta = options.minDelta ?? 0;
  if (!Number.isInteger(patience) || patience < 0)
    throw new GANConfigError('patience', `must be a non-negative integer, got ${patience}`);
  if (!(minDelta >= 0)) throw new GANConfigError('minDelta', `must be ≥ 0, got ${minDelta}`);
  let best = Number.POSITIVE_INFINITY;
  let wait = 0;
  return {
    onTrainBegin() {
      best = Number.POSITIVE_INFINITY;
      wait = 0;
    },
    onEpochEnd(logs, context) {
      const value = sign * logs[monitor];
      if (value < best - minDelta) {
        best = value;
        wait = 0;
      } else if (++wait > patience) {
        context.stop();
      }
    },
  };
}
