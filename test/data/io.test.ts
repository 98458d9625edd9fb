import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exportLog, importLog, LogStore, validateFile, type Decision, type LogFormat } from '../../src/data/index.js';
import { HEADER, memoryStore, storedRows, tempDir, writeCsv, writeJsonl } from './helpers.js';

const dir = tempDir();

interface Log {
  schema: { featureDim: number; numActions: number; rewardComponents: string[] };
  decisions: Decision[];
}

const float = fc.float({ min: -1000, max: 1000, noNaN: true, noDefaultInfinity: true }).map((x) => (x === 0 ? 0 : x));
const double = fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true }).map((x) => (x === 0 ? 0 : x));

/** Random valid logs: 1-5 episodes of 1-4 steps, optional masks, components and timestamps. */
const logArb: fc.Arbitrary<Log> = fc
  .record({
    d: fc.integer({ min: 0, max: 3 }),
    k: fc.integer({ min: 1, max: 4 }),
    comps: fc.subarray(['clicks', 'revenue']),
    masks: fc.boolean(),
    stamps: fc.boolean(),
  })
  .chain(({ d, k, comps, masks, stamps }) =>
    fc
      .array(
        fc.array(
          fc.record({
            features: fc.array(float, { minLength: d, maxLength: d }),
            mask: fc.array(fc.constantFrom(0, 1), { minLength: k, maxLength: k }),
            pick: fc.nat(),
            p: fc.double({ min: 1e-6, max: 1, noNaN: true }),
            reward: double,
            comps: fc.array(double, { minLength: comps.length, maxLength: comps.length }),
            ms: fc.integer({ min: 0, max: 2e12 }),
          }),
          { minLength: 1, maxLength: 4 },
        ),
        { minLength: 1, maxLength: 5 },
      )
      .map((episodes) => {
        const decisions: Decision[] = [];
        episodes.forEach((steps, e) =>
          steps.forEach((s, t) => {
            const mask = s.mask.some((m) => m === 1) ? s.mask : s.mask.map((_, a) => (a === 0 ? 1 : 0));
            const allowed = mask.flatMap((m, a) => (m ? [a] : []));
            decisions.push({
              mdpId: `ep-${e}`,
              sequenceNumber: t,
              ...(stamps ? { timestamp: s.ms } : {}),
              features: s.features,
              action: allowed[s.pick % allowed.length],
              actionProbability: s.p,
              possibleActions: masks ? mask : null,
              reward: s.reward,
              rewardComponents: comps.length ? Object.fromEntries(comps.map((c, j) => [c, s.comps[j]])) : null,
              terminal: t === steps.length - 1,
            });
          }),
        );
        return { schema: { featureDim: d, numActions: k, rewardComponents: comps }, decisions };
      }),
  );

describe('round trips', () => {
  for (const format of ['csv', 'parquet', 'jsonl'] as LogFormat[]) {
    it(`valid random logs survive export to ${format} and import back unchanged`, async () => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(logArb, async (log) => {
          const a = await memoryStore(log.schema);
          const b = await memoryStore(log.schema);
          try {
            await a.append(log.decisions);
            const file = join(dir, `rt-${run++}.${format}`);
            await exportLog(a, file);
            const r = await importLog(b, file);
            expect(r).toMatchObject({ imported: log.decisions.length, skipped: 0, issueCount: 0 });
            expect(await storedRows(b)).toEqual(await storedRows(a));
          } finally {
            a.close();
            b.close();
          }
        }),
        { numRuns: 6, seed: 11 },
      );
    });
  }

  it('CSV export is readable: lists and maps as text, one header', async () => {
    const store = await memoryStore({ featureDim: 2, numActions: 2, rewardComponents: ['revenue'] });
    await store.append([
      { mdpId: 'u', sequenceNumber: 0, features: [0.5, -2], action: 1, actionProbability: 0.25, possibleActions: [1, 1], reward: 1.5, rewardComponents: { revenue: 3 }, terminal: true },
    ]);
    const file = join(dir, 'one.csv');
    await exportLog(store, file);
    expect(readFileSync(file, 'utf8')).toBe(
      'mdp_id,sequence_number,timestamp,state_features,action,action_probability,possible_actions,reward,reward_components,terminal\n' +
        'u,0,,"[0.5, -2.0]",1,0.25,"[1, 1]",1.5,{revenue=3.0},true\n',
    );
    store.close();
  });
});

describe('layouts and schema inference', () => {
  it('wide CSV: feature columns, reward_<name> columns, terminal derived from the last step', async () => {
    const file = writeCsv(
      join(dir, 'wide.csv'),
      ['mdp_id', 'sequence_number', 'age', 'hour', 'action', 'action_probability', 'reward', 'reward_revenue', 'reward_clicks'],
      [
        ['u1', 0, 31, 9, 0, 0.5, 1, 2, 1],
        ['u1', 1, 31, 10, 2, 0.5, 0, 0, 0],
        ['u2', 0, 45, 23, 1, 0.2, 3, 5, 1],
      ],
    );
    const store = await LogStore.open(':memory:');
    const r = await importLog(store, file);
    expect(r.schemaInferred).toBe(true);
    expect(store.schema).toEqual({ featureDim: 2, numActions: 3, featureNames: ['age', 'hour'], rewardComponents: ['clicks', 'revenue'], allowGaps: false });
    const rows = await storedRows(store);
    expect(rows.map((x) => [x.mdp_id, x.sequence_number, x.state_features, x.terminal, x.reward_components])).toEqual([
      ['u1', 0, [31, 9], false, { clicks: 1, revenue: 2 }],
      ['u1', 1, [31, 10], true, { clicks: 0, revenue: 0 }],
      ['u2', 0, [45, 23], true, { clicks: 1, revenue: 5 }],
    ]);
    // A second file must agree with the names the first one set.
    const other = writeCsv(join(dir, 'wide2.csv'), ['mdp_id', 'sequence_number', 'hour', 'age', 'action', 'action_probability', 'reward'], [['u3', 0, 1, 2, 0, 1, 0]]);
    await expect(importLog(store, other)).rejects.toThrow(/feature columns hour, age differ from the log's feature names age, hour/);
    store.close();
  });

  it('wide features: a non-numeric cell names its column', async () => {
    const file = writeCsv(join(dir, 'wide-bad.csv'), ['mdp_id', 'sequence_number', 'age', 'action', 'action_probability', 'reward'], [
      ['u1', 0, 31, 0, 0.5, 1],
      ['u2', 0, 'old', 0, 0.5, 1],
    ]);
    const store = await LogStore.open(':memory:');
    const r = await validateFile(store, file);
    expect(r.issues).toEqual([{ row: 2, mdpId: 'u2', sequenceNumber: 0, field: 'age', value: 'old', expected: 'a finite number (state feature)' }]);
    store.close();
  });

  it('infers numActions from masks, else from the largest action; options override', async () => {
    const withMask = writeJsonl(join(dir, 'mask.jsonl'), [
      { mdp_id: 'a', sequence_number: 0, state_features: [1], action: 0, action_probability: 1, possible_actions: [1, 0, 0, 0], reward: 0 },
    ]);
    const s1 = await LogStore.open(':memory:');
    await importLog(s1, withMask);
    expect(s1.schema).toMatchObject({ featureDim: 1, numActions: 4 });
    s1.close();
    const noMask = writeJsonl(join(dir, 'nomask.jsonl'), [
      { mdp_id: 'a', sequence_number: 0, state_features: [1], action: 2, action_probability: 1, reward: 0 },
    ]);
    const s2 = await LogStore.open(':memory:');
    await importLog(s2, noMask);
    expect(s2.schema).toMatchObject({ numActions: 3 });
    s2.close();
    const s3 = await LogStore.open(':memory:');
    await importLog(s3, noMask, { schema: { numActions: 5, allowGaps: true } });
    expect(s3.schema).toMatchObject({ numActions: 5, allowGaps: true });
    await expect(importLog(s3, noMask, { schema: { numActions: 6 } })).rejects.toThrow(/numActions 6 differs from the log's 5/);
    s3.close();
  });
});

type Corruption = 'propensity' | 'action' | 'reward' | 'features' | 'sequence';
const FIELD: Record<Corruption, string> = {
  propensity: 'action_probability',
  action: 'action',
  reward: 'reward',
  features: 'state_features',
  sequence: 'sequence_number',
};

/** The CSV cells of a decision, in HEADER order. */
function cells(d: Decision): (string | number | null)[] {
  return [
    d.mdpId,
    d.sequenceNumber,
    `[${Array.from(d.features).join(', ')}]`,
    d.action,
    d.actionProbability,
    d.possibleActions ? `[${Array.from(d.possibleActions).join(', ')}]` : null,
    d.reward,
    d.rewardComponents ? `{${Object.entries(d.rewardComponents).map(([k, v]) => `${k}=${v}`).join(', ')}}` : null,
    String(d.terminal),
  ];
}

describe('random corruptions are reported, never imported', () => {
  it('the corrupted row is named with its field; reject imports nothing; skip drops exactly its episode', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        logArb,
        fc.nat(),
        fc.constantFrom<Corruption>('propensity', 'action', 'reward', 'features', 'sequence'),
        fc.constantFrom('0', '-0.5', '1.5', 'x', ''),
        async (log, pick, kind, badProb) => {
          const rows = log.decisions.map(cells);
          let i = pick % rows.length;
          if (kind === 'sequence') {
            // Push the last step of a multi-step episode one further: a gap before it.
            const lasts = log.decisions.flatMap((d, j) => (d.terminal && d.sequenceNumber > 0 ? [j] : []));
            if (lasts.length === 0) kind = 'propensity';
            else i = lasts[pick % lasts.length];
          }
          const k = log.schema.numActions;
          if (kind === 'propensity') rows[i][4] = badProb === '' ? null : badProb;
          if (kind === 'action') rows[i][3] = pick % 2 ? k : -1;
          if (kind === 'reward') rows[i][6] = pick % 2 ? 'abc' : null;
          if (kind === 'features') rows[i][2] = `[${[...Array.from(log.decisions[i].features), 1].join(', ')}]`;
          if (kind === 'sequence') rows[i][1] = log.decisions[i].sequenceNumber + 1;
          const file = writeCsv(join(dir, `bad-${run++}.csv`), HEADER, rows);
          const store = await memoryStore(log.schema);
          try {
            const v = await validateFile(store, file, { maxIssues: 1000 });
            expect(v.issues.some((x) => x.row === i + 1 && x.field === FIELD[kind])).toBe(true);
            expect(v.issues.every((x) => x.row === i + 1)).toBe(true);
            await expect(importLog(store, file)).rejects.toThrow(`row ${i + 1}`);
            expect(await store.count()).toBe(0);
            const skipped = await importLog(store, file, { mode: 'skip' });
            const episode = log.decisions[i].mdpId;
            const inEpisode = log.decisions.filter((d) => d.mdpId === episode).length;
            expect(skipped.imported).toBe(log.decisions.length - inEpisode);
            expect(await store.count()).toBe(log.decisions.length - inEpisode);
          } finally {
            store.close();
          }
        },
      ),
      { numRuns: 10, seed: 5 },
    );
  });
});
