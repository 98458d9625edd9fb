/**
 * The little dense linear algebra OPE needs: Cholesky factorisation and ridge solves of small
 * symmetric positive-definite systems (p ≤ a few hundred), in float64 plain JS. Matrices are
 * row-major Float64Arrays of p × p.
 */

/**
 * In-place Cholesky factorisation A = L Lᵀ of a symmetric p × p matrix (lower triangle is read
 * and overwritten with L; the upper triangle is zeroed). Returns false if A is not positive
 * definite (a pivot ≤ 0), leaving A in an unspecified state.
 */
export function choleskyInPlace(a: Float64Array, p: number): boolean {
  for (let j = 0; j < p; j++) {
    let d = a[j * p + j];
    for (let k = 0; k < j; k++) d -= a[j * p + k] * a[j * p + k];
    if (!(d > 0)) return false;
    const ljj = Math.sqrt(d);
    a[j * p + j] = ljj;
    for (let i = j + 1; i < p; i++) {
      let s = a[i * p + j];
      for (let k = 0; k < j; k++) s -= a[i * p + k] * a[j * p + k];
      a[i * p + j] = s / ljj;
    }
    for (let k = j + 1; k < p; k++) a[j * p + k] = 0;
  }
  return true;
}

/** Solves L Lᵀ x = b given the factor from {@link choleskyInPlace}; writes x into `out`. */
export function choleskySolve(l: Float64Array, p: number, b: ArrayLike<number>, out: Float64Array): Float64Array {
  // Forward substitution L y = b, then back substitution Lᵀ x = y.
  for (let i = 0; i < p; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= l[i * p + k] * out[k];
    out[i] = s / l[i * p + i];
  }
  for (let i = p - 1; i >= 0; i--) {
    let s = out[i];
    for (let k = i + 1; k < p; k++) s -= l[k * p + i] * out[k];
    out[i] = s / l[i * p + i];
  }
  return out;
}

/**
 * Factorises G + λ·diag(penalty) for a ridge solve, adding a growing jitter to the diagonal
 * if the matrix is singular (e.g. λ = 0 with collinear features) so a solution always exists.
 * `penalty[j]` is 1 for penalised coefficients and 0 for unpenalised ones (intercepts).
 */
export function ridgeFactor(gram: Float64Array, p: number, lambda: number, penalty: ArrayLike<number>): Float64Array {
  let trace = 0;
  for (let j = 0; j < p; j++) trace += Math.abs(gram[j * p + j]);
  const scale = trace / Math.max(p, 1) || 1;
  for (let jitter = 0; ; jitter = jitter === 0 ? 1e-10 * scale : jitter * 100) {
    const a = gram.slice();
    for (let j = 0; j < p; j++) a[j * p + j] += lambda * penalty[j] + jitter;
    if (choleskyInPlace(a, p)) return a;
    if (jitter > scale) throw new Error('ridgeFactor: matrix is not positive definite even with jitter');
  }
}
