/**
 * The DQN family's targets and loss as pure tensor functions, testable against hand-computed
 * values. Shapes: B samples, A actions.
 *
 * - Bootstrap value of s': max over allowed a' of Q_target(s', a') (Mnih et al. 2015), or
 *   for Double DQN Q_target(s', argmax over allowed a' of Q_online(s', a')) (van Hasselt et
 *   al. 2016, eq. 4). A state with no allowed action bootstraps 0.
 * - Target: y = r + γ^k · (1 − terminated) · bootstrap, where r is the k-step discounted
 *   reward and γ^k the stored discount (n-step returns, Sutton & Barto 2018 §7.1).
 * - Loss: mean over the batch of w_i · ℓ(Q(s_i, a_i) − y_i), ℓ Huber (δ = 1, PyTorch's
 *   smooth L1 that SB3 uses) or x² (PyTorch's mse_loss); w are prioritised-replay importance weights (1 otherwise).
 *
 * @example
 * const boot = bootstrapValues(qNextTarget, qNextOnline, masks); // [B]
 * const y = tdTargets(rewards, discounts, terminated, boot);
 */
import { tf } from '../../tensor/backend.js';

const NEG = -3.4e38;

/** Masked max / Double-DQN bootstrap values `[B]`. `nextMasks` is `[B, A]` of 0/1 or null. */
export function bootstrapValues(qNextTarget: tf.Tensor2D, qNextOnline: tf.Tensor2D | null, nextMasks: tf.Tensor2D | null): tf.Tensor1D {
  return tf.tidy(() => {
    const A = qNextTarget.shape[1];
    const allowed = nextMasks ? tf.greater(nextMasks, 0) : null;
    const masked = (q: tf.Tensor2D): tf.Tensor2D => (allowed ? (tf.where(allowed, q, tf.fill(q.shape, NEG)) as tf.Tensor2D) : q);
    let v: tf.Tensor1D;
    if (qNextOnline) {
      const best = tf.argMax(masked(qNextOnline), 1);
      v = tf.sum(tf.mul(qNextTarget, tf.oneHot(best, A)), 1) as tf.Tensor1D;
    } else {
      v = tf.max(masked(qNextTarget), 1) as tf.Tensor1D;
    }
    if (!nextMasks) return v;
    const any = tf.greater(tf.max(nextMasks, 1), 0);
    return tf.where(any, v, tf.zerosLike(v)) as tf.Tensor1D;
  });
}

/** y = r + discount · (1 − terminated) · bootstrap, all `[B]`. */
export function tdTargets(rewards: tf.Tensor1D, discounts: tf.Tensor1D, terminated: tf.Tensor1D, bootstrap: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => tf.add(rewards, tf.mul(tf.mul(discounts, tf.sub(1, terminated)), bootstrap)) as tf.Tensor1D);
}

/** Huber loss per element with threshold δ: ½x² for |x| ≤ δ, δ(|x| − ½δ) beyond. */
export function huber(x: tf.Tensor, delta = 1): tf.Tensor {
  return tf.tidy(() => {
    const a = tf.abs(x);
    const q = tf.minimum(a, delta);
    // ½q² + δ(|x| − q) equals both branches and has the right gradient everywhere.
    return tf.add(tf.mul(0.5, tf.square(q)), tf.mul(delta, tf.sub(a, q)));
  });
}

/** Q(s_i, a_i) from `[B, A]` values and `[B]` int32 actions. */
export function chosenValues(q: tf.Tensor2D, actions: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => tf.sum(tf.mul(q, tf.oneHot(actions, q.shape[1])), 1) as tf.Tensor1D);
}

/** Weighted TD loss; returns the scalar loss and the TD errors Q − y `[B]`. */
export function tdLoss(
  q: tf.Tensor2D,
  actions: tf.Tensor1D,
  targets: tf.Tensor1D,
  weights: tf.Tensor1D | null,
  kind: 'huber' | 'mse',
): { loss: tf.Scalar; td: tf.Tensor1D } {
  const td = tf.sub(chosenValues(q, actions), targets) as tf.Tensor1D;
  const per = kind === 'huber' ? huber(td) : tf.square(td);
  const loss = tf.mean(weights ? tf.mul(per, weights) : per) as tf.Scalar;
  return { loss, td };
}
