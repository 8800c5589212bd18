// Conformance suite on the webgpu backend in Node: Dawn (the `webgpu` package) on a Vulkan driver —
// SwiftShader's CPU driver from Debian's chromium package when there is no GPU. Skips loudly when Dawn
// finds no adapter, except under CI=true, where WebGPU must work (.ci/run installs chromium and libvulkan1).
import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { selectBackend, useNodeWebGPU } from '../src/index';
import { nodeConformanceSuite } from './conformance/node';

const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';

async function webgpuAvailability(): Promise<{ run: boolean; reason: string }> {
  try {
    // A GPU's driver is used when VK_ICD_FILENAMES is set; otherwise SwiftShader's, where installed.
    await useNodeWebGPU(existsSync(SWIFTSHADER) ? { vulkanDriver: SWIFTSHADER } : {});
    const gpu = (
      globalThis as unknown as { navigator: { gpu: { requestAdapter(): Promise<{ info?: { description?: string } } | null> } } }
    ).navigator.gpu;
    const adapter = await gpu.requestAdapter();
    if (adapter === null) throw new Error('Dawn found no adapter (no Vulkan driver: apt-get install libvulkan1 chromium)');
    await import('@tensorflow/tfjs-backend-webgpu');
    return { run: true, reason: adapter.info?.description ?? 'adapter found' };
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    if (process.env.CI === 'true') return { run: true, reason: `CI=true, WebGPU must work: ${reason}` };
    console.warn(`\n*** SKIPPING Node WebGPU conformance: ${reason}. Under CI=true it runs. ***\n`);
    return { run: false, reason };
  }
}

const webgpu = await webgpuAvailability();

describe.runIf(webgpu.run)(`webgpu in Node (${webgpu.reason})`, () => {
  it('selectBackend picks webgpu first and reports it', async () => {
    expect(await selectBackend(['webgpu', 'cpu'])).toBe('webgpu');
    expect(tf.getBackend()).toBe('webgpu');
    await tf.setBackend('cpu');
  });
  nodeConformanceSuite('webgpu', 'conformance on the webgpu backend (Node, Dawn)');
});
