/**
 * TD3, "Twin Delayed DDPG" (Fujimoto et al. 2018): the DDPG agent of `ddpg.ts` with its three
 * changes switched on by default:
 *
 * 1. Clipped double Q-learning (§4.2, eq. 10): two critics, the target uses
 *    y = r + γ(1 − d)·min_{i=1,2} Q'_i(s', ã); the actor follows Q_1 alone.
 * 2. Delayed policy updates (§5.2): the actor and the three target networks move once every
 *    `policyDelay` = 2 critic updates.
 * 3. Target policy smoothing (§5.3, eq. 14): ã = clip(μ'(s') + clip(ε, −0.5, 0.5), −1, 1),
 *    ε ~ N(0, 0.2²) in the [−1, 1] action scale.
 *
 * Defaults are Stable-Baselines3 2.x's `TD3` (learning rate 1e-3, batch 256, τ 0.005, train
 * every step, [400, 300] ReLU networks as in the paper), except the exploration noise: SB3 has
 * none by default; Kairos uses the paper's Gaussian N(0, 0.1²) (§6.1).
 *
 * @example
 * const agent = new Td3Agent({ observationSpace, actionSpace, config: { learningStarts: 10_000 }, seed: 0 });
 */
import { parseWith } from '../../core/errors.js';
import type { AgentInit } from '../agent.js';
import { DdpgAgent, deterministicConfigSchema, type DeterministicDefaults, type ResolvedDdpgConfig } from './ddpg.js';

/** TD3 defaults: SB3 2.x `TD3`, with the paper's exploration noise. */
export const TD3_DEFAULTS: DeterministicDefaults = {
  learningRate: 1e-3,
  learningStarts: 100,
  batchSize: 256,
  tau: 0.005,
  gamma: 0.99,
  trainFreq: 1,
  gradientSteps: 1,
  hiddenSizes: [400, 300],
  nCritics: 2,
  policyDelay: 2,
  targetPolicyNoise: 0.2,
  targetNoiseClip: 0.5,
  actionNoise: { type: 'normal', std: 0.1, mean: 0, theta: 0.15, dt: 1e-2 },
};

/** TD3 config schema: the DDPG fields with {@link TD3_DEFAULTS}. */
export const Td3ConfigSchema = deterministicConfigSchema(TD3_DEFAULTS);

/** Parses a TD3 config; errors name the field (`td3.policyDelay`). */
export function parseTd3Config(config: unknown): ResolvedDdpgConfig {
  return parseWith(Td3ConfigSchema, config ?? {}, 'td3');
}

/** TD3 agent; see the module comment. */
export class Td3Agent extends DdpgAgent {
  constructor(init: AgentInit) {
    super(init, { algorithm: 'td3', schema: Td3ConfigSchema });
  }
}
