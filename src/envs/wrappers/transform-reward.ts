/**
 * Applies a function to every reward (Gymnasium 1.x `gymnasium.wrappers.TransformReward`).
 *
 * @example
 * const env = new TransformReward(make('CartPole-v1'), (r) => 0.01 * r);
 * const clipped = new TransformReward(env, (r) => Math.max(-1, Math.min(1, r)));
 */
import type { Env, StepResult } from '../env.js';
import { Wrapper } from './wrapper.js';

/**
 * Applies a function to rewards (see the module comment).
 *
 * @example
 * new TransformReward(env, (r) => Math.sign(r));
 */
export class TransformReward<Obs = unknown, Act = unknown> extends Wrapper<Obs, Act> {
  /** @param fn maps the env's reward to the reward the caller sees */
  constructor(
    env: Env<Obs, Act>,
    readonly fn: (reward: number) => number,
  ) {
    super(env);
  }

  override step(action: Act): StepResult<Obs> {
    const r = this.env.step(action);
    r.reward = this.fn(r.reward);
    return r;
  }
}
