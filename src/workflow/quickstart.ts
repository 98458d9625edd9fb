/**
 * The quickstart: Kairos's main job end to end on the bundled applied simulators, each step
 * the library call its own CLI command makes, for two rounds of the loop a product team runs.
 *
 * Per simulator and round, under `<out>/<env>/round<r>/`:
 *
 *   1. simulate and log   `simulateLog`        (kairos simulate)      log.duckdb
 *   2. timeline           `timelineToParquet`  (kairos data timeline) timeline.parquet
 *   3. offline training   `trainOffline`       (kairos train-offline) run/
 *   4. ground truth in the simulator `evaluateAgent` (kairos eval)
 *   5. counterfactual evaluation `evaluateLog` (kairos ope)           ope/report.{json,md,html}
 *
 * then the summary table (`table.md`, `table.html`), `summary.json` and an `index.html` that
 * links every report, all in `<out>/`.
 *
 * The table puts each learned policy next to the baselines it has to beat, each with its exact
 * value where one exists and a simulated mean over the same fresh episodes (± standard error):
 * the plain heuristic (the myopic ad load; the best fixed notification spacing), the best
 * constant policy, the logging policy of each round, and AdsSupply's exact optimum (dynamic
 * programming on the discretised model). "Better" and "worse" are said against the plain
 * heuristic and the best simple policy only, from the standard error of the paired difference.
 *
 * Round 1 logs the heuristic with heavy exploration (ε-greedy, ε per simulator) and trains CQL
 * from that log. Round 2 is what a team does next: deploy the round-1 policy with exploration
 * (ε-greedy, as `kairos serve` would log it), evaluate it again on that log, which now covers
 * it, and train the next policy on that log. Round 2 is a step of policy iteration: its log
 * covers the sessions a good policy produces (long ones), which the heuristic's log barely
 * holds. docs/quickstart.md gives the measured figures and what made the difference.
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
import { Discrete, flatdim, flattenInto } from '../core/spaces.js';
import { LogStore } from '../data/store.js';
import { evaluateLog, reportIndexEntries, writeFileAtomic, writeOpeReport, type EvaluateOptions, type LogEvaluation } from '../data/evaluate.js';
import { escapeHtml, renderReportIndex, type ReportIndexEntry, type ReportIndexSection } from '../data/report-index.js';
import { heuristicBehaviour, simulateLog, type BehaviourSpec, type SimulationResult } from '../data/simulate.js';
import type { TargetPolicy } from '../data/target-policy.js';
import { timelineToParquet } from '../data/timeline.js';
import { heuristicFor } from '../envs/heuristics.js';
import { make } from '../envs/registry.js';
import { runEpisodes } from '../envs/rollout.js';
import { evaluateAdsSupplyPolicy, solveAdsSupply, type AdsSupplyPolicy } from '../envs/sims/ads-supply-dp.js';
import { bestNotificationSpacing, notificationScheduleValue } from '../envs/sims/notification-delivery.js';
import { trainOffline, type OfflineAlgorithm } from '../offline/index.js';
import { meanAndStderr } from '../ope/report.js';
import { evaluateAgent } from '../train/evaluate.js';
import { envFactoryFor, loadRunAgent, loadRunSpec } from '../train/run.js';

/** Offline training of a simulator's rounds (both rounds train the same way). */
export interface QuickstartTraining {
  /** CQL's α (with `algorithm` cql). */
  cqlAlpha: number;
  /** Gradient steps per round. */
  updates: number;
  /** Train on standardised state features (`trainOffline`'s `standardizeFeatures`). */
  standardizeFeatures: boolean;
  /** DQN config fields over `OFFLINE_DQN_DEFAULTS`. */
  config: Readonly<Record<string, unknown>>;
}

/** Settings of one simulator in the quickstart. */
export interface QuickstartSimulator {
  /** Make options of the env. */
  envOptions: Record<string, unknown>;
  /** Logged episodes per round (default of `episodes`). */
  episodes: number;
  /** ε of round 1's logging policy, ε-greedy around the simulator's heuristic. */
  epsilon: number;
  /** FQE model of the DR family, per round. */
  model: { round1: 'tabular' | 'linear' | 'neural'; round2: 'tabular' | 'linear' | 'neural' };
  training: QuickstartTraining;
}

/**
 * Per simulator: make options, logged episodes, round 1's logging ε, the FQE models and the
 * offline training. Every choice is measured in docs/quickstart.md ("What made the difference").
 *
 * AdsSupply-v0:
 * - a round logs 30 000 sessions (they are short: about as many decisions as 3000 notification
 *   users of 60 slots). Neighbouring ad loads differ in value by 0.01 to 0.03 while a page's
 *   revenue has a standard deviation near 0.5: telling them apart takes that much data;
 * - round 1 explores with ε = 0.8: the myopic heuristic shows five ads, which ends sessions
 *   within a few pages, so a log of it holds almost no long sessions;
 * - CQL with γ = 1 (a finite horizon whose page index is observed: the undiscounted return is
 *   the objective), α = 0.01 (the penalty moves the Q of an action logged with probability μ by
 *   about α·(π/μ − 1), comparable to those gaps at the default 0.05; round 2 reached 85-95% of
 *   the optimum with 0.05 and 90-95% with 0.01), a learning rate of 1e-3 decaying to 1e-4 over
 *   20 000 steps, on standardised features (the fatigue feature lives in [0, 0.25] of its scale);
 * - tabular FQE in both rounds: the discretised model (fatigue on a 0.25 grid) is a finite
 *   MDP, on which it is consistent.
 *
 * NotificationDelivery-v0:
 * - 3000 users of 60 slots a round, logged with ε = 0.5 around the best fixed spacing;
 * - CQL with α = 0.2 (four times the offline default): every send risks a −5 unsubscribe, and a
 *   policy that sends where the log rarely did is the costly mistake; the offline defaults
 *   otherwise (γ = 0.99, learning rate 5e-4 to 5e-5, 10 000 steps);
 * - linear FQE in round 1 (a week of binary history is too many states for a table), neural
 *   FQE in round 2, whose targets reach (state, action) pairs the log has few visits of.
 */
export const QUICKSTART_SIMULATORS: Readonly<Record<string, QuickstartSimulator>> = {
  'AdsSupply-v0': {
    envOptions: { fatigueStep: 0.25 },
    episodes: 30_000,
    epsilon: 0.8,
    model: { round1: 'tabular', round2: 'tabular' },
    training: {
      cqlAlpha: 0.01,
      updates: 20_000,
      standardizeFeatures: true,
      config: { gamma: 1, learningRate: { type: 'linear', start: 1e-3, end: 1e-4, fraction: 1 } },
    },
  },
  'NotificationDelivery-v0': {
    envOptions: {},
    episodes: 3000,
    epsilon: 0.5,
    model: { round1: 'linear', round2: 'neural' },
    training: { cqlAlpha: 0.2, updates: 10_000, standardizeFeatures: false, config: {} },
  },
};

/**
 * Exploration of the round-1 policy when it is deployed (round 2's logging policy): ε-greedy
 * over its Q-values, as `kairos simulate --policy <run> --epsilon 0.3` or a served policy logs.
 */
export const QUICKSTART_DEPLOY_EPSILON = 0.3;

/** Evaluation episode k of every policy and baseline uses simulator seed `QUICKSTART_EVAL_SEED + k`. */
export const QUICKSTART_EVAL_SEED = 1_000_000;

/** Options of {@link runQuickstart}. */
export interface QuickstartOptions {
  /** Output folder (created; must be empty or absent unless `overwrite`). */
  out: string;
  overwrite?: boolean;
  /** Simulators to run (default both of {@link QUICKSTART_SIMULATORS}). */
  envs?: string[];
  /** Logged episodes per simulator and round (default: the simulator's, {@link QUICKSTART_SIMULATORS}). */
  episodes?: number;
  /** Rounds of the loop (default 2; see the module comment). */
  rounds?: 1 | 2;
  /** Offline algorithm of both rounds (default `cql`; `dqn` drops the conservative penalty). */
  algorithm?: OfflineAlgorithm;
  /** Gradient steps of offline training per round (default: the simulator's, {@link QUICKSTART_SIMULATORS}). */
  updates?: number;
  /** Simulator episodes of each policy's and baseline's ground truth (default 3000). */
  evalEpisodes?: number;
  /** Bootstrap resamples of DR/WDR (default 200); MAGIC uses a quarter (it bootstraps inside). */
  bootstrap?: number;
  seed?: number;
  /** Settings of neural FQE where a round uses it (default: `fitNeuralFqe`'s); smaller ones make a quick smoke run. */
  neuralFqe?: EvaluateOptions['neuralFqe'];
  /** Called at each stage (for a progress display). */
  onStage?: (env: string, stage: QuickstartStage, detail: string, round: number) => void;
  /** Offline training progress. */
  onUpdate?: (env: string, update: number, total: number, round: number) => void;
  /** Neural FQE progress: cross-fitting fold, iteration, iterations per fold. */
  onModelProgress?: (env: string, fold: number, iteration: number, iterations: number, round: number) => void;
}

export type QuickstartStage = 'baselines' | 'simulate' | 'timeline' | 'train' | 'truth' | 'ope';

/** A difference of simulated mean returns, paired over the same simulator seeds. */
export interface QuickstartComparison {
  /** Name of the policy compared against. */
  against: string;
  /** Mean of (this policy's return − the other's) over the same seeds. */
  difference: number;
  /** Standard error of that mean. */
  stderr: number;
  /** difference / stderr. */
  z: number;
  /** `better` / `worse` when |z| > 2. */
  verdict: 'better' | 'worse' | 'no clear difference';
  /** Exact difference of the two policies' values, where both are known. */
  exactDifference: number | null;
}

/** A baseline policy of the table: exact value where one exists, and a simulated mean. */
export interface QuickstartReference {
  /** `exact optimum`, `plain heuristic` or `best constant policy`. */
  name: string;
  role: 'optimum' | 'heuristic' | 'constant';
  /** What it does, e.g. `1 ad every page`. */
  description: string;
  exact: number | null;
  mean: number;
  stderr: number;
  episodes: number;
}

/** One estimate of a policy's value from a round's log. */
export interface QuickstartEstimate {
  estimator: string;
  value: number;
  lower: number;
  upper: number;
  /** Whether the interval holds the simulated truth. */
  covers: boolean;
  /** `failed`: the value must not be read (non-finite, outside the achievable range, or an unusable model); see `failure`. */
  status: 'ok' | 'failed';
  failure?: string;
}

/** How well a round's log covers a policy (the OPE report's `support`). */
export interface QuickstartSupport {
  /** Kish effective sample size of the trajectory weights, and its fraction of the episodes. */
  ess: number;
  essFraction: number;
  /** Kish ESS of the per-decision weights, over logged steps. */
  perDecisionEss: number | null;
  perDecisionSteps: number | null;
  maxWeight: number;
  /** Share of episodes whose trajectory weight is not zero. */
  nonZeroFraction: number;
  supported: boolean;
  /** The report's one line, e.g. "log supports this policy (ESS 41 of 3000 episodes)". */
  message: string;
}

/** One policy evaluated on a round's log: ground truth, comparisons, estimates and support. */
export interface QuickstartPolicy {
  /** e.g. `offline cql`; `round-1 policy` for round 1's policy re-evaluated on round 2's log. */
  name: string;
  runDir: string;
  reportDir: string;
  /** Ground truth: fresh simulator episodes of the greedy policy. */
  mean: number;
  stderr: number;
  episodes: number;
  /** Exact value of the greedy policy, where the simulator has an exact evaluator (AdsSupply). */
  exact: number | null;
  /** exact / the optimum's exact value, where both exist. */
  ofOptimum: number | null;
  /** (policy − logging) / standard error of the difference (independent episodes). */
  improvementZ: number;
  /** Against the plain heuristic, then the best simple policy when that is another one. */
  versus: QuickstartComparison[];
  estimates: QuickstartEstimate[];
  support: QuickstartSupport;
  /** Lines of the index page for its report (paths relative to the output folder). */
  index: ReportIndexEntry[];
}

/** One round of the loop on one simulator: log → timeline → train → truth → OPE. */
export interface QuickstartRound {
  round: number;
  logPath: string;
  timelinePath: string;
  decisions: number;
  episodes: number;
  /** The logging policy: its logged episodes' mean and standard error, and its exact value where known. */
  behaviour: { name: string; mean: number; stderr: number; exact: number | null };
  /** The policy trained on this round's log, last; round 2 first re-evaluates round 1's. */
  policies: QuickstartPolicy[];
  /** Round 2: the new policy against the round-1 policy (paired over the same seeds). */
  gain: QuickstartComparison | null;
  seconds: number;
}

/** What the quickstart found on one simulator. */
export interface QuickstartEnvResult {
  env: string;
  references: QuickstartReference[];
  /** Name of the reference learned policies must beat besides the heuristic: the better of the heuristic and the best constant policy. */
  bestSimple: string;
  rounds: QuickstartRound[];
  seconds: number;
}

export interface QuickstartResult {
  out: string;
  envs: QuickstartEnvResult[];
  /** The files written in `out`. */
  files: { summary: string; tableMarkdown: string; tableHtml: string; index: string };
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
  const evalEpisodes = options.evalEpisodes ?? 3000;
  for (const env of envs) {
    const t0 = performance.now();
    const sim = QUICKSTART_SIMULATORS[env];
    options.onStage?.(env, 'baselines', `exact values and ${evalEpisodes} simulated episodes of the heuristic, the best constant policy${env === 'AdsSupply-v0' ? ' and the optimum' : ''}`, 0);
    const baselines = computeBaselines(env, sim.envOptions, evalEpisodes);
    const ctx: EnvContext = { options, env, out, baselines };
    const algorithm = options.algorithm ?? 'cql';
    const heuristic = heuristicFor(env, sim.envOptions) as (obs: Float32Array) => number;
    const first = await runRound(ctx, 1, {
      behaviour: { kind: 'heuristic', epsilon: sim.epsilon },
      behaviourText: `ε-greedy (ε = ${sim.epsilon}) around the heuristic`,
      behaviourName: `ε-greedy (ε = ${sim.epsilon}) around the heuristic`,
      behaviourProbabilities: epsilonGreedy(heuristic, baselines.numActions, sim.epsilon),
      model: sim.model.round1,
      algorithm,
    });
    const done = [first];
    if (rounds === 2) {
      const previous = first.policies[first.policies.length - 1];
      const deployed = await loadRunAgent(previous.runDir);
      try {
        done.push(
          await runRound(ctx, 2, {
            behaviour: { kind: 'run', runDir: previous.runDir, epsilon: QUICKSTART_DEPLOY_EPSILON },
            behaviourText: `the round-1 policy deployed ε-greedy (ε = ${QUICKSTART_DEPLOY_EPSILON})`,
            behaviourName: `round-1 policy, ε-greedy (ε = ${QUICKSTART_DEPLOY_EPSILON})`,
            behaviourProbabilities: epsilonGreedy(greedyOf(deployed), baselines.numActions, QUICKSTART_DEPLOY_EPSILON),
            model: sim.model.round2,
            algorithm,
            previous,
          }),
        );
      } finally {
        deployed.dispose();
      }
    }
    results.push({ env, references: baselines.references, bestSimple: baselines.bestSimple, rounds: done, seconds: (performance.now() - t0) / 1000 });
  }
  const files = { summary: path.join(out, 'summary.json'), tableMarkdown: path.join(out, 'table.md'), tableHtml: path.join(out, 'table.html'), index: path.join(out, 'index.html') };
  const result: QuickstartResult = { out, envs: results, files, seconds: (performance.now() - started) / 1000 };
  writeFileAtomic(files.summary, `${JSON.stringify(result, null, 1)}\n`);
  writeFileAtomic(files.tableMarkdown, `# Quickstart\n\n${renderQuickstartTable(result)}\n`);
  writeFileAtomic(files.tableHtml, renderQuickstartHtml(result));
  writeFileAtomic(files.index, renderQuickstartIndex(result));
  return result;
}

// --- Baselines --------------------------------------------------------------------------------

interface Baselines {
  references: QuickstartReference[];
  /** Per-episode simulated returns of each reference, by name (seeds QUICKSTART_EVAL_SEED + k). */
  returns: Map<string, number[]>;
  heuristic: string;
  bestSimple: string;
  optimum: number | null;
  numActions: number;
  /** Exact value of a policy of the observation, where the simulator has an exact evaluator. */
  exactValue: ((policy: AdsSupplyPolicy) => number) | null;
}

/** A deterministic policy of one observation. */
type ObsPolicy = (obs: Float32Array) => number;

/**
 * The baselines of a simulator: exact values (AdsSupply: `solveAdsSupply` and
 * `evaluateAdsSupplyPolicy` on its discretised model; NotificationDelivery: the exact value of
 * open-loop schedules) and simulated returns over the evaluation seeds.
 */
function computeBaselines(env: string, envOptions: Record<string, unknown>, episodes: number): Baselines {
  const numActions = discreteActions(env, envOptions);
  const heuristic = heuristicFor(env, envOptions) as ObsPolicy;
  const candidates: { name: string; role: QuickstartReference['role']; description: string; exact: number | null; policy: ObsPolicy }[] = [];
  let exactValue: Baselines['exactValue'] = null;
  if (env === 'AdsSupply-v0') {
    exactValue = (policy) => evaluateAdsSupplyPolicy(envOptions, policy).value;
    const dp = solveAdsSupply(envOptions);
    candidates.push({ name: 'exact optimum', role: 'optimum', description: 'dynamic programming on the discretised model', exact: dp.value, policy: dp.policy });
    candidates.push({ name: 'plain heuristic', role: 'heuristic', description: 'myopic, the ad load that pays most on the page', exact: exactValue(heuristic), policy: heuristic });
    let best = { a: 0, value: -Infinity };
    for (let a = 0; a < numActions; a++) {
      const value = exactValue(() => a);
      if (value > best.value) best = { a, value };
    }
    candidates.push({ name: 'best constant policy', role: 'constant', description: `${best.a} ad${best.a === 1 ? '' : 's'} every page`, exact: best.value, policy: () => best.a });
  } else if (env === 'NotificationDelivery-v0') {
    const spacing = bestNotificationSpacing(envOptions);
    candidates.push({ name: 'plain heuristic', role: 'heuristic', description: `the best fixed spacing, a send when ${spacing.spacing} slots have passed`, exact: spacing.value, policy: heuristic });
    let best = { a: 0, value: -Infinity };
    for (let a = 0; a < numActions; a++) {
      const value = notificationScheduleValue(envOptions, () => a).value;
      if (value > best.value) best = { a, value };
    }
    candidates.push({ name: 'best constant policy', role: 'constant', description: best.a === 0 ? 'never send' : `send type ${best.a - 1} every slot`, exact: best.value, policy: () => best.a });
  } else {
    throw new KairosError(`quickstart baselines: no references for ${env}`, 'invalid_option');
  }
  const returns = new Map<string, number[]>();
  const references = candidates.map((c) => {
    const r = simulatePolicy(env, envOptions, c.policy, episodes, QUICKSTART_EVAL_SEED);
    returns.set(c.name, r);
    const { value: mean, stderr } = meanAndStderr(r);
    return { name: c.name, role: c.role, description: c.description, exact: c.exact, mean, stderr, episodes };
  });
  const simple = references.filter((r) => r.role !== 'optimum');
  const key = (r: QuickstartReference) => r.exact ?? r.mean;
  const bestSimple = simple.reduce((a, b) => (key(b) > key(a) ? b : a)).name;
  const optimum = references.find((r) => r.role === 'optimum')?.exact ?? null;
  return { references, returns, heuristic: 'plain heuristic', bestSimple, optimum, numActions, exactValue };
}

function discreteActions(env: string, envOptions: Record<string, unknown>): number {
  const e = make(env, envOptions);
  try {
    if (!(e.actionSpace instanceof Discrete)) throw new KairosError(`${env}: the quickstart needs discrete actions`, 'unsupported_space');
    return e.actionSpace.n;
  } finally {
    e.close?.();
  }
}

/**
 * Returns of `episodes` simulator episodes of a deterministic policy; episode k resets with
 * seed `seed + k`, as `evaluateAgent` does, so that the same episode index meets the same user.
 */
function simulatePolicy(env: string, envOptions: Record<string, unknown>, policy: ObsPolicy, episodes: number, seed: number): number[] {
  const e = make(env, envOptions);
  try {
    const space = e.observationSpace;
    const obs = new Float32Array(flatdim(space));
    const flat = (o: unknown) => {
      flattenInto(space, o, obs, 0);
      return policy(obs);
    };
    return runEpisodes(e, flat, { episodes, seed, maxSteps: 100_000 }).returns;
  } finally {
    e.close?.();
  }
}

/** Paired comparison of two policies' returns over the same seeds; see {@link QuickstartComparison}. */
function comparePaired(against: string, mine: readonly number[], theirs: readonly number[], exactDifference: number | null): QuickstartComparison {
  const n = Math.min(mine.length, theirs.length);
  const d = Array.from({ length: n }, (_, i) => mine[i] - theirs[i]);
  const { value: mean, stderr } = meanAndStderr(d);
  const z = stderr > 0 ? mean / stderr : mean === 0 ? 0 : Math.sign(mean) * Infinity;
  return { against, difference: mean, stderr, z, verdict: z > 2 ? 'better' : z < -2 ? 'worse' : 'no clear difference', exactDifference };
}

function greedyOf(agent: Agent): ObsPolicy {
  return (obs) => agent.act(obs, 1, { deterministic: true }).actions[0];
}

/** Action probabilities of ε-greedy around a deterministic policy (for exact evaluation of a logging policy). */
function epsilonGreedy(policy: ObsPolicy, k: number, epsilon: number): (obs: Float32Array) => Float64Array {
  return (obs) => {
    const p = new Float64Array(k).fill(epsilon / k);
    p[policy(obs)] += 1 - epsilon;
    return p;
  };
}

// --- Rounds -----------------------------------------------------------------------------------

interface EnvContext {
  options: QuickstartOptions;
  env: string;
  out: string;
  baselines: Baselines;
}

interface RoundPlan {
  behaviour: BehaviourSpec;
  behaviourText: string;
  /** The logging policy's name in the table. */
  behaviourName: string;
  /** Its action probabilities, for its exact value where the simulator has an exact evaluator. */
  behaviourProbabilities: (obs: Float32Array) => Float64Array;
  /** FQE model of the DR family. */
  model: 'tabular' | 'linear' | 'neural';
  algorithm: OfflineAlgorithm;
  /** The deployed policy, to re-evaluate on this round's log (its truth is already known). */
  previous?: QuickstartPolicy;
}

async function runRound(ctx: EnvContext, round: number, plan: RoundPlan): Promise<QuickstartRound> {
  const { options, env } = ctx;
  const sim = QUICKSTART_SIMULATORS[env];
  const episodes = options.episodes ?? sim.episodes;
  const training = sim.training;
  const updates = options.updates ?? training.updates;
  // Each round logs fresh traffic: its own seed stream.
  const seed = (options.seed ?? 0) + round - 1;
  const stage = (s: QuickstartStage, detail: string) => options.onStage?.(env, s, detail, round);
  const t0 = performance.now();
  const dir = path.join(ctx.out, env, `round${round}`);
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

  stage('train', `offline ${plan.algorithm}${plan.algorithm === 'cql' ? ` (α = ${training.cqlAlpha})` : ''}, ${updates} gradient steps, no simulator access`);
  const runDir = path.join(dir, 'run');
  await trainOffline({
    algorithm: plan.algorithm,
    data: logPath,
    runDir,
    updates,
    seed,
    finalEvalEpisodes: 0,
    evalSeed: QUICKSTART_EVAL_SEED,
    standardizeFeatures: training.standardizeFeatures,
    config: { ...training.config, ...(plan.algorithm === 'cql' ? { cqlAlpha: training.cqlAlpha } : {}) },
    onProgress: (p) => options.onUpdate?.(env, p.update, p.totalUpdates, round),
  });

  const policies: QuickstartPolicy[] = [];
  const exactLogging = ctx.baselines.exactValue?.(plan.behaviourProbabilities) ?? null;
  if (plan.previous) {
    policies.push(await evaluatePolicy(ctx, round, logged, plan.model, plan.previous.runDir, path.join(dir, 'ope-round1-policy'), 'round-1 policy', plan.previous));
  }
  policies.push(await evaluatePolicy(ctx, round, logged, plan.model, runDir, path.join(dir, 'ope'), `offline ${plan.algorithm}`, null));
  let gain: QuickstartComparison | null = null;
  if (plan.previous) {
    const [before, after] = policies;
    const exactDifference = after.exact !== null && before.exact !== null ? after.exact - before.exact : null;
    gain = comparePaired('round-1 policy', returnsOf.get(after) ?? [], returnsOf.get(before) ?? [], exactDifference);
  }
  return {
    round,
    logPath,
    timelinePath,
    decisions: logged.decisions,
    episodes: logged.episodes,
    behaviour: { name: plan.behaviourName, mean: logged.meanReturn, stderr: logged.stderrReturn, exact: exactLogging },
    policies,
    gain,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** Per-episode simulated returns of each evaluated policy (kept out of summary.json). */
const returnsOf = new WeakMap<QuickstartPolicy, number[]>();

/** Ground truth of a run's greedy policy (unless already known), then its OPE on a round's log. */
async function evaluatePolicy(
  ctx: EnvContext,
  round: number,
  logged: SimulationResult,
  model: RoundPlan['model'],
  runDir: string,
  reportDir: string,
  name: string,
  known: QuickstartPolicy | null,
): Promise<QuickstartPolicy> {
  const { options, env, baselines } = ctx;
  const evalEpisodes = options.evalEpisodes ?? 3000;
  const bootstrap = options.bootstrap ?? 200;
  const seed = (options.seed ?? 0) + round - 1;
  const spec = await loadRunSpec(runDir);
  const agent: Agent = await loadRunAgent(runDir);
  try {
    let returns: number[];
    let truth: { mean: number; stderr: number; episodes: number; exact: number | null };
    if (known) {
      returns = returnsOf.get(known) ?? [];
      truth = { mean: known.mean, stderr: known.stderr, episodes: known.episodes, exact: known.exact };
    } else {
      options.onStage?.(env, 'truth', `the new policy in the simulator, ${evalEpisodes} episodes${baselines.exactValue ? ', and its exact value' : ''}`, round);
      const r = evaluateAgent(agent, envFactoryFor(spec), { episodes: evalEpisodes, seed: QUICKSTART_EVAL_SEED });
      returns = r.returns;
      const { value: mean, stderr } = meanAndStderr(returns);
      truth = { mean, stderr, episodes: evalEpisodes, exact: baselines.exactValue?.(greedyOf(agent)) ?? null };
    }

    options.onStage?.(env, 'ope', `${known ? `the ${name} on its own deployment log` : 'the new policy'}: DR, WDR and MAGIC (${model} FQE), bootstrap intervals`, round);
    const targetName = known ? `${name} on its deployment log (round ${round})` : `${name} (round ${round})`;
    const target: TargetPolicy = agentTargetPolicy(agent, { mode: 'greedy', name: targetName });
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
      evaluation.report.failures += magic.report.failures;
      evaluation.meta.estimators = [...evaluation.meta.estimators, ...magic.meta.estimators];
    } finally {
      store.close();
    }
    evaluation.meta.truth = { value: truth.mean, stderr: truth.stderr, description: `mean return of ${truth.episodes} fresh simulator episodes` };
    writeOpeReport(reportDir, evaluation);

    const { mean } = truth;
    const estimates: QuickstartEstimate[] = evaluation.report.estimates.map((e) => {
      const lower = e.interval?.lower ?? Number.NaN;
      const upper = e.interval?.upper ?? Number.NaN;
      return { estimator: e.estimator, value: e.value, lower, upper, covers: lower <= mean && mean <= upper, status: e.status, ...(e.failure ? { failure: e.failure } : {}) };
    });
    const s = evaluation.report.support;
    const support: QuickstartSupport = {
      ess: s.trajectory.ess,
      essFraction: s.trajectory.essFraction,
      perDecisionEss: s.perDecision?.ess ?? null,
      perDecisionSteps: s.perDecision?.samples ?? null,
      maxWeight: s.trajectory.maxWeight,
      nonZeroFraction: s.trajectory.nonZeroFraction,
      supported: s.verdict === 'supported',
      message: s.message,
    };
    const versus = [comparePaired(baselines.heuristic, returns, baselines.returns.get(baselines.heuristic) ?? [], exactDiff(truth.exact, baselines, baselines.heuristic))];
    if (baselines.bestSimple !== baselines.heuristic) {
      versus.push(comparePaired(baselines.bestSimple, returns, baselines.returns.get(baselines.bestSimple) ?? [], exactDiff(truth.exact, baselines, baselines.bestSimple)));
    }
    const prefix = `${path.relative(ctx.out, reportDir).split(path.sep).join('/')}/`;
    const policy: QuickstartPolicy = {
      name,
      runDir,
      reportDir,
      mean: truth.mean,
      stderr: truth.stderr,
      episodes: truth.episodes,
      exact: truth.exact,
      ofOptimum: truth.exact !== null && baselines.optimum !== null ? truth.exact / baselines.optimum : null,
      improvementZ: (mean - logged.meanReturn) / Math.hypot(truth.stderr, logged.stderrReturn),
      versus,
      estimates,
      support,
      index: reportIndexEntries(evaluation, prefix),
    };
    returnsOf.set(policy, returns);
    return policy;
  } finally {
    agent.dispose();
  }
}

function exactDiff(exact: number | null, baselines: Baselines, against: string): number | null {
  const theirs = baselines.references.find((r) => r.name === against)?.exact ?? null;
  return exact !== null && theirs !== null ? exact - theirs : null;
}

// --- The table ----------------------------------------------------------------------------------

const f3 = (x: number | null | undefined) => (x !== null && x !== undefined && Number.isFinite(x) ? x.toFixed(3) : '-');
const signed = (x: number) => (x >= 0 ? `+${x.toFixed(3)}` : x.toFixed(3));
const percent = (x: number | null) => (x === null ? '' : `${(100 * x).toFixed(1)}%`);

/** A table: header cells and rows of cells (plain text; Markdown and HTML render them). */
interface Table {
  header: string[];
  /** `r` right-aligns a column. */
  align: ('l' | 'r')[];
  rows: string[][];
}

interface Section {
  env: string;
  /** Lines above the tables (plain text). */
  intro: string[];
  truth: Table;
  estimates: Table;
  /** Lines below the tables. */
  notes: string[];
}

const verdictCell = (c: QuickstartComparison | undefined) =>
  c ? `${c.verdict === 'no clear difference' ? 'no clear difference' : `**${c.verdict}**`}: ${signed(c.difference)} ± ${c.stderr.toFixed(3)}` : '';

function sections(result: QuickstartResult): Section[] {
  return result.envs.map((env) => {
    const optimum = env.references.find((r) => r.role === 'optimum')?.exact ?? null;
    const pct = (exact: number | null) => (exact !== null && optimum !== null ? percent(exact / optimum) : '');
    const best = env.references.find((r) => r.name === env.bestSimple);
    const heuristicIsBest = env.bestSimple === 'plain heuristic';
    const header = ['round', 'policy', 'exact', 'simulated ± se', ...(optimum !== null ? ['% of optimum'] : []), 'vs plain heuristic', ...(heuristicIsBest ? [] : [`vs ${env.bestSimple}`])];
    const row = (round: string, name: string, exact: number | null, mean: number, stderr: number, versus: QuickstartComparison[]) => [
      round,
      name,
      f3(exact),
      `${f3(mean)} ± ${f3(stderr)}`,
      ...(optimum !== null ? [pct(exact)] : []),
      verdictCell(versus[0]),
      ...(heuristicIsBest ? [] : [verdictCell(versus[1])]),
    ];
    const rows: string[][] = [];
    for (const r of env.references) rows.push(row('', `${r.name} (${r.description})`, r.exact, r.mean, r.stderr, []));
    const notes: string[] = [];
    for (const r of env.rounds) {
      rows.push(row(String(r.round), `logging: ${r.behaviour.name}`, r.behaviour.exact, r.behaviour.mean, r.behaviour.stderr, []));
      const trained = r.policies[r.policies.length - 1];
      rows.push(row(String(r.round), trained.name, trained.exact, trained.mean, trained.stderr, trained.versus));
      if (r.gain) {
        const g = r.gain;
        notes.push(
          `Round ${r.round} against round 1 (same simulator seeds): ${signed(g.difference)} ± ${g.stderr.toFixed(3)} (z = ${g.z.toFixed(1)}, ${g.verdict})` +
            (g.exactDifference !== null ? `; exact ${signed(g.exactDifference)}` : '') +
            '.',
        );
      }
    }
    const estimates: Table = {
      header: ['round', 'policy', 'truth', 'log support', 'DR [95% interval]', 'WDR [95% interval]', 'MAGIC [95% interval]'],
      align: ['r', 'l', 'r', 'l', 'r', 'r', 'r'],
      rows: env.rounds.flatMap((r) =>
        r.policies.map((p) => {
          const cell = (name: string) => {
            const e = p.estimates.find((x) => x.estimator === name);
            if (!e) return '-';
            if (e.status === 'failed') return 'failed';
            return `${f3(e.value)} [${f3(e.lower)}, ${f3(e.upper)}] ${e.covers ? '✓' : '✗'}`;
          };
          const support = `${p.support.supported ? '' : 'too low: '}ESS ${p.support.ess.toFixed(0)} of ${r.episodes}`;
          return [String(r.round), p.name, f3(p.mean), support, cell('dr'), cell('wdr'), cell('magic')];
        }),
      ),
    };
    const intro = [
      `Best simple policy: the ${best ? best.name : '-'}.` +
        (optimum !== null ? ` Exact optimum: ${f3(optimum)}.` : ' No exact optimum is known: a policy that adapts to the history can beat every fixed schedule.'),
    ];
    return {
      env: env.env,
      intro,
      truth: { header, align: header.map((h, i) => (i < 2 || h.startsWith('vs') ? 'l' : 'r')), rows },
      estimates,
      notes,
    };
  });
}

/** What the columns mean (printed under the table, and in the saved files). */
export function quickstartLegend(result: QuickstartResult): string[] {
  const n = result.envs[0]?.references[0]?.episodes ?? 0;
  return [
    'exact: expected return computed exactly (AdsSupply: dynamic programming; NotificationDelivery: open-loop schedules only).',
    `simulated: mean return of ${n} fresh simulator episodes ± standard error (logging rows: the logged episodes).`,
    `Every policy and baseline meets the same ${n} simulated users (seeds), so differences are paired.`,
    'vs: difference of simulated means ± standard error of the paired difference; better / worse beyond 2 standard errors.',
    'log support: Kish effective sample size of the whole-episode importance weights; "too low": the estimate rests on the Q model.',
    '✓ / ✗: the 95% bootstrap interval holds / misses the simulated truth; failed: the estimate is unusable (see its report).',
  ];
}

function markdownTable(t: Table): string[] {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [`| ${t.header.map(esc).join(' | ')} |`, `| ${t.align.map((a) => (a === 'r' ? '---:' : '---')).join(' | ')} |`, ...t.rows.map((r) => `| ${r.map(esc).join(' | ')} |`)];
}

/** The summary table as Markdown: per simulator, ground truth against the baselines, then the log's estimates. */
export function renderQuickstartTable(result: QuickstartResult): string {
  const lines: string[] = [];
  for (const s of sections(result)) {
    lines.push(`## ${s.env}`, '', ...s.intro, '', ...markdownTable(s.truth), '');
    if (s.notes.length) lines.push(...s.notes, '');
    lines.push('Counterfactual estimates from each round\'s log:', '', ...markdownTable(s.estimates), '');
  }
  lines.push(...quickstartLegend(result).map((l) => `- ${l}`));
  return lines.join('\n');
}

/** Plain text with Markdown bold to HTML. */
const cellHtml = (s: string) => escapeHtml(s).replace(/\*\*(.+?)\*\*/g, '<strong>$1</strong>');

function htmlTable(t: Table): string {
  const th = t.header.map((h, i) => `<th class="${t.align[i]}">${cellHtml(h)}</th>`).join('');
  const rows = t.rows.map((r) => `<tr>${r.map((c, i) => `<td class="${t.align[i]}">${cellHtml(c)}</td>`).join('')}</tr>`).join('\n');
  return `<table>\n<thead><tr>${th}</tr></thead>\n<tbody>\n${rows}\n</tbody>\n</table>`;
}

/** The summary table as a standalone HTML page. */
export function renderQuickstartHtml(result: QuickstartResult): string {
  const body = sections(result)
    .map(
      (s) =>
        `<h2>${escapeHtml(s.env)}</h2>\n${s.intro.map((l) => `<p>${cellHtml(l)}</p>`).join('\n')}\n${htmlTable(s.truth)}\n` +
        `${s.notes.map((l) => `<p>${cellHtml(l)}</p>`).join('\n')}\n<h3>Counterfactual estimates from each round's log</h3>\n${htmlTable(s.estimates)}`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Kairos quickstart</title>
<style>
body{font:14px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:72rem;color:#1d2330;padding:0 1rem}
table{border-collapse:collapse;margin:.5rem 0 1rem}th,td{border-bottom:1px solid #d9dde5;padding:.25rem .6rem;vertical-align:top}
th{text-align:left;background:#f3f5f9}.r{text-align:right;font-variant-numeric:tabular-nums}h2{margin-top:2rem}
</style></head><body>
<h1>Kairos quickstart</h1>
<p><a href="index.html">All reports</a></p>
${body}
<ul>${quickstartLegend(result)
    .map((l) => `<li>${cellHtml(l)}</li>`)
    .join('')}</ul>
</body></html>
`;
}

/** The index page of a quickstart folder: the table, the summary, and every round's OPE report. */
export function renderQuickstartIndex(result: QuickstartResult): string {
  const summary: ReportIndexSection = {
    heading: 'Summary',
    entries: [
      { href: 'table.html', title: 'the quickstart table', detail: 'ground truth against the baselines, and the counterfactual estimates' },
      { href: 'table.md', title: 'the same as Markdown' },
      { href: 'summary.json', title: 'summary.json (every number, for scripts)' },
    ],
  };
  const reports: ReportIndexSection[] = result.envs.flatMap((env) =>
    env.rounds.map((r) => ({
      heading: `${env.env}, round ${r.round}: logged by ${r.behaviour.name}`,
      entries: r.policies.flatMap((p) => p.index),
    })),
  );
  return renderReportIndex('Kairos quickstart', [summary, ...reports], `Everything the quickstart wrote in ${result.out}.`);
}
