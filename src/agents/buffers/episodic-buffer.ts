/**
 * Episode replay for recurrent Q-networks (DRQN, Hausknecht & Stone 2015; R2D2, Kapturowski
 * et al. 2019): keeps whole episodes and samples fixed-length sequences `[B × T × ...]` from
 * them, padded at the end where an episode is shorter than T.
 *
 * - Capacity is counted in transitions (rows), like {@link ReplayBuffer}, so memory is known
 *   up front whatever the episode lengths; whole episodes are evicted oldest first to make
 *   room, so a stored episode is always complete.
 * - Each sub-env's running episode is staged apart (up to `maxEpisodeLength` steps, default
 *   min(capacity, 10 000)) and enters the ring only when it ends (terminated or truncated):
 *   a sampled sequence never sees half an episode, and ring overwrites never cut a running
 *   one. A step that would make an episode longer than `maxEpisodeLength` is rejected.
 * - Sampling picks episodes uniformly. `fromStart: true` (the default) starts every sequence
 *   at its episode's first step: the recurrent Q over action histories unrolls from a zero
 *   state there, so no hidden state is stored or guessed. `fromStart: false` starts at a
 *   uniform step in [0, max(0, L − T)], so a window is full whenever the episode has T steps
 *   (DRQN's "bootstrapped random updates", zero state at the window start).
 * - Padding (steps past the episode end) is 0 in every array, `valid` included.
 * - `prevActions[b, t]` is the action taken before step t of the sequence (the input a
 *   recurrent Q over action histories reads): -1 for a discrete action (tf.oneHot(-1) is the
 *   zero vector) or zeros for a continuous one at an episode's first step.
 * - Rows hold nextObs as well as obs, so the last step of a window or a truncated episode can
 *   bootstrap without looking past the window (2 × obsDim floats per row).
 *
 * @example
 * const buf = new EpisodicBuffer({ capacity: 100_000, obsDim: 6, action: { kind: 'discrete', n: 4 }, numEnvs: 8 });
 * buf.addStep(i, { obs, action, reward, nextObs, terminated, truncated, discount: 0.99 });
 * const s = buf.sampleSequences(32, 20, rng);              // from each episode's start
 * s.obs;   // Float32Array [32 × 20 × 6]; s.valid: [32 × 20], 0 on padding
 */
import { z } from 'zod';
import { KairosError, ValidationError, parseWith } from '../../core/errors.js';
import type { Rng } from '../../core/rng.js';
import { RowStore } from './row-store.js';
import type { BufferLayout, BufferState, TransitionInput } from './types.js';
import {
  MAX_ROWS,
  checkCount,
  checkStateKind,
  checkTransition,
  expectMeta,
  layoutFields,
  masksNeedDiscrete,
  metaInt,
  takeArray,
} from './validate.js';

/**
 * Options of {@link EpisodicBuffer}; capacity counts transitions.
 *
 * @example
 * const opts = parseWith(EpisodicBufferOptionsSchema, { capacity: 1e5, obsDim: 6, action: { kind: 'discrete', n: 4 }, numEnvs: 8 });
 */
export const EpisodicBufferOptionsSchema = z
  .strictObject({
    /** Transitions kept (summed over episodes); the oldest whole episodes make room. */
    capacity: z.number().int().min(1).max(MAX_ROWS),
    /** Longest episode accepted (≤ capacity); default min(capacity, 10 000). Sizes the per-env staging. */
    maxEpisodeLength: z.number().int().min(1).max(MAX_ROWS).optional(),
    /** Sub-envs adding steps, each with its own running episode. */
    numEnvs: z.number().int().min(1).max(1 << 16).default(1),
    ...layoutFields,
  })
  .superRefine(masksNeedDiscrete)
  .superRefine((o, ctx) => {
    if (o.maxEpisodeLength !== undefined && o.maxEpisodeLength > o.capacity) {
      ctx.addIssue({ code: 'custom', path: ['maxEpisodeLength'], message: `at most capacity (${o.capacity})` });
    }
  });

/** Options as a user writes them. */
export type EpisodicBufferOptions = z.input<typeof EpisodicBufferOptionsSchema>;

/**
 * Options of {@link EpisodicBuffer.sampleSequences}.
 *
 * @example
 * buf.sampleSequences(32, 20, rng, { fromStart: false }); // windows at random steps
 */
export interface SampleSequencesOptions {
  /** Start every sequence at its episode's first step (default true); false: a random step. */
  fromStart?: boolean;
  /** Same as `fromStart` (the name the recurrent DQN uses); give one or the other. */
  fromEpisodeStart?: boolean;
}

/**
 * B sequences of T steps: views into arrays the buffer reuses for the next sample of the
 * same shape. Index `[b, t]` is `b × T + t` (times the width for obs, masks, continuous
 * actions). Every array is 0 where `valid` is 0.
 *
 * @example
 * const s = buf.sampleSequences(B, T, rng);
 * const k = b * s.length + t;
 * if (s.valid[k]) use(s.obs.subarray(k * obsDim, (k + 1) * obsDim), s.prevActions[k], s.actions[k]);
 */
export interface SequenceBatch {
  /** B */
  readonly size: number;
  /** T */
  readonly length: number;
  /** `[B × T × obsDim]` */
  readonly obs: Float32Array;
  /** `[B × T × obsDim]` observation after each step (the true last one at an episode end). */
  readonly nextObs: Float32Array;
  /** Discrete `[B × T]`, continuous `[B × T × dim]`. */
  readonly actions: Int32Array | Float32Array;
  /** Same shape as `actions`: the action before each step; -1 (discrete) or zeros at an episode's first step. */
  readonly prevActions: Int32Array | Float32Array;
  /** `[B × T]` */
  readonly rewards: Float32Array;
  /** `[B × T]`, 1 where the step reached a terminal state. */
  readonly terminated: Float32Array;
  /** `[B × T]` the stored discount of each step (γ). */
  readonly discounts: Float32Array;
  /** `[B × T × n]` next-state masks, or null when the buffer stores none. */
  readonly nextMasks: Uint8Array | null;
  /** `[B × T]` behaviour probabilities (NaN where unknown). */
  readonly probs: Float32Array;
  /** `[B × T]` 1 on real steps, 0 on padding. */
  readonly valid: Float32Array;
  /** `[B]` step of its episode where each sequence starts (0 with `fromStart`). */
  readonly starts: Int32Array;
  /** `[B]` real steps in each sequence (the rest is padding). */
  readonly lengths: Int32Array;
}

type MutableSequenceBatch = { -readonly [K in keyof SequenceBatch]: SequenceBatch[K] };

const STATE_VERSION = 1;
const MAX_SEQ_LEN = 1 << 20;

/**
 * Whole-episode replay with sequence sampling; see the module comment.
 *
 * @example
 * const buf = new EpisodicBuffer({ capacity: 20_000, maxEpisodeLength: 500, obsDim: 4, action: { kind: 'discrete', n: 2 }, numEnvs: 4 });
 * buf.addStep(env, { obs, action, reward, nextObs, terminated, truncated, discount: 0.99 });
 * if (buf.numEpisodes > 0) train(buf.sampleSequences(16, 32, rng));
 */
export class EpisodicBuffer {
  readonly capacity: number;
  readonly maxEpisodeLength: number;
  readonly numEnvs: number;
  readonly layout: BufferLayout;
  private readonly ring: RowStore;
  private readonly stage: RowStore;
  /** Steps staged per env (its running episode). */
  private readonly stageLength: Int32Array;
  // Stored episodes: a FIFO queue of (first row, length), oldest at `epHead`.
  private readonly epStart: Int32Array;
  private readonly epLength: Int32Array;
  private epHead = 0;
  private epCount = 0;
  /** Ring row the next committed episode starts at. */
  private writePos = 0;
  /** Rows held by stored episodes. */
  private used = 0;
  /** Rows ever written (≤ capacity): what a snapshot must keep. */
  private filled = 0;
  private readonly batches = new Map<number, MutableSequenceBatch>();

  constructor(options: EpisodicBufferOptions) {
    const o = parseWith(EpisodicBufferOptionsSchema, options, 'EpisodicBuffer options');
    this.capacity = o.capacity;
    this.maxEpisodeLength = o.maxEpisodeLength ?? Math.min(o.capacity, 10_000);
    this.numEnvs = o.numEnvs;
    this.layout = { obsDim: o.obsDim, action: o.action, storeMasks: o.storeMasks };
    this.ring = new RowStore(this.layout, o.capacity, 'EpisodicBuffer');
    this.stage = new RowStore(this.layout, o.numEnvs * this.maxEpisodeLength, 'EpisodicBuffer staging');
    this.stageLength = new Int32Array(o.numEnvs);
    // At most one episode per row.
    this.epStart = new Int32Array(o.capacity);
    this.epLength = new Int32Array(o.capacity);
  }

  /** Transitions in stored (finished) episodes. */
  get size(): number {
    return this.used;
  }

  /** Finished episodes stored. */
  get numEpisodes(): number {
    return this.epCount;
  }

  /** Bytes held by the ring, the staging area and the episode table. */
  get byteLength(): number {
    return this.ring.byteLength + this.stage.byteLength + this.stageLength.byteLength + this.epStart.byteLength + this.epLength.byteLength;
  }

  /** Steps of env `envIndex`'s running episode (not yet sampleable). */
  pending(envIndex: number): number {
    this.checkEnv(envIndex, 'EpisodicBuffer.pending');
    return this.stageLength[envIndex];
  }

  /**
   * Adds one step of sub-env `envIndex`; when it ends the episode (`terminated` or
   * `truncated`), the episode is stored and becomes sampleable. Validates before writing.
   */
  addStep(envIndex: number, t: TransitionInput): void {
    const context = 'EpisodicBuffer.addStep';
    this.checkEnv(envIndex, context);
    checkTransition(t, this.layout, context, true);
    const len = this.stageLength[envIndex];
    if (len >= this.maxEpisodeLength) {
      throw new KairosError(
        `${context}: env ${envIndex}'s episode is longer than maxEpisodeLength (${this.maxEpisodeLength}); raise maxEpisodeLength or add a time limit`,
        'episode_too_long',
      );
    }
    this.stage.write(envIndex * this.maxEpisodeLength + len, t, t.discount);
    this.stageLength[envIndex] = len + 1;
    if (t.terminated || t.truncated === true) this.commit(envIndex);
  }

  /** Same as {@link EpisodicBuffer.addStep} (the name transition buffers use). */
  add(envIndex: number, t: TransitionInput): void {
    this.addStep(envIndex, t);
  }

  /** Drops env `envIndex`'s running episode (or every env's) without storing it. */
  clear(envIndex?: number): void {
    if (envIndex === undefined) {
      this.stageLength.fill(0);
      return;
    }
    this.checkEnv(envIndex, 'EpisodicBuffer.clear');
    this.stageLength[envIndex] = 0;
  }

  /** Moves env `e`'s finished episode into the ring, evicting the oldest episodes for room. */
  private commit(e: number): void {
    const L = this.stageLength[e];
    const cap = this.capacity;
    while (cap - this.used < L) {
      this.used -= this.epLength[this.epHead];
      this.epHead = this.epHead + 1 === cap ? 0 : this.epHead + 1;
      this.epCount--;
    }
    const from = e * this.maxEpisodeLength;
    let row = this.writePos;
    for (let k = 0; k < L; k++) {
      this.ring.copyRow(this.stage, from + k, row);
      row = row + 1 === cap ? 0 : row + 1;
    }
    const slot = (this.epHead + this.epCount) % cap;
    this.epStart[slot] = this.writePos;
    this.epLength[slot] = L;
    this.epCount++;
    this.used += L;
    this.writePos = row;
    this.filled = Math.min(cap, this.filled + L);
    this.stageLength[e] = 0;
  }

  /**
   * Samples `batchSize` sequences of `seqLen` steps from uniformly chosen stored episodes
   * (with replacement). Throws when no episode has finished yet. Allocates nothing after the
   * first call with a given shape.
   */
  sampleSequences(batchSize: number, seqLen: number, rng: Rng, options: SampleSequencesOptions = {}): SequenceBatch {
    const context = 'EpisodicBuffer.sampleSequences';
    checkCount(batchSize, 'batchSize', context);
    checkCount(seqLen, 'seqLen', context, MAX_SEQ_LEN);
    const fromStart = this.fromStartOption(options, context);
    if (this.epCount === 0) throw new KairosError(`${context}: no finished episode stored yet`, 'empty_buffer');
    const s = this.batchFor(batchSize, seqLen);
    const T = seqLen;
    const cap = this.capacity;
    const r = this.ring;
    const d = r.obsDim;
    const w = r.actDim;
    const m = r.maskDim;
    for (let b = 0; b < batchSize; b++) {
      const ep = (this.epHead + rng.int(this.epCount)) % cap;
      const L = this.epLength[ep];
      const offset = fromStart ? 0 : rng.int(Math.max(0, L - T) + 1);
      const steps = Math.min(T, L - offset);
      s.starts[b] = offset;
      s.lengths[b] = steps;
      let row = (this.epStart[ep] + offset) % cap;
      let prev = offset === 0 ? -1 : row === 0 ? cap - 1 : row - 1;
      for (let t = 0; t < steps; t++) {
        const k = b * T + t;
        copy(r.obs, s.obs, row, k, d);
        copy(r.nextObs, s.nextObs, row, k, d);
        copy(r.actions, s.actions, row, k, w);
        if (prev < 0) s.prevActions.fill(r.discrete ? -1 : 0, k * w, (k + 1) * w);
        else copy(r.actions, s.prevActions, prev, k, w);
        s.rewards[k] = r.rewards[row];
        s.terminated[k] = r.terminated[row];
        s.discounts[k] = r.discounts[row];
        s.probs[k] = r.probs[row];
        s.valid[k] = 1;
        if (s.nextMasks && r.nextMasks) copy(r.nextMasks, s.nextMasks, row, k, m);
        prev = row;
        row = row + 1 === cap ? 0 : row + 1;
      }
      // Padding: zero the rest of the row (the arrays are reused between samples).
      const k0 = b * T + steps;
      const k1 = (b + 1) * T;
      if (k0 < k1) {
        s.obs.fill(0, k0 * d, k1 * d);
        s.nextObs.fill(0, k0 * d, k1 * d);
        s.actions.fill(0, k0 * w, k1 * w);
        s.prevActions.fill(0, k0 * w, k1 * w);
        s.rewards.fill(0, k0, k1);
        s.terminated.fill(0, k0, k1);
        s.discounts.fill(0, k0, k1);
        s.probs.fill(0, k0, k1);
        s.valid.fill(0, k0, k1);
        s.nextMasks?.fill(0, k0 * m, k1 * m);
      }
    }
    return s;
  }

  private fromStartOption(options: SampleSequencesOptions, context: string): boolean {
    const a = options?.fromStart;
    const b = options?.fromEpisodeStart;
    for (const [name, v] of [['fromStart', a], ['fromEpisodeStart', b]] as const) {
      if (v !== undefined && typeof v !== 'boolean') throw new ValidationError(`options.${name}`, 'a boolean or undefined', v, context);
    }
    if (a !== undefined && b !== undefined && a !== b) throw new ValidationError('options.fromEpisodeStart', `the same as fromStart (${a})`, b, context);
    return a ?? b ?? true;
  }

  private batchFor(B: number, T: number): MutableSequenceBatch {
    const key = B * MAX_SEQ_LEN + T;
    let s = this.batches.get(key);
    if (!s) {
      const { obsDim: d, actDim: w, maskDim: m, discrete } = this.ring;
      const n = B * T;
      s = {
        size: B,
        length: T,
        obs: new Float32Array(n * d),
        nextObs: new Float32Array(n * d),
        actions: discrete ? new Int32Array(n) : new Float32Array(n * w),
        prevActions: discrete ? new Int32Array(n) : new Float32Array(n * w),
        rewards: new Float32Array(n),
        terminated: new Float32Array(n),
        discounts: new Float32Array(n),
        nextMasks: m > 0 ? new Uint8Array(n * m) : null,
        probs: new Float32Array(n),
        valid: new Float32Array(n),
        starts: new Int32Array(B),
        lengths: new Int32Array(B),
      };
      this.batches.set(key, s);
    }
    return s;
  }

  private checkEnv(envIndex: number, context: string): void {
    if (!Number.isInteger(envIndex) || envIndex < 0 || envIndex >= this.numEnvs) {
      throw new ValidationError('envIndex', `an integer in [0, ${this.numEnvs})`, envIndex, context);
    }
  }

  /**
   * Snapshot (copies): the ring rows written so far, the episode table in age order, and
   * every running episode (staged rows packed env after env, under `stage.*`).
   */
  getState(): BufferState {
    const cap = this.capacity;
    const starts = new Int32Array(this.epCount);
    const lengths = new Int32Array(this.epCount);
    for (let k = 0; k < this.epCount; k++) {
      const slot = (this.epHead + k) % cap;
      starts[k] = this.epStart[slot];
      lengths[k] = this.epLength[slot];
    }
    let staged = 0;
    for (let e = 0; e < this.numEnvs; e++) staged += this.stageLength[e];
    const packed = new RowStore(this.layout, staged, 'EpisodicBuffer snapshot');
    let row = 0;
    for (let e = 0; e < this.numEnvs; e++) {
      for (let k = 0; k < this.stageLength[e]; k++) packed.copyRow(this.stage, e * this.maxEpisodeLength + k, row++);
    }
    return {
      kind: 'episodic',
      meta: {
        version: STATE_VERSION,
        capacity: cap,
        maxEpisodeLength: this.maxEpisodeLength,
        numEnvs: this.numEnvs,
        obsDim: this.layout.obsDim,
        action: this.layout.action,
        storeMasks: this.layout.storeMasks,
        writePos: this.writePos,
        filled: this.filled,
      },
      arrays: {
        ...this.ring.snapshot(this.filled),
        ...packed.snapshot(staged, 'stage.'),
        episodeStarts: starts,
        episodeLengths: lengths,
        stageLengths: this.stageLength.slice(),
      },
    };
  }

  /** Restores {@link getState}; validates everything (naming the bad field) before writing. */
  setState(state: BufferState): void {
    const context = 'EpisodicBuffer.setState';
    checkStateKind(state, 'episodic', context);
    expectMeta(state, 'version', STATE_VERSION, context);
    expectMeta(state, 'capacity', this.capacity, context);
    expectMeta(state, 'maxEpisodeLength', this.maxEpisodeLength, context);
    expectMeta(state, 'numEnvs', this.numEnvs, context);
    expectMeta(state, 'obsDim', this.layout.obsDim, context);
    expectMeta(state, 'action', this.layout.action, context);
    expectMeta(state, 'storeMasks', this.layout.storeMasks, context);
    const cap = this.capacity;
    const filled = metaInt(state, 'filled', 0, cap, context);
    // Before the ring wraps, episodes fill [0, filled) and the next one starts at `filled`.
    const writePos = filled < cap ? metaInt(state, 'writePos', filled, filled, context) : metaInt(state, 'writePos', 0, cap - 1, context);
    const starts = state.arrays.episodeStarts;
    if (!(starts instanceof Int32Array) || starts.length > cap) throw new ValidationError('arrays.episodeStarts', `an Int32Array of length ≤ ${cap}`, starts, context);
    const lengths = takeArray(state, 'episodeLengths', Int32Array, starts.length, context);
    // Episodes are contiguous, oldest first, and the newest ends at writePos.
    let used = 0;
    for (let k = 0; k < starts.length; k++) {
      const L = lengths[k];
      if (!(L >= 1 && L <= this.maxEpisodeLength)) throw new ValidationError(`arrays.episodeLengths[${k}]`, `an integer in [1, ${this.maxEpisodeLength}]`, L, context);
      const expected = k === 0 ? undefined : (starts[k - 1] + lengths[k - 1]) % cap;
      if (!(starts[k] >= 0 && starts[k] < cap) || (expected !== undefined && starts[k] !== expected)) {
        throw new ValidationError(`arrays.episodeStarts[${k}]`, expected === undefined ? `an integer in [0, ${cap})` : String(expected), starts[k], context);
      }
      used += L;
    }
    if (used > filled) throw new ValidationError('arrays.episodeLengths', `lengths summing to at most meta.filled (${filled})`, `sum ${used}`, context);
    const n = starts.length;
    if (n > 0 && (starts[n - 1] + lengths[n - 1]) % cap !== writePos) {
      throw new ValidationError('meta.writePos', `${(starts[n - 1] + lengths[n - 1]) % cap} (the end of the newest episode)`, writePos, context);
    }
    // Before the ring wraps, no episode may reach rows past `filled` (they are not in the snapshot).
    if (n > 0 && filled < cap && starts[0] + used !== filled) {
      throw new ValidationError('arrays.episodeStarts[0]', `${filled - used} (episodes end at meta.filled)`, starts[0], context);
    }
    const stageLengths = takeArray(state, 'stageLengths', Int32Array, this.numEnvs, context);
    let staged = 0;
    for (let e = 0; e < this.numEnvs; e++) {
      const L = stageLengths[e];
      if (!(L >= 0 && L <= this.maxEpisodeLength)) throw new ValidationError(`arrays.stageLengths[${e}]`, `an integer in [0, ${this.maxEpisodeLength}]`, L, context);
      staged += L;
    }
    const ringRows = this.ring.parseSnapshot(state, filled, context);
    const stageRows = new RowStore(this.layout, staged, context, this.stage.parseSnapshot(state, staged, context, 'stage.'));

    // Everything checked: write.
    this.ring.restore(ringRows);
    let row = 0;
    for (let e = 0; e < this.numEnvs; e++) {
      for (let k = 0; k < stageLengths[e]; k++) this.stage.copyRow(stageRows, row++, e * this.maxEpisodeLength + k);
    }
    this.stageLength.set(stageLengths);
    this.epStart.set(starts);
    this.epLength.set(lengths);
    this.epHead = 0;
    this.epCount = n;
    this.used = used;
    this.writePos = writePos;
    this.filled = filled;
  }
}

function copy<T extends Float32Array | Int32Array | Uint8Array>(from: T, to: T, src: number, dst: number, w: number): void {
  const s = src * w;
  const d = dst * w;
  for (let k = 0; k < w; k++) to[d + k] = from[s + k];
}
