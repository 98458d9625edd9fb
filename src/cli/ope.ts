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
import { formatInterval, formatNumber, supportLines } from '../ope/report.js';
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
  horizon: z.number().min(1).optional(),
  acceptFailures: z.boolean().optional(),
});

/** Exit code of `kairos ope` when an estimate or the model is unusable (without --accept-failures). */
export const OPE_FAILED_EXIT_CODE = 3;

/** A short aligned table of the estimates for the terminal; failed ones read FAILED. */
export function formatEstimateTable(run: LogEvaluation): string {
  const f = formatNumber;
  const level = run.report.bootstrap ? `${Math.round((1 - run.report.bootstrap.alpha) * 100)}% interval` : 'interval';
  const rows = [
    ['estimator', 'value', level, 'normalised', 'ESS'],
    ...run.report.estimates.map((e) =>
      e.status === 'failed'
        ? [e.estimator, 'FAILED', '-', '-', Number.isFinite(e.diagnostics.ess) ? f(e.diagnostics.ess) : '-']
        : [e.estimator, f(e.value), formatInterval(e) || '-', f(e.normalised.value), f(e.diagnostics.ess)],
    ),
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
  const name = `${await runPolicyName(opts.policy, agent.algorithm)}, ${opts.policyMode} (${path.basename(path.resolve(opts.policy))})`;
  return agentTargetPolicy(agent, { mode: opts.policyMode, temperature: opts.temperature, epsilon: opts.epsilon, name });
}

/**
 * What a run's policy is called in reports: `offline cql (α = 0.05)` for an offline run (from
 * its summary.json), else the algorithm.
 */
export async function runPolicyName(runDir: string, algorithm: string): Promise<string> {
  try {
    const summary = JSON.parse(await fs.promises.readFile(path.join(runDir, 'summary.json'), 'utf8')) as { offline?: { algorithm?: string; cqlAlpha?: number } };
    const o = summary.offline;
    if (o?.algorithm) return `offline ${o.algorithm}${o.algorithm === 'cql' && o.cqlAlpha !== undefined ? ` (α = ${o.cqlAlpha})` : ''}`;
  } catch {
    // no summary yet (an interrupted run): the algorithm is all there is
  }
  return algorithm;
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
      ...(opts.horizon !== undefined ? { horizon: opts.horizon } : {}),
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
  const report = run.report;
  const failed = report.failures > 0 || report.model?.status === 'unusable';
  const code = failed && !opts.acceptFailures ? OPE_FAILED_EXIT_CODE : 0;
  if (opts.json) {
    console.log(JSON.stringify({ ...paths, report }));
    return code;
  }
  const f = formatNumber;
  const lp = report.loggingPolicyValue;
  console.log(`${opts.data}: ${run.meta.kind} evaluation over ${report.n} ${report.kind === 'bandit' ? 'rows' : 'episodes'}`);
  console.log(`target policy: ${run.meta.policy}`);
  console.log(`logging policy value ${f(lp.value)} ± ${f(lp.stderr)}; achievable range [${f(report.range.lower)}, ${f(report.range.upper)}]`);
  for (const line of supportLines(report)) console.log(line);
  if (report.model) {
    const m = report.model;
    const lambda = m.lambda !== undefined ? `, λ = ${f(m.lambda)}` : '';
    console.log(`model: ${m.description}: ${m.status}${lambda}, ${(m.clippedFraction * 100).toFixed(1)}% of predictions clipped to the range`);
    for (const p of m.problems) console.log(`  model problem: ${p}`);
  }
  console.log(formatEstimateTable(run));
  // One reason a line: the reasons name rows and weights, and long lines are hard to read.
  for (const e of report.estimates) {
    if (e.status === 'failed') console.log(`FAILED ${e.estimator}:\n  ${(e.failure ?? '').split('; ').join('\n  ')}`);
  }
  console.log(`report: ${path.relative(process.cwd(), paths.index) || paths.index} (links report.html, report.md, report.json)`);
  if (failed) {
    console.log(
      opts.acceptFailures
        ? 'some estimates failed (accepted with --accept-failures): read only the ones marked ok'
        : `some estimates failed: exit code ${OPE_FAILED_EXIT_CODE} (pass --accept-failures to accept the rest)`,
    );
  }
  return code;
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
    .option('--estimators <names>', 'comma-separated: bandit dm,ips,clipped-ips,snips,dr,sndr,switch-dr,dr-os,sg-ips,sg-dr,clipped-ips-slope,switch-dr-slope,dr-os-slope,sg-ips-slope; sequential is,pdis,wis,wpdis,dm,dr,wdr,magic,fqe')
    .option('--out <dir>', 'report directory', 'ope-report')
    .option('--bootstrap <n>', 'bootstrap resamples for intervals (0 = none)', intOption('bootstrap', 0), 200)
    .option('--seed <n>', 'seed for folds and the bootstrap', intOption('seed', 0), 0)
    .addOption(new Option('--kind <kind>', 'bandit (each decision a row), sequential (episodes), or auto').choices(['auto', 'bandit', 'sequential']).default('auto'))
    .option('--gamma <g>', 'discount for sequential evaluation', (v) => Number(v), 1)
    .addOption(new Option('--model <kind>', 'reward model (bandit: ridge|tabular) or FQE (sequential: linear|tabular|neural)').choices(['ridge', 'tabular', 'linear', 'neural']))
    .option('--folds <n>', 'cross-fitting folds for the model', intOption('folds', 1), 2)
    .option('--horizon <n>', 'horizon of the achievable value range estimates are checked against (default: the longest logged episode)', (v) => Number(v))
    .option('--accept-failures', `exit 0 even when an estimate or the model is unusable (default: exit ${OPE_FAILED_EXIT_CODE})`)
    .option('--json', 'print the report as JSON')
    .action(async (opts) => setCode(await opeCommand(opts)));
}
