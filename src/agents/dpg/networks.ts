/**
 * Networks of the deterministic and soft actor-critic family. Every hidden layer is an
 * {@link Mlp} with ReLU (SB3's TD3/SAC policies and the TD3 paper use ReLU), so forward and
 * backward passes run as the fused WASM kernels; the non-linear heads (tanh, log σ clip) are
 * a few tfjs ops on top.
 *
 * - {@link DeterministicActor}: μ(s) = tanh(f(s)) in the actor's [−1, 1] action scale
 *   (Lillicrap et al. 2016, §7: "the final layer of the actor was a tanh layer, to bound the
 *   actions"); the agent rescales to the env's bounds.
 * - {@link QCritics}: one or more independent Q(s, a) = g([s; a]) networks (TD3's twin
 *   critics, Fujimoto et al. 2018, §4.2; SAC's two Q-functions, Haarnoja et al. 2018, §4.2).
 *   The action enters at the input layer, as in SB3 and the TD3 paper (Lillicrap et al. fed it
 *   at the second layer).
 * - {@link SquashedGaussianActor}: a = tanh(u), u ~ N(m(s), diag σ(s)²), with m and log σ from
 *   one MLP whose output layer has 2·D units (the same as SB3's two linear heads on a shared
 *   trunk); log σ is clipped to [−20, 2] as in SB3 and the SAC reference code.
 *
 * Acting uses `predict` (plain numbers, no tensors): the fused forward pass when available.
 *
 * @example
 * const actor = new DeterministicActor(3, 1, spec, rng);
 * const critics = new QCritics(3, 1, 2, spec, rng);
 * const q = critics.apply(obs, actor.apply(obs)); // two [B, 1] tensors
 */
import type { Rng } from '../../core/rng.js';
import { tf } from '../../tensor/backend.js';
import type { Activation, InitScheme } from '../../tensor/layers/dense.js';
import { Mlp } from '../../tensor/layers/mlp.js';
import { ParamModule, ParameterSet } from '../../tensor/layers/params.js';

/** Architecture options (the `network` field of the DDPG, TD3 and SAC configs). */
export interface DpgNetworkSpec {
  /** Actor hidden layers (and the critics', unless `criticHiddenSizes` is set). */
  hiddenSizes: number[];
  /** Critic hidden layers; null = `hiddenSizes` (SB3's `net_arch` as a list). */
  criticHiddenSizes: number[] | null;
  activation: Activation;
  /** PyTorch's nn.Linear initialisation (`torch`) is what SB3's tuned settings assume. */
  init: InitScheme;
}

/** log σ bounds of the squashed Gaussian (SB3 `LOG_STD_MIN`, `LOG_STD_MAX`). */
export const LOG_STD_MIN = -20;
export const LOG_STD_MAX = 2;

function mlp(inputSize: number, hiddenSizes: number[], outputSize: number, spec: DpgNetworkSpec, rng: Rng): Mlp {
  return new Mlp({ inputSize, hiddenSizes, outputSize, activation: spec.activation, init: spec.init, rng });
}

/** μ(s) ∈ [−1, 1]^D; see the module comment. */
export class DeterministicActor extends ParamModule {
  readonly params: ParameterSet;
  readonly net: Mlp;

  constructor(readonly obsDim: number, readonly actDim: number, spec: DpgNetworkSpec, rng: Rng) {
    super();
    this.net = mlp(obsDim, spec.hiddenSizes, actDim, spec, rng);
    this.params = this.net.params;
  }

  /** `[B, obsDim]` → `[B, actDim]` in [−1, 1]; the caller owns the result. */
  apply(obs: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => tf.tanh(this.net.apply(obs)));
  }

  /** μ(s) for `n` observations as plain numbers (acting). */
  predict(obs: ArrayLike<number>, n: number): Float32Array {
    const y = this.net.predict(obs, n);
    for (let k = 0; k < y.length; k++) y[k] = Math.tanh(y[k]);
    return y;
  }
}

/** `n` independent Q(s, a) networks; see the module comment. */
export class QCritics extends ParamModule {
  readonly params = new ParameterSet('QCritics');
  readonly nets: readonly Mlp[];

  constructor(readonly obsDim: number, readonly actDim: number, readonly count: number, spec: DpgNetworkSpec, rng: Rng) {
    super();
    const nets: Mlp[] = [];
    try {
      for (let i = 0; i < count; i++) {
        const net = mlp(obsDim + actDim, spec.criticHiddenSizes ?? spec.hiddenSizes, 1, spec, rng);
        nets.push(net);
        this.params.addChild(`q${i}`, net.params);
      }
    } catch (err) {
      this.params.dispose();
      for (const n of nets) n.dispose();
      throw err;
    }
    this.nets = nets;
  }

  /**
   * Q_i(s, a) `[B, 1]` for every critic i; the caller owns the results. `frozen` (in an
   * actor's loss): the critics' weights are constants, gradients reach only s and a, and the
   * backward pass skips the weight gradients nobody would use (see `Mlp.apply`).
   */
  apply(obs: tf.Tensor2D, actions: tf.Tensor2D, options: { frozen?: boolean } = {}): tf.Tensor2D[] {
    return tf.tidy(() => {
      const x = tf.concat([obs, actions], 1) as tf.Tensor2D;
      return this.nets.map((net) => net.apply(x, options));
    });
  }

  /** Q_i(s, a) `[B, 1]` of critic `i` alone (TD3's actor loss uses the first); `frozen` as in {@link apply}. */
  applyOne(i: number, obs: tf.Tensor2D, actions: tf.Tensor2D, options: { frozen?: boolean } = {}): tf.Tensor2D {
    return tf.tidy(() => this.nets[i].apply(tf.concat([obs, actions], 1) as tf.Tensor2D, options));
  }
}

/** The squashed Gaussian policy of SAC; see the module comment. */
export class SquashedGaussianActor extends ParamModule {
  readonly params: ParameterSet;
  readonly net: Mlp;

  constructor(readonly obsDim: number, readonly actDim: number, spec: DpgNetworkSpec, rng: Rng) {
    super();
    this.net = mlp(obsDim, spec.hiddenSizes, 2 * actDim, spec, rng);
    this.params = this.net.params;
  }

  /** Mean m(s) and clipped log σ(s), each `[B, actDim]`; the caller owns them. */
  distribution(obs: tf.Tensor2D): { mean: tf.Tensor2D; logStd: tf.Tensor2D } {
    return tf.tidy(() => {
      const out = this.net.apply(obs);
      const [mean, rawLogStd] = tf.split(out, 2, 1) as [tf.Tensor2D, tf.Tensor2D];
      return { mean, logStd: tf.clipByValue(rawLogStd, LOG_STD_MIN, LOG_STD_MAX) as tf.Tensor2D };
    });
  }

  /**
   * m(s) and clipped log σ(s) for `n` observations as plain numbers (acting): rows
   * `[m_1..m_D, logσ_1..logσ_D]`, `2·actDim` numbers per observation.
   */
  predict(obs: ArrayLike<number>, n: number): Float32Array {
    const y = this.net.predict(obs, n);
    const D = this.actDim;
    for (let i = 0; i < n; i++) {
      for (let d = D; d < 2 * D; d++) {
        const k = i * 2 * D + d;
        y[k] = Math.min(LOG_STD_MAX, Math.max(LOG_STD_MIN, y[k]));
      }
    }
    return y;
  }
}
