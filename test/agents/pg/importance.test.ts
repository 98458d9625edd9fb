import { beforeAll, describe, expect, it } from 'vitest';
import { categoricalLogProb } from '../../../src/agents/pg/distributions.js';
import { effectiveSampleSize, importanceWeights, importanceWeightsTensor, offPolicySignals, type ResolvedImportanceConfig } from '../../../src/agents/pg/importance.js';
import { reinforceLossDetached, reinforceLossRatio } from '../../../src/agents/pg/losses.js';
import { Rng } from '../../../src/core/rng.js';
import { initTensorBackend, tf } from '../../../src/tensor/index.js';

beforeAll(async () => {
  await initTensorBackend({ backend: 'wasm' });
});

const base = { weighting: 'step' as const, clamp: 'none' as const, clampMax: 10, logRatioClip: null, selfNormalize: false };
const logs = (ratios: number[]) => ({ target: ratios.map(Math.log), behaviour: ratios.map(() => 0) });

describe('importance weights', () => {
  const { target, behaviour } = logs([0.5, 2, 20]);
  const starts = [0, 3];

  it('universal clamping caps at the maximum; aggressive drops the sample (ReAgent ips_clamp)', () => {
    const u = importanceWeights(target, behaviour, starts, { ...base, clamp: 'universal' });
    expect(Array.from(u.weights).map((x) => +x.toFixed(6))).toEqual([0.5, 2, 10]);
    expect(u.diagnostics).toMatchObject({ weightMax: 10, clampedFraction: 1 / 3 });
    expect(u.diagnostics.rawWeightMax).toBeCloseTo(20, 9);
    expect(u.diagnostics.weightMean).toBeCloseTo(12.5 / 3, 9);
    const a = importanceWeights(target, behaviour, starts, { ...base, clamp: 'aggressive' });
    expect(Array.from(a.weights).map((x) => +x.toFixed(6))).toEqual([0.5, 2, 0]);
    expect(Array.from(a.graded)).toEqual([1, 1, 0]);
    const none = importanceWeights(target, behaviour, starts, base);
    expect(none.weights[2]).toBeCloseTo(20, 9);
    expect(none.diagnostics.clampedFraction).toBe(0);
  });

  it('log-ratio clipping bounds log w; self-normalisation divides by the mean weight', () => {
    const c = importanceWeights(target, behaviour, starts, { ...base, logRatioClip: Math.log(4) });
    expect(Array.from(c.weights).map((x) => +x.toFixed(6))).toEqual([0.5, 2, 4]);
    const s = importanceWeights(target, behaviour, starts, { ...base, selfNormalize: true });
    const mean = 22.5 / 3;
    expect(Array.from(s.weights).map((x) => +x.toFixed(6))).toEqual([0.5, 2, 20].map((x) => +(x / mean).toFixed(6)));
    expect(s.scale).toBeCloseTo(1 / mean, 12);
  });

  it('per-decision weights are prefix products, trajectory weights episode products', () => {
    const r = logs([2, 0.5, 3, 2, 2]);
    const ep = [0, 3, 5];
    const pd = importanceWeights(r.target, r.behaviour, ep, { ...base, weighting: 'per-decision' });
    Array.from(pd.weights).forEach((w, i) => expect(w).toBeCloseTo([2, 1, 3, 2, 4][i], 9));
    const tr = importanceWeights(r.target, r.behaviour, ep, { ...base, weighting: 'trajectory' });
    Array.from(tr.weights).forEach((w, i) => expect(w).toBeCloseTo([3, 3, 3, 4, 4][i], 9));
  });

  it('ESS is (Σw)² / Σw²: n for equal weights, 1 for a single non-zero weight', () => {
    expect(effectiveSampleSize([2, 2, 2, 2])).toBeCloseTo(4, 12);
    expect(effectiveSampleSize([0, 5, 0])).toBeCloseTo(1, 12);
    const w = importanceWeights(target, behaviour, starts, base);
    expect(w.diagnostics.ess).toBeCloseTo(22.5 ** 2 / (0.25 + 4 + 400), 9);
    expect(w.diagnostics.essFraction).toBeCloseTo(w.diagnostics.ess / 3, 12);
  });

  it('rejects zero propensities', () => {
    expect(() => importanceWeights([0], [-Infinity], [0, 1], base)).toThrow(/behaviourLogProbs\[0\]/);
  });
});

describe('detached-ratio vs ratio-gradient estimators', () => {
  // Three episodes of lengths 3, 1, 4 over 3 actions; the policy is a free table of logits
  // per step, so d loss / d logits row t isolates step t.
  const starts = [0, 3, 4, 8];
  const N = 8;
  const A = 3;
  const rng = new Rng(11);
  const logits = Float32Array.from({ length: N * A }, () => rng.normal());
  const actions = Int32Array.from({ length: N }, () => rng.int(A));
  const behaviour = Float64Array.from({ length: N }, () => Math.log(rng.uniform(0.15, 0.6)));
  const advantages = Float64Array.from({ length: N }, () => rng.normal());
  const start = Int32Array.from({ length: N }, (_, t) => starts[[0, 0, 0, 1, 2, 2, 2, 2][t]]);
  const end = Int32Array.from({ length: N }, (_, t) => starts[[0, 0, 0, 1, 2, 2, 2, 2][t] + 1]);
  const gamma = 0.9;

  function gradients(config: ResolvedImportanceConfig): { detached: number[]; ratio: number[]; weights: Float64Array; graded: Float32Array } {
    let out: { detached: number[]; ratio: number[]; weights: Float64Array; graded: Float32Array } | null = null;
    tf.tidy(() => {
      const x = tf.tensor2d(logits, [N, A]);
      const act = tf.tensor1d(actions, 'int32');
      const lpNow = categoricalLogProb(x, act, null).dataSync();
      const w = importanceWeights(lpNow, behaviour, starts, config);
      const sig = offPolicySignals(advantages, w.weights, starts, gamma, config.weighting);
      const detached = tf.grad((l: tf.Tensor) => reinforceLossDetached(categoricalLogProb(l as tf.Tensor2D, act, null), tf.tensor1d(Float32Array.from(sig.coefficients)), N))(x);
      const ratio = tf.grad((l: tf.Tensor) =>
        reinforceLossRatio(importanceWeightsTensor(categoricalLogProb(l as tf.Tensor2D, act, null), behaviour, { start, end }, w, config), tf.tensor1d(Float32Array.from(sig.signals)), N),
      )(x);
      out = { detached: Array.from(detached.dataSync()), ratio: Array.from(ratio.dataSync()), weights: w.weights, graded: w.graded };
    });
    return out!;
  }
  const close = (a: number[], b: number[]) => a.forEach((x, i) => expect(Math.abs(x - b[i])).toBeLessThan(1e-4 * (1 + Math.abs(b[i]))));
  const cfg = (over: Partial<ResolvedImportanceConfig>): ResolvedImportanceConfig => ({ ...base, estimator: 'detached', ...over });

  for (const weighting of ['step', 'per-decision', 'trajectory'] as const) {
    it(`agree exactly with ${weighting} weights when no clamp binds (also self-normalised)`, () => {
      const g = gradients(cfg({ weighting }));
      expect(g.detached.some((x) => Math.abs(x) > 1e-3)).toBe(true);
      close(g.detached, g.ratio);
      const s = gradients(cfg({ weighting, selfNormalize: true }));
      close(s.detached, s.ratio);
    });
  }

  it('differ where the universal clamp binds: the ratio-gradient of a clamped weight is 0', () => {
    const free = gradients(cfg({}));
    const g = gradients(cfg({ clamp: 'universal', clampMax: 1 }));
    const clamped = Array.from(g.graded, (x) => x === 0);
    expect(clamped.some(Boolean) && clamped.some((x) => !x)).toBe(true);
    for (let t = 0; t < N; t++) {
      const d = g.detached.slice(t * A, (t + 1) * A);
      const r = g.ratio.slice(t * A, (t + 1) * A);
      if (clamped[t]) {
        r.forEach((x) => expect(Math.abs(x)).toBeLessThan(1e-7));
        expect(d.some((x) => Math.abs(x) > 1e-4)).toBe(true);
      } else {
        close(d, r);
        close(r, free.ratio.slice(t * A, (t + 1) * A));
      }
    }
  });

  it('agree where the aggressive clamp drops samples (both 0 there)', () => {
    const g = gradients(cfg({ clamp: 'aggressive', clampMax: 1 }));
    close(g.detached, g.ratio);
    for (let t = 0; t < N; t++) if (g.graded[t] === 0) g.ratio.slice(t * A, (t + 1) * A).forEach((x) => expect(Math.abs(x)).toBeLessThan(1e-7));
  });

  it('on-policy (β = π) the detached estimator is plain REINFORCE Σ Â ∇log π / N', () => {
    tf.tidy(() => {
      const x = tf.tensor2d(logits, [N, A]);
      const act = tf.tensor1d(actions, 'int32');
      const lp = Float64Array.from(categoricalLogProb(x, act, null).dataSync());
      const w = importanceWeights(lp, lp, starts, cfg({}));
      Array.from(w.weights).forEach((v) => expect(v).toBeCloseTo(1, 6));
      const sig = offPolicySignals(advantages, w.weights, starts, gamma, 'step');
      const g1 = tf.grad((l: tf.Tensor) => reinforceLossDetached(categoricalLogProb(l as tf.Tensor2D, act, null), tf.tensor1d(Float32Array.from(sig.coefficients)), N))(x).dataSync();
      const g2 = tf.grad((l: tf.Tensor) => tf.neg(tf.div(tf.sum(tf.mul(categoricalLogProb(l as tf.Tensor2D, act, null), tf.tensor1d(Float32Array.from(advantages)))), N)))(x).dataSync();
      close(Array.from(g1), Array.from(g2));
    });
  });
});
