/**
 * Truncates episodes after `maxEpisodeSteps` steps (Gymnasium's TimeLimit): the step that
 * reaches the limit returns `truncated: true` (and keeps `terminated` as the env set it).
 */
import { ValidationError } from '../../core/errors.js';
import type { Env, ResetOptions, ResetResult, StepResult } from '../env.js';
import { Wrapper } from './wrapper.js';

/**
 * Sets `truncated` on the step that reaches `maxEpisodeSteps`.
 *
 * @example
 * const env = new TimeLimit(new CartPole(), 200);
 * env.elapsedSteps; // steps taken in the current episode
 */
export class TimeLimit<Obs, Act> extends Wrapper<Obs, Act> {
  private elapsed = 0;

  constructor(
    env: Env<Obs, Act>,
    readonly maxEpisodeSteps: number,
  ) {
    super(env);
    if (!Number.isInteger(maxEpisodeSteps) || maxEpisodeSteps <= 0) {
      throw new ValidationError('maxEpisodeSteps', 'a positive integer', maxEpisodeSteps, 'TimeLimit');
    }
  }

  /** Steps taken in the current episode. */
  get elapsedSteps(): number {
    return this.elapsed;
  }

  override reset(opts?: ResetOptions): ResetResult<Obs> {
    this.elapsed = 0;
    return this.env.reset(opts);
  }

  override step(action: Act): StepResult<Obs> {
    const r = this.env.step(action);
    // Mutating the fresh result avoids an allocation per step on the hot path.
    if (++this.elapsed >= this.maxEpisodeSteps) r.truncated = true;
    return r;
  }
}
