import { beforeAll, describe, expect, it } from 'vitest';
import { ValidationError, KairosError } from '../../src/core/errors.js';
import { fitFqe, fitNeuralFqe, weightedDr } from '../../src/ope/sequential/index.js';
import { makeSyntheticMdp } from '../../src/ope/synthetic.js';
import { initTensorBackend, tf } from '../../src/tensor/index.js';
import { tinyFqeExample } from './helpers.js';

beforeAll(async () => {
  await initTensorBackend({ backend: 'wasm' });
});

/*
 * The hand-computed example of the tabular tests, with one-hot states: γ = 0.5,
 * π(·|s0) = [0.5, 0.5], π(·|s1) = [0.25, 0.75]; Q(s0, ·) = [2.25, 1.25], Q(s1, ·) = [4, 2],
 * V(s0) = 1.75.
 */
const tiny = tinyFqeExample(Float32Array.of(1, 0, 0, 1, 1, 0, 0, 1), 2);

describe('neural FQE', () => {
  it('solves the hand-computed example', () => {
    const m = fitNeuralFqe(tiny, { iterations: 6, stepsPerIteration: 300, learningRate: 3e-3, seed: 1 });
    expect(m.kind).toBe('neural');
    const expected = [2.25, 1.25, 4, 2, 2.25, 1.25, 4, 2];
    for (let i = 0; i < expected.length; i++) expect(m.qHat[i]).toBeCloseTo(expected[i], 1);
    expect(m.value).toBeCloseTo(1.75, 1);
  });

  it('approaches the exact V(π) of a synthetic MDP off-policy, as linear FQE on the same one-hot states does', () => {
    const mdp = makeSyntheticMdp({ seed: 5, numStates: 3, numActions: 2, horizon: 4, gamma: 0.8, uniformMix: 0.3, featureKind: 'one-hot' });
    const episodes = mdp.sample(4000, 3);
    const target = mdp.targets.find((t) => t.name === 'eps-greedy-Q*(0.1)')!;
    const d = mdp.withTarget(episodes, target.probs);
    const linear = fitFqe(d, { kind: 'linear', lambda: 1e-8, tolerance: 1e-12 });
    const neural = fitNeuralFqe(d, { seed: 2 });
    // 14 iterations (longest episode 4, plus 10) is enough for a horizon of 4.
    expect(neural.iterations).toBe(14);
    expect(Math.abs(neural.value - target.value)).toBeLessThan(0.05 * Math.max(1, Math.abs(target.value)));
    expect(Math.abs(neural.value - linear.value)).toBeLessThan(0.05 * Math.max(1, Math.abs(target.value)));
    // As the Q model of weighted DR.
    expect(Math.abs(weightedDr().estimate(d, neural).value - target.value)).toBeLessThan(0.05 * Math.max(1, Math.abs(target.value)));
  });

  it('cross-fits: each episode is predicted by a model that never saw it', () => {
    const mdp = makeSyntheticMdp({ seed: 7, numStates: 3, numActions: 2, horizon: 3, featureKind: 'one-hot' });
    const episodes = mdp.sample(200, 8);
    const d = mdp.withTarget(episodes, mdp.targets[1].probs);
    const opts = { folds: 2, seed: 4, iterations: 3, stepsPerIteration: 20 };
    const m = fitNeuralFqe(d, opts);
    expect(m.folds).toBe(2);
    const rewards = d.rewards.slice();
    for (let e = 0; e < d.numEpisodes; e++) {
      if (m.foldOf[e] === 0) for (let j = d.episodeStarts[e]; j < d.episodeStarts[e + 1]; j++) rewards[j] += 10;
    }
    const m2 = fitNeuralFqe({ ...d, rewards }, opts);
    let fold0 = 0;
    let fold1Changed = 0;
    for (let e = 0; e < d.numEpisodes; e++) {
      const j = d.episodeStarts[e] * d.numActions;
      if (m.foldOf[e] === 0) {
        fold0++;
        expect(m2.qHat[j]).toBe(m.qHat[j]);
      } else if (m2.qHat[j] !== m.qHat[j]) fold1Changed++;
    }
    expect(fold0).toBeGreaterThan(0);
    expect(fold1Changed).toBeGreaterThan(0);
  });

  it('gives the same Q̂ for the same seed and leaks no tensors', () => {
    const before = tf.memory().numTensors;
    const a = fitNeuralFqe(tiny, { iterations: 2, stepsPerIteration: 10, seed: 3 });
    const b = fitNeuralFqe(tiny, { iterations: 2, stepsPerIteration: 10, seed: 3 });
    const c = fitNeuralFqe(tiny, { iterations: 2, stepsPerIteration: 10, seed: 4 });
    expect(Array.from(b.qHat)).toEqual(Array.from(a.qHat));
    expect(Array.from(c.qHat)).not.toEqual(Array.from(a.qHat));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('names the field on bad input', () => {
    expect(() => fitNeuralFqe(tiny, { stepsPerIteration: 0 })).toThrow(ValidationError);
    expect(() => fitNeuralFqe(tiny, { stepsPerIteration: 0 })).toThrow(/stepsPerIteration/);
    expect(() => fitNeuralFqe(tiny, { hidden: [8] } as never)).toThrow(/hidden/);
    const { features: _f, featureDim: _d, ...noFeatures } = tiny;
    expect(() => fitNeuralFqe(noFeatures)).toThrow(KairosError);
    expect(() => fitNeuralFqe(noFeatures)).toThrow(/no state features/);
  });
});
