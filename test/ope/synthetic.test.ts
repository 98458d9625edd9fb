import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { makeSyntheticBandit, makeSyntheticMdp } from '../../src/ope/synthetic.js';
import { validateBanditDataset, validateEpisodicDataset } from '../../src/ope/types.js';
import { meanAndSe } from './helpers.js';

describe('synthetic bandit', () => {
  const problem = makeSyntheticBandit({ seed: 3, numContexts: 25, numActions: 4, maskedFraction: 0.3 });

  it('logs are valid datasets for every target, and respect the masks', () => {
    const log = problem.sample(500, 1);
    for (const t of problem.targets) {
      const d = validateBanditDataset(problem.withTarget(log, t.probs));
      for (let i = 0; i < d.n; i++) expect(d.actionMask![i * 4 + d.actions[i]]).toBe(1);
    }
    expect(problem.targets.map((t) => t.name)).toEqual(['behaviour', 'uniform', 'softmax-r(τ=1)', 'softmax-r(τ=0.2)', 'eps-greedy(0.1)']);
  });

  it('V(π) matches an independent on-policy Monte Carlo simulation', () => {
    // Draw contexts from p(x), actions from π, rewards from r(x, a) + noise, with our own loop.
    const rng = new Rng(99);
    const k = problem.numActions;
    for (const t of problem.targets.slice(1)) {
      const returns: number[] = [];
      for (let i = 0; i < 40_000; i++) {
        const c = rng.categorical(problem.contextProbs);
        const a = rng.categorical(t.probs.subarray(c * k, (c + 1) * k));
        returns.push(problem.meanRewards[c * k + a] + rng.normal(0, problem.config.noiseStd));
      }
      const { mean, se } = meanAndSe(returns);
      expect(Math.abs(mean - t.value)).toBeLessThan(4 * se);
    }
  });

  it('the logged mean reward estimates the behaviour policy value', () => {
    const log = problem.sample(40_000, 2);
    const { mean, se } = meanAndSe(Array.from(log.rewards));
    expect(Math.abs(mean - problem.targets[0].value)).toBeLessThan(4 * se);
  });

  it('is seeded', () => {
    const a = makeSyntheticBandit({ seed: 8 }).sample(10, 1);
    const b = makeSyntheticBandit({ seed: 8 }).sample(10, 1);
    expect(Array.from(a.rewards)).toEqual(Array.from(b.rewards));
    expect(Array.from(makeSyntheticBandit({ seed: 9 }).sample(10, 1).rewards)).not.toEqual(Array.from(a.rewards));
  });
});

describe('synthetic MDP', () => {
  it('one state, no termination: V = Σ_t γ^t · Σ_a π(a) R(a) = (1 − γ^H)/(1 − γ) · π·R', () => {
    const mdp = makeSyntheticMdp({ seed: 1, numStates: 1, numActions: 3, horizon: 6, gamma: 0.8, terminationProb: 0 });
    for (const t of mdp.targets) {
      let piR = 0;
      for (let a = 0; a < 3; a++) piR += t.probs[a] * mdp.meanRewards[a];
      expect(t.value).toBeCloseTo(((1 - 0.8 ** 6) / (1 - 0.8)) * piR, 12);
    }
  });

  it('V(π) from dynamic programming matches an independent Monte Carlo simulation', () => {
    const mdp = makeSyntheticMdp({ seed: 6, numStates: 4, numActions: 3, horizon: 5, gamma: 0.9, terminationProb: 0.3 });
    const { numStates: s, numActions: k } = mdp;
    const rng = new Rng(5);
    for (const t of [mdp.targets[1], mdp.targets[4]]) {
      const returns: number[] = [];
      for (let e = 0; e < 20_000; e++) {
        let x = rng.categorical(mdp.initial);
        let g = 0;
        let disc = 1;
        for (let step = 0; step < mdp.horizon; step++) {
          const a = rng.categorical(t.probs.subarray(x * k, (x + 1) * k));
          g += disc * (mdp.meanRewards[x * k + a] + rng.normal(0, mdp.config.noiseStd));
          disc *= mdp.gamma;
          if (rng.random() < mdp.termination[x * k + a]) break;
          x = rng.categorical(mdp.transitions.subarray((x * k + a) * s, (x * k + a + 1) * s));
        }
        returns.push(g);
      }
      const { mean, se } = meanAndSe(returns);
      expect(Math.abs(mean - t.value)).toBeLessThan(4 * se);
    }
  });

  it('episodes are valid, end by the horizon, and carry time-augmented state ids', () => {
    const mdp = makeSyntheticMdp({ seed: 2, numStates: 3, horizon: 4, terminationProb: 0.5 });
    const eps = mdp.sample(300, 1);
    const d = validateEpisodicDataset(mdp.withTarget(eps, mdp.targets[2].probs));
    const lengths = new Set<number>();
    for (let e = 0; e < d.numEpisodes; e++) {
      const len = d.episodeStarts[e + 1] - d.episodeStarts[e];
      lengths.add(len);
      expect(len).toBeLessThanOrEqual(4);
      for (let t = 0; t < len; t++) {
        const j = d.episodeStarts[e] + t;
        expect(eps.times[j]).toBe(t);
        expect(d.features![j]).toBe(t * 3 + eps.states[j]);
      }
    }
    expect(lengths.size).toBeGreaterThan(1);
    const oneHot = makeSyntheticMdp({ seed: 2, numStates: 3, horizon: 4, featureKind: 'one-hot' }).sample(5, 1);
    expect(oneHot.featureDim).toBe(12);
    // Q_0 from the DP averages to V(π) under the initial distribution.
    const q = mdp.qValues(mdp.targets[2].probs);
    let v = 0;
    for (let x = 0; x < 3; x++) for (let a = 0; a < 3; a++) v += mdp.initial[x] * mdp.targets[2].probs[x * 3 + a] * q[x * 3 + a];
    expect(v).toBeCloseTo(mdp.targets[2].value, 12);
  });
});
