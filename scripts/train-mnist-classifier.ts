/**
 * Trains the small MNIST classifier whose weights ship in assets/mnist-classifier/ (model.json +
 * weights.bin): the feature model for the Fréchet distance / KID and the judge of conditional
 * accuracy in `npm run eval`. It learns only from the 7 996 training digits of the project's fixed
 * split (ANCHORS.md); validation and test digits are never trained on.
 *
 *   node --import tsx scripts/train-mnist-classifier.ts [--epochs 10] [--backend wasm] [--out assets/mnist-classifier]
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import { mnistSplit } from '../examples/lib/mnist';
import { installWasmTrainingKernels } from '../src/backends/wasm';
import { layersModelFolderHandler } from '../src/io/files';

const { values: args } = parseArgs({
  options: {
    epochs: { type: 'string', default: '12' },
    backend: { type: 'string', default: 'wasm' },
    seed: { type: 'string', default: '7' },
    out: { type: 'string', default: 'assets/mnist-classifier' },
  },
});
await tf.setBackend(args.backend as string);
if (tf.getBackend() === 'wasm') installWasmTrainingKernels();
const seed = Number(args.seed);

const { train, validation, test } = mnistSplit();
const tensors = (s: typeof train) => ({
  x: tf.tensor2d(s.pixels, [s.count, 784]),
  y: tf.cast(tf.oneHot(tf.tensor1d(s.labels, 'int32'), 10), 'float32'),
});
const tr = tensors(train);
const va = tensors(validation);
const te = tensors(test);

const model = tfl.sequential({
  layers: [
    tfl.layers.reshape({ inputShape: [784], targetShape: [28, 28, 1] }),
    tfl.layers.conv2d({ filters: 16, kernelSize: 5, activation: 'relu', kernelInitializer: tfl.initializers.heNormal({ seed }) }),
    tfl.layers.maxPooling2d({ poolSize: 2 }),
    tfl.layers.conv2d({
      filters: 32,
      kernelSize: 5,
      activation: 'relu',
      kernelInitializer: tfl.initializers.heNormal({ seed: seed + 1 }),
    }),
    tfl.layers.maxPooling2d({ poolSize: 2 }),
    tfl.layers.flatten(),
    // tfjs's seeded dropout draws the same mask at every call (a fixed random sub-network, not dropout;
    // tfjs-gan's SeededDropout draws a fresh one). Kept as it is: it is how the shipped weights were made.
    tfl.layers.dropout({ rate: 0.3, seed: seed + 2 }),
    tfl.layers.dense({
      units: 64,
      activation: 'relu',
      name: 'features',
      kernelInitializer: tfl.initializers.heNormal({ seed: seed + 3 }),
    }),
    tfl.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + 4 }) }),
  ],
});
model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
const started = Date.now();
await model.fit(tr.x, tr.y, {
  epochs: Number(args.epochs),
  batchSize: 64,
  shuffle: true,
  validationData: [va.x, va.y],
  verbose: 0,
  callbacks: {
    onEpochEnd: (epoch, logs) =>
      console.log(
        `epoch ${epoch + 1}: loss ${logs?.loss?.toFixed(4)} validation accuracy ${((logs?.val_acc ?? 0) * 100).toFixed(2)} % (${((Date.now() - started) / 1000).toFixed(0)} s)`,
      ),
  },
});
const accuracy = (x: tf.Tensor, y: tf.Tensor): number =>
  tf.tidy(
    () =>
      tf.mean(tf.cast(tf.equal(tf.argMax(model.predict(x) as tf.Tensor, 1), tf.argMax(y, 1)), 'float32')).dataSync()[0] as number,
  );
console.log(`test accuracy on the ${test.count} held-out digits: ${(100 * accuracy(te.x, te.y)).toFixed(2)} %`);
const saved = await model.save(layersModelFolderHandler(`file://${args.out}`));
console.log(`saved ${args.out}/model.json + weights.bin (${saved.modelArtifactsInfo.weightDataBytes} bytes of weights)`);
