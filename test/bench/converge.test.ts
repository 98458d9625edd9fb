import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { convergeWorker, ZOO_TRAINED_AGENTS, type ConvergeJob } from '../../bench/converge.js';
import { getAgentRegistration } from '../../src/agents/registry.js';

const job: ConvergeJob = { algo: 'ppo', env: 'CartPole-v1', seed: 0, steps: 2048, evalEvery: 1024, config: {} };
const dirs: string[] = [];
const tempDir = async () => {
  const d = await fs.mkdtemp(path.join(os.tmpdir(), 'kairos-converge-test-'));
  dirs.push(d);
  return d;
};
afterEach(async () => {
  for (const d of dirs.splice(0)) await fs.rm(d, { recursive: true, force: true });
});

describe('convergeWorker', () => {
  it('stops once the best policy passes both its evaluation and the confirmation, else runs the budget', async () => {
    // Every CartPole episode scores at least 8, so the first evaluation and its confirmation pass.
    const stopped = await convergeWorker({ ...job, stopAt: 5 });
    expect(stopped.summary.steps).toBe(1024);
    expect(stopped.summary.finalEvaluation).toBeNull();
    // No policy reaches 600 (episodes end at 500): the run uses its whole budget.
    const full = await convergeWorker({ ...job, stopAt: 600 });
    expect(full.summary.steps).toBe(2048);
    expect(full.summary.finalEvaluation).not.toBeNull();
  });

  it('with a runs folder, reuses a finished seed and resumes an interrupted one to the same result', async () => {
    const runsDir = await tempDir();
    const first = await convergeWorker({ ...job, runsDir });
    expect(first.reused).toBeUndefined();
    const again = await convergeWorker({ ...job, runsDir });
    expect(again.reused).toBe(true);
    expect(again.fresh).toEqual(first.fresh);

    // Interrupt it after the first checkpoint: drop the result, the summary and the last checkpoint.
    const runDir = path.join(runsDir, 'ppo-CartPole-v1-seed0');
    const evaluations = await fs.readFile(path.join(runDir, 'evaluations.jsonl'), 'utf8');
    const checkpoints = (await fs.readdir(path.join(runDir, 'checkpoints'))).sort();
    expect(checkpoints.length).toBe(2);
    await fs.rm(path.join(runDir, 'converge.json'));
    await fs.rm(path.join(runDir, 'summary.json'));
    await fs.rm(path.join(runDir, 'checkpoints', checkpoints[1]));
    // Starting over would empty the folder; resuming keeps what is there.
    await fs.writeFile(path.join(runDir, 'marker'), '');
    const resumed = await convergeWorker({ ...job, runsDir });
    await expect(fs.access(path.join(runDir, 'marker'))).resolves.toBeUndefined();
    expect(resumed.reused).toBeUndefined();
    expect(resumed.fresh).toEqual(first.fresh);
    expect(resumed.summary.finalEvaluation?.meanReturn).toBe(first.summary.finalEvaluation?.meanReturn);
    const strip = (text: string) =>
      text
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          const { seconds: _s, ...rest } = JSON.parse(l) as Record<string, unknown>;
          return rest;
        });
    expect(strip(await fs.readFile(path.join(runDir, 'evaluations.jsonl'), 'utf8'))).toEqual(strip(evaluations));
  });

  it('with a budget, stops after the evaluation at the budget without compressing the schedules into it', async () => {
    const firstEvaluation = async (runsDir: string) =>
      JSON.parse((await fs.readFile(path.join(runsDir, 'ppo-CartPole-v1-seed0', 'evaluations.jsonl'), 'utf8')).split('\n')[0]) as { step: number; meanReturn: number; returns: number[] };
    const [budgetDir, fullDir, shortDir] = [await tempDir(), await tempDir(), await tempDir()];
    const judged = await convergeWorker({ ...job, budget: 1024, runsDir: budgetDir });
    expect(judged.summary.steps).toBe(1024);
    expect(judged.summary.totalSteps).toBe(2048);
    expect(judged.summary.finalEvaluation).toBeNull();
    expect(judged.stoppedBy).toBe('budget');
    // PPO's CartPole preset decays its learning rate and clip range over the run: up to the
    // budget, the budgeted run is the 2048-step run, while a 1024-step run decays twice as fast.
    await convergeWorker({ ...job, runsDir: fullDir });
    await convergeWorker({ ...job, steps: 1024, runsDir: shortDir });
    const [atBudget, full, short] = [await firstEvaluation(budgetDir), await firstEvaluation(fullDir), await firstEvaluation(shortDir)];
    expect(atBudget.step).toBe(1024);
    expect(atBudget.returns).toEqual(full.returns);
    expect(short.returns).not.toEqual(full.returns);

    // Interrupted after the budget's checkpoint, before its result was written: judged as is.
    await fs.rm(path.join(budgetDir, 'ppo-CartPole-v1-seed0', 'converge.json'));
    const again = await convergeWorker({ ...job, budget: 1024, runsDir: budgetDir });
    expect(again.reused).toBeUndefined();
    expect(again.summary.steps).toBe(1024);
    expect(again.stoppedBy).toBe('budget');
    expect(again.fresh).toEqual(judged.fresh);

    await expect(convergeWorker({ ...job, budget: 1000 })).rejects.toThrow(/budget: got 1000, expected a multiple of the evaluation period \(1024\)/);
    await expect(convergeWorker({ ...job, budget: 2048 })).rejects.toThrow(/below the run's 2048 steps/);
  });

  it("names RL Zoo's figures only for algorithms and tasks Kairos has a preset for", () => {
    for (const key of Object.keys(ZOO_TRAINED_AGENTS)) {
      const [algo, env] = key.split('/');
      expect(getAgentRegistration(algo).presets?.[env], key).toBeDefined();
    }
  });
});
