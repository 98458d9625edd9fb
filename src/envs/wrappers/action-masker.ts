/**
 * Puts `info.actionMask` (the Kairos convention for allowed discrete actions, 1 = allowed)
 * on every `reset` and `step` result, computed by a function of the env, for envs that
 * expose their legal moves some other way (sb3-contrib's
 * `sb3_contrib.common.wrappers.ActionMasker`, which calls `action_mask_fn(env)`).
 *
 * The mask is copied into a new Uint8Array per result (infos belong to the caller, and
 * the function may return an array it reuses), and the info object is copied so the env's
 * own info (often the frozen `EMPTY_INFO`) is untouched.
 *
 * @example
 * // `Board` is a user env with a `legalMoves(): Uint8Array` method.
 * const env = new ActionMasker(new Board(), (e) => (e.unwrapped as Board).legalMoves());
 * const { info } = env.reset({ seed: 0 });
 * info.actionMask; // Uint8Array(9) [1, 1, 1, ...]
 */
import { KairosError } from '../../core/errors.js';
import { Discrete, MultiDiscrete } from '../../core/spaces.js';
import type { Env, Info, ResetOptions, ResetResult, StepResult } from '../env.js';
import { Wrapper } from './wrapper.js';

/**
 * Length of `info.actionMask` for an action space: n for Discrete, sum(nvec) for MultiDiscrete.
 *
 * @example
 * actionMaskLength(new MultiDiscrete([2, 3])); // 5
 */
export function actionMaskLength(space: unknown): number | undefined {
  if (space instanceof Discrete) return space.n;
  if (space instanceof MultiDiscrete) return space.nvec.reduce((a, b) => a + b, 0);
  return undefined;
}

/**
 * Adds `info.actionMask` computed by `maskFn(env)` (see the module comment).
 *
 * @example
 * const env = new ActionMasker(base, (e) => (e.unwrapped as Board).legalMoves());
 */
export class ActionMasker<Obs = unknown, Act = unknown> extends Wrapper<Obs, Act> {
  private readonly length: number;

  /** @param maskFn returns the allowed actions of the env's current state (1 = allowed) */
  constructor(
    env: Env<Obs, Act>,
    readonly maskFn: (env: Env<Obs, Act>) => ArrayLike<number | boolean>,
  ) {
    super(env);
    const n = actionMaskLength(env.actionSpace);
    if (n === undefined) {
      throw new KairosError(`ActionMasker: expected a Discrete or MultiDiscrete action space, received ${String(env.actionSpace)}`, 'unsupported_space');
    }
    this.length = n;
  }

  override reset(opts?: ResetOptions): ResetResult<Obs> {
    const r = this.env.reset(opts);
    return { observation: r.observation, info: this.withMask(r.info) };
  }

  override step(action: Act): StepResult<Obs> {
    const r = this.env.step(action);
    r.info = this.withMask(r.info);
    return r;
  }

  private withMask(info: Info): Info {
    const m = this.maskFn(this.env);
    if (m === null || m === undefined || m.length !== this.length) {
      throw new KairosError(`ActionMasker: maskFn must return ${this.length} values, received ${m === null || m === undefined ? String(m) : `length ${m.length}`}`, 'invalid_action_mask');
    }
    const mask = new Uint8Array(this.length);
    for (let i = 0; i < this.length; i++) mask[i] = m[i] ? 1 : 0;
    return { ...info, actionMask: mask };
  }
}
