/** The deterministic and soft actor-critic family: DDPG, TD3, SAC, their networks, losses, noise and presets. */
export * from './common.js';
export * from './ddpg.js';
export * from './losses.js';
export * from './networks.js';
export * from './noise.js';
export * from './presets.js';
export * from './sac.js';
export * from './td3.js';
