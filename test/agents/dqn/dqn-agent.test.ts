import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../../src/agents/builtin.js';
import { DqnAgent, parseDqnConfig } from '../../../src/agents/dqn/dqn.js';
import { Box, Discrete } from '../../../src/core/spaces.js';
import { initTensorBackend, tf } from '../../../src/tensor/index.js';
import { loadPolicy, resumeRun, startRun, listCheckpoints, type RunSpecInput } from '../../../src/train/run.js';

let tmp: string;
beforeAll(async () => {
  await initTensorBackend({ backend: 'wasm' });
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'kairos-dqn-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

const spaces = { observationSpace: new Box(-1, 1, [4]), actionSpace: new Discrete(2) };

describe('DQN config', () => {
  it('applies SB3 defaults and names bad fields', () => {
    const c = parseDqnConfig({});
    expect(c).toMatchObject({ learningRate: 1e-4, batchSize: 32, gamma: 0.99, trainFreq: 4, targetUpdateInterval: 10_000, maxGradNorm: null });
    expect(() => parseDqnConfig({ batchSize: 0 })).toThrow(/batchSize/);
    expect(() => parseDqnConfig({ network: { hiddenSizes: [64, -1] } })).toThrow(/network\.hiddenSizes\.1/);
    expect(() => parseDqnConfig({ epsilon: { type: 'linear', start: 1 } })).toThrow(/epsilon\.end/);
    expect(() => parseDqnConfig({ learningrate: 1 })).toThrow(/learningrate/);
    expect(() => new DqnAgent({ observationSpace: new Box(-1, 1, [2]), actionSpace: new Box(-1, 1, [1]), config: {}, seed: 0 })).toThrow(/actionSpace.*Discrete/);
  });
});

describe('DQN agent', () => {
  it('act returns probabilities of the ε-greedy policy and honours masks', () => {
    const agent = new DqnAgent({ ...spaces, config: { learningStarts: 0, explorationInitialEps: 0.5, explorationFinalEps: 0.5 }, seed: 1 });
    const obs = new Float32Array(8).fill(0.1);
    const r = agent.act(obs, 2);
    for (let i = 0; i < 2; i++) expect([0.25, 0.75]).toContain(r.probs[i]);
    const masked = agent.act(obs, 2, { masks: Uint8Array.from([0, 1, 0, 1]) });
    expect(Array.from(masked.actions)).toEqual([1, 1]);
    expect(Array.from(masked.probs)).toEqual([1, 1]);
    const det = agent.act(obs, 2, { deterministic: true });
    expect(Array.from(det.probs)).toEqual([1, 1]);
    expect(Array.from(det.logProbs)).toEqual([0, 0]);
    agent.dispose();
  });

  it('a training step leaves the tensor count unchanged', () => {
    for (const config of [{}, { double: true, network: { kind: 'dueling' } }, { prioritized: true, nStep: 3 }, { network: { kind: 'parametric' } }]) {
      const agent = new DqnAgent({ ...spaces, config: { learningStarts: 0, batchSize: 8, trainFreq: 1, ...config }, seed: 2 });
      const step = (k: number) =>
        agent.observe(
          {
            n: 1,
            obs: Float32Array.from([k, 0, 0, 0].map((x) => x / 100)),
            actions: Int32Array.from([k % 2]),
            probs: Float64Array.from([0.5]),
            rewards: Float64Array.from([1]),
            nextObs: Float32Array.from([k + 1, 0, 0, 0].map((x) => x / 100)),
            terminated: Uint8Array.from([0]),
            truncated: Uint8Array.from([0]),
            nextMasks: null,
          },
          { step: k + 1, totalSteps: 100 },
        );
      for (let k = 0; k < 12; k++) step(k);
      const before = tf.memory().numTensors;
      const m = step(12);
      expect(m).not.toBeNull();
      expect(Number.isFinite(m!.loss)).toBe(true);
      expect(tf.memory().numTensors).toBe(before);
      agent.dispose();
    }
  });
});

describe('DQN runs: save, load, resume', () => {
  const spec: RunSpecInput = {
    algorithm: 'dqn',
    env: { id: 'CartPole-v1' },
    totalSteps: 1200,
    seed: 3,
    numEnvs: 2,
    evalEvery: 400,
    evalEpisodes: 2,
    finalEvalEpisodes: 2,
    logEvery: 200,
    checkpointEvery: 600,
    config: { learningStarts: 200, batchSize: 16, bufferSize: 5000, targetUpdateInterval: 100, network: { hiddenSizes: [16] }, double: true, nStep: 2, prioritized: true },
  };

  it('an interrupted and resumed run ends with the same weights, logs and evaluations as an uninterrupted one', async () => {
    const straightDir = path.join(tmp, 'straight');
    const straight = await startRun(spec, { runDir: straightDir });
    expect(straight.steps).toBe(1200);

    // Interrupt right after the step-600 checkpoint.
    const cutDir = path.join(tmp, 'cut');
    const controller = new AbortController();
    const first = await startRun(spec, {
      runDir: cutDir,
      signal: controller.signal,
      callbacks: [{ onCheckpoint: ({ step }) => (step === 600 ? controller.abort() : undefined) }],
    });
    expect(first.interrupted).toBe(true);
    expect(first.steps).toBe(600);
    const resumed = await resumeRun(cutDir);
    expect(resumed.interrupted).toBe(false);
    expect(resumed.steps).toBe(1200);

    const a = await loadPolicy(path.join(straightDir, 'model', 'policy.kst'));
    const b = await loadPolicy(path.join(cutDir, 'model', 'policy.kst'));
    const wa = a.getPolicyState().arrays;
    const wb = b.getPolicyState().arrays;
    for (const k of Object.keys(wa)) expect(Array.from(wb[k])).toEqual(Array.from(wa[k]));
    a.dispose();
    b.dispose();
    const strip = (text: string) => text.split('\n').filter(Boolean).map((l) => { const { time: _t, sps: _s, ...rest } = JSON.parse(l); return rest; });
    for (const f of ['metrics.jsonl', 'evaluations.jsonl', 'episodes.jsonl']) {
      const x = strip(await fs.readFile(path.join(straightDir, f), 'utf8'));
      const y = strip(await fs.readFile(path.join(cutDir, f), 'utf8'));
      expect(y).toEqual(x);
    }
    expect(resumed.finalEvaluation?.returns).toEqual(straight.finalEvaluation?.returns);
    expect((await listCheckpoints(cutDir)).length).toBeLessThanOrEqual(2);
  });

  it('refuses to overwrite a run and rejects bad specs with the field name', async () => {
    await expect(startRun(spec, { runDir: path.join(tmp, 'straight') })).rejects.toThrow(/already holds a run/);
    await expect(startRun({ ...spec, totalSteps: -1 }, { runDir: path.join(tmp, 'bad') })).rejects.toThrow(/totalSteps/);
    await expect(startRun({ ...spec, config: { gamma: 2 } }, { runDir: path.join(tmp, 'bad2') })).rejects.toThrow(/dqn.*gamma/);
    await expect(startRun({ ...spec, env: { id: 'NoSuchEnv-v0' } }, { runDir: path.join(tmp, 'bad3') })).rejects.toThrow(/NoSuchEnv/);
  });
});
