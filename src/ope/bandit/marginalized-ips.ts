/**
 * Marginalized IPS (MIPS): importance weights on an action embedding e instead of the action,
 * for large action spaces where many actions share what matters for the reward.
 *
 *   p(e | x, π) = Σ_a p(e | x, a) π(a | x)
 *   w(x, e)     = p(e | x, π) / p(e | x, μ)
 *   V̂_MIPS      = (1/n) Σ_i w(x_i, e_i) r_i            (self-normalised: Σ w r / Σ w)
 *
 * Definition: Saito & Joachims 2022, "Off-policy evaluation for large action spaces via
 * embeddings" (ICML): the marginal importance weight and the MIPS estimator. OBP's
 * `MarginalizedInverseProbabilityWeighting` with a known p(e|a) (`p_e_a`).
 *
 * When unbiased (the paper's unbiasedness result): the embedding has common support (p(e|x,μ) > 0
 * wherever p(e|x,π) > 0) and "no direct effect": the reward depends on the action only through
 * its embedding, r ⫫ a | x, e. Then E_μ[w(x,e) r] = E_π[r], and its variance is at most IPS's
 * (their variance comparison): the weight of a group of actions is the ratio of the groups' total
 * probabilities, which can be far smaller than any single action's weight. With the identity
 * embedding (e = a) MIPS is IPS.
 *
 * Embeddings here are discrete, given either as a deterministic map from actions to ids per
 * dimension (`actionEmbeddings`, K × D) or as tables p(e_d | a) (`embeddingProbs`), with the
 * dimensions independent given the action: p(e|a) = Π_d p(e_d|a). (OBP multiplies the
 * per-dimension marginals Π_d Σ_a p(e_d|a)π(a|x) instead; the two agree for D = 1.) The
 * weight needs the behaviour probabilities of every action, `behaviorProbs` (n × K): the logged
 * propensity alone is not enough, which is why the `kairos ope` CLI (whose logs store only
 * μ(a_i|x_i)) does not offer MIPS.
 *
 * The options' arrays are row-aligned with the dataset passed to `estimate` / `terms`.
 *
 * @example
 * // 1000 actions in 10 categories; the reward depends on the category only.
 * const actionEmbeddings = Int32Array.from({ length: 1000 }, (_, a) => a % 10);
 * marginalizedIps({ behaviorProbs, actionEmbeddings }).estimate(data);
 */
import { z } from 'zod';
import { parseWith, ValidationError } from '../../core/errors.js';
import { allocColumn, estimateFromTerms, meanTerms, safeRatio, weightStats, type SampleTerms } from '../estimate.js';
import { PROB_SUM_TOLERANCE, type BanditDataset } from '../types.js';
import { loggedWeights, type BanditEstimator } from './estimator.js';

const float64 = z.custom<Float64Array>((v) => v instanceof Float64Array, 'a Float64Array');
const int32 = z.custom<Int32Array>((v) => v instanceof Int32Array, 'an Int32Array');

export const MarginalizedIpsOptions = z.object({
  /** μ(a | x_i) for every row and action, n × K row-major; row i's logged entry is propensities[i]. */
  behaviorProbs: float64,
  /** Deterministic embedding ids, K × D row-major: actionEmbeddings[a·D + d] = e_d(a) ≥ 0. */
  actionEmbeddings: int32.optional(),
  /** Stochastic embedding: per dimension d, p(e_d | a) as a K × E_d row-major table. */
  embeddingProbs: z.array(float64).min(1).optional(),
  /** Observed embedding per row, n × D; default (deterministic map only) e(a_i). */
  embeddings: int32.optional(),
  /** Number of embedding dimensions D with `actionEmbeddings` (default: its length / K). */
  embeddingDim: z.number().int().min(1).optional(),
  /** Self-normalised MIPS (Σ w r / Σ w; OBP's SNMIPS). */
  selfNormalize: z.boolean().default(false),
});
export type MarginalizedIpsOptions = z.input<typeof MarginalizedIpsOptions>;

const CONTEXT = 'marginalizedIps';

/** Per-dimension p(e_d | a) tables (K × E_d) and the logged embeddings (n × D), validated. */
function resolveEmbeddings(data: BanditDataset, o: z.output<typeof MarginalizedIpsOptions>): { tables: Float64Array[]; sizes: number[]; logged: Int32Array } {
  const k = data.numActions;
  if ((o.actionEmbeddings === undefined) === (o.embeddingProbs === undefined)) {
    throw new ValidationError('actionEmbeddings', 'exactly one of actionEmbeddings (K × D ids) or embeddingProbs (p(e_d|a) tables)', o.actionEmbeddings, CONTEXT);
  }
  let tables: Float64Array[];
  let sizes: number[];
  if (o.actionEmbeddings) {
    const map = o.actionEmbeddings;
    const dims = o.embeddingDim ?? map.length / k;
    if (!Number.isInteger(dims) || dims < 1 || map.length !== k * dims) {
      throw new ValidationError('actionEmbeddings.length', `K × D = ${k} × ${o.embeddingDim ?? 'D'}`, map.length, CONTEXT);
    }
    sizes = [];
    tables = [];
    for (let d = 0; d < dims; d++) {
      let size = 0;
      for (let a = 0; a < k; a++) {
        const e = map[a * dims + d];
        if (e < 0) throw new ValidationError(`actionEmbeddings[${a}][${d}]`, 'an embedding id >= 0', e, CONTEXT);
        size = Math.max(size, e + 1);
      }
      const t = new Float64Array(k * size);
      for (let a = 0; a < k; a++) t[a * size + map[a * dims + d]] = 1;
      sizes.push(size);
      tables.push(t);
    }
  } else {
    tables = o.embeddingProbs!;
    sizes = tables.map((t, d) => {
      const size = t.length / k;
      if (!Number.isInteger(size) || size < 1) throw new ValidationError(`embeddingProbs[${d}].length`, `a multiple of K = ${k} (K × E_d)`, t.length, CONTEXT);
      for (let a = 0; a < k; a++) {
        let sum = 0;
        for (let e = 0; e < size; e++) {
          const p = t[a * size + e];
          if (!(p >= 0 && p <= 1)) throw new ValidationError(`embeddingProbs[${d}][${a}][${e}]`, 'a probability in [0, 1]', p, CONTEXT);
          sum += p;
        }
        if (Math.abs(sum - 1) > PROB_SUM_TOLERANCE) {
          throw new ValidationError(`embeddingProbs[${d}][${a}]`, `p(e_${d} | a = ${a}) summing to 1 ± ${PROB_SUM_TOLERANCE}`, sum, CONTEXT);
        }
      }
      return size;
    });
  }
  const dims = tables.length;
  let logged: Int32Array;
  if (o.embeddings) {
    logged = o.embeddings;
    if (logged.length !== data.n * dims) throw new ValidationError('embeddings.length', `n × D = ${data.n} × ${dims}`, logged.length, CONTEXT);
    for (let i = 0; i < data.n; i++) {
      for (let d = 0; d < dims; d++) {
        const e = logged[i * dims + d];
        if (!(e >= 0 && e < sizes[d])) throw new ValidationError(`embeddings[${i}][${d}]`, `an embedding id in [0, ${sizes[d]})`, e, CONTEXT);
      }
    }
  } else {
    if (!o.actionEmbeddings) {
      throw new ValidationError('embeddings', 'the observed embedding per row (n × D Int32Array) with stochastic embeddingProbs', o.embeddings, CONTEXT);
    }
    logged = new Int32Array(data.n * dims);
    for (let i = 0; i < data.n; i++) for (let d = 0; d < dims; d++) logged[i * dims + d] = o.actionEmbeddings[data.actions[i] * dims + d];
  }
  return { tables, sizes, logged };
}

function checkBehaviorProbs(data: BanditDataset, probs: Float64Array): void {
  const k = data.numActions;
  if (probs.length !== data.n * k) throw new ValidationError('behaviorProbs.length', `n × K = ${data.n} × ${k}`, probs.length, CONTEXT);
  for (let i = 0; i < data.n; i++) {
    let sum = 0;
    for (let a = 0; a < k; a++) {
      const p = probs[i * k + a];
      if (!(p >= 0 && p <= 1)) throw new ValidationError(`behaviorProbs[${i}][${a}]`, 'a probability in [0, 1]', p, CONTEXT);
      sum += p;
    }
    if (Math.abs(sum - 1) > PROB_SUM_TOLERANCE) {
      throw new ValidationError(`behaviorProbs[${i}]`, `a row of ${k} probabilities summing to 1 ± ${PROB_SUM_TOLERANCE}`, sum, CONTEXT);
    }
    const logged = probs[i * k + data.actions[i]];
    if (Math.abs(logged - data.propensities[i]) > PROB_SUM_TOLERANCE) {
      throw new ValidationError(`behaviorProbs[${i}][${data.actions[i]}]`, `the logged propensity ${data.propensities[i]}`, logged, CONTEXT);
    }
  }
}

/**
 * The marginal weights w(x_i, e_i) = Σ_a π(a|x_i) p(e_i|a) / Σ_a μ(a|x_i) p(e_i|a) for every row
 * (Saito & Joachims 2022). Throws if an observed embedding has probability 0 under μ.
 */
export function marginalImportanceWeights(data: BanditDataset, options: MarginalizedIpsOptions): Float64Array {
  const o = parseWith(MarginalizedIpsOptions, options, CONTEXT);
  checkBehaviorProbs(data, o.behaviorProbs);
  const { tables, sizes, logged } = resolveEmbeddings(data, o);
  const k = data.numActions;
  const dims = tables.length;
  const w = new Float64Array(data.n);
  for (let i = 0; i < data.n; i++) {
    let num = 0;
    let den = 0;
    for (let a = 0; a < k; a++) {
      let pe = 1;
      for (let d = 0; d < dims && pe > 0; d++) pe *= tables[d][a * sizes[d] + logged[i * dims + d]];
      if (pe === 0) continue;
      num += data.targetProbs[i * k + a] * pe;
      den += o.behaviorProbs[i * k + a] * pe;
    }
    if (!(den > 0)) {
      throw new ValidationError(`embeddings[${i}]`, 'an embedding with positive probability under the behaviour policy (p(e|x,μ) > 0)', Array.from(logged.subarray(i * dims, (i + 1) * dims)), CONTEXT);
    }
    w[i] = num / den;
  }
  return w;
}

/** Creates MIPS (`mips`), or self-normalised MIPS (`snmips`) with `selfNormalize: true`. */
export function marginalizedIps(options: MarginalizedIpsOptions): BanditEstimator {
  const parsed = parseWith(MarginalizedIpsOptions, options, CONTEXT);
  const name = parsed.selfNormalize ? 'snmips' : 'mips';
  const build = (data: BanditDataset): { terms: SampleTerms; weights: Float64Array } => {
    const weights = marginalImportanceWeights(data, options);
    const wr = allocColumn(data.n);
    for (let i = 0; i < data.n; i++) wr[i] = weights[i] * data.rewards[i];
    if (!parsed.selfNormalize) return { terms: meanTerms('row', wr), weights };
    const wc = allocColumn(data.n);
    wc.set(weights);
    return { terms: { unit: 'row', n: data.n, columns: [wr, wc], combine: (s) => safeRatio(s[0], s[1]) }, weights };
  };
  return {
    name,
    requiresRewardModel: false,
    terms: (data) => build(data).terms,
    estimate(data) {
      const { terms, weights } = build(data);
      const vanilla = weightStats(loggedWeights(data));
      return estimateFromTerms(name, terms, { ...weightStats(weights), actionMaxWeight: vanilla.maxWeight, actionEss: vanilla.ess });
    },
  };
}
