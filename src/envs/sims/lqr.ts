/**
 * LQR-v0: a noisy linear system with quadratic cost, whose optimum is known in closed form.
 *
 *   x_{t+1} = A x_t + B u_t + w_t,   w_t ~ N(0, noiseStd² I),   x_0 ~ N(0, initialStd² I)
 *   reward_t = −(x_t' Q x_t + u_t' R u_t)
 *
 * The action u is a continuous vector (Box of size m). By default it is unbounded, so the
 * exact references hold exactly; with `actionLimit` it is clipped to [−limit, limit] (a
 * saturated LQR, for which the Riccati figures are only approximate).
 *
 * The env itself never terminates; `make` cuts episodes at 200 steps (a truncation: the
 * observation carries no time, and the optimal infinite-horizon policy is stationary). Exact
 * references, in `lqr-riccati.ts`: the DARE gain K and cost matrix P (average cost per step
 * tr(P W) under the optimal policy), the exact expected cost of any linear gain over T steps
 * (`lqrPolicyCost`, which is what a T-step episode of the controller u = −K x earns in
 * expectation), and the optimal T-step cost with time-varying gains (`lqrOptimalCost`), a
 * lower bound that the stationary DARE gain approaches as T grows.
 *
 * Defaults: a double integrator (position and velocity, force input) discretised with
 * dt = 0.1 s by zero-order hold, A = [[1, dt], [0, 1]], B = [[dt²/2], [dt]] (Franklin, Powell &
 * Workman, "Digital Control of Dynamic Systems", 3rd ed., §4.3), Q = I, R = 0.1, process noise
 * standard deviation 0.1 per state per step, initial state N(0, I) (noise then makes about two thirds
 * of a 200-step episode's cost, the initial transient the rest). `info.rewardVector = { state, control }`
 * splits the reward into −x'Qx and −u'Ru.
 *
 * @example
 * const env = make('LQR-v0');
 * const policy = lqrRiccatiPolicy();
 * let { observation } = env.reset({ seed: 0 });
 * const r = env.step(policy(observation));
 */
import { z } from 'zod';
import { KairosError, ValidationError, parseWith } from '../../core/errors.js';
import type { Rng } from '../../core/rng.js';
import { Box } from '../../core/spaces.js';
import { seedEnvRng } from '../env.js';
import type { Env, EnvSpec, ResetOptions, ResetResult, StatefulEnv, StepResult } from '../env.js';
import type { EnvRegistration } from '../registry.js';
import { copyState, invalidActionError } from '../classic/validation.js';
import { identity, solveDiscreteRiccati, type LqrProblem, type Matrix, type RiccatiSolution } from './lqr-riccati.js';

const ENV_ID = 'LQR-v0';
/** Step of the default double integrator (seconds). */
const DT = 0.1;

const MatrixSchema = z.array(z.array(z.number()).min(1).max(64)).min(1).max(64);

function isSymmetric(m: Matrix): boolean {
  return m.every((row, i) => row.length === m.length && row.every((x, j) => Math.abs(x - m[j][i]) <= 1e-12 * Math.max(1, Math.abs(x))));
}

/** Cholesky test: positive definite (`strict`) or semi-definite up to rounding. */
function isPositive(m: Matrix, strict: boolean): boolean {
  const n = m.length;
  const scale = Math.max(1e-300, ...m.map((row, i) => Math.abs(row[i])));
  // A semi-definite matrix is accepted when m + ε·scale·I is positive definite.
  const eps = strict ? 0 : 1e-10 * scale;
  const L: number[][] = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let j = 0; j < n; j++) {
    let d = m[j][j] + eps;
    for (let k = 0; k < j; k++) d -= L[j][k] * L[j][k];
    if (!(d > 0)) return false;
    L[j][j] = Math.sqrt(d);
    for (let i = j + 1; i < n; i++) {
      let s = m[i][j];
      for (let k = 0; k < j; k++) s -= L[i][k] * L[j][k];
      L[i][j] = s / L[j][j];
    }
  }
  return true;
}

/** Options of `make('LQR-v0', ...)`. Matrices are arrays of rows. */
export const LqrOptionsSchema = z
  .strictObject({
    /** State matrix A (n × n). */
    A: MatrixSchema.default(() => [
      [1, DT],
      [0, 1],
    ]),
    /** Input matrix B (n × m). */
    B: MatrixSchema.default(() => [[(DT * DT) / 2], [DT]]),
    /** State cost Q (n × n, symmetric positive semi-definite). */
    Q: MatrixSchema.default(() => identity(2)),
    /** Control cost R (m × m, symmetric positive definite). */
    R: MatrixSchema.default(() => [[0.1]]),
    /** Standard deviation of the process noise on each state per step. */
    noiseStd: z.number().nonnegative().default(0.1),
    /** Standard deviation of each initial state entry. */
    initialStd: z.number().nonnegative().default(1),
    /** Clip actions to [−actionLimit, actionLimit]; null (default) leaves them unbounded. */
    actionLimit: z.number().positive().nullable().default(null),
  })
  .refine((o) => o.A.every((row) => row.length === o.A.length), { message: 'A must be square (n × n)', path: ['A'] })
  .refine((o) => o.B.length === o.A.length && o.B.every((row) => row.length === o.B[0].length), { message: 'B must be n × m (as many rows as A)', path: ['B'] })
  .refine((o) => o.Q.length === o.A.length && isSymmetric(o.Q) && isPositive(o.Q, false), { message: 'Q must be n × n, symmetric and positive semi-definite', path: ['Q'] })
  .refine((o) => o.R.length === o.B[0].length && isSymmetric(o.R) && isPositive(o.R, true), { message: 'R must be m × m, symmetric and positive definite', path: ['R'] });

/** Options as a user writes them. */
export type LqrOptions = z.input<typeof LqrOptionsSchema>;
/** Options with defaults applied. */
export type ResolvedLqrOptions = z.output<typeof LqrOptionsSchema>;

/** Validates options and fills defaults (throws a ValidationError naming the field). */
export function resolveLqrOptions(options: LqrOptions | ResolvedLqrOptions = {}): ResolvedLqrOptions {
  return parseWith(LqrOptionsSchema, options, ENV_ID);
}

/** The {@link LqrProblem} of env options: W = noiseStd² I, Σ0 = initialStd² I. */
export function lqrProblem(options: LqrOptions = {}): LqrProblem {
  const o = resolveLqrOptions(options);
  const n = o.A.length;
  const W = identity(n).map((row) => row.map((x) => x * o.noiseStd * o.noiseStd));
  const Sigma0 = identity(n).map((row) => row.map((x) => x * o.initialStd * o.initialStd));
  return { A: o.A, B: o.B, Q: o.Q, R: o.R, W, Sigma0 };
}

const riccatiCache = new Map<string, RiccatiSolution>();

/** The DARE solution of the env's system (cached per A, B, Q, R). */
export function lqrRiccati(options: LqrOptions = {}): RiccatiSolution {
  const o = resolveLqrOptions(options);
  const key = JSON.stringify([o.A, o.B, o.Q, o.R]);
  let sol = riccatiCache.get(key);
  if (!sol) {
    sol = solveDiscreteRiccati(o.A, o.B, o.Q, o.R);
    riccatiCache.set(key, sol);
  }
  return sol;
}

/** LQR-v0; see the module comment. */
export class Lqr implements Env<Float32Array, Float32Array>, StatefulEnv<Float64Array> {
  readonly observationSpace: Box;
  readonly actionSpace: Box;
  spec?: EnvSpec = undefined;
  readonly options: ResolvedLqrOptions;
  private readonly n: number;
  private readonly m: number;
  private readonly x: Float64Array;
  private readonly next: Float64Array;
  private readonly u: Float64Array;
  private started = false;
  private rng: Rng | undefined = undefined;

  constructor(options: LqrOptions = {}) {
    this.options = resolveLqrOptions(options);
    this.n = this.options.A.length;
    this.m = this.options.B[0].length;
    // Fail at construction, not mid-episode, when the system has no stabilising controller.
    lqrRiccati(this.options);
    this.x = new Float64Array(this.n);
    this.next = new Float64Array(this.n);
    this.u = new Float64Array(this.m);
    this.observationSpace = new Box(-Infinity, Infinity, [this.n]);
    const limit = this.options.actionLimit ?? Infinity;
    this.actionSpace = new Box(-limit, limit, [this.m]);
  }

  /** Draws x_0 ~ N(0, initialStd² I). */
  reset(opts?: ResetOptions): ResetResult<Float32Array> {
    const rng = (this.rng = seedEnvRng(this.rng, opts?.seed));
    for (let i = 0; i < this.n; i++) this.x[i] = rng.normal(0, this.options.initialStd);
    this.started = true;
    return { observation: Float32Array.from(this.x), info: {} };
  }

  /** Applies u (clipped when `actionLimit` is set); the reward is −(x'Qx + u'Ru) of the current x. */
  step(action: Float32Array | ArrayLike<number> | number): StepResult<Float32Array> {
    if (!this.started) throw new KairosError(`${ENV_ID}: step() before reset()`, 'reset_needed');
    this.readAction(action);
    const { A, B, Q, R, noiseStd } = this.options;
    const x = this.x;
    const u = this.u;
    let stateCost = 0;
    for (let i = 0; i < this.n; i++) for (let j = 0; j < this.n; j++) stateCost += x[i] * Q[i][j] * x[j];
    let controlCost = 0;
    for (let i = 0; i < this.m; i++) for (let j = 0; j < this.m; j++) controlCost += u[i] * R[i][j] * u[j];
    const rng = this.rng!;
    for (let i = 0; i < this.n; i++) {
      let s = 0;
      for (let j = 0; j < this.n; j++) s += A[i][j] * x[j];
      for (let j = 0; j < this.m; j++) s += B[i][j] * u[j];
      this.next[i] = s + (noiseStd > 0 ? noiseStd * rng.normal() : 0);
    }
    x.set(this.next);
    return {
      observation: Float32Array.from(x),
      reward: 0 - (stateCost + controlCost),
      terminated: false,
      truncated: false,
      info: { rewardVector: { state: 0 - stateCost, control: 0 - controlCost } },
    };
  }

  /** A copy of the state x. */
  getState(): Float64Array {
    return Float64Array.from(this.x);
  }

  /** Sets the state x (n finite numbers). */
  setState(state: ArrayLike<number>): void {
    copyState(ENV_ID, state, this.x, Array.from({ length: this.n }, (_, i) => `x${i}`));
  }

  private readAction(action: unknown): void {
    const limit = this.options.actionLimit ?? Infinity;
    const arr: ArrayLike<unknown> | undefined =
      typeof action === 'number' ? [action] : Array.isArray(action) || (ArrayBuffer.isView(action) && !(action instanceof DataView)) ? (action as ArrayLike<unknown>) : undefined;
    if (!arr || arr.length !== this.m) throw invalidActionError(ENV_ID, action, this.actionSpace, `expected ${this.m} number(s)`);
    for (let i = 0; i < this.m; i++) {
      const v = arr[i];
      if (typeof v !== 'number' || !Number.isFinite(v)) throw invalidActionError(ENV_ID, action, this.actionSpace, `expected finite numbers, received ${String(v)} at index ${i}`);
      this.u[i] = v < -limit ? -limit : v > limit ? limit : v;
    }
  }
}

/**
 * The Riccati controller u = −K x with the DARE gain of `options` (the optimal stationary
 * policy of the unbounded LQR).
 *
 * @example
 * const policy = lqrRiccatiPolicy({ R: [[1]] });
 * policy(Float32Array.of(1, 0)); // Float32Array [−K₁₁]
 */
export function lqrRiccatiPolicy(options: LqrOptions = {}): (obs: Float32Array) => Float32Array {
  return lqrLinearPolicy(lqrRiccati(options).K);
}

/** The linear policy u = −K x for any gain K (m × n). */
export function lqrLinearPolicy(K: Matrix): (obs: Float32Array) => Float32Array {
  const m = K.length;
  if (m === 0 || K.some((row) => row.length !== K[0].length)) throw new ValidationError('K', 'an m × n matrix', K, 'lqrLinearPolicy');
  const n = K[0].length;
  return (obs) => {
    const u = new Float32Array(m);
    for (let i = 0; i < m; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s -= K[i][j] * obs[j];
      u[i] = s;
    }
    return u;
  };
}

/** Registration of LQR-v0 (`envs/builtin.ts` registers it). */
export const lqrRegistration: EnvRegistration<ResolvedLqrOptions> = {
  id: ENV_ID,
  entryPoint: (opts) => new Lqr(opts),
  optionsSchema: LqrOptionsSchema as unknown as z.ZodType<ResolvedLqrOptions>,
  maxEpisodeSteps: 200,
  description: 'Linear-quadratic regulator (noisy double integrator by default); optimal cost from the discrete Riccati equation.',
};
