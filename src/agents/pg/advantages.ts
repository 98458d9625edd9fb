/**
 * Returns and advantages as pure functions on plain arrays (float64), testable against
 * hand-computed values.
 *
 * - GAE(λ): Schulman et al. 2016, "High-dimensional continuous control using generalized
 *   advantage estimation", eq. 16: Â_t = Σ_l (γλ)^l δ_{t+l}, δ_t = r_t + γV(s_{t+1}) − V(s_t),
 *   computed backwards as Â_t = δ_t + γλ(1 − done_t)Â_{t+1}. Returns (value targets) are
 *   Â_t + V(s_t), the TD(λ) return, as in SB3's `RolloutBuffer.compute_returns_and_advantage`.
 * - Episode ends: a terminal step bootstraps 0; a time-limit truncation bootstraps from the
 *   value of the true final observation (Pardo et al. 2018, "Time limits in reinforcement
 *   learning"; SB3 adds γV(s_final) to the reward, which gives the same δ). Either way the
 *   recursion does not run across the episode boundary.
 * - Monte-Carlo returns for REINFORCE (Williams 1992): G_t = r_t + γG_{t+1}, G_T = 0, or
 *   V(s_final) when a truncated episode may bootstrap.
 *
 * Layout: rollouts are time-major, entry `t·n + i` is step t of env i.
 *
 * @example
 * const { advantages, returns } = computeGae({ rewards, values, terminated, truncated, truncationValues, lastValues, n: 2, gamma: 0.99, lambda: 0.95 });
 */
import { ValidationError } from '../../core/errors.js';

/** Inputs of {@link computeGae}; every per-step array has `T·n` entries, time-major. */
export interface GaeInput {
  rewards: ArrayLike<number>;
  /** V(s_t) of the observation each action was taken in. */
  values: ArrayLike<number>;
  /** 1 where step t reached a terminal state. */
  terminated: ArrayLike<number>;
  /** 1 where step t was cut by a time limit (ignored where terminated is 1). */
  truncated: ArrayLike<number>;
  /** V(true final observation) where truncated (other entries are not read); null = 0. */
  truncationValues: ArrayLike<number> | null;
  /** `[n]` V(s_T) of the observation after the last step (read only where that step did not end an episode). */
  lastValues: ArrayLike<number>;
  /** Number of envs (columns). */
  n: number;
  gamma: number;
  lambda: number;
}

/** GAE(λ) advantages and TD(λ) returns, both `T·n`, time-major. */
export function computeGae(input: GaeInput): { advantages: Float64Array; returns: Float64Array } {
  const { rewards, values, terminated, truncated, truncationValues, lastValues, n, gamma, lambda } = input;
  const N = rewards.length;
  if (N % n !== 0) throw new ValidationError('rewards.length', `a multiple of n = ${n}`, N, 'computeGae');
  for (const [name, a] of [['values', values], ['terminated', terminated], ['truncated', truncated]] as const) {
    if (a.length !== N) throw new ValidationError(`${name}.length`, `${N} (= rewards.length)`, a.length, 'computeGae');
  }
  if (lastValues.length !== n) throw new ValidationError('lastValues.length', `${n}`, lastValues.length, 'computeGae');
  const T = N / n;
  const advantages = new Float64Array(N);
  const returns = new Float64Array(N);
  const gl = gamma * lambda;
  for (let i = 0; i < n; i++) {
    let next = 0; // Â_{t+1} of this env
    for (let t = T - 1; t >= 0; t--) {
      const k = t * n + i;
      let nextValue: number;
      let ended: boolean;
      if (terminated[k]) {
        nextValue = 0;
        ended = true;
      } else if (truncated[k]) {
        nextValue = truncationValues ? truncationValues[k] : 0;
        ended = true;
      } else {
        nextValue = t === T - 1 ? lastValues[i] : values[k + n];
        ended = false;
      }
      const delta = rewards[k] + gamma * nextValue - values[k];
      next = delta + (ended ? 0 : gl * next);
      advantages[k] = next;
      returns[k] = next + values[k];
    }
  }
  return { advantages, returns };
}

/**
 * Discounted returns-to-go of consecutive episodes: `episodeStarts` has E + 1 offsets into
 * `rewards`; `bootstrap[e]` (or 0) is the value added after the last step of episode e.
 */
export function discountedReturns(rewards: ArrayLike<number>, episodeStarts: ArrayLike<number>, gamma: number, bootstrap: ArrayLike<number> | null = null): Float64Array {
  const out = new Float64Array(rewards.length);
  const E = episodeStarts.length - 1;
  for (let e = 0; e < E; e++) {
    let g = bootstrap ? bootstrap[e] : 0;
    for (let t = episodeStarts[e + 1] - 1; t >= episodeStarts[e]; t--) {
      g = rewards[t] + gamma * g;
      out[t] = g;
    }
  }
  return out;
}

/** Mean and standard deviation (unbiased, n − 1, as `torch.std`; 0 for one value). */
export function meanStd(x: ArrayLike<number>): { mean: number; std: number } {
  const n = x.length;
  if (n === 0) return { mean: Number.NaN, std: Number.NaN };
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i];
  const mean = s / n;
  if (n === 1) return { mean, std: 0 };
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (x[i] - mean) ** 2;
  return { mean, std: Math.sqrt(ss / (n - 1)) };
}

/**
 * Whitening (x − mean) / (std + eps) in place, as advantage normalisation in PPO (SB3,
 * CleanRL: eps 1e-8) and return whitening in REINFORCE. A single value is left as is (SB3
 * skips normalisation for a batch of one).
 */
export function whiten<T extends Float64Array | Float32Array>(x: T, eps = 1e-8): T {
  if (x.length < 2) return x;
  const { mean, std } = meanStd(x);
  for (let i = 0; i < x.length; i++) x[i] = (x[i] - mean) / (std + eps);
  return x;
}

/**
 * Fraction of the variance of `targets` that `predictions` explain, 1 − Var[y − ŷ] / Var[y]
 * (SB3's `explained_variance`; NaN when Var[y] = 0).
 */
export function explainedVariance(predictions: ArrayLike<number>, targets: ArrayLike<number>): number {
  const n = targets.length;
  let my = 0;
  let md = 0;
  for (let i = 0; i < n; i++) {
    my += targets[i];
    md += targets[i] - predictions[i];
  }
  my /= n;
  md /= n;
  let vy = 0;
  let vd = 0;
  for (let i = 0; i < n; i++) {
    vy += (targets[i] - my) ** 2;
    vd += (targets[i] - predictions[i] - md) ** 2;
  }
  return vy === 0 ? Number.NaN : 1 - vd / vy;
}
