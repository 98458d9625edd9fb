/**
 * DQN and its extensions, read top to bottom: the config (every hyperparameter with its
 * default and source), then the agent (act, observe/train, state).
 *
 * - DQN: Mnih et al. 2015 (replay, target network, Huber loss); defaults are
 *   Stable-Baselines3's `DQN` defaults (sb3 2.x `dqn.py`), so SB3 presets carry over as is.
 * - Double DQN: van Hasselt et al. 2016. Dueling: Wang et al. 2016. n-step targets: Sutton &
 *   Barto 2018 §7.1 (as in Rainbow, Hessel et al. 2018). Prioritised replay: Schaul et al.
 *   2016 (α = 0.6, β 0.4 → 1 from the paper's proportional variant).
 * - Action masks (`info.actionMask`) restrict both exploration and the max over next actions.
 * - `act` returns each action's probability under the current ε-greedy or softmax policy.
 * - Offline (batch) training: `learnOffline` runs gradient steps on a buffer filled from logged
 *   data (`kairos/offline`), with no env; `cqlAlpha` > 0 adds the conservative penalty of
 *   discrete CQL(H) (Kumar et al. 2020, eq. 4), see {@link conservativePenalty}.
 *
 * @example
 * const agent = new DqnAgent({ observationSpace, actionSpace, config: { double: true }, seed: 0 });
 * const { actions, probs } = agent.act(obs, 1);
 */
import { z } from 'zod';
import { KairosError, ValidationError, parseWith } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { ScheduleSchema, valueAt, type Schedule } from '../../core/schedules.js';
import { Discrete, flatdim, type Space } from '../../core/spaces.js';
import { tf } from '../../tensor/backend.js';
import { ACTIVATIONS, INITS } from '../../tensor/layers/dense.js';
import { fusedTdLoss, fusedTdTargets } from '../../tensor/losses.js';
import { clipGradsByGlobalNorm, createOptimizer, setLearningRate } from '../../tensor/optim.js';
import type { ActOptions, ActResult, Agent, AgentInit, AgentState, StepBatch, StepContext } from '../agent.js';
import { NStepWriter } from '../buffers/n-step.js';
import { PrioritizedReplayBuffer } from '../buffers/prioritized-replay-buffer.js';
import { ReplayBuffer } from '../buffers/replay-buffer.js';
import type { TransitionBuffer } from '../buffers/types.js';
import { StatePacker, checkAlgorithm, packQLearner, unpackBuffer, unpackQLearner, unpackWeights } from '../state.js';
import { epsilonGreedyProbabilities, selectEpsilonGreedy, selectSoftmax, softmaxProbabilities } from './exploration.js';
import { createQNetwork, type QNetwork } from './q-networks.js';

// --- Config ----------------------------------------------------------------------------------

/** DQN config; every field optional, defaults are SB3's. */
export const DqnConfigSchema = z
  .object({
    /** Adam learning rate, or a schedule over training progress (SB3: 1e-4). */
    learningRate: ScheduleSchema.default(1e-4),
    /** Replay capacity in transitions (SB3: 1e6). */
    bufferSize: z.number().int().positive().default(1_000_000),
    /** Env steps of uniformly random actions before learning starts (SB3: 100). */
    learningStarts: z.number().int().nonnegative().default(100),
    /** Transitions per gradient step (SB3: 32). */
    batchSize: z.number().int().positive().default(32),
    /** Target update coefficient: 1 = hard copy (SB3: 1). */
    tau: z.number().gt(0).max(1).default(1),
    /** Discount (SB3: 0.99). */
    gamma: z.number().min(0).max(1).default(0.99),
    /** Train every this many vector steps (SB3: 4). */
    trainFreq: z.number().int().positive().default(4),
    /** Gradient steps per training round; −1 = as many as env steps since the last round (SB3: 1). */
    gradientSteps: z.number().int().min(-1).refine((x) => x !== 0, 'not 0').default(1),
    /** Env steps between target updates (SB3: 10 000). */
    targetUpdateInterval: z.number().int().positive().default(10_000),
    /** ε decays linearly from initial to final over this fraction of the run (SB3: 0.1). */
    explorationFraction: z.number().gt(0).max(1).default(0.1),
    explorationInitialEps: z.number().min(0).max(1).default(1),
    explorationFinalEps: z.number().min(0).max(1).default(0.05),
    /** Full ε schedule (e.g. exponential); overrides the three fields above. */
    epsilon: ScheduleSchema.optional(),
    /** `epsilon-greedy` or `softmax` (Boltzmann) exploration. */
    exploration: z.enum(['epsilon-greedy', 'softmax']).default('epsilon-greedy'),
    /** Softmax temperature (schedule allowed). */
    temperature: ScheduleSchema.default(1),
    /** Clip gradients to this global norm; null = off (SB3 clips at 10; off here by default). */
    maxGradNorm: z.number().positive().nullable().default(null),
    /** Huber (SB3, δ = 1) or squared error. */
    loss: z.enum(['huber', 'mse']).default('huber'),
    /** Double DQN targets. */
    double: z.boolean().default(false),
    /** n-step returns (1 = plain TD). */
    nStep: z.number().int().positive().max(100).default(1),
    /** Prioritised replay (Schaul et al. 2016). */
    prioritized: z.boolean().default(false),
    /** Priority exponent α (paper: 0.6). */
    priorityAlpha: z.number().min(0).max(1).default(0.6),
    /** Importance-sampling exponent β, annealed from beta0 to 1 over the run (paper: 0.4). */
    priorityBeta0: z.number().min(0).max(1).default(0.4),
    /** Added to |δ| so no transition has zero priority. */
    priorityEps: z.number().positive().default(1e-6),
    /** Network architecture. */
    network: z
      .object({
        kind: z.enum(['mlp', 'dueling', 'parametric']).default('mlp'),
        /** SB3's default DQN net is [64, 64]. */
        hiddenSizes: z.array(z.number().int().positive()).default([64, 64]),
        activation: z.enum(ACTIVATIONS).default('relu'),
        /** PyTorch nn.Linear init (what SB3's tuned settings were found with). */
        init: z.enum(INITS).default('torch'),
        /** Parametric networks: one feature row per action (default one-hot). */
        actionFeatures: z.array(z.array(z.number())).nullable().default(null),
      })
      .strict()
      .default({ kind: 'mlp', hiddenSizes: [64, 64], activation: 'relu', init: 'torch', actionFeatures: null }),
    /** Adam ε (PyTorch default 1e-8). */
    adamEpsilon: z.number().positive().default(1e-8),
    /**
     * Weight α of the conservative penalty of CQL(H) (Kumar et al. 2020, eq. 4), added to the
     * TD loss: α · mean_i [logsumexp_a Q(s_i, a) − Q(s_i, a_i)]. 0 (default) = plain DQN.
     * Meant for offline training (`learnOffline`, `kairos train-offline cql`).
     */
    cqlAlpha: z.number().min(0).default(0),
  })
  .strict();

/** DQN config as written by a user. */
export type DqnConfig = z.input<typeof DqnConfigSchema>;
/** DQN config with defaults applied. */
export type ResolvedDqnConfig = z.output<typeof DqnConfigSchema>;

/** Parses a DQN config; errors name the field (`dqn.network.hiddenSizes`). */
export function parseDqnConfig(config: unknown): ResolvedDqnConfig {
  return parseWith(DqnConfigSchema, config ?? {}, 'dqn');
}

// --- Conservative penalty (CQL) -------------------------------------------------------------

const MASKED_OUT = -1e30;

/**
 * The conservative penalty of discrete CQL(H) (Kumar et al. 2020, "Conservative Q-Learning
 * for Offline Reinforcement Learning", NeurIPS, eq. 4 with the entropy regulariser, which
 * turns the max over action distributions into a log-sum-exp):
 *
 *   penalty = (1/B) Σ_i [ log Σ_{a ∈ possible(s_i)} exp Q(s_i, a) − Q(s_i, a_i) ]
 *
 * with a_i the logged action. It pushes Q down on every possible action (softly, on the
 * largest) and up on the logged one, so actions the data never took cannot look better than
 * the data supports. Its gradient with respect to Q(s_i, ·) is (softmax over the possible
 * actions − one-hot(a_i)) / B. `masks` (`[B, A]`, 1 = possible) limits the log-sum-exp to the
 * actions possible in s_i; null = every action.
 *
 * @example
 * const p = conservativePenalty(tf.tensor2d([[1, 2, 3]]), tf.tensor1d([0], 'int32'), null);
 * p.dataSync()[0]; // log(e + e² + e³) − 1 ≈ 2.4076
 */
export function conservativePenalty(q: tf.Tensor2D, actions: tf.Tensor1D, masks: tf.Tensor2D | null): tf.Scalar {
  const [B, A] = q.shape;
  // The closed-form gradient (softmax − one-hot) / B as a custom gradient: one forward pass of
  // a few ops and three ops backward, 2-3× faster on WASM than differentiating log-sum-exp.
  const op = tf.customGrad((...args: unknown[]) => {
    const x = args[0] as tf.Tensor2D;
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const z = masks ? tf.where(tf.greater(masks, 0), x, tf.fill([B, A], MASKED_OUT)) : x;
    const lse = tf.logSumExp(z, 1, true);
    const onehot = tf.oneHot(actions, A);
    save([tf.exp(tf.sub(z, lse)), onehot]);
    const value = tf.mean(tf.sub(lse, tf.sum(tf.mul(x, onehot), 1, true))) as tf.Scalar;
    return { value, gradFunc: (dy: tf.Tensor, [softmax, chosen]: tf.Tensor[]) => tf.mul(tf.sub(softmax, chosen), tf.div(dy, B)) };
  });
  return tf.tidy(() => op(q) as tf.Scalar);
}

/** Options of {@link DqnAgent.learnOffline}. */
export interface OfflineUpdateOptions {
  /**
   * Possible actions in each stored transition's state (not its next state), `[capacity × A]`
   * 0/1 indexed by the buffer's storage index (what a sampled batch's `indices` hold); only the
   * CQL penalty reads it. Null = every action possible.
   */
  stateMasks?: Uint8Array | null;
  /**
   * Gradient steps the whole offline run will take (default: `updates`), so the learning-rate
   * schedule and prioritised replay's β follow the progress of the run over several calls.
   */
  totalUpdates?: number;
}

// --- Agent -----------------------------------------------------------------------------------

/** DQN agent; see the module comment. */
export class DqnAgent implements Agent {
  readonly algorithm = 'dqn';
  readonly observationSpace: Space;
  readonly actionSpace: Discrete;
  readonly obsDim: number;
  readonly numActions: number;
  readonly config: ResolvedDqnConfig;
  readonly online: QNetwork;
  readonly target: QNetwork;
  private readonly optimizer: tf.Optimizer;
  private readonly rng: Rng;
  private readonly epsilonSchedule: Schedule;
  private buffer: TransitionBuffer | null = null;
  private nStep: NStepWriter | null = null;
  private bufferN = 0;
  private bufferMasks = false;
  // Counters: vector steps seen, env steps, gradient updates.
  private calls = 0;
  private steps = 0;
  private updates = 0;
  private progress = 0;
  private lastLoss = Number.NaN;
  private lastQ = Number.NaN;
  private actScratch = { n: 0, actions: new Int32Array(0), probs: new Float64Array(0) };

  constructor(init: AgentInit) {
    if (!(init.actionSpace instanceof Discrete)) {
      throw new ValidationError('actionSpace', 'a Discrete space (DQN is for discrete actions)', init.actionSpace?.toString(), 'dqn');
    }
    this.config = parseDqnConfig(init.config);
    this.observationSpace = init.observationSpace;
    this.actionSpace = init.actionSpace;
    this.obsDim = flatdim(init.observationSpace);
    this.numActions = init.actionSpace.n;
    const c = this.config;
    this.epsilonSchedule = c.epsilon ?? { type: 'linear', start: c.explorationInitialEps, end: c.explorationFinalEps, fraction: c.explorationFraction };
    const rng = new Rng(init.seed);
    const netRng = rng.spawn();
    this.rng = rng.spawn();
    this.online = createQNetwork(c.network, this.obsDim, this.numActions, netRng);
    this.target = createQNetwork(c.network, this.obsDim, this.numActions, netRng);
    this.target.copyFrom(this.online);
    this.optimizer = createOptimizer({ type: 'adam', learningRate: valueAt(c.learningRate, 0), epsilon: c.adamEpsilon });
  }

  /** Current exploration ε (SB3's `exploration_rate`). */
  get epsilon(): number {
    return valueAt(this.epsilonSchedule, this.progress);
  }

  /** Q-values `[n × A]` of `n` observations. */
  qValues(obs: Float32Array, n: number): Float32Array {
    if (obs.length !== n * this.obsDim) {
      throw new ValidationError('obs', `${n} × ${this.obsDim} = ${n * this.obsDim} numbers`, obs.length, 'dqn.act');
    }
    const out = tf.tidy(() => this.online.apply(tf.tensor2d(obs, [n, this.obsDim])));
    const data = out.dataSync() as Float32Array;
    out.dispose();
    return data;
  }

  act(obs: Float32Array, n: number, options: ActOptions = {}): ActResult {
    const A = this.numActions;
    const masks = options.masks ?? null;
    if (masks && masks.length !== n * A) throw new ValidationError('masks', `${n * A} entries`, masks.length, 'dqn.act');
    const s = this.scratch(n);
    const randomPhase = !options.deterministic && this.steps < this.config.learningStarts;
    // During learning starts every action is uniform (SB3), so the network is not needed.
    const q = randomPhase ? null : this.qValues(obs, n);
    if (options.deterministic) selectEpsilonGreedy(q, n, A, masks, 0, this.rng, s.actions, s.probs);
    else if (randomPhase) selectEpsilonGreedy(null, n, A, masks, 1, this.rng, s.actions, s.probs);
    else if (this.config.exploration === 'softmax') {
      selectSoftmax(q as Float32Array, n, A, masks, valueAt(this.config.temperature, this.progress), this.rng, s.actions, s.probs);
    } else selectEpsilonGreedy(q, n, A, masks, this.epsilon, this.rng, s.actions, s.probs);
    const actions = s.actions.slice();
    const probs = s.probs.slice();
    return { actions, probs, logProbs: probs.map(Math.log) };
  }

  /**
   * Probabilities of every action `[n × A]` under the policy `act` would use (greedy when
   * `deterministic`), for off-policy evaluation of this agent.
   */
  actionProbabilities(obs: Float32Array, n: number, options: ActOptions = {}): Float64Array {
    const q = this.qValues(obs, n);
    const masks = options.masks ?? null;
    if (options.deterministic) return epsilonGreedyProbabilities(q, n, this.numActions, masks, 0);
    if (this.config.exploration === 'softmax') {
      return softmaxProbabilities(q, n, this.numActions, masks, valueAt(this.config.temperature, this.progress));
    }
    return epsilonGreedyProbabilities(q, n, this.numActions, masks, this.epsilon);
  }

  private scratch(n: number): { actions: Int32Array; probs: Float64Array } {
    if (this.actScratch.n !== n) this.actScratch = { n, actions: new Int32Array(n), probs: new Float64Array(n) };
    return this.actScratch;
  }

  private ensureBuffer(n: number, hasMasks: boolean): TransitionBuffer {
    if (this.buffer) {
      if (this.bufferN !== n) throw new KairosError(`dqn: the agent was trained with ${this.bufferN} envs and is now given ${n}`, 'invalid_argument');
      return this.buffer;
    }
    const c = this.config;
    const opts = { capacity: c.bufferSize, obsDim: this.obsDim, action: { kind: 'discrete' as const, n: this.numActions }, storeMasks: hasMasks };
    this.buffer = c.prioritized ? new PrioritizedReplayBuffer({ ...opts, alpha: c.priorityAlpha, epsilon: c.priorityEps }) : new ReplayBuffer(opts);
    this.nStep = c.nStep > 1 ? new NStepWriter(this.buffer, { n: c.nStep, gamma: c.gamma, numEnvs: n }) : null;
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
      const t = {
        obs: batch.obs.subarray(i * d, (i + 1) * d),
        action: actions[i],
        reward: batch.rewards[i],
        nextObs: batch.nextObs.subarray(i * d, (i + 1) * d),
        terminated: batch.terminated[i] === 1,
        truncated: batch.truncated[i] === 1,
        discount: c.gamma,
        nextMask: batch.nextMasks ? batch.nextMasks.subarray(i * A, (i + 1) * A) : null,
        prob: batch.probs[i],
      };
      if (this.nStep) this.nStep.add(i, t);
      else buffer.add(t);
    }
    this.calls++;
    this.steps = ctx.step;
    this.progress = ctx.step / ctx.totalSteps;

    let metrics: Record<string, number> | null = null;
    if (this.steps > c.learningStarts && this.calls % c.trainFreq === 0 && buffer.size >= c.batchSize) {
      const gradientSteps = c.gradientSteps > 0 ? c.gradientSteps : c.trainFreq * n;
      setLearningRate(this.optimizer, valueAt(c.learningRate, this.progress));
      let loss = 0;
      let q = 0;
      for (let g = 0; g < gradientSteps; g++) {
        const r = this.update(buffer, null);
        loss += r.loss;
        q += r.q;
      }
      this.lastLoss = loss / gradientSteps;
      this.lastQ = q / gradientSteps;
      metrics = { loss: this.lastLoss, q: this.lastQ };
    }
    // Target updates count env steps, as SB3 (every max(1, interval / n) vector steps).
    if (this.calls % Math.max(1, Math.floor(c.targetUpdateInterval / n)) === 0) this.target.polyakUpdate(this.online, c.tau);
    return metrics;
  }

  /**
   * Offline (batch) training: `updates` gradient steps on batches sampled from `buffer`, which
   * the caller filled from logged data (e.g. `replayFromTimeline` of `kairos/offline`); no env
   * is touched and nothing is added to the agent's own replay. The target network is updated
   * every `targetUpdateInterval` gradient steps (offline there are no env steps to count), and
   * `cqlAlpha` > 0 adds the CQL penalty over the possible actions of `stateMasks`. Returns the
   * mean loss (TD plus α · penalty), mean Q(s, a) and mean penalty over these steps.
   *
   * @example
   * const agent = new DqnAgent({ observationSpace, actionSpace, config: { cqlAlpha: 1, batchSize: 256 }, seed: 0 });
   * for (let done = 0; done < 20_000; done += 1000) agent.learnOffline(buffer, 1000, { stateMasks, totalUpdates: 20_000 });
   */
  learnOffline(buffer: TransitionBuffer, updates: number, options: OfflineUpdateOptions = {}): { loss: number; q: number; cql: number } {
    const c = this.config;
    const A = this.numActions;
    if (!Number.isInteger(updates) || updates < 1) throw new ValidationError('updates', 'an integer >= 1', updates, 'dqn.learnOffline');
    const total = options.totalUpdates ?? updates;
    if (!Number.isInteger(total) || total < 1) throw new ValidationError('totalUpdates', 'an integer >= 1', total, 'dqn.learnOffline');
    if (buffer.size === 0) throw new KairosError('dqn.learnOffline: the buffer is empty', 'empty_buffer');
    const layout = buffer.layout;
    if (layout && (layout.obsDim !== this.obsDim || layout.action.kind !== 'discrete' || layout.action.n !== A)) {
      throw new ValidationError('buffer.layout', `obsDim ${this.obsDim} and ${A} discrete actions (the agent's)`, layout, 'dqn.learnOffline');
    }
    const stateMasks = options.stateMasks ?? null;
    if (stateMasks && stateMasks.length !== buffer.capacity * A) {
      throw new ValidationError('stateMasks.length', `${buffer.capacity * A} (capacity × numActions)`, stateMasks.length, 'dqn.learnOffline');
    }
    let loss = 0;
    let q = 0;
    let cql = 0;
    for (let g = 0; g < updates; g++) {
      this.progress = Math.min(1, this.updates / total);
      setLearningRate(this.optimizer, valueAt(c.learningRate, this.progress));
      const r = this.update(buffer, stateMasks);
      loss += r.loss;
      q += r.q;
      cql += r.cql;
      if (this.updates % c.targetUpdateInterval === 0) this.target.polyakUpdate(this.online, c.tau);
    }
    this.progress = Math.min(1, this.updates / total);
    this.lastLoss = loss / updates;
    this.lastQ = q / updates;
    return { loss: this.lastLoss, q: this.lastQ, cql: cql / updates };
  }

  /**
   * One gradient step on a batch sampled from `buffer`; returns the loss, mean Q(s, a) and the
   * CQL penalty (0 when `cqlAlpha` is 0). `stateMasks` (see {@link OfflineUpdateOptions}) limits
   * the penalty's log-sum-exp to the possible actions.
   */
  private update(buffer: TransitionBuffer, stateMasks: Uint8Array | null): { loss: number; q: number; cql: number } {
    const c = this.config;
    const B = c.batchSize;
    const d = this.obsDim;
    const A = this.numActions;
    if (buffer instanceof PrioritizedReplayBuffer) buffer.setBeta(c.priorityBeta0 + (1 - c.priorityBeta0) * Math.min(1, this.progress));
    const b = buffer.sample(B, this.rng);
    const obs = tf.tensor2d(b.obs, [B, d]);
    const actions = tf.tensor1d(b.actions as Int32Array, 'int32');
    const weights = c.prioritized ? tf.tensor1d(b.weights) : null;
    const targets = tf.tidy(() => {
      const next = tf.tensor2d(b.nextObs, [B, d]);
      const masks = b.nextMasks ? tf.tensor2d(b.nextMasks, [B, A], 'float32') : null;
      return fusedTdTargets(this.target.apply(next), c.double ? this.online.apply(next) : null, tf.tensor1d(b.rewards), tf.tensor1d(b.discounts), tf.tensor1d(b.terminated), masks);
    });
    let td: tf.Tensor1D | null = null;
    let meanQ: tf.Scalar | null = null;
    let penalty: tf.Scalar | null = null;
    const conservative = c.cqlAlpha > 0;
    const masks = conservative && stateMasks ? gatherMasks(stateMasks, b.indices, B, A) : null;
    const vars = this.online.trainableVariables;
    const { value, grads } = tf.variableGrads(() => {
      const q = this.online.apply(obs);
      const r = fusedTdLoss(q, actions, targets, { kind: c.loss, weights });
      td = tf.keep(r.td);
      meanQ = tf.keep(tf.mean(tf.add(r.td, targets)) as tf.Scalar);
      if (!conservative) return r.loss;
      penalty = tf.keep(conservativePenalty(q, actions, masks));
      return tf.add(r.loss, tf.mul(c.cqlAlpha, penalty)) as tf.Scalar;
    }, vars);
    let applied: tf.NamedTensorMap = grads;
    let norm: tf.Scalar | null = null;
    if (c.maxGradNorm !== null) {
      const clipped = clipGradsByGlobalNorm(grads, c.maxGradNorm);
      applied = clipped.grads;
      norm = clipped.norm;
    }
    this.optimizer.applyGradients(vars.map((v) => ({ name: v.name, tensor: applied[v.name] })));
    // One read-back: loss, mean Q (, CQL penalty) and, for prioritised replay, every |δ|.
    const head = conservative ? [value, meanQ as unknown as tf.Scalar, penalty as unknown as tf.Scalar] : [value, meanQ as unknown as tf.Scalar];
    const packed = tf.tidy(() => tf.concat([tf.stack(head), c.prioritized ? tf.abs(td as tf.Tensor1D) : tf.zeros([0])]));
    const data = packed.dataSync();
    if (c.prioritized) buffer.updatePriorities(b.indices, data.subarray(head.length));
    const result = { loss: data[0], q: data[1], cql: conservative ? data[2] : 0 };
    tf.dispose([packed, value, obs, actions, targets, td as unknown as tf.Tensor, meanQ as unknown as tf.Tensor, ...Object.values(grads)]);
    if (penalty) (penalty as tf.Scalar).dispose();
    masks?.dispose();
    if (weights) weights.dispose();
    if (applied !== grads) tf.dispose(Object.values(applied));
    norm?.dispose();
    this.updates++;
    return result;
  }

  stats(): Record<string, number> {
    return {
      epsilon: this.config.exploration === 'softmax' ? Number.NaN : this.epsilon,
      loss: this.lastLoss,
      q: this.lastQ,
      updates: this.updates,
      bufferSize: this.buffer?.size ?? 0,
    };
  }

  getPolicyState(): AgentState {
    return new StatePacker(this.algorithm).weights('online', this.online.getWeights()).finish({ config: this.config });
  }

  setPolicyState(state: AgentState): void {
    checkAlgorithm(state, this.algorithm);
    const w = unpackWeights(state, 'online');
    this.online.setWeights(w);
    this.target.setWeights(w);
  }

  private nets() {
    return { online: this.online, target: this.target, optimizer: this.optimizer };
  }

  getState(options: { includeReplay?: boolean } = {}): AgentState {
    const p = packQLearner(this.algorithm, this.nets());
    if (options.includeReplay !== false && this.buffer) {
      p.buffer('replay', this.buffer.getState());
      if (this.nStep) p.buffer('nstep', this.nStep.getState());
    }
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
      const nstep = unpackBuffer(state, 'nstep');
      if (nstep && this.nStep) this.nStep.setState(nstep);
    }
    ({ calls: this.calls, steps: this.steps, updates: this.updates, progress: this.progress, lastLoss: this.lastLoss, lastQ: this.lastQ } = counters);
    this.rng.setState(state.json.rng as ReturnType<Rng["getState"]>);
  }

  dispose(): void {
    this.online.dispose();
    this.target.dispose();
    this.optimizer.dispose();
  }
}

/** `[B, A]` float 0/1 masks of the sampled rows from a per-storage-index mask table. */
function gatherMasks(table: Uint8Array, indices: Int32Array, B: number, A: number): tf.Tensor2D {
  const out = new Float32Array(B * A);
  for (let i = 0; i < B; i++) {
    const j = indices[i] * A;
    for (let a = 0; a < A; a++) out[i * A + a] = table[j + a];
  }
  return tf.tensor2d(out, [B, A]);
}
