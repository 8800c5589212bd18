/**
 * Second-order gradients (gradient penalties: d/dθ of ‖∇ₓD(x)‖²) and clear errors where a backend
 * cannot run a computation.
 *
 * TensorFlow.js 4.22 registers no gradient for its comparison and logical ops (`Greater`, `Less`,
 * `Equal`, …, `LogicalAnd`). First-order gradients never differentiate them, but the gradients of
 * LeakyReLU, ReLU6, `maximum`/`minimum`, … are built from them, so differentiating a gradient — as
 * every gradient penalty does — fails on every backend with "gradient function not found for
 * Greater" as soon as D has a LeakyReLU. Those ops are piecewise constant: their gradient is zero
 * wherever it exists, so registering zero gradients is exact. `AvgPoolGrad` (average pooling's
 * gradient, linear in its input) also has none; its gradient is an average pooling.
 *
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import { GANError } from '../errors';

/**
 * The gradients {@link installSecondOrderGradients} registers when tfjs-core has none:
 * zero gradients of the comparison and logical ops, and the gradient of `AvgPoolGrad`.
 */
export const SECOND_ORDER_GRADIENTS = [
  'Greater',
  'Less',
  'LessEqual',
  'Equal',
  'NotEqual',
  'LogicalAnd',
  'LogicalOr',
  'LogicalNot',
  'AvgPoolGrad',
] as const;

const zeroGradient = (kernelName: string, inputs: readonly string[]): tf.GradConfig => ({
  kernelName,
  inputsToSave: [...inputs],
  gradFunc: (_dy, saved) => Object.fromEntries(inputs.map((name, i) => [name, () => tf.zerosLike(saved[i] as tf.Tensor)])),
});

function gradientConfigs(): tf.GradConfig[] {
  const binary = ['Greater', 'Less', 'LessEqual', 'Equal', 'NotEqual', 'LogicalAnd', 'LogicalOr'];
  return [
    ...binary.map((name) => zeroGradient(name, ['a', 'b'])),
    zeroGradient('LogicalNot', ['x']),
    {
      // AvgPoolGrad(dy, input) is linear in dy: its adjoint is the average pooling itself.
      kernelName: 'AvgPoolGrad',
      inputsToSave: ['input'],
      gradFunc: (ddx, saved, attrs) => {
        const input = saved[0] as tf.Tensor4D;
        const { filterSize, strides, pad } = attrs as unknown as tf.AvgPoolAttrs;
        return {
          dy: () => tf.avgPool(ddx as tf.Tensor4D, filterSize, strides, pad as 'valid' | 'same' | number),
          input: () => tf.zerosLike(input),
        };
      },
    },
  ];
}

/**
 * Registers, in tfjs-core's (backend-independent) gradient registry, the gradients of
 * {@link SECOND_ORDER_GRADIENTS} that are not registered yet, so that gradient penalties can
 * differentiate through LeakyReLU, ReLU6, `maximum`/`minimum` and average pooling. The gradients
 * are exact (the comparison ops are piecewise constant). Idempotent; leaves a gradient that
 * someone else registered alone. Call it before differentiating a gradient (`tf.grad` twice) of a
 * model with such layers; tfjs offers no way to unregister a gradient, and none is needed.
 *
 * @returns the ops whose gradient this call registered.
 */
export function installSecondOrderGradients(): string[] {
  const added: string[] = [];
  for (const config of gradientConfigs()) {
    if (tf.getGradient(config.kernelName) !== undefined) continue;
    tf.registerGradient(config);
    added.push(config.kernelName);
  }
  return added;
}

/** What a backend could not do: run a kernel, or differentiate an op. */
export type BackendSupportGap = 'kernel' | 'gradient';

/**
 * The active backend cannot run a computation: it registers no kernel for an op (`gap: 'kernel'`,
 * tfjs's "Kernel 'X' not registered for backend 'Y'"), or tfjs has no gradient for an op
 * (`gap: 'gradient'`, "gradient function not found for X"). Thrown instead of tfjs's error by
 * {@link withBackendSupportErrors}; the original error is its `cause`.
 */
export class BackendSupportError extends GANError {
  /** The op (kernel name), e.g. `"Conv2DBackpropFilter"`. */
  readonly op: string;
  /** The backend that was active, e.g. `"wasm"`. */
  readonly backend: string;
  /** Whether a kernel or a gradient is missing. */
  readonly gap: BackendSupportGap;
  constructor(op: string, backend: string, gap: BackendSupportGap, cause?: unknown) {
    super(
      gap === 'kernel'
        ? `the '${backend}' backend has no kernel for '${op}'. ${kernelHint(backend)}`
        : `TensorFlow.js has no gradient for '${op}' (backend '${backend}'), so this computation cannot be differentiated` +
            ` (a gradient penalty differentiates a gradient: call installSecondOrderGradients() first if '${op}' is a comparison op).`,
    );
    this.op = op;
    this.backend = backend;
    this.gap = gap;
    if (cause !== undefined) Object.defineProperty(this, 'cause', { value: cause, enumerable: false });
  }
}

function kernelHint(backend: string): string {
  if (backend === 'wasm')
    return 'Call installWasmTrainingKernels() (GANTrainer does unless backendTuneUp is false), or train on another backend.';
  return 'Train on another backend (selectBackend([...])) or register a kernel for it with tf.registerKernel.';
}

const KERNEL_MISSING = /Kernel '([^']+)' not registered for backend '([^']+)'/;
const GRADIENT_MISSING = /gradient function not found for ([A-Za-z0-9_]+)/;

/**
 * Recognises tfjs's "Kernel 'X' not registered for backend 'Y'" and "gradient function not found
 * for X" errors and returns the matching {@link BackendSupportError}; any other value gives `undefined`.
 *
 * @param backend the backend to name for a missing gradient; default the active one.
 */
export function toBackendSupportError(error: unknown, backend?: string): BackendSupportError | undefined {
  if (error instanceof BackendSupportError) return error;
  if (!(error instanceof Error)) return undefined;
  const kernel = KERNEL_MISSING.exec(error.message);
  if (kernel !== null) return new BackendSupportError(kernel[1] as string, kernel[2] as string, 'kernel', error);
  const gradient = GRADIENT_MISSING.exec(error.message);
  if (gradient !== null) return new BackendSupportError(gradient[1] as string, backend ?? activeBackend(), 'gradient', error);
  return undefined;
}

function activeBackend(): string {
  try {
    return tf.getBackend();
  } catch {
    return 'unknown';
  }
}

/**
 * Runs `f` and rethrows tfjs's missing-kernel and missing-gradient errors as a
 * {@link BackendSupportError} naming the op and backend; other errors pass unchanged.
 */
export function withBackendSupportErrors<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw toBackendSupportError(e) ?? e;
  }
}
