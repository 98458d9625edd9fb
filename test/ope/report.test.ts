import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.js';
import { directMethod, doublyRobust, fitRewardModel, ips, snips } from '../../src/ope/bandit/index.js';
import { buildOpeReport, formatNumber, loggingPolicyValue, renderMarkdown } from '../../src/ope/report.js';
import { fitFqe, fqe, perDecisionIs, weightedDr } from '../../src/ope/sequential/index.js';
import { makeSyntheticBandit, makeSyntheticMdp } from '../../src/ope/synthetic.js';

describe('OPE report', () => {
  const problem = makeSyntheticBandit({ seed: 31, numContexts: 30 });
  const log = problem.sample(800, 2);
  const target = problem.targets[3];
  const data = problem.withTarget(log, target.probs);
  const model = fitRewardModel(data, { folds: 2, seed: 1 });

  it('runs every estimator, attaches intervals and normalises by the logging value', async () => {
    const report = await buildOpeReport(data, [ips(), snips(), directMethod(), doublyRobust()], {
      rewardModel: model,
      bootstrap: { resamples: 100, alpha: 0.1, seed: 3 },
    });
    expect(report.kind).toBe('bandit');
    expect(report.n).toBe(800);
    const meanReward = data.rewards.reduce((a, b) => a + b, 0) / data.n;
    expect(report.loggingPolicyValue.value).toBeCloseTo(meanReward, 12);
    expect(report.estimates.map((e) => e.estimator)).toEqual(['ips', 'snips', 'dm', 'dr']);
    for (const e of report.estimates) {
      expect(e.value).toBeCloseTo(
        ({ ips: ips(), snips: snips(), dm: directMethod(), dr: doublyRobust() } as const)[e.estimator as 'ips'].estimate(data, model).value,
        12,
      );
      expect(e.normalised.value).toBeCloseTo(e.value / meanReward, 12);
      expect(e.interval!.lower).toBeLessThan(e.interval!.upper);
      expect(e.normalised.lower).toBeCloseTo(Math.min(e.interval!.lower, e.interval!.upper) / meanReward, 12);
    }
    expect(report.bootstrap).toEqual({ resamples: 100, alpha: 0.1, seed: 3, method: 'percentile' });
    // Plain JSON.
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
    const md = renderMarkdown(report);
    expect(md).toContain('| dr |');
    expect(md).toContain(formatNumber(meanReward));
    expect(md).toContain('90% level');
    expect(md.split('\n').filter((l) => l.startsWith('| ')).length).toBe(2 + 4);
  });

  it('uses the worker-thread bootstrap when asked, with the same result', async () => {
    const big = problem.withTarget(problem.sample(60_000, 4), target.probs);
    const one = await buildOpeReport(big, [ips()], { bootstrap: { resamples: 40, seed: 1 } });
    const two = await buildOpeReport(big, [ips()], { bootstrap: { resamples: 40, seed: 1, workers: 2 } });
    expect(two.estimates[0].interval).toEqual(one.estimates[0].interval);
  });

  it('a missing reward model is a validation error naming it', async () => {
    await expect(buildOpeReport(data, [doublyRobust()], { bootstrap: false })).rejects.toThrow(ValidationError);
    await expect(buildOpeReport(data, [doublyRobust()], { bootstrap: false })).rejects.toThrow(/rewardModel/);
  });

  it('sequential report: logging value is the mean discounted return', async () => {
    const mdp = makeSyntheticMdp({ seed: 2, horizon: 3 });
    const eps = mdp.sample(200, 1);
    const d = mdp.withTarget(eps, mdp.targets[1].probs);
    const report = await buildOpeReport(d, [perDecisionIs(), weightedDr(), fqe()], {
      qModel: fitFqe(d, { folds: 2 }),
      bootstrap: { resamples: 30, seed: 1 },
    });
    expect(report.kind).toBe('sequential');
    expect(report.gamma).toBe(mdp.gamma);
    expect(report.loggingPolicyValue.value).toBeCloseTo(loggingPolicyValue(d).value, 12);
    expect(report.estimates).toHaveLength(3);
    expect(renderMarkdown(report)).toContain('γ = 0.9');
    const off = await buildOpeReport(d, [perDecisionIs()], { bootstrap: false });
    expect(off.estimates[0].interval).toBeUndefined();
    expect(renderMarkdown(off)).toContain('intervals: none');
  });
});
