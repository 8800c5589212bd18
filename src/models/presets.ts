import * as tfl from '@tensorflow/tfjs-layers';
import { GANConfigError } from '../errors';
import { Random } from '../random';
import {
  discriminatorFromLayersModel,
  generatorFromLayersModel,
  type LayersDiscriminator,
  type LayersGenerator,
} from './adapters';

/** Hidden-layer activations the presets accept. */
export type HiddenActivation = 'leakyRelu' | 'relu' | 'tanh';

/** Arguments of {@link mlpGenerator}. Defaults are the MNIST MLP GAN of the project's seed. */
export interface MLPGeneratorArgs {
  /** Latent width. Default 64. */
  readonly latentDim?: number;
  /** Units of each hidden layer. Default `[256, 256]`. */
  readonly hiddenUnits?: readonly number[];
  /** Shape of one output example. Default `[784]`. */
  readonly outputShape?: readonly number[];
  /** Hidden activation. Default `'leakyRelu'` (slope {@link MLPGeneratorArgs.leakyAlpha}). */
  readonly activation?: HiddenActivation;
  /** Negative slope of LeakyReLU. Default 0.2. */
  readonly leakyAlpha?: number;
  /** Output activation: `'tanh'` for data in [−1, 1], `'sigmoid'` for [0, 1], `'linear'` otherwise. Default `'tanh'`. */
  readonly outputActivation?: 'tanh' | 'sigmoid' | 'linear';
  /** Seed of the weight initialisers: the same seed builds the same weights. */
  readonly seed?: number;
}

/** Arguments of {@link mlpDiscriminator}. */
export interface MLPDiscriminatorArgs {
  /** Shape of one input example. Default `[784]`. */
  readonly inputShape?: readonly number[];
  /** Units of each hidden layer. Default `[256, 256]`. */
  readonly hiddenUnits?: readonly number[];
  /** Hidden activation. Default `'leakyRelu'`. */
  readonly activation?: HiddenActivation;
  /** Negative slope of LeakyReLU. Default 0.2. */
  readonly leakyAlpha?: number;
  /** Dropout rate after each hidden layer. Default 0 (none). */
  readonly dropout?: number;
  /** Seed of the weight initialisers. */
  readonly seed?: number;
}

function positiveInts(option: string, values: readonly number[], allowEmpty = false): void {
  if ((!allowEmpty && values.length === 0) || !values.every((v) => Number.isInteger(v) && v > 0)) {
    throw new GANConfigError(option, `must be a list of positive integers, got [${values.join(', ')}]`);
  }
}

function positiveInt(option: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) throw new GANConfigError(option, `must be a positive integer, got ${value}`);
}

/** Seeded initialisers: each call yields a fresh seed so layers of equal shape differ. */
function initializers(seed: number | undefined): () => { kernelInitializer?: ReturnType<typeof tfl.initializers.glorotUniform> } {
  if (seed === undefined) return () => ({});
  const random = new Random(seed);
  return () => ({ kernelInitializer: tfl.initializers.glorotUniform({ seed: random.nextSeed() }) });
}

function activationLayer(activation: HiddenActivation, leakyAlpha: number): tfl.layers.Layer {
  return activation === 'leakyRelu'
    ? tfl.layers.leakyReLU({ alpha: leakyAlpha })
    : tfl.layers.activation({ activation: activation === 'relu' ? 'relu' : 'tanh' });
}

/**
 * A multilayer-perceptron generator. Defaults: 64 → 256 → 256 → 784, LeakyReLU 0.2, tanh output.
 *
 * @example
 * ```ts
 * const g = mlpGenerator({ latentDim: 2, hiddenUnits: [128, 128], outputShape: [2], outputActivation: 'linear' });
 * ```
 */
export function mlpGenerator(args: MLPGeneratorArgs = {}): LayersGenerator {
  const latentDim = args.latentDim ?? 64;
  const hidden = args.hiddenUnits ?? [256, 256];
  const outputShape = args.outputShape ?? [784];
  positiveInt('latentDim', latentDim);
  positiveInts('hiddenUnits', hidden, true);
  positiveInts('outputShape', outputShape);
  const init = initializers(args.seed);
  const model = tfl.sequential();
  model.add(tfl.layers.inputLayer({ inputShape: [latentDim] }));
  for (const units of hidden) {
    model.add(tfl.layers.dense({ units, ...init() }));
    model.add(activationLayer(args.activation ?? 'leakyRelu', args.leakyAlpha ?? 0.2));
  }
  const outUnits = outputShape.reduce((a, b) => a * b, 1);
  model.add(tfl.layers.dense({ units: outUnits, activation: args.outputActivation ?? 'tanh', ...init() }));
  if (outputShape.length > 1) model.add(tfl.layers.reshape({ targetShape: [...outputShape] }));
  return generatorFromLayersModel(model);
}

/**
 * A multilayer-perceptron discriminator returning one logit. Defaults: 784 → 256 → 256 → 1, LeakyReLU 0.2.
 */
export function mlpDiscriminator(args: MLPDiscriminatorArgs = {}): LayersDiscriminator {
  const inputShape = args.inputShape ?? [784];
  const hidden = args.hiddenUnits ?? [256, 256];
  positiveInts('inputShape', inputShape);
  positiveInts('hiddenUnits', hidden, true);
  const dropout = args.dropout ?? 0;
  if (!(dropout >= 0 && dropout < 1)) throw new GANConfigError('dropout', `must be in [0, 1), got ${dropout}`);
  const init = initializers(args.seed);
  const model = tfl.sequential();
  model.add(tfl.layers.inputLayer({ inputShape: [...inputShape] }));
  if (inputShape.length > 1) model.add(tfl.layers.flatten());
  for (const units of hidden) {
    model.add(tfl.layers.dense({ units, ...init() }));
    model.add(activationLayer(args.activation ?? 'leakyRelu', args.leakyAlpha ?? 0.2));
    if (dropout > 0) model.add(tfl.layers.dropout({ rate: dropout, ...(args.seed === undefined ? {} : { seed: args.seed }) }));
  }
  model.add(tfl.layers.dense({ units: 1, ...init() }));
  return discriminatorFromLayersModel(model);
}

/** Arguments shared by the DCGAN presets. */
export interface DCGANArgs {
  /** Height and width of the (square) images. Default 28. */
  readonly imageSize?: number;
  /** Image channels (1 grey, 3 RGB). Default 1. */
  readonly channels?: number;
  /** Filters of the widest-resolution conv layer; each halving of resolution doubles them. Default 64. */
  readonly baseFilters?: number;
  /**
   * Number of stride-2 stages. Default: as many as keep the smallest feature map
   * at least 4 pixels and `imageSize` divisible by 2^stages, at most 4 (2 for 28×28).
   */
  readonly stages?: number;
  /** Use batch normalisation. Default `true`. */
  readonly batchNorm?: boolean;
  /** Seed of the weight initialisers. */
  readonly seed?: number;
}

/** Arguments of {@link dcganGenerator}. */
export interface DCGANGeneratorArgs extends DCGANArgs {
  /** Latent width. Default 100. */
  readonly latentDim?: number;
}

function dcganGeometry(args: DCGANArgs): { size: number; channels: number; base: number; stages: number } {
  const size = args.imageSize ?? 28;
  const channels = args.channels ?? 1;
  const base = args.baseFilters ?? 64;
  positiveInt('imageSize', size);
  positiveInt('channels', channels);
  positiveInt('baseFilters', base);
  let stages = args.stages;
  if (stages === undefined) {
    stages = 0;
    while (stages < 4 && size % 2 ** (stages + 1) === 0 && size / 2 ** (stages + 1) >= 4) stages++;
  }
  positiveInt('stages', stages);
  if (size % 2 ** stages !== 0) {
    throw new GANConfigError('imageSize', `must be divisible by 2^stages = ${2 ** stages}, got ${size}`);
  }
  return { size, channels, base, stages };
}

/**
 * A DCGAN generator (Radford et al. 2016): dense → reshape → stride-2 transposed
 * convolutions (4×4) with batch norm and ReLU, tanh output. For 28×28×1:
 * z → 7·7·128 → 14×14×64 → 28×28×1.
 */
export function dcganGenerator(args: DCGANGeneratorArgs = {}): LayersGenerator {
  const { size, channels, base, stages } = dcganGeometry(args);
  const latentDim = args.latentDim ?? 100;
  positiveInt('latentDim', latentDim);
  const bn = args.batchNorm ?? true;
  const init = initializers(args.seed);
  const start = size / 2 ** stages;
  const startFilters = base * 2 ** (stages - 1);
  const model = tfl.sequential();
  model.add(tfl.layers.inputLayer({ inputShape: [latentDim] }));
  model.add(tfl.layers.dense({ units: start * start * startFilters, useBias: !bn, ...init() }));
  if (bn) model.add(tfl.layers.batchNormalization());
  model.add(tfl.layers.reLU());
  model.add(tfl.layers.reshape({ targetShape: [start, start, startFilters] }));
  for (let i = stages - 2; i >= 0; i--) {
    const filters = base * 2 ** i;
    model.add(tfl.layers.conv2dTranspose({ filters, kernelSize: 4, strides: 2, padding: 'same', useBias: !bn, ...init() }));
    if (bn) model.add(tfl.layers.batchNormalization());
    model.add(tfl.layers.reLU());
  }
  model.add(
    tfl.layers.conv2dTranspose({ filters: channels, kernelSize: 4, strides: 2, padding: 'same', activation: 'tanh', ...init() }),
  );
  return generatorFromLayersModel(model);
}

/**
 * A DCGAN discriminator: stride-2 convolutions (4×4) with LeakyReLU 0.2 (batch
 * norm after all but the first), flatten, one dense logit. For 28×28×1:
 * 28×28×1 → 14×14×64 → 7×7×128 → 1.
 */
export function dcganDiscriminator(args: DCGANArgs = {}): LayersDiscriminator {
  const { size, channels, base, stages } = dcganGeometry(args);
  const bn = args.batchNorm ?? true;
  const init = initializers(args.seed);
  const model = tfl.sequential();
  model.add(tfl.layers.inputLayer({ inputShape: [size, size, channels] }));
  for (let i = 0; i < stages; i++) {
    const useBn = bn && i > 0;
    model.add(
      tfl.layers.conv2d({ filters: base * 2 ** i, kernelSize: 4, strides: 2, padding: 'same', useBias: !useBn, ...init() }),
    );
    if (useBn) model.add(tfl.layers.batchNormalization());
    model.add(tfl.layers.leakyReLU({ alpha: 0.2 }));
  }
  model.add(tfl.layers.flatten());
  model.add(tfl.layers.dense({ units: 1, ...init() }));
  return discriminatorFromLayersModel(model);
}
