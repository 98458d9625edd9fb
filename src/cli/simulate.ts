/**
 * `kairos simulate <env> --out log.duckdb --episodes N --seed S --policy random|heuristic|<run>
 * [--epsilon e | --temperature t] [--options json] [--overwrite] [--json]`: runs a behaviour
 * policy in a simulator and writes a decision log with exact propensities (`simulateLog` of
 * `kairos/data`), then prints the behaviour policy's on-policy value. DuckDB (and, for a run
 * folder, TensorFlow.js) is loaded only when the command runs.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import type { BehaviourSpec, SimulationResult } from '../data/simulate.js';
import { intOption, parseJsonObject, parseOptions } from './options.js';
import { startProgress } from './progress.js';

const numberText = (schema: z.ZodNumber) => z.string().trim().min(1).transform(Number).pipe(schema);

const SimulateOptions = z
  .object({
    out: z.string().min(1),
    episodes: z.number().int().positive(),
    seed: z.number().int().nonnegative(),
    policy: z.string().min(1).refine((p) => p === 'random' || p === 'heuristic' || fs.existsSync(path.join(p, 'run.json')), 'random, heuristic, or a run folder (with run.json)'),
    epsilon: numberText(z.number().min(0).max(1)).optional(),
    temperature: numberText(z.number().positive()).optional(),
    gamma: numberText(z.number().min(0).max(1)).optional(),
    options: z.string().optional(),
    maxEpisodeSteps: z.number().int().positive().optional(),
    overwrite: z.boolean().optional(),
    progress: z.boolean().default(true),
    json: z.boolean().optional(),
  })
  .strict()
  .refine((o) => o.epsilon === undefined || o.temperature === undefined, { message: 'either --epsilon or --temperature, not both', path: ['temperature'] })
  .refine((o) => o.policy !== 'random' || (o.epsilon === undefined && o.temperature === undefined), { message: 'no --epsilon or --temperature with --policy random', path: ['policy'] });

function fmt(x: number, digits = 3): string {
  return Number.isFinite(x) ? x.toFixed(digits) : '-';
}

/**
 * Prints a simulation result (or its JSON).
 *
 * @example
 * printSimulation(await simulateLog(options), false);
 */
export function printSimulation(r: SimulationResult, json: boolean | undefined): void {
  if (json) {
    console.log(JSON.stringify(r));
    return;
  }
  console.log(`${r.path}: ${r.decisions} decisions in ${r.episodes} episodes of ${r.env} by ${r.policy} (seed ${r.seed}) in ${r.seconds.toFixed(1)} s`);
  console.log(
    `behaviour value: mean return ${fmt(r.meanReturn)} ± ${fmt(r.stderrReturn)} (std ${fmt(r.stdReturn)}); discounted (γ = ${r.gamma}) ${fmt(r.meanDiscountedReturn)} ± ${fmt(r.stderrDiscountedReturn)}; mean length ${fmt(r.meanLength, 1)}`,
  );
  const comps = Object.entries(r.meanRewardComponents);
  if (comps.length) console.log(`reward components per episode: ${comps.map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}`);
}

/**
 * Runs `kairos simulate`; returns the exit code.
 *
 * @example
 * await simulateCommand('AdsSupply-v0', { out: 'ads.duckdb', episodes: 100, seed: 0, policy: 'heuristic', epsilon: '0.5' });
 */
export async function simulateCommand(env: string, raw: Record<string, unknown>): Promise<number> {
  const opts = parseOptions(SimulateOptions, raw, 'simulate');
  const envOptions = parseJsonObject(opts.options, '--options');
  const policy: BehaviourSpec =
    opts.policy === 'random'
      ? { kind: 'random' }
      : opts.policy === 'heuristic'
        ? { kind: 'heuristic', epsilon: opts.epsilon, temperature: opts.temperature }
        : { kind: 'run', runDir: opts.policy, epsilon: opts.epsilon, temperature: opts.temperature };
  const { simulateLog } = await import('../data/simulate.js');
  const bar = opts.progress && !opts.json && process.stderr.isTTY && opts.episodes >= 5 ? startProgress(opts.episodes, 'episodes') : null;
  let result: SimulationResult;
  try {
    result = await simulateLog({
      env,
      envOptions,
      ...(opts.maxEpisodeSteps ? { maxEpisodeSteps: opts.maxEpisodeSteps } : {}),
      out: opts.out,
      overwrite: opts.overwrite ?? false,
      episodes: opts.episodes,
      seed: opts.seed,
      policy,
      ...(opts.gamma !== undefined ? { gamma: opts.gamma } : {}),
      onEpisode: bar ? () => bar.tick() : undefined,
    });
  } finally {
    bar?.stop();
  }
  printSimulation(result, opts.json);
  return 0;
}

/**
 * Registers `kairos simulate` on the program (called from main.ts).
 *
 * @example
 * registerSimulateCommand(program, (code) => (exitCode = code));
 */
export function registerSimulateCommand(program: Command, setCode: (code: number) => void): void {
  program
    .command('simulate <env>')
    .description('log a behaviour policy in a simulator: a DuckDB decision log with exact propensities, and the policy\'s true value')
    .requiredOption('--out <log>', 'the .duckdb decision log to write')
    .option('--episodes <n>', 'episodes to log', intOption('episodes', 1), 1000)
    .option('--seed <n>', 'seed of the env episodes and the behaviour\'s draws', intOption('seed', 0), 0)
    .option('--policy <policy>', 'random | heuristic | a run folder (kairos train / train-offline)', 'random')
    .option('--epsilon <e>', 'heuristic or run: ε-greedy around its action (default 0.1)')
    .option('--temperature <t>', 'heuristic: softmax over −|a − h(x)|/t; run: softmax of its Q-values at t')
    .option('--gamma <g>', 'discount of the reported discounted return (default 0.99)')
    .option('--options <json>', 'make() options as JSON, e.g. \'{"fatigueStep":0.25}\'')
    .option('--max-episode-steps <n>', 'override the time limit', intOption('max-episode-steps', 1))
    .option('--overwrite', 'replace an existing --out file')
    .option('--no-progress', 'no progress bar')
    .option('--json', 'print one JSON summary')
    .action(async (env, opts) => setCode(await simulateCommand(env, opts)));
}
