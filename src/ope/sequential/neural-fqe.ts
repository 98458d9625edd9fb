/**
 * Fitted Q Evaluation with a neural network (the function class of FQE in Le, Voloshin & Yue
 * 2019, "Batch policy learning under constraints", Algorithm 3, and of the OPE studies that
 * found it the most reliable model: Voloshin et al. 2021, "Empirical Study of Off-Policy Policy
 * Evaluation for Reinforcement Learning"; Paine et al. 2020, "Hyperparameter Selection for
 * Offline Reinforcement Learning").
 *
 * Iteration k fits Q_k(s, a) ≈ r + γ Σ_a' π(a'|s') Q_{k−1}(s', a') by `stepsPerIteration` Adam
 * steps on squared error (warm-started from Q_{k−1}); the targets of every logged step are
 * recomputed once per iteration with one forward pass of the frozen Q_{k−1}. With γ = 1 and
 * terminating episodes, iteration k is right on episodes of up to k steps, so the default
 * number of iterations is the longest logged episode plus 10.
 *
 * Why a network: tabular FQE is 0 on (state, action) pairs the log never visited, and a
 * policy that moves the state distribution (longer ad sessions, other notification cadences)
 * visits exactly those; an MLP over standardised features shares what it learned across
 * nearby states. It is still a regression: where the target goes far from the log, the
 * estimate is an extrapolation, which the report's support diagnostics (effective sample
 * size of the weights) flag.
 *
 * @example
 * const model = fitNeuralFqe(episodes, { folds: 2, seed: 0 });
 * model.value;                                // the FQE estimate
 * weightedDr().estimate(episodes, model);     // Q̂ for DR / WDR / MAGIC
 */
import { z } from 'zod';
import { parseWith, KairosError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { tf } from '../../tensor/backend.js';
import { Mlp } from '../../tensor/layers/mlp.js';
import { createOptimizer, trainStep } from '../../tensor/optim.js';
import { assignFolds } from '../bandit/reward-model.js';
import { validateEpisodicDataset, type EpisodicDataset } from '../types.js';
import { stepRange, valueRange } from '../range.js';
import { checkFittedQ, targetValues, type FqeModel } from './fqe.js';

export const NeuralFqeOptions = z
  .object({
    /** Hidden layer sizes of the Q-network (ReLU). */
    hiddenSizes: z.array(z.number().int().positive()).min(1).default([64, 64]),
    /** Fitted-Q iterations (default: the longest episode + 10). */
    iterations: z.number().int().min(1).optional(),
    /** Adam steps per iteration. */
    stepsPerIteration: z.number().int().min(1).default(200),
    batchSize: z.number().int().min(1).default(256),
    learningRate: z.number().positive().default(1e-3),
    /** Cross-fitting folds over episodes (1 = one model on every episode). */
    folds: z.number().int().min(1).max(255).default(1),
    seed: z.number().int().min(0).default(0),
    /** Called after each iteration of each fold (for a progress display). */
    onIteration: z.custom<(fold: number, iteration: number, iterations: number) => void>((v) => typeof v === 'function').optional(),
  })
  .strict();
export type NeuralFqeOptions = z.input<typeof NeuralFqeOptions>;

/** A fitted neural FQE model: the {@link FqeModel} fields with `kind: 'neural'`. */
export type NeuralFqeModel = Omit<FqeModel, 'kind'> & { readonly kind: 'neural' };

/** Fits neural FQE and returns Q̂ at every logged step (cross-fitted when folds > 1). */
export function fitNeuralFqe(data: EpisodicDataset, options: NeuralFqeOptions = {}): NeuralFqeModel {
  const o = parseWith(NeuralFqeOptions, options, 'fitNeuralFqe');
  validateEpisodicDataset(data);
  const { numSteps, numEpisodes, numActions: k, episodeStarts } = data;
  const d = data.features ? (data.featureDim ?? 0) : 0;
  if (d === 0) throw new KairosError('fitNeuralFqe: the log has no state features (neural FQE regresses on them); use tabular FQE', 'invalid_option');
  let longest = 0;
  const last = new Uint8Array(numSteps);
  for (let e = 0; e < numEpisodes; e++) {
    last[episodeStarts[e + 1] - 1] = 1;
    longest = Math.max(longest, episodeStarts[e + 1] - episodeStarts[e]);
  }
  const iterations = o.iterations ?? longest + 10;
  const folds = Math.min(o.folds, Math.max(1, numEpisodes));
  const foldOf = assignFolds(numEpisodes, folds, o.seed);
  const stepFold = new Uint8Array(numSteps);
  for (let e = 0; e < numEpisodes; e++) stepFold.fill(foldOf[e], episodeStarts[e], episodeStarts[e + 1]);
  const qHat = new Float64Array(numSteps * k);
  const range = valueRange(data);
  const bounds = stepRange(data, range);
  const rng = new Rng(o.seed);
  for (let f = 0; f < folds; f++) {
    const train: number[] = [];
    const predict: number[] = [];
    for (let j = 0; j < numSteps; j++) {
      if (folds === 1 || stepFold[j] !== f) train.push(j);
      if (folds === 1 || stepFold[j] === f) predict.push(j);
    }
    fitFold(data, d, last, bounds, Int32Array.from(train), Int32Array.from(predict), qHat, iterations, o, rng.nextSeed(), (it) => o.onIteration?.(f, it, iterations));
  }
  // Neural FQE runs a fixed number of iterations (no convergence test); the range check and
  // clipping are the same as tabular and linear FQE's.
  const { outOfRange, clippedFraction, problems } = checkFittedQ(data, qHat, range, { converged: true, iterations });
  return {
    kind: 'neural',
    qHat,
    ...targetValues(data, qHat),
    iterations,
    converged: true,
    folds,
    foldOf,
    lambda: 0,
    range,
    outOfRange,
    clippedFraction,
    status: problems.length ? 'unusable' : 'ok',
    problems,
  };
}

type ResolvedOptions = z.output<typeof NeuralFqeOptions>;

function fitFold(
  data: EpisodicDataset,
  d: number,
  last: Uint8Array,
  bounds: { lower: Float64Array; upper: Float64Array },
  train: Int32Array,
  predict: Int32Array,
  qHat: Float64Array,
  iterations: number,
  o: ResolvedOptions,
  seed: number,
  onIteration: (iteration: number) => void,
): void {
  const { numSteps, numActions: k, actions, rewards, targetProbs, gamma } = data;
  const x = data.features as Float32Array;
  if (train.length === 0) return; // no training episodes: Q̂ stays 0 (as tabular FQE on an unvisited state)
  // Standardise with the training steps' statistics: networks need inputs of unit scale.
  const mean = new Float64Array(d);
  const scale = new Float64Array(d);
  for (const j of train) for (let c = 0; c < d; c++) mean[c] += x[j * d + c];
  for (let c = 0; c < d; c++) mean[c] /= train.length;
  for (const j of train) for (let c = 0; c < d; c++) scale[c] += (x[j * d + c] - mean[c]) ** 2;
  for (let c = 0; c < d; c++) scale[c] = Math.sqrt(scale[c] / train.length) || 1;
  const z = new Float32Array(numSteps * d);
  for (let j = 0; j < numSteps; j++) for (let c = 0; c < d; c++) z[j * d + c] = (x[j * d + c] - mean[c]) / scale[c];

  const rng = new Rng(seed);
  const net = new Mlp({ inputSize: d, hiddenSizes: o.hiddenSizes, outputSize: k, seed: rng.nextSeed() });
  const optimizer = createOptimizer({ type: 'adam', learningRate: o.learningRate });
  const targets = new Float32Array(numSteps);
  const batch = Math.min(o.batchSize, train.length);
  const xb = new Float32Array(batch * d);
  const ab = new Int32Array(batch);
  const yb = new Float32Array(batch);
  try {
    for (let it = 0; it < iterations; it++) {
      // y_j = r_j + γ Σ_a π(a|s_{j+1}) Q_{k−1}(s_{j+1}, a); Q_0 = 0. Q and y are clipped to the
      // returns the rewards allow from each step (as in tabular and linear FQE).
      const q = it === 0 ? null : predictAll(net, z, numSteps, d);
      for (const j of train) {
        let y = rewards[j];
        if (q !== null && !last[j]) {
          const lo = bounds.lower[j + 1];
          const hi = bounds.upper[j + 1];
          let v = 0;
          for (let a = 0; a < k; a++) v += targetProbs[(j + 1) * k + a] * Math.min(hi, Math.max(lo, q[(j + 1) * k + a]));
          y += gamma * v;
        }
        targets[j] = Math.min(bounds.upper[j], Math.max(bounds.lower[j], y));
      }
      for (let s = 0; s < o.stepsPerIteration; s++) {
        for (let b = 0; b < batch; b++) {
          const j = train[rng.int(train.length)];
          xb.set(z.subarray(j * d, (j + 1) * d), b * d);
          ab[b] = actions[j];
          yb[b] = targets[j];
        }
        tf.tidy(() => {
          const xt = tf.tensor2d(xb, [batch, d]);
          const mask = tf.cast(tf.oneHot(tf.tensor1d(ab, 'int32'), k), 'float32');
          const yt = tf.tensor1d(yb);
          trainStep(optimizer, () => tf.mean(tf.square(tf.sub(tf.sum(tf.mul(net.apply(xt), mask), 1), yt))) as tf.Scalar, net.trainableVariables);
        });
      }
      onIteration(it + 1);
    }
    const q = predictAll(net, z, numSteps, d);
    for (const j of predict) for (let a = 0; a < k; a++) qHat[j * k + a] = q[j * k + a];
  } finally {
    net.dispose();
    optimizer.dispose();
  }
}

/** Q of every step, in chunks (one forward pass each, no tensors kept). */
function predictAll(net: Mlp, z: Float32Array, n: number, d: number): Float32Array {
  const k = net.config.outputSize;
  const out = new Float32Array(n * k);
  const chunk = 4096;
  for (let start = 0; start < n; start += chunk) {
    const m = Math.min(chunk, n - start);
    out.set(net.predict(z.subarray(start * d, (start + m) * d), m), start * k);
  }
  return out;
}
