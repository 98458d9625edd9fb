/**
 * The quickstart: Kairos's main job end to end on the bundled applied simulators, each step
 * the library call its own CLI command makes, for two rounds of the loop a product team runs.
 *
 * Per simulator and round, under `<out>/<env>/round<r>/`:
 *
 *   1. simulate and log   `simulateLog`        (kairos simulate)      log.duckdb
 *   2. timeline           `timelineToParquet`  (kairos data timeline) timeline.parquet
 *   3. offline training   `trainOffline`       (kairos train-offline) run/
 *   4. counterfactual evaluation `evaluateLog` (kairos ope)           ope/report.{json,md,html}
 *   5. ground truth in the simulator `evaluateAgent` (kairos eval)
 *
 * then a summary table: logging policy vs new policy, estimates with intervals vs truth.
 *
 * Round 1 logs ε-greedy traffic around each simulator's production heuristic (the myopic ad
 * load; a fixed notification spacing) and trains CQL from it. That policy is far better than
 * the heuristic, and far from it: its sessions are ones the log barely contains, so the log
 * cannot vouch for it (its trajectory weights have a tiny effective sample size, which the
 * table shows) and the estimates rest on an extrapolating Q model. Round 2 is what a team
 * does next: deploy the round-1 policy with exploration (ε-greedy, as `kairos serve` would
 * log it), evaluate it again on that log, which now covers it, and train a conservative
 * improvement on the same log (CQL with a larger α), evaluated there too. Round 2 is the one
 * whose estimates should hold the truth.
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
import { evaluateLog, writeFileAtomic, writeOpeReport, type EvaluateOptions, type LogEvaluation } from '../data/evaluate.js';
import { simulateLog, type BehaviourSpec, type SimulationResult } from '../data/simulate.js';
import { timelineToParquet } from '../data/timeline.js';
import { trainOffline, type OfflineAlgorithm } from '../offline/index.js';
import { evaluateAgent } from '../train/evaluate.js';
import { envFactoryFor, loadRunAgent, loadRunSpec } from '../train/run.js';

/**
 * Per simulator: make options, logging ε, and the FQE model of the DR family in round 1.
 * Round 1's policy is far from the log; tabular and linear FQE then err low (a table values
 * what it has not seen at zero) rather than extrapolating upwards, the safer error when the
 * log cannot vouch for a policy, and the support column flags it.
 */
export const QUICKSTART_SIMULATORS: Readonly<Record<string, { envOptions: Record<string, unknown>; epsilon: number; model: 'tabular' | 'linear' | 'neural' }>> = {
  // The discretised ads model (fatigue on a 0.25 grid) is a finite MDP: tabular FQE is consistent there.
  'AdsSupply-v0': { envOptions: { fatigueStep: 0.25 }, epsilon: 0.5, model: 'tabular' },
  // A week of binary history is too many states for a table.
  'NotificationDelivery-v0': { envOptions: {}, epsilon: 0.5, model: 'linear' },
};

/**
 * Exploration of the round-1 policy when it is deployed (round 2's logging policy): ε-greedy
 * over its Q-values, as `kairos simulate --policy <run> --epsilon 0.3` or a served policy logs.
 */
export const QUICKSTART_DEPLOY_EPSILON = 0.3;

/**
 * CQL's α in round 2. Ten times the offline default: round 2 improves on a deployed policy
 * that the log mostly follows, and a stronger pull towards the logged actions keeps the new
 * policy where that log can vouch for it (a conservative policy-improvement step).
 */
export const QUICKSTART_ROUND2_CQL_ALPHA = 0.5;

/**
 * FQE model of round 2. Round 2's targets stay near the log but reach (state, action) pairs it
 * has few or no visits of: a table values those at zero (tabular FQE put round 2's ads policy
 * at 0.92 against a truth of 1.98), while a network generalises across them (2.03; DR 1.49
 * with an interval that holds the truth). Measured on the default quickstart, docs/quickstart.md.
 */
export const QUICKSTART_ROUND2_MODEL = 'neural' as const;

/**
 * A target whose trajectory weights have a Kish effective sample size below this fraction of
 * the logged episodes is flagged: the log barely contains episodes like the ones it would
 * produce, and the DR family then rests on its Q model.
 */
export const QUICKSTART_MIN_ESS_FRACTION = 0.01;

/** Options of {@link runQuickstart}. */
export interface QuickstartOptions {
  /** Output folder (created; must be empty or absent unless `overwrite`). */
  out: string;
  overwrite?: boolean;
  /** Simulators to run (default both of {@link QUICKSTART_SIMULATORS}). */
  envs?: string[];
  /** Logged episodes per simulator and round (default 3000). */
  episodes?: number;
  /** Rounds of the loop (default 2; see the module comment). */
  rounds?: 1 | 2;
  /** Offline algorithm of round 1 (default `cql`); round 2 is CQL with {@link QUICKSTART_ROUND2_CQL_ALPHA}. */
  algorithm?: OfflineAlgorithm;
  /** Gradient steps of offline training per round (default 10 000). */
  updates?: number;
  /** Simulator episodes for each new policy's ground truth (default 3000, as many as a round logs). */
  evalEpisodes?: number;
  /** Bootstrap resamples of DR/WDR (default 200); MAGIC uses a quarter (it bootstraps inside). */
  bootstrap?: number;
  seed?: number;
  /** Settings of round 2's neural FQE (default: `fitNeuralFqe`'s); smaller ones make a quick smoke run. */
  neuralFqe?: EvaluateOptions['neuralFqe'];
  /** Called at each stage (for a progress display). */
  onStage?: (env: string, stage: QuickstartStage, detail: string, round: number) => void;
  /** Offline training progress. */
  onUpdate?: (env: string, update: number, total: number, round: number) => void;
  /** Neural FQE progress (round 2): cross-fitting fold, iteration, iterations per fold. */
  onModelProgress?: (env: string, fold: number, iteration: number, iterations: number, round: number) => void;
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

/** How well the log covers the new policy: its trajectory importance weights. */
export interface QuickstartSupport {
  /** Kish effective sample size of the trajectory weights, and its fraction of the episodes. */
  ess: number;
  essFraction: number;
  /** Mean trajectory weight: about 1 when the log covers the target, near 0 when it does not. */
  meanWeight: number;
  /** essFraction ≥ {@link QUICKSTART_MIN_ESS_FRACTION}. */
  supported: boolean;
}

/** One policy evaluated on a round's log: ground truth, estimates and the log's support of it. */
export interface QuickstartPolicy {
  /** e.g. `offline cql`; `round-1 policy` for round 1's policy re-evaluated on round 2's log. */
  name: string;
  runDir: string;
  reportDir: string;
  /** Ground truth: fresh simulator episodes of the greedy policy. */
  mean: number;
  stderr: number;
  episodes: number;
  /** (policy − logging) / standard error of the difference: > 2 is a clear win. */
  improvementZ: number;
  estimates: QuickstartEstimate[];
  support: QuickstartSupport;
}

/** One round of the loop on one simulator: log → timeline → train → OPE → truth. */
export interface QuickstartRound {
  round: number;
  logPath: string;
  timelinePath: string;
  decisions: number;
  episodes: number;
  behaviour: { name: string; mean: number; stderr: number };
  /** The policy trained on this round's log, last; round 2 first re-evaluates round 1's. */
  policies: QuickstartPolicy[];
  seconds: number;
}

/** What the quickstart found on one simulator. */
export interface QuickstartEnvResult {
  env: string;
  rounds: QuickstartRound[];
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
  const rounds = options.rounds ?? 2;
  if (rounds !== 1 && rounds !== 2) throw new KairosError(`rounds: expected 1 or 2, received ${JSON.stringify(rounds)}`, 'invalid_option');
  const out = path.resolve(options.out);
  const existing = await fs.readdir(out).catch(() => [] as string[]);
  if (existing.length > 0) {
    if (!options.overwrite) throw new KairosError(`${out} is not empty; choose another --out or pass --overwrite`, 'run_exists');
    await fs.rm(out, { recursive: true, force: true });
  }
  await fs.mkdir(out, { recursive: true });
  const started = performance.now();
  const results: QuickstartEnvResult[] = [];
  for (const env of envs) {
    const t0 = performance.now();
    const sim = QUICKSTART_SIMULATORS[env];
    const first = await runRound(options, env, 1, {
      behaviour: { kind: 'heuristic', epsilon: sim.epsilon },
      behaviourText: `ε-greedy (ε = ${sim.epsilon}) around the heuristic`,
      model: sim.model,
      algorithm: options.algorithm ?? 'cql',
    });
    const done = [first];
    if (rounds === 2) {
      const previous = first.policies[first.policies.length - 1];
      done.push(
        await runRound(options, env, 2, {
          behaviour: { kind: 'run', runDir: previous.runDir, epsilon: QUICKSTART_DEPLOY_EPSILON },
          behaviourText: `the round-1 policy deployed ε-greedy (ε = ${QUICKSTART_DEPLOY_EPSILON})`,
          behaviourName: `round-1 policy, ε-greedy (ε = ${QUICKSTART_DEPLOY_EPSILON})`,
          model: QUICKSTART_ROUND2_MODEL,
          algorithm: 'cql',
          cqlAlpha: QUICKSTART_ROUND2_CQL_ALPHA,
          previous,
        }),
      );
    }
    results.push({ env, rounds: done, seconds: (performance.now() - t0) / 1000 });
  }
  const result: QuickstartResult = { out, envs: results, seconds: (performance.now() - started) / 1000 };
  writeFileAtomic(path.join(out, 'summary.json'), `${JSON.stringify(result, null, 1)}\n`);
  return result;
}

interface RoundPlan {
  behaviour: BehaviourSpec;
  behaviourText: string;
  /** The logging policy's name in the table. */
  behaviourName?: string;
  /** FQE model of the DR family. */
  model: 'tabular' | 'linear' | 'neural';
  algorithm: OfflineAlgorithm;
  cqlAlpha?: number;
  /** The deployed policy, to re-evaluate on this round's log (its truth is already known). */
  previous?: QuickstartPolicy;
}

async function runRound(options: QuickstartOptions, env: string, round: number, plan: RoundPlan): Promise<QuickstartRound> {
  const episodes = options.episodes ?? 3000;
  const updates = options.updates ?? 10_000;
  // Each round logs fresh traffic: its own seed stream.
  const seed = (options.seed ?? 0) + round - 1;
  const sim = QUICKSTART_SIMULATORS[env];
  const stage = (s: QuickstartStage, detail: string) => options.onStage?.(env, s, detail, round);
  const t0 = performance.now();
  const dir = path.join(path.resolve(options.out), env, `round${round}`);
  await fs.mkdir(dir, { recursive: true });
  const logPath = path.join(dir, 'log.duckdb');
  stage('simulate', `logging ${episodes} episodes of ${plan.behaviourText}`);
  const logged = await simulateLog({ env, envOptions: sim.envOptions, out: logPath, episodes, seed, policy: plan.behaviour });

  stage('timeline', 'turning the log into training transitions');
  const timelinePath = path.join(dir, 'timeline.parquet');
  {
    const store = await LogStore.open(logPath, { readOnly: true });
    try {
      await timelineToParquet(store, timelinePath, { ordered: true });
    } finally {
      store.close();
    }
  }

  const alphaText = plan.cqlAlpha !== undefined ? ` (α = ${plan.cqlAlpha})` : '';
  stage('train', `offline ${plan.algorithm}${alphaText}, ${updates} gradient steps, no simulator access`);
  const runDir = path.join(dir, 'run');
  await trainOffline({
    algorithm: plan.algorithm,
    data: logPath,
    runDir,
    updates,
    seed,
    finalEvalEpisodes: 0,
    ...(plan.cqlAlpha !== undefined ? { config: { cqlAlpha: plan.cqlAlpha } } : {}),
    onProgress: (p) => options.onUpdate?.(env, p.update, p.totalUpdates, round),
  });

  const policies: QuickstartPolicy[] = [];
  if (plan.previous) {
    stage('ope', `the deployed round-1 policy on its own exploration log: DR, WDR and MAGIC (${plan.model} FQE)`);
    policies.push(await evaluatePolicy(options, round, logged, plan.model, plan.previous.runDir, path.join(dir, 'ope-round1-policy'), 'round-1 policy', plan.previous));
  }
  stage('ope', `DR, WDR and MAGIC (${plan.model} FQE) with bootstrap intervals`);
  policies.push(await evaluatePolicy(options, round, logged, plan.model, runDir, path.join(dir, 'ope'), `offline ${plan.algorithm}${alphaText}`, null));
  return {
    round,
    logPath,
    timelinePath,
    decisions: logged.decisions,
    episodes: logged.episodes,
    behaviour: { name: plan.behaviourName ?? logged.policy, mean: logged.meanReturn, stderr: logged.stderrReturn },
    policies,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** OPE of a run's greedy policy on a round's log, and its ground truth (unless already known). */
async function evaluatePolicy(
  options: QuickstartOptions,
  round: number,
  logged: SimulationResult,
  model: RoundPlan['model'],
  runDir: string,
  reportDir: string,
  name: string,
  known: Pick<QuickstartPolicy, 'mean' | 'stderr' | 'episodes'> | null,
): Promise<QuickstartPolicy> {
  const env = logged.env;
  const evalEpisodes = options.evalEpisodes ?? 3000;
  const bootstrap = options.bootstrap ?? 200;
  const seed = (options.seed ?? 0) + round - 1;
  const spec = await loadRunSpec(runDir);
  const agent: Agent = await loadRunAgent(runDir);
  try {
    const target = agentTargetPolicy(agent, { mode: 'greedy' });
    const store = await LogStore.open(logged.path, { readOnly: true });
    let evaluation: LogEvaluation;
    try {
      const base = {
        kind: 'sequential' as const,
        seed,
        gamma: 1,
        model,
        ...(model === 'neural' && options.neuralFqe ? { neuralFqe: options.neuralFqe } : {}),
        onModelProgress: (fold: number, iteration: number, iterations: number) => options.onModelProgress?.(env, fold, iteration, iterations, round),
      };
      evaluation = await evaluateLog(store, target, { ...base, estimators: ['dr', 'wdr'], bootstrap });
      // MAGIC runs its own inner bootstrap (its bias bound) in every outer resample.
      const magic = await evaluateLog(store, target, { ...base, estimators: ['magic'], bootstrap: Math.max(2, Math.round(bootstrap / 4)) });
      evaluation.report.estimates.push(...magic.report.estimates);
      evaluation.meta.estimators = [...evaluation.meta.estimators, ...magic.meta.estimators];
    } finally {
      store.close();
    }
    writeOpeReport(reportDir, evaluation);

    let truth = known === null ? null : { mean: known.mean, stderr: known.stderr, episodes: known.episodes };
    if (truth === null) {
      options.onStage?.(env, 'truth', `the new policy in the simulator, ${evalEpisodes} episodes`, round);
      const r = evaluateAgent(agent, envFactoryFor(spec), { episodes: evalEpisodes, seed: spec.evalSeed });
      truth = { mean: r.meanReturn, stderr: r.stdReturn / Math.sqrt(evalEpisodes), episodes: evalEpisodes };
    }
    const { mean } = truth;
    const estimates = evaluation.report.estimates.map((e) => {
      const lower = e.interval?.lower ?? Number.NaN;
      const upper = e.interval?.upper ?? Number.NaN;
      return { estimator: e.estimator, value: e.value, lower, upper, covers: lower <= mean && mean <= upper };
    });
    const d = evaluation.report.estimates[0].diagnostics;
    return {
      name,
      runDir,
      reportDir,
      ...truth,
      improvementZ: (mean - logged.meanReturn) / Math.hypot(truth.stderr, logged.stderrReturn),
      estimates,
      support: { ess: d.ess, essFraction: d.essFraction, meanWeight: d.meanWeight, supported: d.essFraction >= QUICKSTART_MIN_ESS_FRACTION },
    };
  } finally {
    agent.dispose();
  }
}

const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '-');

/** The summary table (Markdown, also readable as plain text). */
export function renderQuickstartTable(result: QuickstartResult): string {
  const lines = [
    '| simulator | round | policy | true value (± se) | log support (ESS) | DR [95% interval] | WDR [95% interval] | MAGIC [95% interval] |',
    '| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const env of result.envs) {
    for (const r of env.rounds) {
      lines.push(`| ${env.env} | ${r.round} | logging: ${r.behaviour.name} | ${f3(r.behaviour.mean)} ± ${f3(r.behaviour.stderr)} | | | | |`);
      for (const p of r.policies) {
        const cell = (name: string) => {
          const e = p.estimates.find((x) => x.estimator === name);
          return e ? `${f3(e.value)} [${f3(e.lower)}, ${f3(e.upper)}] ${e.covers ? '✓' : '✗'}` : '-';
        };
        const verdict = p.improvementZ > 2 ? '(better)' : p.improvementZ < -2 ? '(worse)' : '(no clear difference)';
        const support = `${p.support.ess.toFixed(0)} of ${r.episodes}${p.support.supported ? '' : ' (too low)'}`;
        lines.push(`| ${env.env} | ${r.round} | ${p.name} | ${f3(p.mean)} ± ${f3(p.stderr)} ${verdict} | ${support} | ${cell('dr')} | ${cell('wdr')} | ${cell('magic')} |`);
      }
    }
  }
  return lines.join('\n');
}
