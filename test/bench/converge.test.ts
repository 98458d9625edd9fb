import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { convergeWorker, type ConvergeJob } from '../../bench/converge.js';

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
});
