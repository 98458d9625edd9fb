import { beforeAll, describe, expect, it } from 'vitest';
import { bootstrapValues, chosenValues, huber, tdLoss, tdTargets } from '../../../src/agents/dqn/targets.js';
import { initTensorBackend, tf } from '../../../src/tensor/index.js';

beforeAll(async () => {
  await initTensorBackend({ backend: 'wasm' });
});

const arr = (t: tf.Tensor): number[] => Array.from(t.dataSync());

describe('DQN targets against hand-computed values', () => {
  // Two next states, three actions.
  const qT = [
    [1, 5, 3],
    [-2, -1, -4],
  ];
  const qO = [
    [0, 1, 9], // online argmax = 2 → target value 3 (Double DQN)
    [7, 0, 0], // online argmax = 0 → target value −2
  ];

  it('max over next actions (DQN)', () => {
    const v = bootstrapValues(tf.tensor2d(qT), null, null);
    expect(arr(v)).toEqual([5, -1]);
  });

  it('Double DQN evaluates the online argmax with the target net', () => {
    const v = bootstrapValues(tf.tensor2d(qT), tf.tensor2d(qO), null);
    expect(arr(v)).toEqual([3, -2]);
  });

  it('masks restrict the max, the Double-DQN argmax, and empty masks bootstrap 0', () => {
    const masks = tf.tensor2d([
      [1, 0, 1],
      [0, 0, 0],
    ]);
    expect(arr(bootstrapValues(tf.tensor2d(qT), null, masks))).toEqual([3, 0]);
    const masks2 = tf.tensor2d([
      [1, 1, 0], // online argmax among {0, 1} = 1 → target 5
      [0, 1, 1], // online argmax among {1, 2} = 1 (tie 0,0 → first) → target −1
    ]);
    expect(arr(bootstrapValues(tf.tensor2d(qT), tf.tensor2d(qO), masks2))).toEqual([5, -1]);
  });

  it('n-step targets: y = r + γ^k (1 − terminated) bootstrap', () => {
    // Sample 0: 3-step return 1 + 0.9·2 + 0.81·3 = 5.23, discount 0.9³; sample 1 terminal.
    const y = tdTargets(tf.tensor1d([5.23, 4]), tf.tensor1d([0.729, 0.81]), tf.tensor1d([0, 1]), tf.tensor1d([10, 10]));
    const [y0, y1] = arr(y);
    expect(y0).toBeCloseTo(5.23 + 7.29, 5);
    expect(y1).toBeCloseTo(4, 6);
  });

  it('Huber matches its two branches and has gradient clip(x, −1, 1)', () => {
    const x = tf.tensor1d([-3, -1, -0.5, 0, 0.25, 2]);
    expect(arr(huber(x))).toEqual([2.5, 0.5, 0.125, 0, 0.03125, 1.5]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(huber(t)))(x);
    expect(arr(g)).toEqual([-1, -1, -0.5, 0, 0.25, 1]);
  });

  it('tdLoss picks Q(s, a), weights per sample and returns δ = Q − y', () => {
    const q = tf.tensor2d([
      [1, 2],
      [3, 4],
    ]);
    expect(arr(chosenValues(q, tf.tensor1d([1, 0], 'int32')))).toEqual([2, 3]);
    const { loss, td } = tdLoss(q, tf.tensor1d([1, 0], 'int32'), tf.tensor1d([0, 0.5]), tf.tensor1d([1, 2]), 'huber');
    // δ = [2, 2.5]; Huber = [1.5, 2]; weighted mean = (1.5 + 4) / 2.
    expect(arr(td)).toEqual([2, 2.5]);
    expect(loss.dataSync()[0]).toBeCloseTo(2.75, 6);
    const mse = tdLoss(q, tf.tensor1d([1, 0], 'int32'), tf.tensor1d([0, 0.5]), null, 'mse');
    expect(mse.loss.dataSync()[0]).toBeCloseTo((4 + 6.25) / 2, 6);
  });
});
