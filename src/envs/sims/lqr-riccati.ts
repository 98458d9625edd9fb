/**
 * Exact solutions of the linear-quadratic regulator (LQR): the discrete algebraic Riccati
 * equation (DARE), the finite-horizon Riccati recursion, and the exact expected cost of any
 * linear feedback u = −K x under Gaussian noise.
 *
 * System: x_{t+1} = A x_t + B u_t + w_t, w_t ~ N(0, W), x_0 ~ N(0, Σ0); cost per step
 * c_t = x_t' Q x_t + u_t' R u_t. References: Bertsekas, "Dynamic Programming and Optimal
 * Control", vol. I, 4th ed., §3.2 (finite horizon: P_T = Q_f,
 *   K_t = (R + B' P_{t+1} B)^{-1} B' P_{t+1} A,
 *   P_t = Q + A' P_{t+1} A − A' P_{t+1} B K_t,
 * expected optimal cost tr(P_0 Σ0) + Σ_{t=1}^{T} tr(P_t W)), and §4.1 (infinite horizon: the
 * fixed point P of the same map is the DARE solution, K its stationary gain, and tr(P W) the
 * optimal average cost per step).
 *
 * The cost of a fixed linear gain K follows from the state covariance Σ_t = E[x_t x_t'],
 * Σ_{t+1} = (A − BK) Σ_t (A − BK)' + W: E[c_t] = tr((Q + K'RK) Σ_t). Summing gives the exact
 * expected T-step cost ({@link lqrPolicyCost}); the stationary Σ (discrete Lyapunov equation)
 * gives the average cost ({@link lqrAverageCost}).
 *
 * Matrices are arrays of rows (`number[][]`); the sizes are small (a few states), so plain
 * loops are used throughout.
 *
 * @example
 * const { K, P } = solveDiscreteRiccati(A, B, Q, R);
 * const perStep = trace(matMul(P, W)); // optimal average cost
 */
import { KairosError } from '../../core/errors.js';

/** A dense matrix as an array of rows. */
export type Matrix = number[][];

/** The n × n identity. */
export function identity(n: number): Matrix {
  return Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
}

/** Aᵀ. */
export function transpose(a: Matrix): Matrix {
  const rows = a.length;
  const cols = a[0]?.length ?? 0;
  return Array.from({ length: cols }, (_, j) => Array.from({ length: rows }, (_, i) => a[i][j]));
}

/** A · B. */
export function matMul(a: Matrix, b: Matrix): Matrix {
  const n = a.length;
  const k = b.length;
  const m = b[0]?.length ?? 0;
  const out: Matrix = Array.from({ length: n }, () => new Array<number>(m).fill(0));
  for (let i = 0; i < n; i++) {
    for (let l = 0; l < k; l++) {
      const x = a[i][l];
      if (x === 0) continue;
      for (let j = 0; j < m; j++) out[i][j] += x * b[l][j];
    }
  }
  return out;
}

/** α·A + β·B (elementwise). */
export function matAdd(a: Matrix, b: Matrix, alpha = 1, beta = 1): Matrix {
  return a.map((row, i) => row.map((x, j) => alpha * x + beta * b[i][j]));
}

/** Sum of the diagonal. */
export function trace(a: Matrix): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i][i];
  return s;
}

/** (A + Aᵀ) / 2, to keep iterated symmetric matrices exactly symmetric. */
function symmetrize(a: Matrix): Matrix {
  return a.map((row, i) => row.map((x, j) => 0.5 * (x + a[j][i])));
}

/** Solves M X = N by Gaussian elimination with partial pivoting (M square, non-singular). */
export function solve(m: Matrix, n: Matrix): Matrix {
  const size = m.length;
  const cols = n[0]?.length ?? 0;
  const a = m.map((row) => [...row]);
  const b = n.map((row) => [...row]);
  for (let c = 0; c < size; c++) {
    let p = c;
    for (let r = c + 1; r < size; r++) if (Math.abs(a[r][c]) > Math.abs(a[p][c])) p = r;
    if (!(Math.abs(a[p][c]) > 1e-300)) throw new KairosError('lqr: singular matrix in solve()', 'numerical_error');
    [a[c], a[p]] = [a[p], a[c]];
    [b[c], b[p]] = [b[p], b[c]];
    for (let r = 0; r < size; r++) {
      if (r === c) continue;
      const f = a[r][c] / a[c][c];
      if (f === 0) continue;
      for (let j = c; j < size; j++) a[r][j] -= f * a[c][j];
      for (let j = 0; j < cols; j++) b[r][j] -= f * b[c][j];
    }
  }
  return b.map((row, i) => row.map((x) => x / a[i][i]));
}

/** One Riccati step from P' = P_{t+1}: returns K_t and P_t (Bertsekas vol. I, §3.2). */
export function riccatiStep(A: Matrix, B: Matrix, Q: Matrix, R: Matrix, next: Matrix): { K: Matrix; P: Matrix } {
  const At = transpose(A);
  const Bt = transpose(B);
  const BtP = matMul(Bt, next);
  const K = solve(matAdd(R, matMul(BtP, B)), matMul(BtP, A));
  const AtP = matMul(At, next);
  const P = symmetrize(matAdd(matAdd(Q, matMul(AtP, A)), matMul(matMul(AtP, B), K), 1, -1));
  return { K, P };
}

/** The DARE solution. */
export interface RiccatiSolution {
  /** The cost-to-go matrix: V(x) = x' P x (+ a constant under noise). */
  readonly P: Matrix;
  /** The optimal stationary gain: u = −K x. */
  readonly K: Matrix;
  /** Riccati iterations until convergence. */
  readonly iterations: number;
}

/**
 * Solves the discrete algebraic Riccati equation
 *   P = Q + A'PA − A'PB (R + B'PB)^{-1} B'PA
 * by iterating the Riccati map from P = Q until the relative change is below `tolerance`
 * (converges when (A, B) is stabilisable and (A, Q^{1/2}) detectable; Bertsekas vol. I, §4.1).
 *
 * @example
 * const { K } = solveDiscreteRiccati([[1, 0.1], [0, 1]], [[0.005], [0.1]], identity(2), [[0.1]]);
 * @throws KairosError when the iteration does not converge (e.g. an unstabilisable system).
 */
export function solveDiscreteRiccati(
  A: Matrix,
  B: Matrix,
  Q: Matrix,
  R: Matrix,
  { tolerance = 1e-13, maxIterations = 1_000_000 }: { tolerance?: number; maxIterations?: number } = {},
): RiccatiSolution {
  let P = Q.map((row) => [...row]);
  for (let it = 1; it <= maxIterations; it++) {
    const { P: next, K } = riccatiStep(A, B, Q, R, P);
    let diff = 0;
    let scale = 0;
    for (let i = 0; i < P.length; i++) {
      for (let j = 0; j < P.length; j++) {
        diff = Math.max(diff, Math.abs(next[i][j] - P[i][j]));
        scale = Math.max(scale, Math.abs(next[i][j]));
      }
    }
    P = next;
    if (!Number.isFinite(diff)) break;
    if (diff <= tolerance * Math.max(1, scale)) return { P, K, iterations: it };
  }
  throw new KairosError('solveDiscreteRiccati: the Riccati iteration did not converge; is (A, B) stabilisable and (A, Q) detectable?', 'numerical_error');
}

/** The finite-horizon solution: time-varying gains and cost-to-go matrices. */
export interface FiniteHorizonLqr {
  /** P_0 .. P_T (P_T = Q_f). */
  readonly P: Matrix[];
  /** K_0 .. K_{T−1}: u_t = −K_t x_t. */
  readonly K: Matrix[];
}

/**
 * Backward Riccati recursion over T steps with terminal cost x_T' Q_f x_T (default Q_f = 0,
 * i.e. the cost of steps 0..T−1 only, as in an episode cut after T steps).
 *
 * @example
 * const { K } = finiteHorizonLqr(A, B, Q, R, 200); // K[0] ≈ the DARE gain for long horizons
 */
export function finiteHorizonLqr(A: Matrix, B: Matrix, Q: Matrix, R: Matrix, T: number, Qf?: Matrix): FiniteHorizonLqr {
  const n = A.length;
  const P: Matrix[] = new Array(T + 1);
  const K: Matrix[] = new Array(T);
  P[T] = Qf ? Qf.map((row) => [...row]) : Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let t = T - 1; t >= 0; t--) {
    const step = riccatiStep(A, B, Q, R, P[t + 1]);
    K[t] = step.K;
    P[t] = step.P;
  }
  return { P, K };
}

/** The noisy linear system and quadratic cost of an LQR problem. */
export interface LqrProblem {
  A: Matrix;
  B: Matrix;
  Q: Matrix;
  R: Matrix;
  /** Covariance of the process noise w_t. */
  W: Matrix;
  /** Covariance of the initial state x_0 (mean zero). */
  Sigma0: Matrix;
}

/**
 * The exact optimal expected cost of T steps (time-varying gains, no terminal cost):
 *   tr(P_0 Σ0) + Σ_{t=1}^{T−1} tr(P_t W).
 *
 * @example
 * lqrOptimalCost(problem, 200); // a lower bound on every policy's expected 200-step cost
 */
export function lqrOptimalCost(p: LqrProblem, T: number): number {
  const { P } = finiteHorizonLqr(p.A, p.B, p.Q, p.R, T);
  let cost = trace(matMul(P[0], p.Sigma0));
  for (let t = 1; t < T; t++) cost += trace(matMul(P[t], p.W));
  return cost;
}

/**
 * The exact expected cost of the first T steps under the stationary policy u = −K x:
 *   Σ_{t<T} tr((Q + K'RK) Σ_t),  Σ_{t+1} = (A − BK) Σ_t (A − BK)' + W,  Σ_0 = Σ0.
 *
 * @example
 * lqrPolicyCost(problem, solveDiscreteRiccati(A, B, Q, R).K, 200);
 */
export function lqrPolicyCost(p: LqrProblem, K: Matrix, T: number): number {
  const Acl = matAdd(p.A, matMul(p.B, K), 1, -1);
  const AclT = transpose(Acl);
  const Qk = matAdd(p.Q, matMul(matMul(transpose(K), p.R), K));
  let Sigma = p.Sigma0.map((row) => [...row]);
  let cost = 0;
  for (let t = 0; t < T; t++) {
    cost += trace(matMul(Qk, Sigma));
    Sigma = matAdd(matMul(matMul(Acl, Sigma), AclT), p.W);
  }
  return cost;
}

/**
 * The long-run average cost per step of u = −K x: tr((Q + K'RK) Σ∞) with Σ∞ the solution of
 * the discrete Lyapunov equation Σ = (A − BK) Σ (A − BK)' + W (found by iteration); Infinity
 * when A − BK is not stable. For the DARE gain it equals tr(P W).
 *
 * @example
 * lqrAverageCost(problem, K); // per-step cost in steady state
 */
export function lqrAverageCost(p: LqrProblem, K: Matrix, { tolerance = 1e-14, maxIterations = 1_000_000 } = {}): number {
  const Acl = matAdd(p.A, matMul(p.B, K), 1, -1);
  const AclT = transpose(Acl);
  const Qk = matAdd(p.Q, matMul(matMul(transpose(K), p.R), K));
  let Sigma = p.W.map((row) => [...row]);
  let prev = trace(matMul(Qk, Sigma));
  for (let it = 0; it < maxIterations; it++) {
    Sigma = matAdd(matMul(matMul(Acl, Sigma), AclT), p.W);
    const c = trace(matMul(Qk, Sigma));
    if (!Number.isFinite(c) || c > 1e300) return Infinity;
    if (Math.abs(c - prev) <= tolerance * Math.max(1, Math.abs(c))) return c;
    prev = c;
  }
  return Infinity;
}
