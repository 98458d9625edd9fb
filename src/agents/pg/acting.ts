/**
 * Acting for the policy-gradient agents, on plain numbers (an {@link MlpSnapshot} of the
 * current weights): sample (or take the mode of) the policy's distribution for a batch of
 * observations, with log-probabilities and, when there is a value network, V(s).
 *
 * Continuous actions: the Gaussian sample is kept unclipped for the log-probability and the
 * update, and clipped to the action space's bounds for the env (SB3's `PPO.collect_rollouts`;
 * CleanRL's `ClipAction` wrapper).
 *
 * @example
 * const out = actFromSnapshot(snap, { kind: 'discrete', n: 2 }, null, obs, n, masks, rng, false);
 */
import type { Rng } from '../../core/rng.js';
import { categoricalLogProbRow, gaussianLogProbRow, sampleCategoricalRow, softmaxRow } from './distributions.js';
import type { ActionKind, MlpSnapshot } from './networks.js';

/** Weights for acting. */
export interface PolicySnapshot {
  policy: MlpSnapshot;
  value: MlpSnapshot | null;
  logStd: Float64Array | null;
}

/** What {@link actFromSnapshot} returns (fresh arrays). */
export interface ActOutput {
  /** Actions for the env: integers, or samples clipped to the bounds. */
  envActions: Int32Array | Float32Array;
  /** Actions for the update: integers, or the unclipped samples. */
  rawActions: Int32Array | Float32Array;
  /** log π(raw action | s). */
  logProbs: Float64Array;
  /** V(s), or null without a value network. */
  values: Float64Array | null;
}

/** Action-space bounds for clipping continuous actions (null entries = unbounded). */
export interface ActionBounds {
  low: Float64Array;
  high: Float64Array;
}

/** Samples actions for `n` (normalised) observations; see the module comment. */
export function actFromSnapshot(
  snap: PolicySnapshot,
  action: ActionKind,
  bounds: ActionBounds | null,
  obs: Float32Array,
  n: number,
  masks: Uint8Array | null,
  rng: Rng,
  deterministic: boolean,
): ActOutput {
  const out = snap.policy.forward(obs, n);
  const logProbs = new Float64Array(n);
  let envActions: Int32Array | Float32Array;
  let rawActions: Int32Array | Float32Array;
  if (action.kind === 'discrete') {
    const A = action.n;
    const acts = new Int32Array(n);
    const scratch = new Float64Array(A);
    for (let i = 0; i < n; i++) {
      // The mask row is read at the same offset as the logits row.
      const r = sampleCategoricalRow(out, i * A, A, masks, rng, deterministic, scratch);
      acts[i] = r.action;
      logProbs[i] = r.logProb;
    }
    envActions = acts;
    rawActions = acts;
  } else {
    const D = action.dim;
    const logStd = snap.logStd as Float64Array;
    const raw = new Float32Array(n * D);
    const env = new Float32Array(n * D);
    for (let i = 0; i < n; i++) {
      for (let d = 0; d < D; d++) {
        const mu = out[i * D + d];
        raw[i * D + d] = deterministic ? mu : mu + Math.exp(logStd[d]) * rng.normal();
      }
      logProbs[i] = gaussianLogProbRow(raw, out, i * D, logStd, D);
      for (let d = 0; d < D; d++) {
        let a = raw[i * D + d];
        if (bounds) {
          const lo = bounds.low[d];
          const hi = bounds.high[d];
          if (a < lo) a = lo;
          else if (a > hi) a = hi;
        }
        env[i * D + d] = a;
      }
    }
    envActions = env;
    rawActions = raw;
  }
  const values = snap.value ? Float64Array.from(snap.value.forward(obs, n).subarray(0, n)) : null;
  return { envActions, rawActions, logProbs, values };
}

/** log π(a|s) of given actions (discrete integers, or continuous rows) for `n` observations. */
export function logProbsFromSnapshot(snap: PolicySnapshot, action: ActionKind, obs: Float32Array, n: number, masks: Uint8Array | null, actions: Int32Array | Float32Array): Float64Array {
  const out = snap.policy.forward(obs, n);
  const logProbs = new Float64Array(n);
  if (action.kind === 'discrete') {
    const A = action.n;
    for (let i = 0; i < n; i++) {
      logProbs[i] = categoricalLogProbRow(out, i * A, A, masks, actions[i]);
    }
  } else {
    const D = action.dim;
    for (let i = 0; i < n; i++) logProbs[i] = gaussianLogProbRow(actions, out, i * D, snap.logStd as Float64Array, D);
  }
  return logProbs;
}

/** Probabilities of every action `[n × A]` (discrete policies), greedy one-hot when `deterministic`. */
export function actionProbsFromSnapshot(snap: PolicySnapshot, A: number, obs: Float32Array, n: number, masks: Uint8Array | null, deterministic: boolean): Float64Array {
  const out = snap.policy.forward(obs, n);
  const probs = new Float64Array(n * A);
  const row = new Float64Array(A);
  for (let i = 0; i < n; i++) {
    const m = masks ? masks.subarray(i * A, (i + 1) * A) : null;
    if (deterministic) {
      let best = -1;
      for (let a = 0; a < A; a++) if ((!m || m[a]) && (best < 0 || out[i * A + a] > out[i * A + best])) best = a;
      probs[i * A + Math.max(0, best)] = 1;
    } else {
      softmaxRow(out.subarray(i * A, (i + 1) * A), 0, A, m, row);
      probs.set(row, i * A);
    }
  }
  return probs;
}
