/**
 * Rejects `step` before the first `reset`, and `step` after an episode ended without a
 * reset (Gymnasium's OrderEnforcing; stepping a finished episode is undefined behaviour
 * in most simulators and silently corrupts returns).
 */
import { KairosError } from '../../core/errors.js';
import type { Env, ResetOptions, ResetResult, StepResult } from '../env.js';
import { Wrapper } from './wrapper.js';

/**
 * Throws a KairosError (code `reset_needed`) for `step` before `reset` or after the end
 * of an episode.
 *
 * @example
 * const env = new OrderEnforcing(new CartPole());
 * env.step(0); // throws: step() called before reset()
 */
export class OrderEnforcing<Obs, Act> extends Wrapper<Obs, Act> {
  private hasReset = false;
  private done = false;

  constructor(env: Env<Obs, Act>) {
    super(env);
  }

  override reset(opts?: ResetOptions): ResetResult<Obs> {
    const r = this.env.reset(opts);
    this.hasReset = true;
    this.done = false;
    return r;
  }

  override step(action: Act): StepResult<Obs> {
    if (!this.hasReset) {
      throw new KairosError(`${this.spec?.id ?? 'env'}: step() called before reset(); call reset() first`, 'reset_needed');
    }
    if (this.done) {
      throw new KairosError(
        `${this.spec?.id ?? 'env'}: step() called after the episode ended (terminated or truncated); call reset() first`,
        'reset_needed',
      );
    }
    const r = this.env.step(action);
    this.done = r.terminated || r.truncated;
    return r;
  }
}
