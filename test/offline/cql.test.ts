import { beforeAll, describe, expect, it } from 'vitest';
import { DqnAgent } from '../../src/agents/dqn/dqn.js';
import { ReplayBuffer } from '../../src/agents/buffers/index.js';
import { Box, Discrete } from '../../src/core/spaces.js';
import { conservativePenalty } from '../../src/offline/index.js';
import { initTensorBackend, tf } from '../../src/tensor/index.js';

beforeAll(async () => {
  await initTensorBackend({ backend: 'wasm' });
});

const Q = [
  [1, 2, 3],
  [0.5, -1, 2],
];
const ACTIONS = [0, 2];
const MASKS = [
  [1, 1, 1],
  [1, 0, 1],
];

/** The CQL(H) penalty by hand: mean over rows of log Σ_{possible a} e^Q(s,a) − Q(s, a_logged). */
function byHand(masks: number[][] | null): { value: number; grad: number[][] } {
  const B = Q.length;
  let value = 0;
  const grad = Q.map((row, i) => {
    const allowed = row.map((_, a) => (masks ? masks[i][a] === 1 : true));
    const z = row.reduce((s, q, a) => s + (allowed[a] ? Math.exp(q) : 0), 0);
    value += Math.log(z) - row[ACTIONS[i]];
    // ∂/∂Q(s_i, a) = (softmax over the possible actions − one-hot of the logged action) / B.
    return row.map((q, a) => ((allowed[a] ? Math.exp(q) / z : 0) - (a === ACTIONS[i] ? 1 : 0)) / B);
  });
  return { value: value / B, grad };
}

describe('conservativePenalty (CQL(H), Kumar et al. 2020 eq. 4)', () => {
  for (const masked of [true, false]) {
    it(`equals the hand-computed log-sum-exp gap and its closed-form gradient (${masked ? 'over the possible actions' : 'no mask'})`, () => {
      const expected = byHand(masked ? MASKS : null);
      const before = tf.memory().numTensors;
      const q = tf.tensor2d(Q);
      const actions = tf.tensor1d(ACTIONS, 'int32');
      const masks = masked ? tf.tensor2d(MASKS) : null;
      const value = conservativePenalty(q, actions, masks);
      const g = tf.grad((x: tf.Tensor) => conservativePenalty(x as tf.Tensor2D, actions, masks))(q);
      expect(value.dataSync()[0]).toBeCloseTo(expected.value, 5);
      const got = g.arraySync() as number[][];
      for (let i = 0; i < 2; i++) for (let a = 0; a < 3; a++) expect(got[i][a]).toBeCloseTo(expected.grad[i][a], 6);
      if (masked) expect(got[1][1]).toBe(0); // an impossible action gets no gradient
      tf.dispose([value, g, q, actions, ...(masks ? [masks] : [])]);
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('row 1 by hand: log(e^0.5 + e^2) − 2 with action 1 masked out', () => {
    const inputs = [tf.tensor2d([Q[1]]), tf.tensor1d([2], 'int32'), tf.tensor2d([MASKS[1]])] as const;
    const p = conservativePenalty(...inputs);
    expect(p.dataSync()[0]).toBeCloseTo(Math.log(Math.exp(0.5) + Math.exp(2)) - 2, 6);
    tf.dispose([p, ...inputs]);
  });
});

describe('DqnAgent.learnOffline', () => {
  const d = 2;
  const spaces = { observationSpace: new Box(0, 1, [d]), actionSpace: new Discrete(3) };
  /** A one-step problem: the log only ever took action 0 (reward 1) in the one state. */
  function banditBuffer(): ReplayBuffer {
    const buffer = new ReplayBuffer({ capacity: 64, obsDim: d, action: { kind: 'discrete', n: 3 } });
    for (let i = 0; i < 64; i++) buffer.add({ obs: [0.5, 0.5], action: 0, reward: 1, nextObs: [0, 0], terminated: true, discount: 0.99, prob: 1 });
    return buffer;
  }

  it('trains without leaking tensors; CQL keeps unlogged actions below the logged one', () => {
    const buffer = banditBuffer();
    const qOf = (agent: DqnAgent) => Array.from(agent.qValues(Float32Array.of(0.5, 0.5), 1));
    for (const cqlAlpha of [0, 0.5]) {
      const agent = new DqnAgent({ ...spaces, config: { cqlAlpha, batchSize: 32, learningRate: 3e-3, targetUpdateInterval: 10 }, seed: 4 });
      agent.learnOffline(buffer, 5);
      const before = tf.memory().numTensors;
      const r = agent.learnOffline(buffer, 300, { stateMasks: new Uint8Array(64 * 3).fill(1) });
      expect(tf.memory().numTensors).toBe(before);
      const q = qOf(agent);
      expect(q[0]).toBeCloseTo(1, 0);
      if (cqlAlpha > 0) {
        expect(r.cql).toBeGreaterThan(0);
        // The penalty's fixed point: Q(logged) above every action the log never took.
        expect(q[1]).toBeLessThan(q[0] - 0.5);
        expect(q[2]).toBeLessThan(q[0] - 0.5);
      } else expect(r.cql).toBe(0);
      agent.dispose();
    }
  });

  it('is deterministic given the seed and checks its arguments', () => {
    const buffer = banditBuffer();
    const weights = () => {
      const agent = new DqnAgent({ ...spaces, config: { cqlAlpha: 1, batchSize: 16 }, seed: 9 });
      agent.learnOffline(buffer, 20);
      const q = Array.from(agent.qValues(Float32Array.of(0.1, 0.9), 1));
      agent.dispose();
      return q;
    };
    expect(weights()).toEqual(weights());
    const agent = new DqnAgent({ ...spaces, config: {}, seed: 0 });
    expect(() => agent.learnOffline(buffer, 0)).toThrow(/updates: expected an integer >= 1, received 0/);
    expect(() => agent.learnOffline(buffer, 1, { stateMasks: new Uint8Array(3) })).toThrow(/stateMasks.length: expected 192/);
    const other = new ReplayBuffer({ capacity: 4, obsDim: 3, action: { kind: 'discrete', n: 3 } });
    other.add({ obs: [0, 0, 0], action: 0, reward: 0, nextObs: [0, 0, 0], terminated: true, discount: 1 });
    expect(() => agent.learnOffline(other, 1)).toThrow(/buffer.layout: expected obsDim 2/);
    expect(() => new DqnAgent({ ...spaces, config: { cqlAlpha: -1 }, seed: 0 })).toThrow(/cqlAlpha/);
    agent.dispose();
  });
});
