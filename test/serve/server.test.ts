import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../src/agents/agent.js';
import { epsilonGreedyProbabilities, softmaxProbabilities } from '../../src/agents/dqn/exploration.js';
import { LogStore } from '../../src/data/index.js';
import { startDecisionServer, type DecisionServer, type DecisionServerOptions } from '../../src/serve/index.js';
import { tf } from '../../src/tensor/backend.js';
import { loadRunAgent } from '../../src/train/run.js';
import { tempDir, trainTinyRun } from './helpers.js';

let dir: string;
let runDir: string;
let agent: Agent;
let logCount = 0;

const newLog = () => path.join(dir, `log-${logCount++}.duckdb`);
const start = (o: Partial<DecisionServerOptions> = {}) =>
  startDecisionServer({ runDir, logPath: newLog(), port: 0, flushIntervalMs: 50, ...o });

async function post(server: DecisionServer, route: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${server.url}${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

/** Reads every logged decision in (mdp_id, sequence_number) order. */
async function readLog(file: string): Promise<Record<string, any>[]> {
  const store = await LogStore.open(file, { readOnly: true });
  try {
    return await store.engine.query(
      'SELECT mdp_id, sequence_number, epoch_ms(timestamp) AS ts, state_features, action, action_probability, possible_actions, reward, terminal FROM decisions ORDER BY mdp_id, sequence_number',
    );
  } finally {
    store.close();
  }
}

/** Random CartPole-like states from a fixed stream. */
function states(n: number, seed = 1): number[][] {
  let s = seed;
  const u = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  return Array.from({ length: n }, () => [u() * 0.5, u(), u() * 0.2, u()]);
}

const q = (state: number[]) => agent.qValues!(Float32Array.from(state), 1);

beforeAll(async () => {
  dir = await tempDir();
  runDir = await trainTinyRun(dir);
  agent = await loadRunAgent(runDir);
});

afterAll(async () => {
  agent?.dispose();
  await fs.rm(dir, { recursive: true, force: true });
});

describe('POST /act', () => {
  it('returns an action drawn with the logged propensity, which is the policy probability of that action', async () => {
    const server = await start({ mode: 'epsilon-greedy', epsilon: 0.2, seed: 1 });
    const seen = new Set<number>();
    try {
      expect(server.host).toBe('127.0.0.1');
      expect(server.modelVersion).toMatch(/^[0-9a-f]{12}@400$/);
      for (const state of states(40)) {
        const { status, json } = await post(server, '/act', { state });
        expect(status).toBe(200);
        expect(Object.keys(json).sort()).toEqual(['action', 'decisionId', 'mdpId', 'modelVersion', 'propensity', 'sequenceNumber']);
        const p = epsilonGreedyProbabilities(q(state), 1, 2, null, 0.2);
        expect([0, 1]).toContain(json.action);
        expect(json.propensity).toBeCloseTo(p[json.action], 12);
        expect(json.modelVersion).toBe(server.modelVersion);
        expect(json.decisionId).toBe(`${json.mdpId}/0`);
        seen.add(json.action);
      }
      // Deterministic requests: the agent's own greedy action, propensity 1.
      for (const state of states(10, 9)) {
        const { json } = await post(server, '/act', { state, deterministic: true });
        const greedy = agent.act(Float32Array.from(state), 1, { deterministic: true });
        expect(json).toMatchObject({ action: greedy.actions[0], propensity: 1 });
      }
    } finally {
      await server.close();
    }
    expect(seen.size).toBe(2);
  });

  it('softmax propensities match softmax of the Q-values; greedy mode always has propensity 1', async () => {
    const soft = await start({ mode: 'softmax', temperature: 0.05, seed: 2 });
    try {
      for (const state of states(20, 3)) {
        const { json } = await post(soft, '/act', { state });
        const p = softmaxProbabilities(q(state), 1, 2, null, 0.05);
        expect(json.propensity).toBeCloseTo(p[json.action], 12);
        expect(json.propensity).toBeGreaterThan(0);
      }
    } finally {
      await soft.close();
    }
    const greedy = await start({ mode: 'greedy' });
    try {
      for (const state of states(10, 4)) {
        const { json } = await post(greedy, '/act', { state });
        expect(json).toMatchObject({ action: agent.act(Float32Array.from(state), 1, { deterministic: true }).actions[0], propensity: 1 });
      }
    } finally {
      await greedy.close();
    }
  });

  it('honours possibleActions: only allowed actions, propensity over the allowed ones, mask logged', async () => {
    const logPath = newLog();
    const server = await start({ logPath, mode: 'softmax', temperature: 10 });
    try {
      for (const state of states(20, 5)) {
        for (const allowed of [0, 1]) {
          const { json } = await post(server, '/act', { state, possibleActions: [allowed] });
          expect(json).toMatchObject({ action: allowed, propensity: 1 });
        }
        const both = await post(server, '/act', { state, possibleActions: [1, 0] });
        expect(both.json.propensity).toBeCloseTo(softmaxProbabilities(q(state), 1, 2, null, 10)[both.json.action], 12);
      }
    } finally {
      await server.close();
    }
    const rows = await readLog(logPath);
    expect(rows).toHaveLength(60);
    const masks = rows.map((r) => JSON.stringify(r.possible_actions));
    expect(masks.filter((m) => m === '[1,0]')).toHaveLength(20);
    expect(masks.filter((m) => m === '[0,1]')).toHaveLength(20);
    expect(masks.filter((m) => m === '[1,1]')).toHaveLength(20);
    for (const r of rows) expect(r.possible_actions[r.action]).toBe(1);
  });

  it('same seed and same requests give the same actions; another seed gives others', async () => {
    const run = async (seed: number) => {
      const server = await start({ mode: 'epsilon-greedy', epsilon: 0.5, seed });
      try {
        const actions: number[] = [];
        for (const state of states(60, 6)) actions.push((await post(server, '/act', { state })).json.action);
        return actions;
      } finally {
        await server.close();
      }
    };
    const a = await run(11);
    expect(await run(11)).toEqual(a);
    expect(await run(12)).not.toEqual(a);
  });

  it('episodes: client ids and sequence numbers are logged; a step that does not continue its episode is refused without shifting later draws', async () => {
    const logPath = newLog();
    const server = await start({ logPath, mode: 'epsilon-greedy', epsilon: 0.5, seed: 5 });
    const actions: number[] = [];
    try {
      for (let t = 0; t < 3; t++) {
        const { status, json } = await post(server, '/act', { state: states(1, t)[0], mdpId: 'user-7', sequenceNumber: t });
        expect(status).toBe(200);
        expect(json).toMatchObject({ mdpId: 'user-7', sequenceNumber: t, decisionId: `user-7/${t}` });
        actions.push(json.action);
      }
      const dup = await post(server, '/act', { state: states(1, 9)[0], mdpId: 'user-7', sequenceNumber: 1 });
      expect(dup.status).toBe(400);
      expect(dup.json.error.message).toMatch(/sequenceNumber: expected 3 \(the previous step of episode "user-7" is 2\), received 1/);
      for (let t = 3; t < 20; t++) actions.push((await post(server, '/act', { state: states(1, t)[0], mdpId: 'user-7', sequenceNumber: t })).json.action);
    } finally {
      await server.close();
    }
    // The refused request gave back its draw: the same requests without it give the same actions.
    const clean = await start({ mode: 'epsilon-greedy', epsilon: 0.5, seed: 5 });
    try {
      for (let t = 0; t < 20; t++) {
        expect((await post(clean, '/act', { state: states(1, t)[0], mdpId: 'user-7', sequenceNumber: t })).json.action).toBe(actions[t]);
      }
    } finally {
      await clean.close();
    }
    const rows = await readLog(logPath);
    expect(rows.map((r) => r.sequence_number)).toEqual(Array.from({ length: 20 }, (_, t) => t));
    expect(rows.every((r) => r.mdp_id === 'user-7' && r.terminal === false)).toBe(true);
  });
});

describe('malformed requests', () => {
  it('answer 400/404/405/413 with the field, the value and the expectation, and the service keeps serving', async () => {
    const server = await start({ maxBodyBytes: 2048 });
    const cases: [unknown, RegExp][] = [
      ['{"state": [0, 0', /\(body\): expected valid JSON, received "\{\\"state\\": \[0, 0"/],
      ['', /expected a JSON object, received an empty body/],
      [[1, 2], /\(body\): expected a JSON object, received \[1,2\]/],
      [{}, /state: expected a list of 4 finite numbers \(the policy's observation size\), received nothing \(missing\)/],
      [{ state: 'abc' }, /state: expected a list of 4 finite numbers.*received "abc"/],
      [{ state: [0, 0, 0] }, /state: expected a list of 4 finite numbers.*received \[0,0,0\] \(3 values\)/],
      [{ state: [0, null, 0, 0] }, /state\[1\]: expected a finite number, received null/],
      ['{"state": [0, 1e999, 0, 0]}', /state\[1\]: expected a finite number, received Infinity/],
      [{ state: [0, '1', 0, 0] }, /state\[1\]: expected a finite number, received "1"/],
      [{ state: [0, 1e39, 0, 0] }, /state\[1\]: expected a number within single precision \(\|x\| <= 3.4e38\), received 1e\+39/],
      [{ state: [0, 0, 0, 0], possibleActions: [0, 2] }, /possibleActions\[1\]: expected an action id: an integer in \[0, 2\), received 2/],
      [{ state: [0, 0, 0, 0], possibleActions: [0.5] }, /possibleActions\[0\]: expected an action id: an integer in \[0, 2\), received 0.5/],
      [{ state: [0, 0, 0, 0], possibleActions: [] }, /possibleActions: expected at least one allowed action id, received \[\] \(0 values\)/],
      [{ state: [0, 0, 0, 0], deterministic: 'yes' }, /deterministic: expected true or false, received "yes"/],
      [{ state: [0, 0, 0, 0], mdpId: '' }, /mdpId: expected a non-empty episode id/],
      [{ state: [0, 0, 0, 0], sequenceNumber: 1 }, /mdpId: expected an episode id when sequenceNumber is given, received nothing/],
      [{ state: [0, 0, 0, 0], mdpId: 'u', sequenceNumber: 1.5 }, /sequenceNumber: expected a 32-bit integer step number, received 1.5/],
      [{ state: [0, 0, 0, 0], possible_actions: [1] }, /possible_actions: expected no such field \(unknown field\), received \[1\]/],
    ];
    try {
      for (const [body, message] of cases) {
        const { status, json } = await post(server, '/act', body);
        expect(status, JSON.stringify(body)).toBe(400);
        expect(json.error.message, JSON.stringify(body)).toMatch(message);
        expect(json.error.issues[0]).toEqual({ path: expect.any(String), expected: expect.any(String), received: expect.any(String) });
      }
      // Every issue is listed, not only the first.
      const many = await post(server, '/act', { state: [null, 0, 'x', 0], possibleActions: [7] });
      expect(many.json.error.issues.map((i: { path: string }) => i.path)).toEqual(['state[0]', 'state[2]', 'possibleActions[0]']);

      // A state the network cannot evaluate (its Q-values overflow) is refused alone, even in a batch.
      const mixed = await Promise.all([
        ...states(10, 13).map((state) => post(server, '/act', { state })),
        post(server, '/act', { state: [-3e38, -3e38, -3e38, -3e38] }), // Q = [Infinity, -Infinity] for this network
        ...states(10, 14).map((state) => post(server, '/act', { state })),
      ]);
      expect(mixed.map((r) => r.status)).toEqual([...Array(10).fill(200), 400, ...Array(10).fill(200)]);
      expect(mixed[10].json.error).toMatchObject({ code: 'invalid_state', message: expect.stringMatching(/state: expected a state the policy can evaluate/) });

      const big = await post(server, '/act', { state: [0, 0, 0, 0], pad: 'x'.repeat(4000) });
      expect(big.status).toBe(413);
      expect(big.json.error.message).toMatch(/\(body\): expected at most 2048 bytes, received \d+ bytes/);
      const huge = await fetch(`${server.url}/act`, { method: 'POST', body: 'x'.repeat(200_000) }).then(
        (r) => r.status,
        () => 'connection cut',
      );
      expect([413, 'connection cut']).toContain(huge);

      const notFound = await fetch(`${server.url}/nope`);
      expect(notFound.status).toBe(404);
      expect(((await notFound.json()) as any).error.message).toMatch(/no route GET \/nope; routes: POST \/act, POST \/reward, GET \/health, GET \/metrics/);
      expect((await fetch(`${server.url}/constructor`)).status).toBe(404);
      const wrongMethod = await fetch(`${server.url}/act`);
      expect(wrongMethod.status).toBe(405);
      expect(wrongMethod.headers.get('allow')).toBe('POST');
      expect((await post(server, '/health', {})).status).toBe(405);

      const ok = await post(server, '/act', { state: [0, 0, 0, 0] });
      expect(ok.status).toBe(200);
      const stats = server.stats();
      expect(stats.decisionsServed).toBe(21);
      expect(stats.responses['400']).toBe(cases.length + 2);
    } finally {
      await server.close();
    }
  });

  it('refuses bad options and a log made for another policy, naming them', async () => {
    await expect(start({ epsilon: 2 })).rejects.toThrow(/epsilon: expected <= 1, received 2/);
    await expect(start({ mode: 'exploring' })).rejects.toThrow(/"exploring".*value-based.*epsilon-greedy/);
    await expect(startDecisionServer({ runDir: path.join(dir, 'missing'), logPath: newLog(), port: 0 })).rejects.toThrow(/not a Kairos run folder/);
    const other = newLog();
    (await LogStore.create(other, { featureDim: 3, numActions: 2 })).close();
    await expect(start({ logPath: other })).rejects.toThrow(/logs 3 state features and 2 actions, but the policy takes 4 and 2/);
    const first = await start();
    try {
      await expect(start({ port: first.port })).rejects.toThrow(new RegExp(`cannot listen on 127.0.0.1:${first.port}: the port is in use`));
      expect((await post(first, '/act', { state: [0, 0, 0, 0] })).status).toBe(200);
    } finally {
      await first.close();
    }
  });
});

describe('the decision log', () => {
  it('holds every served decision after close, with its state, action, propensity and time', async () => {
    const logPath = newLog();
    const server = await start({ logPath, flushIntervalMs: 0, seed: 3, epsilon: 0.3 });
    const t0 = Date.now();
    const served: any[] = [];
    const sent = states(50, 8);
    try {
      for (const state of sent) served.push((await post(server, '/act', { state })).json);
      expect(server.stats().decisionsLogged).toBe(0); // no interval flush: committed on close
    } finally {
      await server.close();
    }
    const rows = await readLog(logPath);
    expect(rows).toHaveLength(50);
    const byId = new Map(rows.map((r) => [`${r.mdp_id}/${r.sequence_number}`, r]));
    served.forEach((s, i) => {
      const row = byId.get(s.decisionId)!;
      expect(row).toBeDefined();
      expect(row.state_features).toEqual(Array.from(Float32Array.from(sent[i])));
      expect(row).toMatchObject({ action: s.action, action_probability: s.propensity, reward: 0, terminal: true, possible_actions: null });
      expect(Number(row.ts)).toBeGreaterThanOrEqual(t0 - 1);
      expect(Number(row.ts)).toBeLessThanOrEqual(Date.now());
    });
    const store = await LogStore.open(logPath, { readOnly: true });
    try {
      expect(store.schema).toMatchObject({ featureDim: 4, numActions: 2 });
      const [session] = await store.engine.query('SELECT * FROM kairos_serve_sessions');
      expect(session).toMatchObject({ session_id: server.sessionId, model_version: server.modelVersion, algorithm: 'dqn', env: 'CartPole-v1', policy_mode: 'epsilon-greedy', epsilon: 0.3, seed: 3, decisions: 50 });
    } finally {
      store.close();
    }
  });

  it('logs 200 concurrent requests, each once, with unique decision ids, and leaks no tensors', async () => {
    const logPath = newLog();
    const server = await start({ logPath, maxBatch: 64 });
    let before = 0;
    const ids = new Set<string>();
    try {
      await post(server, '/act', { state: [0, 0, 0, 0] }); // warm-up: kernels and caches
      before = tf.memory().numTensors;
      const responses = await Promise.all(states(200, 10).map((state) => post(server, '/act', { state })));
      for (const r of responses) {
        expect(r.status).toBe(200);
        ids.add(r.json.decisionId);
      }
      expect(ids.size).toBe(200);
      const stats = server.stats();
      expect(stats.numTensors).toBe(before);
      expect(stats.decisionsServed).toBe(201);
      expect(stats.batches).toBeLessThanOrEqual(201); // requests arriving together are decided together
      const metrics = (await (await fetch(`${server.url}/metrics`)).json()) as any;
      expect(metrics.actLatencyMs.count).toBe(201);
      expect(metrics.actLatencyMs.p99).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
    const rows = await readLog(logPath);
    expect(rows).toHaveLength(201);
    for (const id of ids) expect(rows.some((r) => `${r.mdp_id}/${r.sequence_number}` === id)).toBe(true);
  });

  it('close() during a burst: every request answered 200 is in the log, the rest are refused', async () => {
    const logPath = newLog();
    const server = await start({ logPath, flushIntervalMs: 0 });
    const burst = states(300, 16).map((state) => post(server, '/act', { state }).then((r) => r.status, () => 'connection refused'));
    while (server.stats().decisionsServed < 20) await new Promise((r) => setTimeout(r, 1));
    await server.close();
    const statuses = await Promise.all(burst);
    const ok = statuses.filter((s) => s === 200).length;
    expect(statuses.every((s) => s === 200 || s === 503 || s === 'connection refused')).toBe(true);
    expect(await readLog(logPath)).toHaveLength(ok);
    expect(server.stats().decisionsLogged).toBe(ok);
  });

  it('GET /health reports the model, uptime and decisions served and logged', async () => {
    const server = await start({ flushIntervalMs: 20 });
    try {
      for (const state of states(5, 12)) await post(server, '/act', { state });
      await new Promise((r) => setTimeout(r, 80));
      const health = (await (await fetch(`${server.url}/health`)).json()) as any;
      expect(health).toMatchObject({ status: 'ok', modelVersion: server.modelVersion, algorithm: 'dqn', env: 'CartPole-v1', decisionsServed: 5, decisionsLogged: 5, decisionsPending: 0, obsDim: 4, numActions: 2 });
      expect(health.uptimeSeconds).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  });

  it('POST /reward writes the reward (and terminal flag) into the logged row', async () => {
    const logPath = newLog();
    const server = await start({ logPath });
    try {
      const a = (await post(server, '/act', { state: [0, 0, 0, 0] })).json;
      const b = (await post(server, '/act', { state: [0.1, 0, 0, 0], mdpId: 'ep', sequenceNumber: 0 })).json;
      const [ra, rb] = await Promise.all([
        post(server, '/reward', { decisionId: a.decisionId, reward: 1.5 }),
        post(server, '/reward', { mdpId: 'ep', sequenceNumber: 0, reward: -2, terminal: true }),
      ]);
      expect(ra).toEqual({ status: 200, json: { decisionId: a.decisionId, mdpId: a.mdpId, sequenceNumber: 0, reward: 1.5 } });
      expect(rb.json).toEqual({ decisionId: b.decisionId, mdpId: 'ep', sequenceNumber: 0, reward: -2, terminal: true });
      const missing = await post(server, '/reward', { mdpId: 'ep', sequenceNumber: 5, reward: 1 });
      expect(missing.status).toBe(404);
      expect(missing.json.error.message).toMatch(/no logged decision "ep\/5"/);
      const bad = await post(server, '/reward', { decisionId: 'nope', reward: 1 });
      expect(bad.status).toBe(400);
      expect(bad.json.error.message).toMatch(/decisionId: expected a decision id as returned by \/act/);
      expect((await post(server, '/reward', { mdpId: 'ep', reward: 1 })).json.error.message).toMatch(/sequenceNumber: expected the decision/);
      expect((await post(server, '/reward', { decisionId: a.decisionId, reward: 'x' })).json.error.message).toMatch(/reward: expected a finite number, received "x"/);
      expect(server.stats()).toMatchObject({ rewardsApplied: 2, rewardsUnmatched: 1 });
    } finally {
      await server.close();
    }
    const rows = await readLog(logPath);
    expect(rows.find((r) => r.mdp_id === 'ep')).toMatchObject({ reward: -2, terminal: true });
    expect(rows.find((r) => r.mdp_id !== 'ep')).toMatchObject({ reward: 1.5, terminal: true });
    const store = await LogStore.open(logPath, { readOnly: true });
    try {
      expect(await store.engine.query('SELECT mdp_id, reward, terminal FROM kairos_serve_rewards ORDER BY reward')).toEqual([
        { mdp_id: 'ep', reward: -2, terminal: true },
        { mdp_id: expect.any(String), reward: 1.5, terminal: null },
      ]);
    } finally {
      store.close();
    }
  });

  it('appends to an existing log across restarts, one session row each', async () => {
    const logPath = newLog();
    for (let k = 0; k < 2; k++) {
      const server = await start({ logPath });
      try {
        for (const state of states(3, k)) await post(server, '/act', { state });
      } finally {
        await server.close();
      }
    }
    expect(await readLog(logPath)).toHaveLength(6);
    const store = await LogStore.open(logPath, { readOnly: true });
    try {
      expect((await store.engine.query('SELECT decisions FROM kairos_serve_sessions')).map((r) => r.decisions)).toEqual([3, 3]);
    } finally {
      store.close();
    }
  });
});

describe('a policy-gradient run', () => {
  it("serves PPO's own action distribution ('exploring' by default) with its exact probabilities", async () => {
    const ppoRun = await trainTinyRun(dir, 128, 'ppo');
    const ppo = await loadRunAgent(ppoRun);
    await expect(startDecisionServer({ runDir: ppoRun, logPath: newLog(), port: 0, mode: 'softmax' })).rejects.toThrow(/needs Q-values, which ppo does not have/);
    const server = await startDecisionServer({ runDir: ppoRun, logPath: newLog(), port: 0, seed: 4 });
    try {
      expect(server.policy).toBe('exploring');
      for (const state of states(20, 15)) {
        const obs = Float32Array.from(state);
        const { json } = await post(server, '/act', { state });
        expect(json.propensity).toBeCloseTo(ppo.actionProbabilities!(obs, 1)[json.action], 12);
        const greedy = await post(server, '/act', { state, deterministic: true });
        expect(greedy.json).toMatchObject({ action: ppo.act(obs, 1, { deterministic: true }).actions[0], propensity: 1 });
        expect((await post(server, '/act', { state, possibleActions: [1] })).json).toMatchObject({ action: 1, propensity: 1 });
      }
    } finally {
      await server.close();
      ppo.dispose();
    }
  });
});
