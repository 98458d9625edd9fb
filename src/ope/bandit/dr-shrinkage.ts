/**
 * Doubly Robust with shrinkage (DRos / DRps): DR with each importance weight replaced by a
 * shrunk weight that trades a little bias for much less variance.
 *
 *   V̂ = (1/n) Σ_i [ q̂(x_i, π) + ŵ_i (r_i − q̂(x_i, a_i)) ]
 *   optimistic:  ŵ = λ w / (w² + λ)      pessimistic:  ŵ = min(w, λ)
 *
 * Definition: Su, Dimakopoulou, Krishnamurthy & Dudík 2020, "Doubly robust off-policy
 * evaluation with shrinkage" (ICML), section 3: the optimistic shrinkage minimises a bound on
 * the MSE that assumes the model error is as small as the residuals suggest; the pessimistic
 * one clips the weight (clipped DR).
 *
 * Biased whenever ŵ ≠ w (every row with w > 0 for the optimistic form) unless q̂ is exact;
 * λ → ∞ gives DR (unbiased with a fixed model); λ = 0 gives DM.
 *
 * @example
 * drShrinkage({ lambda: 50 }).estimate(data, model);          // optimistic
 * drShrinkage({ lambda: 10, kind: 'pessimistic' }).estimate(data, model);
 */
import { z } from 'zod';
import { parseWith } from '../../core/errors.js';
import { allocColumn, meanTerms } from '../estimate.js';
import { drTerm } from './doubly-robust.js';
import { defineBanditEstimator, modelValue, type BanditEstimator } from './estimator.js';

export const DrShrinkageOptions = z.object({
  /** Shrinkage λ >= 0; larger means less shrinkage (Infinity gives DR). */
  lambda: z.number().min(0).or(z.literal(Infinity)).default(100),
  /** `optimistic` (λw/(w²+λ), the paper's DRos) or `pessimistic` (min(w, λ)). */
  kind: z.enum(['optimistic', 'pessimistic']).default('optimistic'),
});
export type DrShrinkageOptions = z.input<typeof DrShrinkageOptions>;

/** The shrunk weight ŵ(w; λ) of Su et al. 2020. */
export function shrinkWeight(w: number, lambda: number, kind: 'optimistic' | 'pessimistic'): number {
  if (kind === 'pessimistic') return Math.min(w, lambda);
  if (lambda === Infinity) return w; // the limit λw/(w²+λ) → w, without ∞/∞
  if (lambda === 0 || w === 0) return 0;
  return (lambda * w) / (w * w + lambda);
}

/** Creates DR with shrinkage (default optimistic, λ = 100; needs a reward model). */
export function drShrinkage(options: DrShrinkageOptions = {}): BanditEstimator {
  const { lambda, kind } = parseWith(DrShrinkageOptions, options, 'drShrinkage');
  return defineBanditEstimator({
    name: `${kind === 'optimistic' ? 'dr-os' : 'dr-ps'}(λ=${lambda})`,
    requiresRewardModel: true,
    terms(data, qHat) {
      const k = data.numActions;
      const q = qHat!;
      const col = allocColumn(data.n);
      for (let i = 0; i < data.n; i++) {
        const o = i * k + data.actions[i];
        const w = data.targetProbs[o] / data.propensities[i];
        col[i] = drTerm(modelValue(data, q, i), shrinkWeight(w, lambda, kind), data.rewards[i], q[o]);
      }
      return meanTerms('row', col);
    },
  });
}
