import { GANConfigError, ShapeMismatchError } from '../errors';
import { asMatrix, positiveInteger, positiveNumber, type Samples } from './util';

/** A density (normalised or not) evaluated at one point of the grid, `[x]` or `[x, y]`. */
export type Density = (point: readonly number[]) => number;

/** Options of {@link jsDivergenceOnGrid}. */
export interface GridDivergenceOptions {
  /** Cells per dimension. Default 100 in 1-D, 50 in 2-D. */
  readonly bins?: number;
  /**
   * `[min, max]` per dimension. Default: the samples' range plus a 10 % margin on each side.
   * Samples outside it count in the nearest edge cell.
   */
  readonly range?: readonly (readonly [number, number])[];
  /**
   * Gaussian kernel width for a kernel density estimate evaluated at the cell centres; omitted, samples
   * are counted in a histogram.
   */
  readonly bandwidth?: number;
}

/** The result of {@link jsDivergenceOnGrid}: the divergence and the two distributions on the grid. */
export interface GridDivergence {
  /** Jensen–Shannon divergence in nats, in [0, log 2]. */
  readonly jsd: number;
  /** The real distribution's probability per cell (row-major, y fastest in 2-D). */
  readonly p: Float64Array;
  /** The generated distribution's probability per cell. */
  readonly q: Float64Array;
  /** Cells per dimension. */
  readonly bins: number;
  /** The grid's `[min, max]` per dimension. */
  readonly range: [number, number][];
}

/** Jensen–Shannon divergence of two discrete distributions (normalised here), in nats. */
export function jsDivergence(p: ArrayLike<number>, q: ArrayLike<number>): number {
  if (p.length !== q.length) throw new ShapeMismatchError('distributions', `${p.length} cells`, `${q.length} cells`);
  let sp = 0;
  let sq = 0;
  for (let i = 0; i < p.length; i++) {
    if (!((p[i] as number) >= 0 && (q[i] as number) >= 0)) throw new GANConfigError('distributions', 'must be non-negative');
    sp += p[i] as number;
    sq += q[i] as number;
  }
  if (!(sp > 0 && sq > 0)) throw new GANConfigError('distributions', 'each needs positive mass');
  let js = 0;
  for (let i = 0; i < p.length; i++) {
    const a = (p[i] as number) / sp;
    const b = (q[i] as number) / sq;
    const m = (a + b) / 2;
    if (a > 0) js += 0.5 * a * Math.log(a / m);
    if (b > 0) js += 0.5 * b * Math.log(b / m);
  }
  return Math.max(js, 0);
}

async function readRows(x: Samples): Promise<{ values: Float32Array | number[]; n: number; d: number }> {
  const { m, owned } = asMatrix(x, 'samples');
  try {
    return { values: (await m.data()) as Float32Array, n: m.shape[0], d: m.shape[1] };
  } finally {
    if (owned) m.dispose();
  }
}

/**
 * The Jensen–Shannon divergence between real and generated data in 1-D or 2-D, estimated on a grid
 * the way GAN Lab shows it: both are turned into probabilities per grid cell — from samples by a
 * histogram or a Gaussian kernel density estimate, or from the real density function itself — and
 * compared cell by cell. 0 for identical distributions, log 2 for disjoint ones. The value depends
 * on the grid: compare values computed with the same options.
 *
 * @example
 * ```ts
 * const { jsd } = await metrics.jsDivergenceOnGrid(realSamples, trainer.sample(2000), { bins: 60 });
 * ```
 * @throws {@link ShapeMismatchError} for data that is not 1-D or 2-D, or of different widths.
 */
export async function jsDivergenceOnGrid(
  real: Samples | Density,
  fake: Samples,
  options: GridDivergenceOptions = {},
): Promise<GridDivergence> {
  const f = await readRows(fake);
  if (f.d > 2) throw new ShapeMismatchError('samples', '[n, 1] or [n, 2]', `[${f.n}, ${f.d}]`);
  const r = typeof real === 'function' ? undefined : await readRows(real);
  if (r !== undefined && r.d !== f.d) throw new ShapeMismatchError('real samples', `[n, ${f.d}]`, `[${r.n}, ${r.d}]`);
  const d = f.d;
  const bins = options.bins ?? (d === 1 ? 100 : 50);
  positiveInteger('bins', bins);
  if (options.bandwidth !== undefined) positiveNumber('bandwidth', options.bandwidth);
  let range: [number, number][];
  if (options.range !== undefined) {
    if (options.range.length !== d) throw new GANConfigError('range', `needs one [min, max] per dimension (${d})`);
    range = options.range.map(([lo, hi]) => {
      if (!(Number.isFinite(lo) && Number.isFinite(hi) && hi > lo))
        throw new GANConfigError('range', `bad interval [${lo}, ${hi}]`);
      return [lo, hi];
    });
  } else {
    range = Array.from({ length: d }, (_, k) => {
      let lo = Number.POSITIVE_INFINITY;
      let hi = Number.NEGATIVE_INFINITY;
      for (const s of r === undefined ? [f] : [f, r]) {
        for (let i = 0; i < s.n; i++) {
          const v = s.values[i * d + k] as number;
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
        }
      }
      const margin = Math.max((hi - lo) * 0.1, 1e-6);
      return [lo - margin, hi + margin];
    });
  }
  const cells = bins ** d;
  const width = range.map(([lo, hi]) => (hi - lo) / bins);
  const centre = (k: number, i: number): number => (range[k] as [number, number])[0] + (i + 0.5) * (width[k] as number);
  const cellOf = (k: number, v: number): number =>
    Math.min(bins - 1, Math.max(0, Math.floor((v - (range[k] as [number, number])[0]) / (width[k] as number))));
  const fromSamples = (s: { values: ArrayLike<number>; n: number }): Float64Array => {
    const out = new Float64Array(cells);
    const h = options.bandwidth;
    if (h === undefined) {
      for (let i = 0; i < s.n; i++) {
        let c = 0;
        for (let k = 0; k < d; k++) c = c * bins + cellOf(k, s.values[i * d + k] as number);
        out[c] = (out[c] as number) + 1;
      }
      return out;
    }
    const inv = -1 / (2 * h * h);
    const point = new Array<number>(d);
    for (let c = 0; c < cells; c++) {
      for (let k = d - 1, rest = c; k >= 0; k--, rest = Math.floor(rest / bins)) point[k] = centre(k, rest % bins);
      let sum = 0;
      for (let i = 0; i < s.n; i++) {
        let q = 0;
        for (let k = 0; k < d; k++) q += ((s.values[i * d + k] as number) - (point[k] as number)) ** 2;
        sum += Math.exp(q * inv);
      }
      out[c] = sum;
    }
    return out;
  };
  let p: Float64Array;
  if (r === undefined) {
    const density = real as Density;
    p = new Float64Array(cells);
    for (let c = 0; c < cells; c++) {
      const point: number[] = new Array(d);
      for (let k = d - 1, rest = c; k >= 0; k--, rest = Math.floor(rest / bins)) point[k] = centre(k, rest % bins);
      const v = density(point);
      if (!(v >= 0 && Number.isFinite(v))) throw new GANConfigError('density', `returned ${v} at [${point}]`);
      p[c] = v;
    }
  } else {
    p = fromSamples(r);
  }
  const q = fromSamples(f);
  const jsd = jsDivergence(p, q);
  const norm = (a: Float64Array) => {
    const s = a.reduce((x, y) => x + y, 0);
    return a.map((v) => v / s);
  };
  return { jsd, p: norm(p), q: norm(q), bins, range };
}
