/**
 * The `metrics` namespace (see `./metrics.ts`).
 *
 * @module
 */
export * as metrics from './metrics';
