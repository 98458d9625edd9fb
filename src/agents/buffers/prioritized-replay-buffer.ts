/**
 * Proportional prioritised experience replay (Schaul, Quan, Antonoglou & Silver, "Prioritized
 * Experience Replay", ICLR 2016). Rows are stored exactly as in {@link ReplayBuffer}; a
 * {@link SumTree} holds p_i^α per row.
 *
 * - Priority (§3.3, proportional variant): p_i = |δ_i| + ε; the small ε > 0 keeps a
 *   transition whose error reached 0 from never being replayed again.
 * - Sampling probability (eq. 1): P(i) = p_i^α / Σ_k p_k^α. α = 0 is uniform replay.
 * - New transitions get the largest priority seen so far (Algorithm 1, line 6), so every
 *   transition is replayed at least once before its TD error is known; it starts at 1.
 * - Stratified sampling (Appendix B.2.1): the range [0, Σ p^α) is cut into `batchSize`
 *   equal segments and one value is drawn uniformly from each, which spreads a batch over
 *   the priority mass and lowers the variance of the counts.
 * - Importance weights (§3.4): w_i = (N · P(i))^-β / max_j w_j, N = stored transitions and
 *   the max over every stored transition (as in OpenAI Baselines), so weights are ≤ 1 and only
 *   scale updates down. With P_min the smallest probability, max_j w_j = (N · P_min)^-β and
 *   w_i = (P_min / P(i))^β, which is how it is computed (no overflow for tiny P(i)).
 * - β anneals linearly from β0 to 1 (§3.4: the correction matters most near convergence, so
 *   β reaches 1 only at the end of learning). The caller sets it: `setBeta(beta)` before
 *   `sample`, or `annealBeta(step)` for the built-in linear schedule over `betaSteps`.
 *
 * Memory: the storage of {@link ReplayBuffer} plus two Float64 trees of 2·2^⌈log2 capacity⌉
 * nodes (32 MiB for a million rows).
 *
 * @example
 * const buf = new PrioritizedReplayBuffer({ capacity: 100_000, obsDim: 8, action: { kind: 'discrete', n: 4 }, alpha: 0.6 });
 * buf.add(t);
 * buf.setBeta(0.4 + 0.6 * progress);
 * const b = buf.sample(32, rng);          // b.weights: importance weights for the loss
 * buf.updatePriorities(b.indices, absTd); // after the gradient step
 */
import { z } from 'zod';
import { ValidationError, parseWith } from '../../core/errors.js';
import type { Rng } from '../../core/rng.js';
import { ReplayBuffer, replayBufferFields } from './replay-buffer.js';
import { SumTree } from './sum-tree.js';
import type { BufferState, TransitionBatch } from './types.js';
import { checkStateKind, expectMeta, masksNeedDiscrete, metaNumber, takeArray } from './validate.js';

/**
 * Options of {@link PrioritizedReplayBuffer}: those of {@link ReplayBuffer} plus the PER constants.
 *
 * @example
 * const opts = parseWith(PrioritizedReplayBufferOptionsSchema, { capacity: 1e5, obsDim: 8, action: { kind: 'discrete', n: 4 }, alpha: 0.5 });
 */
export const PrioritizedReplayBufferOptionsSchema = z
  .strictObject({
    ...replayBufferFields(),
    /** Priority exponent α (eq. 1); 0 = uniform. Schaul et al. use 0.6 for proportional PER. */
    alpha: z.number().min(0).max(10).default(0.6),
    /** Initial importance exponent β0 (Schaul et al.: 0.4 for proportional PER). */
    beta0: z.number().min(0).max(1).default(0.4),
    /** Steps over which {@link PrioritizedReplayBuffer.annealBeta} moves β from β0 to 1; set it to the run length. */
    betaSteps: z.number().int().min(1).default(1_000_000),
    /** ε added to |δ| so no transition gets probability 0. */
    epsilon: z.number().positive().finite().default(1e-6),
  })
  .superRefine(masksNeedDiscrete);

/** Options as a user writes them. */
export type PrioritizedReplayBufferOptions = z.input<typeof PrioritizedReplayBufferOptionsSchema>;

/**
 * Proportional prioritised replay; see the module comment.
 *
 * @example
 * const buf = new PrioritizedReplayBuffer({ capacity: 50_000, obsDim: 4, action: { kind: 'discrete', n: 2 }, betaSteps: 100_000 });
 * buf.annealBeta(step);                       // β0 → 1 over betaSteps
 * const b = buf.sample(64, rng);              // loss = mean(b.weights · huber(δ))
 * buf.updatePriorities(b.indices, tdErrors);
 */
export class PrioritizedReplayBuffer extends ReplayBuffer {
  readonly alpha: number;
  readonly epsilon: number;
  readonly beta0: number;
  readonly betaSteps: number;
  private currentBeta: number;
  /** Largest raw priority |δ| + ε seen (before the α power); given to new rows. */
  private maxPriority = 1;
  private readonly tree: SumTree;

  constructor(options: PrioritizedReplayBufferOptions) {
    const o = parseWith(PrioritizedReplayBufferOptionsSchema, options, 'PrioritizedReplayBuffer options');
    super({ capacity: o.capacity, obsDim: o.obsDim, action: o.action, storeMasks: o.storeMasks });
    this.alpha = o.alpha;
    this.epsilon = o.epsilon;
    this.beta0 = o.beta0;
    this.betaSteps = o.betaSteps;
    this.currentBeta = o.beta0;
    this.tree = new SumTree(o.capacity);
  }

  /** The importance exponent the next `sample` uses. */
  get beta(): number {
    return this.currentBeta;
  }

  /** Sets β in [0, 1] for the next samples (0 = no correction, 1 = full correction). */
  setBeta(beta: number): void {
    if (typeof beta !== 'number' || !(beta >= 0 && beta <= 1)) throw new ValidationError('beta', 'a number in [0, 1]', beta, 'PrioritizedReplayBuffer.setBeta');
    this.currentBeta = beta;
  }

  /** Sets β = β0 + (1 − β0) · min(1, step / betaSteps) (linear, §3.4) and returns it. */
  annealBeta(step: number): number {
    if (typeof step !== 'number' || !(step >= 0)) throw new ValidationError('step', 'a number >= 0', step, 'PrioritizedReplayBuffer.annealBeta');
    this.currentBeta = this.beta0 + (1 - this.beta0) * Math.min(1, step / this.betaSteps);
    return this.currentBeta;
  }

  /** p_i^α of row `index` (0 for a row never written). */
  priority(index: number): number {
    return this.tree.get(index);
  }

  /** Bytes of the rows plus the two trees. */
  override get byteLength(): number {
    return super.byteLength + this.tree.byteLength;
  }

  /** A new row gets the largest priority so far (Algorithm 1, line 6). */
  protected override onWrite(index: number): void {
    this.tree.set(index, this.maxPriority ** this.alpha);
  }

  /**
   * Stratified proportional sample of `batchSize` rows with importance weights for the
   * current β (see the module comment). Allocates nothing.
   */
  override sample(batchSize: number, rng: Rng): TransitionBatch {
    const b = this.prepareBatch(batchSize, 'PrioritizedReplayBuffer.sample');
    const tree = this.tree;
    const total = tree.total;
    const segment = total / batchSize;
    // w_i = (N·P(i))^-β / max_j (N·P(j))^-β = (P_min / P(i))^β = (min_k p_k^α / p_i^α)^β.
    const pMin = tree.min;
    const beta = this.currentBeta;
    const idx = b.indices;
    const weights = b.weights;
    for (let i = 0; i < batchSize; i++) {
      const j = tree.find((i + rng.random()) * segment);
      idx[i] = j;
      weights[i] = (pMin / tree.get(j)) ** beta;
    }
    this.gather(b);
    return b;
  }

  /**
   * Sets p_i = |δ_i| + ε for the rows sampled (eq. 1 takes p_i^α). Checks every index (an
   * integer in [0, size)) and error (finite) before changing any priority; a ValidationError
   * names the first bad entry. Allocates nothing.
   */
  override updatePriorities(indices: Int32Array, tdErrors: ArrayLike<number>): void {
    const context = 'PrioritizedReplayBuffer.updatePriorities';
    const n = indices?.length;
    if (tdErrors?.length !== n) throw new ValidationError('tdErrors', `${n} numbers (one per index)`, `length ${tdErrors?.length}`, context);
    const size = this.size;
    for (let i = 0; i < n; i++) {
      const j = indices[i];
      if (!Number.isInteger(j) || j < 0 || j >= size) throw new ValidationError(`indices[${i}]`, `an integer in [0, ${size})`, j, context);
      const d = tdErrors[i];
      // The α power is checked too: (|δ| + ε)^α may overflow for a huge δ and a large α.
      if (typeof d !== 'number' || !Number.isFinite((Math.abs(d) + this.epsilon) ** this.alpha)) {
        throw new ValidationError(`tdErrors[${i}]`, 'a finite number (with (|δ| + ε)^α finite)', d, context);
      }
    }
    let maxP = this.maxPriority;
    for (let i = 0; i < n; i++) {
      const p = Math.abs(tdErrors[i]) + this.epsilon;
      if (p > maxP) maxP = p;
      this.tree.set(indices[i], p ** this.alpha);
    }
    this.maxPriority = maxP;
  }

  /** Snapshot: the rows, plus α, ε, β, the max priority in `meta` and every p_i^α in `priorities`. */
  override getState(): BufferState {
    return {
      kind: 'prioritized-replay',
      meta: {
        ...this.storageMeta(),
        alpha: this.alpha,
        epsilon: this.epsilon,
        beta: this.currentBeta,
        maxPriority: this.maxPriority,
      },
      arrays: { ...this.rows.snapshot(this.size), priorities: this.tree.leaves(this.size) },
    };
  }

  /** Restores {@link getState}; validates everything (naming the bad field) before writing. */
  override setState(state: BufferState): void {
    const context = 'PrioritizedReplayBuffer.setState';
    checkStateKind(state, 'prioritized-replay', context);
    const storage = this.parseStorage(state, context);
    // Stored priorities are p^α: they only mean the same thing under the same α and ε.
    expectMeta(state, 'alpha', this.alpha, context);
    expectMeta(state, 'epsilon', this.epsilon, context);
    const beta = metaNumber(state, 'beta', 0, 1, context);
    const maxPriority = metaNumber(state, 'maxPriority', Number.MIN_VALUE, Number.MAX_VALUE, context);
    const priorities = takeArray(state, 'priorities', Float64Array, storage.size, context);
    for (let i = 0; i < priorities.length; i++) {
      const p = priorities[i];
      if (!(p > 0 && p < Infinity)) throw new ValidationError(`arrays.priorities[${i}]`, 'a finite number > 0', p, context);
    }
    this.restoreStorage(storage);
    // Internal nodes are recomputed from the leaves, exactly as `set` computes them.
    this.tree.setLeaves(priorities);
    this.currentBeta = beta;
    this.maxPriority = maxPriority;
  }
}
