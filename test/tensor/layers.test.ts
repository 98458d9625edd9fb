/**
 * Dense and Mlp: gradients against central finite differences, forward against a float64
 * reference, weight management (get/set, copy, Polyak) and input validation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KairosError, ValidationError } from '../../src/core/errors.js';
import { Dense, Mlp, type NamedWeights, tf } from '../../src/tensor/index.js';
import { BACKENDS, Rng, closeness, finiteDifference, jsMatMul, maxAbsDiff, randn, useBackend, values } from './helpers.js';

/** Gradient of loss wrt every named weight, via tf.variableGrads. */
function analyticGrads(net: Mlp | Dense, loss: () => tf.Scalar): Record<string, Float32Array> {
  const named = net.params.named();
  const { value, grads } = tf.variableGrads(loss, Object.values(named));
  const out: Record<string, Float32Array> = {};
  for (const [name, v] of Object.entries(named)) out[name] = values(grads[v.name]);
  tf.dispose([value, ...Object.values(grads)]);
  return out;
}

/** FD gradient wrt one named weight, by perturbing it through setWeights. */
function fdGrad(net: Mlp | Dense, name: string, loss: () => tf.Scalar, h: number): Float64Array {
  const base = net.getWeights();
  const w = base[name];
  const g = finiteDifference(
    (wt) => {
      const trial: NamedWeights = { ...base, [name]: { shape: w.shape, data: values(wt) } };
      net.setWeights(trial);
      return loss();
    },
    w.data,
    [...w.shape],
    h,
  );
  net.setWeights(base);
  return g;
}

describe.each(BACKENDS)('layers on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it.each(['tanh', 'elu'] as const)('Mlp (%s) gradients match central finite differences', (activation) => {
    const rng = new Rng(3);
    const net = new Mlp({ inputSize: 3, hiddenSizes: [5, 4], outputSize: 2, activation, outputActivation: 'tanh', seed: 1 });
    const x = tf.tensor2d(randn(6 * 3, rng), [6, 3]);
    const y = tf.tensor2d(randn(6 * 2, rng), [6, 2]);
    const loss = () => tf.tidy(() => tf.mean(tf.square(tf.sub(net.apply(x), y))) as tf.Scalar);
    const grads = analyticGrads(net, loss);
    for (const name of Object.keys(grads)) {
      const fd = fdGrad(net, name, loss, 1e-2);
      // float32 forward passes: central differences with h = 1e-2 are good to ~1e-4 here.
      expect(closeness(grads[name], fd, 5e-4, 1e-2), `${name}: ${Array.from(grads[name]).slice(0, 4)} vs ${Array.from(fd).slice(0, 4)}`).toBeLessThanOrEqual(1);
    }
    tf.dispose([x, y]);
    net.dispose();
  });

  it('relu Mlp gradient matches finite differences away from kinks', () => {
    const rng = new Rng(8);
    const net = new Mlp({ inputSize: 4, hiddenSizes: [6], outputSize: 1, activation: 'relu', init: 'he', seed: 2 });
    const x = tf.tensor2d(randn(5 * 4, rng), [5, 4]);
    const loss = () => tf.tidy(() => tf.sum(tf.square(net.apply(x))) as tf.Scalar);
    const grads = analyticGrads(net, loss);
    for (const name of Object.keys(grads)) {
      const fd = fdGrad(net, name, loss, 1e-3);
      expect(closeness(grads[name], fd, 2e-3, 2e-2), name).toBeLessThanOrEqual(1);
    }
    tf.dispose(x);
    net.dispose();
  });

  it('Dense on a rank-3 input (sequence) equals a float64 reference and its gradient matches FD', () => {
    const rng = new Rng(4);
    const layer = new Dense({ inputSize: 3, outputSize: 2, activation: 'tanh', seed: 9 });
    const xv = randn(2 * 4 * 3, rng);
    const x = tf.tensor3d(xv, [2, 4, 3]);
    const out = layer.apply(x);
    expect(out.shape).toEqual([2, 4, 2]);
    const w = layer.getWeights();
    const ref = jsMatMul(xv, w.kernel.data, 8, 3, 2).map((v, i) => Math.tanh(v + w.bias.data[i % 2]));
    expect(maxAbsDiff(values(out), ref)).toBeLessThan(1e-5);
    const loss = () => tf.tidy(() => tf.sum(tf.square(layer.apply(x))) as tf.Scalar);
    const grads = analyticGrads(layer, loss);
    for (const name of ['kernel', 'bias']) {
      expect(closeness(grads[name], fdGrad(layer, name, loss, 1e-2), 5e-4, 1e-2), name).toBeLessThanOrEqual(1);
    }
    tf.dispose([x, out]);
    layer.dispose();
  });
});

describe('Mlp weights and config', () => {
  beforeAll(async () => {
    await useBackend('wasm');
  });
  const small = (seed: number) => new Mlp({ inputSize: 3, hiddenSizes: [4], outputSize: 2, seed });
  let before = 0;
  beforeAll(() => {
    before = tf.memory().numTensors;
  });
  afterAll(() => {
    // Every network these tests built was disposed.
    expect(tf.memory().numTensors).toBe(before);
  });

  it('names weights like a state dict and counts parameters', () => {
    const net = small(1);
    expect(Object.keys(net.getWeights())).toEqual(['layers.0.kernel', 'layers.0.bias', 'layers.1.kernel', 'layers.1.bias']);
    expect(net.parameterCount).toBe(3 * 4 + 4 + 4 * 2 + 2);
    expect(net.trainableVariables).toHaveLength(4);
    net.dispose();
  });

  it('orthogonal init uses gain √2 on hidden layers and outputGain on the head', () => {
    const net = new Mlp({ inputSize: 16, hiddenSizes: [16], outputSize: 4, init: 'orthogonal', outputGain: 0.01, seed: 3 });
    const w = net.getWeights();
    let colNorm0 = 0;
    for (let r = 0; r < 16; r++) colNorm0 += w['layers.0.kernel'].data[r * 16] ** 2;
    expect(colNorm0).toBeCloseTo(2, 5);
    let headNorm = 0;
    for (let r = 0; r < 16; r++) headNorm += w['layers.1.kernel'].data[r * 4] ** 2;
    expect(headNorm).toBeCloseTo(1e-4, 8);
    expect(Array.from(w['layers.0.bias'].data).every((b) => b === 0)).toBe(true);
    net.dispose();
  });

  it('copyFrom makes outputs identical; polyakUpdate interpolates', () => {
    const a = small(1);
    const b = small(2);
    const wa = a.getWeights();
    const wb = b.getWeights();
    b.polyakUpdate(a, 0.25);
    const mixed = b.getWeights();
    for (const name of Object.keys(wa)) {
      const expected = wa[name].data.map((v, i) => 0.25 * v + 0.75 * wb[name].data[i]);
      expect(maxAbsDiff(mixed[name].data, expected)).toBeLessThan(1e-6);
    }
    b.copyFrom(a);
    const x = tf.ones([2, 3]);
    const [ya, yb] = [a.apply(x), b.apply(x)];
    expect(Array.from(values(yb))).toEqual(Array.from(values(ya)));
    // Training a afterwards must not change b (copy, not aliasing).
    a.setWeights(wb);
    expect(Array.from(b.getWeights()['layers.0.kernel'].data)).toEqual(Array.from(wa['layers.0.kernel'].data));
    tf.dispose([x, ya, yb]);
    a.dispose();
    b.dispose();
  });

  it('rejects mismatched networks and bad tau, naming the weight', () => {
    const a = small(1);
    const c = new Mlp({ inputSize: 3, hiddenSizes: [5], outputSize: 2, seed: 1 });
    expect(() => a.copyFrom(c)).toThrow(/layers\.0\.kernel: expected shape \[3, 4\].*received \[3,5\]/);
    expect(() => a.polyakUpdate(a, 1.5)).toThrow(ValidationError);
    a.dispose();
    c.dispose();
  });

  it('setWeights rejects missing, extra and misshapen weights with the weight name', () => {
    const net = small(1);
    const w = net.getWeights();
    const { ['layers.1.bias']: _dropped, ...missing } = w;
    expect(() => net.setWeights(missing)).toThrow(/layers\.1\.bias.*missing/);
    expect(() => net.setWeights({ ...w, extra: { shape: [1], data: new Float32Array(1) } })).toThrow(/extra/);
    expect(() => net.setWeights({ ...w, 'layers.0.bias': { shape: [5], data: new Float32Array(5) } })).toThrow(
      /layers\.0\.bias: expected shape \[4\], received \[5\]/,
    );
    expect(() => net.setWeights({ ...w, 'layers.0.bias': { shape: [4], data: new Float32Array(3) } })).toThrow(/layers\.0\.bias\.data/);
    net.dispose();
  });

  it('validates config and input shapes with clear errors', () => {
    expect(() => new Mlp({ inputSize: 0, outputSize: 2, seed: 1 })).toThrow(/inputSize/);
    expect(() => new Mlp({ inputSize: 2, outputSize: 2 })).toThrow(/seed/);
    expect(() => new Mlp({ inputSize: 2, outputSize: 2, seed: 1, rng: new Rng(1) })).toThrow(/seed/);
    expect(() => new Mlp({ inputSize: 2, outputSize: 2, seed: 1, activation: 'gelu' as 'relu' })).toThrow(/activation.*"relu"/);
    const net = small(1);
    const x = tf.ones([2, 5]);
    expect(() => net.apply(x as tf.Tensor2D)).toThrow(/\[batch, 3\].*\[2, 5\]/);
    net.dispose();
    expect(() => net.apply(x as tf.Tensor2D)).toThrow(KairosError);
    x.dispose();
  });

  it('a shared Rng advances, so two nets from one Rng differ but replay identically', () => {
    const r1 = new Rng(5);
    const n1 = new Mlp({ inputSize: 2, hiddenSizes: [3], outputSize: 1, rng: r1 });
    const n2 = new Mlp({ inputSize: 2, hiddenSizes: [3], outputSize: 1, rng: r1 });
    const r2 = new Rng(5);
    const m1 = new Mlp({ inputSize: 2, hiddenSizes: [3], outputSize: 1, rng: r2 });
    const k = 'layers.0.kernel';
    expect(Array.from(n1.getWeights()[k].data)).toEqual(Array.from(m1.getWeights()[k].data));
    expect(maxAbsDiff(n1.getWeights()[k].data, n2.getWeights()[k].data)).toBeGreaterThan(0);
    [n1, n2, m1].forEach((n) => n.dispose());
  });
});
