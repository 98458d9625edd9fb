/**
 * Pendulum-v1: swing a torque-limited pendulum up and keep it upright.
 *
 * The inverted-pendulum swing-up is a classic control-theory problem (the torque limit
 * is below what holding it horizontal needs, so it must be swung up). Constants,
 * dynamics (semi-implicit Euler, dt = 0.05), cost and spaces follow Gymnasium 1.x
 * `gymnasium/envs/classic_control/pendulum.py`:
 *
 *   thetaDot' = clip(thetaDot + (3g / (2l) sin(theta) + 3 / (m l^2) u) dt, -8, 8)
 *   theta'    = theta + thetaDot' dt
 *   reward    = -(normalize(theta)^2 + 0.1 thetaDot^2 + 0.001 u^2)
 *
 * with theta = 0 upright and u the torque clipped to [-2, 2]. Never terminates (the
 * registered time limit of 200 steps truncates). Observation: [cos theta, sin theta,
 * thetaDot] as float32.
 *
 * @example
 * const env = new Pendulum({ g: 9.81 });
 * env.reset({ seed: 0, options: { x_init: 0.1, y_init: 0.1 } });
 * env.step(new Float32Array([0.5]));
 */
import { ValidationError } from '../../core/errors.js';
import type { Rng } from '../../core/rng.js';
import { Box } from '../../core/spaces.js';
import { EMPTY_INFO, seedEnvRng } from '../env.js';
import type { Env, EnvSpec, ResetOptions, ResetResult, StatefulEnv, StepResult } from '../env.js';
import { copyState, readNumberOption, readScalarAction } from './validation.js';

/** Options of {@link Pendulum}. */
export interface PendulumOptions {
  /** Gravitational acceleration in m/s^2 (Gymnasium's `g`). Default 10.0. */
  g?: number;
}

const ENV_ID = 'Pendulum-v1';
// Constants from Gymnasium's PendulumEnv.__init__.
const MAX_SPEED = 8;
const MAX_TORQUE = 2.0;
const DT = 0.05;
const M = 1.0;
const L = 1.0;
/** Default half-widths of the initial angle and angular velocity (DEFAULT_X, DEFAULT_Y). */
const DEFAULT_X = Math.PI;
const DEFAULT_Y = 1.0;
const TWO_PI = 2 * Math.PI;

const STATE_NAMES = ['theta', 'thetaDot'] as const;

/**
 * Wraps an angle into [-pi, pi) exactly like Gymnasium's `angle_normalize`
 * (`((x + pi) % (2 pi)) - pi` with Python's floored modulo; JS `%` truncates, so a
 * negative remainder is shifted by 2 pi, as numpy's `remainder` does).
 *
 * @example
 * normalizeAngle(3 * Math.PI / 2); // -pi/2
 */
export function normalizeAngle(x: number): number {
  let r = (x + Math.PI) % TWO_PI;
  if (r < 0) r += TWO_PI;
  return r - Math.PI;
}

/** Gymnasium's Pendulum-v1. Actions are arrays of one torque, clipped to [-2, 2]. */
export class Pendulum implements Env<Float32Array, Float32Array | ArrayLike<number> | number>, StatefulEnv<Float64Array> {
  readonly observationSpace = new Box([-1.0, -1.0, -MAX_SPEED], [1.0, 1.0, MAX_SPEED]);
  readonly actionSpace = new Box(-MAX_TORQUE, MAX_TORQUE, [1]);
  spec?: EnvSpec = undefined;
  readonly g: number;

  private theta = 0;
  private thetaDot = 0;
  /** Angular acceleration per unit sin(theta), 3g / (2l), computed as Gymnasium groups it. */
  private readonly gravityTerm: number;
  private rng: Rng | undefined = undefined;

  constructor(opts: PendulumOptions = {}) {
    this.g = opts.g ?? 10.0;
    if (typeof this.g !== 'number' || !Number.isFinite(this.g)) throw new ValidationError('g', 'a finite number', this.g, ENV_ID);
    this.gravityTerm = (3 * this.g) / (2 * L);
  }

  /**
   * Starts with theta uniform in [-x_init, x_init) and thetaDot in [-y_init, y_init);
   * by default x_init = pi, y_init = 1 (Gymnasium's `options` keys `x_init`, `y_init`).
   */
  reset(opts?: ResetOptions): ResetResult<Float32Array> {
    const x = readNumberOption(ENV_ID, opts?.options, 'x_init', DEFAULT_X);
    const y = readNumberOption(ENV_ID, opts?.options, 'y_init', DEFAULT_Y);
    this.rng = seedEnvRng(this.rng, opts?.seed);
    // Gymnasium enforces symmetric limits: low = -high.
    this.theta = this.rng.uniform(-x, x);
    this.thetaDot = this.rng.uniform(-y, y);
    return { observation: this.observe(), info: EMPTY_INFO };
  }

  /**
   * Applies torque `action[0]`, clipped to [-2, 2] (a bare number is accepted too).
   * Throws a KairosError for a wrong length, NaN or an infinity.
   */
  step(action: Float32Array | ArrayLike<number> | number): StepResult<Float32Array> {
    const a = readScalarAction(ENV_ID, action, this.actionSpace);
    const u = a < -MAX_TORQUE ? -MAX_TORQUE : a > MAX_TORQUE ? MAX_TORQUE : a;
    const th = this.theta;
    const thDot = this.thetaDot;
    const thN = normalizeAngle(th);
    const costs = thN * thN + 0.1 * (thDot * thDot) + 0.001 * (u * u);

    let newThDot = thDot + (this.gravityTerm * Math.sin(th) + (3.0 / (M * L * L)) * u) * DT;
    newThDot = newThDot < -MAX_SPEED ? -MAX_SPEED : newThDot > MAX_SPEED ? MAX_SPEED : newThDot;
    this.theta = th + newThDot * DT;
    this.thetaDot = newThDot;
    return { observation: this.observe(), reward: -costs, terminated: false, truncated: false, info: EMPTY_INFO };
  }

  /** A copy of the internal state [theta, thetaDot] (theta unwrapped, 0 = upright). */
  getState(): Float64Array {
    const s = new Float64Array(2);
    s[0] = this.theta;
    s[1] = this.thetaDot;
    return s;
  }

  /**
   * Sets the internal state [theta, thetaDot] (Gymnasium's `env.unwrapped.state`).
   *
   * @example
   * env.reset({ seed: 0 });
   * env.setState([Math.PI, 0]); // hanging straight down, at rest
   * @throws ValidationError unless `state` holds 2 finite numbers.
   */
  setState(state: ArrayLike<number>): void {
    const s = new Float64Array(2);
    copyState(ENV_ID, state, s, STATE_NAMES);
    this.theta = s[0];
    this.thetaDot = s[1];
  }

  toString(): string {
    return `Pendulum<${this.spec?.id ?? ENV_ID}>`;
  }

  private observe(): Float32Array {
    const o = new Float32Array(3);
    o[0] = Math.cos(this.theta);
    o[1] = Math.sin(this.theta);
    o[2] = this.thetaDot;
    return o;
  }
}
