/**
 * Kernelized IPS, self-normalised IPS and DR for a deterministic target policy over
 * continuous actions.
 *
 * With a deterministic target the ordinary weight π(a|x)/μ(a|x) is a Dirac delta, and IPS
 * would reject every logged row. Kallus & Zhou smooth the delta with a kernel of bandwidth h:
 *
 *   k_i = K_h(π(x_i) − a_i) / μ(a_i | x_i),   K_h(u) = Π_j K(u_j / h_j) / h_j
 *   V̂_K-IPS   = (1/n) Σ_i k_i r_i
 *   V̂_K-SNIPS = Σ_i k_i r_i / Σ_i k_i
 *   V̂_K-DR    = (1/n) Σ_i [ q̂(x_i, π(x_i)) + k_i (r_i − q̂(x_i, a_i)) ]
 *
 * Definition: Kallus & Zhou 2018, "Policy evaluation and optimization with continuous
 * treatments" (AISTATS): the kernelized IPW estimator, its self-normalised form and
 * the doubly robust estimator with outcome model μ̂(x, t). OBP's `KernelizedIPW`,
 * `KernelizedSNIPW` and `KernelizedDR` compute the same terms (OBP's DR passes one q̂ array for
 * both model terms; pass the same array as `qLogged` and `qTarget` to reproduce it).
 *
 * Bias and variance: E[K-IPS] = E_x[(K_h ∗ q(x, ·))(π(x))], the reward curve smoothed around
 * the target action: bias ≈ ½ Σ_j h_j² ∂²q/∂a_j² ∫u²K, shrinking as h → 0, while the
 * variance grows like 1/(n Π_j h_j), so the MSE-optimal bandwidth shrinks like n^(−1/(d+4))
 * (Kallus & Zhou characterise it); pick it by a sweep or by SLOPE over h
 * (`withSlope(..., { order: 'grid' })`). K-DR removes the smoothing bias wherever q̂ is
 * right: with q̂ exact it is unbiased for every h.
 * `diagnostics.meanWeight` should be near 1 (E_μ[k] = ∫K_h = 1 when μ covers π(x)).
 *
 * @example
 * kernelizedIps({ kernel: 'epanechnikov', bandwidth: 0.3 }).estimate(data).value;
 * kernelizedDr({ bandwidth: [0.2, 0.5] }).estimate(data, { qLogged, qTarget });
 */
import { z } from 'zod';
import { parseWith } from '../../core/errors.js';
import { allocColumn, estimateFromTerms, meanTerms, safeRatio, weightStats, type Estimate, type SampleTerms } from '../estimate.js';
import { KERNELS, productKernel, resolveBandwidth } from './kernels.js';
import { checkContinuousModel, type ContinuousDataset, type ContinuousRewardModel } from './types.js';

/** A continuous-action OPE estimator (same contract as the bandit ones). */
export interface ContinuousEstimator {
  /** e.g. `kernel-ips(epanechnikov,h=0.3)`. */
  readonly name: string;
  readonly requiresRewardModel: boolean;
  terms(data: ContinuousDataset, model?: ContinuousRewardModel): SampleTerms;
  estimate(data: ContinuousDataset, model?: ContinuousRewardModel): Estimate;
}

export const KernelizedOptions = z.object({
  kernel: z.enum(KERNELS).default('gaussian'),
  /** Bandwidth h > 0, one for every action dimension or one per dimension (checked by resolveBandwidth). */
  bandwidth: z.custom<number | number[]>(
    (v) => typeof v === 'number' || (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number')),
    'a bandwidth > 0 or a non-empty list of them',
  ),
});
export type KernelizedOptions = z.input<typeof KernelizedOptions>;

/** k_i = K_h(π(x_i) − a_i) / μ(a_i | x_i) for every row. */
export function kernelWeights(data: ContinuousDataset, options: KernelizedOptions): Float64Array {
  const { kernel, bandwidth } = parseWith(KernelizedOptions, options, 'kernelWeights');
  const d = data.actionDim;
  const h = resolveBandwidth(bandwidth, d, 'kernelWeights');
  const u = new Float64Array(d);
  const w = new Float64Array(data.n);
  for (let i = 0; i < data.n; i++) {
    for (let j = 0; j < d; j++) u[j] = data.targetActions[i * d + j] - data.actions[i * d + j];
    w[i] = productKernel(kernel, u, h) / data.densities[i];
  }
  return w;
}

function makeKernelized(kind: 'ips' | 'snips' | 'dr', options: KernelizedOptions): ContinuousEstimator {
  const context = kind === 'ips' ? 'kernelizedIps' : kind === 'snips' ? 'kernelizedSnips' : 'kernelizedDr';
  const opts = parseWith(KernelizedOptions, options, context);
  // Validate the bandwidth now (its length is checked against the data's d when used).
  if (typeof opts.bandwidth === 'number') resolveBandwidth(opts.bandwidth, 1, context);
  else resolveBandwidth(opts.bandwidth, opts.bandwidth.length, context);
  const hText = typeof opts.bandwidth === 'number' ? `${opts.bandwidth}` : `[${opts.bandwidth.join(',')}]`;
  const name = `kernel-${kind}(${opts.kernel},h=${hText})`;
  const requiresRewardModel = kind === 'dr';
  const build = (data: ContinuousDataset, model?: ContinuousRewardModel): { terms: SampleTerms; weights: Float64Array } => {
    const m = requiresRewardModel ? checkContinuousModel(model, data.n, name) : undefined;
    const weights = kernelWeights(data, opts);
    const col = allocColumn(data.n);
    for (let i = 0; i < data.n; i++) {
      col[i] = m ? m.qTarget[i] + weights[i] * (data.rewards[i] - m.qLogged[i]) : weights[i] * data.rewards[i];
    }
    if (kind !== 'snips') return { terms: meanTerms('row', col), weights };
    const wc = allocColumn(data.n);
    wc.set(weights);
    return { terms: { unit: 'row', n: data.n, columns: [col, wc], combine: (s) => safeRatio(s[0], s[1]) }, weights };
  };
  return {
    name,
    requiresRewardModel,
    terms: (data, model) => build(data, model).terms,
    estimate(data, model) {
      const { terms, weights } = build(data, model);
      return estimateFromTerms(name, terms, weightStats(weights));
    },
  };
}

/** Creates kernelized IPS (default Gaussian kernel). */
export function kernelizedIps(options: KernelizedOptions): ContinuousEstimator {
  return makeKernelized('ips', options);
}

/** Creates kernelized self-normalised IPS. */
export function kernelizedSnips(options: KernelizedOptions): ContinuousEstimator {
  return makeKernelized('snips', options);
}

/** Creates kernelized DR (needs `{ qLogged, qTarget }`). */
export function kernelizedDr(options: KernelizedOptions): ContinuousEstimator {
  return makeKernelized('dr', options);
}
