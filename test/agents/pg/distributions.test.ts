import { beforeAll, describe, expect, it } from 'vitest';
import {
  categoricalEntropy,
  categoricalLogProb,
  categoricalLogProbRow,
  gaussianEntropy,
  gaussianEntropyOf,
  gaussianLogProb,
  gaussianLogProbRow,
  sampleCategoricalRow,
} from '../../../src/agents/pg/distributions.js';
import { Rng } from '../../../src/core/rng.js';
import { initTensorBackend, tf } from '../../../src/tensor/index.js';

beforeAll(async () => {
  await initTensorBackend({ backend: 'wasm' });
});

/** log of the univariate normal density, written out. */
const logNormal = (x: number, mu: number, sigma: number) => Math.log(Math.exp(-((x - mu) ** 2) / (2 * sigma * sigma)) / (sigma * Math.sqrt(2 * Math.PI)));

describe('diagonal Gaussian', () => {
  const mean = [0.5, -1, 0, 2];
  const sigma = [0.5, 2];
  const actions = [1, 0, -0.3, 2.5];

  it('log-prob is the sum of univariate normal log-densities (tensor and plain forms)', () => {
    const expected = [logNormal(1, 0.5, 0.5) + logNormal(0, -1, 2), logNormal(-0.3, 0, 0.5) + logNormal(2.5, 2, 2)];
    const logStd = sigma.map(Math.log);
    const lp = tf.tidy(() => gaussianLogProb(tf.tensor2d(mean, [2, 2]), tf.tensor1d(logStd), tf.tensor2d(actions, [2, 2])).arraySync());
    expected.forEach((e, i) => expect(lp[i]).toBeCloseTo(e, 5));
    expected.forEach((e, i) => expect(gaussianLogProbRow(actions, mean, i * 2, logStd, 2)).toBeCloseTo(e, 12));
  });

  it('entropy is Σ ½ log(2πe σ²)', () => {
    const expected = sigma.reduce((s, x) => s + 0.5 * Math.log(2 * Math.PI * Math.E * x * x), 0);
    const h = tf.tidy(() => gaussianEntropy(tf.tensor1d(sigma.map(Math.log)), 3).arraySync());
    expect(h).toHaveLength(3);
    h.forEach((x) => expect(x).toBeCloseTo(expected, 5));
    expect(gaussianEntropyOf(sigma.map(Math.log))).toBeCloseTo(expected, 12);
  });
});

describe('categorical', () => {
  const logits = [1, 2, 3];
  const z = Math.exp(1) + Math.exp(2) + Math.exp(3);
  const p = logits.map((l) => Math.exp(l) / z);

  it('log-prob and entropy match the softmax written out', () => {
    const lp = tf.tidy(() => categoricalLogProb(tf.tensor2d([logits, logits, logits]), tf.tensor1d([0, 1, 2], 'int32'), null).arraySync());
    lp.forEach((x, a) => expect(x).toBeCloseTo(Math.log(p[a]), 5));
    const h = tf.tidy(() => categoricalEntropy(tf.tensor2d([logits]), null).arraySync());
    expect(h[0]).toBeCloseTo(-p.reduce((s, x) => s + x * Math.log(x), 0), 5);
    expect(categoricalLogProbRow(logits, 0, 3, null, 1)).toBeCloseTo(Math.log(p[1]), 12);
  });

  it('masks renormalise over the allowed actions and give masked actions probability 0', () => {
    const mask = [1, 0, 1];
    const q0 = Math.exp(1) / (Math.exp(1) + Math.exp(3));
    const q2 = 1 - q0;
    const lp = tf.tidy(() => categoricalLogProb(tf.tensor2d([logits, logits]), tf.tensor1d([0, 2], 'int32'), tf.tensor2d([mask, mask])).arraySync());
    expect(lp[0]).toBeCloseTo(Math.log(q0), 5);
    expect(lp[1]).toBeCloseTo(Math.log(q2), 5);
    const h = tf.tidy(() => categoricalEntropy(tf.tensor2d([logits]), tf.tensor2d([mask])).arraySync());
    expect(h[0]).toBeCloseTo(-(q0 * Math.log(q0) + q2 * Math.log(q2)), 5);
    const rng = new Rng(0);
    const m = Uint8Array.from(mask);
    const counts = [0, 0, 0];
    for (let i = 0; i < 4000; i++) counts[sampleCategoricalRow(logits, 0, 3, m, rng, false).action]++;
    expect(counts[1]).toBe(0);
    expect(counts[0] / 4000).toBeCloseTo(q0, 1);
    expect(sampleCategoricalRow(logits, 0, 3, m, rng, true)).toEqual({ action: 2, logProb: expect.closeTo(Math.log(q2), 12) });
  });
});
