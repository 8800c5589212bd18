/**
 * Stabilisers against the classic GAN failures — mode collapse, a runaway discriminator or
 * generator, vanishing gradients. Each plugs in without changing the trainer: loss wrappers
 * (gradient penalty, R1), discriminator wrappers (PacGAN packing, minibatch standard deviation,
 * instance noise), a callback (EMA of G's weights) and a schedule (adaptive k). One-sided label
 * smoothing is an option of the cross-entropy losses: `losses.nonSaturating({ labelSmoothing: 0.1 })`.
 *
 * @example
 * ```ts
 * import { GANTrainer, losses, mlpDiscriminator, mlpGenerator, stabilizers } from 'tfjs-gan';
 * const generator = mlpGenerator({ latentDim: 2, outputShape: [2], outputActivation: 'linear' });
 * const trainer = new GANTrainer({
 *   generator,
 *   discriminator: stabilizers.withPacking(mlpDiscriminator({ inputShape: [8] }), 4),
 *   loss: stabilizers.withR1Penalty(losses.nonSaturating(), { weight: 0.1 }),
 * });
 * const ema = stabilizers.generatorEma(generator);
 * await trainer.fit(data, { callbacks: [ema] });
 * ```
 * @module
 */

export { type AdaptiveSchedule, type AdaptiveScheduleOptions, adaptiveSchedule } from '../training/schedule';
export { type AugmentPolicy, type DiffAugmentDiscriminator, type DiffAugmentOptions, withDiffAugment } from './augment';
export {
  type InstanceNoiseDiscriminator,
  type InstanceNoiseOptions,
  type MinibatchStdDevOptions,
  minibatchStdDev,
  withInstanceNoise,
  withMinibatchStdDev,
  withPacking,
} from './discriminators';
export { type GeneratorEma, type GeneratorEmaOptions, generatorEma } from './ema';
export { type GradientPenaltyOptions, type R1PenaltyOptions, withGradientPenalty, withR1Penalty } from './penalties';
