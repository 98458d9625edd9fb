/** Shared set-up of the serve tests: a tiny DQN run folder, trained in about a second. */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { initTensorBackend } from '../../src/tensor/backend.js';
import { startRun } from '../../src/train/run.js';

/** A temporary folder; remove it with `fs.rm(dir, { recursive: true, force: true })`. */
export async function tempDir(prefix = 'kairos-serve-'): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

/**
 * Trains `algorithm` (dqn or ppo) on CartPole-v1 for `steps` env steps into
 * `<dir>/<algorithm>-run` with a 16-unit network and returns the run folder. DQN learns from
 * step 100, so its Q-values differ between actions.
 */
export async function trainTinyRun(dir: string, steps = 400, algorithm = 'dqn'): Promise<string> {
  await initTensorBackend();
  const runDir = path.join(dir, `${algorithm}-run`);
  const config =
    algorithm === 'dqn'
      ? { network: { hiddenSizes: [16] }, batchSize: 16, learningStarts: 100, trainFreq: 4, gradientSteps: 1 }
      : { nSteps: 64, batchSize: 32, nEpochs: 1, network: { hiddenSizes: [16] } };
  await startRun(
    { algorithm, env: { id: 'CartPole-v1' }, totalSteps: steps, seed: 3, config, evalEvery: 0, finalEvalEpisodes: 0, checkpointEvery: 0, logEvery: 100 },
    { runDir },
  );
  return runDir;
}
