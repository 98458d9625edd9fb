/**
 * Sequential Doubly Robust (DR) for episodes.
 *
 * Jiang & Li 2016, "Doubly robust off-policy value evaluation for reinforcement learning"
 * (ICML), section 4, define it recursively from the end of the episode:
 *
 *   V_DR^{(T−t)} = V̂(s_t) + ρ_t (r_t + γ V_DR^{(T−t−1)} − Q̂(s_t, a_t)),   V_DR^{(0)} = 0,
 *
 * and the estimate is the mean of V_DR over episodes. Unrolled (Thomas & Brunskill 2016,
 * section 4), per episode:
 *
 *   Σ_t γ^t [ w_t (r_t − Q̂(s_t, a_t)) + w_{t−1} V̂(s_t) ]
 *
 * which is what is computed here (one pass, no recursion).
 *
 * Unbiased for ANY Q̂ fixed independently of the episodes it is applied to (e.g. fitted on
 * other data or cross-fitted), when the propensities are correct: each control-variate term
 * w_{t−1}V̂(s_t) − w_t Q̂(s_t,a_t) has mean 0. With Q̂ = 0 it is per-decision IS.
 *
 * @example
 * sequentialDr().estimate(episodes, fitFqe(episodes, { kind: 'tabular', folds: 2 }));
 */
import { allocColumn, meanTerms } from '../estimate.js';
import { cumulativeWeights, defineSequentialEstimator, stateValues, type SequentialEstimator } from './estimator.js';

/** Creates the sequential DR estimator (needs a Q model). */
export function sequentialDr(): SequentialEstimator {
  return defineSequentialEstimator({
    name: 'dr',
    requiresQModel: true,
    terms(data, qHat) {
      const k = data.numActions;
      const q = qHat!;
      const cw = cumulativeWeights(data);
      const v = stateValues(data, q);
      const col = allocColumn(data.numEpisodes);
      for (let e = 0; e < data.numEpisodes; e++) {
        let disc = 1;
        let prevW = 1; // w_{−1} = 1
        let s = 0;
        for (let t = data.episodeStarts[e]; t < data.episodeStarts[e + 1]; t++) {
          s += disc * (cw[t] * (data.rewards[t] - q[t * k + data.actions[t]]) + prevW * v[t]);
          prevW = cw[t];
          disc *= data.gamma;
        }
        col[e] = s;
      }
      return meanTerms('episode', col);
    },
  });
}
