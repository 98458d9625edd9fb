/**
 * Packing helpers for {@link AgentState}: networks, optimiser state and buffers go into one
 * flat map of typed arrays under prefixes (`online/layers.0.kernel`, `optim/...`,
 * `replay/obs`), their shapes and scalars into the JSON part. Every agent uses these, so
 * checkpoints of all agents share one layout.
 *
 * @example
 * const packer = new StatePacker('dqn');
 * packer.weights('online', net.getWeights());
 * const state = packer.finish({ steps: 100 });
 * const weights = unpackWeights(state, 'online');
 */
import { KairosError, ValidationError } from '../core/errors.js';
import type { tf } from '../tensor/backend.js';
import { getOptimizerState, setOptimizerState, type OptimizerState } from '../tensor/optim.js';
import type { NamedWeights } from '../tensor/serialize.js';
import type { AgentState } from './agent.js';
import type { BufferArray, BufferState } from './buffers/types.js';

/** Builds an AgentState piece by piece. */
export class StatePacker {
  private readonly arrays: Record<string, BufferArray> = {};
  private readonly json: Record<string, unknown> = {};
  private readonly shapes: Record<string, number[]> = {};

  constructor(private readonly algorithm: string) {}

  /** Adds named weights under `prefix`. */
  weights(prefix: string, weights: NamedWeights): this {
    for (const [name, w] of Object.entries(weights)) {
      this.arrays[`${prefix}/${name}`] = w.data;
      this.shapes[`${prefix}/${name}`] = [...w.shape];
    }
    return this;
  }

  /** Adds optimiser state under `prefix`. */
  optimizer(prefix: string, state: OptimizerState): this {
    this.weights(prefix, state.slots);
    this.json[`${prefix}:meta`] = { kind: state.kind, iterations: state.iterations, scalars: state.scalars, slots: Object.keys(state.slots) };
    return this;
  }

  /** Adds a buffer snapshot under `prefix`. */
  buffer(prefix: string, state: BufferState): this {
    for (const [name, a] of Object.entries(state.arrays)) this.arrays[`${prefix}/${name}`] = a;
    this.json[`${prefix}:meta`] = { kind: state.kind, meta: state.meta, arrays: Object.keys(state.arrays) };
    return this;
  }

  /** The finished state, with `json` merged in. */
  finish(json: Record<string, unknown>): AgentState {
    return { algorithm: this.algorithm, json: { ...this.json, ...json, shapes: this.shapes }, arrays: this.arrays };
  }
}

function shapesOf(state: AgentState): Record<string, number[]> {
  const s = state.json.shapes;
  if (s === null || typeof s !== 'object') throw new ValidationError('json.shapes', 'a map of array shapes', s, 'agent state');
  return s as Record<string, number[]>;
}

/** Checks the state belongs to `algorithm`. */
export function checkAlgorithm(state: AgentState, algorithm: string): void {
  if (state === null || typeof state !== 'object' || state.algorithm !== algorithm) {
    throw new ValidationError('algorithm', `"${algorithm}"`, (state as AgentState | null)?.algorithm, 'agent state');
  }
}

/** Named weights stored under `prefix`. */
export function unpackWeights(state: AgentState, prefix: string): NamedWeights {
  const shapes = shapesOf(state);
  const out: NamedWeights = {};
  const p = `${prefix}/`;
  for (const [key, a] of Object.entries(state.arrays)) {
    if (!key.startsWith(p) || shapes[key] === undefined) continue;
    if (!(a instanceof Float32Array)) throw new ValidationError(key, 'a Float32Array', a, 'agent state');
    out[key.slice(p.length)] = { shape: shapes[key], data: a };
  }
  if (Object.keys(out).length === 0) throw new KairosError(`agent state: no weights under "${prefix}"`, 'invalid_state');
  return out;
}

/** Optimiser state stored under `prefix`. */
export function unpackOptimizer(state: AgentState, prefix: string): OptimizerState {
  const meta = state.json[`${prefix}:meta`] as { kind: OptimizerState['kind']; iterations: number; scalars: Record<string, number>; slots: string[] } | undefined;
  if (!meta) throw new KairosError(`agent state: no optimiser state under "${prefix}"`, 'invalid_state');
  const shapes = shapesOf(state);
  const slots: NamedWeights = {};
  for (const name of meta.slots) {
    const a = state.arrays[`${prefix}/${name}`];
    if (!(a instanceof Float32Array)) throw new ValidationError(`${prefix}/${name}`, 'a Float32Array', a, 'agent state');
    slots[name] = { shape: shapes[`${prefix}/${name}`], data: a };
  }
  return { kind: meta.kind, iterations: meta.iterations, scalars: meta.scalars, slots };
}

/** Buffer snapshot stored under `prefix`, or null if none was saved. */
export function unpackBuffer(state: AgentState, prefix: string): BufferState | null {
  const meta = state.json[`${prefix}:meta`] as { kind: string; meta: Record<string, unknown>; arrays: string[] } | undefined;
  if (!meta) return null;
  const arrays: Record<string, BufferArray> = {};
  for (const name of meta.arrays) {
    const a = state.arrays[`${prefix}/${name}`];
    if (a === undefined) throw new KairosError(`agent state: buffer array "${prefix}/${name}" is missing`, 'invalid_state');
    arrays[name] = a;
  }
  return { kind: meta.kind, meta: meta.meta, arrays };
}

/** A network whose weights and variables a checkpoint holds. */
interface SavableNet {
  getWeights(): NamedWeights;
  setWeights(weights: NamedWeights): void;
  readonly params: { named(): Record<string, tf.Variable> };
}

/** The counters of the online/target Q-learners (DQN, recurrent DQN). */
export interface QLearnerCounters {
  calls: number;
  steps: number;
  updates: number;
  progress: number;
  lastLoss: number;
  lastQ: number;
  /** The replay buffer's n-step and mask layout, to rebuild it before loading it. */
  bufferN: number;
  bufferMasks: boolean;
}

/**
 * Packs what every online/target Q-learner saves: both networks (`online/`, `target/`) and the
 * optimiser of the online one (`optim/`). Buffers and counters are the caller's.
 */
export function packQLearner(algorithm: string, nets: { online: SavableNet; target: SavableNet; optimizer: tf.Optimizer }): StatePacker {
  return new StatePacker(algorithm)
    .weights('online', nets.online.getWeights())
    .weights('target', nets.target.getWeights())
    .optimizer('optim', getOptimizerState(nets.optimizer, nets.online.params.named()));
}

/** Restores what {@link packQLearner} packed and returns the saved {@link QLearnerCounters}. */
export function unpackQLearner(state: AgentState, algorithm: string, nets: { online: SavableNet; target: SavableNet; optimizer: tf.Optimizer }): QLearnerCounters {
  checkAlgorithm(state, algorithm);
  const counters = state.json.counters as Record<string, number | boolean | null> | undefined;
  if (!counters) throw new ValidationError('json.counters', 'the agent counters', undefined, `${algorithm} state`);
  nets.online.setWeights(unpackWeights(state, 'online'));
  nets.target.setWeights(unpackWeights(state, 'target'));
  setOptimizerState(nets.optimizer, nets.online.params.named(), unpackOptimizer(state, 'optim'));
  const num = (k: string) => Number(counters[k]);
  return {
    calls: num('calls'),
    steps: num('steps'),
    updates: num('updates'),
    progress: num('progress'),
    // JSON turns NaN into null.
    lastLoss: counters.lastLoss === null ? Number.NaN : num('lastLoss'),
    lastQ: counters.lastQ === null ? Number.NaN : num('lastQ'),
    bufferN: num('bufferN'),
    bufferMasks: Boolean(counters.bufferMasks),
  };
}
