/**
 * The one module that sets up TensorFlow.js for Kairos. The rest of Kairos imports `tf`
 * from `src/tensor` (never from `@tensorflow/*` directly), so backend choice, gradient
 * registration and the matMul gradient fix happen in one place.
 *
 * - Backend: WASM by default (XNNPACK kernels, ~30x faster matMul than the pure-JS CPU
 *   backend), CPU as the fallback. `@tensorflow/tfjs-node` is deliberately not used: it
 *   needs a native build and does not run in a browser.
 * - Gradients: tfjs-core alone registers none (see `gradients.ts`); importing this module
 *   registers Kairos's set.
 * - matMul gradient fix: on WASM a matMul with `transposeA`/`transposeB` is 10-20x slower
 *   than a plain one, and the stock backward pass of matMul uses exactly those forms. We
 *   register a `BatchMatMul` gradient that transposes explicitly and then calls a plain
 *   matMul (`fastBatchMatMulGradConfig`). `tf.fused.matMul` is NOT covered: its backward
 *   pass is a closure inside the op that calls the flagged matMul directly, so Kairos layers
 *   use `tf.matMul` + `tf.add` + activation instead (docs/tensor.md).
 *
 * @example
 * import { initTensorBackend, tf } from '../tensor/index.js';
 * const info = await initTensorBackend(); // { backend: 'wasm', fastMatMulGrad: true, ... }
 * const y = tf.matMul(tf.ones([2, 3]), tf.ones([3, 4]));
 */
import * as tf from '@tensorflow/tfjs-core';
// Importing a backend package only registers its factory; nothing is instantiated until
// `tf.setBackend` picks it.
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { KairosError, ValidationError } from '../core/errors.js';
import { isFusedKernelsEnabled, prepareFusedKernels } from './fused.js';
import {
  fastBatchMatMulGradConfig,
  referenceBatchMatMulGradConfig,
  registerKairosGradients,
} from './gradients.js';

/**
 * TensorFlow.js core with Kairos's gradients registered. Import it from `src/tensor`, never
 * from `@tensorflow/tfjs-core` directly, so set-up always happens first.
 *
 * @example
 * import { tf } from '../tensor/index.js';
 * const y = tf.tidy(() => tf.relu(tf.tensor1d([-1, 2])));
 */
export { tf };

/** Backends Kairos supports. */
export const TENSOR_BACKENDS = ['wasm', 'cpu'] as const;
/** A backend Kairos supports. */
export type TensorBackendName = (typeof TENSOR_BACKENDS)[number];

/** Options of {@link initTensorBackend}. Each overrides the matching environment variable. */
export interface TensorBackendOptions {
  /** Backend to use. Default: env `KAIROS_BACKEND`, else `'wasm'`. */
  backend?: TensorBackendName;
  /**
   * Where the `.wasm` binaries are served from (browser bundles). A prefix ending in `/` or a
   * map from file name (`tfjs-backend-wasm-simd.wasm`, ...) to URL. Not needed in Node.
   */
  wasmPaths?: string | Record<string, string>;
  /**
   * Use the explicit-transpose matMul gradient. Default: env `KAIROS_FAST_MATMUL_GRAD`
   * (`0`/`false` turns it off), else `true`.
   */
  fastMatMulGrad?: boolean;
}

/** What {@link initTensorBackend} set up. */
export interface TensorBackendInfo {
  /** Backend now active. */
  readonly backend: TensorBackendName;
  /** Backend that was asked for (differs from `backend` after a WASM failure). */
  readonly requested: TensorBackendName;
  /** True when WASM failed to initialise and the CPU backend is used instead. */
  readonly fellBack: boolean;
  /** Whether the fast matMul gradient is registered. */
  readonly fastMatMulGrad: boolean;
  /**
   * Whether Kairos's fused WASM kernels (whole-MLP forward/backward, Adam) are compiled and
   * bound to the backend (`fused.ts`); false on CPU, when `KAIROS_FUSED=0`, or if the
   * WebAssembly kernels could not be compiled (`fusedKernelFailure()` says why).
   */
  readonly fusedKernels: boolean;
}

// Register gradients at import time: `tf.grad` must work as soon as `src/tensor` is loaded,
// whether or not the async initialiser has run yet.
registerKairosGradients();

/**
 * The `BatchMatMul` gradient that was registered before Kairos installed the fast one
 * (upstream's when an app also loads `@tensorflow/tfjs`, else Kairos's reference form).
 */
const originalBatchMatMulGrad: tf.GradConfig = tf.getGradient(tf.BatchMatMul) ?? referenceBatchMatMulGradConfig;
let fastMatMulGradOn = false;
let current: TensorBackendInfo | null = null;
let pending: Promise<TensorBackendInfo> | null = null;
let pendingKey = '';

/**
 * Turns the explicit-transpose `BatchMatMul` gradient on or off. Off restores the gradient
 * that was registered before Kairos replaced it. Takes effect for ops recorded afterwards
 * (tfjs looks the gradient up when the forward op runs).
 *
 * @example
 * setFastMatMulGrad(false); // time the stock gradient
 */
export function setFastMatMulGrad(enabled: boolean): void {
  tf.registerGradient(enabled ? fastBatchMatMulGradConfig : originalBatchMatMulGrad);
  fastMatMulGradOn = enabled;
  if (current) current = { ...current, fastMatMulGrad: enabled };
}

/** Whether the fast matMul gradient is currently registered. */
export function isFastMatMulGrad(): boolean {
  return fastMatMulGradOn;
}

/** Info about the active setup, or null before {@link initTensorBackend} resolved. */
export function tensorBackendInfo(): TensorBackendInfo | null {
  return current;
}

function readEnv(name: string): string | undefined {
  // `process` is absent in browsers; a bundler may also define it without `env`.
  const proc = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  const value = proc?.env?.[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function parseBackend(value: unknown, path: string): TensorBackendName {
  if (typeof value === 'string' && (TENSOR_BACKENDS as readonly string[]).includes(value)) {
    return value as TensorBackendName;
  }
  throw new ValidationError(path, `one of ${TENSOR_BACKENDS.map((b) => `"${b}"`).join(', ')}`, value, 'initTensorBackend');
}

function parseFlag(value: unknown, path: string): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const v = value.toLowerCase();
    if (v === '1' || v === 'true') return true;
    if (v === '0' || v === 'false') return false;
  }
  throw new ValidationError(path, path.startsWith('KAIROS_') ? 'one of "0", "1", "true", "false"' : 'boolean', value, 'initTensorBackend');
}

/** Resolves options and environment into a concrete request; throws on invalid values. */
export function resolveTensorBackendOptions(opts: TensorBackendOptions = {}): {
  backend: TensorBackendName;
  fastMatMulGrad: boolean;
} {
  if (opts === null || typeof opts !== 'object') {
    throw new ValidationError('', 'an options object', opts, 'initTensorBackend');
  }
  const envBackend = readEnv('KAIROS_BACKEND');
  const backend =
    opts.backend !== undefined
      ? parseBackend(opts.backend, 'backend')
      : envBackend !== undefined
        ? parseBackend(envBackend, 'KAIROS_BACKEND')
        : 'wasm';
  const envFast = readEnv('KAIROS_FAST_MATMUL_GRAD');
  const fastMatMulGrad =
    opts.fastMatMulGrad !== undefined
      ? parseFlag(opts.fastMatMulGrad, 'fastMatMulGrad')
      : envFast !== undefined
        ? parseFlag(envFast, 'KAIROS_FAST_MATMUL_GRAD')
        : true;
  return { backend, fastMatMulGrad };
}

/**
 * Sets WASM up, capturing tfjs's own multi-line failure report so the caller can print one
 * line. Returns the first line of the error, or null on success.
 */
async function trySetWasm(): Promise<string | null> {
  const captured: unknown[][] = [];
  const originalWarn = console.warn;
  // tfjs swallows the init error and prints "Initialization of backend wasm failed" plus a
  // stack trace via console.warn (Emscripten adds its own lines); buffer warnings for the
  // duration of the attempt only.
  console.warn = (...args: unknown[]) => void captured.push(args);
  let ok = false;
  try {
    ok = await tf.setBackend('wasm');
  } catch (err) {
    captured.push([err instanceof Error ? err.message : String(err)]);
  } finally {
    console.warn = originalWarn;
  }
  if (ok) {
    for (const args of captured) originalWarn(...args);
    return null;
  }
  // On failure everything captured is the failure report (tfjs's headline and stack, plus
  // Emscripten's "Aborted(...)" lines); keep only the first line of the underlying error.
  const text = captured.map((args) => args.map(String).join(' '));
  // The first line is the most specific (Emscripten's, e.g. the missing file); tfjs's own
  // message after its headline is generic.
  const reason = text.find((t) => t.length > 0 && !t.startsWith('Initialization of backend')) ?? 'unknown error';
  return reason.split('\n')[0].slice(0, 200);
}

async function setUp(opts: TensorBackendOptions): Promise<TensorBackendInfo> {
  const { backend: requested, fastMatMulGrad } = resolveTensorBackendOptions(opts);
  if (opts.wasmPaths !== undefined) {
    if (tf.engine().registry.wasm !== undefined) {
      throw new KairosError(
        'initTensorBackend: wasmPaths must be given on the first call, before the WASM backend is initialised',
        'invalid_state',
      );
    }
    setWasmPaths(opts.wasmPaths);
  }
  let backend: TensorBackendName = requested;
  let fellBack = false;
  if (requested === 'wasm') {
    const failure = tf.getBackend() === 'wasm' ? null : await trySetWasm();
    if (failure !== null) {
      console.warn(`kairos: WASM backend failed to initialise (${failure}); falling back to the CPU backend (slower).`);
      backend = 'cpu';
      fellBack = true;
    }
  }
  if (backend === 'cpu' && tf.getBackend() !== 'cpu') {
    if (!(await tf.setBackend('cpu'))) {
      throw new KairosError('initTensorBackend: the CPU backend failed to initialise', 'backend_init_failed');
    }
  }
  await tf.ready();
  if (backend === 'cpu') silenceTfjsNodeHint();
  setFastMatMulGrad(fastMatMulGrad);
  const fusedKernels = backend === 'wasm' && (await prepareFusedKernels()) && isFusedKernelsEnabled();
  current = { backend, requested, fellBack, fastMatMulGrad, fusedKernels };
  return current;
}

/**
 * The CPU backend prints "install tfjs-node for speed" on its first tensor in Node; Kairos
 * does not use tfjs-node on purpose (native build, no browser), so the hint only misleads.
 * `firstUse` is the private flag that gates it (tfjs-backend-cpu 4.x).
 */
function silenceTfjsNodeHint(): void {
  const backend = tf.engine().registry.cpu as unknown as { firstUse?: boolean } | undefined;
  if (backend && typeof backend.firstUse === 'boolean') backend.firstUse = false;
}

/**
 * Initialises the tensor backend and gradient set-up. Async and idempotent: calls with the
 * same effective options share one promise; a later call with a different backend switches
 * to it (used by tests that run on both backends).
 *
 * Backend: `opts.backend`, else env `KAIROS_BACKEND`, else `'wasm'`; WASM that fails to load
 * falls back to CPU with a one-line warning. Invalid values throw a `ValidationError`
 * naming the option or variable, the value and the allowed values.
 *
 * @example
 * await initTensorBackend();                     // WASM, fast matMul gradient
 * await initTensorBackend({ backend: 'cpu' });   // switch to CPU
 * await initTensorBackend({ wasmPaths: '/static/tfjs/' }); // browser bundle
 */
export async function initTensorBackend(opts: TensorBackendOptions = {}): Promise<TensorBackendInfo> {
  // Resolve first so invalid input throws synchronously-in-the-promise even when a setup is pending.
  const resolved = resolveTensorBackendOptions(opts);
  const key = `${resolved.backend}|${resolved.fastMatMulGrad}|${JSON.stringify(opts.wasmPaths ?? null)}`;
  if (pending !== null && key === pendingKey) return pending;
  if (current !== null && key === pendingKey) return current;
  const previous = pending;
  pendingKey = key;
  pending = (async () => {
    // Serialise set-ups: two overlapping setBackend calls would race inside tfjs.
    if (previous) await previous.catch(() => undefined);
    return setUp(opts);
  })();
  try {
    return await pending;
  } catch (err) {
    pending = null;
    pendingKey = '';
    throw err;
  }
}
