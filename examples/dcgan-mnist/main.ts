/**
 * DCGAN on MNIST (Radford et al. 2016) with the library's presets: G = dense → BN → ReLU → reshape →
 * conv-transpose stages → tanh; D = strided convs → LeakyReLU 0.2 → logit. Adam 2e-4 β1 0.5, batch 64.
 * On wasm, tfjs-gan installs the training kernels tfjs-backend-wasm lacks (Conv2DBackpropFilter).
 *
 *   npx tsx examples/dcgan-mnist/main.ts                    # → out/dcgan
 *   npx tsx examples/dcgan-mnist/main.ts --epochs 10 --base-filters 64
 *   npx tsx examples/dcgan-mnist/main.ts --steps 5 --out /tmp/dcgan   # smoke run
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { dcganDiscriminator, dcganGenerator, GANTrainer } from 'tfjs-gan';
import { positiveInt } from '../lib/args';
import { describeBackend, THREADS_OPTION, useBackend } from '../lib/backend';
import { runImageGan } from '../lib/image-run';
import { mnistSplit } from '../lib/mnist';

const { values: args } = parseArgs({
  options: {
    epochs: { type: 'string' },
    backend: { type: 'string' },
    ...THREADS_OPTION,
    'batch-size': { type: 'string' },
    'base-filters': { type: 'string' },
    out: { type: 'string', default: 'out/dcgan' },
    seed: { type: 'string' },
    steps: { type: 'string' },
  },
});
const seed = positiveInt('seed', args.seed, 1);
// The reference DCGAN has 64 filters; 32 trains ~3× faster on a CPU and still draws digits.
const baseFilters = positiveInt('base-filters', args['base-filters'], 32);
await useBackend(args.backend, args.threads);
const backend = describeBackend(); // e.g. "wasm, 2 threads"
const { train } = mnistSplit();
const images = tf.tidy(() => tf.sub(tf.mul(tf.tensor4d(train.pixels, [train.count, 28, 28, 1]), 2), 1));
const trainer = new GANTrainer({
  generator: dcganGenerator({ latentDim: 100, baseFilters, seed }),
  discriminator: dcganDiscriminator({ baseFilters, seed: seed + 1 }),
  loss: 'non-saturating',
  seed,
  generatorOptimizer: tf.train.adam(2e-4, 0.5),
  discriminatorOptimizer: tf.train.adam(2e-4, 0.5),
});
await runImageGan({
  trainer,
  images,
  title: `DCGAN (base ${baseFilters} filters)`,
  out: resolve(args.out),
  epochs: positiveInt('epochs', args.epochs, 8),
  batchSize: positiveInt('batch-size', args['batch-size'], 64),
  ...(args.steps === undefined ? {} : { maxSteps: positiveInt('steps', args.steps, 1) }),
  seed,
  backend,
  imageSize: 28,
});
images.dispose();
trainer.dispose();
