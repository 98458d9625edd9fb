/**
 * ReplayBuffer: batch contents against the rows added, ring overwrite, masks, continuous
 * actions, input errors (named fields, buffer untouched: property test), state round-trip and
 * the memory figure for a million LunarLander transitions.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ReplayBuffer } from '../../../src/agents/buffers/replay-buffer.js';
import type { TransitionInput } from '../../../src/agents/buffers/types.js';
import { KairosError, ValidationError } from '../../../src/core/errors.js';
import { Rng } from '../../../src/core/rng.js';
import { errorPath, expectSameState, makeTransition, withField } from './helpers.js';

const discrete = { obsDim: 3, action: { kind: 'discrete' as const, n: 5 } };

describe('ReplayBuffer options', () => {
  it('rejects bad options with the field named', () => {
    const base = { capacity: 10, ...discrete };
    expect(errorPath(() => new ReplayBuffer({ ...base, capacity: 0 }))).toBe('capacity');
    expect(errorPath(() => new ReplayBuffer({ ...base, capacity: 2.5 }))).toBe('capacity');
    expect(errorPath(() => new ReplayBuffer({ ...base, obsDim: -1 }))).toBe('obsDim');
    expect(errorPath(() => new ReplayBuffer({ ...base, action: { kind: 'discrete', n: 0 } }))).toBe('action.n');
    expect(errorPath(() => new ReplayBuffer({ ...base, action: { kind: 'continuous', dim: 2 }, storeMasks: true }))).toBe('storeMasks');
    expect(() => new ReplayBuffer({ ...base, capcity: 3 } as never)).toThrow(/capcity/);
  });
});

describe('ReplayBuffer', () => {
  it('samples rows equal to the rows added (every field, masks and NaN probs included)', () => {
    const buf = new ReplayBuffer({ capacity: 100, ...discrete, storeMasks: true });
    const added: TransitionInput[] = [];
    for (let i = 0; i < 40; i++) {
      const t = makeTransition(i, { ...discrete, masks: i % 2 === 0 });
      added.push(t);
      buf.add(t);
    }
    expect(buf.size).toBe(40);
    const b = buf.sample(64, new Rng(1));
    expect(b.size).toBe(64);
    for (let i = 0; i < 64; i++) {
      const j = b.indices[i];
      const t = added[j];
      expect(Array.from(b.obs.subarray(i * 3, i * 3 + 3))).toEqual(Array.from(t.obs));
      expect(Array.from(b.nextObs.subarray(i * 3, i * 3 + 3))).toEqual(Array.from(t.nextObs));
      expect(b.actions[i]).toBe(t.action);
      expect(b.rewards[i]).toBe(Math.fround(t.reward));
      expect(b.terminated[i]).toBe(t.terminated ? 1 : 0);
      expect(b.discounts[i]).toBe(Math.fround(0.99));
      expect(b.probs[i]).toBe(t.prob === undefined ? Number.NaN : Math.fround(t.prob));
      // No mask given: every action allowed.
      const mask = t.nextMask ? Array.from(t.nextMask) : [1, 1, 1, 1, 1];
      expect(Array.from((b.nextMasks as Uint8Array).subarray(i * 5, i * 5 + 5))).toEqual(mask);
      expect(b.weights[i]).toBe(1);
    }
  });

  it('overwrites the oldest rows once full', () => {
    const buf = new ReplayBuffer({ capacity: 4, ...discrete });
    for (let i = 0; i < 10; i++) buf.add(makeTransition(i, discrete));
    expect(buf.size).toBe(4);
    expect(buf.writeIndex).toBe(10 % 4);
    // Row j holds the last add that landed on it: adds 8, 9 on rows 0, 1; 6, 7 on rows 2, 3.
    expect(Array.from(buf.getState().arrays.rewards)).toEqual([8, 9, 6, 7].map((i) => i * 0.5 - 1));
    const b = buf.sample(200, new Rng(3));
    const seen = new Set(Array.from(b.rewards));
    expect([...seen].sort((x, y) => x - y)).toEqual([6, 7, 8, 9].map((i) => i * 0.5 - 1));
  });

  it('draws rows uniformly (counts within 4 binomial standard deviations)', () => {
    const buf = new ReplayBuffer({ capacity: 8, ...discrete });
    for (let i = 0; i < 8; i++) buf.add(makeTransition(i, discrete));
    const rng = new Rng(11);
    const counts = new Array(8).fill(0);
    const draws = 100 * 64;
    for (let k = 0; k < 100; k++) for (const j of buf.sample(64, rng).indices) counts[j]++;
    const p = 1 / 8;
    for (const c of counts) expect(Math.abs(c - draws * p)).toBeLessThan(4 * Math.sqrt(draws * p * (1 - p)));
  });

  it('stores continuous actions as Float32 rows', () => {
    const layout = { obsDim: 2, action: { kind: 'continuous' as const, dim: 3 } };
    const buf = new ReplayBuffer({ capacity: 5, ...layout });
    const t = makeTransition(2, layout);
    buf.add(t);
    const b = buf.sample(2, new Rng(0));
    expect(b.actions).toBeInstanceOf(Float32Array);
    expect(Array.from(b.actions.subarray(3, 6))).toEqual(Array.from(t.action as Float32Array));
    expect(b.nextMasks).toBeNull();
    expect(errorPath(() => buf.add({ ...t, action: 1 }))).toBe('action');
    expect(errorPath(() => buf.add({ ...t, action: [1, Number.NaN, 0] }))).toBe('action[1]');
  });

  it('reuses one batch object per batch size', () => {
    const buf = new ReplayBuffer({ capacity: 10, ...discrete });
    buf.add(makeTransition(0, discrete));
    const rng = new Rng(0);
    const a = buf.sample(8, rng);
    expect(buf.sample(8, rng)).toBe(a);
    expect(buf.sample(8, rng).obs).toBe(a.obs);
    expect(buf.sample(4, rng)).not.toBe(a);
  });

  it('refuses to sample an empty buffer or a bad batch size', () => {
    const buf = new ReplayBuffer({ capacity: 10, ...discrete });
    expect(() => buf.sample(4, new Rng(0))).toThrow(KairosError);
    buf.add(makeTransition(0, discrete));
    expect(errorPath(() => buf.sample(0, new Rng(0)))).toBe('batchSize');
  });

  it('names the bad field of a transition and leaves the buffer unchanged', () => {
    const layout = { ...discrete, storeMasks: true };
    const buf = new ReplayBuffer({ capacity: 3, ...layout });
    for (let i = 0; i < 4; i++) buf.add(makeTransition(i, { ...discrete, masks: true }));
    const before = buf.getState();
    const good = makeTransition(9, { ...discrete, masks: true });
    const cases: [Partial<TransitionInput> | Record<string, unknown>, string][] = [
      [{ obs: [1, 2] }, 'obs'],
      [{ obs: [1, Number.NaN, 2] }, 'obs[1]'],
      [{ nextObs: [0, 0, Infinity] }, 'nextObs[2]'],
      [{ action: 5 }, 'action'],
      [{ action: 1.5 }, 'action'],
      [{ reward: Number.NaN }, 'reward'],
      [{ terminated: 1 }, 'terminated'],
      [{ truncated: 'no' }, 'truncated'],
      [{ discount: 1.01 }, 'discount'],
      [{ discount: -0.1 }, 'discount'],
      [{ nextMask: [1, 1] }, 'nextMask'],
      [{ nextMask: [1, 1, 2, 0, 1] }, 'nextMask[2]'],
      [{ prob: -0.5 }, 'prob'],
    ];
    for (const [patch, path] of cases) {
      expect(errorPath(() => buf.add({ ...good, ...patch } as TransitionInput)), JSON.stringify(patch)).toBe(path);
    }
    expectSameState(before, buf.getState());
    expect(buf.writeIndex).toBe(1);
  });

  it('property: invalid adds throw a ValidationError and never change the state', () => {
    const corruptions: Record<string, (t: TransitionInput) => TransitionInput> = {
      obs: (t) => ({ ...t, obs: Array.from(t.obs).slice(1) }),
      'obs[0]': (t) => ({ ...t, obs: [Number.NaN, ...Array.from(t.obs).slice(1)] }),
      action: (t) => ({ ...t, action: -1 }),
      reward: (t) => ({ ...t, reward: Infinity }),
      nextObs: (t) => ({ ...t, nextObs: [] }),
      discount: (t) => ({ ...t, discount: 2 }),
      'nextMask[0]': (t) => ({ ...t, nextMask: [7, 1, 1, 1, 1] }),
    };
    const keys = Object.keys(corruptions);
    const op = fc.record({ i: fc.integer({ min: 0, max: 1000 }), bad: fc.option(fc.constantFrom(...keys), { freq: 2 }) });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 25 }), fc.integer({ min: 1, max: 6 }), (ops, capacity) => {
        const buf = new ReplayBuffer({ capacity, ...discrete, storeMasks: true });
        const model = new ReplayBuffer({ capacity, ...discrete, storeMasks: true });
        for (const { i, bad } of ops) {
          const t = makeTransition(i, { ...discrete, masks: i % 3 !== 0 });
          if (bad === null) {
            buf.add(t);
            model.add(t);
          } else {
            expect(errorPath(() => buf.add(corruptions[bad](t)))).toBe(bad);
          }
        }
        expectSameState(model.getState(), buf.getState());
      }),
      { numRuns: 60, seed: 42 },
    );
  });

  it('round-trips its state bit-exactly, write pointer and size included', () => {
    const buf = new ReplayBuffer({ capacity: 7, ...discrete, storeMasks: true });
    for (let i = 0; i < 11; i++) buf.add(makeTransition(i, { ...discrete, masks: true }));
    const state = buf.getState();
    // Survives the JSON part going through a file.
    const restored = new ReplayBuffer({ capacity: 7, ...discrete, storeMasks: true });
    restored.setState({ kind: state.kind, meta: JSON.parse(JSON.stringify(state.meta)), arrays: state.arrays });
    expectSameState(state, restored.getState());
    expect(restored.size).toBe(7);
    expect(restored.writeIndex).toBe(11 % 7);
    // Same future: identical samples, and the next add lands on the same row.
    const a = buf.sample(16, new Rng(5));
    const b = restored.sample(16, new Rng(5));
    expect(Array.from(b.indices)).toEqual(Array.from(a.indices));
    expect(Array.from(b.obs)).toEqual(Array.from(a.obs));
    buf.add(makeTransition(50, discrete));
    restored.add(makeTransition(50, discrete));
    expectSameState(buf.getState(), restored.getState());
    // A part-filled buffer saves only the rows written.
    const small = new ReplayBuffer({ capacity: 1000, ...discrete });
    small.add(makeTransition(1, discrete));
    expect(small.getState().arrays.obs.length).toBe(3);
  });

  it('setState names the bad field and changes nothing', () => {
    const buf = new ReplayBuffer({ capacity: 4, ...discrete });
    for (let i = 0; i < 6; i++) buf.add(makeTransition(i, discrete));
    const good = buf.getState();
    const target = new ReplayBuffer({ capacity: 4, ...discrete });
    target.add(makeTransition(99, discrete));
    const before = target.getState();
    const bad: [ReturnType<typeof withField>, string][] = [
      [{ ...good, kind: 'prioritized-replay' }, 'kind'],
      [withField(good, 'meta', 'capacity', 5), 'meta.capacity'],
      [withField(good, 'meta', 'obsDim', 4), 'meta.obsDim'],
      [withField(good, 'meta', 'action', { kind: 'discrete', n: 6 }), 'meta.action'],
      [withField(good, 'meta', 'size', 5), 'meta.size'],
      [withField(good, 'meta', 'pos', 4), 'meta.pos'],
      [withField(withField(good, 'meta', 'size', 3), 'meta', 'pos', 0), 'meta.pos'],
      [withField(good, 'arrays', 'obs', new Float64Array(12)), 'arrays.obs'],
      [withField(good, 'arrays', 'obs', new Float32Array(11)), 'arrays.obs'],
      [withField(good, 'arrays', 'actions', new Float32Array(4)), 'arrays.actions'],
      [withField(good, 'arrays', 'terminated', undefined), 'arrays.terminated'],
    ];
    for (const [state, path] of bad) expect(errorPath(() => target.setState(state)), path).toBe(path);
    expectSameState(before, target.getState());
    // Key order inside meta.action does not matter.
    target.setState(withField(good, 'meta', 'action', { n: 5, kind: 'discrete' }));
    expectSameState(good, target.getState());
  });

  it('holds a million LunarLander transitions in under 100 MB', () => {
    const buf = new ReplayBuffer({ capacity: 1_000_000, obsDim: 8, action: { kind: 'discrete', n: 4 } });
    // 2 × 32 (obs, nextObs) + 4 (action) + 3 × 4 (reward, discount, prob) + 1 (terminated) bytes per row.
    expect(buf.byteLength).toBe(81 * 1_000_000);
    expect(buf.byteLength).toBeLessThan(100e6);
  });
});

describe('ValidationError message', () => {
  it('says where, what was expected and what came', () => {
    const buf = new ReplayBuffer({ capacity: 2, ...discrete });
    try {
      buf.add({ ...makeTransition(0, discrete), reward: Number.NaN });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ValidationError);
      expect((e as Error).message).toBe('ReplayBuffer.add: reward: expected a finite number, received NaN');
    }
  });
});
