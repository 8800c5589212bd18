/**
 * The paper's Figure 1 (Goodfellow et al. 2014) on a 1-D Gaussian: the data density p_data
 * (N(4, 0.5²)), the generator's density p_g and the discriminator D(x), at the start, midway
 * and at the end of training, when D(x) ≈ ½ wherever the data lives.
 *
 *   npx tsx examples/figure1-gaussian/main.ts                 # → out/figure1/figure1.svg
 *   npx tsx examples/figure1-gaussian/main.ts --steps 200 --out /tmp/f1
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { GANTrainer, mlpDiscriminator, mlpGenerator, type StepLogs } from 'tfjs-gan';
import { positiveInt } from '../lib/args';
import { describeBackend, THREADS_OPTION, useBackend } from '../lib/backend';
import { svgChart, svgPanels, writeSvg } from '../lib/svg';

const { values: args } = parseArgs({
  options: {
    steps: { type: 'string' },
    seed: { type: 'string' },
    backend: { type: 'string', default: 'cpu' }, // tiny models: the pure-JS backend is fastest
    ...THREADS_OPTION,
    out: { type: 'string', default: 'out/figure1' },
  },
});
const steps = positiveInt('steps', args.steps, 4000);
const seed = positiveInt('seed', args.seed, 1);
const out = resolve(args.out);
const DATA = { mean: 4, std: 0.5 };
const LATENT = 8;

await useBackend(args.backend, args.threads);
const backend = describeBackend(); // e.g. "wasm, 2 threads"
const data = tf.tidy(() => tf.add(tf.mul(tf.randomNormal([12_800, 1], 0, 1, 'float32', seed), DATA.std), DATA.mean));
const generator = mlpGenerator({ latentDim: LATENT, hiddenUnits: [16, 16], outputShape: [1], outputActivation: 'linear', seed });
const discriminator = mlpDiscriminator({ inputShape: [1], hiddenUnits: [32, 32], seed: seed + 1 });

// The x axis of the figure and the analytic data density on it.
const XS = Array.from({ length: 321 }, (_, i) => -1 + (i * 8) / 320);
const pData = XS.map((x) => Math.exp(-0.5 * ((x - DATA.mean) / DATA.std) ** 2) / (DATA.std * Math.sqrt(2 * Math.PI)));

interface Snapshot {
  readonly label: string;
  readonly step: number;
  readonly pG: number[];
  readonly d: number[];
  readonly mean: number;
  readonly std: number;
  /** Mean D(x) over real samples. */
  readonly dOnData: number;
}

/** Gaussian kernel density estimate of `samples` on XS. */
function density(samples: Float32Array, bandwidth = 0.08): number[] {
  const norm = 1 / (samples.length * bandwidth * Math.sqrt(2 * Math.PI));
  return XS.map((x) => {
    let s = 0;
    for (const v of samples) s += Math.exp(-0.5 * ((x - v) / bandwidth) ** 2);
    return s * norm;
  });
}

function snapshot(trainer: GANTrainer, label: string, step: number): Snapshot {
  const g = trainer.generate(tf.randomUniform([5000, LATENT], -1, 1, 'float32', 99) as tf.Tensor2D);
  const samples = g.dataSync() as Float32Array;
  const m = tf.moments(g);
  const dx = trainer.discriminate(tf.tensor2d(XS, [XS.length, 1]));
  const dReal = trainer.discriminate(tf.slice(data, 0, 5000));
  const snap: Snapshot = {
    label,
    step,
    pG: density(samples),
    d: Array.from(dx.dataSync()),
    mean: m.mean.dataSync()[0] as number,
    std: Math.sqrt(m.variance.dataSync()[0] as number),
    dOnData: tf.mean(dReal).dataSync()[0] as number,
  };
  tf.dispose([g, m.mean, m.variance, dx, dReal]);
  return snap;
}

console.log(`Figure 1 on N(${DATA.mean}, ${DATA.std}²): ${steps} steps on ${backend}, seed ${seed}`);
// The gaussian-1d recipe: two-time-scale updates (D 4× faster), then both rates cut 5× to settle.
const firstPhase = Math.round(steps * 0.75);
const phases = [
  { g: 5e-4, d: 2e-3, steps: firstPhase },
  { g: 1e-4, d: 4e-4, steps: steps - firstPhase },
].filter((p) => p.steps > 0);
const snaps: Snapshot[] = [];
const logs: StepLogs[] = [];
// "Midway" in the sense of the figure: G has moved towards the data but not arrived yet.
const midway = Math.max(1, Math.floor(steps / 10));
let done = 0;
for (const [i, phase] of phases.entries()) {
  const trainer = new GANTrainer({
    generator,
    discriminator,
    noise: 'uniform',
    seed: seed * 10 + i,
    generatorOptimizer: tf.train.adam(phase.g, 0.5),
    discriminatorOptimizer: tf.train.adam(phase.d, 0.5),
  });
  if (i === 0) snaps.push(snapshot(trainer, '(a) start', 0));
  const offset = done;
  const history = await trainer.fit(data, {
    epochs: Math.ceil(phase.steps / 100),
    batchSize: 128,
    callbacks: [
      {
        onStepEnd: (l, ctx) => {
          const step = offset + l.step + 1;
          if (step === midway) snaps.push(snapshot(trainer, '(b) learning', step));
          if (l.step + 1 >= phase.steps) ctx.stop();
        },
      },
    ],
  });
  logs.push(...history.steps);
  done += history.steps.length;
  if (i === phases.length - 1) snaps.push(snapshot(trainer, '(c) end', done));
  // Keep the models for the next phase; release this phase's optimizers only.
  trainer.generatorOptimizer.dispose();
  trainer.discriminatorOptimizer.dispose();
}

const panels = snaps.map((s) =>
  svgChart(
    [
      { name: 'p_data', points: XS.map((x, i) => [x, pData[i] as number]), color: '#000', dashed: true },
      { name: 'p_g', points: XS.map((x, i) => [x, s.pG[i] as number]), color: '#2ca02c' },
      { name: 'D(x)', points: XS.map((x, i) => [x, s.d[i] as number]), color: '#1f77b4' },
      {
        name: '½',
        points: [
          [XS[0] as number, 0.5],
          [XS.at(-1) as number, 0.5],
        ],
        color: '#bbb',
      },
    ],
    { title: `${s.label} — step ${s.step}`, xLabel: 'x', yLabel: 'density / D(x)', width: 480, height: 320, yRange: [0, 1.3] },
  ),
);
writeSvg(join(out, 'figure1.svg'), svgPanels(panels));
const summary = snaps.map(({ label, step, mean, std, dOnData }) => ({ label, step, mean, std, dOnData }));
writeFileSync(join(out, 'summary.json'), `${JSON.stringify({ backend, steps: done, snapshots: summary }, null, 2)}\n`);
console.log('\nsnapshot        step   p_g mean   p_g std   mean D(x) on data');
for (const s of snaps) {
  console.log(
    `${s.label.padEnd(12)} ${String(s.step).padStart(6)}   ${s.mean.toFixed(3).padStart(8)}  ${s.std.toFixed(3).padStart(8)}   ${s.dOnData.toFixed(3)}`,
  );
}
console.log(`(data: mean ${DATA.mean}, std ${DATA.std}; at the equilibrium D(x) = ½.) Wrote ${join(out, 'figure1.svg')}`);
tf.dispose(data);
generator.dispose?.();
discriminator.dispose?.();
