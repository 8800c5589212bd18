/**
 * What the fused activation gradients (LeakyReLU's, tanh's) share: one kernel of tfjs-gan's,
 * registered on `cpu`, `wasm` and `webgpu`, replacing the several tfjs-core kernels of an
 * activation's gradient in tfjs-core's global gradient registry — installed, put back, and left
 * alone when someone else has replaced the gradient.
 *
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';

/** One fused gradient. */
export interface FusedGradientDefinition {
  /** The tfjs kernel whose gradient is replaced (`'LeakyRelu'`, `'Tanh'`). */
  readonly forKernel: string;
  /** The fused kernel's name in tfjs's kernel registry. */
  readonly fusedKernel: string;
  /** The fused kernel's implementation per backend. */
  readonly kernels: Readonly<Record<string, tf.KernelFunc>>;
  /** The fused kernel's own gradient (gradient penalties differentiate through it). */
  readonly gradientOfFused: tf.GradConfig;
  /** What the forward kernel saves for its gradient: the same as tfjs's gradient saves. */
  readonly saves: Pick<tf.GradConfig, 'inputsToSave' | 'outputsToSave'>;
  /** The replacement gradient, run where the fused kernel is registered and `dy` and the saved tensor are float32. */
  readonly gradient: (dy: tf.Tensor, saved: tf.Tensor, attrs: tf.NamedAttrMap) => { [input: string]: () => tf.Tensor };
}

/** Installs, uninstalls and registers one fused gradient (see the functions of leaky-relu-grad.ts and tanh-grad.ts). */
export interface FusedGradientSwitch {
  /** Registers the fused kernel for the loaded backends that lack it, and its gradient. */
  register(): void;
  /** Replaces tfjs's gradient; whether the fused one is in place afterwards. */
  install(): boolean;
  /** Puts tfjs's gradient back; whether the fused one was installed. */
  uninstall(): boolean;
}

/** The switch of one fused gradient: its state (tfjs's gradient, the installed one) lives here. */
export function fusedGradientSwitch(def: FusedGradientDefinition): FusedGradientSwitch {
  /** Backends this switch has registered its kernel for. */
  const registeredFor = new Set<string>();
  /** tfjs's gradient, kept at install so that uninstalling puts it back. */
  let original: tf.GradConfig | undefined;
  let installed: tf.GradConfig | undefined;

  const replacement = (tfjs: tf.GradConfig): tf.GradConfig => ({
    kernelName: def.forKernel,
    ...def.saves,
    gradFunc: (dy, saved, attrs) => {
      const s = saved[0] as tf.Tensor;
      if (
        !Array.isArray(dy) &&
        dy.dtype === 'float32' &&
        s.dtype === 'float32' &&
        tf.getKernel(def.fusedKernel, tf.getBackend()) !== undefined
      ) {
        return def.gradient(dy, s, attrs);
      }
      return tfjs.gradFunc(dy, saved, attrs); // WebGL, other dtypes: tfjs's own
    },
  });

  const register = (): void => {
    for (const [backendName, kernelFunc] of Object.entries(def.kernels)) {
      if (registeredFor.has(backendName) || tf.findBackendFactory(backendName) == null) continue; // package not loaded (yet)
      if (tf.getKernelsForBackend(backendName).length === 0) continue;
      registeredFor.add(backendName);
      if (tf.getKernel(def.fusedKernel, backendName) === undefined)
        tf.registerKernel({ kernelName: def.fusedKernel, backendName, kernelFunc });
    }
    if (tf.getGradient(def.fusedKernel) === undefined) tf.registerGradient(def.gradientOfFused);
  };

  return {
    register,
    install() {
      register();
      const current = tf.getGradient(def.forKernel);
      if (current === undefined) return false;
      if (current === installed) return true;
      if (installed !== undefined && original !== undefined) {
        if (current !== original) return false; // someone else's since: theirs stays
        tf.registerGradient(installed); // tfjs's was put back by someone: ours again
        return true;
      }
      original = current;
      installed = replacement(current);
      tf.registerGradient(installed);
      return true;
    },
    uninstall() {
      if (installed === undefined || original === undefined) return false;
      const wasOurs = tf.getGradient(def.forKernel) === installed;
      if (wasOurs) tf.registerGradient(original);
      installed = undefined;
      original = undefined;
      return wasOurs;
    },
  };
}

/** The two float32 operands of a fused gradient kernel, of one shape; throws otherwise. */
export function fusedOperands(
  kernelName: string,
  inputs: tf.NamedTensorInfoMap,
  names: readonly [string, string],
): [tf.TensorInfo, tf.TensorInfo] {
  const [a, b] = [inputs[names[0]], inputs[names[1]]];
  if (a === undefined || b === undefined) throw new Error(`${kernelName}: inputs ${names[0]} and ${names[1]} are required.`);
  if (a.dtype !== 'float32' || b.dtype !== 'float32')
    throw new Error(`${kernelName}: float32 tensors only, got ${a.dtype} and ${b.dtype}.`);
  if (!tf.util.arraysEqual(a.shape, b.shape))
    throw new Error(`${kernelName}: ${names[0]} [${a.shape}] and ${names[1]} [${b.shape}] must have the same shape.`);
  return [a, b];
}
