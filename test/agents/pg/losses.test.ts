import { beforeAll, describe, expect, it } from 'vitest';
import { approxKl, clippedSurrogateLoss, valueLoss, vanillaPolicyLoss } from '../../../src/agents/pg/losses.js';
import { initTensorBackend, tf } from '../../../src/tensor/index.js';

beforeAll(async () => {
  await initTensorBackend({ backend: 'wasm' });
});

/** d loss / d log π for the clipped surrogate with old log-probs 0 (so r = exp(log π)). */
function surrogateGrad(ratios: number[], advantages: number[], clip: number): { loss: number; grad: number[] } {
  return tf.tidy(() => {
    const lp = tf.tensor1d(ratios.map(Math.log));
    const old = tf.zeros([ratios.length]) as tf.Tensor1D;
    const adv = tf.tensor1d(advantages);
    const f = (x: tf.Tensor) => clippedSurrogateLoss(x as tf.Tensor1D, old, adv, clip).loss;
    const g = tf.grad(f)(lp);
    return { loss: f(lp).dataSync()[0], grad: Array.from(g.dataSync()) };
  });
}

describe('PPO clipped surrogate', () => {
  it('gradient is −A·r/B where the unclipped branch is the minimum, 0 beyond the binding clip', () => {
    const r = [0.7, 0.9, 1.1, 1.3, 0.7, 0.9, 1.1, 1.3];
    const A = [1, 1, 1, 1, -1, -1, -1, -1];
    const { loss, grad } = surrogateGrad(r, A, 0.2);
    // A > 0: r = 1.3 is clipped at 1.2 (gradient 0); r = 0.7 is below 0.8 and the min keeps r·A.
    // A < 0: r = 0.7 is clipped at 0.8 (gradient 0); r = 1.3 keeps r·A (the pessimistic bound).
    const active = [1, 1, 1, 0, 0, 1, 1, 1];
    grad.forEach((g, i) => expect(g).toBeCloseTo((-A[i] * r[i] * active[i]) / 8, 5));
    const terms = r.map((x, i) => Math.min(x * A[i], Math.min(1.2, Math.max(0.8, x)) * A[i]));
    expect(loss).toBeCloseTo(-terms.reduce((a, b) => a + b, 0) / 8, 5);
  });

  it('at the clip boundary both branches carry the gradient A·r (as PyTorch’s clamp and min)', () => {
    // With ε = 0 the ratio r = 1 sits exactly on both boundaries 1 − ε and 1 + ε.
    const { grad } = surrogateGrad([1, 1], [2, -3], 0);
    expect(grad[0]).toBeCloseTo(-2 / 2, 6);
    expect(grad[1]).toBeCloseTo(3 / 2, 6);
  });

  it('reports clip fraction and approximate KL mean((r − 1) − log r)', () => {
    tf.tidy(() => {
      const lr = [Math.log(0.7), Math.log(1.1), Math.log(1.3), 0];
      const s = clippedSurrogateLoss(tf.tensor1d(lr), tf.zeros([4]) as tf.Tensor1D, tf.ones([4]) as tf.Tensor1D, 0.2);
      expect(s.clipFraction.dataSync()[0]).toBeCloseTo(0.5, 6);
      const kl = lr.reduce((a, x) => a + Math.exp(x) - 1 - x, 0) / 4;
      expect(s.approxKl.dataSync()[0]).toBeCloseTo(kl, 6);
      expect(approxKl(tf.tensor1d(lr)).dataSync()[0]).toBeCloseTo(kl, 6);
    });
  });

  it('vanilla loss is −mean(A·log π)', () => {
    const v = tf.tidy(() => vanillaPolicyLoss(tf.tensor1d([-1, -2]), tf.tensor1d([3, -1])).dataSync()[0]);
    expect(v).toBeCloseTo(-(-3 + 2) / 2, 6);
  });
});

describe('value loss', () => {
  it('is the MSE without clipping and the max of clipped and unclipped errors with it', () => {
    tf.tidy(() => {
      const v = tf.tensor1d([1, 0.3]);
      const old = tf.zeros([2]) as tf.Tensor1D;
      const ret = tf.tensor1d([2, 2]);
      expect(valueLoss(v, old, ret, null).dataSync()[0]).toBeCloseTo((1 + 1.7 ** 2) / 2, 5);
      // Sample 0 moved by 1 > 0.5 from V_old: clipped to 0.5, error 1.5² > 1² wins (no gradient).
      expect(valueLoss(v, old, ret, 0.5).dataSync()[0]).toBeCloseTo((1.5 ** 2 + 1.7 ** 2) / 2, 5);
      const g = tf.grad((x: tf.Tensor) => valueLoss(x as tf.Tensor1D, old, ret, 0.5))(v).dataSync();
      expect(g[0]).toBeCloseTo(0, 6);
      expect(g[1]).toBeCloseTo((2 * (0.3 - 2)) / 2, 5);
    });
  });
});
