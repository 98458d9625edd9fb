/**
 * MountainCar-v0: an under-powered car in a valley must rock back and forth to build
 * enough momentum to reach the flag on the right hill.
 *
 * The task is from Moore, "Efficient memory-based learning for robot control", PhD
 * thesis, University of Cambridge, 1990 (tech. report UCAM-CL-TR-209), in the form of
 * Sutton's `MountainCar1.cp`. Constants, dynamics, reward, termination and spaces
 * follow Gymnasium 1.x `gymnasium/envs/classic_control/mountain_car.py`.
 *
 * State (float64): [position, velocity]. Actions: 0 = accelerate left, 1 = none,
 * 2 = right. Reward -1 per step. Terminates when position >= 0.5 and
 * velocity >= goalVelocity.
 *
 * @example
 * const env = new MountainCar();
 * const { observation } = env.reset({ seed: 0 });
 * env.step(observation[1] >= 0 ? 2 : 0);
 */
import { ValidationError } from '../../core/errors.js';
import type { Rng } from '../../core/rng.js';
import { Box, Discrete } from '../../core/spaces.js';
import { EMPTY_INFO, seedEnvRng } from '../env.js';
import type { Env, EnvSpec, ResetOptions, ResetResult, StatefulEnv, StepResult } from '../env.js';
import { copyState, invalidActionError, parseResetBounds } from './validation.js';

/** Options of {@link MountainCar}. */
export interface MountainCarOptions {
  /** Gymnasium's `goal_velocity`: the minimum velocity at the flag that ends the episode. Default 0. */
  goalVelocity?: number;
}

const ENV_ID = 'MountainCar-v0';
// Constants from Gymnasium's MountainCarEnv.__init__.
const MIN_POSITION = -1.2;
const MAX_POSITION = 0.6;
const MAX_SPEED = 0.07;
const GOAL_POSITION = 0.5;
const FORCE = 0.001;
const GRAVITY = 0.0025;

const STATE_NAMES = ['position', 'velocity'] as const;

/** Gymnasium's MountainCar-v0 (discrete actions). */
export class MountainCar implements Env<Float32Array, number>, StatefulEnv<Float64Array> {
  readonly observationSpace = new Box([MIN_POSITION, -MAX_SPEED], [MAX_POSITION, MAX_SPEED]);
  readonly actionSpace = new Discrete(3);
  spec?: EnvSpec = undefined;
  readonly goalVelocity: number;

  private position = 0;
  private velocity = 0;
  private rng: Rng | undefined = undefined;

  constructor(opts: MountainCarOptions = {}) {
    this.goalVelocity = opts.goalVelocity ?? 0;
    if (typeof this.goalVelocity !== 'number' || Number.isNaN(this.goalVelocity)) {
      throw new ValidationError('goalVelocity', 'a number', this.goalVelocity, ENV_ID);
    }
  }

  /** Starts at rest, position uniform in [-0.6, -0.4) or `[options.low, options.high)`. */
  reset(opts?: ResetOptions): ResetResult<Float32Array> {
    const [low, high] = parseResetBounds(ENV_ID, opts?.options, -0.6, -0.4);
    this.rng = seedEnvRng(this.rng, opts?.seed);
    this.position = this.rng.uniform(low, high);
    this.velocity = 0;
    return { observation: this.observe(), info: EMPTY_INFO };
  }

  /** Accelerates: 0 = left, 1 = none, 2 = right. */
  step(action: number): StepResult<Float32Array> {
    if (action !== 0 && action !== 1 && action !== 2) throw invalidActionError(ENV_ID, action, this.actionSpace);
    let position = this.position;
    let velocity = this.velocity;
    // Same grouping as Gymnasium: v += (a - 1) * force + cos(3 p) * (-gravity).
    velocity += (action - 1) * FORCE + Math.cos(3 * position) * -GRAVITY;
    velocity = velocity < -MAX_SPEED ? -MAX_SPEED : velocity > MAX_SPEED ? MAX_SPEED : velocity;
    position += velocity;
    position = position < MIN_POSITION ? MIN_POSITION : position > MAX_POSITION ? MAX_POSITION : position;
    // Inelastic collision with the left wall.
    if (position === MIN_POSITION && velocity < 0) velocity = 0;
    this.position = position;
    this.velocity = velocity;
    const terminated = position >= GOAL_POSITION && velocity >= this.goalVelocity;
    return { observation: this.observe(), reward: -1.0, terminated, truncated: false, info: EMPTY_INFO };
  }

  /** A copy of the internal state [position, velocity]. */
  getState(): Float64Array {
    const s = new Float64Array(2);
    s[0] = this.position;
    s[1] = this.velocity;
    return s;
  }

  /**
   * Sets the internal state [position, velocity] (Gymnasium's `env.unwrapped.state`).
   *
   * @example
   * env.reset({ seed: 0 });
   * env.setState([-0.5, 0.01]);
   * @throws ValidationError unless `state` holds 2 finite numbers.
   */
  setState(state: ArrayLike<number>): void {
    const s = new Float64Array(2);
    copyState(ENV_ID, state, s, STATE_NAMES);
    this.position = s[0];
    this.velocity = s[1];
  }

  toString(): string {
    return `MountainCar<${this.spec?.id ?? ENV_ID}>`;
  }

  private observe(): Float32Array {
    const o = new Float32Array(2);
    o[0] = this.position;
    o[1] = this.velocity;
    return o;
  }
}
