// Runs a page bundle in the system's Chromium (Debian's `chromium`, driven by playwright-core),
// served from 127.0.0.1 so that secure-context APIs (IndexedDB, WebGPU) exist.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, extname, join } from 'node:path';
import { build } from 'esbuild';
import { type Browser, chromium, type Page } from 'playwright-core';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** The system browser, or undefined (tests then skip loudly — except under CI=true, where they fail). */
export function findChromium(): string | undefined {
  return CANDIDATES.find((p) => existsSync(p));
}

/** `it` or `it.skip`, announcing a skip; under CI=true a missing browser is a failure, not a skip. */
export function browserAvailability(): { run: boolean; reason: string } {
  const path = findChromium();
  if (path !== undefined) return { run: true, reason: path };
  if (process.env.CI === 'true')
    return { run: true, reason: 'CI=true: the browser must be installed (.ci/run installs chromium)' };
  console.warn('\n*** SKIPPING browser tests: no system Chromium (apt-get install chromium). Under CI=true they run. ***\n');
  return { run: false, reason: 'no chromium' };
}

export interface BrowserSession {
  readonly page: Page;
  readonly origin: string;
  close(): Promise<void>;
}

/** Options of {@link openPage}. */
export interface PageOptions {
  /** Extra files to serve: URL prefix (e.g. `/wasm/`) → local folder. */
  readonly serve?: Readonly<Record<string, string>>;
  /** How long the page may take to set `globalThis.ready`. Default 60 s. */
  readonly readyTimeoutMs?: number;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = { '.wasm': 'application/wasm', '.js': 'text/javascript' };

/** Bundles `entry` for the browser and opens it in headless Chromium on a 127.0.0.1 page. */
export async function openPage(entry: string, options: PageOptions = {}): Promise<BrowserSession> {
  const executablePath = findChromium();
  if (executablePath === undefined) throw new Error('no system Chromium found (apt-get install chromium)');
  const dir = mkdtempSync(join(tmpdir(), 'tfjs-gan-browser-'));
  await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    outfile: join(dir, 'page.js'),
    external: ['node:*'],
    logLevel: 'error',
  });
  const html = '<!doctype html><meta charset="utf-8"><title>tfjs-gan</title><script type="module" src="/page.js"></script>';
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const served = Object.entries(options.serve ?? {}).find(([prefix]) => url.pathname.startsWith(prefix));
    if (url.pathname === '/page.js') {
      res.setHeader('content-type', 'text/javascript');
      res.end(readFileSync(join(dir, 'page.js')));
    } else if (served !== undefined) {
      const name = basename(url.pathname.slice(served[0].length)); // no path traversal
      const file = join(served[1], name);
      if (!existsSync(file)) {
        res.statusCode = 404;
        res.end();
        return;
      }
      res.setHeader('content-type', CONTENT_TYPES[extname(name)] ?? 'application/octet-stream');
      res.end(readFileSync(file));
    } else {
      res.setHeader('content-type', 'text/html');
      res.end(html);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  let browser: Browser | undefined;
  try {
    browser = await chromium.launch({
      executablePath,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--enable-unsafe-webgpu',
        '--enable-features=Vulkan',
      ],
    });
    const context = await browser.newContext({ acceptDownloads: true });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    const origin = `http://127.0.0.1:${port}`;
    await page.goto(`${origin}/`);
    await page.waitForFunction(
      () => (globalThis as { ready?: boolean }).ready === true || document.title === 'error',
      undefined,
      {
        timeout: options.readyTimeoutMs ?? 60_000,
      },
    );
    if (errors.length > 0) throw new Error(`page errors: ${errors.join('; ')}`);
    const b = browser;
    return {
      page,
      origin,
      close: async () => {
        await b.close();
        server.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await browser?.close();
    server.close();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
