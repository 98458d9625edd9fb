/**
 * The quickstart: Kairos's main job end to end on the bundled applied simulators, each step
 * the library call its own CLI command makes.
 *
 *   1. simulate and log   `simulateLog`        (kairos simulate)      <out>/<env>/log.duckdb
 *   2. timeline           `timelineToParquet`  (kairos data timeline) <out>/<env>/timeline.parquet
 *   3. offline training   `trainOffline`       (kairos train-offline) <out>/<env>/run/
 *   4. counterfactual evaluation `evaluateLog` (kairos ope)           <out>/<env>/ope/report.{json,md,html}
 *   5. ground truth in the simulator `evaluateAgent` (kairos eval)
 *   6. a summary table: logging policy vs new policy, estimates with intervals vs truth
 *
 * The logging policy is ε-greedy around each simulator's production heuristic (the myopic ad
 * load; a fixed notification spacing), as a deployed system with some exploration logs.
 * Defaults are those `bench/offline.ts` validated (docs/offline.md), scaled to run in a few
 * minutes on two cores.
 *
 * @example
 * const result = await runQuickstart({ out: 'runs/quickstart' });
 * console.log(renderQuickstartTable(result));
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Agent } from '../agents/agent.js';
import { agentTargetPolicy } from '../agents/target-policy.js';
import { KairosError } from '../core/errors.js';
import { LogStore } from '../data/store.js';
import { evaluateLog, writeOpeReport } from '../data/evaluate.js';
import { simulateLog } from '../data/simulate.js';
import { timelineToParquet } from '../data/timeline.js';
import { trainOffline, type OfflineAlgorithm } from '../offline/index.js';
import { evaluateAgent } from '../train/evaluate.js';
import { envFactoryFor, loadRunAgent, loadRunSpec } from '../train/run.js';

/** Per simulator: make options, logging ε and the FQE model of the DR family. */
export const QUICKSTART_SIMULATORS: Readonly<Record<string, { envOptions: Record<string, unknown>; epsilon: number; model: 'tabular' | 'linear' }>> = {
  // The discretised ads model (fatigue on a 0.25 grid) is a finite MDP: tabular FQE is consistent there.
  'AdsSupply-v0': { envOptions: { fatigueStep: 0.25 }, epsilon: 0.5, model: 'tabular' },
  // A week of binary history is too many states for a table.
  'NotificationDelivery-v0': { envOptions: {}, epsilon: 0.5, model: 'linear' },
};

/** Options of {@link runQuickstart}. */
export interface QuickstartOptions {
  /** Output folder (created; must be empty or absent unless `overwrite`). */
  out: string;
  overwrite?: boolean;
  /** Simulators to run (default both of {@link QUICKSTART_SIMULATORS}). */
  envs?: string[];
  /** Logged episodes per simulator (default 3000). */
  episodes?: number;
  /** Offline algorithm (default `cql`). */
  algorithm?: OfflineAlgorithm;
  /** Gradient steps of offline training (default 10 000). */
  updates?: number;
  /** Simulator episodes for the new policy's ground truth (default 1000). */
  evalEpisodes?: number;
  /** Bootstrap resamples of DR/WDR (default 200); MAGIC uses a quarter (it bootstraps inside). */
  bootstrap?: number;
  seed?: number;
  /** Called at each stage (for a progress display). */
  onStage?: (env: string, stage: QuickstartStage, detail: string) => void;
  /** Offline training progress. */
  onUpdate?: (env: string, update: number, total: number) => void;
}

export type QuickstartStage = 'simulate' | 'timeline' | 'train' | 'ope' | 'truth';

/** One estimate of the new policy's value from the log. */
export interface QuickstartEstimate {
  estimator: string;
  value: number;
  lower: number;
  upper: number;
  /** Whether the interval holds the simulator's ground truth. */
  covers: boolean;
}

/** What the quickstart found on one simulator. */
export interface QuickstartEnvResult {
  env: string;
  logPath: string;
  timelinePath: string;
  runDir: string;
  reportDir: string;
  decisions: number;
  episodes: number;
  behaviour: { name: string; mean: number; stderr: number };
  policy: { name: string; mean: number; stderr: number; episodes: number };
  /** (new − logging) / standard error of the difference: > 2 is a clear win. */
  improvementZ: number;
  estimates: QuickstartEstimate[];
  seconds: number;
}

export interface QuickstartResult {
  out: string;
  envs: QuickstartEnvResult[];
  seconds: number;
}

/** Runs the quickstart; see the module comment. */
export async function runQuickstart(options: QuickstartOptions): Promise<QuickstartResult> {
  const envs = options.envs ?? Object.keys(QUICKSTART_SIMULATORS);
  for (const env of envs) {
    if (!QUICKSTART_SIMULATORS[env]) {
      throw new KairosError(`envs: expected one of ${Object.keys(QUICKSTART_SIMULATORS).join(', ')}, received ${JSON.stringify(env)}`, 'invalid_option');
    }
  }
  const episodes = options.episodes ?? 3000;
  const updates = options.updates ?? 10_000;
  const evalEpisodes = options.evalEpisodes ?? 1000;
  const bootstrap = options.bootstrap ?? 200;
  const seed = options.seed ?? 0;
  const algorithm = options.algorithm ?? 'cql';
  const out = path.resolve(options.out);
  const existing = await fs.readdir(out).catch(() => [] as string[]);
  if (existing.length > 0) {
    if (!options.overwrite) throw new KairosError(`${out} is not empty; choose another --out or pass --overwrite`, 'run_exists');
    await fs.rm(out, { recursive: true, force: true });
  }
  await fs.mkdir(out, { recursive: true });
  const stage = (env: string, s: QuickstartStage, detail: string) => options.onStage?.(env, s, detail);
  const started = performance.now();
  const results: QuickstartEnvResult[] = [];
  for (const env of envs) {
    const t0 = performance.now();
    const sim = QUICKSTART_SIMULATORS[env];
    const dir = path.join(out, env);
    await fs.mkdir(dir, { recursive: true });
    const logPath = path.join(dir, 'log.duckdb');
    stage(env, 'simulate', `logging ${episodes} episodes of ε-greedy (ε = ${sim.epsilon}) around the heuristic`);
    const logged = await simulateLog({ env, envOptions: sim.envOptions, out: logPath, episodes, seed, policy: { kind: 'heuristic', epsilon: sim.epsilon } });

    stage(env, 'timeline', 'turning the log into training transitions');
    const timelinePath = path.join(dir, 'timeline.parquet');
    {
      const store = await LogStore.open(logPath, { readOnly: true });
      try {
        await timelineToParquet(store, timelinePath, { ordered: true });
      } finally {
        store.close();
      }
    }

    stage(env, 'train', `offline ${algorithm}, ${updates} gradient steps, no simulator access`);
    const runDir = path.join(dir, 'run');
    await trainOffline({
      algorithm,
      data: logPath,
      runDir,
      updates,
      seed,
      finalEvalEpisodes: 0,
      onProgress: (p) => options.onUpdate?.(env, p.update, p.totalUpdates),
    });

    const spec = await loadRunSpec(runDir);
    const agent: Agent = await loadRunAgent(runDir);
    try {
      stage(env, 'ope', 'DR, WDR and MAGIC with bootstrap intervals');
      const target = agentTargetPolicy(agent, { mode: 'greedy' });
      const store = await LogStore.open(logPath, { readOnly: true });
      const estimates: QuickstartEstimate[] = [];
      let truthMean = Number.NaN;
      try {
        const base = { kind: 'sequential' as const, seed, gamma: 1, model: sim.model };
        const main = await evaluateLog(store, target, { ...base, estimators: ['dr', 'wdr'], bootstrap });
        // MAGIC runs its own inner bootstrap (its bias bound) in every outer resample.
        const magic = await evaluateLog(store, target, { ...base, estimators: ['magic'], bootstrap: Math.max(2, Math.round(bootstrap / 4)) });
        main.report.estimates.push(...magic.report.estimates);
        main.meta.estimators = [...main.meta.estimators, ...magic.meta.estimators];
        writeOpeReport(path.join(dir, 'ope'), main);

        stage(env, 'truth', `the new policy in the simulator, ${evalEpisodes} episodes`);
        const truth = evaluateAgent(agent, envFactoryFor(spec), { episodes: evalEpisodes, seed: spec.evalSeed });
        truthMean = truth.meanReturn;
        const stderr = truth.stdReturn / Math.sqrt(evalEpisodes);
        for (const e of main.report.estimates) {
          const lower = e.interval?.lower ?? Number.NaN;
          const upper = e.interval?.upper ?? Number.NaN;
          estimates.push({ estimator: e.estimator, value: e.value, lower, upper, covers: lower <= truthMean && truthMean <= upper });
        }
        results.push({
          env,
          logPath,
          timelinePath,
          runDir,
          reportDir: path.join(dir, 'ope'),
          decisions: logged.decisions,
          episodes: logged.episodes,
          behaviour: { name: logged.policy, mean: logged.meanReturn, stderr: logged.stderrReturn },
          policy: { name: `offline ${algorithm}`, mean: truthMean, stderr, episodes: evalEpisodes },
          improvementZ: (truthMean - logged.meanReturn) / Math.hypot(stderr, logged.stderrReturn),
          estimates,
          seconds: (performance.now() - t0) / 1000,
        });
      } finally {
        store.close();
      }
    } finally {
      agent.dispose();
    }
  }
  const result: QuickstartResult = { out, envs: results, seconds: (performance.now() - started) / 1000 };
  await fs.writeFile(path.join(out, 'summary.json'), `${JSON.stringify(result, null, 1)}\n`);
  return result;
}

const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '-');

/** The summary table (Markdown, also readable as plain text). */
export function renderQuickstartTable(result: QuickstartResult): string {
  const lines = [
    '| simulator | policy | true value (± se) | DR [95% interval] | WDR [95% interval] | MAGIC [95% interval] |',
    '| --- | --- | ---: | ---: | ---: | ---: |',
  ];
  for (const r of result.envs) {
    lines.push(`| ${r.env} | logging: ${r.behaviour.name} | ${f3(r.behaviour.mean)} ± ${f3(r.behaviour.stderr)} | | | |`);
    const cell = (name: string) => {
      const e = r.estimates.find((x) => x.estimator === name);
      return e ? `${f3(e.value)} [${f3(e.lower)}, ${f3(e.upper)}] ${e.covers ? '✓' : '✗'}` : '-';
    };
    lines.push(`| ${r.env} | new: ${r.policy.name} | ${f3(r.policy.mean)} ± ${f3(r.policy.stderr)} ${r.improvementZ > 2 ? '(better)' : r.improvementZ < -2 ? '(worse)' : '(no clear difference)'} | ${cell('dr')} | ${cell('wdr')} | ${cell('magic')} |`);
  }
  return lines.join('\n');
}
