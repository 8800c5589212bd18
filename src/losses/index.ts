/**
 * Built-in GAN losses, each a {@link GANLoss} pair computed on logits in a
 * numerically stable form.
 *
 * @example
 * ```ts
 * import { losses } from 'tfjs-gan';
 * const loss = losses.nonSaturating();
 * const dLoss = loss.discriminator({ realLogits, fakeLogits });
 * const gLoss = loss.generator({ fakeLogits });
 * ```
 * @module
 */

export { type AuxiliaryClassifierOptions, auxiliaryClassifier } from './auxiliary';
export {
  type CrossEntropyLossOptions,
  hinge,
  type LeastSquaresLossOptions,
  type LossName,
  leastSquares,
  lossNames,
  minimax,
  nonSaturating,
  resolveLoss,
  wasserstein,
} from './builtins';
