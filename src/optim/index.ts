/**
 * optim — filled in by the work on its issue.
 *
 * @module
 */
export {};
