/**
 * Soft Actor-Critic for continuous actions, read top to bottom: the config, then the agent.
 *
 * - Haarnoja et al. 2018a ("Soft Actor-Critic: Off-Policy Maximum Entropy Deep RL with a
 *   Stochastic Actor") and 2018b ("Soft Actor-Critic Algorithms and Applications"): the
 *   version with twin Q-functions, no separate V network, and an automatically tuned
 *   temperature α (2018b, §5: minimise J(α) = E[−α log π(a|s) − α H̄], H̄ = −dim(A)).
 * - Squashed Gaussian actor a = tanh(u), u ~ N(m(s), σ(s)²), with the change-of-variables
 *   correction log π(a|s) = log N(u) − Σ log(1 − tanh² u) (2018b, Appendix C); the losses are
 *   pure functions in `losses.ts`.
 * - Defaults are Stable-Baselines3 2.x's `SAC` (learning rate 3e-4 for actor, critics and α;
 *   batch 256; τ 0.005; train every step; [256, 256] ReLU networks; `ent_coef: 'auto'` from
 *   α = 1; target entropy −dim(A); critic loss ½ Σ_i MSE), so the RL Zoo presets carry over.
 *   Order inside an update as SB3: critic step with the current α, then the actor step against
 *   the updated critics, then α's step with the actor's log-probabilities, then the targets.
 * - All sampling noise is drawn from the agent's seeded generator, so a resumed run matches an
 *   uninterrupted one.
 * - `act` returns the density of the env action (the squashed Gaussian density divided by the
 *   Box's half-ranges); deterministic actions tanh(m(s)) have probability 1.
 *
 * @example
 * const agent = new SacAgent({ observationSpace, actionSpace, config: { learningRate: 1e-3 }, seed: 0 });
 * const { actions, logProbs } = agent.act(obs, 1);
 */
import { z } from 'zod';
import { KairosError, ValidationError, parseWith } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { valueAt } from '../../core/schedules.js';
import { Box, flatdim, type Space } from '../../core/spaces.js';
import { tf } from '../../tensor/backend.js';
import { ParamModule, ParameterSet } from '../../tensor/layers/params.js';
import { createOptimizer, getOptimizerState, setLearningRate, setOptimizerState } from '../../tensor/optim.js';
import type { ActOptions, ActResult, Agent, AgentInit, AgentState, StepBatch, StepContext } from '../agent.js';
import { StatePacker, checkAlgorithm, unpackBuffer, unpackOptimizer, unpackWeights } from '../state.js';
import { ActionScaler, OffPolicyCore, normals, offPolicyFields, uniformActions, type OffPolicyCounters } from './common.js';
import { bellmanTargets, criticLoss, logOneMinusTanhSq, minQ, normalLogDensity, sacActorLoss, sacTemperatureLoss, softNextValues, squashedGaussianSample } from './losses.js';
import { QCritics, SquashedGaussianActor } from './networks.js';

// --- Config ----------------------------------------------------------------------------------

/** SAC config; every field optional, defaults are SB3's. */
export const SacConfigSchema = z
  .object({
    ...offPolicyFields({ learningRate: 3e-4, learningStarts: 100, batchSize: 256, tau: 0.005, gamma: 0.99, trainFreq: 1, gradientSteps: 1, hiddenSizes: [256, 256] }),
    /** Entropy temperature α: `auto` (learned, Haarnoja et al. 2018b §5) or a fixed number. */
    entCoef: z.union([z.literal('auto'), z.number().positive()]).default('auto'),
    /** Initial α when learned (SB3 `ent_coef='auto'` starts at 1; `'auto_0.1'` at 0.1). */
    entCoefInit: z.number().positive().default(1),
    /** Target entropy H̄: `auto` = −dim(A) (the paper's heuristic), or a number. */
    targetEntropy: z.union([z.literal('auto'), z.number()]).default('auto'),
    /** Critics (2: the minimum is used in the target and the actor loss). */
    nCritics: z.number().int().min(1).max(10).default(2),
    /** Polyak-update the target critics every this many gradient steps (SB3: 1). */
    targetUpdateInterval: z.number().int().positive().default(1),
  })
  .strict();

/** SAC config as written by a user. */
export type SacConfig = z.input<typeof SacConfigSchema>;
/** SAC config with defaults applied. */
export type ResolvedSacConfig = z.output<typeof SacConfigSchema>;

/** Parses a SAC config; errors name the field (`sac.entCoef`). */
export function parseSacConfig(config: unknown): ResolvedSacConfig {
  return parseWith(SacConfigSchema, config ?? {}, 'sac');
}

/** The learned temperature: one variable, log α (so α = exp(log α) > 0). */
class Temperature extends ParamModule {
  readonly params = new ParameterSet('SacTemperature');
  readonly logAlpha: tf.Variable;

  constructor(initial: number) {
    super();
    this.logAlpha = this.params.add('logAlpha', { shape: [1], data: Float32Array.of(Math.log(initial)) });
  }
}

// --- Agent -----------------------------------------------------------------------------------

/** SAC agent; see the module comment. */
export class SacAgent implements Agent {
  readonly algorithm = 'sac';
  readonly observationSpace: Space;
  readonly actionSpace: Box;
  readonly obsDim: number;
  readonly actDim: number;
  readonly config: ResolvedSacConfig;
  readonly actor: SquashedGaussianActor;
  readonly critics: QCritics;
  readonly criticTargets: QCritics;
  readonly scaler: ActionScaler;
  /** H̄ in use. */
  readonly targetEntropy: number;
  private readonly temperature: Temperature | null;
  private readonly actorOptimizer: tf.Optimizer;
  private readonly criticOptimizer: tf.Optimizer;
  private readonly alphaOptimizer: tf.Optimizer | null;
  private readonly rng: Rng;
  private readonly core: OffPolicyCore;
  private updates = 0;
  private lastCriticLoss = Number.NaN;
  private lastActorLoss = Number.NaN;
  private lastAlphaLoss = Number.NaN;
  private lastQ = Number.NaN;
  private alpha: number;

  constructor(init: AgentInit) {
    this.scaler = new ActionScaler(init.actionSpace, 'sac');
    this.config = parseSacConfig(init.config);
    this.observationSpace = init.observationSpace;
    this.actionSpace = init.actionSpace as Box;
    this.obsDim = flatdim(init.observationSpace);
    this.actDim = this.scaler.dim;
    const c = this.config;
    this.targetEntropy = c.targetEntropy === 'auto' ? -this.actDim : c.targetEntropy;
    const rng = new Rng(init.seed);
    const netRng = rng.spawn();
    this.rng = rng.spawn();
    this.actor = new SquashedGaussianActor(this.obsDim, this.actDim, c.network, netRng);
    this.critics = new QCritics(this.obsDim, this.actDim, c.nCritics, c.network, netRng);
    this.criticTargets = new QCritics(this.obsDim, this.actDim, c.nCritics, c.network, netRng);
    this.criticTargets.copyFrom(this.critics);
    const lr = valueAt(c.learningRate, 0);
    const adam = () => createOptimizer({ type: 'adam', learningRate: lr, epsilon: c.adamEpsilon });
    this.actorOptimizer = adam();
    this.criticOptimizer = adam();
    if (c.entCoef === 'auto') {
      this.temperature = new Temperature(c.entCoefInit);
      this.alphaOptimizer = adam();
      this.alpha = Math.fround(c.entCoefInit);
    } else {
      this.temperature = null;
      this.alphaOptimizer = null;
      this.alpha = c.entCoef;
    }
    this.core = new OffPolicyCore('sac', this.obsDim, this.scaler, c);
  }

  /** Current temperature α. */
  get entCoef(): number {
    return this.alpha;
  }

  /** Gradient updates so far. */
  get numUpdates(): number {
    return this.updates;
  }

  private checkObs(obs: Float32Array, n: number): void {
    if (obs.length !== n * this.obsDim) throw new ValidationError('obs', `${n} × ${this.obsDim} = ${n * this.obsDim} numbers`, obs.length, 'sac.act');
  }

  act(obs: Float32Array, n: number, options: ActOptions = {}): ActResult {
    this.checkObs(obs, n);
    const D = this.actDim;
    const scaled = new Float64Array(n * D);
    const logProbs = new Float64Array(n);
    if (!options.deterministic && this.core.randomPhase) {
      uniformActions(scaled, this.rng);
      logProbs.fill(-D * Math.LN2 - this.scaler.logHalfRangeSum);
    } else {
      const out = this.actor.predict(obs, n);
      for (let i = 0; i < n; i++) {
        let lp = 0;
        for (let d = 0; d < D; d++) {
          const m = out[i * 2 * D + d];
          if (options.deterministic) {
            scaled[i * D + d] = Math.tanh(m);
            continue;
          }
          const std = Math.exp(out[i * 2 * D + D + d]);
          const u = m + std * this.rng.normal();
          scaled[i * D + d] = Math.tanh(u);
          lp += normalLogDensity(u, m, std) - logOneMinusTanhSq(u);
        }
        // Density of the env action: divide by the Jacobian of the rescaling.
        logProbs[i] = options.deterministic ? 0 : lp - this.scaler.logHalfRangeSum;
      }
    }
    const actions = this.scaler.toEnv(scaled, new Float32Array(n * D), n);
    return { actions, probs: logProbs.map(Math.exp), logProbs };
  }

  observe(batch: StepBatch, ctx: StepContext): Record<string, number> | null {
    const gradientSteps = this.core.record(batch, ctx);
    if (gradientSteps === 0) return null;
    const lr = valueAt(this.config.learningRate, this.core.counters.progress);
    for (const o of [this.actorOptimizer, this.criticOptimizer, this.alphaOptimizer]) if (o) setLearningRate(o, lr);
    const sums = { critic: 0, actor: 0, alpha: 0, q: 0 };
    for (let g = 0; g < gradientSteps; g++) {
      const r = this.update();
      sums.critic += r.criticLoss;
      sums.actor += r.actorLoss;
      sums.alpha += r.alphaLoss;
      sums.q += r.q;
    }
    this.lastCriticLoss = sums.critic / gradientSteps;
    this.lastActorLoss = sums.actor / gradientSteps;
    this.lastAlphaLoss = this.temperature ? sums.alpha / gradientSteps : Number.NaN;
    this.lastQ = sums.q / gradientSteps;
    const metrics: Record<string, number> = { loss: this.lastCriticLoss, criticLoss: this.lastCriticLoss, actorLoss: this.lastActorLoss, q: this.lastQ, entCoef: this.alpha };
    if (this.temperature) metrics.entCoefLoss = this.lastAlphaLoss;
    return metrics;
  }

  /**
   * One gradient step of critics, actor, temperature and (every `targetUpdateInterval` steps)
   * the target critics. @internal (public for tests and benchmarks)
   */
  update(): { criticLoss: number; actorLoss: number; alphaLoss: number; q: number } {
    const c = this.config;
    const B = c.batchSize;
    const d = this.obsDim;
    const D = this.actDim;
    const b = this.core.sample(B, this.rng);
    const eps = normals(B * D, this.rng);
    const nextEps = normals(B * D, this.rng);
    const obs = tf.tensor2d(b.obs, [B, d]);
    const actions = tf.tensor2d(b.actions as Float32Array, [B, D]);
    // α for this step, as a tensor (no read-back): exp(log α) before α's own update (SB3).
    const alpha = tf.tidy(() => (this.temperature ? tf.reshape(tf.exp(this.temperature.logAlpha), []) : tf.scalar(this.alpha)) as tf.Scalar);
    const targets = tf.tidy(() => {
      const next = tf.tensor2d(b.nextObs, [B, d]);
      const dist = this.actor.distribution(next);
      const { actions: nextActions, logProb: nextLogProb } = squashedGaussianSample(dist.mean, dist.logStd, tf.tensor2d(nextEps, [B, D]));
      const nextV = softNextValues(minQ(this.criticTargets.apply(next, nextActions)), alpha, nextLogProb);
      return bellmanTargets(tf.tensor1d(b.rewards), tf.tensor1d(b.discounts), tf.tensor1d(b.terminated), nextV);
    });
    // Critics: ½ Σ_i MSE(Q_i(s, a), y) (SB3).
    let meanQ: tf.Scalar | null = null;
    const criticVars = this.critics.trainableVariables;
    const cr = tf.variableGrads(() => {
      const qs = this.critics.apply(obs, actions);
      meanQ = tf.keep(tf.mean(qs[0]) as tf.Scalar);
      return criticLoss(qs, targets, 0.5);
    }, criticVars);
    this.criticOptimizer.applyGradients(criticVars.map((v) => ({ name: v.name, tensor: cr.grads[v.name] })));
    tf.dispose(Object.values(cr.grads));
    // Actor: mean(α log π(a|s) − min_i Q_i(s, a)), a reparameterised, against the updated critics.
    let logProb: tf.Tensor1D | null = null;
    const actorVars = this.actor.trainableVariables;
    const epsT = tf.tensor2d(eps, [B, D]);
    const ar = tf.variableGrads(() => {
      const dist = this.actor.distribution(obs);
      const sample = squashedGaussianSample(dist.mean, dist.logStd, epsT);
      logProb = tf.keep(sample.logProb);
      return sacActorLoss(alpha, sample.logProb, minQ(this.critics.apply(obs, sample.actions, { frozen: true })));
    }, actorVars);
    this.actorOptimizer.applyGradients(actorVars.map((v) => ({ name: v.name, tensor: ar.grads[v.name] })));
    tf.dispose(Object.values(ar.grads));
    // Temperature: −mean(log α (log π + H̄)), log π held fixed (computed on the tape above).
    let alphaLoss: tf.Scalar | null = null;
    if (this.temperature && this.alphaOptimizer) {
      const logAlpha = this.temperature.logAlpha;
      const lp = logProb as unknown as tf.Tensor1D;
      const tr = tf.variableGrads(() => sacTemperatureLoss(logAlpha, lp, this.targetEntropy), [logAlpha]);
      this.alphaOptimizer.applyGradients([{ name: logAlpha.name, tensor: tr.grads[logAlpha.name] }]);
      tf.dispose(Object.values(tr.grads));
      alphaLoss = tr.value;
    }
    this.updates++;
    if (this.updates % c.targetUpdateInterval === 0) this.criticTargets.polyakUpdate(this.critics, c.tau);
    // One read-back: losses, mean Q, the new α.
    const packed = tf.tidy(() =>
      tf.stack([
        cr.value,
        ar.value,
        alphaLoss ?? tf.scalar(Number.NaN),
        meanQ as unknown as tf.Scalar,
        this.temperature ? tf.reshape(tf.exp(this.temperature.logAlpha), []) : tf.scalar(this.alpha),
      ]),
    );
    const data = packed.dataSync();
    tf.dispose([packed, cr.value, ar.value, meanQ as unknown as tf.Tensor, logProb as unknown as tf.Tensor, obs, actions, epsT, alpha, targets]);
    alphaLoss?.dispose();
    if (this.temperature) this.alpha = data[4];
    return { criticLoss: data[0], actorLoss: data[1], alphaLoss: data[2], q: data[3] };
  }

  stats(): Record<string, number> {
    return {
      loss: this.lastCriticLoss,
      criticLoss: this.lastCriticLoss,
      actorLoss: this.lastActorLoss,
      entCoef: this.alpha,
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
    this.actor.setWeights(unpackWeights(state, 'actor'));
  }

  getState(options: { includeReplay?: boolean } = {}): AgentState {
    const p = new StatePacker(this.algorithm)
      .weights('actor', this.actor.getWeights())
      .weights('critics', this.critics.getWeights())
      .weights('criticTargets', this.criticTargets.getWeights())
      .optimizer('actorOptim', getOptimizerState(this.actorOptimizer, this.actor.params.named()))
      .optimizer('criticOptim', getOptimizerState(this.criticOptimizer, this.critics.params.named()));
    if (this.temperature && this.alphaOptimizer) {
      p.weights('temperature', this.temperature.getWeights()).optimizer('alphaOptim', getOptimizerState(this.alphaOptimizer, this.temperature.params.named()));
    }
    const replay = options.includeReplay !== false ? this.core.bufferState() : null;
    if (replay) p.buffer('replay', replay);
    return p.finish({
      config: this.config,
      counters: {
        ...this.core.counters,
        updates: this.updates,
        lastCriticLoss: this.lastCriticLoss,
        lastActorLoss: this.lastActorLoss,
        lastAlphaLoss: this.lastAlphaLoss,
        lastQ: this.lastQ,
        alpha: this.alpha,
      },
      rng: this.rng.getState(),
    });
  }

  setState(state: AgentState): void {
    checkAlgorithm(state, this.algorithm);
    const counters = state.json.counters as (OffPolicyCounters & Record<string, number>) | undefined;
    if (!counters) throw new ValidationError('json.counters', 'the agent counters', undefined, 'sac state');
    this.actor.setWeights(unpackWeights(state, 'actor'));
    this.critics.setWeights(unpackWeights(state, 'critics'));
    this.criticTargets.setWeights(unpackWeights(state, 'criticTargets'));
    setOptimizerState(this.actorOptimizer, this.actor.params.named(), unpackOptimizer(state, 'actorOptim'));
    setOptimizerState(this.criticOptimizer, this.critics.params.named(), unpackOptimizer(state, 'criticOptim'));
    if (this.temperature && this.alphaOptimizer) {
      this.temperature.setWeights(unpackWeights(state, 'temperature'));
      setOptimizerState(this.alphaOptimizer, this.temperature.params.named(), unpackOptimizer(state, 'alphaOptim'));
    } else if (state.json['alphaOptim:meta']) {
      throw new KairosError('sac state: saved with a learned temperature, but this agent has a fixed entCoef', 'invalid_state');
    }
    this.core.restore(counters, unpackBuffer(state, 'replay'));
    this.updates = counters.updates;
    this.lastCriticLoss = counters.lastCriticLoss ?? Number.NaN;
    this.lastActorLoss = counters.lastActorLoss ?? Number.NaN;
    this.lastAlphaLoss = counters.lastAlphaLoss ?? Number.NaN;
    this.lastQ = counters.lastQ ?? Number.NaN;
    this.alpha = counters.alpha;
    this.rng.setState(state.json.rng as ReturnType<Rng['getState']>);
  }

  dispose(): void {
    this.actor.dispose();
    this.critics.dispose();
    this.criticTargets.dispose();
    this.temperature?.dispose();
    this.actorOptimizer.dispose();
    this.criticOptimizer.dispose();
    this.alphaOptimizer?.dispose();
  }
}
