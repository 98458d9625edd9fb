/**
 * Affinely maps actions from `[minAction, maxAction]` onto the env's Box bounds
 * (Gymnasium 1.x `gymnasium.wrappers.RescaleAction`): with
 * `gradient = (high - low) / (max - min)` and `intercept = low - gradient * min`,
 * the env receives `clip(gradient * a + intercept, low, high)`. The wrapper's action
 * space is `Box(minAction, maxAction)`; the default `[-1, 1]` suits tanh-squashed
 * policies (SAC, TD3).
 *
 * The rescaled action is written into one buffer reused every step (no allocation per
 * step); the env reads it during `step` and must not keep it.
 *
 * @example
 * const env = new RescaleAction(make('Pendulum-v1'), -1, 1); // torque in [-2, 2]
 * env.reset({ seed: 0 });
 * env.step(Float32Array.of(0.5)); // the env sees 1
 */
import { KairosError, ValidationError } from '../../core/errors.js';
import { Box, type NumericArray, type Space } from '../../core/spaces.js';
import type { Env, StepResult } from '../env.js';
import { requireBoxActionSpace } from './clip-action.js';
import { Wrapper } from './wrapper.js';

/**
 * Maps actions from [min, max] onto the env's bounds (see the module comment).
 *
 * @example
 * const env = new RescaleAction(make('MountainCarContinuous-v0'), -1, 1);
 */
export class RescaleAction<Obs = unknown> extends Wrapper<Obs, ArrayLike<number>, Obs, NumericArray> {
  private readonly inner: Box<any>;
  private readonly space: Box<any>;
  private readonly gradient: Float64Array;
  private readonly intercept: Float64Array;
  private readonly buffer: NumericArray;

  /**
   * @param minAction scalar (broadcast) or per-dimension lower bound of the new range
   * @param maxAction scalar or per-dimension upper bound of the new range
   */
  constructor(env: Env<Obs, any>, minAction: number | ArrayLike<number> = -1, maxAction: number | ArrayLike<number> = 1) {
    super(env);
    const inner = (this.inner = requireBoxActionSpace(env, 'RescaleAction'));
    if (!inner.isBounded()) {
      throw new KairosError(`RescaleAction: expected a bounded Box action space, received ${String(inner)}`, 'unsupported_space');
    }
    this.space = new Box(minAction, maxAction, inner.shape, inner.dtype);
    const n = inner.size;
    this.gradient = new Float64Array(n);
    this.intercept = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const lo = this.space.low[i];
      const hi = this.space.high[i];
      if (!Number.isFinite(lo) || !Number.isFinite(hi) || !(lo < hi)) {
        throw new ValidationError(`minAction[${i}]`, `a finite number below maxAction[${i}] = ${hi}`, lo, 'RescaleAction');
      }
      this.gradient[i] = (inner.high[i] - inner.low[i]) / (hi - lo);
      this.intercept[i] = inner.low[i] - this.gradient[i] * lo;
    }
    this.buffer = inner.zeros();
  }

  override get actionSpace(): Space<ArrayLike<number>> {
    return this.space as unknown as Space<ArrayLike<number>>;
  }

  override step(action: ArrayLike<number>): StepResult<Obs> {
    const { low, high, size } = this.inner;
    if (action.length !== size) {
      throw new KairosError(`RescaleAction: expected an action of ${size} values, received ${action.length}`, 'invalid_action');
    }
    const out = this.buffer;
    for (let i = 0; i < size; i++) {
      const v = this.gradient[i] * action[i] + this.intercept[i];
      out[i] = v < low[i] ? low[i] : v > high[i] ? high[i] : v;
    }
    return this.env.step(out);
  }
}
