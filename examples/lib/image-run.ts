/**
 * The training loop shared by the image examples (MNIST MLP GAN, DCGAN): a progress bar, a PNG grid
 * per epoch from a fixed noise batch, the final grid, the loss curves (SVG), the exported generator
 * and a summary.json — all into one output folder.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { GANTrainer, History } from 'tfjs-gan';
import { writeImageGrid } from './png';
import { progressBar } from './progress';
import { lossCurveSvg, writeSvg } from './svg';

/** Options of {@link runImageGan}. */
export interface ImageRunOptions {
  readonly trainer: GANTrainer;
  /** Training images in [-1, 1], `[n, ...imageShape]`. */
  readonly images: tf.Tensor;
  readonly title: string;
  readonly out: string;
  readonly epochs: number;
  readonly batchSize: number;
  /** Stop after this many steps (smoke runs). */
  readonly maxSteps?: number;
  readonly seed: number;
  readonly backend: string;
  /** Side of the square images. */
  readonly imageSize: number;
  /** Write a grid every this many epochs (and after the last). Default 1. */
  readonly gridEvery?: number;
}

/** What {@link runImageGan} measured. */
export interface ImageRunSummary {
  readonly backend: string;
  readonly steps: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly seed: number;
  readonly trainSeconds: number;
  readonly stepsPerSecond: number;
  readonly history: History;
}

export async function runImageGan(o: ImageRunOptions): Promise<ImageRunSummary> {
  const { trainer, out } = o;
  const count = o.images.shape[0] as number;
  const stepsPerEpoch = Math.floor(count / o.batchSize);
  const totalSteps = Math.min(o.epochs * stepsPerEpoch, o.maxSteps ?? Number.POSITIVE_INFINITY);
  const epochs = Math.ceil(totalSteps / stepsPerEpoch);
  console.log(
    `${o.title}: ${count} real digits, backend ${o.backend}, batch ${o.batchSize}, ` +
      `${epochs} epoch(s) × ${stepsPerEpoch} steps = ${totalSteps} steps, seed ${o.seed} → ${out}`,
  );
  // A fixed latent batch: every grid shows the same 100 noise vectors, so epochs compare.
  const fixedNoise = tf.randomNormal([100, trainer.generator.latentDim], 0, 1, 'float32', o.seed + 1000) as tf.Tensor2D;
  mkdirSync(out, { recursive: true });
  const grid = async (file: string): Promise<void> => {
    const x = trainer.generate(fixedNoise);
    const pixels = await x.data();
    x.dispose();
    writeImageGrid(join(out, file), pixels, 100, { height: o.imageSize, width: o.imageSize, columns: 10, scale: 2 });
  };
  const every = o.gridEvery ?? 1;
  const progress = progressBar({ totalSteps, epochs });
  const start = performance.now();
  const history = await trainer.fit(o.images, {
    epochs,
    batchSize: o.batchSize,
    callbacks: [
      progress,
      {
        onStepEnd: (l, ctx) => {
          if (l.step + 1 >= totalSteps) ctx.stop();
        },
        onEpochEnd: async (l) => {
          if ((l.epoch + 1) % every === 0 || l.epoch + 1 === epochs)
            await grid(`epoch-${String(l.epoch + 1).padStart(3, '0')}.png`);
        },
      },
    ],
  });
  const trainSeconds = (performance.now() - start) / 1000;
  await grid('samples.png');
  writeSvg(join(out, 'losses.svg'), lossCurveSvg(history.steps, { title: `${o.title} — losses` }));
  await trainer.exportGenerator(`file://${join(out, 'generator')}`);
  fixedNoise.dispose();
  const summary = {
    backend: o.backend,
    steps: history.steps.length,
    epochs: history.epochs.length,
    batchSize: o.batchSize,
    seed: o.seed,
    trainSeconds: Number(trainSeconds.toFixed(1)),
    stepsPerSecond: Number((history.steps.length / trainSeconds).toFixed(2)),
  };
  writeFileSync(
    join(out, 'summary.json'),
    `${JSON.stringify({ ...summary, lastEpoch: history.epochs.at(-1) ?? null }, null, 2)}\n`,
  );
  console.log(`\n${summary.steps} steps in ${trainSeconds.toFixed(0)} s (${summary.stepsPerSecond} steps/s on ${o.backend}).`);
  console.log(`Wrote ${out}/samples.png, epoch-*.png, losses.svg, generator/ (model.json + weights.bin) and summary.json.`);
  return { ...summary, history };
}
