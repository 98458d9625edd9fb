/**
 * Gradient clipping by global norm for the policy-gradient agents, with PyTorch's
 * `clip_grad_norm_` semantics (g ← g · min(1, max / (‖g‖ + 1e-6))), arranged for few kernels:
 * the squared norm is one square-and-sum over the concatenated gradients, it is read back
 * together with the step's other numbers (one read-back per step), and the gradients are
 * only multiplied when the coefficient is below 1. (`tensor/optim.ts`'s
 * `clipGradsByGlobalNorm` multiplies unconditionally to avoid a read-back; here the agents
 * read numbers back every step anyway, and ~40 small kernels per step matter for 64-unit
 * networks: about 0.9 ms of a 3.5 ms PPO step on WASM.)
 *
 * @example
 * const sq = squaredGlobalNorm(grads);            // scalar tensor
 * const [loss, normSq] = tf.stack([value, sq]).dataSync();
 * const applied = scaleGrads(grads, clipCoefficient(normSq, 0.5));
 */
import { tf } from '../../tensor/backend.js';

/** Σ‖g‖² over all gradients, as a scalar tensor the caller owns. */
export function squaredGlobalNorm(grads: tf.NamedTensorMap): tf.Scalar {
  return tf.tidy(() => {
    const flat = Object.values(grads).map((g) => tf.reshape(g, [-1]));
    if (flat.length === 0) return tf.scalar(0);
    return tf.sum(tf.square(flat.length === 1 ? flat[0] : tf.concat(flat))) as tf.Scalar;
  });
}

/** min(1, maxNorm / (‖g‖ + 1e-6)) from the squared norm; 1 when `maxNorm` is null. */
export function clipCoefficient(squaredNorm: number, maxNorm: number | null): number {
  if (maxNorm === null) return 1;
  return Math.min(1, maxNorm / (Math.sqrt(squaredNorm) + 1e-6));
}

/** Gradients times `coef` (new tensors), or the same map when `coef` is 1. */
export function scaleGrads(grads: tf.NamedTensorMap, coef: number): tf.NamedTensorMap {
  if (coef === 1) return grads;
  return tf.tidy(() => Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, tf.mul(g, coef)])));
}
