/**
 * Reward models q̂(x, a) ≈ E[r | x, a] fitted from the log, with K-fold cross-fitting.
 *
 * - `ridge`: ridge regression of r on [features ⊗ one-hot(action)] with a per-action
 *   intercept, i.e. one linear model per action. The design's Gram matrix is block-diagonal
 *   (a row only touches its own action's block), so the fit is one (d+1)×(d+1) Cholesky solve
 *   per action and fold, after a single pass over the data accumulating XᵀX and Xᵀy. The
 *   intercepts are not penalised.
 * - `tabular`: the mean reward of each (context, action), where the context is the row's
 *   feature vector taken as a discrete id (e.g. d = 1 with integer ids); `lambda` shrinks each
 *   cell towards its action's mean (λ pseudo-counts). Unseen cells get the action's mean.
 *
 * Cross-fitting (Chernozhukov et al. 2018, "Double/debiased machine learning"; for OPE,
 * Narita, Yasui & Yata 2021): rows are split into `folds` balanced random folds, and row i's
 * q̂ comes from the model fitted on the other folds. DR-type estimators are then unbiased
 * given the model, because the model never saw the row it corrects. `folds: 1` fits one
 * model on every row (no cross-fitting).
 *
 * @example
 * const model = fitRewardModel(data, { kind: 'ridge', lambda: 1, folds: 2, seed: 0 });
 * doublyRobust().estimate(data, model);
 */
import { z } from 'zod';
import { parseWith, ValidationError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { contextIds, validateBanditLog, type BanditLog } from '../types.js';
import { choleskySolve, ridgeFactor } from '../linalg.js';
import type { RewardModel } from './estimator.js';

export const RewardModelOptions = z.object({
  /** `ridge` (linear per action on the features) or `tabular` (mean per context id and action). */
  kind: z.enum(['ridge', 'tabular']).default('ridge'),
  /** Ridge penalty (ridge) or pseudo-counts towards the action mean (tabular). */
  lambda: z.number().min(0).default(1),
  /** Number of cross-fitting folds; 1 = no cross-fitting. */
  folds: z.number().int().min(1).max(255).default(2),
  /** Seed of the random fold assignment. */
  seed: z.number().int().min(0).default(0),
});
export type RewardModelOptions = z.input<typeof RewardModelOptions>;

/** A fitted, cross-fitted reward model: predictions for the rows it was fitted on. */
export interface FittedRewardModel extends RewardModel {
  readonly kind: 'ridge' | 'tabular';
  readonly folds: number;
  readonly lambda: number;
  /** Fold of each row; row i's q̂ comes from the model fitted without fold foldOf[i]. */
  readonly foldOf: Uint8Array;
  /**
   * Ridge only: coefficients per fold's model, folds × K × (d + 1) (the last entry of each
   * action block is the intercept). With folds = 1 this is the model fitted on every row.
   */
  readonly coefficients?: Float64Array;
}

/** Balanced random fold assignment: a seeded shuffle, then fold = position mod F. */
export function assignFolds(n: number, folds: number, seed: number): Uint8Array {
  const foldOf = new Uint8Array(n);
  if (folds === 1) return foldOf;
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  new Rng(seed).shuffle(perm);
  for (let j = 0; j < n; j++) foldOf[perm[j]] = j % folds;
  return foldOf;
}

/**
 * Fits q̂ on a bandit log and returns the cross-fitted predictions for every row and action.
 * See the module comment for the two kinds.
 */
export function fitRewardModel(log: BanditLog, options: RewardModelOptions = {}): FittedRewardModel {
  const opts = parseWith(RewardModelOptions, options, 'fitRewardModel');
  validateBanditLog(log);
  if (opts.folds > 1 && log.n < opts.folds) {
    throw new ValidationError('folds', `at most n = ${log.n} folds`, opts.folds, 'fitRewardModel');
  }
  const foldOf = assignFolds(log.n, opts.folds, opts.seed);
  return opts.kind === 'ridge' ? fitRidge(log, opts.lambda, opts.folds, foldOf) : fitTabular(log, opts.lambda, opts.folds, foldOf);
}

function fitRidge(log: BanditLog, lambda: number, folds: number, foldOf: Uint8Array): FittedRewardModel {
  const { n, numActions: k, actions, rewards } = log;
  const d = log.features ? (log.featureDim ?? 0) : 0;
  const x = log.features;
  const p = d + 1; // features then the intercept
  const blk = p * p;
  // Per (fold, action): XᵀX (p × p, upper triangle accumulated), Xᵀy, count, Σy.
  const gram = new Float64Array(folds * k * blk);
  const xty = new Float64Array(folds * k * p);
  const count = new Float64Array(folds * k);
  const sumY = new Float64Array(folds * k);
  const phi = new Float64Array(p);
  phi[d] = 1;
  for (let i = 0; i < n; i++) {
    const fa = foldOf[i] * k + actions[i];
    const y = rewards[i];
    for (let j = 0; j < d; j++) phi[j] = x![i * d + j];
    const g = fa * blk;
    for (let r = 0; r < p; r++) {
      const pr = phi[r];
      xty[fa * p + r] += pr * y;
      for (let c = r; c < p; c++) gram[g + r * p + c] += pr * phi[c];
    }
    count[fa] += 1;
    sumY[fa] += y;
  }
  const penalty = new Float64Array(p).fill(1);
  penalty[d] = 0;
  const coefficients = new Float64Array(folds * k * p);
  const g = new Float64Array(blk);
  const b = new Float64Array(p);
  const theta = new Float64Array(p);
  for (let f = 0; f < folds; f++) {
    // Training set of fold f's model: every other fold (all rows when folds = 1).
    let totalCount = 0;
    let totalY = 0;
    for (let h = 0; h < folds; h++) {
      if (folds > 1 && h === f) continue;
      for (let a = 0; a < k; a++) {
        totalCount += count[h * k + a];
        totalY += sumY[h * k + a];
      }
    }
    const globalMean = totalCount > 0 ? totalY / totalCount : 0;
    for (let a = 0; a < k; a++) {
      g.fill(0);
      b.fill(0);
      let cnt = 0;
      for (let h = 0; h < folds; h++) {
        if (folds > 1 && h === f) continue;
        const fa = h * k + a;
        cnt += count[fa];
        for (let r = 0; r < p; r++) {
          b[r] += xty[fa * p + r];
          for (let c = r; c < p; c++) g[r * p + c] += gram[fa * blk + r * p + c];
        }
      }
      const out = coefficients.subarray((f * k + a) * p, (f * k + a + 1) * p);
      if (cnt === 0) {
        // No training row took this action: predict the training rows' mean reward.
        out[d] = globalMean;
        continue;
      }
      for (let r = 0; r < p; r++) for (let c = r + 1; c < p; c++) g[c * p + r] = g[r * p + c];
      choleskySolve(ridgeFactor(g, p, lambda, penalty), p, b, theta);
      out.set(theta);
    }
  }
  const qHat = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    const base = (folds > 1 ? foldOf[i] : 0) * k * p;
    for (let a = 0; a < k; a++) {
      const o = base + a * p;
      let v = coefficients[o + d];
      for (let j = 0; j < d; j++) v += coefficients[o + j] * x![i * d + j];
      qHat[i * k + a] = v;
    }
  }
  return { kind: 'ridge', folds, lambda, foldOf, qHat, coefficients };
}

function fitTabular(log: BanditLog, lambda: number, folds: number, foldOf: Uint8Array): FittedRewardModel {
  const { n, numActions: k, actions, rewards } = log;
  const { ids, count: m } = contextIds(n, log.features, log.featureDim ?? 0);
  // Per fold: Σr and counts per (context, action); per fold and action: Σr and counts.
  const sum = new Float64Array(folds * m * k);
  const cnt = new Float64Array(folds * m * k);
  for (let i = 0; i < n; i++) {
    const o = (foldOf[i] * m + ids[i]) * k + actions[i];
    sum[o] += rewards[i];
    cnt[o] += 1;
  }
  // Totals over folds, so a fold's training statistics are total − fold.
  const sumAll = new Float64Array(m * k);
  const cntAll = new Float64Array(m * k);
  const actSum = new Float64Array(folds * k);
  const actCnt = new Float64Array(folds * k);
  for (let f = 0; f < folds; f++) {
    for (let c = 0; c < m; c++) {
      for (let a = 0; a < k; a++) {
        const o = (f * m + c) * k + a;
        sumAll[c * k + a] += sum[o];
        cntAll[c * k + a] += cnt[o];
        actSum[f * k + a] += sum[o];
        actCnt[f * k + a] += cnt[o];
      }
    }
  }
  // Training-set action means and global mean, per fold.
  const actMean = new Float64Array(folds * k);
  for (let f = 0; f < folds; f++) {
    let ts = 0;
    let tc = 0;
    const trainSum = new Float64Array(k);
    const trainCnt = new Float64Array(k);
    for (let h = 0; h < folds; h++) {
      if (folds > 1 && h === f) continue;
      for (let a = 0; a < k; a++) {
        trainSum[a] += actSum[h * k + a];
        trainCnt[a] += actCnt[h * k + a];
      }
    }
    for (let a = 0; a < k; a++) {
      ts += trainSum[a];
      tc += trainCnt[a];
    }
    const globalMean = tc > 0 ? ts / tc : 0;
    for (let a = 0; a < k; a++) actMean[f * k + a] = trainCnt[a] > 0 ? trainSum[a] / trainCnt[a] : globalMean;
  }
  const qHat = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    const f = foldOf[i];
    for (let a = 0; a < k; a++) {
      const cell = ids[i] * k + a;
      const own = (f * m + ids[i]) * k + a;
      const s = folds > 1 ? sumAll[cell] - sum[own] : sumAll[cell];
      const c = folds > 1 ? cntAll[cell] - cnt[own] : cntAll[cell];
      const prior = actMean[f * k + a];
      qHat[i * k + a] = c + lambda > 0 ? (s + lambda * prior) / (c + lambda) : prior;
    }
  }
  return { kind: 'tabular', folds, lambda, foldOf, qHat };
}
