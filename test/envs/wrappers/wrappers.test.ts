import { describe, expect, it } from 'vitest';
import { KairosError } from '../../../src/core/errors.js';
import { Box, Dict, Discrete, MultiDiscrete } from '../../../src/core/spaces.js';
import { EMPTY_INFO, type Env } from '../../../src/envs/env.js';
import {
  ActionMasker,
  ClipAction,
  EnforceActionMask,
  FlattenObservation,
  FrameStack,
  NormalizeObservation,
  NormalizeReward,
  RecordEpisodeStatistics,
  RescaleAction,
  TransformAction,
  TransformObservation,
  TransformReward,
  applyWrappers,
} from '../../../src/envs/wrappers/index.js';
import { ScriptedEnv } from '../../fixtures/scripted-env.js';

/**
 * Mean and variance Gymnasium's RunningMeanStd holds after seeing `xs`, in closed form:
 * the prior (count 1e-4, mean 0, var 1) merged with the data's own moments.
 */
function expectedStats(xs: number[]): { mean: number; var: number } {
  const c0 = 1e-4;
  const n = xs.length;
  const m = xs.reduce((a, b) => a + b, 0) / n;
  const m2 = xs.reduce((a, x) => a + (x - m) ** 2, 0);
  const total = c0 + n;
  const mean = (m * n) / total;
  const varAll = (c0 * 1 + m2 + (m * m * c0 * n) / total) / total;
  return { mean, var: varAll };
}

describe('RecordEpisodeStatistics', () => {
  it('adds {r, l, t} on the last step only and keeps bounded queues', () => {
    const inner = new ScriptedEnv({ observations: [[0]], rewards: [1, 2, 3], terminateAfter: 3 });
    const env = new RecordEpisodeStatistics(inner, { bufferLength: 2 });
    for (let ep = 0; ep < 3; ep++) {
      env.reset();
      expect(env.step(0).info.episode).toBeUndefined();
      expect(env.step(0).info).toBe(EMPTY_INFO); // untouched, not copied
      const last = env.step(0);
      expect(last.info.episode).toMatchObject({ r: 6, l: 3 });
      expect(last.info.episode!.t).toBeGreaterThanOrEqual(0);
    }
    expect(EMPTY_INFO).toEqual({});
    expect(env.episodeCount).toBe(3);
    expect(env.returnQueue).toEqual([6, 6]);
    expect(env.lengthQueue).toEqual([3, 3]);
    expect(env.timeQueue).toHaveLength(2);
    expect(env.meanReturn).toBe(6);
  });

  it('counts truncated episodes and restarts the sums on reset', () => {
    const inner = new ScriptedEnv({ observations: [[0]], rewards: [0.5], truncateAfter: 4 });
    const env = new RecordEpisodeStatistics(inner);
    env.reset();
    env.step(0);
    env.reset(); // abandoned episode: not recorded
    let r;
    do r = env.step(0);
    while (!r.truncated);
    expect(r.info.episode).toMatchObject({ r: 2, l: 4 });
    expect(env.returnQueue).toEqual([2]);
  });

  it('refuses to overwrite an existing info.episode', () => {
    const inner = new ScriptedEnv({ observations: [[0]], terminateAfter: 1, info: () => ({ episode: { r: 0, l: 0, t: 0 } }) });
    const env = new RecordEpisodeStatistics(inner);
    env.reset();
    expect(() => env.step(0)).toThrow(/info.episode is already set/);
  });
});

describe('ClipAction', () => {
  it('clips to the bounds and exposes an unbounded action space', () => {
    const inner = new ScriptedEnv({ observations: [[0]], actionSpace: new Box([-2, 0], [2, 1]) });
    const env = new ClipAction(inner);
    expect(String(env.actionSpace)).toBe('Box(-inf, inf, (2,), float32)');
    env.reset();
    env.step([5, -3]);
    env.step(Float32Array.of(-7, 0.5));
    env.step([1.5, 2]);
    expect(inner.actions).toEqual([
      [2, 0],
      [-2, 0.5],
      [1.5, 1],
    ]);
    expect(() => env.step([1])).toThrow(/expected an action of 2 values/);
    expect(() => new ClipAction(new TransformAction(inner, (a: number) => a, new Discrete(2)) as Env<unknown, any>)).toThrow(/Box action space/);
  });
});

describe('RescaleAction', () => {
  it('maps [min, max] affinely onto the env bounds', () => {
    const inner = new ScriptedEnv({ observations: [[0]], actionSpace: new Box([-2, 0], [2, 10]) });
    const env = new RescaleAction(inner, -1, 1);
    expect(String(env.actionSpace)).toBe('Box(-1.0, 1.0, (2,), float32)');
    env.reset();
    env.step([0.5, 0.5]); // [1, 7.5]
    env.step([-1, -1]); // [-2, 0]
    env.step([1, 0]); // [2, 5]
    env.step([3, -9]); // out of range: clipped to [2, 0]
    expect(inner.actions).toEqual([
      [1, 7.5],
      [-2, 0],
      [2, 5],
      [2, 0],
    ]);
  });

  it('accepts per-dimension ranges and rejects unbounded envs', () => {
    const inner = new ScriptedEnv({ observations: [[0]], actionSpace: new Box(0, 10, [1]) });
    const env = new RescaleAction(inner, 0, 1);
    env.reset();
    env.step([0.25]);
    expect(inner.actions).toEqual([[2.5]]);
    const unbounded = new ScriptedEnv({ observations: [[0]], actionSpace: new Box(-Infinity, Infinity, [1]) });
    expect(() => new RescaleAction(unbounded)).toThrow(/bounded Box/);
    expect(() => new RescaleAction(inner, 1, 1)).toThrow(/minAction/);
  });
});

describe('NormalizeObservation', () => {
  const rows = [
    [1, 10],
    [2, 20],
    [4, 40],
    [7, -5],
  ];

  it('normalises with running statistics over every observation seen (reset and step)', () => {
    const inner = new ScriptedEnv({ observations: rows, terminateAfter: 3 });
    const env = new NormalizeObservation(inner);
    expect(String(env.observationSpace)).toBe('Box(-inf, inf, (2,), float32)');
    const seen: number[][] = [];
    const outputs: Float32Array[] = [env.reset().observation];
    seen.push(rows[0]);
    for (let k = 1; k <= 3; k++) {
      outputs.push(env.step(0).observation);
      seen.push(rows[k]);
    }
    // Each output uses the statistics after its own observation was added.
    for (let k = 0; k < outputs.length; k++) {
      for (let j = 0; j < 2; j++) {
        const { mean, var: v } = expectedStats(seen.slice(0, k + 1).map((r) => r[j]));
        expect(outputs[k][j]).toBeCloseTo((seen[k][j] - mean) / Math.sqrt(v + 1e-8), 4);
      }
    }
    const final0 = expectedStats(seen.map((r) => r[0]));
    expect(env.rms.mean[0]).toBeCloseTo(final0.mean, 10);
    expect(env.rms.var[0]).toBeCloseTo(final0.var, 10);
  });

  it('freezes statistics when training is false, clips, and restores stats', () => {
    const inner = new ScriptedEnv({ observations: rows, dtype: 'float64' });
    const env = new NormalizeObservation(inner, { clip: 0.5 });
    env.reset();
    env.step(0);
    const stats = env.getStats();
    env.training = false;
    const out = env.step(0).observation;
    expect(out).toBeInstanceOf(Float32Array); // float64 inner obs converted
    expect(env.getStats()).toEqual(stats);
    for (const v of out) expect(Math.abs(v)).toBeLessThanOrEqual(0.5);
    const other = new NormalizeObservation(new ScriptedEnv({ observations: rows }));
    other.setStats(stats);
    expect(other.getStats()).toEqual(stats);
  });

  it('rejects non-Box observation spaces with a hint', () => {
    const dictEnv = new TransformObservation(new ScriptedEnv({ observations: [[0]] }), (o) => ({ a: o }), new Dict({ a: new Box(0, 1, [1]) }));
    expect(() => new NormalizeObservation(dictEnv as never)).toThrow(/FlattenObservation/);
  });
});

describe('NormalizeReward', () => {
  it('divides by the std of the discounted return, reset at episode end (hand-run recursion)', () => {
    const gamma = 0.9;
    const rewards = [1, 2, 3];
    const inner = new ScriptedEnv({ observations: [[0]], rewards, terminateAfter: 3 });
    const env = new NormalizeReward(inner, { gamma });
    const returns: number[] = [];
    const got: number[] = [];
    const want: number[] = [];
    let R = 0;
    for (let ep = 0; ep < 2; ep++) {
      env.reset();
      for (let k = 0; k < 3; k++) {
        const r = env.step(0);
        R = gamma * R + rewards[k];
        returns.push(R);
        const { var: v } = expectedStats(returns);
        got.push(r.reward);
        want.push(rewards[k] / Math.sqrt(v + 1e-8));
      }
      R = 0; // SB3: returns[dones] = 0
    }
    expect(returns).toEqual([1, 2.9, 2.9 * 0.9 + 3, 1, 2.9, 2.9 * 0.9 + 3]);
    got.forEach((g, i) => expect(g).toBeCloseTo(want[i], 10));
    expect(env.discountedReturn).toBe(0);
  });

  it('clips, freezes and round-trips its statistics', () => {
    const inner = new ScriptedEnv({ observations: [[0]], rewards: [100, -100] });
    const env = new NormalizeReward(inner, { clip: 2 });
    env.reset();
    for (let k = 0; k < 5; k++) expect(Math.abs(env.step(0).reward)).toBeLessThanOrEqual(2);
    const stats = env.getStats();
    env.training = false;
    env.step(0);
    expect(env.getStats().rms).toEqual(stats.rms);
    const copy = new NormalizeReward(new ScriptedEnv({ observations: [[0]] }));
    copy.setStats(JSON.parse(JSON.stringify(stats)));
    expect(copy.getStats()).toEqual(stats);
    expect(() => copy.setStats({ rms: stats.rms, discountedReturn: NaN })).toThrow(/discountedReturn/);
  });
});

describe('FrameStack', () => {
  const frames = [[1, 10], [2, 20], [3, 30], [4, 40]];

  it('pads with the reset observation and orders frames oldest to newest', () => {
    const env = new FrameStack(new ScriptedEnv({ observations: frames }), 3);
    expect(env.observationSpace.shape).toEqual([3, 2]);
    const o0 = env.reset().observation;
    expect(Array.from(o0)).toEqual([1, 10, 1, 10, 1, 10]);
    const o1 = env.step(0).observation;
    expect(Array.from(o1)).toEqual([1, 10, 1, 10, 2, 20]);
    o1.fill(-1); // the caller owns it: must not affect the next stack
    expect(Array.from(env.step(0).observation)).toEqual([1, 10, 2, 20, 3, 30]);
    expect(Array.from(env.step(0).observation)).toEqual([2, 20, 3, 30, 4, 40]);
    expect(Array.from(env.step(0).observation)).toEqual([3, 30, 4, 40, 1, 10]);
    expect(Array.from(o0)).toEqual([1, 10, 1, 10, 1, 10]);
    // A new episode starts a fresh history.
    expect(Array.from(env.reset().observation)).toEqual([1, 10, 1, 10, 1, 10]);
  });

  it('pads with zeros on request, keeps the dtype, and puts 0 inside the bounds', () => {
    const env = new FrameStack(new ScriptedEnv({ observations: frames, dtype: 'uint8', low: 1, high: 50 }), 2, { padding: 'zero' });
    const o = env.reset().observation;
    expect(o).toBeInstanceOf(Uint8Array);
    expect(Array.from(o)).toEqual([0, 0, 1, 10]);
    expect(env.observationSpace.contains(o)).toBe(true);
    expect(Array.from(env.step(0).observation)).toEqual([1, 10, 2, 20]);
  });
});

describe('FlattenObservation', () => {
  it('flattens Dict observations into float32 vectors', () => {
    const dictSpace = new Dict({ pos: new Box(-1, 1, [2]), id: new Discrete(3) });
    const inner = new TransformObservation(
      new ScriptedEnv({ observations: [[0.5, -0.5]] }),
      (o: Float32Array) => ({ pos: o, id: 2 }),
      dictSpace,
    );
    const env = new FlattenObservation(inner);
    expect(env.observationSpace.shape).toEqual([5]);
    // Keys sorted: id (one-hot of 3), then pos.
    expect(Array.from(env.reset().observation)).toEqual([0, 0, 1, 0.5, -0.5]);
  });

  it('passes float32 Box observations through without a copy', () => {
    const inner = new ScriptedEnv({ observations: [[1, 2]] });
    const env = new FlattenObservation(inner);
    const r = env.reset();
    expect(r.observation).toBeInstanceOf(Float32Array);
    expect(Array.from(r.observation)).toEqual([1, 2]);
  });
});

describe('Transform wrappers', () => {
  it('apply their functions to rewards, observations and actions', () => {
    const inner = new ScriptedEnv({ observations: [[1]], rewards: [2] });
    const env = new TransformAction(
      new TransformObservation(new TransformReward(inner, (r) => r * 10), (o: Float32Array) => Float32Array.of(o[0] + 1)),
      (a: number) => Float32Array.of(a / 2),
      new Discrete(4),
    );
    expect(env.actionSpace).toBeInstanceOf(Discrete);
    expect(Array.from(env.reset().observation)).toEqual([2]);
    const r = env.step(3);
    expect(r.reward).toBe(20);
    expect(Array.from(r.observation)).toEqual([2]);
    expect(inner.actions).toEqual([[1.5]]);
  });
});

describe('action masks', () => {
  class Board implements Env<Float32Array, number> {
    readonly observationSpace = new Box(0, 10, [1]);
    readonly actionSpace = new Discrete(3, 1); // actions 1, 2, 3
    t = 0;
    legal() {
      return this.t % 2 === 0 ? [1, 0, 1] : [0, 1, 0];
    }
    reset() {
      this.t = 0;
      return { observation: Float32Array.of(0), info: EMPTY_INFO };
    }
    step() {
      this.t++;
      return { observation: Float32Array.of(this.t), reward: 0, terminated: false, truncated: false, info: EMPTY_INFO };
    }
  }

  it('ActionMasker adds info.actionMask; EnforceActionMask rejects masked actions', () => {
    const env = new EnforceActionMask(new ActionMasker(new Board(), (e) => (e as Board).legal()));
    const { info } = env.reset();
    expect(Array.from(info.actionMask!)).toEqual([1, 0, 1]);
    expect(() => env.step(2)).toThrow(/action 2 is masked out; allowed actions: \[1, 3\]/);
    const r = env.step(3);
    expect(Array.from(r.info.actionMask!)).toEqual([0, 1, 0]);
    expect(() => env.step(1)).toThrow(KairosError);
    env.step(2);
  });

  it('EnforceActionMask checks MultiDiscrete components against concatenated masks', () => {
    const inner = new ScriptedEnv({ observations: [[0]], info: () => ({ actionMask: Uint8Array.of(1, 0, 0, 1, 1) }) });
    const md = new TransformAction(inner, (a: Int32Array) => a, new MultiDiscrete([2, 3]));
    const env = new EnforceActionMask(md);
    env.reset();
    env.step(Int32Array.of(0, 1));
    expect(() => env.step(Int32Array.of(1, 0))).toThrow(/component 0 = 1 is masked out; allowed values: \[0\]/);
    expect(() => env.step(Int32Array.of(0, 0))).toThrow(/component 1 = 0 is masked out; allowed values: \[1, 2\]/);
  });
});

describe('applyWrappers', () => {
  it('builds wrappers from specs and functions in order, and names unknown wrappers', () => {
    const env = applyWrappers(new ScriptedEnv({ observations: [[1], [2]] }), [
      { wrapper: 'FrameStack', options: { stackSize: 2 } },
      (e) => new TransformReward(e, (r) => r + 1),
      { wrapper: 'RecordEpisodeStatistics' },
    ]);
    expect(env).toBeInstanceOf(RecordEpisodeStatistics);
    expect(env.observationSpace.shape).toEqual([2, 1]);
    expect(() => applyWrappers(env, [{ wrapper: 'Nope' } as never])).toThrow(/wrappers\[0\]\.wrapper: expected RecordEpisodeStatistics \| ClipAction/);
  });
});
