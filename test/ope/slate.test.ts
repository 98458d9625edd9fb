import { beforeAll, describe, expect, it } from 'vitest';
import { SlatePolicy } from '../../src/agents/pg/slate.js';
import { ValidationError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import { bootstrapTerms } from '../../src/ope/bootstrap.js';
import {
  cascadeDr,
  cascadeWeights,
  independentSlateIps,
  rewardInteractionIps,
  slateConditionalsFromLogProbs,
  slateDataset,
  slateTargetProbabilities,
  standardSlateIps,
  type SlateDataset,
} from '../../src/ope/slate/index.js';
import { initTensorBackend, tf } from '../../src/tensor/index.js';

/*
 * Hand-computed example: n = 2 slates, L = 2 positions, K = 3 items.
 *
 * row | items | r        | μ cond     | π cond      | μ marg     | π marg
 *  0  | 2, 0  | 1, 0.5   | 0.5, 0.4   | 0.8, 0.25   | 0.5, 0.3   | 0.6, 0.2
 *  1  | 1, 2  | 0, 1     | 0.25, 0.5  | 0.5, 0.6    | 0.4, 0.5   | 0.3, 0.9
 *
 * Prefix weights: row 0: 1.6, 1.6·0.625 = 1.0; row 1: 2, 2·1.2 = 2.4.
 * SIPS   = (1.0·1.5 + 2.4·1)/2 = 1.95;        SNSIPS = 3.9/3.4
 * RIPS   = ((1.6 + 0.5) + (0 + 2.4))/2 = 2.25; SNRIPS = 1.6/3.6 + 2.9/3.4
 * IIPS   (weights [1.2, 2/3], [0.75, 1.8]) = ((1.2 + 1/3) + 1.8)/2 = 5/3; SNIIPS = 1.2/1.95 + (1/3 + 1.8)/(2/3 + 1.8)
 *
 * Cascade-DR, π(·|prefix) and Q̂ per (row, position):
 *  (0,0) π [0.1, 0.1, 0.8]  Q̂ [1, 2, 1.5]     1.6(1 − 1.5) + 1·(0.1 + 0.2 + 1.2)   = −0.8 + 1.5  = 0.7
 *  (0,1) π [0.25, 0.75, 0]  Q̂ [0.2, 0.4, 0.6] 1.0(0.5 − 0.2) + 1.6·(0.05 + 0.3)    = 0.3 + 0.56  = 0.86
 *  (1,0) π [0.3, 0.5, 0.2]  Q̂ [0.5, 0.1, 1]   2(0 − 0.1) + 1·(0.15 + 0.05 + 0.2)    = −0.2 + 0.4  = 0.2
 *  (1,1) π [0.4, 0, 0.6]    Q̂ [0, 0.3, 0.9]   2.4(1 − 0.9) + 2·(0.54)               = 0.24 + 1.08 = 1.32
 * Cascade-DR = (0.7 + 0.86 + 0.2 + 1.32)/2 = 1.54.
 */
const hand: SlateDataset = {
  n: 2,
  slateSize: 2,
  numItems: 3,
  items: Int32Array.of(2, 0, 1, 2),
  rewards: Float64Array.of(1, 0.5, 0, 1),
  behaviorConditional: Float64Array.of(0.5, 0.4, 0.25, 0.5),
  targetConditional: Float64Array.of(0.8, 0.25, 0.5, 0.6),
  behaviorMarginal: Float64Array.of(0.5, 0.3, 0.4, 0.5),
  targetMarginal: Float64Array.of(0.6, 0.2, 0.3, 0.9),
  targetDistribution: Float64Array.of(0.1, 0.1, 0.8, 0.25, 0.75, 0, 0.3, 0.5, 0.2, 0.4, 0, 0.6),
};
const handQ = { qHat: Float64Array.of(1, 2, 1.5, 0.2, 0.4, 0.6, 0.5, 0.1, 1, 0, 0.3, 0.9) };

describe('slate estimators on a hand-computed dataset', () => {
  it('validates', () => {
    expect(slateDataset(hand)).toBe(hand);
    expect(Array.from(cascadeWeights(hand))).toEqual([1.6, 1.6 * 0.625, 2, 2 * (0.6 / 0.5)]);
  });

  it('SIPS = 1.95, SNSIPS = 3.9/3.4', () => {
    const e = standardSlateIps().estimate(hand);
    expect(e.value).toBeCloseTo(1.95, 12);
    expect(e.estimator).toBe('sips');
    expect(e.n).toBe(2);
    expect(e.diagnostics.maxWeight).toBeCloseTo(2.4, 12);
    // Per-slate terms [1.5, 2.4]: stderr = |1.5 − 2.4|/2.
    expect(e.stderr).toBeCloseTo(0.45, 9);
    expect(standardSlateIps({ selfNormalize: true }).estimate(hand).value).toBeCloseTo(3.9 / 3.4, 12);
  });

  it('RIPS = 2.25, SNRIPS = 1.6/3.6 + 2.9/3.4', () => {
    expect(rewardInteractionIps().estimate(hand).value).toBeCloseTo(2.25, 12);
    const sn = rewardInteractionIps({ selfNormalize: true }).estimate(hand);
    expect(sn.estimator).toBe('snrips');
    expect(sn.value).toBeCloseTo(1.6 / 3.6 + 2.9 / 3.4, 12);
  });

  it('IIPS = 5/3, SNIIPS = 1.2/1.95 + (1/3 + 1.8)/(2/3 + 1.8)', () => {
    expect(independentSlateIps().estimate(hand).value).toBeCloseTo(5 / 3, 12);
    expect(independentSlateIps({ selfNormalize: true }).estimate(hand).value).toBeCloseTo(1.2 / 1.95 + (1 / 3 + 1.8) / (2 / 3 + 1.8), 12);
  });

  it('Cascade-DR = 1.54; with Q̂ = 0 it is RIPS', () => {
    expect(cascadeDr().estimate(hand, handQ).value).toBeCloseTo(1.54, 12);
    expect(cascadeDr().estimate(hand, { qHat: new Float64Array(12) }).value).toBeCloseTo(2.25, 12);
  });

  it('bad input: missing fields, model shape, lengths, probabilities, inconsistent distribution', () => {
    const { targetMarginal: _m, ...noMarg } = hand;
    expect(() => independentSlateIps().estimate(noMarg as SlateDataset)).toThrow(/iips: targetMarginal: expected n × L target marginal probabilities \(iips needs it\)/);
    const { targetDistribution: _d, ...noDist } = hand;
    expect(() => cascadeDr().estimate(noDist as SlateDataset, handQ)).toThrow(/targetDistribution/);
    expect(() => cascadeDr().estimate(hand)).toThrow(ValidationError);
    expect(() => cascadeDr().estimate(hand, { qHat: new Float64Array(11) })).toThrow(/rewardModel\.qHat\.length: expected 12/);
    expect(() => slateDataset({ ...hand, rewards: new Float64Array(3) })).toThrow(/rewards\.length: expected 4/);
    expect(() => slateDataset({ ...hand, items: Int32Array.of(2, 0, 1, 3) })).toThrow(/items\[1\]\[1\]: expected an item in \[0, 3\), received 3/);
    expect(() => slateDataset({ ...hand, behaviorConditional: Float64Array.of(0.5, 0, 0.25, 0.5) })).toThrow(/behaviorConditional\[0\]\[1\]: expected a probability in \(0, 1\]/);
    expect(() => slateDataset({ ...hand, targetMarginal: Float64Array.of(0.6, 1.2, 0.3, 0.9) })).toThrow(/targetMarginal\[0\]\[1\]: expected a probability in \[0, 1\], received 1.2/);
    expect(() => slateDataset({ ...hand, targetConditional: Float64Array.of(0.7, 0.25, 0.5, 0.6) })).toThrow(/targetConditional\[0\]\[0\]/);
    const badDist = Float64Array.from(hand.targetDistribution!);
    badDist[0] = 0.2;
    expect(() => slateDataset({ ...hand, targetDistribution: badDist })).toThrow(/targetDistribution\[0\]\[0\]: expected 3 probabilities summing to 1/);
    expect(() => slateDataset({ ...hand, slateSize: 0 })).toThrow(/slateSize/);
  });
});

// ---------------------------------------------------------------------------------------------
// Synthetic slates with exact values by enumeration: K = 4 items, L = 3, Plackett-Luce
// behaviour and target (no context), Bernoulli rewards per position.

const K = 4;
const L = 3;
const behaviourLogits = [0.5, 0, -0.3, 0.2];
const targetLogits = [-0.5, 1.0, 0.4, -0.2];
const alpha = [0.6, 0.3, 0.5, 0.2]; // item attractiveness
const theta = [1, 0.6, 0.3]; // examination by position
const cascadeAlpha = [0.9, 0.1, 0.8, 0.2]; // click probabilities of the cascade model

type RewardKind = 'item-position' | 'cascade' | 'general';
/** Mean reward at position l of slate s. */
function meanReward(kind: RewardKind, s: number[], l: number): number {
  if (kind === 'item-position') return theta[l] * alpha[s[l]];
  if (kind === 'cascade') {
    // The user scans down and stops at a click: r(l) needs no click above l.
    let p = cascadeAlpha[s[l]];
    for (let j = 0; j < l; j++) p *= 1 - cascadeAlpha[s[j]];
    return p;
  }
  // Position 0's reward depends on what is shown at position 2 (a "complementary" item below).
  return l === 0 ? (s[2] === 2 ? 0.9 : 0.05) : theta[l] * alpha[s[l]];
}

/** PL probability of choosing `a` after `prefix`. */
function plStep(logits: number[], prefix: number[], a: number): number {
  if (prefix.includes(a)) return 0;
  let z = 0;
  for (let b = 0; b < K; b++) if (!prefix.includes(b)) z += Math.exp(logits[b]);
  return Math.exp(logits[a]) / z;
}

function allSlates(): number[][] {
  const out: number[][] = [];
  const rec = (prefix: number[]) => {
    if (prefix.length === L) return void out.push(prefix);
    for (let a = 0; a < K; a++) if (!prefix.includes(a)) rec([...prefix, a]);
  };
  rec([]);
  return out;
}

function slateProb(logits: number[], s: number[]): number {
  let p = 1;
  for (let l = 0; l < L; l++) p *= plStep(logits, s.slice(0, l), s[l]);
  return p;
}

const SLATES = allSlates();
function truth(kind: RewardKind): number {
  let v = 0;
  for (const s of SLATES) for (let l = 0; l < L; l++) v += slateProb(targetLogits, s) * meanReward(kind, s, l);
  return v;
}
function marginal(logits: number[], l: number, a: number): number {
  return SLATES.filter((s) => s[l] === a).reduce((acc, s) => acc + slateProb(logits, s), 0);
}
/** Exact Q_l(prefix ending in the item at l) = E_π[Σ_{l' ≥ l} r(l') | prefix] for prefix-only rewards. */
function exactQ(kind: RewardKind, prefix: number[]): number {
  const l = prefix.length - 1;
  let v = meanReward(kind, prefix, l);
  if (l + 1 < L) for (let a = 0; a < K; a++) if (!prefix.includes(a)) v += plStep(targetLogits, prefix, a) * exactQ(kind, [...prefix, a]);
  return v;
}

function sampleSlates(kind: RewardKind, n: number, seed: number, q: 'exact' | 'const' | 'none' = 'none'): { data: SlateDataset; qHat?: Float64Array } {
  const rng = new Rng(seed);
  const data = {
    n,
    slateSize: L,
    numItems: K,
    items: new Int32Array(n * L),
    rewards: new Float64Array(n * L),
    behaviorConditional: new Float64Array(n * L),
    targetConditional: new Float64Array(n * L),
    behaviorMarginal: new Float64Array(n * L),
    targetMarginal: new Float64Array(n * L),
    targetDistribution: new Float64Array(n * L * K),
  };
  const qHat = q === 'none' ? undefined : new Float64Array(n * L * K);
  const margB = Array.from({ length: L }, (_, l) => Array.from({ length: K }, (_, a) => marginal(behaviourLogits, l, a)));
  const margT = Array.from({ length: L }, (_, l) => Array.from({ length: K }, (_, a) => marginal(targetLogits, l, a)));
  const w = new Float64Array(K);
  for (let i = 0; i < n; i++) {
    const s: number[] = [];
    for (let l = 0; l < L; l++) {
      for (let a = 0; a < K; a++) w[a] = plStep(behaviourLogits, s, a);
      const a = rng.categorical(w);
      const j = i * L + l;
      for (let b = 0; b < K; b++) {
        data.targetDistribution[j * K + b] = plStep(targetLogits, s, b);
        if (qHat) qHat[j * K + b] = q === 'const' ? 0.3 : s.includes(b) ? 0 : exactQ(kind, [...s, b]);
      }
      data.behaviorConditional[j] = w[a];
      data.targetConditional[j] = plStep(targetLogits, s, a);
      data.behaviorMarginal[j] = margB[l][a];
      data.targetMarginal[j] = margT[l][a];
      s.push(a);
      data.items[j] = a;
    }
    for (let l = 0; l < L; l++) data.rewards[i * L + l] = rng.bernoulli(meanReward(kind, s, l)) ? 1 : 0;
  }
  return { data: slateDataset(data), qHat };
}

describe('slate estimators against exact values (PL policies, K = 4, L = 3)', () => {
  const n = 40_000;
  const within = (est: { value: number; stderr: number }, v: number, k = 4) => Math.abs(est.value - v) < k * est.stderr;

  it('enumeration sanity: slate probabilities and marginals sum to 1', () => {
    expect(SLATES.length).toBe(24);
    expect(SLATES.reduce((a, s) => a + slateProb(targetLogits, s), 0)).toBeCloseTo(1, 12);
    for (let l = 0; l < L; l++) expect([0, 1, 2, 3].reduce((a, x) => a + marginal(behaviourLogits, l, x), 0)).toBeCloseTo(1, 12);
  });

  it('item-position rewards: IIPS, RIPS, SIPS all unbiased; IIPS has the smallest stderr', () => {
    const v = truth('item-position');
    const { data } = sampleSlates('item-position', n, 1);
    const iips = independentSlateIps().estimate(data);
    const rips = rewardInteractionIps().estimate(data);
    const sips = standardSlateIps().estimate(data);
    expect(within(iips, v)).toBe(true);
    expect(within(rips, v)).toBe(true);
    expect(within(sips, v)).toBe(true);
    expect(iips.stderr).toBeLessThan(rips.stderr);
    expect(rips.stderr).toBeLessThan(sips.stderr);
    expect(Math.abs(independentSlateIps({ selfNormalize: true }).estimate(data).value - v)).toBeLessThan(4 * iips.stderr);
  });

  it('cascade rewards: RIPS and Cascade-DR (constant and exact Q̂) unbiased, IIPS biased; exact Q̂ cuts the stderr', () => {
    const v = truth('cascade');
    const { data, qHat } = sampleSlates('cascade', n, 2, 'exact');
    const rips = rewardInteractionIps().estimate(data);
    expect(within(rips, v)).toBe(true);
    const drExact = cascadeDr().estimate(data, { qHat: qHat! });
    expect(within(drExact, v)).toBe(true);
    expect(drExact.stderr).toBeLessThan(0.85 * rips.stderr); // Bernoulli noise in r bounds the gain
    const drConst = cascadeDr().estimate(data, { qHat: sampleSlates('cascade', n, 2, 'const').qHat! });
    expect(within(drConst, v)).toBe(true);
    const iips = independentSlateIps().estimate(data);
    expect(Math.abs(iips.value - v)).toBeGreaterThan(6 * iips.stderr); // the negative control
    expect(Math.abs(rewardInteractionIps({ selfNormalize: true }).estimate(data).value - v)).toBeLessThan(4 * rips.stderr);
  });

  it('rewards that depend on items below: SIPS (and SNSIPS) unbiased, RIPS biased', () => {
    const v = truth('general');
    const { data } = sampleSlates('general', n, 3);
    const sips = standardSlateIps().estimate(data);
    expect(within(sips, v)).toBe(true);
    expect(Math.abs(standardSlateIps({ selfNormalize: true }).estimate(data).value - v)).toBeLessThan(4 * sips.stderr);
    const rips = rewardInteractionIps().estimate(data);
    expect(Math.abs(rips.value - v)).toBeGreaterThan(6 * rips.stderr);
  });

  it('terms bootstrap by slate', () => {
    const { data } = sampleSlates('cascade', 2000, 4);
    const terms = rewardInteractionIps().terms(data);
    expect(terms.n).toBe(2000);
    const b = bootstrapTerms(terms, { resamples: 200, seed: 1 });
    const e = rewardInteractionIps().estimate(data);
    expect(b.lower).toBeLessThan(e.value);
    expect(b.upper).toBeGreaterThan(e.value);
    expect(b.stderr).toBeCloseTo(e.stderr, 1);
  });
});

describe('target probabilities from a SlatePolicy', () => {
  beforeAll(async () => {
    await initTensorBackend({ backend: 'wasm' });
  });

  it('slateConditionalsFromLogProbs: exp and prefix products', () => {
    const { conditional, cascade } = slateConditionalsFromLogProbs([Math.log(0.5), Math.log(0.4), 0, Math.log(0.25)], 2, 2);
    [0.5, 0.4, 1, 0.25].forEach((x, j) => expect(conditional[j]).toBeCloseTo(x, 12));
    [0.5, 0.2, 1, 0.25].forEach((x, j) => expect(cascade[j]).toBeCloseTo(x, 12));
    expect(() => slateConditionalsFromLogProbs([0.5], 1, 1)).toThrow(/log-probability <= 0/);
    expect(() => slateConditionalsFromLogProbs([0], 1, 2)).toThrow(/logProbs\.length/);
  });

  it('conditionals, per-position distributions and Monte Carlo marginals match enumeration over all slates', () => {
    const nc = 4;
    const k = 2;
    const policy = new SlatePolicy({ numCandidates: nc, candidateDim: 2, contextDim: 1, slateSize: k, embedSize: 8, encoderHidden: [8], seed: 3 });
    try {
      const B = 3;
      const rng = new Rng(5);
      const queries = {
        size: B,
        candidates: Float32Array.from({ length: B * nc * 2 }, () => rng.normal()),
        context: Float32Array.from({ length: B }, () => rng.normal()),
        candidateMask: Uint8Array.of(1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1),
      };
      const sampled = policy.sample(queries, new Rng(0));
      const before = tf.memory().numTensors;
      const target = slateTargetProbabilities(policy, queries, sampled.slates, { distribution: true, marginalSamples: 4000, seed: 1 });
      expect(tf.memory().numTensors).toBe(before); // no tensor leaks
      // Exact slate probabilities by enumeration: every ordered pair, scored one query at a time.
      const pairs: number[] = [];
      for (let a = 0; a < nc; a++) for (let b = 0; b < nc; b++) if (a !== b) pairs.push(a, b);
      const P = pairs.length / 2;
      for (let q = 0; q < B; q++) {
        const rep = {
          size: P,
          candidates: new Float32Array(P * nc * 2),
          context: new Float32Array(P).fill(queries.context[q]),
          candidateMask: new Uint8Array(P * nc),
        };
        for (let p = 0; p < P; p++) {
          rep.candidates.set(queries.candidates.subarray(q * nc * 2, (q + 1) * nc * 2), p * nc * 2);
          rep.candidateMask.set(queries.candidateMask.subarray(q * nc, (q + 1) * nc), p * nc);
        }
        const lpT = policy.logProbs(rep, Int32Array.from(pairs));
        const lp = Array.from(lpT.dataSync());
        lpT.dispose();
        const prob = Array.from({ length: P }, (_, p) => Math.exp(lp[2 * p] + lp[2 * p + 1]));
        expect(prob.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
        const s0 = sampled.slates[q * k];
        const s1 = sampled.slates[q * k + 1];
        // Conditionals: π(s0) = Σ_b P(s0, b); π(s1 | s0) = P(s0, s1)/π(s0).
        const first = (a: number) => prob.filter((_, p) => pairs[2 * p] === a).reduce((x, y) => x + y, 0);
        const joint = (a: number, b: number) => prob[pairs.findIndex((_, j) => j % 2 === 0 && pairs[j] === a && pairs[j + 1] === b) / 2];
        expect(target.targetConditional[q * k]).toBeCloseTo(first(s0), 4);
        expect(target.targetConditional[q * k + 1]).toBeCloseTo(joint(s0, s1) / first(s0), 4);
        expect(target.targetConditional[q * k]).toBeCloseTo(Math.exp(sampled.logProbs[q * k]), 4);
        // Distributions: position 0 is the first-item marginal; position 1 the conditional after s0.
        for (let a = 0; a < nc; a++) {
          expect(target.targetDistribution![(q * k) * nc + a]).toBeCloseTo(first(a), 4);
          expect(target.targetDistribution![(q * k + 1) * nc + a]).toBeCloseTo(a === s0 ? 0 : joint(s0, a) / first(s0), 4);
        }
        // Marginal of the logged item at position 1: Σ_a P(a, s1); Monte Carlo within 4 sd.
        const m1 = prob.filter((_, p) => pairs[2 * p + 1] === s1).reduce((x, y) => x + y, 0);
        expect(Math.abs(target.targetMarginal![q * k + 1] - m1)).toBeLessThan(4 * Math.sqrt((m1 * (1 - m1)) / 4000) + 1e-9);
        expect(Math.abs(target.targetMarginal![q * k] - first(s0))).toBeLessThan(4 * Math.sqrt((first(s0) * (1 - first(s0))) / 4000) + 1e-9);
      }
      // Masked candidate 1 of query 1 gets probability 0 everywhere.
      expect(target.targetDistribution![(1 * k) * nc + 1]).toBe(0);
      // The outputs plug into a SlateDataset (uniform logging over the valid candidates).
      const behaviorConditional = Float64Array.from({ length: B * k }, (_, j) => 1 / ((Math.floor(j / k) === 1 ? 3 : 4) - (j % k)));
      const data = slateDataset({ n: B, slateSize: k, numItems: nc, items: sampled.slates, rewards: Float64Array.from({ length: B * k }, (_, j) => j % 2), behaviorConditional, ...target });
      expect(Number.isFinite(cascadeDr().estimate(data, { qHat: new Float64Array(B * k * nc).fill(0.5) }).value)).toBe(true);
      expect(() => slateTargetProbabilities(policy, queries, sampled.slates.subarray(0, 4))).toThrow(/slates\.length/);
    } finally {
      policy.dispose();
    }
  });
});
