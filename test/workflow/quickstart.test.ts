import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { run } from '../../src/cli/main.js';
import { LogStore } from '../../src/data/store.js';
import { loadRunSpec } from '../../src/train/run.js';
import { renderQuickstartTable, runQuickstart } from '../../src/workflow/quickstart.js';

let tmp: string;
beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'kairos-quickstart-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

describe('quickstart', () => {
  it('runs both rounds on a small budget and leaves each artefact where the summary says', async () => {
    const stages: string[] = [];
    const out = path.join(tmp, 'qs');
    const result = await runQuickstart({ out, envs: ['NotificationDelivery-v0'], episodes: 60, updates: 200, evalEpisodes: 20, bootstrap: 10, neuralFqe: { iterations: 5, stepsPerIteration: 10, hiddenSizes: [16] }, onStage: (_e, s, _d, round) => stages.push(`${round}:${s}`) });
    const five = ['simulate', 'timeline', 'train', 'ope', 'truth'];
    // Round 2 first re-evaluates the deployed round-1 policy (its truth is known), then the new one.
    expect(stages).toEqual([...five.map((s) => `1:${s}`), '2:simulate', '2:timeline', '2:train', '2:ope', '2:ope', '2:truth']);
    const [{ rounds }] = result.envs;
    expect(rounds.map((r) => r.round)).toEqual([1, 2]);
    expect(rounds.map((r) => r.policies.map((p) => p.name))).toEqual([['offline cql'], ['round-1 policy', 'offline cql (α = 0.5)']]);
    for (const r of rounds) {
      await fs.access(r.logPath);
      await fs.access(r.timelinePath);
      // The log holds every logged decision.
      const store = await LogStore.open(r.logPath, { readOnly: true });
      const [{ n }] = await store.engine.query('SELECT COUNT(*) AS n FROM decisions');
      store.close();
      expect(Number(n)).toBe(r.decisions);
      for (const p of r.policies) {
        for (const f of [path.join(p.runDir, 'model', 'policy.kst'), path.join(p.reportDir, 'report.html')]) await fs.access(f);
        // The run remembers the simulator for ground truth.
        expect((await loadRunSpec(p.runDir)).env.id).toBe('NotificationDelivery-v0');
        expect(p.estimates.map((e) => e.estimator)).toEqual(['dr', 'wdr', 'magic']);
        for (const e of p.estimates) {
          expect(e.lower).toBeLessThanOrEqual(e.upper);
          expect(e.covers).toBe(e.lower <= p.mean && p.mean <= e.upper);
        }
        expect(p.support.ess).toBeGreaterThanOrEqual(0);
        expect(p.support.ess).toBeLessThanOrEqual(r.episodes + 1e-9);
        expect(p.support.supported).toBe(p.support.essFraction >= 0.01);
        expect(p.improvementZ).toBeCloseTo((p.mean - r.behaviour.mean) / Math.hypot(p.stderr, r.behaviour.stderr), 12);
      }
    }
    const [r1, r2] = rounds;
    expect(r1.policies[0].runDir).toBe(path.join(out, 'NotificationDelivery-v0', 'round1', 'run'));
    // Round 2 logs the round-1 policy, ε-greedy, re-evaluates it with its known truth, and trains conservative CQL.
    expect(r2.behaviour.name).toBe('round-1 policy, ε-greedy (ε = 0.3)');
    expect(r2.policies[0]).toMatchObject({ runDir: r1.policies[0].runDir, mean: r1.policies[0].mean, stderr: r1.policies[0].stderr });
    expect(r2.policies[0].reportDir).toBe(path.join(out, 'NotificationDelivery-v0', 'round2', 'ope-round1-policy'));
    expect(r2.policies[1].runDir).toBe(path.join(out, 'NotificationDelivery-v0', 'round2', 'run'));
    expect((await loadRunSpec(r2.policies[1].runDir)).config).toMatchObject({ cqlAlpha: 0.5 });
    // Round 1 values with the simulator's simple FQE model, round 2 with neural FQE.
    const modelOf = async (dir: string) => JSON.parse(await fs.readFile(path.join(dir, 'report.json'), 'utf8')).model;
    expect(await modelOf(r1.policies[0].reportDir)).toBe('linear FQE, 2-fold cross-fitted');
    for (const p of r2.policies) expect(await modelOf(p.reportDir)).toBe('neural FQE, 2-fold cross-fitted');
    const summary = JSON.parse(await fs.readFile(path.join(out, 'summary.json'), 'utf8'));
    expect(summary.envs[0].rounds).toHaveLength(2);
    const table = renderQuickstartTable(result);
    expect(table).toContain('| NotificationDelivery-v0 | 1 | offline cql |');
    expect(table).toContain('| NotificationDelivery-v0 | 2 | round-1 policy |');
    expect(table).toContain('| NotificationDelivery-v0 | 2 | offline cql (α = 0.5) |');
    // A second run into the same folder is refused unless asked to overwrite.
    await expect(runQuickstart({ out, envs: ['NotificationDelivery-v0'], episodes: 10 })).rejects.toThrow(/not empty/);
  });

  it('rejects an unknown simulator and bad CLI options with the field named', async () => {
    await expect(runQuickstart({ out: path.join(tmp, 'x'), envs: ['CartPole-v1'] })).rejects.toThrow(/envs: expected one of AdsSupply-v0, NotificationDelivery-v0/);
    await expect(runQuickstart({ out: path.join(tmp, 'x'), rounds: 3 as 2 })).rejects.toThrow(/rounds: expected 1 or 2, received 3/);
    const err: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((...a) => void err.push(a.join(' ')));
    try {
      expect(await run(['node', 'kairos', 'quickstart', '--algorithm', 'ppo', '--out', path.join(tmp, 'y')])).toBe(1);
    } finally {
      vi.restoreAllMocks();
    }
    expect(err.join('\n')).toMatch(/algorithm/);
  });
});
