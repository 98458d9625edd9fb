/**
 * Self-normalised IPS (SNIPS), a.k.a. weighted importance sampling.
 *
 *   V̂_SNIPS = Σ_i w_i r_i / Σ_i w_i
 *
 * Definition: Swaminathan & Joachims 2015, "The self-normalized estimator for counterfactual
 * learning" (NeurIPS), eq. for R̂^SN; the ratio estimator goes back to Hesterberg 1995.
 *
 * Not unbiased (a ratio of means; bias O(1/n)) but consistent under the same overlap
 * condition as IPS, and bounded by the observed rewards' range, so it is far more stable when
 * a few weights are huge. It is invariant to adding a constant to every reward (IPS is not).
 *
 * @example
 * snips().estimate(data);
 */
import { allocColumn, safeRatio } from '../estimate.js';
import { defineBanditEstimator, type BanditEstimator } from './estimator.js';

/** Creates the SNIPS estimator. */
export function snips(): BanditEstimator {
  return defineBanditEstimator({
    name: 'snips',
    requiresRewardModel: false,
    terms(data) {
      const k = data.numActions;
      const wr = allocColumn(data.n);
      const w = allocColumn(data.n);
      for (let i = 0; i < data.n; i++) {
        w[i] = data.targetProbs[i * k + data.actions[i]] / data.propensities[i];
        wr[i] = w[i] * data.rewards[i];
      }
      // Ratio of the two column sums; the bootstrap reweights both, as the statistic does.
      return { unit: 'row', n: data.n, columns: [wr, w], combine: (s) => safeRatio(s[0], s[1]) };
    },
  });
}
