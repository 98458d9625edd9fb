/**
 * Recurrent DQN: the sequence TD loss against hand-computed values, acting with per-env LSTM
 * states (reset at episode ends, consistent with the training unroll), the ε-greedy
 * probabilities, state round-trips, tensor bookkeeping and a short training smoke test.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src/core/errors.js';
import { Box, Discrete } from '../../../src/core/spaces.js';
import type { StepBatch } from '../../../src/agents/agent.js';
import '../../../src/agents/builtin.js';
import { createAgent } from '../../../src/agents/registry.js';
import { RdqnAgent, sequenceTdLoss } from '../../../src/agents/rdqn/rdqn.js';
import { RecurrentQNetwork } from '../../../src/agents/rdqn/recurrent-q-network.js';
import '../../../src/envs/builtin.js';
import { make } from '../../../src/envs/registry.js';
import { initTensorBackend, tf } from '../../../src/tensor/index.js';
import { EnvPool } from '../../../src/train/env-pool.js';
import { trainAgent } from '../../../src/train/loop.js';

beforeAll(async () => {
  await initTensorBackend({ backend: 'wasm' });
});

const arr = (t: tf.Tensor): number[] => Array.from(t.dataSync());

const small = { network: { encoderSizes: [8], lstmSize: 6, headSizes: [] }, learningStarts: 0, batchSize: 4 };
const spaces = { observationSpace: new Box(0, 1, [3]), actionSpace: new Discrete(2) };

/** A StepBatch for n envs of obsDim 3. */
function stepBatch(n: number, actions: Int32Array | Float32Array, ended: number[]): StepBatch {
  const obs = new Float32Array(n * 3).map((_, i) => (i % 3) / 3);
  const flags = new Uint8Array(n);
  for (const i of ended) flags[i] = 1;
  return { n, obs, actions, probs: new Float64Array(n).fill(1), rewards: new Float64Array(n).fill(0.5), nextObs: obs, terminated: flags, truncated: new Uint8Array(n), nextMasks: null };
}

describe('sequenceTdLoss against hand-computed values', () => {
  // One sequence of two steps, two actions. qOnline/qTarget index t+1 holds the next state.
  const inputs = (): [tf.Tensor3D, tf.Tensor3D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D] => [
    tf.tensor3d([[[1, 2], [4, 3], [0, 5]]]),
    tf.tensor3d([[[9, 9], [10, 20], [30, 40]]]),
    tf.tensor2d([[1, 0]], [1, 2], 'int32'),
    tf.tensor2d([[1, 2]]),
    tf.tensor2d([[0, 1]]),
  ];

  it('Double DQN: targets from the online argmax at t+1, evaluated by the target net', () => {
    // t=0: online argmax at t+1 is 0 → Q_target = 10; y = 1 + 0.5·10 = 6; Q(0, a=1) = 2; td = −4.
    // t=1: terminal → y = 2; Q(1, a=0) = 4; td = 2.
    const [qOnline, qTarget, actions, rewards, terminated] = inputs();
    const r = sequenceTdLoss(qOnline, qTarget, actions, rewards, terminated, tf.tensor2d([[1, 1]]), 0.5, true, 'mse');
    expect(arr(r.td)).toEqual([-4, 2]);
    expect(arr(r.q)).toEqual([2, 4]);
    expect(arr(r.loss)[0]).toBeCloseTo((16 + 4) / 2, 6);
    // Huber: |−4| → 3.5, |2| → 1.5.
    const h = sequenceTdLoss(qOnline, qTarget, actions, rewards, terminated, tf.tensor2d([[1, 1]]), 0.5, true, 'huber');
    expect(arr(h.loss)[0]).toBeCloseTo((3.5 + 1.5) / 2, 6);
  });

  it('plain max target, and the weights mask steps out of the mean', () => {
    // t=0: max Q_target(t+1) = 20; y = 1 + 0.5·20 = 11; td = 2 − 11 = −9.
    const [qOnline, qTarget, actions, rewards, terminated] = inputs();
    const r = sequenceTdLoss(qOnline, qTarget, actions, rewards, terminated, tf.tensor2d([[1, 0]]), 0.5, false, 'mse');
    expect(arr(r.td)[0]).toBe(-9);
    expect(arr(r.loss)[0]).toBeCloseTo(81, 6);
  });

  it('next-state masks restrict the Double-DQN argmax', () => {
    // t=0: only action 1 allowed after the step → Q_target(t+1, 1) = 20; y = 11; td = −9.
    const [qOnline, qTarget, actions, rewards, terminated] = inputs();
    const masks = tf.tensor3d([[[0, 1], [1, 1]]]);
    const r = sequenceTdLoss(qOnline, qTarget, actions, rewards, terminated, tf.tensor2d([[1, 1]]), 0.5, true, 'mse', masks);
    expect(arr(r.td)).toEqual([-9, 2]);
  });
});

describe('RecurrentQNetwork', () => {
  it('step repeated gives the same Q-values as sequence', () => {
    const net = new RecurrentQNetwork({ inputSize: 5, numActions: 3, encoderSizes: [7], lstmSize: 4, headSizes: [6], seed: 1 });
    const B = 2;
    const T = 4;
    const x = tf.randomUniform([B, T, 5], -1, 1, 'float32', 3) as tf.Tensor3D;
    const seq = arr(net.sequence(x));
    let state = net.zeroState(B);
    for (let t = 0; t < T; t++) {
      const xt = tf.reshape(tf.slice(x, [0, t, 0], [B, 1, 5]), [B, 5]) as tf.Tensor2D;
      const r = net.step(xt, state);
      const q = arr(r.q);
      for (let b = 0; b < B; b++) for (let a = 0; a < 3; a++) expect(q[b * 3 + a]).toBeCloseTo(seq[(b * T + t) * 3 + a], 5);
      tf.dispose([xt, r.q, state.h, state.c]);
      state = r.state;
    }
    tf.dispose([x, state.h, state.c]);
    net.dispose();
  });
});

describe('RdqnAgent', () => {
  it('registers as rdqn and rejects bad configs with the field named', () => {
    const agent = createAgent('rdqn', { ...spaces, config: small, seed: 0 });
    expect(agent.algorithm).toBe('rdqn');
    agent.dispose();
    expect(() => createAgent('rdqn', { ...spaces, config: { network: { lstmSize: 0 } }, seed: 0 })).toThrow(/network\.lstmSize/);
    expect(() => createAgent('rdqn', { ...spaces, config: { burnIn: 100, sequenceLength: 10 }, seed: 0 })).toThrow(ValidationError);
    expect(() => createAgent('rdqn', { observationSpace: spaces.observationSpace, actionSpace: new Box(-1, 1, [1]), config: {}, seed: 0 })).toThrow(/Discrete/);
  });

  it('returns ε-greedy probabilities; greedy choices have probability 1', () => {
    const agent = new RdqnAgent({ ...spaces, config: { ...small, learningStarts: 10 }, seed: 0 });
    const obs = new Float32Array(2 * 3).fill(0.2);
    // Before learning starts every action is uniform.
    expect(Array.from(agent.act(obs, 2).probs)).toEqual([0.5, 0.5]);
    const g = agent.act(obs, 2, { deterministic: true });
    expect(Array.from(g.probs)).toEqual([1, 1]);
    expect(Array.from(g.logProbs)).toEqual([0, 0]);
    agent.dispose();
  });

  it('keeps a state per env: the history changes Q, an episode end resets it', () => {
    const agent = new RdqnAgent({ ...spaces, config: small, seed: 4 });
    const obs = new Float32Array([0.1, 0.9, 0.3, 0.1, 0.9, 0.3]);
    const fresh = new RdqnAgent({ ...spaces, config: small, seed: 4 });
    const first = agent.act(obs, 2, { deterministic: true }).actions;
    // The same observation again, one step later: the state has moved on.
    const h1 = (agent as unknown as { greedy: { h: Float32Array } }).greedy.h.slice();
    agent.act(obs, 2, { deterministic: true });
    const h2 = (agent as unknown as { greedy: { h: Float32Array } }).greedy.h.slice();
    expect(Array.from(h2)).not.toEqual(Array.from(h1));
    // episodeStarts puts a row back at the start of an episode.
    agent.act(obs, 2, { deterministic: true, episodeStarts: new Uint8Array([1, 0]) });
    const h = (agent as unknown as { greedy: { h: Float32Array } }).greedy.h;
    expect(Array.from(h.subarray(0, 6))).toEqual(Array.from(h1.subarray(0, 6)));
    expect(Array.from(first)).toEqual(Array.from(fresh.act(obs, 2, { deterministic: true }).actions));
    // Training rows: observe() with env 1 ended resets env 1 only.
    agent.act(obs, 2);
    agent.observe(stepBatch(2, new Int32Array([0, 1]), [1]), { step: 2, totalSteps: 100 });
    const train = (agent as unknown as { train: { h: Float32Array; prev: Int32Array } }).train;
    expect(Array.from(train.prev)).toEqual([0, -1]);
    expect(Array.from(train.h.subarray(6, 12))).toEqual([0, 0, 0, 0, 0, 0]);
    expect(train.h.subarray(0, 6).some((v) => v !== 0)).toBe(true);
    agent.dispose();
    fresh.dispose();
  });

  it('state round-trip: weights, optimiser, replay, counters, RNG and per-env LSTM states', () => {
    const a = new RdqnAgent({ ...spaces, config: small, seed: 1 });
    const obs = new Float32Array([0.5, 0.1, 0.2, 0.3, 0.3, 0.3]);
    // A few steps with episodes of length 3 (so some are stored) and some training.
    for (let t = 1; t <= 8; t++) {
      const { actions } = a.act(obs, 2);
      a.observe(stepBatch(2, actions, t % 3 === 0 ? [0, 1] : []), { step: 2 * t, totalSteps: 100 });
    }
    expect(a.stats().updates).toBeGreaterThan(0);
    const state = a.getState();
    const b = new RdqnAgent({ ...spaces, config: small, seed: 99 });
    b.setState(state);
    // Same next actions (exploring: same RNG and LSTM states), same Q-values, same updates.
    for (let t = 9; t <= 12; t++) {
      const ra = a.act(obs, 2);
      const rb = b.act(obs, 2);
      expect(Array.from(rb.actions)).toEqual(Array.from(ra.actions));
      expect(Array.from(rb.probs)).toEqual(Array.from(ra.probs));
      const ma = a.observe(stepBatch(2, ra.actions, t % 3 === 0 ? [0] : []), { step: 2 * t, totalSteps: 100 });
      const mb = b.observe(stepBatch(2, rb.actions, t % 3 === 0 ? [0] : []), { step: 2 * t, totalSteps: 100 });
      expect(mb).toEqual(ma);
    }
    expect(b.getState().arrays['online/lstm.weight_hh']).toEqual(a.getState().arrays['online/lstm.weight_hh']);
    // Policy state: weights only, same greedy actions from a fresh start.
    const c = new RdqnAgent({ ...spaces, config: small, seed: 5 });
    c.setPolicyState(a.getPolicyState());
    a.resetGreedyState();
    expect(Array.from(c.act(obs, 2, { deterministic: true }).actions)).toEqual(Array.from(a.act(obs, 2, { deterministic: true }).actions));
    expect(() => c.setState({ ...state, algorithm: 'dqn' })).toThrow(ValidationError);
    [a, b, c].forEach((x) => x.dispose());
  });

  it('stores next-state masks and trains with them; masked actions are never chosen', () => {
    const agent = new RdqnAgent({ ...spaces, config: small, seed: 3 });
    const obs = new Float32Array(3).fill(0.7);
    const masks = new Uint8Array([0, 1]);
    for (let t = 1; t <= 8; t++) {
      const { actions, probs } = agent.act(obs, 1, { masks });
      expect(actions[0]).toBe(1);
      expect(probs[0]).toBe(1);
      agent.observe({ ...stepBatch(1, actions, t % 4 === 0 ? [0] : []), nextMasks: masks }, { step: t, totalSteps: 100 });
    }
    expect(agent.stats().updates).toBeGreaterThan(0);
    expect(Number.isFinite(agent.stats().loss)).toBe(true);
    expect(agent.getState().json['replay:meta']).toMatchObject({ meta: { storeMasks: true } });
    agent.dispose();
  });

  it('a training step leaves no tensors behind', () => {
    const agent = new RdqnAgent({ ...spaces, config: small, seed: 2 });
    const obs = new Float32Array(3).fill(0.4);
    const run = (t: number): void => {
      const { actions } = agent.act(obs, 1);
      agent.observe(stepBatch(1, actions, t % 4 === 0 ? [0] : []), { step: t, totalSteps: 100 });
    };
    for (let t = 1; t <= 8; t++) run(t); // Adam's slots exist after the first update
    const before = tf.memory().numTensors;
    for (let t = 9; t <= 16; t++) run(t);
    expect(agent.stats().updates).toBeGreaterThan(2);
    expect(tf.memory().numTensors).toBe(before);
    agent.dispose();
  });

  it('trains on ActionSequence-v0 through the loop (smoke test)', async () => {
    const pool = new EnvPool(() => make('ActionSequence-v0'), 2, 0);
    const agent = createAgent('rdqn', {
      observationSpace: pool.observationSpace,
      actionSpace: pool.actionSpace,
      config: { learningStarts: 64, batchSize: 8, trainFreq: 2, network: { encoderSizes: [16], lstmSize: 16, headSizes: [] } },
      seed: 0,
    });
    const r = await trainAgent(agent, pool, { totalSteps: 400, logEvery: 400 });
    expect(r.episodes).toBe(50);
    const s = agent.stats();
    expect(s.updates).toBeGreaterThan(50);
    expect(Number.isFinite(s.loss)).toBe(true);
    expect(s.bufferSize).toBe(400);
    agent.dispose();
    pool.close();
  });
});
