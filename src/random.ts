/**
 * Seeded pseudo-random numbers. One {@link Random} feeds every random choice a
 * trainer makes (noise seeds, shuffling), so a `seed` makes a run reproducible.
 *
 * @module
 */

/**
 * A small, fast, seedable PRNG (mulberry32). Its whole state is one 32-bit
 * integer, readable and restorable through {@link Random.state}.
 */
export class Random {
  private s: number;

  /** @param seed any finite number; omitted, a time-and-Math.random based seed is used. */
  constructor(seed?: number) {
    this.s = (seed ?? Math.floor(Math.random() * 2 ** 32) ^ Date.now()) >>> 0;
  }

  /** The generator's complete state (restore it by assigning). */
  get state(): number {
    return this.s;
  }
  /** Restores a state read from {@link Random.state}. */
  set state(value: number) {
    this.s = value >>> 0;
  }

  /** A uniform float in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A uniform integer in [0, 2^31), for seeding tfjs random ops. */
  nextSeed(): number {
    return Math.floor(this.next() * 2147483648);
  }

  /** An in-place Fisher–Yates shuffle of `array`, which is also returned. */
  shuffle<T>(array: T[]): T[] {
    for (let i = array.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const tmp = array[i] as T;
      array[i] = array[j] as T;
      array[j] = tmp;
    }
    return array;
  }
}
