// The backend conformance suite (tests/conformance/) in headless Chromium on a 127.0.0.1 page:
// webgl, webgpu, wasm and cpu, each against the cpu backend's results computed in the same page.
// A backend the browser cannot provide is skipped loudly — except under CI=true, where all four must run.
import { afterAll, describe, expect, it } from 'vitest';
import type { BackendResults } from '../conformance/cases';
import { conformanceSuite } from '../conformance/suite';
import { type BrowserSession, browserAvailability, openPage } from './harness';

const BACKENDS = ['webgl', 'webgpu', 'wasm', 'cpu'] as const;
const browser = browserAvailability();
const CI = process.env.CI === 'true';

interface PageApi {
  availability(backends: readonly string[]): Promise<Record<string, string | null>>;
  conformance(backend: string): Promise<{ results?: BackendResults; reference?: BackendResults; unavailable?: string }>;
  defaults(): Promise<{ chosen: string; hasGpu: boolean; webglVersion: number }>;
  wasmSimd(): Promise<{ bound: boolean; product: number[] }>;
  webgpuBindGroups(): Promise<{
    installed: boolean;
    stock: number[][];
    cached: number[][];
    lastMisses: number;
    lastHits: number;
  }>;
  webgpuFusedAdam(): Promise<{ plain: number[][]; fused: number[][]; programs: string[] }>;
  webgpuGuard(): Promise<{ values: number[]; programs: string[]; skippedUnchanged: boolean }>;
}

let session: BrowserSession | undefined;
let available: Record<string, string | null> = {};
if (browser.run) {
  session = await openPage('tests/browser/pages/backends-page.ts', {
    serve: { '/wasm/': 'node_modules/@tensorflow/tfjs-backend-wasm/dist' },
  });
  const page = session.page;
  available = await page.evaluate((b) => (globalThis as unknown as PageApi).availability(b), [...BACKENDS]);
  for (const [b, reason] of Object.entries(available)) {
    if (reason !== null && !CI)
      console.warn(`\n*** SKIPPING browser conformance on ${b}: ${reason}. Under CI=true it must run. ***\n`);
  }
}
afterAll(async () => {
  await session?.close();
});

describe.runIf(browser.run)(`backends in a real browser (${browser.reason})`, () => {
  it('every backend is usable in Chromium (under CI=true), and selectBackend() prefers webgpu, then webgl', async () => {
    if (CI) expect(available).toEqual(Object.fromEntries(BACKENDS.map((b) => [b, null])));
    const d = await (session as BrowserSession).page.evaluate(() => (globalThis as unknown as PageApi).defaults());
    expect(d.chosen).toBe(d.hasGpu && available.webgpu === null ? 'webgpu' : available.webgl === null ? 'webgl' : 'wasm');
  });

  it.runIf(CI || available.wasm === null)("tfjs-gan's SIMD kernels bind to the wasm backend's memory in Chromium", async () => {
    const r = await (session as BrowserSession).page.evaluate(() => (globalThis as unknown as PageApi).wasmSimd());
    expect(r.bound).toBe(true);
    expect(r.product).toEqual([6, 8, 8, 10]); // [1 3 5; 2 4 6] · [1 0; 0 1; 1 1]
  });

  it.runIf(CI || available.webgpu === null)("the WebGPU tune-up's bind group cache works on Chromium's GPUDevice", async () => {
    const r = await (session as BrowserSession).page.evaluate(() => (globalThis as unknown as PageApi).webgpuBindGroups());
    expect(r.installed).toBe(true);
    expect(r.cached).toEqual(r.stock); // bit for bit
    expect(r.stock[0]).toHaveLength(50);
    expect(r.lastMisses).toBe(0); // every bind group of the last repetition reused:
    expect(r.lastHits).toBeGreaterThanOrEqual(4); // matMul, add, leakyRelu, sum at least
  });

  it.runIf(CI || available.webgpu === null)(
    "the fused Adam's one shader per variable gives tf.train.adam's update on Chromium's WebGPU",
    async () => {
      const r = await (session as BrowserSession).page.evaluate(() => (globalThis as unknown as PageApi).webgpuFusedAdam());
      // 4 updates × 2 variables, one dispatch each (plus the zeros of the 4 moments, made on the first update).
      expect(r.programs.filter((p) => p === 'tfjsGanFusedAdam_oneShader')).toHaveLength(8);
      expect(
        r.programs.filter((p) => p !== 'tfjsGanFusedAdam_oneShader' && !p.startsWith('fill')),
        r.programs.join(),
      ).toEqual([]);
      expect(r.fused).toHaveLength(6); // w, b and their m and v
      // The same float32 operations; a GPU's compiler may fuse a multiply-add, so allow a few ulps.
      let worst = 0;
      r.plain.forEach((values, i) => {
        values.forEach((x, j) => {
          const y = r.fused[i]?.[j] as number;
          worst = Math.max(worst, Math.abs(x - y) / Math.max(1e-6, Math.abs(x)));
        });
      });
      expect(worst).toBeLessThan(1e-6); // SwiftShader: 0
    },
  );

  it.runIf(CI || available.webgpu === null)(
    "the on-device non-finite guard's shader and a guarded fused Adam work on Chromium's WebGPU",
    async () => {
      const r = await (session as BrowserSession).page.evaluate(() => (globalThis as unknown as PageApi).webgpuGuard());
      expect(r.values).toEqual([2, 3, -2, -3, -2, -3]);
      // One program per six tensors: 1 + 1 + 1 + 1 + 1 + 3.
      expect(r.programs.filter((p) => p.startsWith('tfjsGanGuardStep'))).toHaveLength(8);
      expect(r.programs).toHaveLength(8);
      expect(r.skippedUnchanged).toBe(true);
    },
  );

  for (const backend of BACKENDS) {
    describe.runIf(CI || available[backend] === null)(backend, () => {
      conformanceSuite(`conformance on the ${backend} backend (Chromium)`, async () => {
        const r = await session?.page.evaluate((b) => (globalThis as unknown as PageApi).conformance(b), backend);
        if (r?.results === undefined || r.reference === undefined) throw new Error(`${backend} unavailable: ${r?.unavailable}`);
        return { results: r.results, reference: r.reference };
      });
    });
  }
});
