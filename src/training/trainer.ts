import * as tf from '@tensorflow/tfjs-core';
import { toBackendSupportError } from '../backends/gradients';
import { installLazyFusedGradients } from '../backends/lazy-fused-gradients';
import { installFusedLeakyReluGradient, registerFusedLeakyReluKernels } from '../backends/leaky-relu-grad';
import { installFusedTanhGradient, registerFusedTanhKernels } from '../backends/tanh-grad';
import { installWasmTrainingKernels, type WasmTuneUpOptions } from '../backends/wasm';
import { installWebGPUTuneUp } from '../backends/webgpu';
import { type LabelSampler, type LabelsInput, labelSampler, toLabelsSync } from '../conditional/labels';
import { CheckpointError, DataError, formatShape, GANConfigError, GANError, NonFiniteError, ShapeMismatchError } from '../errors';
import {
  assertJsonData,
  assertSameVariables,
  assertStateName,
  assertWeightData,
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  type Checkpointable,
  type CheckpointHeader,
  type ComponentRecord,
  type ComponentState,
  isCheckpointable,
  modelRecord,
  type NamedTensor,
  type OptimizerRecord,
  optimizerExtras,
  optimizerState,
  PREFIX,
  parseHeader,
} from '../io/checkpoint';
import { isFileUrl, layersModelFolderHandler, singleFileHandler } from '../io/files';
import { parseJsonData } from '../io/safe-json';
import { type LossName, lossNames, resolveLoss } from '../losses/builtins';
import type { GANLoss } from '../losses/types';
import type { LayersGenerator } from '../models/adapters';
import { recordForwardState } from '../models/forward-state';
import type { AnyDiscriminator, AnyGenerator, ConditionalGenerator, DiscriminatorFor, Generator } from '../models/types';
import { canFuseAdam, fusedAdamUpdate, releaseFusedAdam } from '../optim/adam';
import { Random } from '../random';
import { type CallbackContext, epochLogs, type GANCallback, History, type StepLogs } from './callbacks';
import {
  assertFinite,
  type Batch,
  type BatchInput,
  createDataSource,
  disposeBatch,
  type GANData,
  isLabeled,
  type LabeledBatch,
  type LabeledData,
  toBatch,
} from './data';
import {
  DATA_NOT_FINITE,
  dataGuardStart,
  firstFailedUpdate,
  type GuardNonFinite,
  guardStart,
  nextGuard,
  type UpdateUndo,
  updateUndo,
} from './guard';
import { assertCounts, fixedSchedule, type UpdateCounts, type UpdateSchedule } from './schedule';
import {
  applyUpdate,
  discriminatorGradients,
  generatorGradients,
  isUpdateFinite,
  runDiscriminator,
  runGenerator,
  type UpdateGradients,
} from './step';

/** How one step checks its updates (see `GANTrainerConfig.guardNonFinite`), and what undoes them. */
interface StepCheck {
  readonly mode: 'off' | 'read-back' | 'on-device';
  /** On-device: the guard's running value ({@link nextGuard}). */
  value: tf.Tensor | undefined;
  /** The undo of each guarded update of the step so far, in order (read-back: only the update in progress). */
  readonly undos: { readonly which: 'discriminator' | 'generator'; readonly undo: UpdateUndo }[];
}

/** Draws a batch of latent vectors `[n, latentDim]`; `seed` comes from the trainer's seeded generator. */
export type NoiseSampler = (shape: [number, number], seed: number) => tf.Tensor2D;

/** Built-in latent distributions: standard normal, or uniform on [−1, 1]. */
export type NoiseName = 'normal' | 'uniform';

/** Returns the sampler for a built-in latent distribution. */
export function noiseSampler(name: NoiseName): NoiseSampler {
  return name === 'normal'
    ? (shape, seed) => tf.randomNormal(shape, 0, 1, 'float32', seed)
    : (shape, seed) => tf.randomUniform(shape, -1, 1, 'float32', seed);
}

/** One step's input: a batch (or k batches) — labelled `{ x, labels }` for a conditional GAN. */
export type StepInput<G extends AnyGenerator> = G extends ConditionalGenerator
  ? LabeledBatch | readonly LabeledBatch[]
  : BatchInput | readonly BatchInput[];

/** `fit`'s data: {@link GANData}, or {@link LabeledData} for a conditional GAN. */
export type DataFor<G extends AnyGenerator> = G extends ConditionalGenerator ? LabeledData : GANData;

/** The extra arguments of `sample` and `generate`: optional labels for a conditional GAN, none otherwise. */
export type LabelArgs<G extends AnyGenerator> = G extends ConditionalGenerator ? [labels?: LabelsInput] : [];

/** The parts of the trainer's backend tune-up (`backendTuneUp`): the wasm kernels' switches, WebGPU's, the fused LeakyReLU gradient and lazy fused-op gradients. */
export interface BackendTuneUpOptions extends WasmTuneUpOptions {
  /** On `webgpu`, upload tensor values with `queue.writeBuffer` ({@link installWebGPUTuneUp}). Default `true`. */
  readonly webgpuUploads?: boolean;
  /** On `webgpu`, reuse the bind groups of tfjs's dispatches ({@link installWebGPUTuneUp}). Default `true`. */
  readonly webgpuBindGroups?: boolean;
  /** On `webgpu`, sum over leading axes (bias gradients) without tfjs's transpose ({@link installWebGPUTuneUp}). Default `true`. */
  readonly webgpuSums?: boolean;
  /**
   * On `webgpu`, the built-in cross-entropy losses' mean in one dispatch forward and one backward
   * ({@link installWebGPUTuneUp}, part `losses`). Default `true`.
   */
  readonly webgpuLosses?: boolean;
  /**
   * Differentiate LeakyReLU with one fused kernel on cpu, wasm and webgpu instead of tfjs's six
   * ({@link installFusedLeakyReluGradient}; global, like the rest). Default `true`.
   */
  readonly leakyReluGradient?: boolean;
  /**
   * Differentiate tanh with one fused kernel on cpu, wasm and webgpu instead of tfjs's three
   * ({@link installFusedTanhGradient}; global, like the rest). Default `true`.
   */
  readonly tanhGradient?: boolean;
  /**
   * Make backprop through tfjs's fused matMul and conv2d (`Dense`, `Conv2D`) compute only the input
   * gradients it uses — the same bits, fewer kernels ({@link installLazyFusedGradients}; global, on
   * every backend). Default `true`.
   */
  readonly lazyFusedGradients?: boolean;
}

/**
 * Configuration of a {@link GANTrainer}. The generator's type decides whether the trainer is
 * conditional; the discriminator must be of the matching kind.
 */
export interface GANTrainerConfig<G extends AnyGenerator = Generator> {
  /** The generator G — a {@link ConditionalGenerator} makes a conditional GAN (CGAN/ACGAN). */
  readonly generator: G;
  /** The discriminator (critic) D; it must return logits (and, for ACGAN, class logits). */
  readonly discriminator: DiscriminatorFor<G>;
  /**
   * Conditional GANs: the distribution of the classes G is trained to generate —
   * `'uniform'` (default), one probability per class, or a sampler.
   */
  readonly labelDistribution?: 'uniform' | readonly number[] | LabelSampler;
  /** The objective: a {@link GANLoss} or a built-in's name. Default `'non-saturating'`. */
  readonly loss?: GANLoss | LossName;
  /** k: discriminator updates per step, each on its own real batch (Algorithm 1). Default 1. */
  readonly discriminatorSteps?: number;
  /** Generator updates per step. Default 1. */
  readonly generatorSteps?: number;
  /** A custom policy for the counts above (adaptive k, …); excludes the two count options. */
  readonly schedule?: UpdateSchedule;
  /** G's optimizer. Default `tf.train.adam(2e-4, 0.5)`. The trainer owns it. */
  readonly generatorOptimizer?: tf.Optimizer;
  /** D's optimizer. Default `tf.train.adam(2e-4, 0.5)`. The trainer owns it. */
  readonly discriminatorOptimizer?: tf.Optimizer;
  /** The latent distribution. Default `'normal'`. */
  readonly noise?: NoiseName | NoiseSampler;
  /** Seed of every random draw the trainer makes (noise, shuffling). */
  readonly seed?: number;
  /**
   * Reject data holding NaN/Infinity with a {@link DataError}, leaving the trainer as it was. Checked
   * by a read-back before the step, or — with the on-device guard (`guardNonFinite`) — on the device
   * together with the step's updates, which it then skips and undoes (one read-back a step instead of
   * two). Then the error comes a little later: in `fit`, after that step's `onStepBegin` callbacks and
   * after pulling the step's other batches; and a batch that cannot be converted at all (a
   * `ShapeMismatchError`) is reported first, also when it comes after the bad one. A tensor given to
   * `fit` is checked once, whole. Default `true`.
   */
  readonly checkFinite?: boolean;
  /**
   * Check every update's loss and gradients for NaN/Infinity and throw a {@link NonFiniteError}
   * instead of applying it — so the weights always stay the last good ones. Updates before the failing
   * one in the step stay applied; the failing update (and any after it) changes nothing: not the
   * weights, not the optimizer's state, not the models' non-trainable variables (batch norm's moving
   * statistics), not the trainer's random stream nor a component's plain-data state (a D wrapper's
   * random stream).
   *
   * Two ways to check, with the same outcome:
   * - `'read-back'`: before each update, a flag is read back to the CPU (one small read per update;
   *   on a GPU each waits for the work queued before it).
   * - `'on-device'`: the check runs on the device and the update applies only where it passed
   *   ({@link fusedAdamUpdate}'s `guard`), so a step reads back once (its losses, as always); a
   *   failing update and the rest of its step run but change nothing, and the error comes at the end
   *   of the step. The step's data batches are checked the same way (`checkFinite`). Needs both
   *   optimizers to be `tf.train.adam` ones and `fusedAdam` on.
   *
   * `true` (the default) is on-device on `webgpu` when it can be, read-back otherwise. With `false`,
   * a non-finite loss is still reported by a `NonFiniteError` after the step, but the weights may
   * already be corrupt.
   */
  readonly guardNonFinite?: GuardNonFinite;
  /**
   * Install the library's training kernels for backends that lack or mis-implement them
   * or are slow at them — tfjs-backend-wasm (see {@link installWasmTrainingKernels}) and, while the
   * active backend is `webgpu`, uploads through `queue.writeBuffer`, cached bind groups, sums without transposes and fused cross-entropy losses (see {@link installWebGPUTuneUp}),
   * fused LeakyReLU and tanh gradients on cpu, wasm and webgpu ({@link installFusedLeakyReluGradient},
   * {@link installFusedTanhGradient}), and
   * lazy gradients for tfjs's fused matMul and conv2d on every backend ({@link installLazyFusedGradients}).
   * Harmless where the backend is not loaded. `false` installs nothing, and an object leaves parts out
   * (`{ matmul: false }`, `{ webgpuUploads: false }`, `{ webgpuBindGroups: false }`, `{ webgpuSums: false }`, `{ webgpuLosses: false }`, `{ leakyReluGradient: false }`,
   * `{ tanhGradient: false }`, `{ lazyFusedGradients: false }`); neither removes what another trainer or a call
   * of the install functions put in place (they are global: use the `uninstall…` functions). Default `true`.
   */
  readonly backendTuneUp?: boolean | BackendTuneUpOptions;
  /**
   * Apply the updates of `tf.train.adam` optimizers (the default ones included) with the library's
   * fused Adam ({@link fusedAdamUpdate}): the same float32 arithmetic — the same weights bit for bit
   * on cpu and wasm; on a GPU the shader compiler may fuse a multiply-add, changing the last bit —
   * but one kernel per variable on `cpu` instead of 14 (about 14× faster), one compute shader per
   * variable on `webgpu`, and elsewhere its constants uploaded once instead of 6 scalars per variable
   * every step. The optimizer's state stays in the optimizer, so checkpoints are unchanged. Other
   * optimizers are not affected. `false` calls `optimizer.applyGradients` as tfjs ships it. Default `true`.
   */
  readonly fusedAdam?: boolean;
  /**
   * More components whose state the trainer's checkpoints carry, beside the schedule, loss and
   * discriminator (included automatically when they are {@link Checkpointable}) — e.g. a
   * `stabilizers.generatorEma(generator)`. `save` stores their state, `restore`/`load` restores it.
   * The trainer does not dispose them.
   */
  readonly checkpointed?: readonly Checkpointable[];
}

/** Options of {@link GANTrainer.fit}. */
export interface FitOptions {
  /** Passes over the data. Default 1. */
  readonly epochs?: number;
  /** Examples per batch, for tensor and array data. Default 32. */
  readonly batchSize?: number;
  /** Shuffle tensor and array data each epoch. Default `true`. */
  readonly shuffle?: boolean;
  /** Hooks called during training. */
  readonly callbacks?: readonly GANCallback[];
  /** Stops training cleanly between steps; `fit` then resolves with `stopReason: 'aborted'`. */
  readonly signal?: AbortSignal;
}

const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Trains a GAN with Algorithm 1 of Goodfellow et al. (2014): each step makes
 * k discriminator updates, each on a fresh real batch and fresh noise, then
 * the generator updates. D's update moves only D's variables and G's only G's.
 *
 * @example
 * ```ts
 * const trainer = new GANTrainer({ generator: mlpGenerator(), discriminator: mlpDiscriminator(), loss: 'non-saturating' });
 * const history = await trainer.fit(images, { epochs: 10, batchSize: 100 });
 * const samples = trainer.sample(16);
 * ```
 */
export class GANTrainer<G extends AnyGenerator = Generator> {
  /** The generator being trained. */
  readonly generator: G;
  /** The discriminator being trained. */
  readonly discriminator: DiscriminatorFor<G>;
  /** Number of classes of a conditional GAN; `undefined` for an unconditional one. */
  readonly numClasses: number | undefined;
  /** The resolved objective. */
  readonly loss: GANLoss;
  /** The k-steps policy. */
  readonly schedule: UpdateSchedule;
  /** G's optimizer. */
  readonly generatorOptimizer: tf.Optimizer;
  /** D's optimizer. */
  readonly discriminatorOptimizer: tf.Optimizer;
  /** The trainer's seeded random source (noise seeds and shuffling). */
  readonly random: Random;
  /** Every step and epoch this trainer has run (across `fit` and `step` calls, and restored from checkpoints). */
  readonly history = new History();

  private readonly sampleNoise: NoiseSampler;
  private readonly sampleLabels: LabelSampler | undefined;
  /** The plain-data part of the configuration, recorded in checkpoints. */
  private readonly recordedConfig: Record<string, unknown>;
  private readonly checkFinite: boolean;
  private readonly guardNonFinite: GuardNonFinite;
  private readonly fusedAdam: boolean;
  /** What an update's forward passes may write besides the weights: the models' non-trainable state variables. */
  private readonly sideVariables: readonly tf.Variable[];
  private readonly fusedLeakyReluGradient: boolean;
  private readonly fusedTanhGradient: boolean;
  private readonly webgpuTuneUp:
    | { readonly uploads: boolean; readonly bindGroups: boolean; readonly sums: boolean; readonly losses: boolean }
    | undefined;
  /** The schedule, loss, discriminator (when Checkpointable) and `config.checkpointed`, keys unique. */
  private readonly components: readonly Checkpointable[];
  private globalStep = 0;
  private globalEpoch = 0;
  private busy = false;
  private disposed = false;

  /**
   * @throws {@link GANConfigError} for invalid options (unknown loss name, k < 1, …).
   * @throws {@link ShapeMismatchError} when G's output does not fit D's input, or D does not return one logit per example.
   */
  constructor(config: GANTrainerConfig<G>) {
    const { generator, discriminator } = config;
    if (generator == null || discriminator == null) {
      throw new GANConfigError(generator == null ? 'generator' : 'discriminator', 'is required');
    }
    const d = discriminator as AnyDiscriminator;
    if (generator.numClasses !== d.numClasses) {
      throw new GANConfigError(
        'discriminator',
        generator.numClasses === undefined || d.numClasses === undefined
          ? 'a conditional generator needs a conditional discriminator and vice versa'
          : `the generator has ${generator.numClasses} classes, the discriminator ${d.numClasses}`,
      );
    }
    if (generator.numClasses !== undefined && (!Number.isInteger(generator.numClasses) || generator.numClasses < 2)) {
      throw new GANConfigError('numClasses', `must be an integer ≥ 2, got ${generator.numClasses}`);
    }
    if (config.labelDistribution !== undefined && generator.numClasses === undefined) {
      throw new GANConfigError('labelDistribution', 'only a conditional GAN samples labels');
    }
    if (!sameShape(generator.outputShape, discriminator.inputShape)) {
      throw new ShapeMismatchError(
        'generator output vs discriminator input',
        formatShape([null, ...discriminator.inputShape]),
        formatShape([null, ...generator.outputShape]),
      );
    }
    this.loss = resolveLoss(config.loss ?? 'non-saturating');
    if (config.schedule !== undefined && (config.discriminatorSteps !== undefined || config.generatorSteps !== undefined)) {
      throw new GANConfigError('schedule', 'give either a schedule or discriminatorSteps/generatorSteps, not both');
    }
    this.schedule =
      config.schedule ?? fixedSchedule({ discriminator: config.discriminatorSteps ?? 1, generator: config.generatorSteps ?? 1 });
    const noise = config.noise ?? 'normal';
    if (typeof noise === 'string' && noise !== 'normal' && noise !== 'uniform') {
      throw new GANConfigError('noise', `unknown noise "${String(noise)}"; expected 'normal', 'uniform' or a function`);
    }
    if (config.seed !== undefined && !Number.isFinite(config.seed)) {
      throw new GANConfigError('seed', `must be a finite number, got ${config.seed}`);
    }
    const tuneUp = config.backendTuneUp ?? true;
    // The parts switched on (every part defaults to on), or undefined for no tune-up at all.
    const parts: BackendTuneUpOptions | undefined = tuneUp === false ? undefined : tuneUp === true ? {} : tuneUp;
    if (parts !== undefined) installWasmTrainingKernels(parts);
    this.fusedLeakyReluGradient = parts !== undefined && (parts.leakyReluGradient ?? true);
    if (this.fusedLeakyReluGradient) installFusedLeakyReluGradient();
    this.fusedTanhGradient = parts !== undefined && (parts.tanhGradient ?? true);
    if (this.fusedTanhGradient) installFusedTanhGradient();
    if (parts !== undefined && (parts.lazyFusedGradients ?? true)) installLazyFusedGradients();
    this.webgpuTuneUp = parts && {
      uploads: parts.webgpuUploads ?? true,
      bindGroups: parts.webgpuBindGroups ?? true,
      sums: parts.webgpuSums ?? true,
      losses: parts.webgpuLosses ?? true,
    };
    this.generator = generator;
    this.discriminator = discriminator;
    this.numClasses = generator.numClasses;
    const labels = config.labelDistribution ?? 'uniform';
    this.sampleLabels =
      this.numClasses === undefined ? undefined : typeof labels === 'function' ? labels : labelSampler(labels, this.numClasses);
    this.checkDryRun();
    this.sampleNoise = typeof noise === 'function' ? noise : noiseSampler(noise);
    this.random = new Random(config.seed);
    this.checkFinite = config.checkFinite ?? true;
    const guard = config.guardNonFinite ?? true;
    if (typeof guard !== 'boolean' && guard !== 'read-back' && guard !== 'on-device') {
      throw new GANConfigError('guardNonFinite', `must be true, false, 'read-back' or 'on-device', got ${JSON.stringify(guard)}`);
    }
    this.guardNonFinite = guard;
    this.fusedAdam = config.fusedAdam ?? true;
    const nonTrainable = (m: AnyGenerator | AnyDiscriminator) => stateOf(m).filter((v) => !m.trainableVariables.includes(v));
    this.sideVariables = [...nonTrainable(generator), ...nonTrainable(d)];
    this.components = checkpointableComponents([this.schedule, this.loss, discriminator], config.checkpointed ?? []);
    this.recordedConfig = {
      ...(config.schedule === undefined
        ? { discriminatorSteps: config.discriminatorSteps ?? 1, generatorSteps: config.generatorSteps ?? 1 }
        : {}),
      ...(typeof noise === 'string' ? { noise } : {}),
      ...(config.seed === undefined ? {} : { seed: config.seed }),
      checkFinite: this.checkFinite,
      guardNonFinite: this.guardNonFinite,
    };
    this.generatorOptimizer = config.generatorOptimizer ?? tf.train.adam(2e-4, 0.5);
    this.discriminatorOptimizer = config.discriminatorOptimizer ?? tf.train.adam(2e-4, 0.5);
    if (guard === 'on-device' && !this.canGuardOnDevice()) {
      throw new GANConfigError(
        'guardNonFinite',
        "'on-device' applies the updates with the fused Adam: both optimizers must be tf.train.adam ones and fusedAdam must not be false",
      );
    }
  }

  /** Whether the on-device guard can run: both updates go through {@link fusedAdamUpdate}. */
  private canGuardOnDevice(): boolean {
    return this.fusedAdam && canFuseAdam(this.generatorOptimizer) && canFuseAdam(this.discriminatorOptimizer);
  }

  /** How this step checks its updates. */
  private guardMode(): 'off' | 'read-back' | 'on-device' {
    const g = this.guardNonFinite;
    if (g === false) return 'off';
    if (g === true) return tf.getBackend() === 'webgpu' && this.canGuardOnDevice() ? 'on-device' : 'read-back';
    return g;
  }

  /** An undo of what the next update may change besides its weights (see {@link GANTrainerConfig.guardNonFinite}). */
  private undoFor(optimizer: tf.Optimizer | undefined): UpdateUndo {
    return updateUndo({
      variables: this.sideVariables,
      random: this.random,
      components: this.components,
      step: this.globalStep,
      ...(optimizer === undefined ? {} : { optimizer }),
    });
  }

  /** Global step counter: the number of training steps run so far. */
  get stepCount(): number {
    return this.globalStep;
  }

  /** Epochs completed by `fit` so far. */
  get epochCount(): number {
    return this.globalEpoch;
  }

  /** Runs G and D once on two zero latent vectors (inference mode: no state changes) to check their shapes. */
  private checkDryRun(): void {
    const { generator: g, discriminator: d } = this;
    tf.tidy(() => {
      const labels = this.numClasses === undefined ? undefined : (tf.tensor1d([0, 1], 'int32') as tf.Tensor1D);
      const fake = runGenerator(g, tf.zeros([2, g.latentDim]) as tf.Tensor2D, false, labels);
      if (!sameShape(fake.shape, [2, ...g.outputShape])) {
        throw new ShapeMismatchError(
          'generator output (for 2 latent vectors)',
          formatShape([2, ...g.outputShape]),
          formatShape(fake.shape),
        );
      }
      const { logits, classLogits } = runDiscriminator(d, fake, false, labels);
      if (!sameShape(logits.shape, [2, 1]) && !sameShape(logits.shape, [2])) {
        throw new ShapeMismatchError(
          'discriminator output (one logit per example, for 2 examples)',
          '[2, 1] or [2]',
          formatShape(logits.shape),
        );
      }
      if (classLogits !== undefined && !sameShape(classLogits.shape, [2, this.numClasses as number])) {
        throw new ShapeMismatchError(
          'discriminator class logits (for 2 examples)',
          formatShape([2, this.numClasses as number]),
          formatShape(classLogits.shape),
        );
      }
    });
  }

  private assertUsable(): void {
    if (this.disposed) throw new GANError('this trainer has been disposed');
  }

  private noise(n: number): tf.Tensor2D {
    return this.sampleNoise([n, this.generator.latentDim], this.random.nextSeed());
  }

  /**
   * Applies one update and returns its stats. Read-back guard: first checks that its loss and
   * gradients are finite, else undoes what the update changed (`check.undos`' last entry, taken before
   * it) and throws. On-device guard: advances the guard's running value and lets it decide, on the
   * device, whether the update applies.
   */
  private async apply(
    optimizer: tf.Optimizer,
    update: UpdateGradients,
    which: 'discriminator' | 'generator',
    check: StepCheck,
  ): Promise<tf.Tensor> {
    try {
      if (check.mode === 'on-device' && check.value !== undefined) {
        const next = nextGuard(check.value, [update.stats, ...Object.values(update.grads)]);
        check.value.dispose();
        check.value = next;
        try {
          fusedAdamUpdate(optimizer, update.grads, { guard: next });
        } finally {
          tf.dispose(Object.values(update.grads));
        }
        return update.stats;
      }
      if (check.mode === 'read-back') {
        const ok = await isUpdateFinite(update);
        const undo = check.undos.pop()?.undo;
        if (!ok) {
          undo?.restore();
          throw new NonFiniteError(this.globalStep, which, 'loss or a gradient');
        }
        undo?.dispose();
      }
      applyUpdate(optimizer, update, { fusedAdam: this.fusedAdam });
      return update.stats;
    } catch (e) {
      // Whatever failed (the check, the optimizer), the update's tensors are ours to release (again is harmless).
      tf.dispose([update.stats, ...Object.values(update.grads)]);
      throw e;
    }
  }

  /**
   * Runs one step on already validated, trainer-owned batches, then disposes them. `mode`: how the step
   * checks its updates, chosen once by the caller ({@link guardMode}). `checkData` (on-device only): the
   * batches are not yet checked for NaN/Infinity; the guard does it (a `DataError`, with nothing
   * changed, as a read-back check before the step would have thrown).
   */
  private async runStep(
    batches: Batch[],
    counts: UpdateCounts,
    epoch: number,
    mode: StepCheck['mode'],
    checkData: boolean,
  ): Promise<StepLogs> {
    const parts = {
      generator: this.generator as AnyGenerator,
      discriminator: this.discriminator as AnyDiscriminator,
      loss: this.loss,
    };
    // Each distinct tensor once (step() reuses one batch for its k updates).
    const start = () => (checkData ? dataGuardStart(uniqueData(batches.map((b) => b.x))) : guardStart());
    const check: StepCheck = { mode, value: mode === 'on-device' ? start() : undefined, undos: [] };
    const dStats: tf.Tensor[] = [];
    const gStats: tf.Tensor[] = [];
    let m = 0;
    /**
     * One update of `which`: guarded, first an undo of what it may change besides its weights (before its
     * draws); its noise and labels; its forward and backward passes, recording what layers note of their
     * JavaScript state (SeededDropout's counter); then {@link apply}.
     */
    const update = async (
      which: 'discriminator' | 'generator',
      optimizer: tf.Optimizer,
      gradients: (z: tf.Tensor2D, fakeLabels: tf.Tensor1D | undefined) => UpdateGradients,
    ): Promise<tf.Tensor> => {
      const undo = mode === 'off' ? undefined : this.undoFor(mode === 'on-device' ? optimizer : undefined);
      if (undo !== undefined) check.undos.push({ which, undo });
      const z = this.noise(m);
      const fakeLabels = this.labels(m);
      let grads: UpdateGradients;
      try {
        grads = undo === undefined ? gradients(z, fakeLabels) : recordForwardState(undo.noted, () => gradients(z, fakeLabels));
      } finally {
        tf.dispose([z, fakeLabels as tf.Tensor]);
      }
      return this.apply(optimizer, grads, which, check);
    };
    try {
      try {
        for (const real of batches) {
          m = real.x.shape[0] as number;
          const stats = await update('discriminator', this.discriminatorOptimizer, (z, fakeLabels) =>
            discriminatorGradients({
              ...parts,
              real: real.x,
              z,
              ...(real.labels === undefined ? {} : { realLabels: real.labels }),
              ...(fakeLabels === undefined ? {} : { fakeLabels }),
            }),
          );
          dStats.push(stats);
        }
        for (let i = 0; i < counts.generator; i++) {
          const stats = await update('generator', this.generatorOptimizer, (z, fakeLabels) =>
            generatorGradients({ ...parts, z, ...(fakeLabels === undefined ? {} : { fakeLabels }) }),
          );
          gStats.push(stats);
        }
      } catch (err) {
        tf.dispose([...dStats, ...gStats]);
        // Guarded on the device, an earlier update may have been skipped: the read-back guard would have
        // stopped there, with its NonFiniteError and nothing after it done.
        if (check.value !== undefined) {
          const value = await check.value.data().then(
            (v) => v[0] as number,
            () => 1, // the backend itself failed: nothing to tell
          );
          this.undoFailed(check, value);
        }
        // A kernel or gradient the backend lacks: a BackendSupportError naming the op and backend.
        throw toBackendSupportError(err) ?? err;
      } finally {
        for (const b of batches) disposeBatch(b);
      }
      // One read back per step: [dLoss, dReal, dFake, gLoss] and, guarded on the device, the guard's value.
      // The mean of one update's stats is those stats (no stack and mean: on a GPU, three dispatches fewer).
      const meanOf = (stats: tf.Tensor[]) => (stats.length === 1 ? (stats[0] as tf.Tensor) : tf.mean(tf.stack(stats), 0));
      const summary = tf.tidy(() =>
        tf.concat([meanOf(dStats), meanOf(gStats), ...(check.value === undefined ? [] : [check.value])]),
      );
      tf.dispose([...dStats, ...gStats]);
      const values = await summary.data();
      summary.dispose();
      if (check.value !== undefined) this.undoFailed(check, values[4] as number);
      // + 0 turns a −0 into +0 (and nothing else): a checkpoint's JSON history stores −0 as 0, so logs never hold −0.
      const [dLoss, dReal, dFake, gLoss] = Array.from(values, (v) => v + 0) as [number, number, number, number];
      if (!Number.isFinite(dLoss) || !Number.isFinite(gLoss)) {
        // Only reachable with guardNonFinite: false — the weights may already hold NaN.
        throw new NonFiniteError(this.globalStep, Number.isFinite(dLoss) ? 'generator' : 'discriminator', 'loss');
      }
      return this.record({ dLoss, dReal, dFake, gLoss }, epoch);
    } finally {
      check.value?.dispose();
      for (const u of check.undos) u.undo.dispose();
    }
  }

  /**
   * On-device guard: when the guard's value read back says an update was not finite, undoes what it and
   * every later update did besides their (skipped) weights, latest first, and throws its NonFiniteError.
   */
  private undoFailed(check: StepCheck, value: number): void {
    if (value === DATA_NOT_FINITE) {
      // The data: every update was skipped; undo all of them, as the read-back check would have changed nothing.
      for (let j = check.undos.length - 1; j >= 0; j--) check.undos[j]?.undo.restore();
      throw new DataError('data batch: contains NaN or Infinity');
    }
    const failed = firstFailedUpdate(value);
    if (failed === undefined) return;
    for (let j = check.undos.length - 1; j >= failed; j--) check.undos[j]?.undo.restore();
    throw new NonFiniteError(this.globalStep, check.undos[failed]?.which ?? 'discriminator', 'loss or a gradient');
  }

  /** Counts a finished step: its logs, in the trainer's history and to an adaptive schedule. */
  private record(losses: Pick<StepLogs, 'dLoss' | 'dReal' | 'dFake' | 'gLoss'>, epoch: number): StepLogs {
    const step = this.globalStep++;
    const logs: StepLogs = { step, epoch, ...losses };
    this.history.steps.push(logs);
    // Adaptive schedules (adaptiveSchedule) see every step's numbers before the next step asks for counts.
    this.schedule.observe?.(logs);
    return logs;
  }

  /** Fresh labels for G (conditional GANs), or undefined. */
  private labels(n: number): tf.Tensor1D | undefined {
    return this.sampleLabels?.(n, this.random.nextSeed());
  }

  /**
   * Converts and validates user batches; nothing is changed if this throws. `checkOnDevice`: the
   * NaN/Infinity check is left to the step's on-device guard.
   */
  private async prepare(inputs: readonly unknown[], checkOnDevice: boolean): Promise<Batch[]> {
    const prepared: Batch[] = [];
    try {
      for (const input of inputs) {
        const b = await toBatch(input, this.discriminator.inputShape, this.numClasses, 'data batch');
        prepared.push(b);
        if (this.checkFinite && !checkOnDevice) await assertFinite(b.x, 'data batch');
      }
      return prepared;
    } catch (e) {
      for (const b of prepared) disposeBatch(b);
      throw e;
    }
  }

  /**
   * Runs one training step: k discriminator updates, then the generator updates.
   *
   * @param batch one real batch (reused for each of the k updates) or exactly k batches —
   *   `{ x, labels }` records for a conditional GAN. Your tensors stay yours.
   * @throws {@link ShapeMismatchError}, {@link DataError} or {@link GANConfigError}, with no variable
   *   changed (a `DataError` from the on-device check comes after the step ran, everything it did undone).
   */
  async step(batch: StepInput<G>): Promise<StepLogs> {
    this.assertUsable();
    this.enter();
    try {
      const counts = this.schedule.countsAt(this.globalStep);
      assertCounts(counts);
      const list: readonly unknown[] = isBatchList(batch) ? batch : Array.from({ length: counts.discriminator }, () => batch);
      if (list.length !== counts.discriminator) {
        throw new GANConfigError('batch', `expected 1 batch or k = ${counts.discriminator} batches, got ${list.length}`);
      }
      const mode = this.guardMode();
      const onDevice = this.checkFinite && mode === 'on-device';
      const batches = await this.prepare(list, onDevice);
      return await this.runStep(batches, counts, this.globalEpoch, mode, onDevice);
    } finally {
      this.busy = false;
    }
  }

  private enter(): void {
    if (this.busy) throw new GANError('the trainer is already running a step or fit; await it first');
    this.busy = true;
    // The webgpu backend exists only once tfjs has started it, so this is checked at every step/fit.
    if (this.webgpuTuneUp !== undefined && tf.getBackend() === 'webgpu') installWebGPUTuneUp(this.webgpuTuneUp);
    // A backend package loaded after the trainer was made gets the fused gradient kernels too.
    if (this.fusedLeakyReluGradient) registerFusedLeakyReluKernels();
    if (this.fusedTanhGradient) registerFusedTanhKernels();
  }

  /**
   * Trains on `data` for `epochs` passes. With k discriminator updates per step,
   * one epoch is ⌊batches / k⌋ steps; an incomplete final batch is dropped.
   *
   * @throws {@link GANConfigError}, {@link ShapeMismatchError} or {@link DataError}, with no variable
   *   changed (see {@link GANTrainerConfig.checkFinite} for when a `DataError` comes).
   */
  async fit(data: DataFor<G>, options: FitOptions = {}): Promise<History> {
    this.assertUsable();
    const epochs = options.epochs ?? 1;
    if (!Number.isInteger(epochs) || epochs < 1) throw new GANConfigError('epochs', `must be a positive integer, got ${epochs}`);
    const batchSize = options.batchSize ?? 32;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new GANConfigError('batchSize', `must be a positive integer, got ${batchSize}`);
    }
    this.enter();
    const history = new History();
    let stopRequested = false;
    const context: CallbackContext = {
      stop: () => {
        stopRequested = true;
      },
    };
    const callbacks = options.callbacks ?? [];
    const signal = options.signal;
    let source: Awaited<ReturnType<typeof createDataSource>> | undefined;
    try {
      source = await createDataSource(data, this.discriminator.inputShape, {
        batchSize,
        shuffle: options.shuffle ?? true,
        checkFinite: this.checkFinite,
        ...(this.numClasses === undefined ? {} : { numClasses: this.numClasses }),
      });
      for (const cb of callbacks) await cb.onTrainBegin?.(context);
      let lastYield = Date.now();
      for (let e = 0; e < epochs; e++) {
        if (signal?.aborted) break;
        const epoch = this.globalEpoch;
        for (const cb of callbacks) await cb.onEpochBegin?.(epoch, context);
        const stream = source.epoch(this.random);
        const stepsThisEpoch: StepLogs[] = [];
        try {
          for (;;) {
            if (signal?.aborted || stopRequested) break;
            const counts = this.schedule.countsAt(this.globalStep);
            assertCounts(counts);
            const mode = this.guardMode();
            // An iterable's batches are checked as they come, or (on-device guard) by the step itself.
            const check = source.checkBatches && this.checkFinite;
            const checkOnDevice = check && mode === 'on-device';
            const batches: Batch[] = [];
            try {
              while (batches.length < counts.discriminator) {
                const b = await stream.next();
                if (b === undefined) break;
                batches.push(b);
                if (check && !checkOnDevice) await assertFinite(b.x, 'data batch');
              }
            } catch (err) {
              for (const b of batches) disposeBatch(b);
              throw err;
            }
            if (batches.length < counts.discriminator) {
              try {
                // Too few for a step, so never checked on the device: checked here, as read-back checks them all.
                if (checkOnDevice) for (const b of batches) await assertFinite(b.x, 'data batch');
              } finally {
                for (const b of batches) disposeBatch(b);
              }
              break;
            }
            try {
              for (const cb of callbacks) await cb.onStepBegin?.(this.globalStep, context);
            } catch (err) {
              // runStep owns (and disposes) the batches from here on; a failing callback must free them itself.
              for (const b of batches) disposeBatch(b);
              throw err;
            }
            const logs = await this.runStep(batches, counts, epoch, mode, checkOnDevice);
            stepsThisEpoch.push(logs);
            history.steps.push(logs);
            for (const cb of callbacks) await cb.onStepEnd?.(logs, context);
            if (Date.now() - lastYield > 50) {
              // Let a browser page repaint and timers run during long fits.
              await new Promise((resolve) => setTimeout(resolve, 0));
              lastYield = Date.now();
            }
          }
        } finally {
          stream.close();
        }
        if (stepsThisEpoch.length === 0) {
          if (history.steps.length === 0 && !signal?.aborted && !stopRequested) {
            throw new DataError(
              `data: yielded too few batches for one step (k = ${this.schedule.countsAt(this.globalStep).discriminator} batches needed)`,
            );
          }
          break;
        }
        const logs = epochLogs(epoch, stepsThisEpoch);
        history.epochs.push(logs);
        this.history.epochs.push(logs);
        this.globalEpoch++;
        for (const cb of callbacks) await cb.onEpochEnd?.(logs, context);
        if (stopRequested) break;
      }
      history.stopReason = signal?.aborted ? 'aborted' : stopRequested ? 'stopped' : 'completed';
      for (const cb of callbacks) await cb.onTrainEnd?.(history, context);
      return history;
    } finally {
      source?.dispose();
      this.busy = false;
    }
  }

  /**
   * Saves a complete checkpoint: G's and D's variables (trainable and not), both
   * optimizers' state, the step and epoch counters, the random-number state, the
   * plain-data configuration, the history, and the state of every {@link Checkpointable}
   * component (an adaptive schedule, a gradient penalty, instance noise, and `config.checkpointed`
   * such as a generator EMA).
   *
   * @param destination `file://path` (Node: one file, written atomically), any URL a
   *   registered tf.io router accepts (`indexeddb://name`, `downloads://name`, …), or an `IOHandler`.
   * @throws {@link CheckpointError} when a variable holds NaN/Infinity: nothing is written then.
   */
  async save(destination: string | tf.io.IOHandler): Promise<tf.io.SaveResult> {
    this.assertUsable();
    const artifacts = await this.checkpointArtifacts();
    return resolveHandler(destination, 'save').save(artifacts);
  }

  private async checkpointArtifacts(): Promise<tf.io.ModelArtifacts> {
    const gVars = stateOf(this.generator);
    const dVars = stateOf(this.discriminator);
    const gOpt = await optimizerState(this.generatorOptimizer, PREFIX.generatorOptimizer);
    const dOpt = await optimizerState(this.discriminatorOptimizer, PREFIX.discriminatorOptimizer);
    try {
      const components: Record<string, ComponentRecord> = {};
      const componentTensors: NamedTensor[] = [];
      for (const c of this.components) {
        const state = c.checkpointState();
        assertJsonData(`"${c.checkpointKey}"`, state.data);
        const tensors = Object.entries(state.tensors);
        for (const [name] of tensors) assertStateName(`"${c.checkpointKey}" tensor`, name);
        components[c.checkpointKey] = {
          data: state.data,
          tensors: tensors.map(([name, t]) => ({ name, shape: [...t.shape], dtype: t.dtype })),
        };
        for (const [name, tensor] of tensors)
          componentTensors.push({ name: `${PREFIX.component}${c.checkpointKey}/${name}`, tensor });
      }
      const named: NamedTensor[] = [
        ...gVars.map((tensor, i) => ({ name: `${PREFIX.generator}${i}`, tensor })),
        ...dVars.map((tensor, i) => ({ name: `${PREFIX.discriminator}${i}`, tensor })),
        ...gOpt.tensors,
        ...dOpt.tensors,
        ...componentTensors,
      ];
      const flag = tf.tidy(() => tf.all(tf.stack(named.map((n) => tf.all(tf.isFinite(n.tensor))))));
      const [finite] = await flag.data();
      flag.dispose();
      if (!finite) {
        const bad = named.find((n) => !tf.tidy(() => tf.all(tf.isFinite(n.tensor)).dataSync()[0]));
        throw new CheckpointError(
          `refusing to save: "${bad?.name}" holds NaN or Infinity (the previous checkpoint is left as it was)`,
        );
      }
      const header: CheckpointHeader = {
        format: CHECKPOINT_FORMAT,
        // Version 1 when there is no component state: older tfjs-gan versions can still read it.
        version: this.components.length === 0 ? 1 : CHECKPOINT_VERSION,
        step: this.globalStep,
        epoch: this.globalEpoch,
        random: this.random.state,
        loss: this.loss.name,
        models: {
          generator: modelRecord(this.generator.outputShape, gVars, this.generator.latentDim),
          discriminator: modelRecord(this.discriminator.inputShape, dVars),
        },
        optimizers: { generator: gOpt.record, discriminator: dOpt.record },
        config: this.recordedConfig,
        ...(this.components.length === 0 ? {} : { components }),
        history: { steps: this.history.steps, epochs: this.history.epochs },
      };
      const { data, specs } = await tf.io.encodeWeights(named.map((n) => ({ name: n.name, tensor: n.tensor })));
      return {
        modelTopology: header as unknown as object,
        weightSpecs: specs,
        weightData: data,
        format: CHECKPOINT_FORMAT,
        generatedBy: 'tfjs-gan',
      };
    } finally {
      tf.dispose([...gOpt.owned, ...dOpt.owned]);
    }
  }

  /**
   * Restores a checkpoint written by {@link GANTrainer.save} into this trainer. Everything is
   * validated first — format and version, every variable's count, shape and dtype, the optimizer
   * classes, the byte count of the weights, the components' state — so a bad checkpoint changes
   * nothing. Saved component state needs a component of the same key in this trainer (else a
   * `CheckpointError`: it would be lost); a component without saved state starts afresh from the
   * restored weights (see {@link Checkpointable.prepareRestore}).
   *
   * @throws {@link CheckpointError} naming the problem.
   */
  async restore(source: string | tf.io.IOHandler): Promise<void> {
    this.assertUsable();
    if (this.busy) throw new GANError('cannot restore while a step or fit is running');
    const artifacts = await readArtifacts(source);
    await this.applyCheckpoint(artifacts);
  }

  private async applyCheckpoint(artifacts: tf.io.ModelArtifacts): Promise<void> {
    const header = parseHeader(artifacts.modelTopology);
    const gVars = stateOf(this.generator);
    const dVars = stateOf(this.discriminator);
    assertSameVariables('generator', header.models.generator.variables, gVars);
    assertSameVariables('discriminator', header.models.discriminator.variables, dVars);
    for (const [role, opt] of [
      ['generator', this.generatorOptimizer],
      ['discriminator', this.discriminatorOptimizer],
    ] as const) {
      const recorded = header.optimizers[role].className;
      if (recorded !== opt.getClassName()) {
        throw new CheckpointError(
          `${role} optimizer: the checkpoint holds ${recorded} state, the trainer uses ${opt.getClassName()}`,
        );
      }
    }
    const saved = header.components ?? {};
    const live = new Set(this.components.map((c) => c.checkpointKey));
    for (const key of Object.keys(saved)) {
      if (!live.has(key)) {
        throw new CheckpointError(
          `the checkpoint holds the state of "${key}", which this trainer has no component for — restoring without it would ` +
            `lose it: give the trainer that component (the schedule, loss or discriminator it was saved with, or ` +
            `config.checkpointed, e.g. stabilizers.generatorEma(generator))`,
        );
      }
    }
    const specs = artifacts.weightSpecs ?? [];
    const data = artifacts.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
    assertWeightData(specs, data);
    const expected = [
      ...gVars.map((_, i) => `${PREFIX.generator}${i}`),
      ...dVars.map((_, i) => `${PREFIX.discriminator}${i}`),
      ...optimizerNames(header.optimizers.generator, PREFIX.generatorOptimizer),
      ...optimizerNames(header.optimizers.discriminator, PREFIX.discriminatorOptimizer),
      ...Object.entries(saved).flatMap(([key, c]) => c.tensors.map((t) => `${PREFIX.component}${key}/${t.name}`)),
    ];
    const byName = new Map(specs.map((s) => [s.name, s]));
    const missing = expected.find((n) => !byName.has(n));
    if (missing !== undefined) throw new CheckpointError(`the checkpoint lacks the weight "${missing}"`);
    // Every stored tensor must fit where it goes, so that no assignment can fail half-way.
    const fits = (name: string, shape: readonly number[], dtype: string) => {
      const spec = byName.get(name) as tf.io.WeightsManifestEntry;
      if (spec.dtype !== dtype || spec.shape.length !== shape.length || spec.shape.some((d, i) => d !== shape[i])) {
        throw new CheckpointError(
          `weight "${name}" is ${spec.dtype}[${spec.shape.join(', ')}] in the checkpoint, expected ${dtype}[${shape.join(', ')}]`,
        );
      }
    };
    for (const [i, v] of gVars.entries()) fits(`${PREFIX.generator}${i}`, v.shape, v.dtype);
    for (const [i, v] of dVars.entries()) fits(`${PREFIX.discriminator}${i}`, v.shape, v.dtype);
    for (const [record, prefix, opt] of [
      [header.optimizers.generator, PREFIX.generatorOptimizer, this.generatorOptimizer],
      [header.optimizers.discriminator, PREFIX.discriminatorOptimizer, this.discriminatorOptimizer],
    ] as const) {
      record.weights.forEach((name, i) => {
        const spec = byName.get(`${prefix}${i}`) as tf.io.WeightsManifestEntry;
        if (spec.dtype !== (name === 'iter' ? 'int32' : 'float32'))
          fits(`${prefix}${i}`, spec.shape, name === 'iter' ? 'int32' : 'float32');
      });
      const extras = new Map(optimizerExtras(opt));
      for (const key of record.extras) {
        const live = extras.get(key);
        if (live === undefined) throw new CheckpointError(`the optimizer has no state "${key}" that the checkpoint holds`);
        fits(`${prefix}extra/${key}`, live.shape, live.dtype);
      }
    }
    for (const [key, c] of Object.entries(saved)) {
      for (const t of c.tensors) {
        const name = `${PREFIX.component}${key}/${t.name}`;
        const spec = byName.get(name) as tf.io.WeightsManifestEntry;
        if (spec.dtype !== t.dtype || spec.shape.length !== t.shape.length || spec.shape.some((d, i) => d !== t.shape[i])) {
          throw new CheckpointError(`weight "${name}" does not match its record in the header`);
        }
      }
    }
    const tensors = tf.io.decodeWeights(data, specs);
    try {
      // The components validate their state (and may throw) before anything changes.
      const commits = this.components.map((c) => {
        const record = saved[c.checkpointKey];
        const state: ComponentState | undefined =
          record === undefined
            ? undefined
            : {
                data: record.data,
                tensors: Object.fromEntries(
                  record.tensors.map((t) => [t.name, tensors[`${PREFIX.component}${c.checkpointKey}/${t.name}`] as tf.Tensor]),
                ),
              };
        return c.prepareRestore(state, { step: header.step });
      });
      // Validation is over: from here on nothing can fail half-way.
      for (const [i, v] of gVars.entries()) v.assign(tensors[`${PREFIX.generator}${i}`] as tf.Tensor);
      for (const [i, v] of dVars.entries()) v.assign(tensors[`${PREFIX.discriminator}${i}`] as tf.Tensor);
      await restoreOptimizer(this.generatorOptimizer, header.optimizers.generator, tensors, PREFIX.generatorOptimizer);
      await restoreOptimizer(
        this.discriminatorOptimizer,
        header.optimizers.discriminator,
        tensors,
        PREFIX.discriminatorOptimizer,
      );
      // After the models: a component may start afresh from the restored weights (an EMA without saved state).
      for (const commit of commits) commit();
    } finally {
      tf.dispose(Object.values(tensors));
    }
    this.globalStep = header.step;
    this.globalEpoch = header.epoch;
    this.random.state = header.random;
    this.history.steps.splice(0, Infinity, ...header.history.steps);
    this.history.epochs.splice(0, Infinity, ...header.history.epochs);
  }

  /**
   * Builds a trainer from `config` and restores a checkpoint into it. Options the checkpoint
   * recorded as plain data (k, generator steps, noise name, seed) and the optimizers (class,
   * configuration and state) are taken from it unless `config` gives them; the models must be
   * given (built with the same architecture), and so must a custom (non built-in) loss and the
   * components whose state the checkpoint holds (a schedule, `checkpointed: [ema]`, …), freshly built.
   *
   * @throws {@link CheckpointError} before anything is built when the checkpoint is unusable.
   */
  static async load<G extends AnyGenerator = Generator>(
    source: string | tf.io.IOHandler,
    config: Omit<GANTrainerConfig<G>, 'loss'> & { readonly loss?: GANLoss | LossName },
  ): Promise<GANTrainer<G>> {
    const artifacts = await readArtifacts(source);
    const header = parseHeader(artifacts.modelTopology);
    const recorded = header.config;
    const loss = config.loss ?? (lossNames.includes(header.loss as LossName) ? (header.loss as LossName) : undefined);
    if (loss === undefined) {
      throw new CheckpointError(`the checkpoint was trained with the custom loss "${header.loss}": pass it as config.loss`);
    }
    const pick = <K extends string>(key: K, test: (v: unknown) => boolean) =>
      recorded[key] !== undefined && test(recorded[key]) ? { [key]: recorded[key] } : {};
    const built: GANTrainerConfig<G> = {
      ...(config.schedule === undefined ? pick('discriminatorSteps', Number.isInteger) : {}),
      ...(config.schedule === undefined ? pick('generatorSteps', Number.isInteger) : {}),
      ...pick('noise', (v) => v === 'normal' || v === 'uniform'),
      ...pick('seed', Number.isFinite),
      ...pick('checkFinite', (v) => typeof v === 'boolean'),
      ...pick('guardNonFinite', (v) => typeof v === 'boolean' || v === 'read-back' || v === 'on-device'),
      ...config,
      loss,
      generatorOptimizer: config.generatorOptimizer ?? optimizerFromRecord(header.optimizers.generator),
      discriminatorOptimizer: config.discriminatorOptimizer ?? optimizerFromRecord(header.optimizers.discriminator),
    };
    const trainer = new GANTrainer(built);
    try {
      await trainer.applyCheckpoint(artifacts);
    } catch (e) {
      // Release what this call created; the models stay the caller's.
      if (config.generatorOptimizer === undefined) trainer.generatorOptimizer.dispose();
      if (config.discriminatorOptimizer === undefined) trainer.discriminatorOptimizer.dispose();
      throw e;
    }
    return trainer;
  }

  /**
   * Exports the generator as a standard TensorFlow.js LayersModel that plain `tf.loadLayersModel`
   * loads and samples from, with no tfjs-gan import. Input: latent vectors `[n, latentDim]`.
   *
   * @param destination `file://folder` (Node: `model.json` + `weights.bin`, swapped in atomically),
   *   any tf.io URL (`indexeddb://`, `downloads://`, …) or an `IOHandler`.
   * @throws {@link GANConfigError} when the generator is not backed by a LayersModel.
   */
  async exportGenerator(destination: string | tf.io.IOHandler): Promise<tf.io.SaveResult> {
    this.assertUsable();
    const model = (this.generator as Partial<LayersGenerator>).model;
    if (model === undefined) {
      throw new GANConfigError(
        'generator',
        'only a LayersModel-backed generator (generatorFromLayersModel or a preset) can be exported',
      );
    }
    return model.save(
      typeof destination === 'string' && isFileUrl(destination) ? layersModelFolderHandler(destination) : destination,
    );
  }

  /** Validated labels for n examples: the given ones, or sampled ones for a conditional GAN without them. */
  private labelsFor(n: number, given: LabelsInput | undefined): tf.Tensor1D | undefined {
    if (this.numClasses === undefined) {
      if (given !== undefined) throw new GANConfigError('labels', 'labels were given to an unconditional GAN');
      return undefined;
    }
    return given === undefined ? this.labels(n) : toLabelsSync(given, this.numClasses, n);
  }

  /**
   * Generates `n` examples from fresh noise (inference mode). A conditional GAN generates for
   * the given `labels` (one per example), or for labels drawn from its label distribution.
   * The caller disposes the result.
   */
  sample(n: number, ...labels: LabelArgs<G>): tf.Tensor {
    this.assertUsable();
    if (!Number.isInteger(n) || n < 1) throw new GANConfigError('n', `must be a positive integer, got ${n}`);
    const y = this.labelsFor(n, labels[0]);
    try {
      return tf.tidy(() => runGenerator(this.generator, this.noise(n), false, y));
    } finally {
      y?.dispose();
    }
  }

  /**
   * Runs G on given latent vectors `[n, latentDim]` (and, conditional, labels) in inference mode.
   * The caller disposes the result.
   *
   * @throws {@link ShapeMismatchError} when `z` is not `[n, latentDim]` or the labels do not fit.
   */
  generate(z: tf.Tensor2D, ...labels: LabelArgs<G>): tf.Tensor {
    this.assertUsable();
    if (z.rank !== 2 || z.shape[1] !== this.generator.latentDim) {
      throw new ShapeMismatchError('latent vectors', formatShape([null, this.generator.latentDim]), formatShape(z.shape));
    }
    const y = this.labelsFor(z.shape[0], labels[0]);
    try {
      return tf.tidy(() => runGenerator(this.generator, z, false, y));
    } finally {
      y?.dispose();
    }
  }

  /**
   * A class-by-row sample grid of a conditional GAN: `perClass` samples of class 0, then of
   * class 1, …, shaped `[numClasses · perClass, ...outputShape]`. The caller disposes it.
   */
  sampleGrid(this: GANTrainer<ConditionalGenerator>, perClass: number): tf.Tensor {
    if (!Number.isInteger(perClass) || perClass < 1)
      throw new GANConfigError('perClass', `must be a positive integer, got ${perClass}`);
    const classes = this.numClasses as number;
    const labels = Array.from({ length: classes * perClass }, (_, i) => Math.floor(i / perClass));
    return this.sample(labels.length, labels);
  }

  /**
   * D's probability D(x) = sigmoid(logit) for a batch of examples (inference mode); a conditional
   * D needs their labels. The caller disposes the result.
   */
  discriminate(x: tf.Tensor, ...labels: LabelArgs<G>): tf.Tensor {
    this.assertUsable();
    const shape = x.shape.slice(1);
    if (!sameShape(shape, this.discriminator.inputShape)) {
      throw new ShapeMismatchError('examples', formatShape([null, ...this.discriminator.inputShape]), formatShape(x.shape));
    }
    if (this.numClasses !== undefined && labels[0] === undefined) {
      throw new GANConfigError('labels', 'a conditional discriminator needs the labels of the examples');
    }
    const y = this.labelsFor(x.shape[0] as number, labels[0]);
    try {
      return tf.tidy(() => tf.sigmoid(runDiscriminator(this.discriminator, x, false, y).logits));
    } finally {
      y?.dispose();
    }
  }

  /** Releases both optimizers and both models. The trainer cannot be used afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    releaseFusedAdam(this.generatorOptimizer);
    releaseFusedAdam(this.discriminatorOptimizer);
    this.generatorOptimizer.dispose();
    this.discriminatorOptimizer.dispose();
    this.generator.dispose?.();
    this.discriminator.dispose?.();
  }
}

/** The checkpointable ones among the trainer's parts, and the extra components; throws on a duplicate key. */
function checkpointableComponents(parts: readonly unknown[], extra: readonly Checkpointable[]): Checkpointable[] {
  const found = parts.filter(isCheckpointable);
  for (const c of extra) {
    if (!isCheckpointable(c)) {
      throw new GANConfigError('checkpointed', 'each component needs checkpointKey, checkpointState() and prepareRestore()');
    }
    if (!found.includes(c)) found.push(c);
  }
  const keys = new Set<string>();
  for (const c of found) {
    try {
      assertStateName('checkpoint key', c.checkpointKey);
    } catch (e) {
      throw new GANConfigError('checkpointed', (e as Error).message);
    }
    // Tensors are stored as state/<key>/<name>: a "/" in a key could make two components' names collide.
    if (c.checkpointKey.includes('/')) {
      throw new GANConfigError('checkpointed', `checkpoint key "${c.checkpointKey}" must not contain "/"`);
    }
    if (keys.has(c.checkpointKey)) {
      throw new GANConfigError(
        'checkpointed',
        `two components have the checkpoint key "${c.checkpointKey}" (give one another key, e.g. generatorEma's checkpointKey option)`,
      );
    }
    keys.add(c.checkpointKey);
  }
  return found;
}

function stateOf(model: {
  readonly stateVariables?: readonly tf.Variable[];
  readonly trainableVariables: readonly tf.Variable[];
}): readonly tf.Variable[] {
  return model.stateVariables ?? model.trainableVariables;
}

function resolveHandler(
  destination: string | tf.io.IOHandler,
  mode: 'save' | 'load',
): Required<Pick<tf.io.IOHandler, 'save' | 'load'>> {
  if (typeof destination !== 'string') {
    const h = destination;
    return {
      save: (a) => {
        if (h.save === undefined) throw new CheckpointError('the IOHandler has no save()');
        return h.save(a);
      },
      load: () => {
        if (h.load === undefined) throw new CheckpointError('the IOHandler has no load()');
        return h.load();
      },
    };
  }
  if (isFileUrl(destination)) {
    const h = singleFileHandler(destination);
    return { save: (a) => (h.save as NonNullable<typeof h.save>)(a), load: () => (h.load as NonNullable<typeof h.load>)() };
  }
  const handlers = mode === 'save' ? tf.io.getSaveHandlers(destination) : tf.io.getLoadHandlers(destination);
  const h = handlers[0];
  if (h === undefined) {
    throw new CheckpointError(
      `no tf.io handler for "${destination}" (use file://, indexeddb://, downloads://, or pass an IOHandler)`,
    );
  }
  return resolveHandler(h, mode);
}

async function readArtifacts(source: string | tf.io.IOHandler): Promise<tf.io.ModelArtifacts> {
  const artifacts = await resolveHandler(source, 'load').load();
  // Handlers other than ours parsed JSON without guarding against __proto__ keys: re-parse as data.
  if (artifacts.modelTopology !== undefined && !(artifacts.modelTopology instanceof ArrayBuffer)) {
    return { ...artifacts, modelTopology: parseJsonData(JSON.stringify(artifacts.modelTopology)) as object };
  }
  return artifacts;
}

function optimizerNames(record: OptimizerRecord, prefix: string): string[] {
  return [...record.weights.map((_, i) => `${prefix}${i}`), ...record.extras.map((k) => `${prefix}extra/${k}`)];
}

async function restoreOptimizer(
  optimizer: tf.Optimizer,
  record: OptimizerRecord,
  tensors: tf.NamedTensorMap,
  prefix: string,
): Promise<void> {
  // setWeights replaces the slot variables without disposing the old ones: dispose them first.
  const old = await optimizer.getWeights();
  tf.dispose(old.map((w) => w.tensor));
  await optimizer.setWeights(record.weights.map((name, i) => ({ name, tensor: tensors[`${prefix}${i}`] as tf.Tensor })));
  const extras = new Map(optimizerExtras(optimizer));
  for (const key of record.extras) extras.get(key)?.assign(tensors[`${prefix}extra/${key}`] as tf.Tensor);
}

function optimizerFromRecord(record: OptimizerRecord): tf.Optimizer {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[record.className];
  if (entry === undefined)
    throw new CheckpointError(`unknown optimizer class "${record.className}": pass the optimizer in the config`);
  const [cls, fromConfig] = entry;
  return fromConfig(cls, record.config as tf.serialization.ConfigDict) as tf.Optimizer;
}

/** The tensors of `xs` whose data differ: a clone shares its original's data, and is checked once. */
function uniqueData(xs: readonly tf.Tensor[]): tf.Tensor[] {
  const seen = new Set<tf.DataId>();
  return xs.filter((x) => {
    if (seen.has(x.dataId)) return false;
    seen.add(x.dataId);
    return true;
  });
}

/** A list of batches: an array of tensors or of `{ x, labels }` records (a plain nested array is one batch). */
function isBatchList(batch: unknown): batch is readonly unknown[] {
  return Array.isArray(batch) && batch.length > 0 && batch.every((b) => b instanceof tf.Tensor || isLabeled(b));
}
