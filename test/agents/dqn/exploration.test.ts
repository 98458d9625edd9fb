import { describe, expect, it } from 'vitest';
import {
  epsilonGreedyProbabilities,
  greedyAction,
  selectEpsilonGreedy,
  selectSoftmax,
  softmaxProbabilities,
} from '../../../src/agents/dqn/exploration.js';
import { Rng } from '../../../src/core/rng.js';

describe('exploration with action probabilities', () => {
  const q = Float32Array.from([1, 3, 3, 0]); // one row, ties between actions 1 and 2

  it('greedy takes the lowest index among ties and respects masks', () => {
    expect(greedyAction(q, null, 0, 4)).toBe(1);
    expect(greedyAction(q, Uint8Array.from([1, 0, 1, 1]), 0, 4)).toBe(2);
    expect(() => greedyAction(q, Uint8Array.from([0, 0, 0, 0]), 0, 4)).toThrow(/allows no action/);
  });

  it('ε-greedy probabilities: ε/k + (1 − ε) on the greedy action; empirical frequencies agree', () => {
    const masks = Uint8Array.from([1, 1, 0, 1]);
    const p = epsilonGreedyProbabilities(q, 1, 4, masks, 0.3);
    expect(Array.from(p)).toEqual([0.1, 0.1 + 0.7, 0, 0.1].map((x) => expect.closeTo(x, 12)));
    const rng = new Rng(1);
    const actions = new Int32Array(1);
    const probs = new Float64Array(1);
    const counts = [0, 0, 0, 0];
    const N = 20_000;
    for (let i = 0; i < N; i++) {
      selectEpsilonGreedy(q, 1, 4, masks, 0.3, rng, actions, probs);
      counts[actions[0]]++;
      expect(probs[0]).toBeCloseTo(p[actions[0]], 12);
    }
    // Binomial std of a frequency with p = 0.1 over N draws is 0.0021; allow 5 std.
    expect(counts[2]).toBe(0);
    for (const a of [0, 1, 3]) expect(Math.abs(counts[a] / N - p[a])).toBeLessThan(5 * Math.sqrt((p[a] * (1 - p[a])) / N));
  });

  it('softmax probabilities are exp(Q/T)/Z over allowed actions and match sampling', () => {
    const T = 2;
    const p = softmaxProbabilities(q, 1, 4, null, T);
    const z = [1, 3, 3, 0].reduce((s, x) => s + Math.exp(x / T), 0);
    [1, 3, 3, 0].forEach((x, a) => expect(p[a]).toBeCloseTo(Math.exp(x / T) / z, 12));
    const rng = new Rng(2);
    const actions = new Int32Array(1);
    const probs = new Float64Array(1);
    const counts = [0, 0, 0, 0];
    const N = 20_000;
    for (let i = 0; i < N; i++) {
      selectSoftmax(q, 1, 4, null, T, rng, actions, probs);
      counts[actions[0]]++;
      expect(probs[0]).toBeCloseTo(p[actions[0]], 12);
    }
    for (let a = 0; a < 4; a++) expect(Math.abs(counts[a] / N - p[a])).toBeLessThan(5 * Math.sqrt((p[a] * (1 - p[a])) / N));
  });
});
