/**
 * `kairos ope --data log.duckdb --policy target.json [--estimators dm,ips,dr] [--out dir]
 * [--bootstrap N] [--seed S]`: off-policy evaluation of a target policy on a stored log.
 * Parses options, calls `evaluateLog` and `writeOpeReport` from `kairos/data`, prints a
 * short table. The policy is a probability table file (JSON or CSV, per logged row or per
 * state; see docs/data.md) or a run folder from `kairos train` (the trained agent's greedy,
 * exploring, softmax or ε-greedy policy); DuckDB is loaded only when the command runs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { z } from 'zod';
import type { LogEvaluation, TargetPolicy } from '../data/index.js';
import { initTensorBackend } from '../tensor/backend.js';
import { formatNumber } from '../ope/report.js';
import { intOption, parseOptions } from './options.js';
import { startProgress, type Progress } from './progress.js';

const OpeOptions = z.object({
  data: z.string().min(1),
  policy: z.string().min(1),
  estimators: z.string().optional(),
  out: z.string().min(1),
  bootstrap: z.number().int().nonnegative(),
  seed: z.number().int().nonnegative(),
  kind: z.enum(['auto', 'bandit', 'sequential']),
  gamma: z.number().min(0).max(1),
  model: z.enum(['ridge', 'tabular', 'linear', 'neural']).optional(),
  folds: z.number().int().positive(),
  json: z.boolean().optional(),
  policyMode: z.enum(['greedy', 'exploring', 'softmax', 'epsilon-greedy']).default('greedy'),
  temperature: z.number().positive().optional(),
  epsilon: z.number().min(0).max(1).optional(),
});

/** A short aligned table of the estimates for the terminal. */
export function formatEstimateTable(run: LogEvaluation): string {
  const f = formatNumber;
  const level = run.report.bootstrap ? `${Math.round((1 - run.report.bootstrap.alpha) * 100)}% interval` : 'interval';
  const rows = [
    ['estimator', 'value', level, 'normalised', 'ESS'],
    ...run.report.estimates.map((e) => [
      e.estimator,
      f(e.value),
      e.interval ? `[${f(e.interval.lower)}, ${f(e.interval.upper)}]` : '-',
      f(e.normalised.value),
      f(e.diagnostics.ess),
    ]),
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ')).join('\n');
}

/**
 * The target policy: a probability table file, or a run folder (a trained agent), whose
 * probabilities are formed as `--policy-mode` says.
 */
async function loadTargetPolicy(opts: z.output<typeof OpeOptions>): Promise<TargetPolicy> {
  const isRun = fs.existsSync(path.join(opts.policy, 'run.json'));
  if (!isRun) {
    const data = await import('../data/index.js');
    return data.loadPolicyTable(opts.policy);
  }
  await initTensorBackend();
  const { loadRunAgent } = await import('../train/run.js');
  const { agentTargetPolicy } = await import('../agents/target-policy.js');
  const agent = await loadRunAgent(opts.policy);
  return agentTargetPolicy(agent, { mode: opts.policyMode, temperature: opts.temperature, epsilon: opts.epsilon, name: `${path.basename(path.resolve(opts.policy))} (${agent.algorithm}, ${opts.policyMode})` });
}

/** Runs `kairos ope`. */
export async function opeCommand(raw: Record<string, unknown>): Promise<number> {
  const opts = parseOptions(OpeOptions, raw, 'ope');
  const data = await import('../data/index.js');
  const policy = await loadTargetPolicy(opts);
  const store = await data.LogStore.open(opts.data, { readOnly: true });
  let run: LogEvaluation;
  let bar: Progress | null = null;
  try {
    run = await data.evaluateLog(store, policy, {
      kind: opts.kind,
      ...(opts.estimators ? { estimators: opts.estimators.split(',').map((s) => s.trim()).filter(Boolean) } : {}),
      bootstrap: opts.bootstrap,
      seed: opts.seed,
      gamma: opts.gamma,
      folds: opts.folds,
      ...(opts.model ? { model: opts.model } : {}),
      // Neural FQE is the long part: one bar over every fold's iterations.
      onModelProgress: (fold, iteration, iterations) => {
        bar ??= startProgress(opts.folds * iterations, 'FQE iterations');
        bar.update(fold * iterations + iteration);
      },
    });
  } finally {
    (bar as Progress | null)?.stop();
    store.close();
  }
  const paths = data.writeOpeReport(opts.out, run);
  if (opts.json) {
    console.log(JSON.stringify({ ...paths, report: run.report }));
    return 0;
  }
  const lp = run.report.loggingPolicyValue;
  console.log(
    `${opts.data}: ${run.meta.kind} evaluation of ${run.meta.policy} over ${run.report.n} ${run.report.kind === 'bandit' ? 'rows' : 'episodes'}; logging policy value ${formatNumber(lp.value)} ± ${formatNumber(lp.stderr)}`,
  );
  console.log(formatEstimateTable(run));
  console.log(`report: ${paths.json}, ${paths.markdown}, ${paths.html}`);
  return 0;
}

/** Registers `kairos ope` on the program (called from main.ts). */
export function registerOpeCommand(program: Command, setCode: (code: number) => void): void {
  program
    .command('ope')
    .description('off-policy evaluation of a target policy on a logged-decision file (report in JSON, Markdown, HTML)')
    .requiredOption('--data <log>', 'the .duckdb decision log')
    .requiredOption('--policy <file|run>', 'target policy: probability table (.json or .csv, per logged row or per state) or a run folder from kairos train')
    .addOption(new Option('--policy-mode <mode>', 'for a run: greedy, exploring (its training exploration), softmax (needs --temperature), epsilon-greedy (needs --epsilon)').choices(['greedy', 'exploring', 'softmax', 'epsilon-greedy']).default('greedy'))
    .option('--temperature <t>', 'softmax temperature for --policy-mode softmax', (v) => Number(v))
    .option('--epsilon <e>', 'ε for --policy-mode epsilon-greedy', (v) => Number(v))
    .option('--estimators <names>', 'comma-separated: bandit dm,ips,clipped-ips,snips,dr,sndr,switch-dr,dr-os; sequential is,pdis,wis,wpdis,dm,dr,wdr,magic,fqe')
    .option('--out <dir>', 'report directory', 'ope-report')
    .option('--bootstrap <n>', 'bootstrap resamples for intervals (0 = none)', intOption('bootstrap', 0), 200)
    .option('--seed <n>', 'seed for folds and the bootstrap', intOption('seed', 0), 0)
    .addOption(new Option('--kind <kind>', 'bandit (each decision a row), sequential (episodes), or auto').choices(['auto', 'bandit', 'sequential']).default('auto'))
    .option('--gamma <g>', 'discount for sequential evaluation', (v) => Number(v), 1)
    .addOption(new Option('--model <kind>', 'reward model (bandit: ridge|tabular) or FQE (sequential: linear|tabular|neural)').choices(['ridge', 'tabular', 'linear', 'neural']))
    .option('--folds <n>', 'cross-fitting folds for the model', intOption('folds', 1), 2)
    .option('--json', 'print the report as JSON')
    .action(async (opts) => setCode(await opeCommand(opts)));
}
