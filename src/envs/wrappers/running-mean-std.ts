/**
 * Running mean and variance of a stream of vectors, per dimension, as used for
 * observation and reward normalisation (Gymnasium's `gymnasium.wrappers.utils.RunningMeanStd`,
 * SB3's `common.running_mean_std.RunningMeanStd`; both from OpenAI Baselines).
 *
 * Batches are merged with the parallel-variance formula of Chan, Golub & LeVeque,
 * "Updating formulae and a pairwise algorithm for computing sample variances" (1979):
 * for counts n_a, n_b, means m_a, m_b and population variances v_a, v_b,
 *   delta = m_b - m_a,  n = n_a + n_b,
 *   mean  = m_a + delta * n_b / n,
 *   var   = (v_a n_a + v_b n_b + delta^2 n_a n_b / n) / n.
 * A single sample (n_b = 1, v_b = 0) reduces to Welford's update.
 *
 * Like Gymnasium and SB3, the statistics start from mean 0, variance 1 and a tiny count
 * `epsilon` (1e-4), so the first normalised values are finite; pass `epsilon: 0` for the
 * exact sample statistics of what was seen.
 *
 * All updates are allocation-free (hot path: called once per env step).
 *
 * @example
 * const rms = new RunningMeanStd([2]);
 * rms.update(Float32Array.of(1, 10));
 * rms.updateBatch(Float32Array.of(2, 20, 3, 30), 2); // two rows of size 2
 * rms.mean; // ≈ [2, 20]
 * const saved = rms.getState(); // JSON-able, for checkpoints
 * new RunningMeanStd([2]).setState(saved);
 */
import { KairosError, ValidationError } from '../../core/errors.js';

/** JSON-able snapshot of a {@link RunningMeanStd}, for checkpoints. */
export interface RunningMeanStdState {
  mean: number[];
  var: number[];
  count: number;
}

/** Options of {@link RunningMeanStd}. */
export interface RunningMeanStdOptions {
  /**
   * Initial count (Gymnasium/SB3 `epsilon`, default 1e-4): the prior weight of the
   * initial mean 0 and variance 1. Use 0 for exact sample statistics.
   */
  epsilon?: number;
}

/**
 * Per-dimension running mean and variance (see the module comment).
 *
 * @example
 * const rms = new RunningMeanStd([4]);
 * rms.updateBatch(observations, 8); // 8 rows of 4
 * rms.normalize(obs, obs);          // in place
 */
export class RunningMeanStd {
  /** Shape of one sample; `[]` for scalars (e.g. returns). */
  readonly shape: readonly number[];
  /** Number of values per sample (product of `shape`, 1 for scalars). */
  readonly size: number;
  /** Per-dimension running mean. */
  readonly mean: Float64Array;
  /** Per-dimension running population variance. */
  readonly var: Float64Array;
  /** Number of samples seen (plus the initial `epsilon`). */
  count: number;

  constructor(shape: readonly number[] = [], options: RunningMeanStdOptions = {}) {
    if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d <= 0)) {
      throw new ValidationError('shape', 'an array of positive integers', shape, 'RunningMeanStd');
    }
    const epsilon = options.epsilon ?? 1e-4;
    if (!(epsilon >= 0) || !Number.isFinite(epsilon)) {
      throw new ValidationError('epsilon', 'a finite number >= 0', epsilon, 'RunningMeanStd');
    }
    this.shape = [...shape];
    this.size = shape.reduce((a, b) => a * b, 1);
    this.mean = new Float64Array(this.size);
    this.var = new Float64Array(this.size).fill(1);
    this.count = epsilon;
  }

  /** Adds one sample of `size` values (Welford's update). */
  update(x: ArrayLike<number> | number): void {
    if (typeof x === 'number') {
      if (this.size !== 1) throw this.sizeError(1);
      this.merge1(0, x);
      this.count += 1;
      return;
    }
    if (x.length !== this.size) throw this.sizeError(x.length);
    for (let i = 0; i < this.size; i++) this.merge1(i, x[i]);
    this.count += 1;
  }

  /**
   * Adds `batchSize` samples stored row-major in `x` (length batchSize * size), merging
   * the batch's own mean and variance in one step (Chan et al. 1979), as Gymnasium's
   * `update(x)` does for a batch axis.
   */
  updateBatch(x: ArrayLike<number>, batchSize = x.length / this.size): void {
    if (!Number.isInteger(batchSize) || batchSize < 0 || x.length !== batchSize * this.size) {
      throw new KairosError(
        `RunningMeanStd.updateBatch: expected ${batchSize} rows of ${this.size} values (length ${batchSize * this.size}), received length ${x.length}`,
        'invalid_argument',
      );
    }
    if (batchSize === 0) return;
    const n = this.size;
    for (let i = 0; i < n; i++) {
      // Two passes over the column: the batch mean, then the centred sum of squares
      // (numerically safer than E[x^2] - E[x]^2).
      let s = 0;
      for (let b = 0; b < batchSize; b++) s += x[b * n + i];
      const bMean = s / batchSize;
      let ss = 0;
      for (let b = 0; b < batchSize; b++) {
        const d = x[b * n + i] - bMean;
        ss += d * d;
      }
      this.mergeMoments(i, bMean, ss / batchSize, batchSize);
    }
    this.count += batchSize;
  }

  /** Merges precomputed moments of a batch (per-dimension mean and population variance). */
  updateFromMoments(batchMean: ArrayLike<number>, batchVar: ArrayLike<number>, batchCount: number): void {
    if (batchMean.length !== this.size || batchVar.length !== this.size) throw this.sizeError(batchMean.length);
    if (!(batchCount >= 0)) throw new ValidationError('batchCount', 'a number >= 0', batchCount, 'RunningMeanStd.updateFromMoments');
    if (batchCount === 0) return;
    for (let i = 0; i < this.size; i++) this.mergeMoments(i, batchMean[i], batchVar[i], batchCount);
    this.count += batchCount;
  }

  /**
   * Writes `(x - mean) / sqrt(var + epsilon)`, clipped to [-clip, clip], into `out`
   * (which may be `x` itself), as Gymnasium's NormalizeObservation and SB3's VecNormalize.
   * `x` may hold several samples back to back.
   */
  normalize<T extends { length: number; [i: number]: number }>(x: ArrayLike<number>, out: T, epsilon = 1e-8, clip = Infinity): T {
    if (x.length % this.size !== 0 || out.length < x.length) throw this.sizeError(x.length);
    for (let j = 0; j < x.length; j++) {
      const i = j % this.size;
      const v = (x[j] - this.mean[i]) / Math.sqrt(this.var[i] + epsilon);
      out[j] = v > clip ? clip : v < -clip ? -clip : v;
    }
    return out;
  }

  /** Per-dimension standard deviation `sqrt(var + epsilon)` of dimension `i`. */
  std(i = 0, epsilon = 0): number {
    return Math.sqrt(this.var[i] + epsilon);
  }

  /** A JSON-able copy of the statistics. */
  getState(): RunningMeanStdState {
    return { mean: Array.from(this.mean), var: Array.from(this.var), count: this.count };
  }

  /** Restores statistics saved with {@link getState} (validated: sizes, finite, var >= 0). */
  setState(state: RunningMeanStdState): void {
    const bad = (path: string, expected: string, received: unknown) => new ValidationError(path, expected, received, 'RunningMeanStd.setState');
    if (state === null || typeof state !== 'object') throw bad('', 'an object {mean, var, count}', state);
    if (!Array.isArray(state.mean) || state.mean.length !== this.size || state.mean.some((v) => !Number.isFinite(v))) {
      throw bad('mean', `${this.size} finite numbers`, state.mean);
    }
    if (!Array.isArray(state.var) || state.var.length !== this.size || state.var.some((v) => !(v >= 0) || !Number.isFinite(v))) {
      throw bad('var', `${this.size} finite numbers >= 0`, state.var);
    }
    if (typeof state.count !== 'number' || !(state.count >= 0) || !Number.isFinite(state.count)) {
      throw bad('count', 'a finite number >= 0', state.count);
    }
    this.mean.set(state.mean);
    this.var.set(state.var);
    this.count = state.count;
  }

  /** An independent copy. */
  clone(): RunningMeanStd {
    const c = new RunningMeanStd(this.shape, { epsilon: 0 });
    c.setState(this.getState());
    return c;
  }

  private merge1(i: number, x: number): void {
    // Welford: the n_b = 1, v_b = 0 case of mergeMoments, without the division by n twice.
    const total = this.count + 1;
    const delta = x - this.mean[i];
    this.mean[i] += delta / total;
    this.var[i] = (this.var[i] * this.count + (delta * delta * this.count) / total) / total;
  }

  private mergeMoments(i: number, bMean: number, bVar: number, bCount: number): void {
    const count = this.count;
    const total = count + bCount;
    const delta = bMean - this.mean[i];
    this.mean[i] += (delta * bCount) / total;
    const m2 = this.var[i] * count + bVar * bCount + (delta * delta * count * bCount) / total;
    this.var[i] = m2 / total;
  }

  private sizeError(received: number): KairosError {
    return new KairosError(
      `RunningMeanStd: expected samples of ${this.size} values (shape [${this.shape.join(', ')}]), received ${received}`,
      'invalid_argument',
    );
  }
}
