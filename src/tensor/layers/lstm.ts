/**
 * Long short-term memory layer (Hochreiter & Schmidhuber 1997, with the forget gate of Gers
 * et al. 2000), in PyTorch's `nn.LSTM` form (one layer, batch-first):
 *
 *   z = x·W_ih + h·W_hh + b                      [B, 4H], gate order i, f, g, o (PyTorch's)
 *   i = σ(z_i), f = σ(z_f), g = tanh(z_g), o = σ(z_o)
 *   c' = f ⊙ c + i ⊙ g,   h' = o ⊙ tanh(c')
 *
 * Weights: `weight_ih` `[D, 4H]`, `weight_hh` `[H, 4H]`, `bias` `[4H]`. The names follow
 * PyTorch's `weight_ih_l0` / `weight_hh_l0`, but the layout is Kairos's `x·W` one (the
 * transpose of PyTorch's `[4H, D]`), so the forward pass is a plain `tf.matMul` without
 * transpose flags (the fast matMul gradient of `backend.ts` then covers the backward pass),
 * and `bias` is PyTorch's `bias_ih_l0 + bias_hh_l0` (the two are only ever summed).
 *
 * Initialisation (`init`):
 * - `keras` (default): Glorot-uniform `weight_ih`, orthogonal `weight_hh` (Saxe et al. 2014),
 *   zero bias except the forget gate at 1 (Keras's `unit_forget_bias`; Jozefowicz, Zaremba &
 *   Sutskever 2015 found a forget bias of 1 closes most of the gap between LSTMs and the
 *   best architectures they searched, because gradients then flow through c from the start).
 * - `torch`: every weight U(−1/√H, 1/√H), as `nn.LSTM.reset_parameters`; `bias` is the sum of
 *   two such draws (bias_ih + bias_hh), so its distribution matches PyTorch's too.
 *
 * Training unrolls the whole sequence with tfjs autodiff (backpropagation through time). The
 * input projection x·W_ih is done for all time steps in one matMul before the loop; only the
 * recurrent matMul runs per step. A `[B, T]` mask freezes the state on padded steps
 * (h and c carried through unchanged), so right-padded sequences end in each row's true last
 * state and padding contributes no gradient.
 *
 * @example
 * const lstm = new Lstm({ inputSize: 6, hiddenSize: 32, seed: 0 });
 * const { outputs, state } = lstm.sequence(x);       // x [B, T, 6] → outputs [B, T, 32]
 * let s = lstm.zeroState(4);
 * const next = lstm.step(xt, s);                     // xt [4, 6] → { h, c } each [4, 32]
 * tf.dispose([s.h, s.c]); s = next;
 * lstm.dispose();
 */
import { z } from 'zod';
import { KairosError, parseWith } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { tf } from '../backend.js';
import { glorotUniformValues, orthogonalValues, torchDefaultValues } from '../init.js';
import { ParamModule, ParameterSet } from './params.js';

/** Initialisation schemes of {@link Lstm}; see the module comment. */
export const LSTM_INITS = ['keras', 'torch'] as const;
/** An LSTM initialisation scheme. */
export type LstmInit = (typeof LSTM_INITS)[number];

/** Config of {@link Lstm}. */
export const LstmConfigSchema = z
  .object({
    /** Size D of each input vector. */
    inputSize: z.number().int().positive(),
    /** Size H of the hidden and cell state. */
    hiddenSize: z.number().int().positive(),
    /** Weight initialisation (see the module comment). */
    init: z.enum(LSTM_INITS).default('keras'),
    /** Initial forget-gate bias for `keras` init (Jozefowicz et al. 2015: 1). */
    forgetBias: z.number().default(1),
    /** Seed for the initial weights (give this or `rng`). */
    seed: z.number().int().nonnegative().optional(),
    /** Generator for the initial weights (advanced by this layer). */
    rng: z.custom<Rng>((v) => v instanceof Rng, { message: 'an Rng instance' }).optional(),
  })
  .strict()
  .refine((c) => (c.seed === undefined) !== (c.rng === undefined), {
    message: 'exactly one of seed or rng',
    path: ['seed'],
  });

/** Input of {@link Lstm}'s constructor. */
export type LstmConfig = z.input<typeof LstmConfigSchema>;

/** Hidden and cell state, each `[B, H]`. */
export interface LstmState {
  readonly h: tf.Tensor2D;
  readonly c: tf.Tensor2D;
}

/** What {@link Lstm.sequence} returns; the caller owns every tensor. */
export interface LstmSequenceResult {
  /** `[B, T, H]` hidden state after each step (carried unchanged through masked steps). */
  readonly outputs: tf.Tensor3D;
  /** State after the last step. */
  readonly state: LstmState;
}

/** One-layer LSTM; see the module comment. */
export class Lstm extends ParamModule {
  readonly params: ParameterSet;
  readonly inputSize: number;
  readonly hiddenSize: number;
  /** `[D, 4H]` input weights, gate blocks i, f, g, o along the columns. */
  readonly weightIh: tf.Variable;
  /** `[H, 4H]` recurrent weights. */
  readonly weightHh: tf.Variable;
  /** `[4H]` bias. */
  readonly bias: tf.Variable;

  constructor(config: LstmConfig) {
    super();
    const c = parseWith(LstmConfigSchema, config, 'Lstm');
    const rng = c.rng ?? new Rng(c.seed as number);
    const D = (this.inputSize = c.inputSize);
    const H = (this.hiddenSize = c.hiddenSize);
    this.params = new ParameterSet('Lstm');
    let wih: Float32Array;
    let whh: Float32Array;
    let b: Float32Array;
    if (c.init === 'torch') {
      // nn.LSTM.reset_parameters: every tensor U(−1/√H, 1/√H), i.e. fan-in H for all of them.
      wih = torchDefaultValues([D, 4 * H], rng, H);
      whh = torchDefaultValues([H, 4 * H], rng, H);
      b = torchDefaultValues([4 * H], rng, H);
      const b2 = torchDefaultValues([4 * H], rng, H);
      for (let j = 0; j < b.length; j++) b[j] += b2[j];
    } else {
      // Keras LSTM defaults: glorot_uniform kernel, orthogonal recurrent kernel (over the
      // whole [H, 4H] matrix, as Keras does), unit_forget_bias.
      wih = glorotUniformValues([D, 4 * H], rng);
      whh = orthogonalValues([H, 4 * H], rng);
      b = new Float32Array(4 * H);
      b.fill(c.forgetBias, H, 2 * H);
    }
    this.weightIh = this.params.add('weight_ih', { shape: [D, 4 * H], data: wih });
    this.weightHh = this.params.add('weight_hh', { shape: [H, 4 * H], data: whh });
    this.bias = this.params.add('bias', { shape: [4 * H], data: b });
  }

  /** Zero state for `batch` rows (the caller owns it). */
  zeroState(batch: number): LstmState {
    return { h: tf.zeros([batch, this.hiddenSize]) as tf.Tensor2D, c: tf.zeros([batch, this.hiddenSize]) as tf.Tensor2D };
  }

  /** One cell update from pre-activations `z` `[B, 4H]` (input projection and bias included). */
  private cell(z: tf.Tensor2D, state: LstmState): LstmState {
    const pre = tf.add(z, tf.matMul(state.h, this.weightHh as tf.Tensor2D)) as tf.Tensor2D;
    const [zi, zf, zg, zo] = tf.split(pre, 4, 1);
    const c = tf.add(tf.mul(tf.sigmoid(zf), state.c), tf.mul(tf.sigmoid(zi), tf.tanh(zg))) as tf.Tensor2D;
    const h = tf.mul(tf.sigmoid(zo), tf.tanh(c)) as tf.Tensor2D;
    return { h, c };
  }

  private checkState(state: LstmState, batch: number, where: string): void {
    for (const [name, t] of [['h', state.h], ['c', state.c]] as const) {
      if (t.rank !== 2 || t.shape[0] !== batch || t.shape[1] !== this.hiddenSize) {
        throw new KairosError(`Lstm.${where}: expected state.${name} of shape [${batch}, ${this.hiddenSize}], received [${t.shape.join(', ')}]`, 'invalid_shape');
      }
    }
  }

  /**
   * One time step for acting: `x` `[B, D]` and the previous state → the next state (its `h`
   * is the output). The inputs are not disposed; the caller owns the result.
   */
  step(x: tf.Tensor2D, state: LstmState): LstmState {
    this.params.assertAlive();
    if (x.rank !== 2 || x.shape[1] !== this.inputSize) {
      throw new KairosError(`Lstm.step: expected an input of shape [batch, ${this.inputSize}], received [${x.shape.join(', ')}]`, 'invalid_shape');
    }
    this.checkState(state, x.shape[0], 'step');
    return tf.tidy(() => {
      const z = tf.add(tf.matMul(x, this.weightIh as tf.Tensor2D), this.bias) as tf.Tensor2D;
      const next = this.cell(z, state);
      return { h: next.h, c: next.c } as unknown as tf.TensorContainerObject;
    }) as unknown as LstmState;
  }

  /**
   * Runs `x` `[B, T, D]` from `initialState` (default zeros). `mask` `[B, T]` (1 = real step,
   * 0 = padding) carries the state unchanged through padded steps. Differentiable end to end
   * (backpropagation through time); the caller owns the result.
   */
  sequence(x: tf.Tensor3D, initialState?: LstmState | null, mask?: tf.Tensor2D | null): LstmSequenceResult {
    this.params.assertAlive();
    const [B, T, D] = x.shape;
    if (x.rank !== 3 || D !== this.inputSize || T < 1) {
      throw new KairosError(`Lstm.sequence: expected an input of shape [batch, time ≥ 1, ${this.inputSize}], received [${x.shape.join(', ')}]`, 'invalid_shape');
    }
    if (initialState) this.checkState(initialState, B, 'sequence');
    if (mask && (mask.rank !== 2 || mask.shape[0] !== B || mask.shape[1] !== T)) {
      throw new KairosError(`Lstm.sequence: expected a mask of shape [${B}, ${T}], received [${mask.shape.join(', ')}]`, 'invalid_shape');
    }
    const H = this.hiddenSize;
    return tf.tidy(() => {
      // Input projection for every step in one matMul, then time-major so each step is one
      // row block of an unstack (its gradient is a single stack).
      const zx = tf.add(tf.matMul(tf.reshape(x, [B * T, D]) as tf.Tensor2D, this.weightIh as tf.Tensor2D), this.bias);
      const zs = tf.unstack(tf.transpose(tf.reshape(zx, [B, T, 4 * H]), [1, 0, 2])) as tf.Tensor2D[];
      const ms = mask ? (tf.unstack(tf.transpose(tf.reshape(mask, [B, T, 1]), [1, 0, 2])) as tf.Tensor2D[]) : null;
      let state: LstmState = initialState ?? this.zeroState(B);
      const hs: tf.Tensor2D[] = [];
      for (let t = 0; t < T; t++) {
        let next = this.cell(zs[t], state);
        if (ms) {
          // s ← s + m·(s' − s): s' where m = 1, s where m = 0, with gradients to both.
          const m = ms[t];
          next = {
            h: tf.add(state.h, tf.mul(m, tf.sub(next.h, state.h))) as tf.Tensor2D,
            c: tf.add(state.c, tf.mul(m, tf.sub(next.c, state.c))) as tf.Tensor2D,
          };
        }
        state = next;
        hs.push(state.h);
      }
      const outputs = tf.stack(hs, 1) as tf.Tensor3D;
      return { outputs, state: { h: state.h, c: state.c } } as unknown as tf.TensorContainerObject;
    }) as unknown as LstmSequenceResult;
  }
}
