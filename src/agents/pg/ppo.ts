/**
 * PPO and A2C, read top to bottom: the config (every hyperparameter and implementation
 * detail, with its default and source), then the agent (act, observe → rollout → update,
 * state). A2C is the same agent with A2C's defaults (`a2c.ts`).
 *
 * - PPO: Schulman et al. 2017, "Proximal policy optimization algorithms". Defaults are
 *   Stable-Baselines3's `PPO` defaults (sb3 2.x `ppo.py`, `ActorCriticPolicy`), so the
 *   rl-baselines3-zoo presets (`presets.ts`) carry over as they are.
 * - Every detail of Huang et al. 2022, "The 37 implementation details of PPO" (ICLR blog
 *   track), that matters for vector observations is a switch here, with the SB3/CleanRL
 *   value as default:
 *   vector envs (the loop's `numEnvs`, detail 1); orthogonal init with gains √2 / 0.01 / 1
 *   (`network.init`, 2); Adam ε 1e-5 (`optimizerEps`, 3); learning-rate annealing
 *   (`learningRate` schedule, 4); GAE(λ) with truncation bootstrapping (`gaeLambda`, 5);
 *   mini-batch updates over shuffled epochs (`batchSize`, `nEpochs`, 6); advantage
 *   normalisation per mini-batch (`normalizeAdvantage`, 7); clipped surrogate (`clipRange`,
 *   8); value clipping (`clipRangeVf`, 9; off in SB3, on in CleanRL); entropy bonus
 *   (`entCoef`, 10); global gradient-norm clipping 0.5 (`maxGradNorm`, 11); approximate-KL
 *   early stopping (`targetKl`, SB3's rule: stop the epochs once KL > 1.5 · target); separate
 *   policy and value networks (SB3 default); continuous actions as a diagonal Gaussian with
 *   state-independent log σ and clipped env actions (continuous details 1-3); observation and
 *   reward normalisation (`normalizeObs`, `normalizeReward`, continuous details 4-5, kept in
 *   the agent's state, see `normalization.ts`).
 * - `act` returns each action's probability (density for continuous actions) under the
 *   current stochastic policy, 1 for the deterministic (greedy/mean) policy.
 *
 * @example
 * const agent = new PpoAgent({ observationSpace, actionSpace, config: { nSteps: 128 }, seed: 0 });
 * const { actions, probs } = agent.act(obs, 8);
 */
import { z } from 'zod';
import { KairosError, ValidationError, parseWith } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { ScheduleSchema, valueAt } from '../../core/schedules.js';
import { Box, Discrete, flatdim, type Space } from '../../core/spaces.js';
import { tf } from '../../tensor/backend.js';
import { ACTIVATIONS, INITS } from '../../tensor/layers/dense.js';
import { createOptimizer, getOptimizerState, setLearningRate, setOptimizerState } from '../../tensor/optim.js';
import type { ActOptions, ActResult, Agent, AgentInit, AgentState, StepBatch, StepContext } from '../agent.js';
import { StatePacker, checkAlgorithm, unpackBuffer, unpackOptimizer, unpackWeights } from '../state.js';
import { actFromSnapshot, actionProbsFromSnapshot, logProbsFromSnapshot, type ActionBounds, type PolicySnapshot } from './acting.js';
import { computeGae, explainedVariance, whiten } from './advantages.js';
import { categoricalLogProbEntropy, gaussianEntropy, gaussianLogProb } from './distributions.js';
import { clipCoefficient, scaleGrads, squaredGlobalNorm } from './grad-clip.js';
import { approxKl, clippedSurrogateLoss, valueLoss, vanillaPolicyLoss } from './losses.js';
import { ActorCritic, packPolicyState, unpackPolicyState, type ActionKind } from './networks.js';
import { ObsNormalizer, RewardNormalizer, type RewardNormalizerState } from './normalization.js';
import { RolloutBuffer } from './rollout-buffer.js';

// --- Config ----------------------------------------------------------------------------------

/** Network options shared by PPO, A2C and REINFORCE. */
export const PgNetworkSchema = z
  .object({
    /** Policy hidden layers (SB3: [64, 64]). */
    hiddenSizes: z.array(z.number().int().positive()).default([64, 64]),
    /** Value hidden layers; null = same as the policy's (SB3: separate [64, 64]). */
    valueHiddenSizes: z.array(z.number().int().positive()).nullable().default(null),
    /** Hidden activation (SB3 and CleanRL PPO: tanh). */
    activation: z.enum(ACTIVATIONS).default('tanh'),
    /** `orthogonal` with PPO's gains (SB3 `ortho_init=True`), or `torch` for PyTorch's default init. */
    init: z.enum(INITS).default('orthogonal'),
    /** Policy-head gain under orthogonal init (Huang et al. 2022: 0.01). */
    policyOutputGain: z.number().nonnegative().default(0.01),
    /** Value-head gain under orthogonal init (1). */
    valueOutputGain: z.number().nonnegative().default(1),
    /** Initial log σ of the Gaussian policy (SB3 `log_std_init`: 0). */
    logStdInit: z.number().default(0),
  })
  .strict();

/** The defaults that differ between PPO and A2C. */
interface AlgorithmDefaults {
  learningRate: number;
  nSteps: number;
  batchSize: number | null;
  nEpochs: number;
  gaeLambda: number;
  policyLoss: 'clipped' | 'vanilla';
  normalizeAdvantage: boolean;
  optimizer: 'adam' | 'rmsprop';
}

/** SB3 `PPO` defaults (sb3 2.x). */
export const PPO_DEFAULTS: AlgorithmDefaults = {
  learningRate: 3e-4,
  nSteps: 2048,
  batchSize: 64,
  nEpochs: 10,
  gaeLambda: 0.95,
  policyLoss: 'clipped',
  normalizeAdvantage: true,
  optimizer: 'adam',
};

/** SB3 `A2C` defaults (sb3 2.x): one gradient step per 5-step rollout, RMSprop, no advantage normalisation. */
export const A2C_DEFAULTS: AlgorithmDefaults = {
  learningRate: 7e-4,
  nSteps: 5,
  batchSize: null,
  nEpochs: 1,
  gaeLambda: 1,
  policyLoss: 'vanilla',
  normalizeAdvantage: false,
  optimizer: 'rmsprop',
};

/** Builds the PPO/A2C config schema with the given defaults. */
export function actorCriticConfigSchema(d: AlgorithmDefaults) {
  return z
    .object({
      /** Learning rate or a schedule over training progress, e.g. `{type: 'linear', start: 1e-3, end: 0}` (annealing, zoo's `lin_1e-3`). */
      learningRate: ScheduleSchema.default(d.learningRate),
      /** Vector steps per rollout (per env); the rollout holds nSteps · numEnvs samples. */
      nSteps: z.number().int().positive().default(d.nSteps),
      /** Mini-batch size; null = the whole rollout in one batch (A2C). */
      batchSize: z.number().int().positive().nullable().default(d.batchSize),
      /** Passes over each rollout. */
      nEpochs: z.number().int().positive().default(d.nEpochs),
      /** Discount (SB3: 0.99). */
      gamma: z.number().min(0).max(1).default(0.99),
      /** GAE λ (PPO 0.95; A2C 1, plain n-step returns). */
      gaeLambda: z.number().min(0).max(1).default(d.gaeLambda),
      /** `clipped` surrogate (PPO) or `vanilla` −Â·log π (A2C). */
      policyLoss: z.enum(['clipped', 'vanilla']).default(d.policyLoss),
      /** Surrogate clip ε or a schedule (SB3: 0.2; zoo's `lin_0.2` anneals it). */
      clipRange: ScheduleSchema.default(0.2),
      /** Value clip ε_v or a schedule; null = no value clipping (SB3 default; CleanRL clips at 0.2). */
      clipRangeVf: ScheduleSchema.nullable().default(null),
      /** Normalise advantages per mini-batch (PPO: true; A2C: false). */
      normalizeAdvantage: z.boolean().default(d.normalizeAdvantage),
      /** Entropy bonus coefficient or schedule (SB3: 0). */
      entCoef: ScheduleSchema.default(0),
      /** Value-loss coefficient (SB3: 0.5). */
      vfCoef: z.number().nonnegative().default(0.5),
      /** Clip gradients to this global norm; null = off (SB3: 0.5). */
      maxGradNorm: z.number().positive().nullable().default(0.5),
      /** Stop the epochs of an update once approx. KL exceeds 1.5 × this; null = never (SB3 default). */
      targetKl: z.number().positive().nullable().default(null),
      /** `adam` (PPO) or `rmsprop` (A2C; TF-style ε inside the root, see docs). */
      optimizer: z.enum(['adam', 'rmsprop']).default(d.optimizer),
      /** Adam / RMSprop ε (SB3: 1e-5 for both). */
      optimizerEps: z.number().positive().default(1e-5),
      /** RMSprop decay α (SB3 A2C: 0.99). */
      rmspropDecay: z.number().min(0).lt(1).default(0.99),
      /** Normalise observations with running statistics (SB3 VecNormalize; off by default). */
      normalizeObs: z.boolean().default(false),
      /** Clip normalised observations to ±this (SB3: 10). */
      clipObs: z.number().positive().default(10),
      /** Scale rewards by the running std of the discounted return (SB3 VecNormalize; off by default). */
      normalizeReward: z.boolean().default(false),
      /** Clip scaled rewards to ±this (SB3: 10). */
      clipReward: z.number().positive().default(10),
      network: PgNetworkSchema.prefault({}),
    })
    .strict();
}

/** PPO config schema (SB3 defaults). */
export const PpoConfigSchema = actorCriticConfigSchema(PPO_DEFAULTS);
/** A2C config schema (SB3 defaults). */
export const A2cConfigSchema = actorCriticConfigSchema(A2C_DEFAULTS);
/** PPO / A2C config as written by a user. */
export type PpoConfig = z.input<typeof PpoConfigSchema>;
/** PPO / A2C config with defaults applied. */
export type ResolvedPpoConfig = z.output<typeof PpoConfigSchema>;

/** Parses a PPO (or A2C) config; errors name the field (`ppo.network.hiddenSizes`). */
export function parsePpoConfig(config: unknown, algorithm: 'ppo' | 'a2c' = 'ppo'): ResolvedPpoConfig {
  return parseWith(algorithm === 'ppo' ? PpoConfigSchema : A2cConfigSchema, config ?? {}, algorithm);
}

// --- Shared helpers --------------------------------------------------------------------------

/** Discrete or continuous action layout of a space, with bounds for clipping. */
export function actionKindOf(space: Space, algorithm: string): { kind: ActionKind; bounds: ActionBounds | null } {
  if (space instanceof Discrete) return { kind: { kind: 'discrete', n: space.n }, bounds: null };
  if (space instanceof Box) {
    const bounded = Array.from(space.low).some(Number.isFinite) || Array.from(space.high).some(Number.isFinite);
    return { kind: { kind: 'continuous', dim: space.size }, bounds: bounded ? { low: space.low, high: space.high } : null };
  }
  throw new ValidationError('actionSpace', 'a Discrete or Box space', space?.toString(), algorithm);
}

/** What act() computed for the training call, reused by observe() when the batch matches. */
interface ActCache {
  n: number;
  obs: Float32Array;
  normObs: Float32Array;
  envActions: Int32Array | Float32Array;
  rawActions: Int32Array | Float32Array;
  logProbs: Float64Array;
  values: Float64Array | null;
  masks: Uint8Array | null;
}

function sameArray(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return false;
  return true;
}

/** The act() cache entry for `batch`, or null if act() was not called on exactly this batch. */
export function matchCache<C extends { n: number; obs: Float32Array; envActions: Int32Array | Float32Array }>(cache: C | null, batch: StepBatch): C | null {
  if (!cache || cache.n !== batch.n || !sameArray(cache.obs, batch.obs) || !sameArray(cache.envActions, batch.actions)) return null;
  return cache;
}

/** NaN-safe number for JSON state (JSON turns NaN into null). */
export function num(x: unknown): number {
  return typeof x === 'number' ? x : Number.NaN;
}

// --- Agent -----------------------------------------------------------------------------------

/** PPO (and A2C) agent; see the module comment. */
export class PpoAgent implements Agent {
  readonly algorithm: 'ppo' | 'a2c';
  readonly observationSpace: Space;
  readonly actionSpace: Space;
  readonly obsDim: number;
  readonly action: ActionKind;
  readonly config: ResolvedPpoConfig;
  readonly net: ActorCritic;
  private readonly bounds: ActionBounds | null;
  private readonly optimizer: tf.Optimizer;
  private readonly vars: tf.Variable[];
  private readonly rng: Rng;
  private snap: PolicySnapshot;
  private readonly obsNorm: ObsNormalizer | null;
  private retNorm: RewardNormalizer | null = null;
  private rollout: RolloutBuffer | null = null;
  private cache: ActCache | null = null;
  // Counters: vector steps seen, env steps, gradient steps, rollouts trained on.
  private calls = 0;
  private steps = 0;
  private gradientSteps = 0;
  private rollouts = 0;
  private progress = 0;
  private last: Record<string, number> = {};
  private normScratch = new Float32Array(0);

  constructor(init: AgentInit, algorithm: 'ppo' | 'a2c' = 'ppo') {
    this.algorithm = algorithm;
    this.config = parsePpoConfig(init.config, algorithm);
    this.observationSpace = init.observationSpace;
    this.actionSpace = init.actionSpace;
    this.obsDim = flatdim(init.observationSpace);
    const { kind, bounds } = actionKindOf(init.actionSpace, algorithm);
    this.action = kind;
    this.bounds = bounds;
    const c = this.config;
    const rng = new Rng(init.seed);
    const netRng = rng.spawn();
    this.rng = rng.spawn();
    this.net = new ActorCritic({ obsDim: this.obsDim, action: kind, spec: c.network, withValue: true, rng: netRng });
    this.vars = this.net.trainableVariables;
    const lr0 = Math.max(valueAt(c.learningRate, 0), Number.MIN_VALUE);
    this.optimizer =
      c.optimizer === 'adam'
        ? createOptimizer({ type: 'adam', learningRate: lr0, epsilon: c.optimizerEps })
        : createOptimizer({ type: 'rmsprop', learningRate: lr0, decay: c.rmspropDecay, epsilon: c.optimizerEps });
    this.obsNorm = c.normalizeObs ? new ObsNormalizer(this.obsDim, { clip: c.clipObs, epsilon: 1e-8 }) : null;
    this.snap = this.net.snapshot();
  }

  private normalized(obs: Float32Array, n: number): Float32Array {
    if (!this.obsNorm) return obs;
    if (this.normScratch.length < n * this.obsDim) this.normScratch = new Float32Array(n * this.obsDim);
    return this.obsNorm.normalize(obs, this.normScratch.subarray(0, n * this.obsDim));
  }

  private checkObs(obs: Float32Array, n: number, where: string): void {
    if (obs.length !== n * this.obsDim) throw new ValidationError('obs', `${n} × ${this.obsDim} = ${n * this.obsDim} numbers`, obs.length, `${this.algorithm}.${where}`);
  }

  act(obs: Float32Array, n: number, options: ActOptions = {}): ActResult {
    this.checkObs(obs, n, 'act');
    const masks = options.masks ?? null;
    if (masks && (this.action.kind !== 'discrete' || masks.length !== n * this.action.n)) {
      throw new ValidationError('masks', this.action.kind === 'discrete' ? `${n * this.action.n} entries` : 'null (continuous actions)', masks.length, `${this.algorithm}.act`);
    }
    const det = options.deterministic === true;
    const normObs = this.normalized(obs, n);
    const out = actFromSnapshot(this.snap, this.action, this.bounds, normObs, n, masks, this.rng, det);
    if (det) return { actions: out.envActions, probs: new Float64Array(n).fill(1), logProbs: new Float64Array(n) };
    this.cache = {
      n,
      obs: obs.slice(),
      normObs: normObs.slice(),
      envActions: out.envActions.slice(),
      rawActions: out.rawActions,
      logProbs: out.logProbs,
      values: out.values,
      masks: masks ? masks.slice() : null,
    };
    return { actions: out.envActions, probs: out.logProbs.map(Math.exp), logProbs: out.logProbs.slice() };
  }

  /** Probabilities of every action `[n × A]` (discrete actions), greedy when `deterministic`. */
  actionProbabilities(obs: Float32Array, n: number, options: ActOptions = {}): Float64Array {
    if (this.action.kind !== 'discrete') throw new KairosError(`${this.algorithm}.actionProbabilities: continuous actions have densities, not probabilities`, 'invalid_argument');
    this.checkObs(obs, n, 'actionProbabilities');
    return actionProbsFromSnapshot(this.snap, this.action.n, this.normalized(obs, n), n, options.masks ?? null, options.deterministic === true);
  }

  /** V(s) `[n]` of raw observations (for diagnostics and tests). */
  values(obs: Float32Array, n: number): Float64Array {
    this.checkObs(obs, n, 'values');
    return Float64Array.from((this.snap.value as NonNullable<PolicySnapshot['value']>).forward(this.normalized(obs, n), n).subarray(0, n));
  }

  private ensureRollout(n: number, hasMasks: boolean): RolloutBuffer {
    if (this.rollout) {
      if (this.rollout.n !== n) throw new KairosError(`${this.algorithm}: the agent was trained with ${this.rollout.n} envs and is now given ${n}`, 'invalid_argument');
      return this.rollout;
    }
    this.rollout = new RolloutBuffer({ nSteps: this.config.nSteps, n, obsDim: this.obsDim, action: this.action, masks: hasMasks });
    const c = this.config;
    if (c.normalizeReward) this.retNorm = new RewardNormalizer(n, { gamma: c.gamma, clip: c.clipReward, epsilon: 1e-8 });
    return this.rollout;
  }

  observe(batch: StepBatch, ctx: StepContext): Record<string, number> | null {
    const { n } = batch;
    const d = this.obsDim;
    this.checkObs(batch.obs, n, 'observe');
    const rollout = this.ensureRollout(n, batch.nextMasks !== null);
    const cached = matchCache(this.cache, batch);
    this.cache = null;
    let normObs: Float32Array;
    let rawActions: Int32Array | Float32Array;
    let logProbs: Float64Array;
    let values: Float64Array;
    let masks: Uint8Array | null;
    if (cached && cached.values) {
      ({ normObs, rawActions, logProbs, masks } = cached);
      values = cached.values;
    } else {
      // act() was not called on this batch (a caller feeding its own steps): recompute.
      normObs = this.normalized(batch.obs, n).slice();
      rawActions = batch.actions;
      masks = null;
      logProbs = logProbsFromSnapshot(this.snap, this.action, normObs, n, masks, rawActions);
      values = Float64Array.from((this.snap.value as NonNullable<PolicySnapshot['value']>).forward(normObs, n).subarray(0, n));
    }
    this.obsNorm?.update(batch.obs, n);
    const rewards = this.retNorm ? this.retNorm.scale(batch.rewards, (i) => batch.terminated[i] === 1 || batch.truncated[i] === 1, new Float64Array(n)) : batch.rewards;
    const nextObs = this.obsNorm ? this.obsNorm.normalize(batch.nextObs, new Float32Array(n * d)) : batch.nextObs;
    rollout.add({ obs: normObs, actions: rawActions, logProbs, values, rewards, terminated: batch.terminated, truncated: batch.truncated, nextObs, masks });
    this.calls++;
    this.steps = ctx.step;
    this.progress = ctx.step / ctx.totalSteps;
    if (!rollout.full) return null;
    const metrics = this.train();
    rollout.reset();
    return metrics;
  }

  /** Bootstrap values, GAE, then epochs of mini-batch updates on the full rollout. */
  private train(): Record<string, number> {
    const c = this.config;
    const buf = this.rollout as RolloutBuffer;
    const { n, obsDim: d } = buf;
    const N = buf.size;
    const valueNet = this.snap.value as NonNullable<PolicySnapshot['value']>;
    const lastValues = Float64Array.from(valueNet.forward(buf.lastNextObs, n).subarray(0, n));
    // Values of the true final observations of truncated episodes, in one batch.
    const truncIdx: number[] = [];
    for (let k = 0; k < N; k++) if (buf.truncated[k]) truncIdx.push(k);
    const truncationValues = new Float64Array(N);
    if (truncIdx.length > 0) {
      const rows = new Float32Array(truncIdx.length * d);
      truncIdx.forEach((k, j) => rows.set(buf.finalObs.subarray(k * d, (k + 1) * d), j * d));
      const v = valueNet.forward(rows, truncIdx.length);
      truncIdx.forEach((k, j) => (truncationValues[k] = v[j]));
    }
    const { advantages, returns } = computeGae({
      rewards: buf.rewards.subarray(0, N),
      values: buf.values.subarray(0, N),
      terminated: buf.terminated.subarray(0, N),
      truncated: buf.truncated.subarray(0, N),
      truncationValues,
      lastValues,
      n,
      gamma: c.gamma,
      lambda: c.gaeLambda,
    });
    const p = this.progress;
    const lr = valueAt(c.learningRate, p);
    const clip = valueAt(c.clipRange, p);
    const clipVf = c.clipRangeVf === null ? null : valueAt(c.clipRangeVf, p);
    const entCoef = valueAt(c.entCoef, p);
    const ev = explainedVariance(buf.values.subarray(0, N), returns);
    this.rollouts++;
    const sums = { loss: 0, policyLoss: 0, valueLoss: 0, entropy: 0, approxKl: 0, clipFraction: 0 };
    let count = 0;
    let epochs = 0;
    // A learning rate annealed to 0 (the last update of a linear schedule) has nothing to do.
    if (lr > 0) {
      setLearningRate(this.optimizer, lr);
      const B = Math.min(c.batchSize ?? N, N);
      const indices = Int32Array.from({ length: N }, (_, i) => i);
      let stop = false;
      for (let epoch = 0; epoch < c.nEpochs && !stop; epoch++) {
        this.rng.shuffle(indices);
        for (let start = 0; start < N; start += B) {
          const r = this.minibatchStep(indices.subarray(start, Math.min(N, start + B)), advantages, returns, clip, clipVf, entCoef);
          if (r === null) {
            stop = true;
            break;
          }
          for (const k of Object.keys(sums) as (keyof typeof sums)[]) sums[k] += r[k];
          count++;
        }
        if (!stop) epochs++;
      }
      this.snap = this.net.snapshot();
    }
    const mean = (x: number) => (count > 0 ? x / count : Number.NaN);
    this.last = {
      loss: mean(sums.loss),
      policyLoss: mean(sums.policyLoss),
      valueLoss: mean(sums.valueLoss),
      entropy: mean(sums.entropy),
      approxKl: mean(sums.approxKl),
      clipFraction: mean(sums.clipFraction),
      explainedVariance: ev,
      learningRate: lr,
      clipRange: clip,
      epochs,
      ...(this.snap.logStd ? { std: Array.from(this.snap.logStd, Math.exp).reduce((a, b) => a + b, 0) / this.snap.logStd.length } : {}),
    };
    return this.last;
  }

  /**
   * One gradient step on the samples `idx` of the rollout. Returns the step's numbers, or
   * null when approximate-KL early stopping fires (the step is then not applied, as SB3).
   */
  private minibatchStep(idx: Int32Array, advantages: Float64Array, returns: Float64Array, clip: number, clipVf: number | null, entCoef: number): Record<'loss' | 'policyLoss' | 'valueLoss' | 'entropy' | 'approxKl' | 'clipFraction', number> | null {
    const c = this.config;
    const buf = this.rollout as RolloutBuffer;
    const d = this.obsDim;
    const Bm = idx.length;
    const obs = new Float32Array(Bm * d);
    const adv = new Float32Array(Bm);
    const ret = new Float32Array(Bm);
    const oldLp = new Float32Array(Bm);
    const oldV = new Float32Array(Bm);
    const discrete = this.action.kind === 'discrete';
    const actDim = discrete ? 1 : (this.action as { dim: number }).dim;
    const acts = discrete ? new Int32Array(Bm) : new Float32Array(Bm * actDim);
    const A = discrete ? (this.action as { n: number }).n : 0;
    const masks = buf.masks ? new Float32Array(Bm * A) : null;
    const advRaw = new Float64Array(Bm);
    for (let j = 0; j < Bm; j++) {
      const k = idx[j];
      obs.set(buf.obs.subarray(k * d, (k + 1) * d), j * d);
      if (discrete) acts[j] = buf.actions[k];
      else (acts as Float32Array).set((buf.actions as Float32Array).subarray(k * actDim, (k + 1) * actDim), j * actDim);
      advRaw[j] = advantages[k];
      ret[j] = returns[k];
      oldLp[j] = buf.logProbs[k];
      oldV[j] = buf.values[k];
      if (masks && buf.masks) for (let a = 0; a < A; a++) masks[j * A + a] = buf.masks[k * A + a];
    }
    // Advantage normalisation per mini-batch (Huang et al. 2022, detail 7; SB3 skips a batch of one).
    if (c.normalizeAdvantage) whiten(advRaw);
    adv.set(advRaw);

    const obsT = tf.tensor2d(obs, [Bm, d]);
    const actT = discrete ? tf.tensor1d(acts as Int32Array, 'int32') : tf.tensor2d(acts as Float32Array, [Bm, actDim]);
    const maskT = masks ? tf.tensor2d(masks, [Bm, A]) : null;
    const advT = tf.tensor1d(adv);
    const retT = tf.tensor1d(ret);
    const oldLpT = tf.tensor1d(oldLp);
    const oldVT = tf.tensor1d(oldV);
    const kept: tf.Tensor[] = [];
    const keep = <T extends tf.Tensor>(t: T): T => {
      kept.push(tf.keep(t));
      return t;
    };
    const { value, grads } = tf.variableGrads(() => {
      const out = this.net.policyOut(obsT);
      let logp: tf.Tensor1D;
      let ent: tf.Tensor1D;
      if (discrete) ({ logProb: logp, entropy: ent } = categoricalLogProbEntropy(out, actT as tf.Tensor1D, maskT));
      else {
        logp = gaussianLogProb(out, this.net.logStd as tf.Variable, actT as tf.Tensor2D);
        ent = gaussianEntropy(this.net.logStd as tf.Variable as tf.Tensor1D, Bm);
      }
      const v = this.net.values(obsT);
      let pg: tf.Scalar;
      let kl: tf.Scalar;
      let cf: tf.Scalar;
      if (c.policyLoss === 'clipped') {
        const s = clippedSurrogateLoss(logp, oldLpT, advT, clip);
        pg = s.loss;
        kl = s.approxKl;
        cf = s.clipFraction;
      } else {
        pg = vanillaPolicyLoss(logp, advT);
        kl = approxKl(tf.sub(logp, oldLpT) as tf.Tensor1D);
        cf = tf.scalar(0);
      }
      const vl = valueLoss(v, oldVT, retT, clipVf);
      const entMean = tf.mean(ent) as tf.Scalar;
      keep(tf.stack([pg, vl, entMean, kl, cf]));
      return tf.sub(tf.add(pg, tf.mul(vl, c.vfCoef)), tf.mul(entMean, entCoef)) as tf.Scalar;
    }, this.vars);
    let applied: tf.NamedTensorMap = grads;
    try {
      // One read-back per step: loss, its parts and the squared gradient norm.
      const packed = tf.tidy(() => tf.concat([tf.reshape(value, [1]), kept[0], c.maxGradNorm === null ? tf.zeros([1]) : tf.reshape(squaredGlobalNorm(grads), [1])]));
      const x = packed.dataSync();
      packed.dispose();
      // SB3: stop before the step once KL > 1.5 · target_kl.
      if (c.targetKl !== null && x[4] > 1.5 * c.targetKl) return null;
      applied = scaleGrads(grads, clipCoefficient(x[6], c.maxGradNorm));
      this.optimizer.applyGradients(this.vars.map((v) => ({ name: v.name, tensor: applied[v.name] })));
      this.gradientSteps++;
      return { loss: x[0], policyLoss: x[1], valueLoss: x[2], entropy: x[3], approxKl: x[4], clipFraction: x[5] };
    } finally {
      if (applied !== grads) tf.dispose(Object.values(applied));
      tf.dispose([value, ...Object.values(grads), ...kept, obsT, actT, advT, retT, oldLpT, oldVT]);
      maskT?.dispose();
    }
  }

  stats(): Record<string, number> {
    return {
      loss: this.last.loss ?? Number.NaN,
      entropy: this.last.entropy ?? Number.NaN,
      approxKl: this.last.approxKl ?? Number.NaN,
      epsilon: Number.NaN,
      updates: this.gradientSteps,
      rollouts: this.rollouts,
    };
  }

  getPolicyState(): AgentState {
    return packPolicyState(this.algorithm, this.net, this.config, this.obsNorm);
  }

  setPolicyState(state: AgentState): void {
    unpackPolicyState(state, this.algorithm, this.net, this.obsNorm);
    this.snap = this.net.snapshot();
  }

  getState(options: { includeReplay?: boolean } = {}): AgentState {
    const p = new StatePacker(this.algorithm).weights('net', this.net.getWeights()).optimizer('optim', getOptimizerState(this.optimizer, this.net.namedVariables()));
    if (options.includeReplay !== false && this.rollout) p.buffer('rollout', this.rollout.getState());
    return p.finish({
      config: this.config,
      counters: { calls: this.calls, steps: this.steps, gradientSteps: this.gradientSteps, rollouts: this.rollouts, progress: this.progress, numEnvs: this.rollout?.n ?? 0, masks: this.rollout?.masks ? 1 : 0 },
      last: this.last,
      obsNorm: this.obsNorm?.getState() ?? null,
      retNorm: this.retNorm?.getState() ?? null,
      rng: this.rng.getState(),
    });
  }

  setState(state: AgentState): void {
    checkAlgorithm(state, this.algorithm);
    const counters = state.json.counters as Record<string, number> | undefined;
    if (!counters) throw new ValidationError('json.counters', 'the agent counters', undefined, `${this.algorithm} state`);
    this.net.setWeights(unpackWeights(state, 'net'));
    setOptimizerState(this.optimizer, this.net.namedVariables(), unpackOptimizer(state, 'optim'));
    this.rollout = null;
    this.retNorm = null;
    if (counters.numEnvs > 0) {
      const r = this.ensureRollout(counters.numEnvs, counters.masks === 1);
      const saved = unpackBuffer(state, 'rollout');
      if (saved) r.setState(saved);
      const rn = state.json.retNorm as RewardNormalizerState | null;
      // ensureRollout re-created the reward normaliser (TypeScript's narrowing misses that).
      const retNorm = this.retNorm as RewardNormalizer | null;
      if (retNorm && rn) retNorm.setState(rn);
    }
    const o = state.json.obsNorm as Parameters<ObsNormalizer['setState']>[0] | null;
    if (this.obsNorm && o) this.obsNorm.setState(o);
    ({ calls: this.calls, steps: this.steps, gradientSteps: this.gradientSteps, rollouts: this.rollouts, progress: this.progress } = counters);
    this.last = Object.fromEntries(Object.entries((state.json.last as Record<string, unknown>) ?? {}).map(([k, v]) => [k, num(v)]));
    this.rng.setState(state.json.rng as ReturnType<Rng['getState']>);
    this.cache = null;
    this.snap = this.net.snapshot();
  }

  dispose(): void {
    this.net.dispose();
    this.optimizer.dispose();
  }
}
