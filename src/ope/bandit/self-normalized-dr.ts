/**
 * Self-normalised Doubly Robust (SNDR): DR whose correction term is self-normalised.
 *
 *   V̂_SNDR = (1/n) Σ_i q̂(x_i, π) + Σ_i w_i (r_i − q̂(x_i, a_i)) / Σ_i w_i
 *
 * Definition: the self-normalised DR of Kallus & Uehara 2019, "Intrinsically efficient,
 * stable, and bounded off-policy evaluation for reinforcement learning" (NeurIPS), in its
 * one-step (bandit) form; as implemented in the Open Bandit Pipeline (Saito et al. 2021).
 *
 * Not unbiased (the correction is a ratio of means, bias O(1/n)) but consistent, and the
 * correction is bounded by the residuals' range, so it is stable when a few weights are huge.
 * With an exact model the correction has mean 0 and SNDR = DM in expectation.
 *
 * @example
 * selfNormalizedDr().estimate(data, model);
 */
import { allocColumn, safeRatio } from '../estimate.js';
import { defineBanditEstimator, modelValue, type BanditEstimator } from './estimator.js';

/** Creates the SNDR estimator (needs a reward model). */
export function selfNormalizedDr(): BanditEstimator {
  return defineBanditEstimator({
    name: 'sndr',
    requiresRewardModel: true,
    terms(data, qHat) {
      const k = data.numActions;
      const q = qHat!;
      const dm = allocColumn(data.n);
      const corr = allocColumn(data.n);
      const w = allocColumn(data.n);
      for (let i = 0; i < data.n; i++) {
        const o = i * k + data.actions[i];
        dm[i] = modelValue(data, q, i);
        w[i] = data.targetProbs[o] / data.propensities[i];
        corr[i] = w[i] * (data.rewards[i] - q[o]);
      }
      return {
        unit: 'row',
        n: data.n,
        columns: [dm, corr, w],
        combine: (s, total) => safeRatio(s[0], total) + safeRatio(s[1], s[2]),
      };
    },
  });
}
