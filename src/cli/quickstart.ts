/**
 * `kairos quickstart` (what `npm start` runs): baselines → simulate and log → timeline →
 * offline training → ground truth in the simulator → counterfactual evaluation, for two rounds
 * of the loop (the second deploys the first round's policy with exploration), on both applied
 * simulators, then the summary table (also saved as table.md and table.html, with summary.json
 * and an index.html of every report). A thin shell over `runQuickstart` (src/workflow/quickstart.ts).
 */
import path from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { preferFusedFma } from '../tensor/fused.js';
import { initTensorBackend } from '../tensor/backend.js';
import { QUICKSTART_SIMULATORS, renderQuickstartTable, runQuickstart } from '../workflow/quickstart.js';
import { intOption, parseOptions } from './options.js';
import { startProgress, type Progress } from './progress.js';

const QuickstartOptions = z
  .object({
    out: z.string().min(1).optional(),
    overwrite: z.boolean().optional(),
    envs: z.string().optional(),
    episodes: z.number().int().positive().optional(),
    rounds: z.union([z.literal(1), z.literal(2)]),
    updates: z.number().int().positive().optional(),
    evalEpisodes: z.number().int().positive(),
    bootstrap: z.number().int().min(2),
    algorithm: z.enum(['dqn', 'cql']),
    seed: z.number().int().nonnegative(),
    json: z.boolean().optional(),
  })
  .strict();

const STAGES = {
  baselines: 'baselines',
  simulate: '1/5 simulate and log',
  timeline: '2/5 timeline',
  train: '3/5 offline training',
  truth: '4/5 ground truth',
  ope: '5/5 counterfactual evaluation',
} as const;

/** A path as the user reads it: relative to the working directory when it lies inside it. */
function shown(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
}

/** Runs `kairos quickstart`; returns the exit code. */
export async function quickstartCommand(raw: Record<string, unknown>): Promise<number> {
  const opts = parseOptions(QuickstartOptions, raw, 'quickstart');
  preferFusedFma();
  await initTensorBackend();
  const out = opts.out ?? `runs/quickstart-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  const quiet = opts.json === true;
  let bar: Progress | null = null;
  const result = await runQuickstart({
    out,
    overwrite: opts.overwrite,
    envs: opts.envs?.split(',').map((s) => s.trim()),
    episodes: opts.episodes,
    rounds: opts.rounds,
    updates: opts.updates,
    evalEpisodes: opts.evalEpisodes,
    bootstrap: opts.bootstrap,
    algorithm: opts.algorithm,
    seed: opts.seed,
    onStage: (env, stage, detail, round) => {
      bar?.stop();
      bar = null;
      if (!quiet) console.error(round > 0 ? `${env} round ${round}  ${STAGES[stage]}: ${detail}` : `${env}  ${STAGES[stage]}: ${detail}`);
      if (stage === 'train' && !quiet && process.stderr.isTTY) bar = startProgress(opts.updates ?? QUICKSTART_SIMULATORS[env].training.updates, 'gradient steps');
    },
    onUpdate: (_env, update) => bar?.update(update),
    onModelProgress: (_env, fold, iteration, iterations) => {
      if (quiet || !process.stderr.isTTY) return;
      if (iteration === 1) {
        bar?.stop();
        bar = startProgress(iterations, `FQE iterations (fold ${fold + 1})`);
      }
      bar?.update(iteration);
    },
  });
  (bar as Progress | null)?.stop();
  if (quiet) {
    console.log(JSON.stringify(result));
    return 0;
  }
  // The table carries its legend (a Markdown list) at the end.
  console.log(`\n${renderQuickstartTable(result)}\n`);
  console.log(`quickstart finished in ${result.seconds.toFixed(0)} s; everything is in`);
  console.log(`  ${shown(result.out)}`);
  console.log('the table (also as Markdown) and an index of every report:');
  console.log(`  ${shown(result.files.tableHtml)}`);
  console.log(`  ${shown(result.files.index)}`);
  const last = result.envs[0]?.rounds.at(-1)?.policies.at(-1);
  console.log('next: an HTTP decision service that logs what it serves:');
  console.log(`  kairos serve ${last ? shown(last.runDir) : '<run>'}`);
  return 0;
}

/** Adds `kairos quickstart` to the program. */
export function registerQuickstartCommand(program: Command, setCode: (code: number) => void): void {
  program
    .command('quickstart')
    .description('what `npm start` runs: simulate and log, timeline, offline training, counterfactual evaluation and ground truth on the applied simulators')
    .option('--out <dir>', 'output folder (default runs/quickstart-<time>)')
    .option('--overwrite', 'replace a non-empty --out folder')
    .option('--envs <ids>', `comma-separated simulators (${Object.keys(QUICKSTART_SIMULATORS).join(', ')})`)
    .option('--episodes <n>', `logged episodes per simulator and round (default ${Object.entries(QUICKSTART_SIMULATORS).map(([id, s]) => `${id} ${s.episodes}`).join(', ')})`, intOption('episodes', 1))
    .option('--rounds <n>', '1: heuristic log only; 2: also deploy the round-1 policy with exploration and improve on it', intOption('rounds', 1), 2)
    .option('--updates <n>', `offline gradient steps per round (default ${Object.entries(QUICKSTART_SIMULATORS).map(([id, s]) => `${id} ${s.training.updates}`).join(', ')})`, intOption('updates', 1))
    .option('--eval-episodes <n>', 'simulator episodes for the ground truth', intOption('eval-episodes', 1), 3000)
    .option('--bootstrap <n>', 'bootstrap resamples of the estimates', intOption('bootstrap', 2), 200)
    .option('--algorithm <name>', 'offline algorithm of both rounds: cql or dqn', 'cql')
    .option('--seed <n>', 'seed of everything random', intOption('seed', 0), 0)
    .option('--json', 'print one JSON result')
    .action(async (opts) => setCode(await quickstartCommand(opts)));
}
