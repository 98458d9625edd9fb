/**
 * Rejects actions that the last `info.actionMask` forbids, with a KairosError naming the
 * action and the allowed ones. An agent that ignores masks otherwise fails silently (the
 * env may accept an illegal move, or punish it, and learning just looks slow). Use it
 * while developing an agent or an env; it costs one array read per step.
 *
 * Discrete actions index the mask at `action - start`; MultiDiscrete actions are checked
 * per component against the concatenated per-component masks (as in MaskablePPO).
 *
 * @example
 * const env = new EnforceActionMask(new ActionMasker(base, legalMoves));
 * const { info } = env.reset({ seed: 0 });
 * env.step(allowedActions(info.actionMask!)[0]); // ok; a forbidden action throws
 */
import { KairosError } from '../../core/errors.js';
import { Discrete, MultiDiscrete } from '../../core/spaces.js';
import type { Env, Info, ResetOptions, ResetResult, StepResult } from '../env.js';
import { Wrapper } from './wrapper.js';

/**
 * Indices with a non-zero mask entry, e.g. to print or sample allowed actions.
 *
 * @example
 * allowedActions(Uint8Array.of(1, 0, 1)); // [0, 2]
 */
export function allowedActions(mask: ArrayLike<number>, start = 0): number[] {
  const out: number[] = [];
  for (let i = 0; i < mask.length; i++) if (mask[i]) out.push(start + i);
  return out;
}

/**
 * Throws on actions the current `info.actionMask` forbids (see the module comment).
 *
 * @example
 * const env = new EnforceActionMask(maskedEnv);
 */
export class EnforceActionMask<Obs = unknown, Act = unknown> extends Wrapper<Obs, Act> {
  /** The mask that applies to the next step, or undefined when the env gave none. */
  private mask: ArrayLike<number> | undefined;

  constructor(env: Env<Obs, Act>) {
    super(env);
    const space = env.actionSpace;
    if (!(space instanceof Discrete) && !(space instanceof MultiDiscrete)) {
      throw new KairosError(`EnforceActionMask: expected a Discrete or MultiDiscrete action space, received ${String(space)}`, 'unsupported_space');
    }
  }

  /** The mask in force for the next step (undefined when the env gave none). */
  get currentMask(): ArrayLike<number> | undefined {
    return this.mask;
  }

  override reset(opts?: ResetOptions): ResetResult<Obs> {
    const r = this.env.reset(opts);
    this.remember(r.info);
    return r;
  }

  override step(action: Act): StepResult<Obs> {
    const mask = this.mask;
    if (mask !== undefined) this.check(action, mask);
    const r = this.env.step(action);
    this.remember(r.info);
    return r;
  }

  private remember(info: Info): void {
    this.mask = info.actionMask;
  }

  private check(action: Act, mask: ArrayLike<number>): void {
    const space = this.env.actionSpace;
    if (space instanceof Discrete) {
      const a = action as unknown as number;
      if (!mask[a - space.start]) {
        throw new KairosError(
          `EnforceActionMask: action ${a} is masked out; allowed actions: [${allowedActions(mask, space.start).join(', ')}]`,
          'invalid_action',
        );
      }
      return;
    }
    const md = space as unknown as MultiDiscrete;
    const a = action as unknown as ArrayLike<number>;
    let offset = 0;
    for (let i = 0; i < md.nvec.length; i++) {
      if (!mask[offset + a[i] - md.start[i]]) {
        const allowed = allowedActions(Array.prototype.slice.call(mask, offset, offset + md.nvec[i]) as number[], md.start[i]);
        throw new KairosError(
          `EnforceActionMask: action component ${i} = ${a[i]} is masked out; allowed values: [${allowed.join(', ')}]`,
          'invalid_action',
        );
      }
      offset += md.nvec[i];
    }
  }
}
