/**
 * Base class for wrappers: forwards everything to the wrapped env. A wrapper changes
 * one thing and overrides only the members that thing touches (Gymnasium's design).
 *
 * @example
 * class Scale extends Wrapper<Float32Array, number> {
 *   override step(a: number) { const r = this.env.step(a); r.reward *= 0.1; return r; }
 * }
 */
import type { Space } from '../../core/spaces.js';
import type { Env, EnvSpec, ResetOptions, ResetResult, StepResult } from '../env.js';

/**
 * Forwards every member to `env`; subclasses override what they change.
 *
 * @example
 * class Scale extends Wrapper<Float32Array, number> {
 *   override step(a: number) { const r = this.env.step(a); r.reward *= 0.1; return r; }
 * }
 */
export class Wrapper<Obs = unknown, Act = unknown, InnerObs = Obs, InnerAct = Act> implements Env<Obs, Act> {
  spec?: EnvSpec;

  constructor(readonly env: Env<InnerObs, InnerAct>) {
    this.spec = env.spec;
  }

  get observationSpace(): Space<Obs> {
    return this.env.observationSpace as unknown as Space<Obs>;
  }

  get actionSpace(): Space<Act> {
    return this.env.actionSpace as unknown as Space<Act>;
  }

  /** The innermost env. */
  get unwrapped(): Env<unknown, unknown> {
    return (this.env.unwrapped ?? this.env) as Env<unknown, unknown>;
  }

  reset(opts?: ResetOptions): ResetResult<Obs> {
    return this.env.reset(opts) as unknown as ResetResult<Obs>;
  }

  step(action: Act): StepResult<Obs> {
    return this.env.step(action as unknown as InnerAct) as unknown as StepResult<Obs>;
  }

  close(): void {
    this.env.close?.();
  }

  toString(): string {
    return `${this.constructor.name}<${String(this.env)}>`;
  }
}

/**
 * The innermost env below all wrappers.
 *
 * @example
 * unwrap(make('CartPole-v1')) instanceof CartPole; // true
 */
export function unwrap(env: Env<any, any>): Env<unknown, unknown> {
  return env.unwrapped ?? env;
}
