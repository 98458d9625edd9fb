/**
 * Recurrent Q-network: per step, an input vector (the observation and the previous action,
 * one-hot) → MLP encoder → LSTM → MLP head → one value per action. The shape of DRQN
 * (Hausknecht & Stone 2015: convolutions, LSTM, linear head) with R2D2's extra input, the
 * previous action (Kapturowski et al. 2019, §2: "the LSTM receives the reward and one-hot
 * action vector from the previous time step").
 *
 * Two ways to run it: {@link RecurrentQNetwork.step} for acting (one step of n envs with
 * their carried states) and {@link RecurrentQNetwork.sequence} for training (B sequences
 * of T steps from a zero state, backpropagation through time).
 *
 * @example
 * const net = new RecurrentQNetwork({ inputSize: 16, numActions: 4, encoderSizes: [64], lstmSize: 64, headSizes: [], seed: 0 });
 * const q = net.sequence(inputs, mask);          // [B, T, 16] → [B, T, 4]
 * const { q: qt, state } = net.step(xt, net.zeroState(n));
 */
import { KairosError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { tf } from '../../tensor/backend.js';
import type { Activation, InitScheme } from '../../tensor/layers/dense.js';
import { Lstm, type LstmInit, type LstmState } from '../../tensor/layers/lstm.js';
import { Mlp } from '../../tensor/layers/mlp.js';
import { ParamModule, ParameterSet } from '../../tensor/layers/params.js';

/** Architecture of {@link RecurrentQNetwork}. */
export interface RecurrentQNetworkSpec {
  /** Size of one input vector (observation + previous-action one-hot). */
  inputSize: number;
  numActions: number;
  /** Encoder layers before the LSTM (activation after each); [] feeds the input straight in. */
  encoderSizes: number[];
  /** LSTM hidden size. */
  lstmSize: number;
  /** Hidden layers of the head after the LSTM; [] is DRQN's linear head. */
  headSizes: number[];
  activation?: Activation;
  /** Initialisation of the dense layers. */
  init?: InitScheme;
  /** Initialisation of the LSTM. */
  lstmInit?: LstmInit;
  seed?: number;
  rng?: Rng;
}

/** LSTM + MLP Q-network; see the module comment. */
export class RecurrentQNetwork extends ParamModule {
  readonly params = new ParameterSet('RecurrentQNetwork');
  readonly inputSize: number;
  readonly numActions: number;
  readonly lstmSize: number;
  private readonly encoder: Mlp | null;
  readonly lstm: Lstm;
  private readonly head: Mlp;

  constructor(spec: RecurrentQNetworkSpec) {
    super();
    if ((spec.seed === undefined) === (spec.rng === undefined)) {
      throw new KairosError('RecurrentQNetwork: give exactly one of seed or rng', 'invalid_argument');
    }
    const rng = spec.rng ?? new Rng(spec.seed as number);
    const activation = spec.activation ?? 'relu';
    const init = spec.init ?? 'torch';
    this.inputSize = spec.inputSize;
    this.numActions = spec.numActions;
    this.lstmSize = spec.lstmSize;
    try {
      const enc = spec.encoderSizes;
      this.encoder =
        enc.length > 0
          ? new Mlp({ inputSize: spec.inputSize, hiddenSizes: enc.slice(0, -1), outputSize: enc[enc.length - 1], activation, outputActivation: activation, init, rng })
          : null;
      if (this.encoder) this.params.addChild('encoder', this.encoder.params);
      this.lstm = new Lstm({ inputSize: enc.length > 0 ? enc[enc.length - 1] : spec.inputSize, hiddenSize: spec.lstmSize, init: spec.lstmInit ?? 'keras', rng });
      this.params.addChild('lstm', this.lstm.params);
      this.head = new Mlp({ inputSize: spec.lstmSize, hiddenSizes: spec.headSizes, outputSize: spec.numActions, activation, init, rng });
      this.params.addChild('head', this.head.params);
    } catch (err) {
      this.params.dispose();
      throw err;
    }
  }

  /** Zero LSTM state for `n` rows (caller owns it). */
  zeroState(n: number): LstmState {
    return this.lstm.zeroState(n);
  }

  /** One step: `x` `[n, inputSize]` and carried states → Q `[n, A]` and the next states. */
  step(x: tf.Tensor2D, state: LstmState): { q: tf.Tensor2D; state: LstmState } {
    return tf.tidy(() => {
      const e = this.encoder ? this.encoder.apply(x) : x;
      const next = this.lstm.step(e, state);
      return { q: this.head.apply(next.h), state: { h: next.h, c: next.c } } as unknown as tf.TensorContainerObject;
    }) as unknown as { q: tf.Tensor2D; state: LstmState };
  }

  /**
   * Q-values `[B, T, A]` of B sequences from a zero state; `mask` `[B, T]` freezes the state
   * on padded steps (their Q-values are then meaningless and must be masked out of a loss).
   */
  sequence(x: tf.Tensor3D, mask?: tf.Tensor2D | null): tf.Tensor3D {
    const [B, T] = x.shape;
    return tf.tidy(() => {
      const e = this.encoder ? (this.encoder.apply(x) as tf.Tensor3D) : x;
      const { outputs } = this.lstm.sequence(e, null, mask ?? null);
      const q = this.head.apply(tf.reshape(outputs, [B * T, this.lstmSize]) as tf.Tensor2D);
      return tf.reshape(q, [B, T, this.numActions]) as tf.Tensor3D;
    });
  }
}
