/**
 * DDPG, TD3 and SAC agents: configs and action spaces, action rescaling and probabilities,
 * Polyak averaging and delayed actor/target updates, tensor-count neutrality of an update,
 * exact save/restore, and short runs through the training loop on Pendulum-v1 (including an
 * interrupted and resumed run that ends exactly like an uninterrupted one).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../../src/agents/builtin.js';
import type { Agent, StepBatch } from '../../../src/agents/agent.js';
import { DdpgAgent, SacAgent, Td3Agent, addExplorationNoise, parseDdpgConfig, parseSacConfig, parseTd3Config, type ActionNoise } from '../../../src/agents/dpg/index.js';
import { createAgent, getAgentRegistration } from '../../../src/agents/registry.js';
import { Box, Discrete } from '../../../src/core/spaces.js';
import { initTensorBackend, tf } from '../../../src/tensor/index.js';
import type { NamedWeights } from '../../../src/tensor/serialize.js';
import { loadPolicy, resumeRun, startRun, type RunSpecInput } from '../../../src/train/run.js';

let tmp: string;
beforeAll(async () => {
  await initTensorBackend({ backend: 'wasm' });
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'kairos-dpg-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

const spaces = { observationSpace: new Box(-1, 1, [3]), actionSpace: new Box([-2, 0], [2, 1]) };
const small = { learningStarts: 8, batchSize: 8, network: { hiddenSizes: [16, 16] } };

/** A deterministic synthetic step for env-free agent tests. */
function stepOf(k: number, actions: Float32Array, n = 1): StepBatch {
  const obs = Float32Array.from({ length: 3 * n }, (_, j) => Math.sin(k + j));
  const nextObs = Float32Array.from({ length: 3 * n }, (_, j) => Math.sin(k + 1 + j));
  return {
    n,
    obs,
    actions,
    probs: new Float64Array(n).fill(1),
    rewards: Float64Array.from({ length: n }, (_, i) => Math.cos(k + i) - actions[2 * i] ** 2 / 4),
    nextObs,
    terminated: Uint8Array.from({ length: n }, () => (k % 17 === 16 ? 1 : 0)),
    truncated: new Uint8Array(n),
    nextMasks: null,
  };
}

/** Acts on the synthetic observation of step k and shows the agent that step. */
function drive(agent: Agent, k: number): Record<string, number> | null {
  const obs = Float32Array.from({ length: 3 }, (_, j) => Math.sin(k + j));
  const { actions } = agent.act(obs, 1);
  return agent.observe(stepOf(k, actions as Float32Array), { step: k + 1, totalSteps: 1000 });
}

function weightsOf(w: NamedWeights): Record<string, number[]> {
  return Object.fromEntries(Object.entries(w).map(([k, v]) => [k, Array.from(v.data)]));
}

const makers: Array<[string, (config: Record<string, unknown>, seed?: number) => Agent]> = [
  ['ddpg', (config, seed = 0) => new DdpgAgent({ ...spaces, config, seed })],
  ['td3', (config, seed = 0) => new Td3Agent({ ...spaces, config, seed })],
  ['sac', (config, seed = 0) => new SacAgent({ ...spaces, config, seed })],
];

describe('configs and spaces', () => {
  it('apply SB3 defaults and name bad fields', () => {
    expect(parseTd3Config({})).toMatchObject({ learningRate: 1e-3, batchSize: 256, tau: 0.005, nCritics: 2, policyDelay: 2, targetPolicyNoise: 0.2, targetNoiseClip: 0.5, network: { hiddenSizes: [400, 300] } });
    expect(parseDdpgConfig({})).toMatchObject({ nCritics: 1, policyDelay: 1, targetPolicyNoise: 0, actionNoise: { type: 'ornstein-uhlenbeck', std: 0.2, theta: 0.15, dt: 0.01 } });
    expect(parseSacConfig({})).toMatchObject({ learningRate: 3e-4, entCoef: 'auto', targetEntropy: 'auto', network: { hiddenSizes: [256, 256] } });
    expect(() => parseTd3Config({ actionNoise: { type: 'pink', std: 0.1 } })).toThrow(/td3.*actionNoise\.type/);
    expect(() => parseSacConfig({ entCoef: -1 })).toThrow(/sac.*entCoef/);
    expect(() => parseDdpgConfig({ gradientSteps: 0 })).toThrow(/gradientSteps/);
    expect(() => parseDdpgConfig({ nosuch: 1 })).toThrow(/nosuch/);
  });

  it('reject discrete and unbounded action spaces with a clear error', () => {
    for (const [name, make] of makers) {
      void make;
      const create = (actionSpace: Box | Discrete) => createAgent(name, { observationSpace: spaces.observationSpace, actionSpace, config: {}, seed: 0 });
      expect(() => create(new Discrete(3))).toThrow(new RegExp(`${name}: actionSpace: expected a Box space`));
      expect(() => create(new Box(-Infinity, Infinity, [2]))).toThrow(/finite low and high/);
    }
  });

  it('are registered with presets', () => {
    for (const name of ['ddpg', 'td3', 'sac']) {
      const r = getAgentRegistration(name);
      expect(r.presets?.['Pendulum-v1']?.totalSteps).toBe(20_000);
      expect(r.presets?.['Pendulum-v1']?.source).toMatch(/rl-baselines3-zoo/);
    }
    // The zoo tuned DDPG/TD3 LunarLanderContinuous under SB3 < 2.3, whose default batch was 100.
    for (const name of ['ddpg', 'td3']) {
      const preset = getAgentRegistration(name).presets?.['LunarLanderContinuous-v3'];
      expect(preset?.config).toMatchObject({ batchSize: 100, gradientSteps: -1, trainFreqUnit: 'episode' });
      expect(getAgentRegistration(name).presets?.['Pendulum-v1']?.config).not.toHaveProperty('batchSize');
    }
  });
});

describe('acting', () => {
  it('rescales actions to the bounds; deterministic actions have probability 1', () => {
    for (const [, make] of makers) {
      const agent = make({ ...small, learningStarts: 0 });
      const obs = Float32Array.from([0.1, -0.3, 0.7, 0.5, 0.2, -0.9]);
      const det = agent.act(obs, 2, { deterministic: true });
      expect(Array.from(det.probs)).toEqual([1, 1]);
      const a = det.actions as Float32Array;
      // The actor's raw output through tanh and the affine map to [low, high].
      const actor = (agent as unknown as { actor: { net: { predict(o: Float32Array, n: number): Float32Array } } }).actor;
      const raw = actor.net.predict(obs, 2);
      const D = 2;
      for (let i = 0; i < 2; i++) {
        const m0 = Math.tanh(raw[i * (agent instanceof SacAgent ? 2 * D : D)]);
        expect(a[i * D]).toBeCloseTo(-2 + (m0 + 1) * 2, 5);
        expect(a[i * D + 1]).toBeGreaterThanOrEqual(0);
        expect(a[i * D + 1]).toBeLessThanOrEqual(1);
      }
      const noisy = agent.act(obs, 2);
      for (const x of noisy.actions) expect(Number.isFinite(x)).toBe(true);
      for (let i = 0; i < 2; i++) expect(noisy.logProbs[i]).toBeCloseTo(Math.log(noisy.probs[i]), 10);
      agent.dispose();
    }
  });

  it('noisy actions report the clipped-Gaussian law: density inside, the bound mass at a bound', () => {
    // A noise process that draws fixed values, with conditional law N(0.05, 0.2²).
    const draws = [0.1, 2];
    const fake: ActionNoise = {
      kind: 'normal',
      n: 1,
      dim: 2,
      conditional: () => ({ mean: 0.05, std: 0.2 }),
      sample: (out) => out.set(draws),
      reset: () => {},
      getState: () => ({ kind: 'normal', x: [], rng: { s: [1, 2, 3, 4], spareNormal: null } }),
      setState: () => {},
    };
    const scaled = new Float64Array(2);
    const logProbs = new Float64Array(1);
    addExplorationNoise([0.3, 0.5], fake, [2, 0.5], scaled, logProbs);
    expect(Array.from(scaled)).toEqual([0.4, 1]);
    // Dimension 0: density of 0.4 under N(0.35, 0.2²), per env unit (half-range 2).
    const d0 = Math.exp(-0.5 * (0.05 / 0.2) ** 2) / (0.2 * Math.sqrt(2 * Math.PI)) / 2;
    // Dimension 1: P(0.5 + N(0.05, 0.2²) ≥ 1) = 1 − Φ(2.25) = 0.0122245.
    expect(Math.exp(logProbs[0])).toBeCloseTo(d0 * 0.0122245, 6);
  });

  it('acts uniformly over the Box during learning starts, with density 1/volume', () => {
    const agent = new Td3Agent({ ...spaces, config: { ...small, learningStarts: 100 }, seed: 1 });
    const r = agent.act(new Float32Array(3), 1);
    const a = r.actions as Float32Array;
    expect(a[0]).toBeGreaterThanOrEqual(-2);
    expect(a[0]).toBeLessThanOrEqual(2);
    expect(r.probs[0]).toBeCloseTo(1 / (4 * 1), 12);
    agent.dispose();
  });
});

describe('updates', () => {
  it('TD3: critics every step; actor and Polyak targets every second step', () => {
    const tau = 0.3;
    const agent = new Td3Agent({ ...spaces, config: { ...small, tau, trainFreq: 1000 }, seed: 2 });
    for (let k = 0; k < 20; k++) drive(agent, k);
    const before = {
      actor: weightsOf(agent.actor.getWeights()),
      actorTarget: weightsOf(agent.actorTarget.getWeights()),
      criticTargets: weightsOf(agent.criticTargets.getWeights()),
      critics: weightsOf(agent.critics.getWeights()),
    };
    agent.update(); // update 1: critics only
    expect(weightsOf(agent.actor.getWeights())).toEqual(before.actor);
    expect(weightsOf(agent.actorTarget.getWeights())).toEqual(before.actorTarget);
    expect(weightsOf(agent.criticTargets.getWeights())).toEqual(before.criticTargets);
    expect(weightsOf(agent.critics.getWeights())).not.toEqual(before.critics);
    const r = agent.update(); // update 2: actor, then θ' ← τθ + (1 − τ)θ'
    expect(Number.isFinite(r.actorLoss)).toBe(true);
    const actor = weightsOf(agent.actor.getWeights());
    const critics = weightsOf(agent.critics.getWeights());
    expect(actor).not.toEqual(before.actor);
    const check = (target: Record<string, number[]>, old: Record<string, number[]>, online: Record<string, number[]>) => {
      for (const name of Object.keys(target)) {
        target[name].forEach((v, i) => expect(v).toBeCloseTo(tau * online[name][i] + (1 - tau) * old[name][i], 6));
      }
    };
    check(weightsOf(agent.actorTarget.getWeights()), before.actorTarget, actor);
    check(weightsOf(agent.criticTargets.getWeights()), before.criticTargets, critics);
    agent.dispose();
  });

  it('DDPG moves the actor and targets at every update', () => {
    const agent = new DdpgAgent({ ...spaces, config: { ...small, trainFreq: 1000 }, seed: 3 });
    for (let k = 0; k < 20; k++) drive(agent, k);
    const before = weightsOf(agent.actorTarget.getWeights());
    expect(Number.isFinite(agent.update().actorLoss)).toBe(true);
    expect(weightsOf(agent.actorTarget.getWeights())).not.toEqual(before);
    agent.dispose();
  });

  it('SAC learns its temperature and reports it', () => {
    const agent = new SacAgent({ ...spaces, config: { ...small, trainFreq: 1000 }, seed: 4 });
    for (let k = 0; k < 20; k++) drive(agent, k);
    expect(agent.entCoef).toBe(1);
    const r = agent.update();
    expect(Number.isFinite(r.alphaLoss)).toBe(true);
    expect(agent.entCoef).not.toBe(1);
    const fixed = new SacAgent({ ...spaces, config: { ...small, trainFreq: 1000, entCoef: 0.1 }, seed: 4 });
    for (let k = 0; k < 20; k++) drive(fixed, k);
    expect(Number.isNaN(fixed.update().alphaLoss)).toBe(true);
    expect(fixed.entCoef).toBe(0.1);
    agent.dispose();
    fixed.dispose();
  });

  it('an update leaves the tensor count unchanged', () => {
    for (const [name, make] of makers) {
      const agent = make({ ...small, trainFreq: 1000 });
      for (let k = 0; k < 20; k++) drive(agent, k);
      (agent as DdpgAgent).update();
      (agent as DdpgAgent).update(); // Adam slots and TD3's delayed branch both created
      const before = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) (agent as DdpgAgent).update();
      expect(tf.memory().numTensors, name).toBe(before);
      agent.dispose();
    }
  });

  it('train frequency in episodes runs one update per collected env step at episode end (gradientSteps −1)', () => {
    const agent = new Td3Agent({ ...spaces, config: { ...small, learningStarts: 0, trainFreq: 1, trainFreqUnit: 'episode', gradientSteps: -1 }, seed: 5 });
    const results: Array<Record<string, number> | null> = [];
    for (let k = 0; k < 34; k++) results.push(drive(agent, k));
    // Episodes end at k = 16 and k = 33 (terminated every 17th step).
    expect(results.map((r, k) => (r ? k : -1)).filter((k) => k >= 0)).toEqual([16, 33]);
    expect(agent.numUpdates).toBe(34);
    agent.dispose();
  });
});

describe('save and restore', () => {
  it('a restored agent continues training exactly like the original', () => {
    for (const [name, make] of makers) {
      const config = { ...small, learningStarts: 10, ...(name === 'ddpg' ? { actionNoise: { type: 'ornstein-uhlenbeck', std: 0.3 } } : {}) };
      const a = make(config, 6);
      for (let k = 0; k < 25; k++) drive(a, k);
      const state = a.getState();
      const b = make(config, 77);
      b.setState(structuredClone(state));
      for (let k = 25; k < 40; k++) {
        const ra = drive(a, k);
        const rb = drive(b, k);
        expect(rb, `${name} step ${k}`).toEqual(ra);
      }
      expect(b.getState().arrays, name).toEqual(a.getState().arrays);
      expect(() => b.setState({ ...state, algorithm: 'dqn' })).toThrow(/algorithm/);
      a.dispose();
      b.dispose();
    }
  });
});

describe('training runs on Pendulum-v1', () => {
  const spec = (algorithm: string): RunSpecInput => ({
    algorithm,
    env: { id: 'Pendulum-v1' },
    totalSteps: 600,
    seed: 3,
    numEnvs: 2,
    evalEvery: 300,
    evalEpisodes: 2,
    finalEvalEpisodes: 2,
    logEvery: 200,
    checkpointEvery: 300,
    config: { learningStarts: 100, batchSize: 16, bufferSize: 5000, network: { hiddenSizes: [16, 16] }, ...(algorithm === 'ddpg' ? { trainFreq: 2, gradientSteps: -1 } : {}) },
  });

  it('ddpg, td3 and sac train through the loop, log finite losses, save a loadable policy', async () => {
    for (const algorithm of ['ddpg', 'td3', 'sac']) {
      const runDir = path.join(tmp, `smoke-${algorithm}`);
      const s = await startRun(spec(algorithm), { runDir });
      expect(s.steps).toBe(600);
      expect(s.finalEvaluation?.returns).toHaveLength(2);
      const metrics = (await fs.readFile(path.join(runDir, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
      const last = metrics.at(-1);
      expect(Number.isFinite(last.criticLoss), algorithm).toBe(true);
      expect(last.updates).toBeGreaterThan(0);
      const policy = await loadPolicy(path.join(runDir, 'model', 'policy.kst'));
      const { actions } = policy.act(new Float32Array([1, 0, 0]), 1, { deterministic: true });
      expect(Math.abs(actions[0])).toBeLessThanOrEqual(2);
      policy.dispose();
    }
  });

  it('an interrupted and resumed SAC run ends with the same weights and evaluations as an uninterrupted one', async () => {
    const s = spec('sac');
    const straightDir = path.join(tmp, 'sac-straight');
    const straight = await startRun(s, { runDir: straightDir });
    const cutDir = path.join(tmp, 'sac-cut');
    const controller = new AbortController();
    const first = await startRun(s, { runDir: cutDir, signal: controller.signal, callbacks: [{ onCheckpoint: ({ step }) => (step === 300 ? controller.abort() : undefined) }] });
    expect(first.interrupted).toBe(true);
    const resumed = await resumeRun(cutDir);
    expect(resumed.steps).toBe(600);
    const a = await loadPolicy(path.join(straightDir, 'model', 'policy.kst'));
    const b = await loadPolicy(path.join(cutDir, 'model', 'policy.kst'));
    expect(b.getPolicyState().arrays).toEqual(a.getPolicyState().arrays);
    expect(resumed.finalEvaluation?.returns).toEqual(straight.finalEvaluation?.returns);
    a.dispose();
    b.dispose();
  });
});
