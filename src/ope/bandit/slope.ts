/**
 * SLOPE: data-driven choice of an estimator's hyperparameter (clipping λ, Switch-DR τ,
 * shrinkage λ, sub-Gaussian λ) by Lepski's principle.
 *
 * A family θ̂_1, ..., θ̂_M ordered by decreasing variance is assumed to have increasing bias
 * (clipping harder, switching to the model sooner, shrinking more). Each candidate gets an
 * interval I_m = [θ̂_m − κ·se_m, θ̂_m + κ·se_m]. SLOPE keeps adding candidates while they are
 * statistically indistinguishable from all the lower-bias ones before them and returns the last
 * one kept:
 *
 *   `su` (Su, Srinath & Krishnamurthy 2020, "Adaptive estimator selection for off-policy
 *   evaluation", ICML, the SLOPE procedure): m̂ = max{ m : I_1 ∩ ... ∩ I_m ≠ ∅ }, κ = 2 (their 2·CNF
 *   width, with CNF the standard error). On the line, pairwise intersection of intervals is the
 *   same as a common intersection, so "I_m meets every earlier interval" is the same rule.
 *
 *   `tucker-lee` (Tucker & Lee 2021, "Improved estimator selection for off-policy evaluation",
 *   SLOPE++; OBP's `tuning_method="slope"`): keep m while |θ̂_m − θ̂_j| ≤ c_m + (√6 − 1)·c_j for
 *   every kept j, c = κ·se. OBP takes c from a one-sided Student-t bound at δ = 0.1, i.e.
 *   κ ≈ 1.28 for large n; pass `width: 1.2816` to match it.
 *
 * Why it works (Su et al. 2020, their oracle inequality): if the bias is monotone and the
 * intervals are valid, the chosen θ̂ is within a constant factor of the best bias–variance
 * trade-off in the family, without estimating the bias.
 *
 * The ordering is by the candidates' standard errors on the data (largest first; ties keep the
 * grid's order), as OBP sorts by interval width, or (`order: 'grid'`) the grid's own order.
 * Standard errors are the delta-method ones from each candidate's terms. The choice is made
 * once on the data: `terms` returns the chosen candidate's terms, so a bootstrap interval
 * holds the hyperparameter fixed (it does not re-select on every resample) and is a little
 * optimistic.
 *
 * @example
 * const est = withSlope('clipped-ips-slope', (l) => clippedIps({ maxWeight: l }), [1, 2, 5, 10, 20, 50, Infinity]);
 * est.estimate(data).details; // { hyperparameter: 20, candidates: [...], rule: 'su', width: 2 }
 * withSlope('kernel-ips-slope', (h) => kernelizedIps({ bandwidth: h }), [0.05, 0.1, 0.2, 0.4], { order: 'grid' }); // bandwidth
 * clippedIpsSlope().estimate(data);  // the same with the default grid
 */
import { z } from 'zod';
import { parseWith, ValidationError } from '../../core/errors.js';
import { deltaMethodStderr, termsValue, type Estimate, type SampleTerms } from '../estimate.js';
import { clippedIps } from './clipped-ips.js';
import { drShrinkage } from './dr-shrinkage.js';
import type { BanditEstimator } from './estimator.js';
import { subGaussianIps } from './subgaussian-ips.js';
import { switchDr } from './switch-dr.js';

export const SlopeOptions = z.object({
  /** Interval half-width in standard errors, κ (2 in Su et al. 2020). */
  width: z.number().positive().default(2),
  /** `su` (intervals must intersect) or `tucker-lee` (SLOPE++). */
  rule: z.enum(['su', 'tucker-lee']).default('su'),
  /**
   * Visiting order: `stderr` (decreasing standard error, as OBP sorts) or `grid` (the grid is
   * already ordered from least to most biased, Su et al.'s setting; use it when the variance
   * is not monotone in the hyperparameter, e.g. a kernel bandwidth with a light-tailed logger).
   */
  order: z.enum(['stderr', 'grid']).default('stderr'),
});
export type SlopeOptions = z.input<typeof SlopeOptions>;

/** One candidate's estimate, as SLOPE sees it. */
export interface SlopeCandidate {
  readonly hyperparameter: number;
  readonly value: number;
  readonly stderr: number;
}

/** The result of {@link slopeSelect}. */
export interface SlopeChoice {
  /** Index of the chosen candidate in the input order. */
  index: number;
  /** Candidate indices in the order SLOPE visited them (decreasing stderr, or the grid's). */
  order: number[];
  /** How many candidates (in `order`) passed the test; the chosen one is the last of them. */
  accepted: number;
}

const TUCKER_LEE_C = Math.sqrt(6) - 1;

/**
 * Lepski-style selection over candidates (see the module comment). A non-finite stderr counts as
 * an infinite interval (it never rules anything out, nor is it ruled out).
 */
export function slopeSelect(candidates: readonly SlopeCandidate[], options: SlopeOptions = {}): SlopeChoice {
  const { width, rule, order: orderBy } = parseWith(SlopeOptions, options, 'slope');
  if (candidates.length === 0) throw new ValidationError('candidates', 'at least one candidate', candidates, 'slope');
  const se = (c: SlopeCandidate) => (Number.isFinite(c.stderr) ? c.stderr : Infinity);
  const order = candidates.map((_, i) => i);
  if (orderBy === 'stderr') order.sort((a, b) => se(candidates[b]) - se(candidates[a]) || a - b);
  let lo = -Infinity;
  let hi = Infinity;
  const kept: number[] = [];
  for (const idx of order) {
    const c = candidates[idx];
    const half = width * se(c);
    if (rule === 'su') {
      const nlo = Math.max(lo, c.value - half);
      const nhi = Math.min(hi, c.value + half);
      if (kept.length > 0 && !(nlo <= nhi)) break;
      lo = nlo;
      hi = nhi;
    } else if (!kept.every((j) => Math.abs(c.value - candidates[j].value) <= half + TUCKER_LEE_C * width * se(candidates[j]))) {
      break;
    }
    kept.push(idx);
  }
  return { index: kept[kept.length - 1], order, accepted: kept.length };
}

/** The shape shared by bandit, slate and continuous estimators that SLOPE can wrap. */
export interface TermEstimator<D, M> {
  readonly name: string;
  readonly requiresRewardModel: boolean;
  terms(data: D, model?: M): SampleTerms;
  estimate(data: D, model?: M): Estimate;
}

/**
 * Wraps a one-parameter family of estimators into one that picks the parameter from `grid` by
 * SLOPE. Works for any term-based estimator (bandit, slate, continuous: e.g. a kernel
 * bandwidth). The estimate is the chosen member's, renamed `name`; its `details` hold the chosen
 * value and every candidate's value and stderr, and `diagnostics.hyperparameter` repeats the
 * chosen value.
 */
export function withSlope<D, M, E extends TermEstimator<D, M>>(name: string, family: (hyperparameter: number) => E, grid: readonly number[], options: SlopeOptions = {}): E {
  const opts = parseWith(SlopeOptions, options, name);
  if (!Array.isArray(grid) || grid.length === 0) throw new ValidationError('grid', 'a non-empty list of hyperparameters', grid, name);
  grid.forEach((h, i) => {
    if (typeof h !== 'number' || Number.isNaN(h)) throw new ValidationError(`grid[${i}]`, 'a number', h, name);
  });
  const members = grid.map((h) => family(h));
  const requiresRewardModel = members.some((m) => m.requiresRewardModel);
  // One candidate's columns at a time (10 M rows × a dozen candidates would not fit at once).
  const choose = (data: D, model?: M) => {
    const candidates = members.map((m, i) => {
      const t = m.terms(data, model);
      return { hyperparameter: grid[i], value: termsValue(t), stderr: deltaMethodStderr(t) };
    });
    return { candidates, choice: slopeSelect(candidates, opts) };
  };
  const wrapped: TermEstimator<D, M> = {
    name,
    requiresRewardModel,
    terms: (data, model) => members[choose(data, model).choice.index].terms(data, model),
    estimate(data, model) {
      const { candidates, choice } = choose(data, model);
      const h = grid[choice.index];
      const est = members[choice.index].estimate(data, model);
      return {
        ...est,
        estimator: name,
        diagnostics: { ...est.diagnostics, hyperparameter: h },
        details: {
          ...est.details,
          hyperparameter: jsonNumber(h),
          chosen: members[choice.index].name,
          rule: opts.rule,
          width: opts.width,
          order: opts.order,
          candidates: candidates.map((c, i) => ({ ...c, hyperparameter: jsonNumber(c.hyperparameter), name: members[i].name })),
        },
      };
    },
  };
  return wrapped as E;
}

/** `details` must be JSON-safe: Infinity becomes the string "Infinity". */
function jsonNumber(x: number): number | string {
  return Number.isFinite(x) ? x : String(x);
}

/** Default grid for weight caps and thresholds (clipped IPS λ, Switch-DR τ). */
export const DEFAULT_WEIGHT_GRID: readonly number[] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, Infinity];
/** Default grid for DR-shrinkage λ (larger is less shrinkage). */
export const DEFAULT_SHRINKAGE_GRID: readonly number[] = [0.1, 1, 10, 100, 1e3, 1e4, 1e5, Infinity];
/** Default grid for the sub-Gaussian λ (smaller is closer to IPS). */
export const DEFAULT_SUBGAUSSIAN_GRID: readonly number[] = [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1];

/** Clipped IPS with λ chosen by SLOPE (`clipped-ips-slope`). */
export function clippedIpsSlope(grid: readonly number[] = DEFAULT_WEIGHT_GRID, options: SlopeOptions = {}): BanditEstimator {
  return withSlope('clipped-ips-slope', (h) => clippedIps({ maxWeight: h }), grid, options);
}

/** Switch-DR with τ chosen by SLOPE (`switch-dr-slope`; needs a reward model). */
export function switchDrSlope(grid: readonly number[] = DEFAULT_WEIGHT_GRID, options: SlopeOptions = {}): BanditEstimator {
  return withSlope('switch-dr-slope', (h) => switchDr({ tau: h }), grid, options);
}

/** DR with optimistic shrinkage, λ chosen by SLOPE (`dr-os-slope`; needs a reward model). */
export function drShrinkageSlope(grid: readonly number[] = DEFAULT_SHRINKAGE_GRID, options: SlopeOptions = {}): BanditEstimator {
  return withSlope('dr-os-slope', (h) => drShrinkage({ lambda: h }), grid, options);
}

/** Sub-Gaussian IPS with λ chosen by SLOPE (`sg-ips-slope`). */
export function subGaussianIpsSlope(grid: readonly number[] = DEFAULT_SUBGAUSSIAN_GRID, options: SlopeOptions = {}): BanditEstimator {
  return withSlope('sg-ips-slope', (h) => subGaussianIps({ lambda: h }), grid, options);
}
