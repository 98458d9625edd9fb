import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { run } from '../../src/cli/main.js';

let out: string[] = [];
let err: string[] = [];
let tmp: string;

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'kairos-cli-train-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});
beforeEach(() => {
  out = [];
  err = [];
  vi.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a) => void err.push(a.join(' ')));
});
afterEach(() => vi.restoreAllMocks());

const kairos = (...args: string[]) => run(['node', 'kairos', ...args]);

describe('kairos train / eval', () => {
  it('trains a small DQN run with a config file, then evaluates it', async () => {
    const config = path.join(tmp, 'dqn.json');
    await fs.writeFile(config, JSON.stringify({ network: { hiddenSizes: [16] }, batchSize: 16, learningStarts: 100, trainFreq: 4, gradientSteps: 1 }));
    const runDir = path.join(tmp, 'run');
    const code = await kairos('train', 'dqn', '--env', 'CartPole-v1', '--steps', '400', '--config', config, '--run-dir', runDir, '--final-eval-episodes', '3', '--eval-every', '0', '--json');
    expect(err.join('\n')).toBe('');
    expect(code).toBe(0);
    const summary = JSON.parse(out.at(-1) as string);
    expect(summary).toMatchObject({ algorithm: 'dqn', env: 'CartPole-v1', steps: 400, interrupted: false });
    expect(summary.finalEvaluation.returns).toHaveLength(3);
    // The preset was merged under the file: batch size from the file, buffer from the preset.
    const spec = JSON.parse(await fs.readFile(path.join(runDir, 'run.json'), 'utf8'));
    expect(spec.config).toMatchObject({ batchSize: 16, bufferSize: 100_000, network: { hiddenSizes: [16] } });
    for (const f of ['metrics.jsonl', 'episodes.jsonl', 'summary.json', 'model/policy.kst']) await fs.access(path.join(runDir, f));

    out = [];
    expect(await kairos('eval', runDir, '--episodes', '3', '--json')).toBe(0);
    const ev = JSON.parse(out.at(-1) as string);
    // Same seeds and a greedy policy: the final evaluation is reproduced exactly.
    expect(ev.returns).toEqual(summary.finalEvaluation.returns);

    expect(await kairos('train', '--resume', runDir)).toBe(1);
    expect(err.join('\n')).toMatch(/already finished/);
  });

  it('keeps the best-evaluated policy as model/best.kst, and eval --best reproduces its evaluation', async () => {
    const config = path.join(tmp, 'dqn-best.json');
    await fs.writeFile(config, JSON.stringify({ network: { hiddenSizes: [16] }, batchSize: 16, learningStarts: 50, trainFreq: 1, gradientSteps: 1, learningRate: 0.01 }));
    const runDir = path.join(tmp, 'run-best');
    const code = await kairos('train', 'dqn', '--env', 'CartPole-v1', '--no-preset', '--steps', '800', '--config', config, '--run-dir', runDir, '--eval-every', '200', '--eval-episodes', '2', '--final-eval-episodes', '2', '--json');
    expect(err.join('\n')).toBe('');
    expect(code).toBe(0);
    const summary = JSON.parse(out.at(-1) as string);
    const evals = (await fs.readFile(path.join(runDir, 'evaluations.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { step: number; meanReturn: number });
    expect(evals.map((e) => e.step)).toEqual([200, 400, 600, 800]);
    const candidates = [...evals, { step: 800, meanReturn: summary.finalEvaluation.meanReturn }];
    const top = Math.max(...candidates.map((e) => e.meanReturn));
    expect(summary.bestEvaluation.meanReturn).toBe(top);
    // The first evaluation reaching the maximum wins (later ties do not replace it).
    expect(summary.bestEvaluation.step).toBe(candidates.find((e) => e.meanReturn === top)?.step);
    out = [];
    expect(await kairos('eval', runDir, '--best', '--episodes', '2', '--json')).toBe(0);
    expect(JSON.parse(out.at(-1) as string).meanReturn).toBe(top);
  });

  it('rejects bad configs up front, naming the field', async () => {
    const bad = path.join(tmp, 'bad.json');
    await fs.writeFile(bad, JSON.stringify({ batchSize: 'big' }));
    expect(await kairos('train', 'dqn', '--env', 'CartPole-v1', '--config', bad, '--run-dir', path.join(tmp, 'r2'))).toBe(1);
    expect(err.join('\n')).toMatch(/batchSize/);
    err = [];
    expect(await kairos('train', 'nope', '--env', 'CartPole-v1', '--run-dir', path.join(tmp, 'r3'))).toBe(1);
    expect(err.join('\n')).toMatch(/algorithm.*"dqn"/);
    err = [];
    expect(await kairos('train', 'dqn', '--env', 'Pendulum-v1', '--run-dir', path.join(tmp, 'r4'))).toBe(1);
    expect(err.join('\n')).toMatch(/Discrete/);
    err = [];
    expect(await kairos('eval', path.join(tmp, 'missing'))).toBe(1);
    expect(err.join('\n')).toMatch(/not a Kairos run folder/);
  });
});
