// Type-level tests, checked by the TypeScript compiler (vitest typecheck and `npm run typecheck`):
// a conditional trainer cannot be called without labels, an unconditional one rejects them.
import type * as tf from '@tensorflow/tfjs-core';
import { describe, expectTypeOf, it } from 'vitest';
import {
  type ConditionalGenerator,
  conditionalMlpDiscriminator,
  conditionalMlpGenerator,
  GANTrainer,
  type Generator,
  type LabeledBatch,
  mlpDiscriminator,
  mlpGenerator,
  type StepLogs,
  stabilizers,
} from '../src/index';

declare const x: tf.Tensor2D;
declare const labels: number[];

describe('conditional vs unconditional trainers at compile time', () => {
  it('infers the kind of trainer from the generator', () => {
    const cgan = new GANTrainer({
      generator: conditionalMlpGenerator({ numClasses: 10 }),
      discriminator: conditionalMlpDiscriminator({ numClasses: 10 }),
    });
    const gan = new GANTrainer({ generator: mlpGenerator(), discriminator: mlpDiscriminator() });
    expectTypeOf(cgan).toMatchTypeOf<GANTrainer<ConditionalGenerator>>();
    expectTypeOf(gan).toMatchTypeOf<GANTrainer<Generator>>();
    expectTypeOf(cgan.step).parameter(0).toMatchTypeOf<LabeledBatch | readonly LabeledBatch[]>();
    expectTypeOf(cgan.step({ x, labels })).resolves.toEqualTypeOf<StepLogs>();
    expectTypeOf(gan.step(x)).resolves.toEqualTypeOf<StepLogs>();
  });

  it('requires labels for a conditional trainer', () => {
    const cgan = new GANTrainer({
      generator: conditionalMlpGenerator({ numClasses: 10 }),
      discriminator: conditionalMlpDiscriminator({ numClasses: 10 }),
    });
    // @ts-expect-error — a conditional step needs { x, labels }
    void cgan.step(x);
    // @ts-expect-error — and so does fit
    void cgan.fit(x);
    void cgan.fit({ x, labels });
    cgan.sample(10, labels);
    cgan.sample(10); // labels drawn from the label distribution
    cgan.sampleGrid(4);
    // @ts-expect-error — discriminating real examples needs their labels' type to be labels
    cgan.discriminate(x, 'seven');
  });

  it('rejects labels for an unconditional trainer', () => {
    const gan = new GANTrainer({ generator: mlpGenerator(), discriminator: mlpDiscriminator() });
    // @ts-expect-error — no labels for an unconditional GAN
    void gan.step({ x, labels });
    // @ts-expect-error — nor for fit
    void gan.fit({ x, labels });
    // @ts-expect-error — nor for sample
    gan.sample(10, labels);
    // @ts-expect-error — sampleGrid is for conditional GANs only
    gan.sampleGrid(4);
  });

  it('rejects a mismatched pair of models', () => {
    new GANTrainer({
      generator: conditionalMlpGenerator({ numClasses: 10 }),
      // @ts-expect-error — a conditional generator needs a conditional discriminator
      discriminator: mlpDiscriminator(),
    });
    new GANTrainer({
      generator: mlpGenerator(),
      // @ts-expect-error — and an unconditional one an unconditional discriminator
      discriminator: conditionalMlpDiscriminator({ numClasses: 10 }),
    });
  });
});

describe('stabiliser wrappers keep the kind of discriminator', () => {
  it('withDiffAugment of a conditional D pairs with a conditional G only', () => {
    const cd = stabilizers.withDiffAugment(conditionalMlpDiscriminator({ numClasses: 10 }), { imageShape: [28, 28, 1] });
    new GANTrainer({ generator: conditionalMlpGenerator({ numClasses: 10 }), discriminator: cd });
    // @ts-expect-error — an unconditional generator cannot train against it
    new GANTrainer({ generator: mlpGenerator(), discriminator: cd });
    const d = stabilizers.withDiffAugment(mlpDiscriminator(), { imageShape: [28, 28, 1] });
    new GANTrainer({ generator: mlpGenerator(), discriminator: d });
    // The wrapper is a plain discriminator: it does not claim the members of what it wraps.
    const noisy = stabilizers.withDiffAugment(stabilizers.withInstanceNoise(mlpDiscriminator()), { imageShape: [28, 28, 1] });
    // @ts-expect-error — no currentStd (the noise's, inside, is not reachable through it)
    noisy.currentStd;
  });
});
