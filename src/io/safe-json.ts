/** Keys that could reach an object's prototype if a parsed object were ever merged. */
const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * `JSON.parse` for untrusted checkpoint files: data only (no `eval`, no
 * revivers that build objects), and the keys `__proto__`, `constructor` and
 * `prototype` are dropped wherever they appear, so no later merge can
 * pollute a prototype.
 */
export function parseJsonData(text: string): unknown {
  return JSON.parse(text, (key, value: unknown) => (FORBIDDEN.has(key) ? undefined : value));
}

/** A plain object (`{…}` from JSON), not an array or null. */
export function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
