/**
 * ActionSequence-v0: the exact figures against brute force through the public env API
 * (stepping every cue and continuation, and every deterministic memoryless policy of a small
 * task), the gap of the default task, reward modes, observations and input checks.
 */
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src/core/errors.js';
import { checkEnv, make } from '../../../src/envs/index.js';
import { actionSequenceTask, actionSequenceValues } from '../../../src/envs/sims/action-sequence.js';

/** Return of one episode with cue `cue` where the agent plays `plan` (one action per step). */
function playEpisode(opts: Record<string, unknown>, cue: number[], policy: (obs: Float32Array, t: number) => number): number {
  const env = make<Float32Array, number>('ActionSequence-v0', opts);
  let { observation } = env.reset({ seed: 0, options: { cue } });
  let total = 0;
  for (let t = 0; ; t++) {
    const r = env.step(policy(observation, t));
    total += r.reward;
    observation = r.observation;
    if (r.terminated || r.truncated) return total;
  }
}

/** All sequences of `n` digits base `k`, as arrays. */
function allSequences(k: number, n: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < k ** n; i++) out.push(Array.from({ length: n }, (_, j) => Math.floor(i / k ** (n - 1 - j)) % k));
  return out;
}

describe('ActionSequence-v0', () => {
  it('exact optimum and memoryless bound agree with brute force through the env (k=2, L=5, P=2)', () => {
    const opts = { numActions: 2, length: 5, cueLength: 2, scorerSeed: 7 };
    const k = 2;
    const task = actionSequenceTask(opts);
    const cues = allSequences(k, 2);
    const plans = allSequences(k, 3);
    // Every executed sequence's return, by stepping the env.
    let optimal = 0;
    for (const cue of cues) {
      let best = -Infinity;
      for (const plan of plans) {
        const ret = playEpisode(opts, cue, (_o, t) => (t < 2 ? 0 : plan[t - 2]));
        const index = [...cue, ...plan].reduce((s, a) => s * k + a, 0);
        expect(ret).toBeCloseTo(task.returns[index], 12);
        best = Math.max(best, ret);
      }
      optimal += best / cues.length;
    }
    expect(optimal).toBeCloseTo(1, 12);
    expect(task.values.optimal).toBe(1);
    // Every deterministic memoryless policy: a table from (step, last action) to an action.
    // (Stochastic ones cannot do better here: each observation is met at most once per
    // episode, so the value is multilinear in the action probabilities.)
    const tables = allSequences(k, 3 * k);
    let bestMemoryless = -Infinity;
    for (const table of tables) {
      let value = 0;
      for (const cue of cues) {
        value += playEpisode(opts, cue, (obs, t) => {
          if (t < 2) return 0;
          const last = obs.subarray(0, k).indexOf(1);
          return table[(t - 2) * k + last];
        }) / cues.length;
      }
      bestMemoryless = Math.max(bestMemoryless, value);
    }
    expect(bestMemoryless).toBeLessThanOrEqual(task.values.memorylessBound + 1e-12);
    expect(task.values.memorylessBound).toBeLessThan(1);
  });

  it('the default task has a large memory gap for several scorer seeds; random play scores 0', () => {
    for (const scorerSeed of [0, 1, 2, 3]) {
      const v = actionSequenceValues({ scorerSeed });
      expect(v.optimal).toBe(1);
      expect(v.memorylessBound).toBeLessThan(0.6);
      expect(v.openLoop).toBeLessThan(v.memorylessBound);
      expect(Math.abs(v.random)).toBeLessThan(1e-12);
    }
    expect(actionSequenceTask().returns.length).toBe(4 ** 8);
  });

  it('final reward equals the dense return; cue-only observations hide later actions', () => {
    const plan = [2, 1, 3, 0, 0];
    const cue = [1, 0, 3];
    const policy = (_o: Float32Array, t: number): number => (t < 3 ? 0 : plan[t - 3]);
    const dense = playEpisode({}, cue, policy);
    const final = playEpisode({ reward: 'final' }, cue, policy);
    expect(final).toBeCloseTo(dense, 12);
    const env = make<Float32Array, number>('ActionSequence-v0', { observation: 'cue-only', stepIndex: false });
    expect(env.observationSpace.shape).toEqual([4]);
    env.reset({ options: { cue } });
    const seen: number[][] = [];
    for (let t = 0; t < 8; t++) seen.push(Array.from(env.step(t < 3 ? 0 : plan[t - 3]).observation));
    expect(seen[0]).toEqual([0, 1, 0, 0]);
    expect(seen[2]).toEqual([0, 0, 0, 1]);
    for (const o of seen.slice(3)) expect(o).toEqual([0, 0, 0, 0]);
  });

  it('passes the env checker and rejects bad options and cues', () => {
    const report = checkEnv(make('ActionSequence-v0'), { seed: 3 });
    expect(report.errors).toEqual([]);
    expect(() => make('ActionSequence-v0', { cueLength: 8 })).toThrow(ValidationError);
    expect(() => make('ActionSequence-v0', { numActions: 8, length: 8 })).toThrow(/length/);
    const env = make('ActionSequence-v0');
    expect(() => env.reset({ options: { cue: [0, 4, 1] } })).toThrow(/options.cue/);
  });
});
