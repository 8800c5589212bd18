import { GANConfigError } from '../errors';

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
