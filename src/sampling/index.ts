/**
 * The `sampling` namespace: drawing better samples from a trained GAN.
 *
 * @module
 */
export * as sampling from './rejection';
