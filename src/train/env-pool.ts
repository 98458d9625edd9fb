/**
 * The environments a training run steps: `n` copies of one env in this thread, with the
 * bookkeeping the loop needs and nothing else: flattened observations in one Float32Array,
 * action masks, per-episode returns, and resets with seeds derived from
 * (run seed, env index, episode index).
 *
 * Deriving every episode's seed (instead of letting one generator run on) is what makes runs
 * resumable for any deterministic env: a checkpoint stores each env's episode index and the
 * actions taken so far in its current episode, and on resume the pool resets with the same
 * seed and replays those actions, which puts the env back in exactly the state it was in.
 * Envs need no `getState`/`setState` (LunarLander's physics engine hides its state).
 *
 * @example
 * const pool = new EnvPool(() => make('CartPole-v1'), 4, 0);
 * pool.resetAll();
 * const finished = pool.step(actions); // pool.obs now holds the next observations
 */
import { KairosError, ValidationError } from '../core/errors.js';
import { Box, Discrete, flatdim, flattenInto, type Space } from '../core/spaces.js';
import type { Env, Info } from '../envs/env.js';

/** Makes one env; called `n` times (index = sub-env). */
export type EnvFactory = (index: number) => Env;

/** Seed of episode `episode` of sub-env `index` in a run seeded `seed` (in [0, 2^31)). */
export function episodeSeed(seed: number, index: number, episode: number): number {
  // Murmur3-style finaliser over the three inputs: cheap, well mixed, stable across versions.
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.floor(seed / 2 ** 32);
  h = Math.imul(h ^ (h >>> 13) ^ Math.imul(index + 1, 0xc2b2ae35), 0x27d4eb2f);
  h = Math.imul(h ^ (h >>> 15) ^ Math.imul(episode + 1, 0x165667b1), 0x85ebca6b);
  h ^= h >>> 16;
  return (h >>> 0) & 0x7fffffff;
}

/** Per-env state a checkpoint keeps. */
export interface EnvSlotState {
  episode: number;
  /** Actions of the current episode so far (replayed on restore). */
  actions: number[][];
  episodeReturn: number;
  episodeLength: number;
}

/** A finished episode. */
export interface FinishedEpisode {
  env: number;
  episode: number;
  return: number;
  length: number;
  terminated: boolean;
}

/** Converts the agent's action row to what `env.step` takes. */
function actionReader(space: Space): { dim: number; read: (actions: ArrayLike<number>, i: number) => unknown } {
  if (space instanceof Discrete) return { dim: 1, read: (a, i) => a[i] };
  if (space instanceof Box) {
    const dim = space.shape.reduce((x, y) => x * y, 1);
    return { dim, read: (a, i) => Float32Array.from({ length: dim }, (_, k) => a[i * dim + k]) };
  }
  throw new KairosError(`EnvPool: action space ${space.toString()} is not supported (Discrete or Box)`, 'unsupported_space');
}

/** n envs stepped in lockstep; see the module comment. */
export class EnvPool {
  readonly envs: Env[];
  readonly n: number;
  readonly obsDim: number;
  readonly observationSpace: Space;
  readonly actionSpace: Space;
  /** Number of discrete actions (0 for continuous). */
  readonly numActions: number;
  /** `[n × obsDim]` current observations. */
  readonly obs: Float32Array;
  /** `[n × obsDim]` observations after the last step (true final ones for ended episodes). */
  readonly nextObs: Float32Array;
  readonly rewards: Float64Array;
  readonly terminated: Uint8Array;
  readonly truncated: Uint8Array;
  /** `[n × numActions]` masks of `obs`, or null when the env gives none. */
  masks: Uint8Array | null = null;
  /** `[n × numActions]` masks of `nextObs`. */
  nextMasks: Uint8Array | null = null;
  readonly slots: EnvSlotState[];
  private readonly read: (actions: ArrayLike<number>, i: number) => unknown;
  private readonly actDim: number;

  constructor(factory: EnvFactory, n: number, readonly seed: number) {
    if (!Number.isInteger(n) || n < 1) throw new ValidationError('numEnvs', 'a positive integer', n, 'train');
    this.envs = Array.from({ length: n }, (_, i) => factory(i));
    this.n = n;
    this.observationSpace = this.envs[0].observationSpace;
    this.actionSpace = this.envs[0].actionSpace;
    this.obsDim = flatdim(this.observationSpace);
    this.numActions = this.actionSpace instanceof Discrete ? this.actionSpace.n : 0;
    ({ dim: this.actDim, read: this.read } = actionReader(this.actionSpace));
    this.obs = new Float32Array(n * this.obsDim);
    this.nextObs = new Float32Array(n * this.obsDim);
    this.rewards = new Float64Array(n);
    this.terminated = new Uint8Array(n);
    this.truncated = new Uint8Array(n);
    this.slots = Array.from({ length: n }, () => ({ episode: 0, actions: [], episodeReturn: 0, episodeLength: 0 }));
  }

  private writeMask(target: 'masks' | 'nextMasks', i: number, info: Info): void {
    const mask = info.actionMask;
    if (mask && !this[target]) {
      if (this.numActions === 0) throw new KairosError('EnvPool: info.actionMask given for a continuous action space', 'invalid_info');
      this.masks ??= new Uint8Array(this.n * this.numActions).fill(1);
      this.nextMasks ??= new Uint8Array(this.n * this.numActions).fill(1);
    }
    const arr = this[target];
    if (!arr) return;
    const A = this.numActions;
    if (mask) {
      if (mask.length !== A) throw new ValidationError('info.actionMask', `${A} entries`, mask.length, `env ${i}`);
      arr.set(mask, i * A);
    } else arr.fill(1, i * A, (i + 1) * A);
  }

  private resetSlot(i: number): void {
    const slot = this.slots[i];
    const { observation, info } = this.envs[i].reset({ seed: episodeSeed(this.seed, i, slot.episode) });
    flattenInto(this.observationSpace, observation, this.obs, i * this.obsDim);
    this.writeMask('masks', i, info);
    slot.actions = [];
    slot.episodeReturn = 0;
    slot.episodeLength = 0;
  }

  /** Resets every env to the start of its current episode index. */
  resetAll(): void {
    for (let i = 0; i < this.n; i++) this.resetSlot(i);
  }

  /**
   * Steps every env with row i of `actions`; fills `nextObs`, rewards, flags and next masks.
   * Call {@link advance} once the agent has seen the step.
   */
  step(actions: ArrayLike<number>): void {
    const d = this.obsDim;
    for (let i = 0; i < this.n; i++) {
      const slot = this.slots[i];
      const a = this.read(actions, i);
      slot.actions.push(typeof a === 'number' ? [a] : Array.from(a as Float32Array));
      const r = this.envs[i].step(a);
      flattenInto(this.observationSpace, r.observation, this.nextObs, i * d);
      this.rewards[i] = r.reward;
      this.terminated[i] = r.terminated ? 1 : 0;
      this.truncated[i] = r.truncated ? 1 : 0;
      this.writeMask('nextMasks', i, r.info);
      slot.episodeReturn += r.reward;
      slot.episodeLength++;
    }
  }

  /** Moves to the next observations: resets ended envs; returns the episodes that ended. */
  advance(): FinishedEpisode[] {
    const finished: FinishedEpisode[] = [];
    const d = this.obsDim;
    const A = this.numActions;
    for (let i = 0; i < this.n; i++) {
      if (this.terminated[i] || this.truncated[i]) {
        const slot = this.slots[i];
        finished.push({ env: i, episode: slot.episode, return: slot.episodeReturn, length: slot.episodeLength, terminated: this.terminated[i] === 1 });
        slot.episode++;
        this.resetSlot(i);
      } else {
        this.obs.set(this.nextObs.subarray(i * d, (i + 1) * d), i * d);
        if (this.masks && this.nextMasks) this.masks.set(this.nextMasks.subarray(i * A, (i + 1) * A), i * A);
      }
    }
    return finished;
  }

  /** Per-env state for a checkpoint (copies). */
  getState(): EnvSlotState[] {
    return this.slots.map((s) => ({ ...s, actions: s.actions.map((a) => [...a]) }));
  }

  /** Restores {@link getState}: resets each env to its episode's seed and replays its actions. */
  setState(state: EnvSlotState[]): void {
    if (!Array.isArray(state) || state.length !== this.n) {
      throw new ValidationError('envs', `${this.n} env states (the run's numEnvs)`, Array.isArray(state) ? state.length : state, 'checkpoint');
    }
    for (let i = 0; i < this.n; i++) {
      const s = state[i];
      const slot = this.slots[i];
      slot.episode = s.episode;
      this.resetSlot(i);
      for (const [k, a] of s.actions.entries()) {
        const action = this.actDim === 1 && this.numActions > 0 ? a[0] : Float32Array.from(a);
        const r = this.envs[i].step(action);
        slot.actions.push([...a]);
        slot.episodeReturn += r.reward;
        slot.episodeLength++;
        flattenInto(this.observationSpace, r.observation, this.obs, i * this.obsDim);
        this.writeMask('masks', i, r.info);
        if ((r.terminated || r.truncated) && k + 1 < s.actions.length) {
          throw new KairosError(`checkpoint: env ${i} ended its episode while replaying step ${k + 1} of ${s.actions.length}; the env is not deterministic for a given seed, so this run cannot be resumed exactly`, 'nondeterministic_env');
        }
      }
      if (Math.abs(slot.episodeReturn - s.episodeReturn) > 1e-9 * Math.max(1, Math.abs(s.episodeReturn))) {
        throw new KairosError(`checkpoint: env ${i} replayed to return ${slot.episodeReturn}, the checkpoint says ${s.episodeReturn}; the env is not deterministic for a given seed`, 'nondeterministic_env');
      }
    }
  }

  close(): void {
    for (const e of this.envs) e.close?.();
  }
}
