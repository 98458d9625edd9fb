/**
 * Lstm: forward pass against a float64 reference written out in plain JS from the equations
 * (PyTorch's nn.LSTM cell), gradients of every weight and of the input against central finite
 * differences (backpropagation through a masked, unrolled sequence), `step` repeated equals
 * `sequence`, initialisation, and tensor bookkeeping.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { KairosError, ValidationError } from '../../src/core/errors.js';
import { Lstm, tf, type NamedWeights } from '../../src/tensor/index.js';
import { BACKENDS, Rng, closeness, finiteDifference, maxAbsDiff, randn, useBackend, values } from './helpers.js';

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/**
 * Float64 reference: runs x [B, T, D] (row-major) with weights in the layer's [in, 4H]
 * layout, gate order i, f, g, o; masked steps keep the state. Returns outputs [B, T, H]
 * and the final h, c.
 */
function referenceLstm(
  w: NamedWeights,
  x: ArrayLike<number>,
  B: number,
  T: number,
  D: number,
  H: number,
  h0?: ArrayLike<number>,
  c0?: ArrayLike<number>,
  mask?: ArrayLike<number>,
): { outputs: Float64Array; h: Float64Array; c: Float64Array } {
  const wih = w.weight_ih.data;
  const whh = w.weight_hh.data;
  const bias = w.bias.data;
  const outputs = new Float64Array(B * T * H);
  const hOut = new Float64Array(B * H);
  const cOut = new Float64Array(B * H);
  for (let b = 0; b < B; b++) {
    let h = Float64Array.from({ length: H }, (_, j) => (h0 ? h0[b * H + j] : 0));
    let c = Float64Array.from({ length: H }, (_, j) => (c0 ? c0[b * H + j] : 0));
    for (let t = 0; t < T; t++) {
      const z = new Float64Array(4 * H);
      for (let j = 0; j < 4 * H; j++) {
        let s = bias[j];
        for (let d = 0; d < D; d++) s += x[(b * T + t) * D + d] * wih[d * 4 * H + j];
        for (let k = 0; k < H; k++) s += h[k] * whh[k * 4 * H + j];
        z[j] = s;
      }
      const hn = new Float64Array(H);
      const cn = new Float64Array(H);
      for (let j = 0; j < H; j++) {
        const i = sigmoid(z[j]);
        const f = sigmoid(z[H + j]);
        const g = Math.tanh(z[2 * H + j]);
        const o = sigmoid(z[3 * H + j]);
        cn[j] = f * c[j] + i * g;
        hn[j] = o * Math.tanh(cn[j]);
      }
      if (!mask || mask[b * T + t] === 1) {
        h = hn;
        c = cn;
      }
      for (let j = 0; j < H; j++) outputs[(b * T + t) * H + j] = h[j];
    }
    hOut.set(h, b * H);
    cOut.set(c, b * H);
  }
  return { outputs, h: hOut, c: cOut };
}

describe.each(BACKENDS)('Lstm on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it.each(['keras', 'torch'] as const)('sequence matches a float64 reference (%s init, mask, initial state)', (init) => {
    const [B, T, D, H] = [3, 5, 4, 6];
    const rng = new Rng(11);
    const lstm = new Lstm({ inputSize: D, hiddenSize: H, init, seed: 2 });
    const x = randn(B * T * D, rng);
    const h0 = randn(B * H, rng).map((v) => v * 0.5);
    const c0 = randn(B * H, rng);
    // Row 0 full, row 1 padded after 3 steps, row 2 with a hole (masks need not be prefixes).
    const mask = Float32Array.from([1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 0, 1, 1, 0]);
    const ref = referenceLstm(lstm.getWeights(), x, B, T, D, H, h0, c0, mask);
    const out = tf.tidy(() => {
      const r = lstm.sequence(tf.tensor3d(x, [B, T, D]), { h: tf.tensor2d(h0, [B, H]), c: tf.tensor2d(c0, [B, H]) }, tf.tensor2d(mask, [B, T]));
      return [values(r.outputs), values(r.state.h), values(r.state.c)];
    });
    expect(maxAbsDiff(out[0], ref.outputs)).toBeLessThan(1e-5);
    expect(maxAbsDiff(out[1], ref.h)).toBeLessThan(1e-5);
    expect(maxAbsDiff(out[2], ref.c)).toBeLessThan(1e-5);
    lstm.dispose();
  });

  it('step applied T times equals sequence, and frees its intermediates', () => {
    const [B, T, D, H] = [2, 6, 3, 5];
    const rng = new Rng(5);
    const lstm = new Lstm({ inputSize: D, hiddenSize: H, seed: 7 });
    const x = tf.tensor3d(randn(B * T * D, rng), [B, T, D]);
    const before = tf.memory().numTensors;
    let state = lstm.zeroState(B);
    const hs: Float32Array[] = [];
    for (let t = 0; t < T; t++) {
      const xt = tf.tidy(() => tf.reshape(tf.slice(x, [0, t, 0], [B, 1, D]), [B, D]) as tf.Tensor2D);
      const next = lstm.step(xt, state);
      tf.dispose([xt, state.h, state.c]);
      state = next;
      hs.push(values(state.h));
    }
    const stepped = values(state.c);
    tf.dispose([state.h, state.c]);
    expect(tf.memory().numTensors).toBe(before);
    const seq = lstm.sequence(x);
    const outs = values(seq.outputs);
    for (let t = 0; t < T; t++) {
      for (let b = 0; b < B; b++) {
        expect(maxAbsDiff(hs[t].subarray(b * H, (b + 1) * H), outs.subarray((b * T + t) * H, (b * T + t + 1) * H))).toBeLessThan(1e-6);
      }
    }
    expect(maxAbsDiff(stepped, values(seq.state.c))).toBeLessThan(1e-6);
    tf.dispose([seq.outputs, seq.state.h, seq.state.c, x]);
    expect(tf.memory().numTensors).toBe(before - 1);
    lstm.dispose();
  });

  it('gradients through the unrolled, masked sequence match central finite differences', () => {
    const [B, T, D, H] = [2, 4, 3, 4];
    const rng = new Rng(21);
    const lstm = new Lstm({ inputSize: D, hiddenSize: H, init: 'torch', seed: 3 });
    const xv = randn(B * T * D, rng);
    const x = tf.tensor3d(xv, [B, T, D]);
    const h0 = tf.tensor2d(randn(B * H, rng).map((v) => 0.3 * v), [B, H]);
    const c0 = tf.tensor2d(randn(B * H, rng), [B, H]);
    const mask = tf.tensor2d([1, 1, 1, 1, 1, 1, 0, 0], [B, T]);
    const wOut = tf.tensor3d(randn(B * T * H, rng), [B, T, H]);
    const wC = tf.tensor2d(randn(B * H, rng), [B, H]);
    // A loss touching every output and the final cell state, so every path is exercised.
    const lossOf = (xIn: tf.Tensor3D): tf.Scalar =>
      tf.tidy(() => {
        const r = lstm.sequence(xIn, { h: h0, c: c0 }, mask);
        return tf.add(tf.sum(tf.mul(r.outputs, wOut)), tf.sum(tf.mul(tf.square(r.state.c), wC))) as tf.Scalar;
      });
    const named = lstm.params.named();
    const { value, grads } = tf.variableGrads(() => lossOf(x), Object.values(named));
    const base = lstm.getWeights();
    for (const [name, v] of Object.entries(named)) {
      const w = base[name];
      const fd = finiteDifference(
        (wt) => {
          lstm.setWeights({ ...base, [name]: { shape: w.shape, data: values(wt) } });
          return lossOf(x);
        },
        w.data,
        [...w.shape],
        1e-2,
      );
      lstm.setWeights(base);
      const g = values(grads[v.name]);
      expect(closeness(g, fd, 2e-3, 2e-2), `${name}: ${Array.from(g).slice(0, 4)} vs ${Array.from(fd).slice(0, 4)}`).toBeLessThanOrEqual(1);
    }
    // Gradient with respect to the input sequence (zero on the masked steps).
    const gx = tf.grad((xIn: tf.Tensor) => lossOf(xIn as tf.Tensor3D))(x);
    const fdx = finiteDifference((xt) => lossOf(xt as tf.Tensor3D), xv, [B, T, D], 1e-2);
    expect(closeness(values(gx), fdx, 2e-3, 2e-2)).toBeLessThanOrEqual(1);
    const gxv = values(gx);
    for (const t of [2, 3]) for (let d = 0; d < D; d++) expect(gxv[(1 * T + t) * D + d]).toBe(0);
    tf.dispose([value, gx, x, h0, c0, mask, wOut, wC, ...Object.values(grads)]);
    lstm.dispose();
  });
});

describe('Lstm initialisation and validation', () => {
  it('keras init: forget-gate bias 1, others 0, orthogonal recurrent kernel; torch init within ±1/√H', () => {
    const H = 8;
    const k = new Lstm({ inputSize: 3, hiddenSize: H, seed: 1 });
    const w = k.getWeights();
    expect(w.weight_ih.shape).toEqual([3, 4 * H]);
    expect(w.weight_hh.shape).toEqual([H, 4 * H]);
    expect(Array.from(w.bias.data)).toEqual([...Array(H).fill(0), ...Array(H).fill(1), ...Array(2 * H).fill(0)]);
    // [H, 4H] is wide: rows orthonormal, W·Wᵀ = I.
    const whh = w.weight_hh.data;
    for (let i = 0; i < H; i++) {
      for (let j = 0; j < H; j++) {
        let s = 0;
        for (let m = 0; m < 4 * H; m++) s += whh[i * 4 * H + m] * whh[j * 4 * H + m];
        expect(s).toBeCloseTo(i === j ? 1 : 0, 5);
      }
    }
    const t = new Lstm({ inputSize: 3, hiddenSize: H, init: 'torch', seed: 1 });
    const tw = t.getWeights();
    const bound = 1 / Math.sqrt(H);
    for (const name of ['weight_ih', 'weight_hh']) for (const v of tw[name].data) expect(Math.abs(v)).toBeLessThanOrEqual(bound);
    for (const v of tw.bias.data) expect(Math.abs(v)).toBeLessThanOrEqual(2 * bound);
    // Same seed, same weights.
    const k2 = new Lstm({ inputSize: 3, hiddenSize: H, seed: 1 });
    expect(maxAbsDiff(k2.getWeights().weight_hh.data, whh)).toBe(0);
    [k, t, k2].forEach((l) => l.dispose());
  });

  it('rejects bad configs and shapes with the field or shape named', () => {
    expect(() => new Lstm({ inputSize: 0, hiddenSize: 4, seed: 0 })).toThrow(ValidationError);
    expect(() => new Lstm({ inputSize: 2, hiddenSize: 4 })).toThrow(/seed/);
    const l = new Lstm({ inputSize: 2, hiddenSize: 4, seed: 0 });
    const x = tf.zeros([1, 3, 5]) as tf.Tensor3D;
    expect(() => l.sequence(x)).toThrow(KairosError);
    const s = l.zeroState(2);
    const xt = tf.zeros([1, 2]) as tf.Tensor2D;
    expect(() => l.step(xt, s)).toThrow(/state.h of shape \[1, 4\]/);
    const s2 = l.zeroState(2);
    l.dispose();
    expect(() => l.step(tf.zeros([2, 2]) as tf.Tensor2D, s2)).toThrow(/dispose/);
    tf.dispose([x, xt, s.h, s.c, s2.h, s2.c]);
  });
});
