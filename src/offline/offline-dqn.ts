/**
 * Offline (batch) DQN and CQL from a decision log, with no environment access: the timeline
 * is read once into a replay buffer (`replay.ts`), then `DqnAgent.learnOffline` runs gradient
 * steps on it with the agent's own Q-networks, targets and fused TD kernels. The result is an
 * ordinary run folder (algorithm `dqn`), so `loadPolicy`, `kairos eval <run>` (ground truth in
 * the simulator the log came from) and `kairos ope --data log.duckdb --policy <run>` read it
 * unchanged:
 *
 *   run.json          the run spec (algorithm dqn, the env for ground truth, gradient steps as
 *                     totalSteps, the resolved agent config with cqlAlpha) and the spaces
 *   metrics.jsonl     every `logEvery` gradient steps: step, time, updates/s, loss, q, cql
 *   model/policy.kst  the trained Q-network
 *   summary.json      the run summary, the simulator evaluation, and an `offline` block (the
 *                     log, the transitions used, the behaviour policy's value when known)
 *
 * run.json, the policy and the summary are written atomically (temporary file + rename).
 *
 * Two algorithms:
 * - `dqn`: Q-learning on the logged transitions (Mnih et al. 2015), which is off-policy and
 *   needs no propensities, but over-estimates actions the log rarely took (the max in the
 *   target picks them up: the extrapolation error of Fujimoto et al. 2019);
 * - `cql`: the same plus the conservative penalty of discrete CQL(H) (Kumar et al. 2020,
 *   eq. 4; `cql.ts`), which keeps Q of unlogged actions down. Default α = 1.
 *
 * `standardizeFeatures` trains on standardised state features (`replay.ts`) and folds the map
 * into the network's first layer before saving ({@link foldStandardization}), so the saved
 * policy reads raw observations like any other and nothing downstream changes.
 *
 * Defaults ({@link OFFLINE_DQN_DEFAULTS}) differ from online DQN's: no exploration phase
 * (`learningStarts` 0), larger batches, a faster target update counted in gradient steps, and a
 * learning rate that suits a fixed data set; see docs/offline.md for the figures behind them.
 *
 * @example
 * const { summary } = await trainOffline({ algorithm: 'cql', data: 'ads.duckdb', runDir: 'runs/ads-cql', updates: 20_000 });
 * summary.finalEvaluation?.meanReturn; // ground truth in AdsSupply-v0 (recorded by simulateLog)
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { KairosError, ValidationError, parseWith } from '../core/errors.js';
import { Box, Discrete, flatdim, type Space } from '../core/spaces.js';
import '../agents/builtin.js';
import { DqnAgent } from '../agents/dqn/dqn.js';
import type { LogSource } from '../data/timeline.js';
import { LogStore } from '../data/store.js';
import { readSimulationInfo, type SimulationInfo } from '../data/simulate.js';
import { make } from '../envs/registry.js';
import { initTensorBackend, tensorBackendInfo } from '../tensor/backend.js';
import { fileExists, writeFileAtomic } from '../tensor/weights-io.js';
import { evaluateAgent } from '../train/evaluate.js';
import { RunSpecSchema, envFactoryFor, savePolicy, type RunSpec, type RunSummary } from '../train/run.js';
import { replayFromTimeline, type FeatureStandardization } from './replay.js';

/**
 * Offline algorithms: plain DQN on the log, or DQN with the CQL(H) penalty.
 *
 * @example
 * OFFLINE_ALGORITHMS.includes('cql'); // true
 */
export const OFFLINE_ALGORITHMS = ['dqn', 'cql'] as const;
export type OfflineAlgorithm = (typeof OFFLINE_ALGORITHMS)[number];

/**
 * DQN config defaults for offline training (any DQN config field may override them):
 * - `learningStarts` 0: there is no exploration phase, the data is all there;
 * - `batchSize` 256, `learningRate` 5e-4: a fixed data set takes larger, steadier steps than
 *   online replay (SB3's 32 and 1e-4 are tuned for a moving buffer);
 * - `targetUpdateInterval` 250 gradient steps with a hard copy, `double` true (van Hasselt et
 *   al. 2016; it damps the over-estimation offline data invites);
 * - `loss` mse: the Q-function is a conditional mean, which squared error estimates; Huber is a
 *   robust regression that discounts rare large rewards (an unsubscribe's −5 among clicks of 1),
 *   which made offline DQN send notifications far too often (docs/offline.md). Huber's case, a
 *   moving target early in online training, does not arise on a fixed data set;
 * - `gamma` 0.99 and a 64-64 MLP: SB3's DQN defaults.
 *
 * @example
 * await trainOffline({ algorithm: 'dqn', data: 'log.duckdb', runDir: 'runs/x', config: { batchSize: 64 } }); // the rest from here
 */
export const OFFLINE_DQN_DEFAULTS: Readonly<Record<string, unknown>> = Object.freeze({
  learningStarts: 0,
  batchSize: 256,
  learningRate: { type: 'linear', start: 5e-4, end: 5e-5, fraction: 1 },
  targetUpdateInterval: 250,
  double: true,
  loss: 'mse',
  gamma: 0.99,
});

/**
 * Default CQL weight α. The penalty shifts Q by about α·(π/μ − 1) (Kumar et al. 2020, §3.1,
 * the fixed point of the update), an amount in reward units, so α scales with the rewards: the paper's α ∈
 * {0.5, 1, 4} are for Atari's clipped ±1 rewards; the bundled simulators pay 0.1 to 1 a step.
 *
 * @example
 * await trainOffline({ algorithm: 'cql', data: 'log.duckdb', runDir: 'runs/x', config: { cqlAlpha: 10 * DEFAULT_CQL_ALPHA } });
 */
export const DEFAULT_CQL_ALPHA = 0.05;

/**
 * Progress of an offline run, passed to `onProgress` (the CLI's bar).
 *
 * @example
 * await trainOffline({ algorithm: 'dqn', data: 'log.duckdb', runDir: 'runs/x', onProgress: (p) => console.log(p.update, p.loss) });
 */
export interface OfflineProgress {
  /** Gradient steps done. */
  update: number;
  totalUpdates: number;
  /** Means over the last chunk of steps. */
  loss: number;
  q: number;
  cql: number;
  /** Gradient steps per second so far. */
  updatesPerSecond: number;
}

const TrainOfflineSchema = z
  .object({
    algorithm: z.enum(OFFLINE_ALGORITHMS),
    /** The decision log: a `.duckdb` path (opened read-only) or an open log source. */
    data: z.union([z.string().min(1), z.custom<LogSource>((v) => v !== null && typeof v === 'object' && 'engine' in v && 'requireSchema' in v, 'a log source')]),
    /** Env for ground-truth evaluation (default: the simulator that wrote the log, if recorded). */
    env: z.string().min(1).optional(),
    envOptions: z.record(z.string(), z.unknown()).optional(),
    maxEpisodeSteps: z.number().int().positive().optional(),
    /** Gradient steps. */
    updates: z.number().int().positive().default(20_000),
    /** DQN config fields over {@link OFFLINE_DQN_DEFAULTS}. */
    config: z.record(z.string(), z.unknown()).default({}),
    seed: z.number().int().nonnegative().max(2 ** 31 - 1).default(0),
    runDir: z.string().min(1),
    overwrite: z.boolean().default(false),
    /** Episodes of the final evaluation in the env (0 = none; needs an env). */
    finalEvalEpisodes: z.number().int().nonnegative().default(100),
    /** Evaluation episode k uses seed evalSeed + k (as `kairos train`). */
    evalSeed: z.number().int().nonnegative().default(1_000_000),
    /**
     * Train on standardised state features (each minus its mean over the log, over its standard
     * deviation), folded into the first layer when the network is saved (see the module comment).
     */
    standardizeFeatures: z.boolean().default(false),
    /** Metrics line every this many gradient steps. */
    logEvery: z.number().int().positive().default(1000),
    onProgress: z.custom<(p: OfflineProgress) => void>((v) => typeof v === 'function', 'a function').optional(),
    signal: z.custom<AbortSignal>((v) => v instanceof AbortSignal, 'an AbortSignal').optional(),
  })
  .strict();

/** Options of {@link trainOffline}. */
export type TrainOfflineOptions = z.input<typeof TrainOfflineSchema>;

/** What the offline part of a run was trained from; in summary.json under `offline`. */
export interface OfflineInfo {
  algorithm: OfflineAlgorithm;
  /** The log's path. */
  data: string;
  cqlAlpha: number;
  gamma: number;
  decisions: number;
  transitions: number;
  /** The feature standardisation trained with and folded into the first layer (`standardizeFeatures`), or null. */
  standardization: { shift: number[]; scale: number[] } | null;
  /** Last rows of truncated episodes, left out. */
  truncated: number;
  episodes: number;
  /** The simulation that wrote the log (behaviour policy and its value), when recorded. */
  behaviour: Pick<SimulationInfo, 'policy' | 'seed' | 'episodes' | 'gamma' | 'meanReturn' | 'stdReturn' | 'stderrReturn' | 'meanDiscountedReturn'> | null;
}

/** summary.json of an offline run: a {@link RunSummary} (steps = gradient steps) plus {@link OfflineInfo}. */
export type OfflineRunSummary = RunSummary & { offline: OfflineInfo };

/** What {@link trainOffline} returns. */
export interface OfflineRunResult {
  runDir: string;
  summary: OfflineRunSummary;
}

/** Observation and action spaces: the env's when one is known (checked against the log), else from the log. */
function spacesFor(env: string | undefined, makeOptions: Record<string, unknown>, d: number, k: number): { observationSpace: Space; actionSpace: Discrete } {
  if (!env) return { observationSpace: new Box(-Infinity, Infinity, [d]), actionSpace: new Discrete(k) };
  const e = make(env, makeOptions);
  try {
    const obsDim = flatdim(e.observationSpace);
    if (obsDim !== d) throw new ValidationError('env', `an env whose observations flatten to ${d} features (the log's featureDim)`, `${env} with ${obsDim}`, 'trainOffline');
    const a = e.actionSpace;
    if (!(a instanceof Discrete) || a.n !== k || a.start !== 0) {
      throw new ValidationError('env', `an env with Discrete(${k}) actions (the log's numActions)`, `${env} with ${String(a)}`, 'trainOffline');
    }
    return { observationSpace: e.observationSpace, actionSpace: a };
  } finally {
    e.close?.();
  }
}

/** Resolves the agent config: offline defaults, the algorithm's α, then the user's fields. */
function resolveConfig(algorithm: OfflineAlgorithm, user: Record<string, unknown>): Record<string, unknown> {
  if (algorithm === 'dqn' && user.cqlAlpha !== undefined && user.cqlAlpha !== 0) {
    throw new ValidationError('config.cqlAlpha', '0 or nothing for algorithm dqn (use algorithm cql for a conservative penalty)', user.cqlAlpha, 'trainOffline');
  }
  if (algorithm === 'cql' && user.cqlAlpha !== undefined && !(typeof user.cqlAlpha === 'number' && user.cqlAlpha > 0)) {
    throw new ValidationError('config.cqlAlpha', 'a positive number for algorithm cql', user.cqlAlpha, 'trainOffline');
  }
  return { ...OFFLINE_DQN_DEFAULTS, cqlAlpha: algorithm === 'cql' ? DEFAULT_CQL_ALPHA : 0, ...user };
}

/**
 * Trains DQN or CQL offline from a decision log and writes a run folder; see the module
 * comment. The same log, options and seed give the same weights.
 *
 * @example
 * const { runDir, summary } = await trainOffline({ algorithm: 'dqn', data: store, env: 'GridWorld-v0', runDir: 'runs/grid', updates: 5000 });
 */
export async function trainOffline(options: TrainOfflineOptions): Promise<OfflineRunResult> {
  const o = parseWith(TrainOfflineSchema, options, 'trainOffline');
  const runDir = o.runDir;
  const config = resolveConfig(o.algorithm, o.config);
  if (await fileExists(path.join(runDir, 'run.json'))) {
    if (!o.overwrite) throw new KairosError(`${runDir} already holds a run; choose another folder or overwrite it (overwrite: true, --overwrite)`, 'run_exists');
    await fs.rm(runDir, { recursive: true, force: true });
  }
  if (!tensorBackendInfo()) await initTensorBackend();
  const ownsSource = typeof o.data === 'string';
  const source: LogSource = typeof o.data === 'string' ? await LogStore.open(o.data, { readOnly: true, create: false }) : o.data;
  let agent: DqnAgent | null = null;
  try {
    const schema = source.requireSchema();
    const sim = await readSimulationInfo(source);
    const env = o.env ?? sim?.env;
    const envOptions = o.envOptions ?? (o.env === undefined ? (sim?.envOptions ?? {}) : {});
    const maxEpisodeSteps = o.maxEpisodeSteps ?? (o.env === undefined ? (sim?.maxEpisodeSteps ?? undefined) : undefined);
    const makeOptions = { ...envOptions, ...(maxEpisodeSteps ? { maxEpisodeSteps } : {}) };
    const spaces = spacesFor(env, makeOptions, schema.featureDim, schema.numActions);
    agent = new DqnAgent({ ...spaces, config, seed: o.seed });
    const c = agent.config;
    const replay = await replayFromTimeline(source, { gamma: c.gamma, prioritized: c.prioritized ? { alpha: c.priorityAlpha, epsilon: c.priorityEps } : null, standardize: o.standardizeFeatures });
    const spec: RunSpec = parseWith(
      RunSpecSchema,
      {
        algorithm: 'dqn',
        // Without a simulator the run records none: `kairos eval` then has nothing to run.
        env: { id: env ?? 'none', options: envOptions, ...(maxEpisodeSteps ? { maxEpisodeSteps } : {}) },
        numEnvs: 1,
        totalSteps: o.updates,
        seed: o.seed,
        config: c,
        evalEvery: 0,
        evalSeed: o.evalSeed,
        finalEvalEpisodes: env ? o.finalEvalEpisodes : 0,
        logEvery: o.logEvery,
        checkpointEvery: 0,
        checkpointReplay: false,
      },
      'trainOffline run spec',
    );
    await fs.mkdir(runDir, { recursive: true });
    const saved = { ...spec, spaces: { observation: spaces.observationSpace.toJSON(), action: spaces.actionSpace.toJSON() } };
    await writeFileAtomic(path.join(runDir, 'run.json'), `${JSON.stringify(saved, null, 1)}\n`);

    const started = performance.now();
    const metricsFile = path.join(runDir, 'metrics.jsonl');
    await fs.writeFile(metricsFile, '');
    const chunkSize = Math.min(100, o.logEvery);
    let done = 0;
    let sums = { loss: 0, q: 0, cql: 0, n: 0 };
    let lastLog = { time: 0, step: 0 };
    let interrupted = false;
    while (done < o.updates) {
      if (o.signal?.aborted) {
        interrupted = true;
        break;
      }
      const nextLog = (Math.floor(done / o.logEvery) + 1) * o.logEvery;
      const steps = Math.min(chunkSize, nextLog - done, o.updates - done);
      const r = agent.learnOffline(replay.buffer, steps, { stateMasks: replay.stateMasks, totalUpdates: o.updates });
      done += steps;
      sums = { loss: sums.loss + r.loss * steps, q: sums.q + r.q * steps, cql: sums.cql + r.cql * steps, n: sums.n + steps };
      const time = (performance.now() - started) / 1000;
      o.onProgress?.({ update: done, totalUpdates: o.updates, loss: r.loss, q: r.q, cql: r.cql, updatesPerSecond: done / Math.max(time, 1e-9) });
      if (done % o.logEvery === 0 || done === o.updates) {
        const record = {
          step: done,
          time,
          sps: (done - lastLog.step) / Math.max(time - lastLog.time, 1e-9),
          episodes: replay.episodes,
          episodeReturnMean: null,
          episodeLengthMean: null,
          loss: sums.loss / sums.n,
          q: sums.q / sums.n,
          cql: sums.cql / sums.n,
          updates: done,
        };
        await fs.appendFile(metricsFile, `${JSON.stringify(record)}\n`);
        sums = { loss: 0, q: 0, cql: 0, n: 0 };
        lastLog = { time, step: done };
      }
      // Let the event loop breathe (Ctrl-C, progress output) between chunks.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const seconds = (performance.now() - started) / 1000;
    let finalEvaluation: RunSummary['finalEvaluation'] = null;
    if (!interrupted) {
      if (replay.standardization) foldStandardization(agent, replay.standardization);
      await savePolicy(path.join(runDir, 'model', 'policy.kst'), agent);
      if (spec.finalEvalEpisodes > 0) {
        const e = evaluateAgent(agent, envFactoryFor(spec), { episodes: spec.finalEvalEpisodes, seed: spec.evalSeed });
        finalEvaluation = { episodes: spec.finalEvalEpisodes, meanReturn: e.meanReturn, stdReturn: e.stdReturn, meanLength: e.meanLength, seconds: e.seconds, returns: e.returns };
      }
    }
    const summary: OfflineRunSummary = {
      runDir,
      algorithm: 'dqn',
      env: spec.env.id,
      seed: o.seed,
      steps: done,
      totalSteps: o.updates,
      episodes: replay.episodes,
      interrupted,
      seconds,
      sps: done / Math.max(seconds, 1e-9),
      finalEvaluation,
      // Offline there is one policy (no periodic evaluations to pick a best one from).
      bestEvaluation: null,
      checkpoint: null,
      offline: {
        algorithm: o.algorithm,
        data: source.path,
        cqlAlpha: c.cqlAlpha,
        gamma: c.gamma,
        decisions: replay.decisions,
        transitions: replay.transitions,
        standardization: replay.standardization ? { shift: Array.from(replay.standardization.shift), scale: Array.from(replay.standardization.scale) } : null,
        truncated: replay.truncated,
        episodes: replay.episodes,
        behaviour: sim
          ? { policy: sim.policy, seed: sim.seed, episodes: sim.episodes, gamma: sim.gamma, meanReturn: sim.meanReturn, stdReturn: sim.stdReturn, stderrReturn: sim.stderrReturn, meanDiscountedReturn: sim.meanDiscountedReturn }
          : null,
      },
    };
    if (!interrupted) await writeFileAtomic(path.join(runDir, 'summary.json'), `${JSON.stringify(summary, null, 1)}\n`);
    return { runDir, summary };
  } finally {
    agent?.dispose();
    if (ownsSource) (source as LogStore).close();
  }
}

/**
 * Folds the standardisation x̃ = (x − shift) / scale into the first layer of the agent's online
 * network, so that it reads raw features: x̃·W + b = x·(W / scale) + (b − (shift / scale)·W). The
 * first layer is the one the state features enter (`layers.0` of an MLP or parametric net,
 * `trunk.layers.0` of a dueling net); a parametric net's rows after the first `shift.length`
 * take action features and stay as they are.
 *
 * @example
 * foldStandardization(agent, replay.standardization); // then savePolicy(...)
 */
export function foldStandardization(agent: DqnAgent, { shift, scale }: FeatureStandardization): void {
  const weights = agent.online.getWeights();
  const name = ['layers.0.kernel', 'trunk.layers.0.kernel'].find((n) => n in weights);
  const bias = name ? weights[name.replace(/kernel$/, 'bias')] : undefined;
  if (!name || !bias) throw new KairosError(`foldStandardization: no first layer with a bias among ${Object.keys(weights).join(', ')}`, 'invalid_argument');
  const kernel = weights[name];
  const d = shift.length;
  const [rows, h] = kernel.shape;
  if (rows < d) throw new ValidationError('shift.length', `at most ${rows} (the first layer's inputs)`, d, 'foldStandardization');
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < h; j++) {
      const w = kernel.data[i * h + j] / scale[i];
      kernel.data[i * h + j] = w;
      bias.data[j] -= w * shift[i];
    }
  }
  agent.online.setWeights(weights);
  agent.target.setWeights(weights);
}
