/**
 * Actor-critic networks for the policy-gradient family: a policy MLP (logits for discrete
 * actions, means for continuous ones), an optional separate value MLP, and for continuous
 * actions one learned log standard deviation per action dimension, independent of the state
 * (SB3's `ActorCriticPolicy` with its default `net_arch = dict(pi=[64, 64], vf=[64, 64])`;
 * CleanRL's `ppo_continuous_action.py` `actor_logstd`).
 *
 * Initialisation (Huang et al. 2022, "The 37 implementation details of PPO", detail 2):
 * orthogonal kernels with gain √2 on hidden layers, 0.01 on the policy head and 1 on the
 * value head, zero biases. With any other `init` the gains are 1 (SB3's `ortho_init=False`
 * keeps PyTorch's default initialisation).
 *
 * Acting goes through {@link MlpSnapshot}, refreshed after each update: on the WASM backend
 * with fused kernels it runs `Mlp.predict` (no tensors; ~13 µs for 8 observations through two
 * 64-64 tanh MLPs), elsewhere a plain-number copy of the weights in JavaScript (~270 µs), both
 * far below tensors plus read-back. Losses use the tensors.
 *
 * @example
 * const ac = new ActorCritic({ obsDim: 4, action: { kind: 'discrete', n: 2 }, spec, withValue: true, rng });
 * const logits = ac.policyOut(obs); // tensor [B, 2]
 * const snap = ac.snapshot();        // acting
 */
import type { Rng } from '../../core/rng.js';
import { tf } from '../../tensor/backend.js';
import type { Activation, InitScheme } from '../../tensor/layers/dense.js';
import { activeWasmKernels } from '../../tensor/fused.js';
import { Mlp } from '../../tensor/layers/mlp.js';
import { ParamModule, ParameterSet } from '../../tensor/layers/params.js';
import type { NamedWeights } from '../../tensor/serialize.js';
import type { AgentState } from '../agent.js';
import { StatePacker, checkAlgorithm, unpackWeights } from '../state.js';
import type { ObsNormalizer } from './normalization.js';

/** Network options (the `network` field of the PPO, A2C and REINFORCE configs). */
export interface ActorCriticSpec {
  hiddenSizes: number[];
  /** Value network hidden sizes; null = same as `hiddenSizes`. */
  valueHiddenSizes: number[] | null;
  activation: Activation;
  init: InitScheme;
  /** Gain of the policy head under orthogonal init (0.01). */
  policyOutputGain: number;
  /** Gain of the value head under orthogonal init (1). */
  valueOutputGain: number;
  /** Initial log σ of the Gaussian policy (SB3 `log_std_init` 0). */
  logStdInit: number;
}

/** Discrete (n actions) or continuous (dim numbers) actions. */
export type ActionKind = { kind: 'discrete'; n: number } | { kind: 'continuous'; dim: number };

/** One dense layer as plain numbers: kernel `[in × out]` row-major, bias `[out]`. */
interface DenseSnapshot {
  kernel: Float32Array;
  bias: Float32Array;
  inSize: number;
  outSize: number;
  activation: Activation;
}

/** Activations the fused MLP kernels run (src/tensor/fused.ts). */
const FUSED_ACTIVATIONS: ReadonlySet<string> = new Set(['linear', 'relu', 'tanh']);

/**
 * An Mlp's forward pass for acting without tensors: the fused `Mlp.predict` when the WASM
 * kernels are active (the weights are read live, which is the same as a copy because a
 * snapshot is replaced after every update), else a plain-number copy of the weights.
 */
export class MlpSnapshot {
  private readonly layers: DenseSnapshot[];
  private readonly fused: Mlp | null;
  private bufA = new Float64Array(0);
  private bufB = new Float64Array(0);

  constructor(mlp: Mlp) {
    this.fused = mlp.config.fused && activeWasmKernels() !== null && mlp.layers.every((l) => l.bias !== null && FUSED_ACTIVATIONS.has(l.activation)) ? mlp : null;
    this.layers = mlp.layers.map((l) => ({
      kernel: new Float32Array(l.kernel.dataSync() as Float32Array),
      bias: l.bias ? new Float32Array(l.bias.dataSync() as Float32Array) : new Float32Array(l.outputSize),
      inSize: l.inputSize,
      outSize: l.outputSize,
      activation: l.activation,
    }));
  }

  get outputSize(): number {
    return this.layers[this.layers.length - 1].outSize;
  }

  /** Outputs `[n × outputSize]` (float64) for `n` rows of `x`; the array is reused by the next call. */
  forward(x: ArrayLike<number>, n: number): Float64Array {
    let width = 0;
    for (const l of this.layers) width = Math.max(width, l.outSize);
    if (this.bufA.length < n * width) {
      this.bufA = new Float64Array(n * width);
      this.bufB = new Float64Array(n * width);
    }
    if (this.fused !== null && n > 0) {
      const len = n * this.layers[0].inSize;
      const rows = x.length === len ? x : ArrayBuffer.isView(x) ? (x as unknown as Float32Array).subarray(0, len) : Array.prototype.slice.call(x, 0, len);
      this.bufA.set(this.fused.predict(rows as ArrayLike<number>, n));
      return this.bufA;
    }
    let src: ArrayLike<number> = x;
    let dst = this.bufA;
    for (const l of this.layers) {
      const { kernel, bias, inSize, outSize } = l;
      for (let r = 0; r < n; r++) {
        const xo = r * inSize;
        const yo = r * outSize;
        for (let j = 0; j < outSize; j++) dst[yo + j] = bias[j];
        for (let i = 0; i < inSize; i++) {
          const xi = src[xo + i];
          if (xi === 0) continue;
          const ko = i * outSize;
          for (let j = 0; j < outSize; j++) dst[yo + j] += xi * kernel[ko + j];
        }
        switch (l.activation) {
          case 'tanh':
            for (let j = 0; j < outSize; j++) dst[yo + j] = Math.tanh(dst[yo + j]);
            break;
          case 'relu':
            for (let j = 0; j < outSize; j++) if (dst[yo + j] < 0) dst[yo + j] = 0;
            break;
          case 'elu':
            for (let j = 0; j < outSize; j++) if (dst[yo + j] < 0) dst[yo + j] = Math.expm1(dst[yo + j]);
            break;
          case 'linear':
            break;
        }
      }
      src = dst;
      dst = dst === this.bufA ? this.bufB : this.bufA;
    }
    return src as Float64Array;
  }
}

/** Policy (and value) networks; see the module comment. */
export class ActorCritic extends ParamModule {
  readonly params = new ParameterSet('ActorCritic');
  readonly policy: Mlp;
  readonly value: Mlp | null;
  /** `[dim]` log σ (continuous actions only). */
  readonly logStd: tf.Variable | null;
  readonly action: ActionKind;
  readonly obsDim: number;
  /** Policy head width: n logits or dim means. */
  readonly outDim: number;

  constructor(options: { obsDim: number; action: ActionKind; spec: ActorCriticSpec; withValue: boolean; rng: Rng }) {
    super();
    const { obsDim, action, spec, withValue, rng } = options;
    this.obsDim = obsDim;
    this.action = action;
    this.outDim = action.kind === 'discrete' ? action.n : action.dim;
    const ortho = spec.init === 'orthogonal';
    try {
      if (action.kind === 'continuous') {
        this.logStd = this.params.add('logStd', { shape: [action.dim], data: new Float32Array(action.dim).fill(spec.logStdInit) });
      } else this.logStd = null;
      this.policy = new Mlp({
        inputSize: obsDim,
        hiddenSizes: spec.hiddenSizes,
        outputSize: this.outDim,
        activation: spec.activation,
        init: spec.init,
        ...(ortho ? {} : { hiddenGain: 1 }),
        outputGain: ortho ? spec.policyOutputGain : 1,
        rng,
      });
      this.params.addChild('policy', this.policy.params);
      if (withValue) {
        this.value = new Mlp({
          inputSize: obsDim,
          hiddenSizes: spec.valueHiddenSizes ?? spec.hiddenSizes,
          outputSize: 1,
          activation: spec.activation,
          init: spec.init,
          ...(ortho ? {} : { hiddenGain: 1 }),
          outputGain: ortho ? spec.valueOutputGain : 1,
          rng,
        });
        this.params.addChild('value', this.value.params);
      } else this.value = null;
    } catch (err) {
      this.params.dispose();
      throw err;
    }
  }

  /** Logits (discrete) or means (continuous) `[B, outDim]`; the caller owns the result. */
  policyOut(obs: tf.Tensor2D): tf.Tensor2D {
    return this.policy.apply(obs);
  }

  /** V(s) `[B]`; the caller owns the result. */
  values(obs: tf.Tensor2D): tf.Tensor1D {
    if (!this.value) throw new Error('ActorCritic: no value network');
    const v = this.value.apply(obs);
    const out = tf.reshape(v, [obs.shape[0]]) as tf.Tensor1D;
    v.dispose();
    return out;
  }

  /** Variables of the policy (and log σ), by name, in a stable order. */
  policyVariables(): Record<string, tf.Variable> {
    return Object.fromEntries(Object.entries(this.params.named()).filter(([k]) => !k.startsWith('value.')));
  }

  /** Variables of the value network, by name. */
  valueVariables(): Record<string, tf.Variable> {
    return Object.fromEntries(Object.entries(this.params.named()).filter(([k]) => k.startsWith('value.')));
  }

  /** Plain-number copies of the current weights, for acting. */
  snapshot(): { policy: MlpSnapshot; value: MlpSnapshot | null; logStd: Float64Array | null } {
    return {
      policy: new MlpSnapshot(this.policy),
      value: this.value ? new MlpSnapshot(this.value) : null,
      logStd: this.logStd ? Float64Array.from(this.logStd.dataSync()) : null,
    };
  }

  override getWeights(): NamedWeights {
    return this.params.getWeights();
  }
}

/**
 * The deployable policy of a policy-gradient agent (`getPolicyState`): the network's weights and
 * the observation normaliser's statistics, without optimiser or rollout state.
 */
export function packPolicyState(algorithm: string, net: ActorCritic, config: unknown, obsNorm: ObsNormalizer | null): AgentState {
  return new StatePacker(algorithm).weights('net', net.getWeights()).finish({ config, obsNorm: obsNorm?.getState() ?? null });
}

/** Loads what {@link packPolicyState} packed into `net` and `obsNorm`. */
export function unpackPolicyState(state: AgentState, algorithm: string, net: ActorCritic, obsNorm: ObsNormalizer | null): void {
  checkAlgorithm(state, algorithm);
  net.setWeights(unpackWeights(state, 'net'));
  const o = state.json.obsNorm as Parameters<ObsNormalizer['setState']>[0] | null | undefined;
  if (obsNorm && o) obsNorm.setState(o);
}
