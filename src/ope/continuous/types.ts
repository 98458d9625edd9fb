/**
 * Logged decisions with continuous actions, for kernelized OPE.
 *
 * Row i: context x_i, action a_i ∈ R^d (d = `actionDim`, row-major n × d), reward r_i, the
 * logging policy's density at that action μ(a_i | x_i) (a generalized propensity score: a
 * density, so it may exceed 1), and the deterministic target action π(x_i) ∈ R^d, e.g. the mean
 * action of a DDPG / TD3 actor or of a SAC policy evaluated on x_i.
 *
 * Kairos's decision log stores discrete actions only (src/data/schema.ts describes how a
 * continuous column would be added): build a `ContinuousDataset` from your own arrays.
 *
 * @example
 * const data = continuousDataset({
 *   n: 2, actionDim: 1,
 *   actions: Float64Array.of(0.1, -0.3), rewards: Float64Array.of(1, 0),
 *   densities: Float64Array.of(0.39, 0.38), targetActions: Float64Array.of(0, 0),
 * });
 */
import { ValidationError } from '../../core/errors.js';

/** Logged continuous-action decisions with the target's action per row. */
export interface ContinuousDataset {
  /** Number of logged decisions. */
  readonly n: number;
  /** Action dimension d. */
  readonly actionDim: number;
  /** Logged action per row, n × d. */
  readonly actions: Float64Array;
  /** Reward per row, length n. */
  readonly rewards: Float64Array;
  /** Logging density μ(a_i | x_i) > 0 per row (w.r.t. Lebesgue measure on R^d). */
  readonly densities: Float64Array;
  /** Deterministic target action π(x_i) per row, n × d. */
  readonly targetActions: Float64Array;
  /** Context features, n × featureDim (optional; the estimators do not read them). */
  readonly features?: Float32Array;
  readonly featureDim?: number;
}

/** Model predictions for kernelized DR: q̂(x_i, a_i) and q̂(x_i, π(x_i)), each length n. */
export interface ContinuousRewardModel {
  readonly qLogged: Float64Array;
  readonly qTarget: Float64Array;
}

const CONTEXT = 'continuous dataset';

function checkFinite(arr: unknown, path: string, length: number, note: string, positive = false): void {
  if (!(arr instanceof Float64Array)) throw new ValidationError(path, `a Float64Array (${note})`, arr, CONTEXT);
  if (arr.length !== length) throw new ValidationError(`${path}.length`, `${length} (${note})`, arr.length, CONTEXT);
  for (let j = 0; j < length; j++) {
    const v = arr[j];
    if (positive ? !(v > 0 && Number.isFinite(v)) : !Number.isFinite(v)) {
      throw new ValidationError(`${path}[${j}]`, positive ? 'a finite density > 0' : 'a finite number', v, CONTEXT);
    }
  }
}

/** Validates a continuous dataset and returns it; errors name the field, index and value. */
export function continuousDataset<T extends ContinuousDataset>(data: T): T {
  if (data === null || typeof data !== 'object') throw new ValidationError('', 'a continuous dataset object', data, CONTEXT);
  const { n, actionDim: d } = data;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw new ValidationError('n', 'an integer >= 0', n, CONTEXT);
  if (typeof d !== 'number' || !Number.isInteger(d) || d < 1) throw new ValidationError('actionDim', 'an integer >= 1', d, CONTEXT);
  checkFinite(data.actions, 'actions', n * d, 'n × actionDim');
  checkFinite(data.targetActions, 'targetActions', n * d, 'n × actionDim');
  checkFinite(data.rewards, 'rewards', n, 'n');
  checkFinite(data.densities, 'densities', n, 'n', true);
  if (data.features !== undefined) {
    const f = data.featureDim;
    if (typeof f !== 'number' || !Number.isInteger(f) || f < 1) throw new ValidationError('featureDim', 'an integer >= 1 (with features)', f, CONTEXT);
    if (!(data.features instanceof Float32Array) || data.features.length !== n * f) {
      throw new ValidationError('features.length', `${n * f} (n × featureDim)`, (data.features as Float32Array | undefined)?.length, CONTEXT);
    }
  }
  return data;
}

/** Checks a kernelized-DR model against the data. */
export function checkContinuousModel(model: ContinuousRewardModel | undefined, n: number, estimator: string): ContinuousRewardModel {
  if (!model) throw new ValidationError('rewardModel', `a model { qLogged, qTarget } (${estimator} needs one)`, model, estimator);
  for (const field of ['qLogged', 'qTarget'] as const) {
    const q = model[field];
    if (!(q instanceof Float64Array)) throw new ValidationError(`rewardModel.${field}`, 'a Float64Array of length n', q, estimator);
    if (q.length !== n) throw new ValidationError(`rewardModel.${field}.length`, `${n} (n)`, q.length, estimator);
  }
  return model;
}
