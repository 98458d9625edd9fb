/**
 * DDPG, and the deterministic actor-critic TD3 builds on, read top to bottom: the config
 * (every hyperparameter with its default and source), then the agent (act, observe/train,
 * state). `td3.ts` is this agent with TD3's defaults.
 *
 * - DPG: Silver et al. 2014 (the deterministic policy gradient theorem: ∇_θ J =
 *   E_s[∇_a Q(s, a)|_{a=μ(s)} · ∇_θ μ(s)], no importance sampling because no integral over
 *   actions). DDPG: Lillicrap et al. 2016 (replay, target actor and critic with Polyak
 *   averaging τ, tanh actor, Ornstein-Uhlenbeck exploration). The actor step minimises
 *   −mean Q(s, μ(s)) through the critic: autodiff gives exactly ∇_a Q · ∇_θ μ.
 * - TD3 options (Fujimoto et al. 2018): `nCritics: 2` (clipped double Q, min over critics in
 *   the target), `targetPolicyNoise` / `targetNoiseClip` (target policy smoothing),
 *   `policyDelay` (actor and target updates every d-th critic update). With them off this is
 *   DDPG; that is also how SB3 defines its DDPG (TD3 with policy_delay 1, one critic, no
 *   smoothing).
 * - Defaults are Stable-Baselines3 2.x's `DDPG` (learning rate 1e-3, batch 256, τ 0.005,
 *   train every step, [400, 300] ReLU networks) except the exploration noise: SB3 has none by
 *   default, Kairos uses the paper's Ornstein-Uhlenbeck θ = 0.15, σ = 0.2 (dt = 1e-2 as SB3).
 * - Exploration noise is added in the actor's [−1, 1] scale and the result clipped to
 *   [−1, 1] (SB3), then rescaled to the Box bounds. During `learningStarts` actions are uniform
 *   over the Box (SB3 also adds the noise to those; Kairos does not, so `act` can report their
 *   exact density). Noise processes restart when their env's episode ends (SB3).
 * - `act` returns each action's probability: 1 for deterministic actions (evaluation, or no
 *   noise), otherwise the density of the action in the env's units under the Gaussian the
 *   noise process draws from given its state, and for a dimension clipped to a bound the
 *   probability of that bound (mixed density and mass, the law of a clipped Gaussian).
 *
 * @example
 * const agent = new DdpgAgent({ observationSpace, actionSpace, config: { actionNoise: { type: 'normal', std: 0.1 } }, seed: 0 });
 * const { actions } = agent.act(obs, 1, { deterministic: true });
 */
import { z } from 'zod';
import { KairosError, ValidationError, parseWith } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { valueAt } from '../../core/schedules.js';
import { Box, flatdim, type Space } from '../../core/spaces.js';
import { tf } from '../../tensor/backend.js';
import { createOptimizer, getOptimizerState, setLearningRate, setOptimizerState } from '../../tensor/optim.js';
import type { ActOptions, ActResult, Agent, AgentInit, AgentState, StepBatch, StepContext } from '../agent.js';
import { StatePacker, checkAlgorithm, unpackBuffer, unpackOptimizer, unpackWeights } from '../state.js';
import { ActionScaler, OffPolicyCore, normals, offPolicyFields, uniformActions, type OffPolicyCounters, type OffPolicyDefaults } from './common.js';
import { bellmanTargets, criticLoss, deterministicActorLoss, minQ, normalCdf, normalLogDensity, smoothTargetActions } from './losses.js';
import { DeterministicActor, QCritics } from './networks.js';
import { ActionNoiseSchema, createActionNoise, type ActionNoise, type ActionNoiseState } from './noise.js';

// --- Config ----------------------------------------------------------------------------------

/** Defaults of a deterministic actor-critic variant (DDPG, TD3). */
export interface DeterministicDefaults extends OffPolicyDefaults {
  nCritics: number;
  policyDelay: number;
  targetPolicyNoise: number;
  targetNoiseClip: number;
  actionNoise: z.output<typeof ActionNoiseSchema>;
}

/** The config schema of a deterministic actor-critic with the given defaults. */
export function deterministicConfigSchema(d: DeterministicDefaults) {
  return z
    .object({
      ...offPolicyFields(d),
      /** Critics; the target uses the minimum over them (TD3: 2, clipped double Q). */
      nCritics: z.number().int().min(1).max(10).default(d.nCritics),
      /** Actor and target updates every this many critic updates (TD3: 2). */
      policyDelay: z.number().int().positive().default(d.policyDelay),
      /** σ̃ of the target policy smoothing noise in the [−1, 1] scale (TD3: 0.2; 0 = off). */
      targetPolicyNoise: z.number().nonnegative().default(d.targetPolicyNoise),
      /** Clip c of the smoothing noise (TD3: 0.5). */
      targetNoiseClip: z.number().nonnegative().default(d.targetNoiseClip),
      /** Exploration noise added to μ(s) while training. */
      actionNoise: ActionNoiseSchema.default(d.actionNoise),
    })
    .strict();
}

/**
 * DDPG defaults: SB3 2.x `DDPG` (TD3 with `policy_delay=1`, `n_critics=1`,
 * `target_policy_noise=0`), with the paper's OU noise (Lillicrap et al. 2016, §7).
 */
export const DDPG_DEFAULTS: DeterministicDefaults = {
  learningRate: 1e-3,
  learningStarts: 100,
  batchSize: 256,
  tau: 0.005,
  gamma: 0.99,
  trainFreq: 1,
  gradientSteps: 1,
  hiddenSizes: [400, 300],
  nCritics: 1,
  policyDelay: 1,
  targetPolicyNoise: 0,
  targetNoiseClip: 0,
  actionNoise: { type: 'ornstein-uhlenbeck', std: 0.2, mean: 0, theta: 0.15, dt: 1e-2 },
};

/** DDPG config schema (defaults: {@link DDPG_DEFAULTS}). */
export const DdpgConfigSchema = deterministicConfigSchema(DDPG_DEFAULTS);
/** DDPG / TD3 config as written by a user. */
export type DdpgConfig = z.input<typeof DdpgConfigSchema>;
/** DDPG / TD3 config with defaults applied. */
export type ResolvedDdpgConfig = z.output<typeof DdpgConfigSchema>;

/** Parses a DDPG config; errors name the field (`ddpg.actionNoise.std`). */
export function parseDdpgConfig(config: unknown): ResolvedDdpgConfig {
  return parseWith(DdpgConfigSchema, config ?? {}, 'ddpg');
}

/** Which variant an agent is: its registry name and config schema. */
export interface DeterministicVariant {
  algorithm: string;
  schema: typeof DdpgConfigSchema;
}

const DDPG_VARIANT: DeterministicVariant = { algorithm: 'ddpg', schema: DdpgConfigSchema };

// --- Acting helper ---------------------------------------------------------------------------

/**
 * a = clip(μ + noise, −1, 1) for every env, with log-probabilities of the env actions:
 * Gaussian density per dimension (divided by the half-range for the env's units) or, where
 * the action was clipped to a bound, the probability mass of that bound.
 */
export function addExplorationNoise(mu: ArrayLike<number>, noise: ActionNoise, halfRange: ArrayLike<number>, scaled: Float64Array, logProbs: Float64Array): void {
  const { n, dim: D } = noise;
  const centre = new Float64Array(n * D);
  const std = new Float64Array(n * D);
  const draw = new Float64Array(n * D);
  // The law of the next draw given the noise state, read before the draw moves the state:
  // the raw action is N(μ + mean, std²).
  for (let i = 0; i < n; i++) {
    for (let d = 0; d < D; d++) {
      const c = noise.conditional(i, d);
      centre[i * D + d] = mu[i * D + d] + c.mean;
      std[i * D + d] = c.std;
    }
  }
  noise.sample(draw);
  logProbs.fill(0);
  for (let i = 0; i < n; i++) {
    for (let d = 0; d < D; d++) {
      const k = i * D + d;
      const raw = mu[k] + draw[k];
      if (raw >= 1) {
        scaled[k] = 1;
        logProbs[i] += Math.log(Math.max(1e-300, 1 - normalCdf((1 - centre[k]) / std[k])));
      } else if (raw <= -1) {
        scaled[k] = -1;
        logProbs[i] += Math.log(Math.max(1e-300, normalCdf((-1 - centre[k]) / std[k])));
      } else {
        scaled[k] = raw;
        logProbs[i] += normalLogDensity(raw, centre[k], std[k]) - Math.log(halfRange[d]);
      }
    }
  }
}

// --- Agent -----------------------------------------------------------------------------------

/** DDPG agent (and TD3's, with its options on); see the module comment. */
export class DdpgAgent implements Agent {
  readonly algorithm: string;
  readonly observationSpace: Space;
  readonly actionSpace: Box;
  readonly obsDim: number;
  readonly actDim: number;
  readonly config: ResolvedDdpgConfig;
  readonly actor: DeterministicActor;
  readonly actorTarget: DeterministicActor;
  readonly critics: QCritics;
  readonly criticTargets: QCritics;
  readonly scaler: ActionScaler;
  private readonly actorOptimizer: tf.Optimizer;
  private readonly criticOptimizer: tf.Optimizer;
  private readonly rng: Rng;
  private readonly noiseRng: Rng;
  private noise: ActionNoise | null = null;
  private readonly core: OffPolicyCore;
  private updates = 0;
  private lastCriticLoss = Number.NaN;
  private lastActorLoss = Number.NaN;
  private lastQ = Number.NaN;

  constructor(init: AgentInit, variant: DeterministicVariant = DDPG_VARIANT) {
    this.algorithm = variant.algorithm;
    this.scaler = new ActionScaler(init.actionSpace, variant.algorithm);
    this.config = parseWith(variant.schema, init.config ?? {}, variant.algorithm);
    this.observationSpace = init.observationSpace;
    this.actionSpace = init.actionSpace as Box;
    this.obsDim = flatdim(init.observationSpace);
    this.actDim = this.scaler.dim;
    const c = this.config;
    const rng = new Rng(init.seed);
    const netRng = rng.spawn();
    this.rng = rng.spawn();
    this.noiseRng = rng.spawn();
    this.actor = new DeterministicActor(this.obsDim, this.actDim, c.network, netRng);
    this.actorTarget = new DeterministicActor(this.obsDim, this.actDim, c.network, netRng);
    this.actorTarget.copyFrom(this.actor);
    this.critics = new QCritics(this.obsDim, this.actDim, c.nCritics, c.network, netRng);
    this.criticTargets = new QCritics(this.obsDim, this.actDim, c.nCritics, c.network, netRng);
    this.criticTargets.copyFrom(this.critics);
    const lr = valueAt(c.learningRate, 0);
    // Separate Adam optimisers for actor and critics (SB3; Lillicrap et al. 2016).
    this.actorOptimizer = createOptimizer({ type: 'adam', learningRate: lr, epsilon: c.adamEpsilon });
    this.criticOptimizer = createOptimizer({ type: 'adam', learningRate: lr, epsilon: c.adamEpsilon });
    this.core = new OffPolicyCore(this.algorithm, this.obsDim, this.scaler, c);
  }

  /** Gradient updates of the critics so far. */
  get numUpdates(): number {
    return this.updates;
  }

  private noiseFor(n: number): ActionNoise | null {
    if (this.noise) {
      if (this.noise.n !== n) throw new KairosError(`${this.algorithm}: exploration noise was set up for ${this.noise.n} envs and is now asked for ${n}`, 'invalid_argument');
      return this.noise;
    }
    this.noise = createActionNoise(this.config.actionNoise, n, this.actDim, this.noiseRng);
    return this.noise;
  }

  /** μ(s) in the env's units `[n × actDim]` (deterministic policy, no tensors). */
  predict(obs: Float32Array, n: number): Float32Array {
    this.checkObs(obs, n);
    return this.scaler.toEnv(this.actor.predict(obs, n), new Float32Array(n * this.actDim), n);
  }

  private checkObs(obs: Float32Array, n: number): void {
    if (obs.length !== n * this.obsDim) throw new ValidationError('obs', `${n} × ${this.obsDim} = ${n * this.obsDim} numbers`, obs.length, `${this.algorithm}.act`);
  }

  act(obs: Float32Array, n: number, options: ActOptions = {}): ActResult {
    this.checkObs(obs, n);
    const D = this.actDim;
    const scaled = new Float64Array(n * D);
    const logProbs = new Float64Array(n);
    if (!options.deterministic && this.core.randomPhase) {
      uniformActions(scaled, this.rng);
      // Uniform over the Box: density 1 / Π(high − low).
      logProbs.fill(-D * Math.LN2 - this.scaler.logHalfRangeSum);
    } else {
      const mu = this.actor.predict(obs, n);
      const noise = options.deterministic ? null : this.noiseFor(n);
      if (noise) addExplorationNoise(mu, noise, this.scaler.halfRange, scaled, logProbs);
      else scaled.set(mu); // deterministic: probability 1
    }
    const actions = this.scaler.toEnv(scaled, new Float32Array(n * D), n);
    return { actions, probs: logProbs.map(Math.exp), logProbs };
  }

  observe(batch: StepBatch, ctx: StepContext): Record<string, number> | null {
    const gradientSteps = this.core.record(batch, ctx);
    // Noise processes restart with their env's episode (SB3 `action_noise.reset(i)`).
    if (this.noise) for (let i = 0; i < batch.n; i++) if (batch.terminated[i] || batch.truncated[i]) this.noise.reset(i);
    if (gradientSteps === 0) return null;
    const lr = valueAt(this.config.learningRate, this.core.counters.progress);
    setLearningRate(this.actorOptimizer, lr);
    setLearningRate(this.criticOptimizer, lr);
    let critic = 0;
    let actor = 0;
    let actorSteps = 0;
    let q = 0;
    for (let g = 0; g < gradientSteps; g++) {
      const r = this.update();
      critic += r.criticLoss;
      q += r.q;
      if (!Number.isNaN(r.actorLoss)) {
        actor += r.actorLoss;
        actorSteps++;
      }
    }
    this.lastCriticLoss = critic / gradientSteps;
    this.lastQ = q / gradientSteps;
    const metrics: Record<string, number> = { loss: this.lastCriticLoss, criticLoss: this.lastCriticLoss, q: this.lastQ };
    // Only rounds that moved the actor report its loss (the loop averages what it is given).
    if (actorSteps > 0) metrics.actorLoss = this.lastActorLoss = actor / actorSteps;
    return metrics;
  }

  /**
   * One gradient step of the critics and, every `policyDelay` steps, of the actor and the
   * targets. Returns the critic loss, the actor loss (NaN when the actor did not move) and
   * mean Q_1(s, a). @internal (public for tests and benchmarks)
   */
  update(): { criticLoss: number; actorLoss: number; q: number } {
    const c = this.config;
    const B = c.batchSize;
    const d = this.obsDim;
    const D = this.actDim;
    const b = this.core.sample(B, this.rng);
    const smoothing = c.targetPolicyNoise > 0 ? normals(B * D, this.rng, c.targetPolicyNoise) : null;
    const obs = tf.tensor2d(b.obs, [B, d]);
    const actions = tf.tensor2d(b.actions as Float32Array, [B, D]);
    const targets = tf.tidy(() => {
      const next = tf.tensor2d(b.nextObs, [B, d]);
      let nextActions = this.actorTarget.apply(next);
      if (smoothing) nextActions = smoothTargetActions(nextActions, tf.tensor2d(smoothing, [B, D]), c.targetNoiseClip);
      const nextQ = minQ(this.criticTargets.apply(next, nextActions));
      return bellmanTargets(tf.tensor1d(b.rewards), tf.tensor1d(b.discounts), tf.tensor1d(b.terminated), nextQ);
    });
    let meanQ: tf.Scalar | null = null;
    const criticVars = this.critics.trainableVariables;
    const cr = tf.variableGrads(() => {
      const qs = this.critics.apply(obs, actions);
      meanQ = tf.keep(tf.mean(qs[0]) as tf.Scalar);
      // SB3's TD3/DDPG: Σ_i MSE(Q_i, y), no ½.
      return criticLoss(qs, targets, 1);
    }, criticVars);
    this.criticOptimizer.applyGradients(criticVars.map((v) => ({ name: v.name, tensor: cr.grads[v.name] })));
    tf.dispose(Object.values(cr.grads));
    this.updates++;
    let actorLoss: tf.Scalar | null = null;
    // Delayed policy updates (Fujimoto et al. 2018, §5.2), counted over all updates as SB3.
    if (this.updates % c.policyDelay === 0) {
      const actorVars = this.actor.trainableVariables;
      // −mean Q_1(s, μ(s)): the gradient flows through the critic's input into the actor.
      const ar = tf.variableGrads(() => deterministicActorLoss(this.critics.applyOne(0, obs, this.actor.apply(obs), { frozen: true })), actorVars);
      this.actorOptimizer.applyGradients(actorVars.map((v) => ({ name: v.name, tensor: ar.grads[v.name] })));
      tf.dispose(Object.values(ar.grads));
      actorLoss = ar.value;
      this.criticTargets.polyakUpdate(this.critics, c.tau);
      this.actorTarget.polyakUpdate(this.actor, c.tau);
    }
    // One read-back for the step's numbers.
    const packed = tf.tidy(() => tf.stack([cr.value, meanQ as unknown as tf.Scalar, actorLoss ?? tf.scalar(Number.NaN)]));
    const data = packed.dataSync();
    tf.dispose([packed, cr.value, meanQ as unknown as tf.Tensor, obs, actions, targets]);
    actorLoss?.dispose();
    return { criticLoss: data[0], q: data[1], actorLoss: data[2] };
  }

  stats(): Record<string, number> {
    return {
      loss: this.lastCriticLoss,
      criticLoss: this.lastCriticLoss,
      actorLoss: this.lastActorLoss,
      q: this.lastQ,
      updates: this.updates,
      bufferSize: this.core.buffer?.size ?? 0,
    };
  }

  getPolicyState(): AgentState {
    return new StatePacker(this.algorithm).weights('actor', this.actor.getWeights()).finish({ config: this.config });
  }

  setPolicyState(state: AgentState): void {
    checkAlgorithm(state, this.algorithm);
    const w = unpackWeights(state, 'actor');
    this.actor.setWeights(w);
    this.actorTarget.setWeights(w);
  }

  getState(options: { includeReplay?: boolean } = {}): AgentState {
    const p = new StatePacker(this.algorithm)
      .weights('actor', this.actor.getWeights())
      .weights('actorTarget', this.actorTarget.getWeights())
      .weights('critics', this.critics.getWeights())
      .weights('criticTargets', this.criticTargets.getWeights())
      .optimizer('actorOptim', getOptimizerState(this.actorOptimizer, this.actor.params.named()))
      .optimizer('criticOptim', getOptimizerState(this.criticOptimizer, this.critics.params.named()));
    const replay = options.includeReplay !== false ? this.core.bufferState() : null;
    if (replay) p.buffer('replay', replay);
    return p.finish({
      config: this.config,
      counters: { ...this.core.counters, updates: this.updates, lastCriticLoss: this.lastCriticLoss, lastActorLoss: this.lastActorLoss, lastQ: this.lastQ },
      rng: this.rng.getState(),
      noiseRng: this.noiseRng.getState(),
      noise: this.noise ? { n: this.noise.n, state: this.noise.getState() } : null,
    });
  }

  setState(state: AgentState): void {
    checkAlgorithm(state, this.algorithm);
    const counters = state.json.counters as (OffPolicyCounters & Record<string, number>) | undefined;
    if (!counters) throw new ValidationError('json.counters', 'the agent counters', undefined, `${this.algorithm} state`);
    this.actor.setWeights(unpackWeights(state, 'actor'));
    this.actorTarget.setWeights(unpackWeights(state, 'actorTarget'));
    this.critics.setWeights(unpackWeights(state, 'critics'));
    this.criticTargets.setWeights(unpackWeights(state, 'criticTargets'));
    setOptimizerState(this.actorOptimizer, this.actor.params.named(), unpackOptimizer(state, 'actorOptim'));
    setOptimizerState(this.criticOptimizer, this.critics.params.named(), unpackOptimizer(state, 'criticOptim'));
    this.core.restore(counters, unpackBuffer(state, 'replay'));
    this.updates = counters.updates;
    // JSON turns NaN into null.
    this.lastCriticLoss = counters.lastCriticLoss ?? Number.NaN;
    this.lastActorLoss = counters.lastActorLoss ?? Number.NaN;
    this.lastQ = counters.lastQ ?? Number.NaN;
    this.rng.setState(state.json.rng as ReturnType<Rng['getState']>);
    this.noiseRng.setState(state.json.noiseRng as ReturnType<Rng['getState']>);
    const noise = state.json.noise as { n: number; state: ActionNoiseState } | null | undefined;
    this.noise = null;
    if (noise) this.noiseFor(noise.n)?.setState(noise.state);
  }

  dispose(): void {
    this.actor.dispose();
    this.actorTarget.dispose();
    this.critics.dispose();
    this.criticTargets.dispose();
    this.actorOptimizer.dispose();
    this.criticOptimizer.dispose();
  }
}
