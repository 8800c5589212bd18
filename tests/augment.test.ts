import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  CheckpointError,
  conditionalMlpDiscriminator,
  conditionalMlpGenerator,
  discriminatorFromFunction,
  GANConfigError,
  GANTrainer,
  losses,
  mlpDiscriminator,
  mlpGenerator,
  stabilizers,
} from '../src/index';
import { Random } from '../src/random';
import { type AugmentParameters, augmentImages, augmentSettings, drawAugmentParameters } from '../src/stabilizers/augment';

type Nchw = number[][][][];

/**
 * DiffAugment's reference code (mit-han-lab/data-efficient-gans, DiffAugment_pytorch.py) ported line by
 * line to nested arrays, NCHW, with its random draws replaced by the given parameters: rand_brightness
 * adds (rand − 0.5) — the `brightness` value here —, rand_saturation and rand_contrast scale deviations
 * from the channel and image means, rand_translation reads the zero-padded image at clamp(i + t + 1),
 * rand_cutout zeroes mask[clamp(g + offset − size // 2)] with offset = cutY + size // 2.
 */
function paperAugment(x: Nchw, p: AugmentParameters, policy: string[], cutH: number, cutW: number): Nchw {
  const [n, c, h, w] = [x.length, x[0]?.length ?? 0, x[0]?.[0]?.length ?? 0, x[0]?.[0]?.[0]?.length ?? 0];
  let y = x.map((e) => e.map((ch) => ch.map((row) => [...row])));
  const at = (t: Nchw, e: number, ch: number, i: number, j: number) => t[e]?.[ch]?.[i]?.[j] as number;
  const map = (f: (e: number, ch: number, i: number, j: number) => number): Nchw =>
    Array.from({ length: n }, (_, e) =>
      Array.from({ length: c }, (_, ch) =>
        Array.from({ length: h }, (_, i) => Array.from({ length: w }, (_, j) => f(e, ch, i, j))),
      ),
    );
  if (policy.includes('color')) {
    const y0 = y;
    y = map((e, ch, i, j) => at(y0, e, ch, i, j) + (p.brightness[e] as number));
    const y1 = y;
    const chMean = (e: number, i: number, j: number) =>
      Array.from({ length: c }, (_, k) => at(y1, e, k, i, j)).reduce((a, b) => a + b) / c;
    y = map((e, ch, i, j) => (at(y1, e, ch, i, j) - chMean(e, i, j)) * (p.saturation[e] as number) + chMean(e, i, j));
    const y2 = y;
    const mean = (e: number) => (y2[e] as number[][][]).flat(2).reduce((a, b) => a + b) / (c * h * w);
    y = map((e, ch, i, j) => (at(y2, e, ch, i, j) - mean(e)) * (p.contrast[e] as number) + mean(e));
  }
  if (policy.includes('translation')) {
    const y3 = y;
    const padded = (e: number, ch: number, i: number, j: number) =>
      i < 1 || i > h || j < 1 || j > w ? 0 : at(y3, e, ch, i - 1, j - 1);
    const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
    y = map((e, ch, i, j) =>
      padded(e, ch, clamp(i + (p.shiftY[e] as number) + 1, 0, h + 1), clamp(j + (p.shiftX[e] as number) + 1, 0, w + 1)),
    );
  }
  if (policy.includes('cutout')) {
    const mask = Array.from({ length: n }, () => Array.from({ length: h }, () => new Array<number>(w).fill(1)));
    const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
    for (let e = 0; e < n; e++) {
      const [oy, ox] = [(p.cutY[e] as number) + Math.floor(cutH / 2), (p.cutX[e] as number) + Math.floor(cutW / 2)];
      for (let gy = 0; gy < cutH; gy++) {
        for (let gx = 0; gx < cutW; gx++) {
          (mask[e] as number[][])[clamp(gy + oy - Math.floor(cutH / 2), 0, h - 1)]![
            clamp(gx + ox - Math.floor(cutW / 2), 0, w - 1)
          ] = 0;
        }
      }
    }
    const y4 = y;
    y = map((e, ch, i, j) => at(y4, e, ch, i, j) * (mask[e]?.[i]?.[j] as number));
  }
  return y;
}

const H = 6;
const W = 5;

/** A D that records the images it was given and returns their pixel sums as logits. */
function recordingD(shape: readonly number[] = [H, W, 1]) {
  const seen: tf.Tensor[] = [];
  const d = discriminatorFromFunction({
    inputShape: shape,
    variables: [],
    fn: (x) => {
      seen.push(tf.keep(tf.clone(x)));
      return tf.reshape(
        tf.sum(
          x,
          x.shape.slice(1).map((_, i) => i + 1),
        ),
        [-1, 1],
      );
    },
  });
  return { d, seen };
}

/** Images whose pixels are all distinct positive numbers (1 + index), so any move is visible. */
function distinctImages(n: number, h = H, w = W, c = 1): tf.Tensor4D {
  return tf.tensor4d(
    Array.from({ length: n * h * w * c }, (_, i) => 1 + i),
    [n, h, w, c],
  );
}

const image = (t: tf.Tensor, e: number): number[][][] => (t.arraySync() as number[][][][])[e] as number[][][];

/** The shift (dy, dx) that maps `src` onto `out` on the pixels that stayed inside, or undefined. */
function findShift(src: number[][][], out: number[][][], fill: number): [number, number] | undefined {
  for (let dy = -H; dy <= H; dy++) {
    for (let dx = -W; dx <= W; dx++) {
      let ok = true;
      for (let y = 0; y < H && ok; y++) {
        for (let x = 0; x < W && ok; x++) {
          const [sy, sx] = [y - dy, x - dx];
          const expected = sy >= 0 && sy < H && sx >= 0 && sx < W ? (src[sy]?.[sx]?.[0] as number) : fill;
          ok = out[y]?.[x]?.[0] === expected;
        }
      }
      if (ok) return [dy, dx];
    }
  }
  return undefined;
}

describe('DiffAugment against its definition', () => {
  it('matches the paper’s reference code, ported, on non-square RGB images with odd and even cut-outs, edges included', () => {
    const cases = [
      { shape: [5, 7, 3], cutout: 0.5 }, // cut-out 3×4 (odd × even)
      { shape: [6, 4, 2], cutout: 0.34 }, // 2×1
      { shape: [4, 9, 1], cutout: 0.75 }, // 3×7
    ] as const;
    for (const { shape, cutout } of cases) {
      const [h, w, c] = shape;
      const s = augmentSettings(shape, { cutout, translation: 0.5 });
      const n = 12;
      // Parameters at and past the edges: shifts of the whole range, squares clipped on every side.
      const p: AugmentParameters = {
        brightness: Float32Array.from({ length: n }, (_, e) => -0.5 + e / n),
        saturation: Float32Array.from({ length: n }, (_, e) => (2 * ((e * 5) % n)) / n),
        contrast: Float32Array.from({ length: n }, (_, e) => 0.5 + ((e * 7) % n) / n),
        shiftY: Int32Array.from({ length: n }, (_, e) => (e % (2 * s.maxShiftY + 1)) - s.maxShiftY),
        shiftX: Int32Array.from({ length: n }, (_, e) => ((e * 3) % (2 * s.maxShiftX + 1)) - s.maxShiftX),
        cutY: Int32Array.from({ length: n }, (_, e) => (e % (h - (s.cutH % 2) + 1)) - Math.floor(s.cutH / 2)),
        cutX: Int32Array.from({ length: n }, (_, e) => ((e * 5) % (w - (s.cutW % 2) + 1)) - Math.floor(s.cutW / 2)),
      };
      const data = Array.from({ length: n * h * w * c }, (_, i) => Math.sin(i * 0.7) + 0.1 * (i % 5));
      const nhwc = tf.tensor4d(data, [n, h, w, c]);
      const nchw = tf.transpose(nhwc, [0, 3, 1, 2]).arraySync() as Nchw;
      for (const policy of [['color'], ['translation'], ['cutout'], ['color', 'translation', 'cutout']]) {
        const ours = tf.tidy(() =>
          tf.transpose(
            augmentImages(nhwc, p, { ...s, policy: new Set(policy as ('color' | 'translation' | 'cutout')[]) }),
            [0, 3, 1, 2],
          ),
        );
        const got = (ours.arraySync() as Nchw).flat(3);
        const want = paperAugment(nchw, p, policy, s.cutH, s.cutW).flat(3);
        expect(got.length).toBe(want.length);
        for (let i = 0; i < got.length; i++) expect(got[i], `${shape} ${policy} element ${i}`).toBeCloseTo(want[i] as number, 4);
        ours.dispose();
      }
      nhwc.dispose();
    }
  });

  it('`fill` f is the paper’s zero for data shifted by −f: augment(x; f) = augment(x − f; 0) + f', () => {
    const s0 = augmentSettings([5, 6, 2], { policy: ['translation', 'cutout'] });
    const sf = augmentSettings([5, 6, 2], { policy: ['translation', 'cutout'], fill: -1 });
    const p = drawAugmentParameters(new Random(3), 8, s0);
    const x = tf.randomUniform([8, 5, 6, 2], -1, 1, 'float32', 4) as tf.Tensor4D;
    const [a, b] = tf.tidy(() => [augmentImages(x, p, sf), tf.sub(augmentImages(tf.add(x, 1) as tf.Tensor4D, p, s0), 1)]);
    expect(tf.max(tf.abs(tf.sub(a as tf.Tensor, b as tf.Tensor))).arraySync()).toBeLessThan(1e-6);
    // And the filled pixels are exactly −1: every example lost some pixels to the cut-out.
    const flat = (a as tf.Tensor).arraySync() as number[][][][];
    for (const e of flat) expect(e.flat(2).filter((v) => v === -1).length).toBeGreaterThan(0);
    tf.dispose([x, a as tf.Tensor, b as tf.Tensor]);
  });

  it('draws each parameter over the paper’s range: randint(−t, t + 1) shifts, randint(0, size + 1 − side mod 2) cut-out offsets, U ranges', () => {
    for (const [h, w] of [
      [6, 10],
      [8, 5],
    ] as const) {
      const s = augmentSettings([h, w, 1], { translation: 0.25, cutout: 0.5 });
      // int(size·ratio + 0.5), as the paper computes them.
      expect([s.maxShiftY, s.maxShiftX]).toEqual([Math.trunc(h * 0.25 + 0.5), Math.trunc(w * 0.25 + 0.5)]);
      expect([s.cutH, s.cutW]).toEqual([Math.trunc(h * 0.5 + 0.5), Math.trunc(w * 0.5 + 0.5)]);
      const p = drawAugmentParameters(new Random(7), 4000, s);
      const values = (a: ArrayLike<number>) => [...new Set(Array.from(a))].sort((u, v) => u - v);
      const range = (lo: number, hi: number) => Array.from({ length: hi - lo }, (_, i) => lo + i); // [lo, hi)
      expect(values(p.shiftY)).toEqual(range(-s.maxShiftY, s.maxShiftY + 1));
      expect(values(p.shiftX)).toEqual(range(-s.maxShiftX, s.maxShiftX + 1));
      // offset = randint(0, size + (1 − side % 2)), and the square starts at offset − side // 2.
      const starts = (size: number, side: number) => range(0, size + (1 - (side % 2))).map((o) => o - Math.floor(side / 2));
      expect(values(p.cutY)).toEqual(starts(h, s.cutH));
      expect(values(p.cutX)).toEqual(starts(w, s.cutW));
      const span = (a: Float32Array) => [Math.min(...a), Math.max(...a)];
      const [b0, b1] = span(p.brightness);
      const [s0, s1] = span(p.saturation);
      const [c0, c1] = span(p.contrast);
      expect(b0).toBeGreaterThanOrEqual(-0.5);
      expect(b0).toBeLessThan(-0.49);
      expect(b1).toBeLessThan(0.5);
      expect(b1).toBeGreaterThan(0.49);
      expect(s0).toBeGreaterThanOrEqual(0);
      expect(s0).toBeLessThan(0.01);
      expect(s1).toBeLessThan(2);
      expect(s1).toBeGreaterThan(1.99);
      expect(c0).toBeGreaterThanOrEqual(0.5);
      expect(c0).toBeLessThan(0.51);
      expect(c1).toBeLessThan(1.5);
      expect(c1).toBeGreaterThan(1.49);
    }
  });
});

describe('stabilizers.withDiffAugment', () => {
  it('translation moves each example by its own whole-pixel shift within ±round(ratio·size), filling with `fill`', () => {
    const { d, seen } = recordingD();
    // ratio 0.34: ±round(6·0.34) = ±2 rows, ±round(5·0.34) = ±2 columns.
    const aug = stabilizers.withDiffAugment(d, { policy: ['translation'], translation: 0.34, fill: -1, seed: 3 });
    const x = distinctImages(40);
    tf.tidy(() => {
      aug.apply(x, { training: true });
    });
    const shifts = new Set<string>();
    for (let e = 0; e < 40; e++) {
      const s = findShift(image(x, e), image(seen[0] as tf.Tensor, e), -1);
      expect(s, `example ${e} is not a shift of its input`).toBeDefined();
      const [dy, dx] = s as [number, number];
      expect(Math.abs(dy)).toBeLessThanOrEqual(2);
      expect(Math.abs(dx)).toBeLessThanOrEqual(2);
      shifts.add(`${dy},${dx}`);
    }
    // 25 possible shifts, drawn independently per example: a constant shift (or none) would fail here.
    expect(shifts.size).toBeGreaterThan(10);
    tf.dispose([x, ...seen]);
  });

  it('cutout replaces one clipped square of side round(ratio·size) per example by `fill`, and nothing else', () => {
    const { d, seen } = recordingD();
    const aug = stabilizers.withDiffAugment(d, { policy: ['cutout'], cutout: 0.5, fill: 0.25, seed: 4 });
    const x = distinctImages(30);
    tf.tidy(() => {
      aug.apply(x, { training: true });
    });
    const out = seen[0] as tf.Tensor;
    const sizes = new Set<string>();
    for (let e = 0; e < 30; e++) {
      const [src, got] = [image(x, e), image(out, e)];
      const cut: [number, number][] = [];
      for (let y = 0; y < H; y++) {
        for (let xx = 0; xx < W; xx++) {
          if (got[y]?.[xx]?.[0] === 0.25) cut.push([y, xx]);
          else expect(got[y]?.[xx]?.[0]).toBe(src[y]?.[xx]?.[0]);
        }
      }
      expect(cut.length).toBeGreaterThan(0);
      const ys = cut.map((p) => p[0]);
      const xs = cut.map((p) => p[1]);
      const [hh, ww] = [Math.max(...ys) - Math.min(...ys) + 1, Math.max(...xs) - Math.min(...xs) + 1];
      expect(cut.length).toBe(hh * ww); // a rectangle
      expect(hh).toBeLessThanOrEqual(3); // round(6·0.5)
      expect(ww).toBeLessThanOrEqual(3); // round(5·0.5)
      sizes.add(`${hh}x${ww}`);
    }
    expect(sizes.has('3x3')).toBe(true); // unclipped squares occur
    expect(sizes.size).toBeGreaterThan(1); // and clipped ones at the borders
    tf.dispose([x, ...seen]);
  });

  it('color changes each grey-scale example by an affine map a·x + b with contrast a in [½, 1½)', () => {
    const { d, seen } = recordingD();
    const aug = stabilizers.withDiffAugment(d, { policy: ['color'], seed: 5 });
    const x = tf.tidy(() => tf.div(distinctImages(20), 600)) as tf.Tensor4D; // pixels in (0, 1]
    tf.tidy(() => {
      aug.apply(x, { training: true });
    });
    const factors: number[] = [];
    for (let e = 0; e < 20; e++) {
      const src = image(x, e).flat(2);
      const got = image(seen[0] as tf.Tensor, e).flat(2);
      // One channel: saturation is the identity; brightness then contrast is affine in x.
      const a = ((got[1] as number) - (got[0] as number)) / ((src[1] as number) - (src[0] as number));
      const b = (got[0] as number) - a * (src[0] as number);
      for (let i = 0; i < src.length; i++) expect(got[i]).toBeCloseTo(a * (src[i] as number) + b, 4);
      expect(a).toBeGreaterThanOrEqual(0.5 - 1e-5);
      expect(a).toBeLessThan(1.5 + 1e-5);
      factors.push(a);
    }
    expect(Math.max(...factors) - Math.min(...factors)).toBeGreaterThan(0.3);
    tf.dispose([x, ...seen]);
  });

  it('several channels: saturation scales each pixel’s deviation from its channel mean; translation moves all channels alike', () => {
    const { d, seen } = recordingD([4, 4, 3]);
    const aug = stabilizers.withDiffAugment(d, { policy: ['translation'], translation: 0.5, seed: 6 });
    const x = distinctImages(8, 4, 4, 3);
    tf.tidy(() => {
      aug.apply(x, { training: true });
    });
    const src = x.arraySync() as number[][][][];
    const got = (seen[0] as tf.Tensor).arraySync() as number[][][][];
    for (let e = 0; e < 8; e++) {
      // Find the shift from channel 0 and check that channels 1 and 2 moved the same way.
      let match = false;
      for (let dy = -2; dy <= 2 && !match; dy++) {
        for (let dx = -2; dx <= 2 && !match; dx++) {
          match = [0, 1, 2].every((ch) =>
            Array.from({ length: 16 }, (_, i) => [Math.floor(i / 4), i % 4] as const).every(([y, xx]) => {
              const [sy, sx] = [y - dy, xx - dx];
              const want = sy >= 0 && sy < 4 && sx >= 0 && sx < 4 ? src[e]?.[sy]?.[sx]?.[ch] : 0;
              return got[e]?.[y]?.[xx]?.[ch] === want;
            }),
          );
        }
      }
      expect(match, `example ${e}`).toBe(true);
    }
    tf.dispose([x, ...seen]);
    const rgb = recordingD([1, 1, 3]);
    const colored = stabilizers.withDiffAugment(rgb.d, { policy: ['color'], seed: 7 });
    const px = tf.tensor4d([0.2, 0.5, 0.8, 0.1, 0.1, 0.7], [2, 1, 1, 3]);
    tf.tidy(() => {
      colored.apply(px, { training: true });
    });
    const out = (rgb.seen[0] as tf.Tensor).arraySync() as number[][][][];
    for (const e of [0, 1]) {
      const inPx = (px.arraySync() as number[][][][])[e]?.[0]?.[0] as number[];
      const outPx = out[e]?.[0]?.[0] as number[];
      // Deviations from the channel mean are scaled by one factor per example (saturation × contrast on a 1-pixel image).
      const dIn = inPx.map((v) => v - inPx.reduce((s, u) => s + u, 0) / 3);
      const dOut = outPx.map((v) => v - outPx.reduce((s, u) => s + u, 0) / 3);
      const k = (dOut[0] as number) / (dIn[0] as number);
      for (let ch = 0; ch < 3; ch++) expect(dOut[ch]).toBeCloseTo(k * (dIn[ch] as number), 4);
    }
    tf.dispose([px, ...rgb.seen]);
  });

  it('channelsFirst images get the transformations of their channels-last layout', () => {
    const first = recordingD([3, 4, 5]);
    const last = recordingD([4, 5, 3]);
    const a = stabilizers.withDiffAugment(first.d, { dataFormat: 'channelsFirst', seed: 2 });
    const b = stabilizers.withDiffAugment(last.d, { seed: 2 });
    const x = tf.randomUniform([6, 3, 4, 5], -1, 1, 'float32', 1);
    tf.tidy(() => {
      a.apply(x, { training: true });
      b.apply(tf.transpose(x, [0, 2, 3, 1]), { training: true });
    });
    const viaFirst = tf.transpose(first.seen[0] as tf.Tensor, [0, 2, 3, 1]);
    expect(viaFirst.arraySync()).toEqual((last.seen[0] as tf.Tensor).arraySync());
    expect(viaFirst.arraySync()).not.toEqual(tf.transpose(x, [0, 2, 3, 1]).arraySync());
    expect(() => stabilizers.withDiffAugment(first.d, { dataFormat: 'nchw' as never })).toThrow(/dataFormat/);
    tf.dispose([x, viaFirst, ...first.seen, ...last.seen]);
  });

  it('is the identity in inference mode, and flat inputs work with imageShape', () => {
    const { d, seen } = recordingD([H * W]);
    const aug = stabilizers.withDiffAugment(d, { imageShape: [H, W, 1], seed: 1 });
    expect(aug.inputShape).toEqual([H * W]);
    const x = tf.reshape(distinctImages(3), [3, H * W]);
    tf.tidy(() => {
      aug.apply(x, { training: false });
    });
    expect((seen[0] as tf.Tensor).arraySync()).toEqual(x.arraySync());
    tf.tidy(() => {
      aug.apply(x, { training: true });
    });
    expect((seen[1] as tf.Tensor).shape).toEqual([3, H * W]);
    expect((seen[1] as tf.Tensor).arraySync()).not.toEqual(x.arraySync());
    tf.dispose([x, ...seen]);
  });

  it('passes G’s gradient through: d/dx of the sum of a translated image is 1 on the pixels that stayed inside', () => {
    const { d, seen } = recordingD();
    const aug = stabilizers.withDiffAugment(d, { policy: ['translation'], translation: 0.34, seed: 8 });
    const x = distinctImages(6);
    const g = tf.grad((xi: tf.Tensor) => tf.sum(aug.apply(xi, { training: true })))(x);
    const gx = g.arraySync() as number[][][][];
    for (let e = 0; e < 6; e++) {
      const [dy, dx] = findShift(image(x, e), image(seen[0] as tf.Tensor, e), 0) as [number, number];
      for (let y = 0; y < H; y++) {
        for (let xx = 0; xx < W; xx++) {
          const inside = y + dy >= 0 && y + dy < H && xx + dx >= 0 && xx + dx < W;
          expect(gx[e]?.[y]?.[xx]?.[0]).toBe(inside ? 1 : 0);
        }
      }
    }
    tf.dispose([x, g, ...seen]);
  });

  it('rejects bad settings with a typed error before wrapping', () => {
    const flat = mlpDiscriminator({ inputShape: [30], hiddenUnits: [4], seed: 1 });
    expect(() => stabilizers.withDiffAugment(flat)).toThrow(/imageShape/);
    expect(() => stabilizers.withDiffAugment(flat, { imageShape: [5, 5, 1] })).toThrow(GANConfigError);
    const bad: [object, RegExp][] = [
      [{ policy: ['blur'] }, /policy/],
      [{ policy: [] }, /policy/],
      [{ translation: 1 }, /translation/],
      [{ translation: -0.1 }, /translation/],
      [{ cutout: 0 }, /cutout/],
      [{ fill: Number.NaN }, /fill/],
    ];
    for (const [options, message] of bad) {
      expect(() => stabilizers.withDiffAugment(flat, { imageShape: [5, 6, 1], ...options })).toThrow(message);
    }
    expect(() => stabilizers.withDiffAugment(undefined as never)).toThrow(GANConfigError);
    flat.dispose?.();
  });

  it('trains through GANTrainer leak-free, conditional D included, and a checkpoint resumes the same transformations', async () => {
    const make = () => {
      const generator = mlpGenerator({ latentDim: 3, hiddenUnits: [8], outputShape: [H * W], seed: 1 });
      const discriminator = stabilizers.withDiffAugment(mlpDiscriminator({ inputShape: [H * W], hiddenUnits: [8], seed: 2 }), {
        imageShape: [H, W, 1],
        fill: -1,
        seed: 9,
      });
      return new GANTrainer({ generator, discriminator, seed: 4 });
    };
    const start = tf.memory().numTensors;
    const data = tf.tidy(() => tf.sub(tf.div(tf.reshape(distinctImages(8), [8, H * W]), H * W * 8 * 0.5), 1));
    const straight = make();
    const expected = [];
    const counts: number[] = [];
    for (let i = 0; i < 5; i++) {
      expected.push(await straight.step(data));
      counts.push(tf.memory().numTensors);
    }
    expect(counts.slice(1)).toEqual(counts.slice(1).map(() => counts[1])); // no step after the first holds on to anything

    let stored: tf.io.ModelArtifacts | undefined;
    const memory: tf.io.IOHandler = {
      save: async (a) => {
        stored = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      },
      load: async () => stored as tf.io.ModelArtifacts,
    };
    const first = make();
    for (let i = 0; i < 2; i++) await first.step(data);
    await first.save(memory);
    const components = ((stored as tf.io.ModelArtifacts).modelTopology as { components: Record<string, { data: unknown }> })
      .components;
    expect(Object.keys(components)).toContain('diffAugment');
    const resumed = make();
    await resumed.step(data); // moves its random state on: the restore must put it back
    await resumed.restore(memory);
    const got = [await resumed.step(data), await resumed.step(data)];
    expect(got).toEqual(expected.slice(2, 4));
    // A corrupt random state is refused before anything changes.
    const broken = JSON.parse(JSON.stringify(stored?.modelTopology)) as {
      components: Record<string, { data: { random: unknown } }>;
    };
    (broken.components.diffAugment as { data: { random: unknown } }).data.random = 'x';
    stored = { ...(stored as tf.io.ModelArtifacts), modelTopology: broken };
    await expect(resumed.restore(memory)).rejects.toThrow(CheckpointError);
    for (const t of [straight, first, resumed]) t.dispose();

    // Conditional (an ACGAN's D with a class head): labels pass through, the class logits come back.
    const cond = new GANTrainer({
      generator: conditionalMlpGenerator({ numClasses: 2, latentDim: 3, hiddenUnits: [8], outputShape: [H * W], seed: 1 }),
      discriminator: stabilizers.withDiffAugment(
        conditionalMlpDiscriminator({
          numClasses: 2,
          inputShape: [H * W],
          hiddenUnits: [8],
          seed: 2,
          conditioning: 'none',
          auxiliaryClassifier: true,
        }),
        { imageShape: [H, W, 1], seed: 9 },
      ),
      loss: losses.auxiliaryClassifier('non-saturating'),
      seed: 4,
    });
    const labels = tf.tensor1d([0, 1, 0, 1, 0, 1, 0, 1], 'int32');
    const logs = [await cond.step({ x: data, labels }), await cond.step({ x: data, labels })];
    expect(logs.every((l) => Number.isFinite(l.dLoss) && Number.isFinite(l.gLoss))).toBe(true);
    cond.dispose();
    labels.dispose();
    tf.dispose(data);
    expect(tf.memory().numTensors).toBe(start);
  });
});
