/**
 * A synthetic ranking task with a known behaviour (logging) policy and exact values, to
 * check that slate policies learn the best ordering on- and off-policy.
 *
 * - Each query has n candidates with Gaussian features x_i ∈ R^f; relevance rel_i = θ·x_i.
 * - Position-based click model (Craswell et al. 2008, "An experimental comparison of click
 *   position-bias models"): the item at position j is clicked with probability
 *   e_j · σ(rel_i), examination e_j = 1 / log2(j + 2) (the DCG discount); the reward at a
 *   position is its click. The expected slate reward Σ_j e_j σ(rel_{a_j}) is maximised by the
 *   top-k items by relevance in decreasing order (both factors sorted the same way).
 * - Behaviour: Plackett-Luce sampling without replacement from scores (θ_b·x_i)/τ, where θ_b
 *   is θ plus noise (a mis-specified production ranker); the logged propensity of each
 *   position is its Plackett-Luce step probability, so the slate's is their product.
 * - Exact values: the expected reward of any slate; of the behaviour policy by enumerating
 *   every ordered k-subset (n!/(n−k)! slates) with its Plackett-Luce probability.
 *
 * @example
 * const task = makeRankingTask({ seed: 0 });
 * const log = task.sampleLogged(5000, 1);      // LoggedSlates with per-position propensities and clicks
 * const test = task.sampleQueries(500, 2);
 * task.evaluate(test, greedySlates);           // { value, optimalValue, behaviourValue, exactMatch }
 */
import { z } from 'zod';
import { parseWith } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import type { LoggedSlates, SlateQueries } from './slate.js';

export const RankingTaskConfigSchema = z
  .object({
    seed: z.number().int().nonnegative().default(0),
    numCandidates: z.number().int().min(2).default(6),
    candidateDim: z.number().int().positive().default(4),
    slateSize: z.number().int().positive().default(3),
    /** Scale of the relevance θ·x. */
    relevanceScale: z.number().positive().default(3),
    /** Std of the noise added to θ for the behaviour ranker (mis-specification). */
    behaviourNoise: z.number().nonnegative().default(1),
    /** Plackett-Luce temperature of the behaviour (higher = more exploration). */
    behaviourTemperature: z.number().positive().default(2),
    /** Logged rewards: sampled `clicks`, or their `expected` values (noise-free, for tests). */
    rewards: z.enum(['clicks', 'expected']).default('clicks'),
  })
  .strict();

export type RankingTaskConfig = z.input<typeof RankingTaskConfigSchema>;

/** What {@link RankingTask.evaluate} reports. */
export interface RankingEvaluation {
  /** Mean expected reward of the given slates. */
  value: number;
  /** Mean expected reward of the best slates. */
  optimalValue: number;
  /** Mean expected reward of the behaviour policy (exact expectation over its slates). */
  behaviourValue: number;
  /** Fraction of queries whose slate is exactly the best ordering. */
  exactMatch: number;
}

export interface RankingTask {
  readonly config: z.output<typeof RankingTaskConfigSchema>;
  /** Relevance weights θ. */
  readonly theta: Float64Array;
  /** Queries with fresh candidates. */
  sampleQueries(size: number, seed: number): SlateQueries;
  /** Logged slates from the behaviour policy with per-position propensities and clicks. */
  sampleLogged(size: number, seed: number): LoggedSlates;
  /** Expected reward of `slates` `[B × k]` for `queries`, per query. */
  expectedRewards(queries: SlateQueries, slates: Int32Array): Float64Array;
  /** Best slates `[B × k]`. */
  optimalSlates(queries: SlateQueries): Int32Array;
  /** Simulated clicks per position `[B × k]` for `slates` (on-policy training). */
  clicks(queries: SlateQueries, slates: Int32Array, rng: Rng): Float64Array;
  evaluate(queries: SlateQueries, slates: Int32Array): RankingEvaluation;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** Builds the task; see the module comment. */
export function makeRankingTask(config: RankingTaskConfig = {}): RankingTask {
  const cfg = parseWith(RankingTaskConfigSchema, config, 'makeRankingTask');
  const { numCandidates: n, candidateDim: f, slateSize: k } = cfg;
  const rng = new Rng(cfg.seed);
  const theta = Float64Array.from({ length: f }, () => (rng.normal() * cfg.relevanceScale) / Math.sqrt(f));
  const thetaB = Float64Array.from(theta, (t) => t + (rng.normal() * cfg.behaviourNoise * cfg.relevanceScale) / Math.sqrt(f));
  const examine = Float64Array.from({ length: k }, (_, j) => 1 / Math.log2(j + 2));
  const score = (w: Float64Array, cands: Float32Array, b: number, i: number) => {
    let s = 0;
    for (let d = 0; d < f; d++) s += w[d] * cands[(b * n + i) * f + d];
    return s;
  };
  const sampleQueries = (size: number, seed: number): SlateQueries => {
    const r = new Rng(seed);
    return { size, candidates: Float32Array.from({ length: size * n * f }, () => r.normal()) };
  };
  const expectedRewards = (q: SlateQueries, slates: Int32Array): Float64Array => {
    const out = new Float64Array(q.size);
    for (let b = 0; b < q.size; b++) {
      let v = 0;
      for (let j = 0; j < k; j++) v += examine[j] * sigmoid(score(theta, q.candidates, b, slates[b * k + j]));
      out[b] = v;
    }
    return out;
  };
  const optimalSlates = (q: SlateQueries): Int32Array => {
    const out = new Int32Array(q.size * k);
    for (let b = 0; b < q.size; b++) {
      const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => score(theta, q.candidates, b, y) - score(theta, q.candidates, b, x));
      for (let j = 0; j < k; j++) out[b * k + j] = order[j];
    }
    return out;
  };
  /** Behaviour Plackett-Luce logits of query b. */
  const behaviourLogits = (q: SlateQueries, b: number) => Float64Array.from({ length: n }, (_, i) => score(thetaB, q.candidates, b, i) / cfg.behaviourTemperature);
  /** Exact expected reward of the behaviour on query b, enumerating ordered k-subsets. */
  const behaviourValueOf = (q: SlateQueries, b: number): number => {
    const logits = behaviourLogits(q, b);
    const rel = Float64Array.from({ length: n }, (_, i) => sigmoid(score(theta, q.candidates, b, i)));
    const used = new Uint8Array(n);
    const rec = (j: number, prob: number): number => {
      if (j === k) return 0;
      let z = 0;
      for (let i = 0; i < n; i++) if (!used[i]) z += Math.exp(logits[i]);
      let v = 0;
      for (let i = 0; i < n; i++) {
        if (used[i]) continue;
        const p = Math.exp(logits[i]) / z;
        used[i] = 1;
        v += p * (examine[j] * rel[i] + rec(j + 1, prob * p));
        used[i] = 0;
      }
      return v;
    };
    return rec(0, 1);
  };
  const expectedPerPosition = (q: SlateQueries, slates: Int32Array): Float64Array => {
    const out = new Float64Array(q.size * k);
    for (let b = 0; b < q.size; b++) for (let j = 0; j < k; j++) out[b * k + j] = examine[j] * sigmoid(score(theta, q.candidates, b, slates[b * k + j]));
    return out;
  };
  const clicks = (q: SlateQueries, slates: Int32Array, r: Rng): Float64Array => {
    const out = new Float64Array(q.size * k);
    for (let b = 0; b < q.size; b++) {
      for (let j = 0; j < k; j++) out[b * k + j] = r.bernoulli(examine[j] * sigmoid(score(theta, q.candidates, b, slates[b * k + j]))) ? 1 : 0;
    }
    return out;
  };
  return {
    config: cfg,
    theta,
    sampleQueries,
    sampleLogged(size, seed) {
      const q = sampleQueries(size, seed);
      const r = new Rng(seed + 7_919);
      const slates = new Int32Array(size * k);
      const propensities = new Float64Array(size * k);
      const weights = new Float64Array(n);
      for (let b = 0; b < size; b++) {
        const logits = behaviourLogits(q, b);
        const used = new Uint8Array(n);
        for (let j = 0; j < k; j++) {
          let z = 0;
          for (let i = 0; i < n; i++) z += weights[i] = used[i] ? 0 : Math.exp(logits[i]);
          const a = r.categorical(weights);
          used[a] = 1;
          slates[b * k + j] = a;
          propensities[b * k + j] = weights[a] / z;
        }
      }
      return { ...q, slates, propensities, rewards: cfg.rewards === 'clicks' ? clicks(q, slates, r) : expectedPerPosition(q, slates) };
    },
    expectedRewards,
    optimalSlates,
    clicks,
    evaluate(q, slates) {
      const best = optimalSlates(q);
      const v = expectedRewards(q, slates);
      const vb = expectedRewards(q, best);
      let value = 0;
      let optimalValue = 0;
      let behaviourValue = 0;
      let exact = 0;
      for (let b = 0; b < q.size; b++) {
        value += v[b];
        optimalValue += vb[b];
        behaviourValue += behaviourValueOf(q, b);
        let same = true;
        for (let j = 0; j < k; j++) if (slates[b * k + j] !== best[b * k + j]) same = false;
        if (same) exact++;
      }
      return { value: value / q.size, optimalValue: optimalValue / q.size, behaviourValue: behaviourValue / q.size, exactMatch: exact / q.size };
    },
  };
}
