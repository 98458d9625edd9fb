import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RunningMeanStd } from '../../../src/envs/wrappers/running-mean-std.js';

/** Mean and population variance per column, computed directly. */
function columnStats(rows: number[][]): { mean: number[]; var: number[] } {
  const n = rows.length;
  const d = rows[0].length;
  const mean = Array.from({ length: d }, (_, j) => rows.reduce((s, r) => s + r[j], 0) / n);
  const v = Array.from({ length: d }, (_, j) => rows.reduce((s, r) => s + (r[j] - mean[j]) ** 2, 0) / n);
  return { mean, var: v };
}

const finite = fc.double({ min: -1e3, max: 1e3, noNaN: true, noDefaultInfinity: true });

describe('RunningMeanStd', () => {
  it('with epsilon 0 equals the sample mean and population variance', () => {
    const rows = [
      [1, 10],
      [2, 20],
      [4, 40],
      [7, -5],
    ];
    const rms = new RunningMeanStd([2], { epsilon: 0 });
    for (const r of rows) rms.update(r);
    const { mean, var: v } = columnStats(rows);
    expect(Array.from(rms.mean)).toEqual(mean.map((m) => expect.closeTo(m, 12)));
    expect(Array.from(rms.var)).toEqual(v.map((x) => expect.closeTo(x, 10)));
    expect(rms.count).toBe(4);
  });

  it('starts from mean 0, var 1, count 1e-4 like Gymnasium and SB3', () => {
    const rms = new RunningMeanStd([]);
    expect(rms.count).toBe(1e-4);
    rms.update(3);
    // Hand-computed: total = 1.0001, mean = 3 / 1.0001, var = (1e-4 + 9 * 1e-4 / 1.0001) / 1.0001
    expect(rms.mean[0]).toBeCloseTo(3 / 1.0001, 12);
    expect(rms.var[0]).toBeCloseTo((1e-4 + (9 * 1e-4) / 1.0001) / 1.0001, 12);
  });

  it('property: a batched (parallel) update equals sequential updates', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }).chain((d) =>
          fc.tuple(fc.constant(d), fc.array(fc.array(fc.array(finite, { minLength: d, maxLength: d }), { minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 5 })),
        ),
        ([d, batches]) => {
          const seq = new RunningMeanStd([d]);
          const par = new RunningMeanStd([d]);
          for (const batch of batches) {
            for (const row of batch) seq.update(row);
            par.updateBatch(batch.flat(), batch.length);
          }
          expect(par.count).toBeCloseTo(seq.count, 9);
          for (let j = 0; j < d; j++) {
            const scale = 1 + Math.abs(seq.mean[j]);
            expect(Math.abs(par.mean[j] - seq.mean[j]) / scale).toBeLessThan(1e-9);
            expect(Math.abs(par.var[j] - seq.var[j]) / (1 + seq.var[j])).toBeLessThan(1e-9);
          }
        },
      ),
      { seed: 7, numRuns: 200 },
    );
  });

  it('property: merging two halves equals one pass over all rows (epsilon 0)', () => {
    fc.assert(
      fc.property(fc.array(finite, { minLength: 2, maxLength: 40 }), fc.nat(), (xs, cut) => {
        const k = 1 + (cut % (xs.length - 1));
        const a = new RunningMeanStd([], { epsilon: 0 });
        a.updateBatch(xs.slice(0, k));
        const b = new RunningMeanStd([], { epsilon: 0 });
        b.updateBatch(xs.slice(k));
        a.updateFromMoments(b.mean, b.var, b.count);
        const { mean, var: v } = columnStats(xs.map((x) => [x]));
        expect(Math.abs(a.mean[0] - mean[0]) / (1 + Math.abs(mean[0]))).toBeLessThan(1e-9);
        expect(Math.abs(a.var[0] - v[0]) / (1 + v[0])).toBeLessThan(1e-9);
      }),
      { seed: 11, numRuns: 200 },
    );
  });

  it('normalizes with epsilon and clip, in place', () => {
    const rms = new RunningMeanStd([2], { epsilon: 0 });
    rms.updateBatch([0, 0, 2, 4]); // mean [1, 2], var [1, 4]
    const x = Float32Array.of(3, 2);
    rms.normalize(x, x, 0, 1.5);
    expect(Array.from(x)).toEqual([1.5, 0]); // (3-1)/1 = 2 clipped to 1.5
  });

  it('round-trips state and rejects bad state without corrupting itself', () => {
    const rms = new RunningMeanStd([2]);
    rms.update([1, 2]);
    const saved = rms.getState();
    const copy = new RunningMeanStd([2]);
    copy.setState(JSON.parse(JSON.stringify(saved)));
    expect(copy.getState()).toEqual(saved);
    expect(() => copy.setState({ mean: [0], var: [1, 1], count: 1 })).toThrow(/mean: expected 2 finite numbers/);
    expect(() => copy.setState({ mean: [0, 0], var: [1, -1], count: 1 })).toThrow(/var/);
    expect(copy.getState()).toEqual(saved);
    expect(() => rms.update([1, 2, 3])).toThrow(/expected samples of 2 values/);
  });
});
