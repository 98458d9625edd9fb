/**
 * Action selection from Q-values with the probability of each choice, for a batch of `n`
 * rows of `A` values and optional 0/1 masks. Pure functions over typed arrays.
 *
 * - ε-greedy: with probability ε a uniformly random allowed action, else the greedy one
 *   (lowest index among ties). P(a) = ε/k + (1 − ε)·[a = greedy] with k allowed actions.
 * - softmax (Boltzmann) with temperature T over allowed actions: P(a) ∝ exp(Q(a)/T).
 *
 * @example
 * selectEpsilonGreedy(q, 1, 4, null, 0.1, rng, actions, probs); // actions[0], probs[0]
 */
import { KairosError } from '../../core/errors.js';
import type { Rng } from '../../core/rng.js';

function allowedCount(masks: Uint8Array | null, row: number, A: number): number {
  if (!masks) return A;
  let k = 0;
  for (let a = 0; a < A; a++) if (masks[row * A + a]) k++;
  if (k === 0) throw new KairosError(`action mask of env ${row} allows no action`, 'invalid_mask');
  return k;
}

/** Greedy allowed action of row `row` (lowest index among ties). */
export function greedyAction(q: ArrayLike<number>, masks: Uint8Array | null, row: number, A: number): number {
  let best = -1;
  let bestQ = -Infinity;
  for (let a = 0; a < A; a++) {
    if (masks && !masks[row * A + a]) continue;
    const v = q[row * A + a];
    if (best < 0 || v > bestQ) {
      best = a;
      bestQ = v;
    }
  }
  if (best < 0) throw new KairosError(`action mask of env ${row} allows no action`, 'invalid_mask');
  return best;
}

/** The `j`-th allowed action of row `row`. */
function nthAllowed(masks: Uint8Array | null, row: number, A: number, j: number): number {
  if (!masks) return j;
  for (let a = 0; a < A; a++) if (masks[row * A + a] && j-- === 0) return a;
  throw new KairosError(`action mask of env ${row} allows no action`, 'invalid_mask');
}

/** ε-greedy choice for every row; fills `actions` and `probs`. `q` may be null when ε = 1. */
export function selectEpsilonGreedy(
  q: ArrayLike<number> | null,
  n: number,
  A: number,
  masks: Uint8Array | null,
  epsilon: number,
  rng: Rng,
  actions: Int32Array,
  probs: Float64Array,
): void {
  for (let i = 0; i < n; i++) {
    const k = allowedCount(masks, i, A);
    const greedy = q ? greedyAction(q, masks, i, A) : -1;
    const a = epsilon > 0 && (epsilon >= 1 || rng.random() < epsilon) ? nthAllowed(masks, i, A, rng.int(k)) : greedy;
    actions[i] = a;
    probs[i] = epsilon / k + (a === greedy ? 1 - epsilon : 0);
  }
}

/** Boltzmann choice with temperature `temperature` > 0 for every row. */
export function selectSoftmax(
  q: ArrayLike<number>,
  n: number,
  A: number,
  masks: Uint8Array | null,
  temperature: number,
  rng: Rng,
  actions: Int32Array,
  probs: Float64Array,
): void {
  if (!(temperature > 0)) throw new KairosError(`temperature: expected a positive number, received ${temperature}`, 'invalid_config');
  for (let i = 0; i < n; i++) {
    allowedCount(masks, i, A);
    let max = -Infinity;
    for (let a = 0; a < A; a++) if (!masks || masks[i * A + a]) max = Math.max(max, q[i * A + a]);
    let z = 0;
    for (let a = 0; a < A; a++) if (!masks || masks[i * A + a]) z += Math.exp((q[i * A + a] - max) / temperature);
    let u = rng.random() * z;
    let chosen = -1;
    for (let a = 0; a < A; a++) {
      if (masks && !masks[i * A + a]) continue;
      chosen = a;
      u -= Math.exp((q[i * A + a] - max) / temperature);
      if (u < 0) break;
    }
    actions[i] = chosen;
    probs[i] = Math.exp((q[i * A + chosen] - max) / temperature) / z;
  }
}

/** Probabilities of every action under ε-greedy (`[n × A]`), for off-policy evaluation. */
export function epsilonGreedyProbabilities(q: ArrayLike<number>, n: number, A: number, masks: Uint8Array | null, epsilon: number): Float64Array {
  const out = new Float64Array(n * A);
  for (let i = 0; i < n; i++) {
    const k = allowedCount(masks, i, A);
    const g = greedyAction(q, masks, i, A);
    for (let a = 0; a < A; a++) if (!masks || masks[i * A + a]) out[i * A + a] = epsilon / k + (a === g ? 1 - epsilon : 0);
  }
  return out;
}

/** Probabilities of every action under softmax with `temperature` (`[n × A]`). */
export function softmaxProbabilities(q: ArrayLike<number>, n: number, A: number, masks: Uint8Array | null, temperature: number): Float64Array {
  const out = new Float64Array(n * A);
  for (let i = 0; i < n; i++) {
    allowedCount(masks, i, A);
    let max = -Infinity;
    for (let a = 0; a < A; a++) if (!masks || masks[i * A + a]) max = Math.max(max, q[i * A + a]);
    let z = 0;
    for (let a = 0; a < A; a++) if (!masks || masks[i * A + a]) z += out[i * A + a] = Math.exp((q[i * A + a] - max) / temperature);
    for (let a = 0; a < A; a++) out[i * A + a] /= z;
  }
  return out;
}
