/**
 * AdsSupply-v0 against its exact references: hand-computed page dynamics, the DP optimum
 * against the myopic policy, and DP values against Monte-Carlo simulation of the env.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../../src/core/rng.js';
import { make, register } from '../../../src/envs/registry.js';
import { simRegistrations } from '../../../src/envs/sims/index.js';
import {
  AdsSupply,
  adsExpectedRevenue,
  adsFatigueMax,
  adsLeaveProbability,
  adsMyopicPolicy,
  adsNextFatigue,
  resolveAdsSupplyOptions,
} from '../../../src/envs/sims/ads-supply.js';
import { evaluateAdsSupplyPolicy, solveAdsSupply } from '../../../src/envs/sims/ads-supply-dp.js';

// Only the simulators: importing every built-in env (Box2D included) would slow the test down.
for (const reg of simRegistrations) register(reg);

/** The small discretised model: the defaults with fatigue on a grid of step 0.25. */
const SMALL = { fatigueStep: 0.25 };

interface MonteCarlo {
  mean: number;
  se: number;
  meanLength: number;
  /** Mean ads on each of the first pages, over the sessions that reached them. */
  earlyAds: number[];
}

function simulate(options: Record<string, unknown>, policy: (obs: Float32Array) => number, episodes: number, seed: number): MonteCarlo {
  const env = make<Float32Array, number>('AdsSupply-v0', options);
  let sum = 0;
  let sumSq = 0;
  let steps = 0;
  const adsSum = [0, 0, 0, 0, 0];
  const adsCount = [0, 0, 0, 0, 0];
  for (let ep = 0; ep < episodes; ep++) {
    let { observation } = env.reset({ seed: seed + ep });
    let ret = 0;
    for (let t = 0; ; t++) {
      const a = policy(observation);
      if (t < adsSum.length) {
        adsSum[t] += a;
        adsCount[t]++;
      }
      const r = env.step(a);
      ret += r.reward;
      steps++;
      observation = r.observation;
      if (r.terminated || r.truncated) break;
    }
    sum += ret;
    sumSq += ret * ret;
  }
  const mean = sum / episodes;
  const variance = (sumSq - episodes * mean * mean) / (episodes - 1);
  return { mean, se: Math.sqrt(variance / episodes), meanLength: steps / episodes, earlyAds: adsSum.map((s, i) => s / adsCount[i]) };
}

describe('AdsSupply-v0 dynamics', () => {
  const o = resolveAdsSupplyOptions();

  it('matches hand-computed page quantities at the defaults', () => {
    // 5 ads × 0.05 clicks × 2 per click.
    expect(adsExpectedRevenue(o, 5)).toBeCloseTo(0.5, 15);
    // Averse user (φ = 0.8) from zero fatigue: 0.7 · 0 + 0.8 · 5 = 4; then 0.7 · 4 + 0.8 · 5 = 6.8.
    expect(adsNextFatigue(o, 0, 5, 0.8)).toBeCloseTo(4, 15);
    expect(adsNextFatigue(o, 4, 5, 0.8)).toBeCloseTo(6.8, 15);
    // ℓ(4) = 1 − 0.97 · exp(−(4/4)^4) = 1 − 0.97/e.
    expect(adsLeaveProbability(o, 4)).toBeCloseTo(1 - 0.97 / Math.E, 15);
    expect(adsLeaveProbability(o, 0)).toBeCloseTo(0.03, 15);
    // max φ · maxAds / (1 − δ) = 0.8 · 5 / 0.3.
    expect(adsFatigueMax(o)).toBeCloseTo(40 / 3, 12);
    // With positionDecay 0.5 the slots earn 0.1, 0.05, 0.025.
    expect(adsExpectedRevenue(resolveAdsSupplyOptions({ positionDecay: 0.5 }), 3)).toBeCloseTo(0.175, 15);
  });

  it('steps as documented: observation, fatigue, reward vector, session end', () => {
    const env = new AdsSupply();
    const { observation, info } = env.reset({ seed: 0, options: { userType: 'averse' } });
    expect(info.userType).toBe('averse');
    expect(Array.from(observation)).toEqual([0, 0, 1, 0, 0]);
    const r = env.step(5);
    expect(env.getState()[1]).toBeCloseTo(4, 12);
    expect(r.observation[0]).toBeCloseTo(1 / 20, 7);
    expect(r.observation[1]).toBeCloseTo(4 / (40 / 3), 7);
    const v = r.info.rewardVector!;
    expect(Number.isInteger(v.revenue / 2) && v.revenue <= 10).toBe(true);
    expect(Number.isInteger(v.engagement) && v.engagement <= 5).toBe(true);
    expect(r.reward).toBeCloseTo(v.revenue + 0.05 * v.engagement, 12);
    // A session on its last page terminates whatever happens.
    env.setState([19, 0, 2]);
    expect(env.step(0)).toMatchObject({ terminated: true, truncated: false });
    expect(() => env.step(0)).toThrow(/after the episode ended/);
    expect(() => env.setState([20, 0, 0])).toThrow(/state\[0\]: expected a page index in \[0, 19\]/);
  });

  it('the myopic policy always shows the most ads at the defaults', () => {
    const policy = adsMyopicPolicy();
    for (const f of [0, 0.3, 0.7, 1]) expect(policy(Float32Array.of(0, f, 1, 0, 0))).toBe(5);
    // When engagement is worth more than an ad, it shows none.
    expect(adsMyopicPolicy({ engagementWeight: 1 })(Float32Array.of(0, 0, 1, 0, 0))).toBe(0);
  });
});

describe('AdsSupply-v0 exact DP', () => {
  const best = solveAdsSupply(SMALL);
  const myopic = evaluateAdsSupplyPolicy(SMALL, adsMyopicPolicy(SMALL));

  it('the optimal policy beats the myopic one by a clear margin', () => {
    // Exact values of the discretised default model (docs/sims.md): 2.533 against 1.221.
    expect(best.value).toBeCloseTo(2.533, 2);
    expect(myopic.value).toBeCloseTo(1.221, 2);
    expect(best.value).toBeGreaterThan(1.8 * myopic.value);
    for (let u = 0; u < 3; u++) expect(best.valueByType[u]).toBeGreaterThan(1.5 * myopic.valueByType[u]);
    // Tolerant users are worth more, and the optimum beats every constant number of ads.
    expect(best.valueByType[2]).toBeGreaterThan(best.valueByType[0]);
    for (let a = 0; a <= 5; a++) expect(best.value).toBeGreaterThan(evaluateAdsSupplyPolicy(SMALL, () => a).value + 0.3);
  });

  it('evaluating the optimal policy gives the optimal value back', () => {
    const again = evaluateAdsSupplyPolicy(SMALL, best.policy);
    expect(again.value).toBeCloseTo(best.value, 12);
    expect(Array.from(again.actions)).toEqual(Array.from(best.actions));
  });

  it('DP values match Monte-Carlo simulation of the discretised env', () => {
    const optMc = simulate(SMALL, best.policy, 4000, 10_000);
    const myoMc = simulate(SMALL, adsMyopicPolicy(SMALL), 4000, 20_000);
    expect(Math.abs(optMc.mean - best.value)).toBeLessThan(4 * optMc.se);
    expect(Math.abs(myoMc.mean - myopic.value)).toBeLessThan(4 * myoMc.se);
    // The myopic policy front-loads ads and loses the user; the optimum spreads them.
    expect(myoMc.earlyAds.every((a) => a === 5)).toBe(true);
    expect(Math.max(...optMc.earlyAds)).toBeLessThan(2.5);
    expect(myoMc.meanLength).toBeLessThan(4);
    expect(optMc.meanLength).toBeGreaterThan(2.5 * myoMc.meanLength);
  });

  it('evaluates stochastic (logging) policies exactly: uniform random against simulation', () => {
    // A probability vector on one action is that action.
    const one = evaluateAdsSupplyPolicy(SMALL, () => [0, 1, 0, 0, 0, 0]);
    expect(one.value).toBeCloseTo(evaluateAdsSupplyPolicy(SMALL, () => 1).value, 14);
    const uniform = evaluateAdsSupplyPolicy(SMALL, () => new Array(6).fill(1 / 6));
    const env = make<Float32Array, number>('AdsSupply-v0', SMALL);
    const rng = new Rng(3);
    const n = 4000;
    let sum = 0;
    let sumSq = 0;
    for (let ep = 0; ep < n; ep++) {
      env.reset({ seed: 70_000 + ep });
      let ret = 0;
      for (;;) {
        const r = env.step(rng.int(6));
        ret += r.reward;
        if (r.terminated) break;
      }
      sum += ret;
      sumSq += ret * ret;
    }
    const mean = sum / n;
    expect(Math.abs(mean - uniform.value)).toBeLessThan(4 * Math.sqrt((sumSq / n - mean * mean) / n));
    expect(() => evaluateAdsSupplyPolicy(SMALL, () => [0.5, 0.6, 0, 0, 0, 0])).toThrow(/policy\(obs\): expected an action in \[0, 5\] or 6 probabilities summing to 1/);
  });

  it('per user type, fixed by reset options, the DP value matches too', () => {
    const env = make<Float32Array, number>('AdsSupply-v0', SMALL);
    const n = 2500;
    let sum = 0;
    let sumSq = 0;
    for (let ep = 0; ep < n; ep++) {
      let { observation } = env.reset({ seed: 50_000 + ep, options: { userType: 0 } });
      let ret = 0;
      for (;;) {
        const r = env.step(best.policy(observation));
        ret += r.reward;
        observation = r.observation;
        if (r.terminated) break;
      }
      sum += ret;
      sumSq += ret * ret;
    }
    const mean = sum / n;
    const se = Math.sqrt((sumSq / n - mean * mean) / n);
    expect(Math.abs(mean - best.valueByType[0])).toBeLessThan(4 * se);
  });

  it('the continuous model: grid values converge and the DP policy earns its value in the env', () => {
    const coarse = solveAdsSupply({}, { fatigueStep: 0.05 });
    const fine = solveAdsSupply({}, { fatigueStep: 0.025 });
    expect(Math.abs(coarse.value - fine.value)).toBeLessThan(2e-3);
    const mc = simulate({}, fine.policy, 3000, 30_000);
    // Statistical error plus the (small) cost of acting on the nearest grid level.
    expect(Math.abs(mc.mean - fine.value)).toBeLessThan(4 * mc.se + 0.01);
    expect(mc.mean).toBeGreaterThan(1.8 * evaluateAdsSupplyPolicy({}, adsMyopicPolicy(), { fatigueStep: 0.05 }).value);
  });
});
