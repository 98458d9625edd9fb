import { describe, expect, it } from 'vitest';
import { ips, snips, doublyRobust, type BanditEstimator } from '../../src/ope/bandit/index.js';
import {
  blockStates,
  bootstrapEstimator,
  bootstrapReplicates,
  bootstrapTerms,
  intervalFromReplicates,
  poissonBlockSums,
  poissonTables,
  quantileSorted,
  withBootstrap,
} from '../../src/ope/bootstrap.js';
import { bootstrapTermsParallel } from '../../src/ope/bootstrap-parallel.js';
import { effectiveSampleSize, meanTerms } from '../../src/ope/estimate.js';
import { fqe, magic, perDecisionIs, fitFqe } from '../../src/ope/sequential/index.js';
import { makeSyntheticBandit, makeSyntheticMdp } from '../../src/ope/synthetic.js';

describe('Poisson(1) weights', () => {
  it('the 32-bit tables give P(k) = e⁻¹/k! to 2⁻³² resolution', () => {
    const { thresholds, lut } = poissonTables();
    let fact = 1;
    for (let k = 0; k < 8; k++) {
      if (k > 0) fact *= k;
      const p = (thresholds[k] - (k ? thresholds[k - 1] : 0)) / 2 ** 32;
      expect(Math.abs(p - Math.exp(-1) / fact)).toBeLessThan(2 ** -31);
    }
    // Every bucket but those containing a threshold resolves from the top 16 bits.
    expect(lut.filter((v) => v === 255).length).toBeLessThanOrEqual(thresholds.length);
    expect(lut[0]).toBe(0);
    expect(lut[65535]).toBe(255);
  });

  it('resample totals have mean n and variance n', () => {
    const n = 4 * 4096;
    const ones = new Float64Array(n).fill(1);
    const numBlocks = 4;
    const { thresholds, lut } = poissonTables();
    const out = new Float64Array(numBlocks * 200 * 2);
    poissonBlockSums([ones], n, 0, numBlocks, 4096, 200, blockStates(3, numBlocks), lut, thresholds, out);
    const totals = Array.from({ length: 200 }, (_, b) => {
      let t = 0;
      for (let blk = 0; blk < numBlocks; blk++) t += out[(blk * 200 + b) * 2 + 1];
      return t;
    });
    const mean = totals.reduce((a, b) => a + b) / 200;
    const variance = totals.reduce((a, b) => a + (b - mean) ** 2, 0) / 199;
    expect(Math.abs(mean - n)).toBeLessThan(4 * Math.sqrt(n / 200));
    expect(variance / n).toBeGreaterThan(0.75);
    expect(variance / n).toBeLessThan(1.3);
  });
});

describe('bootstrap intervals', () => {
  const problem = makeSyntheticBandit({ seed: 21, numContexts: 40 });
  const target = problem.targets.find((t) => t.name === 'softmax-r(τ=1)')!;

  it('are seeded, and percentile and basic intervals mirror each other around the estimate', () => {
    const d = problem.withTarget(problem.sample(400, 1), target.probs);
    const terms = ips().terms(d);
    const a = bootstrapTerms(terms, { seed: 4 });
    const b = bootstrapTerms(terms, { seed: 4 });
    const c = bootstrapTerms(terms, { seed: 5 });
    expect(a.lower).toBe(b.lower);
    expect(a.upper).toBe(b.upper);
    expect(c.lower).not.toBe(a.lower);
    const basic = bootstrapTerms(terms, { seed: 4, method: 'basic' });
    expect(basic.lower).toBeCloseTo(2 * a.estimate - a.upper, 12);
    expect(basic.upper).toBeCloseTo(2 * a.estimate - a.lower, 12);
    expect(a.estimate).toBeCloseTo(ips().estimate(d).value, 12);
    expect(a.lower).toBeLessThan(a.estimate);
    expect(a.upper).toBeGreaterThan(a.estimate);
  });

  it('quantiles interpolate linearly (type 7)', () => {
    expect(quantileSorted([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantileSorted([1, 2, 3, 4], 0)).toBe(1);
    expect(quantileSorted([1, 2, 3, 4], 1)).toBe(4);
    const r = intervalFromReplicates(2, Float64Array.of(1, 2, 3, 4, 5), { alpha: 0.5 });
    expect([r.lower, r.upper]).toEqual([2, 4]);
  });

  it.each([
    ['ips', 'multinomial', ips()],
    ['snips', 'multinomial', snips()],
    ['dr', 'poisson', doublyRobust()],
  ] as [string, 'multinomial' | 'poisson', BanditEstimator][])(
    '%s: the 90 percent interval covers V(π) in about 90 percent of 120 seeded replications (%s weights)',
    (_name, scheme, estimator) => {
      let covered = 0;
      const reps = 120;
      for (let r = 0; r < reps; r++) {
        const log = problem.sample(300, 40 + r);
        const d = problem.withTarget(log, target.probs);
        const model = { qHat: problem.trueRewardModel(log).qHat.map((q) => 0.7 * q) };
        const ci = bootstrapEstimator(estimator, d, model, { resamples: 200, alpha: 0.1, seed: r, scheme });
        if (ci.lower <= target.value && target.value <= ci.upper) covered++;
      }
      // Binomial(120, 0.9) has sd 3.3: a loose band of ±4 sd around 108.
      expect(covered / reps).toBeGreaterThan(0.78);
      expect(covered / reps).toBeLessThanOrEqual(0.99);
    },
  );

  it('resamples whole episodes: per-decision IS covers V(π) in about 90% of replications', () => {
    const mdp = makeSyntheticMdp({ seed: 9, horizon: 3, uniformMix: 0.3 });
    const t = mdp.targets.find((x) => x.name === 'random-softmax')!;
    let covered = 0;
    const reps = 100;
    for (let r = 0; r < reps; r++) {
      const d = mdp.withTarget(mdp.sample(150, 300 + r), t.probs);
      const ci = bootstrapEstimator(perDecisionIs(), d, undefined, { resamples: 200, alpha: 0.1, seed: r });
      if (ci.lower <= t.value && t.value <= ci.upper) covered++;
    }
    expect(covered / reps).toBeGreaterThan(0.78);
    expect(covered / reps).toBeLessThanOrEqual(0.99);
  });

  it('the generic path (re-running the estimator) agrees with the vectorised path', () => {
    const d = problem.withTarget(problem.sample(2000, 3), target.probs);
    const termsOnly = snips();
    const generic: BanditEstimator = { ...termsOnly, terms: undefined as never };
    delete (generic as { terms?: unknown }).terms;
    const fast = bootstrapEstimator(termsOnly, d, undefined, { seed: 1 });
    const slow = bootstrapEstimator(generic, d, undefined, { seed: 1 });
    const width = fast.upper - fast.lower;
    expect(Math.abs(slow.lower - fast.lower)).toBeLessThan(0.25 * width);
    expect(Math.abs(slow.upper - fast.upper)).toBeLessThan(0.25 * width);
    // Same seed, same multinomial draws (n calls of rng.int(n) per resample): the replicates
    // agree up to the order of summation.
    fast.replicates.forEach((v, i) => expect(slow.replicates[i]).toBeCloseTo(v, 10));
  });

  it('MAGIC and FQE are bootstrapped by re-running them on resampled episodes', () => {
    const mdp = makeSyntheticMdp({ seed: 4, horizon: 3, uniformMix: 0.3 });
    const t = mdp.targets[3];
    const d = mdp.withTarget(mdp.sample(120, 1), t.probs);
    const m = fitFqe(d, { folds: 2 });
    const e1 = withBootstrap(magic({ resamples: 30 }), d, m, { resamples: 30, seed: 2 });
    expect(e1.interval!.lower).toBeLessThanOrEqual(e1.interval!.upper);
    expect(Number.isFinite(e1.interval!.stderr)).toBe(true);
    const e2 = withBootstrap(fqe(), d, undefined, { resamples: 30, seed: 2 });
    expect(e2.interval!.lower).toBeLessThan(e2.value + 1e-9);
    expect(e2.interval!.upper).toBeGreaterThan(e2.value - 1e-9);
  });

  it('the parallel Poisson bootstrap gives bit-identical replicates to the single-threaded one', async () => {
    const d = problem.withTarget(problem.sample(60_000, 5), target.probs);
    for (const terms of [ips().terms(d), snips().terms(d)]) {
      const single = bootstrapTerms(terms, { resamples: 50, seed: 9 });
      expect(single.scheme).toBe('poisson');
      const multi = await bootstrapTermsParallel(terms, { resamples: 50, seed: 9, workers: 2 });
      expect(Array.from(multi.replicates)).toEqual(Array.from(single.replicates));
      expect(multi.lower).toBe(single.lower);
    }
  });

  it('Poisson and multinomial replicates have the same spread', () => {
    const d = problem.withTarget(problem.sample(3000, 6), target.probs);
    const terms = ips().terms(d);
    const sd = (x: Float64Array) => {
      const m = x.reduce((a, b) => a + b) / x.length;
      return Math.sqrt(x.reduce((a, b) => a + (b - m) ** 2, 0) / (x.length - 1));
    };
    const p = sd(bootstrapReplicates(terms, { scheme: 'poisson', resamples: 400, seed: 1 }));
    const m = sd(bootstrapReplicates(terms, { scheme: 'multinomial', resamples: 400, seed: 1 }));
    expect(p / m).toBeGreaterThan(0.8);
    expect(p / m).toBeLessThan(1.25);
    // Both match the delta-method standard error.
    expect(p / ips().estimate(d).stderr).toBeGreaterThan(0.8);
    expect(p / ips().estimate(d).stderr).toBeLessThan(1.25);
  });

  it('effective sample size (Σw)²/Σw²', () => {
    expect(effectiveSampleSize([1, 1, 1, 1])).toBe(4);
    expect(effectiveSampleSize([2, 0, 0, 0])).toBe(1);
    expect(effectiveSampleSize([1, 3])).toBeCloseTo(16 / 10, 12);
    expect(meanTerms('row', Float64Array.of(1, 2)).combine(Float64Array.of(3), 2)).toBe(1.5);
  });
});
