/**
 * Gradient functions for the TensorFlow.js kernels Kairos differentiates through.
 *
 * Why this file exists: `@tensorflow/tfjs-core` registers **no** gradients when loaded on
 * its own. Its Node entry point (`dist/tf-core.node.js`) and its ESM entry (`dist/index.js`)
 * both leave the gradient registry empty; only the `@tensorflow/tfjs` umbrella package
 * imports `dist/register_all_gradients`, and that file is not loadable by plain Node (its
 * relative imports have no extensions). Without this module `tf.grad`, `tf.variableGrads` and
 * every optimiser's `minimize` fail with "gradient function not found for Sum".
 *
 * The formulas are the standard closed forms (each is checked against finite differences and
 * against the upstream tfjs gradient in `test/tensor/gradients.test.ts`). Every gradient is
 * built only from kernels that both the WASM and the CPU backend implement; in particular the
 * `GatherV2` gradient uses `ScatterNd` (the WASM backend has no `UnsortedSegmentSum`).
 *
 * {@link registerKairosGradients} only fills kernels that have no gradient yet, so an app
 * that also loads `@tensorflow/tfjs` keeps the upstream functions. The `BatchMatMul`
 * gradient lives here in two forms, {@link referenceBatchMatMulGradConfig} (transpose flags,
 * as upstream) and {@link fastBatchMatMulGradConfig} (explicit transposes); `backend.ts`
 * chooses between them.
 *
 * @example
 * registerKairosGradients(); // done for you when `src/tensor` is imported
 * const dx = tf.grad((x: tf.Tensor) => tf.sum(tf.tanh(x)))(tf.tensor1d([0, 1]));
 */
import * as tf from '@tensorflow/tfjs-core';
import { KairosError } from '../core/errors.js';

type Tensor = tf.Tensor;
type GradMap = Record<string, () => Tensor>;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/**
 * Sums `g` over the axes that broadcasting added or stretched, so the result has `shape`.
 * Numpy broadcasting rules: trailing axes align; a size-1 (or missing) input axis was stretched.
 */
export function unbroadcast(g: Tensor, shape: readonly number[]): Tensor {
  // Always returns a new tensor handle (reshape shares the data, it does not copy): the
  // engine may dispose an accumulated gradient, so a gradient must never be `dy` itself.
  const rankDiff = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    const j = i - rankDiff;
    if (j < 0 || (shape[j] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  const reduced = axes.length > 0 ? tf.sum(g, axes) : g;
  return tf.reshape(reduced, shape as number[]);
}

/**
 * `dy` (the gradient of a reduction's output, reshaped to keepDims form) spread back over
 * `shape`, times `scale`. A broadcast multiply instead of `tf.broadcastTo`, which runs the
 * Tile kernel: 20x slower on WASM (2.5 ms vs 0.11 ms to fill 128x256).
 */
function spread(dyKept: Tensor, shape: readonly number[], scale = 1): Tensor {
  return tf.mul(dyKept, tf.fill(shape as number[], scale, 'float32'));
}

/** `x` with its last two axes swapped (a real copy, so the next matMul needs no transpose flag). */
export function swapLastTwo(x: Tensor): Tensor {
  const perm = x.shape.map((_, i) => i);
  const r = x.rank;
  perm[r - 2] = r - 1;
  perm[r - 1] = r - 2;
  return tf.transpose(x, perm);
}

function axesOf(axis: unknown, shape: readonly number[]): number[] {
  return tf.util.parseAxisParam(axis as number | number[], shape as number[]);
}

/** Shape of a reduction's output with keepDims = true (size 1 on each reduced axis). */
function keepDimsShape(shape: readonly number[], axes: readonly number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

function single(dy: Tensor | Tensor[]): Tensor {
  return Array.isArray(dy) ? dy[0] : dy;
}

function zerosFor(x: Tensor): () => Tensor {
  // The engine insists on float32 gradients even for int/bool inputs.
  return () => tf.zeros(x.shape, 'float32');
}

function isPositive(x: Tensor): Tensor {
  return tf.greater(x, tf.scalar(0, x.dtype));
}

// ---------------------------------------------------------------------------------------------
// Gradient configs
// ---------------------------------------------------------------------------------------------

/** Gradients of `C = op(A) · op(B)` using the matMul transpose flags, exactly as upstream tfjs. */
export const referenceBatchMatMulGradConfig: tf.GradConfig = {
  kernelName: tf.BatchMatMul,
  inputsToSave: ['a', 'b'],
  gradFunc: (dyIn, saved, attrs) => {
    const dy = single(dyIn);
    const [a, b] = saved;
    const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
    // Upstream (tfjs-core 4.22 BatchMatMul_grad) omits `unbroadcast`, so it throws on
    // broadcast batch dims; Kairos adds it so both forms agree on every shape.
    let ga: () => Tensor;
    let gb: () => Tensor;
    if (!transposeA && !transposeB) {
      ga = () => tf.matMul(dy, b, false, true);
      gb = () => tf.matMul(a, dy, true, false);
    } else if (!transposeA && transposeB) {
      ga = () => tf.matMul(dy, b, false, false);
      gb = () => tf.matMul(dy, a, true, false);
    } else if (transposeA && !transposeB) {
      ga = () => tf.matMul(b, dy, false, true);
      gb = () => tf.matMul(a, dy, false, false);
    } else {
      ga = () => tf.matMul(b, dy, true, true);
      gb = () => tf.matMul(dy, a, true, true);
    }
    return { a: () => unbroadcast(ga(), a.shape), b: () => unbroadcast(gb(), b.shape) };
  },
};

/**
 * The same gradients with every transpose materialised by `tf.transpose` and every matMul
 * called without transpose flags. On the WASM backend (XNNPACK) a transposed matMul is 10-20x
 * slower than a plain one (256³: 2 ms plain, 20-40 ms transposed) while a 256x256 transpose
 * costs ~0.4 ms, so this makes backward passes several times faster. Derivation, with
 * `C = op(A) op(B)` and `dy = ∂L/∂C`:
 *   (F,F) C = A B:    dA = dy Bᵀ,       dB = Aᵀ dy
 *   (F,T) C = A Bᵀ:   dA = dy B,        dB = dyᵀ A
 *   (T,F) C = Aᵀ B:   dA = B dyᵀ,       dB = A dy
 *   (T,T) C = Aᵀ Bᵀ:  dA = (dy B)ᵀ,     dB = (A dy)ᵀ
 */
export const fastBatchMatMulGradConfig: tf.GradConfig = {
  kernelName: tf.BatchMatMul,
  inputsToSave: ['a', 'b'],
  gradFunc: (dyIn, saved, attrs) => {
    const dy = single(dyIn);
    const [a, b] = saved;
    const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
    let ga: () => Tensor;
    let gb: () => Tensor;
    if (!transposeA && !transposeB) {
      ga = () => tf.matMul(dy, swapLastTwo(b));
      gb = () => tf.matMul(swapLastTwo(a), dy);
    } else if (!transposeA && transposeB) {
      ga = () => tf.matMul(dy, b);
      gb = () => tf.matMul(swapLastTwo(dy), a);
    } else if (transposeA && !transposeB) {
      ga = () => tf.matMul(b, swapLastTwo(dy));
      gb = () => tf.matMul(a, dy);
    } else {
      ga = () => swapLastTwo(tf.matMul(dy, b));
      gb = () => swapLastTwo(tf.matMul(a, dy));
    }
    return { a: () => unbroadcast(ga(), a.shape), b: () => unbroadcast(gb(), b.shape) };
  },
};

/** Element-wise binary kernels with broadcasting: [kernel, (a, b, dy, y) => [da, db]]. */
const binaryGrads: Array<[string, (a: Tensor, b: Tensor, dy: Tensor) => [() => Tensor, () => Tensor]]> = [
  [tf.Add, (_a, _b, dy) => [() => dy, () => dy]],
  [tf.Sub, (_a, _b, dy) => [() => dy, () => tf.neg(dy)]],
  [tf.Multiply, (a, b, dy) => [() => tf.mul(dy, b), () => tf.mul(dy, a)]],
  [tf.RealDiv, (a, b, dy) => [() => tf.div(dy, b), () => tf.neg(tf.div(tf.mul(dy, a), tf.square(b)))]],
  [
    tf.SquaredDifference,
    (a, b, dy) => [() => tf.mul(dy, tf.mul(tf.sub(a, b), 2)), () => tf.mul(dy, tf.mul(tf.sub(b, a), 2))],
  ],
  // Ties go to `a`, like TensorFlow, so the two gradients always sum to dy.
  [
    tf.Maximum,
    (a, b, dy) => [
      () => tf.mul(dy, tf.cast(tf.greaterEqual(a, b), 'float32')),
      () => tf.mul(dy, tf.cast(tf.less(a, b), 'float32')),
    ],
  ],
  [
    tf.Minimum,
    (a, b, dy) => [
      () => tf.mul(dy, tf.cast(tf.lessEqual(a, b), 'float32')),
      () => tf.mul(dy, tf.cast(tf.greater(a, b), 'float32')),
    ],
  ],
];

/** Unary kernels whose gradient needs the input x: [kernel, (x, dy, attrs) => dx]. */
const unaryInputGrads: Array<[string, (x: Tensor, dy: Tensor, attrs: tf.NamedAttrMap) => Tensor]> = [
  [tf.Square, (x, dy) => tf.mul(dy, tf.mul(x, 2))],
  [tf.Log, (x, dy) => tf.div(dy, x)],
  [tf.Log1p, (x, dy) => tf.div(dy, tf.add(x, 1))],
  [tf.Expm1, (x, dy) => tf.mul(dy, tf.exp(x))],
  [tf.Reciprocal, (x, dy) => tf.neg(tf.div(dy, tf.square(x)))],
  [tf.Rsqrt, (x, dy) => tf.mul(dy, tf.mul(tf.pow(x, -1.5), -0.5))],
  [tf.Abs, (x, dy) => tf.mul(dy, tf.sign(x))],
  [tf.Softplus, (x, dy) => tf.mul(dy, tf.sigmoid(x))],
  // Subgradient 0 at x = 0, as in PyTorch and TensorFlow. Step (x > 0 ? 1 : 0) is one fast
  // unary kernel; Greater + Cast costs 4x more on WASM (0.32 vs 0.08 ms at 128x256).
  [tf.Relu, (x, dy) => tf.mul(dy, tf.step(x))],
  [
    tf.Relu6,
    (x, dy) => tf.mul(dy, tf.cast(tf.logicalAnd(isPositive(x), tf.lessEqual(x, tf.scalar(6))), 'float32')),
  ],
  // slope = alpha + (1 − alpha)·step(x), again avoiding the slow comparison kernels.
  [
    tf.LeakyRelu,
    (x, dy, attrs) => {
      const alpha = attrs.alpha as number;
      return tf.mul(dy, tf.add(tf.mul(tf.step(x), 1 - alpha), alpha));
    },
  ],
  [
    tf.Selu,
    (x, dy) => {
      // Klambauer et al. 2017, eq. 2: scale and alpha of SELU.
      const scale = 1.0507009873554805;
      const alpha = 1.6732632423543772;
      return tf.where(isPositive(x), tf.mul(dy, scale), tf.mul(dy, tf.mul(tf.exp(x), scale * alpha)));
    },
  ],
  // d/dx erf(x) = 2/√π · exp(−x²).
  [tf.Erf, (x, dy) => tf.mul(dy, tf.mul(tf.exp(tf.neg(tf.square(x))), 2 / Math.sqrt(Math.PI)))],
  [tf.Sin, (x, dy) => tf.mul(dy, tf.cos(x))],
  [tf.Cos, (x, dy) => tf.neg(tf.mul(dy, tf.sin(x)))],
  [
    tf.ClipByValue,
    (x, dy, attrs) => {
      const inside = tf.logicalAnd(
        tf.greaterEqual(x, tf.scalar(attrs.clipValueMin as number)),
        tf.lessEqual(x, tf.scalar(attrs.clipValueMax as number)),
      );
      return tf.where(inside, dy, tf.zerosLike(dy));
    },
  ],
];

/** Unary kernels whose gradient is cheapest from the output y: [kernel, (y, dy) => dx]. */
const unaryOutputGrads: Array<[string, (y: Tensor, dy: Tensor) => Tensor]> = [
  [tf.Exp, (y, dy) => tf.mul(dy, y)],
  [tf.Sqrt, (y, dy) => tf.div(dy, tf.mul(y, 2))],
  [tf.Tanh, (y, dy) => tf.mul(dy, tf.sub(1, tf.square(y)))],
  [tf.Sigmoid, (y, dy) => tf.mul(dy, tf.mul(y, tf.sub(1, y)))],
  // ELU: y' = 1 for y > 0, else y + 1 (= exp(x)), i.e. y + 1 − step(y)·y.
  [tf.Elu, (y, dy) => tf.mul(dy, tf.sub(tf.add(y, 1), tf.mul(tf.step(y), y)))],
];

/** Kernels whose output is piecewise constant or not differentiable: gradient zero. */
const zeroGradUnary = [
  tf.Sign, tf.Floor, tf.Ceil, tf.Round, tf.Step, tf.LogicalNot, tf.IsNan, tf.IsInf, tf.IsFinite,
  tf.ArgMax, tf.ArgMin, tf.ZerosLike, tf.OnesLike,
];
const zeroGradBinary = [
  tf.Greater, tf.GreaterEqual, tf.Less, tf.LessEqual, tf.Equal, tf.NotEqual, tf.LogicalAnd, tf.LogicalOr,
];

function buildConfigs(): tf.GradConfig[] {
  const configs: tf.GradConfig[] = [];

  for (const [kernelName, f] of binaryGrads) {
    configs.push({
      kernelName,
      inputsToSave: ['a', 'b'],
      gradFunc: (dy, [a, b]) => {
        const [da, db] = f(a, b, single(dy));
        return { a: () => unbroadcast(da(), a.shape), b: () => unbroadcast(db(), b.shape) };
      },
    });
  }
  configs.push({
    kernelName: tf.Pow,
    inputsToSave: ['a', 'b'],
    outputsToSave: [true],
    gradFunc: (dyIn, [a, b, y]) => {
      const dy = single(dyIn);
      return {
        // d/da a^b = b · a^(b−1)
        a: () => unbroadcast(tf.mul(dy, tf.mul(b, tf.pow(a, tf.sub(b, tf.scalar(1, b.dtype))))), a.shape),
        // d/db a^b = a^b · log a, taken as 0 where a <= 0 (log undefined), as TensorFlow does.
        b: () => unbroadcast(tf.mul(dy, tf.where(isPositive(a), tf.mul(y, tf.log(a)), tf.zerosLike(y))), b.shape),
      };
    },
  });
  configs.push({
    kernelName: tf.AddN,
    saveAllInputs: true,
    gradFunc: (dy, saved) => Object.fromEntries(saved.map((_, i) => [String(i), () => tf.clone(single(dy))])),
  });

  configs.push({ kernelName: tf.Neg, gradFunc: (dy) => ({ x: () => tf.neg(single(dy)) }) });
  configs.push({ kernelName: tf.Identity, gradFunc: (dy) => ({ x: () => tf.clone(single(dy)) }) });
  // Only float -> float casts are differentiable; int inputs are never on a gradient path.
  configs.push({ kernelName: tf.Cast, gradFunc: (dy) => ({ x: () => tf.clone(single(dy)) }) });
  for (const [kernelName, f] of unaryInputGrads) {
    configs.push({
      kernelName,
      inputsToSave: ['x'],
      gradFunc: (dy, [x], attrs) => ({ x: () => f(x, single(dy), attrs) }),
    });
  }
  for (const [kernelName, f] of unaryOutputGrads) {
    configs.push({
      kernelName,
      outputsToSave: [true],
      gradFunc: (dy, [y]) => ({ x: () => f(y, single(dy)) }),
    });
  }
  for (const kernelName of zeroGradUnary) {
    configs.push({ kernelName, inputsToSave: ['x'], gradFunc: (_dy, [x]) => ({ x: zerosFor(x) }) });
  }
  configs.push({ kernelName: tf.OneHot, inputsToSave: ['indices'], gradFunc: (_dy, [i]) => ({ indices: zerosFor(i) }) });
  for (const kernelName of zeroGradBinary) {
    configs.push({
      kernelName,
      inputsToSave: ['a', 'b'],
      gradFunc: (_dy, [a, b]) => ({ a: zerosFor(a), b: zerosFor(b) }),
    });
  }

  // Reductions.
  configs.push({
    kernelName: tf.Sum,
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const axes = axesOf(attrs.axis, x.shape);
      return { x: () => spread(tf.reshape(single(dy), keepDimsShape(x.shape, axes)), x.shape) };
    },
  });
  configs.push({
    kernelName: tf.Mean,
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const axes = axesOf(attrs.axis, x.shape);
      const count = axes.reduce((n, ax) => n * x.shape[ax], 1);
      return { x: () => spread(tf.reshape(single(dy), keepDimsShape(x.shape, axes)), x.shape, 1 / count) };
    },
  });
  for (const kernelName of [tf.Max, tf.Min]) {
    configs.push({
      kernelName,
      inputsToSave: ['x'],
      outputsToSave: [true],
      gradFunc: (dy, [x, y], attrs) => {
        // Max takes `reductionIndices`, Min takes `axis`. Ties share the full gradient, as upstream.
        const axes = axesOf(attrs.reductionIndices ?? attrs.axis, x.shape);
        const kept = keepDimsShape(x.shape, axes);
        return {
          x: () => tf.mul(tf.reshape(single(dy), kept), tf.cast(tf.equal(x, tf.reshape(y, kept)), 'float32')),
        };
      },
    });
  }

  // Shape manipulation.
  configs.push({
    kernelName: tf.Reshape,
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({ x: () => tf.reshape(single(dy), x.shape) }),
  });
  configs.push({
    kernelName: tf.ExpandDims,
    inputsToSave: ['input'],
    gradFunc: (dy, [input]) => ({ input: () => tf.reshape(single(dy), input.shape) }),
  });
  configs.push({
    kernelName: tf.Transpose,
    gradFunc: (dy, _saved, attrs) => {
      const perm = attrs.perm as number[];
      const inverse = new Array<number>(perm.length);
      perm.forEach((p, i) => (inverse[p] = i));
      return { x: () => tf.transpose(single(dy), inverse) };
    },
  });
  configs.push({
    kernelName: tf.BroadcastTo,
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({ x: () => unbroadcast(single(dy), x.shape) }),
  });
  configs.push({
    kernelName: tf.Tile,
    inputsToSave: ['x'],
    gradFunc: (dyIn, [x], attrs) => {
      const reps = attrs.reps as number[];
      // Split each tiled axis d into (reps[d], x.shape[d]) and sum out the repetition axes.
      return {
        x: () => {
          const split: number[] = [];
          reps.forEach((r, d) => split.push(r, x.shape[d]));
          const repAxes = reps.map((_, d) => 2 * d);
          return tf.reshape(tf.sum(tf.reshape(single(dyIn), split), repAxes), x.shape);
        },
      };
    },
  });
  configs.push({
    kernelName: tf.Concat,
    saveAllInputs: true,
    gradFunc: (dy, saved, attrs) => {
      const axis = axesOf(attrs.axis, saved[0].shape)[0];
      // Each closure slices its own part: the engine runs every closure in its own tidy, so
      // a split shared between closures would be disposed after the first one returns.
      let offset = 0;
      const grads: GradMap = {};
      saved.forEach((t, i) => {
        const begin = t.shape.map((_, d) => (d === axis ? offset : 0));
        offset += t.shape[axis];
        grads[String(i)] = () => tf.slice(single(dy), begin, t.shape);
      });
      return grads;
    },
  });
  configs.push({
    kernelName: tf.Pack,
    saveAllInputs: true,
    gradFunc: (dy, saved, attrs) => {
      const g = single(dy);
      const axis = (attrs.axis as number) < 0 ? (attrs.axis as number) + g.rank : (attrs.axis as number);
      const grads: GradMap = {};
      saved.forEach((t, i) => {
        const begin = g.shape.map((_, d) => (d === axis ? i : 0));
        const size = g.shape.map((n, d) => (d === axis ? 1 : n));
        grads[String(i)] = () => tf.reshape(tf.slice(g, begin, size), t.shape);
      });
      return grads;
    },
  });
  configs.push({
    kernelName: tf.Unpack,
    gradFunc: (dy, _saved, attrs) => ({
      value: () => tf.stack(Array.isArray(dy) ? dy : [dy], attrs.axis as number),
    }),
  });
  configs.push({
    kernelName: tf.SplitV,
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => ({
      x: () => tf.concat(Array.isArray(dy) ? dy : [dy], axesOf(attrs.axis, x.shape)[0]),
    }),
  });
  configs.push({
    kernelName: tf.Slice,
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const [begin, size] = tf.slice_util.parseSliceParams(x, attrs.begin as number[], attrs.size as number[]);
      const paddings = x.shape.map((d, i) => [begin[i], d - begin[i] - size[i]] as [number, number]);
      return { x: () => tf.pad(single(dy), paddings) };
    },
  });
  configs.push({
    kernelName: tf.PadV2,
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const begin = (attrs.paddings as Array<[number, number]>).map((p) => p[0]);
      return { x: () => tf.slice(single(dy), begin, x.shape) };
    },
  });
  configs.push({
    kernelName: tf.Reverse,
    gradFunc: (dy, _saved, attrs) => ({ x: () => tf.reverse(single(dy), attrs.dims as number[]) }),
  });
  configs.push({
    kernelName: tf.Cumsum,
    gradFunc: (dy, _saved, attrs) => ({
      // The adjoint of a prefix sum is the suffix sum: flip `reverse`, keep `exclusive`.
      x: () => tf.cumsum(single(dy), attrs.axis as number, attrs.exclusive as boolean, !(attrs.reverse as boolean)),
    }),
  });
  configs.push({
    kernelName: tf.GatherV2,
    inputsToSave: ['x', 'indices'],
    gradFunc: (dyIn, [x, indices], attrs) => {
      if ((attrs.batchDims as number) !== 0) {
        throw new KairosError('GatherV2 gradient: batchDims > 0 is not supported by Kairos', 'unsupported_gradient');
      }
      const axis = axesOf(attrs.axis, x.shape)[0];
      return {
        x: () => {
          // Move the gathered axis first, flatten the rest, and scatter-add the rows back
          // (ScatterNd sums duplicate indices, which is the adjoint of a gather).
          const dy = single(dyIn);
          const pre = x.shape.slice(0, axis);
          const post = x.shape.slice(axis + 1);
          const preSize = pre.reduce((n, d) => n * d, 1);
          const postSize = post.reduce((n, d) => n * d, 1);
          const n = x.shape[axis];
          const k = indices.size;
          let rows = tf.reshape(dy, [preSize, k, postSize]);
          if (preSize > 1) rows = tf.transpose(rows, [1, 0, 2]);
          const flat = tf.reshape(rows, [k, preSize * postSize]);
          const idx = tf.reshape(tf.cast(indices, 'int32'), [k, 1]);
          let g = tf.reshape(tf.scatterND(idx, flat, [n, preSize * postSize]), [n, preSize, postSize]);
          if (preSize > 1) g = tf.transpose(g, [1, 0, 2]);
          return tf.reshape(g, x.shape);
        },
        indices: zerosFor(indices),
      };
    },
  });

  // Softmax: y = softmax(x) ⇒ dx = y ⊙ (dy − Σ(dy ⊙ y)).
  configs.push({
    kernelName: tf.Softmax,
    outputsToSave: [true],
    gradFunc: (dyIn, [y], attrs) => {
      const dy = single(dyIn);
      const dim = axesOf(attrs.dim ?? -1, y.shape);
      return { logits: () => tf.mul(y, tf.sub(dy, tf.sum(tf.mul(dy, y), dim, true))) };
    },
  });
  configs.push({
    kernelName: tf.Select,
    inputsToSave: ['condition'],
    gradFunc: (dyIn, [condition]) => {
      const dy = single(dyIn);
      return {
        condition: zerosFor(condition),
        t: () => tf.where(condition, dy, tf.zerosLike(dy)),
        e: () => tf.where(condition, tf.zerosLike(dy), dy),
      };
    },
  });

  return configs;
}

let registered = false;

/**
 * Registers a gradient for every kernel in this file that has none yet. Idempotent.
 * `BatchMatMul` gets {@link referenceBatchMatMulGradConfig} here; `initTensorBackend`
 * swaps in the fast form.
 *
 * @returns the kernel names this call registered (empty on later calls).
 */
export function registerKairosGradients(): string[] {
  if (registered) return [];
  registered = true;
  const added: string[] = [];
  for (const config of [...buildConfigs(), referenceBatchMatMulGradConfig]) {
    if (tf.getGradient(config.kernelName) == null) {
      tf.registerGradient(config);
      added.push(config.kernelName);
    }
  }
  return added;
}

/** Kernel names this module can differentiate (for docs and tests). */
export function kairosGradientKernels(): string[] {
  return [...buildConfigs().map((c) => c.kernelName), tf.BatchMatMul];
}

