import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { run } from '../../src/cli/main.js';

let out: string[] = [];
let err: string[] = [];
let tmp: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kairos-cli-offline-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
beforeEach(() => {
  out = [];
  err = [];
  vi.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a) => void err.push(a.join(' ')));
});
afterEach(() => vi.restoreAllMocks());

const kairos = (...args: string[]) => run(['node', 'kairos', ...args]);

describe('kairos simulate → train-offline → eval / ope', () => {
  it('round-trips on a tiny GridWorld', async () => {
    const log = path.join(tmp, 'grid.duckdb');
    expect(await kairos('simulate', 'GridWorld-v0', '--out', log, '--episodes', '30', '--seed', '1', '--policy', 'heuristic', '--epsilon', '0.5', '--json')).toBe(0);
    expect(err.join('\n')).toBe('');
    const sim = JSON.parse(out.at(-1) as string);
    expect(sim).toMatchObject({ env: 'GridWorld-v0', episodes: 30, policy: 'heuristic:epsilon-greedy(ε=0.5)', rewardComponents: ['revisit', 'task'] });

    const config = path.join(tmp, 'config.json');
    fs.writeFileSync(config, JSON.stringify({ batchSize: 32, network: { hiddenSizes: [16] } }));
    const runDir = path.join(tmp, 'run');
    out = [];
    expect(await kairos('train-offline', 'cql', '--data', log, '--steps', '200', '--config', config, '--run-dir', runDir, '--final-eval-episodes', '2', '--json')).toBe(0);
    expect(err.join('\n')).toBe('');
    const summary = JSON.parse(out.at(-1) as string);
    expect(summary).toMatchObject({ algorithm: 'dqn', env: 'GridWorld-v0', steps: 200, offline: { algorithm: 'cql', cqlAlpha: 0.05 } });
    const spec = JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8'));
    expect(spec.config).toMatchObject({ batchSize: 32, cqlAlpha: 0.05, network: { hiddenSizes: [16] } });

    out = [];
    expect(await kairos('eval', runDir, '--episodes', '2', '--json')).toBe(0);
    // The same seeds and a greedy policy: eval reproduces the run's final evaluation.
    expect(JSON.parse(out.at(-1) as string).returns).toEqual(summary.finalEvaluation.returns);

    // Standardised features are folded into the saved network: eval on raw observations
    // reproduces the run's own final evaluation.
    const stdDir = path.join(tmp, 'run-std');
    out = [];
    expect(await kairos('train-offline', 'cql', '--data', log, '--steps', '100', '--config', config, '--run-dir', stdDir, '--final-eval-episodes', '2', '--standardize-features', '--json')).toBe(0);
    const stdSummary = JSON.parse(out.at(-1) as string);
    expect(stdSummary.offline.standardization.scale).toHaveLength(30);
    out = [];
    expect(await kairos('eval', stdDir, '--episodes', '2', '--json')).toBe(0);
    expect(JSON.parse(out.at(-1) as string).returns).toEqual(stdSummary.finalEvaluation.returns);

    // A run trained from a log without a simulator record names env 'none': eval asks for --env.
    const specFile = path.join(runDir, 'run.json');
    fs.writeFileSync(specFile, JSON.stringify({ ...spec, env: { id: 'none', options: {} } }));
    expect(await kairos('eval', runDir, '--episodes', '2')).toBe(1);
    expect(err.at(-1)).toMatch(/trained from a log without a simulator: pass --env <id>/);
    expect(await kairos('eval', runDir, '--episodes', '2', '--options', '{}')).toBe(1);
    expect(err.at(-1)).toMatch(/--options: give --env with it/);
    out = [];
    expect(await kairos('eval', runDir, '--episodes', '2', '--env', 'GridWorld-v0', '--json')).toBe(0);
    expect(JSON.parse(out.at(-1) as string)).toMatchObject({ env: 'GridWorld-v0', returns: summary.finalEvaluation.returns });
    fs.writeFileSync(specFile, JSON.stringify(spec));
    err = [];

    out = [];
    expect(await kairos('ope', '--data', log, '--policy', runDir, '--estimators', 'dr,wdr', '--bootstrap', '0', '--out', path.join(tmp, 'ope'), '--json')).toBe(0);
    expect(JSON.parse(out.at(-1) as string).report.estimates.map((e: { estimator: string }) => e.estimator)).toEqual(['dr', 'wdr']);

    // The trained run as a behaviour policy: ε-greedy of its Q-values.
    out = [];
    const log2 = path.join(tmp, 'grid2.duckdb');
    expect(await kairos('simulate', 'GridWorld-v0', '--out', log2, '--episodes', '3', '--policy', runDir, '--epsilon', '0.2')).toBe(0);
    expect(out.join('\n')).toMatch(/by run .*\(dqn, epsilon-greedy, ε=0.2\)/);
    expect(out.join('\n')).toMatch(/behaviour value: mean return/);
  });

  it('names the option, the value and the expectation on bad input', async () => {
    const log = path.join(tmp, 'bad.duckdb');
    expect(await kairos('simulate', 'GridWorld-v0', '--out', log, '--policy', 'greedy')).toBe(1);
    expect(err.at(-1)).toMatch(/kairos simulate: policy: expected random, heuristic, or a run folder \(with run.json\), received "greedy"/);
    expect(await kairos('simulate', 'GridWorld-v0', '--out', log, '--policy', 'heuristic', '--epsilon', 'lots')).toBe(1);
    expect(err.at(-1)).toMatch(/epsilon: expected number, received "lots"/);
    expect(await kairos('simulate', 'GridWorld-v0', '--out', log, '--policy', 'heuristic', '--epsilon', '0.1', '--temperature', '2')).toBe(1);
    expect(err.at(-1)).toMatch(/temperature: expected either --epsilon or --temperature, not both/);
    expect(await kairos('train-offline', 'ppo', '--data', log)).toBe(1);
    expect(err.at(-1)).toMatch(/kairos train-offline: algorithm: expected one of "dqn", "cql", received "ppo"/);
    expect(await kairos('train-offline', 'dqn', '--data', path.join(tmp, 'nope.duckdb'))).toBe(1);
    expect(err.at(-1)).toMatch(/data: expected an existing .duckdb decision log, received ".*nope.duckdb"/);
    expect(fs.existsSync(log)).toBe(false);
  });
});
