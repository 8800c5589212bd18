import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { installWasmTrainingKernels, uninstallWasmTrainingKernels } from '../../src/index';
await tf.setBackend('wasm');
const shapes: [number, number, number][] = [[256, 1024, 1024], [1024, 2048, 512], [1024, 3136, 128], [3136, 1024, 64], [64, 3136, 1024], [100, 784, 256], [512, 512, 512], [100, 1024, 1024]];
for (const simd of [true, false]) {
  uninstallWasmTrainingKernels();
  installWasmTrainingKernels({ simdMatmul: simd });
  for (const [m, k, n] of shapes) {
    const a = tf.randomNormal([m, k]);
    const b = tf.randomNormal([k, n]);
    const ts: number[] = [];
    for (let r = 0; r < 7; r++) {
      const b2 = tf.add(b, 0); // a fresh right operand each time, as in training
      const t0 = performance.now();
      const c = tf.matMul(a, b2);
      c.dataSync();
      ts.push(performance.now() - t0);
      tf.dispose([c, b2]);
    }
    ts.sort((x, y) => x - y);
    console.log(`${simd ? 'simd   ' : 'xnnpack'} ${m}x${k}x${n}: ${ts[3]!.toFixed(2)} ms ${((2 * m * k * n) / ts[3]! / 1e6).toFixed(1)} GFLOP/s`);
    tf.dispose([a, b]);
  }
}
