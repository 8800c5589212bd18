// Conformance suite on the wasm backend in Node (its .wasm files load from node_modules).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { describe, expect, it } from 'vitest';
import {
  BackendSupportError,
  dcganDiscriminator,
  dcganGenerator,
  GANTrainer,
  installWasmTrainingKernels,
  uninstallWasmTrainingKernels,
} from '../src/index';
import { lcg } from './conformance/cases';
import { nodeConformanceSuite } from './conformance/node';

// tfjs's IS_TEST leak check misfires on wasm gradients (tests/setup.ts turns it on for cpu).
tf.env().set('IS_TEST', false);

nodeConformanceSuite('wasm');

describe('a training kernel the backend lacks', () => {
  it("surfaces from GANTrainer.step as a BackendSupportError naming the op and backend, not tfjs's bare error", async () => {
    uninstallWasmTrainingKernels();
    await tf.setBackend('wasm');
    const geometry = { imageSize: 8, channels: 1, baseFilters: 2, stages: 2 };
    const trainer = new GANTrainer({
      generator: dcganGenerator({ ...geometry, latentDim: 4, seed: 1 }),
      discriminator: dcganDiscriminator({ ...geometry, seed: 2 }),
      backendTuneUp: false,
    });
    const real = tf.tensor(lcg(4 * 64, 3), [4, 8, 8, 1]);
    try {
      const before = trainer.discriminator.trainableVariables.map((v) => Array.from(v.dataSync()));
      const e = await trainer.step(real).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(BackendSupportError);
      expect(e).toMatchObject({ op: 'Conv2DBackpropFilter', backend: 'wasm', gap: 'kernel' });
      expect((e as Error).message).toContain('installWasmTrainingKernels()');
      // D's gradients failed, so no update was applied.
      expect(trainer.discriminator.trainableVariables.map((v) => Array.from(v.dataSync()))).toEqual(before);
    } finally {
      real.dispose();
      trainer.dispose();
      installWasmTrainingKernels();
      await tf.setBackend('cpu');
    }
  });
});
