/**
 * What DDPG, TD3 and SAC share, composed into each agent rather than inherited:
 *
 * - {@link ActionScaler}: the actors work in [−1, 1]^D; the env's Box bounds are reached by
 *   the affine map a_env = low + (a + 1)·(high − low)/2 (SB3's `unscale_action`). Replay stores
 *   the [−1, 1] actions (SB3's `scale_action`), so the critics never see the env's units.
 *   Unbounded Box dimensions are rejected: a tanh actor cannot cover them.
 * - {@link offPolicyFields}: the replay and schedule fields every config has, with SB3's
 *   meaning (learning starts, train frequency in steps or episodes, gradient steps, τ, γ).
 * - {@link OffPolicyCore}: the replay buffer and the training schedule. SB3's off-policy loop
 *   (`OffPolicyAlgorithm.learn`): collect `trainFreq` vector steps (or until `trainFreq`
 *   episodes have ended, summed over envs), then, once more than `learningStarts` env steps
 *   have been taken, run `gradientSteps` updates (−1 = as many as env steps collected in the
 *   round). Before `learningStarts` env steps, actions are uniform over the Box.
 *
 * @example
 * const scaler = new ActionScaler(actionSpace, 'td3');
 * scaler.toEnv(Float32Array.of(0), out, 1); // the middle of the bounds
 */
import { z } from 'zod';
import { KairosError, ValidationError } from '../../core/errors.js';
import type { Rng } from '../../core/rng.js';
import { ScheduleSchema } from '../../core/schedules.js';
import { Box, type Space } from '../../core/spaces.js';
import { ACTIVATIONS, INITS } from '../../tensor/layers/dense.js';
import type { StepBatch, StepContext } from '../agent.js';
import { ReplayBuffer } from '../buffers/replay-buffer.js';
import type { BufferState } from '../buffers/types.js';

// --- Action scaling --------------------------------------------------------------------------

/** Maps between the actor's [−1, 1]^D and a bounded Box; see the module comment. */
export class ActionScaler {
  readonly dim: number;
  readonly low: Float64Array;
  readonly high: Float64Array;
  /** (high − low) / 2 per dimension. */
  readonly halfRange: Float64Array;
  /** Σ_d log((high_d − low_d) / 2): log |det| of the map from [−1, 1]^D to the env's units. */
  readonly logHalfRangeSum: number;

  constructor(space: Space, algorithm: string) {
    if (!(space instanceof Box)) {
      throw new ValidationError('actionSpace', `a Box space (${algorithm} is for continuous actions)`, space?.toString(), algorithm);
    }
    if (!space.isBounded()) {
      throw new ValidationError(
        'actionSpace',
        `a Box with finite low and high in every dimension (${algorithm}'s actor outputs tanh(·) ∈ [−1, 1], rescaled to the bounds); wrap the env in a RescaleAction or ClipAction wrapper with finite bounds`,
        space.toString(),
        algorithm,
      );
    }
    this.dim = space.size;
    this.low = Float64Array.from(space.low);
    this.high = Float64Array.from(space.high);
    this.halfRange = this.low.map((lo, d) => (this.high[d] - lo) / 2);
    let s = 0;
    for (const h of this.halfRange) s += Math.log(h);
    this.logHalfRangeSum = s;
  }

  /** Env actions `[n × D]` from actor-scale actions in [−1, 1]. */
  toEnv(scaled: ArrayLike<number>, out: Float32Array, n: number): Float32Array {
    const D = this.dim;
    for (let i = 0; i < n; i++) {
      for (let d = 0; d < D; d++) out[i * D + d] = this.low[d] + (scaled[i * D + d] + 1) * this.halfRange[d];
    }
    return out;
  }

  /** Actor-scale actions in [−1, 1] from env actions (clipped to the bounds first). */
  fromEnv(env: ArrayLike<number>, out: Float32Array, n: number): Float32Array {
    const D = this.dim;
    for (let i = 0; i < n; i++) {
      for (let d = 0; d < D; d++) {
        const h = this.halfRange[d];
        const a = h > 0 ? (env[i * D + d] - this.low[d]) / h - 1 : 0;
        out[i * D + d] = a < -1 ? -1 : a > 1 ? 1 : a;
      }
    }
    return out;
  }
}

// --- Shared config fields --------------------------------------------------------------------

/** Per-algorithm defaults of the shared fields. */
export interface OffPolicyDefaults {
  learningRate: number;
  learningStarts: number;
  batchSize: number;
  tau: number;
  gamma: number;
  trainFreq: number;
  gradientSteps: number;
  hiddenSizes: number[];
}

/** Zod fields every DDPG/TD3/SAC config has; the defaults are the algorithm's (SB3's). */
export function offPolicyFields(d: OffPolicyDefaults) {
  return {
    /** Adam learning rate of every network (and SAC's temperature), or a schedule over progress. */
    learningRate: ScheduleSchema.default(d.learningRate),
    /** Replay capacity in transitions (SB3: 1e6). */
    bufferSize: z.number().int().positive().default(1_000_000),
    /** Env steps of uniformly random actions before learning starts. */
    learningStarts: z.number().int().nonnegative().default(d.learningStarts),
    /** Transitions per gradient step. */
    batchSize: z.number().int().positive().default(d.batchSize),
    /** Polyak coefficient of the target networks: θ' ← τθ + (1 − τ)θ'. */
    tau: z.number().gt(0).max(1).default(d.tau),
    /** Discount. */
    gamma: z.number().min(0).max(1).default(d.gamma),
    /** Train every this many vector steps (or episodes, see `trainFreqUnit`). */
    trainFreq: z.number().int().positive().default(d.trainFreq),
    /** `step` or `episode` (SB3's `train_freq=(n, "episode")`, used by the RL Zoo's TD3 presets). */
    trainFreqUnit: z.enum(['step', 'episode']).default('step'),
    /** Gradient steps per training round; −1 = as many as env steps collected in the round. */
    gradientSteps: z.number().int().min(-1).refine((x) => x !== 0, 'not 0').default(d.gradientSteps),
    /** Network architecture (ReLU MLPs with PyTorch's initialisation, as SB3). */
    network: z
      .object({
        hiddenSizes: z.array(z.number().int().positive()).default(d.hiddenSizes),
        /** Critic hidden layers; null = the same as the actor's. */
        criticHiddenSizes: z.array(z.number().int().positive()).nullable().default(null),
        activation: z.enum(ACTIVATIONS).default('relu'),
        init: z.enum(INITS).default('torch'),
      })
      .strict()
      .default({ hiddenSizes: d.hiddenSizes, criticHiddenSizes: null, activation: 'relu', init: 'torch' }),
    /** Adam ε (PyTorch default 1e-8). */
    adamEpsilon: z.number().positive().default(1e-8),
  };
}

/** The shared fields after parsing. */
export interface OffPolicyConfig {
  bufferSize: number;
  learningStarts: number;
  batchSize: number;
  gamma: number;
  trainFreq: number;
  trainFreqUnit: 'step' | 'episode';
  gradientSteps: number;
}

// --- Replay and schedule ---------------------------------------------------------------------

/** Counters of {@link OffPolicyCore}, saved in checkpoints. */
export interface OffPolicyCounters {
  /** Vector steps seen. */
  calls: number;
  /** Env steps (the loop's `ctx.step`). */
  steps: number;
  progress: number;
  /** Vector steps and finished episodes since the last training round. */
  roundSteps: number;
  roundEpisodes: number;
  bufferN: number;
}

/**
 * Replay buffer plus SB3's off-policy schedule; see the module comment. The agent calls
 * {@link record} once per vector step and trains as many gradient steps as it returns.
 */
export class OffPolicyCore {
  buffer: ReplayBuffer | null = null;
  counters: OffPolicyCounters = { calls: 0, steps: 0, progress: 0, roundSteps: 0, roundEpisodes: 0, bufferN: 0 };
  private scaled = new Float32Array(0);

  constructor(
    private readonly algorithm: string,
    private readonly obsDim: number,
    private readonly scaler: ActionScaler,
    private readonly config: OffPolicyConfig,
  ) {}

  /** True while actions should be uniform (fewer than `learningStarts` env steps so far). */
  get randomPhase(): boolean {
    return this.counters.steps < this.config.learningStarts;
  }

  private ensureBuffer(n: number): ReplayBuffer {
    if (this.buffer) {
      if (this.counters.bufferN !== n) throw new KairosError(`${this.algorithm}: the agent was trained with ${this.counters.bufferN} envs and is now given ${n}`, 'invalid_argument');
      return this.buffer;
    }
    this.buffer = new ReplayBuffer({ capacity: this.config.bufferSize, obsDim: this.obsDim, action: { kind: 'continuous', dim: this.scaler.dim } });
    this.counters.bufferN = n;
    return this.buffer;
  }

  /**
   * Stores one vector step (actions converted to the [−1, 1] scale) and advances the schedule.
   * Returns the number of gradient steps to run now (0 = none).
   */
  record(batch: StepBatch, ctx: StepContext): number {
    const { n } = batch;
    const d = this.obsDim;
    const D = this.scaler.dim;
    const c = this.config;
    const buffer = this.ensureBuffer(n);
    if (batch.actions.length !== n * D) throw new ValidationError('actions', `${n} × ${D} numbers`, batch.actions.length, `${this.algorithm}.observe`);
    if (this.scaled.length !== n * D) this.scaled = new Float32Array(n * D);
    const scaled = this.scaler.fromEnv(batch.actions, this.scaled, n);
    let ended = 0;
    for (let i = 0; i < n; i++) {
      buffer.add({
        obs: batch.obs.subarray(i * d, (i + 1) * d),
        action: scaled.subarray(i * D, (i + 1) * D),
        reward: batch.rewards[i],
        nextObs: batch.nextObs.subarray(i * d, (i + 1) * d),
        terminated: batch.terminated[i] === 1,
        truncated: batch.truncated[i] === 1,
        discount: c.gamma,
        prob: batch.probs[i],
      });
      if (batch.terminated[i] === 1 || batch.truncated[i] === 1) ended++;
    }
    const k = this.counters;
    k.calls++;
    k.steps = ctx.step;
    k.progress = ctx.step / ctx.totalSteps;
    k.roundSteps++;
    k.roundEpisodes += ended;
    const roundDone = c.trainFreqUnit === 'step' ? k.roundSteps >= c.trainFreq : k.roundEpisodes >= c.trainFreq;
    if (!roundDone) return 0;
    const collected = k.roundSteps * n;
    k.roundSteps = 0;
    k.roundEpisodes = 0;
    if (k.steps <= c.learningStarts) return 0;
    return c.gradientSteps > 0 ? c.gradientSteps : collected;
  }

  /** Samples a batch of `[−1, 1]`-scale transitions. */
  sample(batchSize: number, rng: Rng) {
    if (!this.buffer) throw new KairosError(`${this.algorithm}: nothing to train on yet`, 'empty_buffer');
    return this.buffer.sample(batchSize, rng);
  }

  /** Replay snapshot, or null before the first step. */
  bufferState(): BufferState | null {
    return this.buffer ? this.buffer.getState() : null;
  }

  /** Restores counters (and the buffer when given). */
  restore(counters: OffPolicyCounters, buffer: BufferState | null): void {
    for (const key of ['calls', 'steps', 'progress', 'roundSteps', 'roundEpisodes', 'bufferN'] as const) {
      if (typeof counters?.[key] !== 'number') throw new ValidationError(`json.counters.${key}`, 'a number', counters?.[key], `${this.algorithm} state`);
    }
    if (buffer) {
      this.buffer = null;
      this.counters.bufferN = counters.bufferN;
      this.ensureBuffer(counters.bufferN).setState(buffer);
    }
    this.counters = { ...counters };
  }
}

/** Fills `out` with uniform actions in [−1, 1] (the warm-up's `action_space.sample()`, scaled). */
export function uniformActions(out: Float64Array, rng: Rng): void {
  for (let k = 0; k < out.length; k++) out[k] = rng.uniform(-1, 1);
}

/** Float32 standard normals `[count]` from `rng` (noise for the update, drawn in JS so runs resume exactly). */
export function normals(count: number, rng: Rng, scale = 1): Float32Array {
  const out = new Float32Array(count);
  for (let k = 0; k < count; k++) out[k] = scale * rng.normal();
  return out;
}
