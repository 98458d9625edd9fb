/**
 * Logged slates (ranked lists) for off-policy evaluation, in flat typed arrays.
 *
 * Row i is one slate of L positions shown for context x_i: the items a_i(1..L) and the reward
 * observed at each position r_i(l) (a click, a watch time). The value of a policy is the
 * expected sum of the per-position rewards, E_π[Σ_l r(l)] (OBP's slate convention; scale the
 * rewards beforehand for position-discounted metrics such as DCG).
 *
 * Which probabilities an estimator needs (all n × L row-major, entry i·L + l):
 * - `behaviorConditional` / `targetConditional`: π(a_i(l) | x_i, a_i(1..l−1)), the probability
 *   of the logged item at position l given the logged items above it (a Plackett-Luce or
 *   pointer-network step). Their products over positions 1..l are OBP's `pscore_cascade`; over
 *   all L positions, the probability of the whole slate. Used by SIPS, RIPS and Cascade-DR.
 * - `behaviorMarginal` / `targetMarginal`: P(item a_i(l) at position l | x_i), summed over
 *   everything else in the slate (OBP's `pscore_item_position`). Used by IIPS.
 * - `targetDistribution` (n × L × K): π(a | x_i, a_i(1..l−1)) for every item a, the target's
 *   whole distribution at position l after the logged prefix. Used by Cascade-DR.
 *
 * Kairos's decision log (src/data/schema.ts) has no slates: build a `SlateDataset` from your
 * own arrays, and `slateTargetProbabilities` (policy.ts) fills the target fields from a
 * `SlatePolicy`.
 *
 * @example
 * const data = slateDataset({
 *   n: 1, slateSize: 2, numItems: 3,
 *   items: Int32Array.of(2, 0), rewards: Float64Array.of(1, 0),
 *   behaviorConditional: Float64Array.of(0.5, 0.5), targetConditional: Float64Array.of(0.8, 0.25),
 * });
 */
import { ValidationError } from '../../core/errors.js';
import { PROB_SUM_TOLERANCE } from '../types.js';

/** Logged slates with the probabilities the slate estimators use. */
export interface SlateDataset {
  /** Number of logged slates (rows). */
  readonly n: number;
  /** Positions per slate, L. */
  readonly slateSize: number;
  /** Number of distinct items K; items are 0..K−1. */
  readonly numItems: number;
  /** Logged item per row and position, n × L. */
  readonly items: Int32Array;
  /** Reward per row and position, n × L. */
  readonly rewards: Float64Array;
  /** μ(a(l) | x, a(1..l−1)) of the logged items, n × L, in (0, 1]. */
  readonly behaviorConditional?: Float64Array;
  /** π(a(l) | x, a(1..l−1)) of the logged items, n × L, in [0, 1]. */
  readonly targetConditional?: Float64Array;
  /** μ(item a(l) at position l | x), n × L, in (0, 1]. */
  readonly behaviorMarginal?: Float64Array;
  /** π(item a(l) at position l | x), n × L, in [0, 1]. */
  readonly targetMarginal?: Float64Array;
  /** π(a | x, a(1..l−1)) for every item a, n × L × K; each (i, l) row sums to 1. */
  readonly targetDistribution?: Float64Array;
}

/** Q̂ for Cascade-DR: qHat[(i·L + l)·K + a] = Q̂_l(x_i, a_i(1..l−1), a), n × L × K. */
export interface SlateRewardModel {
  readonly qHat: Float64Array;
}

const CONTEXT = 'slate dataset';

function checkCount(value: unknown, path: string, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) throw new ValidationError(path, `an integer >= ${min}`, value, CONTEXT);
  return value;
}

function checkLength(value: unknown, type: { name: string; new (n: number): ArrayLike<number> }, path: string, length: number, note: string): void {
  if (!(value instanceof type)) throw new ValidationError(path, `a ${type.name} (${note})`, value, CONTEXT);
  if ((value as ArrayLike<number>).length !== length) throw new ValidationError(`${path}.length`, `${length} (${note})`, (value as ArrayLike<number>).length, CONTEXT);
}

function checkProbs(p: Float64Array, path: string, L: number, positive: boolean): void {
  for (let j = 0; j < p.length; j++) {
    const v = p[j];
    const ok = positive ? v > 0 && v <= 1 : v >= 0 && v <= 1;
    if (!ok) throw new ValidationError(`${path}[${Math.floor(j / L)}][${j % L}]`, positive ? 'a probability in (0, 1]' : 'a probability in [0, 1]', v, CONTEXT);
  }
}

/**
 * Validates a slate dataset and returns it: lengths, item ids, finite rewards, probabilities
 * in range (behaviour ones positive), `targetDistribution` rows summing to 1 and agreeing with
 * `targetConditional` on the logged item. Errors name the field, row and position.
 */
export function slateDataset<T extends SlateDataset>(data: T): T {
  if (data === null || typeof data !== 'object') throw new ValidationError('', 'a slate dataset object', data, CONTEXT);
  const n = checkCount(data.n, 'n', 0);
  const L = checkCount(data.slateSize, 'slateSize', 1);
  const K = checkCount(data.numItems, 'numItems', 1);
  const nl = n * L;
  checkLength(data.items, Int32Array, 'items', nl, 'n × slateSize');
  checkLength(data.rewards, Float64Array, 'rewards', nl, 'n × slateSize');
  for (let j = 0; j < nl; j++) {
    const a = data.items[j];
    if (!(a >= 0 && a < K)) throw new ValidationError(`items[${Math.floor(j / L)}][${j % L}]`, `an item in [0, ${K})`, a, CONTEXT);
    if (!Number.isFinite(data.rewards[j])) throw new ValidationError(`rewards[${Math.floor(j / L)}][${j % L}]`, 'a finite number', data.rewards[j], CONTEXT);
  }
  const fields = [
    ['behaviorConditional', true],
    ['targetConditional', false],
    ['behaviorMarginal', true],
    ['targetMarginal', false],
  ] as const;
  for (const [field, positive] of fields) {
    const p = data[field];
    if (p === undefined) continue;
    checkLength(p, Float64Array, field, nl, 'n × slateSize');
    checkProbs(p, field, L, positive);
  }
  const dist = data.targetDistribution;
  if (dist !== undefined) {
    checkLength(dist, Float64Array, 'targetDistribution', nl * K, 'n × slateSize × numItems');
    for (let j = 0; j < nl; j++) {
      let sum = 0;
      for (let a = 0; a < K; a++) {
        const v = dist[j * K + a];
        if (!(v >= 0 && v <= 1)) throw new ValidationError(`targetDistribution[${Math.floor(j / L)}][${j % L}][${a}]`, 'a probability in [0, 1]', v, CONTEXT);
        sum += v;
      }
      if (Math.abs(sum - 1) > PROB_SUM_TOLERANCE) {
        throw new ValidationError(`targetDistribution[${Math.floor(j / L)}][${j % L}]`, `${K} probabilities summing to 1 ± ${PROB_SUM_TOLERANCE}`, sum, CONTEXT);
      }
      const tc = data.targetConditional;
      if (tc && Math.abs(tc[j] - dist[j * K + data.items[j]]) > PROB_SUM_TOLERANCE) {
        throw new ValidationError(
          `targetConditional[${Math.floor(j / L)}][${j % L}]`,
          `targetDistribution at the logged item (${dist[j * K + data.items[j]]})`,
          tc[j],
          CONTEXT,
        );
      }
    }
  }
  return data;
}

/** Throws unless `data[field]` is present (estimators call it for the fields they need). */
export function requireSlateField<K extends keyof SlateDataset>(data: SlateDataset, field: K, estimator: string, what: string): NonNullable<SlateDataset[K]> {
  const v = data[field];
  if (v === undefined || v === null) throw new ValidationError(field, `${what} (${estimator} needs it)`, v, estimator);
  return v as NonNullable<SlateDataset[K]>;
}

/**
 * Prefix (cascade) weights w_i(1..l) = Π_{l' ≤ l} π(a(l')|·) / μ(a(l')|·), n × L: RIPS's
 * per-position weight; entry L − 1 is the whole-slate weight of SIPS.
 */
export function cascadeWeights(data: SlateDataset, estimator = 'slate estimator'): Float64Array {
  const t = requireSlateField(data, 'targetConditional', estimator, 'n × L target conditional probabilities');
  const b = requireSlateField(data, 'behaviorConditional', estimator, 'n × L behaviour conditional probabilities');
  const L = data.slateSize;
  const w = new Float64Array(data.n * L);
  for (let i = 0; i < data.n; i++) {
    let acc = 1;
    for (let l = 0; l < L; l++) {
      const j = i * L + l;
      acc *= t[j] / b[j];
      w[j] = acc;
    }
  }
  return w;
}

/** Per-position marginal weights π(a(l) at l | x) / μ(a(l) at l | x), n × L (IIPS). */
export function marginalSlateWeights(data: SlateDataset, estimator = 'slate estimator'): Float64Array {
  const t = requireSlateField(data, 'targetMarginal', estimator, 'n × L target marginal probabilities');
  const b = requireSlateField(data, 'behaviorMarginal', estimator, 'n × L behaviour marginal probabilities');
  const w = new Float64Array(t.length);
  for (let j = 0; j < w.length; j++) w[j] = t[j] / b[j];
  return w;
}

/** Whole-slate weights Π_l π(a(l)|·)/μ(a(l)|·), length n (SIPS). */
export function slateWeights(data: SlateDataset, estimator = 'slate estimator'): Float64Array {
  const c = cascadeWeights(data, estimator);
  const L = data.slateSize;
  const w = new Float64Array(data.n);
  for (let i = 0; i < data.n; i++) w[i] = c[i * L + L - 1];
  return w;
}
