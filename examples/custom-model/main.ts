/**
 * Plugging your own models and your own objective into tfjs-gan, without touching the library:
 *
 * - a generator written as a plain function over tf.Variables (`generatorFromFunction`), here a
 *   residual MLP;
 * - a discriminator as a hand-written class implementing the `Discriminator` interface;
 * - a custom `GANLoss`: the non-saturating loss with one-sided label smoothing (Salimans et al. 2016,
 *   real targets 0.9 instead of 1) — two pure functions of D's logits.
 *
 * The data: "two moons" in 2-D. Output: samples.svg (real vs generated), losses.svg, summary.json.
 *
 *   npx tsx examples/custom-model/main.ts                  # → out/custom
 *   npx tsx examples/custom-model/main.ts --steps 20 --out /tmp/custom
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { type Discriminator, type ForwardOptions, type GANLoss, GANTrainer, generatorFromFunction, Random } from 'tfjs-gan';
import { positiveInt } from '../lib/args';
import { describeBackend, THREADS_OPTION, useBackend } from '../lib/backend';
import { lossCurveSvg, svgChart, writeSvg } from '../lib/svg';

const { values: args } = parseArgs({
  options: {
    steps: { type: 'string' },
    seed: { type: 'string' },
    backend: { type: 'string', default: 'cpu' },
    ...THREADS_OPTION,
    out: { type: 'string', default: 'out/custom' },
  },
});
const steps = positiveInt('steps', args.steps, 1500);
const seed = positiveInt('seed', args.seed, 1);
const out = resolve(args.out);
await useBackend(args.backend, args.threads);
const backend = describeBackend(); // e.g. "wasm, 2 threads"

// ---- the data: two interleaved half circles with a little noise ---------------------------------
function twoMoons(n: number, rng: Random): Float32Array {
  // Box–Muller on the library's seeded uniform source.
  const normal = () => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
  const xy = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    const t = Math.PI * rng.next();
    const upper = i % 2 === 0;
    xy[2 * i] = (upper ? Math.cos(t) : 1 - Math.cos(t)) + 0.05 * normal();
    xy[2 * i + 1] = (upper ? Math.sin(t) : 0.5 - Math.sin(t)) + 0.05 * normal();
  }
  return xy;
}
const rng = new Random(seed);
const data = tf.tensor2d(twoMoons(8192, rng), [8192, 2]);

// ---- 1. a generator from a function: z → x with a residual hidden block -----------------------
const LATENT = 4;
const init = (shape: [number, number], s: number) =>
  tf.variable(tf.mul(tf.randomNormal(shape, 0, 1, 'float32', s), Math.sqrt(2 / shape[0])) as tf.Tensor2D);
const W1 = init([LATENT, 64], seed);
const W2 = init([64, 64], seed + 1);
const W3 = init([64, 2], seed + 2);
const b1 = tf.variable(tf.zeros([64]));
const b2 = tf.variable(tf.zeros([64]));
const b3 = tf.variable(tf.zeros([2]));
const generator = generatorFromFunction({
  latentDim: LATENT,
  outputShape: [2],
  variables: [W1, b1, W2, b2, W3, b3],
  fn: (z) => {
    const h = tf.relu(tf.add(tf.matMul(z, W1), b1));
    const h2 = tf.add(h, tf.relu(tf.add(tf.matMul(h, W2), b2))); // residual block
    return tf.add(tf.matMul(h2, W3), b3);
  },
});

// ---- 2. a discriminator as a class implementing the interface ----------------------------------
class MlpCritic implements Discriminator {
  readonly inputShape = [2] as const;
  readonly trainableVariables: tf.Variable[];
  private readonly layers: { w: tf.Variable; b: tf.Variable }[];

  constructor(widths: readonly number[], s: number) {
    const sizes = [2, ...widths, 1];
    this.layers = sizes.slice(1).map((n, i) => ({
      w: init([sizes[i] as number, n], s + i),
      b: tf.variable(tf.zeros([n])),
    }));
    this.trainableVariables = this.layers.flatMap((l) => [l.w, l.b]);
  }

  /** Logits `[n, 1]`: LeakyReLU hidden layers, a linear output (the losses apply the sigmoid). */
  apply(x: tf.Tensor, _options: ForwardOptions): tf.Tensor {
    let h = x as tf.Tensor2D;
    this.layers.forEach(({ w, b }, i) => {
      const a = tf.add(tf.matMul(h, w as tf.Tensor2D), b) as tf.Tensor2D;
      h = i < this.layers.length - 1 ? tf.leakyRelu(a, 0.2) : a;
    });
    return h;
  }

  dispose(): void {
    tf.dispose(this.trainableVariables);
  }
}
const discriminator = new MlpCritic([64, 64], seed + 10);

// ---- 3. a custom loss: non-saturating with one-sided label smoothing ---------------------------
// log σ(l) = −softplus(−l) and log(1 − σ(l)) = −softplus(l), so every term is numerically stable.
const SMOOTH = 0.9;
const smoothedNonSaturating: GANLoss = {
  name: 'non-saturating-smoothed-0.9',
  discriminator: ({ realLogits, fakeLogits }) =>
    tf.tidy(() =>
      tf.add(
        tf.mean(tf.add(tf.mul(SMOOTH, tf.softplus(tf.neg(realLogits))), tf.mul(1 - SMOOTH, tf.softplus(realLogits)))),
        tf.mean(tf.softplus(fakeLogits)),
      ),
    ) as tf.Scalar,
  generator: ({ fakeLogits }) => tf.mean(tf.softplus(tf.neg(fakeLogits))) as tf.Scalar,
};

const trainer = new GANTrainer({
  generator,
  discriminator,
  loss: smoothedNonSaturating,
  seed,
  generatorOptimizer: tf.train.adam(1e-3, 0.5),
  discriminatorOptimizer: tf.train.adam(1e-3, 0.5),
});

console.log(`custom G/D/loss on two moons: ${steps} steps on ${backend}, loss "${trainer.loss.name}"`);
const start = performance.now();
const history = await trainer.fit(data, {
  epochs: Math.ceil(steps / 64),
  batchSize: 128,
  callbacks: [
    {
      onStepEnd: (l, ctx) => {
        if (l.step + 1 >= steps) ctx.stop();
        if ((l.step + 1) % 500 === 0) {
          console.log(
            `step ${l.step + 1}: dLoss ${l.dLoss.toFixed(3)} gLoss ${l.gLoss.toFixed(3)} D(x) ${l.dReal.toFixed(3)} D(G(z)) ${l.dFake.toFixed(3)}`,
          );
        }
      },
    },
  ],
});
const seconds = (performance.now() - start) / 1000;

// How close are generated points to the data? Mean distance to the nearest of 2 000 real points,
// against the same measure for fresh real points (the floor).
function meanNearest(points: Float32Array, reference: Float32Array): number {
  let total = 0;
  const n = points.length / 2;
  for (let i = 0; i < n; i++) {
    let best = Number.POSITIVE_INFINITY;
    for (let j = 0; j < reference.length; j += 2) {
      const dx = (points[2 * i] as number) - (reference[j] as number);
      const dy = (points[2 * i + 1] as number) - (reference[j + 1] as number);
      best = Math.min(best, dx * dx + dy * dy);
    }
    total += Math.sqrt(best);
  }
  return total / n;
}
const fake = trainer.sample(1000);
const fakeXY = fake.dataSync() as Float32Array;
fake.dispose();
const reference = twoMoons(2000, new Random(seed + 5));
const realXY = twoMoons(1000, new Random(seed + 6));
const distance = meanNearest(fakeXY, reference);
const floor = meanNearest(realXY, reference);
const pairs = (xy: Float32Array) =>
  Array.from({ length: xy.length / 2 }, (_, i) => [xy[2 * i], xy[2 * i + 1]] as [number, number]);
writeSvg(
  join(out, 'samples.svg'),
  svgChart(
    [
      { name: 'real', points: pairs(realXY), kind: 'dots', color: '#999' },
      { name: 'generated', points: pairs(fakeXY), kind: 'dots', color: '#d62728' },
    ],
    { title: `Two moons after ${trainer.stepCount} steps`, xRange: [-1.5, 2.5], yRange: [-1, 1.5], equalAspect: true },
  ),
);
writeSvg(join(out, 'losses.svg'), lossCurveSvg(history.steps, { title: `${trainer.loss.name} — losses` }));
const summary = { backend, steps: trainer.stepCount, seconds, meanNearestDistance: distance, realFloor: floor };
writeFileSync(join(out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
console.log(
  `\n${trainer.stepCount} steps in ${seconds.toFixed(0)} s. Mean distance of generated points to the data: ` +
    `${distance.toFixed(3)} (real points: ${floor.toFixed(3)}). Wrote ${out}/samples.svg, losses.svg, summary.json.`,
);
tf.dispose(data);
trainer.dispose();
