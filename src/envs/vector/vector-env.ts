/**
 * The vector-env contract: `numEnvs` copies of one env stepped together, with batched
 * results in preallocated typed arrays (Gymnasium 1.x `gymnasium.vector.VectorEnv`).
 *
 * Layout of the batched arrays (row-major, sub-env i at rows [i * size, (i + 1) * size)):
 * - observations: one typed array `[numEnvs × obsSize]` of the single observation space's
 *   element type: a Box's dtype; Int32Array for Discrete and MultiDiscrete; Int8Array for
 *   MultiBinary. Dict and Tuple observations are not supported: wrap each sub-env with
 *   `FlattenObservation` first.
 * - rewards: Float64Array `[numEnvs]`; terminations, truncations: Uint8Array `[numEnvs]`
 *   (1 = true).
 * - infos: one `Info` per sub-env (the shared frozen `EMPTY_INFO` when a sub-env reports
 *   nothing), unlike Gymnasium's dict of arrays: Kairos infos carry typed arrays (action
 *   masks) and small objects (episode statistics) that are easier to use per sub-env.
 * - actions: Discrete → `Int32Array | number[]` of length numEnvs; Box → Float32Array (or
 *   any array of numbers) `[numEnvs × actDim]`; MultiDiscrete → `[numEnvs × k]` integers;
 *   MultiBinary → `[numEnvs × n]` zeros and ones.
 *
 * The result objects and their arrays are reused by every call: they are valid until the
 * next `reset`/`step` of the same vector env. Copy what you keep (`observations.slice()`).
 *
 * Autoreset (Gymnasium 1.x `AutoresetMode`):
 * - `'next-step'` (default): when sub-env i ends an episode (terminated or truncated), the
 *   next `step` resets it instead of stepping: its action is ignored, the observation and
 *   info are the reset's, the reward is 0 and both flags are 0.
 * - `'same-step'`: sub-env i is reset in the step that ended its episode; the returned
 *   observation is the reset observation and `infos[i].finalObservation` /
 *   `infos[i].finalInfo` hold the last observation and info of the finished episode
 *   (SB3's VecEnv keeps the same in `terminal_observation`).
 *
 * Seeding (Gymnasium's rule): `reset({ seed: s })` seeds sub-env i with `s + i`; a list
 * seeds each sub-env with its entry (`undefined`/`null` = not reseeded). Autoresets never
 * reseed: each sub-env continues its own stream, so a seeded run is reproducible.
 *
 * @example
 * const venv = makeVectorEnv('CartPole-v1', 8);
 * let { observations } = venv.reset({ seed: 0 });  // Float32Array(32)
 * const actions = new Int32Array(8);
 * const { rewards, terminations, truncations, infos } = venv.step(actions);
 * venv.close();
 */
import { KairosError, ValidationError } from '../../core/errors.js';
import { assertSeed } from '../../core/rng.js';
import {
  Box,
  Discrete,
  MultiBinary,
  MultiDiscrete,
  typedArrayFor,
  type BoxDtype,
  type NumericArray,
  type Space,
} from '../../core/spaces.js';
import { EMPTY_INFO, type EnvSpec, type Info } from '../env.js';

/** When a finished sub-env is reset; see the module comment. */
export type AutoresetMode = 'next-step' | 'same-step';

/** Options of `VectorEnv.reset`. */
export interface VectorResetOptions {
  /** Sub-env i gets `seed + i`; or one seed (or undefined/null) per sub-env. */
  seed?: number | ReadonlyArray<number | null | undefined>;
  /** Passed to every sub-env's `reset`. */
  options?: Record<string, unknown>;
}

/** Batched result of `reset`; reused by the next call (copy to keep). */
export interface VectorResetResult<O extends NumericArray = NumericArray> {
  readonly observations: O;
  readonly infos: Info[];
}

/** Batched result of `step`; reused by the next call (copy to keep). */
export interface VectorStepResult<O extends NumericArray = NumericArray> {
  readonly observations: O;
  readonly rewards: Float64Array;
  readonly terminations: Uint8Array;
  readonly truncations: Uint8Array;
  readonly infos: Info[];
}

/** The vector-env contract (implemented by SyncVectorEnv and WorkerVectorEnv). */
export interface VectorEnv<O extends NumericArray = NumericArray> {
  readonly numEnvs: number;
  /** Space of one sub-env's observation. */
  readonly singleObservationSpace: Space;
  /** Space of one sub-env's action. */
  readonly singleActionSpace: Space;
  /** Space of the batched observations (see {@link batchSpace}). */
  readonly observationSpace: Space;
  /** Space of the batched actions (see {@link batchSpace}). */
  readonly actionSpace: Space;
  readonly autoresetMode: AutoresetMode;
  /** The sub-envs' spec when they were built by `make`. */
  readonly spec?: EnvSpec;
  reset(opts?: VectorResetOptions): VectorResetResult<O>;
  /** Same as `reset`, without blocking the calling thread (worker envs). */
  resetAsync(opts?: VectorResetOptions): Promise<VectorResetResult<O>>;
  step(actions: ArrayLike<number>): VectorStepResult<O>;
  /** Same as `step`, without blocking the calling thread (worker envs). */
  stepAsync(actions: ArrayLike<number>): Promise<VectorStepResult<O>>;
  /** Releases sub-envs and worker threads. Safe to call twice. */
  close(): void;
}

/**
 * A sub-env failed (threw in reset or step): names the sub-env and the original error.
 *
 * @example
 * try { venv.step(actions); } catch (e) { if (e instanceof SubEnvError) console.log(e.envIndex, e.originalMessage); }
 */
export class SubEnvError extends KairosError {
  constructor(
    /** Index of the sub-env in the vector env. */
    readonly envIndex: number,
    /** The sub-env's own error message. */
    readonly originalMessage: string,
    /** The sub-env error's code when it was a KairosError. */
    readonly originalCode?: string,
  ) {
    super(`sub-env ${envIndex}: ${originalMessage}`, 'sub_env_error');
    this.name = 'SubEnvError';
  }
}

/** How one sub-env's observation or action is laid out in a batched typed array. */
export interface ElementLayout {
  /** True for Discrete: the element is a number, not an array. */
  readonly scalar: boolean;
  /** Values per sub-env. */
  readonly size: number;
  /** Element type of the batched array. */
  readonly dtype: BoxDtype;
  /** Discrete `start`, for error messages. */
  readonly space: Space;
}

function unsupported(space: Space, what: 'observation' | 'action'): KairosError {
  const hint =
    what === 'observation'
      ? "; wrap each sub-env with FlattenObservation (wrappers: [{ wrapper: 'FlattenObservation' }])"
      : '; use a Discrete, Box, MultiDiscrete or MultiBinary action space';
  return new KairosError(`vector envs support Box, Discrete, MultiDiscrete and MultiBinary ${what} spaces, received ${String(space)}${hint}`, 'unsupported_space');
}

/**
 * Batched layout of a single observation space; throws for Dict/Tuple.
 *
 * @example
 * observationLayout(new Box(-1, 1, [4])); // { scalar: false, size: 4, dtype: 'float32', ... }
 */
export function observationLayout(space: Space): ElementLayout {
  if (space instanceof Box) return { scalar: false, size: space.size, dtype: space.dtype, space };
  if (space instanceof Discrete) return { scalar: true, size: 1, dtype: 'int32', space };
  if (space instanceof MultiDiscrete) return { scalar: false, size: space.nvec.length, dtype: 'int32', space };
  if (space instanceof MultiBinary) return { scalar: false, size: space.size, dtype: 'int8', space };
  throw unsupported(space, 'observation');
}

/**
 * Batched layout of a single action space. Discrete actions travel as float64 so a bad
 * value (1.5, NaN) reaches the sub-env unchanged and is reported there, in both the
 * in-process and the worker env.
 *
 * @example
 * actionLayout(new Discrete(2)); // { scalar: true, size: 1, dtype: 'float64', ... }
 */
export function actionLayout(space: Space): ElementLayout {
  if (space instanceof Box) return { scalar: false, size: space.size, dtype: space.dtype, space };
  if (space instanceof Discrete) return { scalar: true, size: 1, dtype: 'float64', space };
  if (space instanceof MultiDiscrete) return { scalar: false, size: space.nvec.length, dtype: 'int32', space };
  if (space instanceof MultiBinary) return { scalar: false, size: space.size, dtype: 'int8', space };
  throw unsupported(space, 'action');
}

/**
 * The space of `n` stacked elements of `space` (Gymnasium's `gymnasium.vector.utils.batch_space`):
 * Box → Box of shape `[n, ...shape]`; Discrete → MultiDiscrete of n copies;
 * MultiDiscrete → int32 Box `[n, k]` with the per-component ranges; MultiBinary → int8
 * Box of 0/1 `[n, ...shape]`.
 *
 * @example
 * batchSpace(new Discrete(2), 3).toString(); // "MultiDiscrete([2 2 2])"
 */
export function batchSpace(space: Space, n: number): Space {
  if (!Number.isInteger(n) || n <= 0) throw new ValidationError('n', 'a positive integer', n, 'batchSpace');
  const tile = (a: ArrayLike<number>) => {
    const out = new Float64Array(n * a.length);
    for (let i = 0; i < n; i++) for (let j = 0; j < a.length; j++) out[i * a.length + j] = a[j];
    return out;
  };
  if (space instanceof Box) return new Box(tile(space.low), tile(space.high), [n, ...space.shape], space.dtype);
  if (space instanceof Discrete) return new MultiDiscrete(new Array(n).fill(space.n), new Array(n).fill(space.start));
  if (space instanceof MultiDiscrete) {
    const high = Array.from(space.nvec, (v, i) => space.start[i] + v - 1);
    return new Box(tile(space.start), tile(high), [n, space.nvec.length], 'int32');
  }
  if (space instanceof MultiBinary) return new Box(0, 1, [n, ...space.shape], 'int8');
  throw unsupported(space, 'observation');
}

/**
 * A zeroed typed array of `dtype`, optionally on a SharedArrayBuffer.
 *
 * @example
 * allocate('float32', 8, true); // Float32Array(8) on a SharedArrayBuffer
 */
export function allocate(dtype: BoxDtype, length: number, shared = false): NumericArray {
  const Ctor = typedArrayFor(dtype) as unknown as { new (buf: ArrayBufferLike, offset: number, length: number): NumericArray; new (n: number): NumericArray; BYTES_PER_ELEMENT: number };
  if (!shared) return new Ctor(length);
  return new Ctor(new SharedArrayBuffer(Math.max(1, length) * Ctor.BYTES_PER_ELEMENT), 0, length);
}

/**
 * The seeds sub-envs [0, numEnvs) get from `reset({ seed })`, validated.
 *
 * @example
 * expandSeeds(10, 3); // [10, 11, 12]
 */
export function expandSeeds(seed: VectorResetOptions['seed'], numEnvs: number): Array<number | undefined> | undefined {
  if (seed === undefined || seed === null) return undefined;
  if (typeof seed === 'number') {
    assertSeed(seed);
    assertSeed(seed + numEnvs - 1, `seed + ${numEnvs - 1}`);
    return Array.from({ length: numEnvs }, (_, i) => seed + i);
  }
  if (!Array.isArray(seed) || seed.length !== numEnvs) {
    throw new ValidationError('seed', `a number or an array of ${numEnvs} seeds`, seed, 'VectorEnv.reset');
  }
  return seed.map((s, i) => {
    if (s === undefined || s === null) return undefined;
    assertSeed(s, `seed[${i}]`);
    return s;
  });
}

/**
 * True when an info has no keys (the sub-env reported nothing); allocation-free.
 *
 * @example
 * isEmptyInfo(EMPTY_INFO); // true
 */
export function isEmptyInfo(info: Info | undefined | null): boolean {
  if (info === undefined || info === null || info === EMPTY_INFO) return true;
  for (const _ in info) return false;
  return true;
}

/**
 * Checks the length of a batched action array.
 *
 * @example
 * checkActionsLength(actions, venv.numEnvs, actionLayout(venv.singleActionSpace));
 */
export function checkActionsLength(actions: ArrayLike<number>, numEnvs: number, layout: ElementLayout): void {
  if (actions === null || typeof actions !== 'object' || actions.length !== numEnvs * layout.size) {
    const received = actions === null || typeof actions !== 'object' ? String(actions) : `length ${actions.length}`;
    throw new KairosError(
      `VectorEnv.step: expected ${numEnvs * layout.size} actions (${numEnvs} sub-envs × ${layout.size} for ${String(layout.space)}), received ${received}`,
      'invalid_action',
    );
  }
}
