import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { DqnAgent } from '../../src/agents/dqn/dqn.js';
import { Td3Agent } from '../../src/agents/dpg/td3.js';
import { agentTargetActions, agentTargetPolicy } from '../../src/agents/target-policy.js';
import { continuousDataset, kernelizedIps } from '../../src/ope/continuous/index.js';
import { run } from '../../src/cli/main.js';
import { Box, Discrete } from '../../src/core/spaces.js';
import { initTensorBackend } from '../../src/tensor/index.js';
import { startRun } from '../../src/train/run.js';
import { HEADER, tempDir, writeCsv } from '../data/helpers.js';

const dir = tempDir('kairos-agent-ope-');
beforeAll(async () => {
  await initTensorBackend({ backend: 'wasm' });
});

const batchOf = (features: number[], masks: number[] | null) => ({
  n: features.length / 4,
  featureDim: 4,
  numActions: 2,
  mdpIds: features.filter((_, i) => i % 4 === 0).map((_, i) => `e${i}`),
  sequenceNumbers: new Int32Array(features.length / 4),
  features: Float32Array.from(features),
  masks: masks ? Uint8Array.from(masks) : null,
});

describe('agentTargetActions', () => {
  it("gives a continuous agent's deterministic actions, batch by batch, for kernelized OPE", () => {
    const agent = new Td3Agent({ observationSpace: new Box(-5, 5, [3]), actionSpace: new Box(-2, 2, [2]), config: {}, seed: 2 });
    const n = 7;
    const x = Float32Array.from({ length: 3 * n }, (_, i) => Math.sin(i));
    const direct = agent.act(x, n, { deterministic: true }).actions;
    const batched = agentTargetActions(agent, x, n, 3); // batches of 3, 3 and 1
    expect(Array.from(batched)).toEqual(Array.from(direct));
    // Plugs into a kernelized estimator as the dataset's target actions.
    const data = continuousDataset({ n, actionDim: 2, actions: batched.slice(), rewards: new Float64Array(n).fill(1), densities: new Float64Array(n).fill(1), targetActions: batched });
    expect(Number.isFinite(kernelizedIps({ bandwidth: 1 }).estimate(data).value)).toBe(true);
    expect(() => agentTargetActions(agent, x, n + 1)).toThrow(/features\.length: expected n × 3 = 24/);
    agent.dispose();
  });

  it('refuses a discrete agent', () => {
    const dqn = new DqnAgent({ observationSpace: new Box(-5, 5, [4]), actionSpace: new Discrete(2), config: {}, seed: 0 });
    expect(() => agentTargetActions(dqn, new Float32Array(4), 1)).toThrow(/use agentTargetPolicy for discrete actions/);
    dqn.dispose();
  });
});

describe('agentTargetPolicy', () => {
  const features = [0.1, -0.2, 0.3, 0.5, 1, 2, -1, 0.5, -0.4, 0, 0.7, 0.2];
  let agent: DqnAgent;
  let q: Float32Array;
  beforeAll(() => {
    agent = new DqnAgent({ observationSpace: new Box(-5, 5, [4]), actionSpace: new Discrete(2), config: {}, seed: 4 });
    q = agent.qValues(Float32Array.from(features), 3);
  });

  it('greedy: probability 1 on argmax Q, and masks respected', () => {
    const out = new Float64Array(6);
    agentTargetPolicy(agent).probabilities(batchOf(features, null), out);
    for (let i = 0; i < 3; i++) {
      const g = q[2 * i + 1] > q[2 * i] ? 1 : 0;
      expect([out[2 * i], out[2 * i + 1]]).toEqual(g === 1 ? [0, 1] : [1, 0]);
    }
    agentTargetPolicy(agent).probabilities(batchOf(features, [1, 0, 0, 1, 1, 1]), out);
    expect(Array.from(out.subarray(0, 4))).toEqual([1, 0, 0, 1]);
  });

  it('softmax of Q at temperature T, by hand', () => {
    const T = 0.7;
    const out = new Float64Array(6);
    agentTargetPolicy(agent, { mode: 'softmax', temperature: T }).probabilities(batchOf(features, null), out);
    for (let i = 0; i < 3; i++) {
      const e0 = Math.exp(q[2 * i] / T);
      const e1 = Math.exp(q[2 * i + 1] / T);
      expect(out[2 * i]).toBeCloseTo(e0 / (e0 + e1), 6);
      expect(out[2 * i + 1]).toBeCloseTo(e1 / (e0 + e1), 6);
    }
  });

  it('rejects a feature size that is not the agent observation size, and bad options', () => {
    const bad = { ...batchOf(features, null), featureDim: 3 };
    expect(() => agentTargetPolicy(agent).probabilities(bad, new Float64Array(6))).toThrow(/state features.*4/);
    expect(() => agentTargetPolicy(agent, { mode: 'softmax' })).toThrow(/temperature/);
  });
});

describe('kairos ope --policy <run>', () => {
  let out: string[] = [];
  let err: string[] = [];
  beforeEach(() => {
    out = [];
    err = [];
    vi.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' ')));
    vi.spyOn(console, 'error').mockImplementation((...a) => void err.push(a.join(' ')));
  });
  afterEach(() => vi.restoreAllMocks());

  it('evaluates a trained agent on a log with 4 features and 2 actions', async () => {
    const runDir = join(dir, 'run');
    await startRun(
      { algorithm: 'dqn', env: { id: 'CartPole-v1' }, totalSteps: 200, config: { network: { hiddenSizes: [8] }, learningStarts: 50 }, evalEvery: 0, finalEvalEpisodes: 0 },
      { runDir },
    );
    const rows = Array.from({ length: 40 }, (_, i) => [`u${i}`, 0, `[${[i % 3, 0.1, -0.1, (i % 5) / 5].join(',')}]`, i % 2, 0.5, null, (i % 3) / 2, null, 'true']);
    const csv = writeCsv(join(dir, 'log.csv'), HEADER, rows);
    const db = join(dir, 'log.duckdb');
    expect(await run(['node', 'kairos', 'data', 'import', csv, '--data', db])).toBe(0);
    out = [];
    const code = await run(['node', 'kairos', 'ope', '--data', db, '--policy', runDir, '--policy-mode', 'softmax', '--temperature', '1', '--estimators', 'ips,snips,dr', '--bootstrap', '20', '--out', join(dir, 'report')]);
    expect(err.join('\n')).toBe('');
    expect(code).toBe(0);
    expect(out.join('\n')).toMatch(/bandit evaluation over 40 rows\ntarget policy: dqn, softmax \(run\)\n/);
  });
});
