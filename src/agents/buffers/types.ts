/**
 * Replay-buffer contracts shared by every off-policy agent (DQN, DDPG, TD3, SAC, recurrent
 * Q). Storage is preallocated typed arrays; `add` and `sample` allocate nothing per call:
 * a sampled batch is a view into arrays the buffer reuses, valid until the next `sample`.
 *
 * Row layout: observations are flat Float32 vectors of `obsDim`; a discrete action is one
 * integer, a continuous action `actDim` floats; `discount` is the factor that multiplies the
 * bootstrap value, γ^k for a k-step transition (so an agent never needs to know n).
 *
 * @example
 * const buf = new ReplayBuffer({ capacity: 100_000, obsDim: 4, action: { kind: 'discrete', n: 2 } });
 * buf.add({ obs, action: 1, reward: 1, nextObs, terminated: false, discount: 0.99 });
 * const batch = buf.sample(64, rng); // batch.obs: Float32Array(64 * 4)
 */
import type { Rng } from '../../core/rng.js';

/** Typed arrays a buffer may hold; what checkpoints store. */
export type BufferArray = Float32Array | Float64Array | Int32Array | Uint8Array | Uint32Array;

/** The action part of a buffer layout. */
export type ActionLayout = { kind: 'discrete'; n: number } | { kind: 'continuous'; dim: number };

/** One transition to store. Arrays are copied; the caller may reuse them. */
export interface TransitionInput {
  /** Observation, `obsDim` numbers. */
  obs: ArrayLike<number>;
  /** Integer action (discrete) or `dim` numbers (continuous). */
  action: number | ArrayLike<number>;
  /** Reward (the k-step discounted sum for a k-step transition). */
  reward: number;
  /** Observation after the transition: the true last observation when an episode ended. */
  nextObs: ArrayLike<number>;
  /**
   * True when the episode reached a terminal state (no bootstrap). A truncation (time
   * limit) is not terminal: the target bootstraps from `nextObs` (Pardo et al. 2018).
   */
  terminated: boolean;
  /**
   * True when the episode was cut (time limit) in this step. A plain buffer ignores it (the
   * row bootstraps either way); the n-step writer and the episodic buffer use it to end the
   * episode. Omit for false.
   */
  truncated?: boolean;
  /** Factor on the bootstrap value: γ for one step, γ^k for k steps. */
  discount: number;
  /** Allowed actions in `nextObs` (1 = allowed), `n` entries; omit when every action is allowed. */
  nextMask?: ArrayLike<number> | null;
  /**
   * Probability of `action` under the policy that chose it (behaviour propensity), kept for
   * off-policy corrections and logging. Omit when unknown (stored as NaN).
   */
  prob?: number;
}

/** A sampled batch: views into arrays the buffer reuses. Row i is sample i. */
export interface TransitionBatch {
  readonly size: number;
  /** `[size × obsDim]` */
  readonly obs: Float32Array;
  /** Discrete: `[size]` integers; continuous: `[size × dim]`. */
  readonly actions: Int32Array | Float32Array;
  /** `[size]` */
  readonly rewards: Float32Array;
  /** `[size × obsDim]` */
  readonly nextObs: Float32Array;
  /** `[size]`, 1 where the transition ended in a terminal state. */
  readonly terminated: Float32Array;
  /** `[size]`, γ^k per sample. */
  readonly discounts: Float32Array;
  /** `[size × n]` next-state masks (1 = allowed), or null when the buffer stores no masks. */
  readonly nextMasks: Uint8Array | null;
  /** `[size]` behaviour probabilities (NaN where unknown). */
  readonly probs: Float32Array;
  /** `[size]` importance weights for the loss: all 1 for uniform replay. */
  readonly weights: Float32Array;
  /** `[size]` storage indices, for priority updates. */
  readonly indices: Int32Array;
}

/** Serializable snapshot of a buffer (checkpoints): JSON-safe scalars plus typed arrays. */
export interface BufferState {
  readonly kind: string;
  readonly meta: Record<string, unknown>;
  readonly arrays: Record<string, BufferArray>;
}

/** What one stored row holds: the shapes a buffer was built for. */
export interface BufferLayout {
  readonly obsDim: number;
  readonly action: ActionLayout;
  /** Whether rows keep next-state action masks (discrete actions only). */
  readonly storeMasks: boolean;
}

/** What every transition buffer does. */
export interface TransitionBuffer {
  readonly capacity: number;
  /**
   * The row layout, when the buffer exposes it (every Kairos buffer does); wrappers such as
   * the n-step writer read it so callers need not repeat the shapes.
   */
  readonly layout?: BufferLayout;
  /** Transitions stored (≤ capacity). */
  readonly size: number;
  add(t: TransitionInput): void;
  /** Samples `batchSize` transitions (with replacement) using `rng`. */
  sample(batchSize: number, rng: Rng): TransitionBatch;
  /** Prioritised buffers update priorities from |TD error|; uniform buffers ignore it. */
  updatePriorities(indices: Int32Array, tdErrors: ArrayLike<number>): void;
  /** Bytes held by the storage arrays. */
  readonly byteLength: number;
  getState(): BufferState;
  /** Restores a snapshot from {@link getState}; throws a ValidationError naming the bad field. */
  setState(state: BufferState): void;
}
