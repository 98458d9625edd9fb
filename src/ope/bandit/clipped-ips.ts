/**
 * Clipped (truncated) IPS: cap every importance weight at λ.
 *
 *   V̂ = (1/n) Σ_i min(w_i, λ) r_i
 *
 * Definition: Ionides 2008, "Truncated importance sampling" (J. Comput. Graph. Stat.), and
 * Bottou et al. 2013, "Counterfactual reasoning and learning systems" (JMLR), section 4.
 *
 * Biased whenever some w_i > λ (towards 0; downwards for non-negative rewards); in exchange
 * the variance is bounded by λ². As λ → ∞ it is IPS, and unbiased.
 *
 * @example
 * clippedIps({ maxWeight: 20 }).estimate(data);
 */
import { z } from 'zod';
import { parseWith } from '../../core/errors.js';
import { allocColumn, meanTerms } from '../estimate.js';
import { defineBanditEstimator, type BanditEstimator } from './estimator.js';

export const ClippedIpsOptions = z.object({
  /** The cap λ on importance weights (> 0; Infinity gives IPS). */
  maxWeight: z.number().positive().or(z.literal(Infinity)).default(10),
});
export type ClippedIpsOptions = z.input<typeof ClippedIpsOptions>;

/** Creates the clipped IPS estimator with cap `maxWeight` (default 10). */
export function clippedIps(options: ClippedIpsOptions = {}): BanditEstimator {
  const { maxWeight } = parseWith(ClippedIpsOptions, options, 'clippedIps');
  return defineBanditEstimator({
    name: `clipped-ips(λ=${maxWeight})`,
    requiresRewardModel: false,
    terms(data) {
      const k = data.numActions;
      const col = allocColumn(data.n);
      for (let i = 0; i < data.n; i++) {
        const w = data.targetProbs[i * k + data.actions[i]] / data.propensities[i];
        col[i] = Math.min(w, maxWeight) * data.rewards[i];
      }
      return meanTerms('row', col);
    },
    extraDiagnostics(_data, weights) {
      let clipped = 0;
      for (let i = 0; i < weights.length; i++) if (weights[i] > maxWeight) clipped++;
      return { clippedFraction: weights.length ? clipped / weights.length : 0 };
    },
  });
}
