import type { EpisodicDataset } from '../../src/ope/types.js';

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
