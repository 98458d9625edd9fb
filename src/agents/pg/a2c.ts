/**
 * A2C, the synchronous advantage actor-critic (Mnih et al. 2016, "Asynchronous methods for
 * deep reinforcement learning", run synchronously over vector envs as in OpenAI Baselines
 * and SB3). It is PPO's code with A2C's defaults (`A2C_DEFAULTS` in `ppo.ts`, from SB3's
 * `A2C`): 5-step rollouts, one gradient step on the whole rollout, the vanilla loss
 * −Â·log π (no ratio, no clipping), n-step returns (λ = 1), no advantage normalisation,
 * RMSprop (α 0.99, ε 1e-5), value coefficient 0.5 and gradient-norm clipping at 0.5.
 *
 * @example
 * const agent = new A2cAgent({ observationSpace, actionSpace, config: {}, seed: 0 });
 */
import type { AgentInit } from '../agent.js';
import { PpoAgent } from './ppo.js';

/** A2C agent: {@link PpoAgent} with algorithm `a2c` and A2C's defaults. */
export class A2cAgent extends PpoAgent {
  constructor(init: AgentInit) {
    super(init, 'a2c');
  }
}
