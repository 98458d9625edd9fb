/**
 * Runs sub-envs in `node:worker_threads`, each worker owning a contiguous slice of them
 * (the role of Gymnasium 1.x `gymnasium.vector.AsyncVectorEnv`, with threads instead of
 * processes). Use it for envs whose step costs more than the handshake (~5-20 µs per
 * worker): physics (LunarLander), simulators, anything allocation-heavy.
 *
 * How it works (see `protocol.ts`):
 * - Sub-envs are built inside the workers from a registered id, `makeOptions` and wrapper
 *   specs (data, since functions cannot cross threads), after importing `modules`: file
 *   paths or URLs of modules that `register` custom envs.
 * - Observations, actions, rewards and flags live in SharedArrayBuffers; the returned
 *   `observations` array IS the shared memory, so a step copies only the actions in.
 * - `step` is synchronous: it wakes the workers with `Atomics.notify` and blocks in
 *   `Atomics.wait` until each reports done (allowed on Node's main thread). `stepAsync`
 *   waits with `Atomics.waitAsync` instead, for callers that must not block (a server).
 * - Non-empty infos travel as one message per worker per step, read synchronously with
 *   `receiveMessageOnPort`; steps whose infos are all empty send no message.
 * - An error in a sub-env (bad action, the env throws) is rethrown here as a
 *   `SubEnvError` naming the sub-env index and the original message; a worker that dies
 *   or stops answering within `timeoutMs` gives a KairosError instead of a hang.
 * - Workers are `unref`ed: an env that is never closed does not keep the process alive.
 *
 * Under TypeScript sources (vitest, tsx) each worker registers tsx's loader and runs
 * `worker-entry.ts`; from compiled `dist/` it runs `worker-entry.js` directly.
 *
 * @example
 * const venv = new WorkerVectorEnv({ id: 'LunarLander-v3', numEnvs: 16, numWorkers: 4 });
 * venv.reset({ seed: 0 });
 * const r = venv.step(new Int32Array(16));
 * venv.close();
 *
 * // A custom env: the module registers 'MyEnv-v0' when imported.
 * new WorkerVectorEnv({ id: 'MyEnv-v0', numEnvs: 8, modules: [new URL('./my-env.js', import.meta.url).href] });
 */
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { KairosError, ValidationError } from '../../core/errors.js';
import { spaceFromJSON, type NumericArray, type Space } from '../../core/spaces.js';
import { EMPTY_INFO, type EnvSpec, type Info } from '../env.js';
import type { MakeOptions } from '../registry.js';
import { isSerializableWrapperList, type WrapperLike, type WrapperSpec } from '../wrappers/wrapper-spec.js';
import {
  CMD,
  CMD_CLOSE,
  CMD_INIT,
  CMD_RESET,
  CMD_STEP,
  CTRL_LENGTH,
  DONE,
  MSG,
  READY,
  SEQ,
  STATUS,
  STATUS_DEAD,
  STATUS_ERROR,
  spinWhile,
  type BuffersMessage,
  type ResetMessage,
  type WorkerInit,
  type WorkerMessage,
} from './protocol.js';
import { assertSameSpaces, parseAutoreset } from './sync-vector-env.js';
import {
  SubEnvError,
  actionLayout,
  allocate,
  batchSpace,
  checkActionsLength,
  expandSeeds,
  observationLayout,
  type AutoresetMode,
  type ElementLayout,
  type VectorEnv,
  type VectorResetOptions,
  type VectorResetResult,
  type VectorStepResult,
} from './vector-env.js';

/** Options of {@link WorkerVectorEnv}. */
export interface WorkerVectorEnvOptions {
  /** A registered env id (registered by a built-in module or one of `modules`). */
  id: string;
  numEnvs: number;
  /** Passed to `make(id, makeOptions)` in the worker; must be structured-cloneable. */
  makeOptions?: MakeOptions;
  /** Wrapper specs applied to every sub-env, innermost first (functions cannot cross threads). */
  wrappers?: readonly WrapperLike[];
  /** Modules each worker imports first (paths or file URLs) to register custom env ids. */
  modules?: readonly string[];
  /** Worker threads (default min(numEnvs, os.availableParallelism())). */
  numWorkers?: number;
  /** Default 'next-step' (Gymnasium 1.x). */
  autoreset?: AutoresetMode;
  /** Longest wait for one reset/step/close before giving up with an error (default 120 s). */
  timeoutMs?: number;
  /** Longest wait for the workers to import their modules and build their envs (default 60 s). */
  startupTimeoutMs?: number;
  /**
   * Microseconds each side busy-waits for the other before sleeping in `Atomics.wait`:
   * the main thread for results, a worker for its next command. A futex wake-up costs
   * 10-100 µs, more than a CartPole step; spinning brings the handshake to ~1 µs.
   * Default 0 (opt-in): on a 2-vCPU VM, 1 worker with a 1000 µs spin ran LunarLander x16
   * at 6.3 k steps/s against 22.8 k without (docs/benchmarks.md); with fewer cores than
   * threads, a spinning thread steals the core the other side needs. Worth trying when
   * every thread has a dedicated core. Costs up to this much CPU per step on each worker
   * when the caller takes longer than that between steps.
   */
  spinMicros?: number;
}

interface WorkerHandle {
  worker: Worker;
  port: MessagePort;
  ctrl: Int32Array;
  start: number;
  count: number;
  /** Set by the worker's 'error' event (delivered only while the main thread is idle). */
  lastError?: Error;
}

type AtomicsWithWaitAsync = typeof Atomics & {
  waitAsync(array: Int32Array, index: number, value: number, timeout?: number): { async: boolean; value: Promise<string> | string };
};

/**
 * Code each worker starts with (CommonJS, run with `eval: true`): registers tsx's loader
 * when the entry is TypeScript, imports the entry, and reports a failure to load it
 * through the handshake instead of leaving the main thread waiting. tsx is registered
 * inside the worker through its API because Node 20 does not apply module hooks from
 * the main thread or from `--import` to worker threads.
 */
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
(async () => {
  if (workerData.tsx) (await import(workerData.tsx)).register();
  await import(workerData.entry);
})().catch((e) => {
  const ctrl = new Int32Array(workerData.ctrl);
  try {
    workerData.port.postMessage({ type: 'error', envIndex: null, message: 'could not load the worker: ' + (e && e.message ? e.message : String(e)), stack: e && e.stack });
  } catch {}
  Atomics.store(ctrl, ${STATUS}, ${STATUS_ERROR});
  Atomics.store(ctrl, ${MSG}, 1);
  Atomics.store(ctrl, ${READY}, 1);
  Atomics.notify(ctrl, ${READY});
});
`;

/**
 * The worker entry module's URL, and for TypeScript sources (vitest, tsx) the URL of
 * tsx's ESM API that the worker registers before importing it.
 *
 * @example
 * workerEntry().entry; // 'file:///.../envs/vector/worker-entry.js'
 */
export function workerEntry(): { entry: string; tsx: string | undefined } {
  const here = new URL(import.meta.url);
  const isTs = here.pathname.endsWith('.ts');
  const entry = new URL(isTs ? './worker-entry.ts' : './worker-entry.js', here).href;
  if (!isTs) return { entry, tsx: undefined };
  try {
    // The ESM build of `tsx/esm/api`, read from tsx's exports map (require.resolve would
    // pick the CommonJS build, which cannot be imported from a worker).
    const require = createRequire(import.meta.url);
    const pkgPath = require.resolve('tsx/package.json');
    const pkg = require(pkgPath) as { exports: Record<string, { import?: { default?: string } }> };
    const rel = pkg.exports['./esm/api']?.import?.default;
    if (!rel) throw new Error('tsx/esm/api not found');
    return { entry, tsx: pathToFileURL(path.join(path.dirname(pkgPath), rel)).href };
  } catch {
    throw new KairosError(
      'WorkerVectorEnv: running from TypeScript sources needs tsx to load the worker (npm i -D tsx), or run the compiled JavaScript in dist/',
      'missing_tsx',
    );
  }
}

/** Turns a module path into a URL the worker can import (relative paths resolve against the cwd). */
function moduleUrl(spec: string): string {
  if (/^(file|data|node):/.test(spec)) return spec;
  if (spec.startsWith('.') || path.isAbsolute(spec)) return pathToFileURL(path.resolve(spec)).href;
  return spec; // a package name
}

/**
 * Vector env with its sub-envs in worker threads (see the module comment).
 *
 * @example
 * const venv = new WorkerVectorEnv({ id: 'LunarLander-v3', numEnvs: 8, numWorkers: 2 });
 * const { observations } = venv.reset({ seed: 0 });
 * await venv.stepAsync(new Int32Array(8)); // or venv.step(...), which blocks
 * venv.close();
 */
export class WorkerVectorEnv<O extends NumericArray = NumericArray> implements VectorEnv<O> {
  readonly numEnvs: number;
  readonly numWorkers: number;
  readonly singleObservationSpace: Space;
  readonly singleActionSpace: Space;
  readonly observationSpace: Space;
  readonly actionSpace: Space;
  readonly autoresetMode: AutoresetMode;
  readonly spec?: EnvSpec;
  readonly timeoutMs: number;
  /** Busy-wait before sleeping, in microseconds (see the option). */
  readonly spinMicros: number;
  /** Resolves once every worker thread has exited (after `close`). */
  readonly closed: Promise<void>;
  private readonly handles: WorkerHandle[] = [];
  private readonly actLayout: ElementLayout;
  private readonly actions: NumericArray;
  private readonly result: { observations: O; rewards: Float64Array; terminations: Uint8Array; truncations: Uint8Array; infos: Info[] };
  private seq = 0;
  private busy = false;
  private isClosed = false;
  private resolveClosed!: () => void;

  constructor(options: WorkerVectorEnvOptions) {
    const o = options ?? ({} as WorkerVectorEnvOptions);
    if (typeof o.id !== 'string') throw new ValidationError('id', 'a registered env id', o.id, 'WorkerVectorEnv');
    if (!Number.isInteger(o.numEnvs) || o.numEnvs <= 0) throw new ValidationError('numEnvs', 'a positive integer', o.numEnvs, 'WorkerVectorEnv');
    this.numEnvs = o.numEnvs;
    this.numWorkers = Math.min(o.numEnvs, o.numWorkers ?? os.availableParallelism());
    if (!Number.isInteger(this.numWorkers) || this.numWorkers <= 0) {
      throw new ValidationError('numWorkers', 'a positive integer', o.numWorkers, 'WorkerVectorEnv');
    }
    this.autoresetMode = parseAutoreset(o.autoreset);
    this.timeoutMs = o.timeoutMs ?? 120_000;
    this.spinMicros = o.spinMicros ?? 0;
    if (!(this.spinMicros >= 0) || !Number.isFinite(this.spinMicros)) {
      throw new ValidationError('spinMicros', 'a finite number >= 0', o.spinMicros, 'WorkerVectorEnv');
    }
    const startupTimeoutMs = o.startupTimeoutMs ?? 60_000;
    const wrappers = o.wrappers ?? [];
    if (!isSerializableWrapperList(wrappers)) {
      throw new KairosError(
        "WorkerVectorEnv: wrappers must be specs like { wrapper: 'NormalizeObservation' } because functions cannot cross threads; " +
          'for custom wrappers, register an env id whose entryPoint applies them in a module passed in `modules`',
        'invalid_wrapper',
      );
    }
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    const { entry, tsx } = workerEntry();
    const modules = (o.modules ?? []).map(moduleUrl);

    try {
      for (let w = 0; w < this.numWorkers; w++) {
        const start = Math.floor((w * this.numEnvs) / this.numWorkers);
        const end = Math.floor(((w + 1) * this.numEnvs) / this.numWorkers);
        const ctrl = new Int32Array(new SharedArrayBuffer(CTRL_LENGTH * 4));
        const { port1, port2 } = new MessageChannel();
        const init: WorkerInit = {
          entry,
          tsx,
          workerIndex: w,
          id: o.id,
          makeOptions: o.makeOptions ?? {},
          wrappers: wrappers as WrapperSpec[],
          modules,
          start,
          count: end - start,
          numEnvs: this.numEnvs,
          autoreset: this.autoresetMode,
          spinMicros: this.spinMicros,
          ctrl: ctrl.buffer as SharedArrayBuffer,
          port: port2,
        };
        // execArgv [] under tsx: the bootstrap registers tsx itself, and inheriting a
        // `--import tsx` as well would chain its hooks twice on Node versions that apply it.
        const worker = new Worker(BOOTSTRAP, {
          eval: true,
          workerData: init,
          transferList: [port2 as any],
          execArgv: tsx ? [] : undefined,
          name: `kairos-vector-env-${w}`,
        });
        const handle: WorkerHandle = { worker, port: port1, ctrl, start, count: end - start };
        // Without a listener an error event would crash the main thread; the handshake
        // reports failures itself, this keeps the detail for messages.
        worker.on('error', (e) => (handle.lastError = e));
        worker.unref();
        this.handles.push(handle);
      }

      // Phase 1: every worker builds its sub-envs and reports their spaces.
      const deadline = Date.now() + startupTimeoutMs;
      let ready: Extract<WorkerMessage, { type: 'ready' }> | undefined;
      let firstError: KairosError | undefined;
      for (const h of this.handles) {
        this.waitFor(h, READY, 1, deadline, 'start');
        const msg = this.receive(h);
        if (Atomics.load(h.ctrl, STATUS) === STATUS_DEAD && !msg) {
          firstError ??= new KairosError(`WorkerVectorEnv: worker for sub-envs ${h.start}..${h.start + h.count - 1} exited while starting${detail(h)}`, 'worker_exited');
          continue;
        }
        if (!msg || msg.type === 'error') {
          firstError ??= startupError(o.id, msg);
          continue;
        }
        if (msg.type !== 'ready') throw new KairosError(`WorkerVectorEnv: unexpected message ${msg.type} while starting`, 'protocol_error');
        if (!ready) ready = msg;
        else assertSameSpaces(h.start, spaceFromJSON(msg.observationSpace), spaceFromJSON(msg.actionSpace), spaceFromJSON(ready.observationSpace), spaceFromJSON(ready.actionSpace));
      }
      if (firstError || !ready) throw firstError ?? new KairosError('WorkerVectorEnv: no worker started', 'worker_exited');

      this.singleObservationSpace = spaceFromJSON(ready.observationSpace);
      this.singleActionSpace = spaceFromJSON(ready.actionSpace);
      this.spec = ready.spec;
      const obsLayout = observationLayout(this.singleObservationSpace);
      this.actLayout = actionLayout(this.singleActionSpace);
      this.observationSpace = batchSpace(this.singleObservationSpace, this.numEnvs);
      this.actionSpace = batchSpace(this.singleActionSpace, this.numEnvs);

      // Phase 2: shared batched arrays, mapped by every worker.
      const observations = allocate(obsLayout.dtype, this.numEnvs * obsLayout.size, true);
      this.actions = allocate(this.actLayout.dtype, this.numEnvs * this.actLayout.size, true);
      const rewards = allocate('float64', this.numEnvs, true) as Float64Array;
      const terminations = new Uint8Array(new SharedArrayBuffer(this.numEnvs));
      const truncations = new Uint8Array(new SharedArrayBuffer(this.numEnvs));
      this.result = { observations: observations as O, rewards, terminations, truncations, infos: new Array<Info>(this.numEnvs).fill(EMPTY_INFO) };
      const buffers: BuffersMessage = {
        type: 'buffers',
        observations: observations.buffer as SharedArrayBuffer,
        observationDtype: obsLayout.dtype,
        actions: this.actions.buffer as SharedArrayBuffer,
        actionDtype: this.actLayout.dtype,
        rewards: rewards.buffer as SharedArrayBuffer,
        terminations: terminations.buffer as SharedArrayBuffer,
        truncations: truncations.buffer as SharedArrayBuffer,
      };
      for (const h of this.handles) h.port.postMessage(buffers);
      this.command(CMD_INIT);
      this.finish('start');
    } catch (e) {
      this.terminate();
      throw e;
    }
  }

  /** Resets every sub-env (sub-env i seeded with `seed + i`). Blocks until all are done. */
  reset(opts: VectorResetOptions = {}): VectorResetResult<O> {
    this.beginReset(opts);
    return this.finish('reset');
  }

  /** `reset` without blocking the calling thread. */
  async resetAsync(opts: VectorResetOptions = {}): Promise<VectorResetResult<O>> {
    this.beginReset(opts);
    return this.finishAsync('reset');
  }

  /** Steps every sub-env (autoresetting finished ones). Blocks until all workers are done. */
  step(actions: ArrayLike<number>): VectorStepResult<O> {
    this.beginStep(actions);
    return this.finish('step');
  }

  /** `step` without blocking the calling thread (waits with `Atomics.waitAsync`). */
  async stepAsync(actions: ArrayLike<number>): Promise<VectorStepResult<O>> {
    this.beginStep(actions);
    return this.finishAsync('step');
  }

  /**
   * Closes the sub-envs (their `close`, in the workers) and terminates the workers. Safe
   * to call twice; `await venv.closed` to know the threads are gone.
   */
  close(): void {
    if (this.isClosed) return;
    let error: unknown;
    if (!this.busy && this.handles.length > 0) {
      try {
        this.command(CMD_CLOSE);
        // Short wait: closing must not hang on a stuck worker; terminate() follows anyway.
        this.finish('close', 5_000);
      } catch (e) {
        error = e;
      }
    }
    this.terminate();
    if (error instanceof SubEnvError) throw error;
  }

  private beginReset(opts: VectorResetOptions): void {
    this.assertReady();
    const seeds = expandSeeds(opts.seed, this.numEnvs);
    const msg: ResetMessage = { type: 'reset', seeds, options: opts.options };
    for (const h of this.handles) h.port.postMessage(msg);
    this.command(CMD_RESET);
  }

  private beginStep(actions: ArrayLike<number>): void {
    this.assertReady();
    checkActionsLength(actions, this.numEnvs, this.actLayout);
    this.actions.set(actions as ArrayLike<number> & NumericArray);
    this.command(CMD_STEP);
  }

  /** Issues `cmd` to every worker. */
  private command(cmd: number): void {
    this.seq++;
    for (const h of this.handles) {
      Atomics.store(h.ctrl, CMD, cmd);
      Atomics.store(h.ctrl, SEQ, this.seq);
      Atomics.notify(h.ctrl, SEQ);
    }
    this.busy = true;
  }

  private finish(what: string, timeoutMs = this.timeoutMs): VectorStepResult<O> {
    const deadline = Date.now() + timeoutMs;
    try {
      for (const h of this.handles) this.waitFor(h, DONE, this.seq, deadline, what);
    } catch (e) {
      this.terminate();
      throw e;
    }
    return this.collect();
  }

  private async finishAsync(what: string): Promise<VectorStepResult<O>> {
    const deadline = Date.now() + this.timeoutMs;
    // Always yield once, so the env stays busy until the caller awaits, however fast the
    // workers are: a `step` right after an un-awaited `stepAsync` then fails every time.
    await undefined;
    try {
      for (const h of this.handles) {
        for (;;) {
          const done = Atomics.load(h.ctrl, DONE);
          if (done === this.seq) break;
          this.checkAlive(h, what);
          const remaining = deadline - Date.now();
          if (remaining <= 0) throw this.timeoutError(h, what);
          const r = (Atomics as AtomicsWithWaitAsync).waitAsync(h.ctrl, DONE, done, remaining);
          if (r.async) await r.value;
        }
      }
    } catch (e) {
      this.terminate();
      throw e;
    }
    return this.collect();
  }

  /** Reads this command's messages (infos, errors) once every worker is done. */
  private collect(): VectorStepResult<O> {
    this.busy = false;
    const infos = this.result.infos;
    infos.fill(EMPTY_INFO);
    let error: SubEnvError | undefined;
    for (const h of this.handles) {
      if (Atomics.load(h.ctrl, MSG) === 0) continue;
      const msg = this.receive(h);
      if (!msg) continue;
      if (msg.type === 'infos') {
        for (const [i, info] of msg.entries) infos[i] = info;
      } else if (msg.type === 'error' && Atomics.load(h.ctrl, STATUS) === STATUS_ERROR) {
        // Lowest sub-env index wins, so the error does not depend on thread timing.
        const e = new SubEnvError(msg.envIndex ?? h.start, msg.message, msg.code);
        if (msg.stack) e.stack = `${e.name}: ${e.message}\n  caused by ${msg.stack}`;
        if (!error || e.envIndex < error.envIndex) error = e;
      }
    }
    if (error) throw error;
    return this.result;
  }

  private receive(h: WorkerHandle): WorkerMessage | undefined {
    return receiveMessageOnPort(h.port)?.message as WorkerMessage | undefined;
  }

  /** Blocks until `ctrl[index] === value`, the worker dies, or the deadline passes. */
  private waitFor(h: WorkerHandle, index: number, value: number, deadline: number, what: string): void {
    for (;;) {
      const current = Atomics.load(h.ctrl, index);
      if (current === value) return;
      // The value only moves towards `value`: spin while it stays where it is.
      if (spinWhile(h.ctrl, index, current, this.spinMicros) === value) return;
      this.checkAlive(h, what);
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw this.timeoutError(h, what);
      Atomics.wait(h.ctrl, index, current, remaining);
    }
  }

  private checkAlive(h: WorkerHandle, what: string): void {
    if (Atomics.load(h.ctrl, STATUS) === STATUS_DEAD && what !== 'start') {
      throw new KairosError(`WorkerVectorEnv: the worker running sub-envs ${h.start}..${h.start + h.count - 1} exited during ${what}${detail(h)}`, 'worker_exited');
    }
  }

  private timeoutError(h: WorkerHandle, what: string): KairosError {
    return new KairosError(
      `WorkerVectorEnv: the worker running sub-envs ${h.start}..${h.start + h.count - 1} did not finish ${what} in time; the vector env is closed${detail(h)}`,
      'worker_timeout',
    );
  }

  private assertReady(): void {
    if (this.isClosed) throw new KairosError('WorkerVectorEnv: the vector env is closed', 'closed');
    if (this.busy) throw new KairosError('WorkerVectorEnv: a stepAsync/resetAsync is still pending; await it first', 'busy');
  }

  private terminate(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.busy = false;
    const exits = this.handles.map((h) => {
      h.port.close();
      return h.worker.terminate().then(
        () => undefined,
        () => undefined,
      );
    });
    void Promise.all(exits).then(() => this.resolveClosed());
  }
}

function detail(h: WorkerHandle): string {
  return h.lastError ? ` (${h.lastError.message})` : '';
}

function startupError(id: string, msg: Extract<WorkerMessage, { type: 'error' }> | undefined): KairosError {
  if (!msg) return new KairosError(`WorkerVectorEnv: a worker for "${id}" failed to start`, 'worker_exited');
  if (msg.envIndex !== null) return new SubEnvError(msg.envIndex, msg.message, msg.code);
  return new KairosError(`WorkerVectorEnv: a worker for "${id}" failed to start: ${msg.message}`, msg.code ?? 'worker_start_failed');
}
