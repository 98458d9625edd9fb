/**
 * Normalises Box observations to roughly zero mean and unit variance per dimension with
 * running statistics (Gymnasium 1.x `gymnasium.wrappers.NormalizeObservation`; SB3's
 * `VecNormalize` for the optional clip):
 *   obs' = clip((obs - mean) / sqrt(var + epsilon), -clip, clip),  epsilon = 1e-8.
 * The statistics are updated with every observation from `reset` and `step` before it is
 * normalised (as Gymnasium does) while `training` is true; set `training = false` to
 * freeze them for evaluation. `getStats`/`setStats` save and restore them with a
 * checkpoint: a policy trained on normalised observations needs the same statistics.
 *
 * The observation space becomes the unbounded float32 Box of the same shape, as in
 * Gymnasium. Observations belong to the caller (Env contract), so a float32 observation
 * from the wrapped env is normalised in place (no allocation per step); other dtypes are
 * converted into a new Float32Array.
 *
 * @example
 * const env = new NormalizeObservation(make('CartPole-v1'), { clip: 10 });
 * env.reset({ seed: 0 });
 * // ... train ...
 * const stats = env.getStats();   // store next to the model
 * env.training = false;           // evaluation: freeze the statistics
 */
import { KairosError, ValidationError } from '../../core/errors.js';
import { Box, type NumericArray, type Space } from '../../core/spaces.js';
import type { Env, ResetOptions, ResetResult, StepResult } from '../env.js';
import { RunningMeanStd, type RunningMeanStdState } from './running-mean-std.js';
import { Wrapper } from './wrapper.js';

/** Options of {@link NormalizeObservation}. */
export interface NormalizeObservationOptions {
  /** Added to the variance before the square root (default 1e-8, as Gymnasium and SB3). */
  epsilon?: number;
  /** Clip normalised values to [-clip, clip] (default Infinity: no clip; SB3 uses 10). */
  clip?: number;
  /** Update the statistics (default true). Can be changed later through `training`. */
  training?: boolean;
}

/**
 * The Box observation space of `env`, or a clear error naming the wrapper.
 *
 * @example
 * const box = requireBoxObservationSpace(env, 'MyWrapper');
 */
export function requireBoxObservationSpace(env: Env<any, any>, wrapper: string, hint = ''): Box<any> {
  const space = env.observationSpace;
  if (!(space instanceof Box)) {
    throw new KairosError(`${wrapper}: expected a Box observation space, received ${String(space)}${hint}`, 'unsupported_space');
  }
  return space;
}

/**
 * Normalises Box observations with running statistics (see the module comment).
 *
 * @example
 * const env = new NormalizeObservation(make('CartPole-v1'));
 * env.training = false; // freeze for evaluation
 */
export class NormalizeObservation<Act = unknown> extends Wrapper<Float32Array, Act, NumericArray, Act> {
  /** The running statistics; shared with the caller (e.g. to log them). */
  readonly rms: RunningMeanStd;
  readonly epsilon: number;
  readonly clip: number;
  /** When false the statistics are frozen (Gymnasium's `update_running_mean`). */
  training: boolean;
  private readonly space: Box<'float32'>;

  constructor(env: Env<NumericArray, Act>, options: NormalizeObservationOptions = {}) {
    super(env);
    const inner = requireBoxObservationSpace(env, 'NormalizeObservation', '; wrap with FlattenObservation first');
    this.epsilon = options.epsilon ?? 1e-8;
    this.clip = options.clip ?? Infinity;
    this.training = options.training ?? true;
    if (!(this.epsilon >= 0)) throw new ValidationError('epsilon', 'a number >= 0', this.epsilon, 'NormalizeObservation');
    if (!(this.clip > 0)) throw new ValidationError('clip', 'a number > 0', this.clip, 'NormalizeObservation');
    this.rms = new RunningMeanStd(inner.shape.length === 0 ? [] : [inner.size]);
    this.space = new Box(-Infinity, Infinity, inner.shape, 'float32');
  }

  override get observationSpace(): Space<Float32Array> {
    return this.space;
  }

  override reset(opts?: ResetOptions): ResetResult<Float32Array> {
    const r = this.env.reset(opts);
    return { observation: this.normalize(r.observation), info: r.info };
  }

  override step(action: Act): StepResult<Float32Array> {
    const r = this.env.step(action) as unknown as StepResult<Float32Array>;
    // Reusing the result object keeps the step allocation-free.
    r.observation = this.normalize(r.observation);
    return r;
  }

  /** Running statistics for a checkpoint. */
  getStats(): RunningMeanStdState {
    return this.rms.getState();
  }

  /** Restores statistics from {@link getStats}. */
  setStats(state: RunningMeanStdState): void {
    this.rms.setState(state);
  }

  private normalize(obs: NumericArray): Float32Array {
    if (obs.length !== this.rms.size) {
      throw new KairosError(`NormalizeObservation: expected an observation of ${this.rms.size} values, received ${obs.length}`, 'invalid_observation');
    }
    if (this.training) this.rms.update(obs);
    const out = obs instanceof Float32Array ? obs : new Float32Array(obs.length);
    return this.rms.normalize(obs, out, this.epsilon, this.clip);
  }
}
