/**
 * Typed errors thrown by tfjs-gan. Every check that can fail runs before any
 * variable or optimizer state changes, so catching one of these leaves the
 * models exactly as they were.
 *
 * @module
 */

/** Base class of every error tfjs-gan throws on purpose. */
export class GANError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A configuration value is invalid (unknown loss name, `k < 1`, bad batch size, …). */
export class GANConfigError extends GANError {
  /** The option that was rejected, e.g. `"batchSize"`. */
  readonly option: string;
  constructor(option: string, message: string) {
    super(`${option}: ${message}`);
    this.option = option;
  }
}

/** A tensor had a different shape than the one the models or data require. */
export class ShapeMismatchError extends GANError {
  /** What was required, e.g. `"[*, 1]"`. */
  readonly expected: string;
  /** What was given, e.g. `"[100, 784]"`. */
  readonly actual: string;
  constructor(what: string, expected: string, actual: string) {
    super(`${what}: expected shape ${expected}, got ${actual}`);
    this.expected = expected;
    this.actual = actual;
  }
}

/** The training data is unusable: empty, or holding NaN / ±Infinity. */
export class DataError extends GANError {}

/** A checkpoint cannot be saved or loaded: missing, truncated, from another architecture, a newer format, … */
export class CheckpointError extends GANError {}

/** Training produced NaN or ±Infinity. */
export class NonFiniteError extends GANError {
  /** The global step at which it happened. */
  readonly step: number;
  /** Which loss (or gradient) was not finite. */
  readonly loss: 'discriminator' | 'generator';
  constructor(step: number, loss: 'discriminator' | 'generator', detail: string) {
    super(`step ${step}: the ${loss} ${detail} is not finite (NaN or Infinity); the update was not applied`);
    this.step = step;
    this.loss = loss;
  }
}

/** Formats a shape for error messages; `null`/`-1` dimensions print as `*`. */
export function formatShape(shape: readonly (number | null)[]): string {
  return `[${shape.map((d) => (d == null || d < 0 ? '*' : String(d))).join(', ')}]`;
}
