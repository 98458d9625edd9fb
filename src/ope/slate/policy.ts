/**
 * From a slate policy's log-probabilities to the target probabilities the slate estimators
 * take.
 *
 * Kairos's `SlatePolicy` (src/agents/pg/slate.ts) decodes a slate position by position, so
 * `logProbs(queries, slates)` gives, per row and position, log π(a(l) | x, a(1..l−1)): exactly
 * the conditionals of SIPS / RIPS / Cascade-DR after `exp`. Cascade-DR also needs the target's
 * whole distribution at every position after the logged prefix, obtained by scoring every
 * candidate in place of the logged one; IIPS needs the marginal P(item at position l | x), which
 * a sequential policy does not give in closed form (a sum over all orderings of the items
 * above), so it is estimated by sampling slates from the policy. Because IIPS is linear in the
 * target marginal, an unbiased Monte Carlo marginal keeps IIPS unbiased (it adds variance).
 *
 * Only the policy's `config`, `logProbs` and `sample` are used (structural type
 * {@link SlateScoringPolicy}); items are candidate indices 0..numCandidates−1 of each query.
 *
 * @example
 * const target = slateTargetProbabilities(policy, logged, logged.slates, { distribution: true, marginalSamples: 200, seed: 0 });
 * const data = slateDataset({ n, slateSize: k, numItems: numCandidates, items: logged.slates, rewards,
 *   behaviorConditional: logged.propensities, ...target });
 * rewardInteractionIps().estimate(data);
 */
import { z } from 'zod';
import { parseWith, ValidationError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import type { SlateQueries } from '../../agents/pg/slate.js';

/** What the helpers need of a slate policy; `SlatePolicy` satisfies it. */
export interface SlateScoringPolicy {
  readonly config: { readonly slateSize: number; readonly numCandidates: number; readonly candidateDim: number; readonly contextDim: number };
  /** Per-position log π(a(l) | a(<l)) `[B, k]` of the given slates; the caller disposes the result. */
  logProbs(queries: SlateQueries, slates: Int32Array): { dataSync(): ArrayLike<number>; dispose(): void };
  sample(queries: SlateQueries, rng: Rng, deterministic?: boolean): { slates: Int32Array };
}

/**
 * Per-position conditionals π(a(l) | x, a(1..l−1)) = exp(log-probability), n × L, and the
 * prefix (cascade) probabilities Π_{l' ≤ l} of the same (OBP's `pscore_cascade`; entry L − 1 is
 * the slate probability). Throws on NaN or positive log-probabilities.
 */
export function slateConditionalsFromLogProbs(logProbs: ArrayLike<number>, n: number, slateSize: number): { conditional: Float64Array; cascade: Float64Array } {
  if (logProbs.length !== n * slateSize) throw new ValidationError('logProbs.length', `n × L = ${n} × ${slateSize}`, logProbs.length, 'slateConditionalsFromLogProbs');
  const conditional = new Float64Array(n * slateSize);
  const cascade = new Float64Array(n * slateSize);
  for (let i = 0; i < n; i++) {
    let acc = 0;
    for (let l = 0; l < slateSize; l++) {
      const j = i * slateSize + l;
      const lp = logProbs[j];
      // float32 log-softmax can round a certain choice to a hair above 0.
      if (!(lp <= 1e-6)) throw new ValidationError(`logProbs[${i}][${l}]`, 'a log-probability <= 0', lp, 'slateConditionalsFromLogProbs');
      const v = Math.min(lp, 0);
      conditional[j] = Math.exp(v);
      acc += v;
      cascade[j] = Math.exp(acc);
    }
  }
  return { conditional, cascade };
}

export const SlateTargetOptions = z.object({
  /** Also compute `targetDistribution` (n × L × K) for Cascade-DR: L·K scored slates per row. */
  distribution: z.boolean().default(false),
  /** Slates sampled per row to estimate `targetMarginal` for IIPS (0 = skip). */
  marginalSamples: z.number().int().min(0).default(0),
  /** Seed of the sampling for the marginals. */
  seed: z.number().int().min(0).default(0),
  /** Most slates scored or sampled per policy call (memory bound). */
  batchSize: z.number().int().min(1).default(4096),
});
export type SlateTargetOptions = z.input<typeof SlateTargetOptions>;

/** The target fields of a {@link SlateDataset} computed from a policy. */
export interface SlateTargetProbabilities {
  targetConditional: Float64Array;
  targetDistribution?: Float64Array;
  targetMarginal?: Float64Array;
}

/** Queries of the given rows (repeats allowed), copied. */
function replicate(q: SlateQueries, rows: ArrayLike<number>, policy: SlateScoringPolicy): SlateQueries {
  const { numCandidates: nc, candidateDim: f, contextDim: c } = policy.config;
  const B = rows.length;
  const candidates = new Float32Array(B * nc * f);
  const context = q.context && c > 0 ? new Float32Array(B * c) : undefined;
  const mask = q.candidateMask ? new Uint8Array(B * nc) : undefined;
  for (let j = 0; j < B; j++) {
    const r = rows[j];
    candidates.set(q.candidates.subarray(r * nc * f, (r + 1) * nc * f), j * nc * f);
    if (context) context.set(q.context!.subarray(r * c, (r + 1) * c), j * c);
    if (mask) mask.set(q.candidateMask!.subarray(r * nc, (r + 1) * nc), j * nc);
  }
  return { size: B, candidates, ...(context ? { context } : {}), ...(mask ? { candidateMask: mask } : {}) };
}

function scoreSlates(policy: SlateScoringPolicy, q: SlateQueries, slates: Int32Array): Float64Array {
  const t = policy.logProbs(q, slates);
  try {
    return Float64Array.from(t.dataSync());
  } finally {
    t.dispose();
  }
}

/**
 * Target probabilities of logged slates under a slate policy: `targetConditional` always,
 * `targetDistribution` with `distribution: true` (rows renormalised in float64, and the
 * conditional then read from it so the two agree exactly), `targetMarginal` with
 * `marginalSamples > 0` (Monte Carlo: the fraction of sampled slates with the logged item at
 * that position).
 */
export function slateTargetProbabilities(policy: SlateScoringPolicy, queries: SlateQueries, slates: Int32Array, options: SlateTargetOptions = {}): SlateTargetProbabilities {
  const o = parseWith(SlateTargetOptions, options, 'slateTargetProbabilities');
  const { slateSize: L, numCandidates: K } = policy.config;
  const B = queries.size;
  if (slates.length !== B * L) throw new ValidationError('slates.length', `queries.size × slateSize = ${B} × ${L}`, slates.length, 'slateTargetProbabilities');
  for (let j = 0; j < slates.length; j++) {
    if (!(slates[j] >= 0 && slates[j] < K)) throw new ValidationError(`slates[${Math.floor(j / L)}][${j % L}]`, `a candidate in [0, ${K})`, slates[j], 'slateTargetProbabilities');
  }
  const out: SlateTargetProbabilities = { targetConditional: slateConditionalsFromLogProbs(scoreSlates(policy, queries, slates), B, L).conditional };

  if (o.distribution) {
    const dist = new Float64Array(B * L * K);
    const rowsPerCall = Math.max(1, Math.floor(o.batchSize / K));
    for (let b0 = 0; b0 < B; b0 += rowsPerCall) {
      const b1 = Math.min(B, b0 + rowsPerCall);
      const rows = new Int32Array((b1 - b0) * K);
      for (let b = b0; b < b1; b++) rows.fill(b, (b - b0) * K, (b - b0 + 1) * K);
      const q = replicate(queries, rows, policy);
      for (let l = 0; l < L; l++) {
        // Row (b, a): the logged slate with candidate a at position l; positions after l do not
        // affect the log-probability at l.
        const alt = new Int32Array(rows.length * L);
        for (let j = 0; j < rows.length; j++) {
          alt.set(slates.subarray(rows[j] * L, (rows[j] + 1) * L), j * L);
          alt[j * L + l] = j % K;
        }
        const lp = scoreSlates(policy, q, alt);
        for (let j = 0; j < rows.length; j++) dist[(rows[j] * L + l) * K + (j % K)] = Math.exp(Math.min(lp[j * L + l], 0));
      }
    }
    for (let j = 0; j < B * L; j++) {
      let sum = 0;
      for (let a = 0; a < K; a++) sum += dist[j * K + a];
      if (!(sum > 0)) throw new ValidationError(`targetDistribution[${Math.floor(j / L)}][${j % L}]`, 'a positive total probability', sum, 'slateTargetProbabilities');
      for (let a = 0; a < K; a++) dist[j * K + a] /= sum;
      out.targetConditional[j] = dist[j * K + slates[j]];
    }
    out.targetDistribution = dist;
  }

  if (o.marginalSamples > 0) {
    const S = o.marginalSamples;
    const counts = new Float64Array(B * L);
    const rng = new Rng(o.seed);
    const total = B * S;
    for (let s0 = 0; s0 < total; s0 += o.batchSize) {
      const s1 = Math.min(total, s0 + o.batchSize);
      const rows = Int32Array.from({ length: s1 - s0 }, (_, j) => Math.floor((s0 + j) / S));
      const sampled = policy.sample(replicate(queries, rows, policy), rng).slates;
      for (let j = 0; j < rows.length; j++) {
        const b = rows[j];
        for (let l = 0; l < L; l++) if (sampled[j * L + l] === slates[b * L + l]) counts[b * L + l]++;
      }
    }
    for (let j = 0; j < counts.length; j++) counts[j] /= S;
    out.targetMarginal = counts;
  }
  return out;
}
