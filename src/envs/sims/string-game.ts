/**
 * StringGame-v0: the observation is the last action, the reward depends on the last three.
 *
 * ReAgent's StringGame (`reagent/gym/envs/pomdp/string_game.py`, facebookresearch/ReAgent):
 * each action writes a character ("A" or "B"); the next observation is the character just
 * written (one-hot, all zeros at the start); the reward of a step is looked up from the last
 * three characters: "ABB" gives +5, "BBB" gives −5, anything else (shorter strings included)
 * 0. Episodes last 6 steps. The optimum is "ABBABB" with return +10, found here by brute force
 * over all k^L strings ({@link stringGameOptimum}).
 *
 * The observation does not show the string, so a memoryless policy cannot reach the optimum
 * (after "B" it must choose once for both "ABB_" and "AB_"); the best memoryless deterministic
 * policy gets 0. It is the smallest test that a recurrent agent uses its memory.
 *
 * Options generalise the alphabet, the scored patterns (all of one length w, the reward
 * window), the episode length and the observation: `'one-hot'` (ReAgent's, a Box of k) or
 * `'discrete'` (Discrete(k + 1): 0 at the start, 1 + the last action after).
 *
 * @example
 * const env = make('StringGame-v0');
 * env.reset({ seed: 0 });
 * let ret = 0;
 * for (const a of [0, 1, 1, 0, 1, 1]) ret += env.step(a).reward; // "ABBABB": ret = 10
 * stringGameOptimum().value; // 10
 */
import { z } from 'zod';
import { KairosError, parseWith } from '../../core/errors.js';
import { Box, Discrete, type Space } from '../../core/spaces.js';
import { EMPTY_INFO } from '../env.js';
import type { Env, EnvSpec, ResetOptions, ResetResult, StepResult } from '../env.js';
import type { EnvRegistration } from '../registry.js';
import { invalidActionError } from '../classic/validation.js';

const ENV_ID = 'StringGame-v0';
/** Largest k^L the brute-force optimum enumerates. */
const MAX_STRINGS = 1 << 22;

/** Options of `make('StringGame-v0', ...)`; the defaults are ReAgent's. */
export const StringGameOptionsSchema = z
  .strictObject({
    /** The characters; action i writes alphabet[i]. */
    alphabet: z.string().min(2).max(16).default('AB'),
    /** Reward of each scored string of the last w characters (all keys of one length w). */
    patterns: z.record(z.string(), z.number()).default(() => ({ ABB: 5, BBB: -5 })),
    /** Steps per episode (ReAgent's MAX_STEP = 6). */
    length: z.number().int().min(1).max(64).default(6),
    /** `one-hot`: Box(0, 1, [k]) of the last action (zeros at the start); `discrete`: Discrete(k + 1). */
    observation: z.enum(['one-hot', 'discrete']).default('one-hot'),
  })
  .refine((o) => new Set(o.alphabet).size === o.alphabet.length, { message: 'alphabet characters must be distinct', path: ['alphabet'] })
  .refine((o) => Object.keys(o.patterns).length > 0, { message: 'at least one pattern', path: ['patterns'] })
  .refine((o) => new Set(Object.keys(o.patterns).map((p) => p.length)).size <= 1, {
    message: 'all patterns must have the same length (the reward window)',
    path: ['patterns'],
  })
  .refine((o) => Object.keys(o.patterns).every((p) => p.length >= 1 && p.length <= 8 && [...p].every((c) => o.alphabet.includes(c))), {
    message: 'patterns must be 1 to 8 characters of the alphabet',
    path: ['patterns'],
  });

/** Options as a user writes them. */
export type StringGameOptions = z.input<typeof StringGameOptionsSchema>;
/** Options with defaults applied. */
export type ResolvedStringGameOptions = z.output<typeof StringGameOptionsSchema>;

/** Validates options and fills defaults (throws a ValidationError naming the field). */
export function resolveStringGameOptions(options: StringGameOptions | ResolvedStringGameOptions = {}): ResolvedStringGameOptions {
  return parseWith(StringGameOptionsSchema, options, ENV_ID);
}

/**
 * The reward table of `o`: window w and reward of each w-action code Σ a_i · k^(w−1−i)
 * (oldest action first).
 */
function rewardTable(o: ResolvedStringGameOptions): { w: number; table: Float64Array } {
  const k = o.alphabet.length;
  const keys = Object.keys(o.patterns);
  const w = keys[0].length;
  const table = new Float64Array(k ** w);
  for (const p of keys) {
    let code = 0;
    for (const c of p) code = code * k + o.alphabet.indexOf(c);
    table[code] = o.patterns[p];
  }
  return { w, table };
}

/** StringGame-v0; see the module comment. */
export class StringGame implements Env<Float32Array | number, number> {
  readonly observationSpace: Space<Float32Array | number>;
  readonly actionSpace: Discrete;
  spec?: EnvSpec = undefined;
  readonly options: ResolvedStringGameOptions;
  private readonly k: number;
  private readonly w: number;
  private readonly table: Float64Array;
  /** Code of the last w − 1 actions (oldest first), valid once `t` ≥ w − 1. */
  private code = 0;
  private t = 0;
  private done = true;
  private readonly written: number[] = [];

  constructor(options: StringGameOptions = {}) {
    this.options = resolveStringGameOptions(options);
    this.k = this.options.alphabet.length;
    ({ w: this.w, table: this.table } = rewardTable(this.options));
    this.observationSpace = (this.options.observation === 'one-hot' ? new Box(0, 1, [this.k]) : new Discrete(this.k + 1)) as Space<Float32Array | number>;
    this.actionSpace = new Discrete(this.k);
  }

  /** The string written so far in this episode. */
  get text(): string {
    return this.written.map((a) => this.options.alphabet[a]).join('');
  }

  /** Starts an empty string. The game is deterministic; the seed is accepted and unused. */
  reset(_opts?: ResetOptions): ResetResult<Float32Array | number> {
    this.code = 0;
    this.t = 0;
    this.written.length = 0;
    this.done = false;
    return { observation: this.observe(-1), info: EMPTY_INFO };
  }

  /** Writes character `action`; the reward is the pattern value of the last w characters. */
  step(action: number): StepResult<Float32Array | number> {
    if (!this.actionSpace.contains(action)) throw invalidActionError(ENV_ID, action, this.actionSpace);
    if (this.done) throw new KairosError(`${ENV_ID}: step() after the episode ended; call reset()`, 'reset_needed');
    const full = this.code * this.k + action; // code of the last w characters once t ≥ w − 1
    const reward = this.t >= this.w - 1 ? this.table[full] : 0;
    this.code = full % this.k ** (this.w - 1);
    this.written.push(action);
    this.t++;
    this.done = this.t >= this.options.length;
    return { observation: this.observe(action), reward, terminated: this.done, truncated: false, info: { text: this.text } };
  }

  private observe(last: number): Float32Array | number {
    if (this.options.observation === 'discrete') return last + 1;
    const obs = new Float32Array(this.k);
    if (last >= 0) obs[last] = 1;
    return obs;
  }
}

/** The brute-force optimum of a StringGame. */
export interface StringGameOptimum {
  /** Best return over all action strings (the game is deterministic, so over all policies too). */
  readonly value: number;
  /** Every string reaching it, in lexicographic order of actions. */
  readonly strings: readonly string[];
  /** Number of strings enumerated (k^L). */
  readonly enumerated: number;
}

/**
 * Enumerates every action string of length L and returns the best return and the strings
 * reaching it. The game is deterministic, so the best string is the optimal policy's value.
 *
 * @example
 * stringGameOptimum(); // { value: 10, strings: ['ABBABB'], enumerated: 64 }
 */
export function stringGameOptimum(options: StringGameOptions = {}): StringGameOptimum {
  const o = resolveStringGameOptions(options);
  const k = o.alphabet.length;
  const L = o.length;
  const n = k ** L;
  if (n > MAX_STRINGS) throw new KairosError(`stringGameOptimum: ${k}^${L} strings exceed ${MAX_STRINGS}; use a shorter length`, 'invalid_argument');
  const { w, table } = rewardTable(o);
  const windowSize = k ** w;
  let best = -Infinity;
  let strings: string[] = [];
  const actions = new Int32Array(L);
  for (let s = 0; s < n; s++) {
    let x = s;
    for (let t = L - 1; t >= 0; t--) {
      actions[t] = x % k;
      x = Math.floor(x / k);
    }
    let ret = 0;
    let code = 0;
    for (let t = 0; t < L; t++) {
      code = (code * k + actions[t]) % windowSize;
      if (t >= w - 1) ret += table[code];
    }
    if (ret > best) {
      best = ret;
      strings = [];
    }
    if (ret === best) strings.push(Array.from(actions, (a) => o.alphabet[a]).join(''));
  }
  return { value: best, strings, enumerated: n };
}

/** Registration of StringGame-v0 (`envs/builtin.ts` registers it). */
export const stringGameRegistration: EnvRegistration<ResolvedStringGameOptions> = {
  id: ENV_ID,
  entryPoint: (opts) => new StringGame(opts),
  optionsSchema: StringGameOptionsSchema as unknown as z.ZodType<ResolvedStringGameOptions>,
  description: "ReAgent's StringGame: observe the last action, rewarded on the last three (ABB +5, BBB -5); optimum ABBABB = 10.",
};
