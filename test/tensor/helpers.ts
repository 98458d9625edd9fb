/**
 * Shared helpers for the tensor tests (not a test file itself).
 */
import { Rng } from '../../src/core/rng.js';
import { initTensorBackend, tf, type TensorBackendName } from '../../src/tensor/index.js';

/** Both backends Kairos supports, WASM first. */
export const BACKENDS: readonly TensorBackendName[] = ['wasm', 'cpu'];

/** Switches the active backend (keeping the fast matMul gradient on). */
export async function useBackend(backend: TensorBackendName): Promise<void> {
  const info = await initTensorBackend({ backend, fastMatMulGrad: true });
  if (info.backend !== backend) throw new Error(`could not switch to ${backend}`);
}

/** Seeded N(0, 1) values. */
export function randn(n: number, rng: Rng): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal();
  return out;
}

/** Seeded N(0, 1) tensor. */
export function randnTensor(shape: number[], rng: Rng): tf.Tensor {
  return tf.tensor(randn(shape.reduce((a, b) => a * b, 1), rng), shape, 'float32');
}

/** Max |a − b| over two arrays of equal length. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Max |x|. */
export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** Reads a tensor's values (copy). */
export function values(t: tf.Tensor): Float32Array {
  return new Float32Array(t.dataSync() as Float32Array);
}

/** Float64 row-major matMul of [m,k] by [k,n]: an independent reference for tfjs. */
export function jsMatMul(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const aip = a[i * k + p];
      for (let j = 0; j < n; j++) out[i * n + j] += aip * b[p * n + j];
    }
  }
  return out;
}

/** Float64 transpose of a row-major [r, c] matrix. */
export function jsTranspose(a: ArrayLike<number>, r: number, c: number): Float64Array {
  const out = new Float64Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = a[i * c + j];
  return out;
}

/**
 * Central finite-difference gradient of a scalar function of one tensor's values.
 * float32 forward passes: keep h around 1e-3..1e-2 and tolerances around 1e-2 relative.
 */
export function finiteDifference(f: (x: tf.Tensor) => tf.Scalar, x: Float32Array, shape: number[], h = 1e-3): Float64Array {
  const g = new Float64Array(x.length);
  const probe = new Float32Array(x);
  const evalAt = () => tf.tidy(() => f(tf.tensor(probe, shape, 'float32')).dataSync()[0]);
  for (let i = 0; i < x.length; i++) {
    const orig = probe[i];
    probe[i] = orig + h;
    const fp = evalAt();
    probe[i] = orig - h;
    const fm = evalAt();
    probe[i] = orig;
    // Divide by the step actually taken in float32, not the nominal h.
    g[i] = (fp - fm) / (Math.fround(orig + h) - Math.fround(orig - h));
  }
  return g;
}

/** Asserts |a − b| <= atol + rtol·|b| elementwise; returns the worst violation ratio. */
export function closeness(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol: number): number {
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const tol = atol + rtol * Math.abs(expected[i]);
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / tol);
  }
  return worst;
}

export { Rng };
