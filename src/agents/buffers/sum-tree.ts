/**
 * Sum tree with a min tree beside it: the data structure behind proportional prioritised
 * replay (Schaul et al. 2016, Appendix B.2.1): every internal node holds the sum of its
 * children and the priorities are the leaves, so sampling by priority is a descent from the
 * root and an update touches one root-to-leaf path.
 *
 * Leaves live at `[P, P + capacity)` of a perfect binary tree with P = the next power of two
 * ≥ capacity (unused leaves hold 0 in the sum tree and +∞ in the min tree). `set` and `find`
 * are O(log P); `total` and `min` are O(1). Sums are Float64 so that a million priorities
 * add up without visible rounding.
 *
 * A parent is always recomputed as `left + right`, never updated by a delta: the tree is then
 * a pure function of its leaves, so rebuilding it from saved leaves ({@link SumTree.setLeaves})
 * reproduces every internal sum bit for bit, and no rounding drift builds up over millions
 * of updates.
 *
 * @example
 * const tree = new SumTree(4);
 * tree.set(0, 1); tree.set(1, 3);
 * tree.total;      // 4
 * tree.find(2.5);  // 1: cumulative sums are [1, 4], and 1 ≤ 2.5 < 4
 * tree.min;        // 1
 */
import { KairosError } from '../../core/errors.js';
import { MAX_ROWS, allocate } from './validate.js';

/**
 * Sum tree plus min tree over `capacity` non-negative leaves; see the module comment.
 *
 * @example
 * const tree = new SumTree(1000);
 * tree.set(17, 2.5);
 * const i = tree.find(rng.random() * tree.total); // i drawn with probability ∝ its leaf
 */
export class SumTree {
  readonly capacity: number;
  /** Leaves start here (a power of two). */
  private readonly base: number;
  private readonly sums: Float64Array;
  private readonly mins: Float64Array;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_ROWS) {
      throw new KairosError(`SumTree: expected capacity to be an integer in [1, ${MAX_ROWS}], received ${capacity}`, 'invalid_argument');
    }
    this.capacity = capacity;
    let p = 1;
    while (p < capacity) p *= 2;
    this.base = p;
    this.sums = allocate(Float64Array, 2 * p, 'SumTree sums');
    this.mins = allocate(Float64Array, 2 * p, 'SumTree mins').fill(Infinity);
  }

  /** Sum of all leaves. */
  get total(): number {
    return this.sums[1];
  }

  /** Smallest leaf set so far among `[0, capacity)`; +∞ while every leaf is unset. */
  get min(): number {
    return this.mins[1];
  }

  /** Bytes held by the two trees. */
  get byteLength(): number {
    return this.sums.byteLength + this.mins.byteLength;
  }

  /** Value of leaf `index` (0 when unset). */
  get(index: number): number {
    return this.sums[this.base + index];
  }

  /** Sets leaf `index` to `value` (finite, ≥ 0) and updates its ancestors. O(log n). */
  set(index: number, value: number): void {
    if (!(index >= 0 && index < this.capacity && Number.isInteger(index))) {
      throw new KairosError(`SumTree.set: expected index in [0, ${this.capacity}), received ${index}`, 'invalid_argument');
    }
    if (!(value >= 0 && value < Infinity)) {
      throw new KairosError(`SumTree.set: expected a finite value >= 0, received ${value}`, 'invalid_argument');
    }
    const s = this.sums;
    const m = this.mins;
    let j = this.base + index;
    s[j] = value;
    m[j] = value;
    for (j >>= 1; j >= 1; j >>= 1) {
      const l = 2 * j;
      s[j] = s[l] + s[l + 1];
      m[j] = m[l] < m[l + 1] ? m[l] : m[l + 1];
    }
  }

  /**
   * Prefix-sum search: the leaf i with Σ_{j<i} v_j ≤ prefix < Σ_{j≤i} v_j, for prefix in
   * [0, total). Never returns a zero leaf: when rounding puts `prefix` at or past a subtree's
   * end, the descent stays in the sibling that has mass, so a prefix ≥ total gives the last
   * positive leaf. Throws when the total is 0. O(log n).
   */
  find(prefix: number): number {
    if (!(prefix >= 0)) throw new KairosError(`SumTree.find: expected a prefix >= 0, received ${prefix}`, 'invalid_argument');
    const s = this.sums;
    if (!(s[1] > 0)) throw new KairosError('SumTree.find: every leaf is 0', 'invalid_argument');
    let u = prefix;
    let j = 1;
    while (j < this.base) {
      const l = 2 * j;
      // Go right only if the right subtree has mass: then both children of a node with mass
      // are never skipped into an empty subtree, and the leaf reached is positive.
      if (u >= s[l] && s[l + 1] > 0) {
        u -= s[l];
        j = l + 1;
      } else {
        j = l;
      }
    }
    return j - this.base;
  }

  /** Copies of leaves `[0, count)` (for snapshots). */
  leaves(count: number): Float64Array {
    return this.sums.slice(this.base, this.base + count);
  }

  /**
   * Replaces every leaf: `values` fill `[0, values.length)`, the rest become unset; then
   * rebuilds the tree bottom-up in O(n). Values must be finite and ≥ 0 (checked).
   */
  setLeaves(values: ArrayLike<number>): void {
    const n = values.length;
    if (n > this.capacity) throw new KairosError(`SumTree.setLeaves: ${n} values for capacity ${this.capacity}`, 'invalid_argument');
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (!(v >= 0 && v < Infinity)) throw new KairosError(`SumTree.setLeaves: value ${i} is ${v}, expected finite >= 0`, 'invalid_argument');
    }
    const s = this.sums;
    const m = this.mins;
    s.fill(0);
    m.fill(Infinity);
    for (let i = 0; i < n; i++) {
      s[this.base + i] = values[i];
      m[this.base + i] = values[i];
    }
    for (let j = this.base - 1; j >= 1; j--) {
      const l = 2 * j;
      s[j] = s[l] + s[l + 1];
      m[j] = m[l] < m[l + 1] ? m[l] : m[l + 1];
    }
  }

  /** Unsets every leaf. */
  clear(): void {
    this.sums.fill(0);
    this.mins.fill(Infinity);
  }
}
