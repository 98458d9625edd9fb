/**
 * Inverse Propensity Scoring (IPS), a.k.a. importance sampling.
 *
 *   V̂_IPS = (1/n) Σ_i w_i r_i,   w_i = π(a_i|x_i) / μ(a_i|x_i)
 *
 * Definition: Horvitz & Thompson 1952; in the contextual-bandit form of Dudík, Langford & Li
 * 2011 (ICML), section 2 ("inverse propensity score").
 *
 * Unbiased whenever the logged propensities are the true behaviour probabilities and
 * μ(a|x) > 0 wherever π(a|x) > 0: E_μ[w r] = E_π[r]. Its variance grows with the weights
 * (see the `ess` diagnostic).
 *
 * @example
 * ips().estimate(data).value;
 */
import { allocColumn, meanTerms } from '../estimate.js';
import { defineBanditEstimator, type BanditEstimator } from './estimator.js';

/** Creates the IPS estimator. */
export function ips(): BanditEstimator {
  return defineBanditEstimator({
    name: 'ips',
    requiresRewardModel: false,
    terms(data) {
      const k = data.numActions;
      const col = allocColumn(data.n);
      for (let i = 0; i < data.n; i++) {
        col[i] = (data.targetProbs[i * k + data.actions[i]] / data.propensities[i]) * data.rewards[i];
      }
      return meanTerms('row', col);
    },
  });
}
