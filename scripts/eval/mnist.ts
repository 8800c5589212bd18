/** MNIST benchmarks: the MLP GAN (Parzen LL + classifier Fréchet distance) and the CGAN (conditional accuracy). */
import * as tf from '@tensorflow/tfjs-core';
import { mnistSplit } from '../../examples/lib/mnist';
import { squaredDistances } from '../../src/metrics/util';
import {
  conditionalMlpDiscriminator,
  conditionalMlpGenerator,
  type Discriminator,
  type GANLoss,
  GANTrainer,
  learningRateSchedule,
  linearDecay,
  losses,
  type MnistClassifierT,
  metrics,
  mlpDiscriminator,
  mlpGenerator,
  sampling,
  stabilizers,
} from './lib';

export interface MnistRecipe {
  readonly steps: number;
  readonly batchSize: number;
  /** EMA decay of G's weights for sampling (0: the last iterate). */
  readonly ema: number;
  /** Discriminator rejection sampling: updates of a fresh critic (the seed's D architecture) against the trained G (0: sample G directly). */
  readonly drs: number;
  /** Adam's learning rate for both players (β1 0.5); the library's default is 2e-4, the recipe's 5e-4. */
  readonly learningRate: number;
  /** The EMA's `warmup`: 1 TensorFlow's min(β, (1 + t)/(10 + t)), 0 none, `'debiased'` Adam-style bias correction. */
  readonly emaWarmup: number | 'debiased';
  /** Share of the steps, at the end, over which both learning rates fall linearly to 0 (0: constant). */
  readonly lrDecay: number;
  /** Dropout rate after each of D's hidden layers (0: none, the seed's D). */
  readonly dropout: number;
  /** The GAN loss (a built-in's name); the library's default is `'non-saturating'`. */
  readonly loss: losses.LossName;
  /** Hidden units of G and of D (the seed's: 256×256 each; the recipe's G: 512×512). */
  readonly gHidden: readonly number[];
  readonly dHidden: readonly number[];
  /** One-sided label smoothing of the cross-entropy losses (0: none). */
  readonly labelSmoothing: number;
  /** Instance noise's standard deviation at step 0 (in the [−1, 1] pixel scale), decaying linearly to 0 over the steps (0: none). */
  readonly instanceNoise: number;
  /** G's Adam rate when it differs from D's (two time-scale updates; 0: `learningRate` for both). */
  readonly gLearningRate: number;
  /** Adam's β1 for both players. */
  readonly beta1: number;
  /** Minibatch standard deviation in D, this group size (0: none). */
  readonly mbstd: number;
  /** PacGAN packing in D: this many samples judged together (0: none). */
  readonly pack: number;
  /** D updates per G update (Algorithm 1's k). */
  readonly dSteps: number;
  /** DiffAugment in front of D: its policies joined by `+` (e.g. `translation+cutout`; empty: none), black fill. */
  readonly augment: string;
  /** DiffAugment's translation and cut-out ratios. */
  readonly augTranslation: number;
  readonly augCutout: number;
  /** A diagnostic, not part of the score: also score the samples blurred by a Gaussian of this many pixels (0: off). */
  readonly blurCheck: number;
}

export const mnistDefaults: MnistRecipe = {
  steps: 10000,
  batchSize: 100,
  ema: 0.9998,
  drs: 0,
  learningRate: 5e-4,
  emaWarmup: 'debiased',
  lrDecay: 0,
  loss: 'non-saturating',
  dropout: 0,
  // G twice the seed's width (D the seed's): Parzen 229.7 and FD 22.9 over seeds 1–3 against 199.5 and
  // 47.1 at 256×256; affordable within 10 minutes once tfjs-gan's wasm kernels made a step ~1.5× faster.
  gHidden: [512, 512],
  dHidden: [256, 256],
  labelSmoothing: 0,
  instanceNoise: 0,
  gLearningRate: 0,
  beta1: 0.5,
  mbstd: 0,
  pack: 0,
  dSteps: 1,
  augment: '',
  augTranslation: 0.125,
  augCutout: 0.5,
  blurCheck: 0,
};

const emaWarmup = (recipe: MnistRecipe) => (recipe.emaWarmup === 'debiased' ? 'debiased' : recipe.emaWarmup !== 0);

/** The recipe's learning-rate decay as a callback (none when `lrDecay` is 0). */
function decay(recipe: MnistRecipe, optimizers: tf.Optimizer[]) {
  if (recipe.lrDecay <= 0) return [];
  if (recipe.gLearningRate > 0) throw new Error('lrDecay with a separate gLearningRate is not supported');
  const hold = Math.round(recipe.steps * (1 - recipe.lrDecay));
  return [
    learningRateSchedule({
      optimizers,
      schedule: linearDecay({ from: recipe.learningRate, to: 0, steps: recipe.steps, hold }),
    }),
  ];
}

/** The recipe's loss; label smoothing is an option of the two cross-entropy losses only. */
function lossOf(recipe: MnistRecipe): losses.LossName | GANLoss {
  if (recipe.labelSmoothing <= 0) return recipe.loss;
  const make = { minimax: losses.minimax, 'non-saturating': losses.nonSaturating }[recipe.loss as string];
  if (make === undefined) throw new Error(`labelSmoothing needs a cross-entropy loss, not '${recipe.loss}'`);
  return make({ labelSmoothing: recipe.labelSmoothing });
}

type Split = ReturnType<typeof mnistSplit>;
let cached: Split | undefined;
export const split = (): Split => {
  cached ??= mnistSplit();
  return cached;
};
const matrix = (s: Split['train']) => tf.tensor2d(s.pixels, [s.count, 784]);

export async function loadClassifier(): Promise<MnistClassifierT> {
  return metrics.loadMnistClassifier(`file://${process.cwd()}/assets/mnist-classifier/model.json`);
}

/** Squared Euclidean distance from each row of `a` to its nearest row of `b`, 1 000 rows of `a` at a time. */
function nearestSquaredDistances(a: tf.Tensor2D, b: tf.Tensor2D): Float32Array {
  const out = new Float32Array(a.shape[0]);
  for (let start = 0; start < a.shape[0]; start += 1000) {
    const size = Math.min(1000, a.shape[0] - start);
    const d = tf.tidy(() => tf.min(squaredDistances(tf.slice(a, [start, 0], [size, -1]), b), 1));
    out.set(d.dataSync() as Float32Array, start);
    d.dispose();
  }
  return out;
}

/**
 * A memorisation check for Parzen estimates, which reward copies of the training digits: the share of
 * samples whose nearest training digit is nearer than their nearest test digit, with 1 005 training digits
 * spread evenly over the (class-ordered) training set so that both sets have as many digits of the same
 * classes. Copies of those training digits score 1; the held-out validation digits score 0.56 (not ½: the
 * two sets differ by chance), the level of samples as novel as real unseen digits.
 */
function nearerTrainShare(samples: tf.Tensor2D): number {
  const { train, test } = split();
  const rows = Array.from({ length: Math.min(train.count, test.count) }, (_, i) =>
    Math.floor((i * train.count) / Math.min(train.count, test.count)),
  );
  const [tr, te] = [tf.tensor2d(train.pixels, [train.count, 784]), matrix(test)];
  const sub = tf.gather(tr, rows) as tf.Tensor2D;
  const [toTrain, toTest] = [nearestSquaredDistances(samples, sub), nearestSquaredDistances(samples, te)];
  tf.dispose([tr, te, sub]);
  return toTrain.reduce((n, d, i) => n + (d < (toTest[i] as number) ? 1 : 0), 0) / toTrain.length;
}

/**
 * Scores 10 000 samples (pixels in [0, 1]) the paper's way, plus the classifier Fréchet distance to the
 * training digits and the memorisation check {@link nearerTrainShare}.
 */
export async function scoreUnconditional(samples: tf.Tensor2D, classifier: MnistClassifierT) {
  const parzen = await parzenOnTest(samples);
  const tr = matrix(split().train);
  const fa = metrics.extractFeatures(classifier.features, samples);
  const fb = metrics.extractFeatures(classifier.features, tr);
  const fd = await metrics.frechetDistance(fa, fb);
  tf.dispose([tr, fa, fb]);
  return { parzen, fd, nearerTrain: nearerTrainShare(samples) };
}

/** The paper's Parzen protocol: σ chosen on the validation digits, mean ± standard error over the test digits. */
async function parzenOnTest(samples: tf.Tensor2D) {
  const { validation, test } = split();
  const [v, t] = [matrix(validation), matrix(test)];
  try {
    return await metrics.parzenLogLikelihood(samples, t, { validation: v });
  } finally {
    tf.dispose([v, t]);
  }
}

export type RunLog = (line: string) => void;

function stopper(steps: number, log: RunLog, name: string) {
  const started = Date.now();
  return {
    onStepEnd: (l: { step: number; dReal: number; dFake: number }, ctx: { stop(): void }) => {
      if (l.step + 1 >= steps) ctx.stop();
      if ((l.step + 1) % 1000 === 0) {
        const rate = (l.step + 1) / ((Date.now() - started) / 1000);
        log(
          `  ${name} step ${l.step + 1}: D(x) ${l.dReal.toFixed(2)} D(G(z)) ${l.dFake.toFixed(2)} (${rate.toFixed(1)} steps/s)`,
        );
      }
    },
  };
}

/**
 * Discriminator rejection sampling for the eval: a fresh `critic` trained against the frozen (EMA) G with
 * Adam(2e-4, β1 0.9) on the recipe's batch size, then `draw` samples through it. `draw` gets the fit's
 * options; returns the kept samples in [0, 1], the acceptance rate and the seconds spent. The critic is disposed.
 */
async function throughDrs(
  name: string,
  recipe: MnistRecipe,
  seed: number,
  ema: stabilizers.GeneratorEma | undefined,
  critic: { dispose?(): void },
  log: RunLog,
  draw: (fit: sampling.CriticTrainingOptions) => Promise<{ kept: tf.Tensor; acceptance: number }>,
): Promise<{ samples: tf.Tensor; acceptance: number; seconds: number }> {
  const started = Date.now();
  const optimizer = tf.train.adam(2e-4, 0.9);
  ema?.swap();
  let samples: tf.Tensor;
  let acceptance: number;
  try {
    const r = await draw({
      steps: recipe.drs,
      batchSize: recipe.batchSize,
      optimizer,
      seed: seed + 4,
      logEvery: 500,
      onProgress: (step, l) => log(`  ${name} seed ${seed} critic step ${step}: loss ${l.toFixed(3)}`),
    });
    acceptance = r.acceptance;
    samples = tf.tidy(() => tf.div(tf.add(r.kept, 1), 2));
    r.kept.dispose();
  } finally {
    ema?.swap();
    optimizer.dispose();
    critic.dispose?.();
  }
  const seconds = (Date.now() - started) / 1000;
  log(
    `  ${name} seed ${seed}: rejection sampling kept ${(100 * acceptance).toFixed(1)} % of proposals; critic and sampling ${seconds.toFixed(0)} s`,
  );
  return { samples, acceptance, seconds };
}

/** The recipe's minibatch-std or packing wrapper of D (not both), and the input the wrapped D takes. */
function innerDiscriminator(recipe: MnistRecipe): { inputShape: number[]; wrap: (d: Discriminator) => Discriminator } {
  if (recipe.pack > 0 && recipe.mbstd > 0) throw new Error('pack and mbstd together are not supported');
  if (recipe.mbstd > 0) {
    return { inputShape: [785], wrap: (d) => stabilizers.withMinibatchStdDev(d, { groupSize: recipe.mbstd }) };
  }
  if (recipe.pack > 0) return { inputShape: [784 * recipe.pack], wrap: (d) => stabilizers.withPacking(d, recipe.pack) };
  return { inputShape: [784], wrap: (d) => d };
}

/** The seed's MNIST MLP GAN (non-saturating loss, Adam β1 0.5 at the recipe's rate, EMA of G), data in [−1, 1]. */
export async function runMnistGan(seed: number, recipe: MnistRecipe, classifier: MnistClassifierT, log: RunLog) {
  const { train } = split();
  const x = tf.tidy(() => tf.sub(tf.mul(matrix(train), 2), 1));
  const generator = mlpGenerator({ seed, hiddenUnits: recipe.gHidden });
  const gRate = recipe.gLearningRate > 0 ? recipe.gLearningRate : recipe.learningRate;
  const [gOpt, dOpt] = [tf.train.adam(gRate, recipe.beta1), tf.train.adam(recipe.learningRate, recipe.beta1)];
  const inner = innerDiscriminator(recipe);
  const withStd = inner.wrap(
    mlpDiscriminator({ seed: seed + 1, hiddenUnits: recipe.dHidden, dropout: recipe.dropout, inputShape: inner.inputShape }),
  );
  const augmented =
    recipe.augment === ''
      ? withStd
      : stabilizers.withDiffAugment(withStd, {
          policy: recipe.augment.split('+') as stabilizers.AugmentPolicy[],
          translation: recipe.augTranslation,
          cutout: recipe.augCutout,
          imageShape: [28, 28, 1],
          fill: -1,
          seed: seed + 7,
        });
  const noisy =
    recipe.instanceNoise > 0
      ? stabilizers.withInstanceNoise(augmented, { std: recipe.instanceNoise, decaySteps: recipe.steps, seed: seed + 6 })
      : undefined;
  const trainer = new GANTrainer({
    generator,
    discriminator: noisy ?? augmented,
    loss: lossOf(recipe),
    generatorOptimizer: gOpt,
    discriminatorOptimizer: dOpt,
    discriminatorSteps: recipe.dSteps,
    seed,
  });
  const ema = recipe.ema > 0 ? stabilizers.generatorEma(generator, { decay: recipe.ema, warmup: emaWarmup(recipe) }) : undefined;
  const started = Date.now();
  await trainer.fit(x, {
    epochs: Math.ceil(recipe.steps / Math.floor(train.count / recipe.batchSize)),
    batchSize: recipe.batchSize,
    callbacks: [
      ...decay(recipe, [gOpt, dOpt]),
      ...(noisy === undefined ? [] : [noisy]),
      ...(ema === undefined ? [] : [ema]),
      stopper(recipe.steps, log, `mnist seed ${seed}`),
    ],
  });
  // Training, plus the critic and rejection sampling when `drs` > 0; scoring is not counted.
  let seconds = (Date.now() - started) / 1000;
  const draw = () => tf.tidy(() => tf.div(tf.add(trainer.sample(10000), 1), 2)) as tf.Tensor2D;
  let samples = ema === undefined ? draw() : ema.run(draw);
  let score = await scoreUnconditional(samples, classifier);
  let direct: typeof score | undefined;
  let acceptance: number | undefined;
  if (recipe.drs > 0) {
    direct = score;
    log(
      `  mnist seed ${seed}: sampled directly Parzen ${score.parzen.mean.toFixed(1)} ± ${score.parzen.standardError.toFixed(1)}, FD ${score.fd.toFixed(2)}`,
    );
    const critic = mlpDiscriminator({ seed: seed + 2 });
    const generate = (n: number) => trainer.sample(n);
    const r = await throughDrs('mnist', recipe, seed, ema, critic, log, async (fit) => {
      await sampling.fitDiscriminator({ ...fit, discriminator: critic, real: x, generate });
      const drs = await sampling.rejectionSampler({ discriminator: critic, generate, seed: seed + 5, maxLogitQuantile: 0.99 });
      return { kept: await drs.sample(10000), acceptance: drs.acceptanceRate };
    });
    samples.dispose();
    samples = r.samples as tf.Tensor2D;
    acceptance = r.acceptance;
    seconds += r.seconds;
    score = await scoreUnconditional(samples, classifier);
  }
  let blurred: Awaited<ReturnType<typeof scoreUnconditional>> | undefined;
  if (recipe.blurCheck > 0) {
    const b = blur(samples, recipe.blurCheck);
    blurred = await scoreUnconditional(b, classifier);
    b.dispose();
  }
  tf.dispose([x, samples]);
  ema?.dispose();
  const steps = trainer.stepCount;
  trainer.dispose();
  return {
    ...score,
    ...(blurred === undefined ? {} : { blurred }),
    ...(direct === undefined ? {} : { direct }),
    ...(acceptance === undefined ? {} : { acceptance }),
    seconds,
    steps,
  };
}

/**
 * The conditional recipe of examples/cgan-mnist/main.ts: an ACGAN whose class head learns from real digits
 * only, G's class term weighted 5, Adam(5e-4, 0.5) for both players.
 */
export interface CganRecipe {
  /** Weight of D's class cross-entropy on real digits. */
  readonly realClassWeight: number;
  /** Weight of D's class cross-entropy on generated digits (0: the head learns from real digits only). */
  readonly fakeClassWeight: number;
  /** Weight of G's class cross-entropy on its samples. */
  readonly generatorClassWeight: number;
  /** Adam learning rate of both players (β1 0.5). */
  readonly learningRate: number;
}

export const cganDefaults: CganRecipe = { realClassWeight: 1, fakeClassWeight: 0, generatorClassWeight: 5, learningRate: 5e-4 };

/** The CGAN of examples/cgan-mnist/main.ts (its default ACGAN recipe), scored by the shipped classifier. */
export async function runCgan(
  seed: number,
  recipe: MnistRecipe,
  classifier: MnistClassifierT,
  log: RunLog,
  cgan: CganRecipe = cganDefaults,
) {
  const { train } = split();
  const x = tf.tidy(() => tf.sub(tf.mul(matrix(train), 2), 1));
  const labels = tf.tensor1d(train.labels, 'int32');
  const generator = conditionalMlpGenerator({ numClasses: 10, seed });
  const trainer = new GANTrainer({
    generator,
    discriminator: conditionalMlpDiscriminator({ numClasses: 10, seed: seed + 1, auxiliaryClassifier: true }),
    loss: losses.auxiliaryClassifier('non-saturating', {
      weight: cgan.realClassWeight,
      fakeWeight: cgan.fakeClassWeight,
      generatorWeight: cgan.generatorClassWeight,
    }),
    generatorOptimizer: tf.train.adam(cgan.learningRate, 0.5),
    discriminatorOptimizer: tf.train.adam(cgan.learningRate, 0.5),
    seed,
  });
  const ema = recipe.ema > 0 ? stabilizers.generatorEma(generator, { decay: recipe.ema, warmup: emaWarmup(recipe) }) : undefined;
  const started = Date.now();
  await trainer.fit(
    { x, labels },
    {
      epochs: Math.ceil(recipe.steps / Math.floor(train.count / recipe.batchSize)),
      batchSize: recipe.batchSize,
      callbacks: [...(ema === undefined ? [] : [ema]), stopper(recipe.steps, log, `cgan seed ${seed}`)],
    },
  );
  const seconds = (Date.now() - started) / 1000;
  const perClass = 500;
  const wanted = Array.from({ length: 10 * perClass }, (_, i) => Math.floor(i / perClass));
  const draw = () => tf.tidy(() => tf.div(tf.add(trainer.sampleGrid(perClass), 1), 2));
  let samples = ema === undefined ? draw() : ema.run(draw);
  let accuracy = await metrics.conditionalAccuracy(classifier.predict, samples, wanted);
  if (ema !== undefined) {
    const last = draw();
    const l = await metrics.conditionalAccuracy(classifier.predict, last, wanted);
    last.dispose();
    log(`  cgan seed ${seed}: last iterate (no EMA) ${(100 * l.accuracy).toFixed(1)} %`);
  }
  let direct: typeof accuracy | undefined;
  let acceptance: number | undefined;
  let total = seconds;
  if (recipe.drs > 0) {
    // Conditional discriminator rejection sampling: a fresh conditional critic (no class head) against the frozen (EMA) G.
    direct = accuracy;
    log(`  cgan seed ${seed}: sampled directly ${(100 * accuracy.accuracy).toFixed(1)} %`);
    const critic = conditionalMlpDiscriminator({ numClasses: 10, seed: seed + 2 });
    const generate = (y: tf.Tensor1D) => trainer.sample(y.shape[0], y);
    const r = await throughDrs('cgan', recipe, seed, ema, critic, log, async (fit) => {
      await sampling.fitConditionalDiscriminator({ ...fit, discriminator: critic, real: { x, labels }, generate });
      const drs = await sampling.conditionalRejectionSampler({
        discriminator: critic,
        generate,
        seed: seed + 5,
        maxLogitQuantile: 0.99,
      });
      return { kept: await drs.sample(wanted), acceptance: drs.acceptanceRate };
    });
    samples.dispose();
    samples = r.samples;
    acceptance = r.acceptance;
    total += r.seconds;
    accuracy = await metrics.conditionalAccuracy(classifier.predict, samples, wanted);
  }
  tf.dispose([x, labels, samples]);
  ema?.dispose();
  const steps = trainer.stepCount;
  trainer.dispose();
  return {
    accuracy,
    ...(direct === undefined ? {} : { direct }),
    ...(acceptance === undefined ? {} : { acceptance }),
    seconds: total,
    steps,
  };
}

/**
 * Digits `[n, 784]` blurred by a Gaussian of `sigma` pixels (a 7×7 kernel, zero padding): a probe of how
 * much the Parzen estimate rewards blur — the real training digits blurred by half a pixel score far above
 * the sharp ones.
 */
export function blur(digits: tf.Tensor2D, sigma: number): tf.Tensor2D {
  return tf.tidy(() => {
    const r = 3;
    const k1 = Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
    const total = k1.reduce((a, b) => a + b);
    const kernel = tf.tensor4d(
      k1.flatMap((a) => k1.map((b) => (a * b) / (total * total))),
      [2 * r + 1, 2 * r + 1, 1, 1],
    );
    const n = digits.shape[0];
    return tf.reshape(tf.conv2d(tf.reshape(digits, [n, 28, 28, 1]) as tf.Tensor4D, kernel, 1, 'same'), [n, 784]);
  });
}

/** Calibration: the real training digits as "samples", and the classifier's accuracy on the test digits. */
export async function realDataReference(classifier: MnistClassifierT) {
  const { train, test } = split();
  const tr = matrix(train);
  const parzen = await parzenOnTest(tr);
  const t = matrix(test);
  const accuracy = await metrics.conditionalAccuracy(classifier.predict, t, test.labels);
  const fa = metrics.extractFeatures(classifier.features, t);
  const fb = metrics.extractFeatures(classifier.features, tr);
  const fdTest = await metrics.frechetDistance(fa, fb);
  const v = matrix(split().validation);
  const nearerTrain = nearerTrainShare(v);
  // How much the Parzen estimate rewards blur: the same digits blurred by half a pixel.
  const b = blur(tr, 0.5);
  const blurredParzen = await parzenOnTest(b);
  const fbb = metrics.extractFeatures(classifier.features, b);
  const blurredFd = await metrics.frechetDistance(fbb, fb);
  tf.dispose([tr, t, fa, fb, v, b, fbb]);
  return { parzen, accuracy: accuracy.accuracy, fdTest, nearerTrain, blurred: { parzen: blurredParzen, fd: blurredFd } };
}
