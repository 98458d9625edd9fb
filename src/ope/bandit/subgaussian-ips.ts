/**
 * Sub-Gaussian (harmonic-corrected) IPS and DR: every importance weight is replaced by the
 * λ-harmonic mean of w and 1,
 *
 *   w_λ = w / ((1 − λ) + λ w),   λ ∈ [0, 1]
 *   V̂_SG-IPS = (1/n) Σ_i w_λ,i r_i
 *   V̂_SG-DR  = (1/n) Σ_i [ q̂(x_i, π) + w_λ,i (r_i − q̂(x_i, a_i)) ]
 *
 * Definition: Metelli, Russo & Restelli 2021, "Subgaussian and differentiable importance
 * sampling for off-policy evaluation and learning" (NeurIPS): the power-mean correction with
 * exponent s = −1 (the harmonic mean), whose estimator is sub-Gaussian for
 * the right λ, unlike IPS, which is only heavy-tailed in general. OBP's
 * `SubGaussianInverseProbabilityWeighting` / `SubGaussianDoublyRobust` compute the same terms.
 *
 * Why a smooth transform: w_λ ≤ 1/λ (bounded like clipping) but differentiable in π, and it
 * shrinks large weights more than small ones. Biased towards 0 (downwards for non-negative
 * rewards) for every λ > 0; λ = 0 is IPS / DR, λ = 1 gives w_λ = 1 on every row with w > 0.
 *
 * Default λ: the paper's choice for a confidence level 1 − δ (the λ* that makes the
 * concentration bound sub-Gaussian; `lambda_='optimal'` in the authors' code,
 * github.com/albertometelli/subgaussian-is),
 *
 *   λ* = sqrt( log(1/δ) / (3 · d₂ · n) ),   d₂ = E_μ[w²] (exponentiated 2-Rényi divergence),
 *
 * with d₂ replaced by its plug-in estimate (1/n) Σ_i w_i² since π and μ are known only through
 * the log, and clipped to [0, 1]. λ* is computed once on the data; the bootstrap (which
 * reweights the terms) holds it fixed.
 *
 * @example
 * subGaussianIps().estimate(data).details;          // { lambda: λ* for δ = 0.1 }
 * subGaussianIps({ lambda: 0.05 }).estimate(data);
 * subGaussianDr({ lambda: 0.05 }).estimate(data, model);
 */
import { z } from 'zod';
import { parseWith, ValidationError } from '../../core/errors.js';
import { allocColumn, estimateFromTerms, meanTerms, weightStats, type SampleTerms } from '../estimate.js';
import { checkQTable, type BanditDataset } from '../types.js';
import { drTerm } from './doubly-robust.js';
import { loggedWeights, modelValue, type BanditEstimator, type RewardModel } from './estimator.js';

export const SubGaussianOptions = z.object({
  /** λ ∈ [0, 1], or `optimal` for the paper's λ* (estimated d₂). */
  lambda: z.number().min(0).max(1).or(z.literal('optimal')).default('optimal'),
  /** Confidence δ ∈ (0, 1) of λ* (ignored for a fixed λ); 0.1 as in the authors' code. */
  delta: z.number().gt(0).lt(1).default(0.1),
});
export type SubGaussianOptions = z.input<typeof SubGaussianOptions>;

/**
 * The harmonic correction w_λ = w / ((1 − λ) + λw) of Metelli et al. 2021. A zero weight stays
 * 0 (the target never takes the logged action), also at λ = 1 where the formula is 0/0.
 */
export function subGaussianWeight(w: number, lambda: number): number {
  if (w === 0) return 0;
  return w / (1 - lambda + lambda * w);
}

/**
 * λ* = sqrt(log(1/δ) / (3 d̂₂ n)) with d̂₂ = (1/n) Σ w_i², clipped to [0, 1] (0 for an empty or
 * all-zero weight vector, where there is nothing to correct).
 */
export function optimalSubGaussianLambda(weights: ArrayLike<number>, delta = 0.1): number {
  if (!(delta > 0 && delta < 1)) throw new ValidationError('delta', 'a confidence level in (0, 1)', delta, 'optimalSubGaussianLambda');
  const n = weights.length;
  let sumSq = 0;
  for (let i = 0; i < n; i++) sumSq += weights[i] * weights[i];
  if (n === 0 || sumSq === 0) return 0;
  const d2 = sumSq / n;
  return Math.min(1, Math.sqrt(Math.log(1 / delta) / (3 * d2 * n)));
}

function makeSubGaussian(kind: 'ips' | 'dr', options: SubGaussianOptions): BanditEstimator {
  const { lambda, delta } = parseWith(SubGaussianOptions, options, kind === 'ips' ? 'subGaussianIps' : 'subGaussianDr');
  const name = `sg-${kind}(λ=${lambda === 'optimal' ? `optimal,δ=${delta}` : lambda})`;
  const requiresRewardModel = kind === 'dr';
  const resolveModel = (data: BanditDataset, model?: RewardModel): Float64Array | undefined => {
    if (!requiresRewardModel) return undefined;
    if (!model) throw new ValidationError('rewardModel', `a reward model { qHat: n × K } (${name} needs one; see fitRewardModel)`, model, name);
    return checkQTable(model.qHat, data.n, data.numActions, name, 'rewardModel.qHat');
  };
  const build = (data: BanditDataset, model?: RewardModel): { terms: SampleTerms; weights: Float64Array; lambda: number } => {
    const q = resolveModel(data, model);
    const weights = loggedWeights(data);
    const lam = lambda === 'optimal' ? optimalSubGaussianLambda(weights, delta) : lambda;
    const k = data.numActions;
    const col = allocColumn(data.n);
    for (let i = 0; i < data.n; i++) {
      const wl = subGaussianWeight(weights[i], lam);
      col[i] = q ? drTerm(modelValue(data, q, i), wl, data.rewards[i], q[i * k + data.actions[i]]) : wl * data.rewards[i];
    }
    return { terms: meanTerms('row', col), weights, lambda: lam };
  };
  return {
    name,
    requiresRewardModel,
    terms: (data, model) => build(data, model).terms,
    estimate(data, model) {
      const { terms, weights, lambda: lam } = build(data, model);
      return estimateFromTerms(name, terms, { ...weightStats(weights), lambda: lam }, { lambda: lam });
    },
  };
}

/** Creates sub-Gaussian IPS (default λ = λ* at δ = 0.1; `sg-ips` in `kairos ope`). */
export function subGaussianIps(options: SubGaussianOptions = {}): BanditEstimator {
  return makeSubGaussian('ips', options);
}

/** Creates sub-Gaussian DR (OBP's SG-DR; default λ = λ* at δ = 0.1; needs a reward model). */
export function subGaussianDr(options: SubGaussianOptions = {}): BanditEstimator {
  return makeSubGaussian('dr', options);
}
