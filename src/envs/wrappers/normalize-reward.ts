/**
 * Scales rewards by the running standard deviation of a discounted return estimate, so
 * value targets keep a stable scale (SB3's `VecNormalize` reward normalisation, also
 * Gymnasium 1.x `gymnasium.wrappers.NormalizeReward`; both from OpenAI Baselines):
 *   R_t = gamma * R_{t-1} + r_t,   update the running variance with R_t,
 *   r'_t = clip(r_t / sqrt(var(R) + epsilon), -clip, clip).
 * The mean is not subtracted (openai/baselines#538: shifting rewards changes the task).
 *
 * `R` restarts at 0 after every step that ends an episode (terminated or truncated) and
 * on `reset`, as SB3 does (`returns[dones] = 0`). Gymnasium 1.x instead multiplies the
 * old estimate by `1 - terminated` before adding the terminal reward and never resets
 * on truncation; SB3's rule keeps the estimate a return of the current episode.
 *
 * @example
 * const env = new NormalizeReward(make('Pendulum-v1'), { gamma: 0.99 });
 * env.reset({ seed: 0 });
 * const r = env.step(Float32Array.of(0)); // r.reward scaled
 * const stats = env.getStats();           // checkpoint with the model
 * env.training = false;                   // evaluation: freeze
 */
import { ValidationError } from '../../core/errors.js';
import type { Env, ResetOptions, ResetResult, StepResult } from '../env.js';
import { RunningMeanStd, type RunningMeanStdState } from './running-mean-std.js';
import { Wrapper } from './wrapper.js';

/** Options of {@link NormalizeReward}. */
export interface NormalizeRewardOptions {
  /** Discount of the return estimate (default 0.99); use the agent's gamma. */
  gamma?: number;
  /** Added to the variance before the square root (default 1e-8). */
  epsilon?: number;
  /** Clip scaled rewards to [-clip, clip] (default Infinity: no clip; SB3 uses 10). */
  clip?: number;
  /** Update the statistics (default true). Can be changed later through `training`. */
  training?: boolean;
}

/** Statistics of {@link NormalizeReward} for a checkpoint. */
export interface NormalizeRewardStats {
  rms: RunningMeanStdState;
  /** The discounted return of the episode in progress. */
  discountedReturn: number;
}

/**
 * Scales rewards by the std of the discounted return (see the module comment).
 *
 * @example
 * const env = new NormalizeReward(make('Pendulum-v1'), { gamma: 0.99, clip: 10 });
 */
export class NormalizeReward<Obs = unknown, Act = unknown> extends Wrapper<Obs, Act> {
  /** Running statistics of the discounted return (scalar). */
  readonly rms = new RunningMeanStd([]);
  readonly gamma: number;
  readonly epsilon: number;
  readonly clip: number;
  /** When false the statistics are frozen (Gymnasium's `update_running_mean`). */
  training: boolean;
  /** Discounted return of the episode in progress. */
  discountedReturn = 0;

  constructor(env: Env<Obs, Act>, options: NormalizeRewardOptions = {}) {
    super(env);
    this.gamma = options.gamma ?? 0.99;
    this.epsilon = options.epsilon ?? 1e-8;
    this.clip = options.clip ?? Infinity;
    this.training = options.training ?? true;
    if (!(this.gamma >= 0 && this.gamma <= 1)) throw new ValidationError('gamma', 'a number in [0, 1]', this.gamma, 'NormalizeReward');
    if (!(this.epsilon >= 0)) throw new ValidationError('epsilon', 'a number >= 0', this.epsilon, 'NormalizeReward');
    if (!(this.clip > 0)) throw new ValidationError('clip', 'a number > 0', this.clip, 'NormalizeReward');
  }

  override reset(opts?: ResetOptions): ResetResult<Obs> {
    this.discountedReturn = 0;
    return this.env.reset(opts);
  }

  override step(action: Act): StepResult<Obs> {
    const r = this.env.step(action);
    this.discountedReturn = this.discountedReturn * this.gamma + r.reward;
    if (this.training) this.rms.update(this.discountedReturn);
    const v = r.reward / Math.sqrt(this.rms.var[0] + this.epsilon);
    r.reward = v > this.clip ? this.clip : v < -this.clip ? -this.clip : v;
    if (r.terminated || r.truncated) this.discountedReturn = 0;
    return r;
  }

  /** Statistics for a checkpoint. */
  getStats(): NormalizeRewardStats {
    return { rms: this.rms.getState(), discountedReturn: this.discountedReturn };
  }

  /** Restores statistics from {@link getStats}. */
  setStats(stats: NormalizeRewardStats): void {
    if (stats === null || typeof stats !== 'object') throw new ValidationError('', 'an object {rms, discountedReturn}', stats, 'NormalizeReward.setStats');
    const ret = stats.discountedReturn ?? 0;
    if (typeof ret !== 'number' || !Number.isFinite(ret)) {
      throw new ValidationError('discountedReturn', 'a finite number', ret, 'NormalizeReward.setStats');
    }
    this.rms.setState(stats.rms);
    this.discountedReturn = ret;
  }
}
