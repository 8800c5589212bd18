// The playground is built on the library's BUILT package: 'tfjs-gan' resolves to ../dist/index.js
// (run `npm run build` first — `npm run playground` does).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: here,
  base: './',
  resolve: { alias: { 'tfjs-gan': fileURLToPath(new URL('../dist/index.js', import.meta.url)) } },
  server: { host: '127.0.0.1', port: 5173 },
  preview: { host: '127.0.0.1', port: 4173 },
  build: { outDir: fileURLToPath(new URL('./dist', import.meta.url)), emptyOutDir: true, chunkSizeWarningLimit: 4096 },
});
