/**
 * Applies a function to every observation from `reset` and `step` (Gymnasium 1.x
 * `gymnasium.wrappers.TransformObservation`). Pass the space of the transformed
 * observations when the function changes it (Gymnasium requires it; here it defaults
 * to the inner space, for functions that keep shape and bounds).
 *
 * The function receives an observation the caller owns and may return it modified in
 * place; it must not keep it.
 *
 * @example
 * const env = new TransformObservation(make('CartPole-v1'), (o) => o.map((v) => v * 2),
 *   new Box(-Infinity, Infinity, [4]));
 */
import type { Space } from '../../core/spaces.js';
import type { Env, ResetOptions, ResetResult, StepResult } from '../env.js';
import { Wrapper } from './wrapper.js';

/**
 * Applies a function to observations (see the module comment).
 *
 * @example
 * new TransformObservation(env, (o: Float32Array) => o.map((v) => v / 255));
 */
export class TransformObservation<Obs = unknown, Act = unknown, InnerObs = Obs> extends Wrapper<Obs, Act, InnerObs, Act> {
  private readonly space: Space<Obs>;

  /**
   * @param fn maps an inner observation to the observation the caller sees
   * @param observationSpace the space of `fn`'s outputs (default: the inner space)
   */
  constructor(
    env: Env<InnerObs, Act>,
    readonly fn: (observation: InnerObs) => Obs,
    observationSpace?: Space<Obs>,
  ) {
    super(env);
    this.space = observationSpace ?? (env.observationSpace as unknown as Space<Obs>);
  }

  override get observationSpace(): Space<Obs> {
    return this.space;
  }

  override reset(opts?: ResetOptions): ResetResult<Obs> {
    const r = this.env.reset(opts);
    return { observation: this.fn(r.observation), info: r.info };
  }

  override step(action: Act): StepResult<Obs> {
    const r = this.env.step(action) as unknown as StepResult<unknown>;
    r.observation = this.fn(r.observation as InnerObs);
    return r as StepResult<Obs>;
  }
}
