import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { KairosError } from '../../src/core/errors.js';

// First 8 outputs of xoshiro128** seeded by the SplitMix32-style expansion, computed with
// an independent C implementation of the published algorithm (Blackman & Vigna; see
// docs/reference/xoshiro128ss.c).
const REFERENCE: Record<number, number[]> = {
  0: [3809008728, 1133695204, 53579671, 2891528803, 139681546, 2203266335, 104831812, 1587294886],
  42: [2837322924, 544945897, 479756282, 3500138142, 339756180, 113173290, 65323186, 1112262688],
  123456789: [4284103975, 1001954530, 2701803082, 2658065534, 3104308804, 4033197306, 2121505443, 3804340767],
};

describe('Rng', () => {
  it('matches the reference xoshiro128** stream', () => {
    for (const [seed, expected] of Object.entries(REFERENCE)) {
      const rng = new Rng(Number(seed));
      expect(Array.from({ length: 8 }, () => rng.nextUint32())).toEqual(expected);
    }
  });

  it('gives the same stream for the same seed and different streams otherwise', () => {
    const a = new Rng(7);
    const b = new Rng(7);
    const c = new Rng(8);
    const xs = Array.from({ length: 100 }, () => a.random());
    expect(Array.from({ length: 100 }, () => b.random())).toEqual(xs);
    expect(Array.from({ length: 100 }, () => c.random())).not.toEqual(xs);
  });

  it('uses the high bits of seeds above 2^32', () => {
    expect(new Rng(2 ** 32 + 5).nextUint32()).not.toBe(new Rng(5).nextUint32());
  });

  it('produces uniforms in [0, 1) with mean 1/2 and variance 1/12', () => {
    const rng = new Rng(1);
    const n = 200_000;
    let s = 0;
    let s2 = 0;
    let outside = 0;
    for (let i = 0; i < n; i++) {
      const u = rng.random();
      if (!(u >= 0 && u < 1)) outside++;
      s += u;
      s2 += u * u;
    }
    expect(outside).toBe(0);
    const mean = s / n;
    // 5 standard errors: sd of the mean is sqrt(1/12 / n) ≈ 6.5e-4.
    expect(Math.abs(mean - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / n));
    expect(Math.abs(s2 / n - mean * mean - 1 / 12)).toBeLessThan(2e-3);
  });

  it('produces standard normals', () => {
    const rng = new Rng(2);
    const n = 200_000;
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const z = rng.normal();
      s += z;
      s2 += z * z;
    }
    expect(Math.abs(s / n)).toBeLessThan(5 / Math.sqrt(n));
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.02);
  });

  it('int(n) is unbiased over a non-power-of-two range', () => {
    const rng = new Rng(3);
    const counts = new Array(6).fill(0);
    const n = 120_000;
    for (let i = 0; i < n; i++) counts[rng.int(6)]++;
    // Chi-square with 5 dof: 99.9% quantile is 20.5.
    const chi2 = counts.reduce((a, c) => a + (c - n / 6) ** 2 / (n / 6), 0);
    expect(chi2).toBeLessThan(20.5);
  });

  it('categorical follows the weights and never picks a zero weight', () => {
    const rng = new Rng(4);
    const w = [0, 1, 3, 0];
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 40_000; i++) counts[rng.categorical(w)]++;
    expect(counts[0]).toBe(0);
    expect(counts[3]).toBe(0);
    expect(counts[2] / counts[1]).toBeGreaterThan(2.8);
    expect(counts[2] / counts[1]).toBeLessThan(3.2);
    expect(() => rng.categorical([0, 0])).toThrow(/positive finite sum/);
  });

  it('restores its state exactly, including the cached normal', () => {
    const rng = new Rng(5);
    rng.normal();
    const state = rng.getState();
    const a = [rng.normal(), rng.random(), rng.nextUint32()];
    const other = new Rng(999);
    other.setState(JSON.parse(JSON.stringify(state)));
    expect([other.normal(), other.random(), other.nextUint32()]).toEqual(a);
  });

  it('spawns reproducible independent children', () => {
    const a = new Rng(6).spawn();
    const b = new Rng(6).spawn();
    expect(a.nextUint32()).toBe(b.nextUint32());
  });

  it('rejects invalid seeds with a clear error', () => {
    for (const bad of [-1, 1.5, NaN, 2 ** 53, '3' as unknown as number]) {
      expect(() => new Rng(bad)).toThrow(KairosError);
      expect(() => new Rng(bad)).toThrow(/seed: expected an integer/);
    }
  });
});
