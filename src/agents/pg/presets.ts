/**
 * Tuned PPO and A2C settings per env, from RL Baselines3 Zoo (Raffin 2020,
 * github.com/DLR-RM/rl-baselines3-zoo, `hyperparams/ppo.yml` and `hyperparams/a2c.yml`),
 * tuned for SB3's PPO and A2C, whose defaults and semantics Kairos follows. The zoo's
 * `lin_x` is a linear schedule from x to 0 over the run. LunarLander-v3 has v2's dynamics
 * apart from Gymnasium 1.0 bug fixes, so the v2 entries carry over.
 *
 * Differences from the zoo, each because Kairos has no equivalent yet:
 * - Pendulum-v1 (PPO) is tuned in the zoo with generalised state-dependent exploration
 *   (`use_sde: True, sde_sample_freq: 4`, 1e5 steps). Kairos's Gaussian policy has a
 *   state-independent σ, so the preset keeps the other numbers and runs 1e6 steps, the
 *   budget of the benchmark.
 * - A2C Pendulum-v1 is the zoo's "Pendulum-v0 (almost tuned)" entry without gSDE.
 * - REINFORCE has no zoo entry; its CartPole preset follows PyTorch's example
 *   (github.com/pytorch/examples, `reinforcement_learning/reinforce.py`: lr 1e-2, γ 0.99,
 *   one 128-unit hidden layer, whitened returns, an update per episode).
 */
import type { PresetEntry } from '../registry.js';

const lin = (start: number) => ({ type: 'linear' as const, start, end: 0 });

export const PPO_PRESETS: Readonly<Record<string, PresetEntry>> = {
  'CartPole-v1': {
    totalSteps: 100_000,
    numEnvs: 8,
    source: 'rl-baselines3-zoo hyperparams/ppo.yml, CartPole-v1 ("Tuned"): n_envs 8, n_timesteps 1e5',
    config: { nSteps: 32, batchSize: 256, gaeLambda: 0.8, gamma: 0.98, nEpochs: 20, entCoef: 0, learningRate: lin(1e-3), clipRange: lin(0.2) },
  },
  'LunarLander-v3': {
    totalSteps: 1_000_000,
    numEnvs: 16,
    source: 'rl-baselines3-zoo hyperparams/ppo.yml, LunarLander-v2: n_envs 16, n_timesteps 1e6',
    config: { nSteps: 1024, batchSize: 64, gaeLambda: 0.98, gamma: 0.999, nEpochs: 4, entCoef: 0.01 },
  },
  'Pendulum-v1': {
    totalSteps: 1_000_000,
    numEnvs: 4,
    source: 'rl-baselines3-zoo hyperparams/ppo.yml, Pendulum-v1 ("Tuned"), without gSDE (use_sde, sde_sample_freq) and run for 1e6 steps instead of 1e5',
    config: { nSteps: 1024, gaeLambda: 0.95, gamma: 0.9, nEpochs: 10, entCoef: 0, learningRate: 1e-3, clipRange: 0.2 },
  },
};

export const A2C_PRESETS: Readonly<Record<string, PresetEntry>> = {
  'CartPole-v1': {
    totalSteps: 500_000,
    numEnvs: 8,
    source: 'rl-baselines3-zoo hyperparams/a2c.yml, CartPole-v1: n_envs 8, n_timesteps 5e5, ent_coef 0',
    config: { entCoef: 0 },
  },
  'LunarLander-v3': {
    totalSteps: 200_000,
    numEnvs: 8,
    source: 'rl-baselines3-zoo hyperparams/a2c.yml, LunarLander-v2: n_envs 8, n_timesteps 2e5',
    config: { gamma: 0.995, nSteps: 5, learningRate: lin(0.00083), entCoef: 0.00001 },
  },
  'Pendulum-v1': {
    totalSteps: 1_000_000,
    numEnvs: 8,
    source: 'rl-baselines3-zoo hyperparams/a2c.yml, Pendulum-v0 ("Almost tuned"), without gSDE',
    config: {
      normalizeObs: true,
      normalizeReward: true,
      entCoef: 0,
      maxGradNorm: 0.5,
      nSteps: 8,
      gaeLambda: 0.9,
      vfCoef: 0.4,
      gamma: 0.99,
      optimizer: 'rmsprop',
      normalizeAdvantage: false,
      learningRate: lin(7e-4),
      network: { logStdInit: -2, init: 'torch' },
    },
  },
};

export const REINFORCE_PRESETS: Readonly<Record<string, PresetEntry>> = {
  'CartPole-v1': {
    totalSteps: 200_000,
    numEnvs: 1,
    source: 'PyTorch examples reinforcement_learning/reinforce.py (lr 1e-2, gamma 0.99, 128 hidden units, whitened returns, one episode per update; no dropout)',
    config: { learningRate: 1e-2, gamma: 0.99, batchEpisodes: 1, normalizeReturns: true, network: { hiddenSizes: [128], activation: 'relu', init: 'torch' } },
  },
};
