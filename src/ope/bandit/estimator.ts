/**
 * The contract every bandit estimator implements, and the per-row quantities they share.
 *
 * Notation (Dudík, Langford & Li 2011): row i has context x_i, logged action a_i, reward r_i,
 * behaviour propensity μ(a_i|x_i) and target probabilities π(·|x_i). The importance weight is
 * w_i = π(a_i|x_i)/μ(a_i|x_i); a reward model gives q̂(x_i, a) for every action, and
 * q̂(x_i, π) = Σ_a π(a|x_i) q̂(x_i, a) is its prediction of the target's reward on row i.
 */
import { ValidationError } from '../../core/errors.js';
import { checkQTable, type BanditDataset } from '../types.js';
import { estimateFromTerms, weightStats, type Estimate, type SampleTerms, type WeightDiagnostics } from '../estimate.js';

/** Reward-model predictions q̂(x_i, a) for every row and action (n × K row-major). */
export interface RewardModel {
  readonly qHat: Float64Array;
}

/**
 * A bandit OPE estimator. `estimate` is `terms` summarised; the bootstrap uses `terms`.
 * Estimators do not re-validate the data on every call (10 M rows): validate once with
 * `banditDataset` / `validateBanditDataset`.
 *
 * @example
 * const est = doublyRobust().estimate(data, fitRewardModel(data, { folds: 2 }));
 * est.value; est.stderr; est.diagnostics.ess;
 */
export interface BanditEstimator {
  /** Name shown in reports, including its hyperparameters. */
  readonly name: string;
  /** DM and every DR variant need q̂; IPS-type estimators ignore it. */
  readonly requiresRewardModel: boolean;
  /** Per-row terms whose weighted sums give the estimate (see {@link SampleTerms}). */
  terms(data: BanditDataset, rewardModel?: RewardModel): SampleTerms;
  estimate(data: BanditDataset, rewardModel?: RewardModel): Estimate;
}

/** Specification from which {@link defineBanditEstimator} builds an estimator. */
export interface BanditEstimatorSpec {
  name: string;
  requiresRewardModel: boolean;
  terms(data: BanditDataset, qHat: Float64Array | undefined): SampleTerms;
  /** Extra diagnostics beyond the weight statistics. */
  extraDiagnostics?(data: BanditDataset, weights: Float64Array): Record<string, number>;
}

/** Wraps a spec into a {@link BanditEstimator}: checks the reward model, adds diagnostics. */
export function defineBanditEstimator(spec: BanditEstimatorSpec): BanditEstimator {
  const resolve = (data: BanditDataset, rewardModel?: RewardModel): Float64Array | undefined => {
    if (!spec.requiresRewardModel) return undefined;
    if (!rewardModel) {
      throw new ValidationError(
        'rewardModel',
        `a reward model { qHat: n × K } (${spec.name} needs one; see fitRewardModel)`,
        rewardModel,
        spec.name,
      );
    }
    return checkQTable(rewardModel.qHat, data.n, data.numActions, spec.name, 'rewardModel.qHat');
  };
  return {
    name: spec.name,
    requiresRewardModel: spec.requiresRewardModel,
    terms: (data, rewardModel) => spec.terms(data, resolve(data, rewardModel)),
    estimate(data, rewardModel) {
      const terms = spec.terms(data, resolve(data, rewardModel));
      const weights = loggedWeights(data);
      const diagnostics: WeightDiagnostics = { ...weightStats(weights), ...spec.extraDiagnostics?.(data, weights) };
      return estimateFromTerms(spec.name, terms, diagnostics);
    },
  };
}

/** w_i = π(a_i|x_i) / μ(a_i|x_i) for every row. */
export function loggedWeights(data: BanditDataset): Float64Array {
  const k = data.numActions;
  const w = new Float64Array(data.n);
  for (let i = 0; i < data.n; i++) w[i] = data.targetProbs[i * k + data.actions[i]] / data.propensities[i];
  return w;
}

/** q̂(x_i, π) = Σ_a π(a|x_i) q̂(x_i, a): the model's value of the target on row i. */
export function modelValue(data: BanditDataset, qHat: Float64Array, i: number): number {
  const k = data.numActions;
  let v = 0;
  for (let a = 0, o = i * k; a < k; a++, o++) v += data.targetProbs[o] * qHat[o];
  return v;
}
