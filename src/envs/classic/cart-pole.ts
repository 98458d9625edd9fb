/**
 * CartPole-v1: balance a pole hinged on a cart by pushing the cart left or right.
 *
 * The system is Barto, Sutton & Anderson, "Neuronlike adaptive elements that can solve
 * difficult learning control problems", IEEE Trans. SMC 13(5), 1983, with the equations
 * of motion as corrected by Florian, "Correct equations for the dynamics of the
 * cart-pole system" (2007). Constants, integrator, reward, termination and spaces follow
 * Gymnasium 1.x `gymnasium/envs/classic_control/cartpole.py` (itself from Sutton's
 * `pole.c`).
 *
 * State (float64): [x, xDot, theta, thetaDot]. Observation: the same four values as
 * float32. Actions: 0 = push left, 1 = push right (force 10 N). Reward +1 per step,
 * including the terminating one. Terminates when |x| > 2.4 or |theta| > 12 degrees.
 *
 * @example
 * const env = new CartPole();
 * let { observation } = env.reset({ seed: 0 });
 * const r = env.step(observation[2] + observation[3] > 0 ? 1 : 0);
 */
import { ValidationError } from '../../core/errors.js';
import type { Rng } from '../../core/rng.js';
import { Box, Discrete } from '../../core/spaces.js';
import { EMPTY_INFO, seedEnvRng } from '../env.js';
import type { Env, EnvSpec, ResetOptions, ResetResult, StatefulEnv, StepResult } from '../env.js';
import { copyState, invalidActionError, parseResetBounds } from './validation.js';

/** How CartPole advances positions and velocities over one step of `TAU` seconds. */
export type KinematicsIntegrator = 'euler' | 'semi-implicit-euler';

/** Options of {@link CartPole}; names follow Gymnasium's, in camelCase. */
export interface CartPoleOptions {
  /**
   * Gymnasium's `sutton_barto_reward`: 0 per non-terminal step and -1 on termination,
   * as in the 1983 paper, instead of +1 per step. Default false.
   */
  suttonBartoReward?: boolean;
  /**
   * Gymnasium's `kinematics_integrator`: 'euler' (default; positions use the old
   * velocities) or 'semi-implicit-euler' (positions use the updated velocities).
   */
  kinematicsIntegrator?: KinematicsIntegrator;
}

const ENV_ID = 'CartPole-v1';
// Physical constants from Gymnasium's CartPoleEnv.__init__ (SI units).
const GRAVITY = 9.8;
const MASS_CART = 1.0;
const MASS_POLE = 0.1;
const TOTAL_MASS = MASS_POLE + MASS_CART;
/** Half the pole's length (Gymnasium's `length`; the pole's centre of mass). */
const LENGTH = 0.5;
const POLE_MASS_LENGTH = MASS_POLE * LENGTH;
const FORCE_MAG = 10.0;
/** Seconds between state updates. */
const TAU = 0.02;
/** 12 degrees, written as Gymnasium computes it so the float64 value is identical. */
const THETA_THRESHOLD = (12 * 2 * Math.PI) / 360;
const X_THRESHOLD = 2.4;

const STATE_NAMES = ['x', 'xDot', 'theta', 'thetaDot'] as const;

/** Gymnasium's CartPole-v1 with float64 internal state and float32 observations. */
export class CartPole implements Env<Float32Array, number>, StatefulEnv<Float64Array> {
  /**
   * Twice the termination thresholds for x and theta, so the observation on the
   * terminating step still lies inside the space (Gymnasium's comment).
   */
  readonly observationSpace = new Box(
    [-X_THRESHOLD * 2, -Infinity, -THETA_THRESHOLD * 2, -Infinity],
    [X_THRESHOLD * 2, Infinity, THETA_THRESHOLD * 2, Infinity],
  );
  readonly actionSpace = new Discrete(2);
  spec?: EnvSpec = undefined;

  readonly suttonBartoReward: boolean;
  readonly kinematicsIntegrator: KinematicsIntegrator;

  // State in plain fields rather than an array: the step reads and writes each once.
  private x = 0;
  private xDot = 0;
  private theta = 0;
  private thetaDot = 0;
  /** Gymnasium's `steps_beyond_terminated`; -1 stands for None. */
  private beyond = -1;
  private readonly semiImplicit: boolean;
  private readonly aliveReward: number;
  private readonly terminalReward: number;
  private readonly afterTerminalReward: number;
  private rng: Rng | undefined = undefined;

  constructor(opts: CartPoleOptions = {}) {
    this.suttonBartoReward = opts.suttonBartoReward ?? false;
    this.kinematicsIntegrator = opts.kinematicsIntegrator ?? 'euler';
    if (this.kinematicsIntegrator !== 'euler' && this.kinematicsIntegrator !== 'semi-implicit-euler') {
      throw new ValidationError('kinematicsIntegrator', '"euler" or "semi-implicit-euler"', this.kinematicsIntegrator, ENV_ID);
    }
    this.semiImplicit = this.kinematicsIntegrator === 'semi-implicit-euler';
    // Rewards precomputed so the step does not branch on the reward scheme.
    this.aliveReward = this.suttonBartoReward ? 0.0 : 1.0;
    this.terminalReward = this.suttonBartoReward ? -1.0 : 1.0;
    this.afterTerminalReward = this.suttonBartoReward ? -1.0 : 0.0;
  }

  /**
   * Steps taken after the episode terminated, or null while it has not terminated.
   * Gymnasium warns when this becomes 1 ("any further steps are undefined behaviour");
   * Kairos records it here instead of printing (those steps give reward 0, or -1 with
   * the Sutton-Barto reward). `make()`'s OrderEnforcing wrapper throws before that.
   */
  get stepsBeyondTerminated(): number | null {
    return this.beyond < 0 ? null : this.beyond;
  }

  /**
   * Starts an episode: each state variable uniform in [-0.05, 0.05), or in
   * `[options.low, options.high)` when given.
   */
  reset(opts?: ResetOptions): ResetResult<Float32Array> {
    const [low, high] = parseResetBounds(ENV_ID, opts?.options, -0.05, 0.05);
    const rng = (this.rng = seedEnvRng(this.rng, opts?.seed));
    this.x = rng.uniform(low, high);
    this.xDot = rng.uniform(low, high);
    this.theta = rng.uniform(low, high);
    this.thetaDot = rng.uniform(low, high);
    this.beyond = -1;
    return { observation: this.observe(), info: EMPTY_INFO };
  }

  /** Pushes the cart: 0 = left, 1 = right. */
  step(action: number): StepResult<Float32Array> {
    if (action !== 0 && action !== 1) throw invalidActionError(ENV_ID, action, this.actionSpace);
    let x = this.x;
    let xDot = this.xDot;
    let theta = this.theta;
    let thetaDot = this.thetaDot;
    const force = action === 1 ? FORCE_MAG : -FORCE_MAG;
    const cosTheta = Math.cos(theta);
    const sinTheta = Math.sin(theta);
    // Florian (2007), eqs. 23-24 with zero friction; same operation order as Gymnasium
    // so results agree to the last bit where the libm does.
    const temp = (force + POLE_MASS_LENGTH * (thetaDot * thetaDot) * sinTheta) / TOTAL_MASS;
    const thetaAcc =
      (GRAVITY * sinTheta - cosTheta * temp) /
      (LENGTH * (4.0 / 3.0 - (MASS_POLE * (cosTheta * cosTheta)) / TOTAL_MASS));
    const xAcc = temp - (POLE_MASS_LENGTH * thetaAcc * cosTheta) / TOTAL_MASS;

    if (this.semiImplicit) {
      xDot = xDot + TAU * xAcc;
      x = x + TAU * xDot;
      thetaDot = thetaDot + TAU * thetaAcc;
      theta = theta + TAU * thetaDot;
    } else {
      x = x + TAU * xDot;
      xDot = xDot + TAU * xAcc;
      theta = theta + TAU * thetaDot;
      thetaDot = thetaDot + TAU * thetaAcc;
    }
    this.x = x;
    this.xDot = xDot;
    this.theta = theta;
    this.thetaDot = thetaDot;

    const terminated = x < -X_THRESHOLD || x > X_THRESHOLD || theta < -THETA_THRESHOLD || theta > THETA_THRESHOLD;
    let reward = this.aliveReward;
    if (terminated) {
      if (this.beyond < 0) {
        this.beyond = 0; // the pole just fell
        reward = this.terminalReward;
      } else {
        this.beyond++;
        reward = this.afterTerminalReward;
      }
    }

    const observation = new Float32Array(4);
    observation[0] = x;
    observation[1] = xDot;
    observation[2] = theta;
    observation[3] = thetaDot;
    return { observation, reward, terminated, truncated: false, info: EMPTY_INFO };
  }

  /** A copy of the internal state [x, xDot, theta, thetaDot]. */
  getState(): Float64Array {
    const s = new Float64Array(4);
    s[0] = this.x;
    s[1] = this.xDot;
    s[2] = this.theta;
    s[3] = this.thetaDot;
    return s;
  }

  /**
   * Sets the internal state [x, xDot, theta, thetaDot] (Gymnasium's
   * `env.unwrapped.state = ...`) and clears the after-termination counter, so stepping
   * continues from exactly this state.
   *
   * @example
   * env.reset({ seed: 0 });
   * env.setState([0, 0, 0.1, 0]);
   * @throws ValidationError unless `state` holds 4 finite numbers.
   */
  setState(state: ArrayLike<number>): void {
    const s = new Float64Array(4);
    copyState(ENV_ID, state, s, STATE_NAMES);
    this.x = s[0];
    this.xDot = s[1];
    this.theta = s[2];
    this.thetaDot = s[3];
    this.beyond = -1;
  }

  toString(): string {
    return `CartPole<${this.spec?.id ?? ENV_ID}>`;
  }

  private observe(): Float32Array {
    const o = new Float32Array(4);
    o[0] = this.x;
    o[1] = this.xDot;
    o[2] = this.theta;
    o[3] = this.thetaDot;
    return o;
  }
}
