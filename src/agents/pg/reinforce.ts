/**
 * REINFORCE (Williams 1992), on-policy in the training loop and off-policy from logged
 * episodes with behaviour propensities, read top to bottom: the config, the update on a
 * batch of episodes (shared by both uses), then the agent.
 *
 * The update on a batch of E episodes (N steps):
 * 1. rewards clipped to ±`rewardClip` (optional), discounted returns-to-go G_t with γ; an
 *    episode cut by a time limit bootstraps from the learned baseline's V(s_final);
 * 2. return whitening (`normalizeReturns`, as PyTorch's REINFORCE example), giving targets Ĝ;
 * 3. advantages Â_t = Ĝ_t − b(s_t) with b = 0, the batch mean, or a learned V(s) (MSE on Ĝ,
 *    its own optimiser; the policy is not updated during the first `baselineWarmupUpdates`
 *    updates, so it starts from a baseline that already means something);
 * 4. importance weights w = π/β against the behaviour log-probabilities, with the clamp,
 *    log-ratio clipping, self-normalisation and step / per-decision / trajectory weighting
 *    of `importance.ts` (on-policy, the first pass has w = 1 exactly);
 * 5. loss −Σ c·log π / N (detached-ratio estimator; c = w·Â with step weights, Chen et al.
 *    2019) or −Σ w(θ)·s / N (ratio-gradient estimator), minus the entropy bonus (c and s are
 *    defined in `importance.ts`, `offPolicySignals`, so both give the same gradient wherever
 *    no clamp binds); gradients of
 *    `gradientAccumulation` mini-batches of episodes are summed into one optimiser step
 *    (each mini-batch divides by the whole batch's N, so the sum is the full-batch gradient).
 * `epochs` > 1 repeats 4-5 on the same batch; later passes are off-policy with respect to
 * the logged probabilities, which the weights correct.
 *
 * Diagnostics logged with every update: mean and max weight, raw max, ESS and its fraction,
 * clamped fraction, mean return, losses.
 *
 * @example
 * const agent = new ReinforceAgent({ observationSpace, actionSpace, config: { importance: { clamp: 'universal', clampMax: 10 } }, seed: 0 });
 * const history = agent.fitLogged(episodes, { epochs: 20, batchEpisodes: 256 });
 */
import { z } from 'zod';
import { KairosError, ValidationError, parseWith } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { ScheduleSchema, valueAt } from '../../core/schedules.js';
import { flatdim, type Space } from '../../core/spaces.js';
import { tf } from '../../tensor/backend.js';
import { clipGradsByGlobalNorm, createOptimizer, getOptimizerState, setLearningRate, setOptimizerState } from '../../tensor/optim.js';
import type { ActOptions, ActResult, Agent, AgentInit, AgentState, StepBatch, StepContext } from '../agent.js';
import type { BufferArray } from '../buffers/types.js';
import { StatePacker, checkAlgorithm, unpackOptimizer, unpackWeights } from '../state.js';
import { actFromSnapshot, actionProbsFromSnapshot, logProbsFromSnapshot, type ActionBounds, type PolicySnapshot } from './acting.js';
import { discountedReturns, meanStd, whiten } from './advantages.js';
import { categoricalEntropy, categoricalLogProb, gaussianEntropy, gaussianLogProb } from './distributions.js';
import { ImportanceConfigSchema, importanceWeights, importanceWeightsTensor, offPolicySignals, type WeightDiagnostics } from './importance.js';
import { reinforceLossDetached, reinforceLossRatio } from './losses.js';
import { ActorCritic, packPolicyState, unpackPolicyState, type ActionKind } from './networks.js';
import { ObsNormalizer } from './normalization.js';
import { PgNetworkSchema, actionKindOf, matchCache, num } from './ppo.js';

// --- Config ----------------------------------------------------------------------------------

/** REINFORCE config; every field optional. */
export const ReinforceConfigSchema = z
  .object({
    /** Policy learning rate or schedule (Adam). */
    learningRate: ScheduleSchema.default(1e-3),
    /** Discount of the returns. */
    gamma: z.number().min(0).max(1).default(0.99),
    /** Online: completed episodes per update. */
    batchEpisodes: z.number().int().positive().default(4),
    /** Gradient passes over each batch (later passes are corrected by the importance weights). */
    epochs: z.number().int().positive().default(1),
    /** Mini-batches (of episodes) whose gradients are summed into one optimiser step. */
    gradientAccumulation: z.number().int().positive().default(1),
    /** Whiten the returns of each batch (PyTorch's REINFORCE example; eps 1e-8). */
    normalizeReturns: z.boolean().default(true),
    /** Clip each reward to ±this before discounting; null = off. */
    rewardClip: z.number().positive().nullable().default(null),
    /** `none`, the batch `mean` return, or a `learned` state-value network. */
    baseline: z.enum(['none', 'mean', 'learned']).default('none'),
    /** Learning rate of the learned baseline (Adam). */
    baselineLearningRate: z.number().positive().default(1e-3),
    /** Updates that train only the learned baseline before the policy starts learning. */
    baselineWarmupUpdates: z.number().int().nonnegative().default(0),
    /** Bootstrap time-limit truncations from the learned baseline's V(s_final). */
    bootstrapTruncated: z.boolean().default(true),
    /** Entropy bonus coefficient. */
    entCoef: z.number().nonnegative().default(0),
    /** Clip each optimiser's gradients to this global norm; null = off. */
    maxGradNorm: z.number().positive().nullable().default(null),
    /** Adam ε (PyTorch default). */
    adamEpsilon: z.number().positive().default(1e-8),
    /** Importance weights for off-policy data (see importance.ts). */
    importance: ImportanceConfigSchema.prefault({}),
    /** Normalise observations with running statistics kept in the agent's state. */
    normalizeObs: z.boolean().default(false),
    clipObs: z.number().positive().default(10),
    network: PgNetworkSchema.prefault({}),
  })
  .strict();

/** REINFORCE config as written by a user. */
export type ReinforceConfig = z.input<typeof ReinforceConfigSchema>;
/** REINFORCE config with defaults applied. */
export type ResolvedReinforceConfig = z.output<typeof ReinforceConfigSchema>;

/** Parses a REINFORCE config; errors name the field (`reinforce.importance.clamp`). */
export function parseReinforceConfig(config: unknown): ResolvedReinforceConfig {
  return parseWith(ReinforceConfigSchema, config ?? {}, 'reinforce');
}

// --- Episodes --------------------------------------------------------------------------------

/**
 * Logged episodes for off-policy training; the layout of the OPE module's `EpisodicLog`
 * (`ope/types.ts`), so the same log trains and evaluates. A bandit log is episodes of one
 * step ({@link banditEpisodes}).
 */
export interface LoggedEpisodes {
  /** E + 1 offsets: episode e is steps `episodeStarts[e] .. episodeStarts[e+1] − 1`. */
  readonly episodeStarts: Int32Array;
  /** Observations (state features), numSteps × featureDim. */
  readonly features: Float32Array;
  readonly featureDim: number;
  /** Discrete: numSteps integers; continuous: numSteps × dim. */
  readonly actions: Int32Array | Float32Array;
  readonly rewards: Float64Array;
  /** β(a_t|s_t) of the logged action (density for continuous actions), > 0. */
  readonly propensities: Float64Array;
  /** numSteps × K allowed actions. */
  readonly actionMask?: Uint8Array;
  /** Per episode: 1 when the episode was cut by a time limit (not terminal). */
  readonly truncated?: Uint8Array;
}

/** A bandit log (one decision per row) as episodes of one step. */
export function banditEpisodes(log: { n: number; actions: Int32Array; rewards: Float64Array; propensities: Float64Array; features?: Float32Array; featureDim?: number; actionMask?: Uint8Array }): LoggedEpisodes {
  if (!log.features || !log.featureDim) throw new ValidationError('features', 'context features (n × featureDim)', log.features, 'banditEpisodes');
  return {
    episodeStarts: Int32Array.from({ length: log.n + 1 }, (_, i) => i),
    features: log.features,
    featureDim: log.featureDim,
    actions: log.actions,
    rewards: log.rewards,
    propensities: log.propensities,
    ...(log.actionMask ? { actionMask: log.actionMask } : {}),
  };
}

/** The batch one update trains on (observations as the policy sees them). */
export interface EpisodeBatch {
  episodeStarts: Int32Array;
  obs: Float32Array;
  actions: Int32Array | Float32Array;
  rewards: Float64Array;
  behaviourLogProbs: Float64Array;
  masks: Uint8Array | null;
  /** Per episode. */
  truncated: Uint8Array;
  /** E × obsDim final observations (rows of truncated episodes), or null. */
  finalObs: Float32Array | null;
}

/** One episode being collected online. */
interface OpenEpisode {
  obs: number[];
  actions: number[];
  logProbs: number[];
  rewards: number[];
  masks: number[];
}

/** A finished episode waiting for the next update. */
interface ClosedEpisode {
  obs: Float32Array;
  actions: Int32Array | Float32Array;
  logProbs: Float64Array;
  rewards: Float64Array;
  masks: Uint8Array | null;
  truncated: boolean;
  finalObs: Float32Array;
}

function emptyEpisode(): OpenEpisode {
  return { obs: [], actions: [], logProbs: [], rewards: [], masks: [] };
}

/** Concatenates finished episodes into one batch. */
function concatEpisodes(eps: ClosedEpisode[], obsDim: number, action: ActionKind, withMasks: boolean): EpisodeBatch {
  const N = eps.reduce((s, e) => s + e.rewards.length, 0);
  const actDim = action.kind === 'discrete' ? 1 : action.dim;
  const A = action.kind === 'discrete' ? action.n : 0;
  const out: EpisodeBatch = {
    episodeStarts: new Int32Array(eps.length + 1),
    obs: new Float32Array(N * obsDim),
    actions: action.kind === 'discrete' ? new Int32Array(N) : new Float32Array(N * actDim),
    rewards: new Float64Array(N),
    behaviourLogProbs: new Float64Array(N),
    masks: withMasks && A > 0 ? new Uint8Array(N * A).fill(1) : null,
    truncated: new Uint8Array(eps.length),
    finalObs: new Float32Array(eps.length * obsDim),
  };
  let t = 0;
  eps.forEach((e, k) => {
    const len = e.rewards.length;
    out.episodeStarts[k] = t;
    out.obs.set(e.obs, t * obsDim);
    (out.actions as Float32Array).set(e.actions as Float32Array, t * actDim);
    out.rewards.set(e.rewards, t);
    out.behaviourLogProbs.set(e.logProbs, t);
    if (out.masks && e.masks) out.masks.set(e.masks, t * A);
    out.truncated[k] = e.truncated ? 1 : 0;
    (out.finalObs as Float32Array).set(e.finalObs, k * obsDim);
    t += len;
  });
  out.episodeStarts[eps.length] = N;
  return out;
}

// --- Agent -----------------------------------------------------------------------------------

/** Numbers one update reports. */
export type ReinforceMetrics = Record<string, number> & Partial<WeightDiagnostics>;

/** REINFORCE agent; see the module comment. */
export class ReinforceAgent implements Agent {
  readonly algorithm = 'reinforce';
  readonly observationSpace: Space;
  readonly actionSpace: Space;
  readonly obsDim: number;
  readonly action: ActionKind;
  readonly config: ResolvedReinforceConfig;
  readonly net: ActorCritic;
  private readonly bounds: ActionBounds | null;
  private readonly policyOptimizer: tf.Optimizer;
  private readonly baselineOptimizer: tf.Optimizer | null;
  private readonly policyVars: tf.Variable[];
  private readonly valueVars: tf.Variable[];
  private readonly rng: Rng;
  private snap: PolicySnapshot;
  private readonly obsNorm: ObsNormalizer | null;
  private open: OpenEpisode[] = [];
  private closed: ClosedEpisode[] = [];
  private hasMasks = false;
  private cache: { n: number; obs: Float32Array; normObs: Float32Array; envActions: Int32Array | Float32Array; rawActions: Int32Array | Float32Array; logProbs: Float64Array; masks: Uint8Array | null } | null = null;
  private calls = 0;
  private steps = 0;
  private updates = 0;
  private progress = 0;
  private last: ReinforceMetrics = {};

  constructor(init: AgentInit) {
    this.config = parseReinforceConfig(init.config);
    this.observationSpace = init.observationSpace;
    this.actionSpace = init.actionSpace;
    this.obsDim = flatdim(init.observationSpace);
    const { kind, bounds } = actionKindOf(init.actionSpace, 'reinforce');
    this.action = kind;
    this.bounds = bounds;
    const c = this.config;
    const rng = new Rng(init.seed);
    const netRng = rng.spawn();
    this.rng = rng.spawn();
    this.net = new ActorCritic({ obsDim: this.obsDim, action: kind, spec: c.network, withValue: c.baseline === 'learned', rng: netRng });
    this.policyVars = Object.values(this.net.policyVariables());
    this.valueVars = Object.values(this.net.valueVariables());
    this.policyOptimizer = createOptimizer({ type: 'adam', learningRate: Math.max(valueAt(c.learningRate, 0), Number.MIN_VALUE), epsilon: c.adamEpsilon });
    this.baselineOptimizer = this.net.value ? createOptimizer({ type: 'adam', learningRate: c.baselineLearningRate, epsilon: c.adamEpsilon }) : null;
    this.obsNorm = c.normalizeObs ? new ObsNormalizer(this.obsDim, { clip: c.clipObs, epsilon: 1e-8 }) : null;
    this.snap = this.net.snapshot();
  }

  private normalized(obs: Float32Array, n: number): Float32Array {
    return this.obsNorm ? this.obsNorm.normalize(obs, new Float32Array(n * this.obsDim)) : obs;
  }

  private checkObs(obs: Float32Array, n: number, where: string): void {
    if (obs.length !== n * this.obsDim) throw new ValidationError('obs', `${n} × ${this.obsDim} = ${n * this.obsDim} numbers`, obs.length, `reinforce.${where}`);
  }

  act(obs: Float32Array, n: number, options: ActOptions = {}): ActResult {
    this.checkObs(obs, n, 'act');
    const masks = options.masks ?? null;
    const det = options.deterministic === true;
    const normObs = this.normalized(obs, n);
    const out = actFromSnapshot(this.snap, this.action, this.bounds, normObs, n, masks, this.rng, det);
    if (det) return { actions: out.envActions, probs: new Float64Array(n).fill(1), logProbs: new Float64Array(n) };
    this.cache = { n, obs: obs.slice(), normObs: normObs.slice(), envActions: out.envActions.slice(), rawActions: out.rawActions, logProbs: out.logProbs, masks: masks ? masks.slice() : null };
    return { actions: out.envActions, probs: out.logProbs.map(Math.exp), logProbs: out.logProbs.slice() };
  }

  /** Probabilities of every action `[n × A]` (discrete actions), greedy when `deterministic`. */
  actionProbabilities(obs: Float32Array, n: number, options: ActOptions = {}): Float64Array {
    if (this.action.kind !== 'discrete') throw new KairosError('reinforce.actionProbabilities: continuous actions have densities, not probabilities', 'invalid_argument');
    this.checkObs(obs, n, 'actionProbabilities');
    return actionProbsFromSnapshot(this.snap, this.action.n, this.normalized(obs, n), n, options.masks ?? null, options.deterministic === true);
  }

  observe(batch: StepBatch, ctx: StepContext): Record<string, number> | null {
    const { n } = batch;
    const d = this.obsDim;
    this.checkObs(batch.obs, n, 'observe');
    if (this.open.length === 0) {
      this.open = Array.from({ length: n }, emptyEpisode);
      this.hasMasks = batch.nextMasks !== null;
    } else if (this.open.length !== n) throw new KairosError(`reinforce: the agent was trained with ${this.open.length} envs and is now given ${n}`, 'invalid_argument');
    const cached = matchCache(this.cache, batch);
    this.cache = null;
    const normObs = cached ? cached.normObs : this.normalized(batch.obs, n).slice();
    const actions = cached ? cached.rawActions : batch.actions;
    const masks = cached ? cached.masks : null;
    const logProbs = cached ? cached.logProbs : Float64Array.from(batch.probs, Math.log);
    this.obsNorm?.update(batch.obs, n);
    const nextObs = this.normalized(batch.nextObs, n);
    const actDim = this.action.kind === 'discrete' ? 1 : this.action.dim;
    const A = this.action.kind === 'discrete' ? this.action.n : 0;
    for (let i = 0; i < n; i++) {
      const ep = this.open[i];
      for (let k = 0; k < d; k++) ep.obs.push(normObs[i * d + k]);
      for (let k = 0; k < actDim; k++) ep.actions.push(actions[i * actDim + k]);
      ep.logProbs.push(logProbs[i]);
      ep.rewards.push(batch.rewards[i]);
      if (this.hasMasks) for (let a = 0; a < A; a++) ep.masks.push(masks ? masks[i * A + a] : 1);
      if (batch.terminated[i] || batch.truncated[i]) {
        this.closed.push(this.closeEpisode(ep, batch.truncated[i] === 1 && batch.terminated[i] !== 1, nextObs.slice(i * d, (i + 1) * d)));
        this.open[i] = emptyEpisode();
      }
    }
    this.calls++;
    this.steps = ctx.step;
    this.progress = ctx.step / ctx.totalSteps;
    if (this.closed.length < this.config.batchEpisodes) return null;
    const episodes = concatEpisodes(this.closed, d, this.action, this.hasMasks);
    this.closed = [];
    return this.update(episodes);
  }

  private closeEpisode(ep: OpenEpisode, truncated: boolean, finalObs: Float32Array): ClosedEpisode {
    return {
      obs: Float32Array.from(ep.obs),
      actions: this.action.kind === 'discrete' ? Int32Array.from(ep.actions) : Float32Array.from(ep.actions),
      logProbs: Float64Array.from(ep.logProbs),
      rewards: Float64Array.from(ep.rewards),
      masks: this.hasMasks ? Uint8Array.from(ep.masks) : null,
      truncated,
      finalObs,
    };
  }

  /**
   * Off-policy training from logged episodes: `epochs` passes over the log in shuffled
   * mini-batches of `batchEpisodes` episodes, one update each. Returns every update's metrics.
   */
  fitLogged(log: LoggedEpisodes, options: { epochs?: number; batchEpisodes?: number; onUpdate?: (metrics: ReinforceMetrics, update: number) => void } = {}): ReinforceMetrics[] {
    const d = this.obsDim;
    const E = log.episodeStarts.length - 1;
    const N = log.episodeStarts[E];
    if (log.featureDim !== d || log.features.length !== N * d) throw new ValidationError('features', `${N} × ${d} numbers`, log.features.length, 'reinforce.fitLogged');
    if (log.rewards.length !== N || log.propensities.length !== N) throw new ValidationError('rewards/propensities', `${N} entries each`, [log.rewards.length, log.propensities.length], 'reinforce.fitLogged');
    const actDim = this.action.kind === 'discrete' ? 1 : this.action.dim;
    const A = this.action.kind === 'discrete' ? this.action.n : 0;
    if (log.actions.length !== N * actDim) throw new ValidationError('actions', `${N * actDim} entries`, log.actions.length, 'reinforce.fitLogged');
    if (this.obsNorm) this.obsNorm.update(log.features, N);
    const obs = this.normalized(log.features, N);
    const epochs = options.epochs ?? 1;
    const per = options.batchEpisodes ?? this.config.batchEpisodes;
    const order = Int32Array.from({ length: E }, (_, i) => i);
    const history: ReinforceMetrics[] = [];
    for (let epoch = 0; epoch < epochs; epoch++) {
      this.rng.shuffle(order);
      for (let s = 0; s < E; s += per) {
        const ids = order.subarray(s, Math.min(E, s + per));
        const eps: ClosedEpisode[] = Array.from(ids, (e) => {
          const a = log.episodeStarts[e];
          const b = log.episodeStarts[e + 1];
          return {
            obs: obs.subarray(a * d, b * d),
            actions: log.actions.subarray(a * actDim, b * actDim),
            logProbs: Float64Array.from(log.propensities.subarray(a, b), Math.log),
            rewards: log.rewards.subarray(a, b),
            masks: log.actionMask ? log.actionMask.subarray(a * A, b * A) : null,
            truncated: log.truncated?.[e] === 1,
            // Logs carry no final observation: a truncated episode bootstraps from its last state.
            finalObs: obs.subarray((b - 1) * d, b * d),
          };
        });
        const m = this.update(concatEpisodes(eps, d, this.action, log.actionMask !== undefined));
        history.push(m);
        options.onUpdate?.(m, this.updates);
      }
    }
    return history;
  }

  /** One update on a batch of episodes (module comment, steps 1-5). */
  update(batch: EpisodeBatch): ReinforceMetrics {
    const c = this.config;
    const d = this.obsDim;
    const E = batch.episodeStarts.length - 1;
    const N = batch.episodeStarts[E];
    if (N === 0) throw new KairosError('reinforce.update: empty batch', 'invalid_argument');
    // 1. Rewards and returns.
    const rewards = Float64Array.from(batch.rewards);
    if (c.rewardClip !== null) for (let t = 0; t < N; t++) rewards[t] = Math.max(-c.rewardClip, Math.min(c.rewardClip, rewards[t]));
    let bootstrap: Float64Array | null = null;
    if (this.snap.value && c.bootstrapTruncated && batch.finalObs && batch.truncated.some((x) => x === 1)) {
      const v = this.snap.value.forward(batch.finalObs, E);
      bootstrap = new Float64Array(E);
      for (let e = 0; e < E; e++) bootstrap[e] = batch.truncated[e] ? v[e] : 0;
    }
    const returns = discountedReturns(rewards, batch.episodeStarts, c.gamma, bootstrap);
    const returnMean = meanStd(returns).mean;
    // 2. Whitening.
    const targets = c.normalizeReturns ? whiten(Float64Array.from(returns)) : returns;
    // 3. Baseline.
    const advantages = Float64Array.from(targets);
    if (c.baseline === 'mean') {
      const m = meanStd(targets).mean;
      for (let t = 0; t < N; t++) advantages[t] -= m;
    } else if (c.baseline === 'learned') {
      const v = (this.snap.value as NonNullable<PolicySnapshot['value']>).forward(batch.obs, N);
      for (let t = 0; t < N; t++) advantages[t] -= v[t];
    }
    const policyStep = this.updates >= c.baselineWarmupUpdates;
    const lr = valueAt(c.learningRate, this.progress);
    if (lr > 0) setLearningRate(this.policyOptimizer, lr);
    let diag: WeightDiagnostics | null = null;
    let policyLoss = 0;
    let baselineLoss = 0;
    for (let epoch = 0; epoch < c.epochs; epoch++) {
      // 4. Importance weights of the current policy against the behaviour.
      const target = logProbsFromSnapshot(this.snap, this.action, batch.obs, N, batch.masks, batch.actions);
      const w = importanceWeights(target, batch.behaviourLogProbs, batch.episodeStarts, c.importance);
      if (epoch === 0) diag = w.diagnostics;
      const sig = offPolicySignals(advantages, w.weights, batch.episodeStarts, c.gamma, c.importance.weighting);
      // 5. Accumulated gradients over mini-batches of episodes.
      const k = Math.min(c.gradientAccumulation, E);
      let pAcc: tf.NamedTensorMap | null = null;
      let vAcc: tf.NamedTensorMap | null = null;
      policyLoss = 0;
      baselineLoss = 0;
      for (let j = 0; j < k; j++) {
        const e0 = Math.floor((j * E) / k);
        const e1 = Math.floor(((j + 1) * E) / k);
        if (e1 <= e0) continue;
        const r = this.chunkGradients(batch, e0, e1, N, sig, targets, w, policyStep && lr > 0);
        policyLoss += r.policyLoss;
        baselineLoss += r.baselineLoss;
        pAcc = accumulate(pAcc, r.policyGrads);
        vAcc = accumulate(vAcc, r.valueGrads);
      }
      if (pAcc) this.applyGrads(this.policyOptimizer, this.policyVars, pAcc);
      if (vAcc && this.baselineOptimizer) this.applyGrads(this.baselineOptimizer, this.valueVars, vAcc);
      this.snap = this.net.snapshot();
    }
    this.updates++;
    const dd = diag as WeightDiagnostics;
    this.last = {
      loss: policyLoss,
      baselineLoss: this.net.value ? baselineLoss : Number.NaN,
      returnMean,
      episodes: E,
      steps: N,
      policyUpdated: policyStep && lr > 0 ? 1 : 0,
      ...dd,
    };
    return this.last;
  }

  /** Gradients of one mini-batch (episodes e0..e1) of the policy and baseline losses. */
  private chunkGradients(
    batch: EpisodeBatch,
    e0: number,
    e1: number,
    N: number,
    sig: { signals: Float64Array; coefficients: Float64Array },
    targets: Float64Array,
    w: ReturnType<typeof importanceWeights>,
    trainPolicy: boolean,
  ): { policyGrads: tf.NamedTensorMap | null; valueGrads: tf.NamedTensorMap | null; policyLoss: number; baselineLoss: number } {
    const c = this.config;
    const d = this.obsDim;
    const t0 = batch.episodeStarts[e0];
    const t1 = batch.episodeStarts[e1];
    const M = t1 - t0;
    const discrete = this.action.kind === 'discrete';
    const actDim = discrete ? 1 : (this.action as { dim: number }).dim;
    const A = discrete ? (this.action as { n: number }).n : 0;
    const obsT = tf.tensor2d(batch.obs.subarray(t0 * d, t1 * d), [M, d]);
    let policyGrads: tf.NamedTensorMap | null = null;
    let valueGrads: tf.NamedTensorMap | null = null;
    let policyLoss = 0;
    let baselineLoss = 0;
    try {
      if (trainPolicy) {
        const actT = discrete ? tf.tensor1d(batch.actions.subarray(t0, t1) as Int32Array, 'int32') : tf.tensor2d(batch.actions.subarray(t0 * actDim, t1 * actDim) as Float32Array, [M, actDim]);
        const maskT = batch.masks ? tf.tensor2d(Float32Array.from(batch.masks.subarray(t0 * A, t1 * A)), [M, A]) : null;
        const sigT = tf.tensor1d(Float32Array.from((c.importance.estimator === 'detached' ? sig.coefficients : sig.signals).subarray(t0, t1)));
        const episode = c.importance.estimator === 'ratio' && c.importance.weighting !== 'step' ? episodeOffsets(batch.episodeStarts, e0, e1) : null;
        const { value, grads } = tf.variableGrads(() => {
          const out = this.net.policyOut(obsT);
          const logp = discrete ? categoricalLogProb(out, actT as tf.Tensor1D, maskT) : gaussianLogProb(out, this.net.logStd as tf.Variable, actT as tf.Tensor2D);
          let loss: tf.Scalar;
          if (c.importance.estimator === 'detached') {
            loss = reinforceLossDetached(logp, sigT, N);
          } else {
            const wT = importanceWeightsTensor(logp, batch.behaviourLogProbs.subarray(t0, t1), episode, { graded: w.graded.subarray(t0, t1), constants: w.constants.subarray(t0, t1), scale: w.scale }, c.importance);
            loss = reinforceLossRatio(wT, sigT, N);
          }
          if (c.entCoef > 0) {
            const ent = discrete ? categoricalEntropy(out, maskT) : gaussianEntropy(this.net.logStd as tf.Variable as tf.Tensor1D, M);
            loss = tf.sub(loss, tf.mul(tf.div(tf.sum(ent), N), c.entCoef)) as tf.Scalar;
          }
          return loss;
        }, this.policyVars);
        policyLoss = value.dataSync()[0];
        value.dispose();
        policyGrads = grads;
        tf.dispose([actT, sigT]);
        maskT?.dispose();
      }
      if (this.net.value) {
        const tgtT = tf.tensor1d(Float32Array.from(targets.subarray(t0, t1)));
        const { value, grads } = tf.variableGrads(() => tf.div(tf.sum(tf.square(tf.sub(this.net.values(obsT), tgtT))), N) as tf.Scalar, this.valueVars);
        baselineLoss = value.dataSync()[0];
        value.dispose();
        tgtT.dispose();
        valueGrads = grads;
      }
    } finally {
      obsT.dispose();
    }
    return { policyGrads, valueGrads, policyLoss, baselineLoss };
  }

  private applyGrads(optimizer: tf.Optimizer, vars: tf.Variable[], grads: tf.NamedTensorMap): void {
    let applied = grads;
    let norm: tf.Scalar | null = null;
    if (this.config.maxGradNorm !== null) {
      const r = clipGradsByGlobalNorm(grads, this.config.maxGradNorm);
      applied = r.grads;
      norm = r.norm;
    }
    const zeros: tf.Tensor[] = [];
    optimizer.applyGradients(
      vars.map((v) => {
        let g = applied[v.name];
        if (!g) zeros.push((g = tf.zerosLike(v)));
        return { name: v.name, tensor: g };
      }),
    );
    tf.dispose([...Object.values(grads), ...zeros]);
    if (applied !== grads) tf.dispose(Object.values(applied));
    norm?.dispose();
  }

  stats(): Record<string, number> {
    return { loss: num(this.last.loss), epsilon: Number.NaN, updates: this.updates, ess: num(this.last.essFraction), weightMax: num(this.last.weightMax) };
  }

  getPolicyState(): AgentState {
    return packPolicyState(this.algorithm, this.net, this.config, this.obsNorm);
  }

  setPolicyState(state: AgentState): void {
    unpackPolicyState(state, this.algorithm, this.net, this.obsNorm);
    this.snap = this.net.snapshot();
  }

  getState(options: { includeReplay?: boolean } = {}): AgentState {
    const p = new StatePacker(this.algorithm).weights('net', this.net.getWeights()).optimizer('optim', getOptimizerState(this.policyOptimizer, this.net.policyVariables()));
    if (this.baselineOptimizer) p.optimizer('baselineOptim', getOptimizerState(this.baselineOptimizer, this.net.valueVariables()));
    const arrays: Record<string, BufferArray> = {};
    let episodes: unknown = null;
    if (options.includeReplay !== false && this.open.length > 0) {
      // Finished episodes, then each env's episode in progress, concatenated.
      const all: ClosedEpisode[] = [...this.closed, ...this.open.map((ep) => this.closeEpisode(ep, false, new Float32Array(this.obsDim)))];
      const b = concatEpisodes(all, this.obsDim, this.action, this.hasMasks);
      Object.assign(arrays, { obs: b.obs, actions: b.actions, rewards: b.rewards, logProbs: b.behaviourLogProbs, starts: b.episodeStarts, truncated: b.truncated, finalObs: b.finalObs as Float32Array, ...(b.masks ? { masks: b.masks } : {}) });
      episodes = { closed: this.closed.length, open: this.open.length };
      p.buffer('episodes', { kind: 'reinforce-episodes', meta: episodes as Record<string, unknown>, arrays });
    }
    return p.finish({
      config: this.config,
      counters: { calls: this.calls, steps: this.steps, updates: this.updates, progress: this.progress, numEnvs: this.open.length, masks: this.hasMasks ? 1 : 0 },
      last: this.last,
      obsNorm: this.obsNorm?.getState() ?? null,
      rng: this.rng.getState(),
    });
  }

  setState(state: AgentState): void {
    checkAlgorithm(state, this.algorithm);
    const counters = state.json.counters as Record<string, number> | undefined;
    if (!counters) throw new ValidationError('json.counters', 'the agent counters', undefined, 'reinforce state');
    this.net.setWeights(unpackWeights(state, 'net'));
    setOptimizerState(this.policyOptimizer, this.net.policyVariables(), unpackOptimizer(state, 'optim'));
    if (this.baselineOptimizer) setOptimizerState(this.baselineOptimizer, this.net.valueVariables(), unpackOptimizer(state, 'baselineOptim'));
    this.hasMasks = counters.masks === 1;
    this.open = Array.from({ length: counters.numEnvs }, emptyEpisode);
    this.closed = [];
    const meta = state.json['episodes:meta'] as { meta: { closed: number; open: number } } | undefined;
    if (meta) {
      const a = (name: string) => state.arrays[`episodes/${name}`];
      const starts = a('starts') as Int32Array;
      const d = this.obsDim;
      const actDim = this.action.kind === 'discrete' ? 1 : this.action.dim;
      const A = this.action.kind === 'discrete' ? this.action.n : 0;
      const total = meta.meta.closed + meta.meta.open;
      for (let e = 0; e < total; e++) {
        const s = starts[e];
        const t = starts[e + 1];
        const obs = (a('obs') as Float32Array).slice(s * d, t * d);
        const actions = (a('actions') as Int32Array | Float32Array).slice(s * actDim, t * actDim);
        const logProbs = (a('logProbs') as Float64Array).slice(s, t);
        const rewards = (a('rewards') as Float64Array).slice(s, t);
        const masks = this.hasMasks ? (a('masks') as Uint8Array).slice(s * A, t * A) : null;
        if (e < meta.meta.closed) {
          this.closed.push({ obs, actions, logProbs, rewards, masks, truncated: (a('truncated') as Uint8Array)[e] === 1, finalObs: (a('finalObs') as Float32Array).slice(e * d, (e + 1) * d) });
        } else {
          this.open[e - meta.meta.closed] = { obs: Array.from(obs), actions: Array.from(actions), logProbs: Array.from(logProbs), rewards: Array.from(rewards), masks: masks ? Array.from(masks) : [] };
        }
      }
    }
    const o = state.json.obsNorm as Parameters<ObsNormalizer['setState']>[0] | null;
    if (this.obsNorm && o) this.obsNorm.setState(o);
    ({ calls: this.calls, steps: this.steps, updates: this.updates, progress: this.progress } = counters);
    this.last = Object.fromEntries(Object.entries((state.json.last as Record<string, unknown>) ?? {}).map(([k, v]) => [k, num(v)]));
    this.rng.setState(state.json.rng as ReturnType<Rng['getState']>);
    this.cache = null;
    this.snap = this.net.snapshot();
  }

  dispose(): void {
    this.net.dispose();
    this.policyOptimizer.dispose();
    this.baselineOptimizer?.dispose();
  }
}

/** Per step of episodes e0..e1: [start, end) of its episode, relative to the first step. */
function episodeOffsets(episodeStarts: Int32Array, e0: number, e1: number): { start: Int32Array; end: Int32Array } {
  const t0 = episodeStarts[e0];
  const M = episodeStarts[e1] - t0;
  const start = new Int32Array(M);
  const end = new Int32Array(M);
  for (let e = e0; e < e1; e++) {
    for (let t = episodeStarts[e]; t < episodeStarts[e + 1]; t++) {
      start[t - t0] = episodeStarts[e] - t0;
      end[t - t0] = episodeStarts[e + 1] - t0;
    }
  }
  return { start, end };
}

/** acc + grads (both freed; the sum returned), or grads when acc is null. */
function accumulate(acc: tf.NamedTensorMap | null, grads: tf.NamedTensorMap | null): tf.NamedTensorMap | null {
  if (!grads) return acc;
  if (!acc) return grads;
  const out: tf.NamedTensorMap = {};
  for (const k of new Set([...Object.keys(acc), ...Object.keys(grads)])) {
    if (acc[k] && grads[k]) out[k] = tf.add(acc[k], grads[k]);
    else out[k] = tf.clone(acc[k] ?? grads[k]);
  }
  tf.dispose([...Object.values(acc), ...Object.values(grads)]);
  return out;
}
