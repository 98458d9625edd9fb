/**
 * Exploration noise: the Ornstein-Uhlenbeck process against its closed-form stationary
 * variance and lag-1 autocorrelation, Gaussian noise moments, resets, and exact state
 * save/restore.
 */
import { describe, expect, it } from 'vitest';
import { GaussianActionNoise, OrnsteinUhlenbeckNoise, createActionNoise } from '../../../src/agents/dpg/noise.js';
import { Rng } from '../../../src/core/rng.js';

describe('Ornstein-Uhlenbeck noise', () => {
  it('reaches the stationary variance σ²dt / (1 − (1 − θdt)²) and lag-1 correlation 1 − θdt', () => {
    // θdt = 0.05 so the process mixes within a few hundred steps; 400 independent processes.
    const n = 400;
    const noise = new OrnsteinUhlenbeckNoise(n, 1, 0.3, 0, 0.5, 0.1, new Rng(7));
    const closedForm = (0.3 * 0.3 * 0.1) / (1 - (1 - 0.05) ** 2);
    expect(noise.stationaryVariance).toBeCloseTo(closedForm, 12);
    // = σ² / (θ (2 − θ dt)), → σ²/(2θ) as dt → 0.
    expect(closedForm).toBeCloseTo((0.3 * 0.3) / (0.5 * (2 - 0.05)), 12);
    const out = new Float64Array(n);
    for (let t = 0; t < 300; t++) noise.sample(out); // burn in: 0.95^300 ≈ 2e-7
    let sum = 0;
    let sumSq = 0;
    let cross = 0;
    let count = 0;
    const prev = Float64Array.from(out);
    for (let t = 0; t < 200; t++) {
      noise.sample(out);
      for (let i = 0; i < n; i++) {
        sum += out[i];
        sumSq += out[i] * out[i];
        cross += out[i] * prev[i];
        count++;
      }
      prev.set(out);
    }
    const mean = sum / count;
    const variance = sumSq / count - mean * mean;
    // 80 000 correlated draws (effective sample ≈ count·(1 − φ)/(1 + φ) ≈ 2000): 3σ ≈ 10%.
    expect(Math.abs(mean)).toBeLessThan(0.1 * Math.sqrt(closedForm));
    expect(variance / closedForm).toBeGreaterThan(0.9);
    expect(variance / closedForm).toBeLessThan(1.1);
    expect(cross / count / variance).toBeCloseTo(0.95, 1);
  });

  it('conditional() gives the law of the next draw; reset() zeroes one env', () => {
    const a = new OrnsteinUhlenbeckNoise(2, 2, 0.5, 0.1, 0.15, 0.01, new Rng(3));
    const out = new Float64Array(4);
    a.sample(out);
    a.sample(out);
    const c = a.conditional(1, 0);
    const x = a.x[2];
    expect(c.mean).toBeCloseTo(x + 0.15 * (0.1 - x) * 0.01, 14);
    expect(c.std).toBeCloseTo(0.5 * Math.sqrt(0.01), 14);
    a.reset(1);
    expect(Array.from(a.x.subarray(2))).toEqual([0, 0]);
    expect(a.x[0]).not.toBe(0);
  });

  it('state save/restore continues the same stream', () => {
    const a = new OrnsteinUhlenbeckNoise(2, 1, 0.5, 0, 0.15, 0.01, new Rng(5));
    const out = new Float64Array(2);
    for (let t = 0; t < 10; t++) a.sample(out);
    const state = JSON.parse(JSON.stringify(a.getState()));
    const b = new OrnsteinUhlenbeckNoise(2, 1, 0.5, 0, 0.15, 0.01, new Rng(99));
    b.setState(state);
    const oa = new Float64Array(2);
    const ob = new Float64Array(2);
    for (let t = 0; t < 5; t++) {
      a.sample(oa);
      b.sample(ob);
      expect(Array.from(ob)).toEqual(Array.from(oa));
    }
    expect(() => b.setState({ ...state, x: [1] })).toThrow(/actionNoise\.x/);
    expect(() => b.setState({ ...state, kind: 'normal' })).toThrow(/kind/);
  });
});

describe('Gaussian noise', () => {
  it('draws N(μ, σ²) independently', () => {
    const g = new GaussianActionNoise(1000, 1, 0.1, 0, new Rng(1));
    const out = new Float64Array(1000);
    let s = 0;
    let s2 = 0;
    for (let t = 0; t < 20; t++) {
      g.sample(out);
      for (const v of out) {
        s += v;
        s2 += v * v;
      }
    }
    const m = s / 20_000;
    expect(Math.abs(m)).toBeLessThan(0.003);
    expect(Math.sqrt(s2 / 20_000 - m * m)).toBeCloseTo(0.1, 2);
    expect(g.conditional()).toEqual({ mean: 0, std: 0.1 });
  });

  it('createActionNoise maps configs and returns null for none', () => {
    expect(createActionNoise({ type: 'none', std: 0.1 }, 1, 1, new Rng(0))).toBeNull();
    expect(createActionNoise({ type: 'normal', std: 0 }, 1, 1, new Rng(0))).toBeNull();
    expect(createActionNoise({ type: 'normal', std: 0.2 }, 1, 1, new Rng(0))?.kind).toBe('normal');
    const ou = createActionNoise({ type: 'ornstein-uhlenbeck', std: 0.5 }, 2, 3, new Rng(0)) as OrnsteinUhlenbeckNoise;
    expect([ou.theta, ou.dt, ou.x.length]).toEqual([0.15, 0.01, 6]);
  });
});
