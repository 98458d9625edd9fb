/**
 * Named `tf.Variable`s owned by one network, with the operations every network needs:
 * read/write as plain arrays, copy (target networks), Polyak averaging, dispose. Layers
 * compose a `ParameterSet` instead of inheriting from a base class; a network adds its
 * layers' sets as children, so names nest like PyTorch's state dict (`layers.0.kernel`).
 *
 * Logical names are Kairos's; the underlying tf variable names are left to tfjs (they must
 * be globally unique per process, so two networks could not both own `layers.0.kernel`).
 *
 * @example
 * const params = new ParameterSet('Dense');
 * const w = params.add('kernel', tf.zeros([4, 2]));
 * params.getWeights(); // { kernel: { shape: [4, 2], data: Float32Array(8) } }
 * params.dispose();
 */
import { KairosError, ValidationError } from '../../core/errors.js';
import { tf } from '../backend.js';
import { checkWeights, type NamedWeights, type WeightShapes } from '../serialize.js';

/** Anything that owns named trainable variables (Dense, Mlp, later LSTM, transformer). */
export interface Module {
  /** The parameter set holding this module's variables. */
  readonly params: ParameterSet;
  /** Trainable variables, in the stable order of {@link ParameterSet.named}. */
  readonly trainableVariables: tf.Variable[];
  /** Copies of all weights, by name. */
  getWeights(): NamedWeights;
  /** Overwrites all weights; names and shapes must match exactly. */
  setWeights(weights: NamedWeights): void;
  /** Copies another module's weights into this one (target networks). */
  copyFrom(other: Module): void;
  /** this ← tau·other + (1 − tau)·this. */
  polyakUpdate(other: Module, tau: number): void;
  /** Frees the variables; the module is unusable afterwards. */
  dispose(): void;
}

/** A tree of named variables. */
export class ParameterSet {
  private readonly own = new Map<string, tf.Variable>();
  private readonly children = new Map<string, ParameterSet>();
  private isDisposed = false;

  /** @param owner name used in error messages, e.g. `Mlp`. */
  constructor(readonly owner: string) {}

  /**
   * Adds a variable initialised from `initial` (a tensor, which this set then owns and
   * disposes, or plain values with a shape).
   */
  add(name: string, initial: tf.Tensor | { shape: readonly number[]; data: Float32Array }, trainable = true): tf.Variable {
    this.assertAlive();
    if (this.own.has(name) || this.children.has(name) || name.includes('.')) {
      throw new KairosError(`${this.owner}: parameter name "${name}" is taken or contains "."`, 'invalid_argument');
    }
    let v: tf.Variable;
    if (initial instanceof tf.Tensor) {
      v = tf.variable(initial, trainable, undefined, 'float32');
      initial.dispose();
    } else {
      const t = tf.tensor(initial.data, initial.shape as number[], 'float32');
      v = tf.variable(t, trainable);
      t.dispose();
    }
    this.own.set(name, v);
    return v;
  }

  /** Nests another set under `prefix`; this set then owns (and disposes) it. */
  addChild(prefix: string, child: ParameterSet): ParameterSet {
    this.assertAlive();
    if (this.own.has(prefix) || this.children.has(prefix) || prefix.includes('.')) {
      throw new KairosError(`${this.owner}: child name "${prefix}" is taken or contains "."`, 'invalid_argument');
    }
    this.children.set(prefix, child);
    return child;
  }

  /** All variables by full dotted name: own variables first, then children in insertion order. */
  named(): Record<string, tf.Variable> {
    this.assertAlive();
    const out: Record<string, tf.Variable> = {};
    for (const [name, v] of this.own) out[name] = v;
    for (const [prefix, child] of this.children) {
      for (const [name, v] of Object.entries(child.named())) out[`${prefix}.${name}`] = v;
    }
    return out;
  }

  /** Trainable variables in the order of {@link named}. */
  trainable(): tf.Variable[] {
    return Object.values(this.named()).filter((v) => v.trainable);
  }

  /** Expected name → shape map. */
  shapes(): WeightShapes {
    return Object.fromEntries(Object.entries(this.named()).map(([n, v]) => [n, [...v.shape]]));
  }

  /** Total number of scalar parameters. */
  size(): number {
    return Object.values(this.named()).reduce((n, v) => n + v.size, 0);
  }

  /** Copies of all weights (one read-back per variable). */
  getWeights(): NamedWeights {
    const out: NamedWeights = {};
    for (const [name, v] of Object.entries(this.named())) {
      // Copy: the CPU backend's dataSync returns its own storage, which a caller could mutate.
      out[name] = { shape: [...v.shape], data: new Float32Array(v.dataSync() as Float32Array) };
    }
    return out;
  }

  /** Overwrites every weight; throws a ValidationError naming the first mismatched weight. */
  setWeights(weights: NamedWeights): void {
    const named = this.named();
    checkWeights(weights, this.shapes(), `${this.owner}.setWeights`);
    tf.tidy(() => {
      for (const [name, v] of Object.entries(named)) {
        v.assign(tf.tensor(weights[name].data, v.shape, 'float32'));
      }
    });
  }

  /** Copies `other`'s values; names and shapes must match. */
  copyFrom(other: ParameterSet): void {
    this.polyak(other, 1, 'copyFrom');
  }

  /**
   * Soft update this ← tau·other + (1 − tau)·this (Lillicrap et al. 2016, DDPG target
   * networks; SB3's `polyak_update`). tau = 1 copies.
   */
  polyakUpdate(other: ParameterSet, tau: number): void {
    if (!(typeof tau === 'number' && tau >= 0 && tau <= 1)) {
      throw new ValidationError('tau', 'a number in [0, 1]', tau, `${this.owner}.polyakUpdate`);
    }
    this.polyak(other, tau, 'polyakUpdate');
  }

  private polyak(other: ParameterSet, tau: number, what: string): void {
    const mine = this.named();
    const theirs = other.named();
    const theirShapes = other.shapes();
    // Same names and shapes both ways, so a wrong pairing fails before anything is written.
    for (const [name, v] of Object.entries(mine)) {
      const s = theirShapes[name];
      if (s === undefined) throw new ValidationError(name, 'a matching weight in the source network (it is missing)', undefined, `${this.owner}.${what}`);
      if (s.length !== v.shape.length || s.some((d, i) => d !== v.shape[i])) {
        throw new ValidationError(name, `shape [${v.shape.join(', ')}] in the source network`, [...s], `${this.owner}.${what}`);
      }
    }
    const extra = Object.keys(theirs).find((n) => !(n in mine));
    if (extra !== undefined) {
      throw new ValidationError(extra, 'no such weight (the source network has one this network lacks)', [...theirShapes[extra]], `${this.owner}.${what}`);
    }
    tf.tidy(() => {
      for (const [name, v] of Object.entries(mine)) {
        const src = theirs[name];
        if (src === v) continue;
        v.assign(tau === 1 ? src : tf.add(tf.mul(src, tau), tf.mul(v, 1 - tau)));
      }
    });
  }

  /** Whether {@link dispose} has run. */
  get disposed(): boolean {
    return this.isDisposed;
  }

  /** Disposes every variable, children included. Idempotent. */
  dispose(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    for (const v of this.own.values()) v.dispose();
    for (const c of this.children.values()) c.dispose();
    this.own.clear();
    this.children.clear();
  }

  /** Throws if disposed. */
  assertAlive(): void {
    if (this.isDisposed) throw new KairosError(`${this.owner}: used after dispose()`, 'disposed');
  }
}

/**
 * Implements {@link Module} for a layer that keeps its variables in `params`, so each
 * layer only defines its parameters and its forward pass.
 *
 * @example
 * class Scale extends ParamModule {
 *   readonly params = new ParameterSet('Scale');
 *   apply(x: tf.Tensor) { ... }
 * }
 */
export abstract class ParamModule implements Module {
  abstract readonly params: ParameterSet;

  /** Trainable variables in a stable order (the order optimiser state is saved in). */
  get trainableVariables(): tf.Variable[] {
    return this.params.trainable();
  }

  /** Variables by name (`layers.0.kernel`, ...), for optimiser state. */
  namedVariables(): Record<string, tf.Variable> {
    return this.params.named();
  }

  /** Number of scalar parameters. */
  get parameterCount(): number {
    return this.params.size();
  }

  getWeights(): NamedWeights {
    return this.params.getWeights();
  }

  setWeights(weights: NamedWeights): void {
    this.params.setWeights(weights);
  }

  copyFrom(other: Module): void {
    this.params.copyFrom(other.params);
  }

  polyakUpdate(other: Module, tau: number): void {
    this.params.polyakUpdate(other.params, tau);
  }

  dispose(): void {
    this.params.dispose();
  }
}
