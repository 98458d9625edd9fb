/**
 * Acrobot-v1: a two-link pendulum actuated only at the elbow must swing its tip above a
 * line one link-length over the shoulder.
 *
 * The task is Sutton, "Generalization in reinforcement learning: successful examples
 * using sparse coarse coding", NIPS 8, 1996, with the equations of motion of Sutton &
 * Barto, "Reinforcement Learning: An Introduction" (the "book" dynamics, which include a
 * term the NIPS paper omits; Sutton confirmed the book's were used for the published
 * results). Constants, the single 4th-order Runge-Kutta step of dt = 0.2 s, angle
 * wrapping, velocity bounds, reward and spaces follow Gymnasium 1.x
 * `gymnasium/envs/classic_control/acrobot.py` (from RLPy's Acrobot).
 *
 * State (float64): [theta1, theta2, dtheta1, dtheta2], theta1 = 0 hanging down, theta2
 * relative to link 1. Observation: [cos theta1, sin theta1, cos theta2, sin theta2,
 * dtheta1, dtheta2] as float32. Actions: 0, 1, 2 = torque -1, 0, +1 on the elbow.
 * Reward -1 per step, 0 on the terminating step.
 *
 * @example
 * const env = new Acrobot();
 * const { observation } = env.reset({ seed: 0 });
 * env.step(observation[4] > 0 ? 2 : 0);
 */
import { ValidationError } from '../../core/errors.js';
import type { Rng } from '../../core/rng.js';
import { Box, Discrete } from '../../core/spaces.js';
import { EMPTY_INFO, seedEnvRng } from '../env.js';
import type { Env, EnvSpec, ResetOptions, ResetResult, StatefulEnv, StepResult } from '../env.js';
import { copyState, invalidActionError, parseResetBounds } from './validation.js';

/** Which equations of motion to integrate (Gymnasium's `book_or_nips`). */
export type AcrobotDynamics = 'book' | 'nips';

/** Options of {@link Acrobot}. */
export interface AcrobotOptions {
  /**
   * 'book' (default, Sutton & Barto) or 'nips' (Sutton 1996 as printed, without the
   * dtheta1^2 sin(theta2) term in the elbow acceleration).
   */
  bookOrNips?: AcrobotDynamics;
}

const ENV_ID = 'Acrobot-v1';
// Constants from Gymnasium's AcrobotEnv class attributes (SI units).
const DT = 0.2;
const LINK_LENGTH_1 = 1.0;
const LINK_MASS_1 = 1.0;
const LINK_MASS_2 = 1.0;
/** Positions of the links' centres of mass. */
const LINK_COM_POS_1 = 0.5;
const LINK_COM_POS_2 = 0.5;
/** Moment of inertia of both links. */
const LINK_MOI = 1.0;
const G = 9.8;
const MAX_VEL_1 = 4 * Math.PI;
const MAX_VEL_2 = 9 * Math.PI;
const PI = Math.PI;
/** `wrap`'s period, M - m with m = -pi, M = pi. */
const TWO_PI = PI - -PI;

const STATE_NAMES = ['theta1', 'theta2', 'dtheta1', 'dtheta2'] as const;

/** Gymnasium's Acrobot-v1. */
export class Acrobot implements Env<Float32Array, number>, StatefulEnv<Float64Array> {
  readonly observationSpace = new Box([-1, -1, -1, -1, -MAX_VEL_1, -MAX_VEL_2], [1, 1, 1, 1, MAX_VEL_1, MAX_VEL_2]);
  readonly actionSpace = new Discrete(3);
  spec?: EnvSpec = undefined;
  readonly bookOrNips: AcrobotDynamics;

  private readonly s = new Float64Array(4);
  // RK4 scratch, preallocated so a step allocates only its observation and result.
  private readonly k1 = new Float64Array(4);
  private readonly k2 = new Float64Array(4);
  private readonly k3 = new Float64Array(4);
  private readonly k4 = new Float64Array(4);
  private readonly tmp = new Float64Array(4);
  private readonly book: boolean;
  private rng: Rng | undefined = undefined;

  constructor(opts: AcrobotOptions = {}) {
    this.bookOrNips = opts.bookOrNips ?? 'book';
    if (this.bookOrNips !== 'book' && this.bookOrNips !== 'nips') {
      throw new ValidationError('bookOrNips', '"book" or "nips"', this.bookOrNips, ENV_ID);
    }
    this.book = this.bookOrNips === 'book';
  }

  /**
   * Starts with each state variable uniform in [-0.1, 0.1) (or
   * `[options.low, options.high)`), rounded to float32 as Gymnasium's reset does.
   */
  reset(opts?: ResetOptions): ResetResult<Float32Array> {
    const [low, high] = parseResetBounds(ENV_ID, opts?.options, -0.1, 0.1);
    const rng = (this.rng = seedEnvRng(this.rng, opts?.seed));
    for (let i = 0; i < 4; i++) this.s[i] = Math.fround(rng.uniform(low, high));
    return { observation: this.observe(), info: EMPTY_INFO };
  }

  /** Applies torque -1, 0 or +1 (actions 0, 1, 2) to the elbow for 0.2 s. */
  step(action: number): StepResult<Float32Array> {
    if (action !== 0 && action !== 1 && action !== 2) throw invalidActionError(ENV_ID, action, this.actionSpace);
    const torque = action - 1; // Gymnasium's AVAIL_TORQUE = [-1, 0, +1]
    const s = this.s;
    const { k1, k2, k3, k4, tmp } = this;

    // One classical RK4 step over [0, dt] (Gymnasium's `rk4` with t = [0, dt]); the
    // torque is held constant, as the augmented state's zero derivative does there.
    const dt2 = DT / 2.0;
    this.derivs(s, torque, k1);
    for (let i = 0; i < 4; i++) tmp[i] = s[i] + dt2 * k1[i];
    this.derivs(tmp, torque, k2);
    for (let i = 0; i < 4; i++) tmp[i] = s[i] + dt2 * k2[i];
    this.derivs(tmp, torque, k3);
    for (let i = 0; i < 4; i++) tmp[i] = s[i] + DT * k3[i];
    this.derivs(tmp, torque, k4);
    for (let i = 0; i < 4; i++) s[i] = s[i] + (DT / 6.0) * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]);

    s[0] = wrap(s[0]);
    s[1] = wrap(s[1]);
    s[2] = bound(s[2], -MAX_VEL_1, MAX_VEL_1);
    s[3] = bound(s[3], -MAX_VEL_2, MAX_VEL_2);

    // Tip height above the shoulder, in link lengths, exceeds 1.
    const terminated = -Math.cos(s[0]) - Math.cos(s[1] + s[0]) > 1.0;
    return { observation: this.observe(), reward: terminated ? 0.0 : -1.0, terminated, truncated: false, info: EMPTY_INFO };
  }

  /** A copy of the internal state [theta1, theta2, dtheta1, dtheta2]. */
  getState(): Float64Array {
    return Float64Array.from(this.s);
  }

  /**
   * Sets the internal state [theta1, theta2, dtheta1, dtheta2] (Gymnasium's
   * `env.unwrapped.state`). Values are taken as given: angles are wrapped and
   * velocities bounded only by the next step, as in Gymnasium.
   *
   * @example
   * env.reset({ seed: 0 });
   * env.setState([0, 0, 0, 0]); // hanging straight down, at rest
   * @throws ValidationError unless `state` holds 4 finite numbers.
   */
  setState(state: ArrayLike<number>): void {
    const s = new Float64Array(4);
    copyState(ENV_ID, state, s, STATE_NAMES);
    this.s.set(s);
  }

  toString(): string {
    return `Acrobot<${this.spec?.id ?? ENV_ID}>`;
  }

  /**
   * Time derivative of the state under elbow torque `a` (Gymnasium's `_dsdt`; the
   * manipulator equations of Sutton & Barto), written into `out`. The operations keep
   * Gymnasium's order so float64 results agree closely.
   */
  private derivs(y: Float64Array, a: number, out: Float64Array): void {
    const m1 = LINK_MASS_1;
    const m2 = LINK_MASS_2;
    const l1 = LINK_LENGTH_1;
    const lc1 = LINK_COM_POS_1;
    const lc2 = LINK_COM_POS_2;
    const I1 = LINK_MOI;
    const I2 = LINK_MOI;
    const theta1 = y[0];
    const theta2 = y[1];
    const dtheta1 = y[2];
    const dtheta2 = y[3];
    const cos2 = Math.cos(theta2);
    const sin2 = Math.sin(theta2);
    const d1 = m1 * lc1 * lc1 + m2 * (l1 * l1 + lc2 * lc2 + 2 * l1 * lc2 * cos2) + I1 + I2;
    const d2 = m2 * (lc2 * lc2 + l1 * lc2 * cos2) + I2;
    const phi2 = m2 * lc2 * G * Math.cos(theta1 + theta2 - PI / 2.0);
    const phi1 =
      -m2 * l1 * lc2 * (dtheta2 * dtheta2) * sin2 -
      2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * sin2 +
      (m1 * lc1 + m2 * l1) * G * Math.cos(theta1 - PI / 2) +
      phi2;
    let ddtheta2: number;
    if (this.book) {
      // Consistent with the book and Sutton's Java implementation.
      ddtheta2 =
        (a + (d2 / d1) * phi1 - m2 * l1 * lc2 * (dtheta1 * dtheta1) * sin2 - phi2) / (m2 * lc2 * lc2 + I2 - (d2 * d2) / d1);
    } else {
      // As printed in the NIPS paper.
      ddtheta2 = (a + (d2 / d1) * phi1 - phi2) / (m2 * lc2 * lc2 + I2 - (d2 * d2) / d1);
    }
    const ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
    out[0] = dtheta1;
    out[1] = dtheta2;
    out[2] = ddtheta1;
    out[3] = ddtheta2;
  }

  private observe(): Float32Array {
    const s = this.s;
    const o = new Float32Array(6);
    o[0] = Math.cos(s[0]);
    o[1] = Math.sin(s[0]);
    o[2] = Math.cos(s[1]);
    o[3] = Math.sin(s[1]);
    o[4] = s[2];
    o[5] = s[3];
    return o;
  }
}

/** Gymnasium's `wrap(x, -pi, pi)`: shifts by whole periods into [-pi, pi]. */
function wrap(x: number): number {
  while (x > PI) x = x - TWO_PI;
  while (x < -PI) x = x + TWO_PI;
  return x;
}

/** Gymnasium's `bound(x, m, M)` = min(max(x, m), M). */
function bound(x: number, m: number, M: number): number {
  return Math.min(Math.max(x, m), M);
}
