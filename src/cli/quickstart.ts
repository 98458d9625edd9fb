/**
 * `kairos quickstart` (what `npm start` runs): simulate and log → timeline → offline training
 * → counterfactual evaluation → ground truth in the simulator, for two rounds of the loop (the
 * second deploys the first round's policy with exploration), on both applied simulators, then
 * a summary table. A thin shell over `runQuickstart` (src/workflow/quickstart.ts).
 */
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
    episodes: z.number().int().positive(),
    rounds: z.union([z.literal(1), z.literal(2)]),
    updates: z.number().int().positive(),
    evalEpisodes: z.number().int().positive(),
    bootstrap: z.number().int().min(2),
    algorithm: z.enum(['dqn', 'cql']),
    seed: z.number().int().nonnegative(),
    json: z.boolean().optional(),
  })
  .strict();

const STAGES = { simulate: '1/5 simulate and log', timeline: '2/5 timeline', train: '3/5 offline training', ope: '4/5 counterfactual evaluation', truth: '5/5 ground truth' } as const;

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
      if (!quiet) console.error(`${env} round ${round}  ${STAGES[stage]}: ${detail}`);
      if (stage === 'train' && !quiet && process.stderr.isTTY) bar = startProgress(opts.updates, 'gradient steps');
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
  console.log(`\n${renderQuickstartTable(result)}\n`);
  console.log('✓ = the interval holds the simulator ground truth; true values: logged episodes (logging policy), fresh simulator episodes (new policy).');
  console.log('log support: the effective sample size of the new policy\'s trajectory weights; "too low" = the log has almost no episodes like the ones the new policy produces, so its estimates rest on the Q model.');
  for (const env of result.envs) {
    for (const r of env.rounds) {
      console.log(`${env.env} round ${r.round}: log ${r.logPath} (${r.decisions} decisions); ${r.policies.map((p) => `${p.name}: run ${p.runDir}, report ${p.reportDir}/report.html`).join('; ')}`);
    }
  }
  const last = result.envs[0]?.rounds.at(-1)?.policies.at(-1);
  console.log(`\nquickstart finished in ${result.seconds.toFixed(0)} s; everything is in ${result.out}`);
  console.log(`next: kairos serve ${last?.runDir ?? '<run>'}   (an HTTP decision service that logs what it serves)`);
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
    .option('--episodes <n>', 'logged episodes per simulator and round', intOption('episodes', 1), 3000)
    .option('--rounds <n>', '1: heuristic log only; 2: also deploy the round-1 policy with exploration and improve on it', intOption('rounds', 1), 2)
    .option('--updates <n>', 'offline gradient steps', intOption('updates', 1), 10_000)
    .option('--eval-episodes <n>', 'simulator episodes for the ground truth', intOption('eval-episodes', 1), 3000)
    .option('--bootstrap <n>', 'bootstrap resamples of the estimates', intOption('bootstrap', 2), 200)
    .option('--algorithm <name>', 'offline algorithm: cql or dqn', 'cql')
    .option('--seed <n>', 'seed of everything random', intOption('seed', 0), 0)
    .option('--json', 'print one JSON result')
    .action(async (opts) => setCode(await quickstartCommand(opts)));
}
