/**
 * Policy-gradient losses as pure tensor functions (B samples), each testable alone.
 *
 * - PPO clipped surrogate (Schulman et al. 2017, eq. 7):
 *   L = −mean(min(r·Â, clip(r, 1 − ε, 1 + ε)·Â)), r = exp(log π − log π_old). At r = 1 ± ε
 *   exactly both branches carry the gradient Â·∇r; beyond the boundary on the side the clip
 *   binds, the gradient is 0 (the pessimistic bound).
 * - Vanilla policy gradient (A2C, Mnih et al. 2016; SB3's A2C loss): L = −mean(Â · log π).
 * - Value loss: SB3's mean squared error (no ½; SB3 weighs it by `vf_coef` 0.5), or with
 *   value clipping the max form of OpenAI Baselines' PPO2 (Huang et al. 2022, "The 37
 *   implementation details of PPO", detail 9): mean(max((V − R)², (V_old + clip(V − V_old,
 *   −ε_v, ε_v) − R)²)).
 * - Approximate KL(π_old ‖ π) = mean((r − 1) − log r), Schulman's low-variance "k3"
 *   estimator, as SB3 and CleanRL use for early stopping.
 * - REINFORCE with importance weights (Williams 1992; off-policy form as in Chen et al. 2019):
 *   detached −Σ c·log π / N with constants c (w·Â for step weights), or ratio-gradient
 *   −Σ w(θ)·s / N; `importance.ts` (`offPolicySignals`) defines c and s so the two gradients
 *   agree wherever no clamp binds, since ∇(π/β) = (π/β)∇log π.
 *
 * @example
 * const { loss, clipFraction, approxKl } = clippedSurrogateLoss(logp, oldLogp, adv, 0.2);
 */
import { tf } from '../../tensor/backend.js';

/** Outputs of {@link clippedSurrogateLoss}; the caller owns every tensor. */
export interface SurrogateResult {
  loss: tf.Scalar;
  /** Fraction of samples whose ratio lies outside [1 − ε, 1 + ε] (SB3's `clip_fraction`). */
  clipFraction: tf.Scalar;
  approxKl: tf.Scalar;
}

/** Approximate KL mean((r − 1) − log r) from log-ratios `[B]`. */
export function approxKl(logRatio: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.sub(tf.sub(tf.exp(logRatio), 1), logRatio)) as tf.Scalar);
}

/** PPO's clipped surrogate objective, negated (a loss). */
export function clippedSurrogateLoss(logProbs: tf.Tensor1D, oldLogProbs: tf.Tensor1D, advantages: tf.Tensor1D, clipRange: number): SurrogateResult {
  return tf.tidy(() => {
    const logRatio = tf.sub(logProbs, oldLogProbs) as tf.Tensor1D;
    const ratio = tf.exp(logRatio);
    const unclipped = tf.mul(ratio, advantages);
    const clipped = tf.mul(tf.clipByValue(ratio, 1 - clipRange, 1 + clipRange), advantages);
    const loss = tf.neg(tf.mean(tf.minimum(unclipped, clipped))) as tf.Scalar;
    const outside = tf.cast(tf.greater(tf.abs(tf.sub(ratio, 1)), clipRange), 'float32');
    return { loss, clipFraction: tf.mean(outside) as tf.Scalar, approxKl: approxKl(logRatio) };
  });
}

/** −mean(Â · log π) (A2C's policy loss). */
export function vanillaPolicyLoss(logProbs: tf.Tensor1D, advantages: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean(tf.mul(logProbs, advantages))) as tf.Scalar);
}

/** Value loss: mean (V − R)², or the clipped max form when `clipRangeVf` is not null. */
export function valueLoss(values: tf.Tensor1D, oldValues: tf.Tensor1D, returns: tf.Tensor1D, clipRangeVf: number | null): tf.Scalar {
  return tf.tidy(() => {
    const unclipped = tf.square(tf.sub(values, returns));
    if (clipRangeVf === null) return tf.mean(unclipped) as tf.Scalar;
    const vClipped = tf.add(oldValues, tf.clipByValue(tf.sub(values, oldValues), -clipRangeVf, clipRangeVf));
    return tf.mean(tf.maximum(unclipped, tf.square(tf.sub(vClipped, returns)))) as tf.Scalar;
  });
}

/**
 * Detached-ratio REINFORCE loss −Σ_t c_t·log π(a_t|s_t) / `denominator`, with c_t constants
 * (`offPolicySignals().coefficients`: w_t·Â_t for step weights). Summing over a mini-batch
 * and dividing by the whole batch's size makes mini-batch gradients add up to the
 * full-batch gradient (gradient accumulation).
 */
export function reinforceLossDetached(logProbs: tf.Tensor1D, coefficients: tf.Tensor1D, denominator: number): tf.Scalar {
  return tf.tidy(() => tf.div(tf.neg(tf.sum(tf.mul(coefficients, logProbs))), denominator) as tf.Scalar);
}

/** Ratio-gradient REINFORCE loss −Σ_l w_l(θ)·s_l / `denominator`, gradients through w. */
export function reinforceLossRatio(weights: tf.Tensor1D, signals: tf.Tensor1D, denominator: number): tf.Scalar {
  return tf.tidy(() => tf.div(tf.neg(tf.sum(tf.mul(weights, signals))), denominator) as tf.Scalar);
}
