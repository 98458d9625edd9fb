/**
 * Direct Method (DM): average the reward model's prediction of the target policy's reward.
 *
 *   V̂_DM = (1/n) Σ_i Σ_a π(a|x_i) q̂(x_i, a)
 *
 * Definition: Dudík, Langford & Li 2011, "Doubly Robust Policy Evaluation and Learning"
 * (ICML), section 2, the "direct method"; also Beygelzimer & Langford 2009.
 *
 * Unbiased when q̂ is the true expected reward E[r | x, a] (then each term is the target's
 * expected reward on x_i). Otherwise biased by the model's error, whatever n is; its variance
 * is small because it never uses the logged actions or rewards. The standard error covers
 * only the sampling of contexts, not the reward model's own error.
 *
 * @example
 * const model = fitRewardModel(data, { kind: 'ridge', lambda: 1, folds: 2, seed: 0 });
 * directMethod().estimate(data, model).value;
 */
import { allocColumn, meanTerms } from '../estimate.js';
import { defineBanditEstimator, modelValue, type BanditEstimator } from './estimator.js';

/** Creates the Direct Method estimator (needs a reward model). */
export function directMethod(): BanditEstimator {
  return defineBanditEstimator({
    name: 'dm',
    requiresRewardModel: true,
    terms(data, qHat) {
      const col = allocColumn(data.n);
      for (let i = 0; i < data.n; i++) col[i] = modelValue(data, qHat!, i);
      return meanTerms('row', col);
    },
  });
}
