/**
 * Steps a contiguous slice of sub-envs and writes their results into batched arrays.
 * `SyncVectorEnv` runs one runner over all sub-envs; each `WorkerVectorEnv` worker runs
 * one over its slice, writing straight into shared memory. Sharing this code is what
 * makes the two give identical trajectories for the same seeds.
 *
 * The per-step loop allocates nothing of its own: observations are copied into the
 * batched array, actions into per-sub-env buffers of the action space's dtype (the env
 * reads its action during `step` and must not keep it), infos are stored by reference.
 *
 * @example
 * const runner = new SubEnvRunner(envs, 0, 'next-step', buffers, observationLayout(s), actionLayout(a));
 * runner.reset(expandSeeds(0, envs.length));
 * runner.step(actions);
 */
import type { NumericArray } from '../../core/spaces.js';
import { KairosError, describeValue } from '../../core/errors.js';
import { EMPTY_INFO, type Env, type Info } from '../env.js';
import { SubEnvError, allocate, type AutoresetMode, type ElementLayout } from './vector-env.js';

/** The batched arrays a runner writes into, indexed by global sub-env index. */
export interface BatchBuffers {
  observations: NumericArray;
  rewards: Float64Array;
  terminations: Uint8Array;
  truncations: Uint8Array;
  infos: Info[];
}

/**
 * Resets and steps a slice of sub-envs into batched buffers (see the module comment).
 *
 * @example
 * const runner = new SubEnvRunner(envs, 0, 'same-step', buffers, observationLayout(obsSpace), actionLayout(actSpace));
 */
export class SubEnvRunner {
  /** 1 where the sub-env finished its episode and is reset by the next step (next-step mode). */
  private readonly needsReset: Uint8Array;
  /** Per-sub-env action buffers (array-valued action spaces only). */
  private readonly actionBuffers: NumericArray[];

  /**
   * @param envs the sub-envs of this slice
   * @param offset global index of `envs[0]`
   */
  constructor(
    readonly envs: ReadonlyArray<Env<any, any>>,
    readonly offset: number,
    readonly autoreset: AutoresetMode,
    readonly buffers: BatchBuffers,
    readonly obs: ElementLayout,
    readonly act: ElementLayout,
  ) {
    this.needsReset = new Uint8Array(envs.length);
    this.actionBuffers = act.scalar ? [] : envs.map(() => allocate(act.dtype, act.size));
  }

  /** Resets every sub-env of the slice; `seeds` is indexed by global sub-env index. */
  reset(seeds: ReadonlyArray<number | undefined> | undefined, options?: Record<string, unknown>): void {
    const { rewards, terminations, truncations, infos } = this.buffers;
    for (let k = 0; k < this.envs.length; k++) {
      const i = this.offset + k;
      const seed = seeds?.[i];
      let r;
      try {
        r = this.envs[k].reset(seed === undefined && options === undefined ? undefined : { seed, options });
      } catch (e) {
        throw wrapError(i, e);
      }
      this.writeObservation(i, r?.observation);
      infos[i] = r.info ?? EMPTY_INFO;
      rewards[i] = 0;
      terminations[i] = 0;
      truncations[i] = 0;
      this.needsReset[k] = 0;
    }
  }

  /** Steps (or autoresets) every sub-env of the slice with its action from the batched `actions`. */
  step(actions: ArrayLike<number>): void {
    const { rewards, terminations, truncations, infos } = this.buffers;
    const sameStep = this.autoreset === 'same-step';
    for (let k = 0; k < this.envs.length; k++) {
      const i = this.offset + k;
      const env = this.envs[k];
      try {
        if (this.needsReset[k]) {
          // Gymnasium 1.x next-step autoreset: this step only resets; the action is ignored.
          const r = env.reset();
          this.writeObservation(i, r.observation);
          rewards[i] = 0;
          terminations[i] = 0;
          truncations[i] = 0;
          infos[i] = r.info ?? EMPTY_INFO;
          this.needsReset[k] = 0;
          continue;
        }
        const r = env.step(this.actionFor(k, i, actions));
        const done = r.terminated || r.truncated;
        rewards[i] = r.reward;
        terminations[i] = r.terminated ? 1 : 0;
        truncations[i] = r.truncated ? 1 : 0;
        if (!done) {
          this.writeObservation(i, r.observation);
          infos[i] = r.info ?? EMPTY_INFO;
        } else if (sameStep) {
          const rr = env.reset();
          this.writeObservation(i, rr.observation);
          infos[i] = { ...rr.info, finalObservation: r.observation, finalInfo: r.info ?? EMPTY_INFO };
        } else {
          this.writeObservation(i, r.observation);
          infos[i] = r.info ?? EMPTY_INFO;
          this.needsReset[k] = 1;
        }
      } catch (e) {
        throw wrapError(i, e);
      }
    }
  }

  /** Closes every sub-env; returns the first error instead of stopping at it. */
  close(): unknown {
    let first: unknown;
    for (const env of this.envs) {
      try {
        env.close?.();
      } catch (e) {
        first ??= e;
      }
    }
    return first;
  }

  private actionFor(k: number, i: number, actions: ArrayLike<number>): unknown {
    const size = this.act.size;
    if (this.act.scalar) return actions[i];
    const buf = this.actionBuffers[k];
    const base = i * size;
    for (let j = 0; j < size; j++) buf[j] = actions[base + j];
    return buf;
  }

  private writeObservation(i: number, obs: unknown): void {
    const out = this.buffers.observations;
    const layout = this.obs;
    if (layout.scalar) {
      if (typeof obs !== 'number') throw badObservation(layout, obs);
      out[i] = obs;
      return;
    }
    const a = obs as ArrayLike<number>;
    if (a === null || typeof a !== 'object' || a.length !== layout.size) throw badObservation(layout, obs);
    const size = layout.size;
    if (size > 32 && ArrayBuffer.isView(a)) {
      out.set(a as NumericArray, i * size);
    } else {
      // For small observations a plain loop beats TypedArray.set, whose call overhead
      // is larger than copying a handful of numbers (CartPole: 4).
      const base = i * size;
      for (let j = 0; j < size; j++) out[base + j] = a[j];
    }
  }
}

function badObservation(layout: ElementLayout, obs: unknown): KairosError {
  const expected = layout.scalar ? 'a number' : `an array of ${layout.size} numbers`;
  return new KairosError(`expected an observation of ${String(layout.space)} (${expected}), received ${describeValue(obs)}`, 'invalid_observation');
}

function wrapError(i: number, e: unknown): SubEnvError {
  if (e instanceof SubEnvError) return e;
  const message = e instanceof Error ? e.message : String(e);
  const code = e instanceof KairosError ? e.code : undefined;
  const err = new SubEnvError(i, message, code);
  if (e instanceof Error && e.stack) err.stack = `${err.name}: ${err.message}\n  caused by ${e.stack}`;
  return err;
}

export { wrapError as toSubEnvError };
