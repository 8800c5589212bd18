import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { allFinite, type UpdateGradients } from '../src/index';
import { isUpdateFinite } from '../src/training/step';

// The trainer's non-finite guard reads one sum per tensor instead of an element-wise check
// (isUpdateFinite); it must give exactly allFinite's answer.

const BIG = 3e38; // finite in float32, but two of them sum to Infinity

function update(grads: number[][], stats = [0.5, 0.4, 0.6]): UpdateGradients {
  return {
    stats: tf.tensor1d(stats),
    grads: Object.fromEntries(grads.map((g, i) => [`g${i}`, tf.tensor1d(g)])),
  };
}

const CASES: [string, number[][], number[]?][] = [
  ['all finite', [[1, -2, 3], [0.5]]],
  [
    'finite values whose sum overflows',
    [
      [BIG, BIG, 1],
      [-BIG, -BIG],
    ],
  ],
  ['an Infinity', [[1, Number.POSITIVE_INFINITY], [2]]],
  ['+Infinity and −Infinity (sum NaN)', [[Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY], [2]]],
  ['a NaN in a gradient', [[1, 2], [Number.NaN]]],
  ['a NaN loss', [[1, 2], [3]], [Number.NaN, 0.5, 0.5]],
  ['an Infinity next to overflowing finite values', [[BIG, BIG, Number.NEGATIVE_INFINITY]]],
];

afterAll(async () => {
  await tf.setBackend('cpu');
});

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`isUpdateFinite on ${backend}`, () => {
    for (const [name, grads, stats] of CASES) {
      it(`agrees with allFinite: ${name}`, async () => {
        await tf.setBackend(backend);
        const u = update(grads, stats);
        const flag = allFinite(u);
        const expected = Boolean((await flag.data())[0]);
        flag.dispose();
        const before = tf.memory().numTensors;
        expect(await isUpdateFinite(u)).toBe(expected);
        expect(tf.memory().numTensors).toBe(before);
        expect(expected).toBe(grads.flat().every(Number.isFinite) && (stats ?? [0]).every(Number.isFinite));
        tf.dispose([u.stats, ...Object.values(u.grads)]);
      });
    }
  });
}
