/**
 * Stacks the last `stackSize` observations along a new leading axis (Gymnasium 1.x
 * `gymnasium.wrappers.FrameStackObservation`): an observation of shape `s` becomes one
 * typed array of shape `[stackSize, ...s]` and the inner Box's dtype, oldest frame first,
 * newest last. After `reset` the missing history is padded with the reset observation
 * (`padding: 'reset'`, Gymnasium's default) or with zeros (`padding: 'zero'`).
 *
 * Frames are kept in a ring the wrapper owns; each returned observation is a fresh
 * array (observations belong to the caller), built with at most two `set` calls.
 *
 * @example
 * const env = new FrameStack(make('CartPole-v1'), 4);
 * env.observationSpace.shape;            // [4, 4]
 * const { observation } = env.reset({ seed: 0 }); // 4 copies of the first frame
 * env.step(1).observation.subarray(12);  // the newest frame
 */
import { ValidationError } from '../../core/errors.js';
import { Box, type NumericArray, type Space } from '../../core/spaces.js';
import type { Env, ResetOptions, ResetResult, StepResult } from '../env.js';
import { requireBoxObservationSpace } from './normalize-observation.js';
import { Wrapper } from './wrapper.js';

/** Options of {@link FrameStack}. */
export interface FrameStackOptions {
  /** How to fill the history after reset: the reset observation (default) or zeros. */
  padding?: 'reset' | 'zero';
}

/**
 * Stacks the last `stackSize` observations (see the module comment).
 *
 * @example
 * const env = new FrameStack(make('CartPole-v1'), 4, { padding: 'zero' });
 */
export class FrameStack<Act = unknown> extends Wrapper<NumericArray, Act, NumericArray, Act> {
  readonly stackSize: number;
  readonly padding: 'reset' | 'zero';
  private readonly space: Box<any>;
  private readonly frameSize: number;
  /** Ring of `stackSize` frames; `head` is the slot of the oldest frame. */
  private readonly ring: NumericArray;
  private head = 0;

  constructor(env: Env<NumericArray, Act>, stackSize: number, options: FrameStackOptions = {}) {
    super(env);
    const inner = requireBoxObservationSpace(env, 'FrameStack');
    if (!Number.isInteger(stackSize) || stackSize <= 0) throw new ValidationError('stackSize', 'a positive integer', stackSize, 'FrameStack');
    this.padding = options.padding ?? 'reset';
    if (this.padding !== 'reset' && this.padding !== 'zero') throw new ValidationError('padding', '"reset" or "zero"', this.padding, 'FrameStack');
    this.stackSize = stackSize;
    this.frameSize = inner.size;
    const tile = (b: Float64Array) => {
      const out = new Float64Array(stackSize * b.length);
      for (let k = 0; k < stackSize; k++) out.set(b, k * b.length);
      return out;
    };
    // Zero padding must lie in the space too; widen the bounds to include 0 if needed.
    const low = tile(inner.low);
    const high = tile(inner.high);
    if (this.padding === 'zero') for (let i = 0; i < low.length; i++) (low[i] = Math.min(low[i], 0)), (high[i] = Math.max(high[i], 0));
    this.space = new Box(low, high, [stackSize, ...inner.shape], inner.dtype);
    this.ring = this.space.zeros();
  }

  override get observationSpace(): Space<NumericArray> {
    return this.space as Space<NumericArray>;
  }

  override reset(opts?: ResetOptions): ResetResult<NumericArray> {
    const r = this.env.reset(opts);
    this.checkFrame(r.observation);
    this.head = 0;
    if (this.padding === 'zero') this.ring.fill(0);
    else for (let k = 0; k < this.stackSize - 1; k++) this.ring.set(r.observation, k * this.frameSize);
    this.ring.set(r.observation, (this.stackSize - 1) * this.frameSize);
    return { observation: this.stacked(), info: r.info };
  }

  override step(action: Act): StepResult<NumericArray> {
    const r = this.env.step(action);
    this.checkFrame(r.observation);
    // The oldest slot receives the newest frame; the oldest frame is then the next slot.
    this.ring.set(r.observation, this.head * this.frameSize);
    this.head = (this.head + 1) % this.stackSize;
    r.observation = this.stacked();
    return r;
  }

  /** The frames in order oldest → newest, as a new array. */
  private stacked(): NumericArray {
    const out = this.space.zeros() as NumericArray;
    const split = this.head * this.frameSize;
    out.set(this.ring.subarray(split), 0);
    out.set(this.ring.subarray(0, split), this.ring.length - split);
    return out;
  }

  private checkFrame(obs: NumericArray): void {
    if (obs.length !== this.frameSize) {
      throw new ValidationError('observation', `${this.frameSize} values`, obs.length, 'FrameStack');
    }
  }
}
