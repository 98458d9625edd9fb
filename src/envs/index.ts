/**
 * `kairos/envs`: the Env contract, the registry (with every built-in env registered),
 * wrappers, the env checker and vector envs.
 *
 * @example
 * import { make } from 'kairos/envs';
 * const env = make('CartPole-v1');
 */
import './builtin.js';

export * from './env.js';
export * from './registry.js';
export * from './wrappers/index.js';
export * from './checker.js';
export * from './vector/index.js';
export * from './classic/index.js';
export * from './box2d/index.js';
export * from './sims/index.js';
export { heuristicFor, heuristicIds, type Heuristic } from './heuristics.js';
export * from './rollout.js';
