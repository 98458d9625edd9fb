/**
 * `kairos/tensor`: TensorFlow.js set-up (WASM default, CPU fallback, the matMul gradient
 * fix), seeded initialisers, layers, optimisers and weight I/O. The rest of Kairos imports
 * `tf` from here, never from `@tensorflow/*` directly.
 *
 * @example
 * import { initTensorBackend, Mlp, createOptimizer, trainStep, tf } from 'kairos/tensor';
 * await initTensorBackend();
 * const net = new Mlp({ inputSize: 8, hiddenSizes: [256, 256], outputSize: 4, seed: 0 });
 * const opt = createOptimizer({ type: 'adam', learningRate: 1e-3 });
 * trainStep(opt, () => tf.mean(tf.square(net.apply(x))) as tf.Scalar, net.trainableVariables);
 */
export {
  tf,
  initTensorBackend,
  setFastMatMulGrad,
  isFastMatMulGrad,
  tensorBackendInfo,
  resolveTensorBackendOptions,
  TENSOR_BACKENDS,
  type TensorBackendName,
  type TensorBackendOptions,
  type TensorBackendInfo,
} from './backend.js';
export {
  registerKairosGradients,
  kairosGradientKernels,
  fastBatchMatMulGradConfig,
  referenceBatchMatMulGradConfig,
  unbroadcast,
} from './gradients.js';
export {
  setFusedKernels,
  isFusedKernelsEnabled,
  setFusedFma,
  preferFusedFma,
  isFusedFma,
  fusedKernelFailure,
  activeWasmKernels,
  canFuseMlp,
  fusedMlpApply,
  fusedMlpPredict,
  registerFusedKernels,
  BoundWasmKernels,
  MLP_FORWARD_KERNEL,
  MLP_BACKWARD_KERNEL,
  type FusableLayer,
} from './fused.js';
export { FusedAdamOptimizer } from './fused-adam.js';
export { fusedTdLoss, fusedTdTargets, registerTdKernels, type TdLossOptions } from './losses.js';
export * from './init.js';
export * from './layers/index.js';
export * from './optim.js';
export * from './serialize.js';
// Node-only at call time (node:fs is imported lazily), safe to bundle for the browser.
export * from './weights-io.js';
