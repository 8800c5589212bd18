/**
 * Backend-specific helpers. Each works through tfjs-core's kernel registry only, so importing
 * them never requires the backend package itself.
 *
 * @module
 */
export {
  installedWasmTrainingKernels,
  installWasmTrainingKernels,
  uninstallWasmTrainingKernels,
  WASM_MISSING_TRAINING_KERNELS,
  WASM_REPLACED_KERNELS,
  type WasmTuneUpOptions,
  type WasmTuneUpRemoval,
  type WasmTuneUpReport,
} from './wasm';
