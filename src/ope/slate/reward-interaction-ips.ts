/**
 * Reward-interaction IPS (RIPS): the reward at position l is weighted by the probability
 * ratio of the prefix a(1..l) only, the cascade assumption.
 *
 *   V̂_RIPS   = (1/n) Σ_i Σ_l w_i(1..l) r_i(l),   w_i(1..l) = Π_{l' ≤ l} π(a_i(l') | x_i, a_i(<l')) / μ(·)
 *   V̂_SNRIPS = Σ_l Σ_i w_i(1..l) r_i(l) / Σ_i w_i(1..l)
 *
 * Definition: McInerney, Brost, Chandar, Mehrotra & Carterette 2020, "Counterfactual
 * evaluation of slate recommendations with sequential reward interactions" (KDD), section 3,
 * eqs. (3)–(4) (OBP's `SlateRewardInteractionIPS`; their paper also self-normalises, as OBP's
 * `SelfNormalizedSlateRewardInteractionIPS`, per position).
 *
 * Unbiased when the reward at position l depends on the items at positions 1..l only (the
 * cascade model: the user scans top-down and what lies below l does not affect r(l)); it is
 * per-decision importance sampling over positions. Between IIPS (fewer factors, stronger
 * assumption) and SIPS (all L factors, no assumption).
 *
 * @example
 * rewardInteractionIps().estimate(slateDataset(data));          // rips
 * rewardInteractionIps({ selfNormalize: true }).estimate(data); // snrips
 */
import { parseWith } from '../../core/errors.js';
import type { SlateEstimator } from './estimator.js';
import { positionWeightedEstimator } from './independent-ips.js';
import { SlateIpsOptions } from './standard-ips.js';
import { cascadeWeights } from './types.js';

/** Creates RIPS (`rips`) or self-normalised RIPS (`snrips`); needs the conditional probabilities. */
export function rewardInteractionIps(options: SlateIpsOptions = {}): SlateEstimator {
  const { selfNormalize } = parseWith(SlateIpsOptions, options, 'rewardInteractionIps');
  return positionWeightedEstimator(selfNormalize ? 'snrips' : 'rips', cascadeWeights, selfNormalize);
}
