/**
 * PNG sample grids (pngjs). Pure helpers: pixels in, PNG bytes out; `writeImageGrid` also writes the file.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { PNG } from 'pngjs';

/** How to lay out a batch of images. */
export interface GridOptions {
  /** Height and width of one image (square images: give the side). */
  readonly height: number;
  readonly width: number;
  /** 1 (grey) or 3 (RGB). Default 1. */
  readonly channels?: number;
  /** Images per row. Default: ceil(sqrt(n)). */
  readonly columns?: number;
  /** Value range of the pixels, mapped to 0…255. Default [-1, 1] (tanh output). */
  readonly range?: readonly [number, number];
  /** Each pixel becomes a `scale × scale` block. Default 2. */
  readonly scale?: number;
  /** Gap between images in (scaled) pixels. Default 2. */
  readonly padding?: number;
}

/** Encodes `n` images, stored one after another in `pixels` (`n · h · w · c` values, HWC order), as one PNG grid. */
export function imageGridPng(pixels: ArrayLike<number>, n: number, options: GridOptions): Buffer {
  const { height: h, width: w } = options;
  const c = options.channels ?? 1;
  const per = h * w * c;
  if (pixels.length < n * per) throw new RangeError(`imageGridPng: ${pixels.length} values for ${n} images of ${per}`);
  const cols = options.columns ?? Math.ceil(Math.sqrt(n));
  const rows = Math.ceil(n / cols);
  const scale = options.scale ?? 2;
  const pad = options.padding ?? 2;
  const [lo, hi] = options.range ?? [-1, 1];
  const png = new PNG({ width: cols * (w * scale + pad) + pad, height: rows * (h * scale + pad) + pad });
  png.data.fill(40); // dark grey frame
  for (let i = 3; i < png.data.length; i += 4) png.data[i] = 255;
  const byte = (v: number): number => {
    const t = (v - lo) / (hi - lo);
    return Number.isFinite(t) ? Math.round(255 * Math.min(1, Math.max(0, t))) : 0;
  };
  for (let k = 0; k < n; k++) {
    const ox = pad + (k % cols) * (w * scale + pad);
    const oy = pad + Math.floor(k / cols) * (h * scale + pad);
    for (let y = 0; y < h * scale; y++) {
      for (let x = 0; x < w * scale; x++) {
        const src = k * per + (Math.floor(y / scale) * w + Math.floor(x / scale)) * c;
        const dst = ((oy + y) * png.width + ox + x) * 4;
        const r = byte(pixels[src] as number);
        png.data[dst] = r;
        png.data[dst + 1] = c === 3 ? byte(pixels[src + 1] as number) : r;
        png.data[dst + 2] = c === 3 ? byte(pixels[src + 2] as number) : r;
      }
    }
  }
  return PNG.sync.write(png);
}

/** {@link imageGridPng}, written to `file` (its folder is created). */
export function writeImageGrid(file: string, pixels: ArrayLike<number>, n: number, options: GridOptions): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, imageGridPng(pixels, n, options));
}
