/**
 * Wrappers described as data, `{ wrapper: 'NormalizeObservation', options: { clip: 10 } }`,
 * so a list of wrappers can be sent to a worker thread (functions cannot cross threads)
 * and stored in a run folder. `applyWrappers` builds them in order, innermost first.
 *
 * @example
 * const env = applyWrappers(make('CartPole-v1'), [
 *   { wrapper: 'RecordEpisodeStatistics' },
 *   { wrapper: 'FrameStack', options: { stackSize: 4 } },
 * ]);
 */
import { KairosError, ValidationError } from '../../core/errors.js';
import type { Env } from '../env.js';
import { ClipAction } from './clip-action.js';
import { FlattenObservation } from './flatten-observation.js';
import { FrameStack } from './frame-stack.js';
import { NormalizeObservation } from './normalize-observation.js';
import { NormalizeReward } from './normalize-reward.js';
import { RecordEpisodeStatistics } from './record-episode-statistics.js';
import { RescaleAction } from './rescale-action.js';
import { EnforceActionMask } from './enforce-action-mask.js';

/** A built-in wrapper by name with its (JSON-able) options. */
export type WrapperSpec =
  | { wrapper: 'RecordEpisodeStatistics'; options?: { bufferLength?: number; statsKey?: string } }
  | { wrapper: 'ClipAction'; options?: Record<string, never> }
  | { wrapper: 'RescaleAction'; options?: { minAction?: number | number[]; maxAction?: number | number[] } }
  | { wrapper: 'NormalizeObservation'; options?: { epsilon?: number; clip?: number; training?: boolean } }
  | { wrapper: 'NormalizeReward'; options?: { gamma?: number; epsilon?: number; clip?: number; training?: boolean } }
  | { wrapper: 'FlattenObservation'; options?: Record<string, never> }
  | { wrapper: 'FrameStack'; options: { stackSize: number; padding?: 'reset' | 'zero' } }
  | { wrapper: 'EnforceActionMask'; options?: Record<string, never> };

/** A wrapper as data (sync and worker vector envs) or as a function (sync only). */
export type WrapperLike = WrapperSpec | ((env: Env<any, any>) => Env<any, any>);

type Builder = (env: Env<any, any>, options: any) => Env<any, any>;

const BUILDERS: Record<WrapperSpec['wrapper'], Builder> = {
  RecordEpisodeStatistics: (env, o) => new RecordEpisodeStatistics(env, o),
  ClipAction: (env) => new ClipAction(env),
  RescaleAction: (env, o) => new RescaleAction(env, o.minAction ?? -1, o.maxAction ?? 1),
  NormalizeObservation: (env, o) => new NormalizeObservation(env, o),
  NormalizeReward: (env, o) => new NormalizeReward(env, o),
  FlattenObservation: (env) => new FlattenObservation(env),
  FrameStack: (env, o) => new FrameStack(env, o.stackSize, o),
  EnforceActionMask: (env) => new EnforceActionMask(env),
};

/**
 * Names accepted by {@link applyWrappers}.
 *
 * @example
 * wrapperNames.includes('FrameStack'); // true
 */
export const wrapperNames = Object.keys(BUILDERS) as Array<WrapperSpec['wrapper']>;

/**
 * Wraps `env` with each wrapper of `wrappers` in order (the first is innermost).
 *
 * @example
 * applyWrappers(make('CartPole-v1'), [{ wrapper: 'NormalizeObservation' }]);
 */
export function applyWrappers(env: Env<any, any>, wrappers: readonly WrapperLike[] = []): Env<any, any> {
  for (let i = 0; i < wrappers.length; i++) {
    const w = wrappers[i];
    if (typeof w === 'function') {
      env = w(env);
      continue;
    }
    const build = w && typeof w === 'object' ? BUILDERS[w.wrapper] : undefined;
    if (!build) {
      throw new ValidationError(`wrappers[${i}].wrapper`, wrapperNames.join(' | '), (w as { wrapper?: unknown })?.wrapper ?? w);
    }
    env = build(env, w.options ?? {});
    if (env === null || typeof env !== 'object') throw new KairosError(`wrappers[${i}] did not return an env`, 'invalid_wrapper');
  }
  return env;
}

/**
 * True when every wrapper is data (so the list can be sent to a worker thread).
 *
 * @example
 * isSerializableWrapperList([{ wrapper: 'ClipAction' }]); // true
 */
export function isSerializableWrapperList(wrappers: readonly WrapperLike[]): wrappers is readonly WrapperSpec[] {
  return wrappers.every((w) => typeof w !== 'function');
}
