/**
 * The range a policy's value can take, from the rewards a log holds: what every estimate,
 * interval and model prediction is checked against, so that a number that cannot be true is
 * never presented as a result.
 *
 * A return is Σ_{t<L} γ^t r_t over an episode of 1 ≤ L ≤ H steps with every r_t in
 * [r_min, r_max], so it lies in
 *
 *   [ r_min < 0 ? r_min·G_H : r_min,   r_max > 0 ? r_max·G_H : r_max ],   G_H = Σ_{t<H} γ^t,
 *
 * with G_H = 1/(1 − γ) for an unbounded horizon (γ < 1). H defaults to the longest logged
 * episode; a target policy whose episodes could run longer needs `horizon`. From step t of an
 * episode only H − t steps remain, which bounds Q̂(s_t, ·) more tightly ({@link stepRange}).
 * Bandit values (one reward per row) lie in [r_min, r_max].
 *
 * @example
 * const range = valueRange(data);            // { lower, upper, description }
 * clipQTable(data, model.qHat, range);       // clipped share of the table
 */
import { ValidationError } from '../core/errors.js';
import { maxEpisodeLength } from './sequential/estimator.js';
import { isEpisodic, type BanditDataset, type EpisodicDataset, type EpisodicLog } from './types.js';

/** The interval a value must lie in, and how it was derived. */
export interface ValueRange {
  lower: number;
  upper: number;
  /** e.g. `rewards in [0, 0.6] × 20 steps (γ = 1)`. */
  description: string;
  /** Reward range of the log. */
  rewardMin: number;
  rewardMax: number;
  /** Horizon the range assumes (Infinity: 1/(1 − γ)); absent for bandit data. */
  horizon?: number;
  gamma?: number;
}

function rewardBounds(rewards: ArrayLike<number>): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < rewards.length; i++) {
    const r = rewards[i];
    if (r < min) min = r;
    if (r > max) max = r;
  }
  return { min, max };
}

/** Σ_{t<h} γ^t: the most a return can weigh a per-step reward bound (h may be Infinity). */
export function discountedSteps(h: number, gamma: number): number {
  if (!Number.isFinite(h)) return 1 / (1 - gamma);
  return gamma === 1 ? h : (1 - gamma ** h) / (1 - gamma);
}

/** Range of a return of at most `steps` steps (at least one) with rewards in [min, max]. */
function returnRange(min: number, max: number, steps: number, gamma: number): [number, number] {
  const g = discountedSteps(steps, gamma);
  return [min < 0 ? min * g : min, max > 0 ? max * g : max];
}

/**
 * The achievable range of the target's value on this data. `horizon` overrides the longest
 * logged episode (use Infinity with γ < 1 for 1/(1 − γ)).
 */
export function valueRange(data: BanditDataset | EpisodicDataset, options: { horizon?: number } = {}): ValueRange {
  const { min, max } = rewardBounds(data.rewards);
  const fmt = (x: number) => String(Math.round(x * 1e6) / 1e6);
  if (!isEpisodic(data)) {
    return { lower: min, upper: max, rewardMin: min, rewardMax: max, description: `rewards in [${fmt(min)}, ${fmt(max)}]` };
  }
  const ep = data as EpisodicDataset;
  const h = options.horizon ?? maxEpisodeLength(ep);
  if (!(h >= 1)) throw new ValidationError('horizon', 'a number >= 1 (or Infinity with gamma < 1)', h, 'value range');
  if (!Number.isFinite(h) && ep.gamma >= 1) throw new ValidationError('horizon', 'a finite horizon when gamma = 1', h, 'value range');
  const [lower, upper] = returnRange(min, max, h, ep.gamma);
  const steps = Number.isFinite(h) ? `${h} steps` : `1/(1 − γ) steps`;
  return {
    lower,
    upper,
    rewardMin: min,
    rewardMax: max,
    horizon: h,
    gamma: ep.gamma,
    description: `rewards in [${fmt(min)}, ${fmt(max)}] over at most ${steps} (γ = ${ep.gamma}${options.horizon === undefined ? ', the longest logged episode' : ''})`,
  };
}

/** Whether `x` lies in the range, with a relative tolerance for rounding. */
export function inRange(x: number, range: Pick<ValueRange, 'lower' | 'upper'>): boolean {
  const tol = 1e-9 * Math.max(1, range.upper - range.lower, Math.abs(range.lower), Math.abs(range.upper));
  return x >= range.lower - tol && x <= range.upper + tol;
}

/**
 * Per-step bounds of Q̂(s_t, ·): the range of a return over the H − t steps left at step t of
 * its episode (at least one). Returns lower and upper arrays of length numSteps.
 */
export function stepRange(data: EpisodicLog, range: ValueRange): { lower: Float64Array; upper: Float64Array } {
  const lower = new Float64Array(data.numSteps);
  const upper = new Float64Array(data.numSteps);
  const h = range.horizon ?? Infinity;
  for (let e = 0; e < data.numEpisodes; e++) {
    const s0 = data.episodeStarts[e];
    for (let j = s0; j < data.episodeStarts[e + 1]; j++) {
      const left = Math.max(1, h - (j - s0));
      [lower[j], upper[j]] = returnRange(range.rewardMin, range.rewardMax, left, data.gamma);
    }
  }
  return { lower, upper };
}

/**
 * Clips a model table (rows × K: q̂ for bandits, Q̂ for episodes) in place to what the rewards
 * allow (per step for episodes, see {@link stepRange}); non-finite entries are left as they
 * are, for the checks to report. Returns the share of finite entries that were clipped.
 */
export function clipQTable(data: BanditDataset | EpisodicDataset, table: Float64Array, range: ValueRange): number {
  const k = data.numActions;
  const rows = table.length / k;
  const bounds = isEpisodic(data) ? stepRange(data as EpisodicDataset, range) : null;
  let clipped = 0;
  let finite = 0;
  for (let j = 0; j < rows; j++) {
    const lo = bounds ? bounds.lower[j] : range.lower;
    const hi = bounds ? bounds.upper[j] : range.upper;
    for (let a = 0; a < k; a++) {
      const v = table[j * k + a];
      if (!Number.isFinite(v)) continue;
      finite++;
      if (v < lo) {
        table[j * k + a] = lo;
        clipped++;
      } else if (v > hi) {
        table[j * k + a] = hi;
        clipped++;
      }
    }
  }
  return finite ? clipped / finite : 0;
}
