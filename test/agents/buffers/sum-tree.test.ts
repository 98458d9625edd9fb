/**
 * SumTree against brute force (fast-check): totals, minima and prefix-sum search after any
 * sequence of updates, for any capacity (powers of two or not); rebuilds from leaves are bit
 * identical to incremental updates.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SumTree } from '../../../src/agents/buffers/sum-tree.js';
import { KairosError } from '../../../src/core/errors.js';

/** Smallest i with Σ_{j≤i} v_j > prefix, by a linear scan. */
function bruteFind(values: number[], prefix: number): number {
  let cum = 0;
  for (let i = 0; i < values.length; i++) {
    cum += values[i];
    if (prefix < cum) return i;
  }
  return -1;
}

// Integer leaves keep every partial sum exact, so tree and scan must agree to the bit.
const scenario = fc.integer({ min: 1, max: 70 }).chain((capacity) =>
  fc.record({
    capacity: fc.constant(capacity),
    updates: fc.array(fc.tuple(fc.integer({ min: 0, max: capacity - 1 }), fc.integer({ min: 0, max: 1000 })), { minLength: 1, maxLength: 120 }),
    prefixes: fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 1, maxLength: 20 }),
  }),
);

describe('SumTree', () => {
  it('property: total, min, get and find match brute force', () => {
    fc.assert(
      fc.property(scenario, ({ capacity, updates, prefixes }) => {
        const tree = new SumTree(capacity);
        const values = new Array<number>(capacity).fill(0);
        const set = new Array<boolean>(capacity).fill(false);
        for (const [i, v] of updates) {
          tree.set(i, v);
          values[i] = v;
          set[i] = true;
        }
        const total = values.reduce((a, b) => a + b, 0);
        expect(tree.total).toBe(total);
        expect(tree.min).toBe(Math.min(...values.filter((_, i) => set[i])));
        for (let i = 0; i < capacity; i++) expect(tree.get(i)).toBe(values[i]);
        if (total === 0) {
          expect(() => tree.find(0)).toThrow(KairosError);
          return;
        }
        for (const u of prefixes) {
          const prefix = Math.floor(u * total * 4) / 4; // quarter steps hit the boundaries exactly
          const i = tree.find(prefix);
          expect(i).toBe(bruteFind(values, prefix));
          expect(values[i]).toBeGreaterThan(0);
        }
        // A prefix at or past the total (rounding in a caller) gives the last positive leaf.
        const last = values.length - 1 - [...values].reverse().findIndex((v) => v > 0);
        expect(tree.find(total)).toBe(last);
        expect(tree.find(total * 2)).toBe(last);
      }),
      { numRuns: 200, seed: 7 },
    );
  });

  it('property: with real-valued leaves find lands in the leaf whose interval holds the prefix', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1e3, noNaN: true }), { minLength: 1, maxLength: 50 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (values, u) => {
          const tree = new SumTree(values.length);
          values.forEach((v, i) => tree.set(i, v));
          if (!(tree.total > 0)) return;
          const prefix = u * tree.total;
          const i = tree.find(prefix);
          expect(values[i]).toBeGreaterThan(0);
          let before = 0;
          for (let j = 0; j < i; j++) before += values[j];
          const tol = 1e-9 * tree.total;
          expect(prefix).toBeGreaterThanOrEqual(before - tol);
          expect(prefix).toBeLessThan(before + values[i] + tol);
        },
      ),
      { numRuns: 200, seed: 8 },
    );
  });

  it('property: rebuilding from the leaves reproduces the tree bit for bit', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }).chain((c) =>
          fc.tuple(fc.constant(c), fc.array(fc.tuple(fc.integer({ min: 0, max: c - 1 }), fc.double({ min: 1e-6, max: 1e6, noNaN: true })), { maxLength: 80 })),
        ),
        ([capacity, updates]) => {
          const a = new SumTree(capacity);
          for (const [i, v] of updates) a.set(i, v);
          const set = new Set(updates.map(([i]) => i));
          const count = set.size === 0 ? 0 : Math.max(...set) + 1;
          // Leaves never set read 0 in the sum tree, so only a dense prefix round-trips min exactly.
          if (set.size !== count) return;
          const b = new SumTree(capacity);
          b.setLeaves(a.leaves(count));
          expect(Object.is(b.total, a.total)).toBe(true);
          expect(Object.is(b.min, a.min)).toBe(true);
          for (let k = 0; k <= 10; k++) {
            const p = (k / 10) * a.total;
            if (a.total > 0) expect(b.find(p)).toBe(a.find(p));
          }
        },
      ),
      { numRuns: 150, seed: 9 },
    );
  });

  it('works out a small case by hand', () => {
    const tree = new SumTree(5); // leaves padded to 8
    [3, 0, 1, 4, 2].forEach((v, i) => tree.set(i, v));
    expect(tree.total).toBe(10);
    expect(tree.min).toBe(0);
    // Cumulative sums [3, 3, 4, 8, 10].
    expect([0, 2.999, 3, 3.5, 4, 7.99, 8, 9.99].map((p) => tree.find(p))).toEqual([0, 0, 2, 2, 3, 3, 4, 4]);
    tree.set(1, 5);
    expect(tree.total).toBe(15);
    expect(tree.min).toBe(1);
    expect(tree.find(3)).toBe(1);
  });

  it('rejects bad arguments', () => {
    const tree = new SumTree(4);
    expect(() => new SumTree(0)).toThrow(KairosError);
    expect(() => tree.set(4, 1)).toThrow(/index/);
    expect(() => tree.set(0, -1)).toThrow(/>= 0/);
    expect(() => tree.set(0, Number.NaN)).toThrow(KairosError);
    expect(() => tree.set(0, Infinity)).toThrow(KairosError);
    expect(() => tree.find(0)).toThrow(/every leaf is 0/);
    tree.set(0, 1);
    expect(() => tree.find(-1)).toThrow(KairosError);
    expect(() => tree.setLeaves([1, 2, 3, 4, 5])).toThrow(KairosError);
  });
});
