/**
 * Uniform experience replay (Lin 1992; Mnih et al. 2015): a ring of the last `capacity`
 * transitions in preallocated typed arrays, sampled uniformly with replacement.
 *
 * - `add` validates the row first (shapes, action range, finite reward, discount in [0, 1])
 *   and only then writes, so a rejected row never leaves a half-written slot; once full, the
 *   oldest row is overwritten.
 * - `sample` allocates nothing: it fills a batch object kept per batch size (the arrays are
 *   views the next `sample` of that size overwrites).
 * - `getState` copies the rows written so far (a checkpoint of a part-filled buffer is
 *   small); `setState` checks kind, layout, dtypes and lengths before it writes anything.
 *
 * Memory: 81 bytes per transition for LunarLander (obsDim 8, discrete 4, no masks), i.e.
 * 81 MB for 10^6 transitions; SB3's ReplayBuffer takes 84 (it stores an int64 action and
 * float32 done/timeout flags).
 *
 * @example
 * const buf = new ReplayBuffer({ capacity: 100_000, obsDim: 8, action: { kind: 'discrete', n: 4 } });
 * buf.add({ obs, action: 2, reward: -0.3, nextObs, terminated: false, discount: 0.99 });
 * const batch = buf.sample(64, rng); // batch.obs: Float32Array(64 × 8), batch.weights all 1
 */
import { z } from 'zod';
import { KairosError, parseWith } from '../../core/errors.js';
import type { Rng } from '../../core/rng.js';
import { RowStore } from './row-store.js';
import type { RowArrays } from './row-store.js';
import type { ActionLayout, BufferLayout, BufferState, TransitionBatch, TransitionBuffer, TransitionInput } from './types.js';
import { MAX_ROWS, checkCount, checkStateKind, checkTransition, expectMeta, layoutFields, masksNeedDiscrete, metaInt } from './validate.js';

/** Fields of {@link ReplayBufferOptionsSchema}, for schemas that extend it. @internal */
export function replayBufferFields() {
  return {
    /** Transitions kept; the oldest is overwritten once full (SB3 default 1e6). */
    capacity: z.number().int().min(1).max(MAX_ROWS),
    ...layoutFields,
  };
}

/**
 * Options of {@link ReplayBuffer}: capacity and row layout; `storeMasks` needs a discrete action.
 *
 * @example
 * const opts = parseWith(ReplayBufferOptionsSchema, { capacity: 1e5, obsDim: 4, action: { kind: 'discrete', n: 2 } });
 */
export const ReplayBufferOptionsSchema = z.strictObject(replayBufferFields()).superRefine(masksNeedDiscrete);

/** Options as a user writes them. */
export type ReplayBufferOptions = z.input<typeof ReplayBufferOptionsSchema>;

/** Version of the snapshot layout, stored in `meta.version`. */
const STATE_VERSION = 1;

/** A {@link TransitionBatch} the buffer fills in place (for subclasses). @internal */
export interface MutableBatch {
  size: number;
  obs: Float32Array;
  actions: Int32Array | Float32Array;
  rewards: Float32Array;
  nextObs: Float32Array;
  terminated: Float32Array;
  discounts: Float32Array;
  nextMasks: Uint8Array | null;
  probs: Float32Array;
  weights: Float32Array;
  indices: Int32Array;
}

/** What {@link ReplayBuffer} checked in a snapshot, ready to write (for subclasses). @internal */
export interface ParsedStorage {
  size: number;
  pos: number;
  rows: RowArrays;
}

/**
 * Uniform replay over a ring of preallocated rows; see the module comment.
 *
 * @example
 * const buf = new ReplayBuffer({ capacity: 50_000, obsDim: 4, action: { kind: 'discrete', n: 2 }, storeMasks: true });
 * buf.add({ obs, action: 0, reward: 1, nextObs, terminated: false, discount: 0.99, nextMask: [1, 0] });
 * const { obs: o, actions, nextMasks } = buf.sample(32, rng);
 */
export class ReplayBuffer implements TransitionBuffer {
  readonly capacity: number;
  readonly obsDim: number;
  readonly action: ActionLayout;
  readonly storeMasks: boolean;
  readonly layout: BufferLayout;
  /** Row storage; subclasses read rows from it. */
  protected readonly rows: RowStore;
  private pos = 0;
  private count = 0;
  private readonly batches = new Map<number, MutableBatch>();

  constructor(options: ReplayBufferOptions) {
    const o = parseWith(ReplayBufferOptionsSchema, options, 'ReplayBuffer options');
    this.capacity = o.capacity;
    this.obsDim = o.obsDim;
    this.action = o.action;
    this.storeMasks = o.storeMasks;
    this.layout = { obsDim: o.obsDim, action: o.action, storeMasks: o.storeMasks };
    this.rows = new RowStore(this.layout, o.capacity, 'ReplayBuffer');
  }

  /** Transitions stored (≤ capacity). */
  get size(): number {
    return this.count;
  }

  /** Row the next `add` writes: the oldest row once the buffer is full. */
  get writeIndex(): number {
    return this.pos;
  }

  /** Bytes held by the storage arrays (sampled batches not counted). */
  get byteLength(): number {
    return this.rows.byteLength;
  }

  /** Validates and stores one transition, overwriting the oldest once full. Allocates nothing. */
  add(t: TransitionInput): void {
    checkTransition(t, this.layout, 'ReplayBuffer.add', true);
    const i = this.pos;
    this.rows.write(i, t, t.discount);
    this.pos = i + 1 === this.capacity ? 0 : i + 1;
    if (this.count < this.capacity) this.count++;
    this.onWrite(i);
  }

  /** Called after row `index` was (over)written; the prioritised buffer sets its priority. */
  protected onWrite(index: number): void {
    void index;
  }

  /**
   * Samples `batchSize` rows uniformly with replacement. The batch and its arrays are
   * reused by the next call with the same size. Throws when the buffer is empty.
   */
  sample(batchSize: number, rng: Rng): TransitionBatch {
    const b = this.prepareBatch(batchSize, 'ReplayBuffer.sample');
    const n = this.count;
    const idx = b.indices;
    for (let i = 0; i < batchSize; i++) idx[i] = rng.int(n);
    this.gather(b);
    return b;
  }

  /** Uniform replay has no priorities: does nothing (the prioritised buffer overrides it). */
  updatePriorities(indices: Int32Array, tdErrors: ArrayLike<number>): void {
    void indices;
    void tdErrors;
  }

  /** Checks the arguments of a sample and returns the cached batch of that size. */
  protected prepareBatch(batchSize: number, context: string): MutableBatch {
    checkCount(batchSize, 'batchSize', context);
    if (this.count === 0) throw new KairosError(`${context}: the buffer is empty`, 'empty_buffer');
    let b = this.batches.get(batchSize);
    if (!b) {
      const { obsDim: d, actDim, maskDim, discrete } = this.rows;
      const B = batchSize;
      b = {
        size: B,
        obs: new Float32Array(B * d),
        actions: discrete ? new Int32Array(B) : new Float32Array(B * actDim),
        rewards: new Float32Array(B),
        nextObs: new Float32Array(B * d),
        terminated: new Float32Array(B),
        discounts: new Float32Array(B),
        nextMasks: maskDim > 0 ? new Uint8Array(B * maskDim) : null,
        probs: new Float32Array(B),
        // Uniform replay: every importance weight is 1; the prioritised buffer overwrites them.
        weights: new Float32Array(B).fill(1),
        indices: new Int32Array(B),
      };
      this.batches.set(B, b);
    }
    return b;
  }

  /** Copies the rows named by `batch.indices` into the batch arrays. */
  protected gather(batch: MutableBatch): void {
    const r = this.rows;
    const d = r.obsDim;
    const w = r.actDim;
    const m = r.maskDim;
    // Locals, so the loop reads no property per element.
    const srcObs = r.obs;
    const srcNext = r.nextObs;
    const srcAct = r.actions;
    const srcRew = r.rewards;
    const srcTerm = r.terminated;
    const srcDisc = r.discounts;
    const srcProb = r.probs;
    const srcMask = r.nextMasks;
    const idx = batch.indices;
    const { obs, nextObs, actions, rewards, terminated, discounts, probs } = batch;
    const masks = batch.nextMasks;
    for (let i = 0; i < batch.size; i++) {
      const j = idx[i];
      for (let k = 0, s = j * d, t = i * d; k < d; k++) {
        obs[t + k] = srcObs[s + k];
        nextObs[t + k] = srcNext[s + k];
      }
      if (w === 1) actions[i] = srcAct[j];
      else for (let k = 0, s = j * w, t = i * w; k < w; k++) actions[t + k] = srcAct[s + k];
      rewards[i] = srcRew[j];
      terminated[i] = srcTerm[j];
      discounts[i] = srcDisc[j];
      probs[i] = srcProb[j];
      if (masks && srcMask) for (let k = 0, s = j * m, t = i * m; k < m; k++) masks[t + k] = srcMask[s + k];
    }
  }

  /** Snapshot: the layout, write pointer and size in `meta`, copies of the stored rows. */
  getState(): BufferState {
    return { kind: 'replay', meta: this.storageMeta(), arrays: this.rows.snapshot(this.count) };
  }

  /** Restores {@link getState}; throws a ValidationError naming the bad field and changes nothing then. */
  setState(state: BufferState): void {
    const context = 'ReplayBuffer.setState';
    checkStateKind(state, 'replay', context);
    this.restoreStorage(this.parseStorage(state, context));
  }

  /** Layout, pointer and size, for snapshots (shared with subclasses). */
  protected storageMeta(): Record<string, unknown> {
    return {
      version: STATE_VERSION,
      capacity: this.capacity,
      obsDim: this.obsDim,
      action: this.action,
      storeMasks: this.storeMasks,
      size: this.count,
      pos: this.pos,
    };
  }

  /** Validates the storage part of a snapshot without writing anything. */
  protected parseStorage(state: BufferState, context: string): ParsedStorage {
    expectMeta(state, 'version', STATE_VERSION, context);
    expectMeta(state, 'capacity', this.capacity, context);
    expectMeta(state, 'obsDim', this.obsDim, context);
    expectMeta(state, 'action', this.action, context);
    expectMeta(state, 'storeMasks', this.storeMasks, context);
    const size = metaInt(state, 'size', 0, this.capacity, context);
    // Until the ring wraps, the write pointer equals the size.
    const pos = size < this.capacity ? metaInt(state, 'pos', size, size, context) : metaInt(state, 'pos', 0, this.capacity - 1, context);
    return { size, pos, rows: this.rows.parseSnapshot(state, size, context) };
  }

  /** Writes a parsed snapshot. */
  protected restoreStorage(p: ParsedStorage): void {
    this.rows.restore(p.rows);
    this.count = p.size;
    this.pos = p.pos;
  }
}
