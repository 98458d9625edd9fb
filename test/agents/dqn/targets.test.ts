import { beforeAll, describe, expect, it } from 'vitest';
import { bootstrapValues, chosenValues, huber, tdLoss, tdTargets } from '../../../src/agents/dqn/targets.js';
import { activeWasmKernels, fusedTdLoss, fusedTdTargets, initTensorBackend, tf } from '../../../src/tensor/index.js';

beforeAll(async () => {
  await initTensorBackend({ backend: 'wasm' });
});

const arr = (t: tf.Tensor): number[] => Array.from(t.dataSync());
const expectClose = (got: number[], want: number[]): void => {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expect(g).toBeCloseTo(want[i], 6));
};

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

describe('the fused TD kernels the agent trains with give the same hand-computed targets', () => {
  it('max, Double DQN, masks and empty masks', () => {
    expect(activeWasmKernels()).not.toBeNull();
    const qT = tf.tensor2d([
      [1, 5, 3],
      [-2, -1, -4],
    ]);
    const qO = tf.tensor2d([
      [0, 1, 9],
      [7, 0, 0],
    ]);
    const r = tf.tensor1d([1, 2]);
    const disc = tf.tensor1d([0.5, 0.9]);
    const live = tf.tensor1d([0, 0]);
    // y = r + γ v with v as in the hand-computed cases above.
    expectClose(arr(fusedTdTargets(qT, null, r, disc, live, null)), [1 + 0.5 * 5, 2 + 0.9 * -1]);
    expectClose(arr(fusedTdTargets(qT, qO, r, disc, live, null)), [1 + 0.5 * 3, 2 + 0.9 * -2]);
    const masks = tf.tensor2d([
      [1, 1, 0],
      [0, 0, 0],
    ]);
    expectClose(arr(fusedTdTargets(qT, qO, r, disc, live, masks)), [1 + 0.5 * 5, 2]);
    expectClose(arr(fusedTdTargets(qT, null, r, disc, tf.tensor1d([1, 0]), null)), [1, 2 + 0.9 * -1]);
  });

  it('the fused loss equals tdLoss for Huber and MSE, weighted or not', () => {
    const q = tf.tensor2d([
      [0.5, 3, -1],
      [2, 2, 2],
      [-4, 1, 0],
    ]);
    const a = tf.tensor1d([1, 0, 0], 'int32');
    const y = tf.tensor1d([0.25, 4.5, -3.5]);
    for (const kind of ['huber', 'mse'] as const) {
      for (const w of [null, tf.tensor1d([0.2, 1, 0.5])]) {
        const ref = tdLoss(q, a, y, w, kind);
        const fused = fusedTdLoss(q, a, y, { kind, weights: w });
        expect(fused.loss.dataSync()[0]).toBeCloseTo(ref.loss.dataSync()[0], 6);
        expect(arr(fused.td)).toEqual(arr(ref.td));
      }
    }
  });
});
