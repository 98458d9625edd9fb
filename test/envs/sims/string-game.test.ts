/**
 * StringGame-v0: ReAgent's known optimum ("ABBABB", +10) by brute force, the brute force
 * against an independent dynamic program on random pattern sets, and the memoryless bound.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { make, register } from '../../../src/envs/registry.js';
import { simRegistrations } from '../../../src/envs/sims/index.js';
import { StringGame, stringGameOptimum } from '../../../src/envs/sims/string-game.js';

// Only the simulators: importing every built-in env (Box2D included) would slow the test down.
for (const reg of simRegistrations) register(reg);

function play(env: StringGame, actions: number[]): number[] {
  env.reset();
  return actions.map((a) => env.step(a).reward);
}

/**
 * The optimum by backward induction over (step, last w − 1 actions), written independently of
 * the brute force: the reward of step t reads the last w actions once t ≥ w − 1.
 */
function dpOptimum(k: number, length: number, patterns: Record<string, number>, alphabet: string): number {
  const w = Object.keys(patterns)[0].length;
  const memory = w - 1;
  const states = k ** memory;
  const reward = (code: number, a: number): number => {
    let s = '';
    let c = code * k + a;
    for (let i = 0; i < w; i++) {
      s = alphabet[c % k] + s;
      c = Math.floor(c / k);
    }
    return patterns[s] ?? 0;
  };
  let next = new Float64Array(states); // value after the last step: 0
  for (let t = length - 1; t >= 0; t--) {
    const cur = new Float64Array(states);
    for (let code = 0; code < states; code++) {
      let best = -Infinity;
      for (let a = 0; a < k; a++) {
        const r = t >= w - 1 ? reward(code, a) : 0;
        best = Math.max(best, r + next[(code * k + a) % states]);
      }
      cur[code] = best;
    }
    next = cur;
  }
  // At t = 0 no action has been written; before t ≥ w − 1 nothing is scored, so the leading
  // placeholders of the code do not matter: any state gives the same value.
  return next[0];
}

describe('StringGame-v0', () => {
  it("has ReAgent's optimum: ABBABB with return 10, and nothing else reaches it", () => {
    const opt = stringGameOptimum();
    expect(opt).toEqual({ value: 10, strings: ['ABBABB'], enumerated: 64 });
    const env = new StringGame();
    expect(play(env, [0, 1, 1, 0, 1, 1])).toEqual([0, 0, 5, 0, 0, 5]);
    expect(env.text).toBe('ABBABB');
    expect(play(env, [1, 1, 1, 1, 1, 1])).toEqual([0, 0, -5, -5, -5, -5]);
  });

  it('observes the last action only (one-hot or discrete)', () => {
    const env = make<Float32Array, number>('StringGame-v0');
    expect(Array.from(env.reset().observation)).toEqual([0, 0]);
    expect(Array.from(env.step(1).observation)).toEqual([0, 1]);
    const d = make<number, number>('StringGame-v0', { observation: 'discrete' });
    expect(d.reset().observation).toBe(0);
    expect(d.step(0).observation).toBe(1);
    expect(d.step(1).observation).toBe(2);
    // Episodes terminate after `length` steps.
    const e = make<number, number>('StringGame-v0', { observation: 'discrete', length: 2 });
    e.reset();
    expect(e.step(0).terminated).toBe(false);
    expect(e.step(0).terminated).toBe(true);
  });

  it('a memoryless deterministic policy gets at most 0 (it cannot tell "AB" from "ABB")', () => {
    // Observations: start, after A, after B: 2^3 deterministic policies.
    let best = -Infinity;
    for (let p = 0; p < 8; p++) {
      const policy = [p & 1, (p >> 1) & 1, (p >> 2) & 1];
      const env = new StringGame({ observation: 'discrete' });
      let obs = env.reset().observation as number;
      let ret = 0;
      for (let t = 0; t < 6; t++) {
        const r = env.step(policy[obs]);
        ret += r.reward;
        obs = r.observation as number;
      }
      best = Math.max(best, ret);
    }
    expect(best).toBe(0);
  });

  it('brute force equals an independent DP on random alphabets and patterns', () => {
    const alphabets = ['AB', 'ABC', 'WXYZ'];
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: -5, max: 5 })), { minLength: 1, maxLength: 6 }),
        (ai, w, length, entries) => {
          const alphabet = alphabets[ai];
          const k = alphabet.length;
          const patterns: Record<string, number> = {};
          for (const [code, value] of entries) {
            let s = '';
            let c = code % k ** w;
            for (let i = 0; i < w; i++) {
              s = alphabet[c % k] + s;
              c = Math.floor(c / k);
            }
            patterns[s] = value;
          }
          const opt = stringGameOptimum({ alphabet, patterns, length });
          expect(opt.value).toBeCloseTo(dpOptimum(k, length, patterns, alphabet), 12);
          // Replaying an optimal string in the env earns the optimum.
          const env = new StringGame({ alphabet, patterns, length });
          const rewards = play(env, [...opt.strings[0]].map((c) => alphabet.indexOf(c)));
          expect(rewards.reduce((a, b) => a + b, 0)).toBeCloseTo(opt.value, 12);
        },
      ),
      { seed: 7, numRuns: 60 },
    );
  });
});
