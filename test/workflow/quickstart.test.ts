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
  it('runs every step on a small budget and leaves each artefact where the summary says', async () => {
    const stages: string[] = [];
    const out = path.join(tmp, 'qs');
    const result = await runQuickstart({ out, envs: ['NotificationDelivery-v0'], episodes: 60, updates: 200, evalEpisodes: 20, bootstrap: 10, onStage: (_e, s) => stages.push(s) });
    expect(stages).toEqual(['simulate', 'timeline', 'train', 'ope', 'truth']);
    const [r] = result.envs;
    for (const f of [r.logPath, r.timelinePath, path.join(r.runDir, 'model', 'policy.kst'), path.join(r.reportDir, 'report.html'), path.join(out, 'summary.json')]) await fs.access(f);
    // The log holds every logged decision; the run remembers the simulator for ground truth.
    const store = await LogStore.open(r.logPath, { readOnly: true });
    const [{ n }] = await store.engine.query('SELECT COUNT(*) AS n FROM decisions');
    store.close();
    expect(Number(n)).toBe(r.decisions);
    expect((await loadRunSpec(r.runDir)).env.id).toBe('NotificationDelivery-v0');
    expect(r.estimates.map((e) => e.estimator)).toEqual(['dr', 'wdr', 'magic']);
    for (const e of r.estimates) {
      expect(e.lower).toBeLessThanOrEqual(e.upper);
      expect(e.covers).toBe(e.lower <= r.policy.mean && r.policy.mean <= e.upper);
    }
    const table = renderQuickstartTable(result);
    expect(table).toContain('| NotificationDelivery-v0 | new: offline cql |');
    // A second run into the same folder is refused unless asked to overwrite.
    await expect(runQuickstart({ out, envs: ['NotificationDelivery-v0'], episodes: 10 })).rejects.toThrow(/not empty/);
  });

  it('rejects an unknown simulator and bad CLI options with the field named', async () => {
    await expect(runQuickstart({ out: path.join(tmp, 'x'), envs: ['CartPole-v1'] })).rejects.toThrow(/envs: expected one of AdsSupply-v0, NotificationDelivery-v0/);
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
