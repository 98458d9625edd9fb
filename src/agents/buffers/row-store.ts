/**
 * Column storage for transition rows (internal to `agents/buffers`): one preallocated typed
 * array per field, row i at `[i × width, (i + 1) × width)`. The uniform and prioritised
 * buffers keep their ring in one; the episodic buffer keeps its ring and its per-env staging
 * area in two. Writing assumes the row was validated (see `checkTransition`).
 *
 * Dtypes: Float32 observations (as SB3 and most RL code store them), Int32 discrete actions
 * (an index, never near 2^31) or Float32 continuous ones, Float32 rewards, discounts and
 * probabilities (NaN = unknown), Uint8 terminal flags and masks. 81 bytes per row for
 * LunarLander (obsDim 8, 4 actions, no masks).
 *
 * @example
 * const rows = new RowStore(layout, 1000, 'ReplayBuffer');
 * rows.write(0, t);
 */
import type { BufferArray, BufferLayout, BufferState, TransitionInput } from './types.js';
import { actionWidth, allocate, maskWidth, takeArray } from './validate.js';

/** The arrays of a {@link RowStore}, by name (also the names in snapshots). */
export interface RowArrays {
  obs: Float32Array;
  nextObs: Float32Array;
  actions: Int32Array | Float32Array;
  rewards: Float32Array;
  discounts: Float32Array;
  probs: Float32Array;
  terminated: Uint8Array;
  nextMasks: Uint8Array | null;
}

/** Fixed-size column storage of transition rows. */
export class RowStore implements RowArrays {
  readonly obsDim: number;
  readonly actDim: number;
  /** Mask entries per row; 0 when masks are not stored. */
  readonly maskDim: number;
  readonly discrete: boolean;
  readonly obs: Float32Array;
  readonly nextObs: Float32Array;
  readonly actions: Int32Array | Float32Array;
  readonly rewards: Float32Array;
  readonly discounts: Float32Array;
  readonly probs: Float32Array;
  readonly terminated: Uint8Array;
  readonly nextMasks: Uint8Array | null;

  /**
   * @param arrays wrap these (already validated) arrays instead of allocating; used to read
   *   rows straight out of a snapshot.
   */
  constructor(
    readonly layout: BufferLayout,
    readonly rows: number,
    what: string,
    arrays?: RowArrays,
  ) {
    this.obsDim = layout.obsDim;
    this.actDim = actionWidth(layout.action);
    this.maskDim = maskWidth(layout);
    this.discrete = layout.action.kind === 'discrete';
    if (arrays) {
      ({ obs: this.obs, nextObs: this.nextObs, actions: this.actions, rewards: this.rewards, discounts: this.discounts } = arrays);
      ({ probs: this.probs, terminated: this.terminated, nextMasks: this.nextMasks } = arrays);
      return;
    }
    this.obs = allocate(Float32Array, rows * this.obsDim, `${what} obs`);
    this.nextObs = allocate(Float32Array, rows * this.obsDim, `${what} nextObs`);
    this.actions = this.discrete ? allocate(Int32Array, rows, `${what} actions`) : allocate(Float32Array, rows * this.actDim, `${what} actions`);
    this.rewards = allocate(Float32Array, rows, `${what} rewards`);
    this.discounts = allocate(Float32Array, rows, `${what} discounts`);
    this.probs = allocate(Float32Array, rows, `${what} probs`);
    this.terminated = allocate(Uint8Array, rows, `${what} terminated`);
    this.nextMasks = this.maskDim > 0 ? allocate(Uint8Array, rows * this.maskDim, `${what} nextMasks`) : null;
  }

  /** Bytes held by the arrays. */
  get byteLength(): number {
    const a = this;
    return (
      a.obs.byteLength + a.nextObs.byteLength + a.actions.byteLength + a.rewards.byteLength + a.discounts.byteLength +
      a.probs.byteLength + a.terminated.byteLength + (a.nextMasks?.byteLength ?? 0)
    );
  }

  /** Writes a validated transition into `row` with the given discount. Allocates nothing. */
  write(row: number, t: TransitionInput, discount: number): void {
    const d = this.obsDim;
    const o = row * d;
    const obs = t.obs;
    const next = t.nextObs;
    for (let k = 0; k < d; k++) {
      this.obs[o + k] = obs[k];
      this.nextObs[o + k] = next[k];
    }
    if (this.discrete) {
      this.actions[row] = t.action as number;
    } else {
      const a = t.action as ArrayLike<number>;
      const w = this.actDim;
      for (let k = 0; k < w; k++) this.actions[row * w + k] = a[k];
    }
    this.rewards[row] = t.reward;
    this.discounts[row] = discount;
    this.probs[row] = t.prob === undefined ? Number.NaN : t.prob;
    this.terminated[row] = t.terminated ? 1 : 0;
    const masks = this.nextMasks;
    if (masks) {
      const m = t.nextMask;
      const w = this.maskDim;
      // No mask given: every action is allowed in nextObs.
      if (m == null) masks.fill(1, row * w, (row + 1) * w);
      else for (let k = 0; k < w; k++) masks[row * w + k] = m[k];
    }
  }

  /** Copies row `src` of `from` (same layout) into row `dst`. */
  copyRow(from: RowStore, src: number, dst: number): void {
    copyRange(from.obs, this.obs, src, dst, this.obsDim);
    copyRange(from.nextObs, this.nextObs, src, dst, this.obsDim);
    copyRange(from.actions, this.actions, src, dst, this.actDim);
    this.rewards[dst] = from.rewards[src];
    this.discounts[dst] = from.discounts[src];
    this.probs[dst] = from.probs[src];
    this.terminated[dst] = from.terminated[src];
    if (this.nextMasks && from.nextMasks) copyRange(from.nextMasks, this.nextMasks, src, dst, this.maskDim);
  }

  /** Copies of the first `count` rows, keyed `${prefix}${field}` (for snapshots). */
  snapshot(count: number, prefix = ''): Record<string, BufferArray> {
    const out: Record<string, BufferArray> = {
      [`${prefix}obs`]: this.obs.slice(0, count * this.obsDim),
      [`${prefix}nextObs`]: this.nextObs.slice(0, count * this.obsDim),
      [`${prefix}actions`]: this.actions.slice(0, count * this.actDim),
      [`${prefix}rewards`]: this.rewards.slice(0, count),
      [`${prefix}discounts`]: this.discounts.slice(0, count),
      [`${prefix}probs`]: this.probs.slice(0, count),
      [`${prefix}terminated`]: this.terminated.slice(0, count),
    };
    if (this.nextMasks) out[`${prefix}nextMasks`] = this.nextMasks.slice(0, count * this.maskDim);
    return out;
  }

  /**
   * Validates the arrays of a `count`-row snapshot of this layout (dtypes and lengths) and
   * returns them; throws a ValidationError naming the first bad array. Reads nothing else.
   */
  parseSnapshot(state: BufferState, count: number, context: string, prefix = ''): RowArrays {
    const take = <T extends BufferArray>(name: string, ctor: abstract new (...args: never[]) => T, width: number): T =>
      takeArray(state, `${prefix}${name}`, ctor, count * width, context);
    return {
      obs: take('obs', Float32Array, this.obsDim),
      nextObs: take('nextObs', Float32Array, this.obsDim),
      actions: this.discrete ? take('actions', Int32Array, 1) : take('actions', Float32Array, this.actDim),
      rewards: take('rewards', Float32Array, 1),
      discounts: take('discounts', Float32Array, 1),
      probs: take('probs', Float32Array, 1),
      terminated: take('terminated', Uint8Array, 1),
      nextMasks: this.maskDim > 0 ? take('nextMasks', Uint8Array, this.maskDim) : null,
    };
  }

  /** Overwrites the first rows with parsed snapshot arrays (bit-exact: typed-array copies). */
  restore(arrays: RowArrays): void {
    this.obs.set(arrays.obs);
    this.nextObs.set(arrays.nextObs);
    (this.actions as Float32Array).set(arrays.actions as Float32Array);
    this.rewards.set(arrays.rewards);
    this.discounts.set(arrays.discounts);
    this.probs.set(arrays.probs);
    this.terminated.set(arrays.terminated);
    if (this.nextMasks && arrays.nextMasks) this.nextMasks.set(arrays.nextMasks);
  }
}

function copyRange<T extends Float32Array | Int32Array | Uint8Array>(from: T, to: T, src: number, dst: number, w: number): void {
  const s = src * w;
  const d = dst * w;
  for (let k = 0; k < w; k++) to[d + k] = from[s + k];
}
