import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { GANTrainer, mlpGenerator, mlpDiscriminator } from '/work/main/src/index';
await tf.setBackend('cpu');
const seed = Number(process.argv[2] ?? 1);
const lr = Number(process.argv[3] ?? 1e-3);
const steps = Number(process.argv[4] ?? 2000); const bs = Number(process.argv[5] ?? 64);
const trainer = new GANTrainer({
  generator: mlpGenerator({ latentDim: Number(process.env.LD ?? 1), hiddenUnits: JSON.parse(process.env.GH ?? "[16,16]"), outputShape: [1], outputActivation: 'linear', seed }),
  discriminator: mlpDiscriminator({ inputShape: [1], hiddenUnits: JSON.parse(process.env.DH ?? "[32,32]"), seed: seed + 1 }),
  noise: "uniform", seed, loss: (process.env.LOSS ?? "non-saturating") as any, discriminatorSteps: Number(process.env.K ?? 1),
  generatorOptimizer: tf.train.adam(lr, 0.5), discriminatorOptimizer: tf.train.adam(lr, 0.5),
});
const data = tf.add(tf.mul(tf.randomNormal([steps * bs / 4], 0, 1, 'float32', seed), 0.5), 4);
const t0 = Date.now();
const h = await trainer.fit(data, { epochs: 4, batchSize: bs, callbacks: [{ onStepEnd: (l) => { if (l.step % 250 === 0) console.log(l); } }] });
const s = trainer.sample(5000);
const m = tf.moments(s);
console.log('mean', m.mean.dataSync()[0], 'std', Math.sqrt(m.variance.dataSync()[0]), 'last', h.last, 'ms', Date.now() - t0, 'tensors', tf.memory().numTensors);
const lastSteps = h.steps.slice(-100); console.log('dReal avg last 100', lastSteps.reduce((a, b) => a + b.dReal, 0) / 100);
