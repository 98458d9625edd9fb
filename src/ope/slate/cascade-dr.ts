/**
 * Cascade Doubly Robust (Cascade-DR): RIPS with a per-position Q̂ as control variate, i.e.
 * sequential DR over the positions of a slate.
 *
 *   V̂ = (1/n) Σ_i Σ_l [ w_i(1..l) (r_i(l) − Q̂_l(x_i, a_i(1..l)))
 *                      + w_i(1..l−1) Σ_a π(a | x_i, a_i(1..l−1)) Q̂_l(x_i, a_i(1..l−1), a) ],
 *
 * with w_i(1..0) = 1 and w_i(1..l) the prefix weights of RIPS. Q̂_l(x, a(1..l)) estimates the
 * expected reward from position l to L, E_π[Σ_{l' ≥ l} r(l') | x, a(1..l)], the items below l
 * drawn from the target.
 *
 * Definition: Kiyohara, Saito, Matsuhiro, Narita, Shimizu & Yamamoto 2022, "Doubly robust
 * off-policy evaluation for ranking policies under the cascade behavior model" (WSDM),
 * section 3.1, the Cascade-DR estimator (OBP's `SlateCascadeDoublyRobust`, whose per-position
 * term is the bracket above).
 *
 * Unbiased under the cascade assumption (as RIPS) for ANY Q̂ fixed independently of the rows:
 * each bracket telescopes in expectation. With Q̂ exact, the variance falls below RIPS's
 * (the paper's variance comparison); with Q̂ = 0 the estimator is RIPS exactly.
 *
 * Inputs: the conditionals (for w), `targetDistribution` (n × L × K, the target's distribution
 * at each position after the logged prefix) and the model's `qHat` (n × L × K).
 *
 * @example
 * cascadeDr().estimate(slateDataset(data), { qHat });
 */
import { allocColumn, meanTerms } from '../estimate.js';
import { defineSlateEstimator, type SlateEstimator } from './estimator.js';
import { cascadeWeights, requireSlateField } from './types.js';

/** Creates Cascade-DR (`cascade-dr`; needs Q̂ and `targetDistribution`). */
export function cascadeDr(): SlateEstimator {
  const name = 'cascade-dr';
  return defineSlateEstimator({
    name,
    requiresRewardModel: true,
    weights: (data) => {
      const c = cascadeWeights(data, name);
      const L = data.slateSize;
      return Float64Array.from({ length: data.n }, (_, i) => c[i * L + L - 1]);
    },
    terms(data, qHat) {
      const q = qHat!;
      const w = cascadeWeights(data, name);
      const dist = requireSlateField(data, 'targetDistribution', name, 'n × L × K target distributions after the logged prefix');
      const L = data.slateSize;
      const K = data.numItems;
      const col = allocColumn(data.n);
      for (let i = 0; i < data.n; i++) {
        let v = 0;
        let prev = 1;
        for (let l = 0; l < L; l++) {
          const j = i * L + l;
          let expected = 0;
          for (let a = 0, o = j * K; a < K; a++, o++) expected += dist[o] * q[o];
          v += w[j] * (data.rewards[j] - q[j * K + data.items[j]]) + prev * expected;
          prev = w[j];
        }
        col[i] = v;
      }
      return meanTerms('row', col);
    },
  });
}
