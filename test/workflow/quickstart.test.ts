import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { run } from '../../src/cli/main.js';
import { LogStore } from '../../src/data/store.js';
import { loadRunSpec } from '../../src/train/run.js';
import { adsMyopicPolicy, bestNotificationSpacing, evaluateAdsSupplyPolicy, solveAdsSupply } from '../../src/envs/index.js';
import { QUICKSTART_SIMULATORS, renderQuickstartTable, runQuickstart } from '../../src/workflow/quickstart.js';

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
    // Baselines first; then per round log, timeline, train, the new policy's truth, its OPE.
    // Round 2 first re-evaluates the deployed round-1 policy (its truth is known), then the new one.
    expect(stages).toEqual(['0:baselines', ...['simulate', 'timeline', 'train', 'truth', 'ope'].map((s) => `1:${s}`), '2:simulate', '2:timeline', '2:train', '2:ope', '2:truth', '2:ope']);
    const [env] = result.envs;
    const { rounds } = env;
    expect(rounds.map((r) => r.round)).toEqual([1, 2]);
    expect(rounds.map((r) => r.policies.map((p) => p.name))).toEqual([['offline cql'], ['round-1 policy', 'offline cql']]);
    // The baselines: the heuristic's and the constant policy's exact values, and 20 simulated episodes each.
    expect(env.references.map((r) => r.name)).toEqual(['plain heuristic', 'best constant policy']);
    const heuristic = env.references[0];
    expect(heuristic.exact).toBeCloseTo(bestNotificationSpacing().value, 12);
    expect(env.references[1]).toMatchObject({ description: 'never send', exact: 0, mean: 0, stderr: 0, episodes: 20 });
    // The heuristic is the best simple policy here, so learned policies are compared with it once.
    expect(env.bestSimple).toBe('plain heuristic');
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
          expect(['ok', 'failed']).toContain(e.status);
        }
        expect(p.support.ess).toBeGreaterThanOrEqual(0);
        expect(p.support.ess).toBeLessThanOrEqual(r.episodes + 1e-9);
        expect(p.support.message.length).toBeGreaterThan(0);
        expect(p.improvementZ).toBeCloseTo((p.mean - r.behaviour.mean) / Math.hypot(p.stderr, r.behaviour.stderr), 12);
        // Against the heuristic: the paired difference over the same 20 seeds.
        expect(p.versus.map((v) => v.against)).toEqual(['plain heuristic']);
        expect(p.versus[0].difference).toBeCloseTo(p.mean - heuristic.mean, 9);
        expect(p.versus[0].verdict).toBe(p.versus[0].z > 2 ? 'better' : p.versus[0].z < -2 ? 'worse' : 'no clear difference');
        // No exact evaluator for a closed-loop notification policy.
        expect(p.exact).toBeNull();
      }
    }
    const [r1, r2] = rounds;
    expect(r1.policies[0].runDir).toBe(path.join(out, 'NotificationDelivery-v0', 'round1', 'run'));
    expect(r1.gain).toBeNull();
    // Round 2 logs the round-1 policy, ε-greedy, re-evaluates it with its known truth, and trains the next policy.
    expect(r2.behaviour.name).toBe('round-1 policy, ε-greedy (ε = 0.3)');
    expect(r2.policies[0]).toMatchObject({ runDir: r1.policies[0].runDir, mean: r1.policies[0].mean, stderr: r1.policies[0].stderr });
    expect(r2.policies[0].reportDir).toBe(path.join(out, 'NotificationDelivery-v0', 'round2', 'ope-round1-policy'));
    expect(r2.policies[1].runDir).toBe(path.join(out, 'NotificationDelivery-v0', 'round2', 'run'));
    expect(r2.gain?.difference).toBeCloseTo(r2.policies[1].mean - r1.policies[0].mean, 9);
    const training = QUICKSTART_SIMULATORS['NotificationDelivery-v0'].training;
    for (const p of [r1.policies[0], r2.policies[1]]) expect((await loadRunSpec(p.runDir)).config).toMatchObject({ ...training.config, cqlAlpha: training.cqlAlpha });
    // Round 1 values with the simulator's simple FQE model, round 2 with neural FQE.
    const report = async (dir: string) => JSON.parse(await fs.readFile(path.join(dir, 'report.json'), 'utf8'));
    expect((await report(r1.policies[0].reportDir)).model).toBe('linear FQE, 2-fold cross-fitted');
    for (const p of r2.policies) expect((await report(p.reportDir)).model).toBe('neural FQE, 2-fold cross-fitted');
    // Reports carry the policy's real name and the simulated truth.
    expect((await report(r2.policies[1].reportDir)).policy).toBe('offline cql (round 2)');
    expect((await report(r1.policies[0].reportDir)).truth.value).toBe(r1.policies[0].mean);
    const summary = JSON.parse(await fs.readFile(path.join(out, 'summary.json'), 'utf8'));
    expect(summary.envs[0].rounds).toHaveLength(2);
    expect(summary.envs[0].references).toHaveLength(2);
    // The table: every baseline and every policy has a row; saved as Markdown and HTML.
    const table = renderQuickstartTable(result);
    for (const row of ['|  | plain heuristic (the best fixed spacing, a send when 3 slots have passed) | 2.587 |', '|  | best constant policy (never send) | 0.000 | 0.000 ± 0.000 |', '| 1 | logging: ε-greedy (ε = 0.5) around the heuristic |', '| 1 | offline cql |', '| 2 | logging: round-1 policy, ε-greedy (ε = 0.3) |', '| 2 | offline cql |', '| 2 | round-1 policy |']) {
      expect(table).toContain(row);
    }
    expect(table).toContain('Round 2 against round 1 (same simulator seeds)');
    expect(await fs.readFile(path.join(out, 'table.md'), 'utf8')).toContain(table);
    const html = await fs.readFile(path.join(out, 'table.html'), 'utf8');
    expect(html).toContain('<td class="l">best constant policy (never send)</td>');
    expect(html).toContain('<a href="index.html">');
    // The index links the table and each round's reports, under the policies' real names.
    const index = await fs.readFile(path.join(out, 'index.html'), 'utf8');
    for (const link of ['table.html', 'table.md', 'summary.json', 'NotificationDelivery-v0/round1/ope/report.html', 'NotificationDelivery-v0/round2/ope-round1-policy/report.html', 'NotificationDelivery-v0/round2/ope/report.html']) {
      expect(index).toContain(`href="${link}"`);
    }
    expect(index).toContain('offline cql (round 1): report');
    expect(index).not.toContain('dqn:greedy');
    expect(result.files).toEqual({ summary: path.join(out, 'summary.json'), tableMarkdown: path.join(out, 'table.md'), tableHtml: path.join(out, 'table.html'), index: path.join(out, 'index.html') });
    // A second run into the same folder is refused unless asked to overwrite.
    await expect(runQuickstart({ out, envs: ['NotificationDelivery-v0'], episodes: 10 })).rejects.toThrow(/not empty/);
  });

  it('puts AdsSupply policies against the exact optimum and the best constant policy', async () => {
    const out = path.join(tmp, 'ads');
    const result = await runQuickstart({ out, envs: ['AdsSupply-v0'], rounds: 1, episodes: 200, updates: 100, evalEpisodes: 30, bootstrap: 4 });
    const [env] = result.envs;
    const opts = { fatigueStep: 0.25 };
    expect(env.references.map((r) => [r.name, r.description])).toEqual([
      ['exact optimum', 'dynamic programming on the discretised model'],
      ['plain heuristic', 'myopic, the ad load that pays most on the page'],
      ['best constant policy', '1 ad every page'],
    ]);
    expect(env.references[0].exact).toBeCloseTo(solveAdsSupply(opts).value, 12);
    expect(env.references[1].exact).toBeCloseTo(evaluateAdsSupplyPolicy(opts, adsMyopicPolicy(opts)).value, 12);
    expect(env.references[2].exact).toBeCloseTo(evaluateAdsSupplyPolicy(opts, () => 1).value, 12);
    expect(env.bestSimple).toBe('best constant policy');
    const [r1] = env.rounds;
    // The logging policy's exact value: ε-greedy around the myopic policy, averaged exactly.
    const eps = QUICKSTART_SIMULATORS['AdsSupply-v0'].epsilon;
    expect(r1.behaviour.exact).toBeCloseTo(evaluateAdsSupplyPolicy(opts, () => Array.from({ length: 6 }, (_, a) => eps / 6 + (a === 5 ? 1 - eps : 0))).value, 9);
    const [p] = r1.policies;
    expect(p.exact).not.toBeNull();
    expect(p.ofOptimum).toBeCloseTo((p.exact as number) / (env.references[0].exact as number), 12);
    expect(p.versus.map((v) => v.against)).toEqual(['plain heuristic', 'best constant policy']);
    expect(p.versus[1].exactDifference).toBeCloseTo((p.exact as number) - (env.references[2].exact as number), 12);
    const table = renderQuickstartTable(result);
    expect(table).toContain('| round | policy | exact | simulated ± se | % of optimum | vs plain heuristic | vs best constant policy |');
    expect(table).toContain('|  | exact optimum (dynamic programming on the discretised model) | 2.533 |');
    expect(table).toContain(`| 1 | offline cql | ${(p.exact as number).toFixed(3)} |`);
    // Lines short enough for a terminal.
    for (const line of table.split('\n')) expect(line.length).toBeLessThanOrEqual(160);
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
