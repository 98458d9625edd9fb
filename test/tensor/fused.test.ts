/**
 * Kairos's fused WASM kernels: the generated kernels against float64 references, the fused
 * MLP forward/backward against the layer-by-layer tfjs path (bit for bit with ReLU and linear
 * layers, to float tolerance with tanh) and finite differences, the fused Adam against tfjs's Adam (bit for bit, state save/restore both ways),
 * memory neutrality, acting through `predict`, and the fallbacks.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  FusedAdamOptimizer,
  MLP_BACKWARD_KERNEL,
  MLP_FORWARD_KERNEL,
  Mlp,
  activeWasmKernels,
  createOptimizer,
  fusedTdLoss,
  fusedTdTargets,
  getOptimizerState,
  initTensorBackend,
  isFusedFma,
  isFusedKernelsEnabled,
  setFusedFma,
  setFusedKernels,
  setOptimizerState,
  tf,
  trainStep,
} from '../../src/tensor/index.js';
import { GEMM_ACCUMULATE, GEMM_MASK, GEMM_RELU, type WasmMemory, instantiateKernels, relaxedSimdSupported, wasmApi } from '../../src/tensor/wasm-kernels.js';
import { WasmModuleBuilder } from '../../src/tensor/wasm-asm.js';
import { Rng, closeness, finiteDifference, jsMatMul, jsTranspose, maxAbsDiff, randn, useBackend, values } from './helpers.js';

/** Runs `f` with the backend's kernels for `name` wrapped, returning how often each ran. */
function countKernels<T>(names: string[], f: () => T): { result: T; counts: Record<string, number> } {
  const counts: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
  const originals = names.map((n) => tf.getKernel(n, 'wasm'));
  names.forEach((n, i) => {
    const k = originals[i];
    if (k === undefined) return;
    tf.unregisterKernel(n, 'wasm');
    tf.registerKernel({ ...k, kernelFunc: (args) => (counts[n]++, k.kernelFunc(args)) });
  });
  try {
    return { result: f(), counts };
  } finally {
    names.forEach((n, i) => {
      const k = originals[i];
      if (k === undefined) return;
      tf.unregisterKernel(n, 'wasm');
      tf.registerKernel(k);
    });
  }
}

/** Every weight of two networks, compared bit for bit (as float32 values). */
function expectSameWeights(a: Mlp, b: Mlp): void {
  const wa = a.getWeights();
  const wb = b.getWeights();
  for (const name of Object.keys(wa)) expect(Array.from(wa[name].data), name).toEqual(Array.from(wb[name].data));
}

afterEach(() => setFusedKernels(true));

describe('wasm assembler', () => {
  it('produces a module WebAssembly accepts and that computes', () => {
    const m = new WasmModuleBuilder();
    m.importMemory('env', 'memory');
    const f = m.func('sum', [0x7f, 0x7f], [0x7f]);
    f.get(0).get(1).op(0x6a);
    const bytes = m.build();
    const WA = (globalThis as unknown as { WebAssembly: { validate(b: Uint8Array): boolean; Memory: new (d: { initial: number }) => object } }).WebAssembly;
    expect(WA.validate(bytes)).toBe(true);
    const memory = new WA.Memory({ initial: 1 });
    const exports = instantiateKernels(new (wasmApi().Module)(bytes), memory as WasmMemory) as unknown as { sum(a: number, b: number): number };
    expect(exports.sum(40, 2)).toBe(42);
  });
});

describe('fused kernels on wasm', () => {
  beforeAll(async () => {
    await useBackend('wasm');
    const info = await initTensorBackend({ backend: 'wasm', fastMatMulGrad: true });
    expect(info.fusedKernels).toBe(true);
  });

  describe('generated kernels against float64 references', () => {
    /** Allocates float32 arrays on the tfjs heap as tensors and returns their addresses. */
    const K = () => {
      const k = activeWasmKernels();
      if (k === null) throw new Error('no kernels');
      return k;
    };

    it.each([
      [1, 1, 1],
      [1, 256, 256],
      [3, 5, 37],
      [4, 8, 8],
      [7, 13, 11],
      [64, 4, 256],
      [64, 256, 2],
      [33, 70, 45],
    ])('gemm %i x %i x %i: row-major and transposed A, bias, ReLU, mask, accumulate, with and without packing', (m, k, n) => {
      const rng = new Rng(m * 1000 + k * 10 + n);
      const av = randn(m * k, rng);
      const bv = randn(k * n, rng);
      const biasv = randn(n, rng);
      const maskv = randn(m * n, rng);
      const cv = randn(m * n, rng);
      const kk = K();
      tf.tidy(() => {
        const a = tf.tensor(av, [m, k]);
        const at = tf.tensor(Float32Array.from(jsTranspose(av, m, k)), [k, m]);
        const b = tf.tensor(bv, [k, n]);
        const bias = tf.tensor(biasv, [n]);
        const mask = tf.tensor(maskv, [m, n]);
        const ref = jsMatMul(av, bv, m, k, n);
        for (const pack of [0, 1]) {
          const packBuf = pack ? kk.scratch(4 * 32 * Math.max(k, m)) : 0;
          // Plain, from row-major A and from Aᵀ.
          for (const [src, sai, sap] of [
            [a, k, 1],
            [at, 1, m],
          ] as const) {
            const c = tf.zeros([m, n]);
            kk.k.gemm(kk.addr(src), sai, sap, kk.addr(b), n, kk.addr(c), n, m, n, k, 0, 0, 0, packBuf);
            expect(closeness(values(c), ref, 1e-5, 1e-5)).toBeLessThanOrEqual(1);
          }
          // bias + ReLU
          const c1 = tf.zeros([m, n]);
          kk.k.gemm(kk.addr(a), k, 1, kk.addr(b), n, kk.addr(c1), n, m, n, k, kk.addr(bias), GEMM_RELU, 0, packBuf);
          const ref1 = ref.map((v, i) => Math.max(0, v + biasv[i % n]));
          expect(closeness(values(c1), ref1, 1e-5, 1e-5)).toBeLessThanOrEqual(1);
          // mask + accumulate
          const c2 = tf.tensor(cv, [m, n]);
          kk.k.gemm(kk.addr(a), k, 1, kk.addr(b), n, kk.addr(c2), n, m, n, k, 0, GEMM_MASK | GEMM_ACCUMULATE, kk.addr(mask), packBuf);
          const ref2 = ref.map((v, i) => cv[i] + (maskv[i] > 0 ? v : 0));
          expect(closeness(values(c2), ref2, 1e-5, 1e-5)).toBeLessThanOrEqual(1);
        }
      });
    });

    it.each([
      [1, 1],
      [4, 4],
      [7, 37],
      [37, 7],
      [256, 256],
      [64, 36],
    ])('transpose and colsum %i x %i', (r, c) => {
      const rng = new Rng(r + c);
      const v = randn(r * c, rng);
      const kk = K();
      tf.tidy(() => {
        const src = tf.tensor(v, [r, c]);
        const t = tf.zeros([c, r]);
        kk.k.transpose(kk.addr(src), r, c, kk.addr(t));
        expect(Array.from(values(t))).toEqual(Array.from(jsTranspose(v, r, c), Math.fround));
        const s = tf.zeros([c]);
        kk.k.colsum(kk.addr(src), r, c, kk.addr(s));
        const ref = new Float64Array(c);
        for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) ref[j] += v[i * c + j];
        expect(closeness(values(s), ref, 1e-5, 1e-5)).toBeLessThanOrEqual(1);
      });
    });

    it('tanh is within 5e-7 of Math.tanh on a dense sweep of [-20, 20] and edge cases; its scalar tail equals its SIMD lanes', () => {
      const edges = [0, -0, 1e-8, -1e-8, 3.9e-4, 4e-4, -4e-4, 1e-3, 0.5, 7.9, -7.9, 7.9053, 8, -8, 9, 100, -100, 3e38, -3e38, Infinity, -Infinity];
      const sweep = Array.from({ length: 400_001 }, (_, i) => -20 + i * 1e-4);
      // 400,022 values: a multiple of 4 plus 2, so the last two take the scalar tail.
      const xv = Float32Array.from([...sweep, ...edges, 1]);
      const kk = K();
      tf.tidy(() => {
        const x = tf.tensor1d(xv);
        const y = tf.zeros([xv.length]);
        kk.k.tanh(kk.addr(x), xv.length, kk.addr(y));
        const yv = values(y);
        let worst = 0;
        for (let i = 0; i < xv.length; i++) worst = Math.max(worst, Math.abs(yv[i] - Math.tanh(xv[i])));
        expect(worst).toBeLessThan(5e-7);
        expect(Object.is(yv[sweep.length + 1], -0)).toBe(true);
        expect(yv[sweep.length + 2]).toBe(Math.fround(1e-8));
        // The scalar path (n = 1) gives what the SIMD lanes gave.
        const one = tf.zeros([1]);
        for (let i = 0; i < xv.length; i += 997) {
          const xi = tf.tensor1d([xv[i]]);
          kk.k.tanh(kk.addr(xi), 1, kk.addr(one));
          expect(values(one)[0]).toBe(yv[i]);
        }
        // NaN in, NaN out; in place.
        const nan = tf.tensor1d([Number.NaN, 0.25, Number.NaN, -0.25, Number.NaN]);
        kk.k.tanh(kk.addr(nan), 5, kk.addr(nan));
        const nv = values(nan);
        expect([nv[0], nv[2], nv[4]].every(Number.isNaN)).toBe(true);
        expect(Math.abs(nv[1] - Math.tanh(0.25))).toBeLessThan(5e-7);
        expect(nv[3]).toBe(-nv[1]);
      });
    });

    it('tanhMask is (1 - y²)·dy in float32, as tfjs computes the tanh gradient', () => {
      const rng = new Rng(3);
      const n = 39;
      const dv = randn(n, rng);
      const yv = Float32Array.from(randn(n, rng), Math.tanh);
      const kk = K();
      tf.tidy(() => {
        const d = tf.tensor1d(dv);
        const y = tf.tensor1d(yv);
        const out = tf.zeros([n]);
        kk.k.tanhMask(kk.addr(d), kk.addr(y), n, kk.addr(out));
        const f = Math.fround;
        expect(Array.from(values(out))).toEqual(Array.from(dv, (g, i) => f(f(1 - f(yv[i] * yv[i])) * g)));
      });
    });
  });

  describe('fused MLP', () => {
    const shapes: Array<[string, number, number[], number, number, 'relu' | 'linear', 'relu' | 'linear']> = [
      ['DQN 8-256-256-4, batch 128', 8, [256, 256], 4, 128, 'relu', 'linear'],
      ['CartPole 4-256-256-2, batch 64', 4, [256, 256], 2, 64, 'relu', 'linear'],
      ['odd sizes 3-5-7-1, batch 3', 3, [5, 7], 1, 3, 'relu', 'linear'],
      ['one hidden layer, batch 1', 6, [13], 5, 1, 'relu', 'linear'],
      ['linear hidden layers', 5, [9, 6], 3, 10, 'linear', 'linear'],
      ['no hidden layer', 7, [], 3, 6, 'relu', 'linear'],
      ['ReLU output layer (a dueling trunk)', 4, [32], 16, 20, 'relu', 'relu'],
    ];

    it.each(shapes)('%s: forward, gradients and 10 Adam steps are bit-identical to the layer-by-layer path', (_label, inSize, hidden, out, batch, activation, outputActivation) => {
      const rng = new Rng(batch + out);
      const make = (fused: boolean) => new Mlp({ inputSize: inSize, hiddenSizes: hidden, outputSize: out, activation, outputActivation, seed: 5, fused });
      const a = make(true);
      const b = make(false);
      const x = tf.tensor2d(randn(batch * inSize, rng), [batch, inSize]);
      const y = tf.tensor2d(randn(batch * out, rng), [batch, out]);
      const { counts } = countKernels([MLP_FORWARD_KERNEL, MLP_BACKWARD_KERNEL], () => {
        expect(Array.from(values(tf.tidy(() => a.apply(x))))).toEqual(Array.from(values(tf.tidy(() => b.apply(x)))));
        const loss = (net: Mlp) => () => tf.mean(tf.square(tf.sub(net.apply(x), y))) as tf.Scalar;
        const ga = tf.variableGrads(loss(a), a.trainableVariables);
        const gb = tf.variableGrads(loss(b), b.trainableVariables);
        a.trainableVariables.forEach((v, i) => {
          const w = b.trainableVariables[i];
          expect(Array.from(values(ga.grads[v.name])), `gradient ${i}`).toEqual(Array.from(values(gb.grads[w.name])));
        });
        tf.dispose([ga.value, gb.value, ...Object.values(ga.grads), ...Object.values(gb.grads)]);
        const oa = createOptimizer({ type: 'adam', learningRate: 1e-2 });
        const ob = createOptimizer({ type: 'adam', learningRate: 1e-2, fused: false });
        for (let s = 0; s < 10; s++) {
          expect(trainStep(oa, loss(a), a.trainableVariables).loss).toBe(trainStep(ob, loss(b), b.trainableVariables).loss);
        }
        expectSameWeights(a, b);
        oa.dispose();
        ob.dispose();
      });
      // The fused path really ran: 1 forward + 1 gradient + 10 training steps.
      expect(counts[MLP_FORWARD_KERNEL]).toBe(12);
      expect(counts[MLP_BACKWARD_KERNEL]).toBe(11);
      tf.dispose([x, y]);
      a.dispose();
      b.dispose();
    });

    const tanhShapes: Array<[string, number, number[], number, number, 'relu' | 'tanh' | 'linear', 'relu' | 'tanh' | 'linear']> = [
      ['PPO 4-64-64-2 tanh, batch 64', 4, [64, 64], 2, 64, 'tanh', 'linear'],
      ['tanh, odd sizes 3-5-7-1, batch 3', 3, [5, 7], 1, 3, 'tanh', 'linear'],
      ['tanh 8-256-256-4, batch 128', 8, [256, 256], 4, 128, 'tanh', 'linear'],
      ['ReLU hidden, tanh output (a bounded actor)', 4, [32, 32], 6, 20, 'relu', 'tanh'],
      ['tanh hidden and output, batch 1', 6, [13], 5, 1, 'tanh', 'tanh'],
    ];

    it.each(tanhShapes)('%s: forward, input and weight gradients match the layer-by-layer path to float tolerance', (_label, inSize, hidden, out, batch, activation, outputActivation) => {
      const rng = new Rng(7 * batch + out);
      const make = (fused: boolean) => new Mlp({ inputSize: inSize, hiddenSizes: hidden, outputSize: out, activation, outputActivation, init: 'orthogonal', seed: 6, fused });
      const a = make(true);
      const b = make(false);
      // Scaled so that some hidden units saturate.
      const x = tf.tidy(() => tf.mul(tf.tensor2d(randn(batch * inSize, rng), [batch, inSize]), 2) as tf.Tensor2D);
      const target = tf.tensor2d(randn(batch * out, rng), [batch, out]);
      const loss = (net: Mlp) => (input: tf.Tensor) => tf.mean(tf.square(tf.sub(net.apply(input as tf.Tensor2D), target))) as tf.Scalar;
      const grads = (net: Mlp) => {
        const { value, grads: g } = tf.variableGrads(() => loss(net)(x), net.trainableVariables);
        const out = net.trainableVariables.map((v) => values(g[v.name]));
        tf.dispose([value, ...Object.values(g)]);
        return out;
      };
      const before = tf.memory().numTensors;
      const { counts, result } = countKernels([MLP_FORWARD_KERNEL, MLP_BACKWARD_KERNEL], () => ({
        y: tf.tidy(() => values(a.apply(x))),
        dx: tf.tidy(() => values(tf.grad(loss(a))(x))),
        dw: grads(a),
      }));
      expect(counts).toEqual({ [MLP_FORWARD_KERNEL]: 3, [MLP_BACKWARD_KERNEL]: 2 });
      expect(tf.memory().numTensors).toBe(before);
      expect(closeness(result.y, tf.tidy(() => values(b.apply(x))), 1e-5, 1e-5)).toBeLessThanOrEqual(1);
      expect(closeness(result.dx, tf.tidy(() => values(tf.grad(loss(b))(x))), 1e-4, 1e-4), 'input gradient').toBeLessThanOrEqual(1);
      const ref = grads(b);
      result.dw.forEach((g, i) => expect(closeness(g, ref[i], 1e-4, 1e-4), `gradient ${i}`).toBeLessThanOrEqual(1));
      // predict (acting) runs the same kernels as apply.
      const obs = values(x).subarray(0, inSize);
      expect(Array.from(a.predict(obs))).toEqual(Array.from(result.y.subarray(0, out)));
      tf.dispose([x, target]);
      a.dispose();
      b.dispose();
    });

    it('tanh weight gradients match central finite differences', () => {
      const rng = new Rng(16);
      const net = new Mlp({ inputSize: 3, hiddenSizes: [7, 5], outputSize: 2, activation: 'tanh', outputActivation: 'tanh', init: 'he', seed: 4 });
      const x = tf.tensor2d(randn(5 * 3, rng), [5, 3]);
      // float64 finite differences need a loss that is smooth at float32 resolution: tanh is.
      const loss = () => tf.tidy(() => tf.sum(tf.square(net.apply(x))) as tf.Scalar);
      const named = net.namedVariables();
      const { value, grads } = tf.variableGrads(loss, Object.values(named));
      for (const [name, v] of Object.entries(named)) {
        const base = net.getWeights();
        const fd = finiteDifference(
          (w) => {
            net.setWeights({ ...base, [name]: { shape: [...v.shape], data: values(w) } });
            return loss();
          },
          base[name].data,
          [...v.shape],
          1e-3,
        );
        net.setWeights(base);
        expect(closeness(values(grads[v.name]), fd, 2e-3, 2e-2), name).toBeLessThanOrEqual(1);
      }
      tf.dispose([value, x, ...Object.values(grads)]);
      net.dispose();
    });

    it('a tanh training step leaves tensors and WASM buffers as they were', () => {
      const rng = new Rng(17);
      const policy = new Mlp({ inputSize: 4, hiddenSizes: [64, 64], outputSize: 2, activation: 'tanh', seed: 1 });
      const opt = createOptimizer({ type: 'adam', learningRate: 1e-3 });
      const x = tf.tensor2d(randn(64 * 4, rng), [64, 4]);
      const step = () => trainStep(opt, () => tf.mean(tf.square(policy.apply(x))) as tf.Scalar, policy.trainableVariables);
      step();
      const tensors = tf.memory().numTensors;
      const buffers = (tf.backend() as unknown as { numDataIds(): number }).numDataIds();
      const { counts } = countKernels([MLP_BACKWARD_KERNEL], () => {
        for (let i = 0; i < 5; i++) step();
      });
      expect(counts[MLP_BACKWARD_KERNEL]).toBe(5);
      expect(tf.memory().numTensors).toBe(tensors);
      expect((tf.backend() as unknown as { numDataIds(): number }).numDataIds()).toBe(buffers);
      tf.dispose(x);
      policy.dispose();
      opt.dispose();
    });

    it('the input gradient (as a critic Q(s, a) needs) matches the reference and finite differences', () => {
      const rng = new Rng(11);
      const a = new Mlp({ inputSize: 4, hiddenSizes: [6, 5], outputSize: 1, init: 'he', seed: 2 });
      const b = new Mlp({ inputSize: 4, hiddenSizes: [6, 5], outputSize: 1, init: 'he', seed: 2, fused: false });
      const xv = randn(3 * 4, rng);
      const f = (net: Mlp) => (x: tf.Tensor) => tf.sum(tf.square(net.apply(x as tf.Tensor2D))) as tf.Scalar;
      const x = tf.tensor2d(xv, [3, 4]);
      const ga = tf.tidy(() => values(tf.grad(f(a))(x)));
      const gb = tf.tidy(() => values(tf.grad(f(b))(x)));
      expect(Array.from(ga)).toEqual(Array.from(gb));
      const fd = finiteDifference(f(a), xv, [3, 4], 1e-3);
      expect(closeness(ga, fd, 2e-3, 2e-2)).toBeLessThanOrEqual(1);
      tf.dispose(x);
      a.dispose();
      b.dispose();
    });

    it.each(['relu', 'tanh'] as const)('frozen (%s): the same input gradient bit for bit, from a backward pass that computes it alone; the weights get none', (activation) => {
      const rng = new Rng(14);
      const net = new Mlp({ inputSize: 10, hiddenSizes: [40, 30], outputSize: 1, activation, init: 'torch', seed: 3 });
      const x = tf.tensor2d(randn(16 * 10, rng), [16, 10]);
      const f = (frozen: boolean) => (z: tf.Tensor) => tf.sum(tf.square(net.apply(z as tf.Tensor2D, { frozen }))) as tf.Scalar;
      const full = tf.tidy(() => values(tf.grad(f(false))(x)));
      const before = tf.memory().numTensors;
      const outputs: number[] = [];
      const original = tf.getKernel(MLP_BACKWARD_KERNEL, 'wasm');
      if (original === undefined) throw new Error('no fused backward kernel');
      tf.unregisterKernel(MLP_BACKWARD_KERNEL, 'wasm');
      tf.registerKernel({ ...original, kernelFunc: (args) => {
        const out = original.kernelFunc(args) as tf.TensorInfo[];
        outputs.push(out.length);
        return out;
      } });
      let frozenGrad: Float32Array;
      try {
        frozenGrad = tf.tidy(() => values(tf.grad(f(true))(x)));
      } finally {
        tf.unregisterKernel(MLP_BACKWARD_KERNEL, 'wasm');
        tf.registerKernel(original);
      }
      expect(outputs).toEqual([1]); // dx alone, not dx + 3 kernels + 3 biases
      expect(Array.from(frozenGrad)).toEqual(Array.from(full));
      expect(tf.memory().numTensors).toBe(before);
      expect(() => tf.variableGrads(() => f(true)(x), net.trainableVariables)).toThrow(/Cannot find a connection/);
      tf.dispose(x);
      net.dispose();
    });

    it('weight gradients match central finite differences', () => {
      const rng = new Rng(12);
      const net = new Mlp({ inputSize: 3, hiddenSizes: [7], outputSize: 2, init: 'he', seed: 4 });
      const x = tf.tensor2d(randn(5 * 3, rng), [5, 3]);
      const loss = () => tf.tidy(() => tf.sum(tf.square(net.apply(x))) as tf.Scalar);
      const named = net.namedVariables();
      const { value, grads } = tf.variableGrads(loss, Object.values(named));
      for (const [name, v] of Object.entries(named)) {
        const base = net.getWeights();
        const fd = finiteDifference(
          (w) => {
            net.setWeights({ ...base, [name]: { shape: [...v.shape], data: values(w) } });
            return loss();
          },
          base[name].data,
          [...v.shape],
          1e-3,
        );
        net.setWeights(base);
        expect(closeness(values(grads[v.name]), fd, 2e-3, 2e-2), name).toBeLessThanOrEqual(1);
      }
      tf.dispose([value, x, ...Object.values(grads)]);
      net.dispose();
    });

    it('a training step leaves tensors, WASM buffers and the Identity kernel as they were', () => {
      const rng = new Rng(13);
      const online = new Mlp({ inputSize: 4, hiddenSizes: [32, 32], outputSize: 2, seed: 1 });
      const target = new Mlp({ inputSize: 4, hiddenSizes: [32, 32], outputSize: 2, seed: 2 });
      const opt = createOptimizer({ type: 'adam', learningRate: 1e-3 });
      const x = tf.tensor2d(randn(16 * 4, rng), [16, 4]);
      const identity = tf.getKernel(tf.Identity, 'wasm');
      // The target network inside the loss: on the tape but not on the gradient path.
      const step = () => trainStep(opt, () => tf.mean(tf.square(tf.sub(online.apply(x), target.apply(x)))) as tf.Scalar, online.trainableVariables);
      step();
      const tensors = tf.memory().numTensors;
      const buffers = (tf.backend() as unknown as { numDataIds(): number }).numDataIds();
      for (let i = 0; i < 5; i++) step();
      expect(tf.memory().numTensors).toBe(tensors);
      expect((tf.backend() as unknown as { numDataIds(): number }).numDataIds()).toBe(buffers);
      expect(tf.getKernel(tf.Identity, 'wasm')).toBe(identity);
      // tf.clone still copies on WASM (the sharing Identity was only swapped in for the save).
      const c = tf.clone(x);
      expect(c.dataId).not.toBe(x.dataId);
      tf.dispose([c, x]);
      [online, target].forEach((n) => n.dispose());
      opt.dispose();
    });

    it('predict equals apply, for one observation and a batch, and rejects a wrong length', () => {
      const rng = new Rng(14);
      const net = new Mlp({ inputSize: 5, hiddenSizes: [16, 16], outputSize: 3, seed: 3 });
      for (const batch of [1, 2, 7]) {
        const obs = randn(batch * 5, rng);
        const ref = tf.tidy(() => values(net.apply(tf.tensor2d(obs, [batch, 5]))));
        expect(Array.from(net.predict(obs, batch))).toEqual(Array.from(ref));
        setFusedKernels(false);
        expect(Array.from(net.predict(obs, batch))).toEqual(Array.from(ref));
        setFusedKernels(true);
      }
      // No tensor is created by the fused predict.
      const before = tf.memory().numTensors;
      net.predict(new Float32Array(5));
      expect(tf.memory().numTensors).toBe(before);
      expect(() => net.predict(new Float32Array(4))).toThrow(/1 x 5 = 5 values, received 4/);
      net.dispose();
    });

    it('FMA is opt-in; where relaxed SIMD exists the forward pass and gradients stay within float tolerance', () => {
      expect(isFusedFma()).toBe(false);
      const supported = relaxedSimdSupported();
      expect(setFusedFma(true)).toBe(supported);
      try {
        const rng = new Rng(15);
        const a = new Mlp({ inputSize: 8, hiddenSizes: [64, 64], outputSize: 4, seed: 1 });
        const b = new Mlp({ inputSize: 8, hiddenSizes: [64, 64], outputSize: 4, seed: 1, fused: false });
        const x = tf.tensor2d(randn(32 * 8, rng), [32, 8]);
        const fa = tf.tidy(() => values(a.apply(x)));
        const fb = tf.tidy(() => values(b.apply(x)));
        expect(closeness(fa, fb, 1e-5, 1e-5)).toBeLessThanOrEqual(1);
        const grads = (net: Mlp) => {
          const { value, grads: g } = tf.variableGrads(() => tf.sum(tf.square(net.apply(x))) as tf.Scalar, net.trainableVariables);
          const out = net.trainableVariables.map((v) => values(g[v.name]));
          tf.dispose([value, ...Object.values(g)]);
          return out;
        };
        const ga = grads(a);
        const gb = grads(b);
        ga.forEach((g, i) => expect(closeness(g, gb[i], 1e-4, 1e-4), `gradient ${i}`).toBeLessThanOrEqual(1));
        tf.dispose(x);
        a.dispose();
        b.dispose();
      } finally {
        setFusedFma(false);
      }
    });

    it('falls back to tfjs ops when switched off, for ELU networks, and for rank-3 inputs', () => {
      const x = tf.ones([2, 3]);
      const relu = new Mlp({ inputSize: 3, hiddenSizes: [4], outputSize: 2, seed: 1 });
      const elu = new Mlp({ inputSize: 3, hiddenSizes: [4], outputSize: 2, activation: 'elu', seed: 1 });
      const run = (f: () => void) => countKernels([MLP_FORWARD_KERNEL], f).counts[MLP_FORWARD_KERNEL];
      expect(run(() => tf.tidy(() => void relu.apply(x)))).toBe(1);
      expect(run(() => tf.tidy(() => void elu.apply(x)))).toBe(0);
      expect(run(() => tf.tidy(() => void relu.apply(tf.ones([2, 2, 3]) as tf.Tensor)))).toBe(0);
      setFusedKernels(false);
      expect(isFusedKernelsEnabled()).toBe(false);
      expect(run(() => tf.tidy(() => void relu.apply(x)))).toBe(0);
      tf.dispose(x);
      relu.dispose();
      elu.dispose();
    });
  });

  describe('fused TD loss and targets', () => {
    const B = 33;
    const A = 3;
    const rng = new Rng(41);
    const qv = Float32Array.from({ length: B * A }, () => 2 * rng.normal());
    const av = Int32Array.from({ length: B }, () => Math.floor(rng.uniform() * A));
    const yv = Float32Array.from({ length: B }, () => rng.normal());
    const wv = Float32Array.from({ length: B }, () => rng.uniform());

    it.each([
      ['huber', false],
      ['huber', true],
      ['mse', false],
      ['mse', true],
    ] as const)('%s loss (weighted: %s): value and TD errors equal the tfjs formula, gradient within 1e-6 and matches finite differences', (kind, weighted) => {
      const q = tf.variable(tf.tensor2d(qv, [B, A]));
      const actions = tf.tensor1d(av, 'int32');
      const y = tf.tensor1d(yv);
      const weights = weighted ? tf.tensor1d(wv) : null;
      const run = () => {
        const { value, grads } = tf.variableGrads(() => fusedTdLoss(q, actions, y, { kind, weights }).loss, [q]);
        const td = tf.tidy(() => values(fusedTdLoss(q, actions, y, { kind, weights }).td));
        const out = { loss: value.dataSync()[0], grad: values(grads[q.name]), td };
        tf.dispose([value, ...Object.values(grads)]);
        return out;
      };
      const { counts, result: fused } = countKernels(['KairosTdLoss', 'KairosTdLossGrad'], run);
      expect(counts).toEqual({ KairosTdLoss: 2, KairosTdLossGrad: 1 }); // loss with gradient, then td alone
      setFusedKernels(false);
      const ref = run();
      setFusedKernels(true);
      expect(fused.loss).toBe(ref.loss);
      expect(Array.from(fused.td)).toEqual(Array.from(ref.td));
      expect(maxAbsDiff(fused.grad, ref.grad)).toBeLessThan(1e-6);
      const fd = finiteDifference((qt) => fusedTdLoss(qt as tf.Tensor2D, actions, y, { kind, weights }).loss, qv, [B, A], 1e-2);
      expect(closeness(fused.grad, fd, 1e-4, 1e-2)).toBeLessThanOrEqual(1);
      tf.dispose([q, actions, y, ...(weights ? [weights] : [])]);
    });

    it('a training step with the fused loss leaves no tensors behind; a bad action is rejected', () => {
      const net = new Mlp({ inputSize: 2, hiddenSizes: [8], outputSize: A, seed: 1 });
      const opt = createOptimizer({ type: 'adam', learningRate: 1e-3 });
      const obs = tf.tensor2d(randn(B * 2, rng), [B, 2]);
      const actions = tf.tensor1d(av, 'int32');
      const y = tf.tensor1d(yv);
      const step = () => trainStep(opt, () => fusedTdLoss(net.apply(obs), actions, y).loss, net.trainableVariables);
      step();
      const before = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) step();
      expect(tf.memory().numTensors).toBe(before);
      const bad = tf.tensor1d(Int32Array.from(av, (a, i) => (i === 5 ? A : a)), 'int32');
      expect(() => tf.tidy(() => fusedTdLoss(net.apply(obs), bad, y).loss)).toThrow(/action 3 at row 5/);
      tf.dispose([obs, actions, y, bad]);
      net.dispose();
      opt.dispose();
    });

    it.each([
      ['max', false, false],
      ['Double DQN', true, false],
      ['max, masked', false, true],
      ['Double DQN, masked', true, true],
    ] as const)('targets (%s) equal the tfjs formula bit for bit; no allowed action bootstraps 0', (_label, double, masked) => {
      tf.tidy(() => {
        const qt = tf.tensor2d(randn(B * A, rng), [B, A]);
        const qo = double ? tf.tensor2d(randn(B * A, rng), [B, A]) : null;
        const maskv = Float32Array.from({ length: B * A }, (_, i) => (Math.floor(i / A) === 4 ? 0 : rng.uniform() < 0.6 ? 1 : 0));
        const masks = masked ? tf.tensor2d(maskv, [B, A]) : null;
        const r = tf.tensor1d(randn(B, rng));
        const g = tf.fill([B], 0.99) as tf.Tensor1D;
        const d = tf.tensor1d(Float32Array.from({ length: B }, (_, i) => (i % 5 === 0 ? 1 : 0)));
        const fused = values(fusedTdTargets(qt, qo, r, g, d, masks));
        setFusedKernels(false);
        const ref = values(fusedTdTargets(qt, qo, r, g, d, masks));
        setFusedKernels(true);
        expect(Array.from(fused)).toEqual(Array.from(ref));
        // Hand check of one row: y = r + γ(1 − d)·bootstrap.
        const i = 1;
        const row = (t: tf.Tensor) => Array.from(values(t).subarray(i * A, i * A + A));
        const allowed = (a: number) => !masked || maskv[i * A + a] > 0;
        const pick = row(qo ?? qt);
        let best = -1;
        for (let a = 0; a < A; a++) if (allowed(a) && (best < 0 || pick[a] > pick[best])) best = a;
        const boot = best < 0 ? 0 : row(qt)[best];
        expect(fused[i]).toBeCloseTo(values(r)[i] + 0.99 * boot, 5);
        if (masked) expect(fused[4]).toBeCloseTo(values(r)[4] + 0.99 * 0, 6);
      });
    });
  });

  describe('fused Adam', () => {
    const problem = () => {
      const rng = new Rng(21);
      const x = tf.tensor2d(randn(12 * 5, rng), [12, 5]);
      const y = tf.tensor2d(randn(12 * 3, rng), [12, 3]);
      return { lossFor: (net: Mlp) => () => tf.mean(tf.square(tf.sub(net.apply(x), y))) as tf.Scalar, dispose: () => tf.dispose([x, y]) };
    };
    const makeNet = (seed = 3) => new Mlp({ inputSize: 5, hiddenSizes: [9, 7], outputSize: 3, seed, fused: false });

    it('is a tfjs Adam (class name, state fields) and is what createOptimizer returns', () => {
      const opt = createOptimizer({ type: 'adam', learningRate: 1e-3 });
      // Not toBeInstanceOf: tfjs optimisers answer instanceof for every optimiser class.
      expect(opt.constructor).toBe(FusedAdamOptimizer);
      expect(Object.getPrototypeOf(FusedAdamOptimizer.prototype)).toBe(tf.AdamOptimizer.prototype);
      expect(opt.getClassName()).toBe('Adam');
      const plain = createOptimizer({ type: 'adam', learningRate: 1e-3, fused: false });
      expect(plain.constructor).toBe(tf.AdamOptimizer);
      [opt, plain].forEach((o) => o.dispose());
    });

    it('300 clipped steps with PPO settings are bit-identical to tfjs Adam, moments and β powers included', () => {
      const p = problem();
      const a = makeNet();
      const b = makeNet();
      const oa = createOptimizer({ type: 'adam', learningRate: 3e-3, epsilon: 1e-5, beta2: 0.99 });
      const ob = createOptimizer({ type: 'adam', learningRate: 3e-3, epsilon: 1e-5, beta2: 0.99, fused: false });
      for (let s = 0; s < 300; s++) {
        trainStep(oa, p.lossFor(a), a.trainableVariables, { maxGradNorm: 0.5 });
        trainStep(ob, p.lossFor(b), b.trainableVariables, { maxGradNorm: 0.5 });
      }
      expectSameWeights(a, b);
      const sa = getOptimizerState(oa, a.namedVariables());
      const sb = getOptimizerState(ob, b.namedVariables());
      expect(sa.iterations).toBe(300);
      expect(sa.scalars).toEqual(sb.scalars);
      for (const k of Object.keys(sb.slots)) expect(Array.from(sa.slots[k].data), k).toEqual(Array.from(sb.slots[k].data));
      [oa, ob].forEach((o) => o.dispose());
      [a, b].forEach((n) => n.dispose());
      p.dispose();
    });

    it('state moves between fused and tfjs Adam both ways, and a resumed run equals an uninterrupted one', () => {
      const p = problem();
      const steps = (net: Mlp, opt: tf.Optimizer, n: number) => {
        for (let i = 0; i < n; i++) trainStep(opt, p.lossFor(net), net.trainableVariables);
      };
      const ref = makeNet();
      const optRef = createOptimizer({ type: 'adam', learningRate: 1e-2, fused: false });
      steps(ref, optRef, 12);
      // fused 4 -> tfjs 4 -> fused 4
      const net = makeNet();
      let opt: tf.Optimizer = createOptimizer({ type: 'adam', learningRate: 1e-2 });
      for (const fused of [false, true]) {
        steps(net, opt, 4);
        const state = getOptimizerState(opt, net.namedVariables());
        opt.dispose();
        opt = createOptimizer({ type: 'adam', learningRate: 1e-2, fused });
        setOptimizerState(opt, net.namedVariables(), state);
      }
      steps(net, opt, 4);
      expectSameWeights(net, ref);
      [opt, optRef].forEach((o) => o.dispose());
      [net, ref].forEach((n) => n.dispose());
      p.dispose();
    });

    it('creates only the two moments per variable and then no tensors', () => {
      const p = problem();
      const net = makeNet();
      const opt = createOptimizer({ type: 'adam', learningRate: 1e-3 });
      const first = tf.memory().numTensors;
      trainStep(opt, p.lossFor(net), net.trainableVariables);
      expect(tf.memory().numTensors).toBe(first + 2 * 6);
      const before = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) trainStep(opt, p.lossFor(net), net.trainableVariables);
      expect(tf.memory().numTensors).toBe(before);
      opt.dispose();
      net.dispose();
      p.dispose();
    });
  });
});

describe('fused kernels on cpu', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });
  afterAll(async () => {
    await useBackend('wasm');
  });

  it.each([
    ['relu', [6, 5]],
    ['tanh', [6, 5]],
    ['elu', [6, 5]],
    ['relu', [2, 3, 5]],
  ] as const)('frozen (%s, input %j) gives the same input gradient layer by layer, and the weights none', (activation, shape) => {
    const rng = new Rng(32);
    const net = new Mlp({ inputSize: 5, hiddenSizes: [12, 9], outputSize: 2, activation, seed: 8 });
    const x = tf.tensor(randn(shape.reduce((a, b) => a * b, 1), rng), [...shape]);
    const f = (frozen: boolean) => (z: tf.Tensor) => tf.sum(tf.square(net.apply(z, { frozen }))) as tf.Scalar;
    const full = tf.tidy(() => values(tf.grad(f(false))(x)));
    const before = tf.memory().numTensors;
    expect(Array.from(tf.tidy(() => values(tf.grad(f(true))(x))))).toEqual(Array.from(full));
    expect(tf.memory().numTensors).toBe(before);
    expect(() => tf.variableGrads(() => f(true)(x), net.trainableVariables)).toThrow(/Cannot find a connection/);
    tf.dispose(x);
    net.dispose();
  });

  it('are not used, and results still match the wasm reference within float tolerance', async () => {
    expect(activeWasmKernels()).toBeNull();
    const rng = new Rng(31);
    const xv = randn(4 * 3, rng);
    const net = new Mlp({ inputSize: 3, hiddenSizes: [8], outputSize: 2, seed: 7 });
    const opt = createOptimizer({ type: 'adam', learningRate: 1e-2 });
    const run = () => {
      const x = tf.tensor2d(xv, [4, 3]);
      for (let i = 0; i < 3; i++) trainStep(opt, () => tf.sum(tf.square(net.apply(x))) as tf.Scalar, net.trainableVariables);
      x.dispose();
      return net.predict(xv, 4);
    };
    const cpu = run();
    opt.dispose();
    net.dispose();
    await useBackend('wasm');
    const net2 = new Mlp({ inputSize: 3, hiddenSizes: [8], outputSize: 2, seed: 7 });
    const opt2 = createOptimizer({ type: 'adam', learningRate: 1e-2 });
    const x = tf.tensor2d(xv, [4, 3]);
    for (let i = 0; i < 3; i++) trainStep(opt2, () => tf.sum(tf.square(net2.apply(x))) as tf.Scalar, net2.trainableVariables);
    expect(maxAbsDiff(net2.predict(xv, 4), cpu)).toBeLessThan(1e-5);
    x.dispose();
    opt2.dispose();
    net2.dispose();
  });
});
