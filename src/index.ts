/**
 * Kairos: applied reinforcement learning in TypeScript.
 *
 * Subpath entry points: `kairos/core`, `kairos/envs`, `kairos/tensor`, `kairos/agents`,
 * `kairos/train`, `kairos/ope`, `kairos/data`. The root re-exports core and envs only, so
 * env-only users never load TensorFlow.js (agents, train) or DuckDB (data).
 */
export * from './core/index.js';
export * from './envs/index.js';
