/**
 * Independent IPS (IIPS): one weight per position, on the marginal probability that the
 * logged item is shown at that position.
 *
 *   V̂_IIPS   = (1/n) Σ_i Σ_l [π(a_i(l) at l | x_i) / μ(a_i(l) at l | x_i)] r_i(l)
 *   V̂_SNIIPS = Σ_l Σ_i w_i(l) r_i(l) / Σ_i w_i(l)
 *
 * Definition: Li, Abbasi-Yadkori, Kveton, Muthukrishnan, Vinay & Wen 2018, "Offline
 * evaluation of ranking policies with click models" (KDD), the item-position model estimator;
 * McInerney et al. 2020, section 3, eq. (2); OBP's `SlateIndependentIPS` /
 * `SelfNormalizedSlateIndependentIPS` (normalised per position).
 *
 * Unbiased when the reward at position l depends only on the item there and l (the
 * item-position click model: no interaction between positions) and μ's marginals cover π's;
 * biased otherwise (e.g. under a cascade, where items above matter). Variance is that of L
 * bandit IPS estimates, no longer exponential in L.
 *
 * @example
 * independentSlateIps().estimate(slateDataset(data));     // needs the marginals
 */
import { parseWith } from '../../core/errors.js';
import { allocColumn, meanTerms, type SampleTerms } from '../estimate.js';
import { defineSlateEstimator, perPositionRatioTerms, type SlateEstimator } from './estimator.js';
import { SlateIpsOptions } from './standard-ips.js';
import { marginalSlateWeights, type SlateDataset } from './types.js';

/** Terms of Σ_l w(l) r(l) (plain) or Σ_l Σw(l)r(l)/Σw(l) (self-normalised) for n × L weights. */
export function positionWeightedTerms(data: SlateDataset, w: Float64Array, selfNormalize: boolean): SampleTerms {
  const L = data.slateSize;
  if (!selfNormalize) {
    const col = allocColumn(data.n);
    for (let i = 0; i < data.n; i++) {
      let v = 0;
      for (let l = 0; l < L; l++) v += w[i * L + l] * data.rewards[i * L + l];
      col[i] = v;
    }
    return meanTerms('row', col);
  }
  const num: Float64Array[] = [];
  const den: Float64Array[] = [];
  for (let l = 0; l < L; l++) {
    const a = allocColumn(data.n);
    const b = allocColumn(data.n);
    for (let i = 0; i < data.n; i++) {
      b[i] = w[i * L + l];
      a[i] = b[i] * data.rewards[i * L + l];
    }
    num.push(a);
    den.push(b);
  }
  return perPositionRatioTerms(data.n, num, den);
}

/**
 * A slate estimator that weights each position's reward by its own n × L weight (IIPS: the
 * marginal ratio; RIPS: the prefix ratio), plain or self-normalised per position.
 */
export function positionWeightedEstimator(
  name: string,
  weightsOf: (data: SlateDataset, context: string) => Float64Array,
  selfNormalize: boolean,
): SlateEstimator {
  return defineSlateEstimator({
    name,
    requiresRewardModel: false,
    weights: (data) => weightsOf(data, name),
    terms: (data) => positionWeightedTerms(data, weightsOf(data, name), selfNormalize),
  });
}

/** Creates IIPS (`iips`) or self-normalised IIPS (`sniips`); needs the marginal probabilities. */
export function independentSlateIps(options: SlateIpsOptions = {}): SlateEstimator {
  const { selfNormalize } = parseWith(SlateIpsOptions, options, 'independentSlateIps');
  return positionWeightedEstimator(selfNormalize ? 'sniips' : 'iips', marginalSlateWeights, selfNormalize);
}
