/**
 * Multi-layer perceptron: Dense layers with one hidden activation and an output activation.
 * The network for vector observations in DQN, PPO, SAC, ... (image and token inputs get
 * their own encoders; the MLP is the only part of the tensor layer that assumes vectors).
 *
 * Initialisation defaults: Glorot-uniform kernels and zero biases (Keras); with
 * `init: 'orthogonal'` hidden layers use gain √2 and the output layer `outputGain`, as in the
 * PPO implementation-details study (Huang et al. 2022: 0.01 for the policy head, 1 for the
 * value head).
 *
 * @example
 * const q = new Mlp({ inputSize: 8, hiddenSizes: [256, 256], outputSize: 4, seed: 1 });
 * const target = new Mlp({ inputSize: 8, hiddenSizes: [256, 256], outputSize: 4, seed: 2 });
 * target.copyFrom(q);
 * const values = q.apply(obs); // [batch, 4]
 * const greedy = q.predict(obsRow); // Float32Array of 4 Q-values, no tensors (acting)
 * target.polyakUpdate(q, 0.005);
 *
 * Speed: with ReLU, tanh or linear layers (hidden and output), on the WASM backend, `apply`
 * runs the whole network as one fused kernel and, under a gradient tape, its backward pass as
 * one more (`fused.ts`). With ReLU and linear layers the sums are the same as tfjs's ops, in
 * the same order, so results are bit-identical to the layer-by-layer path (`fused: false`);
 * the fused tanh is a rational approximation within 4.1e-7 of tanh, so tanh networks agree to
 * float tolerance. ELU, other backends and rank > 2 inputs take the layer-by-layer path.
 */
import { z } from 'zod';
import { KairosError, parseWith } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { tf } from '../backend.js';
import { type FusableLayer, type FusedActivation, activeWasmKernels, canFuseMlp, fusedMlpApply, fusedMlpPredict } from '../fused.js';
import { ACTIVATIONS, type Activation, Dense, INITS, activate } from './dense.js';
import { ParamModule, ParameterSet } from './params.js';

/** Config of {@link Mlp}; parsed with zod, errors name the field. */
export const MlpConfigSchema = z
  .object({
    /** Observation (input) size. */
    inputSize: z.number().int().positive(),
    /** Units per hidden layer; SB3's default MlpPolicy uses [64, 64]. */
    hiddenSizes: z.array(z.number().int().positive()).default([64, 64]),
    /** Output size (actions for a Q-network, 1 for a value head). */
    outputSize: z.number().int().positive(),
    /** Hidden activation (ReLU for DQN, tanh for PPO in SB3/CleanRL). */
    activation: z.enum(ACTIVATIONS).default('relu'),
    /** Activation on the output layer. */
    outputActivation: z.enum(ACTIVATIONS).default('linear'),
    /** Kernel initialisation scheme. */
    init: z.enum(INITS).default('glorot'),
    /** Gain on hidden kernels; default √2 for orthogonal (PPO), 1 otherwise. */
    hiddenGain: z.number().nonnegative().optional(),
    /** Gain on the output kernel (PPO: 0.01 policy, 1 value). */
    outputGain: z.number().nonnegative().default(1),
    /** Seed for the initial weights (give this or `rng`). */
    seed: z.number().int().nonnegative().optional(),
    /** Generator for the initial weights (advanced by this network). */
    rng: z.custom<Rng>((v) => v instanceof Rng, { message: 'an Rng instance' }).optional(),
    /**
     * Use the fused WASM kernels when they apply (see the module comment). Results are the
     * same either way (to float tolerance with tanh); turn off only to differentiate twice
     * (the fused backward pass is itself not differentiable) or to compare timings.
     */
    fused: z.boolean().default(true),
  })
  .strict()
  .refine((c) => (c.seed === undefined) !== (c.rng === undefined), {
    message: 'exactly one of seed or rng',
    path: ['seed'],
  });

/** Input of {@link Mlp}'s constructor. */
export type MlpConfig = z.input<typeof MlpConfigSchema>;
/** {@link MlpConfig} with defaults applied. */
export type ResolvedMlpConfig = z.output<typeof MlpConfigSchema>;

/** The tfjs kernel each non-linear activation runs. */
const ACTIVATION_KERNELS: Record<Exclude<Activation, 'linear'>, string> = { relu: tf.Relu, tanh: tf.Tanh, elu: tf.Elu };

/**
 * One input's gradient from whatever gradient is registered for `kernel`, handed the inputs
 * (by name) and the output it saves, as the tape would.
 */
function registeredGradient(kernel: string, dy: tf.Tensor, inputs: Record<string, tf.Tensor>, output: tf.Tensor | null, attrs: Record<string, unknown>, wrt = 'x'): tf.Tensor {
  const config = tf.getGradient(kernel);
  if (config == null) throw new KairosError(`Mlp: no gradient is registered for ${kernel}`, 'unsupported');
  const saved = (config.inputsToSave ?? []).map((name) => inputs[name]);
  if (config.outputsToSave?.[0] && output) saved.push(output);
  return config.gradFunc(dy, saved, attrs as unknown as tf.NamedAttrMap)[wrt]();
}

/** Multi-layer perceptron; see the module comment. */
export class Mlp extends ParamModule {
  readonly params: ParameterSet;
  readonly layers: readonly Dense[];
  /** Config with defaults applied (without `rng`). */
  readonly config: Omit<ResolvedMlpConfig, 'rng'>;
  /** The layers in the form the fused kernels take, or null if they cannot be fused. */
  private readonly fusable: FusableLayer[] | null;

  constructor(config: MlpConfig) {
    super();
    const c = parseWith(MlpConfigSchema, config, 'Mlp');
    const { rng: givenRng, ...rest } = c;
    this.config = rest;
    const rng = givenRng ?? new Rng(c.seed as number);
    const hiddenGain = c.hiddenGain ?? (c.init === 'orthogonal' ? Math.SQRT2 : 1);
    const sizes = [c.inputSize, ...c.hiddenSizes, c.outputSize];
    this.params = new ParameterSet('Mlp');
    const layerSet = this.params.addChild('layers', new ParameterSet('Mlp'));
    const layers: Dense[] = [];
    try {
      for (let i = 0; i + 1 < sizes.length; i++) {
        const isOutput = i + 2 === sizes.length;
        const layer = new Dense({
          inputSize: sizes[i],
          outputSize: sizes[i + 1],
          activation: isOutput ? c.outputActivation : c.activation,
          init: c.init,
          gain: isOutput ? c.outputGain : hiddenGain,
          rng,
        });
        layers.push(layer);
        layerSet.addChild(String(i), layer.params);
      }
    } catch (err) {
      // Free what was built before the failure so a bad config cannot leak variables.
      this.params.dispose();
      throw err;
    }
    this.layers = layers;
    const fusableActivation = (a: string): a is FusedActivation => a === 'relu' || a === 'tanh' || a === 'linear';
    this.fusable =
      c.fused && layers.every((l) => l.bias !== null && fusableActivation(l.activation))
        ? layers.map((l) => ({ kernel: l.kernel, bias: l.bias as tf.Variable, activation: l.activation as FusedActivation }))
        : null;
  }

  /**
   * Forward pass; `x` is `[batch, inputSize]`. The caller owns the result.
   *
   * `frozen: true` treats the weights as constants: gradients flow to `x` only, and the fused
   * backward pass skips the weight gradients (about half its work). For a network that sits on
   * the gradient path but is not being trained by that loss, such as the critic in an
   * actor's loss (Spinning Up's SAC and TD3 freeze their Q-networks there for the same reason).
   *
   * @example
   * const actorLoss = () => tf.neg(tf.mean(critic.apply(tf.concat([obs, actor.apply(obs)], 1), { frozen: true })));
   */
  apply(x: tf.Tensor2D, options?: { frozen?: boolean }): tf.Tensor2D;
  apply(x: tf.Tensor, options?: { frozen?: boolean }): tf.Tensor;
  apply(x: tf.Tensor, options: { frozen?: boolean } = {}): tf.Tensor {
    this.params.assertAlive();
    if (x.shape[x.rank - 1] !== this.config.inputSize) {
      throw new KairosError(
        `Mlp.apply: expected input of shape [batch, ${this.config.inputSize}], received [${x.shape.join(', ')}]`,
        'invalid_shape',
      );
    }
    if (this.fusable !== null && canFuseMlp(x, this.fusable)) return fusedMlpApply(x as tf.Tensor2D, this.fusable, options);
    if (options.frozen) return this.applyFrozen(x);
    return this.applyLayers(x);
  }

  private applyLayers(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      let h: tf.Tensor = x;
      for (const layer of this.layers) h = layer.apply(h);
      return h;
    });
  }

  /**
   * Layer by layer with the weights as constants: a custom gradient for x alone that runs, per
   * layer from the last, the registered gradients of the layer's activation and of its matMul
   * (for the matMul's first input only), so the numbers are those of the ordinary tape.
   */
  private applyFrozen(x: tf.Tensor): tf.Tensor {
    const inShape = x.shape;
    const op = tf.customGrad((...args: unknown[]) => {
      const [input, save] = args as [tf.Tensor, (tensors: tf.Tensor[]) => void];
      // Saved per layer: its input, pre-activation and output (what the gradients may ask for).
      const saved: tf.Tensor[] = [];
      let h = input.rank === 2 ? input : tf.reshape(input, [-1, this.config.inputSize]);
      for (const layer of this.layers) {
        const z = layer.bias ? tf.add(tf.matMul(h as tf.Tensor2D, layer.kernel as tf.Tensor2D), layer.bias) : tf.matMul(h as tf.Tensor2D, layer.kernel as tf.Tensor2D);
        const y = activate(z, layer.activation);
        saved.push(h, z, y);
        h = y;
      }
      save(saved);
      return {
        value: input.rank === 2 ? h : tf.reshape(h, [...inShape.slice(0, -1), h.shape[1] as number]),
        gradFunc: (dy: tf.Tensor, kept: tf.Tensor[]) => {
          let g = dy.rank === 2 ? dy : tf.reshape(dy, [-1, this.config.outputSize]);
          for (let l = this.layers.length - 1; l >= 0; l--) {
            const [hIn, z, y] = kept.slice(3 * l, 3 * l + 3);
            const activation = this.layers[l].activation;
            if (activation !== 'linear') g = registeredGradient(ACTIVATION_KERNELS[activation], g, { x: z }, y, {});
            g = registeredGradient(tf.BatchMatMul, g, { a: hIn, b: this.layers[l].kernel }, null, { transposeA: false, transposeB: false }, 'a');
          }
          return g.rank === inShape.length ? g : tf.reshape(g, inShape);
        },
      };
    });
    return op(x);
  }

  /**
   * Forward pass on plain numbers, for acting: `obs` holds `batch` rows of `inputSize`
   * values (row-major); returns `batch` rows of `outputSize` outputs. With fused kernels no
   * tensor is created (about 10x faster than `apply` + `dataSync` at batch 1); otherwise it
   * is `apply` plus one read-back. Same values as `apply` either way.
   *
   * @example
   * const q = net.predict(obs);            // one observation -> Float32Array(outputSize)
   * const action = argMax(q);
   */
  predict(obs: ArrayLike<number>, batch = 1): Float32Array {
    this.params.assertAlive();
    const inSize = this.config.inputSize;
    if (!Number.isInteger(batch) || batch < 1 || obs.length !== batch * inSize) {
      throw new KairosError(
        `Mlp.predict: expected ${batch} x ${inSize} = ${batch * inSize} values, received ${obs.length}`,
        'invalid_shape',
      );
    }
    const K = this.fusable !== null ? activeWasmKernels() : null;
    if (K !== null) return fusedMlpPredict(K, obs, batch, this.fusable as FusableLayer[]);
    const y = tf.tidy(() => this.apply(tf.tensor2d(obs as number[], [batch, inSize], 'float32')));
    try {
      return new Float32Array(y.dataSync() as Float32Array);
    } finally {
      y.dispose();
    }
  }
}
