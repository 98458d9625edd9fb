import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { run } from '../../src/cli/main.js';
import {
  evaluateLog,
  loadPolicyTable,
  parsePolicyTable,
  policyFromFunction,
  readBanditData,
  readBanditLog,
  readEpisodicData,
  uniformTargetPolicy,
  type Decision,
} from '../../src/data/index.js';
import { doublyRobust, ips, perDecisionIs, softmaxPolicyFromQ } from '../../src/ope/index.js';
import { HEADER, memoryStore, tempDir, writeCsv } from './helpers.js';

const dir = tempDir();

// A 4-row bandit log (one-step episodes), 2 actions, 1 feature (the context id).
const BANDIT: Decision[] = [
  { mdpId: 'u1', sequenceNumber: 0, features: [0], action: 0, actionProbability: 0.5, reward: 1, terminal: true },
  { mdpId: 'u2', sequenceNumber: 0, features: [1], action: 1, actionProbability: 0.5, reward: 0, terminal: true },
  { mdpId: 'u3', sequenceNumber: 0, features: [0], action: 0, actionProbability: 0.25, reward: 2, terminal: true },
  { mdpId: 'u4', sequenceNumber: 0, features: [1], action: 1, actionProbability: 0.75, reward: 1, terminal: true },
];
// π(0) = 0.8 everywhere: w = 1.6, 0.4, 3.2, 0.2/0.75; IPS = (1.6·1 + 0 + 3.2·2 + 0.8/3)/4.
const IPS_08 = (1.6 + 6.4 + 0.8 / 3) / 4;

// Two episodes with masks, for the episodic reader.
const EPISODES: Decision[] = [
  { mdpId: 'b', sequenceNumber: 0, features: [0], action: 1, actionProbability: 0.5, possibleActions: [1, 1], reward: 1, terminal: false },
  { mdpId: 'b', sequenceNumber: 1, features: [1], action: 0, actionProbability: 1, possibleActions: [1, 0], reward: 2, terminal: true },
  { mdpId: 'a', sequenceNumber: 0, features: [0], action: 0, actionProbability: 0.5, possibleActions: [1, 1], reward: 3, terminal: true },
];

describe('from a stored log to OPE inputs', () => {
  it('bandit data: rows in (mdp_id, sequence_number) order, π from the policy batch by batch', async () => {
    const store = await memoryStore({ featureDim: 1, numActions: 2 });
    await store.append([...BANDIT].reverse());
    const seen: string[][] = [];
    const policy = {
      name: 'pi08',
      numActions: 2,
      probabilities(batch: { n: number; mdpIds: readonly string[] }, out: Float64Array) {
        seen.push([...batch.mdpIds]);
        for (let i = 0; i < batch.n; i++) out.set([0.8, 0.2], i * 2);
      },
    };
    const data = await readBanditData(store, policy, { batchRows: 3 });
    expect(seen).toEqual([['u1', 'u2', 'u3'], ['u4']]);
    expect(Array.from(data.actions)).toEqual([0, 1, 0, 1]);
    expect(Array.from(data.propensities)).toEqual([0.5, 0.5, 0.25, 0.75]);
    expect(Array.from(data.features!)).toEqual([0, 1, 0, 1]);
    expect(data.actionMask).toBeUndefined();
    expect(ips().estimate(data).value).toBeCloseTo(IPS_08, 12);
    const log = await readBanditLog(store);
    expect(log.n).toBe(4);
    store.close();
  });

  it('episodic data: episodes by mdp_id, masks where logged, π checked against the masks', async () => {
    const store = await memoryStore({ featureDim: 1, numActions: 2 });
    await store.append(EPISODES);
    const data = await readEpisodicData(store, uniformTargetPolicy(2), { gamma: 0.5 });
    expect(Array.from(data.episodeStarts)).toEqual([0, 1, 3]);
    expect(Array.from(data.rewards)).toEqual([3, 1, 2]);
    expect(Array.from(data.actionMask!)).toEqual([1, 1, 1, 1, 1, 0]);
    expect(Array.from(data.targetProbs)).toEqual([0.5, 0.5, 0.5, 0.5, 1, 0]);
    // PDIS by hand: episode a: 3 · (0.5/0.5) = 3; episode b: 1 · 1 + 0.5 · 2 · (0.5/0.5)(1/1) = 2.
    expect(perDecisionIs().estimate(data).value).toBeCloseTo((3 + 2) / 2, 12);
    const bad = policyFromFunction('always-0', 2, (_x, _m, out) => out.fill(0).fill(1, 1, 2));
    await expect(readEpisodicData(store, bad)).rejects.toThrow(
      'target policy always-0 at mdp_id "b", sequence_number 1: π(1): expected 0 (action 1 is not possible at this step), received 1',
    );
    store.close();
  });

  it('a PolicyFunction from kairos/ope plugs in (softmax over Q)', async () => {
    const store = await memoryStore({ featureDim: 1, numActions: 2 });
    await store.append(BANDIT);
    const q = (x: Float32Array) => [x[0] === 0 ? 1 : 0, 0];
    const policy = policyFromFunction('greedy-q', 2, softmaxPolicyFromQ(q, 0));
    const data = await readBanditData(store, policy);
    expect(Array.from(data.targetProbs)).toEqual([1, 0, 0.5, 0.5, 1, 0, 0.5, 0.5]);
    store.close();
  });
});

describe('probability tables', () => {
  it('reads per-row and per-state tables from JSON and CSV', () => {
    const rows = parsePolicyTable(JSON.stringify({ rows: [{ mdp_id: 'u1', sequence_number: 0, probabilities: [0.25, 0.75] }] }), 'json', 'rows.json');
    const out = new Float64Array(2);
    rows.probabilities({ n: 1, featureDim: 0, numActions: 2, mdpIds: ['u1'], sequenceNumbers: Int32Array.of(0), features: new Float32Array(0), masks: null }, out);
    expect(Array.from(out)).toEqual([0.25, 0.75]);
    const states = parsePolicyTable('state,p0,p1\n"0.1,2",0.5,0.5\n*,1,0\n', 'csv', 'states.csv');
    const out2 = new Float64Array(4);
    states.probabilities(
      { n: 2, featureDim: 2, numActions: 2, mdpIds: ['a', 'b'], sequenceNumbers: Int32Array.of(0, 0), features: Float32Array.of(0.1, 2, 7, 7), masks: null },
      out2,
    );
    expect(Array.from(out2)).toEqual([0.5, 0.5, 1, 0]);
    const csvRows = parsePolicyTable('mdp_id,sequence_number,p0,p1\nu1,0,0.5,0.5\n', 'csv', 'r.csv');
    expect(() =>
      csvRows.probabilities({ n: 1, featureDim: 0, numActions: 2, mdpIds: ['u9'], sequenceNumbers: Int32Array.of(3), features: new Float32Array(0), masks: null }, new Float64Array(2)),
    ).toThrow('target policy r.csv: no probabilities for mdp_id "u9", sequence_number 3');
  });

  it('rejects malformed tables with the place and the value', () => {
    expect(() => parsePolicyTable('{"states": {"0": [0.5, 0.6]}}', 'json', 't.json')).toThrow(/t\.json: states\["0"\]: expected probabilities summing to 1 ± 0\.000001 \(sum 1\.1\)/);
    expect(() => parsePolicyTable('{"rows": [{"mdp_id": "a", "sequence_number": 0, "probabilities": [0.5, 0.5]}, {"mdp_id": "b", "sequence_number": 0, "probabilities": [1]}]}', 'json', 't.json')).toThrow(
      't.json: rows[1].probabilities: expected 2 probabilities (numActions), received [1]',
    );
    expect(() => parsePolicyTable('state,p0,p2\n0,1,0\n', 'csv', 't.csv')).toThrow('t.csv: probability columns must be p0, p1, ..., p<K-1>; p1 is missing');
    expect(() => parsePolicyTable('state,p0,p1\n0,x,1\n', 'csv', 't.csv')).toThrow(/t\.csv: line 2\[0\]: expected a probability in \[0, 1\], received NaN/);
    expect(() => loadPolicyTable(join(dir, 'policy.txt'))).toThrow(/a target policy table is a \.json or \.csv file/);
  });
});

describe('evaluateLog', () => {
  it('matches the estimators run directly, and normalises by the logged value', async () => {
    const store = await memoryStore({ featureDim: 1, numActions: 2 });
    await store.append(BANDIT);
    const policy = parsePolicyTable('{"states": {}, "default": [0.8, 0.2]}', 'json', 'pi08');
    const result = await evaluateLog(store, policy, { estimators: ['ips', 'dr'], bootstrap: 50, model: 'tabular' });
    expect(result.meta).toMatchObject({ kind: 'bandit', decisions: 4, episodes: 4, estimators: ['ips', 'dr'] });
    const [ipsEntry, drEntry] = result.report.estimates;
    expect(ipsEntry.value).toBeCloseTo(IPS_08, 12);
    const data = await readBanditData(store, policy);
    const { fitRewardModel } = await import('../../src/ope/index.js');
    expect(drEntry.value).toBeCloseTo(doublyRobust().estimate(data, fitRewardModel(data, { kind: 'tabular', folds: 2, seed: 0 })).value, 12);
    // Both exceed the largest logged reward (2), which no policy's mean reward can: failures, with why.
    expect(IPS_08).toBeGreaterThan(2);
    expect(result.report.range).toMatchObject({ lower: 0, upper: 2 });
    expect(ipsEntry).toMatchObject({ status: 'failed', normalised: { value: NaN } });
    expect(ipsEntry.failure).toMatch(/^value 2\.0667 lies outside the achievable range \[0\.0000, 2\.0000\] \(rewards in \[0, 2\]\); row 2 carries 50\.0% of the estimate's influence; 4 of 4 rows have non-zero weight, largest weight 3\.2000 \(row 2\)$/);
    expect(ipsEntry.interval).toBeUndefined();
    expect(result.report.failures).toBe(2);
    await expect(evaluateLog(store, policy, { estimators: ['nope'] })).rejects.toThrow(/unknown bandit estimator "nope": expected one of dm, ips/);
    store.close();
  });
});

describe('kairos data and kairos ope', () => {
  let out: string[] = [];
  let err: string[] = [];
  beforeEach(() => {
    out = [];
    err = [];
    vi.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' ')));
    vi.spyOn(console, 'error').mockImplementation((...a) => void err.push(a.join(' ')));
  });
  afterEach(() => vi.restoreAllMocks());
  const kairos = (...args: string[]) => run(['node', 'kairos', ...args]);

  const csv = () =>
    writeCsv(
      join(dir, 'bandit.csv'),
      HEADER,
      BANDIT.map((d) => [d.mdpId, 0, `[${d.features[0]}]`, d.action, d.actionProbability, null, d.reward, null, 'true']),
    );

  it('imports, validates, exports and runs the timeline', async () => {
    const db = join(dir, 'cli.duckdb');
    expect(await kairos('data', 'import', csv(), '--data', db)).toBe(0);
    expect(out.join('\n')).toContain('4 rows read, imported 4, skipped 0');
    expect(await kairos('data', 'validate', db)).toBe(0);
    expect(await kairos('data', 'export', join(dir, 'cli.parquet'), '--data', db)).toBe(0);
    expect(out.join('\n')).toContain('exported 4 decisions');
    expect(await kairos('data', 'timeline', '--data', db, '--out', join(dir, 'tl.parquet'))).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'tl.stats.json'), 'utf8'))).toEqual({
      rows: 4,
      features: [{ name: 'f0', count: 4, mean: 0.5, std: 0.5, min: 0, max: 1 }],
    });
    const bad = writeCsv(join(dir, 'bad-cli.csv'), HEADER, [['z', 0, '[1]', 0, 0, null, 1, null, 'true']]);
    out = [];
    expect(await kairos('data', 'validate', bad, '--data', db)).toBe(1);
    expect(out.join('\n')).toContain('row 1 (mdp_id "z", sequence_number 0): action_probability: expected a probability in (0, 1], received 0');
    expect(await kairos('data', 'import', bad, '--data', db)).toBe(1);
    expect(err.join('\n')).toMatch(/^kairos: .*bad-cli\.csv: 1 of 1 rows are invalid, nothing imported/);
    expect(existsSync(join(dir, 'never.duckdb'))).toBe(false);
    expect(await kairos('data', 'import', bad, '--data', join(dir, 'never.duckdb'))).toBe(1);
    expect(existsSync(join(dir, 'never.duckdb'))).toBe(false);
  });

  it('kairos ope writes report.json, report.md and a self-contained report.html, and prints a table', async () => {
    const db = join(dir, 'ope.duckdb');
    expect(await kairos('data', 'import', csv(), '--data', db)).toBe(0);
    const policy = join(dir, 'target.json');
    writeFileSync(policy, JSON.stringify({ states: { '0': [0.8, 0.2], '1': [0.8, 0.2] } }));
    const outDir = join(dir, 'report');
    out = [];
    const args = ['ope', '--data', db, '--policy', policy, '--estimators', 'ips,snips,dm,dr', '--bootstrap', '30', '--seed', '3', '--model', 'tabular', '--out', outDir];
    // IPS (2.0667) exceeds the largest reward: a failure, so exit 3 unless accepted.
    expect(await kairos(...args)).toBe(3);
    expect(out.join('\n')).toMatch(/some estimates failed: exit code 3 \(pass --accept-failures to accept the rest\)/);
    out = [];
    expect(await kairos(...args, '--accept-failures')).toBe(0);
    const text = out.join('\n');
    expect(text).toMatch(/bandit evaluation over 4 rows\ntarget policy: .*target\.json\nlogging policy value 1\.0000 ± 0\.4082; achievable range \[0\.0000, 2\.0000\]/);
    expect(text).toMatch(/support: support too low: estimates rest on the model \(ESS 2\.3 of 4 rows; needs >= 30 and >= 1%\)/);
    expect(text).toMatch(/warning: only 4 rows \(fewer than 100\)/);
    expect(text).toMatch(/estimator\s+value\s+95% interval\s+normalised\s+ESS/);
    expect(text).toMatch(/ips\s+FAILED/);
    expect(text).toMatch(/FAILED ips:\n  value 2\.0667 lies outside the achievable range/);
    const report = JSON.parse(readFileSync(join(outDir, 'report.json'), 'utf8'));
    expect(report).toMatchObject({ kind: 'bandit', decisions: 4, seed: 3, estimators: ['ips', 'snips', 'dm', 'dr'] });
    expect(report.report.estimates.map((e: { estimator: string }) => e.estimator)).toEqual(['ips', 'snips', 'dm', 'dr']);
    expect(report.report.estimates[0].value).toBeCloseTo(IPS_08, 12);
    expect(report.report.bootstrap).toMatchObject({ resamples: 30, seed: 3 });
    expect(readFileSync(join(outDir, 'report.md'), 'utf8')).toContain('| ips | **FAILED** | - |');
    const html = readFileSync(join(outDir, 'report.html'), 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/<script|<link|src=|href=|https?:/);
    expect(html).toContain('support too low: estimates rest on the model');
    expect(html).toMatch(/<td class="failed" colspan="2">FAILED<\/td>/);
    expect(html).toContain('Kish effective sample size');
    const index = readFileSync(join(outDir, 'index.html'), 'utf8');
    expect(index).toMatch(/<a href="report\.html">.*target\.json.*: report<\/a> <span class="failed">support too low[^<]*; 2 failed<\/span>/);
    expect(index).toContain('<a href="report.json">');
    // Sequential: the per-state CSV table, episodes of the imported log.
    const seq = join(dir, 'seq.duckdb');
    const seqCsv = writeCsv(
      join(dir, 'episodes.csv'),
      HEADER,
      EPISODES.map((d) => [d.mdpId, d.sequenceNumber, `[${d.features[0]}]`, d.action, d.actionProbability, `[${Array.from(d.possibleActions!).join(', ')}]`, d.reward, null, String(d.terminal)]),
    );
    expect(await kairos('data', 'import', seqCsv, '--data', seq)).toBe(0);
    const statePolicy = writeCsv(join(dir, 'states.csv'), ['state', 'p0', 'p1'], [['0', 0.5, 0.5], ['1', 1, 0]]);
    out = [];
    expect(await kairos('ope', '--data', seq, '--policy', statePolicy, '--estimators', 'pdis,wpdis', '--bootstrap', '0', '--gamma', '0.5', '--out', join(dir, 'seq-report'), '--json')).toBe(0);
    const seqReport = JSON.parse(out.join('\n'));
    expect(seqReport.report).toMatchObject({ kind: 'sequential', n: 2, gamma: 0.5, bootstrap: null });
    expect(seqReport.report.estimates[0].value).toBeCloseTo(2.5, 12);
  });

  it('ope errors are one line naming what is wrong', async () => {
    const db = join(dir, 'ope2.duckdb');
    expect(await kairos('data', 'import', csv(), '--data', db)).toBe(0);
    const partial = join(dir, 'partial.json');
    writeFileSync(partial, JSON.stringify({ rows: [{ mdp_id: 'u1', sequence_number: 0, probabilities: [1, 0] }] }));
    expect(await kairos('ope', '--data', db, '--policy', partial, '--bootstrap', '0', '--out', join(dir, 'r2'))).toBe(1);
    expect(err.at(-1)).toMatch(/^kairos: target policy .*partial\.json: no probabilities for mdp_id "u2", sequence_number 0$/);
    expect(await kairos('ope', '--data', join(dir, 'missing.duckdb'), '--policy', partial)).toBe(1);
    expect(err.at(-1)).toMatch(/^kairos: no decision log at .*missing\.duckdb$/);
    expect(await kairos('ope', '--data', db, '--policy', partial, '--kind', 'sideways')).not.toBe(0);
  });
});
