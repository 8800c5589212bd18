/**
 * Optimizer tune-ups: a fused update for `tf.train.adam` optimizers that the trainer uses by
 * default (`GANTrainerConfig.fusedAdam`), bit-for-bit the same arithmetic as tfjs's own.
 *
 * @module
 */
export {
  type AdamUndo,
  type ApplyUpdateOptions,
  adamUndo,
  canFuseAdam,
  FUSED_ADAM_KERNEL,
  type FusedAdamOptions,
  fusedAdamUpdate,
  registerFusedAdamKernels,
  releaseFusedAdam,
} from './adam';
