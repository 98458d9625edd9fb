/**
 * Seeded weight initialisers. Values are drawn in plain JavaScript from Kairos's `Rng`
 * (xoshiro128**) and only then copied into a tensor, so the same seed gives bit-identical
 * weights on every backend (WASM, CPU, a future WebGPU) and every machine. tfjs's own
 * `tf.randomNormal(shape, 0, 1, 'float32', seed)` would not: its stream depends on the
 * backend's RNG implementation.
 *
 * Shapes follow the Kairos `Dense` layout: a kernel is `[fanIn, fanOut]` (y = x·W).
 * Each initialiser has a `...Values` form returning a `Float32Array` (row-major) and a
 * tensor form returning a `tf.Tensor` the caller owns.
 *
 * @example
 * const rng = new Rng(1);
 * const w = orthogonal([64, 64], rng, Math.SQRT2); // tensor; dispose it or wrap it in a Variable
 * const b = zeros([64]);
 */
import { KairosError } from '../core/errors.js';
import type { Rng } from '../core/rng.js';
import { tf } from './backend.js';

/** A weight shape (row-major). */
export type Shape = readonly number[];

function sizeOf(shape: Shape): number {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new KairosError(`init: expected a shape of non-negative integers, received [${shape.join(', ')}]`, 'invalid_shape');
    }
  }
  return shape.reduce((n, d) => n * d, 1);
}

/**
 * Fan-in and fan-out of a kernel. For rank 2 `[in, out]`; for convolution-style kernels
 * `[...receptiveField, in, out]` the receptive field multiplies both, as in Glorot & Bengio
 * 2010 and Keras's `VarianceScaling`.
 */
export function fans(shape: Shape): { fanIn: number; fanOut: number } {
  if (shape.length === 0) return { fanIn: 1, fanOut: 1 };
  if (shape.length === 1) return { fanIn: shape[0], fanOut: shape[0] };
  const receptive = shape.slice(0, -2).reduce((n, d) => n * d, 1);
  return { fanIn: shape[shape.length - 2] * receptive, fanOut: shape[shape.length - 1] * receptive };
}

/** Float32Array of `shape` filled with `value`. */
export function constantValues(shape: Shape, value: number): Float32Array {
  return new Float32Array(sizeOf(shape)).fill(value);
}

/** Uniform values in [low, high) from `rng`. */
export function uniformValues(shape: Shape, rng: Rng, low: number, high: number): Float32Array {
  const out = new Float32Array(sizeOf(shape));
  for (let i = 0; i < out.length; i++) out[i] = rng.uniform(low, high);
  return out;
}

/** Normal values N(mean, std²) from `rng`. */
export function normalValues(shape: Shape, rng: Rng, mean = 0, std = 1): Float32Array {
  const out = new Float32Array(sizeOf(shape));
  for (let i = 0; i < out.length; i++) out[i] = rng.normal(mean, std);
  return out;
}

/**
 * Glorot/Xavier uniform (Glorot & Bengio 2010, eq. 16): U(−a, a), a = gain·√(6 / (fanIn + fanOut)),
 * so Var = gain²·2 / (fanIn + fanOut). Keras's default kernel initialiser.
 */
export function glorotUniformValues(shape: Shape, rng: Rng, gain = 1): Float32Array {
  const { fanIn, fanOut } = fans(shape);
  const limit = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniformValues(shape, rng, -limit, limit);
}

/**
 * He/Kaiming uniform (He et al. 2015, for ReLU): U(−a, a), a = gain·√(3 / fanIn) with the
 * ReLU gain √2 by default, so Var = 2 / fanIn (PyTorch `kaiming_uniform_(nonlinearity='relu')`).
 */
export function heUniformValues(shape: Shape, rng: Rng, gain = Math.SQRT2): Float32Array {
  const { fanIn } = fans(shape);
  const limit = gain * Math.sqrt(3 / fanIn);
  return uniformValues(shape, rng, -limit, limit);
}

/**
 * LeCun normal (LeCun et al. 1998, "Efficient BackProp"): N(0, 1/fanIn). Plain (untruncated)
 * normal; Keras truncates at 2σ, which changes little for initialisation.
 */
export function lecunNormalValues(shape: Shape, rng: Rng, gain = 1): Float32Array {
  const { fanIn } = fans(shape);
  return normalValues(shape, rng, 0, gain / Math.sqrt(fanIn));
}

/**
 * PyTorch's default `nn.Linear` initialisation: weights and biases U(−1/√fanIn, 1/√fanIn)
 * (`kaiming_uniform_(a=√5)`). Useful to match a PyTorch reference run's scale.
 */
export function torchDefaultValues(shape: Shape, rng: Rng, fanIn: number = fans(shape).fanIn): Float32Array {
  const bound = 1 / Math.sqrt(fanIn);
  return uniformValues(shape, rng, -bound, bound);
}

/**
 * Orthogonal initialisation (Saxe et al. 2014), as PyTorch's `nn.init.orthogonal_` and the
 * PPO/A2C implementations (gain √2 hidden, 0.01 policy head, 1 value head). For a kernel
 * `[rows, cols]` (leading axes flattened into rows, as Keras's `Orthogonal` does for the
 * `[...receptiveField, in, out]` layout) it draws a Gaussian matrix, takes the Q
 * factor of its QR decomposition with R's diagonal made positive (which makes Q
 * Haar-distributed, Mezzadri 2007) and scales by `gain`. Result: if rows ≥ cols,
 * WᵀW = gain²·I; else W·Wᵀ = gain²·I.
 *
 * QR is modified Gram-Schmidt run twice per column ("twice is enough", Giraud et al. 2005)
 * in float64, which yields Q with positive diag(R) directly and orthogonal to ~1e-15.
 */
export function orthogonalValues(shape: Shape, rng: Rng, gain = 1): Float32Array {
  if (shape.length < 2) {
    throw new KairosError(`orthogonal: expected a shape of rank >= 2, received [${shape.join(', ')}]`, 'invalid_shape');
  }
  const cols = shape[shape.length - 1];
  const total = sizeOf(shape);
  if (total === 0) return new Float32Array(0);
  const rows = total / cols;
  // Orthonormalise the columns of a tall m×n Gaussian matrix (m ≥ n); transpose at the end
  // if the kernel is wide.
  const m = Math.max(rows, cols);
  const n = Math.min(rows, cols);
  // Column-major storage: column j is q[j*m .. j*m+m).
  const q = new Float64Array(m * n);
  for (let i = 0; i < q.length; i++) q[i] = rng.normal();
  for (let j = 0; j < n; j++) {
    const cj = j * m;
    for (let pass = 0; pass < 2; pass++) {
      for (let k = 0; k < j; k++) {
        const ck = k * m;
        let dot = 0;
        for (let i = 0; i < m; i++) dot += q[ck + i] * q[cj + i];
        for (let i = 0; i < m; i++) q[cj + i] -= dot * q[ck + i];
      }
    }
    let norm = 0;
    for (let i = 0; i < m; i++) norm += q[cj + i] * q[cj + i];
    norm = Math.sqrt(norm);
    if (!(norm > 1e-12)) {
      // Probability zero for a Gaussian draw; guard anyway rather than emit NaN.
      throw new KairosError('orthogonal: degenerate random matrix, try another seed', 'numerical_error');
    }
    for (let i = 0; i < m; i++) q[cj + i] /= norm;
  }
  const out = new Float32Array(rows * cols);
  if (rows >= cols) {
    // W[r][c] = Q[r][c]
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[r * cols + c] = gain * q[c * m + r];
  } else {
    // Wide kernel: W = Qᵀ, W[r][c] = Q[c][r]
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[r * cols + c] = gain * q[r * m + c];
  }
  return out;
}

/** Tensor of zeros. */
export function zeros(shape: Shape): tf.Tensor {
  return tf.zeros(shape as number[], 'float32');
}

/** Tensor filled with `value`. */
export function constant(shape: Shape, value: number): tf.Tensor {
  return tf.fill(shape as number[], value, 'float32');
}

/** Tensor of uniform values in [low, high). */
export function uniform(shape: Shape, rng: Rng, low: number, high: number): tf.Tensor {
  return tf.tensor(uniformValues(shape, rng, low, high), shape as number[], 'float32');
}

/** Tensor of N(mean, std²) values. */
export function normal(shape: Shape, rng: Rng, mean = 0, std = 1): tf.Tensor {
  return tf.tensor(normalValues(shape, rng, mean, std), shape as number[], 'float32');
}

/** Glorot-uniform tensor; see {@link glorotUniformValues}. */
export function glorotUniform(shape: Shape, rng: Rng, gain = 1): tf.Tensor {
  return tf.tensor(glorotUniformValues(shape, rng, gain), shape as number[], 'float32');
}

/** He-uniform tensor; see {@link heUniformValues}. */
export function heUniform(shape: Shape, rng: Rng, gain = Math.SQRT2): tf.Tensor {
  return tf.tensor(heUniformValues(shape, rng, gain), shape as number[], 'float32');
}

/** LeCun-normal tensor; see {@link lecunNormalValues}. */
export function lecunNormal(shape: Shape, rng: Rng, gain = 1): tf.Tensor {
  return tf.tensor(lecunNormalValues(shape, rng, gain), shape as number[], 'float32');
}

/** Orthogonal tensor; see {@link orthogonalValues}. */
export function orthogonal(shape: Shape, rng: Rng, gain = 1): tf.Tensor {
  return tf.tensor(orthogonalValues(shape, rng, gain), shape as number[], 'float32');
}
