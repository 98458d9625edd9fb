import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importLog, LogStore, LogValidationError, validateFile, validateStore, type RowIssue } from '../../src/data/index.js';
import { HEADER, memoryStore, tempDir, writeCsv, writeJsonl } from './helpers.js';

const dir = tempDir();
const SCHEMA = { featureDim: 2, numActions: 3, rewardComponents: ['revenue'] };

/** One row per line; each bad row sits in its own episode so the errors do not interact. */
const ROWS: (string | number | null)[][] = [
  ['ok', 0, '[0.5, 1]', 1, 0.5, '[1, 1, 0]', 1, '{revenue=1}', 'true'], // row 1: valid
  [null, 0, '[0.5, 1]', 1, 0.5, null, 1, null, 'true'], // row 2: missing mdp_id
  ['s', '1.5', '[0.5, 1]', 1, 0.5, null, 1, null, 'true'], // row 3: non-integer sequence_number
  ['p1', 0, '[0.5, 1]', 1, 'abc', null, 1, null, 'true'], // row 4: non-numeric propensity
  ['p2', 0, '[0.5, 1]', 1, 0, null, 1, null, 'true'], // row 5: propensity 0
  ['p3', 0, '[0.5, 1]', 1, 1.25, null, 1, null, 'true'], // row 6: propensity > 1
  ['a1', 0, '[0.5, 1]', 3, 0.5, null, 1, null, 'true'], // row 7: action outside [0, 3)
  ['a2', 0, '[0.5, 1]', 2, 0.5, '[1, 1, 0]', 1, null, 'true'], // row 8: action masked out
  ['f1', 0, '[0.5]', 1, 0.5, null, 1, null, 'true'], // row 9: wrong feature length
  ['f2', 0, '[0.5, x]', 1, 0.5, null, 1, null, 'true'], // row 10: non-numeric feature
  ['r1', 0, '[0.5, 1]', 1, 0.5, null, null, null, 'true'], // row 11: missing reward
  ['t1', 0, '[0.5, 1]', 1, 0.5, null, 1, null, 'maybe'], // row 12: bad terminal
  ['m1', 0, '[0.5, 1]', 1, 0.5, '[1, 1]', 1, null, 'true'], // row 13: mask of wrong length
  ['m2', 0, '[0.5, 1]', 1, 0.5, '[1, 2, 1]', 1, null, 'true'], // row 14: mask not 0/1
  ['c1', 0, '[0.5, 1]', 1, 0.5, null, 1, '{cost=1}', 'true'], // row 15: undeclared component
  ['d', 0, '[0.5, 1]', 1, 0.5, null, 1, null, 'false'], // row 16
  ['d', 0, '[0.5, 1]', 1, 0.5, null, 1, null, 'true'], // row 17: duplicate of row 16
  ['g', 0, '[0.5, 1]', 1, 0.5, null, 1, null, 'false'], // row 18
  ['g', 2, '[0.5, 1]', 1, 0.5, null, 1, null, 'true'], // row 19: gap (1 missing)
  ['e', 0, '[0.5, 1]', 1, 0.5, null, 1, null, 'true'], // row 20: terminal, yet the episode goes on
  ['e', 1, '[0.5, 1]', 1, 0.5, null, 1, null, 'true'], // row 21
  ['ok2', 0, '[0.5, 1]', 0, 1, null, -2.5, null, 'true'], // row 22: valid (propensity 1 is allowed)
];

const expectIssue = (issues: RowIssue[], row: number, field: string, value: string | null, expected: string | RegExp) => {
  const found = issues.filter((i) => i.row === row && i.field === field);
  expect(found, `row ${row} ${field}: ${JSON.stringify(issues.filter((i) => i.row === row))}`).toHaveLength(1);
  expect(found[0].value).toBe(value);
  if (typeof expected === 'string') expect(found[0].expected).toBe(expected);
  else expect(found[0].expected).toMatch(expected);
};

describe('validation names the row, the field, the value and what was expected', () => {
  const csv = writeCsv(join(dir, 'bad.csv'), HEADER, ROWS);

  it('finds every planted error and nothing else', async () => {
    const store = await memoryStore(SCHEMA);
    const r = await validateFile(store, csv, { maxIssues: 100 });
    const issues = r.issues;
    expectIssue(issues, 2, 'mdp_id', null, 'a non-empty episode id');
    expectIssue(issues, 3, 'sequence_number', '1.5', 'a 32-bit integer');
    expectIssue(issues, 4, 'action_probability', 'abc', 'a probability in (0, 1]');
    expectIssue(issues, 5, 'action_probability', '0', 'a probability in (0, 1]');
    expectIssue(issues, 6, 'action_probability', '1.25', 'a probability in (0, 1]');
    expectIssue(issues, 7, 'action', '3', 'an integer action in [0, 3)');
    expectIssue(issues, 8, 'action', '2', 'an allowed action (possible_actions[2] is 0)');
    expectIssue(issues, 9, 'state_features', '[0.5]', "2 features (the log's feature_dim), found 1");
    expectIssue(issues, 10, 'state_features', '[0.5, x]', 'a list of 2 finite numbers (single precision)');
    expectIssue(issues, 11, 'reward', null, 'a finite number');
    expectIssue(issues, 12, 'terminal', 'maybe', 'true or false');
    expectIssue(issues, 13, 'possible_actions', '[1, 1]', "3 values (the log's num_actions), found 2");
    expectIssue(issues, 14, 'possible_actions', '[1, 2, 1]', '0/1 values (1 = allowed)');
    expectIssue(issues, 15, 'reward_components', '{cost=1}', 'the components revenue (every one, or none)');
    expectIssue(issues, 17, 'sequence_number', '0', 'a (mdp_id, sequence_number) pair not seen before (row 16 has it)');
    expectIssue(issues, 19, 'sequence_number', '2', '1 (the previous step of this episode is 0; gaps are not allowed)');
    expectIssue(issues, 20, 'terminal', 'true', 'false (the episode continues at sequence_number 1, row 21)');
    expect(new Set(issues.map((i) => i.row))).toEqual(new Set([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17, 19, 20]));
    expect(r).toMatchObject({ rowsRead: 22, badRows: 17, issueCount: 17, imported: 0 });
    expect(await store.count()).toBe(0);
    store.close();
  });

  it('reject (the default) imports nothing and the error lists the first bad rows and the count', async () => {
    const store = await memoryStore(SCHEMA);
    const err = await importLog(store, csv).catch((e) => e);
    expect(err).toBeInstanceOf(LogValidationError);
    expect(err.message).toMatch(/^.*bad\.csv: 17 of 22 rows are invalid, nothing imported \(mode reject; mode skip imports the valid episodes\): row 2: mdp_id: expected a non-empty episode id, received nothing \(missing\); row 3 \(mdp_id "s"\): sequence_number: expected a 32-bit integer, received 1\.5; row 4 \(mdp_id "p1", sequence_number 0\): action_probability: expected a probability in \(0, 1\], received "abc"; \.\.\. \(14 more issues\)$/);
    expect(err.message).not.toContain('\n');
    expect(err.summary.badRows).toBe(17);
    expect(await store.count()).toBe(0);
    store.close();
  });

  it('skip imports the valid episodes and writes every skipped row, with its reason, to the report', async () => {
    const store = await memoryStore(SCHEMA);
    const report = join(dir, 'skipped.csv');
    const r = await importLog(store, csv, { mode: 'skip', reportPath: report });
    // Rows 1 and 22 are valid; row 16 is valid but its episode "d" has the duplicate row 17,
    // row 18 is valid but episode "g" has a gap at row 19, row 21 goes with row 20's episode.
    expect(r).toMatchObject({ rowsRead: 22, imported: 2, skipped: 20, badRows: 17 });
    expect(await store.count()).toBe(2);
    const lines = readFileSync(report, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('row,mdp_id,sequence_number,field,value,expected,action');
    expect(lines).toHaveLength(1 + 17 + 3);
    expect(lines).toContain('16,d,0,(episode),d,an episode with no invalid rows (row 17 of it is invalid),skipped');
    expect(lines).toContain('18,g,0,(episode),g,an episode with no invalid rows (row 19 of it is invalid),skipped');
    expect(lines).toContain('21,e,1,(episode),e,an episode with no invalid rows (row 20 of it is invalid),skipped');
    expect(lines).toContain('5,p2,0,action_probability,0,"a probability in (0, 1]",skipped');
    store.close();
  });

  it('checks duplicates, gaps and terminal steps against the rows already stored', async () => {
    const store = await memoryStore(SCHEMA);
    await store.append([
      { mdpId: 'x', sequenceNumber: 0, features: [0, 0], action: 0, actionProbability: 0.5, reward: 0, terminal: false },
      { mdpId: 'x', sequenceNumber: 1, features: [0, 0], action: 0, actionProbability: 0.5, reward: 0, terminal: false },
      { mdpId: 'y', sequenceNumber: 0, features: [0, 0], action: 0, actionProbability: 0.5, reward: 0, terminal: true },
    ]);
    const more = writeCsv(join(dir, 'more.csv'), HEADER, [
      ['x', 1, '[0, 0]', 0, 0.5, null, 0, null, 'false'], // duplicate of a stored row
      ['x', 3, '[0, 0]', 0, 0.5, null, 0, null, 'true'], // gap after stored step 1
      ['y', 1, '[0, 0]', 0, 0.5, null, 0, null, 'true'], // after the stored terminal step
      ['z', 0, '[0, 0]', 0, 0.5, null, 0, null, 'true'],
    ]);
    const r = await validateFile(store, more);
    expectIssue(r.issues, 1, 'sequence_number', '1', 'a (mdp_id, sequence_number) pair not seen before (the log already holds it)');
    expectIssue(r.issues, 2, 'sequence_number', '3', '2 (the previous step of this episode is 1; gaps are not allowed)');
    expectIssue(r.issues, 3, 'sequence_number', '1', 'no step after the terminal step 0 of this episode (in the log)');
    expect(r.badRows).toBe(3);
    const imported = await importLog(store, more, { mode: 'skip' });
    expect(imported.imported).toBe(1);
    expect(await store.count()).toBe(4);
    store.close();
  });

  it('allowGaps accepts skipping sequence numbers', async () => {
    const store = await memoryStore({ ...SCHEMA, allowGaps: true });
    const gaps = writeCsv(join(dir, 'gaps.csv'), HEADER, [
      ['g', 0, '[0, 0]', 0, 0.5, null, 0, null, 'false'],
      ['g', 5, '[0, 0]', 0, 0.5, null, 0, null, 'true'],
    ]);
    expect((await importLog(store, gaps)).imported).toBe(2);
    store.close();
  });

  it('JSON lines: wrong types are row errors, missing keys are missing values', async () => {
    const path = writeJsonl(join(dir, 'bad.jsonl'), [
      { mdp_id: 'a', sequence_number: 0, state_features: [1, 2], action: 0, action_probability: 0.5, reward: 1, terminal: true },
      { mdp_id: 'b', sequence_number: 0, state_features: [1, 'x'], action: '1', action_probability: 0.5, reward: 1, terminal: true },
      { mdp_id: 'c', sequence_number: 0, state_features: 'oops', action: 1, action_probability: 0.5, terminal: true },
      { mdp_id: 'd', sequence_number: 0, state_features: [1, 2], action: 1.5, action_probability: null, reward: 1, terminal: true },
    ]);
    const store = await memoryStore({ featureDim: 2, numActions: 2 });
    const r = await validateFile(store, path, { maxIssues: 50 });
    expectIssue(r.issues, 2, 'state_features', '[1,"x"]', /a list of 2 (finite )?numbers/);
    expectIssue(r.issues, 3, 'state_features', '"oops"', 'a list of 2 numbers');
    expectIssue(r.issues, 3, 'reward', null, 'a finite number');
    expectIssue(r.issues, 4, 'action', '1.5', 'an integer action in [0, 2)');
    expectIssue(r.issues, 4, 'action_probability', null, 'a probability in (0, 1]');
    expect(r.issues.some((i) => i.row === 1 || (i.row === 2 && i.field === 'action'))).toBe(false);
    store.close();
  });

  it('structural problems fail the whole file with one line naming it', async () => {
    const store = await memoryStore(SCHEMA);
    const ragged = join(dir, 'ragged.csv');
    writeFileSync(ragged, `${HEADER.join(',')}\nu,0,"[0, 0]",0,0.5,,1,,true\nu,1\n`);
    await expect(importLog(store, ragged)).rejects.toThrow(/ragged\.csv: .*CSV Error on Line: 3.*Expected Number of Columns: 9 Found: 2/);
    const noReward = writeCsv(join(dir, 'noreward.csv'), ['mdp_id', 'sequence_number', 'state_features', 'action', 'action_probability'], [['u', 0, '[0, 0]', 0, 0.5]]);
    await expect(importLog(store, noReward)).rejects.toThrow(/noreward\.csv: missing column\(s\) reward/);
    const extra = writeCsv(join(dir, 'extra.csv'), [...HEADER, 'colour'], [['u', 0, '[0, 0]', 0, 0.5, null, 1, null, 'true', 'red']]);
    await expect(importLog(store, extra)).rejects.toThrow(/unexpected column\(s\) colour next to state_features/);
    const notJson = join(dir, 'broken.jsonl');
    writeFileSync(notJson, '{"mdp_id": "a"}\nnot json\n');
    await expect(importLog(store, notJson)).rejects.toThrow(/broken\.jsonl: .*Malformed JSON/);
    await expect(importLog(store, join(dir, 'nope.csv'))).rejects.toThrow('no such file');
    expect(await store.count()).toBe(0);
    store.close();
  });

  it('validateStore checks a stored log (a table written by another tool)', async () => {
    const store = await memoryStore({ featureDim: 2, numActions: 2 });
    await store.engine.execute(`INSERT INTO decisions VALUES
      ('a', 0, NULL, [1, 2], 0, 0.5, NULL, 1, NULL, false),
      ('a', 2, NULL, [1, 2], 1, 1.5, [1, 0], 1, NULL, true),
      ('b', 0, NULL, [1], 0, 0.5, NULL, 1, NULL, true)`);
    const s = await validateStore(store, { maxIssues: 10 });
    expectIssue(s.issues, 2, 'sequence_number', '2', '1 (the previous step of this episode is 0; gaps are not allowed)');
    expectIssue(s.issues, 2, 'action_probability', '1.5', 'a probability in (0, 1]');
    expectIssue(s.issues, 2, 'action', '1', 'an allowed action (possible_actions[1] is 0)');
    expectIssue(s.issues, 3, 'state_features', '[1.0]', "2 features (the log's feature_dim), found 1");
    await expect(validateStore(store, { throwOnError: true })).rejects.toThrow(/:memory:: 2 of 3 rows are invalid/);
    store.close();
  });
});

it('a failed first import into a new file log keeps it usable', async () => {
  const path = join(dir, 'fresh.duckdb');
  const store = await LogStore.open(path);
  await expect(importLog(store, writeCsv(join(dir, 'allbad.csv'), HEADER, [['u', 0, '[0]', 0, 2, null, 1, null, 'true']]))).rejects.toThrow(LogValidationError);
  expect(store.schema).toBeNull();
  store.close();
});
