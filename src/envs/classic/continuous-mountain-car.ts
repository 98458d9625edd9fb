/**
 * MountainCarContinuous-v0: Mountain Car with a continuous force in [-1, 1] and a reward
 * that charges for effort.
 *
 * Task from Moore (1990), see {@link MountainCar}; this variant follows Gymnasium 1.x
 * `gymnasium/envs/classic_control/continuous_mountain_car.py` (Sigaud's merge of the
 * FAReinforcement version with Gym's MountainCar): power 0.0015, goal at 0.45, reward
 * +100 on reaching the goal minus 0.1 * action^2 every step.
 *
 * Out-of-range actions are clipped to [-1, 1] for the dynamics, as Gymnasium does; the
 * effort penalty uses the action as given (Gymnasium squares `action[0]`, not the
 * clipped force).
 *
 * State: [position, velocity]. Gymnasium stores it as float32 after every step
 * (`np.array([position, velocity], dtype=np.float32)`) while reset and direct state
 * setting keep float64; this env rounds the same way so trajectories match.
 *
 * @example
 * const env = new MountainCarContinuous();
 * const { observation } = env.reset({ seed: 0 });
 * env.step(new Float32Array([observation[1] >= 0 ? 1 : -1]));
 */
import { ValidationError } from '../../core/errors.js';
import type { Rng } from '../../core/rng.js';
import { Box } from '../../core/spaces.js';
import { EMPTY_INFO, seedEnvRng } from '../env.js';
import type { Env, EnvSpec, ResetOptions, ResetResult, StatefulEnv, StepResult } from '../env.js';
import { copyState, parseResetBounds, readScalarAction } from './validation.js';

/** Options of {@link MountainCarContinuous}. */
export interface MountainCarContinuousOptions {
  /** Gymnasium's `goal_velocity`: the minimum velocity at the flag that ends the episode. Default 0. */
  goalVelocity?: number;
}

const ENV_ID = 'MountainCarContinuous-v0';
// Constants from Gymnasium's Continuous_MountainCarEnv.__init__.
const MIN_ACTION = -1.0;
const MAX_ACTION = 1.0;
const MIN_POSITION = -1.2;
const MAX_POSITION = 0.6;
const MAX_SPEED = 0.07;
/** 0.45 here (0.5 in the discrete env), from Arnaud de Broissia's version. */
const GOAL_POSITION = 0.45;
const POWER = 0.0015;

const STATE_NAMES = ['position', 'velocity'] as const;

/** Gymnasium's MountainCarContinuous-v0. Actions are arrays of one force, clipped to [-1, 1]. */
export class MountainCarContinuous implements Env<Float32Array, Float32Array | ArrayLike<number> | number>, StatefulEnv<Float64Array> {
  readonly observationSpace = new Box([MIN_POSITION, -MAX_SPEED], [MAX_POSITION, MAX_SPEED]);
  readonly actionSpace = new Box(MIN_ACTION, MAX_ACTION, [1]);
  spec?: EnvSpec = undefined;
  readonly goalVelocity: number;

  private position = 0;
  private velocity = 0;
  private rng: Rng | undefined = undefined;

  constructor(opts: MountainCarContinuousOptions = {}) {
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

  /**
   * Applies `action[0]` (clipped to [-1, 1]) times the engine power. A bare number is
   * accepted too. Throws a KairosError for a wrong length, NaN or an infinity.
   */
  step(action: Float32Array | ArrayLike<number> | number): StepResult<Float32Array> {
    const a = readScalarAction(ENV_ID, action, this.actionSpace);
    const force = a < MIN_ACTION ? MIN_ACTION : a > MAX_ACTION ? MAX_ACTION : a;
    let position = this.position;
    let velocity = this.velocity;
    velocity += force * POWER - 0.0025 * Math.cos(3 * position);
    if (velocity > MAX_SPEED) velocity = MAX_SPEED;
    if (velocity < -MAX_SPEED) velocity = -MAX_SPEED;
    position += velocity;
    if (position > MAX_POSITION) position = MAX_POSITION;
    if (position < MIN_POSITION) position = MIN_POSITION;
    // Inelastic collision with the left wall.
    if (position === MIN_POSITION && velocity < 0) velocity = 0;

    const terminated = position >= GOAL_POSITION && velocity >= this.goalVelocity;
    let reward = terminated ? 100.0 : 0;
    reward -= a * a * 0.1;

    // Gymnasium keeps the state as float32 from here on (see the module comment).
    this.position = Math.fround(position);
    this.velocity = Math.fround(velocity);
    return { observation: this.observe(), reward, terminated, truncated: false, info: EMPTY_INFO };
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
    return `MountainCarContinuous<${this.spec?.id ?? ENV_ID}>`;
  }

  private observe(): Float32Array {
    const o = new Float32Array(2);
    o[0] = this.position;
    o[1] = this.velocity;
    return o;
  }
}
