/**
 * The agent contract the training loop, evaluation, logging and serving share.
 *
 * The loop owns the environments: it steps them, resets them, flattens observations and
 * reads action masks; an agent only chooses actions for a batch of observations and learns
 * from the transitions it is shown (SB3's split between `BaseAlgorithm.learn` and an
 * algorithm's `train`). Every agent's `act` returns the probability of each action it chose
 * under its current exploration, so the same call serves logging and off-policy evaluation.
 *
 * @example
 * const agent = createAgent('dqn', { observationSpace, actionSpace, config: {}, seed: 0 });
 * const { actions, probs } = agent.act(obs, 1, { deterministic: true });
 */
import type { Rng } from '../core/rng.js';
import type { Space } from '../core/spaces.js';
import type { BufferArray } from './buffers/types.js';

/** Options of {@link Agent.act}. */
export interface ActOptions {
  /** Greedy / mean action (evaluation, serving) instead of the exploring one. */
  deterministic?: boolean;
  /** `[n × numActions]` allowed actions (1 = allowed) for discrete agents; null = all. */
  masks?: Uint8Array | null;
}

/** Actions for a batch of observations, with their probabilities. */
export interface ActResult {
  /** Discrete: `[n]` integers; continuous: `[n × actDim]` in the env's action bounds. */
  readonly actions: Int32Array | Float32Array;
  /**
   * `[n]` probability of each chosen action under the policy that chose it (discrete), or
   * its density (continuous). A deterministic greedy choice has probability 1.
   */
  readonly probs: Float64Array;
  /** `[n]` natural log of `probs`. */
  readonly logProbs: Float64Array;
}

/**
 * One step of `n` environments, as the loop shows it to the agent. Arrays are reused by the
 * loop: copy what you keep. `nextObs` row i is the true last observation when env i's
 * episode ended in this step (the loop resets it afterwards).
 */
export interface StepBatch {
  readonly n: number;
  /** `[n × obsDim]` flattened observations the actions were chosen in. */
  readonly obs: Float32Array;
  readonly actions: Int32Array | Float32Array;
  /** `[n]` behaviour probabilities from {@link ActResult.probs}. */
  readonly probs: Float64Array;
  readonly rewards: Float64Array;
  /** `[n × obsDim]` */
  readonly nextObs: Float32Array;
  /** `[n]` 1 = terminal state reached (no bootstrap). */
  readonly terminated: Uint8Array;
  /** `[n]` 1 = cut by a time limit (bootstrap from nextObs). */
  readonly truncated: Uint8Array;
  /** `[n × numActions]` masks of the next observations, or null when the env gives none. */
  readonly nextMasks: Uint8Array | null;
}

/** Where the loop is; passed with each step so schedules can follow progress. */
export interface StepContext {
  /** Env steps taken so far, counting this batch (SB3's `num_timesteps`). */
  readonly step: number;
  /** Env steps the run will take in all. */
  readonly totalSteps: number;
}

/** Snapshot of an agent for checkpoints: JSON-safe fields plus named typed arrays. */
export interface AgentState {
  readonly algorithm: string;
  readonly json: Record<string, unknown>;
  readonly arrays: Record<string, BufferArray>;
}

/** What every agent implements. */
export interface Agent {
  /** Registry name, e.g. `dqn`. */
  readonly algorithm: string;
  readonly observationSpace: Space;
  readonly actionSpace: Space;
  /** Length of a flattened observation. */
  readonly obsDim: number;
  /** Resolved config (defaults applied), JSON-safe; saved in the run folder. */
  readonly config: Readonly<Record<string, unknown>>;
  /** Chooses actions for `n` flattened observations `[n × obsDim]`. */
  act(obs: Float32Array, n: number, options?: ActOptions): ActResult;
  /**
   * Discrete agents: probabilities of every action `[n × numActions]` under the policy `act`
   * uses (greedy when `deterministic`), for logging and off-policy evaluation.
   */
  actionProbabilities?(obs: Float32Array, n: number, options?: ActOptions): Float64Array;
  /** Value-based agents: Q-values `[n × numActions]` (softmax target policies in OPE). */
  qValues?(obs: Float32Array, n: number): Float32Array;
  /**
   * Learns from one vector step: stores it, and trains when its schedule says so. Returns
   * training metrics (loss, q, ...) when it trained in this call, else null.
   */
  observe(batch: StepBatch, ctx: StepContext): Record<string, number> | null;
  /** Numbers for the progress bar and metrics log (epsilon, last loss, ...). */
  stats(): Record<string, number>;
  /** Full state for resuming: weights, optimiser, counters, RNG, and (optionally) replay. */
  getState(options?: { includeReplay?: boolean }): AgentState;
  /** Restores {@link getState}; throws a ValidationError naming the mismatch. */
  setState(state: AgentState): void;
  /** Weights only, for inference (eval, serve). */
  getPolicyState(): AgentState;
  setPolicyState(state: AgentState): void;
  /** Frees tensors. */
  dispose(): void;
}

/** Arguments every agent factory takes. */
export interface AgentInit<C = Record<string, unknown>> {
  observationSpace: Space;
  actionSpace: Space;
  /** Algorithm config as the user wrote it; validated by the agent's schema. */
  config: C;
  seed: number;
}

/** Helper for agents: fills `probs` and `logProbs` for a deterministic choice. */
export function deterministicProbs(n: number): { probs: Float64Array; logProbs: Float64Array } {
  return { probs: new Float64Array(n).fill(1), logProbs: new Float64Array(n) };
}

/** Re-exported for agents that draw exploration noise. */
export type { Rng };
