// The playground (playground/, Vite, importing the built 'tfjs-gan') in headless Chromium: built with
// Vite's JS API, served from 127.0.0.1, trained on webgl and on webgpu. Asserts the losses change and
// the generated samples move toward the data; saves screenshots under test-results/.
// Without Chromium it skips loudly (under CI=true it fails), like the other browser tests.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailability, findChromium } from './harness';

const root = join(import.meta.dirname, '../..');
const outDir = join(root, 'playground/dist');
const shots = join(root, 'test-results');
const CI = process.env.CI === 'true';
const browser = browserAvailability();

interface PlaygroundState {
  backend: string;
  step: number;
  history: { step: number; dLoss: number; gLoss: number }[];
  distances: { step: number; value: number }[];
  coverage: { modesCovered: number; numModes: number; highQualityShare: number } | null;
  message: string;
  numTensors: number;
}
interface PlaygroundApi {
  ready: boolean;
  configure(s: Record<string, unknown>): Promise<void>;
  train(n: number): Promise<void>;
  state(): PlaygroundState;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.wasm': 'application/wasm',
};

/** A static server for the built playground on 127.0.0.1 (a secure context: WebGPU is exposed there). */
function serve(dir: string): Promise<{ server: Server; origin: string }> {
  const server = createServer((req, res) => {
    const path = normalize(new URL(req.url ?? '/', 'http://127.0.0.1').pathname).replace(/^(\.\.[/\\])+/, '');
    const file = join(dir, path === '/' ? 'index.html' : path);
    if (!file.startsWith(dir) || !existsSync(file)) {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.setHeader('content-type', TYPES[extname(file)] ?? 'application/octet-stream');
    res.end(readFileSync(file));
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, origin: `http://127.0.0.1:${(server.address() as { port: number }).port}` }),
    ),
  );
}

let server: Server | undefined;
let chrome: Browser | undefined;
let page: Page | undefined;
const pageErrors: string[] = [];

describe.runIf(browser.run)(`the playground in Chromium (${browser.reason})`, () => {
  beforeAll(async () => {
    await build({ configFile: join(root, 'playground/vite.config.ts'), logLevel: 'error' });
    const s = await serve(outDir);
    server = s.server;
    chrome = await chromium.launch({
      executablePath: findChromium() as string,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-background-networking',
        '--disable-component-update',
        '--enable-unsafe-webgpu',
        '--enable-features=Vulkan',
      ],
    });
    page = await chrome.newPage({ viewport: { width: 1100, height: 800 } });
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    await page.goto(`${s.origin}/?backend=webgl`); // start on webgl: software WebGPU is slow to warm up
    await page.waitForFunction(
      () => (window as unknown as { playground?: PlaygroundApi }).playground?.ready === true,
      undefined,
      {
        timeout: 60_000,
      },
    );
    mkdirSync(shots, { recursive: true });
  }, 90_000);

  afterAll(async () => {
    await chrome?.close();
    server?.close();
  });

  // Steps per backend: WebGPU in headless Chromium without a GPU runs on SwiftShader, ~1–2 s a step.
  const STEPS: Record<string, number> = { webgl: 100, webgpu: 6 };
  for (const backend of ['webgl', 'webgpu']) {
    it(`trains a ring on ${backend}: the losses change and the samples move toward the modes`, async (ctx) => {
      const p = page as Page;
      const state = () => p.evaluate(() => (window as unknown as { playground: PlaygroundApi }).playground.state());
      await p.evaluate(
        (b) =>
          (window as unknown as { playground: PlaygroundApi }).playground.configure({
            backend: b,
            distribution: 'ring',
            loss: 'non-saturating',
            k: 1,
            lrG: 1e-3,
            lrD: 1e-3,
            seed: 1,
          }),
        backend,
      );
      const before = await state();
      if (before.backend !== backend) {
        if (CI) throw new Error(`${backend} unavailable in Chromium under CI=true: ${before.message}`);
        console.warn(`\n*** SKIPPING the playground on ${backend}: ${before.message || 'not available'} ***\n`);
        ctx.skip();
      }
      expect(before.step).toBe(0);
      const start = before.distances[0]?.value as number;
      const steps = STEPS[backend] as number;
      await p.evaluate((n) => (window as unknown as { playground: PlaygroundApi }).playground.train(n), steps);
      const after = await state();
      expect(after.backend).toBe(backend);
      expect(after.step).toBe(steps);
      expect(pageErrors).toEqual([]);
      for (const h of after.history) expect(Number.isFinite(h.dLoss) && Number.isFinite(h.gLoss)).toBe(true);
      // The game moved: neither loss stayed constant across the steps (an update that moved nothing would keep them fixed).
      for (const key of ['dLoss', 'gLoss'] as const) {
        const values = after.history.map((h) => h[key]);
        expect(Math.max(...values) - Math.min(...values), key).toBeGreaterThan(1e-3);
      }
      // The samples moved toward the data: the mean distance to the nearest mode fell by at least 15 %.
      const end = after.distances.at(-1)?.value as number;
      console.log(
        `playground on ${backend}: mean distance to the nearest mode ${start.toFixed(3)} → ${end.toFixed(3)} after ${steps} steps`,
      );
      expect(end).toBeLessThan(start * 0.85);
      if (backend === 'webgl') {
        // No leak: more training and repainting leaves the number of live tensors unchanged.
        const tensors = after.numTensors;
        await p.evaluate(() => (window as unknown as { playground: PlaygroundApi }).playground.train(3));
        expect((await state()).numTensors).toBe(tensors);
      }
      await p.screenshot({ path: join(shots, `playground-${backend}.png`), fullPage: true });
    }, 90_000);
  }
});
