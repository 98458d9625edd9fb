/**
 * Exact dynamic programming for AdsSupply-v0 over a discretised fatigue.
 *
 * The state of AdsSupply is (page t, fatigue f, user type u); the type never changes and the
 * page only moves forward, so backward induction over t is exact once f lives on a finite
 * grid {0, h, ..., top·h}. With the env option `fatigueStep` = h > 0 the env itself rounds
 * fatigue to that grid (unbiased stochastic rounding), and the recursion below is the Bellman
 * equation of exactly that finite MDP (Puterman, "Markov Decision Processes", 1994, §4.5,
 * backward induction for finite-horizon MDPs):
 *
 *   V_t(k, u) = max_a  r̄(a, f_k) + [t + 1 < H] · Σ_j P(j | k, a, u) · (1 − ℓ(f_j)) · V_{t+1}(j, u)
 *
 * where r̄ is the expected page reward, P the stochastic rounding of δ·f_k + φ_u·a onto the grid
 * and ℓ the leave probability. The value of a session is Σ_u P(u) · V_0(0, u).
 *
 * For the continuous env (`fatigueStep` = 0) the same recursion on a fine grid (the `fatigueStep`
 * argument of the solver, default fatigueMax / 1000) is a linear-interpolation approximation
 * whose values converge as h → 0 (docs/sims.md lists them).
 *
 * Any policy of the observation can be evaluated exactly by the same recursion with the max
 * replaced by the policy's action, or by the average over its action probabilities for a
 * stochastic policy ({@link evaluateAdsSupplyPolicy}); the policy is called on the very
 * observations the env would produce in each grid state.
 *
 * @example
 * const opts = { fatigueStep: 0.25 };
 * const best = solveAdsSupply(opts);
 * const myopic = evaluateAdsSupplyPolicy(opts, adsMyopicPolicy(opts));
 * best.value > 1.5 * myopic.value; // true with the defaults
 */
import { KairosError, ValidationError } from '../../core/errors.js';
import {
  adsExpectedReward,
  adsFatigueMax,
  adsFatigueRounding,
  adsFatigueTopLevel,
  adsLeaveProbability,
  adsNextFatigue,
  adsObservation,
  resolveAdsSupplyOptions,
  type AdsSupplyOptions,
  type ResolvedAdsSupplyOptions,
} from './ads-supply.js';

/** Levels the default grid of the continuous model has (fatigueMax / 1000 per step). */
const DEFAULT_CONTINUOUS_LEVELS = 1000;
/** Largest table (pages × levels × types) the solver builds. */
const MAX_TABLE = 50_000_000;

/** Values of a policy (optimal or given) on the fatigue grid. */
export interface AdsSupplyValues {
  readonly options: ResolvedAdsSupplyOptions;
  /** The grid step h used. */
  readonly fatigueStep: number;
  /** Number of grid levels (top level + 1). */
  readonly levels: number;
  /** Expected return of a session from reset: Σ_u P(u) · V_0(0, u). */
  readonly value: number;
  /** V_0(0, u) for each user type. */
  readonly valueByType: Float64Array;
  /** V_t(k, u) at index (t · levels + k) · types + u, for t in [0, maxPages). */
  readonly values: Float64Array;
  /** The action taken in each state (the likeliest one for a stochastic policy), same indexing as `values`. */
  readonly actions: Int32Array;
}

/** The exact optimum: {@link AdsSupplyValues} plus the optimal policy. */
export interface AdsSupplySolution extends AdsSupplyValues {
  /**
   * The optimal policy as a function of the env's observation: it reads the page, the nearest
   * grid level of the fatigue and the type, and looks up `actions`.
   */
  readonly policy: (obs: Float32Array) => number;
}

/** Options of the solver. */
export interface AdsSupplyDpOptions {
  /**
   * Grid step for the continuous model (env `fatigueStep` = 0); default fatigueMax / 1000.
   * Ignored when the env options set their own `fatigueStep` (that grid is the model).
   */
  fatigueStep?: number;
}

interface Grid {
  o: ResolvedAdsSupplyOptions;
  h: number;
  levels: number;
  types: number;
  /** Leave-free continuation probability of each level, 1 − ℓ(f_j). */
  stay: Float64Array;
  weights: Float64Array;
}

function makeGrid(options: AdsSupplyOptions, dp: AdsSupplyDpOptions): Grid {
  const o = resolveAdsSupplyOptions(options);
  const fMax = adsFatigueMax(o);
  let h = o.fatigueStep;
  if (h === 0) {
    h = dp.fatigueStep ?? fMax / DEFAULT_CONTINUOUS_LEVELS;
    if (!(typeof h === 'number' && Number.isFinite(h) && h > 0)) throw new ValidationError('fatigueStep', 'a positive number', dp.fatigueStep, 'solveAdsSupply');
  }
  const levels = adsFatigueTopLevel(o, h) + 1;
  const types = o.userTypes.length;
  if (o.maxPages * levels * types > MAX_TABLE) {
    throw new KairosError(`solveAdsSupply: ${o.maxPages} pages × ${levels} fatigue levels × ${types} types exceeds ${MAX_TABLE} states; use a larger fatigueStep`, 'invalid_argument');
  }
  const stay = new Float64Array(levels);
  for (let j = 0; j < levels; j++) stay[j] = 1 - adsLeaveProbability(o, j * h);
  let total = 0;
  for (const t of o.userTypes) total += t.probability;
  const weights = Float64Array.from(o.userTypes, (t) => t.probability / total);
  return { o, h, levels, types, stay, weights };
}

/**
 * Backward induction. `choose` gives the policy's action (or action probabilities) in a state;
 * without it, the max over actions.
 */
function backward(g: Grid, choose: ((t: number, k: number, u: number) => number | ArrayLike<number>) | undefined): AdsSupplyValues {
  const { o, h, levels, types, stay } = g;
  const H = o.maxPages;
  const top = levels - 1;
  const values = new Float64Array(H * levels * types);
  const actions = new Int32Array(H * levels * types);
  // Expected continuation of each action from each level, filled per (t, u).
  for (let t = H - 1; t >= 0; t--) {
    const last = t + 1 >= H;
    for (let u = 0; u < types; u++) {
      const phi = o.userTypes[u].fatiguePerAd;
      for (let k = 0; k < levels; k++) {
        const f = k * h;
        const q = (a: number): number => {
          let v = adsExpectedReward(o, a, f);
          if (!last) {
            const { lower, up } = adsFatigueRounding(adsNextFatigue(o, f, a, phi), h, top);
            const base = ((t + 1) * levels + lower) * types + u;
            v += (1 - up) * stay[lower] * values[base];
            if (up > 0) v += up * stay[lower + 1] * values[base + types];
          }
          return v;
        };
        const i = (t * levels + k) * types + u;
        if (choose) {
          const a = choose(t, k, u);
          if (typeof a === 'number') {
            actions[i] = a;
            values[i] = q(a);
          } else {
            let v = 0;
            let likeliest = 0;
            for (let b = 0; b <= o.maxAds; b++) {
              if (a[b] > 0) v += a[b] * q(b);
              if (a[b] > a[likeliest]) likeliest = b;
            }
            actions[i] = likeliest;
            values[i] = v;
          }
        } else {
          let best = -Infinity;
          let arg = 0;
          for (let a = 0; a <= o.maxAds; a++) {
            const v = q(a);
            // Ties go to fewer ads (1e-12 absorbs rounding).
            if (v > best + 1e-12) {
              best = v;
              arg = a;
            }
          }
          actions[i] = arg;
          values[i] = best;
        }
      }
    }
  }
  const valueByType = new Float64Array(types);
  let value = 0;
  for (let u = 0; u < types; u++) {
    valueByType[u] = values[u]; // t = 0, k = 0
    value += g.weights[u] * values[u];
  }
  return { options: o, fatigueStep: h, levels, value, valueByType, values, actions };
}

/**
 * The exact optimal value and policy of AdsSupply-v0 (of the discretised model; see the
 * module comment).
 *
 * @example
 * const { value, valueByType, policy } = solveAdsSupply({ fatigueStep: 0.25 });
 */
export function solveAdsSupply(options: AdsSupplyOptions = {}, dp: AdsSupplyDpOptions = {}): AdsSupplySolution {
  const g = makeGrid(options, dp);
  const sol = backward(g, undefined);
  const { o, h, levels, types } = g;
  const fMax = adsFatigueMax(o);
  const policy = (obs: Float32Array): number => {
    const t = Math.min(o.maxPages - 1, Math.max(0, Math.round(obs[0] * o.maxPages)));
    const k = Math.min(levels - 1, Math.max(0, Math.round((obs[1] * fMax) / h)));
    let u = 0;
    for (let i = 1; i < types; i++) if (obs[2 + i] > obs[2 + u]) u = i;
    return sol.actions[(t * levels + k) * types + u];
  };
  return { ...sol, policy };
}

/**
 * A policy to evaluate: the action for an observation, or the probability of each action
 * (length maxAds + 1, summing to 1) for a stochastic policy such as a logging policy.
 */
export type AdsSupplyPolicy = (obs: Float32Array) => number | ArrayLike<number>;

/**
 * The exact value of a policy of the observation on the discretised model: the policy is
 * asked, in every grid state, what it would do given the env's observation of that state.
 * Stochastic policies (action probabilities) are averaged exactly, which makes this the
 * ground truth for off-policy estimates of a logging or target policy.
 *
 * @example
 * evaluateAdsSupplyPolicy({ fatigueStep: 0.25 }, () => 1).value; // one ad on every page
 * evaluateAdsSupplyPolicy({ fatigueStep: 0.25 }, () => new Array(6).fill(1 / 6)).value; // uniformly random
 */
export function evaluateAdsSupplyPolicy(options: AdsSupplyOptions, policy: AdsSupplyPolicy, dp: AdsSupplyDpOptions = {}): AdsSupplyValues {
  const g = makeGrid(options, dp);
  const obs = new Float32Array(2 + g.types);
  const n = g.o.maxAds + 1;
  return backward(g, (t, k, u) => {
    const a = policy(adsObservation(g.o, t, k * g.h, u, obs));
    const where = `evaluateAdsSupplyPolicy at page ${t}, fatigue ${k * g.h}, type ${u}`;
    if (typeof a === 'number') {
      if (!Number.isInteger(a) || a < 0 || a > g.o.maxAds) throw new ValidationError('policy(obs)', `an action in [0, ${g.o.maxAds}]`, a, where);
      return a;
    }
    let sum = 0;
    let ok = a !== null && typeof a === 'object' && a.length === n;
    for (let b = 0; ok && b < n; b++) {
      ok = Number.isFinite(a[b]) && a[b] >= 0;
      sum += a[b];
    }
    if (!ok || Math.abs(sum - 1) > 1e-9) throw new ValidationError('policy(obs)', `an action in [0, ${g.o.maxAds}] or ${n} probabilities summing to 1`, a, where);
    return a;
  });
}
