import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  LogStore,
  heuristicBehaviour,
  readSimulationInfo,
  sampleRow,
  simulateLog,
  uniformTargetPolicy,
  validateStore,
  type PolicyBatch,
  type TargetPolicy,
} from '../../src/data/index.js';
import { Rng } from '../../src/core/rng.js';
import { heuristicFor, resolveAdsSupplyOptions } from '../../src/envs/index.js';
import { storedRows, tempDir } from './helpers.js';

const dir = tempDir('kairos-simulate-');

interface Row {
  mdp_id: string;
  sequence_number: number;
  state_features: number[];
  action: number;
  action_probability: number;
  possible_actions: number[] | null;
  reward: number;
  reward_components: Record<string, number> | null;
  terminal: boolean;
}

async function rowsOf(store: LogStore): Promise<Row[]> {
  return (await storedRows(store)) as unknown as Row[];
}

/** π(·|row) of a batch policy for one stored row. */
async function probsOf(policy: TargetPolicy, row: Row, k: number): Promise<Float64Array> {
  const out = new Float64Array(k);
  const batch: PolicyBatch = {
    n: 1,
    featureDim: row.state_features.length,
    numActions: k,
    mdpIds: [row.mdp_id],
    sequenceNumbers: Int32Array.of(row.sequence_number),
    features: Float32Array.from(row.state_features),
    masks: row.possible_actions ? Uint8Array.from(row.possible_actions) : null,
  };
  await policy.probabilities(batch, out);
  return out;
}

describe('simulateLog', () => {
  it('logs the exact behaviour probabilities, summing to 1 over the possible actions (GridWorld, masks)', async () => {
    const h = heuristicFor('GridWorld-v0')!;
    for (const [i, spec] of [{ kind: 'heuristic', epsilon: 0.3 }, { kind: 'heuristic', temperature: 0.7 }, { kind: 'random' }].entries()) {
      const out = join(dir, `grid-${i}.duckdb`);
      const sim = await simulateLog({ env: 'GridWorld-v0', out, episodes: 20, seed: 3, policy: spec as never, maxEpisodeSteps: 30 });
      const store = await LogStore.open(out, { readOnly: true });
      const rows = await rowsOf(store);
      expect(rows).toHaveLength(sim.decisions);
      const policy = spec.kind === 'random' ? uniformTargetPolicy(4) : heuristicBehaviour(h, 4, spec);
      for (const row of rows) {
        expect(row.possible_actions).not.toBeNull(); // GridWorld always gives info.actionMask
        const p = await probsOf(policy, row, 4);
        // The logged propensity is bit for bit the probability the draw used.
        expect(row.action_probability).toBe(p[row.action]);
        let sum = 0;
        for (let a = 0; a < 4; a++) {
          if (row.possible_actions![a]) sum += p[a];
          else expect(p[a]).toBe(0);
        }
        expect(sum).toBeCloseTo(1, 12);
      }
      expect((await validateStore(store)).issueCount).toBe(0);
      store.close();
    }
  });

  it('samples actions with the logged frequencies', async () => {
    // A fixed policy on StringGame (the first state is always all zeros): P(B) = 0.7.
    const policy: TargetPolicy = {
      name: 'fixed',
      numActions: 2,
      probabilities(batch, out) {
        for (let i = 0; i < batch.n; i++) out.set([0.3, 0.7], i * 2);
      },
    };
    const store = await LogStore.open(':memory:');
    const sim = await simulateLog({ env: 'StringGame-v0', store, episodes: 2000, seed: 1, policy });
    const [{ n, b, p }] = await store.engine.query(`SELECT COUNT(*) AS n, SUM(action) AS b, MIN(action_probability) AS p FROM decisions`);
    expect(Number(n)).toBe(12_000);
    expect(sim.decisions).toBe(12_000);
    // Binomial(12000, 0.7): 4 standard deviations is ±201.
    expect(Math.abs(Number(b) - 8400)).toBeLessThan(201);
    expect(Number(p)).toBe(0.3);
    store.close();
  });

  it('inverse-CDF draws follow the row and never pick a zero-probability action', () => {
    const rng = new Rng(5);
    const counts = [0, 0, 0];
    for (let i = 0; i < 30_000; i++) counts[sampleRow([0.2, 0, 0.8], rng)]++;
    expect(counts[1]).toBe(0);
    expect(Math.abs(counts[0] - 6000)).toBeLessThan(4 * Math.sqrt(30_000 * 0.2 * 0.8));
  });

  it('same seed, same log (whatever the parallelism); another seed, another log', async () => {
    const run = async (seed: number, parallel: number) => {
      const store = await LogStore.open(':memory:');
      await simulateLog({ env: 'AdsSupply-v0', store, episodes: 40, seed, parallel, policy: { kind: 'heuristic', epsilon: 0.5 } });
      const rows = await storedRows(store);
      store.close();
      return rows;
    };
    const a = await run(7, 8);
    expect(await run(7, 8)).toEqual(a);
    expect(await run(7, 1)).toEqual(a);
    expect(await run(8, 8)).not.toEqual(a);
  });

  it('stores the reward components, the terminal flag and the on-policy value (AdsSupply)', async () => {
    const out = join(dir, 'ads.duckdb');
    const sim = await simulateLog({ env: 'AdsSupply-v0', out, episodes: 50, seed: 2, gamma: 0.9, policy: { kind: 'heuristic', temperature: 1 } });
    expect(sim.rewardComponents).toEqual(['engagement', 'revenue']);
    const store = await LogStore.open(out, { readOnly: true });
    expect(store.requireSchema()).toMatchObject({ featureDim: 5, numActions: 6, rewardComponents: ['engagement', 'revenue'] });
    const rows = await rowsOf(store);
    const lambda = resolveAdsSupplyOptions({}).engagementWeight;
    const returns = new Map<string, { ret: number; disc: number; last: Row }>();
    for (const row of rows) {
      expect(row.possible_actions).toBeNull();
      const c = row.reward_components!;
      expect(row.reward).toBeCloseTo(c.revenue + lambda * c.engagement, 12);
      const e = returns.get(row.mdp_id) ?? { ret: 0, disc: 0, last: row };
      e.ret += row.reward;
      e.disc += 0.9 ** row.sequence_number * row.reward;
      e.last = row;
      returns.set(row.mdp_id, e);
    }
    // Every episode ends on a terminal step (the user leaves or page 20).
    expect(returns.size).toBe(50);
    for (const e of returns.values()) expect(e.last.terminal).toBe(true);
    const mean = [...returns.values()].reduce((s, e) => s + e.ret, 0) / 50;
    const disc = [...returns.values()].reduce((s, e) => s + e.disc, 0) / 50;
    expect(sim.meanReturn).toBeCloseTo(mean, 10);
    expect(sim.meanDiscountedReturn).toBeCloseTo(disc, 10);
    const info = await readSimulationInfo(store);
    expect(info).toMatchObject({ env: 'AdsSupply-v0', episodes: 50, seed: 2, policy: 'heuristic:softmax(T=1)', meanReturn: sim.meanReturn });
    store.close();
  });

  it('leaves a truncated last step non-terminal', async () => {
    const store = await LogStore.open(':memory:');
    await simulateLog({ env: 'GridWorld-v0', store, episodes: 5, seed: 0, maxEpisodeSteps: 3, policy: { kind: 'random' } });
    const rows = await rowsOf(store);
    const last = rows.filter((r) => r.sequence_number === 2);
    expect(last.length).toBeGreaterThan(0);
    for (const r of last) expect(r.terminal).toBe(false);
    store.close();
  });

  it('rejects bad options with the field, the value and the expectation', async () => {
    const out = join(dir, 'bad.duckdb');
    await expect(simulateLog({ env: 'GridWorld-v0', out, episodes: 0, policy: { kind: 'random' } })).rejects.toThrow(/episodes: expected > 0, received 0/);
    await expect(simulateLog({ env: 'LQR-v0', out, episodes: 1, policy: { kind: 'random' } })).rejects.toThrow(/env: expected an env with Discrete\(n\) actions/);
    await expect(simulateLog({ env: 'StringGame-v0', out, episodes: 1, policy: { kind: 'heuristic' } })).rejects.toThrow(/policy: expected random, a run folder, or heuristic/);
    await expect(simulateLog({ env: 'AdsSupply-v0', out, episodes: 1, policy: { kind: 'heuristic', epsilon: 2 } })).rejects.toThrow(/epsilon: expected <= 1, received 2/);
    await expect(simulateLog({ env: 'AdsSupply-v0', out, episodes: 1, policy: { kind: 'heuristic', epsilon: 0.1, temperature: 1 } })).rejects.toThrow(/temperature: expected either epsilon or temperature/);
    const bad: TargetPolicy = { name: 'bad', numActions: 6, probabilities: (b, o) => void o.fill(0.5) };
    await expect(simulateLog({ env: 'AdsSupply-v0', out, episodes: 1, policy: bad })).rejects.toThrow(/π: expected probabilities summing to 1/);
    // A failed run leaves no file behind; an existing file is not overwritten unless asked.
    const { existsSync } = await import('node:fs');
    expect(existsSync(out)).toBe(false);
    await simulateLog({ env: 'StringGame-v0', out, episodes: 1, policy: { kind: 'random' } });
    await expect(simulateLog({ env: 'StringGame-v0', out, episodes: 1, policy: { kind: 'random' } })).rejects.toThrow(/out: expected a file that does not exist yet/);
    await simulateLog({ env: 'StringGame-v0', out, episodes: 2, policy: { kind: 'random' }, overwrite: true });
  });
});
