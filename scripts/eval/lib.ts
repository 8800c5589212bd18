/** What the evaluation uses from the library (the source, so `npm run eval` measures the working tree). */
export * from '../../src/index';

import type { metrics } from '../../src/index';
export type MnistClassifierT = metrics.MnistClassifier;
