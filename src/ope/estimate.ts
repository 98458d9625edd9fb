/**
 * What every estimator returns, and the machinery shared by all of them: per-sample terms,
 * weight diagnostics and the delta-method standard error.
 *
 * Most OPE estimators are a smooth function of a few sample means. IPS and DR are the mean of
 * one per-row term; SNIPS is a ratio of two means; weighted per-decision IS is a sum over t of
 * ratios of means. {@link SampleTerms} records that structure once: columns of per-sample
 * values and a `combine` that maps their (weighted) column sums to the estimate. The standard
 * error (delta method) and the bootstrap (reweighting the columns, never re-running the
 * estimator) then work for every estimator without knowing which one it is.
 */

/** Importance-weight statistics reported with every estimate. */
export interface WeightDiagnostics {
  /** Mean importance weight; its expectation is 1 when μ > 0 wherever π > 0. */
  meanWeight: number;
  maxWeight: number;
  minWeight: number;
  /** Kish effective sample size (Σw)² / Σw². */
  ess: number;
  /** ess / n. */
  essFraction: number;
  /** Estimator-specific numbers (fraction clipped, blend weights' entropy, ...). */
  [key: string]: number;
}

/** A confidence interval attached to an estimate. */
export interface Interval {
  lower: number;
  upper: number;
  /** 1 − confidence level. */
  alpha: number;
  method: 'percentile' | 'basic';
  resamples: number;
  seed: number;
  /** Standard deviation of the finite bootstrap replicates. */
  stderr: number;
  /**
   * Resamples whose replicate was not finite (e.g. no episode with non-zero weight): the
   * interval and stderr come from the others only, and the report shows this count.
   */
  dropped: number;
  /** The bounds were intersected with the achievable value range (see range.ts). */
  clippedToRange?: boolean;
}

/** The result of one estimator on one dataset. */
export interface Estimate {
  /** Estimator name, e.g. `dr` or `clipped-ips(λ=10)`. */
  estimator: string;
  /** Estimated value of the target policy (mean reward, or mean discounted return). */
  value: number;
  /** Standard error (delta method over samples; see each estimator for caveats). */
  stderr: number;
  /** Number of samples: rows (bandit) or episodes (sequential). */
  n: number;
  diagnostics: WeightDiagnostics;
  /** Bootstrap interval, when one was computed. */
  interval?: Interval;
  /** Estimator-specific structured output (e.g. MAGIC's blend weights). JSON-safe. */
  details?: Record<string, unknown>;
}

/**
 * Per-sample columns whose weighted sums determine an estimate.
 *
 * With sample weights c_i (1 for the data itself, bootstrap counts for a resample), column
 * sums S_k = Σ_i c_i x_ik and total C = Σ_i c_i, the estimate is `combine(S, C)`.
 */
export interface SampleTerms {
  /** What a bootstrap resamples: rows (bandit) or whole episodes (sequential). */
  readonly unit: 'row' | 'episode';
  /** Number of samples. */
  readonly n: number;
  /** Columns of length n. */
  readonly columns: Float64Array[];
  /** The estimate from weighted column sums and the total weight. Must be cheap. */
  combine(sums: Float64Array, total: number): number;
}

/** Allocates a column, shared between threads where the platform allows (for the parallel bootstrap). */
export function allocColumn(n: number): Float64Array {
  if (typeof SharedArrayBuffer === 'function' && n >= 1 << 16) return new Float64Array(new SharedArrayBuffer(n * 8));
  return new Float64Array(n);
}

/** Column sums, in Float64 with pairwise-free plain summation (columns are already float64). */
export function columnSums(terms: SampleTerms): Float64Array {
  const sums = new Float64Array(terms.columns.length);
  for (let k = 0; k < terms.columns.length; k++) {
    const col = terms.columns[k];
    let s = 0;
    for (let i = 0; i < col.length; i++) s += col[i];
    sums[k] = s;
  }
  return sums;
}

/** The estimate implied by the terms on the data itself (every weight 1). */
export function termsValue(terms: SampleTerms): number {
  return terms.combine(columnSums(terms), terms.n);
}

/**
 * Delta-method standard error of `combine` as a function of the column means.
 *
 * With m the vector of column means and f(m) = combine(n·m, n), the influence of sample i is
 * ψ_i = ∇f(m)·(x_i − m) and Var(f) ≈ Σψ²/(n(n−1)) (van der Vaart 1998, ch. 3). The gradient
 * is taken by central differences so every estimator gets a standard error from its terms
 * alone; for a plain mean it is exact (sd/√n).
 */
export function deltaMethodStderr(terms: SampleTerms): number {
  const n = terms.n;
  if (n < 2) return NaN;
  const psi = influences(terms);
  let ss = 0;
  for (let i = 0; i < n; i++) ss += psi[i] * psi[i];
  return Math.sqrt(ss / (n * (n - 1)));
}

/**
 * Influence ψ_i = ∇f(m)·(x_i − m) of every sample on the estimate (see
 * {@link deltaMethodStderr}): which episodes or rows drive it, for failure reports.
 */
export function influences(terms: SampleTerms): Float64Array {
  const n = terms.n;
  const c = terms.columns.length;
  const sums = columnSums(terms);
  const means = sums.map((s) => s / n);
  const grad = new Float64Array(c);
  const probe = new Float64Array(c);
  for (let k = 0; k < c; k++) {
    // Step scaled to the column's magnitude so ratios of tiny and huge columns both work.
    let scale = Math.abs(means[k]);
    const col = terms.columns[k];
    if (scale === 0) {
      let s = 0;
      for (let i = 0; i < n; i++) s += Math.abs(col[i]);
      scale = s / n;
    }
    const h = 1e-6 * (scale > 0 ? scale : 1);
    for (let j = 0; j < c; j++) probe[j] = sums[j];
    probe[k] = (means[k] + h) * n;
    const up = terms.combine(probe, n);
    probe[k] = (means[k] - h) * n;
    const down = terms.combine(probe, n);
    grad[k] = Number.isFinite(up) && Number.isFinite(down) ? (up - down) / (2 * h) : 0;
  }
  const psi = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let v = 0;
    for (let k = 0; k < c; k++) if (grad[k] !== 0) v += grad[k] * (terms.columns[k][i] - means[k]);
    psi[i] = v;
  }
  return psi;
}

/** Weight statistics of a set of importance weights. */
export function weightStats(weights: ArrayLike<number>): WeightDiagnostics {
  const n = weights.length;
  let sum = 0;
  let sumSq = 0;
  let max = -Infinity;
  let min = Infinity;
  for (let i = 0; i < n; i++) {
    const w = weights[i];
    sum += w;
    sumSq += w * w;
    if (w > max) max = w;
    if (w < min) min = w;
  }
  const ess = sumSq > 0 ? (sum * sum) / sumSq : 0;
  return {
    meanWeight: n > 0 ? sum / n : NaN,
    maxWeight: n > 0 ? max : NaN,
    minWeight: n > 0 ? min : NaN,
    ess,
    essFraction: n > 0 ? ess / n : NaN,
  };
}

/** Kish effective sample size (Σw)² / Σw² (Kish 1965); n for equal weights. */
export function effectiveSampleSize(weights: ArrayLike<number>): number {
  return weightStats(weights).ess;
}

/** Builds an {@link Estimate} from terms: value from the column sums, delta-method stderr. */
export function estimateFromTerms(
  estimator: string,
  terms: SampleTerms,
  diagnostics: WeightDiagnostics,
  details?: Record<string, unknown>,
): Estimate {
  return {
    estimator,
    value: termsValue(terms),
    stderr: deltaMethodStderr(terms),
    n: terms.n,
    diagnostics,
    ...(details ? { details } : {}),
  };
}

/** Ratio with 0/0 := 0 (an empty normaliser means no sample carries weight at that point). */
export function safeRatio(num: number, den: number): number {
  return den === 0 ? 0 : num / den;
}

/** Terms for the plain mean of one column. */
export function meanTerms(unit: 'row' | 'episode', column: Float64Array): SampleTerms {
  return { unit, n: column.length, columns: [column], combine: (s, total) => safeRatio(s[0], total) };
}
