/**
 * Flattens observations into one float32 vector with the spaces' `flatten` (Gymnasium
 * 1.x `gymnasium.wrappers.FlattenObservation`): Box values are laid out row-major,
 * Discrete and MultiDiscrete become one-hots, Dict keys are concatenated in sorted
 * order, Tuple entries in order. The observation space becomes `flattenSpace(inner)`.
 *
 * A float32 Box observation is already a flat Float32Array and is passed through
 * unchanged (no copy); other spaces get a new Float32Array per observation, since
 * observations belong to the caller.
 *
 * Vector envs need Box/Discrete/MultiDiscrete/MultiBinary observations: wrap a Dict or
 * Tuple env with this first.
 *
 * @example
 * const env = new FlattenObservation(dictEnv); // Dict({pos: Box(2), id: Discrete(3)})
 * env.observationSpace.toString();             // "Box(..., (5,), float32)"
 * env.reset({ seed: 0 }).observation;           // Float32Array(5)
 */
import { Box, flatdim, flattenInto, flattenSpace, type Space } from '../../core/spaces.js';
import type { Env, ResetOptions, ResetResult, StepResult } from '../env.js';
import { Wrapper } from './wrapper.js';

/**
 * Flattens observations with the spaces' `flatten` (see the module comment).
 *
 * @example
 * const env = new FlattenObservation(dictEnv);
 */
export class FlattenObservation<InnerObs = unknown, Act = unknown> extends Wrapper<Float32Array, Act, InnerObs, Act> {
  private readonly space: Box<'float32'>;
  private readonly inner: Space;
  private readonly size: number;
  /** True when the inner observation already is a flat Float32Array. */
  private readonly passThrough: boolean;

  constructor(env: Env<InnerObs, Act>) {
    super(env);
    this.inner = env.observationSpace as Space;
    this.space = flattenSpace(this.inner);
    this.size = flatdim(this.inner);
    this.passThrough = this.inner instanceof Box && this.inner.dtype === 'float32';
  }

  override get observationSpace(): Space<Float32Array> {
    return this.space;
  }

  override reset(opts?: ResetOptions): ResetResult<Float32Array> {
    const r = this.env.reset(opts);
    return { observation: this.flatten(r.observation), info: r.info };
  }

  override step(action: Act): StepResult<Float32Array> {
    const r = this.env.step(action) as unknown as StepResult<unknown>;
    r.observation = this.flatten(r.observation);
    return r as StepResult<Float32Array>;
  }

  private flatten(obs: unknown): Float32Array {
    if (this.passThrough && obs instanceof Float32Array) return obs;
    const out = new Float32Array(this.size);
    flattenInto(this.inner, obs, out, 0);
    return out;
  }
}
