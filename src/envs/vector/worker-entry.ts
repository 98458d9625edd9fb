/**
 * Worker-thread side of `WorkerVectorEnv`: imports the user's modules (which register
 * custom env ids), builds its slice of sub-envs with `make(id, makeOptions)` and the
 * wrapper specs, then serves commands from the shared control array until CLOSE.
 *
 * The command loop blocks in `Atomics.wait` between commands (no CPU while idle, no
 * event-loop turn per step) and writes results straight into the shared arrays through
 * the same `SubEnvRunner` the in-process `SyncVectorEnv` uses.
 *
 * Not imported by users; `WorkerVectorEnv` starts it.
 *
 * @example
 * new Worker(new URL('./worker-entry.js', import.meta.url), { workerData: init });
 */
import { receiveMessageOnPort, workerData } from 'node:worker_threads';
import { KairosError } from '../../core/errors.js';
import type { NumericArray } from '../../core/spaces.js';
import { EMPTY_INFO, type Env, type Info } from '../env.js';
import { getRegistration, make } from '../registry.js';
import { applyWrappers } from '../wrappers/wrapper-spec.js';
import {
  CMD,
  CMD_CLOSE,
  CMD_INIT,
  CMD_RESET,
  CMD_STEP,
  DONE,
  MSG,
  READY,
  SEQ,
  STATUS,
  STATUS_DEAD,
  STATUS_ERROR,
  STATUS_OK,
  spinWhile,
  type BuffersMessage,
  type ResetMessage,
  type WorkerInit,
  type WorkerMessage,
} from './protocol.js';
import { SubEnvRunner, toSubEnvError } from './sub-env-runner.js';
import { SubEnvError, actionLayout, isEmptyInfo, observationLayout } from './vector-env.js';

const init = workerData as WorkerInit;
const ctrl = new Int32Array(init.ctrl);
const port = init.port;

/** True once the worker stops on purpose (CLOSE, or a startup error already reported). */
let closing = false;

// If the thread dies without being asked to (process.exit in env code), tell the main
// thread instead of letting it wait for a DONE that never comes.
process.on('exit', () => {
  if (closing) return;
  Atomics.store(ctrl, STATUS, STATUS_DEAD);
  Atomics.store(ctrl, READY, 1);
  Atomics.notify(ctrl, READY);
  Atomics.notify(ctrl, DONE);
});

function post(message: WorkerMessage): void {
  port.postMessage(message);
}

function errorMessage(e: unknown, fallbackIndex: number | null): WorkerMessage {
  if (e instanceof SubEnvError) return { type: 'error', envIndex: e.envIndex, message: e.originalMessage, code: e.originalCode, stack: e.stack };
  const message = e instanceof Error ? e.message : String(e);
  const code = e instanceof KairosError ? e.code : undefined;
  return { type: 'error', envIndex: fallbackIndex, message, code, stack: e instanceof Error ? e.stack : undefined };
}

function isRegistered(id: string): boolean {
  try {
    getRegistration(id);
    return true;
  } catch {
    return false;
  }
}

async function build(): Promise<Env<any, any>[]> {
  for (const m of init.modules) {
    try {
      await import(m);
    } catch (e) {
      throw new KairosError(`could not import module ${m}: ${(e as Error)?.message ?? String(e)}`, 'module_import_failed');
    }
  }
  // Built-in envs are loaded only when the id is not already registered, so a user
  // module may override a built-in id and custom-env workers start faster.
  if (!isRegistered(init.id)) await import('../builtin.js');
  if (!isRegistered(init.id)) {
    try {
      getRegistration(init.id);
    } catch (e) {
      const hint = init.modules.length === 0 ? '; pass the module that registers it in `modules`' : '';
      throw new KairosError(`${(e as Error).message}${hint}`, 'unknown_env');
    }
  }
  const envs: Env<any, any>[] = [];
  for (let k = 0; k < init.count; k++) {
    try {
      envs.push(applyWrappers(make(init.id, init.makeOptions), init.wrappers));
    } catch (e) {
      throw toSubEnvError(init.start + k, e);
    }
  }
  return envs;
}

/** Posts the slice's non-empty infos, if any; returns 1 when a message was posted. */
function postInfos(infos: Info[]): number {
  let entries: Array<[number, Info]> | undefined;
  for (let i = init.start; i < init.start + init.count; i++) {
    if (!isEmptyInfo(infos[i])) (entries ??= []).push([i, infos[i]]);
  }
  if (!entries) return 0;
  try {
    post({ type: 'infos', entries });
  } catch (e) {
    // Name the sub-env whose info cannot be cloned (functions, class instances with
    // private state); the check runs only on this failure path.
    for (const [i, info] of entries) {
      try {
        structuredClone(info);
      } catch (inner) {
        throw new SubEnvError(i, `its info cannot be sent to the main thread (${(inner as Error).message})`, 'uncloneable_info');
      }
    }
    throw e;
  }
  return 1;
}

function serve(envs: Env<any, any>[]): void {
  const obsLayout = observationLayout(envs[0].observationSpace);
  const actLayout = actionLayout(envs[0].actionSpace);
  let runner: SubEnvRunner | undefined;
  let actions: NumericArray | undefined;
  const infos: Info[] = new Array<Info>(init.numEnvs).fill(EMPTY_INFO);
  let seq = 0;
  for (;;) {
    if (spinWhile(ctrl, SEQ, seq, init.spinMicros) === seq) Atomics.wait(ctrl, SEQ, seq);
    seq = Atomics.load(ctrl, SEQ);
    const cmd = Atomics.load(ctrl, CMD);
    let status = STATUS_OK;
    let posted = 0;
    try {
      if (cmd === CMD_STEP) {
        runner!.step(actions!);
        posted = postInfos(infos);
      } else if (cmd === CMD_RESET) {
        const msg = receiveMessageOnPort(port)?.message as ResetMessage;
        runner!.reset(msg.seeds, msg.options);
        posted = postInfos(infos);
      } else if (cmd === CMD_INIT) {
        const msg = receiveMessageOnPort(port)?.message as BuffersMessage;
        const view = (dtype: BuffersMessage['observationDtype'], sab: SharedArrayBuffer) =>
          new (dtypeCtor(dtype))(sab) as NumericArray;
        actions = view(msg.actionDtype, msg.actions);
        const buffers = {
          observations: view(msg.observationDtype, msg.observations),
          rewards: new Float64Array(msg.rewards),
          terminations: new Uint8Array(msg.terminations),
          truncations: new Uint8Array(msg.truncations),
          infos,
        };
        runner = new SubEnvRunner(envs, init.start, init.autoreset, buffers, obsLayout, actLayout);
      } else if (cmd === CMD_CLOSE) {
        closing = true;
        const err = runner ? runner.close() : undefined;
        if (err) throw toSubEnvError(init.start, err);
      }
    } catch (e) {
      post(errorMessage(e, init.start));
      status = STATUS_ERROR;
      posted = 1;
    }
    Atomics.store(ctrl, STATUS, status);
    Atomics.store(ctrl, MSG, posted);
    Atomics.store(ctrl, DONE, seq);
    Atomics.notify(ctrl, DONE);
    if (closing) return;
  }
}

function dtypeCtor(dtype: BuffersMessage['observationDtype']): new (sab: SharedArrayBuffer) => NumericArray {
  switch (dtype) {
    case 'float32':
      return Float32Array;
    case 'float64':
      return Float64Array;
    case 'int8':
      return Int8Array;
    case 'uint8':
      return Uint8Array;
    case 'int16':
      return Int16Array;
    default:
      return Int32Array;
  }
}

let envs: Env<any, any>[] | undefined;
try {
  envs = await build();
  post({
    type: 'ready',
    observationSpace: envs[0].observationSpace.toJSON(),
    actionSpace: envs[0].actionSpace.toJSON(),
    spec: envs[0].spec ? { ...envs[0].spec } : undefined,
  });
} catch (e) {
  post(errorMessage(e, null));
  closing = true;
  Atomics.store(ctrl, STATUS, STATUS_ERROR);
  Atomics.store(ctrl, MSG, 1);
}
Atomics.store(ctrl, READY, 1);
Atomics.notify(ctrl, READY);
if (envs) serve(envs);
closing = true;
port.close();
