/**
 * Action distributions of the policy-gradient family, twice: as tensor functions (inside a
 * gradient tape, for losses) and as plain-number functions (acting, no tensors).
 *
 * - Categorical over logits, with action masks: a masked action gets logit −1e9, so its
 *   probability is exactly 0 after the softmax (as MaskablePPO's `CategoricalMasked`).
 *   log π(a|s) = logits_a − logsumexp(logits); H = −Σ_a π(a) log π(a).
 * - Diagonal Gaussian with a state-independent log standard deviation (one learned number
 *   per action dimension, SB3's `DiagGaussianDistribution` and CleanRL's `actor_logstd`):
 *   log N(a; μ, σ) = Σ_d [−(a_d − μ_d)² / (2σ_d²) − log σ_d − ½ log 2π],
 *   H = Σ_d [½ + ½ log 2π + log σ_d] (Cover & Thomas 2006, eq. 8.4 per dimension).
 *
 * @example
 * const lp = categoricalLogProb(logits, actions, null); // [B]
 * const h = gaussianEntropy(logStd, batch);              // [B]
 * const { action, logProb } = sampleCategoricalRow(logitsRow, 0, A, null, rng, false);
 */
import type { Rng } from '../../core/rng.js';
import { tf } from '../../tensor/backend.js';

/** Logit given to masked actions: exp(−1e9 − max) is exactly 0 in float32 and float64. */
export const MASKED_LOGIT = -1e9;
const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

// --- Tensor forms (losses) -------------------------------------------------------------------

/** Logits with masked actions (mask 0) set to {@link MASKED_LOGIT}; `masks` is `[B, A]` 0/1. */
export function maskLogits(logits: tf.Tensor2D, masks: tf.Tensor2D | null): tf.Tensor2D {
  if (!masks) return logits;
  return tf.tidy(() => tf.where(tf.greater(masks, 0), logits, tf.fill(logits.shape, MASKED_LOGIT)) as tf.Tensor2D);
}

/** log π(a|s) `[B]` of int32 `actions` `[B]` under (masked) `logits` `[B, A]`. */
export function categoricalLogProb(logits: tf.Tensor2D, actions: tf.Tensor1D, masks: tf.Tensor2D | null): tf.Tensor1D {
  return tf.tidy(() => {
    const logp = tf.logSoftmax(maskLogits(logits, masks));
    return tf.sum(tf.mul(logp, tf.oneHot(actions, logits.shape[1])), 1) as tf.Tensor1D;
  });
}

/** Entropy `[B]` of the (masked) categorical; masked actions contribute 0. */
export function categoricalEntropy(logits: tf.Tensor2D, masks: tf.Tensor2D | null): tf.Tensor1D {
  return tf.tidy(() => {
    const logp = tf.logSoftmax(maskLogits(logits, masks));
    // p · log p with p = 0 on masked actions is 0 · (−1e9) = 0.
    return tf.neg(tf.sum(tf.mul(tf.exp(logp), logp), 1)) as tf.Tensor1D;
  });
}

/** {@link categoricalLogProb} and {@link categoricalEntropy} from one log-softmax (the PPO loss needs both). */
export function categoricalLogProbEntropy(logits: tf.Tensor2D, actions: tf.Tensor1D, masks: tf.Tensor2D | null): { logProb: tf.Tensor1D; entropy: tf.Tensor1D } {
  return tf.tidy(() => {
    const logp = tf.logSoftmax(maskLogits(logits, masks));
    return {
      logProb: tf.sum(tf.mul(logp, tf.oneHot(actions, logits.shape[1])), 1) as tf.Tensor1D,
      entropy: tf.neg(tf.sum(tf.mul(tf.exp(logp), logp), 1)) as tf.Tensor1D,
    };
  });
}

/** log N(a; mean, exp(logStd)) summed over the D action dimensions: `[B]`. `logStd` is `[D]` or `[B, D]`. */
export function gaussianLogProb(mean: tf.Tensor2D, logStd: tf.Tensor, actions: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const z = tf.div(tf.sub(actions, mean), tf.exp(logStd));
    // −½z² − log σ − ½ log 2π per dimension, summed.
    return tf.sum(tf.sub(tf.mul(-0.5, tf.square(z)), tf.add(logStd, HALF_LOG_2PI)), 1) as tf.Tensor1D;
  });
}

/** Entropy of the diagonal Gaussian, the same for every row (state-independent σ): `[B]`. */
export function gaussianEntropy(logStd: tf.Tensor1D, batch: number): tf.Tensor1D {
  return tf.tidy(() => {
    const h = tf.sum(tf.add(logStd, 0.5 + HALF_LOG_2PI));
    return tf.mul(tf.ones([batch]), h) as tf.Tensor1D;
  });
}

// --- Plain-number forms (acting) -------------------------------------------------------------

/**
 * Softmax of one row `logits[o .. o+A)` restricted to allowed actions (mask row at `o`, or
 * null), written into `out[0 .. A)`. Returns log Σ exp (the normaliser), for log-probs.
 */
export function softmaxRow(logits: ArrayLike<number>, o: number, A: number, masks: Uint8Array | null, out: Float64Array): number {
  let max = -Infinity;
  for (let a = 0; a < A; a++) if ((!masks || masks[o + a]) && logits[o + a] > max) max = logits[o + a];
  if (max === -Infinity) {
    // No allowed action: fall back to uniform over all (the env will reject the action anyway).
    out.fill(1 / A, 0, A);
    return Math.log(A);
  }
  let sum = 0;
  for (let a = 0; a < A; a++) {
    const e = !masks || masks[o + a] ? Math.exp(logits[o + a] - max) : 0;
    out[a] = e;
    sum += e;
  }
  for (let a = 0; a < A; a++) out[a] /= sum;
  return max + Math.log(sum);
}

/**
 * Samples (or, when `deterministic`, takes the most likely allowed action of) one row of
 * logits. Returns the action and its log-probability under the masked softmax.
 */
export function sampleCategoricalRow(
  logits: ArrayLike<number>,
  o: number,
  A: number,
  masks: Uint8Array | null,
  rng: Rng,
  deterministic: boolean,
  scratch: Float64Array = new Float64Array(A),
): { action: number; logProb: number } {
  const logZ = softmaxRow(logits, o, A, masks, scratch);
  let action = 0;
  if (deterministic) {
    let best = -Infinity;
    for (let a = 0; a < A; a++) {
      if ((!masks || masks[o + a]) && logits[o + a] > best) {
        best = logits[o + a];
        action = a;
      }
    }
  } else {
    action = rng.categorical(scratch.subarray(0, A));
  }
  return { action, logProb: logits[o + action] - logZ };
}

/** log π(a) of action `a` in one row of (masked) logits. */
export function categoricalLogProbRow(logits: ArrayLike<number>, o: number, A: number, masks: Uint8Array | null, a: number): number {
  let max = -Infinity;
  for (let k = 0; k < A; k++) if ((!masks || masks[o + k]) && logits[o + k] > max) max = logits[o + k];
  let sum = 0;
  for (let k = 0; k < A; k++) if (!masks || masks[o + k]) sum += Math.exp(logits[o + k] - max);
  return logits[o + a] - max - Math.log(sum);
}

/** log N(x; mean, exp(logStd)) over `D` dims, reading `x` and `mean` at offset `o`. */
export function gaussianLogProbRow(x: ArrayLike<number>, mean: ArrayLike<number>, o: number, logStd: ArrayLike<number>, D: number): number {
  let s = 0;
  for (let d = 0; d < D; d++) {
    const z = (x[o + d] - mean[o + d]) / Math.exp(logStd[d]);
    s += -0.5 * z * z - logStd[d] - HALF_LOG_2PI;
  }
  return s;
}

/** Entropy of a diagonal Gaussian with log-std `logStd` (`D` numbers). */
export function gaussianEntropyOf(logStd: ArrayLike<number>): number {
  let h = 0;
  for (let d = 0; d < logStd.length; d++) h += 0.5 + HALF_LOG_2PI + logStd[d];
  return h;
}
