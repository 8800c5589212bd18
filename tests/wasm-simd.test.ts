// tfjs-gan's own WebAssembly SIMD module (src/backends/wasm-simd): the committed binary is the
// compiled kernels.wat, it stays small enough for Chromium's synchronous compile on the main thread,
// and it binds only to a real tfjs-backend-wasm memory. Its kernels are tested where they are used:
// tests/optim.test.ts (fused Adam), tests/wasm.test.ts (matrix product, LeakyRelu, Tanh), the
// threaded build in tests/backends-wasm-threads.test.ts and Chromium in tests/browser/backends.test.ts.
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { describe, expect, it } from 'vitest';
// @ts-expect-error — a plain .mjs build script without type declarations
import { generate } from '../scripts/build-wasm.mjs';
import { backendMemory, wasmSimdKernels } from '../src/backends/wasm-simd/index';
import { KERNELS_PLAIN_MEMORY, KERNELS_SHARED_MEMORY } from '../src/backends/wasm-simd/kernels-binary';

describe('the wasm SIMD module', () => {
  it('kernels-binary.ts is kernels.wat compiled (npm run build:wasm)', async () => {
    const text = await (generate as () => Promise<string>)();
    expect(readFileSync('src/backends/wasm-simd/kernels-binary.ts', 'utf8')).toBe(text);
  });

  it('each variant is under 4 KiB: Chromium refuses synchronous compiles of more on the main thread', () => {
    for (const b64 of [KERNELS_PLAIN_MEMORY, KERNELS_SHARED_MEMORY]) {
      const bytes = Buffer.from(b64, 'base64');
      expect(WebAssembly.validate(bytes)).toBe(true);
      expect(bytes.length).toBeLessThan(4096);
    }
  });

  it('binds to the wasm backend only, once per backend', async () => {
    await tf.setBackend('cpu');
    expect(backendMemory(tf.backend())).toBeUndefined();
    expect(wasmSimdKernels(tf.backend())).toBeUndefined();
    // Something shaped like the wasm backend whose memory is not the heap's: refused.
    const heap = new Uint8Array(new WebAssembly.Memory({ initial: 1 }).buffer);
    const impostor = {
      wasm: { HEAPU8: heap, HEAPF32: new Float32Array(heap.buffer), wasmMemory: new WebAssembly.Memory({ initial: 1 }) },
    };
    expect(backendMemory(impostor)).toBeUndefined();
    expect(wasmSimdKernels(impostor)).toBeUndefined();
    expect(wasmSimdKernels(null)).toBeUndefined();
    await tf.setBackend('wasm');
    const memory = backendMemory(tf.backend());
    expect(memory).toBeInstanceOf(WebAssembly.Memory);
    const kernels = wasmSimdKernels(tf.backend());
    expect(kernels).toBeDefined();
    expect(wasmSimdKernels(tf.backend())).toBe(kernels);
    await tf.setBackend('cpu');
  });
});
