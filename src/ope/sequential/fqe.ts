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
 * (reported as `converged: false`).
 *
 * Guards, because off-policy linear FQE can diverge (Baird's counterexample; the "deadly
 * triad" of Sutton & Barto 2018, §11.3) and a table extrapolates nothing:
 * - every Bellman target and prediction is clipped to the return range the log's rewards allow
 *   from that step on (`../range.ts`): no iterate can run off to 1e57;
 * - linear FQE's ridge strength is chosen (`lambda: 'auto'`, the default): 5-fold
 *   cross-validation of the first iteration's regression (the reward) over a grid picks a
 *   start, then the strength is raised tenfold until the fit converges with at most
 *   {@link FQE_MAX_OUT_OF_RANGE} of its fitted predictions outside the achievable range before clipping;
 * - a fit that still fails is returned with `status: 'unusable'` and the reasons in `problems`:
 *   estimates built on it are reported as failures, never as numbers.
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
import { clipQTable, inRange, stepRange, valueRange, type ValueRange } from '../range.js';
import { contextIds, validateEpisodicDataset, type EpisodicDataset } from '../types.js';
import { maxEpisodeLength, sequentialDiagnostics, type QModel, type SequentialEstimator } from './estimator.js';

export const FqeOptions = z.object({
  kind: z.enum(['tabular', 'linear']).default('tabular'),
  /**
   * Pseudo-counts towards 0 (tabular; default 0) or ridge penalty (linear; default `auto`:
   * cross-validated, then raised until the fit is stable; see the module comment).
   */
  lambda: z.union([z.number().min(0), z.literal('auto')]).optional(),
  maxIterations: z.number().int().min(1).default(1000),
  tolerance: z.number().positive().default(1e-9),
  /** Cross-fitting folds over episodes (1 = one model on every episode). */
  folds: z.number().int().min(1).max(255).default(1),
  seed: z.number().int().min(0).default(0),
  /** Clip targets and predictions to the achievable return range (default true). */
  clip: z.boolean().default(true),
  /** Horizon of that range (default the longest logged episode; Infinity with γ < 1 for 1/(1 − γ)). */
  horizon: z.number().min(1).optional(),
});
export type FqeOptions = z.input<typeof FqeOptions>;

/** Largest share of unclipped predictions outside the achievable range for a usable fit. */
export const FQE_MAX_OUT_OF_RANGE = 0.05;
/**
 * Largest last-iteration change of the targets, relative to their scale, that a fit which hit
 * its iteration cap may still have: below it the iterate has settled for every purpose of an
 * estimate (the default convergence tolerance, 1e-9, is far stricter); above it, it is still
 * moving and is reported unusable.
 */
export const FQE_MAX_FINAL_CHANGE = 1e-4;
/** Ridge strengths (× training steps per action) the automatic choice cross-validates. */
export const FQE_LAMBDA_GRID = [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10, 100, 1e3, 1e4] as const;

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
  /** Ridge penalty (linear) or pseudo-counts (tabular) used. */
  readonly lambda: number;
  /** The range targets and predictions were clipped to (null with `clip: false`). */
  readonly range: ValueRange | null;
  /** Share of fitted predictions that lay outside the whole range before clipping. */
  readonly outOfRange: number;
  /** Share of predictions clipped to their step's range. */
  readonly clippedFraction: number;
  /** `unusable` when the fit did not converge or extrapolates beyond the range; see `problems`. */
  readonly status: 'ok' | 'unusable';
  readonly problems: string[];
}

interface FitContext {
  data: EpisodicDataset;
  /** 1 if the step is the last of its episode (no bootstrap term). */
  last: Uint8Array;
  gamma: number;
  /** Per-step bounds of Q̂, or null (no clipping). */
  bounds: { lower: Float64Array; upper: Float64Array } | null;
  maxIterations: number;
  tolerance: number;
}

interface FoldFit {
  iterations: number;
  converged: boolean;
  /** Largest change of the last iteration, and the targets' scale max(1, max |y|). */
  change: number;
  scale: number;
}

const clamp = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);

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
  const range = opts.clip && numSteps > 0 ? valueRange(data, opts.horizon !== undefined ? { horizon: opts.horizon } : {}) : null;
  const ctx: FitContext = {
    data,
    last,
    gamma: data.gamma,
    bounds: range ? stepRange(data, range) : null,
    maxIterations: opts.maxIterations,
    tolerance: opts.tolerance,
  };
  const masks = Array.from({ length: folds }, (_, f) => {
    const train = new Uint8Array(numSteps);
    const predict = new Uint8Array(numSteps);
    for (let j = 0; j < numSteps; j++) {
      train[j] = folds === 1 || stepFold[j] !== f ? 1 : 0;
      predict[j] = folds === 1 || stepFold[j] === f ? 1 : 0;
    }
    return { train, predict };
  });
  const fitAll = (lambda: number, maxIterations: number) => {
    const qHat = new Float64Array(numSteps * k);
    const fitted = new Uint8Array(numSteps * k);
    const fits = masks.map(({ train, predict }) =>
      opts.kind === 'tabular'
        ? fitTabular({ ...ctx, maxIterations }, train, predict, qHat, fitted, lambda)
        : fitLinear({ ...ctx, maxIterations }, train, predict, qHat, fitted, lambda),
    );
    const fit = {
      iterations: Math.max(...fits.map((f) => f.iterations)),
      converged: fits.every((f) => f.converged),
      change: Math.max(...fits.map((f) => f.change / f.scale)),
      scale: 1,
    };
    return { qHat, lambda, ...fit, ...checkFittedQ(data, qHat, range, fit, fitted) };
  };

  let fit: ReturnType<typeof fitAll>;
  if (opts.kind === 'linear' && (opts.lambda === undefined || opts.lambda === 'auto')) {
    // Cross-validated start, then tenfold steps until stable (or the grid runs out).
    const perAction = masks[0].train.reduce((s, v) => s + v, 0) / Math.max(1, k);
    const grid = FQE_LAMBDA_GRID.map((c) => c * Math.max(1, perAction));
    const start = grid.indexOf(crossValidatedLambda(ctx, grid, opts.seed));
    // A stable finite-horizon fit converges within a few horizons; a slower one is not stable
    // enough to trust and the next strength is tried.
    const cap = Math.min(opts.maxIterations, Math.max(200, 4 * maxEpisodeLength(data)));
    fit = fitAll(grid[start], cap);
    for (let g = start + 1; g < grid.length && fit.problems.length > 0; g++) fit = fitAll(grid[g], cap);
  } else {
    fit = fitAll(typeof opts.lambda === 'number' ? opts.lambda : opts.kind === 'linear' ? 1e-3 : 0, opts.maxIterations);
  }
  return {
    kind: opts.kind,
    qHat: fit.qHat,
    ...targetValues(data, fit.qHat),
    iterations: fit.iterations,
    converged: fit.converged,
    folds,
    foldOf,
    lambda: fit.lambda,
    range,
    outOfRange: fit.outOfRange,
    clippedFraction: fit.clippedFraction,
    status: fit.problems.length ? 'unusable' : 'ok',
    problems: fit.problems,
  };
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

/**
 * Writes a fold's raw predictions into Q̂ (clipping and its count come after every fold), and
 * marks in `fitted` the entries the fold's data determined (not a default for unseen pairs).
 */
function writePredictions(
  data: EpisodicDataset,
  predict: Uint8Array,
  qHat: Float64Array,
  fitted: Uint8Array,
  q: (j: number, a: number) => number,
  isFitted: (j: number, a: number) => boolean,
): void {
  const k = data.numActions;
  for (let j = 0; j < data.numSteps; j++) {
    if (!predict[j]) continue;
    for (let a = 0; a < k; a++) {
      qHat[j * k + a] = q(j, a);
      fitted[j * k + a] = isFitted(j, a) ? 1 : 0;
    }
  }
}

/**
 * Clips a fitted Q̂ to the per-step range (in place) and lists what makes the fit unusable:
 * non-convergence, non-finite values, too many predictions outside the range before clipping.
 * Shared by tabular, linear and neural FQE.
 */
export function checkFittedQ(
  data: EpisodicDataset,
  qHat: Float64Array,
  range: ValueRange | null,
  fit: { converged: boolean; iterations: number; change?: number; scale?: number },
  fitted?: Uint8Array,
): { outOfRange: number; clippedFraction: number; problems: string[] } {
  const problems: string[] = [];
  const settled = fit.change !== undefined && fit.change <= FQE_MAX_FINAL_CHANGE * (fit.scale ?? 1);
  if (!fit.converged && !settled) {
    const change = fit.change !== undefined ? ` (last change ${fit.change.toPrecision(3)} on values up to ${(fit.scale ?? 1).toPrecision(3)})` : '';
    problems.push(`did not converge in ${fit.iterations} iterations${change}`);
  }
  let nonFinite = 0;
  for (let i = 0; i < qHat.length; i++) if (!Number.isFinite(qHat[i])) nonFinite++;
  if (nonFinite > 0) problems.push(`${nonFinite} of ${qHat.length} Q̂ values are not finite`);
  // Extrapolation shows as fitted values outside the whole range; only what the model fitted
  // counts (a table's 0 for a pair it never saw is a default, not a fit). Clipping is then to the
  // tighter per-step range, which a stationary model may exceed near a horizon without being wrong.
  let counted = 0;
  let outside = 0;
  if (range) {
    for (let i = 0; i < qHat.length; i++) {
      if ((fitted && !fitted[i]) || !Number.isFinite(qHat[i])) continue;
      counted++;
      if (!inRange(qHat[i], range)) outside++;
    }
  }
  const outOfRange = counted ? outside / counted : 0;
  const clippedFraction = range ? clipQTable(data, qHat, range) : 0;
  if (outOfRange > FQE_MAX_OUT_OF_RANGE) {
    problems.push(`${(outOfRange * 100).toFixed(1)}% of the fitted Q̂ lay outside the achievable range before clipping (at most ${FQE_MAX_OUT_OF_RANGE * 100}% allowed)`);
  }
  return { outOfRange, clippedFraction, problems };
}

function fitTabular(ctx: FitContext, train: Uint8Array, predict: Uint8Array, qHat: Float64Array, fitted: Uint8Array, lambda: number): FoldFit {
  const { data, last, gamma, bounds, maxIterations, tolerance } = ctx;
  const { numSteps, numActions: k, actions, rewards, targetProbs } = data;
  const { ids, count: m } = contextIds(numSteps, data.features, data.featureDim ?? 0);
  const visits = new Float64Array(m * k);
  for (let j = 0; j < numSteps; j++) if (train[j]) visits[ids[j] * k + actions[j]] += 1;
  let q = new Float64Array(m * k);
  let next = new Float64Array(m * k);
  let iterations = 0;
  let converged = false;
  let change = 0;
  let scale = 1;
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
        for (let a = 0; a < k; a++) {
          const qa = q[s1 + a];
          v += targetProbs[(j + 1) * k + a] * (bounds ? clamp(qa, bounds.lower[j + 1], bounds.upper[j + 1]) : qa);
        }
        y += gamma * v;
      }
      next[ids[j] * k + actions[j]] += bounds ? clamp(y, bounds.lower[j], bounds.upper[j]) : y;
    }
    change = 0;
    scale = 1;
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
  writePredictions(data, predict, qHat, fitted, (j, a) => q[ids[j] * k + a], (j, a) => visits[ids[j] * k + a] > 0);
  return { iterations, converged, change, scale };
}

/** The linear class's design: [features, 1] per step, one coefficient block per action. */
function linearDesign(data: EpisodicDataset) {
  const d = data.features ? (data.featureDim ?? 0) : 0;
  const x = data.features;
  const p = d + 1;
  const feat = (j: number, c: number) => (c === d ? 1 : x![j * d + c]);
  const qAt = (th: Float64Array, j: number, a: number) => {
    let v = th[a * p + d];
    for (let c = 0; c < d; c++) v += th[a * p + c] * x![j * d + c];
    return v;
  };
  const penalty = new Float64Array(p).fill(1);
  penalty[d] = 0; // the intercept is not shrunk
  /** Per-action Gram matrices of the steps with `rows[j]` set. */
  const grams = (rows: Uint8Array) => {
    const out: { g: Float64Array; count: number }[] = [];
    for (let a = 0; a < data.numActions; a++) out.push({ g: new Float64Array(p * p), count: 0 });
    for (let j = 0; j < data.numSteps; j++) {
      if (!rows[j]) continue;
      const o = out[data.actions[j]];
      o.count++;
      for (let r = 0; r < p; r++) for (let c = r; c < p; c++) o.g[r * p + c] += feat(j, r) * feat(j, c);
    }
    for (const { g } of out) for (let r = 0; r < p; r++) for (let c = r + 1; c < p; c++) g[c * p + r] = g[r * p + c];
    return out;
  };
  return { d, p, feat, qAt, penalty, grams };
}

/**
 * The ridge strength of `grid` with the least 5-fold cross-validated error on the first FQE
 * iteration's regression (Q_1 = r); ties go to the stronger penalty.
 */
function crossValidatedLambda(ctx: FitContext, grid: readonly number[], seed: number): number {
  const { data } = ctx;
  const { p, feat, qAt, penalty, grams } = linearDesign(data);
  const k = data.numActions;
  const folds = Math.min(5, data.numSteps);
  if (folds < 2) return grid[grid.length - 1];
  const foldOf = assignFolds(data.numSteps, folds, seed + 1);
  const errors = new Float64Array(grid.length);
  const sol = new Float64Array(p);
  for (let f = 0; f < folds; f++) {
    const train = new Uint8Array(data.numSteps);
    for (let j = 0; j < data.numSteps; j++) train[j] = foldOf[j] !== f ? 1 : 0;
    const gs = grams(train);
    const b = new Float64Array(k * p);
    for (let j = 0; j < data.numSteps; j++) {
      if (!train[j]) continue;
      for (let c = 0; c < p; c++) b[data.actions[j] * p + c] += feat(j, c) * data.rewards[j];
    }
    grid.forEach((lambda, g) => {
      const theta = new Float64Array(k * p);
      for (let a = 0; a < k; a++) {
        if (gs[a].count === 0) continue;
        choleskySolve(ridgeFactor(gs[a].g, p, lambda, penalty), p, b.subarray(a * p, (a + 1) * p), sol);
        theta.set(sol, a * p);
      }
      for (let j = 0; j < data.numSteps; j++) if (!train[j]) errors[g] += (qAt(theta, j, data.actions[j]) - data.rewards[j]) ** 2;
    });
  }
  let best = grid.length - 1;
  for (let g = grid.length - 1; g >= 0; g--) if (errors[g] < errors[best] * (1 - 1e-9)) best = g;
  return grid[best];
}

function fitLinear(ctx: FitContext, train: Uint8Array, predict: Uint8Array, qHat: Float64Array, fitted: Uint8Array, lambda: number): FoldFit {
  const { data, last, gamma, bounds, maxIterations, tolerance } = ctx;
  const { numSteps, numActions: k, actions, rewards, targetProbs } = data;
  const { p, feat, qAt, penalty, grams } = linearDesign(data);
  // Per-action Gram matrices, factorised once: the design never changes, only the targets.
  const factors = grams(train).map(({ g, count }) => (count > 0 ? ridgeFactor(g, p, lambda, penalty) : null));
  let theta = new Float64Array(k * p);
  const next = new Float64Array(k * p);
  const b = new Float64Array(k * p);
  const sol = new Float64Array(p);
  // Converged when the regression targets stop changing: the coefficients themselves can
  // drift along near-null directions of an ill-conditioned design (e.g. one-hot features plus
  // an intercept) while every prediction is already fixed.
  const targets = new Float64Array(numSteps);
  let iterations = 0;
  let converged = false;
  let change = 0;
  let scale = 1;
  while (iterations < maxIterations) {
    iterations++;
    b.fill(0);
    change = 0;
    scale = 1;
    for (let j = 0; j < numSteps; j++) {
      if (!train[j]) continue;
      let y = rewards[j];
      if (!last[j]) {
        let v = 0;
        for (let a = 0; a < k; a++) {
          const pr = targetProbs[(j + 1) * k + a];
          if (pr === 0) continue;
          const qa = qAt(theta, j + 1, a);
          v += pr * (bounds ? clamp(qa, bounds.lower[j + 1], bounds.upper[j + 1]) : qa);
        }
        y += gamma * v;
      }
      if (bounds) y = clamp(y, bounds.lower[j], bounds.upper[j]);
      change = Math.max(change, Math.abs(y - targets[j]));
      scale = Math.max(scale, Math.abs(y));
      targets[j] = y;
      const o = actions[j] * p;
      for (let c = 0; c < p; c++) b[o + c] += feat(j, c) * y;
    }
    if (!Number.isFinite(change)) break; // diverged (only possible without clipping)
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
  writePredictions(data, predict, qHat, fitted, (j, a) => qAt(theta, j, a), (_j, a) => factors[a] !== null);
  return { iterations, converged, change, scale };
}

/**
 * FQE as an estimator: fits on the data it is given (ignores any Q model passed in) and
 * reports mean V̂(s_0). No `terms`: its bootstrap re-fits on every resample. An unusable fit
 * gives a NaN value with the reasons in `details.problems`, which the report shows as a failure.
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
      const usable = model.status === 'ok';
      return {
        estimator: name,
        value: usable ? model.value : NaN,
        stderr: usable && n > 1 ? Math.sqrt(ss / (n - 1) / n) : NaN,
        n,
        diagnostics: { ...sequentialDiagnostics(data), iterations: model.iterations, converged: model.converged ? 1 : 0, lambda: model.lambda },
        ...(usable ? {} : { details: { problems: model.problems } }),
      };
    },
  };
}
