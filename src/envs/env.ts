/**
 * The environment contract, with Gymnasium's semantics (gymnasium.Env, v1.x).
 *
 * An `Env` has four members: `observationSpace`, `actionSpace`, `reset` and `step`.
 *
 * - `reset({ seed, options })` starts an episode and returns `{ observation, info }`.
 *   Passing `seed` re-seeds the env's generator; omitting it continues the current
 *   stream (an env never seeded draws its seed from system entropy, as Gymnasium does).
 * - `step(action)` advances one step and returns
 *   `{ observation, reward, terminated, truncated, info }`:
 *   - `terminated`: the MDP reached a terminal state (pole fell, lander crashed). The
 *     value of the next state is zero; bootstrapping must stop.
 *   - `truncated`: the episode was cut for a reason outside the MDP (time limit, out of
 *     bounds of a simulation budget). The next state still has value; bootstrap from it.
 *   After either is true the caller must call `reset` before stepping again.
 * - Observations returned by `reset`/`step` belong to the caller: an env never mutates
 *   one it has returned.
 *
 * Conventions shared across Kairos (see docs/roadmap.md, "Shapes every part keeps"):
 * - `info.actionMask`: for discrete actions, a `Uint8Array` of length n, 1 = allowed.
 * - `info.rewardVector`: named reward components next to the scalar reward,
 *   e.g. `{ revenue: 0.3, engagement: -0.1 }`.
 *
 * @example
 * const env = make('CartPole-v1');
 * let { observation } = env.reset({ seed: 0 });
 * for (;;) {
 *   const r = env.step(env.actionSpace.sample(rng));
 *   if (r.terminated || r.truncated) break;
 * }
 */
import { Rng } from '../core/rng.js';
import type { Space } from '../core/spaces.js';

/** Extra per-step information. Unknown keys are allowed; these have fixed meanings. */
export interface Info {
  /** Allowed discrete actions for the next step (1 = allowed). */
  actionMask?: Uint8Array;
  /** Named reward components; the scalar `reward` is their (env-defined) combination. */
  rewardVector?: Readonly<Record<string, number>>;
  /** Set by {@link RecordEpisodeStatistics} on the last step of an episode. */
  episode?: EpisodeStatistics;
  [key: string]: unknown;
}

/** Return, length and wall time of a finished episode. */
export interface EpisodeStatistics {
  /** Undiscounted sum of rewards. */
  r: number;
  /** Number of steps. */
  l: number;
  /** Wall-clock seconds since the episode started. */
  t: number;
}

export interface ResetOptions {
  /** Re-seeds the env's generator (an integer in [0, 2^53)). */
  seed?: number;
  /** Env-specific options, e.g. `{ low, high }` for classic-control initial states. */
  options?: Record<string, unknown>;
}

export interface ResetResult<Obs> {
  observation: Obs;
  info: Info;
}

export interface StepResult<Obs> {
  observation: Obs;
  reward: number;
  terminated: boolean;
  truncated: boolean;
  info: Info;
}

/** How an env was created by {@link make}; stored in run folders. */
export interface EnvSpec {
  readonly id: string;
  /** Steps after which TimeLimit truncates, or undefined for none. */
  readonly maxEpisodeSteps?: number;
  /** Mean return at which the task counts as solved (Gymnasium's reward_threshold). */
  readonly rewardThreshold?: number;
  /** Options the env was constructed with (after defaults). */
  readonly kwargs: Readonly<Record<string, unknown>>;
}

/** The environment contract. */
export interface Env<Obs = unknown, Act = unknown> {
  readonly observationSpace: Space<Obs>;
  readonly actionSpace: Space<Act>;
  reset(opts?: ResetOptions): ResetResult<Obs>;
  step(action: Act): StepResult<Obs>;
  /** Set by {@link make}. */
  spec?: EnvSpec;
  /** Releases resources (worker threads, rendering). Safe to call twice. */
  close?(): void;
  /** The innermost env below all wrappers (the env itself when unwrapped). */
  readonly unwrapped?: Env<unknown, unknown>;
}

/**
 * Envs whose full internal state can be read and set, so a test or a planner can start
 * from an exact state (as Gymnasium's `env.unwrapped.state = ...`).
 */
export interface StatefulEnv<State = Float64Array> {
  getState(): State;
  setState(state: ArrayLike<number> | State): void;
}

/** True when `env` implements {@link StatefulEnv}. */
export function isStatefulEnv(env: unknown): env is StatefulEnv<unknown> {
  return (
    env !== null &&
    typeof env === 'object' &&
    typeof (env as StatefulEnv).getState === 'function' &&
    typeof (env as StatefulEnv).setState === 'function'
  );
}

/**
 * Gymnasium's seeding rule for an env's generator: a given seed restarts the stream;
 * no seed keeps the current generator, or seeds a new one from system entropy.
 */
export function seedEnvRng(current: Rng | undefined, seed: number | undefined): Rng {
  if (seed !== undefined) {
    if (current) {
      current.seed(seed);
      return current;
    }
    return new Rng(seed);
  }
  return current ?? new Rng(entropySeed());
}

/** A seed from system entropy (crypto.getRandomValues exists in Node and browsers). */
export function entropySeed(): number {
  const words = new Uint32Array(2);
  globalThis.crypto.getRandomValues(words);
  return (words[0] >>> 11) * 4294967296 + words[1];
}

/** A frozen empty info object, so envs that report nothing allocate nothing per step. */
export const EMPTY_INFO: Info = Object.freeze({}) as Info;
