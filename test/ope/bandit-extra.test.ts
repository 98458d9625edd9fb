import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import {
  clippedIps,
  clippedIpsSlope,
  drShrinkage,
  drShrinkageSlope,
  ips,
  marginalImportanceWeights,
  marginalizedIps,
  optimalSubGaussianLambda,
  slopeSelect,
  subGaussianDr,
  subGaussianIps,
  subGaussianIpsSlope,
  subGaussianWeight,
  switchDr,
  switchDrSlope,
  withSlope,
  type BanditEstimator,
} from '../../src/ope/bandit/index.js';
import { meanTerms } from '../../src/ope/estimate.js';
import type { BanditDataset } from '../../src/ope/types.js';
import { HAND_BANDIT, HAND_BANDIT_MODEL } from './helpers.js';

/*
 * The hand-computed dataset of helpers.ts, K = 2:
 * w = [1.6, 2, 0.25, 2], r = [1, 0, 0.5, 2.5], q̂(x, π) = [0.56, 0.35, 0.10, 1.50] (Σ 2.51),
 * r − q̂(x, a) = [0.4, −0.5, 0, 1.0], Σw² = 10.6225.
 */
const data = HAND_BANDIT;
const model = HAND_BANDIT_MODEL;
/** Full behaviour rows whose logged entries are the propensities above. */
const behaviorProbs = Float64Array.of(0.5, 0.5, 0.75, 0.25, 0.8, 0.2, 0.5, 0.5);

function sdOverRootN(xs: number[]): number {
  const n = xs.length;
  const m = xs.reduce((a, b) => a + b, 0) / n;
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (n - 1) / n);
}

describe('sub-Gaussian IPS / DR (Metelli et al. 2021)', () => {
  it('λ = 0.5: w_λ = 2w/(1 + w) = [16/13, 4/3, 2/5, 4/3]; SG-IPS = (16/13 + 0 + 1/5 + 10/3)/4 = 929/780', () => {
    const e = subGaussianIps({ lambda: 0.5 }).estimate(data);
    expect(e.value).toBeCloseTo(929 / 780, 12);
    expect(e.estimator).toBe('sg-ips(λ=0.5)');
    expect(e.details).toEqual({ lambda: 0.5 });
  });

  it('λ = 0.5 SG-DR = (2.51 + (16/13)(0.4) − (4/3)(0.5) + (4/3)(1.0)) / 4', () => {
    expect(subGaussianDr({ lambda: 0.5 }).estimate(data, model).value).toBeCloseTo((2.51 + 6.4 / 13 + 2 / 3) / 4, 12);
    expect(() => subGaussianDr({ lambda: 0.5 }).estimate(data)).toThrow(ValidationError);
  });

  it('λ = 0 is IPS; λ = 1 gives weight 1 on every row the target can take: mean r = 1', () => {
    expect(subGaussianIps({ lambda: 0 }).estimate(data).value).toBeCloseTo(ips().estimate(data).value, 12);
    expect(subGaussianIps({ lambda: 1 }).estimate(data).value).toBeCloseTo(1, 12);
    expect(subGaussianWeight(0, 1)).toBe(0);
    // Bounded by 1/λ and increasing in w.
    for (const w of [0.1, 1, 10, 1e6]) expect(subGaussianWeight(w, 0.2)).toBeLessThanOrEqual(5);
    expect(subGaussianWeight(3, 0.2)).toBeGreaterThan(subGaussianWeight(2, 0.2));
  });

  it('default λ* = sqrt(ln(1/δ) / (3 d̂₂ n)), d̂₂ = Σw²/n = 10.6225/4, δ = 0.1 → 0.268802…', () => {
    const lam = Math.sqrt(Math.log(10) / (3 * (10.6225 / 4) * 4));
    expect(lam).toBeCloseTo(0.2688024, 6);
    expect(optimalSubGaussianLambda(Float64Array.of(1.6, 2, 0.25, 2))).toBeCloseTo(lam, 12);
    const e = subGaussianIps().estimate(data);
    expect(e.details).toEqual({ lambda: expect.closeTo(lam, 12) });
    const w = [1.6, 2, 0.25, 2].map((x) => x / (1 - lam + lam * x));
    expect(e.value).toBeCloseTo((w[0] * 1 + w[2] * 0.5 + w[3] * 2.5) / 4, 12);
    expect(optimalSubGaussianLambda([1e-9], 0.1)).toBe(1); // clipped to [0, 1]
    expect(optimalSubGaussianLambda([])).toBe(0);
  });

  it('rejects λ outside [0, 1] and δ outside (0, 1)', () => {
    expect(() => subGaussianIps({ lambda: 1.5 })).toThrow(/lambda/);
    expect(() => subGaussianIps({ delta: 0 })).toThrow(/delta/);
    expect(() => optimalSubGaussianLambda([1], 1)).toThrow(ValidationError);
  });
});

describe('marginalized IPS (Saito & Joachims 2022)', () => {
  /*
   * K = 3, embedding e(a) = [0, 0, 1] (actions 0 and 1 share category 0):
   * row | a | μ(·)             | π(·)            | r   | e | p(e|π)  | p(e|μ) | w(x,e)
   *  0  | 0 | [0.5, 0.25, 0.25] | [0.1, 0.7, 0.2] | 1   | 0 | 0.8     | 0.75   | 16/15
   *  1  | 2 | [0.2, 0.2, 0.6]   | [0.3, 0.3, 0.4] | 2   | 1 | 0.4     | 0.6    | 2/3
   *  2  | 1 | [0.6, 0.1, 0.3]   | [0, 0.2, 0.8]   | 0.5 | 0 | 0.2     | 0.7    | 2/7
   * MIPS = (16/15 + 4/3 + 1/7)/3; action weights [0.2, 2/3, 2] (max 2).
   */
  const d3: BanditDataset = {
    n: 3,
    numActions: 3,
    actions: Int32Array.of(0, 2, 1),
    rewards: Float64Array.of(1, 2, 0.5),
    propensities: Float64Array.of(0.5, 0.6, 0.1),
    targetProbs: Float64Array.of(0.1, 0.7, 0.2, 0.3, 0.3, 0.4, 0, 0.2, 0.8),
  };
  const mu3 = Float64Array.of(0.5, 0.25, 0.25, 0.2, 0.2, 0.6, 0.6, 0.1, 0.3);
  const actionEmbeddings = Int32Array.of(0, 0, 1);

  it('deterministic embedding: hand-computed weights, MIPS and SNMIPS', () => {
    const w = marginalImportanceWeights(d3, { behaviorProbs: mu3, actionEmbeddings });
    [16 / 15, 2 / 3, 2 / 7].forEach((x, i) => expect(w[i]).toBeCloseTo(x, 12));
    const e = marginalizedIps({ behaviorProbs: mu3, actionEmbeddings }).estimate(d3);
    expect(e.value).toBeCloseTo((16 / 15 + 4 / 3 + 1 / 7) / 3, 12);
    expect(e.diagnostics.maxWeight).toBeCloseTo(16 / 15, 12);
    expect(e.diagnostics.actionMaxWeight).toBeCloseTo(2, 12);
    const sn = marginalizedIps({ behaviorProbs: mu3, actionEmbeddings, selfNormalize: true }).estimate(d3);
    expect(sn.estimator).toBe('snmips');
    expect(sn.value).toBeCloseTo((16 / 15 + 4 / 3 + 1 / 7) / (16 / 15 + 2 / 3 + 2 / 7), 12);
  });

  it('stochastic p(e|a): row 0 observed e = 1 → (0.01 + 0.35 + 0.16)/(0.05 + 0.125 + 0.2) = 0.52/0.375', () => {
    // p(e|a): a0 [0.9, 0.1], a1 [0.5, 0.5], a2 [0.2, 0.8].
    const table = Float64Array.of(0.9, 0.1, 0.5, 0.5, 0.2, 0.8);
    const w = marginalImportanceWeights(d3, { behaviorProbs: mu3, embeddingProbs: [table], embeddings: Int32Array.of(1, 0, 1) });
    expect(w[0]).toBeCloseTo(0.52 / 0.375, 12);
    // Row 1, e = 0: (0.3·0.9 + 0.3·0.5 + 0.4·0.2)/(0.2·0.9 + 0.2·0.5 + 0.6·0.2) = 0.5/0.4.
    expect(w[1]).toBeCloseTo(0.5 / 0.4, 12);
    expect(() => marginalImportanceWeights(d3, { behaviorProbs: mu3, embeddingProbs: [table] })).toThrow(/embeddings/);
  });

  it('two deterministic dimensions: the joint embedding groups actions with equal ids in both', () => {
    // e(a) = (a % 2, 0): actions 0 and 2 share (0, 0); action 1 is alone.
    const w = marginalImportanceWeights(d3, { behaviorProbs: mu3, actionEmbeddings: Int32Array.of(0, 0, 1, 0, 0, 0), embeddingDim: 2 });
    expect(w[0]).toBeCloseTo((0.1 + 0.2) / (0.5 + 0.25), 12);
    expect(w[1]).toBeCloseTo((0.3 + 0.4) / (0.2 + 0.6), 12);
    expect(w[2]).toBeCloseTo(0.2 / 0.1, 12);
  });

  it('identity embedding is IPS', () => {
    const e = marginalizedIps({ behaviorProbs, actionEmbeddings: Int32Array.of(0, 1) }).estimate(data);
    expect(e.value).toBeCloseTo(1.68125, 12);
  });

  it('validates behaviour rows, the logged propensity, table shapes and support', () => {
    expect(() => marginalizedIps({ behaviorProbs: mu3.subarray(0, 6), actionEmbeddings }).estimate(d3)).toThrow(/behaviorProbs\.length/);
    const bad = Float64Array.from(mu3);
    bad[0] = 0.4;
    bad[1] = 0.35;
    expect(() => marginalizedIps({ behaviorProbs: bad, actionEmbeddings }).estimate(d3)).toThrow(/behaviorProbs\[0\]\[0\]: expected the logged propensity 0.5, received 0.4/);
    expect(() => marginalizedIps({ behaviorProbs: mu3 }).estimate(d3)).toThrow(/exactly one of/);
    expect(() => marginalizedIps({ behaviorProbs: mu3, embeddingProbs: [Float64Array.of(0.5, 0.6, 1, 0, 1, 0)], embeddings: Int32Array.of(0, 0, 0) }).estimate(d3)).toThrow(
      /embeddingProbs\[0\]\[0\]/,
    );
    expect(() => marginalizedIps({ behaviorProbs: mu3, actionEmbeddings, embeddings: Int32Array.of(0, 5, 0) }).estimate(d3)).toThrow(/embeddings\[1\]\[0\]/);
    // Observed embedding impossible under μ: e = 1 needs action 2, which μ never takes on row 0.
    const mu0 = Float64Array.from(mu3);
    mu0.set([0.5, 0.5, 0], 0);
    expect(() => marginalizedIps({ behaviorProbs: mu0, actionEmbeddings, embeddings: Int32Array.of(1, 1, 0) }).estimate(d3)).toThrow(/p\(e\|x,μ\) > 0/);
  });

  it('unbiased with no direct effect, and with lower variance than IPS (K = 40, 4 categories)', () => {
    // 3 contexts; reward depends on (x, e(a)) only; e(a) = a % 4.
    const K = 40;
    const C = 4;
    const contexts = 3;
    const rng = new Rng(11);
    const softmax = (logits: number[]) => {
      const m = Math.max(...logits);
      const e = logits.map((z) => Math.exp(z - m));
      const s = e.reduce((a, b) => a + b, 0);
      return e.map((z) => z / s);
    };
    const mu: number[][] = [];
    const pi: number[][] = [];
    const q: number[][] = [];
    for (let x = 0; x < contexts; x++) {
      mu.push(softmax(Array.from({ length: K }, () => rng.normal(0, 1))));
      pi.push(softmax(Array.from({ length: K }, () => rng.normal(0, 2))));
      q.push(Array.from({ length: C }, () => rng.uniform(0, 1)));
    }
    let truth = 0;
    for (let x = 0; x < contexts; x++) for (let a = 0; a < K; a++) truth += (pi[x][a] * q[x][a % C]) / contexts;
    const n = 20_000;
    const d: BanditDataset & { behaviorProbs: Float64Array } = {
      n,
      numActions: K,
      actions: new Int32Array(n),
      rewards: new Float64Array(n),
      propensities: new Float64Array(n),
      targetProbs: new Float64Array(n * K),
      behaviorProbs: new Float64Array(n * K),
    };
    for (let i = 0; i < n; i++) {
      const x = rng.int(contexts);
      const a = rng.categorical(mu[x]);
      d.actions[i] = a;
      d.propensities[i] = mu[x][a];
      d.rewards[i] = rng.bernoulli(q[x][a % C]) ? 1 : 0;
      d.targetProbs.set(pi[x], i * K);
      d.behaviorProbs.set(mu[x], i * K);
    }
    const emb = Int32Array.from({ length: K }, (_, a) => a % C);
    const m = marginalizedIps({ behaviorProbs: d.behaviorProbs, actionEmbeddings: emb }).estimate(d);
    const v = ips().estimate(d);
    expect(Math.abs(m.value - truth)).toBeLessThan(4 * m.stderr);
    expect(m.stderr).toBeLessThan(v.stderr / 2);
    expect(m.diagnostics.ess).toBeGreaterThan(v.diagnostics.ess);
  });
});

describe('SLOPE (Su et al. 2020; Tucker & Lee 2021)', () => {
  /*
   * Candidates (value, se), κ = 2: A (1.0, 0.5) → [0, 2]; B (0.6, 0.2) → [0.2, 1.0];
   * C (0.5, 0.1) → [0.3, 0.7]; D (0.15, 0.05) → [0.05, 0.25].
   * Order by se: A, B, C, D. A∩B∩C = [0.3, 0.7]; D misses it → `su` picks C.
   * `tucker-lee` (c = 2se, C = √6 − 1 ≈ 1.449): D vs C |0.35| ≤ 0.1 + 1.449·0.2 = 0.390,
   * vs B 0.45 ≤ 0.1 + 0.580, vs A 0.85 ≤ 0.1 + 1.449 → D is kept → picks D.
   */
  const cands = [
    { hyperparameter: 3, value: 0.15, stderr: 0.05 }, // D
    { hyperparameter: 0, value: 1.0, stderr: 0.5 }, // A
    { hyperparameter: 2, value: 0.5, stderr: 0.1 }, // C
    { hyperparameter: 1, value: 0.6, stderr: 0.2 }, // B
  ];

  it('visits candidates by decreasing stderr and applies each rule', () => {
    const su = slopeSelect(cands);
    expect(su.order).toEqual([1, 3, 2, 0]);
    expect(cands[su.index].hyperparameter).toBe(2);
    expect(su.accepted).toBe(3);
    const tl = slopeSelect(cands, { rule: 'tucker-lee' });
    expect(cands[tl.index].hyperparameter).toBe(3);
    // κ = 1: A [0.5, 1.5] ∩ B [0.4, 0.8] = [0.5, 0.8]; C [0.4, 0.6] meets it; D [0.1, 0.2] does not → C.
    expect(cands[slopeSelect(cands, { width: 1 }).index].hyperparameter).toBe(2);
    // κ = 0.5: A [0.75, 1.25], B [0.5, 0.7] are disjoint → A.
    expect(cands[slopeSelect(cands, { width: 0.5 }).index].hyperparameter).toBe(0);
    // Grid order (D, A, C, B as given): D [0.05, 0.25] ∩ A [0, 2] = [0.05, 0.25]; C [0.3, 0.7] misses → A.
    const grid = slopeSelect(cands, { order: 'grid' });
    expect(grid.order).toEqual([0, 1, 2, 3]);
    expect(cands[grid.index].hyperparameter).toBe(0);
    expect(() => slopeSelect([])).toThrow(ValidationError);
  });

  it('withSlope over a family with exact values and stderrs picks C and reports it', () => {
    // meanTerms of [v − s, v + s] (n = 2) has mean v and sd/√n = s exactly.
    const byH = new Map(cands.map((c) => [c.hyperparameter, c]));
    const family = (h: number): BanditEstimator => {
      const c = byH.get(h)!;
      const terms = () => meanTerms('row', Float64Array.of(c.value - c.stderr, c.value + c.stderr));
      return {
        name: `fake(${h})`,
        requiresRewardModel: false,
        terms,
        estimate: () => ({ estimator: `fake(${h})`, value: c.value, stderr: c.stderr, n: 2, diagnostics: { meanWeight: 1, maxWeight: 1, minWeight: 1, ess: 2, essFraction: 1 } }),
      };
    };
    const est = withSlope('fake-slope', family, [0, 1, 2, 3]).estimate(data);
    expect(est.estimator).toBe('fake-slope');
    expect(est.value).toBeCloseTo(0.5, 12);
    expect(est.diagnostics.hyperparameter).toBe(2);
    expect(est.details).toMatchObject({ hyperparameter: 2, chosen: 'fake(2)', rule: 'su', width: 2 });
    expect((est.details!.candidates as unknown[]).length).toBe(4);
    expect(() => withSlope('x', family, [])).toThrow(/grid/);
  });

  it('clipped-ips-slope on a log with one huge weight picks λ = 1 (by hand)', () => {
    /*
     * n = 100, K = 2. Row 0: w = 1/0.02 = 50, r = 1. Rows 1..99: w = 1, r = 1 on odd rows (50), 0 on even (49).
     * λ = ∞:   column [50, r…], mean 100/100 = 1.0,  se 0.4975 → [0.005, 1.995]
     * λ = 10:  column [10, r…], mean 60/100 = 0.6,   se 0.1073 → [0.385, 0.815]
     * λ = 1:   column r,        mean 51/100 = 0.51,  se 0.0502 → [0.410, 0.610]   (meets the above)
     * λ = 0.5: column r/2,      mean 0.255,          se 0.0251 → [0.205, 0.305]   (misses [0.410, 0.610])
     * → λ = 1.
     */
    const n = 100;
    const log: BanditDataset = {
      n,
      numActions: 2,
      actions: new Int32Array(n),
      rewards: Float64Array.from({ length: n }, (_, i) => (i === 0 || i % 2 === 1 ? 1 : 0)),
      propensities: Float64Array.from({ length: n }, (_, i) => (i === 0 ? 0.02 : 0.5)),
      targetProbs: Float64Array.from({ length: 2 * n }, (_, j) => (j < 2 ? (j === 0 ? 1 : 0) : 0.5)),
    };
    const col = (lam: number) => Array.from({ length: n }, (_, i) => Math.min(i === 0 ? 50 : 1, lam) * log.rewards[i]);
    expect(sdOverRootN(col(Infinity))).toBeCloseTo(Math.sqrt(2450 / 99 / 100), 12);
    expect(sdOverRootN(col(1))).toBeCloseTo(Math.sqrt((51 - 100 * 0.51 ** 2) / 99 / 100), 12);
    const est = clippedIpsSlope([Infinity, 10, 1, 0.5]).estimate(log);
    expect(est.details!.hyperparameter).toBe(1);
    expect(est.value).toBeCloseTo(0.51, 12);
    expect(est.value).toBeCloseTo(clippedIps({ maxWeight: 1 }).estimate(log).value, 12);
    const values = (est.details!.candidates as Array<{ value: number; stderr: number }>).map((c) => c.value);
    [1.0, 0.6, 0.51, 0.255].forEach((v, i) => expect(values[i]).toBeCloseTo(v, 12));
    const ses = (est.details!.candidates as Array<{ stderr: number }>).map((c) => c.stderr);
    [col(Infinity), col(10), col(1), col(0.5)].forEach((c, i) => expect(ses[i]).toBeCloseTo(sdOverRootN(c), 8));
    expect((est.details!.candidates as Array<{ hyperparameter: unknown }>)[0].hyperparameter).toBe('Infinity'); // JSON-safe
    // The terms are the chosen candidate's.
    expect(clippedIpsSlope([Infinity, 10, 1, 0.5]).terms(log).columns[0][0]).toBe(1);
  });

  it('ties in stderr keep the grid order: identical columns for λ ≥ 2, then λ = 1 is rejected → λ = 2', () => {
    // Every w = 2 (μ = 0.5, π = 1), r alternating 1/0 over 100 rows.
    // λ ∈ {∞, 2}: column 2r, mean 1, se 1/√99 = 0.1005 → [0.799, 1.201]; λ = 1: mean 0.5, se 0.0503 → [0.399, 0.601].
    const n = 100;
    const log: BanditDataset = {
      n,
      numActions: 2,
      actions: new Int32Array(n),
      rewards: Float64Array.from({ length: n }, (_, i) => i % 2),
      propensities: new Float64Array(n).fill(0.5),
      targetProbs: Float64Array.from({ length: 2 * n }, (_, j) => (j % 2 === 0 ? 1 : 0)),
    };
    const est = clippedIpsSlope([Infinity, 2, 1, 0.5]).estimate(log);
    expect(est.details!.hyperparameter).toBe(2);
    expect(est.value).toBeCloseTo(1, 12);
  });

  it('the preset families pick a member of their grid and return that member’s estimate', () => {
    const fam: Array<[BanditEstimator, (h: number) => BanditEstimator, boolean]> = [
      [switchDrSlope([Infinity, 2, 1.8, 0]), (h) => switchDr({ tau: h }), true],
      [drShrinkageSlope([Infinity, 100, 4, 0]), (h) => drShrinkage({ lambda: h }), true],
      [subGaussianIpsSlope([0, 0.1, 0.5, 1]), (h) => subGaussianIps({ lambda: h }), false],
    ];
    for (const [est, member, needsModel] of fam) {
      expect(est.requiresRewardModel).toBe(needsModel);
      const e = est.estimate(data, model);
      const h = e.details!.hyperparameter as number | string;
      const hv = h === 'Infinity' ? Infinity : (h as number);
      expect(e.value).toBeCloseTo(member(hv).estimate(data, model).value, 12);
    }
    expect(switchDrSlope().name).toBe('switch-dr-slope');
    expect(clippedIpsSlope().name).toBe('clipped-ips-slope');
  });
});
