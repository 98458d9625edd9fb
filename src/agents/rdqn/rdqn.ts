/**
 * Recurrent DQN (`rdqn`), read top to bottom: the config (every hyperparameter with its
 * default and source), the sequence loss as a pure function, then the agent (act with
 * per-env LSTM state, observe/train on whole sequences, state).
 *
 * - DRQN (Hausknecht & Stone 2015): DQN whose Q-network has an LSTM, trained on sequences
 *   replayed from whole episodes, so a policy can depend on the history, not just the
 *   current observation. Their "bootstrapped sequential updates" start each replayed
 *   sequence at the start of an episode with a zero LSTM state: that is the default here.
 * - R2D2 details (Kapturowski et al. 2019): the LSTM also receives the previous action
 *   (one-hot; zeros at an episode's first step); Double DQN targets from the online net's
 *   argmax, evaluated by a target network; the zero-start-state strategy for sequences
 *   (§3), and optional burn-in steps (unrolled, not trained on) for windows that start
 *   inside an episode. Not taken: value rescaling and n-step returns (R2D2's Atari
 *   specifics), distributed actors, prioritised sequences.
 * - Acting keeps an LSTM state per env. The loop's StepBatch says when env i's episode
 *   ended (terminated or truncated); the agent then zeroes that env's state, so the next
 *   `act` starts a new episode. Greedy calls (`deterministic: true`: evaluation, serving)
 *   use their own states, so evaluating mid-training does not disturb the training envs;
 *   pass `episodeStarts` (see {@link RecurrentActOptions}) to mark their episode starts.
 * - `act` returns each action's probability under the current ε-greedy policy, like DQN;
 *   action masks (`info.actionMask`) restrict exploration and the targets' argmax / max.
 *
 * @example
 * const agent = new RdqnAgent({ observationSpace, actionSpace, config: { network: { lstmSize: 64 } }, seed: 0 });
 * const { actions, probs } = agent.act(obs, n);          // advances each env's LSTM state
 * agent.observe(stepBatch, { step, totalSteps });        // stores, trains, resets ended envs
 */
import { z } from 'zod';
import { KairosError, ValidationError, parseWith } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { ScheduleSchema, valueAt, type Schedule } from '../../core/schedules.js';
import { Discrete, flatdim, type Space } from '../../core/spaces.js';
import { tf } from '../../tensor/backend.js';
import { ACTIVATIONS, INITS } from '../../tensor/layers/dense.js';
import { LSTM_INITS } from '../../tensor/layers/lstm.js';
import { clipGradsByGlobalNorm, createOptimizer, setLearningRate } from '../../tensor/optim.js';
import type { ActOptions, ActResult, Agent, AgentInit, AgentState, StepBatch, StepContext } from '../agent.js';
import { EpisodicBuffer } from '../buffers/episodic-buffer.js';
import { StatePacker, checkAlgorithm, packQLearner, unpackBuffer, unpackQLearner, unpackWeights } from '../state.js';
import { selectEpsilonGreedy } from '../dqn/exploration.js';
import { bootstrapValues, huber } from '../dqn/targets.js';
import { RecurrentQNetwork } from './recurrent-q-network.js';

// --- Config ----------------------------------------------------------------------------------

/** Recurrent DQN config; every field optional. */
export const RdqnConfigSchema = z
  .object({
    /** Adam learning rate or schedule. R2D2 used 1e-4 at Atari scale; 1e-3 suits small nets. */
    learningRate: ScheduleSchema.default(1e-3),
    /** Replay capacity in transitions (whole episodes are kept and evicted oldest first). */
    bufferSize: z.number().int().positive().default(100_000),
    /** Env steps of uniformly random actions before learning starts (SB3 DQN: 100). */
    learningStarts: z.number().int().nonnegative().default(1000),
    /** Sequences per gradient step (DRQN: 32; R2D2: 64). */
    batchSize: z.number().int().positive().default(32),
    /** Longest replayed sequence (R2D2: 80); longer episodes are cut into windows. */
    sequenceLength: z.number().int().positive().default(80),
    /**
     * Replay sequences from the start of an episode with a zero LSTM state (DRQN's
     * bootstrapped sequential updates; R2D2's zero-start strategy). False samples windows
     * anywhere in an episode, still from a zero state: then use `burnIn`.
     */
    fromEpisodeStart: z.boolean().default(true),
    /** Leading steps of each window only unrolled to warm up the state, not trained on (R2D2: 40). */
    burnIn: z.number().int().nonnegative().default(0),
    /** Discount (SB3 DQN: 0.99; R2D2: 0.997). */
    gamma: z.number().min(0).max(1).default(0.99),
    /** Train every this many vector steps (SB3 DQN: 4). */
    trainFreq: z.number().int().positive().default(4),
    /** Gradient steps per training round. */
    gradientSteps: z.number().int().positive().default(1),
    /** Env steps between target-network updates (R2D2: every 2500 updates). */
    targetUpdateInterval: z.number().int().positive().default(2500),
    /** Target update coefficient: 1 = hard copy. */
    tau: z.number().gt(0).max(1).default(1),
    /** ε decays linearly from initial to final over this fraction of the run (SB3 DQN: 0.1). */
    explorationFraction: z.number().gt(0).max(1).default(0.1),
    explorationInitialEps: z.number().min(0).max(1).default(1),
    explorationFinalEps: z.number().min(0).max(1).default(0.05),
    /** Full ε schedule; overrides the three fields above. */
    epsilon: ScheduleSchema.optional(),
    /** Double DQN targets (van Hasselt et al. 2016), as R2D2. */
    double: z.boolean().default(true),
    /** Huber (δ = 1) or squared TD error. */
    loss: z.enum(['huber', 'mse']).default('huber'),
    /**
     * Clip gradients to this global norm; null = off. On by default, unlike DQN: gradients
     * through an unrolled LSTM can explode (Pascanu et al. 2013); R2D2 clips at 40.
     */
    maxGradNorm: z.number().positive().nullable().default(10),
    /** Adam ε (PyTorch default 1e-8; R2D2 used 1e-3). */
    adamEpsilon: z.number().positive().default(1e-8),
    /** Feed the previous action (one-hot) to the network (R2D2). */
    previousAction: z.boolean().default(true),
    network: z
      .object({
        /** Dense layers before the LSTM (DRQN/R2D2 have a torso here). */
        encoderSizes: z.array(z.number().int().positive()).default([64]),
        /** LSTM units (DRQN: 512 at Atari scale). */
        lstmSize: z.number().int().positive().default(64),
        /** Hidden layers after the LSTM; [] = a linear head as DRQN. */
        headSizes: z.array(z.number().int().positive()).default([]),
        activation: z.enum(ACTIVATIONS).default('relu'),
        /** Dense-layer init (PyTorch nn.Linear's). */
        init: z.enum(INITS).default('torch'),
        /** LSTM init: Keras-style with forget bias 1 (Jozefowicz et al. 2015) or PyTorch's. */
        lstmInit: z.enum(LSTM_INITS).default('keras'),
      })
      .strict()
      .default({ encoderSizes: [64], lstmSize: 64, headSizes: [], activation: 'relu', init: 'torch', lstmInit: 'keras' }),
  })
  .strict()
  .refine((c) => c.burnIn < c.sequenceLength, { message: 'burnIn must be smaller than sequenceLength', path: ['burnIn'] });

/** Recurrent DQN config as written by a user. */
export type RdqnConfig = z.input<typeof RdqnConfigSchema>;
/** Recurrent DQN config with defaults applied. */
export type ResolvedRdqnConfig = z.output<typeof RdqnConfigSchema>;

/** Parses a config; errors name the field (`rdqn.network.lstmSize`). */
export function parseRdqnConfig(config: unknown): ResolvedRdqnConfig {
  return parseWith(RdqnConfigSchema, config ?? {}, 'rdqn');
}

/** {@link ActOptions} plus what a recurrent agent needs to know about episode boundaries. */
export interface RecurrentActOptions extends ActOptions {
  /**
   * `[n]` 1 where row i starts a new episode with this call (its LSTM state and previous
   * action are reset first). Training through the loop needs none: `observe` resets ended
   * envs. Evaluation and serving should set it on each episode's first call.
   */
  episodeStarts?: Uint8Array | null;
}

// --- Loss ------------------------------------------------------------------------------------

/**
 * Double-DQN TD loss over sequences. `qOnline`, `qTarget` are `[B, T+1, A]`: step t's values
 * at index t, and index t+1 holds the values after the transition (the bootstrap state).
 * `actions`, `rewards`, `terminated`, `weights` are `[B, T]`; `weights` is the loss mask
 * (valid and past burn-in); `nextMasks` `[B, T, A]` (0/1, optional) restricts the argmax / max
 * to the actions allowed after each step, as in DQN. Target y_t = r_t + γ(1 − term_t)·Q_target(t+1, argmax_a
 * Q_online(t+1, a)) (or the max of Q_target without `double`); the loss is
 * Σ w·ℓ(Q_online(t, a_t) − y_t) / Σ w; also returned: the TD errors and Q(t, a_t), `[B, T]`. Gradients reach `qOnline` only through Q(t, a_t):
 * the target is built from an argmax (no gradient) and the target net.
 *
 * @example
 * const { loss, td } = sequenceTdLoss(qOnline, qTarget, actions, rewards, terminated, weights, 0.99, true, 'huber', null);
 */
export function sequenceTdLoss(
  qOnline: tf.Tensor3D,
  qTarget: tf.Tensor3D,
  actions: tf.Tensor2D,
  rewards: tf.Tensor2D,
  terminated: tf.Tensor2D,
  weights: tf.Tensor2D,
  gamma: number,
  double: boolean,
  kind: 'huber' | 'mse',
  nextMasks: tf.Tensor3D | null = null,
): { loss: tf.Scalar; td: tf.Tensor2D; q: tf.Tensor2D } {
  const [B, T1, A] = qOnline.shape;
  const T = T1 - 1;
  const now = tf.reshape(tf.slice(qOnline, [0, 0, 0], [B, T, A]), [B * T, A]) as tf.Tensor2D;
  const chosen = tf.sum(tf.mul(now, tf.oneHot(tf.reshape(actions, [B * T]) as tf.Tensor1D, A)), 1);
  // Bootstrap values are constants: argMax and oneHot pass no gradient, qTarget is the target net's.
  const nextTarget = tf.reshape(tf.slice(qTarget, [0, 1, 0], [B, T, A]), [B * T, A]) as tf.Tensor2D;
  const nextOnline = double ? (tf.reshape(tf.slice(qOnline, [0, 1, 0], [B, T, A]), [B * T, A]) as tf.Tensor2D) : null;
  const masks = nextMasks ? (tf.reshape(nextMasks, [B * T, A]) as tf.Tensor2D) : null;
  const boot = bootstrapValues(nextTarget, nextOnline, masks);
  const y = tf.add(tf.reshape(rewards, [B * T]), tf.mul(tf.mul(gamma, tf.sub(1, tf.reshape(terminated, [B * T]))), boot));
  const td = tf.sub(chosen, y);
  const per = kind === 'huber' ? huber(td) : tf.square(td);
  const w = tf.reshape(weights, [B * T]);
  const loss = tf.div(tf.sum(tf.mul(per, w)), tf.maximum(tf.sum(w), 1)) as tf.Scalar;
  return { loss, td: tf.reshape(td, [B, T]) as tf.Tensor2D, q: tf.reshape(chosen, [B, T]) as tf.Tensor2D };
}

// --- Agent -----------------------------------------------------------------------------------

/** Per-row LSTM states and previous actions of one group of envs (training or greedy). */
interface ActBank {
  n: number;
  h: Float32Array;
  c: Float32Array;
  /** −1 = none (episode start). */
  prev: Int32Array;
}

function newBank(n: number, H: number): ActBank {
  return { n, h: new Float32Array(n * H), c: new Float32Array(n * H), prev: new Int32Array(n).fill(-1) };
}

/** Recurrent DQN agent; see the module comment. */
export class RdqnAgent implements Agent {
  readonly algorithm = 'rdqn';
  readonly observationSpace: Space;
  readonly actionSpace: Discrete;
  readonly obsDim: number;
  readonly numActions: number;
  /** Length of one network input: observation + previous-action one-hot. */
  readonly inputSize: number;
  readonly config: ResolvedRdqnConfig;
  readonly online: RecurrentQNetwork;
  readonly target: RecurrentQNetwork;
  private readonly optimizer: tf.Optimizer;
  private readonly rng: Rng;
  private readonly epsilonSchedule: Schedule;
  private buffer: EpisodicBuffer | null = null;
  private bufferN = 0;
  private bufferMasks = false;
  private train: ActBank | null = null;
  private greedy: ActBank | null = null;
  private calls = 0;
  private steps = 0;
  private updates = 0;
  private progress = 0;
  private lastLoss = Number.NaN;
  private lastQ = Number.NaN;

  constructor(init: AgentInit) {
    if (!(init.actionSpace instanceof Discrete)) {
      throw new ValidationError('actionSpace', 'a Discrete space (recurrent DQN is for discrete actions)', init.actionSpace?.toString(), 'rdqn');
    }
    this.config = parseRdqnConfig(init.config);
    this.observationSpace = init.observationSpace;
    this.actionSpace = init.actionSpace;
    this.obsDim = flatdim(init.observationSpace);
    this.numActions = init.actionSpace.n;
    const c = this.config;
    this.inputSize = this.obsDim + (c.previousAction ? this.numActions : 0);
    this.epsilonSchedule = c.epsilon ?? { type: 'linear', start: c.explorationInitialEps, end: c.explorationFinalEps, fraction: c.explorationFraction };
    const rng = new Rng(init.seed);
    const netRng = rng.spawn();
    this.rng = rng.spawn();
    const spec = { inputSize: this.inputSize, numActions: this.numActions, ...c.network, rng: netRng };
    this.online = new RecurrentQNetwork(spec);
    this.target = new RecurrentQNetwork(spec);
    this.target.copyFrom(this.online);
    this.optimizer = createOptimizer({ type: 'adam', learningRate: valueAt(c.learningRate, 0), epsilon: c.adamEpsilon });
  }

  /** Current exploration ε. */
  get epsilon(): number {
    return valueAt(this.epsilonSchedule, this.progress);
  }

  /** Writes network inputs `[obs; one-hot(prev)]` for `n` rows into `out`. */
  private writeInputs(obs: Float32Array, prev: Int32Array, n: number, out: Float32Array, offset = 0): void {
    const d = this.obsDim;
    for (let i = 0; i < n; i++) {
      const o = offset + i * this.inputSize;
      out.set(obs.subarray(i * d, (i + 1) * d), o);
      if (this.config.previousAction) {
        out.fill(0, o + d, o + d + this.numActions);
        if (prev[i] >= 0) out[o + d + prev[i]] = 1;
      }
    }
  }

  /**
   * Q-values `[n × A]` for one step of `n` envs from the bank's states, and the bank advanced
   * by one step (one read-back for Q, h and c).
   */
  private stepBank(bank: ActBank, obs: Float32Array, n: number): Float32Array {
    const H = this.config.network.lstmSize;
    const A = this.numActions;
    const x = new Float32Array(n * this.inputSize);
    this.writeInputs(obs, bank.prev, n, x);
    const packed = tf.tidy(() => {
      const { q, state } = this.online.step(tf.tensor2d(x, [n, this.inputSize]), { h: tf.tensor2d(bank.h, [n, H]), c: tf.tensor2d(bank.c, [n, H]) });
      return tf.concat([q, state.h, state.c], 1);
    });
    const data = packed.dataSync() as Float32Array;
    packed.dispose();
    const q = new Float32Array(n * A);
    const w = A + 2 * H;
    for (let i = 0; i < n; i++) {
      q.set(data.subarray(i * w, i * w + A), i * A);
      bank.h.set(data.subarray(i * w + A, i * w + A + H), i * H);
      bank.c.set(data.subarray(i * w + A + H, (i + 1) * w), i * H);
    }
    return q;
  }

  private resetRow(bank: ActBank, i: number): void {
    const H = this.config.network.lstmSize;
    bank.h.fill(0, i * H, (i + 1) * H);
    bank.c.fill(0, i * H, (i + 1) * H);
    bank.prev[i] = -1;
  }

  /**
   * Chooses actions for `n` envs and advances their LSTM states by one step. Exploring calls
   * (the training loop) and greedy calls keep separate states; a bank is (re)built with zero
   * states when `n` changes.
   */
  act(obs: Float32Array, n: number, options: RecurrentActOptions = {}): ActResult {
    const A = this.numActions;
    if (obs.length !== n * this.obsDim) {
      throw new ValidationError('obs', `${n} × ${this.obsDim} = ${n * this.obsDim} numbers`, obs.length, 'rdqn.act');
    }
    const masks = options.masks ?? null;
    if (masks && masks.length !== n * A) throw new ValidationError('masks', `${n * A} entries`, masks.length, 'rdqn.act');
    const starts = options.episodeStarts ?? null;
    if (starts && starts.length !== n) throw new ValidationError('episodeStarts', `${n} entries`, starts.length, 'rdqn.act');
    const H = this.config.network.lstmSize;
    const key = options.deterministic ? 'greedy' : 'train';
    let bank = this[key];
    if (!bank || bank.n !== n) bank = this[key] = newBank(n, H);
    if (starts) for (let i = 0; i < n; i++) if (starts[i]) this.resetRow(bank, i);
    // The network runs even in the random phase so the states stay in step with the episodes.
    const q = this.stepBank(bank, obs, n);
    const actions = new Int32Array(n);
    const probs = new Float64Array(n);
    const eps = options.deterministic ? 0 : this.steps < this.config.learningStarts ? 1 : this.epsilon;
    selectEpsilonGreedy(q, n, A, masks, eps, this.rng, actions, probs);
    bank.prev.set(actions);
    return { actions, probs, logProbs: probs.map(Math.log) };
  }

  /** Zeroes the greedy states (e.g. before a new batch of evaluation episodes). */
  resetGreedyState(): void {
    this.greedy = null;
  }

  private ensureBuffer(n: number, hasMasks: boolean): EpisodicBuffer {
    if (this.buffer) {
      if (this.bufferN !== n) throw new KairosError(`rdqn: the agent was trained with ${this.bufferN} envs and is now given ${n}`, 'invalid_argument');
      return this.buffer;
    }
    this.buffer = new EpisodicBuffer({
      capacity: this.config.bufferSize,
      obsDim: this.obsDim,
      action: { kind: 'discrete', n: this.numActions },
      numEnvs: n,
      storeMasks: hasMasks,
    });
    this.bufferN = n;
    this.bufferMasks = hasMasks;
    return this.buffer;
  }

  observe(batch: StepBatch, ctx: StepContext): Record<string, number> | null {
    const c = this.config;
    const { n } = batch;
    const d = this.obsDim;
    const A = this.numActions;
    const buffer = this.ensureBuffer(n, batch.nextMasks !== null);
    const actions = batch.actions as Int32Array;
    for (let i = 0; i < n; i++) {
      buffer.add(i, {
        obs: batch.obs.subarray(i * d, (i + 1) * d),
        action: actions[i],
        reward: batch.rewards[i],
        nextObs: batch.nextObs.subarray(i * d, (i + 1) * d),
        terminated: batch.terminated[i] === 1,
        truncated: batch.truncated[i] === 1,
        discount: c.gamma,
        nextMask: batch.nextMasks ? batch.nextMasks.subarray(i * A, (i + 1) * A) : null,
        prob: batch.probs[i],
      });
      // The episode ended: the next act call for env i is a new episode.
      if ((batch.terminated[i] || batch.truncated[i]) && this.train && this.train.n === n) this.resetRow(this.train, i);
    }
    this.calls++;
    this.steps = ctx.step;
    this.progress = ctx.step / ctx.totalSteps;

    let metrics: Record<string, number> | null = null;
    if (this.steps > c.learningStarts && this.calls % c.trainFreq === 0 && buffer.numEpisodes > 0) {
      setLearningRate(this.optimizer, valueAt(c.learningRate, this.progress));
      let loss = 0;
      let q = 0;
      for (let g = 0; g < c.gradientSteps; g++) {
        const r = this.update();
        loss += r.loss;
        q += r.q;
      }
      this.lastLoss = loss / c.gradientSteps;
      this.lastQ = q / c.gradientSteps;
      metrics = { loss: this.lastLoss, q: this.lastQ };
    }
    if (this.calls % Math.max(1, Math.floor(c.targetUpdateInterval / n)) === 0) this.target.polyakUpdate(this.online, c.tau);
    return metrics;
  }

  /**
   * One gradient step on `batchSize` replayed sequences. Inputs get one extra step at the
   * end of each sequence, [nextObs of its last step; its last action], so Q(t+1) is
   * available for every step's target from the same unroll.
   */
  private update(): { loss: number; q: number } {
    const c = this.config;
    const buffer = this.buffer as EpisodicBuffer;
    const B = c.batchSize;
    const d = this.obsDim;
    const A = this.numActions;
    const s = buffer.sampleSequences(B, c.sequenceLength, this.rng, { fromEpisodeStart: c.fromEpisodeStart });
    // Unroll only as far as the longest sampled sequence: short episodes need no
    // `sequenceLength`-step unroll of padding. S is the buffer's row stride.
    const S = s.length;
    let T = 1;
    for (let b = 0; b < B; b++) T = Math.max(T, s.lengths[b]);
    const T1 = T + 1;
    const I = this.inputSize;
    const x = new Float32Array(B * T1 * I);
    const stepMask = new Float32Array(B * T1);
    const actionsArr = new Int32Array(B * T);
    const rewardsArr = new Float32Array(B * T);
    const terminatedArr = new Float32Array(B * T);
    const weights = new Float32Array(B * T);
    const masksArr = s.nextMasks ? new Float32Array(B * T * A) : null;
    const prev = new Int32Array(1);
    let padded = false;
    for (let b = 0; b < B; b++) {
      // Real steps are a prefix of each row (the buffer pads at the end).
      const len = s.lengths[b];
      if (len < T) padded = true;
      for (let t = 0; t < len; t++) {
        const k = b * S + t;
        const j = b * T + t;
        // The buffer's previous action: −1 (zero one-hot) at an episode's first step.
        prev[0] = s.prevActions[k];
        this.writeInputs(s.obs.subarray(k * d, (k + 1) * d), prev, 1, x, (b * T1 + t) * I);
        stepMask[b * T1 + t] = 1;
        actionsArr[j] = s.actions[k];
        rewardsArr[j] = s.rewards[k];
        terminatedArr[j] = s.terminated[k];
        weights[j] = t >= c.burnIn ? 1 : 0;
        if (masksArr && s.nextMasks) for (let a = 0; a < A; a++) masksArr[j * A + a] = s.nextMasks[k * A + a];
      }
      if (len > 0) {
        const k = b * S + len - 1;
        prev[0] = s.actions[k];
        this.writeInputs(s.nextObs.subarray(k * d, (k + 1) * d), prev, 1, x, (b * T1 + len) * I);
        stepMask[b * T1 + len] = 1;
      }
    }
    const inputs = tf.tensor3d(x, [B, T1, I]);
    // Equal-length sequences need no mask (fewer ops per unrolled step).
    const mask = padded ? tf.tensor2d(stepMask, [B, T1]) : null;
    const actions = tf.tensor2d(actionsArr, [B, T], 'int32');
    const rewards = tf.tensor2d(rewardsArr, [B, T]);
    const terminated = tf.tensor2d(terminatedArr, [B, T]);
    const w = tf.tensor2d(weights, [B, T]);
    const nextMasks = masksArr ? tf.tensor3d(masksArr, [B, T, A]) : null;
    const qTarget = tf.tidy(() => this.target.sequence(inputs, mask));
    let meanQ: tf.Scalar | null = null;
    const vars = this.online.trainableVariables;
    const { value, grads } = tf.variableGrads(() => {
      const qOnline = this.online.sequence(inputs, mask);
      const r = sequenceTdLoss(qOnline, qTarget, actions, rewards, terminated, w, c.gamma, c.double, c.loss, nextMasks);
      // Mean Q(s_t, a_t) over trained steps, for the progress bar.
      meanQ = tf.keep(tf.div(tf.sum(tf.mul(r.q, w)), tf.maximum(tf.sum(w), 1)) as tf.Scalar);
      return r.loss;
    }, vars);
    let applied: tf.NamedTensorMap = grads;
    let norm: tf.Scalar | null = null;
    if (c.maxGradNorm !== null) {
      const clipped = clipGradsByGlobalNorm(grads, c.maxGradNorm);
      applied = clipped.grads;
      norm = clipped.norm;
    }
    this.optimizer.applyGradients(vars.map((v) => ({ name: v.name, tensor: applied[v.name] })));
    const packed = tf.tidy(() => tf.stack([value, meanQ as tf.Scalar]));
    const data = packed.dataSync();
    const result = { loss: data[0], q: data[1] };
    tf.dispose([packed, value, inputs, actions, rewards, terminated, w, qTarget, meanQ as unknown as tf.Tensor, ...Object.values(grads)]);
    mask?.dispose();
    nextMasks?.dispose();
    if (applied !== grads) tf.dispose(Object.values(applied));
    norm?.dispose();
    this.updates++;
    return result;
  }

  stats(): Record<string, number> {
    return { epsilon: this.epsilon, loss: this.lastLoss, q: this.lastQ, updates: this.updates, bufferSize: this.buffer?.size ?? 0 };
  }

  getPolicyState(): AgentState {
    return new StatePacker(this.algorithm).weights('online', this.online.getWeights()).finish({ config: this.config });
  }

  setPolicyState(state: AgentState): void {
    checkAlgorithm(state, this.algorithm);
    const w = unpackWeights(state, 'online');
    this.online.setWeights(w);
    this.target.setWeights(w);
    this.train = null;
    this.greedy = null;
  }

  private nets() {
    return { online: this.online, target: this.target, optimizer: this.optimizer };
  }

  getState(options: { includeReplay?: boolean } = {}): AgentState {
    const p = packQLearner(this.algorithm, this.nets());
    if (options.includeReplay !== false && this.buffer) p.buffer('replay', this.buffer.getState());
    // The training envs' LSTM states: a resumed run continues their episodes mid-way.
    if (this.train) p.buffer('act', { kind: 'rdqn-act', meta: { n: this.train.n }, arrays: { h: this.train.h, c: this.train.c, prev: this.train.prev } });
    return p.finish({
      config: this.config,
      counters: { calls: this.calls, steps: this.steps, updates: this.updates, progress: this.progress, lastLoss: this.lastLoss, lastQ: this.lastQ, bufferN: this.bufferN, bufferMasks: this.bufferMasks },
      rng: this.rng.getState(),
    });
  }

  setState(state: AgentState): void {
    checkAlgorithm(state, this.algorithm);
    const counters = unpackQLearner(state, this.algorithm, this.nets());
    const replay = unpackBuffer(state, 'replay');
    if (replay) {
      this.buffer = null;
      this.ensureBuffer(counters.bufferN, counters.bufferMasks).setState(replay);
    }
    const act = unpackBuffer(state, 'act');
    this.train = null;
    this.greedy = null;
    if (act) {
      const H = this.config.network.lstmSize;
      const n = act.meta.n as number;
      const { h, c, prev } = act.arrays;
      if (!(h instanceof Float32Array) || h.length !== n * H || !(c instanceof Float32Array) || c.length !== n * H || !(prev instanceof Int32Array) || prev.length !== n) {
        throw new ValidationError('act', `LSTM states of ${n} envs × ${H} units`, h?.length, 'rdqn state');
      }
      this.train = { n, h: new Float32Array(h), c: new Float32Array(c), prev: new Int32Array(prev) };
    }
    ({ calls: this.calls, steps: this.steps, updates: this.updates, progress: this.progress, lastLoss: this.lastLoss, lastQ: this.lastQ } = counters);
    this.rng.setState(state.json.rng as ReturnType<Rng['getState']>);
  }

  dispose(): void {
    this.online.dispose();
    this.target.dispose();
    this.optimizer.dispose();
  }
}
