/**
 * One call for a vector env of a registered id, in-process or in worker threads
 * (Gymnasium 1.x `gymnasium.make_vec` with `vectorization_mode` "sync" / "async").
 *
 * @example
 * const venv = makeVectorEnv('CartPole-v1', 8);                         // sync, next-step autoreset
 * const fast = makeVectorEnv('LunarLander-v3', 16, { mode: 'worker', numWorkers: 4,
 *   wrappers: [{ wrapper: 'RecordEpisodeStatistics' }] });
 */
import { ValidationError } from '../../core/errors.js';
import type { MakeOptions } from '../registry.js';
import type { WrapperLike } from '../wrappers/wrapper-spec.js';
import { SyncVectorEnv } from './sync-vector-env.js';
import type { AutoresetMode, VectorEnv } from './vector-env.js';
import { WorkerVectorEnv } from './worker-vector-env.js';

/** Options of {@link makeVectorEnv}; the worker-only ones are ignored in sync mode. */
export interface MakeVectorEnvOptions {
  /** 'sync' (default): in-process; 'worker': worker threads. */
  mode?: 'sync' | 'worker';
  /** Default 'next-step'. */
  autoreset?: AutoresetMode;
  /** Passed to `make(id, makeOptions)` for every sub-env. */
  makeOptions?: MakeOptions;
  /** Applied to every sub-env, innermost first; worker mode accepts only specs (data). */
  wrappers?: readonly WrapperLike[];
  /** Worker mode: worker threads (default min(numEnvs, os.availableParallelism())). */
  numWorkers?: number;
  /** Worker mode: modules that register custom env ids, imported by each worker first. */
  modules?: readonly string[];
  /** Worker mode: longest wait for one call (default 120 s). */
  timeoutMs?: number;
  /** Worker mode: busy-wait before sleeping, µs (default 0; see WorkerVectorEnv). */
  spinMicros?: number;
}

/**
 * Builds `numEnvs` copies of the registered env `id` as a {@link VectorEnv}.
 *
 * @example
 * const venv = makeVectorEnv('CartPole-v1', 16, { mode: 'worker', numWorkers: 2, autoreset: 'same-step' });
 */
export function makeVectorEnv(id: string, numEnvs: number, options: MakeVectorEnvOptions = {}): VectorEnv {
  const { mode = 'sync', autoreset, makeOptions, wrappers, numWorkers, modules, timeoutMs, spinMicros } = options;
  if (mode === 'sync') return new SyncVectorEnv({ id, numEnvs, makeOptions, wrappers, autoreset });
  if (mode === 'worker') return new WorkerVectorEnv({ id, numEnvs, makeOptions, wrappers, autoreset, numWorkers, modules, timeoutMs, spinMicros });
  throw new ValidationError('mode', '"sync" or "worker"', mode, 'makeVectorEnv');
}
