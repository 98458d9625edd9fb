/**
 * Slate (ranking) policies: an ordered list of k items out of n candidates, trained with
 * REINFORCE on- and off-policy from logged slates with propensities.
 *
 * The policy is a pointer network (Vinyals, Fortunato & Jaitly 2015, "Pointer networks",
 * eq. 3) over candidate features, decoding positions one by one as Seq2Slate does (Bello et
 * al. 2018, "Seq2Slate: re-ranking and slate optimization with RNNs"; ReAgent's seq2slate):
 * - encoder: e_i = MLP([context; x_i]) for every candidate i;
 * - decoder state at position j: q_j = tanh(W_q [mean of the embeddings chosen so far; p_j] + b),
 *   with p_j a learned position embedding;
 * - pointer scores u_ij = vᵀ tanh(W_e e_i + W_d q_j + b_d), chosen (and invalid) candidates
 *   masked, π(i | prefix) = softmax_i(u_·j).
 * The slate's log-probability is Σ_j log π(a_j | a_<j) (a sequence, sampled without
 * replacement), and the per-position terms are what the per-decision weights use.
 *
 * Training ({@link SlateTrainer}) treats a slate as an episode of k steps (one per position)
 * and reuses REINFORCE's pieces: rewards per position (clicks) or per slate (placed at the
 * last position), returns-to-go with γ (default 1), a per-position mean baseline, and the
 * importance weights of `importance.ts` against the logged per-position propensities
 * (Plackett-Luce probabilities) or, with `trajectory` weights, a whole-slate propensity.
 * Per-decision weights assume a cascade: the reward at position j depends on positions ≤ j.
 *
 * @example
 * const policy = new SlatePolicy({ numCandidates: 6, candidateDim: 4, slateSize: 3, seed: 0 });
 * const trainer = new SlateTrainer(policy, { importance: { clamp: 'universal', clampMax: 20 } }, 0);
 * trainer.fitLogged(logged, { epochs: 20, batchSize: 256 });
 * const { slates } = policy.sample(queries, rng, true); // greedy rankings
 */
import { z } from 'zod';
import { KairosError, ValidationError, parseWith } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { tf } from '../../tensor/backend.js';
import { ACTIVATIONS, Dense } from '../../tensor/layers/dense.js';
import { Mlp } from '../../tensor/layers/mlp.js';
import { ParamModule, ParameterSet } from '../../tensor/layers/params.js';
import { clipGradsByGlobalNorm, createOptimizer } from '../../tensor/optim.js';
import { discountedReturns, whiten } from './advantages.js';
import { MASKED_LOGIT } from './distributions.js';
import { ImportanceConfigSchema, importanceWeights, importanceWeightsTensor, offPolicySignals, type WeightDiagnostics } from './importance.js';
import { reinforceLossDetached, reinforceLossRatio } from './losses.js';

// --- Policy ----------------------------------------------------------------------------------

/** Slate policy architecture. */
export const SlatePolicyConfigSchema = z
  .object({
    /** Candidates per query, n. */
    numCandidates: z.number().int().min(2),
    /** Features per candidate. */
    candidateDim: z.number().int().positive(),
    /** Features of the query/user context (0 = none). */
    contextDim: z.number().int().nonnegative().default(0),
    /** Items per slate, k ≤ n. */
    slateSize: z.number().int().positive(),
    /** Embedding / attention width. */
    embedSize: z.number().int().positive().default(32),
    /** Encoder MLP hidden layers. */
    encoderHidden: z.array(z.number().int().positive()).default([64]),
    activation: z.enum(ACTIVATIONS).default('relu'),
    seed: z.number().int().nonnegative().default(0),
  })
  .strict()
  .refine((c) => c.slateSize <= c.numCandidates, { message: 'slateSize must be at most numCandidates', path: ['slateSize'] });

export type SlatePolicyConfig = z.input<typeof SlatePolicyConfigSchema>;
export type ResolvedSlatePolicyConfig = z.output<typeof SlatePolicyConfigSchema>;

/** Queries to rank: B rows of n candidates. */
export interface SlateQueries {
  readonly size: number;
  /** `[B × n × candidateDim]` */
  readonly candidates: Float32Array;
  /** `[B × contextDim]` (omit when contextDim is 0). */
  readonly context?: Float32Array;
  /** `[B × n]` 1 = the candidate may be shown (omit: all). Needs ≥ k valid per row. */
  readonly candidateMask?: Uint8Array;
}

/** Pointer-network slate policy; see the module comment. */
export class SlatePolicy extends ParamModule {
  readonly params = new ParameterSet('SlatePolicy');
  readonly config: ResolvedSlatePolicyConfig;
  private readonly encoder: Mlp;
  private readonly query: Dense;
  private readonly wEnc: Dense;
  private readonly wDec: Dense;
  private readonly v: tf.Variable;
  private readonly positions: tf.Variable;

  constructor(config: SlatePolicyConfig) {
    super();
    const c = (this.config = parseWith(SlatePolicyConfigSchema, config, 'SlatePolicy'));
    const rng = new Rng(c.seed);
    const h = c.embedSize;
    try {
      this.encoder = new Mlp({ inputSize: c.contextDim + c.candidateDim, hiddenSizes: c.encoderHidden, outputSize: h, activation: c.activation, outputActivation: c.activation, rng });
      this.query = new Dense({ inputSize: 2 * h, outputSize: h, activation: 'tanh', rng });
      this.wEnc = new Dense({ inputSize: h, outputSize: h, useBias: false, rng });
      this.wDec = new Dense({ inputSize: h, outputSize: h, rng });
      this.params.addChild('encoder', this.encoder.params);
      this.params.addChild('query', this.query.params);
      this.params.addChild('wEnc', this.wEnc.params);
      this.params.addChild('wDec', this.wDec.params);
      const vInit = Float32Array.from({ length: h }, () => rng.uniform(-1, 1) / Math.sqrt(h));
      this.v = this.params.add('v', { shape: [h], data: vInit });
      const pInit = Float32Array.from({ length: c.slateSize * h }, () => rng.normal(0, 0.1));
      this.positions = this.params.add('positions', { shape: [c.slateSize, h], data: pInit });
    } catch (err) {
      this.params.dispose();
      throw err;
    }
  }

  private checkQueries(q: SlateQueries, where: string): void {
    const c = this.config;
    const B = q.size;
    if (q.candidates.length !== B * c.numCandidates * c.candidateDim) {
      throw new ValidationError('candidates', `${B} × ${c.numCandidates} × ${c.candidateDim} numbers`, q.candidates.length, `SlatePolicy.${where}`);
    }
    if (c.contextDim > 0 && (!q.context || q.context.length !== B * c.contextDim)) {
      throw new ValidationError('context', `${B} × ${c.contextDim} numbers`, q.context?.length, `SlatePolicy.${where}`);
    }
    if (q.candidateMask && q.candidateMask.length !== B * c.numCandidates) {
      throw new ValidationError('candidateMask', `${B * c.numCandidates} entries`, q.candidateMask.length, `SlatePolicy.${where}`);
    }
  }

  /** Candidate embeddings `[B, n, h]` and their projection W_e e `[B, n, h]`. */
  private encode(q: SlateQueries): { e: tf.Tensor3D; eW: tf.Tensor3D } {
    const c = this.config;
    const B = q.size;
    const n = c.numCandidates;
    return tf.tidy(() => {
      let x: tf.Tensor2D = tf.tensor2d(q.candidates, [B * n, c.candidateDim]);
      if (c.contextDim > 0) {
        const ctx = tf.reshape(tf.tile(tf.tensor2d(q.context as Float32Array, [B, c.contextDim]), [1, n]), [B * n, c.contextDim]) as tf.Tensor2D;
        x = tf.concat([ctx, x], 1) as tf.Tensor2D;
      }
      const e2 = this.encoder.apply(x);
      const eW2 = this.wEnc.apply(e2);
      const h = c.embedSize;
      return { e: tf.reshape(e2, [B, n, h]) as tf.Tensor3D, eW: tf.reshape(eW2, [B, n, h]) as tf.Tensor3D };
    });
  }

  /** Masked pointer log-probabilities `[B, n]` at position j given the chosen-so-far state. */
  private stepLogProbs(e: tf.Tensor3D, eW: tf.Tensor3D, chosenSum: tf.Tensor2D, blocked: tf.Tensor2D, j: number): tf.Tensor2D {
    return tf.tidy(() => {
      const B = e.shape[0];
      const mean = j > 0 ? tf.div(chosenSum, j) : chosenSum;
      const pos = tf.tile(tf.reshape(tf.slice(this.positions, [j, 0], [1, this.config.embedSize]), [1, this.config.embedSize]), [B, 1]);
      const q = this.query.apply(tf.concat([mean, pos], 1) as tf.Tensor2D);
      const dq = tf.expandDims(this.wDec.apply(q), 1);
      const u = tf.sum(tf.mul(tf.tanh(tf.add(eW, dq)), this.v), 2) as tf.Tensor2D;
      const masked = tf.where(tf.greater(blocked, 0), tf.fill(u.shape, MASKED_LOGIT), u);
      return tf.logSoftmax(masked) as tf.Tensor2D;
    });
  }

  /** Initial "blocked" mask `[B, n]`: 1 for invalid candidates. */
  private initialBlocked(q: SlateQueries): tf.Tensor2D {
    const n = this.config.numCandidates;
    if (!q.candidateMask) return tf.zeros([q.size, n]);
    return tf.tensor2d(Float32Array.from(q.candidateMask, (m) => (m ? 0 : 1)), [q.size, n]);
  }

  /**
   * Per-position log π(a_j | a_<j, candidates) `[B, k]` of the given slates (int32 `[B × k]`),
   * differentiable; the caller owns the result. The slate's log-probability is the row sum.
   */
  logProbs(q: SlateQueries, slates: Int32Array): tf.Tensor2D {
    this.checkQueries(q, 'logProbs');
    const { slateSize: k, numCandidates: n } = this.config;
    const B = q.size;
    if (slates.length !== B * k) throw new ValidationError('slates', `${B} × ${k} integers`, slates.length, 'SlatePolicy.logProbs');
    return tf.tidy(() => {
      const { e, eW } = this.encode(q);
      const s = tf.tensor2d(slates, [B, k], 'int32');
      let chosenSum: tf.Tensor2D = tf.zeros([B, this.config.embedSize]);
      let blocked = this.initialBlocked(q);
      const out: tf.Tensor1D[] = [];
      for (let j = 0; j < k; j++) {
        const logp = this.stepLogProbs(e, eW, chosenSum, blocked, j);
        const oh = tf.cast(tf.oneHot(tf.reshape(tf.slice(s, [0, j], [B, 1]), [B]) as tf.Tensor1D, n), 'float32') as tf.Tensor2D;
        out.push(tf.sum(tf.mul(logp, oh), 1) as tf.Tensor1D);
        chosenSum = tf.add(chosenSum, tf.sum(tf.mul(tf.expandDims(oh, 2), e), 1)) as tf.Tensor2D;
        blocked = tf.add(blocked, oh) as tf.Tensor2D;
      }
      return tf.stack(out, 1) as tf.Tensor2D;
    });
  }

  /**
   * Samples slates (or, when `deterministic`, decodes greedily) for B queries. Returns the
   * slates `[B × k]` and per-position log-probabilities `[B × k]` (float64).
   */
  sample(q: SlateQueries, rng: Rng, deterministic = false): { slates: Int32Array; logProbs: Float64Array } {
    this.checkQueries(q, 'sample');
    const { slateSize: k, numCandidates: n, embedSize: h } = this.config;
    const B = q.size;
    const slates = new Int32Array(B * k);
    const logProbs = new Float64Array(B * k);
    const { e, eW } = this.encode(q);
    let chosenSum: tf.Tensor2D = tf.zeros([B, h]);
    let blocked = this.initialBlocked(q);
    const row = new Float64Array(n);
    try {
      for (let j = 0; j < k; j++) {
        const lp = this.stepLogProbs(e, eW, chosenSum, blocked, j);
        const data = lp.dataSync();
        lp.dispose();
        const picks = new Int32Array(B);
        for (let b = 0; b < B; b++) {
          let a = 0;
          if (deterministic) {
            for (let i = 1; i < n; i++) if (data[b * n + i] > data[b * n + a]) a = i;
          } else {
            for (let i = 0; i < n; i++) row[i] = Math.exp(data[b * n + i]);
            a = rng.categorical(row);
          }
          picks[b] = a;
          slates[b * k + j] = a;
          logProbs[b * k + j] = data[b * n + a];
        }
        const next = tf.tidy(() => {
          const oh = tf.cast(tf.oneHot(tf.tensor1d(picks, 'int32'), n), 'float32') as tf.Tensor2D;
          return { sum: tf.add(chosenSum, tf.sum(tf.mul(tf.expandDims(oh, 2), e), 1)) as tf.Tensor2D, blocked: tf.add(blocked, oh) as tf.Tensor2D };
        });
        tf.dispose([chosenSum, blocked]);
        chosenSum = next.sum;
        blocked = next.blocked;
      }
    } finally {
      tf.dispose([e, eW, chosenSum, blocked]);
    }
    return { slates, logProbs };
  }
}

// --- Training --------------------------------------------------------------------------------

/** Slate trainer config. */
export const SlateTrainerConfigSchema = z
  .object({
    /** Adam learning rate. */
    learningRate: z.number().positive().default(1e-3),
    adamEpsilon: z.number().positive().default(1e-8),
    /** Discount over positions (1: every click counts the same). */
    gamma: z.number().min(0).max(1).default(1),
    /** Subtract the batch mean return-to-go per position. */
    baseline: z.enum(['none', 'mean']).default('mean'),
    /** Whiten returns-to-go per batch. */
    normalizeReturns: z.boolean().default(false),
    /** Mini-batches whose gradients are summed into one optimiser step. */
    gradientAccumulation: z.number().int().positive().default(1),
    maxGradNorm: z.number().positive().nullable().default(null),
    /**
     * Importance weights; default per-decision weights (needs per-position propensities) with
     * the ratio-gradient estimator, whose gradient is that of the per-decision IS value.
     */
    importance: ImportanceConfigSchema.extend({
      weighting: ImportanceConfigSchema.shape.weighting.unwrap().default('per-decision'),
      estimator: ImportanceConfigSchema.shape.estimator.unwrap().default('ratio'),
    }).prefault({}),
  })
  .strict();

export type SlateTrainerConfig = z.input<typeof SlateTrainerConfigSchema>;
export type ResolvedSlateTrainerConfig = z.output<typeof SlateTrainerConfigSchema>;

/** Logged slates with behaviour propensities and rewards. */
export interface LoggedSlates extends SlateQueries {
  /** `[B × k]` shown items. */
  readonly slates: Int32Array;
  /** `[B × k]` per-position β(a_j | a_<j) (Plackett-Luce steps), or `[B]` whole-slate β (trajectory weights only). */
  readonly propensities: Float64Array;
  /** `[B × k]` per-position rewards (clicks), or `[B]` one reward per slate. */
  readonly rewards: Float64Array;
}

/** Rows `ids` of a logged batch (or of queries), copied. */
export function selectSlates<T extends SlateQueries>(data: T, ids: ArrayLike<number>, n: number, f: number, cDim: number, k: number): T {
  const B = ids.length;
  const pick = <A extends Float32Array | Float64Array | Int32Array | Uint8Array>(src: A | undefined, width: number): A | undefined => {
    if (!src) return undefined;
    const out = new (src.constructor as new (len: number) => A)(B * width);
    for (let b = 0; b < B; b++) out.set(src.subarray(ids[b] * width, (ids[b] + 1) * width) as never, b * width);
    return out;
  };
  const d = data as unknown as Partial<LoggedSlates>;
  const perSlate = (x: Float64Array | undefined) => (x && x.length === data.size ? pick(x, 1) : pick(x, k));
  return {
    ...data,
    size: B,
    candidates: pick(data.candidates, n * f),
    ...(data.context ? { context: pick(data.context, cDim) } : {}),
    ...(data.candidateMask ? { candidateMask: pick(data.candidateMask, n) } : {}),
    ...(d.slates ? { slates: pick(d.slates, k) } : {}),
    ...(d.propensities ? { propensities: perSlate(d.propensities) } : {}),
    ...(d.rewards ? { rewards: perSlate(d.rewards) } : {}),
  } as T;
}

/** REINFORCE for slate policies, on- and off-policy; see the module comment. */
export class SlateTrainer {
  readonly config: ResolvedSlateTrainerConfig;
  private readonly optimizer: tf.Optimizer;
  private readonly vars: tf.Variable[];
  readonly rng: Rng;
  updates = 0;

  constructor(readonly policy: SlatePolicy, config: SlateTrainerConfig = {}, seed = 0) {
    this.config = parseWith(SlateTrainerConfigSchema, config, 'SlateTrainer');
    this.optimizer = createOptimizer({ type: 'adam', learningRate: this.config.learningRate, epsilon: this.config.adamEpsilon });
    this.vars = policy.trainableVariables;
    this.rng = new Rng(seed);
  }

  /** One update on logged slates; returns the loss and weight diagnostics. */
  update(batch: LoggedSlates): Record<string, number> & WeightDiagnostics {
    const c = this.config;
    const { slateSize: k } = this.policy.config;
    const B = batch.size;
    const N = B * k;
    const imp = c.importance;
    // Per-position rewards and behaviour log-probabilities (episode b = steps b·k .. b·k+k−1).
    const rewards = new Float64Array(N);
    if (batch.rewards.length === N) rewards.set(batch.rewards);
    else if (batch.rewards.length === B) for (let b = 0; b < B; b++) rewards[b * k + k - 1] = batch.rewards[b];
    else throw new ValidationError('rewards', `${N} (per position) or ${B} (per slate) entries`, batch.rewards.length, 'SlateTrainer.update');
    const logB = new Float64Array(N);
    if (batch.propensities.length === N) for (let t = 0; t < N; t++) logB[t] = Math.log(batch.propensities[t]);
    else if (batch.propensities.length === B) {
      if (imp.weighting !== 'trajectory') {
        throw new ValidationError('importance.weighting', '"trajectory" (only whole-slate propensities were logged)', imp.weighting, 'SlateTrainer.update');
      }
      for (let b = 0; b < B; b++) logB[b * k + k - 1] = Math.log(batch.propensities[b]);
    } else throw new ValidationError('propensities', `${N} (per position) or ${B} (per slate) entries`, batch.propensities.length, 'SlateTrainer.update');
    const starts = Int32Array.from({ length: B + 1 }, (_, b) => b * k);
    const returns = discountedReturns(rewards, starts, c.gamma);
    const adv = c.normalizeReturns ? whiten(Float64Array.from(returns)) : Float64Array.from(returns);
    if (c.baseline === 'mean') {
      for (let j = 0; j < k; j++) {
        let m = 0;
        for (let b = 0; b < B; b++) m += adv[b * k + j];
        m /= B;
        for (let b = 0; b < B; b++) adv[b * k + j] -= m;
      }
    }
    // Current per-position log-probabilities, for the weights.
    const lpT = this.policy.logProbs(batch, batch.slates);
    const target = Float64Array.from(lpT.dataSync());
    lpT.dispose();
    const w = importanceWeights(target, logB, starts, imp);
    const sig = offPolicySignals(adv, w.weights, starts, c.gamma, imp.weighting);
    const chunks = Math.min(c.gradientAccumulation, B);
    let acc: tf.NamedTensorMap | null = null;
    let loss = 0;
    for (let j = 0; j < chunks; j++) {
      const b0 = Math.floor((j * B) / chunks);
      const b1 = Math.floor(((j + 1) * B) / chunks);
      if (b1 <= b0) continue;
      const ids = Int32Array.from({ length: b1 - b0 }, (_, i) => b0 + i);
      const part = selectSlates(batch, ids, this.policy.config.numCandidates, this.policy.config.candidateDim, this.policy.config.contextDim, k);
      const t0 = b0 * k;
      const t1 = b1 * k;
      const sigT = tf.tensor1d(Float32Array.from((imp.estimator === 'detached' ? sig.coefficients : sig.signals).subarray(t0, t1)));
      const M = t1 - t0;
      const episode = { start: Int32Array.from({ length: M }, (_, t) => t - (t % k)), end: Int32Array.from({ length: M }, (_, t) => t - (t % k) + k) };
      const { value, grads } = tf.variableGrads(() => {
        const lp = tf.reshape(this.policy.logProbs(part, part.slates), [M]) as tf.Tensor1D;
        if (imp.estimator === 'detached') return reinforceLossDetached(lp, sigT, N);
        const wT = importanceWeightsTensor(lp, logB.subarray(t0, t1), episode, { graded: w.graded.subarray(t0, t1), constants: w.constants.subarray(t0, t1), scale: w.scale }, imp);
        return reinforceLossRatio(wT, sigT, N);
      }, this.vars);
      loss += value.dataSync()[0];
      tf.dispose([value, sigT]);
      if (!acc) acc = grads;
      else {
        const sum: tf.NamedTensorMap = {};
        for (const key of Object.keys(acc)) sum[key] = grads[key] ? tf.add(acc[key], grads[key]) : tf.clone(acc[key]);
        tf.dispose([...Object.values(acc), ...Object.values(grads)]);
        acc = sum;
      }
    }
    if (!acc) throw new KairosError('SlateTrainer.update: empty batch', 'invalid_argument');
    let applied = acc;
    let norm: tf.Scalar | null = null;
    if (c.maxGradNorm !== null) {
      const r = clipGradsByGlobalNorm(acc, c.maxGradNorm);
      applied = r.grads;
      norm = r.norm;
    }
    const zeros: tf.Tensor[] = [];
    this.optimizer.applyGradients(
      this.vars.map((v) => {
        let g = applied[v.name];
        if (!g) zeros.push((g = tf.zerosLike(v)));
        return { name: v.name, tensor: g };
      }),
    );
    tf.dispose([...Object.values(acc), ...zeros]);
    if (applied !== acc) tf.dispose(Object.values(applied));
    norm?.dispose();
    this.updates++;
    let rewardMean = 0;
    for (let t = 0; t < N; t++) rewardMean += rewards[t];
    return { loss, rewardMean: rewardMean / B, ...w.diagnostics };
  }

  /** `epochs` passes over a log in shuffled mini-batches of `batchSize` slates. */
  fitLogged(log: LoggedSlates, options: { epochs?: number; batchSize?: number; onUpdate?: (m: Record<string, number>) => void } = {}): Array<Record<string, number>> {
    const { numCandidates: n, candidateDim: f, contextDim: cDim, slateSize: k } = this.policy.config;
    const epochs = options.epochs ?? 1;
    const bs = options.batchSize ?? 256;
    const order = Int32Array.from({ length: log.size }, (_, i) => i);
    const history: Array<Record<string, number>> = [];
    for (let e = 0; e < epochs; e++) {
      this.rng.shuffle(order);
      for (let s = 0; s < log.size; s += bs) {
        const m = this.update(selectSlates(log, order.subarray(s, Math.min(log.size, s + bs)), n, f, cDim, k));
        history.push(m);
        options.onUpdate?.(m);
      }
    }
    return history;
  }

  /**
   * On-policy training: each update samples slates for `queries()` from the current policy,
   * scores them with `reward` (per position `[B × k]` or per slate `[B]`) and trains on them
   * (the behaviour is the policy itself, so every weight is 1).
   */
  trainOnPolicy(queries: () => SlateQueries, reward: (q: SlateQueries, slates: Int32Array) => Float64Array, options: { updates: number; onUpdate?: (m: Record<string, number>) => void }): Array<Record<string, number>> {
    const history: Array<Record<string, number>> = [];
    for (let u = 0; u < options.updates; u++) {
      const q = queries();
      const { slates, logProbs } = this.policy.sample(q, this.rng);
      const m = this.update({ ...q, slates, propensities: logProbs.map(Math.exp), rewards: reward(q, slates) });
      history.push(m);
      options.onUpdate?.(m);
    }
    return history;
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}
