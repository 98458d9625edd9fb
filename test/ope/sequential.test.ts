import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.js';
import {
  fitFqe,
  fqe,
  magic,
  magicBlend,
  minimiseOnSimplex,
  perDecisionIs,
  projectOntoSimplex,
  sequentialDirectMethod,
  sequentialDr,
  trajectoryIs,
  weightedDr,
  weightedIs,
  weightedPerDecisionIs,
  type SequentialEstimator,
} from '../../src/ope/sequential/index.js';
import { makeSyntheticMdp } from '../../src/ope/synthetic.js';
import { validateEpisodicDataset, type EpisodicDataset } from '../../src/ope/types.js';
import { meanAbsError, meanAndSe, tinyFqeExample } from './helpers.js';

/*
 * Hand-computed episodes, K = 2, γ = 0.9.
 *
 * Episode A (2 steps):  t0: a=0, r=1, μ=0.5, π=[0.6, 0.4] → ρ=1.2, w0=1.2; Q̂=[1, 2],    V̂ = 0.6 + 0.8 = 1.4
 *                       t1: a=1, r=2, μ=0.4, π=[0.2, 0.8] → ρ=2,   w1=2.4; Q̂=[0.5, 1.5], V̂ = 0.1 + 1.2 = 1.3
 * Episode B (1 step):   t0: a=1, r=3, μ=0.5, π=[0.5, 0.5] → ρ=1,   w0=1;   Q̂=[2, 4],     V̂ = 1 + 2 = 3
 * After its end B is absorbing: w1 = 1, r = Q̂ = V̂ = 0.
 */
const data: EpisodicDataset = {
  numEpisodes: 2,
  numSteps: 3,
  numActions: 2,
  episodeStarts: Int32Array.of(0, 2, 3),
  actions: Int32Array.of(0, 1, 1),
  rewards: Float64Array.of(1, 2, 3),
  propensities: Float64Array.of(0.5, 0.4, 0.5),
  targetProbs: Float64Array.of(0.6, 0.4, 0.2, 0.8, 0.5, 0.5),
  gamma: 0.9,
};
const model = { qHat: Float64Array.of(1, 2, 0.5, 1.5, 2, 4) };

describe('sequential estimators on hand-computed episodes', () => {
  it('IS: A: w=2.4 × G=1+0.9·2=2.8 → 6.72; B: 1 × 3 → mean 4.86', () => {
    const e = trajectoryIs().estimate(data);
    expect(e.value).toBeCloseTo(4.86, 12);
    expect(e.n).toBe(2);
    expect(e.diagnostics.maxWeight).toBeCloseTo(2.4, 12);
    expect(e.diagnostics.meanEpisodeLength).toBe(1.5);
  });

  it('PDIS: A: 1.2·1 + 0.9·2.4·2 = 5.52; B: 3 → mean 4.26', () => {
    expect(perDecisionIs().estimate(data).value).toBeCloseTo(4.26, 12);
  });

  it('WIS: (6.72 + 3) / (2.4 + 1)', () => {
    expect(weightedIs().estimate(data).value).toBeCloseTo(9.72 / 3.4, 12);
  });

  it('WPDIS: t0: (1.2 + 3)/(1.2 + 1); t1: 0.9·(2.4·2 + 1·0)/(2.4 + 1) (B keeps weight 1 after its end) = 2973/935', () => {
    expect(weightedPerDecisionIs().estimate(data).value).toBeCloseTo(2973 / 935, 12);
  });

  it('sequential DR: A = 3.884 (recursion: t1: 1.3 + 2(2 − 1.5) = 2.3; t0: 1.4 + 1.2(1 + 0.9·2.3 − 1)), B = 3 + (3 − 4) = 2', () => {
    expect(sequentialDr().estimate(data, model).value).toBeCloseTo((3.884 + 2) / 2, 12);
  });

  it('WDR: w̄_0 = [6/11, 5/11], w̄_1 = [12/17, 5/17], w̄_{−1} = 1/2 → 19.2/11 + 0.9(6/17 + 7.8/11) = 505.14/187', () => {
    // t0: Σ w̄_0(r − Q̂) = 6/11·0 + 5/11·(−1); Σ w̄_{−1} V̂_0 = (1.4 + 3)/2 = 2.2  →  19.2/11
    // t1: Σ w̄_1(r − Q̂) = 12/17·0.5 + 0;       Σ w̄_0 V̂_1 = 6/11·1.3 + 5/11·0   →  6/17 + 7.8/11
    expect(weightedDr().estimate(data, model).value).toBeCloseTo(505.14 / 187, 12);
  });

  it('DM: mean V̂(s_0) = (1.4 + 3)/2', () => {
    expect(sequentialDirectMethod().estimate(data, model).value).toBeCloseTo(2.2, 12);
  });

  it('MAGIC j-step returns: g(−1) = DM = 2.2, g(0) = 19.2/11 + 0.9·(6/11·1.3) = 26.22/11, g(1) = WDR', () => {
    const r = magicBlend(data, model.qHat, { jSteps: [-1, 0, 1] });
    expect(r.jSteps).toEqual([-1, 0, 1]);
    expect(r.returns[0]).toBeCloseTo(2.2, 12);
    expect(r.returns[1]).toBeCloseTo(26.22 / 11, 12);
    expect(r.returns[2]).toBeCloseTo(505.14 / 187, 12);
    expect(r.blend.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    expect(Math.min(...r.blend)).toBeGreaterThanOrEqual(0);
    expect(r.value).toBeGreaterThanOrEqual(Math.min(...r.returns) - 1e-12);
    expect(r.value).toBeLessThanOrEqual(Math.max(...r.returns) + 1e-12);
    // J = {∞} is WDR and J = {−1} is the model alone.
    expect(magic({ jSteps: [Infinity] }).estimate(data, model).value).toBeCloseTo(505.14 / 187, 12);
    expect(magic({ jSteps: [-1] }).estimate(data, model).value).toBeCloseTo(2.2, 12);
  });

  it('model-based estimators require a Q model', () => {
    expect(() => sequentialDr().estimate(data)).toThrow(ValidationError);
    expect(() => magic().estimate(data, { qHat: new Float64Array(2) })).toThrow(/model\.qHat\.length/);
  });
});

describe('identities', () => {
  const mdp = makeSyntheticMdp({ seed: 2, horizon: 4, uniformMix: 0.3 });
  const eps = mdp.sample(300, 1);
  const target = mdp.targets.find((t) => t.name === 'random-softmax')!;
  const d = mdp.withTarget(eps, target.probs);
  const zero = { qHat: new Float64Array(d.numSteps * d.numActions) };

  it('with Q̂ = 0: DR is PDIS and WDR is WPDIS', () => {
    expect(sequentialDr().estimate(d, zero).value).toBeCloseTo(perDecisionIs().estimate(d).value, 10);
    expect(weightedDr().estimate(d, zero).value).toBeCloseTo(weightedPerDecisionIs().estimate(d).value, 10);
  });

  it('horizon 1: PDIS is IS and WPDIS is WIS', () => {
    const one = makeSyntheticMdp({ seed: 3, horizon: 1 });
    const e1 = one.sample(100, 2);
    const d1 = one.withTarget(e1, one.targets[2].probs);
    expect(perDecisionIs().estimate(d1).value).toBeCloseTo(trajectoryIs().estimate(d1).value, 12);
    expect(weightedPerDecisionIs().estimate(d1).value).toBeCloseTo(weightedIs().estimate(d1).value, 12);
  });

  it('on-policy, every IS estimator is the mean discounted return', () => {
    const on = mdp.withTarget(eps, mdp.behaviour);
    let mean = 0;
    for (let e = 0; e < on.numEpisodes; e++) {
      let disc = 1;
      for (let t = on.episodeStarts[e]; t < on.episodeStarts[e + 1]; t++) {
        mean += (disc * on.rewards[t]) / on.numEpisodes;
        disc *= on.gamma;
      }
    }
    for (const e of [trajectoryIs(), perDecisionIs(), weightedIs(), weightedPerDecisionIs()]) {
      expect(e.estimate(on).value).toBeCloseTo(mean, 10);
    }
  });

  it('on-policy with in-sample tabular FQE: DR equals DM (FQE’s Bellman residuals average to 0 per cell)', () => {
    const on = mdp.withTarget(eps, mdp.behaviour);
    const m = fitFqe(on, { kind: 'tabular', tolerance: 1e-13 });
    expect(sequentialDr().estimate(on, m).value).toBeCloseTo(sequentialDirectMethod().estimate(on, m).value, 8);
  });

  it('MAGIC with J = {H−1} is WDR; its blend stays on the simplex', () => {
    const m = fitFqe(d, { kind: 'tabular', folds: 2 });
    expect(magic({ jSteps: [mdp.horizon - 1] }).estimate(d, m).value).toBeCloseTo(weightedDr().estimate(d, m).value, 10);
    const r = magicBlend(d, m.qHat);
    expect(r.jSteps).toEqual([-1, 0, 1, 2, 3]);
    expect(r.returns[4]).toBeCloseTo(weightedDr().estimate(d, m).value, 10);
    expect(r.blend.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
  });
});

describe('simplex QP used by MAGIC', () => {
  it('projects onto the simplex', () => {
    expect(Array.from(projectOntoSimplex(Float64Array.of(0.5, 0.5)))).toEqual([0.5, 0.5]);
    expect(Array.from(projectOntoSimplex(Float64Array.of(2, 0)))).toEqual([1, 0]);
    const p = projectOntoSimplex(Float64Array.of(0.6, 0.6, -1));
    expect(Array.from(p)).toEqual([0.5, 0.5, 0]);
  });

  it('minimises xᵀAx: for diagonal A the optimum is x_i ∝ 1/A_ii', () => {
    // diag(1, 2, 4): x ∝ [1, 1/2, 1/4] → [4/7, 2/7, 1/7].
    const x = minimiseOnSimplex(Float64Array.of(1, 0, 0, 0, 2, 0, 0, 0, 4), 3);
    expect(x[0]).toBeCloseTo(4 / 7, 6);
    expect(x[1]).toBeCloseTo(2 / 7, 6);
    expect(x[2]).toBeCloseTo(1 / 7, 6);
  });
});

describe('Fitted Q Evaluation', () => {
  // Q(s0, ·) = [2.25, 1.25], Q(s1, ·) = [4, 2], V(s0) = 1.75 (worked out in helpers.ts).
  const tiny = tinyFqeExample();

  it('tabular FQE solves the hand-computed example', () => {
    const m = fitFqe(tiny, { kind: 'tabular' });
    expect(Array.from(m.qHat)).toEqual([2.25, 1.25, 4, 2, 2.25, 1.25, 4, 2]);
    expect(m.value).toBe(1.75);
    expect(m.converged).toBe(true);
    expect(fqe().estimate(tiny).value).toBe(1.75);
  });

  it('linear FQE on one-hot states reproduces the tabular solution (λ → 0)', () => {
    const oneHot = { ...tiny, features: Float32Array.of(1, 0, 0, 1, 1, 0, 0, 1), featureDim: 2 };
    const m = fitFqe(oneHot, { kind: 'linear', lambda: 1e-9 });
    expect(m.value).toBeCloseTo(1.75, 6);
    expect(m.converged).toBe(true);
  });

  const mdp = makeSyntheticMdp({ seed: 5, numStates: 3, numActions: 2, horizon: 4, gamma: 0.8, uniformMix: 0.3 });

  it('tabular FQE equals backward induction on the empirical model, and approaches V(π) with coverage', () => {
    const eps = mdp.sample(20_000, 3);
    const target = mdp.targets.find((t) => t.name === 'eps-greedy-Q*(0.1)')!;
    const d = mdp.withTarget(eps, target.probs);
    const m = fitFqe(d, { kind: 'tabular', tolerance: 1e-14 });
    // Backward induction over t on the logged visits of each (t, s, a).
    const { numStates: s, numActions: k, horizon: h } = mdp;
    const q = new Float64Array(h * s * k);
    for (let t = h - 1; t >= 0; t--) {
      const sum = new Float64Array(s * k);
      const cnt = new Float64Array(s * k);
      for (let j = 0; j < d.numSteps; j++) {
        if (eps.times[j] !== t) continue;
        let y = d.rewards[j];
        const last = eps.times[j + 1] !== t + 1 || j + 1 >= d.numSteps || eps.times[j + 1] === 0;
        if (!last) {
          for (let a = 0; a < k; a++) y += d.gamma * target.probs[eps.states[j + 1] * k + a] * q[((t + 1) * s + eps.states[j + 1]) * k + a];
        }
        sum[eps.states[j] * k + d.actions[j]] += y;
        cnt[eps.states[j] * k + d.actions[j]] += 1;
      }
      for (let c = 0; c < s * k; c++) q[t * s * k + c] = cnt[c] ? sum[c] / cnt[c] : 0;
    }
    let v = 0;
    for (let e = 0; e < d.numEpisodes; e++) {
      const j = d.episodeStarts[e];
      for (let a = 0; a < k; a++) v += (target.probs[eps.states[j] * k + a] * q[eps.states[j] * k + a]) / d.numEpisodes;
    }
    expect(m.value).toBeCloseTo(v, 9);
    expect(Math.abs(m.value - target.value)).toBeLessThan(0.03 * Math.max(1, Math.abs(target.value)));
    // Linear FQE on the one-hot time-augmented state is the same function class.
    const oneHot = makeSyntheticMdp({ ...mdp.config, featureKind: 'one-hot' });
    const eps2 = oneHot.sample(20_000, 3);
    const lin = fitFqe(oneHot.withTarget(eps2, target.probs), { kind: 'linear', lambda: 1e-8, tolerance: 1e-12 });
    expect(lin.converged).toBe(true);
    expect(lin.value).toBeCloseTo(m.value, 5);
  });

  it('cross-fitted FQE predicts each episode from the other folds', () => {
    const eps = mdp.sample(400, 8);
    const d = mdp.withTarget(eps, mdp.targets[1].probs);
    const m = fitFqe(d, { kind: 'tabular', folds: 2, seed: 4 });
    expect(m.folds).toBe(2);
    // Changing the rewards of fold-0 episodes leaves the fold-0 predictions unchanged.
    const rewards = d.rewards.slice();
    for (let e = 0; e < d.numEpisodes; e++) {
      if (m.foldOf[e] === 0) for (let j = d.episodeStarts[e]; j < d.episodeStarts[e + 1]; j++) rewards[j] += 10;
    }
    const m2 = fitFqe({ ...d, rewards }, { kind: 'tabular', folds: 2, seed: 4 });
    for (let e = 0; e < d.numEpisodes; e++) {
      if (m.foldOf[e] !== 0) continue;
      const j = d.episodeStarts[e];
      for (let a = 0; a < d.numActions; a++) expect(m2.qHat[j * d.numActions + a]).toBeCloseTo(m.qHat[j * d.numActions + a], 12);
    }
  });
});

describe('ground truth on the synthetic MDP', () => {
  // Episodes of different lengths (termination), mild weights.
  const mdp = makeSyntheticMdp({ seed: 7, numStates: 3, numActions: 3, horizon: 4, gamma: 0.9, uniformMix: 0.3, terminationProb: 0.3 });
  const target = mdp.targets.find((t) => t.name === 'random-softmax')!;
  const reps = 300;
  const n = 100;
  const values: Record<string, number[]> = { is: [], pdis: [], dr: [], 'pdis-wrong-propensities': [] };
  let lengths = new Set<number>();
  for (let r = 0; r < reps; r++) {
    const eps = mdp.sample(n, 500 + r);
    const d = mdp.withTarget(eps, target.probs);
    if (r === 0) {
      validateEpisodicDataset(d);
      lengths = new Set(Array.from({ length: d.numEpisodes }, (_, e) => d.episodeStarts[e + 1] - d.episodeStarts[e]));
    }
    // A fixed, wrong Q model (a distortion of the true Q): sequential DR stays unbiased.
    const wrong = { qHat: mdp.trueQModel(eps, target.probs).qHat.map((q, i) => 0.6 * q + 0.4 * Math.sin(i % 7)) };
    values.is.push(trajectoryIs().estimate(d).value);
    values.pdis.push(perDecisionIs().estimate(d).value);
    values.dr.push(sequentialDr().estimate(d, wrong).value);
    // Negative control: logging propensities recorded as uniform instead of μ.
    values['pdis-wrong-propensities'].push(perDecisionIs().estimate({ ...d, propensities: d.propensities.map(() => 1 / 3) }).value);
  }

  it('episodes have different lengths', () => {
    expect(lengths.size).toBeGreaterThan(1);
  });

  it.each(['is', 'pdis', 'dr'])('%s is unbiased: the mean of 300 replications is within 4 standard errors of V(π)', (name) => {
    const { mean, se } = meanAndSe(values[name]);
    expect(Math.abs(mean - target.value)).toBeLessThan(4 * se);
  });

  it('negative control: the same check detects PDIS with wrong propensities', () => {
    const { mean, se } = meanAndSe(values['pdis-wrong-propensities']);
    expect(Math.abs(mean - target.value)).toBeGreaterThan(4 * se);
  });

  it('the weighted estimators, WDR and MAGIC are consistent: error shrinks as n grows', () => {
    const far = mdp.targets.find((t) => t.name === 'eps-greedy-Q*(0.1)')!;
    const errs = (n: number) => {
      const out: Record<string, number[]> = { wis: [], wpdis: [], wdr: [], magic: [] };
      const ests: [string, SequentialEstimator][] = [
        ['wis', weightedIs()],
        ['wpdis', weightedPerDecisionIs()],
      ];
      for (let r = 0; r < 20; r++) {
        const eps = mdp.sample(n, 7000 + r);
        const d = mdp.withTarget(eps, far.probs);
        const wrong = { qHat: mdp.trueQModel(eps, far.probs).qHat.map((q) => 0.5 * q) };
        for (const [name, e] of ests) out[name].push(e.estimate(d).value);
        out.wdr.push(weightedDr().estimate(d, wrong).value);
        out.magic.push(magic({ resamples: 50 }).estimate(d, wrong).value);
      }
      return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, meanAbsError(v, far.value)]));
    };
    const small = errs(50);
    const large = errs(1600);
    for (const name of ['wis', 'wpdis', 'wdr', 'magic']) expect(large[name]).toBeLessThan(small[name] / 2);
  });
});
