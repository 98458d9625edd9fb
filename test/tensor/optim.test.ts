/**
 * Optimisers: memory neutrality of a training step, gradient clipping against hand-computed
 * values, and resumable training: saving weights + optimiser state to disk and continuing
 * gives bit-identical results to an uninterrupted run.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Mlp,
  clipGradsByGlobalNorm,
  createOptimizer,
  getOptimizerState,
  globalNorm,
  loadOptimizerState,
  loadWeights,
  type OptimizerConfig,
  saveOptimizerState,
  saveWeights,
  setLearningRate,
  setOptimizerState,
  tf,
  trainStep,
} from '../../src/tensor/index.js';
import { BACKENDS, Rng, randn, useBackend, values } from './helpers.js';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kairos-optim-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A small regression problem: fixed batch, MSE to random targets. */
function problem(seed: number) {
  const rng = new Rng(seed);
  const x = tf.tensor2d(randn(32 * 4, rng), [32, 4]);
  const y = tf.tensor2d(randn(32 * 2, rng), [32, 2]);
  const lossFor = (net: Mlp) => () => tf.mean(tf.square(tf.sub(net.apply(x), y))) as tf.Scalar;
  return { x, y, lossFor, dispose: () => tf.dispose([x, y]) };
}

const makeNet = () => new Mlp({ inputSize: 4, hiddenSizes: [16, 16], outputSize: 2, activation: 'tanh', seed: 3 });

describe.each(BACKENDS)('training step on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it.each([
    ['without clipping', {}],
    ['with clipping', { maxGradNorm: 0.1 }],
    ['with norm reporting', { computeGradNorm: true }],
  ] as const)('leaves tf.memory().numTensors unchanged %s', (_label, opts) => {
    const p = problem(1);
    const net = makeNet();
    const opt = createOptimizer({ type: 'adam', learningRate: 1e-3 });
    const first = tf.memory().numTensors;
    trainStep(opt, p.lossFor(net), net.trainableVariables, opts);
    // The first step creates Adam's m and v for each of the 6 variables, nothing else.
    expect(tf.memory().numTensors).toBe(first + 2 * 6);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      const r = trainStep(opt, p.lossFor(net), net.trainableVariables, opts);
      expect(Number.isFinite(r.loss)).toBe(true);
    }
    expect(tf.memory().numTensors).toBe(before);
    opt.dispose();
    net.dispose();
    p.dispose();
  });

  it('reduces the loss', () => {
    const p = problem(2);
    const net = makeNet();
    const opt = createOptimizer({ type: 'adam', learningRate: 1e-2 });
    const first = trainStep(opt, p.lossFor(net), net.trainableVariables).loss;
    let last = first;
    for (let i = 0; i < 50; i++) last = trainStep(opt, p.lossFor(net), net.trainableVariables).loss;
    expect(last).toBeLessThan(0.7 * first);
    opt.dispose();
    net.dispose();
    p.dispose();
  });
});

describe('clipGradsByGlobalNorm', () => {
  beforeAll(async () => {
    await useBackend('wasm');
  });

  it('matches hand-computed values (PyTorch clip_grad_norm_ semantics)', () => {
    // ‖(3, 4, 12)‖ = 13; max 6.5 → scale 6.5 / (13 + 1e-6).
    const grads = { a: tf.tensor1d([3, 4]), b: tf.tensor1d([12]) };
    const { grads: clipped, norm } = clipGradsByGlobalNorm(grads, 6.5);
    expect(norm.dataSync()[0]).toBeCloseTo(13, 5);
    const s = 6.5 / (13 + 1e-6);
    expect(Array.from(values(clipped.a))).toEqual([Math.fround(3 * s), Math.fround(4 * s)].map((v) => expect.closeTo(v, 6)));
    expect(values(clipped.b)[0]).toBeCloseTo(12 * s, 5);
    // Below the threshold: unchanged.
    const { grads: same, norm: n2 } = clipGradsByGlobalNorm(grads, 100);
    expect(Array.from(values(same.a))).toEqual([3, 4]);
    tf.dispose([grads.a, grads.b, clipped.a, clipped.b, norm, same.a, same.b, n2]);
  });

  it('trainStep reports the pre-clip norm', () => {
    const p = problem(3);
    const net = makeNet();
    const opt = createOptimizer({ type: 'sgd', learningRate: 0.1 });
    const { value, grads } = tf.variableGrads(p.lossFor(net), net.trainableVariables);
    const expected = globalNorm(grads);
    const want = expected.dataSync()[0];
    const r = trainStep(opt, p.lossFor(net), net.trainableVariables, { maxGradNorm: 1e-3 });
    expect(r.gradNorm).toBeCloseTo(want, 5);
    tf.dispose([value, expected, ...Object.values(grads)]);
    opt.dispose();
    net.dispose();
    p.dispose();
  });

  it('rejects a non-positive max norm', () => {
    expect(() => clipGradsByGlobalNorm({}, 0)).toThrow(/maxNorm/);
  });
});

describe('optimiser config', () => {
  it('validates with errors naming the field', () => {
    expect(() => createOptimizer({ type: 'adam', learningRate: -1 })).toThrow(/learningRate/);
    expect(() => createOptimizer({ type: 'adam', learningRate: 1e-3, beta1: 1 })).toThrow(/beta1/);
    expect(() => createOptimizer({ type: 'adagrad', learningRate: 1 } as unknown as OptimizerConfig)).toThrow(/type/);
    expect(() => createOptimizer({ type: 'sgd', learningRate: 1, momentum: 0.9 } as unknown as OptimizerConfig)).toThrow(/momentum/);
  });

  it('passes epsilon through (PPO uses 1e-5)', () => {
    const opt = createOptimizer({ type: 'adam', learningRate: 3e-4, epsilon: 1e-5 });
    expect(opt.getConfig().epsilon).toBe(1e-5);
    setLearningRate(opt, 1e-4);
    expect(opt.getConfig().learningRate).toBe(1e-4);
    opt.dispose();
  });
});

describe.each(BACKENDS)('resumable training on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it.each([
    ['adam (PPO settings, clipped)', { type: 'adam', learningRate: 3e-3, epsilon: 1e-5 }, 0.5],
    ['rmsprop (centered, momentum)', { type: 'rmsprop', learningRate: 1e-3, momentum: 0.9, centered: true }, undefined],
    ['sgd', { type: 'sgd', learningRate: 0.05 }, undefined],
  ] as Array<[string, OptimizerConfig, number | undefined]>)(
    '%s: save after 5 steps, restore into fresh objects, 5 more steps = 10 uninterrupted steps, bit for bit',
    async (label, config, maxGradNorm) => {
      const p = problem(4);
      const steps = (net: Mlp, opt: tf.Optimizer, n: number) => {
        const losses: number[] = [];
        for (let i = 0; i < n; i++) losses.push(trainStep(opt, p.lossFor(net), net.trainableVariables, { maxGradNorm }).loss);
        return losses;
      };
      // Uninterrupted.
      const netA = makeNet();
      const optA = createOptimizer(config);
      const lossesA = steps(netA, optA, 10);
      const finalA = netA.getWeights();

      // Interrupted: 5 steps, save to disk, dispose everything.
      const netB = makeNet();
      const optB = createOptimizer(config);
      const lossesB = steps(netB, optB, 5);
      const name = label.split(' ')[0];
      await saveWeights(dir, `${name}-net`, netB.getWeights());
      await saveOptimizerState(dir, `${name}-opt`, getOptimizerState(optB, netB.namedVariables()));
      netB.dispose();
      optB.dispose();

      // Fresh objects (different seed, so nothing survives by accident), restore, continue.
      const netC = new Mlp({ inputSize: 4, hiddenSizes: [16, 16], outputSize: 2, activation: 'tanh', seed: 77 });
      const optC = createOptimizer(config);
      netC.setWeights(await loadWeights(dir, `${name}-net`, netC.params.shapes()));
      setOptimizerState(optC, netC.namedVariables(), await loadOptimizerState(dir, `${name}-opt`));
      expect(optC.iterations).toBe(5);
      lossesB.push(...steps(netC, optC, 5));
      const finalC = netC.getWeights();

      expect(lossesB).toEqual(lossesA);
      for (const n of Object.keys(finalA)) expect(Array.from(finalC[n].data), n).toEqual(Array.from(finalA[n].data));
      [netA, netC].forEach((n) => n.dispose());
      [optA, optC].forEach((o) => o.dispose());
      p.dispose();
    },
  );

  it('optimiser state round-trips in memory and restoring twice does not leak', () => {
    const p = problem(5);
    const net = makeNet();
    const opt = createOptimizer({ type: 'adam', learningRate: 1e-3 });
    trainStep(opt, p.lossFor(net), net.trainableVariables);
    const state = getOptimizerState(opt, net.namedVariables());
    expect(Object.keys(state.slots)).toContain('layers.0.kernel/m');
    expect(Object.keys(state.slots)).toContain('layers.2.bias/v');
    // β₁ᵗ as tfjs accumulates it: a float32 running product, not pow(0.9, t).
    expect(state.scalars.accBeta1).toBe(Math.fround(Math.fround(0.9) * Math.fround(0.9)));
    const before = tf.memory().numTensors;
    setOptimizerState(opt, net.namedVariables(), state);
    setOptimizerState(opt, net.namedVariables(), state);
    expect(tf.memory().numTensors).toBe(before);
    const again = getOptimizerState(opt, net.namedVariables());
    expect(again.iterations).toBe(1);
    for (const k of Object.keys(state.slots)) expect(Array.from(again.slots[k].data)).toEqual(Array.from(state.slots[k].data));
    opt.dispose();
    net.dispose();
    p.dispose();
  });

  it('rejects state of another kind or shape, naming the slot', () => {
    const p = problem(6);
    const net = makeNet();
    const adam = createOptimizer({ type: 'adam', learningRate: 1e-3 });
    trainStep(adam, p.lossFor(net), net.trainableVariables);
    const state = getOptimizerState(adam, net.namedVariables());
    const sgd = createOptimizer({ type: 'sgd', learningRate: 1e-3 });
    expect(() => setOptimizerState(sgd, net.namedVariables(), state)).toThrow(/kind.*"sgd"/);
    const other = new Mlp({ inputSize: 4, hiddenSizes: [8, 16], outputSize: 2, seed: 1 });
    expect(() => setOptimizerState(adam, other.namedVariables(), state)).toThrow(/layers\.0\.kernel\/m: expected shape \[4, 8\], received \[4,16\]/);
    [adam, sgd].forEach((o) => o.dispose());
    [net, other].forEach((n) => n.dispose());
    p.dispose();
  });
});
