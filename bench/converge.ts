/**
 * Convergence benchmark for any registered agent (issues 3, 4, 5): does the algorithm reach
 * the env's threshold within the step budget, for how many seeds?
 *
 *   npx tsx bench/converge.ts --algo dqn --env CartPole-v1 [--seeds 0,1,2,3,4] [--steps N]
 *       [--parallel 2] [--eval-every 5000] [--threshold T] [--stop-at-threshold] [--config '{...}']
 *       [--runs-dir DIR] [--budget N]
 *
 * One training run per seed (a child process each, `--parallel` at a time) with the
 * algorithm's preset for the env (`--config` merged over it). The greedy policy is evaluated
 * on 100 episodes every `--eval-every` steps and at the end; the run keeps the best-evaluated
 * policy (SB3's EvalCallback best model, what RL Zoo reports). Picking the best of several
 * evaluations flatters it, so that policy is evaluated again on 100 fresh episode seeds and
 * the threshold is judged on the fresh figure. `--stop-at-threshold` ends a run once the policy
 * that will be judged has reached the threshold twice: on a periodic evaluation (it is then the
 * best so far) and on a confirmation evaluation of 100 more episodes on seeds of their own.
 * That only saves the rest of the budget: the judge's fresh seeds are still used once, on the
 * best policy. (Stopping on the periodic evaluation alone, as SB3's
 * StopTrainingOnRewardThreshold, ends runs on lucky evaluations that the fresh seeds then fail,
 * with most of the budget unused.) Prints per seed the final and the best policy's returns,
 * wall time, steps/s and peak RSS, then how many seeds passed and RL Zoo's published figure.
 *
 * `--runs-dir DIR` keeps each seed's run folder (`DIR/<algo>-<env>-seed<k>`), checkpointed
 * with its replay buffer at every evaluation, and its result (`converge.json`). Running the
 * same command again reuses finished seeds and resumes interrupted ones from their last
 * checkpoint (`resumeRun`: the same result as an uninterrupted run), so long benchmarks can
 * span several sittings. Without it, run folders are temporary.
 *
 * `--budget N` judges the run within N steps while it keeps its own step count (the preset's,
 * or `--steps`): schedules that decay over the run (SAC's linear learning rate over the zoo's
 * 500k steps) stay as published, and the run is stopped after its evaluation at step N.
 * (`--steps N` instead would compress the schedule into N steps.) N must be a multiple of
 * `--eval-every` and below the run's steps.
 */
import { fork } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import '../src/agents/builtin.js';
import { getAgentRegistration } from '../src/agents/registry.js';
import { initTensorBackend, isFusedFma, preferFusedFma } from '../src/tensor/index.js';
import { evaluateAgent } from '../src/train/evaluate.js';
import { fileExists, writeFileAtomic } from '../src/tensor/weights-io.js';
import { envFactoryFor, listCheckpoints, loadRunAgent, loadRunSpec, resumeRun, startRun, type RunSummary } from '../src/train/run.js';

/**
 * Solve thresholds: Gymnasium's reward_threshold, or the issues' figure where Gymnasium has
 * none (Pendulum-v1: −200 for TD3/SAC/DDPG in issue 5; PPO's issue asks −250: `--threshold`).
 */
export const THRESHOLDS: Record<string, number> = {
  'CartPole-v1': 475,
  'LunarLander-v3': 200,
  'LunarLanderContinuous-v3': 200,
  'Pendulum-v1': -200,
  'MountainCarContinuous-v0': 90,
};

/**
 * The peer figure: RL Zoo's published agent for the same algorithm and task (rl-baselines3-zoo
 * benchmark.md, "Performance of trained agents": one trained agent each, so one seed, evaluated
 * deterministically over about 150k steps). The zoo ran Gym's LunarLander(Continuous)-v2, which
 * Gymnasium 1.0 renamed v3 after bug fixes.
 */
export const ZOO_TRAINED_AGENTS: Record<string, { env: string; meanReturn: number; stdReturn: number; steps: string }> = {
  'dqn/CartPole-v1': { env: 'CartPole-v1', meanReturn: 500.0, stdReturn: 0.0, steps: '50k' },
  'dqn/LunarLander-v3': { env: 'LunarLander-v2', meanReturn: 154.382, stdReturn: 79.241, steps: '100k' },
  'ppo/CartPole-v1': { env: 'CartPole-v1', meanReturn: 500.0, stdReturn: 0.0, steps: '100k' },
  'ppo/LunarLander-v3': { env: 'LunarLander-v2', meanReturn: 242.119, stdReturn: 31.823, steps: '1M' },
  'ppo/Pendulum-v1': { env: 'Pendulum-v1', meanReturn: -172.225, stdReturn: 104.159, steps: '100k' },
  'a2c/CartPole-v1': { env: 'CartPole-v1', meanReturn: 500.0, stdReturn: 0.0, steps: '500k' },
  'a2c/LunarLander-v3': { env: 'LunarLander-v2', meanReturn: 155.751, stdReturn: 80.419, steps: '200k' },
  'a2c/Pendulum-v1': { env: 'Pendulum-v1', meanReturn: -162.965, stdReturn: 103.21, steps: '1M' },
  'ddpg/Pendulum-v1': { env: 'Pendulum-v1', meanReturn: -152.099, stdReturn: 94.282, steps: '20k' },
  'ddpg/LunarLanderContinuous-v3': { env: 'LunarLanderContinuous-v2', meanReturn: 230.217, stdReturn: 92.372, steps: '300k' },
  'ddpg/MountainCarContinuous-v0': { env: 'MountainCarContinuous-v0', meanReturn: 93.512, stdReturn: 0.048, steps: '300k' },
  'td3/Pendulum-v1': { env: 'Pendulum-v1', meanReturn: -151.855, stdReturn: 90.227, steps: '20k' },
  'td3/LunarLanderContinuous-v3': { env: 'LunarLanderContinuous-v2', meanReturn: 207.451, stdReturn: 67.562, steps: '300k' },
  'td3/MountainCarContinuous-v0': { env: 'MountainCarContinuous-v0', meanReturn: 93.483, stdReturn: 0.075, steps: '300k' },
  'sac/Pendulum-v1': { env: 'Pendulum-v1', meanReturn: -156.995, stdReturn: 88.714, steps: '20k' },
  'sac/LunarLanderContinuous-v3': { env: 'LunarLanderContinuous-v2', meanReturn: 260.39, stdReturn: 65.467, steps: '500k' },
  'sac/MountainCarContinuous-v0': { env: 'MountainCarContinuous-v0', meanReturn: 94.679, stdReturn: 1.134, steps: '50k' },
};

/**
 * Episode seeds of the fresh re-evaluation. Training evaluations use the run's evalSeed
 * (default 1,000,000: seeds 1,000,000..1,000,099), so these must not overlap them.
 */
const FRESH_EVAL_SEED = 2_000_000;
/** Episode seeds of `--stop-at-threshold`'s confirmation evaluations (disjoint from both). */
const CONFIRM_EVAL_SEED = 3_000_000;
const EPISODES = 100;

export interface ConvergeJob {
  algo: string;
  env: string;
  seed: number;
  steps?: number;
  evalEvery: number;
  config: Record<string, unknown>;
  /** End the run once the best policy's evaluation and its confirmation both reach this. */
  stopAt?: number;
  /** Keep the run folder here and resume it if interrupted (`--runs-dir`); else a temporary folder. */
  runsDir?: string;
  /** Stop the run after its evaluation at this step, its schedules still spanning its own steps (`--budget`). */
  budget?: number;
}

export interface ConvergeResult {
  seed: number;
  summary: RunSummary;
  /** The best policy's returns on fresh episode seeds. */
  fresh: { meanReturn: number; stdReturn: number };
  peakRssMb: number;
  /** Whether this result was read back from an earlier sitting's `converge.json`. */
  reused?: boolean;
  /** Why the run ended before its steps: the confirmed threshold or the judging budget. */
  stoppedBy?: 'threshold' | 'budget';
}

const RESULT_FILE = 'converge.json';

/** The best periodic evaluation logged up to `step` (what a resumed run has already seen). */
async function bestLoggedUpTo(runDir: string, step: number): Promise<number> {
  const text = await fs.readFile(path.join(runDir, 'evaluations.jsonl'), 'utf8').catch(() => '');
  let best = Number.NEGATIVE_INFINITY;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const r = JSON.parse(line) as { step: number; meanReturn: number };
    if (r.step <= step) best = Math.max(best, r.meanReturn);
  }
  return best;
}

/** The run's own step count (`--steps`, else the preset's); throws if the job's budget does not fit it. */
function checkedRunSteps(job: ConvergeJob): number {
  const totalSteps = job.steps ?? getAgentRegistration(job.algo).presets?.[job.env]?.totalSteps ?? 100_000;
  const b = job.budget;
  if (b !== undefined && !(Number.isInteger(b) && b > 0 && b % job.evalEvery === 0 && b < totalSteps)) {
    throw new Error(`budget: got ${b}, expected a multiple of the evaluation period (${job.evalEvery}) below the run's ${totalSteps} steps`);
  }
  return totalSteps;
}

/** Trains and evaluates one seed (in a child process). */
export async function convergeWorker(job: ConvergeJob): Promise<ConvergeResult> {
  preferFusedFma(); // as `kairos train`
  await initTensorBackend();
  const preset = getAgentRegistration(job.algo).presets?.[job.env];
  const keep = job.runsDir !== undefined;
  const runDir = keep ? path.join(job.runsDir as string, `${job.algo}-${job.env}-seed${job.seed}`) : await fs.mkdtemp(path.join(os.tmpdir(), `kairos-bench-${job.algo}-${job.seed}-`));
  if (keep && (await fileExists(path.join(runDir, RESULT_FILE)))) {
    const done = JSON.parse(await fs.readFile(path.join(runDir, RESULT_FILE), 'utf8')) as ConvergeResult;
    return { ...done, reused: true };
  }
  const totalSteps = checkedRunSteps(job);
  const last = keep ? (await listCheckpoints(runDir).catch(() => [])).at(-1) : undefined;
  const stop = job.stopAt !== undefined || job.budget !== undefined ? new AbortController() : null;
  let stoppedBy: ConvergeResult['stoppedBy'];
  const end = (why: NonNullable<ConvergeResult['stoppedBy']>): void => {
    stoppedBy = why;
    stop?.abort();
  };
  // Interrupted after the budget's evaluation was checkpointed: judge it without training on.
  if (last && job.budget !== undefined && last.step >= job.budget) end('budget');
  let bestSoFar = last ? await bestLoggedUpTo(runDir, last.step) : Number.NEGATIVE_INFINITY;
  // Runs after the run folder's callbacks, so a new best is already saved as the 'best' model.
  const check = async (r: { step: number; meanReturn: number }): Promise<void> => {
    const isBest = r.meanReturn > bestSoFar;
    bestSoFar = Math.max(bestSoFar, r.meanReturn);
    if (job.stopAt !== undefined && isBest && r.meanReturn >= job.stopAt) {
      const candidate = await loadRunAgent(runDir, { model: 'best' });
      const c = evaluateAgent(candidate, envFactoryFor({ env: { id: job.env, options: {} } }), { episodes: EPISODES, seed: CONFIRM_EVAL_SEED });
      candidate.dispose();
      console.log(`seed ${job.seed}: evaluation ${r.meanReturn.toFixed(1)} at step ${r.step}, confirmation ${c.meanReturn.toFixed(1)}${c.meanReturn >= job.stopAt ? ': stopping' : ': going on'}`);
      if (c.meanReturn >= job.stopAt) return end('threshold');
    }
    if (job.budget !== undefined && r.step >= job.budget) end('budget');
  };
  try {
    const options = { ...(stop ? { signal: stop.signal, callbacks: [{ onEvaluation: check }] } : {}) };
    if (last) console.log(`seed ${job.seed}: resuming ${runDir} from step ${last.step}`);
    const spec = {
      algorithm: job.algo,
      env: { id: job.env },
      numEnvs: preset?.numEnvs ?? 1,
      totalSteps,
      seed: job.seed,
      config: { ...(preset?.config ?? {}), ...job.config },
      evalEvery: job.evalEvery,
      evalEpisodes: EPISODES,
      finalEvalEpisodes: EPISODES,
      // With --runs-dir: a checkpoint (replay included) at every evaluation, to resume from.
      checkpointEvery: keep ? job.evalEvery : 0,
      checkpointReplay: keep,
    };
    // A kept folder without a checkpoint holds less than one evaluation period: start over.
    const summary = last ? await resumeRun(runDir, options) : await startRun(spec, { runDir, overwrite: keep, ...options });
    if (summary.bestEvaluation !== null && (await loadRunSpec(runDir)).evalSeed + EPISODES > FRESH_EVAL_SEED) throw new Error('fresh evaluation seeds overlap the training evaluations');
    const best = await loadRunAgent(runDir, { model: 'best' });
    const r = evaluateAgent(best, envFactoryFor({ env: { id: job.env, options: {} } }), { episodes: EPISODES, seed: FRESH_EVAL_SEED });
    best.dispose();
    const result: ConvergeResult = {
      seed: job.seed,
      summary,
      fresh: { meanReturn: r.meanReturn, stdReturn: r.stdReturn },
      peakRssMb: process.resourceUsage().maxRSS / 1024,
      ...(summary.finalEvaluation === null && stoppedBy ? { stoppedBy } : {}),
    };
    if (keep) await writeFileAtomic(path.join(runDir, RESULT_FILE), `${JSON.stringify(result)}\n`);
    return result;
  } finally {
    if (!keep) await fs.rm(runDir, { recursive: true, force: true });
  }
}

/** Why a run without a final evaluation ended (results from before `stoppedBy` existed stopped at the threshold). */
function stopReason(r: ConvergeResult): string {
  return r.stoppedBy === 'budget' ? 'judging budget reached' : 'threshold reached and confirmed';
}

/** The value after `--name` in argv, or `fallback`. */
export function arg(argv: string[], name: string, fallback?: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
}

/** Runs the benchmark from command-line flags (see the module comment); `defaultAlgo` when `--algo` is absent. */
export async function converge(argv: string[], defaultAlgo?: string): Promise<ConvergeResult[]> {
  const algo = arg(argv, 'algo', defaultAlgo);
  if (algo === undefined) throw new Error('--algo is required (a registered algorithm, e.g. dqn)');
  const env = arg(argv, 'env', 'CartPole-v1') as string;
  const seeds = (arg(argv, 'seeds', '0,1,2,3,4') as string).split(',').map(Number);
  const steps = arg(argv, 'steps') ? Number(arg(argv, 'steps')) : undefined;
  const parallel = Number(arg(argv, 'parallel', '2'));
  const evalEvery = Number(arg(argv, 'eval-every', '5000'));
  const config = JSON.parse(arg(argv, 'config', '{}') as string) as Record<string, unknown>;
  const stopAtThreshold = argv.includes('--stop-at-threshold');
  const budget = arg(argv, 'budget') !== undefined ? Number(arg(argv, 'budget')) : undefined;
  const runsDir = arg(argv, 'runs-dir') !== undefined ? path.resolve(arg(argv, 'runs-dir') as string) : undefined;
  getAgentRegistration(algo); // fail fast on an unknown algorithm
  const threshold = arg(argv, 'threshold') !== undefined ? Number(arg(argv, 'threshold')) : (THRESHOLDS[env] ?? Number.POSITIVE_INFINITY);
  const self = fileURLToPath(import.meta.url);
  const t0 = performance.now();
  const results: ConvergeResult[] = [];
  const queue = [...seeds];
  const jobFor = (seed: number): ConvergeJob => ({ algo, env, seed, steps, evalEvery, config, ...(stopAtThreshold ? { stopAt: threshold } : {}), ...(runsDir ? { runsDir } : {}), ...(budget !== undefined ? { budget } : {}) });
  checkedRunSteps(jobFor(seeds[0] ?? 0)); // fail fast on a budget that does not fit
  const runOne = (seed: number): Promise<ConvergeResult> =>
    new Promise((resolve, reject) => {
      const job = jobFor(seed);
      const child = fork(self, ['--worker', JSON.stringify(job)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      let got: ConvergeResult | null = null;
      child.on('message', (m) => (got = m as ConvergeResult));
      child.on('exit', (code) => (got ? resolve(got) : reject(new Error(`seed ${seed}: worker exited with ${code}`))));
    });
  preferFusedFma();
  console.log(`${algo} on ${env}: seeds ${seeds.join(',')}, evaluation every ${evalEvery} steps (${EPISODES} episodes), fused multiply-add ${isFusedFma() ? 'on' : 'off'}`);
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      for (let s = queue.shift(); s !== undefined; s = queue.shift()) {
        const r = await runOne(s);
        results.push(r);
        const e = r.summary.finalEvaluation;
        const b = r.summary.bestEvaluation;
        const end = e ? `final ${e.meanReturn.toFixed(1)} ± ${e.stdReturn.toFixed(1)}` : `stopped at step ${r.summary.steps} (${stopReason(r)})`;
        console.log(
          `seed ${r.seed}${r.reused ? ' (finished in an earlier sitting)' : ''}: ${end} | best at step ${b?.step}: ${b?.meanReturn.toFixed(1)}, on fresh seeds ${r.fresh.meanReturn.toFixed(1)} ± ${r.fresh.stdReturn.toFixed(1)} | ${r.summary.steps} steps in ${r.summary.seconds.toFixed(1)} s = ${r.summary.sps.toFixed(0)} steps/s | peak RSS ${r.peakRssMb.toFixed(0)} MB`,
        );
      }
    }),
  );
  results.sort((a, b) => a.seed - b.seed);
  const passed = results.filter((r) => r.fresh.meanReturn >= threshold).length;
  const passedFinal = results.filter((r) => (r.summary.finalEvaluation?.meanReturn ?? -Infinity) >= threshold).length;
  const atBudget = results.filter((r) => r.summary.finalEvaluation === null && r.stoppedBy === 'budget').length;
  const atThreshold = results.filter((r) => r.summary.finalEvaluation === null).length - atBudget;
  const ended = [atThreshold ? `${atThreshold} stopped at the confirmed threshold` : '', atBudget ? `${atBudget} stopped at the ${budget}-step budget, run length ${results[0]?.summary.totalSteps}` : ''].filter(Boolean);
  const ran = results.length - atThreshold - atBudget;
  const finalText = [...(ran > 0 ? [`final policy: ${passedFinal} of ${ran}`] : []), ...ended].join('; ');
  const within = budget ?? results[0]?.summary.totalSteps;
  console.log(`\n${algo} ${env}: ${passed} of ${results.length} seeds' best policies reach mean return >= ${threshold} on fresh seeds within ${within} steps (${finalText})`);
  console.log(`best, fresh seeds: ${results.map((r) => r.fresh.meanReturn.toFixed(1)).join(', ')}`);
  const peer = ZOO_TRAINED_AGENTS[`${algo}/${env}`];
  if (peer) console.log(`peer: RL Zoo's trained ${algo} agent on ${peer.env}, ${peer.steps} steps (one seed): ${peer.meanReturn.toFixed(1)} ± ${peer.stdReturn.toFixed(1)}`);
  console.log(`final:             ${results.map((r) => r.summary.finalEvaluation?.meanReturn.toFixed(1) ?? `stopped at ${r.summary.steps}`).join(', ')}`);
  console.log(`wall ${((performance.now() - t0) / 1000).toFixed(0)} s with ${parallel} parallel runs on ${os.cpus().length} x ${os.cpus()[0]?.model}; node ${process.version}`);
  return results;
}

/** {@link converge} for a command line: a bad flag prints its message, not a stack trace, and exits 2. */
export async function convergeCli(argv: string[], defaultAlgo?: string): Promise<void> {
  try {
    await converge(argv, defaultAlgo);
  } catch (err) {
    console.error(`converge: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 2;
  }
}

// Entry point: a worker when forked, else the benchmark itself.
if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  if (process.argv[2] === '--worker') {
    const result = await convergeWorker(JSON.parse(process.argv[3]) as ConvergeJob);
    process.send?.(result);
  } else {
    await convergeCli(process.argv);
  }
}
