/**
 * Vector envs: many copies of one env stepped as a batch, in-process (`SyncVectorEnv`) or
 * in worker threads (`WorkerVectorEnv`), with Gymnasium 1.x's autoreset modes and seeding.
 *
 * @example
 * import { makeVectorEnv } from 'kairos/envs';
 * const venv = makeVectorEnv('CartPole-v1', 8, { mode: 'worker', numWorkers: 2 });
 * const { observations } = venv.reset({ seed: 0 });
 * venv.step(new Int32Array(8));
 * venv.close();
 */
export {
  SubEnvError,
  actionLayout,
  batchSpace,
  isEmptyInfo,
  observationLayout,
  type AutoresetMode,
  type ElementLayout,
  type VectorEnv,
  type VectorResetOptions,
  type VectorResetResult,
  type VectorStepResult,
} from './vector-env.js';
export { SyncVectorEnv, type SyncVectorEnvOptions, type VectorEnvIdOptions } from './sync-vector-env.js';
export { WorkerVectorEnv, type WorkerVectorEnvOptions } from './worker-vector-env.js';
export { makeVectorEnv, type MakeVectorEnvOptions } from './make-vector-env.js';
