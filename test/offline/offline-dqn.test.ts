import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentTargetPolicy } from '../../src/agents/target-policy.js';
import { LogStore, evaluateLog, simulateLog, type Decision } from '../../src/data/index.js';
import { make } from '../../src/envs/index.js';
import { foldStandardization, replayFromTimeline, trainOffline } from '../../src/offline/index.js';
import { initTensorBackend, tf } from '../../src/tensor/index.js';
import { evaluateAgent, loadPolicy, loadRunAgent, loadRunSpec } from '../../src/train/index.js';

let tmp: string;
beforeAll(async () => {
  await initTensorBackend({ backend: 'wasm' });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kairos-offline-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const row = (mdpId: string, sequenceNumber: number, x: number, action: number, reward: number, terminal: boolean, possibleActions: number[] | null = null): Decision => ({
  mdpId,
  sequenceNumber,
  features: [x, 1 - x],
  action,
  actionProbability: 0.5,
  possibleActions,
  reward,
  terminal,
});

describe('replayFromTimeline', () => {
  it('turns logged rows into transitions: γ^gap discounts, next-state masks, truncated ends left out', async () => {
    const store = await LogStore.create(':memory:', { featureDim: 2, numActions: 2, allowGaps: true });
    await store.append([
      // Episode a: steps at 0, 2 and 5 (gaps of 2 and 3), terminal at 5; step 2 allows action 1 only.
      row('a', 0, 0.1, 0, 1, false),
      row('a', 2, 0.2, 1, 2, false, [0, 1]),
      row('a', 5, 0.3, 0, 3, true),
      // Episode b: cut after step 1 (not terminal): its last row has no next state.
      row('b', 0, 0.7, 1, -1, false, [1, 1]),
      row('b', 1, 0.8, 0, -2, false),
    ]);
    const r = await replayFromTimeline(store, { gamma: 0.9 });
    expect(r).toMatchObject({ decisions: 5, transitions: 4, truncated: 1, episodes: 2 });
    const s = r.buffer.getState().arrays as Record<string, Float32Array | Int32Array | Uint8Array>;
    expect(Array.from(s.rewards)).toEqual([1, 2, 3, -1]);
    expect(Array.from(s.actions)).toEqual([0, 1, 0, 1]);
    expect(Array.from(s.terminated)).toEqual([0, 0, 1, 0]);
    expect(Array.from(s.discounts)).toEqual([0.9 ** 2, 0.9 ** 3, 0.9, 0.9].map(Math.fround));
    expect(Array.from(s.nextObs).slice(0, 4)).toEqual([0.2, 0.8, 0.3, 0.7].map(Math.fround));
    // Possible next actions: row a/0 → step 2's mask; a/2 → step 5 (no mask: all); the terminal row: none; b/0 → b/1 (all).
    expect(Array.from(s.nextMasks)).toEqual([0, 1, 1, 1, 0, 0, 1, 1]);
    // The current state's possible actions, for CQL's log-sum-exp.
    expect(Array.from(r.stateMasks!)).toEqual([1, 1, 0, 1, 1, 1, 1, 1, 0, 0]);
    store.close();
  });
});

describe('feature standardisation', () => {
  it('stores standardised states and next states, and gives the map', async () => {
    const store = await LogStore.create(':memory:', { featureDim: 2, numActions: 2 });
    await store.append([row('a', 0, 0.1, 0, 1, false), row('a', 1, 0.2, 1, 2, false), row('a', 2, 0.6, 0, 3, true)]);
    const r = await replayFromTimeline(store, { gamma: 1, standardize: true });
    store.close();
    // Logged states x = 0.1, 0.2, 0.6: mean 0.3, population sd √(0.14/3); the second feature is 1 − x.
    const sd = Math.sqrt(0.14 / 3);
    expect(Array.from(r.standardization!.shift)).toEqual([0.3, 0.7].map(Math.fround));
    expect(r.standardization!.scale[0]).toBeCloseTo(sd, 6);
    const s = r.buffer.getState().arrays as Record<string, Float32Array>;
    expect(Array.from(s.obs).filter((_, i) => i % 2 === 0)).toEqual([0.1, 0.2, 0.6].map((x) => expect.closeTo((x - 0.3) / sd, 5)));
    // Next states use the same map (the terminal row's next state is the logged zeros).
    expect(s.nextObs[0]).toBeCloseTo((0.2 - 0.3) / sd, 5);
    // A constant feature is only centred.
    const one = await LogStore.create(':memory:', { featureDim: 2, numActions: 2 });
    await one.append([row('a', 0, 0.5, 0, 1, true)]);
    expect(Array.from((await replayFromTimeline(one, { standardize: true })).standardization!.scale)).toEqual([1, 1]);
    one.close();
  });

  it('folds the map into the first layer: the saved net on raw features = the trained net on standardised ones', async () => {
    const { DqnAgent } = await import('../../src/agents/dqn/dqn.js');
    const { Box, Discrete } = await import('../../src/core/spaces.js');
    for (const kind of ['mlp', 'dueling'] as const) {
      const agent = new DqnAgent({ observationSpace: new Box(-10, 10, [3]), actionSpace: new Discrete(4), config: { network: { kind, hiddenSizes: [8, 8] } }, seed: 3 });
      const shift = Float32Array.of(0.5, -2, 0);
      const scale = Float32Array.of(0.1, 4, 1);
      const raw = Float32Array.of(0.7, 1, -3, 0.2, -6, 5);
      const standardised = raw.map((x, i) => (x - shift[i % 3]) / scale[i % 3]);
      const before = agent.qValues(standardised, 2);
      foldStandardization(agent, { shift, scale });
      const after = agent.qValues(raw, 2);
      for (let i = 0; i < before.length; i++) expect(after[i]).toBeCloseTo(before[i], 4);
      agent.dispose();
    }
  });

  it('trains with standardizeFeatures, records the map, and the saved policy reads raw observations', async () => {
    const log = path.join(tmp, 'grid-std.duckdb');
    await simulateLog({ env: 'GridWorld-v0', out: log, episodes: 100, seed: 0, policy: { kind: 'random' } });
    const runDir = path.join(tmp, 'grid-std');
    const config = { batchSize: 64, targetUpdateInterval: 25, learningRate: 2e-3, network: { hiddenSizes: [32, 32] } };
    const { summary } = await trainOffline({ algorithm: 'cql', data: log, runDir, updates: 1000, config, finalEvalEpisodes: 2, seed: 1, standardizeFeatures: true });
    expect(summary.offline.standardization?.shift).toHaveLength(30);
    // The final evaluation ran the in-memory agent on raw observations; the saved policy does the same.
    expect(summary.finalEvaluation?.meanReturn).toBe(-9);
    const agent = await loadRunAgent(runDir);
    expect(evaluateAgent(agent, () => make('GridWorld-v0'), { episodes: 2, seed: 0 }).meanReturn).toBe(-9);
    agent.dispose();
  });
});

describe('trainOffline', () => {
  // Small, fast settings for the 30-cell grid: updates are cheap at batch 64, and a target copy
  // every 25 steps propagates values along the 9-step shortest path within the run.
  const config = { batchSize: 64, targetUpdateInterval: 25, learningRate: 2e-3, network: { hiddenSizes: [32, 32] } };
  let log: string;

  beforeAll(async () => {
    log = path.join(tmp, 'grid.duckdb');
    // Uniformly random behaviour, masks logged: most episodes are cut by the 100-step limit.
    const sim = await simulateLog({ env: 'GridWorld-v0', out: log, episodes: 100, seed: 0, policy: { kind: 'random' } });
    expect(sim.meanReturn).toBeLessThan(-50);
  });

  it('recovers the optimal GridWorld policy (−9) from uniformly random logs, DQN and CQL, as run folders', async () => {
    for (const algorithm of ['dqn', 'cql'] as const) {
      const runDir = path.join(tmp, `grid-${algorithm}`);
      const { summary } = await trainOffline({ algorithm, data: log, runDir, updates: 1000, config, finalEvalEpisodes: 2, seed: 1 });
      expect(summary).toMatchObject({ algorithm: 'dqn', env: 'GridWorld-v0', steps: 1000, interrupted: false, offline: { algorithm, truncated: expect.any(Number) } });
      expect(summary.offline.cqlAlpha).toBe(algorithm === 'cql' ? 0.05 : 0);
      expect(summary.offline.behaviour?.policy).toBe('uniform');
      expect(summary.finalEvaluation?.meanReturn).toBe(-9);
      for (const f of ['run.json', 'metrics.jsonl', 'summary.json', 'model/policy.kst']) expect(fs.existsSync(path.join(runDir, f))).toBe(true);
      const metrics = fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(metrics.at(-1)).toMatchObject({ step: 1000 });
      // The run folder is an ordinary one: the spec parses, the policy loads and evaluates.
      const spec = await loadRunSpec(runDir);
      expect(spec).toMatchObject({ algorithm: 'dqn', env: { id: 'GridWorld-v0' }, totalSteps: 1000 });
      const agent = await loadPolicy(path.join(runDir, 'model', 'policy.kst'));
      const r = evaluateAgent(agent, () => make('GridWorld-v0'), { episodes: 3, seed: 5 });
      expect(r.returns).toEqual([-9, -9, -9]);
      agent.dispose();
    }
  });

  it('gives the same weights for the same seed, frees its tensors, and plugs into OPE', async () => {
    const before = tf.memory().numTensors;
    const q = async (runDir: string) => {
      await trainOffline({ algorithm: 'cql', data: log, runDir, updates: 60, config, finalEvalEpisodes: 0, seed: 3 });
      const agent = await loadRunAgent(runDir);
      const values = Array.from(agent.qValues!(new Float32Array(30).fill(0.1), 1));
      agent.dispose();
      return values;
    };
    const a = await q(path.join(tmp, 'same-1'));
    expect(await q(path.join(tmp, 'same-2'))).toEqual(a);
    expect(tf.memory().numTensors).toBe(before);

    // `kairos ope --policy <run>`'s path: the run's greedy policy on the log it came from.
    const agent = await loadRunAgent(path.join(tmp, 'grid-dqn'));
    const store = await LogStore.open(log, { readOnly: true });
    const { report } = await evaluateLog(store, agentTargetPolicy(agent, { mode: 'greedy' }), { estimators: ['pdis', 'dm'], bootstrap: 0, model: 'tabular' });
    expect(report.kind).toBe('sequential');
    expect(report.estimates.map((e) => e.estimator)).toEqual(['pdis', 'dm']);
    // Tabular FQE of the greedy policy: near its true −9 (not exact: FQE treats the logged episodes'
    // time-limit cuts as terminal), far from the logged random walk's value (below −50).
    expect(report.estimates[1].value).toBeGreaterThan(-10);
    expect(report.estimates[1].value).toBeLessThan(-8);
    store.close();
    agent.dispose();
  });

  it('names the field, the value and the expectation of bad options', async () => {
    const runDir = path.join(tmp, 'bad');
    await expect(trainOffline({ algorithm: 'sarsa' as 'dqn', data: log, runDir })).rejects.toThrow(/algorithm: expected one of "dqn", "cql", received "sarsa"/);
    await expect(trainOffline({ algorithm: 'dqn', data: log, runDir, config: { cqlAlpha: 1 } })).rejects.toThrow(/config.cqlAlpha: expected 0 or nothing for algorithm dqn/);
    await expect(trainOffline({ algorithm: 'dqn', data: log, runDir, env: 'CartPole-v1', updates: 1 })).rejects.toThrow(/env: expected an env whose observations flatten to 30 features/);
    await expect(trainOffline({ algorithm: 'dqn', data: path.join(tmp, 'missing.duckdb'), runDir })).rejects.toThrow(/no decision log/);
    await expect(trainOffline({ algorithm: 'dqn', data: log, runDir: path.join(tmp, 'grid-dqn'), updates: 1 })).rejects.toThrow(/already holds a run/);
  });
});
