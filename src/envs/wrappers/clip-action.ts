/**
 * Clips continuous actions to the env's Box bounds before they reach the env
 * (Gymnasium 1.x `gymnasium.wrappers.ClipAction`). As in Gymnasium, the wrapper's action
 * space is the unbounded Box of the same shape and dtype: any real action is accepted,
 * e.g. a Gaussian policy's raw sample.
 *
 * The clipped action is written into one buffer owned by the wrapper and reused every
 * step (no allocation per step); the env reads it during `step` and must not keep it.
 *
 * @example
 * const env = new ClipAction(make('Pendulum-v1')); // torque in [-2, 2]
 * env.reset({ seed: 0 });
 * env.step(Float32Array.of(5)); // the env sees 2
 */
import { KairosError } from '../../core/errors.js';
import { Box, type NumericArray, type Space } from '../../core/spaces.js';
import type { Env, StepResult } from '../env.js';
import { Wrapper } from './wrapper.js';

/**
 * The Box action space of `env`, or a clear error naming the wrapper.
 *
 * @example
 * const box = requireBoxActionSpace(env, 'MyWrapper');
 */
export function requireBoxActionSpace(env: Env<any, any>, wrapper: string): Box<any> {
  const space = env.actionSpace;
  if (!(space instanceof Box)) {
    throw new KairosError(`${wrapper}: expected a Box action space, received ${String(space)}`, 'unsupported_space');
  }
  return space;
}

/**
 * Clips Box actions to the env's bounds (see the module comment).
 *
 * @example
 * new ClipAction(make('Pendulum-v1')).step(Float32Array.of(5)); // env sees 2
 */
export class ClipAction<Obs = unknown> extends Wrapper<Obs, ArrayLike<number>, Obs, NumericArray> {
  private readonly inner: Box<any>;
  private readonly space: Box<any>;
  private readonly buffer: NumericArray;

  constructor(env: Env<Obs, any>) {
    super(env);
    this.inner = requireBoxActionSpace(env, 'ClipAction');
    this.space = new Box(-Infinity, Infinity, this.inner.shape, this.inner.dtype);
    this.buffer = this.inner.zeros();
  }

  override get actionSpace(): Space<ArrayLike<number>> {
    return this.space as unknown as Space<ArrayLike<number>>;
  }

  override step(action: ArrayLike<number>): StepResult<Obs> {
    const { low, high, size } = this.inner;
    if (action.length !== size) {
      throw new KairosError(`ClipAction: expected an action of ${size} values, received ${action.length}`, 'invalid_action');
    }
    const out = this.buffer;
    for (let i = 0; i < size; i++) {
      const v = action[i];
      // NaN passes through unchanged, so the env's own validation reports it.
      out[i] = v < low[i] ? low[i] : v > high[i] ? high[i] : v;
    }
    return this.env.step(out);
  }
}
