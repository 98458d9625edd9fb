/**
 * ActionSequence-v0: a test env whose state is the sequence of past actions, built so that
 * the optimal policy needs memory and a memoryless one provably cannot have it.
 *
 * An episode is `length` (L) steps with `numActions` (k) actions. The first `cueLength` (P)
 * executed actions are the cue: the env draws them uniformly at random and ignores the
 * agent's choice on those steps. From step P on, the agent's action is executed. The reward
 * comes from a fixed random recurrent scorer (seeded by `scorerSeed`) that reads the whole
 * executed sequence:
 *
 *   h_0 = 0,   h_{t+1} = Q·h_t + s_t·E[a_t]       (Q orthogonal, E random action embeddings)
 *   r_t = α·(W[a_t] − mean_b W[b])·tanh(h_t)      for t ≥ P (0 on cue steps)
 *
 * with s_t = `cueScale` on cue steps and `actionScale` afterwards. The scorer's state h_t
 * remembers every action (Q is orthogonal, so nothing decays), so the best action at a step
 * depends on the whole history, the cue included. α normalises the exact optimum to 1.
 *
 * Observation: the last executed action (one-hot, zeros at step 0) and the step index
 * (one-hot of t). With `observation: 'cue-only'` the last action is shown only while the cue
 * plays (zeros afterwards): a recurrent agent then has to track its own actions itself.
 *
 * Why memory is needed, and the exact figures ({@link actionSequenceValues}):
 * - Optimum (any history-dependent policy): after the cue everything is deterministic, so
 *   V* = mean over the k^P cues of the best continuation, found by enumerating all k^L
 *   sequences (65 536 by default). A recurrent agent can reach it: the cue is observed.
 * - Memoryless bound: a policy of the current observation alone sees (t, a_{t−1}). From step
 *   P on its observations are a_{P−1} (the last cue action) and then its own actions, so
 *   whatever it does (even at random), its continuation depends on the cue only through
 *   a_{P−1}. Its value is therefore at most
 *     U = mean over a_{P−1} of max over continuations s of mean over a_0..a_{P−2} of R(cue, s),
 *   also computed exactly. The gap V* − U is large by construction: the scorer reads the cue
 *   with `cueScale` > `actionScale`, and the embeddings are centred over actions, so the
 *   forgotten part of the cue moves every action's score while averaging to zero.
 *   (Default: V* = 1, U ≈ 0.5; a uniformly random policy gets exactly 0, as every step's
 *   scores are centred over actions.)
 * - Without a step index in the observation nothing changes for these figures; it is there
 *   so a memoryless agent can at least follow a time-dependent plan.
 *
 * Rewards are dense (`reward: 'dense'`, r_t on each step) or all at the last step
 * (`'final'`); the return is the same. Episodes terminate after L steps.
 *
 * @example
 * const env = make('ActionSequence-v0', { scorerSeed: 1 });
 * const { optimal, memorylessBound } = actionSequenceValues({ scorerSeed: 1 });
 * env.reset({ seed: 0, options: { cue: [0, 3, 1] } }); // fix the cue (exact evaluation)
 */
import { z } from 'zod';
import { KairosError, ValidationError, parseWith } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { Box, Discrete } from '../../core/spaces.js';
import { orthogonalValues } from '../../tensor/init.js';
import { EMPTY_INFO, seedEnvRng } from '../env.js';
import type { Env, EnvSpec, ResetOptions, ResetResult, StepResult } from '../env.js';
import type { EnvRegistration } from '../registry.js';

const ENV_ID = 'ActionSequence-v0';
/** Largest k^L the exact enumeration accepts (about a second of work). */
const MAX_SEQUENCES = 1 << 20;

/** Options of `make('ActionSequence-v0', ...)`. */
export const ActionSequenceOptionsSchema = z
  .strictObject({
    /** Number of actions k. */
    numActions: z.number().int().min(2).max(16).default(4),
    /** Episode length L (cue included). */
    length: z.number().int().min(2).max(32).default(8),
    /** Random actions the env plays first (the cue), P < L. */
    cueLength: z.number().int().min(1).default(3),
    /** Seed of the scorer's weights: one seed, one fixed task. */
    scorerSeed: z.number().int().nonnegative().default(0),
    /** Hidden size of the scorer. */
    scorerSize: z.number().int().positive().max(256).default(16),
    /** Input scale of cue actions in the scorer. */
    cueScale: z.number().nonnegative().default(2),
    /** Input scale of the agent's actions in the scorer. */
    actionScale: z.number().nonnegative().default(0.5),
    /** `last-action`: one-hot of the last executed action; `cue-only`: shown during the cue only. */
    observation: z.enum(['last-action', 'cue-only']).default('last-action'),
    /** Append a one-hot step index to the observation. */
    stepIndex: z.boolean().default(true),
    /** `dense`: reward each step; `final`: the return at the last step. */
    reward: z.enum(['dense', 'final']).default('dense'),
  })
  .refine((o) => o.cueLength < o.length, { message: 'cueLength must be smaller than length', path: ['cueLength'] })
  .refine((o) => o.numActions ** o.length <= MAX_SEQUENCES, {
    message: `numActions^length must be at most ${MAX_SEQUENCES} (the optimum is found by enumeration)`,
    path: ['length'],
  });

/** Options as a user writes them. */
export type ActionSequenceOptions = z.input<typeof ActionSequenceOptionsSchema>;
/** Options with defaults applied. */
export type ResolvedActionSequenceOptions = z.output<typeof ActionSequenceOptionsSchema>;

/** Exact figures of one task (returns normalised so that `optimal` = 1). */
export interface ActionSequenceValues {
  /** Best expected return of any policy (history-dependent): mean over cues of the best continuation. */
  readonly optimal: number;
  /** Upper bound on the expected return of every memoryless policy (see the module comment). */
  readonly memorylessBound: number;
  /** Best fixed action plan that ignores the cue entirely. */
  readonly openLoop: number;
  /** Expected return of uniformly random actions (0 by construction). */
  readonly random: number;
}

/** The scorer's weights and the exact return of every executed sequence. */
export interface ActionSequenceTask {
  readonly options: ResolvedActionSequenceOptions;
  /** `[k × S]` action embeddings, centred over actions. */
  readonly embed: Float64Array;
  /** `[S × S]` orthogonal recurrence. */
  readonly recurrent: Float64Array;
  /** `[k × S]` readout, centred over actions and multiplied by α. */
  readonly readout: Float64Array;
  /** Return of each of the k^L executed sequences, index Σ a_t·k^(L−1−t). */
  readonly returns: Float64Array;
  readonly values: ActionSequenceValues;
}

/** h ← Q·h + scale·E[a] (into `out`), the scorer's state update. */
function advance(task: Pick<ActionSequenceTask, 'embed' | 'recurrent'>, S: number, h: Float64Array, a: number, scale: number, out: Float64Array): void {
  const { embed, recurrent } = task;
  for (let i = 0; i < S; i++) {
    let s = scale * embed[a * S + i];
    for (let j = 0; j < S; j++) s += recurrent[i * S + j] * h[j];
    out[i] = s;
  }
}

/** Unnormalised score of action `a` given the state h (the readout is already centred). */
function score(readout: Float64Array, S: number, tanhH: Float64Array, a: number): number {
  let r = 0;
  for (let j = 0; j < S; j++) r += readout[a * S + j] * tanhH[j];
  return r;
}

function centreOverActions(m: Float64Array, k: number, S: number): void {
  for (let j = 0; j < S; j++) {
    let mean = 0;
    for (let a = 0; a < k; a++) mean += m[a * S + j];
    mean /= k;
    for (let a = 0; a < k; a++) m[a * S + j] -= mean;
  }
}

const taskCache = new Map<string, ActionSequenceTask>();

/**
 * Builds (or fetches from a cache) the task of `options`: the scorer's weights and the exact
 * return of all k^L sequences, from which the optimum and the memoryless bound follow.
 *
 * @example
 * const task = actionSequenceTask({ scorerSeed: 3 });
 * task.values.optimal; // 1
 */
export function actionSequenceTask(options: ActionSequenceOptions = {}): ActionSequenceTask {
  const o = parseWith(ActionSequenceOptionsSchema, options, ENV_ID);
  const key = JSON.stringify([o.numActions, o.length, o.cueLength, o.scorerSeed, o.scorerSize, o.cueScale, o.actionScale]);
  const cached = taskCache.get(key);
  if (cached) return { ...cached, options: o };
  const { numActions: k, length: L, cueLength: P, scorerSize: S } = o;
  const rng = new Rng(o.scorerSeed);
  const embed = Float64Array.from({ length: k * S }, () => rng.normal());
  centreOverActions(embed, k, S);
  const recurrent = Float64Array.from(orthogonalValues([S, S], rng));
  const readout = Float64Array.from({ length: k * S }, () => rng.normal() / Math.sqrt(S));
  centreOverActions(readout, k, S);

  // Depth-first enumeration of every executed sequence; hs[t] is the scorer state before a_t.
  const N = k ** L;
  const returns = new Float64Array(N);
  const hs = Array.from({ length: L + 1 }, () => new Float64Array(S));
  const th = Array.from({ length: L + 1 }, () => new Float64Array(S));
  const ret = new Float64Array(L + 1);
  const weights = { embed, recurrent };
  const visit = (t: number, index: number): void => {
    if (t === L) {
      returns[index] = ret[L];
      return;
    }
    const h = hs[t];
    for (let j = 0; j < S; j++) th[t][j] = Math.tanh(h[j]);
    for (let a = 0; a < k; a++) {
      ret[t + 1] = ret[t] + (t >= P ? score(readout, S, th[t], a) : 0);
      advance(weights, S, h, a, t < P ? o.cueScale : o.actionScale, hs[t + 1]);
      visit(t + 1, index * k + a);
    }
  };
  visit(0, 0);

  const C = k ** (L - P); // continuations per cue
  const cues = k ** P;
  let optimal = 0;
  for (let c = 0; c < cues; c++) {
    let best = -Infinity;
    for (let s = 0; s < C; s++) best = Math.max(best, returns[c * C + s]);
    optimal += best / cues;
  }
  if (!(optimal > 0)) throw new KairosError(`${ENV_ID}: degenerate scorer (optimum ${optimal}); try another scorerSeed`, 'numerical_error');
  // α: normalise so the optimum is 1 (random play is 0 already: every score is centred).
  const alpha = 1 / optimal;
  for (let i = 0; i < N; i++) returns[i] *= alpha;
  for (let i = 0; i < readout.length; i++) readout[i] *= alpha;

  // Memoryless bound: the continuation may depend on the last cue action only.
  const hidden = k ** (P - 1); // values of a_0..a_{P−2}
  let memorylessBound = 0;
  for (let last = 0; last < k; last++) {
    let best = -Infinity;
    for (let s = 0; s < C; s++) {
      let sum = 0;
      for (let p = 0; p < hidden; p++) sum += returns[(p * k + last) * C + s];
      best = Math.max(best, sum / hidden);
    }
    memorylessBound += best / k;
  }
  let openLoop = -Infinity;
  for (let s = 0; s < C; s++) {
    let sum = 0;
    for (let c = 0; c < cues; c++) sum += returns[c * C + s];
    openLoop = Math.max(openLoop, sum / cues);
  }
  let random = 0;
  for (let i = 0; i < N; i++) random += returns[i] / N;
  const task: ActionSequenceTask = { options: o, embed, recurrent, readout, returns, values: { optimal: 1, memorylessBound, openLoop, random } };
  taskCache.set(key, task);
  return task;
}

/**
 * Exact optimum, memoryless bound, best open-loop plan and random value of a task.
 *
 * @example
 * const v = actionSequenceValues(); // { optimal: 1, memorylessBound: ≈0.5, ... }
 */
export function actionSequenceValues(options: ActionSequenceOptions = {}): ActionSequenceValues {
  return actionSequenceTask(options).values;
}

/** ActionSequence-v0; see the module comment. */
export class ActionSequence implements Env<Float32Array, number> {
  readonly observationSpace: Box;
  readonly actionSpace: Discrete;
  spec?: EnvSpec = undefined;
  readonly options: ResolvedActionSequenceOptions;
  readonly task: ActionSequenceTask;
  private readonly k: number;
  private readonly L: number;
  private readonly P: number;
  private readonly S: number;
  private readonly h = [new Float64Array(0), new Float64Array(0)];
  private readonly tanhH: Float64Array;
  private readonly cue: Int32Array;
  private t = 0;
  private total = 0;
  private rng: Rng | undefined = undefined;

  constructor(options: ActionSequenceOptions = {}) {
    this.task = actionSequenceTask(options);
    this.options = this.task.options;
    const o = this.options;
    this.k = o.numActions;
    this.L = o.length;
    this.P = o.cueLength;
    this.S = o.scorerSize;
    this.h = [new Float64Array(this.S), new Float64Array(this.S)];
    this.tanhH = new Float64Array(this.S);
    this.cue = new Int32Array(this.P);
    this.observationSpace = new Box(0, 1, [this.k + (o.stepIndex ? this.L : 0)]);
    this.actionSpace = new Discrete(this.k);
  }

  /** The exact figures of this env's task. */
  get values(): ActionSequenceValues {
    return this.task.values;
  }

  /** Steps taken in the current episode. */
  get steps(): number {
    return this.t;
  }

  private observe(last: number): Float32Array {
    const obs = new Float32Array(this.observationSpace.size);
    const showAction = this.options.observation === 'last-action' || this.t <= this.P;
    if (last >= 0 && showAction) obs[last] = 1;
    if (this.options.stepIndex && this.t < this.L) obs[this.k + this.t] = 1;
    return obs;
  }

  /**
   * Starts an episode with a fresh random cue, or the cue in `options.cue` (P actions), which
   * lets an evaluation go through all k^P cues exactly.
   */
  reset(opts?: ResetOptions): ResetResult<Float32Array> {
    const rng = (this.rng = seedEnvRng(this.rng, opts?.seed));
    const given = opts?.options?.cue;
    if (given !== undefined) {
      if (!Array.isArray(given) || given.length !== this.P || given.some((a) => !this.actionSpace.contains(a))) {
        throw new ValidationError('options.cue', `${this.P} actions in [0, ${this.k - 1}]`, given, `${ENV_ID} reset`);
      }
      this.cue.set(given as number[]);
    } else {
      for (let i = 0; i < this.P; i++) this.cue[i] = rng.int(this.k);
    }
    this.t = 0;
    this.total = 0;
    this.h[0].fill(0);
    return { observation: this.observe(-1), info: EMPTY_INFO };
  }

  /** Plays `action` (or the cue's action while the cue lasts). */
  step(action: number): StepResult<Float32Array> {
    if (!this.actionSpace.contains(action)) {
      throw new ValidationError('action', `an integer in [0, ${this.k - 1}]`, action, `${ENV_ID} step`);
    }
    if (this.t >= this.L) throw new KairosError(`${ENV_ID}: step() after the episode ended; call reset()`, 'reset_needed');
    const t = this.t;
    const a = t < this.P ? this.cue[t] : action;
    const [h, next] = this.h;
    let r = 0;
    if (t >= this.P) {
      for (let j = 0; j < this.S; j++) this.tanhH[j] = Math.tanh(h[j]);
      r = score(this.task.readout, this.S, this.tanhH, a);
    }
    advance(this.task, this.S, h, a, t < this.P ? this.options.cueScale : this.options.actionScale, next);
    this.h[0] = next;
    this.h[1] = h;
    this.t++;
    this.total += r;
    const done = this.t === this.L;
    const reward = this.options.reward === 'dense' ? r : done ? this.total : 0;
    return { observation: this.observe(a), reward, terminated: done, truncated: false, info: EMPTY_INFO };
  }
}

/** Registration of ActionSequence-v0 (`envs/builtin.ts` registers it). */
export const actionSequenceRegistration: EnvRegistration<ResolvedActionSequenceOptions> = {
  id: ENV_ID,
  entryPoint: (opts) => new ActionSequence(opts),
  optionsSchema: ActionSequenceOptionsSchema as unknown as z.ZodType<ResolvedActionSequenceOptions>,
  description: 'Memory test: a random cue, then actions scored by a fixed random recurrent net over the whole sequence; exact optimum and memoryless bound known.',
};
