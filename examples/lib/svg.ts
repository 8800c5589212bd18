/**
 * Small, dependency-free SVG charts: pure functions from numbers to an SVG document string.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** One series of a chart. */
export interface Series {
  readonly name: string;
  /** Points `[x, y]`; non-finite points are skipped. */
  readonly points: readonly (readonly [number, number])[];
  /** CSS colour. Default: from a fixed palette. */
  readonly color?: string;
  /** `'line'` (default) or `'dots'`. */
  readonly kind?: 'line' | 'dots';
  /** Dot radius in px for `'dots'`. Default 1.5. */
  readonly radius?: number;
  /** Opacity 0…1. Default 1 (lines) / 0.6 (dots). */
  readonly opacity?: number;
  /** Dashed line. */
  readonly dashed?: boolean;
}

/** Options of {@link svgChart}. */
export interface ChartOptions {
  readonly title?: string;
  readonly xLabel?: string;
  readonly yLabel?: string;
  readonly width?: number;
  readonly height?: number;
  /** Fixed axis ranges; default: the data's range. */
  readonly xRange?: readonly [number, number];
  readonly yRange?: readonly [number, number];
  /** Keep one unit of x as long as one unit of y (2-D scatter plots). */
  readonly equalAspect?: boolean;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Round tick values covering [lo, hi]. */
export function ticks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

const fmt = (v: number): string =>
  Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(1) : String(Number(v.toPrecision(4)));

function extent(values: number[], given: readonly [number, number] | undefined): [number, number] {
  if (given !== undefined) return [given[0], given[1]];
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return [0, 1];
  let lo = Math.min(...finite);
  let hi = Math.max(...finite);
  if (lo === hi) {
    lo -= 0.5;
    hi += 0.5;
  }
  const m = (hi - lo) * 0.04;
  return [lo - m, hi + m];
}

/** Renders line and dot series on shared axes as a standalone SVG document. */
export function svgChart(series: readonly Series[], options: ChartOptions = {}): string {
  const W = options.width ?? 640;
  const H = options.height ?? 400;
  const m = { left: 60, right: 130, top: options.title === undefined ? 16 : 36, bottom: 46 };
  const all = series.flatMap((s) => s.points);
  let [x0, x1] = extent(
    all.map((p) => p[0]),
    options.xRange,
  );
  let [y0, y1] = extent(
    all.map((p) => p[1]),
    options.yRange,
  );
  let pw = W - m.left - m.right;
  let ph = H - m.top - m.bottom;
  if (options.equalAspect) {
    const unit = Math.min(pw / (x1 - x0), ph / (y1 - y0));
    const cx = (x0 + x1) / 2;
    const cy = (y0 + y1) / 2;
    x0 = cx - pw / unit / 2;
    x1 = cx + pw / unit / 2;
    y0 = cy - ph / unit / 2;
    y1 = cy + ph / unit / 2;
  }
  pw = Math.max(pw, 1);
  ph = Math.max(ph, 1);
  const sx = (x: number): number => m.left + ((x - x0) / (x1 - x0)) * pw;
  const sy = (y: number): number => m.top + ph - ((y - y0) / (y1 - y0)) * ph;
  const r2 = (v: number): string => v.toFixed(2);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<defs><clipPath id="plot"><rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}"/></clipPath></defs>`,
  ];
  if (options.title !== undefined) {
    parts.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(options.title)}</text>`);
  }
  for (const t of ticks(x0, x1)) {
    parts.push(
      `<line x1="${r2(sx(t))}" y1="${m.top}" x2="${r2(sx(t))}" y2="${m.top + ph}" stroke="#eee"/>`,
      `<text x="${r2(sx(t))}" y="${m.top + ph + 16}" text-anchor="middle">${fmt(t)}</text>`,
    );
  }
  for (const t of ticks(y0, y1)) {
    parts.push(
      `<line x1="${m.left}" y1="${r2(sy(t))}" x2="${m.left + pw}" y2="${r2(sy(t))}" stroke="#eee"/>`,
      `<text x="${m.left - 6}" y="${r2(sy(t) + 4)}" text-anchor="end">${fmt(t)}</text>`,
    );
  }
  parts.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#444"/>`);
  if (options.xLabel !== undefined) {
    parts.push(`<text x="${m.left + pw / 2}" y="${H - 10}" text-anchor="middle">${esc(options.xLabel)}</text>`);
  }
  if (options.yLabel !== undefined) {
    const cy = m.top + ph / 2;
    parts.push(`<text x="16" y="${cy}" text-anchor="middle" transform="rotate(-90 16 ${cy})">${esc(options.yLabel)}</text>`);
  }
  parts.push('<g clip-path="url(#plot)">');
  series.forEach((s, i) => {
    const color = s.color ?? (PALETTE[i % PALETTE.length] as string);
    const pts = s.points.filter((p) => Number.isFinite(p[0]) && Number.isFinite(p[1]));
    if (s.kind === 'dots') {
      const r = s.radius ?? 1.5;
      const dots = pts.map((p) => `<circle cx="${r2(sx(p[0]))}" cy="${r2(sy(p[1]))}" r="${r}"/>`).join('');
      parts.push(`<g fill="${color}" fill-opacity="${s.opacity ?? 0.6}">${dots}</g>`);
    } else if (pts.length > 0) {
      const d = pts.map((p, j) => `${j === 0 ? 'M' : 'L'}${r2(sx(p[0]))} ${r2(sy(p[1]))}`).join('');
      parts.push(
        `<path d="${d}" fill="none" stroke="${color}" stroke-width="1.5" stroke-opacity="${s.opacity ?? 1}"${s.dashed ? ' stroke-dasharray="5 4"' : ''}/>`,
      );
    }
  });
  parts.push('</g>');
  series.forEach((s, i) => {
    const color = s.color ?? (PALETTE[i % PALETTE.length] as string);
    const y = m.top + 10 + i * 18;
    const x = m.left + pw + 12;
    parts.push(
      s.kind === 'dots'
        ? `<circle cx="${x + 8}" cy="${y - 4}" r="4" fill="${color}"/>`
        : `<line x1="${x}" y1="${y - 4}" x2="${x + 18}" y2="${y - 4}" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 4"' : ''}/>`,
      `<text x="${x + 24}" y="${y}">${esc(s.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

/** Moving average over a window (for noisy per-step losses). */
export function smooth(values: readonly number[], window: number): number[] {
  const out: number[] = [];
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    sum += values[i] as number;
    if (i >= window) sum -= values[i - window] as number;
    out.push(sum / Math.min(i + 1, window));
  }
  return out;
}

/** The loss curves of a run (per-step dLoss and gLoss, smoothed) as an SVG chart. */
export function lossCurveSvg(
  steps: readonly { readonly step: number; readonly dLoss: number; readonly gLoss: number }[],
  options: ChartOptions & { readonly window?: number } = {},
): string {
  const window = options.window ?? Math.max(1, Math.round(steps.length / 100));
  const d = smooth(
    steps.map((s) => s.dLoss),
    window,
  );
  const g = smooth(
    steps.map((s) => s.gLoss),
    window,
  );
  return svgChart(
    [
      { name: 'D loss', points: steps.map((s, i) => [s.step + 1, d[i] as number]) },
      { name: 'G loss', points: steps.map((s, i) => [s.step + 1, g[i] as number]) },
    ],
    { title: `Losses (moving average over ${window} steps)`, xLabel: 'step', yLabel: 'loss', ...options },
  );
}

/** Writes an SVG string to `file` (its folder is created). */
export function writeSvg(file: string, svg: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, svg);
}

/** Places several standalone SVG charts side by side (`columns` per row) in one SVG document. */
export function svgPanels(charts: readonly string[], columns = charts.length): string {
  const size = (svg: string): [number, number] => [
    Number(/width="([\d.]+)"/.exec(svg)?.[1] ?? 640),
    Number(/height="([\d.]+)"/.exec(svg)?.[1] ?? 400),
  ];
  const sizes = charts.map(size);
  const cellW = Math.max(...sizes.map((s) => s[0]));
  const cellH = Math.max(...sizes.map((s) => s[1]));
  const rows = Math.ceil(charts.length / columns);
  const W = cellW * Math.min(columns, charts.length);
  const H = cellH * rows;
  // Each panel keeps its own clip-path id unique.
  const inner = charts.map((svg, i) =>
    svg
      .trim()
      .replace('<svg ', `<svg x="${(i % columns) * cellW}" y="${Math.floor(i / columns) * cellH}" `)
      .replaceAll('id="plot"', `id="plot${i}"`)
      .replaceAll('url(#plot)', `url(#plot${i})`),
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">\n${inner.join('\n')}\n</svg>\n`;
}
