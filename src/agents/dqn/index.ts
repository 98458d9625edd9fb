/** The DQN family: agent, Q-networks, targets, exploration, presets. */
export * from './dqn.js';
export * from './exploration.js';
export * from './presets.js';
export * from './q-networks.js';
export * from './targets.js';
