/**
 * The `stabilizers` namespace (see `./stabilizers.ts`).
 *
 * @module
 */
export * as stabilizers from './stabilizers';
