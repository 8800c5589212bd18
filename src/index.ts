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

export type {
  Generator,
  Discriminator,
  ForwardOptions,
  ConditionalGenerator,
  ConditionalDiscriminator,
  ConditionalForwardOptions,
  DiscriminatorOutput,
  AnyGenerator,
  AnyDiscriminator,
  DiscriminatorFor,
} from './models/types';
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
export { SeededDropout, type SeededDropoutArgs } from './models/dropout';
export { noteForwardState, recordForwardState } from './models/forward-state';

export type { GANLoss, DiscriminatorLossContext, GeneratorLossContext } from './losses/types';
export * as losses from './losses/index';
export type { LossName, CrossEntropyLossOptions, LeastSquaresLossOptions } from './losses/builtins';
export type { AuxiliaryClassifierOptions } from './losses/auxiliary';

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
  DATA_NOT_FINITE,
  dataGuardStart,
  firstFailedUpdate,
  type GuardNonFinite,
  guardStart,
  nextGuard,
} from './training/guard';
export {
  History,
  earlyStopping,
  learningRateSchedule,
  linearDecay,
  type LearningRateFunction,
  type LearningRateScheduleCallback,
  type LearningRateScheduleOptions,
  type LinearDecayOptions,
  type GANCallback,
  type CallbackContext,
  type StepLogs,
  type EpochLogs,
  type MetricName,
  type StopReason,
  type EarlyStoppingOptions,
} from './training/callbacks';
export type { GANData, BatchInput, TensorLikeData, DatasetLike, BatchIterator, LabeledBatch, LabeledData } from './training/data';
export {
  GANTrainer,
  noiseSampler,
  type GANTrainerConfig,
  type BackendTuneUpOptions,
  type FitOptions,
  type NoiseSampler,
  type NoiseName,
  type StepInput,
  type DataFor,
  type LabelArgs,
} from './training/trainer';

export { toLabels, toLabelsSync, labelSampler, type LabelsInput, type LabelSampler } from './conditional/labels';
export {
  conditionalGeneratorFromLayersModel,
  conditionalDiscriminatorFromLayersModel,
  encodeLabels,
  type LabelEncoding,
  type ConditionalLayersOptions,
  type LayersConditionalGenerator,
  type LayersConditionalDiscriminator,
} from './conditional/adapters';
export type { GeneratorConditioning, DiscriminatorConditioning } from './conditional/conditioning';
export {
  conditionalMlpGenerator,
  conditionalMlpDiscriminator,
  conditionalDcganGenerator,
  conditionalDcganDiscriminator,
  type ConditionalArgs,
  type ConditionalGeneratorArgs,
  type ConditionalDiscriminatorArgs,
  type ConditionalMLPGeneratorArgs,
  type ConditionalMLPDiscriminatorArgs,
  type ConditionalDCGANGeneratorArgs,
  type ConditionalDCGANDiscriminatorArgs,
} from './conditional/presets';

export { checkpointing, type CheckpointingCallback, type CheckpointingOptions, type CheckpointSlot } from './io/checkpointing';
export {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  type Checkpointable,
  type CheckpointHeader,
  type ComponentRecord,
  type ComponentState,
  isCheckpointable,
  type JsonValue,
  type RestoreContext,
  type ModelRecord,
  type OptimizerRecord,
  type VariableRecord,
} from './io/checkpoint';

export * from './backends/index';
export * from './optim/index';
export * from './metrics/index';
export * from './stabilizers/index';
export * from './sampling/index';
