/**
 * Run folders: everything a training run produces, in one place the CLI, `kairos eval`,
 * serving and the dashboard read.
 *
 *   run.json              the run spec (algorithm, env, seed, steps, agent config) and spaces
 *   metrics.jsonl         one MetricsRecord per `logEvery` steps
 *   episodes.jsonl        one line per finished training episode (step, return, length)
 *   evaluations.jsonl     one EvaluationRecord per evaluation
 *   checkpoints/step-N.kst  full snapshots (agent, optimiser, replay, RNG, envs), newest kept
 *   model/policy.kst      final policy weights + config (what eval and serve load)
 *   model/best.kst        the policy of the best evaluation (periodic or final)
 *   summary.json          final figures, written last
 *
 * Every file except the append-only logs is written atomically (temp file + rename); logs
 * are cut back to the checkpoint's step on resume, so a resumed run's folder reads as if the
 * run had never stopped.
 *
 * @example
 * const result = await startRun({ algorithm: 'dqn', env: { id: 'CartPole-v1' }, totalSteps: 50_000 }, { runDir: 'runs/cartpole' });
 * const resumed = await resumeRun('runs/cartpole'); // after an interruption
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { KairosError, ValidationError, parseWith } from '../core/errors.js';
import { spaceFromJSON, type Space } from '../core/spaces.js';
import type { Agent, AgentState } from '../agents/agent.js';
import { createAgent } from '../agents/registry.js';
import type { BufferArray } from '../agents/buffers/types.js';
import '../agents/builtin.js';
import '../envs/builtin.js';
import type { Env } from '../envs/env.js';
import { make } from '../envs/registry.js';
import { fileExists as exists, writeFileAtomic } from '../tensor/weights-io.js';
import type { EvaluationRecord, TrainCallback } from './callbacks.js';
import { EnvPool, type EnvFactory } from './env-pool.js';
import { evaluateAgent, type EvaluationResult } from './evaluate.js';
import { trainAgent, type LoopResult, type LoopSnapshot, type LoopState } from './loop.js';
import { decodeState, encodeState } from './state-file.js';

/** What a run is: saved as run.json. Defaults follow SB3 where it has one. */
export const RunSpecSchema = z
  .object({
    /** Registered algorithm (`dqn`, ...). */
    algorithm: z.string().min(1),
    env: z
      .object({
        /** Registered env id. */
        id: z.string().min(1),
        /** Options passed to `make`. */
        options: z.record(z.string(), z.unknown()).default({}),
        /** Override the registered time limit. */
        maxEpisodeSteps: z.number().int().positive().optional(),
      })
      .strict(),
    /** Envs stepped together. */
    numEnvs: z.number().int().positive().default(1),
    /** Env steps in all. */
    totalSteps: z.number().int().positive(),
    seed: z.number().int().nonnegative().max(2 ** 31 - 1).default(0),
    /** Agent config (validated by the agent). */
    config: z.record(z.string(), z.unknown()).default({}),
    /** Evaluate every N env steps (0 = only the final evaluation). */
    evalEvery: z.number().int().nonnegative().default(10_000),
    evalEpisodes: z.number().int().positive().default(10),
    /** Evaluation episode k starts from seed evalSeed + k, the same for every training seed. */
    evalSeed: z.number().int().nonnegative().default(1_000_000),
    /** Episodes of the final evaluation (0 = none). */
    finalEvalEpisodes: z.number().int().nonnegative().default(100),
    logEvery: z.number().int().positive().default(1000),
    /** Checkpoint every N env steps (0 = only at the end or on interrupt). */
    checkpointEvery: z.number().int().nonnegative().default(25_000),
    keepCheckpoints: z.number().int().positive().default(2),
    /** Keep the replay buffer in checkpoints (needed for an exact resume). */
    checkpointReplay: z.boolean().default(true),
  })
  .strict();

/** A run spec as written by a user. */
export type RunSpecInput = z.input<typeof RunSpecSchema>;
/** A run spec with defaults applied. */
export type RunSpec = z.output<typeof RunSpecSchema>;

/** Options of {@link startRun} and {@link resumeRun}. */
export interface RunOptions {
  /** Run folder; created if missing. */
  runDir: string;
  callbacks?: TrainCallback[];
  /** Abort to stop with a checkpoint (Ctrl-C in the CLI). */
  signal?: AbortSignal;
  /** Custom env construction (not saved: pass it again on resume). Default: `make(spec.env.id, ...)`. */
  makeEnv?: EnvFactory;
  /** Replace an existing run in `runDir` (default false: refuse). */
  overwrite?: boolean;
}

/** What a finished (or interrupted) run reports; also written as summary.json. */
export interface RunSummary {
  runDir: string;
  algorithm: string;
  env: string;
  seed: number;
  steps: number;
  totalSteps: number;
  episodes: number;
  interrupted: boolean;
  /** Training seconds over all segments. */
  seconds: number;
  /** Env steps per second of the last segment. */
  sps: number;
  finalEvaluation: Omit<EvaluationResult, 'returns' | 'lengths'> & { episodes: number; returns: number[] } | null;
  /**
   * The best evaluation of the run (periodic ones and the final one), whose policy is saved
   * as `model/best.kst` (SB3's EvalCallback best model); null without evaluations.
   */
  bestEvaluation: BestEvaluation | null;
  checkpoint: string | null;
}

/** Where a run's best policy was evaluated. */
export interface BestEvaluation {
  step: number;
  meanReturn: number;
  stdReturn: number;
  episodes: number;
}

const FILES = {
  spec: 'run.json',
  metrics: 'metrics.jsonl',
  episodes: 'episodes.jsonl',
  evaluations: 'evaluations.jsonl',
  summary: 'summary.json',
  checkpoints: 'checkpoints',
  policy: path.join('model', 'policy.kst'),
  best: path.join('model', 'best.kst'),
} as const;

/** Env factory for a spec. */
export function envFactoryFor(spec: Pick<RunSpec, 'env'>): EnvFactory {
  return () => make(spec.env.id, { ...spec.env.options, ...(spec.env.maxEpisodeSteps ? { maxEpisodeSteps: spec.env.maxEpisodeSteps } : {}) }) as Env;
}

/** Packs an agent snapshot plus extra JSON into one state file. */
function encodeSnapshot(json: Record<string, unknown>, agent: AgentState): Uint8Array {
  const arrays: Record<string, BufferArray> = {};
  for (const [k, v] of Object.entries(agent.arrays)) arrays[`agent/${k}`] = v;
  return encodeState({ ...json, agent: { algorithm: agent.algorithm, json: agent.json } }, arrays);
}

function decodeSnapshot(bytes: Uint8Array, source: string): { json: Record<string, unknown>; agent: AgentState } {
  const { json, arrays } = decodeState(bytes, source);
  const j = json as Record<string, unknown> & { agent?: { algorithm: string; json: Record<string, unknown> } };
  if (!j?.agent || typeof j.agent.algorithm !== 'string') throw new KairosError(`${source}: no agent state inside`, 'invalid_state_file');
  const agentArrays: Record<string, BufferArray> = {};
  for (const [k, v] of Object.entries(arrays)) if (k.startsWith('agent/')) agentArrays[k.slice(6)] = v;
  return { json: j, agent: { algorithm: j.agent.algorithm, json: j.agent.json, arrays: agentArrays } };
}

/** Checkpoint files in a run, oldest first, with their step. */
export async function listCheckpoints(runDir: string): Promise<{ step: number; file: string }[]> {
  const dir = path.join(runDir, FILES.checkpoints);
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  return names
    .map((name) => ({ name, m: /^step-(\d+)\.kst$/.exec(name) }))
    .filter((x) => x.m)
    .map((x) => ({ step: Number(x.m![1]), file: path.join(dir, x.name) }))
    .sort((a, b) => a.step - b.step);
}

async function readSpec(runDir: string): Promise<RunSpec & { spaces?: unknown }> {
  const file = path.join(runDir, FILES.spec);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    throw new KairosError(`${runDir} is not a Kairos run folder (no ${FILES.spec})`, 'not_found');
  }
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new KairosError(`${file} is not valid JSON (${(err as Error).message})`, 'invalid_run');
  }
  const { spaces, ...rest } = raw;
  return { ...parseWith(RunSpecSchema, rest, file), spaces };
}

/** Keeps only lines whose `step` is ≤ `step` (cuts logs back to a checkpoint). */
async function truncateLog(file: string, step: number): Promise<void> {
  if (!(await exists(file))) return;
  const lines = (await fs.readFile(file, 'utf8')).split('\n').filter((l) => l.trim() !== '');
  const kept = lines.filter((l) => {
    try {
      return (JSON.parse(l) as { step: number }).step <= step;
    } catch {
      return false; // a torn last line from a crash
    }
  });
  await writeFileAtomic(file, kept.length ? `${kept.join('\n')}\n` : '');
}

/** Callbacks that append the logs and write checkpoints; buffered to one write per log tick. */
function runFolderCallbacks(runDir: string): TrainCallback {
  let pending: { file: string; line: string }[] = [];
  const flush = async (): Promise<void> => {
    const byFile = new Map<string, string>();
    for (const p of pending) byFile.set(p.file, (byFile.get(p.file) ?? '') + p.line);
    pending = [];
    for (const [file, text] of byFile) await fs.appendFile(path.join(runDir, file), text);
  };
  return {
    onEpisode: (e) => {
      pending.push({ file: FILES.episodes, line: `${JSON.stringify({ step: e.step, env: e.env, return: e.return, length: e.length, terminated: e.terminated })}\n` });
    },
    onLog: async (r) => {
      pending.push({ file: FILES.metrics, line: `${JSON.stringify(r)}\n` });
      await flush();
    },
    onEvaluation: async (r) => {
      pending.push({ file: FILES.evaluations, line: `${JSON.stringify(r)}\n` });
      await flush();
    },
    onCheckpoint: flush,
    onEnd: flush,
  };
}

async function bestLoggedEvaluation(runDir: string): Promise<BestEvaluation | null> {
  let text: string;
  try {
    text = await fs.readFile(path.join(runDir, FILES.evaluations), 'utf8');
  } catch {
    return null;
  }
  let best: BestEvaluation | null = null;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const e = JSON.parse(line) as EvaluationRecord;
    if (best === null || e.meanReturn > best.meanReturn) best = { step: e.step, meanReturn: e.meanReturn, stdReturn: e.stdReturn, episodes: e.episodes };
  }
  return best;
}

async function saveCheckpointFile(runDir: string, keep: number, snapshot: LoopSnapshot): Promise<string> {
  const dir = path.join(runDir, FILES.checkpoints);
  await fs.mkdir(dir, { recursive: true });
  const file = path.join(dir, `step-${String(snapshot.loop.step).padStart(10, '0')}.kst`);
  await writeFileAtomic(file, encodeSnapshot({ kind: 'checkpoint', loop: snapshot.loop }, snapshot.agent));
  const all = await listCheckpoints(runDir);
  for (const old of all.slice(0, Math.max(0, all.length - keep))) await fs.rm(old.file, { force: true });
  return file;
}

/** Saves an agent's policy (weights + config + spaces) as one file. */
export async function savePolicy(file: string, agent: Agent): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const json = {
    kind: 'policy',
    config: agent.config,
    observationSpace: agent.observationSpace.toJSON(),
    actionSpace: agent.actionSpace.toJSON(),
  };
  await writeFileAtomic(file, encodeSnapshot(json, agent.getPolicyState()));
}

/** Loads a policy file written by {@link savePolicy} into a fresh agent. */
export async function loadPolicy(file: string): Promise<Agent> {
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(file);
  } catch {
    throw new KairosError(`no policy file at ${file}`, 'not_found');
  }
  const { json, agent: state } = decodeSnapshot(bytes, file);
  const agent = createAgent(state.algorithm, {
    observationSpace: spaceFromJSON(json.observationSpace, 'observationSpace'),
    actionSpace: spaceFromJSON(json.actionSpace, 'actionSpace'),
    config: json.config as Record<string, unknown>,
    seed: 0,
  });
  try {
    agent.setPolicyState(state);
  } catch (err) {
    agent.dispose();
    throw err;
  }
  return agent;
}

function spacesOf(factory: EnvFactory): { observationSpace: Space; actionSpace: Space } {
  const env = factory(0);
  try {
    return { observationSpace: env.observationSpace, actionSpace: env.actionSpace };
  } finally {
    env.close?.();
  }
}

async function runSegment(
  spec: RunSpec,
  agent: Agent,
  options: RunOptions,
  resumeFrom: LoopState | undefined,
): Promise<RunSummary> {
  const { runDir } = options;
  const factory = options.makeEnv ?? envFactoryFor(spec);
  const pool = new EnvPool(factory, spec.numEnvs, spec.seed);
  // On resume the log was truncated to the checkpoint, so the best so far is read back from it.
  let best = resumeFrom ? await bestLoggedEvaluation(runDir) : null;
  const keepBest = async (e: BestEvaluation): Promise<void> => {
    if (best !== null && !(e.meanReturn > best.meanReturn)) return;
    await savePolicy(path.join(runDir, FILES.best), agent);
    best = { step: e.step, meanReturn: e.meanReturn, stdReturn: e.stdReturn, episodes: e.episodes };
  };
  let result: LoopResult;
  try {
    result = await trainAgent(agent, pool, {
      totalSteps: spec.totalSteps,
      evalEvery: spec.evalEvery,
      evalEpisodes: spec.evalEpisodes,
      evalSeed: spec.evalSeed,
      makeEvalEnv: factory,
      logEvery: spec.logEvery,
      checkpointEvery: spec.checkpointEvery,
      checkpointReplay: spec.checkpointReplay,
      saveCheckpoint: (s) => saveCheckpointFile(runDir, spec.keepCheckpoints, s),
      callbacks: [runFolderCallbacks(runDir), { onEvaluation: keepBest }, ...(options.callbacks ?? [])],
      signal: options.signal,
      resumeFrom,
    });
  } finally {
    pool.close();
  }
  let finalEvaluation: RunSummary['finalEvaluation'] = null;
  if (!result.interrupted) {
    await savePolicy(path.join(runDir, FILES.policy), agent);
    if (spec.finalEvalEpisodes > 0) {
      const r = evaluateAgent(agent, factory, { episodes: spec.finalEvalEpisodes, seed: spec.evalSeed });
      finalEvaluation = { episodes: spec.finalEvalEpisodes, meanReturn: r.meanReturn, stdReturn: r.stdReturn, meanLength: r.meanLength, seconds: r.seconds, returns: r.returns };
      await keepBest({ step: result.step, meanReturn: r.meanReturn, stdReturn: r.stdReturn, episodes: spec.finalEvalEpisodes });
    }
  }
  const checkpoints = await listCheckpoints(runDir);
  const last = checkpoints.at(-1);
  let seconds = result.seconds;
  if (last) {
    const { json } = decodeSnapshot(await fs.readFile(last.file), last.file);
    seconds = (json.loop as LoopState).elapsed;
  }
  const summary: RunSummary = {
    runDir,
    algorithm: spec.algorithm,
    env: spec.env.id,
    seed: spec.seed,
    steps: result.step,
    totalSteps: spec.totalSteps,
    episodes: result.episodes,
    interrupted: result.interrupted,
    seconds,
    sps: result.sps,
    finalEvaluation,
    bestEvaluation: best,
    checkpoint: result.checkpoint,
  };
  if (!result.interrupted) await writeFileAtomic(path.join(runDir, FILES.summary), `${JSON.stringify(summary, null, 1)}\n`);
  return summary;
}

/**
 * Starts a run in `options.runDir`: validates the spec, builds the agent from the registry,
 * trains, saves the policy, runs the final evaluation and writes summary.json.
 */
export async function startRun(specInput: RunSpecInput, options: RunOptions): Promise<RunSummary> {
  const spec = parseWith(RunSpecSchema, specInput, 'run');
  const { runDir } = options;
  if (await exists(path.join(runDir, FILES.spec))) {
    if (!options.overwrite) {
      throw new KairosError(`${runDir} already holds a run; resume it (kairos train --resume ${runDir}) or choose another folder`, 'run_exists');
    }
    await fs.rm(runDir, { recursive: true, force: true });
  }
  const factory = options.makeEnv ?? envFactoryFor(spec);
  const spaces = spacesOf(factory);
  const agent = createAgent(spec.algorithm, { ...spaces, config: spec.config, seed: spec.seed });
  try {
    await fs.mkdir(runDir, { recursive: true });
    const saved = { ...spec, config: agent.config, spaces: { observation: spaces.observationSpace.toJSON(), action: spaces.actionSpace.toJSON() } };
    await writeFileAtomic(path.join(runDir, FILES.spec), `${JSON.stringify(saved, null, 1)}\n`);
    return await runSegment(spec, agent, options, undefined);
  } finally {
    agent.dispose();
  }
}

/**
 * Continues an interrupted run from its newest checkpoint. With the checkpointed replay
 * buffer (the default) the result equals that of a run that was never interrupted.
 */
export async function resumeRun(runDir: string, options: Omit<RunOptions, 'runDir' | 'overwrite'> = {}): Promise<RunSummary> {
  const spec = await readSpec(runDir);
  const checkpoints = await listCheckpoints(runDir);
  const last = checkpoints.at(-1);
  if (!last) throw new KairosError(`${runDir} has no checkpoint to resume from`, 'not_found');
  const { json, agent: agentState } = decodeSnapshot(await fs.readFile(last.file), last.file);
  const loop = json.loop as LoopState;
  if (loop.step >= spec.totalSteps && (await exists(path.join(runDir, FILES.summary)))) {
    throw new KairosError(`${runDir} already finished (${loop.step} of ${spec.totalSteps} steps)`, 'run_finished');
  }
  const factory = options.makeEnv ?? envFactoryFor(spec);
  const agent = createAgent(spec.algorithm, { ...spacesOf(factory), config: spec.config, seed: spec.seed });
  try {
    agent.setState(agentState);
    for (const f of [FILES.metrics, FILES.episodes, FILES.evaluations]) await truncateLog(path.join(runDir, f), loop.step);
    return await runSegment(spec, agent, { ...options, runDir }, loop);
  } finally {
    agent.dispose();
  }
}

/** The run spec saved in a run folder. */
export async function loadRunSpec(runDir: string): Promise<RunSpec> {
  const { spaces: _spaces, ...spec } = await readSpec(runDir);
  return spec;
}

/**
 * The agent of a run: the final policy if the run finished, else the newest checkpoint's;
 * with `{ model: 'best' }` the policy of the run's best evaluation (`model/best.kst`).
 *
 * @example
 * const agent = await loadRunAgent('runs/cartpole', { model: 'best' });
 */
export async function loadRunAgent(runDir: string, options: { model?: 'final' | 'best' } = {}): Promise<Agent> {
  if (options.model === 'best') {
    const best = path.join(runDir, FILES.best);
    if (!(await exists(best))) throw new KairosError(`${runDir} has no best policy (model/best.kst is written at the run's evaluations)`, 'not_found');
    return loadPolicy(best);
  }
  const policy = path.join(runDir, FILES.policy);
  if (await exists(policy)) return loadPolicy(policy);
  const spec = await readSpec(runDir);
  const last = (await listCheckpoints(runDir)).at(-1);
  if (!last) throw new KairosError(`${runDir} has neither a final policy nor a checkpoint`, 'not_found');
  const { agent: state } = decodeSnapshot(await fs.readFile(last.file), last.file);
  const agent = createAgent(spec.algorithm, { ...spacesOf(envFactoryFor(spec)), config: spec.config, seed: spec.seed });
  agent.setState(state);
  return agent;
}

/** Validates a value is a run folder path (for CLI errors). */
export function assertRunDir(value: unknown): asserts value is string {
  if (typeof value !== 'string' || value.trim() === '') throw new ValidationError('run', 'a run folder path', value, 'kairos');
}
