/**
 * Fitted Q Evaluation (FQE): evaluate π by iterated regression of the Bellman target,
 *
 *   Q_k = argmin_f Σ_(s,a,r,s') ( f(s, a) − r − γ Σ_a' π(a'|s') Q_{k−1}(s', a') )²,
 *
 * with the target's bootstrap term 0 after an episode's last step (termination). The value is
 * the mean over episodes of V̂(s_0) = Σ_a π(a|s_0) Q̂(s_0, a).
 *
 * Definition: Le, Voloshin & Yue 2019, "Batch policy learning under constraints" (ICML),
 * Algorithm 3 (FQE); the fitted-iteration scheme of Ernst, Geurts & Wehenkel 2005.
 *
 * Function classes:
 * - `tabular`: Q(s, a) is the mean target over visits of (s, a), the state being the step's
 *   feature vector taken as a discrete id (e.g. the time-augmented state id of the synthetic
 *   MDP). `lambda` adds pseudo-counts towards 0; unvisited pairs are 0.
 * - `linear`: ridge regression on [features ⊗ one-hot(action)] with a per-action intercept
 *   (block-diagonal, so each action's Gram matrix is factorised once and only the right-hand
 *   side changes between iterations).
 *
 * Iterated to convergence: stops when the largest change of Q (tabular) or of the Bellman
 * targets (linear) is below `tolerance` × max(1, largest value), or at `maxIterations`
 * (reported as `converged: false`; linear FQE can diverge off-policy).
 *
 * Not unbiased in general (a regression); with the tabular class it is consistent when every
 * (s, a) the target reaches is visited, and exact on deterministic MDPs with full coverage.
 * Its standard error only covers the initial states; the bootstrap re-fits it per resample.
 * With `folds` > 1 episodes are split into folds and each episode's Q̂ comes from a model fitted
 * on the other folds (cross-fitting), for use in DR-type estimators.
 *
 * @example
 * const model = fitFqe(episodes, { kind: 'tabular' });
 * model.value;                               // the FQE estimate
 * weightedDr().estimate(episodes, model);    // Q̂ for DR / WDR / MAGIC
 */
import { z } from 'zod';
import { parseWith } from '../../core/errors.js';
import type { Estimate } from '../estimate.js';
import { choleskySolve, ridgeFactor } from '../linalg.js';
import { assignFolds } from '../bandit/reward-model.js';
import { contextIds, validateEpisodicDataset, type EpisodicDataset } from '../types.js';
import { sequentialDiagnostics, type QModel, type SequentialEstimator } from './estimator.js';

export const FqeOptions = z.object({
  kind: z.enum(['tabular', 'linear']).default('tabular'),
  /** Pseudo-counts towards 0 (tabular) or ridge penalty (linear). Default 0 and 1e-3. */
  lambda: z.number().min(0).optional(),
  maxIterations: z.number().int().min(1).default(1000),
  tolerance: z.number().positive().default(1e-9),
  /** Cross-fitting folds over episodes (1 = one model on every episode). */
  folds: z.number().int().min(1).max(255).default(1),
  seed: z.number().int().min(0).default(0),
});
export type FqeOptions = z.input<typeof FqeOptions>;

/** A fitted FQE model: Q̂ at every logged step, and the value estimate. */
export interface FqeModel extends QModel {
  readonly kind: 'tabular' | 'linear';
  /** V̂(s_t) = Σ_a π(a|s_t) Q̂(s_t, a) per step. */
  readonly vHat: Float64Array;
  /** Mean over episodes of V̂(s_0): the FQE estimate. */
  readonly value: number;
  /** Iterations of the (last) fit. */
  readonly iterations: number;
  /** Whether every fold's iteration converged. */
  readonly converged: boolean;
  readonly folds: number;
  /** Fold of each episode. */
  readonly foldOf: Uint8Array;
}

interface FitContext {
  data: EpisodicDataset;
  /** 1 if the step is the last of its episode (no bootstrap term). */
  last: Uint8Array;
  gamma: number;
}

interface FoldFit {
  iterations: number;
  converged: boolean;
}

/** Fits FQE and returns Q̂ for every logged step (cross-fitted when folds > 1). */
export function fitFqe(data: EpisodicDataset, options: FqeOptions = {}): FqeModel {
  const opts = parseWith(FqeOptions, options, 'fitFqe');
  validateEpisodicDataset(data);
  const { numSteps, numEpisodes, numActions: k } = data;
  const last = new Uint8Array(numSteps);
  for (let e = 0; e < numEpisodes; e++) last[data.episodeStarts[e + 1] - 1] = 1;
  const folds = Math.min(opts.folds, Math.max(1, numEpisodes));
  const foldOf = assignFolds(numEpisodes, folds, opts.seed);
  const stepFold = new Uint8Array(numSteps);
  for (let e = 0; e < numEpisodes; e++) stepFold.fill(foldOf[e], data.episodeStarts[e], data.episodeStarts[e + 1]);
  const ctx: FitContext = { data, last, gamma: data.gamma };
  const qHat = new Float64Array(numSteps * k);
  let iterations = 0;
  let converged = true;
  for (let f = 0; f < folds; f++) {
    const train = new Uint8Array(numSteps);
    const predict = new Uint8Array(numSteps);
    for (let j = 0; j < numSteps; j++) {
      train[j] = folds === 1 || stepFold[j] !== f ? 1 : 0;
      predict[j] = folds === 1 || stepFold[j] === f ? 1 : 0;
    }
    const fit =
      opts.kind === 'tabular'
        ? fitTabular(ctx, train, predict, qHat, opts.lambda ?? 0, opts.maxIterations, opts.tolerance)
        : fitLinear(ctx, train, predict, qHat, opts.lambda ?? 1e-3, opts.maxIterations, opts.tolerance);
    iterations = Math.max(iterations, fit.iterations);
    converged &&= fit.converged;
  }
  return { kind: opts.kind, qHat, ...targetValues(data, qHat), iterations, converged, folds, foldOf };
}

/**
 * V̂(s_j) = Σ_a π(a|s_j) Q̂(s_j, a) at every logged step, and the model's estimate: the mean of
 * V̂ at the episodes' first steps. Shared by every FQE model.
 */
export function targetValues(data: EpisodicDataset, qHat: Float64Array): { vHat: Float64Array; value: number } {
  const { numSteps, numEpisodes, numActions: k } = data;
  const vHat = new Float64Array(numSteps);
  for (let j = 0; j < numSteps; j++) {
    let v = 0;
    for (let a = 0; a < k; a++) v += data.targetProbs[j * k + a] * qHat[j * k + a];
    vHat[j] = v;
  }
  let value = 0;
  for (let e = 0; e < numEpisodes; e++) value += vHat[data.episodeStarts[e]];
  return { vHat, value: numEpisodes ? value / numEpisodes : Number.NaN };
}

function fitTabular(
  { data, last, gamma }: FitContext,
  train: Uint8Array,
  predict: Uint8Array,
  qHat: Float64Array,
  lambda: number,
  maxIterations: number,
  tolerance: number,
): FoldFit {
  const { numSteps, numActions: k, actions, rewards, targetProbs } = data;
  const { ids, count: m } = contextIds(numSteps, data.features, data.featureDim ?? 0);
  const visits = new Float64Array(m * k);
  for (let j = 0; j < numSteps; j++) if (train[j]) visits[ids[j] * k + actions[j]] += 1;
  let q = new Float64Array(m * k);
  let next = new Float64Array(m * k);
  let iterations = 0;
  let converged = false;
  while (iterations < maxIterations) {
    iterations++;
    next.fill(0);
    for (let j = 0; j < numSteps; j++) {
      if (!train[j]) continue;
      let y = rewards[j];
      if (!last[j]) {
        // γ Σ_a' π(a'|s_{t+1}) Q(s_{t+1}, a'): π from the next step's row of the log.
        const s1 = ids[j + 1] * k;
        let v = 0;
        for (let a = 0; a < k; a++) v += targetProbs[(j + 1) * k + a] * q[s1 + a];
        y += gamma * v;
      }
      next[ids[j] * k + actions[j]] += y;
    }
    let change = 0;
    let scale = 1;
    for (let c = 0; c < m * k; c++) {
      next[c] = visits[c] + lambda > 0 ? next[c] / (visits[c] + lambda) : 0;
      change = Math.max(change, Math.abs(next[c] - q[c]));
      scale = Math.max(scale, Math.abs(next[c]));
    }
    [q, next] = [next, q];
    if (change <= tolerance * scale) {
      converged = true;
      break;
    }
  }
  for (let j = 0; j < numSteps; j++) {
    if (!predict[j]) continue;
    for (let a = 0; a < k; a++) qHat[j * k + a] = q[ids[j] * k + a];
  }
  return { iterations, converged };
}

function fitLinear(
  { data, last, gamma }: FitContext,
  train: Uint8Array,
  predict: Uint8Array,
  qHat: Float64Array,
  lambda: number,
  maxIterations: number,
  tolerance: number,
): FoldFit {
  const { numSteps, numActions: k, actions, rewards, targetProbs } = data;
  const d = data.features ? (data.featureDim ?? 0) : 0;
  const x = data.features;
  const p = d + 1;
  const feat = (j: number, c: number) => (c === d ? 1 : x![j * d + c]);
  // Per-action Gram matrices, factorised once: the design never changes, only the targets.
  const factors: (Float64Array | null)[] = [];
  const penalty = new Float64Array(p).fill(1);
  penalty[d] = 0;
  for (let a = 0; a < k; a++) {
    const g = new Float64Array(p * p);
    let cnt = 0;
    for (let j = 0; j < numSteps; j++) {
      if (!train[j] || actions[j] !== a) continue;
      cnt++;
      for (let r = 0; r < p; r++) for (let c = r; c < p; c++) g[r * p + c] += feat(j, r) * feat(j, c);
    }
    for (let r = 0; r < p; r++) for (let c = r + 1; c < p; c++) g[c * p + r] = g[r * p + c];
    factors.push(cnt > 0 ? ridgeFactor(g, p, lambda, penalty) : null);
  }
  let theta = new Float64Array(k * p);
  const next = new Float64Array(k * p);
  const b = new Float64Array(k * p);
  const sol = new Float64Array(p);
  const qAt = (th: Float64Array, j: number, a: number) => {
    let v = th[a * p + d];
    for (let c = 0; c < d; c++) v += th[a * p + c] * x![j * d + c];
    return v;
  };
  // Converged when the regression targets stop changing: the coefficients themselves can
  // drift along near-null directions of an ill-conditioned design (e.g. one-hot features plus
  // an intercept) while every prediction is already fixed.
  const targets = new Float64Array(numSteps);
  let iterations = 0;
  let converged = false;
  while (iterations < maxIterations) {
    iterations++;
    b.fill(0);
    let change = 0;
    let scale = 1;
    for (let j = 0; j < numSteps; j++) {
      if (!train[j]) continue;
      let y = rewards[j];
      if (!last[j]) {
        let v = 0;
        for (let a = 0; a < k; a++) {
          const pr = targetProbs[(j + 1) * k + a];
          if (pr !== 0) v += pr * qAt(theta, j + 1, a);
        }
        y += gamma * v;
      }
      change = Math.max(change, Math.abs(y - targets[j]));
      scale = Math.max(scale, Math.abs(y));
      targets[j] = y;
      const o = actions[j] * p;
      for (let c = 0; c < p; c++) b[o + c] += feat(j, c) * y;
    }
    if (!Number.isFinite(change)) break; // diverged
    if (iterations > 1 && change <= tolerance * scale) {
      converged = true;
      break;
    }
    next.fill(0);
    for (let a = 0; a < k; a++) {
      const l = factors[a];
      if (!l) continue; // action never taken in training: Q = 0
      choleskySolve(l, p, b.subarray(a * p, (a + 1) * p), sol);
      next.set(sol, a * p);
    }
    theta = next.slice();
  }
  for (let j = 0; j < numSteps; j++) {
    if (!predict[j]) continue;
    for (let a = 0; a < k; a++) qHat[j * k + a] = qAt(theta, j, a);
  }
  return { iterations, converged };
}

/**
 * FQE as an estimator: fits on the data it is given (ignores any Q model passed in) and
 * reports mean V̂(s_0). No `terms`: its bootstrap re-fits on every resample.
 */
export function fqe(options: FqeOptions = {}): SequentialEstimator {
  const opts = parseWith(FqeOptions, options, 'fqe');
  const name = `fqe(${opts.kind})`;
  return {
    name,
    requiresQModel: false,
    estimate(data: EpisodicDataset): Estimate {
      const model = fitFqe(data, opts);
      const n = data.numEpisodes;
      let ss = 0;
      for (let e = 0; e < n; e++) ss += (model.vHat[data.episodeStarts[e]] - model.value) ** 2;
      return {
        estimator: name,
        value: model.value,
        stderr: n > 1 ? Math.sqrt(ss / (n - 1) / n) : NaN,
        n,
        diagnostics: { ...sequentialDiagnostics(data), iterations: model.iterations, converged: model.converged ? 1 : 0 },
      };
    },
  };
}
