/**
 * The contract of slate (ranking) OPE estimators, mirroring the bandit one: a name, per-slate
 * {@link SampleTerms} (the unit resampled by a bootstrap is the slate: positions of one slate
 * are not independent) and `estimate`, their summary with weight diagnostics.
 *
 * Bootstrap intervals: `bootstrapTerms(estimator.terms(data, model), { resamples, seed })`
 * then `toInterval` (src/ope/bootstrap.ts), as for any term-based estimator.
 */
import { ValidationError } from '../../core/errors.js';
import { estimateFromTerms, weightStats, type Estimate, type SampleTerms } from '../estimate.js';
import type { SlateDataset, SlateRewardModel } from './types.js';

/**
 * A slate OPE estimator. Validate the data once with `slateDataset`; estimators only check
 * that the fields they need are present and the model's shape.
 *
 * @example
 * const est = rewardInteractionIps().estimate(slateDataset(data));
 * est.value; est.stderr; est.diagnostics.ess;
 */
export interface SlateEstimator {
  /** Name shown in reports (`sips`, `iips`, `rips`, `cascade-dr`, `sn…` variants). */
  readonly name: string;
  /** Cascade-DR needs Q̂; the IPS-type estimators ignore it. */
  readonly requiresRewardModel: boolean;
  /** Per-slate columns whose weighted sums give the estimate. */
  terms(data: SlateDataset, model?: SlateRewardModel): SampleTerms;
  estimate(data: SlateDataset, model?: SlateRewardModel): Estimate;
}

/** Specification from which {@link defineSlateEstimator} builds an estimator. */
export interface SlateEstimatorSpec {
  name: string;
  requiresRewardModel: boolean;
  terms(data: SlateDataset, qHat: Float64Array | undefined): SampleTerms;
  /** The importance weights summarised in the diagnostics. */
  weights(data: SlateDataset): Float64Array;
}

/** Checks a Cascade-DR model's n × L × K table. */
export function checkSlateQTable(model: SlateRewardModel | undefined, data: SlateDataset, estimator: string): Float64Array {
  const expected = data.n * data.slateSize * data.numItems;
  if (!model) throw new ValidationError('rewardModel', `a model { qHat: n × L × K } (${estimator} needs one)`, model, estimator);
  const q = model.qHat;
  if (!(q instanceof Float64Array)) throw new ValidationError('rewardModel.qHat', 'a Float64Array (n × L × K)', q, estimator);
  if (q.length !== expected) throw new ValidationError('rewardModel.qHat.length', `${expected} (n × L × K = ${data.n} × ${data.slateSize} × ${data.numItems})`, q.length, estimator);
  for (let j = 0; j < q.length; j++) {
    if (!Number.isFinite(q[j])) throw new ValidationError(`rewardModel.qHat[${j}]`, 'a finite number', q[j], estimator);
  }
  return q;
}

/** Wraps a spec into a {@link SlateEstimator}: checks the model, adds weight diagnostics. */
export function defineSlateEstimator(spec: SlateEstimatorSpec): SlateEstimator {
  const resolve = (data: SlateDataset, model?: SlateRewardModel) => (spec.requiresRewardModel ? checkSlateQTable(model, data, spec.name) : undefined);
  return {
    name: spec.name,
    requiresRewardModel: spec.requiresRewardModel,
    terms: (data, model) => spec.terms(data, resolve(data, model)),
    estimate(data, model) {
      const terms = spec.terms(data, resolve(data, model));
      return estimateFromTerms(spec.name, terms, { ...weightStats(spec.weights(data)), positions: data.slateSize });
    },
  };
}

/** Column sums per position turned into Σ_l (S_num,l / S_den,l): the self-normalised form. */
export function perPositionRatioTerms(n: number, num: Float64Array[], den: Float64Array[]): SampleTerms {
  const L = num.length;
  return {
    unit: 'row',
    n,
    columns: [...num, ...den],
    combine(s) {
      let v = 0;
      for (let l = 0; l < L; l++) v += s[L + l] === 0 ? 0 : s[l] / s[L + l];
      return v;
    },
  };
}
