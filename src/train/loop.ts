/**
 * The training loop every online agent shares: it owns the envs (an {@link EnvPool}), asks
 * the agent for actions, shows it each step, and runs evaluation, logging and checkpoints on
 * their schedules. The agent decides when and how it learns (SB3's `learn` vs `train` split).
 *
 * One iteration: act on all envs → step them → `agent.observe` → reset finished envs →
 * log / evaluate / checkpoint when due. A checkpoint is taken between iterations, so a
 * resumed run continues exactly where the saved one stood: same agent, replay, RNG and env
 * states (see EnvPool for how envs are restored), hence the same result as a run that was
 * never interrupted.
 *
 * This module does no file I/O (it runs in browsers); `run.ts` adds run folders.
 *
 * @example
 * const pool = new EnvPool(() => make('CartPole-v1'), 1, 0);
 * const result = await trainAgent(agent, pool, { totalSteps: 50_000 });
 */
import { ValidationError } from '../core/errors.js';
import type { Agent, AgentState, StepBatch } from '../agents/agent.js';
import type { EvaluationRecord, MetricsRecord, TrainCallback } from './callbacks.js';
import { EnvPool, type EnvFactory, type EnvSlotState } from './env-pool.js';
import { evaluateAgent } from './evaluate.js';

/** Options of {@link trainAgent}. */
export interface LoopOptions {
  /** Env steps to take in all (summed over envs). */
  totalSteps: number;
  /** Evaluate every this many env steps (0 = never; default 0). */
  evalEvery?: number;
  /** Episodes per evaluation (default 10). */
  evalEpisodes?: number;
  /** Evaluation episode k uses seed `evalSeed + k` (default 1_000_000). */
  evalSeed?: number;
  /** Makes evaluation envs (required when evalEvery > 0). */
  makeEvalEnv?: EnvFactory;
  /** Write a metrics record every this many env steps (default 1000). */
  logEvery?: number;
  /** Take a checkpoint every this many env steps (0 = only at the end/interrupt; default 0). */
  checkpointEvery?: number;
  /** Persists a snapshot; returns where it went. Without it no checkpoints are taken. */
  saveCheckpoint?: (snapshot: LoopSnapshot) => Promise<string>;
  callbacks?: TrainCallback[];
  /** Aborting stops the run after the current step, with a checkpoint. */
  signal?: AbortSignal;
  /** Continue from this state (from a checkpoint); the agent must already be restored. */
  resumeFrom?: LoopState;
  /** Keep the replay buffer in checkpoints (default true; false gives small checkpoints
   * but a resumed run then differs from an uninterrupted one). */
  checkpointReplay?: boolean;
}

/** The loop's own state, JSON-safe. */
export interface LoopState {
  step: number;
  episodes: number;
  envs: EnvSlotState[];
  recentReturns: number[];
  recentLengths: number[];
  /** Training seconds before this segment. */
  elapsed: number;
  nextLog: number;
  nextEval: number;
  nextCheckpoint: number;
  lastLogStep: number;
  trainSums: Record<string, number>;
  trainCount: number;
}

/** A full checkpoint: loop state plus agent state. */
export interface LoopSnapshot {
  loop: LoopState;
  agent: AgentState;
}

/** What {@link trainAgent} returns. */
export interface LoopResult {
  step: number;
  episodes: number;
  interrupted: boolean;
  /** Wall seconds of this call (not counting earlier segments of a resumed run). */
  seconds: number;
  /** Env steps per second in this call. */
  sps: number;
  evaluations: EvaluationRecord[];
  /** Last checkpoint written, if any. */
  checkpoint: string | null;
}

const WINDOW = 100;

/** setImmediate in Node; a zero timeout in browsers. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => (typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0)));
}

function positiveInt(value: number, field: string, allowZero: boolean): number {
  if (!Number.isInteger(value) || value < (allowZero ? 0 : 1)) {
    throw new ValidationError(field, allowZero ? 'a non-negative integer' : 'a positive integer', value, 'train');
  }
  return value;
}

/** Runs the loop; see the module comment. */
export async function trainAgent(agent: Agent, pool: EnvPool, options: LoopOptions): Promise<LoopResult> {
  const totalSteps = positiveInt(options.totalSteps, 'totalSteps', false);
  const evalEvery = positiveInt(options.evalEvery ?? 0, 'evalEvery', true);
  const evalEpisodes = positiveInt(options.evalEpisodes ?? 10, 'evalEpisodes', false);
  const evalSeed = options.evalSeed ?? 1_000_000;
  const logEvery = positiveInt(options.logEvery ?? 1000, 'logEvery', false);
  const checkpointEvery = positiveInt(options.checkpointEvery ?? 0, 'checkpointEvery', true);
  if (evalEvery > 0 && !options.makeEvalEnv) throw new ValidationError('makeEvalEnv', 'an env factory (evalEvery > 0)', undefined, 'train');
  if (pool.obsDim !== agent.obsDim) throw new ValidationError('env', `observations of size ${agent.obsDim} (the agent's)`, pool.obsDim, 'train');
  const callbacks = options.callbacks ?? [];
  const n = pool.n;

  const state: LoopState = options.resumeFrom
    ? structuredClone(options.resumeFrom)
    : {
        step: 0,
        episodes: 0,
        envs: [],
        recentReturns: [],
        recentLengths: [],
        elapsed: 0,
        nextLog: logEvery,
        nextEval: evalEvery,
        nextCheckpoint: checkpointEvery,
        lastLogStep: 0,
        trainSums: {},
        trainCount: 0,
      };
  if (options.resumeFrom) pool.setState(options.resumeFrom.envs);
  else pool.resetAll();

  const evaluations: EvaluationRecord[] = [];
  const t0 = performance.now();
  const startStep = state.step;
  let lastLogTime = t0;
  let lastYield = t0;
  let checkpoint: string | null = null;
  const elapsed = (): number => state.elapsed + (performance.now() - t0) / 1000;

  const takeCheckpoint = async (): Promise<void> => {
    if (!options.saveCheckpoint) return;
    state.envs = pool.getState();
    const snapshot: LoopSnapshot = {
      loop: { ...structuredClone(state), elapsed: elapsed() },
      agent: agent.getState({ includeReplay: options.checkpointReplay ?? true }),
    };
    checkpoint = await options.saveCheckpoint(snapshot);
    for (const c of callbacks) await c.onCheckpoint?.({ step: state.step, path: checkpoint });
  };

  const mean = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN);

  for (const c of callbacks) await c.onStart?.({ step: state.step, totalSteps, resumed: !!options.resumeFrom });

  const batch: StepBatch = {
    n,
    obs: pool.obs,
    actions: new Int32Array(0),
    probs: new Float64Array(0),
    rewards: pool.rewards,
    nextObs: pool.nextObs,
    terminated: pool.terminated,
    truncated: pool.truncated,
    nextMasks: null,
  };
  let interrupted = false;

  while (state.step < totalSteps) {
    if (options.signal?.aborted) {
      interrupted = true;
      break;
    }
    const acted = agent.act(pool.obs, n, { masks: pool.masks });
    pool.step(acted.actions);
    state.step += n;
    const ctx = { step: state.step, totalSteps };
    const stepBatch: StepBatch = { ...batch, actions: acted.actions, probs: acted.probs, nextMasks: pool.nextMasks };
    const trained = agent.observe(stepBatch, ctx);
    if (trained) {
      for (const [k, v] of Object.entries(trained)) state.trainSums[k] = (state.trainSums[k] ?? 0) + v;
      state.trainCount++;
    }
    for (const ep of pool.advance()) {
      state.episodes++;
      state.recentReturns.push(ep.return);
      state.recentLengths.push(ep.length);
      if (state.recentReturns.length > WINDOW) {
        state.recentReturns.shift();
        state.recentLengths.shift();
      }
      for (const c of callbacks) await c.onEpisode?.({ ...ep, step: state.step });
    }
    for (const c of callbacks) {
      c.onStep?.({ step: state.step, totalSteps, recentReturn: mean(state.recentReturns), stats: () => agent.stats() });
    }

    if (state.step >= state.nextLog || state.step >= totalSteps) {
      const now = performance.now();
      const record: MetricsRecord = {
        step: state.step,
        time: elapsed(),
        sps: (state.step - state.lastLogStep) / Math.max(1e-9, (now - lastLogTime) / 1000),
        episodes: state.episodes,
        episodeReturnMean: mean(state.recentReturns),
        episodeLengthMean: mean(state.recentLengths),
        ...agent.stats(),
      };
      for (const [k, v] of Object.entries(state.trainSums)) record[k] = v / Math.max(1, state.trainCount);
      state.trainSums = {};
      state.trainCount = 0;
      state.lastLogStep = state.step;
      lastLogTime = now;
      while (state.nextLog <= state.step) state.nextLog += logEvery;
      for (const c of callbacks) await c.onLog?.(record);
    }

    if (evalEvery > 0 && state.step >= state.nextEval) {
      while (state.nextEval <= state.step) state.nextEval += evalEvery;
      const r = evaluateAgent(agent, options.makeEvalEnv as EnvFactory, { episodes: evalEpisodes, seed: evalSeed });
      const record: EvaluationRecord = {
        step: state.step,
        meanReturn: r.meanReturn,
        stdReturn: r.stdReturn,
        meanLength: r.meanLength,
        episodes: evalEpisodes,
        returns: r.returns,
      };
      evaluations.push(record);
      for (const c of callbacks) await c.onEvaluation?.(record);
    }

    if (checkpointEvery > 0 && state.step >= state.nextCheckpoint && state.step < totalSteps) {
      while (state.nextCheckpoint <= state.step) state.nextCheckpoint += checkpointEvery;
      await takeCheckpoint();
    }

    // Let signals (Ctrl-C), timers and I/O run: the loop is otherwise synchronous.
    const now = performance.now();
    if (now - lastYield > 50) {
      lastYield = now;
      await yieldToEventLoop();
    }
  }

  await takeCheckpoint();
  const seconds = (performance.now() - t0) / 1000;
  for (const c of callbacks) await c.onEnd?.({ step: state.step, interrupted });
  return {
    step: state.step,
    episodes: state.episodes,
    interrupted,
    seconds,
    sps: (state.step - startStep) / Math.max(1e-9, seconds),
    evaluations,
    checkpoint,
  };
}
