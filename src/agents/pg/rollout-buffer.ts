/**
 * On-policy rollout storage for PPO and A2C: `nSteps` vector steps of `n` envs, time-major
 * (entry t·n + i), preallocated. Besides what SB3's `RolloutBuffer` keeps (observations,
 * actions, rewards, episode ends, values, log-probabilities) it keeps the true final
 * observation of every truncated episode, whose value the advantages bootstrap from, and the
 * action masks the actions were chosen under.
 *
 * A partly filled rollout is part of the agent's checkpoint (`getState`), so a resumed run
 * continues the same rollout.
 *
 * @example
 * const buf = new RolloutBuffer({ nSteps: 128, n: 8, obsDim: 4, action: { kind: 'discrete', n: 2 }, masks: false });
 * buf.add(step); if (buf.full) { ...; buf.reset(); }
 */
import { KairosError } from '../../core/errors.js';
import type { BufferArray, BufferState } from '../buffers/types.js';
import type { ActionKind } from './networks.js';

/** One vector step as the agent stores it. */
export interface RolloutStep {
  /** `[n × obsDim]` (normalised) observations the actions were chosen in. */
  obs: Float32Array;
  /** Discrete `[n]`; continuous `[n × dim]` (the unclipped Gaussian samples). */
  actions: Int32Array | Float32Array;
  logProbs: ArrayLike<number>;
  values: ArrayLike<number>;
  /** `[n]` (normalised) rewards. */
  rewards: ArrayLike<number>;
  terminated: ArrayLike<number>;
  truncated: ArrayLike<number>;
  /** `[n × obsDim]` (normalised) next observations; rows of truncated envs are kept. */
  nextObs: Float32Array;
  /** `[n × A]` masks of `obs`, or null. */
  masks: Uint8Array | null;
}

/** Rollout storage; see the module comment. */
export class RolloutBuffer {
  readonly nSteps: number;
  readonly n: number;
  readonly obsDim: number;
  readonly actDim: number;
  readonly numActions: number;
  readonly obs: Float32Array;
  readonly actions: Int32Array | Float32Array;
  readonly logProbs: Float64Array;
  readonly values: Float64Array;
  readonly rewards: Float64Array;
  readonly terminated: Uint8Array;
  readonly truncated: Uint8Array;
  /** Final observations of truncated episodes (other rows unused). */
  readonly finalObs: Float32Array;
  readonly masks: Uint8Array | null;
  /** `[n × obsDim]` next observations of the last stored step (the bootstrap states). */
  readonly lastNextObs: Float32Array;
  /** Vector steps stored. */
  pos = 0;

  constructor(options: { nSteps: number; n: number; obsDim: number; action: ActionKind; masks: boolean }) {
    const { nSteps, n, obsDim, action } = options;
    this.nSteps = nSteps;
    this.n = n;
    this.obsDim = obsDim;
    this.actDim = action.kind === 'discrete' ? 1 : action.dim;
    this.numActions = action.kind === 'discrete' ? action.n : 0;
    const N = nSteps * n;
    this.obs = new Float32Array(N * obsDim);
    this.actions = action.kind === 'discrete' ? new Int32Array(N) : new Float32Array(N * action.dim);
    this.logProbs = new Float64Array(N);
    this.values = new Float64Array(N);
    this.rewards = new Float64Array(N);
    this.terminated = new Uint8Array(N);
    this.truncated = new Uint8Array(N);
    this.finalObs = new Float32Array(N * obsDim);
    this.masks = options.masks && this.numActions > 0 ? new Uint8Array(N * this.numActions) : null;
    this.lastNextObs = new Float32Array(n * obsDim);
  }

  get full(): boolean {
    return this.pos === this.nSteps;
  }

  /** Entries stored (pos · n). */
  get size(): number {
    return this.pos * this.n;
  }

  add(step: RolloutStep): void {
    if (this.full) throw new KairosError('RolloutBuffer: full; train and reset first', 'buffer_full');
    const { n, obsDim: d, actDim } = this;
    const o = this.pos * n;
    this.obs.set(step.obs.subarray(0, n * d), o * d);
    this.actions.set(step.actions.subarray(0, n * actDim) as never, o * actDim);
    for (let i = 0; i < n; i++) {
      this.logProbs[o + i] = step.logProbs[i];
      this.values[o + i] = step.values[i];
      this.rewards[o + i] = step.rewards[i];
      this.terminated[o + i] = step.terminated[i] ? 1 : 0;
      const trunc = step.truncated[i] && !step.terminated[i] ? 1 : 0;
      this.truncated[o + i] = trunc;
      if (trunc) this.finalObs.set(step.nextObs.subarray(i * d, (i + 1) * d), (o + i) * d);
    }
    if (this.masks) {
      const A = this.numActions;
      if (step.masks) this.masks.set(step.masks.subarray(0, n * A), o * A);
      else this.masks.fill(1, o * A, (o + n) * A);
    }
    this.lastNextObs.set(step.nextObs.subarray(0, n * d));
    this.pos++;
  }

  reset(): void {
    this.pos = 0;
  }

  /** Snapshot of the stored part, for checkpoints. */
  getState(): BufferState {
    const N = this.size;
    const { obsDim: d, actDim } = this;
    const arrays: Record<string, BufferArray> = {
      obs: this.obs.slice(0, N * d),
      actions: this.actions.slice(0, N * actDim),
      logProbs: this.logProbs.slice(0, N),
      values: this.values.slice(0, N),
      rewards: this.rewards.slice(0, N),
      terminated: this.terminated.slice(0, N),
      truncated: this.truncated.slice(0, N),
      finalObs: this.finalObs.slice(0, N * d),
      lastNextObs: this.lastNextObs.slice(),
    };
    if (this.masks) arrays.masks = this.masks.slice(0, N * this.numActions);
    return { kind: 'pg-rollout', meta: { pos: this.pos, nSteps: this.nSteps, n: this.n, obsDim: d, actDim, masks: this.masks !== null }, arrays };
  }

  /** Restores {@link getState}; the layout must match. */
  setState(state: BufferState): void {
    const m = state.meta as { pos: number; nSteps: number; n: number; obsDim: number; actDim: number; masks: boolean };
    if (state.kind !== 'pg-rollout' || m.nSteps !== this.nSteps || m.n !== this.n || m.obsDim !== this.obsDim || m.actDim !== this.actDim || m.masks !== (this.masks !== null)) {
      throw new KairosError(`RolloutBuffer.setState: saved layout ${JSON.stringify(m)} does not match nSteps ${this.nSteps}, n ${this.n}, obsDim ${this.obsDim}, actDim ${this.actDim}`, 'invalid_state');
    }
    const a = state.arrays;
    this.obs.set(a.obs as Float32Array);
    (this.actions as Float32Array).set(a.actions as Float32Array);
    this.logProbs.set(a.logProbs as Float64Array);
    this.values.set(a.values as Float64Array);
    this.rewards.set(a.rewards as Float64Array);
    this.terminated.set(a.terminated as Uint8Array);
    this.truncated.set(a.truncated as Uint8Array);
    this.finalObs.set(a.finalObs as Float32Array);
    this.lastNextObs.set(a.lastNextObs as Float32Array);
    if (this.masks && a.masks) this.masks.set(a.masks as Uint8Array);
    this.pos = m.pos;
  }
}
