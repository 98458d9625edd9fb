import type { BanditDataset, EpisodicDataset } from '../../src/ope/types.js';

/** Small statistics helpers for the OPE tests. */
export function meanAndSe(xs: number[]): { mean: number; se: number } {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const varr = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
  return { mean, se: Math.sqrt(varr / n) };
}

export function meanAbsError(xs: number[], truth: number): number {
  return xs.reduce((a, b) => a + Math.abs(b - truth), 0) / xs.length;
}

/*
 * The hand-computed FQE example: two episodes, γ = 0.5, π(·|s0) = [0.5, 0.5], π(·|s1) = [0.25, 0.75]:
 *   1: s0, a=0, r=1 → s1, a=1, r=2 (end)      2: s0, a=1, r=0 → s1, a=0, r=4 (end)
 * Q(s1,1) = 2, Q(s1,0) = 4, V(s1) = 0.25·4 + 0.75·2 = 2.5;
 * Q(s0,0) = 1 + 0.5·2.5 = 2.25, Q(s0,1) = 0 + 1.25 = 1.25, V(s0) = 1.75.
 * Features are the state ids (`features` one number per step); pass other features to override.
 */
export function tinyFqeExample(features: Float32Array = Float32Array.of(0, 1, 0, 1), featureDim = 1): EpisodicDataset {
  return {
    numEpisodes: 2,
    numSteps: 4,
    numActions: 2,
    episodeStarts: Int32Array.of(0, 2, 4),
    actions: Int32Array.of(0, 1, 1, 0),
    rewards: Float64Array.of(1, 2, 0, 4),
    propensities: Float64Array.of(0.5, 0.5, 0.5, 0.5),
    targetProbs: Float64Array.of(0.5, 0.5, 0.25, 0.75, 0.5, 0.5, 0.25, 0.75),
    features,
    featureDim,
    gamma: 0.5,
  };
}

/*
 * The hand-computed bandit dataset, K = 2:
 *
 * row | a | r   | μ(a) | π(·)       | q̂(·)       | w = π(a)/μ(a) | q̂(x, π)            | r − q̂(a)
 *  0  | 0 | 1.0 | 0.5  | [0.8, 0.2] | [0.6, 0.4] | 1.6           | 0.48 + 0.08 = 0.56 |  0.4
 *  1  | 1 | 0.0 | 0.25 | [0.5, 0.5] | [0.2, 0.5] | 2             | 0.10 + 0.25 = 0.35 | −0.5
 *  2  | 0 | 0.5 | 0.8  | [0.2, 0.8] | [0.5, 0.0] | 0.25          | 0.10 + 0    = 0.10 |  0
 *  3  | 1 | 2.5 | 0.5  | [0.0, 1.0] | [1.0, 1.5] | 2             | 0    + 1.5  = 1.50 |  1.0
 *
 * Σw = 5.85, Σw² = 2.56 + 4 + 0.0625 + 4 = 10.6225, Σ q̂(x, π) = 2.51.
 * w·r = [1.6, 0, 0.125, 5.0] (Σ 6.725); w·(r − q̂(a)) = [0.64, −1, 0, 2] (Σ 1.64).
 */
export const HAND_BANDIT: BanditDataset = {
  n: 4,
  numActions: 2,
  actions: Int32Array.of(0, 1, 0, 1),
  rewards: Float64Array.of(1, 0, 0.5, 2.5),
  propensities: Float64Array.of(0.5, 0.25, 0.8, 0.5),
  targetProbs: Float64Array.of(0.8, 0.2, 0.5, 0.5, 0.2, 0.8, 0, 1),
};
/** q̂ of {@link HAND_BANDIT}. */
export const HAND_BANDIT_MODEL = { qHat: Float64Array.of(0.6, 0.4, 0.2, 0.5, 0.5, 0, 1, 1.5) };
