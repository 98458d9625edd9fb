/** Agents: the contract, the registry, buffers and the algorithm families. */
import './builtin.js';
export * from './agent.js';
export * from './registry.js';
export * from './state.js';
export * from './buffers/index.js';
export * from './dqn/index.js';
export * from './dpg/index.js';
export * from './pg/index.js';
export * from './target-policy.js';
