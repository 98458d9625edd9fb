import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.js';
import {
  clippedIps,
  directMethod,
  doublyRobust,
  drShrinkage,
  fitRewardModel,
  ips,
  loggedWeights,
  selfNormalizedDr,
  snips,
  switchDr,
  type BanditEstimator,
} from '../../src/ope/bandit/index.js';
import { makeSyntheticBandit } from '../../src/ope/synthetic.js';
import { takeRows, type BanditDataset } from '../../src/ope/types.js';
import { HAND_BANDIT, HAND_BANDIT_MODEL, meanAbsError, meanAndSe } from './helpers.js';

// The hand-computed dataset and its table: helpers.ts.
const data = HAND_BANDIT;
const model = HAND_BANDIT_MODEL;

describe('bandit estimators on a hand-computed dataset', () => {
  it('weights and diagnostics', () => {
    expect(Array.from(loggedWeights(data))).toEqual([1.6, 2, 0.25, 2]);
    const d = ips().estimate(data).diagnostics;
    expect(d.meanWeight).toBeCloseTo(5.85 / 4, 12);
    expect(d.maxWeight).toBe(2);
    expect(d.minWeight).toBe(0.25);
    expect(d.ess).toBeCloseTo(5.85 ** 2 / 10.6225, 12); // 3.2217
  });

  it('DM = Σ q̂(x, π) / n = 2.51 / 4', () => {
    expect(directMethod().estimate(data, model).value).toBeCloseTo(0.6275, 12);
  });

  it('IPS = 6.725 / 4, with stderr sd/√n', () => {
    const e = ips().estimate(data);
    expect(e.value).toBeCloseTo(1.68125, 12);
    // Deviations from 1.68125: −0.08125, −1.68125, −1.55625, 3.31875; squares sum 16.26921875.
    expect(e.stderr).toBeCloseTo(Math.sqrt(16.26921875 / 3 / 4), 9);
    expect(e.n).toBe(4);
  });

  it('clipped IPS (λ = 1.5): min(w, 1.5)·r = [1.5, 0, 0.125, 3.75] → 5.375 / 4', () => {
    const e = clippedIps({ maxWeight: 1.5 }).estimate(data);
    expect(e.value).toBeCloseTo(1.34375, 12);
    expect(e.diagnostics.clippedFraction).toBe(0.75);
    expect(e.estimator).toBe('clipped-ips(λ=1.5)');
  });

  it('SNIPS = 6.725 / 5.85, stderr by the delta method for a ratio', () => {
    const e = snips().estimate(data);
    const v = 6.725 / 5.85;
    expect(e.value).toBeCloseTo(v, 12); // 1.1495726
    // Influence of row i: (w_i r_i − V w_i) / mean(w).
    const w = [1.6, 2, 0.25, 2];
    const r = [1, 0, 0.5, 2.5];
    const psi = w.map((wi, i) => (wi * r[i] - v * wi) / (5.85 / 4));
    const se = Math.sqrt(psi.reduce((a, b) => a + b * b, 0) / (4 * 3));
    expect(e.stderr).toBeCloseTo(se, 6);
  });

  it('DR = (2.51 + 1.64) / 4', () => {
    expect(doublyRobust().estimate(data, model).value).toBeCloseTo(1.0375, 12);
  });

  it('SNDR = 2.51/4 + 1.64/5.85', () => {
    expect(selfNormalizedDr().estimate(data, model).value).toBeCloseTo(0.6275 + 1.64 / 5.85, 12); // 0.9078419
  });

  it('Switch-DR (τ = 1.8): DR on rows 0, 2 (w ≤ 1.8), DM on rows 1, 3 → (2.51 + 0.64 + 0) / 4', () => {
    const e = switchDr({ tau: 1.8 }).estimate(data, model);
    expect(e.value).toBeCloseTo(0.7875, 12);
    expect(e.diagnostics.switchedFraction).toBe(0.5);
  });

  it('DR with optimistic shrinkage (λ = 4): ŵ = 4w/(w² + 4)', () => {
    // ŵ = [6.4/6.56, 8/8, 1/4.0625, 1] = [0.9756098, 1, 0.2461538, 1];
    // ŵ(r − q̂) = [0.3902439, −0.5, 0, 1.0] → Σ 0.8902439; (2.51 + 0.8902439) / 4 = 0.8500610.
    expect(drShrinkage({ lambda: 4 }).estimate(data, model).value).toBeCloseTo((2.51 + 0.4 * (6.4 / 6.56) - 0.5 + 1) / 4, 12);
    expect(drShrinkage({ lambda: 4 }).estimate(data, model).value).toBeCloseTo(0.850061, 6);
  });

  it('DR with pessimistic shrinkage (λ = 1.5): min(w, 1.5)(r − q̂) = [0.6, −0.75, 0, 1.5] → (2.51 + 1.35) / 4', () => {
    expect(drShrinkage({ lambda: 1.5, kind: 'pessimistic' }).estimate(data, model).value).toBeCloseTo(0.965, 12);
  });

  it('model-based estimators require a reward model of the right shape', () => {
    expect(() => doublyRobust().estimate(data)).toThrow(ValidationError);
    expect(() => doublyRobust().estimate(data, { qHat: new Float64Array(3) })).toThrow(/rewardModel\.qHat\.length/);
    expect(() => clippedIps({ maxWeight: -1 })).toThrow(ValidationError);
  });
});

/** Random small valid datasets with a reward model, for identities and properties. */
const datasetArb = fc
  .record({ n: fc.integer({ min: 1, max: 25 }), k: fc.integer({ min: 2, max: 4 }), seed: fc.integer({ min: 0, max: 1e6 }) })
  .map(({ n, k, seed }) => {
    let s = seed + 1;
    const rand = () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return (s + 0.5) / 4294967296;
    };
    const probsRow = () => {
      const p = Array.from({ length: k }, () => rand() + 0.05);
      const t = p.reduce((a, b) => a + b, 0);
      return p.map((x) => x / t);
    };
    const actions = new Int32Array(n);
    const propensities = new Float64Array(n);
    const targetProbs = new Float64Array(n * k);
    const rewards = new Float64Array(n);
    const qHat = new Float64Array(n * k);
    for (let i = 0; i < n; i++) {
      const mu = probsRow();
      const a = Math.floor(rand() * k);
      actions[i] = a;
      propensities[i] = mu[a];
      targetProbs.set(probsRow(), i * k);
      rewards[i] = rand() * 4 - 1;
      for (let j = 0; j < k; j++) qHat[i * k + j] = rand() * 2 - 0.5;
    }
    const d: BanditDataset = { n, numActions: k, actions, rewards, propensities, targetProbs };
    return { data: d, model: { qHat } };
  });

const all: BanditEstimator[] = [
  directMethod(),
  ips(),
  clippedIps({ maxWeight: 2 }),
  snips(),
  doublyRobust(),
  selfNormalizedDr(),
  switchDr({ tau: 1.5 }),
  drShrinkage({ lambda: 3 }),
  drShrinkage({ lambda: 2, kind: 'pessimistic' }),
];

describe('identities between bandit estimators', () => {
  it('limits: Switch-DR τ=∞ is DR and τ=0 is DM; shrinkage λ=∞ is DR and λ=0 is DM; clipping at ∞ is IPS', () => {
    fc.assert(
      fc.property(datasetArb, ({ data: d, model: m }) => {
        const dr = doublyRobust().estimate(d, m).value;
        const dm = directMethod().estimate(d, m).value;
        expect(switchDr({ tau: Infinity }).estimate(d, m).value).toBeCloseTo(dr, 12);
        expect(switchDr({ tau: 0 }).estimate(d, m).value).toBeCloseTo(dm, 12);
        expect(drShrinkage({ lambda: Infinity }).estimate(d, m).value).toBeCloseTo(dr, 12);
        expect(drShrinkage({ lambda: 1e15 }).estimate(d, m).value).toBeCloseTo(dr, 9);
        expect(drShrinkage({ lambda: 0 }).estimate(d, m).value).toBeCloseTo(dm, 12);
        expect(drShrinkage({ lambda: Infinity, kind: 'pessimistic' }).estimate(d, m).value).toBeCloseTo(dr, 12);
        expect(clippedIps({ maxWeight: 1e12 }).estimate(d).value).toBeCloseTo(ips().estimate(d).value, 12);
      }),
      { numRuns: 100 },
    );
  });

  it('with q̂ = 0, DR is IPS and SNDR is SNIPS; SNIPS shifts with the rewards, IPS scales', () => {
    fc.assert(
      fc.property(datasetArb, ({ data: d }) => {
        const zero = { qHat: new Float64Array(d.n * d.numActions) };
        expect(doublyRobust().estimate(d, zero).value).toBeCloseTo(ips().estimate(d).value, 12);
        expect(selfNormalizedDr().estimate(d, zero).value).toBeCloseTo(snips().estimate(d).value, 12);
        const shifted = { ...d, rewards: d.rewards.map((r) => r + 3) };
        expect(snips().estimate(shifted).value).toBeCloseTo(snips().estimate(d).value + 3, 10);
        const scaled = { ...d, rewards: d.rewards.map((r) => r * -2) };
        expect(ips().estimate(scaled).value).toBeCloseTo(-2 * ips().estimate(d).value, 10);
      }),
      { numRuns: 100 },
    );
  });

  it('exact, noise-free reward model: DR, SNDR, Switch-DR and shrinkage all equal DM', () => {
    const problem = makeSyntheticBandit({ seed: 4, noiseStd: 0, numContexts: 30 });
    const log = problem.sample(500, 1);
    const exact = problem.trueRewardModel(log);
    for (const t of problem.targets) {
      const d = problem.withTarget(log, t.probs);
      const dm = directMethod().estimate(d, exact).value;
      for (const e of [doublyRobust(), selfNormalizedDr(), switchDr({ tau: 3 }), drShrinkage({ lambda: 5 })]) {
        expect(e.estimate(d, exact).value).toBeCloseTo(dm, 10);
      }
    }
  });

  it('on-policy (π = μ) with q̂ = 0: IPS = SNIPS = mean reward, weights all 1', () => {
    const problem = makeSyntheticBandit({ seed: 5 });
    const log = problem.sample(300, 2);
    const d = problem.withTarget(log, problem.behaviour);
    const mean = d.rewards.reduce((a, b) => a + b, 0) / d.n;
    expect(ips().estimate(d).value).toBeCloseTo(mean, 10);
    expect(snips().estimate(d).value).toBeCloseTo(mean, 10);
    expect(ips().estimate(d).diagnostics.ess).toBeCloseTo(300, 6);
  });
});

describe('properties', () => {
  it('estimates and weight statistics are invariant to permuting rows', () => {
    fc.assert(
      fc.property(datasetArb, fc.nat(), ({ data: d, model: m }, seed) => {
        const perm = Array.from({ length: d.n }, (_, i) => i);
        let s = seed;
        for (let i = perm.length - 1; i > 0; i--) {
          s = (Math.imul(s, 1103515245) + 12345) >>> 0;
          const j = s % (i + 1);
          [perm[i], perm[j]] = [perm[j], perm[i]];
        }
        const pd = takeRows(d, perm);
        const pm = { qHat: new Float64Array(d.n * d.numActions) };
        perm.forEach((i, j) => pm.qHat.set(m.qHat.subarray(i * d.numActions, (i + 1) * d.numActions), j * d.numActions));
        expect([...loggedWeights(pd)].sort()).toEqual([...loggedWeights(d)].sort());
        for (const e of all) {
          const a = e.estimate(d, m);
          const b = e.estimate(pd, pm);
          expect(b.value).toBeCloseTo(a.value, 10);
          expect(b.diagnostics.ess).toBeCloseTo(a.diagnostics.ess, 10);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('estimates are invariant to duplicating the whole dataset (all are functions of means)', () => {
    fc.assert(
      fc.property(datasetArb, ({ data: d, model: m }) => {
        const twice = Array.from({ length: 2 * d.n }, (_, j) => j % d.n);
        const dd = takeRows(d, twice);
        const mm = { qHat: new Float64Array(2 * d.n * d.numActions) };
        mm.qHat.set(m.qHat, 0);
        mm.qHat.set(m.qHat, d.n * d.numActions);
        for (const e of all) expect(e.estimate(dd, mm).value).toBeCloseTo(e.estimate(d, m).value, 10);
        expect(ips().estimate(dd).diagnostics.essFraction).toBeCloseTo(ips().estimate(d).diagnostics.essFraction, 10);
      }),
      { numRuns: 60 },
    );
  });

  it('1 ≤ ESS ≤ n', () => {
    fc.assert(
      fc.property(datasetArb, ({ data: d }) => {
        const ess = ips().estimate(d).diagnostics.ess;
        expect(ess).toBeGreaterThanOrEqual(1 - 1e-9);
        expect(ess).toBeLessThanOrEqual(d.n + 1e-9);
      }),
    );
  });
});

describe('ground truth on the synthetic bandit', () => {
  const problem = makeSyntheticBandit({ seed: 11, numContexts: 50, numActions: 4 });
  const target = problem.targets.find((t) => t.name === 'softmax-r(τ=1)')!;
  const reps = 300;
  const n = 200;
  // A fixed reward model that is wrong (half the true reward plus a constant) but does not
  // depend on the data: DR stays unbiased.
  const wrong = (log: ReturnType<typeof problem.sample>) => ({
    qHat: problem.trueRewardModel(log).qHat.map((q) => 0.5 * q + 0.3),
  });
  const values: Record<string, number[]> = { ips: [], dr: [], 'dr-crossfit': [], dm: [], 'clipped-ips(λ=1)': [] };
  for (let r = 0; r < reps; r++) {
    const log = problem.sample(n, 100 + r);
    const d = problem.withTarget(log, target.probs);
    values.ips.push(ips().estimate(d).value);
    values.dr.push(doublyRobust().estimate(d, wrong(log)).value);
    values['dr-crossfit'].push(doublyRobust().estimate(d, fitRewardModel(d, { kind: 'ridge', folds: 2, seed: r })).value);
    values.dm.push(directMethod().estimate(d, problem.trueRewardModel(log)).value);
    values['clipped-ips(λ=1)'].push(clippedIps({ maxWeight: 1 }).estimate(d).value);
  }

  it.each(['ips', 'dr', 'dr-crossfit', 'dm'])('%s is unbiased: the mean of 300 replications is within 4 standard errors of V(π)', (name) => {
    const { mean, se } = meanAndSe(values[name]);
    expect(Math.abs(mean - target.value)).toBeLessThan(4 * se);
  });

  it('negative control: the same check detects the bias of clipped IPS with a tight cap', () => {
    const { mean, se } = meanAndSe(values['clipped-ips(λ=1)']);
    expect(Math.abs(mean - target.value)).toBeGreaterThan(4 * se);
  });

  it('DM with the exact reward model is the exact value on the sampled contexts', () => {
    const log = problem.sample(100, 3);
    const d = problem.withTarget(log, target.probs);
    let expected = 0;
    for (let i = 0; i < d.n; i++) {
      const c = log.contexts[i];
      for (let a = 0; a < d.numActions; a++) expected += (target.probs[c * 4 + a] * problem.meanRewards[c * 4 + a]) / d.n;
    }
    expect(directMethod().estimate(d, problem.trueRewardModel(log)).value).toBeCloseTo(expected, 12);
  });

  it('the self-normalised estimators are consistent: error shrinks as n grows', () => {
    const greedy = problem.targets.find((t) => t.name === 'softmax-r(τ=0.2)')!;
    const err = (n: number) => {
      const out: Record<string, number[]> = { snips: [], sndr: [] };
      for (let r = 0; r < 30; r++) {
        const log = problem.sample(n, 9000 + r);
        const d = problem.withTarget(log, greedy.probs);
        out.snips.push(snips().estimate(d).value);
        out.sndr.push(selfNormalizedDr().estimate(d, wrong(log)).value);
      }
      return { snips: meanAbsError(out.snips, greedy.value), sndr: meanAbsError(out.sndr, greedy.value) };
    };
    const small = err(100);
    const large = err(3200);
    // √32 ≈ 5.7× fewer errors expected; require at least 2.5×.
    expect(large.snips).toBeLessThan(small.snips / 2.5);
    expect(large.sndr).toBeLessThan(small.sndr / 2.5);
  });
});
