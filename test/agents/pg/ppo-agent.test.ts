import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent, StepBatch } from '../../../src/agents/agent.js';
import '../../../src/agents/builtin.js';
import { A2cAgent } from '../../../src/agents/pg/a2c.js';
import { PpoAgent, parsePpoConfig } from '../../../src/agents/pg/ppo.js';
import { ReinforceAgent, parseReinforceConfig } from '../../../src/agents/pg/reinforce.js';
import { getAgentRegistration } from '../../../src/agents/registry.js';
import { Box, Discrete } from '../../../src/core/spaces.js';
import { initTensorBackend, tf } from '../../../src/tensor/index.js';
import { loadPolicy, resumeRun, startRun, type RunSpecInput } from '../../../src/train/run.js';

let tmp: string;
beforeAll(async () => {
  await initTensorBackend({ backend: 'wasm' });
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'kairos-pg-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

const discrete = { observationSpace: new Box(-1, 1, [4]), actionSpace: new Discrete(3) };
const continuous = { observationSpace: new Box(-1, 1, [3]), actionSpace: new Box(-2, 2, [2]) };

describe('configs and their tested defaults', () => {
  it('PPO defaults are SB3’s and every implementation detail is a switch', () => {
    expect(parsePpoConfig({})).toEqual({
      learningRate: 3e-4,
      nSteps: 2048,
      batchSize: 64,
      nEpochs: 10,
      gamma: 0.99,
      gaeLambda: 0.95,
      policyLoss: 'clipped',
      clipRange: 0.2,
      clipRangeVf: null,
      normalizeAdvantage: true,
      entCoef: 0,
      vfCoef: 0.5,
      maxGradNorm: 0.5,
      targetKl: null,
      optimizer: 'adam',
      optimizerEps: 1e-5,
      rmspropDecay: 0.99,
      normalizeObs: false,
      clipObs: 10,
      normalizeReward: false,
      clipReward: 10,
      network: { hiddenSizes: [64, 64], valueHiddenSizes: null, activation: 'tanh', init: 'orthogonal', policyOutputGain: 0.01, valueOutputGain: 1, logStdInit: 0 },
    });
  });

  it('A2C defaults are SB3’s A2C', () => {
    expect(parsePpoConfig({}, 'a2c')).toMatchObject({ learningRate: 7e-4, nSteps: 5, batchSize: null, nEpochs: 1, gaeLambda: 1, policyLoss: 'vanilla', normalizeAdvantage: false, optimizer: 'rmsprop', optimizerEps: 1e-5, rmspropDecay: 0.99, maxGradNorm: 0.5, vfCoef: 0.5 });
  });

  it('REINFORCE defaults, and errors that name the field', () => {
    expect(parseReinforceConfig({})).toMatchObject({ gamma: 0.99, batchEpisodes: 4, epochs: 1, gradientAccumulation: 1, normalizeReturns: true, baseline: 'none', importance: { weighting: 'step', clamp: 'none', clampMax: 10, logRatioClip: null, selfNormalize: false, estimator: 'detached' } });
    expect(() => parsePpoConfig({ clipRange: { type: 'linear', start: 0.2 } })).toThrow(/ppo: clipRange\.end/);
    expect(() => parsePpoConfig({ network: { hiddenSizes: [0] } })).toThrow(/network\.hiddenSizes\.0/);
    expect(() => parsePpoConfig({ nstep: 5 })).toThrow(/nstep/);
    expect(() => parseReinforceConfig({ importance: { clamp: 'soft' } })).toThrow(/reinforce: importance\.clamp/);
    expect(() => new PpoAgent({ observationSpace: new Box(-1, 1, [2]), actionSpace: new Discrete(2), config: { gamma: 2 }, seed: 0 })).toThrow(/gamma/);
  });

  it('registers ppo, a2c and reinforce with cited presets', () => {
    for (const name of ['ppo', 'a2c']) {
      const r = getAgentRegistration(name);
      expect(Object.keys(r.presets ?? {}).sort()).toEqual(['CartPole-v1', 'LunarLander-v3', 'Pendulum-v1']);
      for (const p of Object.values(r.presets ?? {})) {
        expect(p.source).toMatch(/rl-baselines3-zoo hyperparams\/(ppo|a2c)\.yml/);
        expect(() => parsePpoConfig(p.config, name as 'ppo' | 'a2c')).not.toThrow();
      }
    }
    expect(getAgentRegistration('reinforce').presets?.['CartPole-v1']).toBeDefined();
  });
});

/** A synthetic vector step for `agent` (obs depend on k so updates see varied data). */
function step(agent: Agent, n: number, k: number, obsDim: number, opts: { terminal?: boolean; truncate?: boolean; masks?: Uint8Array | null } = {}): { batch: StepBatch; probs: Float64Array } {
  const obs = Float32Array.from({ length: n * obsDim }, (_, i) => Math.sin(k * 0.37 + i));
  const r = agent.act(obs, n, { masks: opts.masks ?? null });
  const batch: StepBatch = {
    n,
    obs,
    actions: r.actions,
    probs: r.probs,
    rewards: Float64Array.from({ length: n }, (_, i) => Math.cos(k + i)),
    nextObs: Float32Array.from({ length: n * obsDim }, (_, i) => Math.sin((k + 1) * 0.37 + i)),
    terminated: Uint8Array.from({ length: n }, (_, i) => (opts.terminal && i === 0 ? 1 : 0)),
    truncated: Uint8Array.from({ length: n }, (_, i) => (opts.truncate && i === 1 ? 1 : 0)),
    nextMasks: opts.masks ?? null,
  };
  return { batch, probs: r.probs };
}

describe('acting', () => {
  it('act returns the probabilities of the sampled actions, honours masks, and 1 when deterministic', () => {
    const agent = new PpoAgent({ ...discrete, config: { network: { policyOutputGain: 1 } }, seed: 1 });
    const obs = new Float32Array(8).map((_, i) => i / 10);
    const all = agent.actionProbabilities(obs, 2);
    const r = agent.act(obs, 2);
    for (let i = 0; i < 2; i++) {
      expect(r.probs[i]).toBeCloseTo(all[i * 3 + r.actions[i]], 6);
      expect(r.logProbs[i]).toBeCloseTo(Math.log(r.probs[i]), 12);
    }
    const masks = Uint8Array.from([0, 1, 0, 0, 0, 1]);
    for (let k = 0; k < 20; k++) {
      const m = agent.act(obs, 2, { masks });
      expect(Array.from(m.actions)).toEqual([1, 2]);
    }
    const det = agent.act(obs, 2, { deterministic: true });
    expect(Array.from(det.probs)).toEqual([1, 1]);
    agent.dispose();
  });

  it('continuous actions are clipped to the bounds, with the density of the unclipped sample', () => {
    const agent = new PpoAgent({ ...continuous, config: { network: { logStdInit: 1.5 } }, seed: 2 });
    const obs = new Float32Array(3 * 16).map((_, i) => Math.sin(i));
    const r = agent.act(obs, 16);
    expect(r.actions).toBeInstanceOf(Float32Array);
    expect(Array.from(r.actions).every((a) => a >= -2 && a <= 2)).toBe(true);
    expect(Array.from(r.actions).some((a) => a === 2 || a === -2)).toBe(true);
    expect(Array.from(r.logProbs).every(Number.isFinite)).toBe(true);
    agent.dispose();
  });
});

describe('updates', () => {
  const cases: Array<[string, () => Agent, number, number]> = [
    ['ppo discrete (value clipping, KL stop, normalisation, masks)', () => new PpoAgent({ ...discrete, config: { nSteps: 4, batchSize: 4, nEpochs: 2, clipRangeVf: 0.2, targetKl: 10, normalizeObs: true, normalizeReward: true, entCoef: 0.01, network: { hiddenSizes: [8] } }, seed: 3 }), 4, 2],
    ['ppo continuous', () => new PpoAgent({ ...continuous, config: { nSteps: 4, batchSize: 4, nEpochs: 2, learningRate: { type: 'linear', start: 1e-3, end: 1e-4 }, network: { hiddenSizes: [8] } }, seed: 4 }), 3, 2],
    ['a2c', () => new A2cAgent({ ...discrete, config: { network: { hiddenSizes: [8] } }, seed: 5 }), 4, 2],
    ['reinforce (learned baseline, ratio estimator, accumulation)', () => new ReinforceAgent({ ...discrete, config: { batchEpisodes: 1, baseline: 'learned', gradientAccumulation: 2, importance: { estimator: 'ratio', weighting: 'per-decision', clamp: 'universal' }, network: { hiddenSizes: [8] } }, seed: 6 }), 4, 2],
  ];
  for (const [name, make, obsDim, n] of cases) {
    it(`${name}: an update leaves the tensor count unchanged`, () => {
      const agent = make();
      const masks = name.includes('masks') ? Uint8Array.from([1, 1, 0, 0, 1, 1]) : null;
      let updates = 0;
      let k = 0;
      let before = 0;
      let metrics: Record<string, number> | null = null;
      while (updates < 3 && k < 200) {
        const { batch } = step(agent, n, k, obsDim, { terminal: k % 3 === 2, truncate: k % 5 === 4, masks });
        before = tf.memory().numTensors;
        metrics = agent.observe(batch, { step: (k + 1) * n, totalSteps: 1000 });
        if (metrics) updates++;
        k++;
      }
      expect(updates).toBe(3);
      expect(tf.memory().numTensors).toBe(before);
      expect(Number.isFinite(metrics!.loss)).toBe(true);
      agent.dispose();
    });
  }

  it('approximate-KL early stopping skips the rest of the epochs', () => {
    const agent = new PpoAgent({ ...discrete, config: { nSteps: 8, batchSize: 4, nEpochs: 10, learningRate: 0.05, targetKl: 1e-6, network: { hiddenSizes: [8], policyOutputGain: 1 } }, seed: 7 });
    let m: Record<string, number> | null = null;
    for (let k = 0; m === null; k++) m = agent.observe(step(agent, 2, k, 4).batch, { step: (k + 1) * 2, totalSteps: 1000 });
    expect(m.epochs).toBeLessThan(10);
    agent.dispose();
  });
});

describe('runs: save, load, exact resume', () => {
  const specs: Array<[string, RunSpecInput]> = [
    [
      'ppo continuous (Pendulum: truncations, obs/reward normalisation, schedules)',
      {
        algorithm: 'ppo',
        env: { id: 'Pendulum-v1' },
        totalSteps: 1000,
        numEnvs: 2,
        config: { nSteps: 64, batchSize: 32, nEpochs: 2, normalizeObs: true, normalizeReward: true, clipRangeVf: 0.2, learningRate: { type: 'linear', start: 1e-3, end: 0 }, network: { hiddenSizes: [16] } },
      },
    ],
    ['a2c discrete (CartPole, rollout cut mid-way)', { algorithm: 'a2c', env: { id: 'CartPole-v1' }, totalSteps: 1000, numEnvs: 2, config: { nSteps: 7, network: { hiddenSizes: [16] } } }],
    [
      'reinforce (CartPole: learned baseline with warm-up, 2 epochs)',
      { algorithm: 'reinforce', env: { id: 'CartPole-v1' }, totalSteps: 1000, numEnvs: 2, config: { batchEpisodes: 3, epochs: 2, baseline: 'learned', baselineWarmupUpdates: 2, network: { hiddenSizes: [16] } } },
    ],
  ];
  for (const [name, base] of specs) {
    it(`${name}: an interrupted and resumed run equals an uninterrupted one`, async () => {
      const spec: RunSpecInput = { ...base, seed: 3, evalEvery: 400, evalEpisodes: 2, finalEvalEpisodes: 2, logEvery: 200, checkpointEvery: 500 };
      const straightDir = path.join(tmp, `${base.algorithm}-straight`);
      const straight = await startRun(spec, { runDir: straightDir });
      const cutDir = path.join(tmp, `${base.algorithm}-cut`);
      const controller = new AbortController();
      const first = await startRun(spec, { runDir: cutDir, signal: controller.signal, callbacks: [{ onCheckpoint: ({ step }) => (step === 500 ? controller.abort() : undefined) }] });
      expect(first.interrupted).toBe(true);
      const resumed = await resumeRun(cutDir);
      expect(resumed.steps).toBe(1000);
      const a = await loadPolicy(path.join(straightDir, 'model', 'policy.kst'));
      const b = await loadPolicy(path.join(cutDir, 'model', 'policy.kst'));
      const wa = a.getPolicyState();
      const wb = b.getPolicyState();
      for (const k of Object.keys(wa.arrays)) expect(Array.from(wb.arrays[k])).toEqual(Array.from(wa.arrays[k]));
      expect(wb.json.obsNorm).toEqual(wa.json.obsNorm);
      a.dispose();
      b.dispose();
      const strip = (text: string) => text.split('\n').filter(Boolean).map((l) => { const { time: _t, sps: _s, ...rest } = JSON.parse(l); return rest; });
      for (const f of ['metrics.jsonl', 'evaluations.jsonl', 'episodes.jsonl']) {
        expect(strip(await fs.readFile(path.join(cutDir, f), 'utf8'))).toEqual(strip(await fs.readFile(path.join(straightDir, f), 'utf8')));
      }
      expect(resumed.finalEvaluation?.returns).toEqual(straight.finalEvaluation?.returns);
    });
  }
});
