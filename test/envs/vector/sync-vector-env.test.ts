import { describe, expect, it } from 'vitest';
import { Rng } from '../../../src/core/rng.js';
import { Box, Dict, Discrete } from '../../../src/core/spaces.js';
import { EMPTY_INFO } from '../../../src/envs/env.js';
import { SubEnvError, SyncVectorEnv, batchSpace, makeVectorEnv } from '../../../src/envs/vector/index.js';
import { FlattenObservation, TransformObservation } from '../../../src/envs/wrappers/index.js';
import { Countdown, type CountdownOptions } from '../../fixtures/vector-envs.js';

const opts = (o: Partial<CountdownOptions>): CountdownOptions => ({ length: 3, mask: false, failOnAction: -1, exitOnAction: -1, ...o });

/** The draws a Countdown seeded with `seed` makes at its first `n` resets. */
function draws(seed: number, n: number): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => rng.int(1000));
}

describe('SyncVectorEnv', () => {
  it("next-step autoreset: the step after a done resets that sub-env, ignores its action, reward 0, flags 0", () => {
    // Sub-env 0 ends every 2 steps, sub-env 1 every 3 steps.
    const venv = new SyncVectorEnv([() => new Countdown(opts({ length: 2 })), () => new Countdown(opts({ length: 3 }))]);
    expect(venv.autoresetMode).toBe('next-step');
    const d0 = draws(10, 3);
    const d1 = draws(11, 3);
    const reset = venv.reset({ seed: 10 });
    expect(Array.from(reset.observations)).toEqual([0, d0[0], 0, d1[0]]);
    const table: Array<[number[], number[], number[], number[], number[]]> = [];
    for (const a of [
      [1, 2],
      [2, 1],
      [1, 2], // env 0 autoresets (action ignored)
      [0, 1], // env 1 autoresets
      [1, 1], // env 0 ends again
    ]) {
      const r = venv.step(a);
      table.push([Array.from(r.observations), Array.from(r.rewards), Array.from(r.terminations), Array.from(r.truncations), a]);
    }
    expect(table.map((row) => row.slice(0, 4))).toEqual([
      [[1, d0[0], 1, d1[0]], [101, 102], [0, 0], [0, 0]],
      [[2, d0[0], 2, d1[0]], [202, 201], [1, 0], [0, 0]],
      [[0, d0[1], 3, d1[0]], [0, 302], [0, 1], [0, 0]],
      [[1, d0[1], 0, d1[1]], [100, 0], [0, 0], [0, 0]],
      [[2, d0[1], 1, d1[1]], [201, 101], [1, 0], [0, 0]],
    ]);
  });

  it('same-step autoreset: resets in the done step and returns the final observation and info in infos', () => {
    const venv = new SyncVectorEnv([() => new Countdown(opts({ length: 2 })), () => new Countdown(opts({ length: 3, mask: true }))], {
      autoreset: 'same-step',
    });
    const d0 = draws(0, 3);
    const d1 = draws(1, 3);
    venv.reset({ seed: 0 });
    let r = venv.step([0, 0]);
    expect(Array.from(r.observations)).toEqual([1, d0[0], 1, d1[0]]);
    expect(r.infos[0]).toBe(EMPTY_INFO);
    expect(Array.from(r.infos[1].actionMask!)).toEqual([1, 0, 1]);
    r = venv.step([1, 1]); // env 0 done: already reset
    expect(Array.from(r.observations)).toEqual([0, d0[1], 2, d1[0]]);
    expect(Array.from(r.rewards)).toEqual([201, 201]);
    expect(Array.from(r.terminations)).toEqual([1, 0]);
    expect(Array.from(r.infos[0].finalObservation as Float32Array)).toEqual([2, d0[0]]);
    expect(r.infos[0].finalInfo).toBe(EMPTY_INFO);
    r = venv.step([2, 2]); // env 0 steps normally from its new episode; env 1 done
    expect(Array.from(r.observations)).toEqual([1, d0[1], 0, d1[1]]);
    expect(Array.from(r.rewards)).toEqual([102, 302]);
    expect(Array.from(r.terminations)).toEqual([0, 1]);
    expect(r.infos[0]).toBe(EMPTY_INFO);
    expect(Array.from(r.infos[1].finalObservation as Float32Array)).toEqual([3, d1[0]]);
    expect(Array.from((r.infos[1].finalInfo as { actionMask: Uint8Array }).actionMask)).toEqual([1, 0, 1]);
    expect(Array.from(r.infos[1].actionMask!)).toEqual([1, 0, 1]); // the reset's own info
  });

  it('reports truncation by the registered time limit', () => {
    const venv = makeVectorEnv('TestCountdown-v0', 2, { makeOptions: { length: 10, maxEpisodeSteps: 2 } });
    venv.reset({ seed: 0 });
    venv.step([0, 0]);
    const r = venv.step([0, 0]);
    expect(Array.from(r.truncations)).toEqual([1, 1]);
    expect(Array.from(r.terminations)).toEqual([0, 0]);
  });

  it('seeds sub-env i with seed + i, or each with its list entry; results are reused', () => {
    const venv = makeVectorEnv('TestCountdown-v0', 3);
    const a = venv.reset({ seed: 7 });
    expect(Array.from(a.observations)).toEqual([0, draws(7, 1)[0], 0, draws(8, 1)[0], 0, draws(9, 1)[0]]);
    const b = venv.reset({ seed: [9, 8, 7] });
    expect(b).toBe(a); // the same result object, rewritten
    expect(Array.from(b.observations)).toEqual([0, draws(9, 1)[0], 0, draws(8, 1)[0], 0, draws(7, 1)[0]]);
    const s1 = venv.step([0, 0, 0]);
    expect(venv.step([0, 0, 0])).toBe(s1);
    expect(() => venv.reset({ seed: [1, 2] })).toThrow(/seed: expected a number or an array of 3 seeds/);
    expect(() => venv.reset({ seed: -1 })).toThrow(/seed: expected an integer/);
  });

  it('batches spaces and typed arrays by the single spaces', () => {
    const cart = makeVectorEnv('TestCountdown-v0', 2);
    expect(cart.observationSpace).toBeInstanceOf(Box);
    expect(cart.observationSpace.shape).toEqual([2, 2]);
    expect(String(cart.actionSpace)).toBe('MultiDiscrete([3 3])');
    expect(cart.reset().observations).toBeInstanceOf(Float32Array);

    const cont = makeVectorEnv('TestContinuous-v0', 2);
    expect(cont.actionSpace.shape).toEqual([2, 2]);
    cont.reset({ seed: 0 });
    const r = cont.step(Float32Array.of(0.5, -0.5, 1, 0.25));
    expect(r.observations).toBeInstanceOf(Float64Array);
    expect(Array.from(r.observations)).toEqual([1, 0.5, -0.5, 1, 1, 0.25]);
    expect(Array.from(r.rewards)).toEqual([-4.5, 3.5]);

    const disc = makeVectorEnv('TestDiscreteObs-v0', 3);
    expect(String(disc.observationSpace)).toBe('MultiDiscrete([5 5 5])');
    expect(String(disc.actionSpace)).toBe('Box(0.0, [1.0 2.0 1.0 2.0 1.0 2.0], (3, 2), int32)');
    expect(disc.reset().observations).toBeInstanceOf(Int32Array);
    const d = disc.step(Int32Array.of(1, 2, 0, 1, 1, 0));
    expect(Array.from(d.observations)).toEqual([1, 1, 1]);
    expect(Array.from(d.rewards)).toEqual([21, 10, 1]);
    expect(() => disc.step([1, 2])).toThrow(/expected 6 actions \(3 sub-envs × 2 for MultiDiscrete\(\[2 3\]\)\), received length 2/);

    expect(String(batchSpace(new Discrete(4, 1), 2))).toBe('MultiDiscrete([4 4], start=[1 1])');
  });

  it('rejects Dict observations with a hint, and works once flattened', () => {
    const dict = () =>
      new TransformObservation(new Countdown(), (o: Float32Array) => ({ t: o.subarray(0, 1), draw: 1 }), new Dict({ t: new Box(0, 10, [1]), draw: new Discrete(2) }));
    expect(() => new SyncVectorEnv([dict])).toThrow(/vector envs support Box, Discrete, MultiDiscrete and MultiBinary observation spaces, received Dict.*FlattenObservation/);
    const flat = new SyncVectorEnv([() => new FlattenObservation(dict())]);
    expect(Array.from(flat.reset().observations)).toEqual([0, 1, 0]); // draw one-hot [0, 1], then t
  });

  it('names the sub-env that throws and checks that spaces match', () => {
    const venv = makeVectorEnv('TestCountdown-v0', 3, { makeOptions: { failOnAction: 2 } });
    venv.reset({ seed: 0 });
    try {
      venv.step([0, 1, 2]);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(SubEnvError);
      expect((e as SubEnvError).envIndex).toBe(2);
      expect((e as Error).message).toBe('sub-env 2: Countdown: action 2 is not allowed');
      expect((e as SubEnvError).originalCode).toBe('invalid_action');
    }
    expect(() => new SyncVectorEnv([() => new Countdown(), () => new TransformObservation(new Countdown(), (o) => o, new Box(0, 1, [2]))])).toThrow(
      /sub-env 1: observation space Box\(0.0, 1.0, \(2,\), float32\) differs from sub-env 0's/,
    );
  });

  it('applies wrapper specs: RecordEpisodeStatistics reports episodes in infos', () => {
    const venv = makeVectorEnv('TestCountdown-v0', 2, { wrappers: [{ wrapper: 'RecordEpisodeStatistics' }] });
    venv.reset({ seed: 0 });
    venv.step([0, 0]);
    venv.step([0, 0]);
    const r = venv.step([1, 2]);
    expect(r.infos.map((i) => i.episode && { r: i.episode.r, l: i.episode.l })).toEqual([
      { r: 100 + 200 + 301, l: 3 },
      { r: 100 + 200 + 302, l: 3 },
    ]);
  });

  it('stepAsync matches step and close is idempotent', async () => {
    const venv = makeVectorEnv('TestCountdown-v0', 2);
    venv.reset({ seed: 0 });
    const r = await venv.stepAsync([1, 2]);
    expect(Array.from(r.rewards)).toEqual([101, 102]);
    venv.close();
    venv.close();
    expect(() => venv.step([0, 0])).toThrow(/closed/);
  });
});
