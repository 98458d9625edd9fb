import { describe, expect, it } from 'vitest';
import { computeGae, discountedReturns, explainedVariance, meanStd, whiten } from '../../../src/agents/pg/advantages.js';

describe('GAE(λ)', () => {
  // Two envs, three steps, time-major (entry t·2 + i), γ = 0.9, λ = 0.8.
  // Env 0 runs through: δ2 = 3 + 0.9·2 − 1.5 = 3.3; δ1 = 2 + 0.9·1.5 − 1 = 2.35; δ0 = 1 + 0.9·1 − 0.5 = 1.4
  //   Â2 = 3.3, Â1 = 2.35 + 0.72·3.3 = 4.726, Â0 = 1.4 + 0.72·4.726 = 4.80272.
  // Env 1: step 0 truncated by a time limit with V(final) = 5 (bootstrap, then cut), step 1
  // terminal (no bootstrap), step 2 runs on with V(s_T) = 10:
  //   Â0 = 1 + 0.9·5 − 2 = 3.5, Â1 = 1 − 3 = −2, Â2 = 1 + 0.9·10 − 4 = 6.
  const input = {
    rewards: [1, 1, 2, 1, 3, 1],
    values: [0.5, 2, 1.0, 3, 1.5, 4],
    terminated: [0, 0, 0, 1, 0, 0],
    truncated: [0, 1, 0, 0, 0, 0],
    truncationValues: [0, 5, 0, 0, 0, 0],
    lastValues: [2, 10],
    n: 2,
    gamma: 0.9,
    lambda: 0.8,
  };

  it('matches the hand-computed example, with truncation bootstrapping and terminal handling', () => {
    const { advantages, returns } = computeGae(input);
    const expected = [4.80272, 3.5, 4.726, -2, 3.3, 6];
    expected.forEach((x, k) => expect(advantages[k]).toBeCloseTo(x, 10));
    expected.forEach((x, k) => expect(returns[k]).toBeCloseTo(x + input.values[k], 10));
  });

  it('equals SB3’s form: reward + γV(final) on truncation and a cut at every episode end', () => {
    const sb3Rewards = input.rewards.map((r, k) => r + (input.truncated[k] ? input.gamma * input.truncationValues[k] : 0));
    const dones = input.terminated.map((x, k) => x || input.truncated[k]);
    const { advantages: a } = computeGae({ ...input, rewards: sb3Rewards, terminated: dones, truncated: [0, 0, 0, 0, 0, 0], truncationValues: null });
    const { advantages: b } = computeGae(input);
    for (let k = 0; k < 6; k++) expect(a[k]).toBeCloseTo(b[k], 12);
  });

  it('λ = 1 gives Monte-Carlo returns minus V; λ = 0 gives the TD error', () => {
    const one = computeGae({ ...input, lambda: 1 });
    // Env 0, λ = 1: G0 = 1 + 0.9·2 + 0.81·3 + 0.729·2 = 6.688.
    expect(one.returns[0]).toBeCloseTo(6.688, 10);
    const zero = computeGae({ ...input, lambda: 0 });
    expect(zero.advantages[0]).toBeCloseTo(1.4, 12);
    expect(zero.advantages[2]).toBeCloseTo(2.35, 12);
  });

  it('rejects mismatched lengths', () => {
    expect(() => computeGae({ ...input, values: [1, 2] })).toThrow(/values\.length/);
    expect(() => computeGae({ ...input, lastValues: [1] })).toThrow(/lastValues/);
  });
});

describe('returns and whitening', () => {
  it('discounted returns restart per episode and add the bootstrap', () => {
    // Episodes [1, 1, 1] and [2, 4] (bootstrap 10 after the second), γ = 0.5.
    const g = discountedReturns([1, 1, 1, 2, 4], [0, 3, 5], 0.5, [0, 10]);
    expect(Array.from(g)).toEqual([1.75, 1.5, 1, 2 + 0.5 * (4 + 5), 4 + 5]);
  });

  it('whiten uses the unbiased std (torch.std) and leaves a single value alone', () => {
    const x = whiten(Float64Array.from([1, 2, 3, 4]));
    const { mean, std } = meanStd(x);
    expect(mean).toBeCloseTo(0, 12);
    expect(std).toBeCloseTo(1, 6);
    expect(Array.from(whiten(Float64Array.from([5])))).toEqual([5]);
  });

  it('explained variance is 1 for perfect predictions and 0 for the mean', () => {
    expect(explainedVariance([1, 2, 3], [1, 2, 3])).toBeCloseTo(1, 12);
    expect(explainedVariance([2, 2, 2], [1, 2, 3])).toBeCloseTo(0, 12);
  });
});
