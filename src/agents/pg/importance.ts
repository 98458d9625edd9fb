/**
 * Importance weights w = π(a|s) / β(a|s) for off-policy policy gradients, with the
 * corrections production systems use, and their diagnostics. Pure functions on plain arrays
 * (the weights as constants, for the detached-ratio estimator) plus the tensor form that
 * lets gradients flow through π (the ratio-gradient estimator).
 *
 * The pipeline, in order, per step t of episode e (log space until the clamp):
 * 1. log-ratio ℓ_t = log π(a_t|s_t) − log β(a_t|s_t).
 * 2. weighting over the episode:
 *    - `step`: L_t = ℓ_t, the first-order correction of Chen et al. 2019 ("Top-K off-policy
 *      correction for a REINFORCE recommender system", WSDM, §4.2), which ignores the
 *      distribution shift of earlier steps: biased, much lower variance;
 *    - `per-decision`: L_t = Σ_{k≤t} ℓ_k, per-decision importance sampling (Precup, Sutton &
 *      Singh 2000, "Eligibility traces for off-policy policy evaluation");
 *    - `trajectory`: L_t = Σ_k ℓ_k over the whole episode (ordinary IS).
 * 3. log-ratio clipping: L_t ← clip(L_t, −c, c) (keeps exp finite; w ∈ [e^−c, e^c]).
 * 4. w_t = exp(L_t), then clamping at `clampMax` (ReAgent's `ips_clamp`, facebookresearch/
 *    ReAgent, seq2slate): `universal` w ← min(w, max) (Ionides 2008, truncated IS; Chen et
 *    al. 2019 "weight capping"); `aggressive` drops the sample (w ← 0) when w > max.
 * 5. self-normalisation: w ← w / mean(w) over the batch (weighted IS, Hesterberg 1995;
 *    Swaminathan & Joachims 2015, SNIPS), the mean treated as a constant.
 *
 * Diagnostics: mean and max weight (after the clamp, before self-normalisation), the raw max
 * (before the clamp), the fraction of clamped or dropped samples, and Kish's effective sample
 * size ESS = (Σw)² / Σw² (Kong 1992), also as a fraction of the batch.
 *
 * @example
 * const r = importanceWeights(targetLogProbs, behaviourLogProbs, episodeStarts, { weighting: 'step', clamp: 'universal', clampMax: 10, logRatioClip: null, selfNormalize: false });
 * r.weights; r.diagnostics.ess;
 */
import { z } from 'zod';
import { ValidationError } from '../../core/errors.js';
import { tf } from '../../tensor/backend.js';

/** Importance-weight settings (the `importance` field of the REINFORCE and slate configs). */
export const ImportanceConfigSchema = z
  .object({
    /** `step` (Chen et al. 2019), `per-decision` (Precup et al. 2000) or `trajectory` weights. */
    weighting: z.enum(['step', 'per-decision', 'trajectory']).default('step'),
    /** `none`, `universal` (w ← min(w, max)) or `aggressive` (drop samples with w > max); ReAgent's names. */
    clamp: z.enum(['none', 'universal', 'aggressive']).default('none'),
    /** Threshold of the clamp (Chen et al. 2019 study caps around 10). */
    clampMax: z.number().positive().default(10),
    /** Clip log w to [−c, c] before exponentiating; null = off. */
    logRatioClip: z.number().positive().nullable().default(null),
    /** Divide by the batch mean weight (weighted / self-normalised IS). */
    selfNormalize: z.boolean().default(false),
    /**
     * `detached`: loss −w·A·log π with w a constant (Chen et al. 2019); `ratio`: loss −w(θ)·A
     * with the gradient flowing through w = π/β (the gradient of the IS value estimate).
     */
    estimator: z.enum(['detached', 'ratio']).default('detached'),
  })
  .strict();

/** Importance settings as written by a user. */
export type ImportanceConfig = z.input<typeof ImportanceConfigSchema>;
/** Importance settings with defaults applied. */
export type ResolvedImportanceConfig = z.output<typeof ImportanceConfigSchema>;

/** What the weights looked like (logged with every off-policy update). */
export interface WeightDiagnostics {
  /** Mean weight after the clamp (before self-normalisation). */
  weightMean: number;
  /** Largest weight after the clamp. */
  weightMax: number;
  /** Largest weight before the clamp. */
  rawWeightMax: number;
  /** Kish's effective sample size (Σw)² / Σw² of the final weights. */
  ess: number;
  /** ESS / number of samples, in (0, 1]. */
  essFraction: number;
  /** Fraction of samples the clamp changed (universal) or dropped (aggressive). */
  clampedFraction: number;
}

/** Result of {@link importanceWeights}. */
export interface ImportanceWeights {
  /** Final weights, one per step. */
  weights: Float64Array;
  /** log w per step after weighting and log-ratio clipping (before the clamp). */
  logWeights: Float64Array;
  /**
   * Per step: 1 where the final weight still depends on π (not clamped, not dropped); 0
   * where it is the constant in `constants` (the clamp value, or 0 for a dropped sample).
   */
  graded: Float32Array;
  constants: Float32Array;
  /** Factor of the self-normalisation (1 / mean w, or 1 when off). */
  scale: number;
  diagnostics: WeightDiagnostics;
}

/** Kish's effective sample size (Σw)² / Σw² (0 for all-zero weights). */
export function effectiveSampleSize(w: ArrayLike<number>): number {
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < w.length; i++) {
    s += w[i];
    s2 += w[i] * w[i];
  }
  return s2 > 0 ? (s * s) / s2 : 0;
}

/**
 * Log-weights per step before clipping: ℓ_t (step), prefix sums (per-decision) or episode
 * sums (trajectory). `episodeStarts` has E + 1 offsets; every step belongs to one episode.
 */
export function cumulativeLogRatios(logRatios: ArrayLike<number>, episodeStarts: ArrayLike<number>, weighting: ResolvedImportanceConfig['weighting']): Float64Array {
  const N = logRatios.length;
  const out = new Float64Array(N);
  if (weighting === 'step') {
    for (let t = 0; t < N; t++) out[t] = logRatios[t];
    return out;
  }
  const E = episodeStarts.length - 1;
  if (E < 0 || episodeStarts[0] !== 0 || episodeStarts[E] !== N) {
    throw new ValidationError('episodeStarts', `offsets from 0 to ${N}`, Array.from(episodeStarts).slice(0, 8), 'importanceWeights');
  }
  for (let e = 0; e < E; e++) {
    let s = 0;
    for (let t = episodeStarts[e]; t < episodeStarts[e + 1]; t++) {
      s += logRatios[t];
      out[t] = s;
    }
    if (weighting === 'trajectory') for (let t = episodeStarts[e]; t < episodeStarts[e + 1]; t++) out[t] = s;
  }
  return out;
}

/**
 * Importance weights with every correction of the module comment, as constants.
 * `targetLogProbs` are log π(a_t|s_t) of the policy being trained, `behaviourLogProbs` the
 * logged log β(a_t|s_t).
 */
export function importanceWeights(
  targetLogProbs: ArrayLike<number>,
  behaviourLogProbs: ArrayLike<number>,
  episodeStarts: ArrayLike<number>,
  config: Omit<ResolvedImportanceConfig, 'estimator'>,
): ImportanceWeights {
  const N = targetLogProbs.length;
  if (behaviourLogProbs.length !== N) throw new ValidationError('behaviourLogProbs.length', `${N}`, behaviourLogProbs.length, 'importanceWeights');
  const ratios = new Float64Array(N);
  for (let t = 0; t < N; t++) {
    const lb = behaviourLogProbs[t];
    if (!Number.isFinite(lb)) throw new ValidationError(`behaviourLogProbs[${t}]`, 'a finite log-probability (propensity > 0)', lb, 'importanceWeights');
    ratios[t] = targetLogProbs[t] - lb;
  }
  const logWeights = cumulativeLogRatios(ratios, episodeStarts, config.weighting);
  const c = config.logRatioClip;
  if (c !== null) for (let t = 0; t < N; t++) logWeights[t] = Math.min(c, Math.max(-c, logWeights[t]));
  const weights = new Float64Array(N);
  const graded = new Float32Array(N).fill(1);
  const constants = new Float32Array(N);
  let rawMax = 0;
  let clamped = 0;
  for (let t = 0; t < N; t++) {
    const w = Math.exp(logWeights[t]);
    if (w > rawMax) rawMax = w;
    let v = w;
    if (config.clamp !== 'none' && w > config.clampMax) {
      v = config.clamp === 'universal' ? config.clampMax : 0;
      graded[t] = 0;
      constants[t] = v;
      clamped++;
    }
    weights[t] = v;
  }
  let sum = 0;
  let max = 0;
  for (let t = 0; t < N; t++) {
    sum += weights[t];
    if (weights[t] > max) max = weights[t];
  }
  const mean = N > 0 ? sum / N : Number.NaN;
  const scale = config.selfNormalize && mean > 0 ? 1 / mean : 1;
  if (scale !== 1) for (let t = 0; t < N; t++) weights[t] *= scale;
  const ess = effectiveSampleSize(weights);
  return {
    weights,
    logWeights,
    graded,
    constants,
    scale,
    diagnostics: { weightMean: mean, weightMax: max, rawWeightMax: rawMax, ess, essFraction: N > 0 ? ess / N : Number.NaN, clampedFraction: N > 0 ? clamped / N : Number.NaN },
  };
}

/**
 * The same weights as a differentiable function of `targetLogProbs` `[N]` (ratio-gradient
 * estimator). Clamp and self-normalisation decisions come from `w` ({@link importanceWeights}
 * on the same numbers), so the two forms agree value for value: where `graded` is 0 the
 * weight is the constant (no gradient), elsewhere exp(clip(L(θ))) · scale.
 * `episodeIndex` gives, per step, the offsets [start, end) of its episode (only read for
 * `per-decision` and `trajectory`).
 */
export function importanceWeightsTensor(
  targetLogProbs: tf.Tensor1D,
  behaviourLogProbs: ArrayLike<number>,
  episode: { start: Int32Array; end: Int32Array } | null,
  w: Pick<ImportanceWeights, 'graded' | 'constants' | 'scale'>,
  config: Pick<ResolvedImportanceConfig, 'weighting' | 'logRatioClip'>,
): tf.Tensor1D {
  return tf.tidy(() => {
    const N = targetLogProbs.shape[0];
    const lr = tf.sub(targetLogProbs, tf.tensor1d(Float32Array.from(behaviourLogProbs)));
    let L: tf.Tensor1D = lr as tf.Tensor1D;
    if (config.weighting !== 'step') {
      if (!episode) throw new ValidationError('episode', 'episode offsets for per-decision or trajectory weights', null, 'importanceWeightsTensor');
      // Prefix sums padded with a leading 0: L_t = cs[t + 1] − cs[start] (per-decision) or cs[end] − cs[start].
      const cs = tf.concat([tf.zeros([1]), tf.cumsum(lr)]);
      const upper = config.weighting === 'per-decision' ? Int32Array.from({ length: N }, (_, t) => t + 1) : episode.end;
      L = tf.sub(tf.gather(cs, tf.tensor1d(upper, 'int32')), tf.gather(cs, tf.tensor1d(episode.start, 'int32'))) as tf.Tensor1D;
    }
    if (config.logRatioClip !== null) L = tf.clipByValue(L, -config.logRatioClip, config.logRatioClip);
    const graded = tf.tensor1d(w.graded);
    const weighted = tf.add(tf.mul(tf.exp(L), graded), tf.tensor1d(w.constants));
    return (w.scale === 1 ? weighted : tf.mul(weighted, w.scale)) as tf.Tensor1D;
  });
}

/**
 * Per-step quantities of the two REINFORCE estimators, which optimise the same surrogate
 * J = (1/N) Σ_l w_l · s_l.
 *
 * - Signal s_l: with `step` weights the advantage Â_l (return-to-go minus baseline; Chen et
 *   al. 2019); with `per-decision` / `trajectory` weights the discounted "reward" γ^(l−t₀)·r̂_l,
 *   where r̂_l = Â_l − γÂ_{l+1} (Â after the last step = 0) is the per-step reward whose
 *   discounted sum-to-go is Â (r̂ = r without baseline and whitening). J is then the
 *   per-decision (Precup et al. 2000) or ordinary importance-sampling estimate of the
 *   discounted return, and its gradient the off-policy policy gradient.
 * - Ratio-gradient estimator: ∇J with w_l = w_l(θ) (`importanceWeightsTensor`).
 * - Detached estimator: Σ_t c_t ∇log π(a_t|s_t) / N with constants
 *   c_t = Σ_{l ∈ D(t)} w_l s_l over the steps whose weight contains π(a_t|s_t):
 *   D(t) = {t} (step), {l ≥ t} (per-decision), the whole episode (trajectory).
 * Since ∇w_l = w_l Σ_{t: l ∈ D(t)} ∇log π_t, the two gradients are equal wherever no clamp or
 * log-ratio clip binds (self-normalisation divides both by the same constant). Where the
 * universal clamp or the log-ratio clip binds, the ratio-gradient of that weight is 0 while
 * the detached estimator keeps w_l = const; a dropped (aggressive) sample is 0 in both.
 * On-policy (w = 1) with step weights the detached estimator is plain REINFORCE Σ Â_t ∇log π_t;
 * per-decision weights keep the γ^(t−t₀) factor of the discounted policy-gradient theorem.
 */
export function offPolicySignals(
  advantages: ArrayLike<number>,
  weights: ArrayLike<number>,
  episodeStarts: ArrayLike<number>,
  gamma: number,
  weighting: ResolvedImportanceConfig['weighting'],
): { signals: Float64Array; coefficients: Float64Array } {
  const N = advantages.length;
  const signals = new Float64Array(N);
  const coefficients = new Float64Array(N);
  if (weighting === 'step') {
    for (let t = 0; t < N; t++) {
      signals[t] = advantages[t];
      coefficients[t] = weights[t] * advantages[t];
    }
    return { signals, coefficients };
  }
  const E = episodeStarts.length - 1;
  for (let e = 0; e < E; e++) {
    const a = episodeStarts[e];
    const b = episodeStarts[e + 1];
    let disc = 1;
    for (let l = a; l < b; l++) {
      const next = l + 1 < b ? advantages[l + 1] : 0;
      signals[l] = disc * (advantages[l] - gamma * next);
      disc *= gamma;
    }
    if (weighting === 'per-decision') {
      let suffix = 0;
      for (let t = b - 1; t >= a; t--) {
        suffix += weights[t] * signals[t];
        coefficients[t] = suffix;
      }
    } else {
      let total = 0;
      for (let l = a; l < b; l++) total += weights[l] * signals[l];
      for (let t = a; t < b; t++) coefficients[t] = total;
    }
  }
  return { signals, coefficients };
}
