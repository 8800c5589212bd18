// Smoke-runs every example for a few steps against the BUILT package (examples import 'tfjs-gan',
// which resolves to dist/ through package.json's exports; `npm test` builds before vitest) and checks
// what each wrote: PNGs decode, SVGs are well-formed with finite coordinates, numbers are finite.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..');
let dir = '';

beforeAll(() => {
  if (!existsSync(join(root, 'dist/index.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  dir = mkdtempSync(join(tmpdir(), 'tfjs-gan-examples-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `examples/<file>` in its own Node process with the given flags; returns stdout. */
async function example(file: string, flags: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', join(root, 'examples', file), ...flags], {
    cwd: root,
    timeout: 60_000,
    env: { ...process.env, FORCE_COLOR: '0' },
  });
  return stdout;
}

/** Decodes a PNG and checks it is a non-trivial image (not one flat colour). */
function checkPng(file: string, minSide = 28): PNG {
  const png = PNG.sync.read(readFileSync(file));
  expect(png.width).toBeGreaterThanOrEqual(minSide);
  expect(png.height).toBeGreaterThanOrEqual(minSide);
  const grey = new Set<number>();
  for (let i = 0; i < png.data.length; i += 4) grey.add(png.data[i] as number);
  expect(grey.size).toBeGreaterThan(2);
  return png;
}

/** A strict well-formedness check of an SVG document, plus: every number in coordinates is finite. */
function checkSvg(file: string): string {
  const text = readFileSync(file, 'utf8');
  expect(text.trimStart().startsWith('<svg')).toBe(true);
  const stack: string[] = [];
  const tag = /<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let at = 0;
  for (let m = tag.exec(text); m !== null; m = tag.exec(text)) {
    const between = text.slice(at, m.index);
    expect(between, `stray markup before <${m[2]}> in ${file}`).not.toMatch(/[<>]/);
    expect(between, `bad entity in ${file}`).not.toMatch(/&(?!amp;|lt;|gt;|quot;|#\d+;)/);
    at = m.index + m[0].length;
    const [, close, name, , selfClosing] = m;
    if (close) expect(stack.pop(), `unbalanced </${name}> in ${file}`).toBe(name);
    else if (!selfClosing) stack.push(name as string);
  }
  expect(text.slice(at).trim()).toBe('');
  expect(stack).toEqual([]);
  expect(text).not.toMatch(/NaN|Infinity/);
  return text;
}

function checkGenerator(folder: string): void {
  const model = JSON.parse(readFileSync(join(folder, 'model.json'), 'utf8')) as {
    modelTopology: unknown;
    weightsManifest: { paths: string[]; weights: { shape: number[]; dtype: string }[] }[];
  };
  expect(model.modelTopology).toBeTruthy();
  const values = model.weightsManifest.flatMap((g) => g.weights).reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1), 0);
  const bytes = model.weightsManifest.flatMap((g) => g.paths).reduce((s, p) => s + statSync(join(folder, p)).size, 0);
  expect(bytes).toBe(values * 4);
  const weights = new Float32Array(readFileSync(join(folder, model.weightsManifest[0]?.paths[0] as string)).buffer.slice(0));
  expect(weights.every(Number.isFinite)).toBe(true);
}

function summary(folder: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(folder, 'summary.json'), 'utf8')) as Record<string, unknown>;
}

describe('examples (against dist/)', () => {
  it('the demo (MNIST MLP GAN) writes epoch grids, the final grid, losses, the generator and a summary', async () => {
    const out = join(dir, 'demo');
    await example('mnist-mlp/main.ts', ['--steps', '4', '--out', out, '--seed', '2']);
    const files = readdirSync(out);
    expect(files).toContain('epoch-001.png');
    const png = checkPng(join(out, 'samples.png'), 200);
    expect(png.width).toBe(png.height); // 10 × 10 grid of square digits
    checkPng(join(out, 'epoch-001.png'), 200);
    expect(checkSvg(join(out, 'losses.svg'))).toContain('<path');
    checkGenerator(join(out, 'generator'));
    const s = summary(out);
    expect(s.steps).toBe(4);
    expect(Number.isFinite(s.stepsPerSecond)).toBe(true);
  });

  it('figure 1: p_data, p_g and D(x) at three moments', async () => {
    const out = join(dir, 'figure1');
    await example('figure1-gaussian/main.ts', ['--steps', '20', '--out', out]);
    const svg = checkSvg(join(out, 'figure1.svg'));
    expect(svg.match(/<path /g)?.length).toBe(12); // 3 panels × (p_data, p_g, D, ½)
    const s = summary(out) as { snapshots: { step: number; mean: number; std: number; dOnData: number }[] };
    expect(s.snapshots.map((p) => p.step)).toEqual([0, 2, 20]);
    for (const p of s.snapshots) for (const v of [p.mean, p.std, p.dOnData]) expect(Number.isFinite(v)).toBe(true);
  });

  it('2-D mixtures: samples over the modes, coverage printed', async () => {
    const out = join(dir, 'mixtures');
    const stdout = await example('mixtures-2d/main.ts', ['--steps', '10', '--out', out]);
    expect(stdout).toMatch(/ring: \d+\/8 modes covered/);
    expect(stdout).toMatch(/grid: \d+\/25 modes covered/);
    for (const name of ['ring', 'grid']) {
      expect(checkSvg(join(out, `${name}.svg`)).match(/<circle /g)?.length).toBeGreaterThan(2500);
      checkSvg(join(out, `${name}-losses.svg`));
    }
    const s = summary(out) as Record<string, { highQualityShare: number; modesCovered: number }>;
    expect(s.ring?.highQualityShare).toBeGreaterThanOrEqual(0);
    expect(s.grid?.modesCovered).toBeLessThanOrEqual(25);
  });

  it('DCGAN on MNIST', async () => {
    const out = join(dir, 'dcgan');
    await example('dcgan-mnist/main.ts', ['--steps', '2', '--base-filters', '8', '--out', out]);
    checkPng(join(out, 'samples.png'), 200);
    checkSvg(join(out, 'losses.svg'));
    checkGenerator(join(out, 'generator'));
    expect(summary(out).steps).toBe(2);
  });

  it('CGAN on MNIST: a grid with one row per digit (sampled from the EMA of G)', async () => {
    const out = join(dir, 'cgan');
    await example('cgan-mnist/main.ts', [
      '--steps',
      '3',
      '--classifier-epochs',
      '0',
      '--per-class',
      '4',
      '--ema',
      '0.99',
      '--out',
      out,
    ]);
    const png = checkPng(join(out, 'grid.png'));
    // 10 rows of 4 digits: taller than wide.
    expect(png.height).toBeGreaterThan(2 * png.width);
    checkSvg(join(out, 'losses.svg'));
    expect(summary(out).steps).toBe(3);
    expect(summary(out).emaDecay).toBe(0.99);
  });

  it('a custom generator, discriminator and loss', async () => {
    const out = join(dir, 'custom');
    const stdout = await example('custom-model/main.ts', ['--steps', '10', '--out', out]);
    expect(stdout).toContain('non-saturating-smoothed-0.9');
    checkSvg(join(out, 'samples.svg'));
    const s = summary(out) as { steps: number; meanNearestDistance: number };
    expect(s.steps).toBe(10);
    expect(Number.isFinite(s.meanNearestDistance)).toBe(true);
  });
});
