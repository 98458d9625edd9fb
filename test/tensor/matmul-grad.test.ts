/**
 * The explicit-transpose BatchMatMul gradient (backend.ts / gradients.ts) against
 * (1) the upstream tfjs-core gradient config itself, (2) Kairos's reference form, and
 * (3) a float64 closed form computed in plain JS, for all four transpose combinations,
 * batched rank-3 inputs and broadcast batch dims, on both backends.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fastBatchMatMulGradConfig,
  isFastMatMulGrad,
  referenceBatchMatMulGradConfig,
  setFastMatMulGrad,
  tf,
} from '../../src/tensor/index.js';
import { BACKENDS, Rng, jsMatMul, jsTranspose, maxAbs, maxAbsDiff, randn, useBackend, values } from './helpers.js';

interface Case {
  name: string;
  a: number[];
  b: number[];
  tA: boolean;
  tB: boolean;
}

const FLAGS: Array<[boolean, boolean]> = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
];

/** Stored shapes for op(A) = [m,k], op(B) = [k,n] under the given flags. */
function shapes(m: number, k: number, n: number, tA: boolean, tB: boolean): [number[], number[]] {
  return [tA ? [k, m] : [m, k], tB ? [n, k] : [k, n]];
}

const plainCases: Case[] = FLAGS.map(([tA, tB]) => {
  const [a, b] = shapes(5, 7, 3, tA, tB);
  return { name: `rank 2, transposeA=${tA} transposeB=${tB}`, a, b, tA, tB };
});
const batchedCases: Case[] = FLAGS.map(([tA, tB]) => {
  const [a, b] = shapes(5, 6, 4, tA, tB);
  return { name: `rank 3 batch 3, transposeA=${tA} transposeB=${tB}`, a: [3, ...a], b: [3, ...b], tA, tB };
});
const broadcastCases: Case[] = [
  ...FLAGS.map(([tA, tB]) => {
    const [a, b] = shapes(4, 5, 3, tA, tB);
    return { name: `a batch 1 vs b batch 3, transposeA=${tA} transposeB=${tB}`, a: [1, ...a], b: [3, ...b], tA, tB };
  }),
  { name: 'rank-2 a times rank-3 b', a: [4, 5], b: [3, 5, 2], tA: false, tB: false },
  { name: 'rank-3 a times rank-2 bᵀ (shared weights over a sequence)', a: [3, 4, 5], b: [2, 5], tA: false, tB: true },
];

/** Gradients of L = Σ (op(A)·op(B)) ⊙ W under the given gradient config. */
function gradsWith(config: tf.GradConfig, c: Case, av: Float32Array, bv: Float32Array, wv: Float32Array): [Float32Array, Float32Array] {
  tf.registerGradient(config);
  try {
    return tf.tidy(() => {
      const a = tf.tensor(av, c.a);
      const b = tf.tensor(bv, c.b);
      const out = tf.matMul(a, b, c.tA, c.tB);
      const w = tf.tensor(wv, out.shape);
      const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y, c.tA, c.tB), w)))([a, b]);
      return [values(ga), values(gb)] as [Float32Array, Float32Array];
    });
  } finally {
    setFastMatMulGrad(true);
  }
}

/** Output shape of the case (for the random weights W). */
function outShape(c: Case): number[] {
  const m = c.tA ? c.a[c.a.length - 1] : c.a[c.a.length - 2];
  const n = c.tB ? c.b[c.b.length - 2] : c.b[c.b.length - 1];
  const batch = Math.max(c.a.length > 2 ? c.a[0] : 1, c.b.length > 2 ? c.b[0] : 1);
  return c.a.length > 2 || c.b.length > 2 ? [batch, m, n] : [m, n];
}

/**
 * Float64 closed form from the definitions d(opA) = dy·opBᵀ, d(opB) = opAᵀ·dy, summing over
 * broadcast batch entries. Independent of the four-case table in gradients.ts.
 */
function closedForm(c: Case, av: Float32Array, bv: Float32Array, wv: Float32Array): [Float64Array, Float64Array] {
  const [ar, ac] = c.a.slice(-2);
  const [br, bc] = c.b.slice(-2);
  const m = c.tA ? ac : ar;
  const k = c.tA ? ar : ac;
  const n = c.tB ? br : bc;
  const aBatch = c.a.length > 2 ? c.a[0] : 1;
  const bBatch = c.b.length > 2 ? c.b[0] : 1;
  const batch = Math.max(aBatch, bBatch);
  const ga = new Float64Array(av.length);
  const gb = new Float64Array(bv.length);
  for (let i = 0; i < batch; i++) {
    const ai = aBatch === 1 ? 0 : i;
    const bi = bBatch === 1 ? 0 : i;
    const A = av.subarray(ai * ar * ac, (ai + 1) * ar * ac);
    const B = bv.subarray(bi * br * bc, (bi + 1) * br * bc);
    const opA = c.tA ? jsTranspose(A, ar, ac) : Float64Array.from(A);
    const opB = c.tB ? jsTranspose(B, br, bc) : Float64Array.from(B);
    const dy = wv.subarray(i * m * n, (i + 1) * m * n);
    const dOpA = jsMatMul(dy, jsTranspose(opB, k, n), m, n, k); // [m,k]
    const dOpB = jsMatMul(jsTranspose(opA, m, k), dy, k, m, n); // [k,n]
    const dA = c.tA ? jsTranspose(dOpA, m, k) : dOpA;
    const dB = c.tB ? jsTranspose(dOpB, k, n) : dOpB;
    for (let j = 0; j < dA.length; j++) ga[ai * ar * ac + j] += dA[j];
    for (let j = 0; j < dB.length; j++) gb[bi * br * bc + j] += dB[j];
  }
  return [ga, gb];
}

let upstream: tf.GradConfig;

beforeAll(async () => {
  // The real upstream config (tfjs-core 4.22 gradients/BatchMatMul_grad.js). Not loadable by
  // plain Node (extensionless ESM imports), but vitest transforms it.
  const mod = await import('@tensorflow/tfjs-core/dist/gradients/BatchMatMul_grad.js');
  upstream = mod.batchMatMulGradConfig as unknown as tf.GradConfig;
});

afterAll(() => setFastMatMulGrad(true));

describe.each(BACKENDS)('BatchMatMul gradient on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('the fast gradient is the one registered after initTensorBackend', () => {
    expect(isFastMatMulGrad()).toBe(true);
    expect(tf.getGradient(tf.BatchMatMul)).toBe(fastBatchMatMulGradConfig);
  });

  it.each([...plainCases, ...batchedCases])('$name: fast = upstream = reference = closed form', (c) => {
    const rng = new Rng(7);
    const av = randn(c.a.reduce((x, y) => x * y, 1), rng);
    const bv = randn(c.b.reduce((x, y) => x * y, 1), rng);
    const wv = randn(outShape(c).reduce((x, y) => x * y, 1), rng);
    const fast = gradsWith(fastBatchMatMulGradConfig, c, av, bv, wv);
    const up = gradsWith(upstream, c, av, bv, wv);
    const ref = gradsWith(referenceBatchMatMulGradConfig, c, av, bv, wv);
    const exact = closedForm(c, av, bv, wv);
    for (let i = 0; i < 2; i++) {
      const scale = Math.max(1, maxAbs(exact[i]));
      // Same products summed in possibly different order: float32 rounding only.
      expect(maxAbsDiff(fast[i], up[i])).toBeLessThan(1e-5 * scale);
      expect(maxAbsDiff(ref[i], up[i])).toBeLessThan(1e-5 * scale);
      expect(maxAbsDiff(fast[i], exact[i])).toBeLessThan(1e-5 * scale);
    }
  });

  it.each(broadcastCases)('broadcast, $name: fast = reference = closed form', (c) => {
    const rng = new Rng(11);
    const av = randn(c.a.reduce((x, y) => x * y, 1), rng);
    const bv = randn(c.b.reduce((x, y) => x * y, 1), rng);
    const wv = randn(outShape(c).reduce((x, y) => x * y, 1), rng);
    const fast = gradsWith(fastBatchMatMulGradConfig, c, av, bv, wv);
    const ref = gradsWith(referenceBatchMatMulGradConfig, c, av, bv, wv);
    const exact = closedForm(c, av, bv, wv);
    for (let i = 0; i < 2; i++) {
      const scale = Math.max(1, maxAbs(exact[i]));
      expect(maxAbsDiff(fast[i], ref[i])).toBeLessThan(1e-5 * scale);
      expect(maxAbsDiff(fast[i], exact[i])).toBeLessThan(1e-5 * scale);
    }
  });

  it('upstream tfjs 4.22 gradient rejects broadcast batch dims (why Kairos reduces them)', () => {
    const c = broadcastCases[0];
    const rng = new Rng(3);
    const av = randn(c.a.reduce((x, y) => x * y, 1), rng);
    const bv = randn(c.b.reduce((x, y) => x * y, 1), rng);
    const wv = randn(outShape(c).reduce((x, y) => x * y, 1), rng);
    expect(() => gradsWith(upstream, c, av, bv, wv)).toThrow(/shape/);
  });

  it('backward pass of a training step runs no transposed matMul with the fast gradient', () => {
    // Wrap the backend's BatchMatMul kernel to record its transpose flags.
    const original = tf.getKernel(tf.BatchMatMul, backend);
    expect(original).toBeDefined();
    const seen: Array<[boolean, boolean]> = [];
    tf.unregisterKernel(tf.BatchMatMul, backend);
    tf.registerKernel({
      ...original,
      kernelFunc: (args) => {
        const attrs = args.attrs as unknown as tf.BatchMatMulAttrs;
        seen.push([attrs.transposeA, attrs.transposeB]);
        return original.kernelFunc(args);
      },
    });
    const step = () =>
      tf.tidy(() => {
        const x = tf.ones([4, 3]);
        const w1 = tf.variable(tf.fill([3, 5], 0.1));
        const w2 = tf.variable(tf.fill([5, 2], 0.2));
        const { value, grads } = tf.variableGrads(() => tf.sum(tf.tanh(tf.matMul(tf.tanh(tf.matMul(x, w1)), w2))) as tf.Scalar, [w1, w2]);
        value.dataSync();
        tf.dispose([value, ...Object.values(grads), w1, w2]);
      });
    try {
      step();
      expect(seen.length).toBeGreaterThanOrEqual(5); // 2 forward + 3 backward
      expect(seen.filter(([a, b]) => a || b)).toEqual([]);
      seen.length = 0;
      setFastMatMulGrad(false);
      step();
      expect(seen.filter(([a, b]) => a || b).length).toBeGreaterThan(0);
    } finally {
      setFastMatMulGrad(true);
      tf.unregisterKernel(tf.BatchMatMul, backend);
      tf.registerKernel(original);
    }
  });
});

describe('setFastMatMulGrad', () => {
  it('restores the gradient that was registered before the override', async () => {
    await useBackend('wasm');
    setFastMatMulGrad(false);
    // In Node no upstream gradient is registered, so the original is Kairos's reference form.
    expect(tf.getGradient(tf.BatchMatMul)).toBe(referenceBatchMatMulGradConfig);
    expect(isFastMatMulGrad()).toBe(false);
    setFastMatMulGrad(true);
    expect(tf.getGradient(tf.BatchMatMul)).toBe(fastBatchMatMulGradConfig);
  });
});
