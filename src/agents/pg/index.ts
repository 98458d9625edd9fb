/** The policy-gradient family: REINFORCE (on- and off-policy), slate policies, PPO, A2C. */
export * from './a2c.js';
export * from './acting.js';
export * from './advantages.js';
export * from './distributions.js';
export * from './importance.js';
export * from './losses.js';
export * from './networks.js';
export * from './normalization.js';
export * from './ppo.js';
export * from './presets.js';
export * from './reinforce.js';
export * from './rollout-buffer.js';
export * from './ranking-task.js';
export * from './slate.js';
