/**
 * Every gradient Kairos registers (gradients.ts), checked three ways:
 *  - against central finite differences (CPU backend, float32 tolerances);
 *  - against the upstream tfjs-core gradient config for the same kernel, where one exists
 *    (loaded from tfjs-core's ESM sources, which vitest can transform but plain Node cannot);
 *  - WASM against CPU, which also proves every op a gradient uses exists on WASM.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kairosGradientKernels, setFastMatMulGrad, tf } from '../../src/tensor/index.js';
import { Rng, closeness, finiteDifference, maxAbs, maxAbsDiff, useBackend, values } from './helpers.js';

type Domain = 'any' | 'positive' | 'awayFromZero' | 'unitInterval';

interface GradCase {
  /** Kernel whose gradient is under test (the op must dispatch to it). */
  kernel: string;
  /** Upstream gradient file name, if upstream has one. */
  upstream?: string;
  name?: string;
  inputs: Array<{ shape: number[]; domain?: Domain }>;
  f: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[];
}

const cases: GradCase[] = [
  { kernel: 'Add', upstream: 'Add', name: 'Add with broadcasting', inputs: [{ shape: [2, 3] }, { shape: [3] }], f: (a, b) => tf.add(a, b) },
  { kernel: 'Sub', upstream: 'Sub', inputs: [{ shape: [2, 1] }, { shape: [1, 3] }], f: (a, b) => tf.sub(a, b) },
  { kernel: 'Multiply', upstream: 'Multiply', inputs: [{ shape: [2, 3] }, { shape: [2, 1] }], f: (a, b) => tf.mul(a, b) },
  {
    kernel: 'RealDiv',
    upstream: 'RealDiv',
    inputs: [{ shape: [2, 3] }, { shape: [3], domain: 'positive' }],
    f: (a, b) => tf.div(a, b),
  },
  {
    kernel: 'SquaredDifference',
    upstream: 'SquaredDifference',
    inputs: [{ shape: [2, 3] }, { shape: [2, 3] }],
    f: (a, b) => tf.squaredDifference(a, b),
  },
  { kernel: 'Maximum', upstream: 'Maximum', inputs: [{ shape: [2, 3] }, { shape: [2, 3] }], f: (a, b) => tf.maximum(a, b) },
  { kernel: 'Minimum', upstream: 'Minimum', inputs: [{ shape: [2, 3] }, { shape: [2, 3] }], f: (a, b) => tf.minimum(a, b) },
  // Upstream's Minimum/Maximum gradients (tfjs-core 4.22) do not reduce over broadcast axes
  // and throw here, so this case is checked against finite differences only.
  { kernel: 'Minimum', name: 'Minimum with broadcasting', inputs: [{ shape: [2, 3] }, { shape: [3] }], f: (a, b) => tf.minimum(a, b) },
  {
    kernel: 'Pow',
    upstream: 'Pow',
    inputs: [{ shape: [2, 3], domain: 'positive' }, { shape: [2, 3] }],
    f: (a, b) => tf.pow(a, b),
  },
  { kernel: 'AddN', upstream: 'AddN', inputs: [{ shape: [2, 2] }, { shape: [2, 2] }, { shape: [2, 2] }], f: (a, b, c) => tf.addN([a, b, c]) },
  { kernel: 'Neg', upstream: 'Neg', inputs: [{ shape: [4] }], f: (x) => tf.neg(x) },
  { kernel: 'Identity', upstream: 'Identity', inputs: [{ shape: [4] }], f: (x) => tf.clone(x) },
  { kernel: 'Square', upstream: 'Square', inputs: [{ shape: [4] }], f: (x) => tf.square(x) },
  { kernel: 'Log', upstream: 'Log', inputs: [{ shape: [4], domain: 'positive' }], f: (x) => tf.log(x) },
  { kernel: 'Log1p', upstream: 'Log1p', inputs: [{ shape: [4], domain: 'positive' }], f: (x) => tf.log1p(x) },
  { kernel: 'Expm1', upstream: 'Expm1', inputs: [{ shape: [4] }], f: (x) => tf.expm1(x) },
  { kernel: 'Reciprocal', upstream: 'Reciprocal', inputs: [{ shape: [4], domain: 'positive' }], f: (x) => tf.reciprocal(x) },
  { kernel: 'Rsqrt', upstream: 'Rsqrt', inputs: [{ shape: [4], domain: 'positive' }], f: (x) => tf.rsqrt(x) },
  { kernel: 'Abs', upstream: 'Abs', inputs: [{ shape: [6], domain: 'awayFromZero' }], f: (x) => tf.abs(x) },
  { kernel: 'Softplus', upstream: 'Softplus', inputs: [{ shape: [6] }], f: (x) => tf.softplus(x) },
  { kernel: 'Relu', upstream: 'Relu', inputs: [{ shape: [6], domain: 'awayFromZero' }], f: (x) => tf.relu(x) },
  {
    kernel: 'Relu6',
    upstream: 'Relu6',
    inputs: [{ shape: [6], domain: 'awayFromZero' }],
    f: (x) => tf.relu6(tf.mul(x, 4)),
  },
  { kernel: 'LeakyRelu', upstream: 'LeakyRelu', inputs: [{ shape: [6], domain: 'awayFromZero' }], f: (x) => tf.leakyRelu(x, 0.1) },
  { kernel: 'Selu', upstream: 'Selu', inputs: [{ shape: [6], domain: 'awayFromZero' }], f: (x) => tf.selu(x) },
  { kernel: 'Erf', upstream: 'Erf', inputs: [{ shape: [6] }], f: (x) => tf.erf(x) },
  { kernel: 'Sin', upstream: 'Sin', inputs: [{ shape: [6] }], f: (x) => tf.sin(x) },
  { kernel: 'Cos', upstream: 'Cos', inputs: [{ shape: [6] }], f: (x) => tf.cos(x) },
  {
    kernel: 'ClipByValue',
    upstream: 'ClipByValue',
    inputs: [{ shape: [8] }],
    f: (x) => tf.clipByValue(x, -0.7, 0.9),
  },
  { kernel: 'Exp', upstream: 'Exp', inputs: [{ shape: [4] }], f: (x) => tf.exp(x) },
  { kernel: 'Sqrt', upstream: 'Sqrt', inputs: [{ shape: [4], domain: 'positive' }], f: (x) => tf.sqrt(x) },
  { kernel: 'Tanh', upstream: 'Tanh', inputs: [{ shape: [4] }], f: (x) => tf.tanh(x) },
  { kernel: 'Sigmoid', upstream: 'Sigmoid', inputs: [{ shape: [4] }], f: (x) => tf.sigmoid(x) },
  { kernel: 'Elu', upstream: 'Elu', inputs: [{ shape: [6], domain: 'awayFromZero' }], f: (x) => tf.elu(x) },
  { kernel: 'Cast', upstream: 'Cast', inputs: [{ shape: [3] }], f: (x) => tf.cast(x, 'float32') },
  { kernel: 'Sum', upstream: 'Sum', inputs: [{ shape: [2, 3, 2] }], f: (x) => tf.sum(x, [0, 2]) },
  { kernel: 'Sum', upstream: 'Sum', name: 'Sum, keepDims, negative axis', inputs: [{ shape: [2, 3] }], f: (x) => tf.sum(x, -1, true) },
  { kernel: 'Mean', upstream: 'Mean', inputs: [{ shape: [2, 3, 2] }], f: (x) => tf.mean(x, 1) },
  { kernel: 'Mean', upstream: 'Mean', name: 'Mean over all axes', inputs: [{ shape: [2, 3] }], f: (x) => tf.mean(x) },
  { kernel: 'Max', upstream: 'Max', inputs: [{ shape: [3, 4] }], f: (x) => tf.max(x, 1) },
  { kernel: 'Min', upstream: 'Min', inputs: [{ shape: [3, 4] }], f: (x) => tf.min(x, 0, true) },
  { kernel: 'Reshape', upstream: 'Reshape', inputs: [{ shape: [2, 6] }], f: (x) => tf.reshape(x, [3, 4]) },
  { kernel: 'ExpandDims', upstream: 'ExpandDims', inputs: [{ shape: [2, 3] }], f: (x) => tf.expandDims(x, 1) },
  { kernel: 'Transpose', upstream: 'Transpose', inputs: [{ shape: [2, 3, 4] }], f: (x) => tf.transpose(x, [2, 0, 1]) },
  { kernel: 'Tile', upstream: 'Tile', inputs: [{ shape: [2, 3] }], f: (x) => tf.tile(x, [2, 3]) },
  { kernel: 'Tile', upstream: 'Tile', name: 'broadcastTo (dispatches to Tile)', inputs: [{ shape: [3, 1] }], f: (x) => tf.broadcastTo(x, [2, 3, 4]) },
  {
    kernel: 'Concat',
    upstream: 'Concat',
    inputs: [{ shape: [2, 3] }, { shape: [2, 1] }, { shape: [2, 2] }],
    f: (a, b, c) => tf.concat([a, b, c], -1),
  },
  { kernel: 'Pack', upstream: 'Pack', inputs: [{ shape: [2, 3] }, { shape: [2, 3] }], f: (a, b) => tf.stack([a, b], 1) },
  { kernel: 'Unpack', upstream: 'Unpack', inputs: [{ shape: [3, 2] }], f: (x) => tf.unstack(x, 1) },
  { kernel: 'SplitV', upstream: 'SplitV', inputs: [{ shape: [2, 6] }], f: (x) => tf.split(x, [1, 2, 3], 1) },
  { kernel: 'Slice', upstream: 'Slice', inputs: [{ shape: [3, 4] }], f: (x) => tf.slice(x, [1, 1], [2, -1]) },
  { kernel: 'PadV2', upstream: 'PadV2', inputs: [{ shape: [2, 3] }], f: (x) => tf.pad(x, [[1, 0], [2, 1]], 0.5) },
  { kernel: 'Reverse', upstream: 'Reverse', inputs: [{ shape: [2, 3] }], f: (x) => tf.reverse(x, 1) },
  { kernel: 'Cumsum', upstream: 'Cumsum', inputs: [{ shape: [5] }], f: (x) => tf.cumsum(x) },
  { kernel: 'Cumsum', upstream: 'Cumsum', name: 'Cumsum exclusive reverse', inputs: [{ shape: [5] }], f: (x) => tf.cumsum(x, 0, true, true) },
  {
    kernel: 'GatherV2',
    upstream: 'GatherV2',
    name: 'GatherV2 axis 0 with repeated indices (embedding lookup)',
    inputs: [{ shape: [4, 3] }],
    f: (x) => tf.gather(x, tf.tensor2d([[0, 2], [2, 3]], [2, 2], 'int32'), 0),
  },
  {
    kernel: 'GatherV2',
    upstream: 'GatherV2',
    name: 'GatherV2 axis 1',
    inputs: [{ shape: [2, 4, 3] }],
    f: (x) => tf.gather(x, tf.tensor1d([3, 0, 3], 'int32'), 1),
  },
  { kernel: 'Softmax', upstream: 'Softmax', inputs: [{ shape: [2, 4] }], f: (x) => tf.softmax(x) },
  {
    kernel: 'Select',
    upstream: 'Select',
    name: 'Select (tf.where with a condition computed from the input)',
    inputs: [{ shape: [6], domain: 'awayFromZero' }, { shape: [6] }],
    f: (x, y) => tf.where(tf.greater(x, 0), tf.mul(x, 2), y),
  },
  {
    kernel: 'Greater',
    name: 'comparison, logical ops and sign have zero gradient',
    inputs: [{ shape: [4], domain: 'awayFromZero' }],
    f: (x) =>
      tf.add(
        tf.mul(tf.cast(tf.logicalAnd(tf.greaterEqual(x, 0), tf.lessEqual(x, 10)), 'float32'), x),
        tf.sign(x),
      ),
  },
  {
    kernel: 'LogSoftmax',
    name: 'logSoftmax (composite: customGrad over Max, Sub, Exp, Sum, Log)',
    inputs: [{ shape: [2, 5] }],
    f: (x) => tf.logSoftmax(x),
  },
  {
    kernel: 'LogSumExp',
    name: 'logSumExp (composite)',
    inputs: [{ shape: [3, 4] }],
    f: (x) => tf.logSumExp(x, 1),
  },
  {
    kernel: 'Huber',
    name: 'Huber loss (tf.losses.huberLoss: Abs, Minimum, Sub, Square, Mean)',
    inputs: [{ shape: [6], domain: 'awayFromZero' }, { shape: [6] }],
    f: (a, b) => tf.losses.huberLoss(tf.mul(b, 3), a),
  },
];

function sample(n: number, domain: Domain, rng: Rng): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const z = rng.normal();
    switch (domain) {
      case 'any':
        out[i] = z;
        break;
      case 'positive':
        out[i] = 0.5 + Math.abs(z);
        break;
      case 'awayFromZero':
        // |x| >= 0.2 keeps finite differences (h = 1e-3) off the kinks at 0.
        out[i] = Math.sign(z || 1) * (0.2 + Math.abs(z));
        break;
      case 'unitInterval':
        out[i] = rng.uniform(0.1, 0.9);
        break;
    }
  }
  return out;
}

function inputsFor(c: GradCase, seed: number): Float32Array[] {
  const rng = new Rng(seed);
  return c.inputs.map((inp) => sample(inp.shape.reduce((a, b) => a * b, 1), inp.domain ?? 'any', rng));
}

/** L = Σ_k Σ out_k ⊙ W_k with fixed pseudo-random W_k (so dy is not all ones). */
function lossOf(c: GradCase, xs: tf.Tensor[]): tf.Scalar {
  const out = c.f(...xs);
  const outs = Array.isArray(out) ? out : [out];
  const rng = new Rng(99);
  const terms = outs.map((o) => tf.sum(tf.mul(o, tf.tensor(sample(o.size, 'any', rng), o.shape))));
  return (terms.length === 1 ? terms[0] : tf.addN(terms)) as tf.Scalar;
}

function analytic(c: GradCase, xsValues: Float32Array[]): Float32Array[] {
  return tf.tidy(() => {
    const xs = xsValues.map((v, i) => tf.tensor(v, c.inputs[i].shape, 'float32'));
    const gs = tf.grads((...args: tf.Tensor[]) => lossOf(c, args))(xs);
    return gs.map(values);
  });
}

const label = (c: GradCase) => c.name ?? c.kernel;
const upstreamConfigs = new Map<string, tf.GradConfig>();

beforeAll(async () => {
  for (const c of cases) {
    if (c.upstream === undefined || upstreamConfigs.has(c.kernel)) continue;
    const mod = (await import(`@tensorflow/tfjs-core/dist/gradients/${c.upstream}_grad.js`)) as Record<string, unknown>;
    const config = Object.values(mod).find((v) => (v as tf.GradConfig)?.kernelName === c.kernel) as tf.GradConfig;
    upstreamConfigs.set(c.kernel, config);
  }
});

afterAll(() => setFastMatMulGrad(true));

describe('Kairos gradients on CPU', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it('registers a gradient for every kernel it lists', () => {
    for (const k of kairosGradientKernels()) expect(tf.getGradient(k), k).toBeDefined();
  });

  it.each(cases.map((c) => [label(c), c] as const))('%s matches central finite differences', (_name, c) => {
    const xs = inputsFor(c, 1);
    const grads = analytic(c, xs);
    xs.forEach((x, i) => {
      const fd = finiteDifference(
        (xi) => lossOf(c, xs.map((v, j) => (j === i ? xi : tf.tensor(v, c.inputs[j].shape, 'float32')))),
        x,
        c.inputs[i].shape,
        1e-3,
      );
      expect(closeness(grads[i], fd, 2e-3, 2e-2), `input ${i}: ${Array.from(grads[i])} vs ${Array.from(fd)}`).toBeLessThanOrEqual(1);
    });
  });

  it.each(cases.filter((c) => c.upstream !== undefined).map((c) => [label(c), c] as const))(
    '%s matches the upstream tfjs gradient',
    (_name, c) => {
      const xs = inputsFor(c, 2);
      const ours = analytic(c, xs);
      const kairosConfig = tf.getGradient(c.kernel);
      tf.registerGradient(upstreamConfigs.get(c.kernel) as tf.GradConfig);
      let theirs: Float32Array[];
      try {
        theirs = analytic(c, xs);
      } finally {
        tf.registerGradient(kairosConfig);
      }
      ours.forEach((g, i) => expect(maxAbsDiff(g, theirs[i])).toBeLessThanOrEqual(1e-5 * Math.max(1, maxAbs(theirs[i]))));
    },
  );

  it('gradients leave no tensors behind', () => {
    const before = tf.memory().numTensors;
    for (const c of cases) analytic(c, inputsFor(c, 3));
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('Kairos gradients on WASM agree with CPU', () => {
  it('every case', async () => {
    const inputs = cases.map((c) => inputsFor(c, 4));
    await useBackend('cpu');
    const cpu = cases.map((c, i) => analytic(c, inputs[i]));
    await useBackend('wasm');
    cases.forEach((c, i) => {
      const wasm = analytic(c, inputs[i]);
      wasm.forEach((g, j) =>
        expect(maxAbsDiff(g, cpu[i][j]), label(c)).toBeLessThanOrEqual(1e-4 * Math.max(1, maxAbs(cpu[i][j]))),
      );
    });
  });
});
