/**
 * Optimisers: a thin, validated factory over `tf.train`, gradient clipping by global norm, a
 * one-call training step that frees everything it creates, and save/restore of optimiser
 * state (Adam's moments, its bias-correction powers and the step count) for resumable runs.
 *
 * @example
 * const net = new Mlp({ inputSize: 8, hiddenSizes: [64, 64], outputSize: 4, seed: 0 });
 * // PPO (Huang et al. 2022, "The 37 implementation details of PPO"): Adam eps 1e-5, clip 0.5.
 * const opt = createOptimizer({ type: 'adam', learningRate: 2.5e-4, epsilon: 1e-5 });
 * const { loss, gradNorm } = trainStep(opt, () => lossOf(net), net.trainableVariables, { maxGradNorm: 0.5 });
 * const state = getOptimizerState(opt, net.namedVariables()); // plain data, see weights-io
 */
import { z } from 'zod';
import { KairosError, ValidationError, parseWith } from '../core/errors.js';
import { tf } from './backend.js';
import { FusedAdamOptimizer } from './fused-adam.js';
import { checkWeights, type NamedWeights } from './serialize.js';

/** Optimiser configs. Defaults follow PyTorch where tfjs allows (Adam eps 1e-8). */
export const OptimizerConfigSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('adam'),
      learningRate: z.number().positive(),
      /** Decay of the first-moment average. */
      beta1: z.number().min(0).lt(1).default(0.9),
      /** Decay of the second-moment average. */
      beta2: z.number().min(0).lt(1).default(0.999),
      /** Added to √v̂ (outside the root, as PyTorch). PPO uses 1e-5. */
      epsilon: z.number().positive().default(1e-8),
      /**
       * One fused WASM kernel per parameter instead of 13 tfjs kernels (`fused-adam.ts`);
       * bit-identical results, same state format. Falls back to tfjs's Adam off WASM.
       */
      fused: z.boolean().default(true),
    })
    .strict(),
  z.object({ type: z.literal('sgd'), learningRate: z.number().positive() }).strict(),
  z
    .object({
      type: z.literal('rmsprop'),
      learningRate: z.number().positive(),
      /** Decay of the mean square (PyTorch calls it alpha). */
      decay: z.number().min(0).lt(1).default(0.9),
      momentum: z.number().min(0).default(0),
      /** Added inside the square root (TensorFlow style, like SB3's RMSpropTFLike). */
      epsilon: z.number().positive().default(1e-7),
      centered: z.boolean().default(false),
    })
    .strict(),
]);

/** Optimiser config as written by a user. */
export type OptimizerConfig = z.input<typeof OptimizerConfigSchema>;
/** Optimiser config with defaults applied. */
export type ResolvedOptimizerConfig = z.output<typeof OptimizerConfigSchema>;
/** Optimiser kinds. */
export type OptimizerKind = ResolvedOptimizerConfig['type'];
/** Every optimiser kind {@link createOptimizer} accepts. */
export const OPTIMIZER_KINDS: readonly OptimizerKind[] = ['adam', 'sgd', 'rmsprop'];

/**
 * Creates a `tf.train` optimiser from a validated config.
 *
 * @example
 * const opt = createOptimizer({ type: 'adam', learningRate: 1e-3 }); // fused on WASM
 */
export function createOptimizer(config: OptimizerConfig): tf.Optimizer {
  const type = (config as { type?: unknown } | null)?.type;
  if (!OPTIMIZER_KINDS.includes(type as OptimizerKind)) {
    // Checked here because zod's discriminated-union message does not name the choices clearly.
    throw new ValidationError('type', OPTIMIZER_KINDS.map((k) => `"${k}"`).join(' | '), type, 'optimizer');
  }
  const c = parseWith(OptimizerConfigSchema, config, 'optimizer');
  switch (c.type) {
    case 'adam':
      return c.fused ? new FusedAdamOptimizer(c.learningRate, c.beta1, c.beta2, c.epsilon) : tf.train.adam(c.learningRate, c.beta1, c.beta2, c.epsilon);
    case 'sgd':
      return tf.train.sgd(c.learningRate);
    case 'rmsprop':
      return tf.train.rmsprop(c.learningRate, c.decay, c.momentum, c.epsilon, c.centered);
  }
}

/** Kind of a tfjs optimiser Kairos can save, or throws. */
export function optimizerKind(optimizer: tf.Optimizer): OptimizerKind {
  // Not `instanceof`: tfjs gives Optimizer a Symbol.hasInstance that accepts any optimiser
  // for every subclass (duck typing across tfjs copies), so the class name is the reliable tag.
  const name = typeof optimizer?.getClassName === 'function' ? optimizer.getClassName() : undefined;
  if (name === 'Adam') return 'adam';
  if (name === 'SGD') return 'sgd';
  if (name === 'RMSProp') return 'rmsprop';
  throw new KairosError(
    `optimizer: expected an Adam, SGD or RMSProp optimiser from createOptimizer, received ${name ?? typeof optimizer}`,
    'unsupported_optimizer',
  );
}

/**
 * Sets the learning rate for the following steps (learning-rate annealing, e.g. PPO's linear
 * decay). tfjs's Adam and RMSProp read the field on every step; SGD caches it in a tensor.
 */
export function setLearningRate(optimizer: tf.Optimizer, learningRate: number): void {
  if (!(typeof learningRate === 'number' && learningRate > 0 && Number.isFinite(learningRate))) {
    throw new ValidationError('learningRate', 'a positive finite number', learningRate, 'setLearningRate');
  }
  if (optimizerKind(optimizer) === 'sgd') (optimizer as tf.SGDOptimizer).setLearningRate(learningRate);
  else (optimizer as unknown as { learningRate: number }).learningRate = learningRate;
}

/** Global L2 norm √(Σ‖g‖²) of a set of gradients, as a scalar tensor the caller owns. */
export function globalNorm(grads: tf.NamedTensorMap | readonly tf.Tensor[]): tf.Scalar {
  const list = (Array.isArray(grads) ? grads : Object.values(grads)) as tf.Tensor[];
  return tf.tidy(() => {
    if (list.length === 0) return tf.scalar(0);
    const squares = list.map((g) => tf.sum(tf.square(g)));
    return tf.sqrt(squares.length === 1 ? squares[0] : tf.addN(squares)) as tf.Scalar;
  });
}

/**
 * Scales gradients so their global norm is at most `maxNorm`, exactly as PyTorch's
 * `clip_grad_norm_`: g ← g · min(1, maxNorm / (‖g‖ + 1e-6)). Always multiplies (no branch on
 * the norm), so there is no read-back. Inputs are not disposed; the caller owns the returned
 * gradients and `norm` (the norm before clipping).
 *
 * @example
 * const { grads: clipped, norm } = clipGradsByGlobalNorm(grads, 0.5);
 */
export function clipGradsByGlobalNorm<G extends tf.NamedTensorMap>(grads: G, maxNorm: number): { grads: G; norm: tf.Scalar } {
  if (!(typeof maxNorm === 'number' && maxNorm > 0)) {
    throw new ValidationError('maxNorm', 'a positive number', maxNorm, 'clipGradsByGlobalNorm');
  }
  const norm = globalNorm(grads);
  const clipped = tf.tidy(() => {
    const coef = tf.minimum(tf.div(tf.scalar(maxNorm), tf.add(norm, 1e-6)), 1);
    const out: tf.NamedTensorMap = {};
    for (const [name, g] of Object.entries(grads)) out[name] = tf.mul(g, coef);
    return out;
  });
  return { grads: clipped as G, norm };
}

/** Options of {@link trainStep}. */
export interface TrainStepOptions {
  /** Clip gradients to this global norm before the update (PPO: 0.5, DQN in SB3: 10). */
  maxGradNorm?: number;
  /** Report the gradient norm even without clipping. */
  computeGradNorm?: boolean;
}

/** Result of {@link trainStep}: numbers, already read back. */
export interface TrainStepResult {
  /** Loss before the update. */
  loss: number;
  /** Global gradient norm before clipping, or null if neither clipping nor computeGradNorm. */
  gradNorm: number | null;
}

/**
 * One optimisation step, `minimize`-style: computes the loss and its gradients with respect
 * to `variables`, optionally clips them, applies the optimiser, reads the loss (and norm)
 * back once, and disposes every tensor it created. `tf.memory().numTensors` is unchanged
 * afterwards (after the optimiser's first step, which creates its slot variables).
 *
 * Pass `variables` in the same order every step and to {@link getOptimizerState}: tfjs
 * optimisers index their per-variable state by position.
 *
 * @example
 * const { loss } = trainStep(opt, () => tf.losses.meanSquaredError(y, net.apply(x)) as tf.Scalar, net.trainableVariables);
 */
export function trainStep(
  optimizer: tf.Optimizer,
  lossFn: () => tf.Scalar,
  variables: readonly tf.Variable[],
  options: TrainStepOptions = {},
): TrainStepResult {
  if (variables.length === 0) throw new ValidationError('variables', 'at least one variable', variables, 'trainStep');
  const { value, grads } = tf.variableGrads(lossFn, variables as tf.Variable[]);
  let applied: tf.NamedTensorMap = grads;
  let norm: tf.Scalar | null = null;
  try {
    if (options.maxGradNorm !== undefined) {
      const clipped = clipGradsByGlobalNorm(grads, options.maxGradNorm);
      applied = clipped.grads;
      norm = clipped.norm;
    } else if (options.computeGradNorm) {
      norm = globalNorm(grads);
    }
    // Array form fixes the order, which is what ties optimiser slots to variables.
    optimizer.applyGradients(variables.map((v) => ({ name: v.name, tensor: applied[v.name] })));
    if (norm === null) return { loss: value.dataSync()[0], gradNorm: null };
    // One read-back for both numbers.
    const both = tf.tidy(() => tf.stack([value, norm as tf.Scalar]));
    const [loss, gradNorm] = both.dataSync();
    both.dispose();
    return { loss, gradNorm };
  } finally {
    value.dispose();
    tf.dispose(Object.values(grads));
    if (applied !== grads) tf.dispose(Object.values(applied));
    norm?.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// Optimiser state
// ---------------------------------------------------------------------------------------------

/** Plain-data optimiser state, keyed by Kairos parameter names (stable across processes). */
export interface OptimizerState {
  kind: OptimizerKind;
  /** Steps taken. */
  iterations: number;
  /** Exact scalar state, e.g. Adam's β₁ᵗ and β₂ᵗ (float32 values, exact in JSON). */
  scalars: Record<string, number>;
  /** Per-parameter slots named `${param}/${slot}` (Adam: m, v; RMSProp: rms, momentum, mg). */
  slots: NamedWeights;
}

interface Slot {
  originalName: string;
  variable: tf.Variable;
}

/**
 * tfjs keeps optimiser state in fields that are private in its typings (tfjs-core 4.x).
 * Reading them directly is what makes restore bit-exact: the public `setWeights` recomputes
 * Adam's β^t with `pow`, which differs in the last bits from the running product tfjs uses
 * while training, and it names slots by tfjs's per-process variable names.
 */
const SLOT_FIELDS: Record<OptimizerKind, Array<[field: string, suffix: string]>> = {
  adam: [
    ['accumulatedFirstMoment', 'm'],
    ['accumulatedSecondMoment', 'v'],
  ],
  sgd: [],
  rmsprop: [
    ['accumulatedMeanSquares', 'rms'],
    ['accumulatedMoments', 'momentum'],
    ['accumulatedMeanGrads', 'mg'],
  ],
};

type Internals = Record<string, unknown> & { iterations_?: number };

function internals(optimizer: tf.Optimizer, kind: OptimizerKind): Internals {
  const o = optimizer as unknown as Internals;
  for (const [field] of SLOT_FIELDS[kind]) {
    if (!Array.isArray(o[field])) {
      throw new KairosError(
        `optimizer state: tfjs ${kind} optimiser has no "${field}" array; this tfjs version is not supported by Kairos's state save/restore`,
        'unsupported_optimizer',
      );
    }
  }
  if (kind === 'adam' && !(o.accBeta1 instanceof tf.Variable && o.accBeta2 instanceof tf.Variable)) {
    throw new KairosError('optimizer state: tfjs Adam has no accBeta1/accBeta2 variables; unsupported tfjs version', 'unsupported_optimizer');
  }
  return o;
}

/**
 * Snapshot of an optimiser's state as plain data. `variables` names the parameters (use
 * `net.namedVariables()`); it must be the variable set the optimiser has been stepping.
 *
 * @example
 * const state = getOptimizerState(opt, net.namedVariables());
 */
export function getOptimizerState(optimizer: tf.Optimizer, variables: Record<string, tf.Variable>): OptimizerState {
  const kind = optimizerKind(optimizer);
  const o = internals(optimizer, kind);
  const byTfName = new Map(Object.entries(variables).map(([name, v]) => [v.name, name]));
  const slots: NamedWeights = {};
  for (const [field, suffix] of SLOT_FIELDS[kind]) {
    for (const slot of o[field] as Array<Slot | undefined>) {
      if (slot == null) continue;
      const tfName = slot.originalName.slice(0, slot.originalName.lastIndexOf('/'));
      const name = byTfName.get(tfName);
      if (name === undefined) {
        throw new KairosError(
          `getOptimizerState: the optimiser holds state for variable "${tfName}", which is not among the ${byTfName.size} variables given`,
          'invalid_argument',
        );
      }
      const v = slot.variable;
      slots[`${name}/${suffix}`] = { shape: [...v.shape], data: new Float32Array(v.dataSync() as Float32Array) };
    }
  }
  const scalars: Record<string, number> = {};
  if (kind === 'adam') {
    scalars.accBeta1 = (o.accBeta1 as tf.Variable).dataSync()[0];
    scalars.accBeta2 = (o.accBeta2 as tf.Variable).dataSync()[0];
  }
  return { kind, iterations: optimizer.iterations, scalars, slots };
}

/**
 * Restores a state from {@link getOptimizerState} into an optimiser of the same kind (its
 * hyperparameters come from its own config, so a resumed run may change the learning rate).
 * Slots are placed in the order of `variables`, which must be the order later passed to
 * {@link trainStep}. Replaces (and frees) any state the optimiser already had.
 *
 * @example
 * const opt = createOptimizer({ type: 'adam', learningRate: 3e-4 });
 * setOptimizerState(opt, net.namedVariables(), await loadOptimizerState(dir, 'opt'));
 */
export function setOptimizerState(optimizer: tf.Optimizer, variables: Record<string, tf.Variable>, state: OptimizerState): void {
  const kind = optimizerKind(optimizer);
  if (state === null || typeof state !== 'object') throw new ValidationError('', 'an optimizer state', state, 'setOptimizerState');
  if (state.kind !== kind) throw new ValidationError('kind', `"${kind}" (the optimiser's kind)`, state.kind, 'setOptimizerState');
  if (!Number.isInteger(state.iterations) || state.iterations < 0) {
    throw new ValidationError('iterations', 'a non-negative integer', state.iterations, 'setOptimizerState');
  }
  const o = internals(optimizer, kind);
  const names = Object.keys(variables);
  const fields = SLOT_FIELDS[kind].filter(([field]) => !(kind === 'rmsprop' && field === 'accumulatedMeanGrads' && !o.centered));
  // Expected slots: none (fresh optimiser) or every slot for every variable.
  const hasSlots = Object.keys(state.slots ?? {}).length > 0;
  const expected: Record<string, number[]> = {};
  if (hasSlots) {
    for (const [, suffix] of fields) for (const n of names) expected[`${n}/${suffix}`] = [...variables[n].shape];
  }
  checkWeights(state.slots ?? {}, expected, 'setOptimizerState.slots');
  if (kind === 'adam') {
    for (const key of ['accBeta1', 'accBeta2']) {
      const x = state.scalars?.[key];
      if (typeof x !== 'number' || !(x >= 0 && x <= 1)) {
        throw new ValidationError(`scalars.${key}`, 'a number in [0, 1]', x, 'setOptimizerState');
      }
    }
  }
  // Validation done; now replace the state.
  for (const [field] of SLOT_FIELDS[kind]) {
    const old = o[field] as Array<Slot | undefined>;
    for (const s of old) s?.variable.dispose();
    old.length = 0;
    if (!hasSlots || !fields.some(([f]) => f === field)) continue;
    const suffix = fields.find(([f]) => f === field)![1];
    for (const n of names) {
      const w = state.slots[`${n}/${suffix}`];
      const t = tf.tensor(w.data, w.shape as number[], 'float32');
      // Same `${tfName}/${suffix}` naming tfjs uses, so getOptimizerState can map it back.
      old.push({ originalName: `${variables[n].name}/${suffix}`, variable: tf.variable(t, false) });
      t.dispose();
    }
  }
  if (kind === 'adam') {
    tf.tidy(() => {
      (o.accBeta1 as tf.Variable).assign(tf.scalar(state.scalars.accBeta1));
      (o.accBeta2 as tf.Variable).assign(tf.scalar(state.scalars.accBeta2));
    });
  }
  o.iterations_ = state.iterations;
}
