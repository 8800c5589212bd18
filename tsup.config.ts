import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  // Emits index.d.ts (for import) and index.d.cts (for require).
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  platform: 'neutral',
  splitting: false,
  minify: false,
  // Peer dependencies: never bundle TensorFlow.js (and never a backend).
  external: [/^@tensorflow\//],
});
