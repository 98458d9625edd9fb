/**
 * Standard slate IPS (SIPS): one importance weight for the whole slate, no assumption on how
 * the positions' rewards interact.
 *
 *   V̂_SIPS   = (1/n) Σ_i w_i Σ_l r_i(l),   w_i = π(a_i(1..L) | x_i) / μ(a_i(1..L) | x_i)
 *   V̂_SNSIPS = Σ_i w_i Σ_l r_i(l) / Σ_i w_i
 *
 * with the slate probability the product of the per-position conditionals,
 * π(a(1..L)|x) = Π_l π(a(l) | x, a(1..l−1)).
 *
 * Definition: McInerney, Brost, Chandar, Mehrotra & Carterette 2020, "Counterfactual
 * evaluation of slate recommendations with sequential reward interactions" (KDD), section 3,
 * eq. (1) (OBP's `SlateStandardIPS`; the self-normalised form is OBP's
 * `SelfNormalizedSlateStandardIPS`, after Swaminathan & Joachims 2015).
 *
 * Unbiased whenever μ(s|x) > 0 for every slate s with π(s|x) > 0, whatever the reward
 * structure; its variance grows exponentially with L (the weight is a product of L ratios),
 * which is what IIPS and RIPS trade for assumptions on the rewards.
 *
 * @example
 * standardSlateIps().estimate(slateDataset(data)).value;
 * standardSlateIps({ selfNormalize: true }).estimate(data);   // snsips
 */
import { z } from 'zod';
import { parseWith } from '../../core/errors.js';
import { allocColumn, meanTerms, safeRatio } from '../estimate.js';
import { defineSlateEstimator, type SlateEstimator } from './estimator.js';
import { slateWeights } from './types.js';

export const SlateIpsOptions = z.object({
  /** Divide by the sum of the weights instead of n (per position for IIPS / RIPS). */
  selfNormalize: z.boolean().default(false),
});
export type SlateIpsOptions = z.input<typeof SlateIpsOptions>;

/** Creates SIPS (`sips`) or self-normalised SIPS (`snsips`); needs the conditional probabilities. */
export function standardSlateIps(options: SlateIpsOptions = {}): SlateEstimator {
  const { selfNormalize } = parseWith(SlateIpsOptions, options, 'standardSlateIps');
  const name = selfNormalize ? 'snsips' : 'sips';
  return defineSlateEstimator({
    name,
    requiresRewardModel: false,
    weights: (data) => slateWeights(data, name),
    terms(data) {
      const w = slateWeights(data, name);
      const L = data.slateSize;
      const wr = allocColumn(data.n);
      for (let i = 0; i < data.n; i++) {
        let total = 0;
        for (let l = 0; l < L; l++) total += data.rewards[i * L + l];
        wr[i] = w[i] * total;
      }
      if (!selfNormalize) return meanTerms('row', wr);
      const wc = allocColumn(data.n);
      wc.set(w);
      return { unit: 'row', n: data.n, columns: [wr, wc], combine: (s) => safeRatio(s[0], s[1]) };
    },
  });
}
