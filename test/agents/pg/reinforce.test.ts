import { beforeAll, describe, expect, it } from 'vitest';
import { ReinforceAgent, banditEpisodes, type EpisodeBatch } from '../../../src/agents/pg/reinforce.js';
import { Box, Discrete } from '../../../src/core/spaces.js';
import { Rng } from '../../../src/core/rng.js';
import { makeSyntheticBandit } from '../../../src/ope/synthetic.js';
import { initTensorBackend } from '../../../src/tensor/index.js';

beforeAll(async () => {
  await initTensorBackend({ backend: 'wasm' });
});

const spaces = { observationSpace: new Box(-5, 5, [3]), actionSpace: new Discrete(3) };

/** A fixed batch of 5 episodes (lengths 1-4) with behaviour log-probs. */
function episodes(seed: number): EpisodeBatch {
  const rng = new Rng(seed);
  const lengths = [3, 1, 4, 2, 2];
  const N = lengths.reduce((a, b) => a + b, 0);
  const starts = new Int32Array(lengths.length + 1);
  lengths.forEach((l, e) => (starts[e + 1] = starts[e] + l));
  return {
    episodeStarts: starts,
    obs: Float32Array.from({ length: N * 3 }, () => rng.normal()),
    actions: Int32Array.from({ length: N }, () => rng.int(3)),
    rewards: Float64Array.from({ length: N }, () => rng.normal()),
    behaviourLogProbs: Float64Array.from({ length: N }, () => Math.log(rng.uniform(0.2, 0.5))),
    masks: null,
    truncated: Uint8Array.from([0, 0, 1, 0, 0]),
    finalObs: Float32Array.from({ length: lengths.length * 3 }, () => rng.normal()),
  };
}

const weights = (a: ReinforceAgent) => a.getPolicyState().arrays;

describe('REINFORCE update', () => {
  it('gradient accumulation over mini-batches equals one full-batch step', () => {
    for (const importance of [{}, { estimator: 'ratio', weighting: 'per-decision', selfNormalize: true }] as const) {
      const config = { baseline: 'learned', maxGradNorm: 1, entCoef: 0.01, importance, network: { hiddenSizes: [8] } } as const;
      const one = new ReinforceAgent({ ...spaces, config: { ...config, gradientAccumulation: 1 }, seed: 1 });
      const acc = new ReinforceAgent({ ...spaces, config: { ...config, gradientAccumulation: 3 }, seed: 1 });
      one.update(episodes(2));
      acc.update(episodes(2));
      const wa = weights(one);
      const wb = weights(acc);
      for (const k of Object.keys(wa)) Array.from(wa[k]).forEach((x, i) => expect(wb[k][i]).toBeCloseTo(x, 5));
      one.dispose();
      acc.dispose();
    }
  });

  it('baseline warm-up trains only the baseline for the first updates', () => {
    const agent = new ReinforceAgent({ ...spaces, config: { baseline: 'learned', baselineWarmupUpdates: 2, network: { hiddenSizes: [8] } }, seed: 3 });
    const policyOf = () => Object.fromEntries(Object.entries(weights(agent)).filter(([k]) => !k.startsWith('net/value.')).map(([k, v]) => [k, Array.from(v)]));
    const valueOf = () => Object.fromEntries(Object.entries(weights(agent)).filter(([k]) => k.startsWith('net/value.')).map(([k, v]) => [k, Array.from(v)]));
    const p0 = policyOf();
    const v0 = valueOf();
    expect(agent.update(episodes(4)).policyUpdated).toBe(0);
    expect(agent.update(episodes(5)).policyUpdated).toBe(0);
    expect(policyOf()).toEqual(p0);
    expect(valueOf()).not.toEqual(v0);
    expect(agent.update(episodes(6)).policyUpdated).toBe(1);
    expect(policyOf()).not.toEqual(p0);
    agent.dispose();
  });

  it('reports weight diagnostics (w = 1 against its own log-probs)', () => {
    const agent = new ReinforceAgent({ ...spaces, config: { network: { hiddenSizes: [8] } }, seed: 7 });
    const b = episodes(8);
    const own = agent.actionProbabilities(b.obs, b.obs.length / 3);
    const batch = { ...b, behaviourLogProbs: Float64Array.from(b.actions, (a, t) => Math.log(own[t * 3 + a])) };
    const m = agent.update(batch);
    expect(m.weightMean).toBeCloseTo(1, 5);
    expect(m.weightMax).toBeCloseTo(1, 5);
    expect(m.essFraction).toBeCloseTo(1, 5);
    agent.dispose();
  });
});

describe('off-policy REINFORCE from logged bandit data', () => {
  it('learns a policy better than the behaviour from its log', () => {
    const problem = makeSyntheticBandit({ seed: 3, numActions: 4, numContexts: 50, featureDim: 3, noiseStd: 0.3 });
    const log = problem.sample(4000, 1);
    const agent = new ReinforceAgent({
      observationSpace: new Box(-10, 10, [3]),
      actionSpace: new Discrete(4),
      config: { learningRate: 1e-2, gamma: 1, normalizeReturns: false, baseline: 'mean', importance: { clamp: 'universal', clampMax: 20, selfNormalize: true }, network: { hiddenSizes: [16] } },
      seed: 0,
    });
    const behaviourValue = problem.value(problem.behaviour);
    const history = agent.fitLogged(banditEpisodes(log), { epochs: 8, batchEpisodes: 500 });
    expect(history).toHaveLength(64);
    expect(history.every((m) => m.weightMax! <= 20 && m.essFraction! > 0 && m.essFraction! <= 1)).toBe(true);
    const table = agent.actionProbabilities(problem.contextFeatures, problem.numContexts);
    const learned = problem.value(table);
    const best = problem.value(problem.targets.find((t) => t.name === 'softmax-r(τ=0.2)')!.probs);
    if (process.env.PG_DEBUG) console.log({ behaviourValue, learned, best });
    expect(learned).toBeGreaterThan(behaviourValue + 0.5 * (best - behaviourValue));
    agent.dispose();
  });
});
