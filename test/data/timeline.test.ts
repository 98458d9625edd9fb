import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  featureStatistics,
  featureStatsSql,
  sparkDialect,
  streamTimeline,
  timelineSql,
  timelineToParquet,
  type Decision,
  type TransitionBatch,
} from '../../src/data/index.js';
import { memoryStore, tempDir } from './helpers.js';

const dir = tempDir();

// Episode "a": steps 0, 1, 3 (a gap of 2 before the last), terminal at 3; masks on the first
// two steps only. Episode "b": one step, not terminal (a truncated log). Episode "c": two
// steps without gaps. Appended out of order on purpose.
const LOG: Decision[] = [
  { mdpId: 'b', sequenceNumber: 5, features: [9, 9], action: 0, actionProbability: 1, reward: -1, terminal: false },
  { mdpId: 'a', sequenceNumber: 3, features: [3, 0], action: 1, actionProbability: 0.25, reward: 3, rewardComponents: { revenue: 30 }, terminal: true },
  { mdpId: 'a', sequenceNumber: 0, features: [1, 0.5], action: 0, actionProbability: 0.5, possibleActions: [1, 1, 0], reward: 1, rewardComponents: { revenue: 10 }, terminal: false },
  { mdpId: 'c', sequenceNumber: 0, features: [4, 4], action: 2, actionProbability: 0.5, possibleActions: [0, 1, 1], reward: 0, terminal: false },
  { mdpId: 'a', sequenceNumber: 1, features: [2, 0], action: 2, actionProbability: 0.8, possibleActions: [1, 0, 1], reward: 2, rewardComponents: { revenue: 20 }, terminal: false },
  { mdpId: 'c', sequenceNumber: 1, features: [5, 5], action: 1, actionProbability: 0.5, possibleActions: [1, 1, 1], reward: 7, terminal: true },
];
const SCHEMA = { featureDim: 2, numActions: 3, rewardComponents: ['revenue'], allowGaps: true };

async function collect(batchRows: number): Promise<Record<string, unknown[]>> {
  const store = await memoryStore(SCHEMA);
  await store.append(LOG);
  const cols: Record<string, unknown[]> = {};
  const push = (b: TransitionBatch) => {
    for (const [key, value] of Object.entries(b)) {
      if (ArrayBuffer.isView(value) || Array.isArray(value)) (cols[key] ??= []).push(...Array.from(value as ArrayLike<unknown>));
    }
  };
  for await (const batch of streamTimeline(store, { batchRows, withIds: true })) push(batch);
  store.close();
  return cols;
}

describe('timeline', () => {
  it('gives next states, next actions, possible next actions and time gaps, value by value', async () => {
    const t = await collect(65_536);
    expect(t.mdpIds).toEqual(['a', 'a', 'a', 'b', 'c', 'c']);
    expect(t.sequenceNumbers).toEqual([0, 1, 3, 5, 0, 1]);
    expect(t.steps).toEqual([0, 1, 2, 0, 0, 1]);
    expect(t.states).toEqual([1, 0.5, 2, 0, 3, 0, 9, 9, 4, 4, 5, 5]);
    expect(t.actions).toEqual([0, 2, 1, 0, 2, 1]);
    expect(t.propensities).toEqual([0.5, 0.8, 0.25, 1, 0.5, 0.5]);
    expect(t.rewards).toEqual([1, 2, 3, -1, 0, 7]);
    expect(t.rewardComponents).toEqual([10, 20, 30, NaN, NaN, NaN]);
    // No mask logged at a/3 and b/5: every action allowed.
    expect(t.possibleActions).toEqual([1, 1, 0, 1, 0, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1]);
    expect(t.terminals).toEqual([0, 0, 1, 0, 0, 1]);
    expect(t.hasNext).toEqual([1, 1, 0, 0, 1, 0]);
    // Next state of a/0 is a/1, of a/1 is a/3 (across the gap); episode ends get zeros.
    expect(t.nextStates).toEqual([2, 0, 3, 0, 0, 0, 0, 0, 5, 5, 0, 0]);
    expect(t.nextActions).toEqual([2, 1, -1, -1, 1, -1]);
    // a/0 → mask of a/1; a/1 → a/3 has no mask (all allowed); ends → nothing possible.
    expect(t.possibleNextActions).toEqual([1, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0]);
    // a/1 → a/3 is a gap of 2; the last step of an episode has time_diff 1.
    expect(t.timeDiffs).toEqual([1, 2, 1, 1, 1, 1]);
  });

  it('gives the same rows in batches of any size (chunked reading)', async () => {
    const whole = await collect(65_536);
    for (const size of [1, 2, 4, 5]) expect(await collect(size)).toEqual(whole);
  });

  it('streams a log larger than one DuckDB chunk in fixed-size batches, episodes contiguous', async () => {
    const store = await memoryStore({ featureDim: 1, numActions: 2 });
    // 3000 episodes of 3 steps, generated in SQL; reward = episode * 10 + step.
    await store.engine.execute(`INSERT INTO decisions
      SELECT 'e' || lpad(CAST(i // 3 AS VARCHAR), 5, '0'), CAST(i % 3 AS INTEGER), NULL, [CAST(i AS FLOAT)], CAST(i % 2 AS INTEGER), 0.5, NULL,
        (i // 3) * 10 + i % 3, NULL, i % 3 = 2
      FROM range(9000) t(i)`);
    let rows = 0;
    let sum = 0;
    let sizes: number[] = [];
    for await (const b of streamTimeline(store, { batchRows: 4096 })) {
      sizes.push(b.n);
      for (let i = 0; i < b.n; i++) {
        const step = b.sequenceNumbers[i];
        expect(b.steps[i]).toBe(step);
        expect(b.hasNext[i]).toBe(step < 2 ? 1 : 0);
        if (step < 2) expect(b.nextStates[i]).toBe(b.states[i] + 1);
        sum += b.rewards[i];
      }
      rows += b.n;
    }
    expect(sizes).toEqual([4096, 4096, 808]);
    expect(rows).toBe(9000);
    expect(sum).toBe(3 * 10 * (2999 * 3000) / 2 + 3000 * 3);
    store.close();
  });

  it('writes the same transitions to Parquet with COPY', async () => {
    const store = await memoryStore(SCHEMA);
    await store.append(LOG);
    const path = join(dir, 't.parquet');
    expect(await timelineToParquet(store, path, { ordered: true })).toEqual({ rows: 6, path });
    const rows = await store.engine.query(
      `SELECT mdp_id, sequence_number, step, next_state_features, next_action, possible_next_actions, time_diff, terminal FROM read_parquet('${path}') ORDER BY mdp_id, sequence_number`,
    );
    expect(rows.map((r) => [r.mdp_id, r.sequence_number, r.step, r.next_state_features, r.next_action, r.possible_next_actions, r.time_diff, r.terminal])).toEqual([
      ['a', 0, 0, [2, 0], 2, [1, 0, 1], 1, false],
      ['a', 1, 1, [3, 0], 1, null, 2, false],
      ['a', 3, 2, null, null, null, 1, true],
      ['b', 5, 0, null, null, null, 1, false],
      ['c', 0, 0, [5, 5], 1, [1, 1, 1], 1, false],
      ['c', 1, 1, null, null, null, 1, true],
    ]);
    store.close();
  });

  it('computes per-feature statistics for normalisation', async () => {
    const store = await memoryStore({ ...SCHEMA, featureNames: ['x', 'y'] });
    await store.append(LOG);
    const s = await featureStatistics(store);
    const x = [1, 2, 3, 9, 4, 5];
    const y = [0.5, 0, 0, 9, 4, 5];
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    const std = (v: number[]) => Math.sqrt(mean(v.map((u) => (u - mean(v)) ** 2)));
    expect(s.rows).toBe(6);
    expect(s.names).toEqual(['x', 'y']);
    expect(Array.from(s.count)).toEqual([6, 6]);
    expect(s.mean[0]).toBeCloseTo(mean(x), 12);
    expect(s.mean[1]).toBeCloseTo(mean(y), 12);
    expect(s.std[0]).toBeCloseTo(std(x), 12);
    expect(s.std[1]).toBeCloseTo(std(y), 12);
    expect(Array.from(s.min)).toEqual([1, 0]);
    expect(Array.from(s.max)).toEqual([9, 9]);
    store.close();
  });

  it('keeps to portable SQL: standard window functions, no engine-specific functions', () => {
    const sql = timelineSql({ ordered: true });
    expect(sql).toContain('WINDOW w AS (PARTITION BY mdp_id ORDER BY sequence_number)');
    expect(sql).toContain('LEAD(state_features) OVER w AS next_state_features');
    expect(sql).not.toMatch(/lambda|->|::|list_|TRY_CAST|QUALIFY|"/i);
    // Per-feature access is the one dialect-dependent spelling.
    expect(featureStatsSql(2)).toContain('CAST(state_features[2] AS DOUBLE)');
    expect(featureStatsSql(2, sparkDialect)).toContain('CAST(element_at(state_features, 2) AS DOUBLE)');
  });
});
