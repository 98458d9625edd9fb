import fc from 'fast-check';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.js';
import { checkDecision, DecisionSchema, LogStore, parseLogSchema, type Decision } from '../../src/data/index.js';
import { expectedRow, memoryStore, storedRows, tempDir } from './helpers.js';

const dir = tempDir();

const decision = (over: Partial<Decision> = {}): Decision => ({
  mdpId: 'u1',
  sequenceNumber: 0,
  features: [0.5, 1],
  action: 1,
  actionProbability: 0.5,
  reward: 1,
  terminal: false,
  ...over,
});

describe('LogStore', () => {
  it('creates a file, appends in one transaction, reopens with its schema and rows', async () => {
    const path = join(dir, 'a.duckdb');
    const store = await LogStore.create(path, { featureDim: 2, numActions: 3, featureNames: ['age', 'hour'], rewardComponents: ['revenue'] });
    const rows = [
      decision({ timestamp: new Date('2024-05-01T12:00:00Z'), possibleActions: [1, 1, 0], rewardComponents: { revenue: 2.5 } }),
      decision({ sequenceNumber: 1, features: [0.1, 2], action: 2, actionProbability: 0.25, terminal: true }),
    ];
    expect(await store.append(rows)).toBe(2);
    expect(await store.count()).toBe(2);
    store.close();
    const again = await LogStore.open(path, { readOnly: true });
    expect(again.schema).toEqual({ featureDim: 2, numActions: 3, featureNames: ['age', 'hour'], rewardComponents: ['revenue'], allowGaps: false });
    const stored = await storedRows(again);
    expect(stored[0]).toMatchObject({ ...expectedRow(rows[0]), timestamp: expect.stringContaining('2024-05-01') });
    expect(stored[1]).toMatchObject({ ...expectedRow(rows[1]), timestamp: null });
    expect(stored[1].state_features).toEqual([Math.fround(0.1), 2]);
    again.close();
  });

  it('an invalid row in a batch appends nothing and names the row and field', async () => {
    const store = await memoryStore({ featureDim: 2, numActions: 3 });
    await expect(store.append([decision(), decision({ sequenceNumber: 1, actionProbability: 0 })])).rejects.toThrow(
      'append: rows[1]: actionProbability: expected a probability in (0, 1], received 0',
    );
    await expect(store.append([decision({ features: [1] })])).rejects.toThrow('features.length: expected 2 (featureDim), received 1');
    await expect(store.append([decision({ possibleActions: [1, 0, 1] })])).rejects.toThrow('action: expected an allowed action (possibleActions[1] is 0), received 1');
    expect(await store.count()).toBe(0);
    store.close();
  });

  it('refuses to open what is not a log, and to change the schema of a log with rows', async () => {
    await expect(LogStore.open(join(dir, 'missing.duckdb'), { readOnly: true })).rejects.toThrow('no decision log at');
    const store = await memoryStore({ featureDim: 2, numActions: 3 });
    await store.append([decision()]);
    await expect(store.setSchema({ featureDim: 3, numActions: 3 })).rejects.toThrow(/refusing to change it/);
    await expect(store.setSchema({ featureDim: 2, numActions: 3 })).resolves.toMatchObject({ featureDim: 2 });
    store.close();
    const fresh = await LogStore.open(':memory:');
    expect(fresh.schema).toBeNull();
    await expect(fresh.append([decision()])).rejects.toThrow(/has no schema yet/);
    fresh.close();
  });

  it('schema names must match featureDim and be distinct', () => {
    expect(() => parseLogSchema({ featureDim: 2, numActions: 2, featureNames: ['a'] })).toThrow('featureNames: expected 2 names (featureDim), received 1');
    expect(() => parseLogSchema({ featureDim: 1, numActions: 2, rewardComponents: ['r', 'r'] })).toThrow('rewardComponents: expected distinct names');
    expect(() => parseLogSchema({ featureDim: 1, numActions: 0 })).toThrow(/numActions: expected >= 1/);
  });
});

describe('DecisionWriter', () => {
  it('batches rows, commits every batchRows and on close, and keeps rows from a reused buffer', async () => {
    const store = await memoryStore({ featureDim: 2, numActions: 2 });
    const writer = await store.writer({ batchRows: 3 });
    const buf = new Float32Array(2);
    for (let e = 0; e < 4; e++) {
      for (let t = 0; t < 2; t++) {
        buf[0] = e;
        buf[1] = t;
        writer.append(decision({ mdpId: `e${e}`, sequenceNumber: t, features: buf, action: t, terminal: t === 1 }));
      }
    }
    expect(writer.rowCount).toBe(8);
    // 6 rows committed (two batches of 3); 2 pending until close.
    expect(await store.count()).toBe(6);
    await writer.close();
    expect(await store.count()).toBe(8);
    const rows = await storedRows(store);
    expect(rows.map((r) => r.state_features)).toEqual([[0, 0], [0, 1], [1, 0], [1, 1], [2, 0], [2, 1], [3, 0], [3, 1]]);
    expect(() => writer.append(decision())).toThrow('append on a closed writer');
    store.close();
  });

  it('rejects duplicate and skipped sequence numbers of an open episode, and keeps going', async () => {
    const store = await memoryStore({ featureDim: 2, numActions: 2 });
    const writer = await store.writer();
    writer.append(decision({ sequenceNumber: 0 }));
    expect(() => writer.append(decision({ sequenceNumber: 0 }))).toThrow(
      'writer: decision 2: sequenceNumber: expected 1 (the previous step of episode "u1" is 0), received 0',
    );
    expect(() => writer.append(decision({ sequenceNumber: 2 }))).toThrow(/expected 1 \(the previous step/);
    expect(() => writer.append(decision({ sequenceNumber: 1, action: 5 }))).toThrow('action: expected an integer in [0, 2), received 5');
    writer.append(decision({ sequenceNumber: 1, terminal: true }));
    await writer.close();
    expect(await store.count()).toBe(2);
    store.close();
  });

  it('with allowGaps, sequence numbers need only increase', async () => {
    const store = await memoryStore({ featureDim: 2, numActions: 2, allowGaps: true });
    const writer = await store.writer();
    writer.append(decision({ sequenceNumber: 10 }));
    writer.append(decision({ sequenceNumber: 15 }));
    expect(() => writer.append(decision({ sequenceNumber: 15 }))).toThrow(/a sequence number > 15/);
    await writer.close();
    expect(await store.count()).toBe(2);
    store.close();
  });

  it('appends rows across several DuckDB chunks, committing at batch boundaries', async () => {
    const store = await memoryStore({ featureDim: 8, numActions: 4 });
    const writer = await store.writer({ batchRows: 4000 });
    const f = new Float32Array(8);
    const n = 10_000;
    for (let i = 0; i < n; i++) {
      f[0] = i;
      writer.append({ mdpId: `e${i}`, sequenceNumber: 0, features: f, action: i % 4, actionProbability: 0.25, possibleActions: [1, 1, 1, 1], reward: 1, terminal: true });
    }
    expect(await store.count()).toBe(8000);
    await writer.close();
    const [row] = await store.engine.query('SELECT COUNT(*) AS n, SUM(state_features[1]) AS s FROM decisions');
    expect(row).toEqual({ n, s: (n * (n - 1)) / 2 });
    store.close();
  });
});

describe('checkDecision agrees with DecisionSchema', () => {
  const schema = parseLogSchema({ featureDim: 2, numActions: 3, rewardComponents: ['r'] });
  const arb = fc.record({
    mdpId: fc.oneof(fc.constant(''), fc.string({ minLength: 1, maxLength: 4 })),
    sequenceNumber: fc.oneof(fc.integer({ min: -5, max: 5 }), fc.double(), fc.constant(2 ** 31)),
    features: fc.array(fc.oneof(fc.double({ min: -10, max: 10, noNaN: true }), fc.constant(NaN)), { minLength: 1, maxLength: 3 }),
    action: fc.oneof(fc.integer({ min: -1, max: 3 }), fc.constant(0.5)),
    actionProbability: fc.oneof(fc.double({ min: -0.5, max: 1.5 }), fc.constant(1), fc.constant(0)),
    possibleActions: fc.option(fc.array(fc.constantFrom(0, 1), { minLength: 3, maxLength: 3 }), { nil: undefined }),
    reward: fc.oneof(fc.double({ min: -5, max: 5, noNaN: true }), fc.constant(Infinity)),
    rewardComponents: fc.option(fc.record({ r: fc.double({ min: -1, max: 1, noNaN: true }) }), { nil: undefined }),
    terminal: fc.boolean(),
  });

  it('whatever checkDecision accepts, the zod schema accepts; zod rejections are checkDecision rejections', () => {
    fc.assert(
      fc.property(arb, (d) => {
        let ok = true;
        try {
          checkDecision(d as Decision, schema);
        } catch (err) {
          expect(err).toBeInstanceOf(ValidationError);
          ok = false;
        }
        const zodOk = DecisionSchema.safeParse(d).success;
        if (ok) expect(zodOk).toBe(true);
        if (!zodOk) expect(ok).toBe(false);
      }),
      { numRuns: 300, seed: 7 },
    );
  });
});

it('creating a store on disk makes the file', async () => {
  const path = join(dir, 'b.duckdb');
  const store = await LogStore.open(path);
  expect(existsSync(path)).toBe(true);
  expect(store.schema).toBeNull();
  store.close();
});
