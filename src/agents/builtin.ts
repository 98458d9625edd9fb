/** Registers Kairos's agents; import for its side effect (the CLI and run folders do). */
import { DdpgAgent } from './dpg/ddpg.js';
import { DDPG_PRESETS, SAC_PRESETS, TD3_PRESETS } from './dpg/presets.js';
import { SacAgent } from './dpg/sac.js';
import { Td3Agent } from './dpg/td3.js';
import { DqnAgent } from './dqn/dqn.js';
import { DQN_PRESETS } from './dqn/presets.js';
import { RdqnAgent } from './rdqn/rdqn.js';
import { A2cAgent } from './pg/a2c.js';
import { PpoAgent } from './pg/ppo.js';
import { A2C_PRESETS, PPO_PRESETS, REINFORCE_PRESETS } from './pg/presets.js';
import { ReinforceAgent } from './pg/reinforce.js';
import { getAgentRegistration, registerAgent } from './registry.js';

function registerOnce(...args: Parameters<typeof registerAgent>): void {
  try {
    getAgentRegistration(args[0].algorithm);
  } catch {
    registerAgent(...args);
  }
}

registerOnce({
  algorithm: 'dqn',
  description: 'Deep Q-network with Double, Dueling, n-step, prioritised replay, masks and parametric actions',
  create: (init) => new DqnAgent(init),
  presets: DQN_PRESETS,
});

registerOnce({
  algorithm: 'rdqn',
  description: 'Recurrent DQN (LSTM over observations and previous actions; DRQN/R2D2-style sequence replay)',
  create: (init) => new RdqnAgent(init),
});

registerOnce({
  algorithm: 'ppo',
  description: 'Proximal policy optimisation (clipped surrogate, GAE, discrete and Gaussian continuous actions)',
  create: (init) => new PpoAgent(init),
  presets: PPO_PRESETS,
});

registerOnce({
  algorithm: 'a2c',
  description: 'Synchronous advantage actor-critic (PPO code with A2C defaults)',
  create: (init) => new A2cAgent(init),
  presets: A2C_PRESETS,
});

registerOnce({
  algorithm: 'reinforce',
  description: 'REINFORCE, on-policy or off-policy with clamped importance weights and baselines',
  create: (init) => new ReinforceAgent(init),
  presets: REINFORCE_PRESETS,
});

registerOnce({
  algorithm: 'ddpg',
  description: 'Deep deterministic policy gradient (continuous actions; OU or Gaussian exploration, target networks)',
  create: (init) => new DdpgAgent(init),
  presets: DDPG_PRESETS,
});

registerOnce({
  algorithm: 'td3',
  description: 'Twin delayed DDPG (clipped double Q, delayed actor updates, target policy smoothing)',
  create: (init) => new Td3Agent(init),
  presets: TD3_PRESETS,
});

registerOnce({
  algorithm: 'sac',
  description: 'Soft actor-critic (squashed Gaussian actor, twin critics, automatic entropy temperature)',
  create: (init) => new SacAgent(init),
  presets: SAC_PRESETS,
});
