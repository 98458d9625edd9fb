/**
 * NStepWriter: returns and discounts worked out by hand (termination vs truncation, n longer
 * than the episode), n = 1 equals plain 1-step replay (property test), vector-env
 * interleaving, prob and mask bookkeeping, validation and the state round-trip.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NStepWriter } from '../../../src/agents/buffers/n-step.js';
import { ReplayBuffer } from '../../../src/agents/buffers/replay-buffer.js';
import type { BufferState, TransitionBatch, TransitionBuffer, TransitionInput } from '../../../src/agents/buffers/types.js';
import { Rng } from '../../../src/core/rng.js';
import { errorPath, expectSameState, makeTransition } from './helpers.js';

const layout = { obsDim: 1, action: { kind: 'discrete' as const, n: 4 } };

/** Step k of an episode: obs [k] → [k + 1], reward r. */
function step(k: number, reward: number, end: { terminated?: boolean; truncated?: boolean } = {}): TransitionInput {
  return { obs: [k], action: k % 4, reward, nextObs: [k + 1], terminated: end.terminated ?? false, truncated: end.truncated, discount: 0.5, prob: 0.1 * (k + 1) };
}

interface Row {
  obs: number;
  action: number;
  reward: number;
  nextObs: number;
  terminated: boolean;
  discount: number;
  prob: number;
}

/** A TransitionBuffer that records rows in the order written (to read what the writer emits). */
class Recorder implements TransitionBuffer {
  readonly capacity = Infinity;
  readonly layout = { ...layout, storeMasks: false };
  readonly rows: Row[] = [];
  readonly masks: (number[] | null)[] = [];
  readonly byteLength = 0;
  get size(): number {
    return this.rows.length;
  }
  add(t: TransitionInput): void {
    this.rows.push({ obs: t.obs[0], action: t.action as number, reward: t.reward, nextObs: t.nextObs[0], terminated: t.terminated, discount: t.discount, prob: t.prob ?? Number.NaN });
    this.masks.push(t.nextMask ? Array.from(t.nextMask) : null);
  }
  sample(): TransitionBatch {
    throw new Error('not used');
  }
  updatePriorities(): void {}
  getState(): BufferState {
    throw new Error('not used');
  }
  setState(): void {}
}

describe('NStepWriter', () => {
  it('n = 3, γ = 0.5, episode of 5 steps that terminates: hand-computed rows', () => {
    const rec = new Recorder();
    const w = new NStepWriter(rec, { n: 3, gamma: 0.5, numEnvs: 1 });
    const r = [1, 2, 3, 4, 5];
    for (let k = 0; k < 5; k++) {
      w.add(0, step(k, r[k], { terminated: k === 4 }));
      // Nothing leaves before 3 steps are pending.
      if (k < 2) expect(rec.rows.length).toBe(0);
    }
    expect(rec.rows).toEqual([
      // R = r0 + 0.5 r1 + 0.25 r2 = 1 + 1 + 0.75; bootstrap from s3 with 0.5^3.
      { obs: 0, action: 0, reward: 2.75, nextObs: 3, terminated: false, discount: 0.125, prob: 0.1 },
      { obs: 1, action: 1, reward: 2 + 1.5 + 1, nextObs: 4, terminated: false, discount: 0.125, prob: 0.2 },
      // The window reaches the terminal step: terminal, whatever the discount.
      { obs: 2, action: 2, reward: 3 + 2 + 1.25, nextObs: 5, terminated: true, discount: 0.125, prob: 0.30000000000000004 },
      // Flushed at the episode end with the steps they have.
      { obs: 3, action: 3, reward: 4 + 2.5, nextObs: 5, terminated: true, discount: 0.25, prob: 0.4 },
      { obs: 4, action: 0, reward: 5, nextObs: 5, terminated: true, discount: 0.5, prob: 0.5 },
    ]);
    expect(w.pending(0)).toBe(0);
  });

  it('truncation flushes the same returns but keeps every row non-terminal (bootstrap)', () => {
    const rec = new Recorder();
    const w = new NStepWriter(rec, { n: 3, gamma: 0.5, numEnvs: 1 });
    [1, 2, 3, 4, 5].forEach((rw, k) => w.add(0, step(k, rw, { truncated: k === 4 })));
    expect(rec.rows.map((x) => [x.obs, x.reward, x.nextObs, x.terminated, x.discount])).toEqual([
      [0, 2.75, 3, false, 0.125],
      [1, 4.5, 4, false, 0.125],
      [2, 6.25, 5, false, 0.125],
      [3, 6.5, 5, false, 0.25],
      [4, 5, 5, false, 0.5],
    ]);
  });

  it('n larger than the episode: every step leaves at the end with k < n', () => {
    for (const end of [{ terminated: true }, { truncated: true }]) {
      const rec = new Recorder();
      const w = new NStepWriter(rec, { n: 5, gamma: 0.5, numEnvs: 1 });
      w.add(0, step(0, 1));
      expect(rec.rows.length).toBe(0);
      w.add(0, step(1, 2, end));
      const term = end.terminated === true;
      expect(rec.rows.map((x) => [x.obs, x.reward, x.nextObs, x.terminated, x.discount])).toEqual([
        [0, 1 + 0.5 * 2, 2, term, 0.25],
        [1, 2, 2, term, 0.5],
      ]);
      // The next episode starts from an empty ring.
      w.add(0, step(10, 7, { terminated: true }));
      expect(rec.rows[2]).toMatchObject({ obs: 10, reward: 7, discount: 0.5 });
    }
  });

  it('keeps sub-envs apart and passes the last step’s mask, the first step’s prob', () => {
    const rec = new Recorder();
    const w = new NStepWriter(rec, { n: 2, gamma: 0.5, numEnvs: 2 });
    // Interleave env 0 (obs 0, 1, 2) and env 1 (obs 100, 101).
    w.add(0, step(0, 1));
    w.add(1, step(100, 10));
    w.add(0, { ...step(1, 2), nextMask: [1, 0, 1, 0] });
    w.add(1, { ...step(101, 20, { terminated: true }), nextMask: [0, 0, 0, 1] });
    w.add(0, step(2, 3, { truncated: true }));
    expect(rec.rows.map((x) => [x.obs, x.reward, x.nextObs, x.terminated, x.discount])).toEqual([
      [0, 2, 2, false, 0.25],
      [100, 20, 102, true, 0.25],
      [101, 20, 102, true, 0.5],
      [1, 3.5, 3, false, 0.25],
      [2, 3, 3, false, 0.5],
    ]);
    expect(rec.masks.slice(0, 3)).toEqual([[1, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1]]);
    expect(rec.rows.map((x) => x.prob)).toEqual([0.1, 0.1 * 101, 0.1 * 102, 0.2, 0.30000000000000004]);
  });

  it('property: n = 1 writes exactly the 1-step transitions', () => {
    const full = { obsDim: 3, action: { kind: 'discrete' as const, n: 5 } };
    fc.assert(
      fc.property(
        fc.array(fc.record({ env: fc.integer({ min: 0, max: 2 }), end: fc.constantFrom('none', 'none', 'terminated', 'truncated') }), { maxLength: 40 }),
        (steps) => {
          const viaWriter = new ReplayBuffer({ capacity: 16, ...full, storeMasks: true });
          const direct = new ReplayBuffer({ capacity: 16, ...full, storeMasks: true });
          const w = new NStepWriter(viaWriter, { n: 1, gamma: 0.97, numEnvs: 3 });
          steps.forEach(({ env, end }, i) => {
            const t = makeTransition(i, { ...full, masks: true, terminated: end === 'terminated', truncated: end === 'truncated', discount: 0.97 });
            w.add(env, { ...t, discount: 0.3 }); // the writer ignores the given discount
            direct.add(t);
          });
          expectSameState(direct.getState(), viaWriter.getState());
        },
      ),
      { numRuns: 60, seed: 5 },
    );
  });

  it('validates the step before storing it: the rings and the buffer stay unchanged', () => {
    const buf = new ReplayBuffer({ capacity: 10, ...layout });
    const w = new NStepWriter(buf, { n: 3, gamma: 0.9, numEnvs: 2 });
    w.add(0, step(0, 1));
    w.add(0, step(1, 1));
    const ringBefore = w.getState();
    const bufBefore = buf.getState();
    expect(errorPath(() => w.add(2, step(2, 1)))).toBe('envIndex');
    expect(errorPath(() => w.add(0, { ...step(2, 1), reward: Number.NaN }))).toBe('reward');
    expect(errorPath(() => w.add(0, { ...step(2, 1), nextObs: [] }))).toBe('nextObs');
    expect(errorPath(() => w.add(0, { ...step(2, 1), action: 9 }))).toBe('action');
    expectSameState(ringBefore, w.getState());
    expectSameState(bufBefore, buf.getState());
    expect(w.pending(0)).toBe(2);
    // Options.
    expect(errorPath(() => new NStepWriter(buf, { n: 0, gamma: 0.9, numEnvs: 1 }))).toBe('n');
    expect(errorPath(() => new NStepWriter(buf, { n: 3, gamma: 1.5, numEnvs: 1 }))).toBe('gamma');
    const bare = { ...new Recorder(), layout: undefined } as unknown as TransitionBuffer;
    expect(errorPath(() => new NStepWriter(bare, { n: 3, gamma: 0.9, numEnvs: 1 }))).toBe('obsDim');
  });

  it('round-trips its pending rings: a restored run continues exactly like the original', () => {
    const make = (): [ReplayBuffer, NStepWriter] => {
      const b = new ReplayBuffer({ capacity: 50, ...layout });
      return [b, new NStepWriter(b, { n: 4, gamma: 0.9, numEnvs: 3 })];
    };
    const stepOf = (i: number): [number, TransitionInput] => [i % 3, step(i, (i * 7) % 5, { terminated: i % 11 === 10, truncated: i % 13 === 12 })];
    const [bufA, wA] = make();
    for (let i = 0; i < 20; i++) wA.add(...stepOf(i));
    const ring = wA.getState();
    const [bufB, wB] = make();
    bufB.setState(bufA.getState());
    wB.setState({ kind: ring.kind, meta: JSON.parse(JSON.stringify(ring.meta)), arrays: ring.arrays });
    expectSameState(ring, wB.getState());
    for (let i = 20; i < 45; i++) {
      wA.add(...stepOf(i));
      wB.add(...stepOf(i));
    }
    expectSameState(bufA.getState(), bufB.getState());
    expectSameState(wA.getState(), wB.getState());
    // Bad snapshots name the field and change nothing.
    const before = wB.getState();
    expect(errorPath(() => wB.setState({ ...ring, kind: 'replay' }))).toBe('kind');
    expect(errorPath(() => wB.setState({ ...ring, meta: { ...ring.meta, n: 3 } }))).toBe('meta.n');
    expect(errorPath(() => wB.setState({ ...ring, meta: { ...ring.meta, gamma: 0.99 } }))).toBe('meta.gamma');
    expect(errorPath(() => wB.setState({ ...ring, arrays: { ...ring.arrays, count: Int32Array.from([0, 4, 0]) } }))).toBe('arrays.count[1]');
    expect(errorPath(() => wB.setState({ ...ring, arrays: { ...ring.arrays, rewards: new Float32Array(12) } }))).toBe('arrays.rewards');
    expectSameState(before, wB.getState());
  });

  it('clear drops pending steps without writing them', () => {
    const rec = new Recorder();
    const w = new NStepWriter(rec, { n: 3, gamma: 0.9, numEnvs: 2 });
    w.add(0, step(0, 1));
    w.add(1, step(0, 1));
    w.clear(0);
    expect([w.pending(0), w.pending(1)]).toEqual([0, 1]);
    w.clear();
    expect(w.pending(1)).toBe(0);
    expect(rec.rows.length).toBe(0);
  });

  it('feeds a real buffer whose samples carry γ^k', () => {
    const buf = new ReplayBuffer({ capacity: 10, ...layout });
    const w = new NStepWriter(buf, { n: 2, gamma: 0.5, numEnvs: 1 });
    [1, 2, 3].forEach((r, k) => w.add(0, step(k, r, { terminated: k === 2 })));
    const b = buf.sample(20, new Rng(0));
    const seen = new Map(Array.from(b.indices, (j, i) => [j, [b.rewards[i], b.discounts[i], b.terminated[i]]]));
    expect([...seen.entries()].sort((x, y) => x[0] - y[0]).map((e) => e[1])).toEqual([
      [2, 0.25, 0],
      [3.5, 0.25, 1],
      [3, 0.5, 1],
    ]);
  });
});
