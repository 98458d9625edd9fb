/**
 * PrioritizedReplayBuffer (Schaul et al. 2016): sampling frequencies ∝ p^α (statistical check
 * with a binomial tolerance), stratification, importance weights against hand computation, max
 * priority for new rows, priority-update validation and the state round-trip.
 */
import { describe, expect, it } from 'vitest';
import { PrioritizedReplayBuffer } from '../../../src/agents/buffers/prioritized-replay-buffer.js';
import { Rng } from '../../../src/core/rng.js';
import { errorPath, expectSameState, makeTransition, withField } from './helpers.js';

const layout = { obsDim: 2, action: { kind: 'discrete' as const, n: 3 } };

function filled(n: number, opts: Record<string, unknown> = {}): PrioritizedReplayBuffer {
  const buf = new PrioritizedReplayBuffer({ capacity: Math.max(n, 1), ...layout, ...opts });
  for (let i = 0; i < n; i++) buf.add(makeTransition(i, layout));
  return buf;
}

describe('PrioritizedReplayBuffer', () => {
  it('uses the paper defaults and validates options', () => {
    const buf = filled(1);
    expect([buf.alpha, buf.beta, buf.beta0, buf.epsilon]).toEqual([0.6, 0.4, 0.4, 1e-6]);
    expect(errorPath(() => new PrioritizedReplayBuffer({ capacity: 4, ...layout, alpha: -1 }))).toBe('alpha');
    expect(errorPath(() => new PrioritizedReplayBuffer({ capacity: 4, ...layout, epsilon: 0 }))).toBe('epsilon');
    expect(errorPath(() => new PrioritizedReplayBuffer({ capacity: 4, ...layout, beta0: 1.5 }))).toBe('beta0');
    expect(errorPath(() => new PrioritizedReplayBuffer({ capacity: 0, ...layout }))).toBe('capacity');
  });

  it('gives new rows the largest priority seen so far', () => {
    const buf = filled(3, { capacity: 8 });
    // Initial max priority is 1, so p^α = 1.
    expect([0, 1, 2].map((i) => buf.priority(i))).toEqual([1, 1, 1]);
    buf.updatePriorities(Int32Array.from([0, 1]), [3, -0.5]);
    expect(buf.priority(0)).toBeCloseTo((3 + 1e-6) ** 0.6, 12);
    expect(buf.priority(1)).toBeCloseTo((0.5 + 1e-6) ** 0.6, 12);
    buf.add(makeTransition(3, layout));
    expect(buf.priority(3)).toBe(buf.priority(0));
    // A smaller error later does not lower the running max.
    buf.updatePriorities(Int32Array.from([0]), [0.1]);
    buf.add(makeTransition(4, layout));
    expect(buf.priority(4)).toBe(buf.priority(3));
  });

  it('samples each row with frequency p_i^α / Σ p^α (within 4 binomial standard deviations)', () => {
    const alpha = 0.6;
    const td = [0.5, 1, 2, 4, 0.25, 3];
    const buf = filled(td.length, { alpha });
    buf.updatePriorities(Int32Array.from(td.keys()), td);
    const pa = td.map((d) => (d + 1e-6) ** alpha);
    const sum = pa.reduce((a, b) => a + b, 0);
    const rng = new Rng(2024);
    const counts = new Array(td.length).fill(0);
    const batches = 400;
    const B = 32;
    for (let k = 0; k < batches; k++) for (const j of buf.sample(B, rng).indices) counts[j]++;
    const N = batches * B;
    // Stratified draws make a row's count a sum of independent Bernoullis whose mean
    // probability is P(i); by concavity its variance is at most the binomial N·P·(1−P), so the
    // binomial std is a conservative scale for the tolerance.
    pa.forEach((p, i) => {
      const P = p / sum;
      expect(Math.abs(counts[i] - N * P), `row ${i}`).toBeLessThan(4 * Math.sqrt(N * P * (1 - P)));
    });
  });

  it('stratifies: one draw per equal segment of the priority mass', () => {
    // Equal priorities and B = size: segment i holds exactly row i.
    const buf = filled(4);
    for (let k = 0; k < 5; k++) expect(Array.from(buf.sample(4, new Rng(k)).indices)).toEqual([0, 1, 2, 3]);
    // Mass [1, 1, 2] (α = 1): with B = 2 the first draw is in [0, 2) → rows 0/1, the second in [2, 4) → row 2.
    const b2 = filled(3, { alpha: 1 });
    b2.updatePriorities(Int32Array.from([0, 1, 2]), [1 - 1e-6, 1 - 1e-6, 2 - 1e-6]);
    for (let k = 0; k < 10; k++) {
      const idx = b2.sample(2, new Rng(k)).indices;
      expect(idx[0]).toBeLessThan(2);
      expect(idx[1]).toBe(2);
    }
  });

  it('computes importance weights w_i = (N·P(i))^-β / max_j w_j', () => {
    // α = 1, priorities 1, 2, 3, 4 → P = 0.1, 0.2, 0.3, 0.4 (N = 4).
    // β = 1: w_i = (4·P_i)^-1 / (4·0.1)^-1 = 0.1 / P_i = 1, 1/2, 1/3, 1/4.
    const buf = filled(4, { alpha: 1, epsilon: 1e-6 });
    buf.updatePriorities(Int32Array.from([0, 1, 2, 3]), [1, 2, 3, 4].map((p) => p - 1e-6));
    buf.setBeta(1);
    const byRow = (b: ReturnType<typeof buf.sample>): Map<number, number> => new Map(Array.from(b.indices, (j, i) => [j, b.weights[i]]));
    const w1 = byRow(buf.sample(10, new Rng(1)));
    const expected1 = [1, 1 / 2, 1 / 3, 1 / 4];
    for (const [j, w] of w1) expect(w).toBeCloseTo(expected1[j], 6);
    // β = 0.5: w_i = sqrt(0.1 / P_i) = 1, 0.7071, 0.5774, 0.5.
    buf.setBeta(0.5);
    const w2 = byRow(buf.sample(10, new Rng(1)));
    const expected2 = [1, Math.SQRT1_2, Math.sqrt(1 / 3), 0.5];
    for (const [j, w] of w2) expect(w).toBeCloseTo(expected2[j], 6);
    // β = 0: no correction.
    buf.setBeta(0);
    expect(Array.from(buf.sample(10, new Rng(1)).weights).every((w) => w === 1)).toBe(true);
  });

  it('anneals β linearly from β0 to 1 over betaSteps', () => {
    const buf = filled(1, { beta0: 0.4, betaSteps: 1000 });
    expect(buf.annealBeta(0)).toBe(0.4);
    expect(buf.annealBeta(500)).toBeCloseTo(0.7, 12);
    expect(buf.annealBeta(5000)).toBe(1);
    expect(buf.beta).toBe(1);
    expect(errorPath(() => buf.setBeta(1.2))).toBe('beta');
    expect(errorPath(() => buf.annealBeta(-1))).toBe('step');
  });

  it('validates priority updates before changing any', () => {
    const buf = filled(4);
    const before = buf.getState();
    expect(errorPath(() => buf.updatePriorities(Int32Array.from([0, 1]), [1, Number.NaN]))).toBe('tdErrors[1]');
    expect(errorPath(() => buf.updatePriorities(Int32Array.from([0, 4]), [1, 1]))).toBe('indices[1]');
    expect(errorPath(() => buf.updatePriorities(Int32Array.from([0, 1]), [1]))).toBe('tdErrors');
    expect(errorPath(() => buf.updatePriorities(Int32Array.from([0]), [Infinity]))).toBe('tdErrors[0]');
    expectSameState(before, buf.getState());
  });

  it('round-trips its state bit-exactly and samples the same afterwards', () => {
    const buf = new PrioritizedReplayBuffer({ capacity: 6, ...layout, storeMasks: true });
    const rng = new Rng(3);
    for (let i = 0; i < 9; i++) {
      buf.add(makeTransition(i, { ...layout, masks: true }));
      const b = buf.sample(4, rng);
      buf.updatePriorities(b.indices, Array.from(b.indices, (j) => (j * 0.37) % 2));
    }
    buf.setBeta(0.55);
    const state = buf.getState();
    const copy = new PrioritizedReplayBuffer({ capacity: 6, ...layout, storeMasks: true });
    copy.setState({ kind: state.kind, meta: JSON.parse(JSON.stringify(state.meta)), arrays: state.arrays });
    expectSameState(state, copy.getState());
    expect(copy.beta).toBe(0.55);
    const a = buf.sample(8, new Rng(9));
    const c = copy.sample(8, new Rng(9));
    expect(Array.from(c.indices)).toEqual(Array.from(a.indices));
    expect(Array.from(c.weights)).toEqual(Array.from(a.weights));
    // New rows get the same (restored) max priority.
    buf.add(makeTransition(20, layout));
    copy.add(makeTransition(20, layout));
    expectSameState(buf.getState(), copy.getState());
  });

  it('setState names the bad field and changes nothing', () => {
    const good = filled(4).getState();
    const target = filled(4);
    target.updatePriorities(Int32Array.from([2]), [5]);
    const before = target.getState();
    const cases: [typeof good, string][] = [
      [{ ...good, kind: 'replay' }, 'kind'],
      [withField(good, 'meta', 'alpha', 0.7), 'meta.alpha'],
      [withField(good, 'meta', 'beta', 2), 'meta.beta'],
      [withField(good, 'meta', 'maxPriority', -1), 'meta.maxPriority'],
      [withField(good, 'arrays', 'priorities', new Float64Array(3)), 'arrays.priorities'],
      [withField(good, 'arrays', 'priorities', Float64Array.from([1, 1, 0, 1])), 'arrays.priorities[2]'],
      [withField(good, 'arrays', 'rewards', new Float32Array(3)), 'arrays.rewards'],
    ];
    for (const [state, path] of cases) expect(errorPath(() => target.setState(state)), path).toBe(path);
    expectSameState(before, target.getState());
  });

  it('counts the trees in byteLength', () => {
    const buf = new PrioritizedReplayBuffer({ capacity: 1000, ...layout });
    // Rows: 2·2·4 + 4 + 12 + 1 = 33 bytes; trees: 2 × 2·1024 Float64 nodes.
    expect(buf.byteLength).toBe(33 * 1000 + 2 * 2 * 1024 * 8);
  });
});
