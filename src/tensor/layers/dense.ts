/**
 * A fully connected layer y = act(x·W + b) over the last axis of its input, so it serves
 * vectors `[batch, in]` as well as sequences `[batch, time, in]` (a transformer's
 * position-wise feed-forward) or flattened image features.
 *
 * Forward uses plain `tf.matMul` + `tf.add` + activation, not `tf.fused.matMul`: the fused
 * op's backward pass is a closure that calls matMul with transpose flags, which bypasses
 * Kairos's fast matMul gradient and is 10-20x slower on WASM (see `backend.ts`).
 *
 * @example
 * const layer = new Dense({ inputSize: 4, outputSize: 2, activation: 'tanh', seed: 0 });
 * const y = layer.apply(tf.ones([3, 4])); // [3, 2]
 * layer.dispose();
 */
import { z } from 'zod';
import { KairosError, parseWith } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { tf } from '../backend.js';
import {
  constantValues,
  glorotUniformValues,
  heUniformValues,
  lecunNormalValues,
  orthogonalValues,
  torchDefaultValues,
} from '../init.js';
import { ParamModule, ParameterSet } from './params.js';

/** Activations a layer can apply. */
export const ACTIVATIONS = ['relu', 'tanh', 'elu', 'linear'] as const;
/** An activation name. */
export type Activation = (typeof ACTIVATIONS)[number];

/** Kernel initialisation schemes (see `init.ts`). */
export const INITS = ['glorot', 'he', 'orthogonal', 'lecun', 'torch'] as const;
/** A kernel initialisation scheme. */
export type InitScheme = (typeof INITS)[number];

/** Applies a named activation. */
export function activate(x: tf.Tensor, activation: Activation): tf.Tensor {
  switch (activation) {
    case 'relu':
      return tf.relu(x);
    case 'tanh':
      return tf.tanh(x);
    case 'elu':
      return tf.elu(x);
    case 'linear':
      return x;
  }
}

const rngSchema = z.custom<Rng>((v) => v instanceof Rng, { message: 'an Rng instance' });

/** Config of {@link Dense}. */
export const DenseConfigSchema = z
  .object({
    /** Size of the input's last axis. */
    inputSize: z.number().int().positive(),
    /** Number of output units. */
    outputSize: z.number().int().positive(),
    /** Activation after the affine map. */
    activation: z.enum(ACTIVATIONS).default('linear'),
    /** Kernel initialisation; biases start at zero (except `torch`, which matches nn.Linear). */
    init: z.enum(INITS).default('glorot'),
    /** Multiplies the initial kernel (orthogonal: the gain of Saxe et al.; PPO uses √2, 0.01, 1). */
    gain: z.number().nonnegative().default(1),
    /** Add a bias. */
    useBias: z.boolean().default(true),
    /** Seed for the initial weights (give this or `rng`). */
    seed: z.number().int().nonnegative().optional(),
    /** Generator for the initial weights (advanced by this layer). */
    rng: rngSchema.optional(),
  })
  .strict()
  .refine((c) => (c.seed === undefined) !== (c.rng === undefined), {
    message: 'exactly one of seed or rng',
    path: ['seed'],
  });

/** Input of {@link Dense}'s constructor. */
export type DenseConfig = z.input<typeof DenseConfigSchema>;

/** Initial kernel values for a scheme, `[fanIn, fanOut]` layout. */
export function initKernelValues(init: InitScheme, shape: readonly [number, number], rng: Rng, gain: number): Float32Array {
  let values: Float32Array;
  switch (init) {
    case 'glorot':
      values = glorotUniformValues(shape, rng);
      break;
    case 'he':
      values = heUniformValues(shape, rng);
      break;
    case 'orthogonal':
      values = orthogonalValues(shape, rng);
      break;
    case 'lecun':
      values = lecunNormalValues(shape, rng);
      break;
    case 'torch':
      values = torchDefaultValues(shape, rng);
      break;
  }
  if (gain !== 1) for (let i = 0; i < values.length; i++) values[i] *= gain;
  return values;
}

/** Fully connected layer; see the module comment. */
export class Dense extends ParamModule {
  readonly params: ParameterSet;
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable | null;
  readonly inputSize: number;
  readonly outputSize: number;
  readonly activation: Activation;

  constructor(config: DenseConfig) {
    super();
    const c = parseWith(DenseConfigSchema, config, 'Dense');
    const rng = c.rng ?? new Rng(c.seed as number);
    this.inputSize = c.inputSize;
    this.outputSize = c.outputSize;
    this.activation = c.activation;
    this.params = new ParameterSet('Dense');
    const shape = [c.inputSize, c.outputSize] as const;
    this.kernel = this.params.add('kernel', { shape, data: initKernelValues(c.init, shape, rng, c.gain) });
    if (c.useBias) {
      const data =
        c.init === 'torch' ? torchDefaultValues([c.outputSize], rng, c.inputSize) : constantValues([c.outputSize], 0);
      this.bias = this.params.add('bias', { shape: [c.outputSize], data });
    } else {
      this.bias = null;
    }
  }

  /**
   * y = act(x·W + b) over the last axis of `x` (any rank ≥ 1; rank > 2 is flattened to
   * `[-1, in]` for the matMul and reshaped back). Intermediates are freed; the caller owns y.
   */
  apply<T extends tf.Tensor>(x: T): T {
    this.params.assertAlive();
    const inSize = x.shape[x.rank - 1];
    if (x.rank < 1 || inSize !== this.inputSize) {
      throw new KairosError(
        `Dense.apply: expected an input whose last axis is ${this.inputSize}, received shape [${x.shape.join(', ')}]`,
        'invalid_shape',
      );
    }
    return tf.tidy(() => {
      const flat = x.rank === 2 ? x : tf.reshape(x, [-1, this.inputSize]);
      let y: tf.Tensor = tf.matMul(flat as tf.Tensor2D, this.kernel as tf.Tensor2D);
      if (this.bias) y = tf.add(y, this.bias);
      y = activate(y, this.activation);
      return (x.rank === 2 ? y : tf.reshape(y, [...x.shape.slice(0, -1), this.outputSize])) as T;
    });
  }
}
