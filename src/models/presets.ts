import * as tfl from '@tensorflow/tfjs-layers';
import { GANConfigError } from '../errors';
import { Random } from '../random';
import {
  discriminatorFromLayersModel,
  generatorFromLayersModel,
  type LayersDiscriminator,
  type LayersGenerator,
} from './adapters';
import { SeededDropout } from './dropout';

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

/** @internal */
export function positiveInts(option: string, values: readonly number[], allowEmpty = false): void {
  if ((!allowEmpty && values.length === 0) || !values.every((v) => Number.isInteger(v) && v > 0)) {
    throw new GANConfigError(option, `must be a list of positive integers, got [${values.join(', ')}]`);
  }
}

/** @internal */
export function positiveInt(option: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) throw new GANConfigError(option, `must be a positive integer, got ${value}`);
}

/** Seeded initialisers: each call yields a fresh seed so layers of equal shape differ. */
/** @internal */
export function initializers(
  seed: number | undefined,
): () => { kernelInitializer?: ReturnType<typeof tfl.initializers.glorotUniform> } {
  if (seed === undefined) return () => ({});
  const random = new Random(seed);
  return () => ({ kernelInitializer: tfl.initializers.glorotUniform({ seed: random.nextSeed() }) });
}

function activationLayer(activation: HiddenActivation, leakyAlpha: number): tfl.layers.Layer {
  return activation === 'leakyRelu'
    ? tfl.layers.leakyReLU({ alpha: leakyAlpha })
    : tfl.layers.activation({ activation: activation === 'relu' ? 'relu' : 'tanh' });
}

/** @internal A symbolic tensor of the layers functional API. */
export type Sym = tfl.SymbolicTensor;
/** @internal Seeded-initialiser factory. */
export type Init = ReturnType<typeof initializers>;
const through = (layer: tfl.layers.Layer, x: Sym | Sym[]): Sym => layer.apply(x) as Sym;

/** @internal Resolved MLP generator settings. */
export interface MlpGeneratorSettings {
  readonly latentDim: number;
  readonly hidden: readonly number[];
  readonly outputShape: readonly number[];
  readonly activation: HiddenActivation;
  readonly leakyAlpha: number;
  readonly outputActivation: 'tanh' | 'sigmoid' | 'linear';
}

/** @internal Validates and fills in {@link MLPGeneratorArgs}. */
export function mlpGeneratorSettings(args: MLPGeneratorArgs): MlpGeneratorSettings {
  const settings = {
    latentDim: args.latentDim ?? 64,
    hidden: args.hiddenUnits ?? [256, 256],
    outputShape: args.outputShape ?? [784],
    activation: args.activation ?? 'leakyRelu',
    leakyAlpha: args.leakyAlpha ?? 0.2,
    outputActivation: args.outputActivation ?? 'tanh',
  } as const;
  positiveInt('latentDim', settings.latentDim);
  positiveInts('hiddenUnits', settings.hidden, true);
  positiveInts('outputShape', settings.outputShape);
  return settings;
}

/** @internal The MLP generator's layers after its (possibly conditioned) input. */
export function mlpGeneratorBody(h: Sym, s: MlpGeneratorSettings, init: Init): Sym {
  let x = h;
  for (const units of s.hidden) {
    x = through(tfl.layers.dense({ units, ...init() }), x);
    x = through(activationLayer(s.activation, s.leakyAlpha), x);
  }
  const outUnits = s.outputShape.reduce((a, b) => a * b, 1);
  x = through(tfl.layers.dense({ units: outUnits, activation: s.outputActivation, ...init() }), x);
  return s.outputShape.length > 1 ? through(tfl.layers.reshape({ targetShape: [...s.outputShape] }), x) : x;
}

/** @internal Resolved MLP discriminator settings. */
export interface MlpDiscriminatorSettings {
  readonly inputShape: readonly number[];
  readonly hidden: readonly number[];
  readonly activation: HiddenActivation;
  readonly leakyAlpha: number;
  readonly dropout: number;
  readonly seed: number | undefined;
}

/** @internal Validates and fills in {@link MLPDiscriminatorArgs}. */
export function mlpDiscriminatorSettings(args: MLPDiscriminatorArgs): MlpDiscriminatorSettings {
  const settings = {
    inputShape: args.inputShape ?? [784],
    hidden: args.hiddenUnits ?? [256, 256],
    activation: args.activation ?? 'leakyRelu',
    leakyAlpha: args.leakyAlpha ?? 0.2,
    dropout: args.dropout ?? 0,
    seed: args.seed,
  } as const;
  positiveInts('inputShape', settings.inputShape);
  positiveInts('hiddenUnits', settings.hidden, true);
  if (!(settings.dropout >= 0 && settings.dropout < 1))
    throw new GANConfigError('dropout', `must be in [0, 1), got ${settings.dropout}`);
  return settings;
}

/** @internal Flattens an example if needed. */
export function flat(x: Sym): Sym {
  return x.shape.length > 2 ? through(tfl.layers.flatten(), x) : x;
}

/** @internal The MLP discriminator's hidden layers: features of a flat input. */
export function mlpDiscriminatorTrunk(x: Sym, s: MlpDiscriminatorSettings, init: Init): Sym {
  let h = x;
  const dropoutSeeds = s.seed === undefined ? undefined : new Random(s.seed + 0x2545f491);
  for (const units of s.hidden) {
    h = through(tfl.layers.dense({ units, ...init() }), h);
    h = through(activationLayer(s.activation, s.leakyAlpha), h);
    if (s.dropout > 0) {
      // Seeded: a fresh mask per call from the preset's seed (tfjs's seeded dropout repeats one mask).
      const layer =
        dropoutSeeds === undefined
          ? tfl.layers.dropout({ rate: s.dropout })
          : new SeededDropout({ rate: s.dropout, seed: dropoutSeeds.nextSeed() });
      h = through(layer, h);
    }
  }
  return h;
}

/** @internal A dense layer with one output: the realness logit. */
export function logitHead(features: Sym, init: Init): Sym {
  return through(tfl.layers.dense({ units: 1, ...init() }), features);
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
  const s = mlpGeneratorSettings(args);
  const z = tfl.input({ shape: [s.latentDim] });
  return generatorFromLayersModel(tfl.model({ inputs: z, outputs: mlpGeneratorBody(z, s, initializers(args.seed)) }));
}

/**
 * A multilayer-perceptron discriminator returning one logit. Defaults: 784 → 256 → 256 → 1, LeakyReLU 0.2.
 */
export function mlpDiscriminator(args: MLPDiscriminatorArgs = {}): LayersDiscriminator {
  const s = mlpDiscriminatorSettings(args);
  const init = initializers(args.seed);
  const x = tfl.input({ shape: [...s.inputShape] });
  const out = logitHead(mlpDiscriminatorTrunk(flat(x), s, init), init);
  return discriminatorFromLayersModel(tfl.model({ inputs: x, outputs: out }));
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

/** @internal Resolved DCGAN geometry. */
export interface DcganGeometry {
  readonly size: number;
  readonly channels: number;
  readonly base: number;
  readonly stages: number;
  readonly batchNorm: boolean;
}

/** @internal Validates and fills in {@link DCGANArgs}. */
export function dcganGeometry(args: DCGANArgs): DcganGeometry {
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
  return { size, channels, base, stages, batchNorm: args.batchNorm ?? true };
}

/** @internal The DCGAN generator after its (possibly conditioned) input: dense → reshape → transposed convolutions. */
export function dcganGeneratorBody(h: Sym, g: DcganGeometry, init: Init): Sym {
  const { size, channels, base, stages, batchNorm: bn } = g;
  const start = size / 2 ** stages;
  const startFilters = base * 2 ** (stages - 1);
  let x = through(tfl.layers.dense({ units: start * start * startFilters, useBias: !bn, ...init() }), h);
  if (bn) x = through(tfl.layers.batchNormalization(), x);
  x = through(tfl.layers.reLU(), x);
  x = through(tfl.layers.reshape({ targetShape: [start, start, startFilters] }), x);
  for (let i = stages - 2; i >= 0; i--) {
    const filters = base * 2 ** i;
    x = through(tfl.layers.conv2dTranspose({ filters, kernelSize: 4, strides: 2, padding: 'same', useBias: !bn, ...init() }), x);
    if (bn) x = through(tfl.layers.batchNormalization(), x);
    x = through(tfl.layers.reLU(), x);
  }
  return through(
    tfl.layers.conv2dTranspose({ filters: channels, kernelSize: 4, strides: 2, padding: 'same', activation: 'tanh', ...init() }),
    x,
  );
}

/** @internal The DCGAN discriminator's convolutions and flatten: features of an image (with any extra channels). */
export function dcganDiscriminatorTrunk(x: Sym, g: DcganGeometry, init: Init): Sym {
  let h = x;
  for (let i = 0; i < g.stages; i++) {
    const useBn = g.batchNorm && i > 0;
    h = through(
      tfl.layers.conv2d({ filters: g.base * 2 ** i, kernelSize: 4, strides: 2, padding: 'same', useBias: !useBn, ...init() }),
      h,
    );
    if (useBn) h = through(tfl.layers.batchNormalization(), h);
    h = through(tfl.layers.leakyReLU({ alpha: 0.2 }), h);
  }
  return through(tfl.layers.flatten(), h);
}

/**
 * A DCGAN generator (Radford et al. 2016): dense → reshape → stride-2 transposed
 * convolutions (4×4) with batch norm and ReLU, tanh output. For 28×28×1:
 * z → 7·7·128 → 14×14×64 → 28×28×1.
 */
export function dcganGenerator(args: DCGANGeneratorArgs = {}): LayersGenerator {
  const g = dcganGeometry(args);
  const latentDim = args.latentDim ?? 100;
  positiveInt('latentDim', latentDim);
  const z = tfl.input({ shape: [latentDim] });
  return generatorFromLayersModel(tfl.model({ inputs: z, outputs: dcganGeneratorBody(z, g, initializers(args.seed)) }));
}

/**
 * A DCGAN discriminator: stride-2 convolutions (4×4) with LeakyReLU 0.2 (batch
 * norm after all but the first), flatten, one dense logit. For 28×28×1:
 * 28×28×1 → 14×14×64 → 7×7×128 → 1.
 */
export function dcganDiscriminator(args: DCGANArgs = {}): LayersDiscriminator {
  const g = dcganGeometry(args);
  const init = initializers(args.seed);
  const x = tfl.input({ shape: [g.size, g.size, g.channels] });
  return discriminatorFromLayersModel(tfl.model({ inputs: x, outputs: logitHead(dcganDiscriminatorTrunk(x, g, init), init) }));
}
