/**
 * EpisodicBuffer: padding and valid masks, previous actions, sequences from the episode start
 * or a random step, whole-episode eviction across the ring's wrap, per-env staging, input
 * errors and the state round-trip.
 */
import { describe, expect, it } from 'vitest';
import { EpisodicBuffer } from '../../../src/agents/buffers/episodic-buffer.js';
import type { TransitionInput } from '../../../src/agents/buffers/types.js';
import { KairosError } from '../../../src/core/errors.js';
import { Rng } from '../../../src/core/rng.js';
import { errorPath, expectSameState, withField } from './helpers.js';

const layout = { obsDim: 2, action: { kind: 'discrete' as const, n: 3 } };

/** Step k of episode `ep`: obs [ep, k], action (ep + k) % 3, reward 100·ep + k. */
function step(ep: number, k: number, end?: 'terminated' | 'truncated', nextMask?: number[]): TransitionInput {
  return {
    obs: [ep, k],
    action: (ep + k) % 3,
    reward: 100 * ep + k,
    nextObs: [ep, k + 1],
    terminated: end === 'terminated',
    truncated: end === 'truncated',
    discount: 0.9,
    nextMask,
    prob: 0.5,
  };
}

function addEpisode(buf: EpisodicBuffer, ep: number, length: number, env = 0, end: 'terminated' | 'truncated' = 'terminated'): void {
  for (let k = 0; k < length; k++) buf.addStep(env, step(ep, k, k === length - 1 ? end : undefined));
}

describe('EpisodicBuffer', () => {
  it('pads short episodes at the end with zeros and valid = 0', () => {
    const buf = new EpisodicBuffer({ capacity: 100, ...layout });
    addEpisode(buf, 1, 2);
    const T = 4;
    const s = buf.sampleSequences(3, T, new Rng(0));
    expect([s.size, s.length]).toEqual([3, T]);
    for (let b = 0; b < 3; b++) {
      const row = (a: ArrayLike<number>, w = 1): number[] => Array.from(a).slice(b * T * w, (b + 1) * T * w);
      expect(row(s.valid)).toEqual([1, 1, 0, 0]);
      expect(row(s.obs, 2)).toEqual([1, 0, 1, 1, 0, 0, 0, 0]);
      expect(row(s.nextObs, 2)).toEqual([1, 1, 1, 2, 0, 0, 0, 0]);
      expect(row(s.actions)).toEqual([1, 2, 0, 0]);
      // -1 before the first step (a one-hot of -1 is the zero vector), then the action taken.
      expect(row(s.prevActions)).toEqual([-1, 1, 0, 0]);
      expect(row(s.rewards)).toEqual([100, 101, 0, 0]);
      expect(row(s.terminated)).toEqual([0, 1, 0, 0]);
      expect(row(s.discounts)).toEqual([0.9, 0.9, 0, 0].map(Math.fround));
      expect(row(s.probs)).toEqual([0.5, 0.5, 0, 0]);
      expect([s.starts[b], s.lengths[b]]).toEqual([0, 2]);
    }
    expect(s.nextMasks).toBeNull();
  });

  it('fromStart: sequences start at step 0 and are cut at T', () => {
    const buf = new EpisodicBuffer({ capacity: 100, ...layout });
    addEpisode(buf, 2, 6);
    const s = buf.sampleSequences(2, 4, new Rng(1), { fromStart: true });
    expect(Array.from(s.obs.subarray(0, 8))).toEqual([2, 0, 2, 1, 2, 2, 2, 3]);
    expect(Array.from(s.valid)).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    expect(Array.from(s.terminated.subarray(0, 4))).toEqual([0, 0, 0, 0]);
  });

  it('random starts: windows are full, cover every start in [0, L − T], and carry the real previous action', () => {
    const buf = new EpisodicBuffer({ capacity: 100, ...layout });
    addEpisode(buf, 0, 6);
    const T = 3;
    const s = buf.sampleSequences(64, T, new Rng(2), { fromStart: false });
    const starts = new Set<number>();
    for (let b = 0; b < 64; b++) {
      const o = s.starts[b];
      starts.add(o);
      expect(s.lengths[b]).toBe(T);
      for (let t = 0; t < T; t++) {
        const k = b * T + t;
        expect(s.obs[2 * k + 1]).toBe(o + t);
        expect(s.prevActions[k]).toBe(o + t === 0 ? -1 : (o + t - 1) % 3);
        expect(s.valid[k]).toBe(1);
      }
    }
    expect([...starts].sort()).toEqual([0, 1, 2, 3]);
    // The recurrent DQN's option name means the same.
    const a = buf.sampleSequences(8, T, new Rng(4), { fromEpisodeStart: false });
    const startsA = Array.from(a.starts);
    expect(Array.from(buf.sampleSequences(8, T, new Rng(4), { fromStart: false }).starts)).toEqual(startsA);
    expect(errorPath(() => buf.sampleSequences(8, T, new Rng(4), { fromStart: true, fromEpisodeStart: false }))).toBe('options.fromEpisodeStart');
  });

  it('evicts whole episodes, oldest first, across the ring’s wrap', () => {
    const buf = new EpisodicBuffer({ capacity: 6, maxEpisodeLength: 4, ...layout });
    addEpisode(buf, 1, 3);
    addEpisode(buf, 2, 2);
    expect([buf.numEpisodes, buf.size]).toEqual([2, 5]);
    // 4 more rows need 4 free: episode 1 goes; episode 3 wraps (rows 5, 0, 1, 2).
    addEpisode(buf, 3, 4);
    expect([buf.numEpisodes, buf.size]).toEqual([2, 6]);
    const s = buf.sampleSequences(40, 4, new Rng(3));
    const seen = new Set<number>();
    for (let b = 0; b < 40; b++) {
      const ep = s.obs[b * 8];
      seen.add(ep);
      const L = ep === 2 ? 2 : 4;
      expect(s.lengths[b]).toBe(L);
      for (let t = 0; t < L; t++) {
        expect([s.obs[(b * 4 + t) * 2], s.obs[(b * 4 + t) * 2 + 1]]).toEqual([ep, t]);
        expect(s.rewards[b * 4 + t]).toBe(100 * ep + t);
      }
    }
    expect([...seen].sort()).toEqual([2, 3]);
  });

  it('stages each env’s running episode apart and stores it only when it ends', () => {
    const buf = new EpisodicBuffer({ capacity: 50, ...layout, numEnvs: 2, storeMasks: true });
    buf.addStep(0, step(5, 0));
    buf.addStep(1, step(6, 0));
    buf.addStep(0, step(5, 1, undefined, [0, 1, 1]));
    expect([buf.pending(0), buf.pending(1), buf.numEpisodes]).toEqual([2, 1, 0]);
    expect(() => buf.sampleSequences(1, 2, new Rng(0))).toThrow(KairosError);
    buf.addStep(1, step(6, 1, 'truncated'));
    expect([buf.pending(1), buf.numEpisodes, buf.size]).toEqual([0, 1, 2]);
    const s = buf.sampleSequences(1, 3, new Rng(0));
    expect(Array.from(s.obs)).toEqual([6, 0, 6, 1, 0, 0]);
    expect(Array.from(s.terminated)).toEqual([0, 0, 0]); // truncated: not terminal
    expect(Array.from(s.nextMasks as Uint8Array)).toEqual([1, 1, 1, 1, 1, 1, 0, 0, 0]);
    buf.addStep(0, step(5, 2, 'terminated', [0, 0, 0]));
    expect(buf.numEpisodes).toBe(2);
    buf.clear(0);
    expect(buf.pending(0)).toBe(0);
  });

  it('rejects bad steps and too-long episodes without changing anything', () => {
    const buf = new EpisodicBuffer({ capacity: 20, maxEpisodeLength: 3, ...layout, numEnvs: 2 });
    addEpisode(buf, 1, 2);
    buf.addStep(0, step(2, 0));
    buf.addStep(0, step(2, 1));
    buf.addStep(0, step(2, 2));
    const before = buf.getState();
    expect(errorPath(() => buf.addStep(2, step(3, 0)))).toBe('envIndex');
    expect(errorPath(() => buf.addStep(1, { ...step(3, 0), obs: [1] }))).toBe('obs');
    expect(errorPath(() => buf.addStep(1, { ...step(3, 0), discount: Number.NaN }))).toBe('discount');
    expect(errorPath(() => buf.addStep(1, { ...step(3, 0), action: 3 }))).toBe('action');
    expect(() => buf.addStep(0, step(2, 3, 'terminated'))).toThrow(/maxEpisodeLength \(3\)/);
    expectSameState(before, buf.getState());
    expect(errorPath(() => buf.sampleSequences(0, 2, new Rng(0)))).toBe('batchSize');
    expect(errorPath(() => buf.sampleSequences(2, 0, new Rng(0)))).toBe('seqLen');
    expect(errorPath(() => new EpisodicBuffer({ capacity: 5, maxEpisodeLength: 6, ...layout }))).toBe('maxEpisodeLength');
    expect(new EpisodicBuffer({ capacity: 5, ...layout }).maxEpisodeLength).toBe(5);
  });

  it('round-trips its state (ring, episode table, running episodes) and continues identically', () => {
    const opts = { capacity: 12, maxEpisodeLength: 5, ...layout, numEnvs: 2, storeMasks: true };
    const a = new EpisodicBuffer(opts);
    const feed = (buf: EpisodicBuffer, from: number, to: number): void => {
      for (let i = from; i < to; i++) {
        const env = i % 2;
        const k = Math.floor(i / 2) % 4;
        buf.addStep(env, step(10 * env + Math.floor(i / 8), k, k === 3 ? (i % 3 === 0 ? 'truncated' : 'terminated') : undefined, [1, 0, 1]));
      }
    };
    feed(a, 0, 37); // several wraps, env 0 mid-episode
    expect(a.numEpisodes).toBeGreaterThan(1);
    expect(a.pending(0) + a.pending(1)).toBeGreaterThan(0);
    const state = a.getState();
    const b = new EpisodicBuffer(opts);
    b.setState({ kind: state.kind, meta: JSON.parse(JSON.stringify(state.meta)), arrays: state.arrays });
    expectSameState(state, b.getState());
    const sa = a.sampleSequences(6, 5, new Rng(8), { fromStart: false });
    const saObs = Array.from(sa.obs);
    expect(Array.from(b.sampleSequences(6, 5, new Rng(8), { fromStart: false }).obs)).toEqual(saObs);
    feed(a, 37, 60);
    feed(b, 37, 60);
    expectSameState(a.getState(), b.getState());
  });

  it('setState names the bad field and changes nothing', () => {
    const a = new EpisodicBuffer({ capacity: 10, ...layout });
    addEpisode(a, 1, 3);
    addEpisode(a, 2, 2);
    a.addStep(0, step(3, 0));
    const good = a.getState();
    const target = new EpisodicBuffer({ capacity: 10, ...layout });
    addEpisode(target, 7, 4);
    const before = target.getState();
    const cases: [typeof good, string][] = [
      [{ ...good, kind: 'replay' }, 'kind'],
      [withField(good, 'meta', 'capacity', 11), 'meta.capacity'],
      [withField(good, 'meta', 'writePos', 4), 'meta.writePos'],
      [withField(good, 'arrays', 'episodeStarts', Int32Array.from([0, 2])), 'arrays.episodeStarts[1]'],
      [withField(good, 'arrays', 'episodeLengths', Int32Array.from([3, 0])), 'arrays.episodeLengths[1]'],
      [withField(good, 'arrays', 'stageLengths', Int32Array.from([2])), 'arrays.stage.obs'],
      [withField(good, 'arrays', 'obs', new Float32Array(3)), 'arrays.obs'],
    ];
    for (const [state, path] of cases) expect(errorPath(() => target.setState(state)), path).toBe(path);
    expectSameState(before, target.getState());
  });

  it('handles continuous actions (zeros before the first step)', () => {
    const buf = new EpisodicBuffer({ capacity: 10, obsDim: 1, action: { kind: 'continuous', dim: 2 } });
    buf.addStep(0, { obs: [0], action: [0.5, -1], reward: 1, nextObs: [1], terminated: false, discount: 0.9 });
    buf.addStep(0, { obs: [1], action: [2, 3], reward: 1, nextObs: [2], terminated: true, discount: 0.9 });
    const s = buf.sampleSequences(1, 3, new Rng(0));
    expect(Array.from(s.actions)).toEqual([0.5, -1, 2, 3, 0, 0]);
    expect(Array.from(s.prevActions)).toEqual([0, 0, 0.5, -1, 0, 0]);
    expect(Array.from(s.probs.subarray(0, 2)).every(Number.isNaN)).toBe(true);
  });
});
