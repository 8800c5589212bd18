/**
 * Backend-specific helpers. Each works through tfjs-core's kernel registry only, so importing
 * them never requires the backend package itself.
 *
 * @module
 */

export {
  BackendSupportError,
  type BackendSupportGap,
  installSecondOrderGradients,
  SECOND_ORDER_GRADIENTS,
  toBackendSupportError,
  withBackendSupportErrors,
} from './gradients';
export {
  installLazyFusedGradients,
  lazyFusedGradientsInstalled,
  uninstallLazyFusedGradients,
} from './lazy-fused-gradients';
export {
  installFusedLeakyReluGradient,
  LEAKY_RELU_GRAD_KERNEL,
  leakyReluGradInto,
  registerFusedLeakyReluKernels,
  uninstallFusedLeakyReluGradient,
} from './leaky-relu-grad';
export {
  type NodeWasmThreadsInstallation,
  type NodeWasmThreadsOptions,
  useNodeWasmThreads,
  wasmThreadCount,
} from './node-wasm-threads';
export {
  installNodeWebGPU,
  type NodeWebGPUInstallation,
  type NodeWebGPUModule,
  type NodeWebGPUOptions,
  useNodeWebGPU,
} from './node-webgpu';
export {
  type BackendAttempt,
  BackendSelectionError,
  backendUnavailableReason,
  DEFAULT_BACKEND_ORDER,
  selectBackend,
} from './select';
export {
  installFusedTanhGradient,
  registerFusedTanhKernels,
  TANH_GRAD_KERNEL,
  tanhGradInto,
  uninstallFusedTanhGradient,
} from './tanh-grad';
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
export { gatherInto, tileInto } from './wasm-speed';
export {
  type BindGroupCacheStats,
  DEFAULT_BIND_GROUP_CACHE_SIZE,
  installWebGPUTuneUp,
  uninstallWebGPUTuneUp,
  type WebGPUTuneUpOptions,
  type WebGPUTuneUpReport,
  webgpuBindGroupCacheStats,
} from './webgpu';
export { GUARD_STEP_KERNEL, GUARD_TENSORS_PER_PROGRAM, registerGuardStepKernel } from './webgpu-guard';
