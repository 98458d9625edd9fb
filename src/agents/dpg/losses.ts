/**
 * Targets and losses of DDPG, TD3 and SAC as pure tensor functions (each testable alone), plus
 * the plain-number pieces acting needs. Shapes: B rows, D action dimensions; Q-values `[B, 1]`.
 *
 * - Bellman target (Lillicrap et al. 2016, eq. 5; Pardo et al. 2018 for truncation):
 *     y = r + γ·(1 − terminated)·Q'(s', a'),
 *   with γ per row (the buffer stores γ^k), `terminated` 1 only at true terminal states.
 * - TD3 (Fujimoto et al. 2018): clipped double Q, y = r + γ(1 − d)·min_i Q'_i(s', ã) (eq. 10),
 *   with target policy smoothing ã = clip(μ'(s') + clip(ε, −c, c), −1, 1), ε ~ N(0, σ̃²) (eq. 14).
 * - Deterministic policy gradient (Silver et al. 2014, Theorem 1; Lillicrap et al. 2016, eq. 6):
 *   the actor minimises −mean Q(s, μ(s)), whose gradient is ∇_a Q(s, a)|_{a = μ(s)} · ∇_θ μ(s).
 * - SAC (Haarnoja et al. 2018, "Soft Actor-Critic Algorithms and Applications"):
 *   a = tanh(u), u = m + σ ⊙ ε (reparameterisation, eq. 11), with
 *     log π(a|s) = Σ_d [log N(u_d; m_d, σ_d) − log(1 − tanh²(u_d))]      (Appendix C, eq. 21),
 *   computed with log(1 − tanh² u) = 2·(log 2 − u − softplus(−2u)), exact and stable for large
 *   |u| (SB3 adds 1e-6 inside the log instead);
 *   soft target y = r + γ(1 − d)·(min_i Q'_i(s', a') − α·log π(a'|s')) (eq. 3 with the twin
 *   minimum of §5); actor loss mean(α·log π(a|s) − min_i Q_i(s, a)) (eq. 7);
 *   temperature loss −mean(log α · (log π(a|s) + H̄)) with the log-probabilities held fixed:
 *   SB3's form of eq. 18 (the gradient in log α has the sign of the paper's gradient in α, and
 *   α = exp(log α) stays positive).
 *
 * @example
 * const y = bellmanTargets(rewards, discounts, terminated, minQ(critics.apply(next, smoothed)));
 * const { actions, logProb } = squashedGaussianSample(mean, logStd, eps);
 */
import { tf } from '../../tensor/backend.js';

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/** Element-wise minimum over critics' Q-values (each `[B, 1]`) → `[B, 1]`. */
export function minQ(qs: readonly tf.Tensor2D[]): tf.Tensor2D {
  if (qs.length === 1) return tf.clone(qs[0]);
  return tf.tidy(() => qs.slice(1).reduce((m, q) => tf.minimum(m, q), qs[0]) as tf.Tensor2D);
}

/** y = r + γ·(1 − terminated)·nextQ: `rewards`, `discounts`, `terminated` are `[B]`, `nextQ` `[B, 1]`; returns `[B, 1]`. */
export function bellmanTargets(rewards: tf.Tensor1D, discounts: tf.Tensor1D, terminated: tf.Tensor1D, nextQ: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const notDone = tf.sub(1, terminated);
    const r = tf.reshape(rewards, [-1, 1]);
    const g = tf.reshape(tf.mul(discounts, notDone), [-1, 1]);
    return tf.add(r, tf.mul(g, nextQ)) as tf.Tensor2D;
  });
}

/**
 * TD3's target policy smoothing: clip(a' + clip(noise, −noiseClip, noiseClip), −1, 1), with
 * `noise` already scaled by σ̃ (Fujimoto et al. 2018, eq. 14).
 */
export function smoothTargetActions(nextActions: tf.Tensor2D, noise: tf.Tensor2D, noiseClip: number): tf.Tensor2D {
  return tf.tidy(() => tf.clipByValue(tf.add(nextActions, tf.clipByValue(noise, -noiseClip, noiseClip)), -1, 1) as tf.Tensor2D);
}

/**
 * Critic loss: scale · Σ_i mean((Q_i − y)²). SB3 uses scale 1 for TD3/DDPG and ½ for SAC.
 * `targets` must carry no gradient (compute them outside the tape).
 */
export function criticLoss(qs: readonly tf.Tensor2D[], targets: tf.Tensor2D, scale = 1): tf.Scalar {
  return tf.tidy(() => {
    const per = qs.map((q) => tf.mean(tf.square(tf.sub(q, targets))));
    return tf.mul(per.length === 1 ? per[0] : tf.addN(per), scale) as tf.Scalar;
  });
}

/** Deterministic actor loss −mean Q(s, μ(s)) (Silver et al. 2014; Lillicrap et al. 2016, eq. 6). */
export function deterministicActorLoss(q: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean(q)) as tf.Scalar);
}

/** Σ_d log(1 − tanh²(u_d)) = Σ_d 2·(log 2 − u_d − softplus(−2u_d)), `[B, D]` → `[B]`. */
export function tanhLogDetJacobian(u: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.sum(tf.mul(2, tf.sub(tf.sub(Math.LN2, u), tf.softplus(tf.mul(-2, u)))), 1) as tf.Tensor1D);
}

/**
 * Reparameterised squashed Gaussian sample a = tanh(m + σ ⊙ ε) and its log-density
 * log π(a|s) `[B]` in the [−1, 1] action scale (see the module comment). `eps` is `[B, D]`
 * standard normal noise; gradients flow to `mean` and `logStd`.
 */
export function squashedGaussianSample(mean: tf.Tensor2D, logStd: tf.Tensor2D, eps: tf.Tensor2D): { actions: tf.Tensor2D; logProb: tf.Tensor1D } {
  return tf.tidy(() => {
    const u = tf.add(mean, tf.mul(tf.exp(logStd), eps)) as tf.Tensor2D;
    // log N(u; m, σ) with (u − m)/σ = ε exactly: −½ε² − log σ − ½ log 2π.
    const gaussian = tf.sum(tf.sub(tf.mul(-0.5, tf.square(eps)), tf.add(logStd, HALF_LOG_2PI)), 1);
    return { actions: tf.tanh(u) as tf.Tensor2D, logProb: tf.sub(gaussian, tanhLogDetJacobian(u)) as tf.Tensor1D };
  });
}

/** SAC actor loss mean(α·log π(a|s) − min_i Q_i(s, a)); `alpha` a scalar tensor (no gradient), `minQs` `[B, 1]`. */
export function sacActorLoss(alpha: tf.Scalar, logProb: tf.Tensor1D, minQs: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.sub(tf.mul(alpha, logProb), tf.reshape(minQs, [-1]))) as tf.Scalar);
}

/** SAC soft value of the next state: min_i Q'_i(s', a') − α·log π(a'|s'), `[B, 1]`. */
export function softNextValues(minNextQ: tf.Tensor2D, alpha: tf.Scalar, nextLogProb: tf.Tensor1D): tf.Tensor2D {
  return tf.tidy(() => tf.sub(minNextQ, tf.reshape(tf.mul(alpha, nextLogProb), [-1, 1])) as tf.Tensor2D);
}

/**
 * SAC temperature loss −mean(log α · (log π(a|s) + H̄)) (SB3's form of Haarnoja et al. 2018,
 * eq. 18). `logProb` must be a constant: computed before, outside the gradient tape (tfjs
 * has no stop-gradient op). Its gradient in log α is −mean(log π + H̄):
 * α grows when the policy's entropy −log π is below the target H̄.
 */
export function sacTemperatureLoss(logAlpha: tf.Tensor, logProb: tf.Tensor1D, targetEntropy: number): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean(tf.mul(tf.reshape(logAlpha, []), tf.add(logProb, targetEntropy)))) as tf.Scalar);
}

// --- Plain numbers (acting) ------------------------------------------------------------------

/** log(1 − tanh² u) for one number, in the stable form 2·(log 2 − u − softplus(−2u)). */
export function logOneMinusTanhSq(u: number): number {
  const x = -2 * u;
  const softplus = x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
  return 2 * (Math.LN2 - u - softplus);
}

/** Standard normal CDF Φ(x), from the erfc approximation of Press et al. 2007 (Numerical Recipes, §6.2.2; relative error < 1.2e-7). */
export function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * z);
  const erfc =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? 1 - 0.5 * erfc : 0.5 * erfc;
}

/** log N(x; mean, std) of one number. */
export function normalLogDensity(x: number, mean: number, std: number): number {
  const z = (x - mean) / std;
  return -0.5 * z * z - Math.log(std) - HALF_LOG_2PI;
}
