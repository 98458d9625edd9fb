/**
 * Kairos: applied reinforcement learning in TypeScript.
 *
 * Subpath entry points: `kairos/core`, `kairos/tensor`, `kairos/envs`. The root re-exports
 * core and envs; the tensor layer is imported separately so env-only users never load
 * TensorFlow.js.
 */
export * from './core/index.js';
export * from './envs/index.js';
