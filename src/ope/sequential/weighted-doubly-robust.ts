/**
 * Weighted Doubly Robust (WDR): sequential DR with per-step self-normalised weights.
 *
 *   WDR = Σ_t γ^t Σ_i [ w̄_{i,t} (r_{i,t} − Q̂(s_{i,t}, a_{i,t})) + w̄_{i,t−1} V̂(s_{i,t}) ],
 *   w̄_{i,t} = w_{i,t} / Σ_j w_{j,t},   w̄_{i,−1} = 1/n
 *
 * Definition: Thomas & Brunskill 2016, "Data-efficient off-policy policy evaluation for
 * reinforcement learning" (ICML), section 4 (WDR). Episodes that ended before t keep their
 * final weight in the normaliser Σ_j w_{j,t} and contribute 0 to the numerators (absorbing
 * state, where Q̂ = V̂ = 0).
 *
 * Biased (ratios of means) but consistent, and much more stable than DR when weights are
 * heavy. With Q̂ = 0 it is weighted per-decision IS; with an exact Q̂ and deterministic
 * transitions and rewards it is exact.
 *
 * @example
 * weightedDr().estimate(episodes, fqeModel);
 */
import { allocColumn, safeRatio, type SampleTerms } from '../estimate.js';
import type { EpisodicDataset } from '../types.js';
import { defineSequentialEstimator, padEpisodes, type SequentialEstimator } from './estimator.js';

/**
 * WDR as per-episode terms: for each step t three columns, a_t = w_t (r_t − Q̂_t),
 * b_t = w_{t−1} V̂_t and c_t = w_t, so WDR = Σ_t γ^t (S[a_t]/S[c_t] + S[b_t]/S[c_{t−1}]) with
 * S[c_{−1}] the number of episodes. Shared with MAGIC, which needs WDR's bootstrap interval.
 */
export function wdrTerms(data: EpisodicDataset, qHat: Float64Array): SampleTerms {
  const p = padEpisodes(data, qHat);
  const { n, horizon: h } = p;
  const columns: Float64Array[] = [];
  for (let t = 0; t < h; t++) {
    const a = allocColumn(n);
    const b = allocColumn(n);
    const c = allocColumn(n);
    for (let e = 0; e < n; e++) {
      const o = e * h + t;
      const wPrev = t === 0 ? 1 : p.weights[o - 1];
      a[e] = p.weights[o] * (p.rewards[o] - p.qLogged[o]);
      b[e] = wPrev * p.vHat[o];
      c[e] = p.weights[o];
    }
    columns.push(a, b, c);
  }
  const disc = p.discounts;
  return {
    unit: 'episode',
    n,
    columns,
    combine(s, total) {
      let v = 0;
      for (let t = 0; t < h; t++) {
        const prevNorm = t === 0 ? total : s[3 * (t - 1) + 2];
        v += disc[t] * (safeRatio(s[3 * t], s[3 * t + 2]) + safeRatio(s[3 * t + 1], prevNorm));
      }
      return v;
    },
  };
}

/** Creates the WDR estimator (needs a Q model). */
export function weightedDr(): SequentialEstimator {
  return defineSequentialEstimator({ name: 'wdr', requiresQModel: true, terms: (data, qHat) => wdrTerms(data, qHat!) });
}
