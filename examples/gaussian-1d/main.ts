/**
 * The first demo: a GAN learns the 1-D Gaussian N(4, 0.5²) from uniform noise.
 *
 *   npm run example -- gaussian-1d                     # defaults
 *   npm run example -- gaussian-1d --steps 2000 --seed 3
 *
 * It prints the training progress (losses, D(x), D(G(z)) and the generated
 * mean/std), then compares the final distribution with the data and draws both
 * histograms. At the equilibrium the theory predicts, D(x) ≈ ½ everywhere.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { type GANCallback, GANTrainer, mlpDiscriminator, mlpGenerator, type StepLogs } from 'tfjs-gan';

const { values: args } = parseArgs({
  options: {
    steps: { type: 'string', default: '4000' },
    seed: { type: 'string', default: '1' },
    quiet: { type: 'boolean', default: false },
  },
});
const steps = Number(args.steps);
const seed = Number(args.seed);
const DATA = { mean: 4, std: 0.5 };

tf.env().set('IS_TEST', true); // no tfjs-node banner: the demo runs on the pure-JS cpu backend
await tf.setBackend('cpu');

const data = tf.tidy(() => tf.add(tf.mul(tf.randomNormal([12_800, 1], 0, 1, 'float32', seed), DATA.std), DATA.mean));
const generator = mlpGenerator({ latentDim: 8, hiddenUnits: [16, 16], outputShape: [1], outputActivation: 'linear', seed });
const discriminator = mlpDiscriminator({ inputShape: [1], hiddenUnits: [32, 32], seed: seed + 1 });

function moments(t: tf.Tensor): { mean: number; std: number } {
  const m = tf.moments(t);
  const out = { mean: m.mean.dataSync()[0] as number, std: Math.sqrt(m.variance.dataSync()[0] as number) };
  tf.dispose([m.mean, m.variance]);
  return out;
}

const fmt = (x: number, d = 3) => x.toFixed(d).padStart(d + 4);
const draw = (n: number, noiseSeed: number) =>
  tf.tidy(() => generator.apply(tf.randomUniform([n, 8], -1, 1, 'float32', noiseSeed), { training: false }));
const started = Date.now();
let done = 0; // steps finished in earlier phases

function progress(phase: number): GANCallback {
  return {
    onStepEnd(l: StepLogs) {
      const step = done + l.step + 1;
      if (args.quiet || (step % 250 !== 0 && step !== 1)) return;
      const s = draw(2000, step);
      const { mean, std } = moments(s);
      s.dispose();
      const rate = step / ((Date.now() - started) / 1000);
      console.log(
        `phase ${phase} step ${String(step).padStart(5)}/${steps}  dLoss ${fmt(l.dLoss)}  gLoss ${fmt(l.gLoss)}` +
          `  D(x) ${fmt(l.dReal)}  D(G(z)) ${fmt(l.dFake)}  G: mean ${fmt(mean)} std ${fmt(std)}  (${rate.toFixed(0)} steps/s)`,
      );
    },
  };
}

// Two phases with the same models: a two-time-scale phase (D learns 4× faster than G,
// Heusel et al. 2017), then both learning rates cut 5× so the game settles at its equilibrium.
const firstPhase = Math.round(steps * 0.75);
const phases = [
  { g: 5e-4, d: 2e-3, steps: firstPhase },
  { g: 1e-4, d: 4e-4, steps: steps - firstPhase },
];
console.log(`Training a GAN on N(${DATA.mean}, ${DATA.std}²) from uniform noise: ${steps} steps, batch 128, seed ${seed}\n`);
const lastLogs: StepLogs[] = [];
for (const [i, phase] of phases.entries()) {
  const trainer = new GANTrainer({
    generator,
    discriminator,
    loss: 'non-saturating',
    noise: 'uniform',
    seed: seed * 10 + i,
    generatorOptimizer: tf.train.adam(phase.g, 0.5),
    discriminatorOptimizer: tf.train.adam(phase.d, 0.5),
  });
  // 100 batches of 128 per epoch.
  const history = await trainer.fit(data, { epochs: Math.ceil(phase.steps / 100), batchSize: 128, callbacks: [progress(i + 1)] });
  lastLogs.push(...history.steps);
  done += history.steps.length;
  // Keep the models for the next phase; release this phase's optimizers only.
  trainer.generatorOptimizer.dispose();
  trainer.discriminatorOptimizer.dispose();
}

const samples = draw(10_000, seed + 7);
const g = moments(samples);
const real = moments(data);
const tail = lastLogs.slice(-200);
const meanDReal = tail.reduce((s, l) => s + l.dReal, 0) / tail.length;

console.log('\nResult             mean     std');
console.log(`  data          ${fmt(real.mean)}  ${fmt(real.std)}`);
console.log(`  generated     ${fmt(g.mean)}  ${fmt(g.std)}`);
console.log(`mean D(x) over the last ${tail.length} steps: ${meanDReal.toFixed(3)} (the theory's equilibrium: 0.5)`);

// Histograms of data (#) and generated samples (o).
const bins = 24;
const lo = 2;
const hi = 6;
const hist = (t: tf.Tensor) => {
  const counts = new Array<number>(bins).fill(0);
  for (const v of t.dataSync()) {
    const b = Math.floor(((v - lo) / (hi - lo)) * bins);
    if (b >= 0 && b < bins) counts[b] = (counts[b] as number) + 1;
  }
  return counts.map((c) => c / t.size);
};
const realSample = tf.slice(data, 0, 10_000);
const hr = hist(realSample);
const hg = hist(samples);
const peak = Math.max(...hr, ...hg);
console.log('\n  x      data (#) vs generated (o)');
for (let b = 0; b < bins; b++) {
  const x = lo + ((b + 0.5) * (hi - lo)) / bins;
  const w = 40;
  console.log(
    `${x.toFixed(2).padStart(5)}  ${'#'.repeat(Math.round(((hr[b] as number) / peak) * w)).padEnd(w)} | ${'o'.repeat(Math.round(((hg[b] as number) / peak) * w))}`,
  );
}
console.log(`\nDone in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
tf.dispose([samples, realSample, data]);
generator.model.dispose();
discriminator.model.dispose();
