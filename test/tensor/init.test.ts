/**
 * Initialisers against their closed forms: orthogonality of `orthogonal`, the Glorot/He/LeCun
 * bounds and variances on a large matrix, and seed determinism across backends.
 */
import { describe, expect, it } from 'vitest';
import {
  Mlp,
  fans,
  glorotUniform,
  glorotUniformValues,
  heUniformValues,
  lecunNormalValues,
  orthogonal,
  orthogonalValues,
  tf,
  torchDefaultValues,
} from '../../src/tensor/index.js';
import { Rng, maxAbsDiff, useBackend, values } from './helpers.js';

function gram(w: Float32Array, rows: number, cols: number, side: 'cols' | 'rows'): Float64Array {
  // cols: WᵀW (cols×cols); rows: W·Wᵀ (rows×rows).
  const n = side === 'cols' ? cols : rows;
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      if (side === 'cols') for (let r = 0; r < rows; r++) s += w[r * cols + i] * w[r * cols + j];
      else for (let c = 0; c < cols; c++) s += w[i * cols + c] * w[j * cols + c];
      out[i * n + j] = s;
    }
  }
  return out;
}

function maxDeviationFromScaledIdentity(g: Float64Array, n: number, scale: number): number {
  let m = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) m = Math.max(m, Math.abs(g[i * n + j] - (i === j ? scale : 0)));
  return m;
}

function moments(x: Float32Array): { mean: number; variance: number; min: number; max: number } {
  let mean = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const v of x) {
    mean += v;
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  mean /= x.length;
  let variance = 0;
  for (const v of x) variance += (v - mean) ** 2;
  return { mean, variance: variance / x.length, min, max };
}

describe('orthogonal', () => {
  it.each([
    [64, 32, 1],
    [32, 64, Math.SQRT2],
    [50, 50, 0.01],
    [256, 256, Math.SQRT2],
  ])('[%i, %i] with gain %f: WᵀW (tall) or W·Wᵀ (wide) = gain²·I', (rows, cols, gain) => {
    const w = orthogonalValues([rows, cols], new Rng(5), gain);
    const side = rows >= cols ? 'cols' : 'rows';
    const n = Math.min(rows, cols);
    // float32 storage bounds the error: ~1e-7 per entry, summed over up to 256 terms.
    expect(maxDeviationFromScaledIdentity(gram(w, rows, cols, side), n, gain * gain)).toBeLessThan(2e-6 * gain * gain + 1e-12);
  });

  it('flattens leading axes into rows for rank > 2 (Keras layout)', () => {
    const w = orthogonalValues([3, 3, 4, 8], new Rng(1));
    expect(maxDeviationFromScaledIdentity(gram(w, 36, 8, 'cols'), 8, 1)).toBeLessThan(1e-6);
  });

  it('is not the identity and differs between seeds', () => {
    const a = orthogonalValues([8, 8], new Rng(1));
    const b = orthogonalValues([8, 8], new Rng(2));
    expect(maxAbsDiff(a, b)).toBeGreaterThan(0.1);
    expect(Math.abs(a[1])).toBeGreaterThan(0);
  });

  it('rejects rank < 2', () => {
    expect(() => orthogonalValues([4], new Rng(1))).toThrow(/rank >= 2/);
  });
});

describe('variance-scaling initialisers match their closed forms on a 400x600 matrix', () => {
  const shape = [400, 600] as const;
  const n = shape[0] * shape[1];
  const { fanIn, fanOut } = fans(shape);

  it('glorot uniform: bound √(6/(in+out)), variance 2/(in+out)', () => {
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    const m = moments(glorotUniformValues(shape, new Rng(1)));
    expect(m.min).toBeGreaterThanOrEqual(-limit);
    expect(m.max).toBeLessThanOrEqual(limit);
    // Observed extremes reach the bound: a draw of 240k points gets within 0.1% of it.
    expect(m.max).toBeGreaterThan(0.999 * limit);
    const expected = 2 / (fanIn + fanOut);
    // Sample variance of U(−a, a): relative s.e. √(0.8/n) ≈ 0.18%; allow 1%.
    expect(Math.abs(m.variance / expected - 1)).toBeLessThan(0.01);
    expect(Math.abs(m.mean)).toBeLessThan(5 * Math.sqrt(expected / n));
  });

  it('he uniform: bound √(6/in), variance 2/in', () => {
    const limit = Math.sqrt(6 / fanIn);
    const m = moments(heUniformValues(shape, new Rng(2)));
    expect(m.min).toBeGreaterThanOrEqual(-limit);
    expect(m.max).toBeLessThanOrEqual(limit);
    expect(Math.abs(m.variance / (2 / fanIn) - 1)).toBeLessThan(0.01);
  });

  it('lecun normal: variance 1/in', () => {
    const m = moments(lecunNormalValues(shape, new Rng(3)));
    // Sample variance of a normal: relative s.e. √(2/n) ≈ 0.29%; allow 1.5%.
    expect(Math.abs(m.variance / (1 / fanIn) - 1)).toBeLessThan(0.015);
  });

  it('torch default: bound 1/√in', () => {
    const m = moments(torchDefaultValues(shape, new Rng(4)));
    expect(m.max).toBeLessThanOrEqual(1 / Math.sqrt(fanIn));
    expect(Math.abs(m.variance / (1 / (3 * fanIn)) - 1)).toBeLessThan(0.01);
  });
});

describe('seeded determinism', () => {
  it('same seed gives bit-identical weights on wasm and cpu', async () => {
    const read = () => {
      const net = new Mlp({ inputSize: 5, hiddenSizes: [16, 16], outputSize: 3, init: 'orthogonal', seed: 42 });
      const w = net.getWeights();
      const g = glorotUniform([7, 9], new Rng(42));
      const o = orthogonal([9, 7], new Rng(42), 2);
      const out = { w, g: values(g), o: values(o) };
      tf.dispose([g, o]);
      net.dispose();
      return out;
    };
    await useBackend('wasm');
    const onWasm = read();
    await useBackend('cpu');
    const onCpu = read();
    for (const name of Object.keys(onWasm.w)) {
      expect(Array.from(onCpu.w[name].data), name).toEqual(Array.from(onWasm.w[name].data));
    }
    expect(Array.from(onCpu.g)).toEqual(Array.from(onWasm.g));
    expect(Array.from(onCpu.o)).toEqual(Array.from(onWasm.o));
  });

  it('different seeds give different weights', () => {
    expect(maxAbsDiff(glorotUniformValues([4, 4], new Rng(1)), glorotUniformValues([4, 4], new Rng(2)))).toBeGreaterThan(0);
  });
});
