/**
 * Q-networks: observation batch `[B, obsDim]` → action values `[B, numActions]`.
 *
 * - `mlp`: a plain MLP (Mnih et al. 2015, with vector inputs).
 * - `dueling`: a shared trunk, then a state-value head V(s) and an advantage head A(s, a),
 *   combined as Q = V + A − mean_a A (Wang et al. 2016, eq. 9: the mean keeps V and A
 *   identifiable and was more stable than the max in the paper).
 * - `parametric`: one network scores (s, a) pairs from the observation and a feature vector
 *   per action, Q(s, a) = f([s; φ(a)]), evaluated for every action in one batched pass. It
 *   suits large action sets with shared structure (He et al. 2016, "Deep RL with a natural
 *   language action space"; ReAgent's parametric DQN); changing sets are handled with masks.
 *
 * @example
 * const q = createQNetwork({ kind: 'dueling', hiddenSizes: [64, 64] }, 4, 2, new Rng(0));
 * const values = q.apply(tf.zeros([32, 4])); // [32, 2]
 */
import { KairosError } from '../../core/errors.js';
import type { Rng } from '../../core/rng.js';
import { tf } from '../../tensor/backend.js';
import { Dense, type Activation, type InitScheme } from '../../tensor/layers/dense.js';
import { Mlp } from '../../tensor/layers/mlp.js';
import { ParamModule, ParameterSet, type Module } from '../../tensor/layers/params.js';

/** What every Q-network does. */
export interface QNetwork extends Module {
  readonly numActions: number;
  /** `[B, obsDim]` → `[B, numActions]`; the caller owns the result. */
  apply(obs: tf.Tensor2D): tf.Tensor2D;
}

/** Architecture options (the `network` field of the DQN config). */
export interface QNetworkSpec {
  kind: 'mlp' | 'dueling' | 'parametric';
  hiddenSizes: number[];
  activation: Activation;
  /** Kernel initialisation; `torch` is PyTorch's nn.Linear default, which SB3's tuned settings assume. */
  init: InitScheme;
  /** Parametric only: one feature row per action (default: one-hot rows). */
  actionFeatures?: number[][] | null;
}

class MlpQ extends ParamModule implements QNetwork {
  readonly params: ParameterSet;
  private readonly mlp: Mlp;

  constructor(obsDim: number, readonly numActions: number, spec: QNetworkSpec, rng: Rng) {
    super();
    this.mlp = new Mlp({ inputSize: obsDim, hiddenSizes: spec.hiddenSizes, outputSize: numActions, activation: spec.activation, init: spec.init, rng });
    this.params = this.mlp.params;
  }

  apply(obs: tf.Tensor2D): tf.Tensor2D {
    return this.mlp.apply(obs);
  }
}

class DuelingQ extends ParamModule implements QNetwork {
  readonly params = new ParameterSet('DuelingQ');
  private readonly trunk: Mlp;
  private readonly value: Dense;
  private readonly advantage: Dense;

  constructor(obsDim: number, readonly numActions: number, spec: QNetworkSpec, rng: Rng) {
    super();
    const hs = spec.hiddenSizes;
    if (hs.length === 0) throw new KairosError('network.hiddenSizes: a dueling network needs at least one hidden layer', 'invalid_config');
    this.trunk = new Mlp({ inputSize: obsDim, hiddenSizes: hs.slice(0, -1), outputSize: hs[hs.length - 1], activation: spec.activation, outputActivation: spec.activation, init: spec.init, rng });
    this.value = new Dense({ inputSize: hs[hs.length - 1], outputSize: 1, init: spec.init, rng });
    this.advantage = new Dense({ inputSize: hs[hs.length - 1], outputSize: numActions, init: spec.init, rng });
    this.params.addChild('trunk', this.trunk.params);
    this.params.addChild('value', this.value.params);
    this.params.addChild('advantage', this.advantage.params);
  }

  apply(obs: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const h = this.trunk.apply(obs);
      const v = this.value.apply(h);
      const a = this.advantage.apply(h);
      return tf.add(v, tf.sub(a, tf.mean(a, 1, true))) as tf.Tensor2D;
    });
  }
}

class ParametricQ extends ParamModule implements QNetwork {
  readonly params: ParameterSet;
  private readonly mlp: Mlp;
  private readonly features: tf.Tensor2D;

  constructor(private readonly obsDim: number, readonly numActions: number, spec: QNetworkSpec, rng: Rng) {
    super();
    const rows = spec.actionFeatures ?? Array.from({ length: numActions }, (_, a) => Array.from({ length: numActions }, (_, k) => (k === a ? 1 : 0)));
    if (rows.length !== numActions) {
      throw new KairosError(`network.actionFeatures: expected one row per action (${numActions}), received ${rows.length}`, 'invalid_config');
    }
    const k = rows[0]?.length ?? 0;
    rows.forEach((r, i) => {
      if (r.length !== k || r.some((x) => !Number.isFinite(x))) {
        throw new KairosError(`network.actionFeatures[${i}]: expected ${k} finite numbers, received ${JSON.stringify(r)}`, 'invalid_config');
      }
    });
    this.mlp = new Mlp({ inputSize: obsDim + k, hiddenSizes: spec.hiddenSizes, outputSize: 1, activation: spec.activation, init: spec.init, rng });
    this.params = this.mlp.params;
    this.features = tf.keep(tf.tensor2d(rows.flat(), [numActions, k]));
  }

  apply(obs: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const B = obs.shape[0];
      const A = this.numActions;
      // Row b·A + a pairs observation b with action a's features.
      const s = tf.reshape(tf.tile(obs, [1, A]), [B * A, this.obsDim]);
      const f = tf.tile(this.features, [B, 1]);
      const q = this.mlp.apply(tf.concat([s, f], 1) as tf.Tensor2D);
      return tf.reshape(q, [B, A]) as tf.Tensor2D;
    });
  }

  override dispose(): void {
    super.dispose();
    this.features.dispose();
  }
}

/** Builds a Q-network; weights are drawn from `rng`. */
export function createQNetwork(spec: QNetworkSpec, obsDim: number, numActions: number, rng: Rng): QNetwork {
  switch (spec.kind) {
    case 'mlp':
      return new MlpQ(obsDim, numActions, spec, rng);
    case 'dueling':
      return new DuelingQ(obsDim, numActions, spec, rng);
    case 'parametric':
      return new ParametricQ(obsDim, numActions, spec, rng);
  }
}
