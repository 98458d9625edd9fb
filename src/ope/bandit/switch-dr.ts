/**
 * Switch-DR: use DR on rows whose importance weight is at most τ, and the model alone (DM)
 * where the weight is larger.
 *
 *   V̂ = (1/n) Σ_i [ q̂(x_i, π) + 1{w_i ≤ τ} w_i (r_i − q̂(x_i, a_i)) ]
 *
 * Definition: Wang, Agarwal & Dudík 2017, "Optimal and adaptive off-policy evaluation in
 * contextual bandits" (ICML), section 4, the SWITCH estimator with DR in place of IPS on the
 * small-weight actions (their "SWITCH-DR"). Their estimator splits the actions of each
 * context by ρ(x, a) = π(a|x)/μ(a|x): actions with ρ ≤ τ are estimated by DR, the rest by the
 * model, Σ_{a: ρ>τ} π(a|x) q̂(x, a). Adding the two parts gives the line above, because the DR
 * correction of the small-weight part only involves the logged action.
 *
 * Biased by the model's error on the large-weight part (unbiased if q̂ is exact there, or if
 * no weight exceeds τ). τ = ∞ gives DR; τ = 0 gives DM (a zero weight adds nothing).
 *
 * @example
 * switchDr({ tau: 20 }).estimate(data, model);
 */
import { z } from 'zod';
import { parseWith } from '../../core/errors.js';
import { allocColumn, meanTerms } from '../estimate.js';
import { drTerm } from './doubly-robust.js';
import { defineBanditEstimator, modelValue, type BanditEstimator } from './estimator.js';

export const SwitchDrOptions = z.object({
  /** Weight threshold τ >= 0 above which a row falls back to the model. */
  tau: z.number().min(0).or(z.literal(Infinity)).default(10),
});
export type SwitchDrOptions = z.input<typeof SwitchDrOptions>;

/** Creates the Switch-DR estimator with threshold `tau` (default 10; needs a reward model). */
export function switchDr(options: SwitchDrOptions = {}): BanditEstimator {
  const { tau } = parseWith(SwitchDrOptions, options, 'switchDr');
  return defineBanditEstimator({
    name: `switch-dr(τ=${tau})`,
    requiresRewardModel: true,
    terms(data, qHat) {
      const k = data.numActions;
      const q = qHat!;
      const col = allocColumn(data.n);
      for (let i = 0; i < data.n; i++) {
        const o = i * k + data.actions[i];
        const w = data.targetProbs[o] / data.propensities[i];
        col[i] = drTerm(modelValue(data, q, i), w <= tau ? w : 0, data.rewards[i], q[o]);
      }
      return meanTerms('row', col);
    },
    extraDiagnostics(_data, weights) {
      let switched = 0;
      for (let i = 0; i < weights.length; i++) if (weights[i] > tau) switched++;
      return { switchedFraction: weights.length ? switched / weights.length : 0 };
    },
  });
}
