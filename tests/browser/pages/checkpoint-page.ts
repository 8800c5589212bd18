// Browser side of tests/browser/checkpoints.test.ts: the built package (imported by name, as an
// application would) saving and restoring through indexeddb:// and downloads://.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { GANTrainer, mlpDiscriminator, mlpGenerator } from 'tfjs-gan';

const make = (initSeed: number) =>
  new GANTrainer({
    generator: mlpGenerator({ latentDim: 2, hiddenUnits: [8], outputShape: [2], outputActivation: 'linear', seed: initSeed }),
    discriminator: mlpDiscriminator({ inputShape: [2], hiddenUnits: [8], seed: initSeed + 1 }),
    seed: 5,
  });
const weights = (t: GANTrainer) => t.generator.trainableVariables.map((v) => Array.from(v.dataSync()));

async function run() {
  await tf.setBackend('cpu');
  const batch = tf.randomNormal([16, 2], 0, 1, 'float32', 1);
  const a = make(1);
  await a.step(batch);
  await a.save('indexeddb://tfjs-gan-test');
  const savedWeights = weights(a);
  await a.save('downloads://tfjs-gan-ckpt');
  const expected = [await a.step(batch), await a.step(batch)];
  const b = make(99);
  const before = weights(b);
  await b.restore('indexeddb://tfjs-gan-test');
  const got = [await b.step(batch), await b.step(batch)];
  await a.exportGenerator('indexeddb://tfjs-gan-generator');
  const model = await tfl.loadLayersModel('indexeddb://tfjs-gan-generator');
  const z = tf.tensor2d([
    [0.5, -1],
    [2, 0.25],
  ]);
  const exported = Array.from((model.predict(z) as tf.Tensor).dataSync());
  const direct = Array.from(a.generate(z as tf.Tensor2D).dataSync());
  return {
    expected,
    got,
    sameAfter: JSON.stringify(weights(a)) === JSON.stringify(weights(b)),
    differedBefore: JSON.stringify(before) !== JSON.stringify(savedWeights),
    savedWeights,
    exported,
    direct,
    backend: tf.getBackend(),
  };
}

(globalThis as { runCheckpoints?: typeof run }).runCheckpoints = run;
(globalThis as { ready?: boolean }).ready = true;
