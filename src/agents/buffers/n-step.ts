/**
 * n-step returns for replay (Sutton & Barto 2018, §7.1, eq. 7.1; as used by Rainbow, Hessel
 * et al. 2018): sits between a vector env of `numEnvs` sub-envs and a {@link TransitionBuffer}
 * and turns each sub-env's 1-step transitions into
 *
 *   (s_t, a_t, R_t^(k), s_{t+k}, terminated, γ^k),  R_t^(k) = Σ_{j=0}^{k-1} γ^j r_{t+j},
 *
 * with k = n while the episode goes on. The target is then R + γ^k (1 − terminated) V(s_{t+k}),
 * so an agent never needs to know n (the buffer row carries γ^k).
 *
 * - Each sub-env keeps a ring of its last n (obs, action, reward, prob); once it holds n
 *   steps, the oldest leaves as an n-step transition whose nextObs, nextMask and terminal
 *   flag are those of the newest step, and whose prob is that of its own (first) action.
 * - When an episode ends (terminated or truncated), every pending step leaves with the k
 *   steps it has (k < n), oldest first. After a truncation the rows are not terminal: the
 *   target bootstraps from the true last observation (Pardo et al. 2018).
 * - n = 1 writes exactly the 1-step transitions (R = r, discount γ).
 * - The input's `discount` is ignored: the writer sets γ^k. `truncated` ends the episode.
 *
 * Every input is validated before anything is stored or written, so a rejected step changes
 * neither the rings nor the buffer. The pending rings are part of a checkpoint
 * ({@link NStepWriter.getState}); without them a resumed run would drop up to n − 1 steps
 * per sub-env.
 *
 * @example
 * const buffer = new ReplayBuffer({ capacity: 100_000, obsDim: 8, action: { kind: 'discrete', n: 4 } });
 * const writer = new NStepWriter(buffer, { n: 3, gamma: 0.99, numEnvs: 8 });
 * writer.add(envIndex, { obs, action, reward, nextObs, terminated, truncated, discount: 0.99 });
 */
import { z } from 'zod';
import { ValidationError, parseWith } from '../../core/errors.js';
import type { BufferLayout, BufferState, TransitionBuffer, TransitionInput } from './types.js';
import {
  ActionLayoutSchema,
  actionWidth,
  checkStateKind,
  checkTransition,
  expectMeta,
  layoutFields,
  takeArray,
} from './validate.js';

/**
 * Options of {@link NStepWriter}; the row layout defaults to the buffer's.
 *
 * @example
 * const opts = parseWith(NStepWriterOptionsSchema, { n: 3, gamma: 0.99, numEnvs: 8 });
 */
export const NStepWriterOptionsSchema = z.strictObject({
  /** Steps per return (Rainbow: 3). 1 passes transitions through unchanged. */
  n: z.number().int().min(1).max(1000),
  /** Discount γ per step. */
  gamma: z.number().min(0).max(1),
  /** Sub-envs feeding the writer; each has its own pending ring. */
  numEnvs: z.number().int().min(1).max(1 << 16),
  /** Row layout; defaults to the buffer's `layout`. */
  obsDim: layoutFields.obsDim.optional(),
  action: ActionLayoutSchema.optional(),
  storeMasks: z.boolean().optional(),
});

/** Options as a user writes them. */
export type NStepWriterOptions = z.input<typeof NStepWriterOptionsSchema>;

const STATE_VERSION = 1;

/**
 * Per-env n-step accumulator in front of a buffer; see the module comment.
 *
 * @example
 * const writer = new NStepWriter(buffer, { n: 3, gamma: 0.99, numEnvs: 2 });
 * writer.add(0, { obs, action: 1, reward: 1, nextObs, terminated: false, discount: 0.99 });
 * writer.pending(0); // 1: written once 3 steps are pending or the episode ends
 */
export class NStepWriter {
  readonly n: number;
  readonly gamma: number;
  readonly numEnvs: number;
  readonly layout: BufferLayout;
  private readonly actDim: number;
  /** γ^k for k = 0..n, by repeated multiplication (so γ^1 is exactly γ). */
  private readonly gammaPow: Float64Array;
  // Rings, slot s of env e at e·n + s.
  private readonly obs: Float32Array;
  private readonly actions: Int32Array | Float32Array;
  /** Float64: returns are summed in double precision before the buffer rounds them. */
  private readonly rewards: Float64Array;
  private readonly probs: Float64Array;
  /** Oldest pending slot per env. */
  private readonly head: Int32Array;
  /** Pending steps per env (< n between calls). */
  private readonly count: Int32Array;
  // Per-slot views and one reusable transition object: emitting allocates nothing.
  private readonly obsViews: Float32Array[];
  private readonly actionViews: Float32Array[] | null;
  private readonly out: { obs: Float32Array; action: number | Float32Array; reward: number; nextObs: ArrayLike<number>; terminated: boolean; discount: number; nextMask: ArrayLike<number> | null; prob: number };

  constructor(
    readonly buffer: TransitionBuffer,
    options: NStepWriterOptions,
  ) {
    const context = 'NStepWriter options';
    const o = parseWith(NStepWriterOptionsSchema, options, context);
    const obsDim = o.obsDim ?? buffer?.layout?.obsDim;
    const action = o.action ?? buffer?.layout?.action;
    const storeMasks = o.storeMasks ?? buffer?.layout?.storeMasks ?? false;
    if (obsDim === undefined) throw new ValidationError('obsDim', 'a number (the buffer exposes no layout)', undefined, context);
    if (action === undefined) throw new ValidationError('action', 'an action layout (the buffer exposes no layout)', undefined, context);
    if (storeMasks && action.kind !== 'discrete') throw new ValidationError('storeMasks', 'false unless action.kind is "discrete"', storeMasks, context);
    this.n = o.n;
    this.gamma = o.gamma;
    this.numEnvs = o.numEnvs;
    this.layout = { obsDim, action, storeMasks };
    this.actDim = actionWidth(action);
    this.gammaPow = new Float64Array(o.n + 1);
    this.gammaPow[0] = 1;
    for (let k = 1; k <= o.n; k++) this.gammaPow[k] = this.gammaPow[k - 1] * o.gamma;
    const slots = o.numEnvs * o.n;
    this.obs = new Float32Array(slots * obsDim);
    this.actions = action.kind === 'discrete' ? new Int32Array(slots) : new Float32Array(slots * this.actDim);
    this.rewards = new Float64Array(slots);
    this.probs = new Float64Array(slots);
    this.head = new Int32Array(o.numEnvs);
    this.count = new Int32Array(o.numEnvs);
    this.obsViews = Array.from({ length: slots }, (_, s) => this.obs.subarray(s * obsDim, (s + 1) * obsDim));
    const acts = this.actions;
    this.actionViews = acts instanceof Float32Array ? Array.from({ length: slots }, (_, s) => acts.subarray(s * this.actDim, (s + 1) * this.actDim)) : null;
    this.out = { obs: this.obsViews[0], action: 0, reward: 0, nextObs: this.obsViews[0], terminated: false, discount: 1, nextMask: null, prob: Number.NaN };
  }

  /** Steps of env `envIndex` not yet written (they leave once n are pending or the episode ends). */
  pending(envIndex: number): number {
    this.checkEnv(envIndex, 'NStepWriter.pending');
    return this.count[envIndex];
  }

  /**
   * Takes one step of sub-env `envIndex` and writes to the buffer whatever it completes:
   * the n-step transition of the oldest pending step once n are pending, and every pending
   * step when `terminated` or `truncated` is set. Allocates nothing.
   */
  add(envIndex: number, t: TransitionInput): void {
    const context = 'NStepWriter.add';
    this.checkEnv(envIndex, context);
    checkTransition(t, this.layout, context, false);
    const n = this.n;
    const base = envIndex * n;
    let c = this.count[envIndex];
    const h = this.head[envIndex];
    const slot = base + ((h + c) % n);
    this.obs.set(t.obs, slot * this.layout.obsDim);
    if (this.actionViews) this.actionViews[slot].set(t.action as ArrayLike<number>);
    else this.actions[slot] = t.action as number;
    this.rewards[slot] = t.reward;
    this.probs[slot] = t.prob === undefined ? Number.NaN : t.prob;
    c++;
    this.count[envIndex] = c;
    if (c === n) this.emitOldest(envIndex, n, t);
    if (t.terminated || t.truncated === true) {
      // Episode over: the remaining steps leave with the k < n steps they have.
      while (this.count[envIndex] > 0) this.emitOldest(envIndex, this.count[envIndex], t);
      this.head[envIndex] = 0;
    }
  }

  /** Writes the oldest pending step of `env` as a k-step transition ending at `last`, then drops it. */
  private emitOldest(env: number, k: number, last: TransitionInput): void {
    const n = this.n;
    const base = env * n;
    const h = this.head[env];
    // R = Σ_{j<k} γ^j r_{t+j}, summed oldest first in double precision.
    let ret = 0;
    for (let j = 0; j < k; j++) ret += this.gammaPow[j] * this.rewards[base + ((h + j) % n)];
    const slot = base + h;
    const out = this.out;
    out.obs = this.obsViews[slot];
    out.action = this.actionViews ? this.actionViews[slot] : this.actions[slot];
    out.reward = ret;
    out.nextObs = last.nextObs;
    out.terminated = last.terminated;
    out.discount = this.gammaPow[k];
    out.nextMask = last.nextMask ?? null;
    out.prob = this.probs[slot];
    this.buffer.add(out);
    this.head[env] = (h + 1) % n;
    this.count[env]--;
  }

  /**
   * Drops the pending steps of `envIndex` (or of every env) without writing them: for a
   * sub-env reset the writer did not see as an episode end.
   */
  clear(envIndex?: number): void {
    if (envIndex === undefined) {
      this.count.fill(0);
      this.head.fill(0);
      return;
    }
    this.checkEnv(envIndex, 'NStepWriter.clear');
    this.count[envIndex] = 0;
    this.head[envIndex] = 0;
  }

  private checkEnv(envIndex: number, context: string): void {
    if (!Number.isInteger(envIndex) || envIndex < 0 || envIndex >= this.numEnvs) {
      throw new ValidationError('envIndex', `an integer in [0, ${this.numEnvs})`, envIndex, context);
    }
  }

  /** Snapshot of the pending rings (copies); the buffer's rows are saved separately. */
  getState(): BufferState {
    return {
      kind: 'n-step',
      meta: { version: STATE_VERSION, n: this.n, gamma: this.gamma, numEnvs: this.numEnvs, obsDim: this.layout.obsDim, action: this.layout.action },
      arrays: {
        obs: this.obs.slice(),
        actions: this.actions.slice(),
        rewards: this.rewards.slice(),
        probs: this.probs.slice(),
        head: this.head.slice(),
        count: this.count.slice(),
      },
    };
  }

  /** Restores {@link getState}; validates everything (naming the bad field) before writing. */
  setState(state: BufferState): void {
    const context = 'NStepWriter.setState';
    checkStateKind(state, 'n-step', context);
    expectMeta(state, 'version', STATE_VERSION, context);
    expectMeta(state, 'n', this.n, context);
    expectMeta(state, 'gamma', this.gamma, context);
    expectMeta(state, 'numEnvs', this.numEnvs, context);
    expectMeta(state, 'obsDim', this.layout.obsDim, context);
    expectMeta(state, 'action', this.layout.action, context);
    const slots = this.numEnvs * this.n;
    const obs = takeArray(state, 'obs', Float32Array, slots * this.layout.obsDim, context);
    const actions = this.actionViews ? takeArray(state, 'actions', Float32Array, slots * this.actDim, context) : takeArray(state, 'actions', Int32Array, slots, context);
    const rewards = takeArray(state, 'rewards', Float64Array, slots, context);
    const probs = takeArray(state, 'probs', Float64Array, slots, context);
    const head = takeArray(state, 'head', Int32Array, this.numEnvs, context);
    const count = takeArray(state, 'count', Int32Array, this.numEnvs, context);
    for (let e = 0; e < this.numEnvs; e++) {
      if (!(head[e] >= 0 && head[e] < this.n)) throw new ValidationError(`arrays.head[${e}]`, `an integer in [0, ${this.n})`, head[e], context);
      // A full ring is emitted at once, so fewer than n steps are ever pending.
      if (!(count[e] >= 0 && count[e] < this.n)) throw new ValidationError(`arrays.count[${e}]`, `an integer in [0, ${this.n})`, count[e], context);
    }
    this.obs.set(obs);
    (this.actions as Float32Array).set(actions as Float32Array);
    this.rewards.set(rewards);
    this.probs.set(probs);
    this.head.set(head);
    this.count.set(count);
  }
}
