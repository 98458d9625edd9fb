/**
 * `kairos train-offline dqn|cql --data log.duckdb [--env <id>] [--steps N] [--config file.json]
 * [--seed S] [--run-dir dir] [--overwrite] [--json] [--no-progress]`: trains a Q-network from a
 * decision log alone (`trainOffline` of `kairos/offline`) and writes a run folder that
 * `kairos eval` and `kairos ope --policy <run>` read. A progress bar shows gradient steps, the
 * loss and the CQL penalty; Ctrl-C stops after the current chunk (no policy is saved).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { KairosError } from '../core/errors.js';
import type { OfflineProgress, OfflineRunSummary } from '../offline/offline-dqn.js';
import { intOption, parseJsonObject, parseOptions } from './options.js';
import { startProgress } from './progress.js';

const TrainOfflineOptions = z
  .object({
    algorithm: z.enum(['dqn', 'cql']),
    data: z.string().min(1).refine((p) => fs.existsSync(p), 'an existing .duckdb decision log'),
    env: z.string().min(1).optional(),
    options: z.string().optional(),
    steps: z.number().int().positive().default(20_000),
    config: z.string().optional(),
    seed: z.number().int().nonnegative().default(0),
    runDir: z.string().min(1).optional(),
    overwrite: z.boolean().optional(),
    finalEvalEpisodes: z.number().int().nonnegative().optional(),
    progress: z.boolean().default(true),
    standardizeFeatures: z.boolean().optional(),
    json: z.boolean().optional(),
  })
  .strict();

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new KairosError(`--config: cannot read ${file}`, 'invalid_option');
  }
  return parseJsonObject(text, `--config ${file}`);
}

function fmt(x: number | undefined, digits = 3): string {
  return x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(digits);
}

function printSummary(s: OfflineRunSummary, json: boolean | undefined): void {
  if (json) {
    console.log(JSON.stringify(s));
    return;
  }
  if (s.interrupted) {
    console.log(`interrupted after ${s.steps} of ${s.totalSteps} gradient steps; no policy saved (offline runs do not resume: start again)`);
    return;
  }
  const o = s.offline;
  console.log(
    `${o.algorithm}${o.algorithm === 'cql' ? ` (α = ${o.cqlAlpha})` : ''} from ${o.data}: ${s.steps} gradient steps on ${o.transitions} transitions of ${o.episodes} episodes in ${s.seconds.toFixed(1)} s (${s.sps.toFixed(0)} steps/s)` +
      (o.truncated ? `; ${o.truncated} last steps of truncated episodes left out` : ''),
  );
  if (o.behaviour) console.log(`behaviour (${o.behaviour.policy}): mean return ${fmt(o.behaviour.meanReturn)} ± ${fmt(o.behaviour.stderrReturn)} over ${o.behaviour.episodes} logged episodes`);
  if (s.finalEvaluation) {
    const e = s.finalEvaluation;
    console.log(`new policy in ${s.env}: mean return ${fmt(e.meanReturn)} ± ${fmt(e.stdReturn / Math.sqrt(e.episodes))} (std ${fmt(e.stdReturn)}) over ${e.episodes} episodes`);
  }
  console.log(`run folder: ${s.runDir}`);
  console.log(`next: ${s.env !== 'none' ? `kairos eval ${s.runDir}; ` : ''}kairos ope --data ${o.data} --policy ${s.runDir} --estimators dr,wdr,magic`);
}

/**
 * Runs `kairos train-offline`; returns the exit code (130 after Ctrl-C).
 *
 * @example
 * await trainOfflineCommand('cql', { data: 'ads.duckdb', steps: 20_000, seed: 0, runDir: 'runs/ads-cql' });
 */
export async function trainOfflineCommand(algorithm: string, raw: Record<string, unknown>): Promise<number> {
  const opts = parseOptions(TrainOfflineOptions, { ...raw, algorithm }, 'train-offline');
  const config = opts.config ? readConfigFile(opts.config) : {};
  const envOptions = opts.options !== undefined ? parseJsonObject(opts.options, '--options') : undefined;
  const { initTensorBackend } = await import('../tensor/backend.js');
  await initTensorBackend();
  const { trainOffline } = await import('../offline/offline-dqn.js');
  const runDir =
    opts.runDir ?? path.join('runs', `${opts.algorithm}-offline-${path.basename(opts.data).replace(/\.duckdb$/i, '')}-s${opts.seed}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const bar = opts.progress && !opts.json && process.stderr.isTTY ? startProgress(opts.steps, 'steps', '{ups} steps/s | loss {loss} | q {q} | cql {cql}') : null;
  let lastDraw = 0;
  const onProgress = (p: OfflineProgress): void => {
    const now = performance.now();
    if (!bar || (now - lastDraw < 200 && p.update < p.totalUpdates)) return;
    lastDraw = now;
    bar.update(p.update, { ups: p.updatesPerSecond.toFixed(0), loss: fmt(p.loss, 4), q: fmt(p.q), cql: fmt(p.cql) });
  };
  const controller = new AbortController();
  const onSigint = (): void => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write('\nkairos: stopping after this chunk of gradient steps (Ctrl-C again to quit at once)\n');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    const { summary } = await trainOffline({
      algorithm: opts.algorithm,
      data: opts.data,
      ...(opts.env ? { env: opts.env } : {}),
      ...(envOptions ? { envOptions } : {}),
      updates: opts.steps,
      config,
      seed: opts.seed,
      runDir,
      overwrite: opts.overwrite ?? false,
      standardizeFeatures: opts.standardizeFeatures ?? false,
      ...(opts.finalEvalEpisodes !== undefined ? { finalEvalEpisodes: opts.finalEvalEpisodes } : {}),
      onProgress,
      signal: controller.signal,
    });
    bar?.stop();
    printSummary(summary, opts.json);
    return summary.interrupted ? 130 : 0;
  } finally {
    bar?.stop();
    process.off('SIGINT', onSigint);
  }
}

/**
 * Registers `kairos train-offline` on the program (called from main.ts).
 *
 * @example
 * registerTrainOfflineCommand(program, (code) => (exitCode = code));
 */
export function registerTrainOfflineCommand(program: Command, setCode: (code: number) => void): void {
  program
    .command('train-offline <algorithm>')
    .description('train dqn or cql (conservative Q-learning) from a decision log alone; writes a run folder for kairos eval / ope')
    .requiredOption('--data <log>', 'the .duckdb decision log (e.g. from kairos simulate)')
    .option('--env <id>', 'env recorded for ground-truth evaluation (default: the simulator that wrote the log)')
    .option('--options <json>', 'make() options of --env as JSON')
    .option('--steps <n>', 'gradient steps', intOption('steps', 1), 20_000)
    .option('--config <file>', 'JSON file with DQN config fields (over the offline defaults), e.g. {"cqlAlpha": 0.1}')
    .option('--seed <n>', 'seed of the network and the batch sampling', intOption('seed', 0), 0)
    .option('--run-dir <dir>', 'run folder (default runs/<algorithm>-offline-<log>-s<seed>-<time>)')
    .option('--final-eval-episodes <n>', 'episodes of the final evaluation in the env (default 100)', intOption('final-eval-episodes', 0))
    .option('--standardize-features', 'train on standardised state features (folded into the saved network, which reads raw ones)')
    .option('--overwrite', 'replace an existing run in --run-dir')
    .option('--no-progress', 'no progress bar')
    .option('--json', 'print one JSON summary')
    .action(async (algorithm, opts) => setCode(await trainOfflineCommand(algorithm, opts)));
}
