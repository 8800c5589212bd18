// selectBackend, the Node WebGPU helper, second-order gradients and BackendSupportError: behaviour that
// does not need a GPU (the conformance suites in tests/backends-*.test.ts and tests/browser/ run the rest).
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BackendSelectionError,
  BackendSupportError,
  backendUnavailableReason,
  DEFAULT_BACKEND_ORDER,
  GANConfigError,
  GANError,
  installNodeWebGPU,
  installSecondOrderGradients,
  mlpDiscriminator,
  SECOND_ORDER_GRADIENTS,
  selectBackend,
  toBackendSupportError,
  withBackendSupportErrors,
} from '../src/index';

afterEach(async () => {
  await tf.setBackend('cpu');
});

describe('selectBackend', () => {
  it('skips what this platform lacks and picks the first usable backend, after tf.ready()', async () => {
    // Only cpu is imported in this test process: webgpu (no navigator.gpu), tensorflow, webgl (Node), wasm are skipped.
    expect(DEFAULT_BACKEND_ORDER).toEqual(['webgpu', 'tensorflow', 'webgl', 'wasm', 'cpu']);
    expect(await selectBackend()).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
  });

  it('explains per backend what is missing when nothing works, and leaves the previous backend active', async () => {
    const e = await selectBackend(['webgpu', 'webgl', 'wasm', 'tensorflow', 'mine']).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(BackendSelectionError);
    expect(e).toBeInstanceOf(GANError);
    const attempts = (e as BackendSelectionError).attempts;
    expect(attempts.map((a) => a.backend)).toEqual(['webgpu', 'webgl', 'wasm', 'tensorflow', 'mine']);
    expect(attempts[0]?.reason).toMatch(/no navigator\.gpu.*install the `webgpu` package and call useNodeWebGPU\(\)/);
    expect(attempts[1]?.reason).toMatch(/WebGL exists only in browsers/);
    expect(attempts[2]?.reason).toBe('@tensorflow/tfjs-backend-wasm not imported');
    expect(attempts[3]?.reason).toMatch(/@tensorflow\/tfjs-node .*not imported/);
    expect(attempts[4]?.reason).toBe("no backend named 'mine' is registered");
    expect((e as Error).message).toContain('  - wasm: @tensorflow/tfjs-backend-wasm not imported');
    expect(tf.getBackend()).toBe('cpu');
  });

  it('uses any registered backend, including one that stands in for tfjs-node, and skips one whose initialisation fails', async () => {
    const cpuFactory = tf.findBackendFactory('cpu') as () => tf.KernelBackend;
    tf.registerBackend('tensorflow', () => {
      throw new Error('native binding missing');
    });
    try {
      const e = await selectBackend(['tensorflow']).catch((x: unknown) => x);
      expect((e as BackendSelectionError).attempts).toEqual([
        { backend: 'tensorflow', reason: 'initialisation failed (see the warning tfjs printed)' },
      ]);
    } finally {
      tf.removeBackend('tensorflow');
    }
    tf.registerBackend('tensorflow', cpuFactory);
    try {
      expect(backendUnavailableReason('tensorflow')).toBeUndefined();
      expect(await selectBackend(['webgpu', 'tensorflow', 'cpu'])).toBe('tensorflow');
    } finally {
      await tf.setBackend('cpu');
      tf.removeBackend('tensorflow');
    }
  });

  it('skips webgpu without initialising it when navigator.gpu finds no adapter', async () => {
    const g = globalThis as unknown as { navigator?: { gpu?: unknown } };
    const hadNavigator = 'navigator' in g;
    if (hadNavigator && g.navigator)
      Object.defineProperty(g.navigator, 'gpu', { value: { requestAdapter: async () => null }, configurable: true });
    else Object.defineProperty(g, 'navigator', { value: { gpu: { requestAdapter: async () => null } }, configurable: true });
    let initialised = false;
    tf.registerBackend('webgpu', () => {
      initialised = true;
      throw new Error('must not be called');
    });
    try {
      expect(await selectBackend(['webgpu', 'cpu'])).toBe('cpu');
      const e = await selectBackend(['webgpu']).catch((x: unknown) => x);
      expect((e as BackendSelectionError).attempts[0]?.reason).toMatch(/found no adapter: no Vulkan driver usable by Dawn/);
      expect(initialised).toBe(false);
    } finally {
      tf.removeBackend('webgpu');
      if (hadNavigator && g.navigator) delete g.navigator.gpu;
      else delete g.navigator;
    }
  });

  it('rejects an empty or malformed preference list before changing anything', async () => {
    await expect(selectBackend([])).rejects.toBeInstanceOf(GANConfigError);
    await expect(selectBackend(['cpu', ''])).rejects.toBeInstanceOf(GANConfigError);
    await expect(selectBackend('cpu' as unknown as string[])).rejects.toBeInstanceOf(GANConfigError);
    expect(tf.getBackend()).toBe('cpu');
  });
});

describe('installNodeWebGPU', () => {
  it('rejects something that is not the webgpu package', () => {
    expect(() => installNodeWebGPU({} as never)).toThrow(GANConfigError);
  });

  it('defines navigator.gpu and the WebGPU globals from the module, and leaves an existing navigator.gpu alone', () => {
    const g = globalThis as unknown as Record<string, unknown> & { navigator?: { gpu?: unknown } };
    const hadNavigator = 'navigator' in g;
    const gpu = { fake: true };
    const options: string[][] = [];
    try {
      const r = installNodeWebGPU(
        {
          create: (o) => {
            options.push(o);
            return gpu;
          },
          globals: { TFJS_GAN_TEST_GLOBAL: 42 },
        },
        { dawnOptions: ['backend=vulkan'] },
      );
      expect(r.installed).toBe(true);
      expect(r.globals).toContain('TFJS_GAN_TEST_GLOBAL');
      expect(g.TFJS_GAN_TEST_GLOBAL).toBe(42);
      expect(g.navigator?.gpu).toBe(gpu);
      expect(options).toEqual([['backend=vulkan']]);
      const again = installNodeWebGPU({ create: () => ({}), globals: {} });
      expect(again).toEqual({ installed: false, globals: [] });
      expect(g.navigator?.gpu).toBe(gpu);
    } finally {
      delete g.TFJS_GAN_TEST_GLOBAL;
      if (hadNavigator && g.navigator) delete g.navigator.gpu;
      else delete g.navigator;
    }
  });
});

/** d/dθ of (∂/∂x f(θ·x))² for f = leakyRelu — needs the gradient of LeakyReLU's gradient (`Greater`). */
function penaltyGradient(theta: number, x: number): number {
  const t = tf.scalar(theta);
  const xs = tf.scalar(x);
  const g = tf.grad((th: tf.Tensor) => {
    const gx = tf.grad((xi: tf.Tensor) => tf.leakyRelu(tf.mul(th, xi), 0.2))(xs);
    return tf.square(gx);
  })(t);
  const v = g.dataSync()[0] as number;
  tf.dispose([t, xs, g]);
  return v;
}

describe('second-order gradients', () => {
  it('installSecondOrderGradients makes gradients of LeakyReLU networks differentiable, with exact values', () => {
    installSecondOrderGradients();
    expect(installSecondOrderGradients()).toEqual([]); // idempotent
    for (const op of SECOND_ORDER_GRADIENTS) expect(tf.getGradient(op), op).toBeDefined();
    // (∂/∂x leakyRelu(θx))² = θ² (θx > 0) or 0.04·θ² (θx < 0); its θ-derivative is 2θ or 0.08·θ.
    expect(penaltyGradient(1.5, 2)).toBeCloseTo(3, 5);
    expect(penaltyGradient(1.5, -2)).toBeCloseTo(0.12, 5);
    expect(penaltyGradient(-0.5, 2)).toBeCloseTo(-0.04, 5);
  });

  it("AvgPoolGrad's gradient is average pooling (the adjoint of a linear map)", () => {
    installSecondOrderGradients();
    const x = tf.tensor4d(
      Array.from({ length: 16 }, (_, i) => Math.sin(i)),
      [1, 4, 4, 1],
    );
    const w = tf.tensor4d(
      Array.from({ length: 4 }, (_, i) => 1 + i),
      [1, 2, 2, 1],
    );
    // f(w) = Σ (∂/∂x Σ w ⊙ avgPool(x))² — the inner gradient is AvgPoolGrad(w); f is quadratic in w.
    const f = (wi: tf.Tensor) => {
      const gx = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(wi, tf.avgPool(xi as tf.Tensor4D, 2, 2, 'valid'))))(x);
      return tf.sum(tf.square(gx));
    };
    const analytic = tf.grad(f)(w).dataSync();
    // Each w_j spreads w_j/4 over 4 pixels: f = Σ_j 4·(w_j/4)² = Σ_j w_j²/4, so ∂f/∂w_j = w_j/2.
    expect(Array.from(analytic).map((v) => Number(v.toFixed(5)))).toEqual([0.5, 1, 1.5, 2]);
    tf.dispose([x, w]);
  });

  it('a missing gradient becomes a BackendSupportError naming the op and backend', () => {
    const x = tf.tensor1d([1, 2, 3]);
    // tfjs 4.22 registers no gradient for Cumprod.
    const e = (() => {
      try {
        return withBackendSupportErrors(() => tf.grad((a: tf.Tensor) => tf.sum(tf.cumprod(a)))(x));
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(BackendSupportError);
    expect(e).toMatchObject({ op: 'Cumprod', backend: 'cpu', gap: 'gradient' });
    expect((e as Error).message).toContain("no gradient for 'Cumprod' (backend 'cpu')");
    x.dispose();
  });

  it('a missing kernel becomes a BackendSupportError naming the op and backend; other errors pass unchanged', () => {
    const e = toBackendSupportError(new Error("Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'"));
    expect(e).toMatchObject({ op: 'Conv2DBackpropFilter', backend: 'wasm', gap: 'kernel' });
    expect(e?.message).toContain('installWasmTrainingKernels()');
    expect(toBackendSupportError(new Error('something else'))).toBeUndefined();
    expect(toBackendSupportError('not an error')).toBeUndefined();
    const other = new TypeError('boom');
    expect(() =>
      withBackendSupportErrors(() => {
        throw other;
      }),
    ).toThrow(other);
  });

  it("a dense discriminator's penalty gradient is defined once installed (a model-level smoke check on cpu)", () => {
    installSecondOrderGradients();
    const d = mlpDiscriminator({ inputShape: [2], hiddenUnits: [4], seed: 1 });
    const x = tf.tensor2d([
      [0.3, -0.2],
      [-0.5, 0.8],
    ]);
    const { grads } = tf.variableGrads(() => {
      const gx = tf.grad((xi: tf.Tensor) => tf.sum(d.apply(xi, { training: true })))(x);
      return tf.sum(tf.square(gx));
    }, [...d.trainableVariables]);
    expect(Object.keys(grads).length).toBeGreaterThan(0);
    tf.dispose(Object.values(grads));
    x.dispose();
    d.dispose?.();
  });
});
