/**
 * The guards that keep OPE from presenting numbers that cannot be true: the achievable value
 * range, clipping of model tables, FQE's regularisation and divergence checks, the support
 * verdict, and the report's failure statuses. Expected values are computed by hand here.
 */
import { describe, expect, it } from 'vitest';
import { buildOpeReport } from '../../src/ope/report.js';
import { clipQTable, discountedSteps, inRange, stepRange, valueRange } from '../../src/ope/range.js';
import { SUPPORT_THRESHOLDS, supportDiagnostics } from '../../src/ope/support.js';
import { fitFqe, fqe } from '../../src/ope/sequential/fqe.js';
import { perDecisionIs, sequentialDirectMethod, sequentialDr } from '../../src/ope/sequential/index.js';
import { ips } from '../../src/ope/bandit/index.js';
import type { BanditEstimator } from '../../src/ope/bandit/estimator.js';
import { bootstrapEstimator } from '../../src/ope/bootstrap.js';
import type { BanditDataset, EpisodicDataset } from '../../src/ope/types.js';
import { tinyFqeExample } from './helpers.js';

/**
 * Off-policy linear FQE that diverges without guards (the mechanism of Tsitsiklis & Van Roy
 * 1997's "w → 2w" example): action 0 is logged at x = 1 and x = 2, moving to x = 2 and x = 40;
 * the target always takes action 0, so Q(40, 0) is extrapolated from the fit at x ∈ {1, 2}.
 * Rewards −1 then +1. With Q(x, 0) = θx + b fitted exactly to y(1) = −1 + γ(2θ + b) and
 * y(2) = 1 + γ(40θ + b): θ' = 2 + 38γθ, which grows without bound.
 */
function divergentEpisodes(copies = 4): EpisodicDataset {
  const n = copies;
  const steps = 3 * n;
  const x: number[] = [];
  const actions: number[] = [];
  const rewards: number[] = [];
  const target: number[] = [];
  for (let e = 0; e < n; e++) {
    x.push(1, 2, 40);
    actions.push(0, 0, 1);
    rewards.push(-1, 1, 0);
    target.push(1, 0, 1, 0, 1, 0);
  }
  return {
    numEpisodes: n,
    numSteps: steps,
    numActions: 2,
    episodeStarts: Int32Array.from({ length: n + 1 }, (_, e) => 3 * e),
    actions: Int32Array.from(actions),
    rewards: Float64Array.from(rewards),
    // Action 0 is the only one logged at x = 1 and 2 (propensity 1), so per-decision weights stay 1.
    propensities: Float64Array.from({ length: steps }, (_, j) => (j % 3 === 2 ? 0.5 : 1)),
    targetProbs: Float64Array.from(target),
    features: Float32Array.from(x),
    featureDim: 1,
    gamma: 0.99,
  };
}

describe('valueRange', () => {
  it('is the reward range times the discounted horizon, by hand', () => {
    const d = { ...tinyFqeExample(), rewards: Float64Array.of(-1, 2, 0, 1) }; // γ = 0.5, H = 2
    // G_2 = 1 + 0.5 = 1.5: [−1 · 1.5, 2 · 1.5].
    expect(valueRange(d)).toMatchObject({ lower: -1.5, upper: 3, horizon: 2, rewardMin: -1, rewardMax: 2 });
    // H = 3: G = 1.75; unbounded: 1/(1 − 0.5) = 2.
    expect(valueRange(d, { horizon: 3 })).toMatchObject({ lower: -1.75, upper: 3.5 });
    expect(valueRange(d, { horizon: Infinity })).toMatchObject({ lower: -2, upper: 4 });
    expect(discountedSteps(20, 1)).toBe(20);
    // Non-negative rewards: the lower end is the smallest reward (an episode has a step).
    expect(valueRange(tinyFqeExample())).toMatchObject({ lower: 0, upper: 6 });
    expect(() => valueRange({ ...d, gamma: 1 }, { horizon: Infinity })).toThrow(/horizon: expected a finite horizon when gamma = 1/);
  });

  it('bounds each step by the steps left, and clips tables to it', () => {
    const d = { ...tinyFqeExample(), rewards: Float64Array.of(-1, 2, 0, 1) };
    const r = valueRange(d);
    const { lower, upper } = stepRange(d, r);
    // Step 0 of an episode has 2 steps left (G = 1.5), step 1 one (G = 1).
    expect(Array.from(lower)).toEqual([-1.5, -1, -1.5, -1]);
    expect(Array.from(upper)).toEqual([3, 2, 3, 2]);
    const q = Float64Array.of(5, 0, 0, 0, -9, 0, 0, NaN);
    expect(clipQTable(d, q, r)).toBeCloseTo(2 / 7, 15); // NaN left for the checks to report
    expect(Array.from(q)).toEqual([3, 0, 0, 0, -1.5, 0, 0, NaN]);
    expect(inRange(3 + 1e-12, r)).toBe(true);
    expect(inRange(3.001, r)).toBe(false);
  });
});

describe('supportDiagnostics', () => {
  it('reports Kish ESS of trajectory and per-decision weights, by hand', () => {
    // ρ per step: π(a_t|s_t)/0.5 = [1, 1.5, 1, 0.5]; cumulative [1, 1.5, 1, 0.5]; trajectory [1.5, 0.5].
    const s = supportDiagnostics(tinyFqeExample());
    expect(s.trajectory.ess).toBeCloseTo(4 / 2.5, 15); // (1.5 + 0.5)² / (2.25 + 0.25)
    expect(s.trajectory.maxWeight).toBe(1.5);
    expect(s.trajectory.nonZeroFraction).toBe(1);
    expect(s.perDecision!.ess).toBeCloseTo(16 / 4.5, 15); // (1 + 1.5 + 1 + 0.5)² / (1 + 2.25 + 1 + 0.25)
    expect(s.perDecision!.samples).toBe(4);
    expect(s).toMatchObject({ unit: 'episode', n: 2, verdict: 'too-low', smallData: true });
    expect(s.message).toBe('support too low: estimates rest on the model (ESS 1.6 of 2 episodes; needs >= 30 and >= 1%)');
  });

  it('says a log supports a policy from the documented thresholds on', () => {
    const n = 200;
    const bandit = (matching: number): BanditDataset => ({
      n,
      numActions: 2,
      actions: new Int32Array(n),
      rewards: new Float64Array(n),
      propensities: new Float64Array(n).fill(0.5),
      // π puts all mass on action 0 in the first `matching` rows: weight 2 there, 0 elsewhere.
      targetProbs: Float64Array.from({ length: 2 * n }, (_, j) => (j % 2 === 0 && j / 2 < matching ? 1 : j % 2 === 1 && (j - 1) / 2 >= matching ? 1 : 0)),
    });
    const enough = supportDiagnostics(bandit(SUPPORT_THRESHOLDS.minEss));
    expect(enough.trajectory.ess).toBeCloseTo(30, 12);
    expect(enough).toMatchObject({ verdict: 'supported', smallData: false });
    expect(enough.trajectory.nonZeroFraction).toBeCloseTo(30 / 200, 15);
    expect(supportDiagnostics(bandit(29)).verdict).toBe('too-low');
  });
});

describe('FQE guards', () => {
  it('unguarded linear FQE on the divergent example runs off; clipped FQE stays in range', () => {
    const d = divergentEpisodes();
    const raw = fitFqe(d, { kind: 'linear', lambda: 1e-9, clip: false, maxIterations: 100 });
    expect(Math.abs(raw.value)).toBeGreaterThan(1e100); // θ' = 2 + 38γθ: about 37.6^100
    const clipped = fitFqe(d, { kind: 'linear', lambda: 1e-9, maxIterations: 200 });
    const range = valueRange(d); // rewards [−1, 1], H = 3, γ = 0.99
    expect(range.upper).toBeCloseTo(1 + 0.99 + 0.99 ** 2, 12);
    expect(range.lower).toBeCloseTo(-range.upper, 12);
    expect(inRange(clipped.value, range)).toBe(true);
    for (const q of clipped.qHat) expect(inRange(q, range)).toBe(true);
    // Q(40, 0) is extrapolated far out of range at the fixed point: 1 of the 6 entries an episode.
    expect(clipped.outOfRange).toBeCloseTo(1 / 6, 12);
    expect(clipped.status).toBe('unusable');
    expect(clipped.problems).toEqual(['16.7% of the fitted Q̂ lay outside the achievable range before clipping (at most 5% allowed)']);
    expect(fqe({ kind: 'linear', lambda: 1e-9 }).estimate(d)).toMatchObject({ value: NaN, details: { problems: clipped.problems } });
  });

  it("'auto' raises the ridge strength until the fit is stable and in range", () => {
    const d = divergentEpisodes();
    const auto = fitFqe(d, { kind: 'linear' });
    expect(auto.status).toBe('ok');
    expect(auto.lambda).toBeGreaterThan(1e-3);
    expect(auto.outOfRange).toBeLessThanOrEqual(0.05);
    // Too weak a penalty is what it stepped over: a tenth of the chosen one is still unusable.
    expect(fitFqe(d, { kind: 'linear', lambda: auto.lambda / 10, maxIterations: 200 }).status).toBe('unusable');
    // On data the class fits exactly (the hand-computed example), auto is usable.
    expect(fitFqe(tinyFqeExample(Float32Array.of(1, 0, 1, 0)), { kind: 'linear' }).status).toBe('ok');
  });

  it('a non-converged fit is reported, not presented', () => {
    const d = tinyFqeExample();
    const m = fitFqe(d, { kind: 'tabular', maxIterations: 1 });
    expect(m.converged).toBe(false);
    expect(m.status).toBe('unusable');
    expect(m.problems[0]).toMatch(/^did not converge in 1 iterations \(last change /);
    expect(fitFqe(d, { kind: 'tabular' })).toMatchObject({ status: 'ok', value: 1.75 });
  });
});

describe('report failures', () => {
  it('estimators on an unusable model fail with its reasons; the others still run', async () => {
    const d = divergentEpisodes(40);
    const model = fitFqe(d, { kind: 'linear', lambda: 1e-9, folds: 2 });
    expect(model.status).toBe('unusable');
    const report = await buildOpeReport(d, [perDecisionIs(), sequentialDirectMethod(), sequentialDr()], {
      qModel: model,
      modelSummary: { description: 'linear FQE', status: model.status, problems: model.problems, clippedFraction: model.outOfRange },
      bootstrap: { resamples: 20, seed: 1 },
    });
    expect(report.estimates.map((e) => e.status)).toEqual(['ok', 'failed', 'failed']);
    expect(report.estimates[1].failure).toMatch(/^rests on the linear FQE, which is unusable: /);
    expect(report.failures).toBe(2);
    expect(report.model?.status).toBe('unusable');
    expect(JSON.parse(JSON.stringify(report)).estimates[1].value).toBeNull();
  });

  it('a NaN estimate is a failure naming the rows; its bootstrap never runs', async () => {
    const n = 10;
    const data: BanditDataset = {
      n,
      numActions: 2,
      actions: new Int32Array(n),
      rewards: Float64Array.from({ length: n }, (_, i) => i % 2),
      propensities: new Float64Array(n).fill(0.5),
      targetProbs: new Float64Array(2 * n).fill(0.5),
    };
    const broken: BanditEstimator = {
      name: 'broken',
      requiresRewardModel: false,
      terms: () => ({ unit: 'row', n, columns: [Float64Array.from({ length: n }, (_, i) => (i === 3 ? NaN : 1))], combine: (s, t) => s[0] / t }),
      estimate: () => ({ estimator: 'broken', value: NaN, stderr: 0, n, diagnostics: { meanWeight: 1, maxWeight: 1, minWeight: 1, ess: n, essFraction: 1 } }),
    };
    const report = await buildOpeReport(data, [ips(), broken], { bootstrap: { resamples: 30, seed: 0 } });
    expect(report.estimates[0].status).toBe('ok');
    expect(report.estimates[1].status).toBe('failed');
    expect(report.estimates[1].interval).toBeUndefined();
    expect(report.estimates[1].failure).toBe('value is NaN; 1 rows have non-finite terms (first: row 3); 10 of 10 rows have non-zero weight, largest weight 1.0000 (row 0)');
  });

  it('intervals come from finite resamples only, and say how many were dropped', () => {
    // A ratio whose denominator is non-zero in one row of 20: most resamples miss it (0/0).
    const n = 20;
    const data: BanditDataset = {
      n,
      numActions: 2,
      actions: new Int32Array(n),
      rewards: new Float64Array(n).fill(1),
      propensities: new Float64Array(n).fill(0.5),
      targetProbs: new Float64Array(2 * n).fill(0.5),
    };
    const den = Float64Array.from({ length: n }, (_, i) => (i === 0 ? 1 : 0));
    const ratio: BanditEstimator = {
      name: 'ratio',
      requiresRewardModel: false,
      terms: () => ({ unit: 'row', n, columns: [den, den], combine: (s) => s[0] / s[1] }),
      estimate: () => ({ estimator: 'ratio', value: 1, stderr: 0, n, diagnostics: { meanWeight: 1, maxWeight: 1, minWeight: 1, ess: n, essFraction: 1 } }),
    };
    const r = bootstrapEstimator(ratio, data, undefined, { resamples: 200, seed: 5 });
    // P(row 0 drawn at least once in 20 draws) = 1 − 0.95^20 ≈ 0.64: about 72 of 200 dropped.
    expect(r.dropped).toBeGreaterThan(40);
    expect(r.dropped).toBeLessThan(110);
    expect(r.replicates.filter(Number.isNaN).length).toBe(r.dropped);
    expect([r.lower, r.upper]).toEqual([1, 1]);
  });
});
