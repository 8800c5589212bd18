import * as tf from '@tensorflow/tfjs-core';
import { GANConfigError } from '../errors';
import type { AnyGenerator } from '../models/types';
import type { GANCallback } from '../training/callbacks';
import type { GANTrainer } from '../training/trainer';
import { isFileUrl, removeFile } from './files';

/** Where one periodic checkpoint goes. */
export interface CheckpointSlot {
  /** Global step count at save time. */
  readonly step: number;
  /** Completed epochs at save time. */
  readonly epoch: number;
}

/** Options of {@link checkpointing}. */
export interface CheckpointingOptions {
  /**
   * The destination of each save: a URL template in which `{step}` and `{epoch}` are replaced
   * (e.g. `'file://ckpt/step-{step}.tfgan'`), or a function of the slot returning a URL or an IOHandler.
   */
  readonly destination: string | ((slot: CheckpointSlot) => string | tf.io.IOHandler);
  /** Save after every N steps. */
  readonly everySteps?: number;
  /** Save after every N epochs. Default 1 when `everySteps` is not given. */
  readonly everyEpochs?: number;
  /**
   * Keep only the K newest checkpoints, deleting older ones (`file://` files, and
   * `indexeddb://` / `localstorage://` models through `tf.io.removeModel`). Default: keep all.
   */
  readonly keepLast?: number;
}

function positive(option: string, v: number | undefined): void {
  if (v !== undefined && (!Number.isInteger(v) || v < 1))
    throw new GANConfigError(option, `must be a positive integer, got ${v}`);
}

async function remove(url: string): Promise<void> {
  if (isFileUrl(url)) await removeFile(url);
  else if (/^(indexeddb|localstorage):\/\//.test(url)) await tf.io.removeModel(url);
}

/** The callback {@link checkpointing} returns. */
export interface CheckpointingCallback extends GANCallback {
  /** The URLs of the checkpoints currently kept, oldest first. */
  readonly saved: readonly string[];
}

/**
 * A callback that saves `trainer` periodically during `fit` — every N steps and/or
 * every N epochs — keeping the last K checkpoints.
 *
 * @example
 * ```ts
 * await trainer.fit(data, {
 *   epochs: 50,
 *   callbacks: [checkpointing(trainer, { destination: 'file://ckpt/epoch-{epoch}.tfgan', keepLast: 3 })],
 * });
 * ```
 */
export function checkpointing(trainer: GANTrainer<AnyGenerator>, options: CheckpointingOptions): CheckpointingCallback {
  positive('everySteps', options.everySteps);
  positive('everyEpochs', options.everyEpochs);
  positive('keepLast', options.keepLast);
  const everyEpochs = options.everyEpochs ?? (options.everySteps === undefined ? 1 : undefined);
  const saved: string[] = [];
  const save = async () => {
    const slot = { step: trainer.stepCount, epoch: trainer.epochCount };
    const dest =
      typeof options.destination === 'function'
        ? options.destination(slot)
        : options.destination.replaceAll('{step}', String(slot.step)).replaceAll('{epoch}', String(slot.epoch));
    await trainer.save(dest);
    if (typeof dest !== 'string') return;
    const previous = saved.indexOf(dest);
    if (previous >= 0) saved.splice(previous, 1);
    saved.push(dest);
    while (options.keepLast !== undefined && saved.length > options.keepLast) await remove(saved.shift() as string);
  };
  return {
    saved,
    async onStepEnd(logs) {
      if (options.everySteps !== undefined && (logs.step + 1) % options.everySteps === 0) await save();
    },
    async onEpochEnd() {
      if (everyEpochs !== undefined && trainer.epochCount % everyEpochs === 0) await save();
    },
  };
}
