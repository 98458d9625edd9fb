/**
 * Doubly Robust (DR): the Direct Method plus an importance-weighted correction of the
 * model's error on the logged action.
 *
 *   V̂_DR = (1/n) Σ_i [ q̂(x_i, π) + w_i (r_i − q̂(x_i, a_i)) ]
 *
 * Definition: Dudík, Langford & Li 2011, "Doubly Robust Policy Evaluation and Learning"
 * (ICML), section 2 (the DR estimator, written there for deterministic π; this is the
 * stochastic-policy form of Dudík, Erhan, Langford & Li 2014, Statistical Science).
 *
 * Unbiased for ANY reward model q̂ that is fixed independently of the rows it is applied to
 * (e.g. cross-fitted, see fitRewardModel) when the propensities are correct: the correction
 * has expectation E_π[r] − q̂(x, π). It is also unbiased when q̂ is exact, whatever the
 * propensities. Its variance is IPS's with r replaced by the residual r − q̂.
 *
 * @example
 * doublyRobust().estimate(data, fitRewardModel(data, { kind: 'ridge', folds: 2 }));
 */
import { allocColumn, meanTerms } from '../estimate.js';
import { defineBanditEstimator, modelValue, type BanditEstimator } from './estimator.js';

/** One row's DR term with a (possibly transformed) weight: q̂(x,π) + ω (r − q̂(x,a)). */
export function drTerm(dm: number, weight: number, reward: number, qLogged: number): number {
  return dm + weight * (reward - qLogged);
}

/** Creates the DR estimator (needs a reward model). */
export function doublyRobust(): BanditEstimator {
  return defineBanditEstimator({
    name: 'dr',
    requiresRewardModel: true,
    terms(data, qHat) {
      const k = data.numActions;
      const col = allocColumn(data.n);
      const { actions, targetProbs, propensities, rewards } = data;
      const q = qHat!;
      for (let i = 0; i < data.n; i++) {
        const o = i * k + actions[i];
        col[i] = drTerm(modelValue(data, q, i), targetProbs[o] / propensities[i], rewards[i], q[o]);
      }
      return meanTerms('row', col);
    },
  });
}
