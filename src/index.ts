/**
 * tfjs-gan — train Generative Adversarial Networks with TensorFlow.js.
 *
 * The library imports only `@tensorflow/tfjs-core` and `@tensorflow/tfjs-layers`;
 * your application chooses and imports a backend.
 *
 * @packageDocumentation
 */

export { GANError, GANConfigError, ShapeMismatchError, DataError, CheckpointError, NonFiniteError } from './errors';
export { Random } from './random';

export type { Generator, Discriminator, ForwardOptions } from './models/types';
export {
  generatorFromLayersModel,
  discriminatorFromLayersModel,
  generatorFromFunction,
  discriminatorFromFunction,
  type LayersGenerator,
  type LayersDiscriminator,
  type GeneratorFromLayersModelOptions,
  type FunctionGeneratorArgs,
  type FunctionDiscriminatorArgs,
} from './models/adapters';
export {
  mlpGenerator,
  mlpDiscriminator,
  dcganGenerator,
  dcganDiscriminator,
  type MLPGeneratorArgs,
  type MLPDiscriminatorArgs,
  type DCGANArgs,
  type DCGANGeneratorArgs,
  type HiddenActivation,
} from './models/presets';

export type { GANLoss, DiscriminatorLossContext, GeneratorLossContext } from './losses/types';
export * as losses from './losses/index';
export type { LossName, CrossEntropyLossOptions, LeastSquaresLossOptions } from './losses/builtins';

export {
  discriminatorStep,
  generatorStep,
  discriminatorGradients,
  generatorGradients,
  applyUpdate,
  allFinite,
  type UpdateGradients,
  type GANParts,
  type DiscriminatorStepArgs,
  type GeneratorStepArgs,
} from './training/step';
export { fixedSchedule, type UpdateSchedule, type UpdateCounts } from './training/schedule';
export {
  History,
  earlyStopping,
  type GANCallback,
  type CallbackContext,
  type StepLogs,
  type EpochLogs,
  type MetricName,
  type StopReason,
  type EarlyStoppingOptions,
} from './training/callbacks';
export type { GANData, BatchInput, TensorLikeData, DatasetLike, BatchIterator } from './training/data';
export {
  GANTrainer,
  noiseSampler,
  type GANTrainerConfig,
  type FitOptions,
  type NoiseSampler,
  type NoiseName,
} from './training/trainer';

export { checkpointing, type CheckpointingCallback, type CheckpointingOptions, type CheckpointSlot } from './io/checkpointing';
export {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  type CheckpointHeader,
  type ModelRecord,
  type OptimizerRecord,
  type VariableRecord,
} from './io/checkpoint';
