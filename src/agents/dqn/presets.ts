/**
 * Tuned DQN settings per env. Numbers come from RL Baselines3 Zoo (Raffin 2020,
 * github.com/DLR-RM/rl-baselines3-zoo, `hyperparams/dqn.yml`, entries "CartPole-v1" and
 * "LunarLander-v2" as of the 2021–2023 releases), tuned with Optuna for SB3's DQN, whose
 * defaults and semantics Kairos's DQN follows. LunarLander-v3 has the same dynamics as v2
 * apart from bug fixes in Gymnasium 1.0, so the v2 settings carry over.
 */
import type { PresetEntry } from '../registry.js';

export const DQN_PRESETS: Readonly<Record<string, PresetEntry>> = {
  'CartPole-v1': {
    totalSteps: 50_000,
    source: 'rl-baselines3-zoo hyperparams/dqn.yml, CartPole-v1 ("Almost Tuned"): n_timesteps 5e4',
    config: {
      learningRate: 2.3e-3,
      batchSize: 64,
      bufferSize: 100_000,
      learningStarts: 1000,
      gamma: 0.99,
      targetUpdateInterval: 10,
      trainFreq: 256,
      gradientSteps: 128,
      explorationFraction: 0.16,
      explorationFinalEps: 0.04,
      network: { hiddenSizes: [256, 256] },
    },
  },
  'LunarLander-v3': {
    totalSteps: 100_000,
    source: 'rl-baselines3-zoo hyperparams/dqn.yml, LunarLander-v2 ("Tuned"): n_timesteps 1e5',
    config: {
      learningRate: 6.3e-4,
      batchSize: 128,
      bufferSize: 50_000,
      learningStarts: 0,
      gamma: 0.99,
      targetUpdateInterval: 250,
      trainFreq: 4,
      gradientSteps: -1,
      explorationFraction: 0.12,
      explorationFinalEps: 0.1,
      network: { hiddenSizes: [256, 256] },
    },
  },
};
