import * as tfl from '@tensorflow/tfjs-layers';
import { GANConfigError } from '../errors';
import {
  type DCGANArgs,
  type DCGANGeneratorArgs,
  dcganDiscriminatorTrunk,
  dcganGeneratorBody,
  dcganGeometry,
  flat,
  type Init,
  initializers,
  logitHead,
  type MLPDiscriminatorArgs,
  type MLPGeneratorArgs,
  mlpDiscriminatorSettings,
  mlpDiscriminatorTrunk,
  mlpGeneratorBody,
  mlpGeneratorSettings,
  positiveInt,
  type Sym,
} from '../models/presets';
import {
  conditionalDiscriminatorFromLayersModel,
  conditionalGeneratorFromLayersModel,
  type LayersConditionalDiscriminator,
  type LayersConditionalGenerator,
} from './adapters';
import {
  classifierHead,
  conditionInput,
  conditionLatent,
  type DiscriminatorConditioning,
  type GeneratorConditioning,
  projectionLogit,
} from './conditioning';

/** Arguments every conditional preset takes. */
export interface ConditionalArgs {
  /** Number of classes (≥ 2). */
  readonly numClasses: number;
}

/** Arguments of the conditional generator presets. */
export interface ConditionalGeneratorArgs extends ConditionalArgs {
  /** How z and y are combined. Default `'concat'` (one-hot y joined to z). */
  readonly conditioning?: GeneratorConditioning;
}

/** Arguments of the conditional discriminator presets. */
export interface ConditionalDiscriminatorArgs extends ConditionalArgs {
  /** How D uses y. Default `'concat'`; `'none'` requires `auxiliaryClassifier`. */
  readonly conditioning?: DiscriminatorConditioning;
  /** Add an ACGAN class-logits head (use with `losses.auxiliaryClassifier`). Default `false`. */
  readonly auxiliaryClassifier?: boolean;
}

function classes(n: number): void {
  if (!Number.isInteger(n) || n < 2) throw new GANConfigError('numClasses', `must be an integer ≥ 2, got ${n}`);
}

function buildGenerator(
  args: ConditionalGeneratorArgs,
  latentDim: number,
  body: (h: Sym, init: Init) => Sym,
  seed: number | undefined,
): LayersConditionalGenerator {
  classes(args.numClasses);
  positiveInt('latentDim', latentDim);
  const init = initializers(seed);
  const z = tfl.input({ shape: [latentDim] });
  const c = conditionLatent(z, args.numClasses, args.conditioning ?? 'concat', init);
  const model = tfl.model({ inputs: [z, c.labelInput as Sym], outputs: body(c.output, init) });
  return conditionalGeneratorFromLayersModel(model, { numClasses: args.numClasses, labelEncoding: c.encoding });
}

function buildDiscriminator(
  args: ConditionalDiscriminatorArgs,
  inputShape: readonly number[],
  trunk: (x: Sym, init: Init) => Sym,
  seed: number | undefined,
): LayersConditionalDiscriminator {
  classes(args.numClasses);
  const strategy = args.conditioning ?? 'concat';
  const aux = args.auxiliaryClassifier ?? false;
  if (strategy === 'none' && !aux) {
    throw new GANConfigError('conditioning', "'none' means D ignores the labels: it needs auxiliaryClassifier: true (ACGAN)");
  }
  const init = initializers(seed);
  const x = tfl.input({ shape: [...inputShape] });
  const conditioned = conditionInput(x, args.numClasses, strategy);
  const features = trunk(conditioned.output, init);
  let logit: Sym;
  let labelInput = conditioned.labelInput;
  if (strategy === 'projection') {
    const p = projectionLogit(features, args.numClasses, init);
    logit = p.logit;
    labelInput = p.labelInput;
  } else {
    logit = logitHead(features, init);
  }
  const outputs = aux ? [logit, classifierHead(features, args.numClasses, init)] : logit;
  const model = tfl.model({ inputs: labelInput === undefined ? x : [x, labelInput], outputs });
  return conditionalDiscriminatorFromLayersModel(model, { numClasses: args.numClasses, labelEncoding: conditioned.encoding });
}

/** Arguments of {@link conditionalMlpGenerator}. */
export interface ConditionalMLPGeneratorArgs extends MLPGeneratorArgs, ConditionalGeneratorArgs {}
/** Arguments of {@link conditionalMlpDiscriminator}. */
export interface ConditionalMLPDiscriminatorArgs extends MLPDiscriminatorArgs, ConditionalDiscriminatorArgs {}
/** Arguments of {@link conditionalDcganGenerator}. */
export interface ConditionalDCGANGeneratorArgs extends DCGANGeneratorArgs, ConditionalGeneratorArgs {}
/** Arguments of {@link conditionalDcganDiscriminator}. */
export interface ConditionalDCGANDiscriminatorArgs extends DCGANArgs, ConditionalDiscriminatorArgs {}

/**
 * The MLP generator conditioned on a class: the same body as {@link mlpGenerator}, after
 * z is combined with y.
 *
 * @example
 * ```ts
 * const g = conditionalMlpGenerator({ numClasses: 10 });              // z ⊕ one-hot(y) → 256 → 256 → 784
 * const g2 = conditionalMlpGenerator({ numClasses: 10, conditioning: 'embedding' }); // z ⊙ embed(y)
 * ```
 */
export function conditionalMlpGenerator(args: ConditionalMLPGeneratorArgs): LayersConditionalGenerator {
  const s = mlpGeneratorSettings(args);
  return buildGenerator(args, s.latentDim, (h, init) => mlpGeneratorBody(h, s, init), args.seed);
}

/** The MLP discriminator conditioned on a class (concatenation or projection), optionally with an ACGAN head. */
export function conditionalMlpDiscriminator(args: ConditionalMLPDiscriminatorArgs): LayersConditionalDiscriminator {
  const s = mlpDiscriminatorSettings(args);
  return buildDiscriminator(args, s.inputShape, (x, init) => mlpDiscriminatorTrunk(flat(x), s, init), args.seed);
}

/** The DCGAN generator conditioned on a class: the same body as {@link dcganGenerator}. */
export function conditionalDcganGenerator(args: ConditionalDCGANGeneratorArgs): LayersConditionalGenerator {
  const g = dcganGeometry(args);
  return buildGenerator(args, args.latentDim ?? 100, (h, init) => dcganGeneratorBody(h, g, init), args.seed);
}

/**
 * The DCGAN discriminator conditioned on a class: one-hot labels as extra image channels
 * (`'concat'`), a projection head, or none with an ACGAN head.
 */
export function conditionalDcganDiscriminator(args: ConditionalDCGANDiscriminatorArgs): LayersConditionalDiscriminator {
  const g = dcganGeometry(args);
  return buildDiscriminator(args, [g.size, g.size, g.channels], (x, init) => dcganDiscriminatorTrunk(x, g, init), args.seed);
}
