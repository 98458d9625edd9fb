/**
 * The handshake between `WorkerVectorEnv` (main thread) and its workers
 * (`worker-entry.ts`). Each worker has a small Int32Array on a SharedArrayBuffer:
 *
 *   SEQ    main increments it (then Atomics.notify) to issue the command in CMD
 *   CMD    the command: INIT, RESET, STEP or CLOSE
 *   DONE   the worker stores SEQ's value when the command has finished (then notify)
 *   STATUS OK, ERROR (the command failed; an error message was posted) or DEAD
 *   MSG    1 when the worker posted one message for this command (infos or an error)
 *   READY  set to 1 once the worker has built its sub-envs (or failed to)
 *
 * Observations, actions, rewards and flags live in shared typed arrays both sides map,
 * so a step moves no data through messages. Infos are rare and irregular (action masks,
 * episode statistics, final observations): a worker posts the non-empty ones as one
 * message on its MessagePort and sets MSG; the main thread reads it synchronously with
 * `receiveMessageOnPort`. A step where every info is empty posts nothing.
 *
 * @example
 * Atomics.store(ctrl, CMD, CMD_STEP); Atomics.add(ctrl, SEQ, 1); Atomics.notify(ctrl, SEQ);
 */
import type { BoxDtype } from '../../core/spaces.js';
import type { EnvSpec, Info } from '../env.js';
import type { MakeOptions } from '../registry.js';
import type { SpaceJSON } from '../../core/spaces.js';
import type { WrapperSpec } from '../wrappers/wrapper-spec.js';
import type { MessagePort } from 'node:worker_threads';
import type { AutoresetMode } from './vector-env.js';

/** Int32 slots in a worker's control array; indices below. */
export const CTRL_LENGTH = 8;
export const SEQ = 0;
export const CMD = 1;
export const DONE = 2;
export const STATUS = 3;
export const MSG = 4;
export const READY = 5;

/** Commands written to CMD. */
export const CMD_INIT = 1;
export const CMD_RESET = 2;
export const CMD_STEP = 3;
export const CMD_CLOSE = 4;

/** Values of STATUS. */
export const STATUS_OK = 0;
export const STATUS_ERROR = 1;
export const STATUS_DEAD = 2;

/**
 * Busy-waits up to `spinMicros` for `ctrl[index]` to stop being `value` and returns its
 * current value. A futex wake-up costs tens of microseconds (about 90 µs on a small VM),
 * more than a whole CartPole step, so a short spin before `Atomics.wait` saves most of
 * the handshake when the other side answers quickly. Spinning only pays when every
 * thread has a core of its own; `WorkerVectorEnv` turns it off otherwise.
 *
 * @example
 * if (spinWhile(ctrl, SEQ, seq, 1000) === seq) Atomics.wait(ctrl, SEQ, seq);
 */
export function spinWhile(ctrl: Int32Array, index: number, value: number, spinMicros: number): number {
  let current = Atomics.load(ctrl, index);
  if (current !== value || spinMicros <= 0) return current;
  const end = performance.now() + spinMicros / 1000;
  // Read the clock every 256 loads: a load is ~1 ns, a clock read ~30 ns.
  for (let k = 1; current === value; k++) {
    current = Atomics.load(ctrl, index);
    if ((k & 255) === 0 && performance.now() > end) break;
  }
  return current;
}

/** `workerData` of a worker. */
export interface WorkerInit {
  /** URL of `worker-entry.ts` or `.js`. */
  entry: string;
  /** URL of tsx's ESM API when the entry is TypeScript. */
  tsx: string | undefined;
  workerIndex: number;
  id: string;
  makeOptions: MakeOptions;
  wrappers: WrapperSpec[];
  /** Module URLs imported before the sub-envs are built (they register custom ids). */
  modules: string[];
  /** Global index of the worker's first sub-env. */
  start: number;
  count: number;
  numEnvs: number;
  autoreset: AutoresetMode;
  ctrl: SharedArrayBuffer;
  port: MessagePort;
  /** Microseconds to busy-wait for the next command before sleeping in Atomics.wait. */
  spinMicros: number;
}

/** Main → worker, before CMD_INIT: the shared batched arrays. */
export interface BuffersMessage {
  type: 'buffers';
  observations: SharedArrayBuffer;
  observationDtype: BoxDtype;
  actions: SharedArrayBuffer;
  actionDtype: BoxDtype;
  rewards: SharedArrayBuffer;
  terminations: SharedArrayBuffer;
  truncations: SharedArrayBuffer;
}

/** Main → worker, before CMD_RESET. */
export interface ResetMessage {
  type: 'reset';
  seeds: Array<number | undefined> | undefined;
  options: Record<string, unknown> | undefined;
}

/** Worker → main. */
export type WorkerMessage =
  | { type: 'ready'; observationSpace: SpaceJSON; actionSpace: SpaceJSON; spec: EnvSpec | undefined }
  | { type: 'infos'; entries: Array<[number, Info]> }
  | { type: 'error'; envIndex: number | null; message: string; code?: string; stack?: string };
