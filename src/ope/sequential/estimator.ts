/**
 * The contract every sequential (episodic) estimator implements, and the per-step quantities
 * they share.
 *
 * Notation (Jiang & Li 2016; Thomas & Brunskill 2016): episode i has steps t = 0..T_i − 1 with
 * state s_t, action a_t, reward r_t. The per-step ratio is ρ_t = π(a_t|s_t)/μ(a_t|s_t) and the
 * cumulative weight w_t = Π_{k≤t} ρ_k, with w_{−1} = 1. After its last step an episode is in
 * an absorbing state with reward 0, where every policy has ratio 1: for t ≥ T_i the weight
 * stays w_{T_i−1} and rewards, Q̂ and V̂ are 0. This is how episodes of different lengths are
 * put on a common horizon H = max_i T_i.
 *
 * A Q model gives Q̂(s_t, a) for every step and action (numSteps × K); V̂(s_t) = Σ_a π(a|s_t)
 * Q̂(s_t, a) is derived from it, so the two are always consistent.
 */
import { ValidationError } from '../../core/errors.js';
import { checkQTable, type EpisodicDataset } from '../types.js';
import { estimateFromTerms, weightStats, type Estimate, type SampleTerms, type WeightDiagnostics } from '../estimate.js';

/** Q̂(s_t, a) for every logged step and action (numSteps × K row-major), e.g. from FQE. */
export interface QModel {
  readonly qHat: Float64Array;
}

/**
 * A sequential OPE estimator. Like the bandit ones it assumes a validated dataset
 * (`episodicDataset` / `validateEpisodicDataset`).
 *
 * @example
 * weightedDr().estimate(episodes, fitFqe(episodes, { kind: 'tabular', folds: 2 })).value;
 */
export interface SequentialEstimator {
  readonly name: string;
  /** DR, WDR, MAGIC and DM need Q̂; the IS family ignores it; FQE fits its own. */
  readonly requiresQModel: boolean;
  /**
   * Per-episode terms whose weighted sums give the estimate. Absent for estimators that are
   * not a smooth function of per-episode sums (MAGIC, FQE): the bootstrap then re-runs
   * `estimate` on resampled episodes.
   */
  terms?(data: EpisodicDataset, model?: QModel): SampleTerms;
  estimate(data: EpisodicDataset, model?: QModel): Estimate;
}

/** Checks and returns the Q table an estimator needs. */
export function requireQModel(name: string, data: EpisodicDataset, model: QModel | undefined): Float64Array {
  if (!model) {
    throw new ValidationError('model', `a Q model { qHat: numSteps × K } (${name} needs one; see fitFqe)`, model, name);
  }
  return checkQTable(model.qHat, data.numSteps, data.numActions, name, 'model.qHat');
}

/** Cumulative importance weights w_t = Π_{k≤t} ρ_k within each episode (length numSteps). */
export function cumulativeWeights(data: EpisodicDataset): Float64Array {
  const k = data.numActions;
  const w = new Float64Array(data.numSteps);
  for (let e = 0; e < data.numEpisodes; e++) {
    let acc = 1;
    for (let t = data.episodeStarts[e]; t < data.episodeStarts[e + 1]; t++) {
      acc *= data.targetProbs[t * k + data.actions[t]] / data.propensities[t];
      w[t] = acc;
    }
  }
  return w;
}

/** Final trajectory weight w_{T_i−1} of each episode. */
export function trajectoryWeights(data: EpisodicDataset, cumulative = cumulativeWeights(data)): Float64Array {
  const out = new Float64Array(data.numEpisodes);
  for (let e = 0; e < data.numEpisodes; e++) out[e] = cumulative[data.episodeStarts[e + 1] - 1];
  return out;
}

/** Longest episode length H. */
export function maxEpisodeLength(data: EpisodicDataset): number {
  let h = 0;
  for (let e = 0; e < data.numEpisodes; e++) h = Math.max(h, data.episodeStarts[e + 1] - data.episodeStarts[e]);
  return h;
}

/** V̂(s_t) = Σ_a π(a|s_t) Q̂(s_t, a) for every step. */
export function stateValues(data: EpisodicDataset, qHat: Float64Array): Float64Array {
  const k = data.numActions;
  const v = new Float64Array(data.numSteps);
  for (let t = 0; t < data.numSteps; t++) {
    let s = 0;
    for (let a = 0; a < k; a++) s += data.targetProbs[t * k + a] * qHat[t * k + a];
    v[t] = s;
  }
  return v;
}

/** Discounted return Σ_t γ^t r_t of each episode. */
export function discountedReturns(data: EpisodicDataset): Float64Array {
  const g = new Float64Array(data.numEpisodes);
  for (let e = 0; e < data.numEpisodes; e++) {
    let disc = 1;
    let s = 0;
    for (let t = data.episodeStarts[e]; t < data.episodeStarts[e + 1]; t++) {
      s += disc * data.rewards[t];
      disc *= data.gamma;
    }
    g[e] = s;
  }
  return g;
}

/**
 * Episodes padded to the common horizon H (absorbing after termination), as n × H tables:
 * cumulative weights (carried forward), rewards, Q̂ of the logged action and V̂ (0 after the end).
 */
export interface PaddedEpisodes {
  readonly n: number;
  readonly horizon: number;
  readonly weights: Float64Array;
  readonly rewards: Float64Array;
  readonly qLogged: Float64Array;
  readonly vHat: Float64Array;
  /** γ^t for t = 0..H (length H + 1). */
  readonly discounts: Float64Array;
}

/** Pads episodes to the longest length; `qHat` may be omitted (then Q̂ = V̂ = 0). */
export function padEpisodes(data: EpisodicDataset, qHat?: Float64Array): PaddedEpisodes {
  const n = data.numEpisodes;
  const h = maxEpisodeLength(data);
  const k = data.numActions;
  const cw = cumulativeWeights(data);
  const v = qHat ? stateValues(data, qHat) : undefined;
  const weights = new Float64Array(n * h);
  const rewards = new Float64Array(n * h);
  const qLogged = new Float64Array(n * h);
  const vHat = new Float64Array(n * h);
  for (let e = 0; e < n; e++) {
    const s0 = data.episodeStarts[e];
    const len = data.episodeStarts[e + 1] - s0;
    for (let t = 0; t < h; t++) {
      const o = e * h + t;
      if (t < len) {
        const j = s0 + t;
        weights[o] = cw[j];
        rewards[o] = data.rewards[j];
        if (qHat) {
          qLogged[o] = qHat[j * k + data.actions[j]];
          vHat[o] = v![j];
        }
      } else {
        weights[o] = cw[s0 + len - 1]; // absorbing: ratio 1, weight carried forward
      }
    }
  }
  const discounts = new Float64Array(h + 1);
  discounts[0] = 1;
  for (let t = 1; t <= h; t++) discounts[t] = discounts[t - 1] * data.gamma;
  return { n, horizon: h, weights, rewards, qLogged, vHat, discounts };
}

/** Specification from which {@link defineSequentialEstimator} builds a term-based estimator. */
export interface SequentialEstimatorSpec {
  name: string;
  requiresQModel: boolean;
  terms(data: EpisodicDataset, qHat: Float64Array | undefined): SampleTerms;
}

/** Wraps a term-based spec into a {@link SequentialEstimator} with trajectory-weight diagnostics. */
export function defineSequentialEstimator(spec: SequentialEstimatorSpec): SequentialEstimator {
  const resolve = (data: EpisodicDataset, model?: QModel) =>
    spec.requiresQModel ? requireQModel(spec.name, data, model) : undefined;
  return {
    name: spec.name,
    requiresQModel: spec.requiresQModel,
    terms: (data, model) => spec.terms(data, resolve(data, model)),
    estimate(data, model) {
      const terms = spec.terms(data, resolve(data, model));
      return estimateFromTerms(spec.name, terms, sequentialDiagnostics(data));
    },
  };
}

/** Weight statistics of the trajectory weights w_{T_i−1}, plus the mean episode length. */
export function sequentialDiagnostics(data: EpisodicDataset): WeightDiagnostics {
  return {
    ...weightStats(trajectoryWeights(data)),
    meanEpisodeLength: data.numEpisodes ? data.numSteps / data.numEpisodes : 0,
  };
}

export type { Estimate };
