/**
 * Fused TD losses and targets for value-based agents (DQN family): the per-sample work of a
 * DQN update outside the networks, one kernel each instead of 10-25 small tfjs ops.
 *
 * Why: on the WASM backend every tfjs op costs about 6 µs of dispatch whatever its size, and
 * a Huber TD loss with its gradient is ~25 ops (0.35-0.6 ms per update, a quarter of a batch-64
 * CartPole update once the networks run fused). Here the loss is one `customGrad` op whose
 * forward and backward passes are plain loops over the batch on the WASM heap.
 *
 * Definitions (as SB3 / PyTorch, and as `agents/dqn/targets.ts` with tfjs ops):
 * - td_i = Q(s_i, a_i) − y_i; loss = (1/B) Σ_i w_i ℓ(td_i) with ℓ Huber(δ) (½x² for |x| ≤ δ,
 *   δ(|x| − ½δ) beyond: PyTorch's smooth L1 for δ = 1) or x² (mse); w = 1 without weights.
 * - y_i = r_i + discount_i · (1 − terminated_i) · bootstrap_i, bootstrap the max over allowed
 *   actions of the target net, or for Double DQN the target net at the online net's argmax
 *   (first index on ties), 0 where no action is allowed (van Hasselt et al. 2016, eq. 4).
 *
 * Off WASM, or with fused kernels off, both run the same formulas as tfjs ops.
 *
 * @example
 * const y = fusedTdTargets(target.apply(next), double ? online.apply(next) : null, rewards, discounts, terminated, null);
 * trainStep(opt, () => fusedTdLoss(online.apply(obs), actions, y).loss, online.trainableVariables);
 */
import * as tf from '@tensorflow/tfjs-core';
import { type BoundWasmKernels, activeWasmKernels, kernelsForBackend, saveWithoutCopies } from './fused.js';

/** Options of {@link fusedTdLoss}. */
export interface TdLossOptions {
  /** Per-sample loss: Huber (default) or squared error. */
  kind?: 'huber' | 'mse';
  /** Huber threshold δ. Default 1 (PyTorch's smooth L1, SB3's DQN loss). */
  delta?: number;
  /** Importance weights `[B]` (prioritised replay), or null. */
  weights?: tf.Tensor1D | null;
}

const TD_LOSS = 'KairosTdLoss';
const TD_LOSS_GRAD = 'KairosTdLossGrad';
const TD_ERROR = 'KairosTdError';
const TD_TARGETS = 'KairosTdTargets';

const f32 = Math.fround;

interface Heaps {
  f32: Float32Array;
  i32: Int32Array;
}

function heaps(K: BoundWasmKernels): Heaps {
  const f = K.heapF32;
  return { f32: f, i32: new Int32Array(f.buffer) };
}

/** Element index (not byte address) of a tensor of the given dtype on the WASM heap. */
function index(K: BoundWasmKernels, t: tf.TensorInfo, dtype: 'float32' | 'int32'): number {
  if (t.dtype !== dtype) throw new Error(`fused TD kernel: expected ${dtype}, received ${t.dtype} [${t.shape.join(', ')}]`);
  return K.addrOf(t) >>> 2;
}

function kernels(backend: object): BoundWasmKernels {
  const K = kernelsForBackend(backend);
  if (K === null) throw new Error('fused TD kernel: WASM kernels unavailable');
  return K;
}

/**
 * ℓ(x) in float32 exactly as the tfjs formula evaluates it, one rounding per operation:
 * c = min(|x|, δ); ½c² + δ(|x| − c) (both Huber branches in one expression).
 */
function perSample(x: number, huber: boolean, delta: number): number {
  if (!huber) return f32(x * x);
  const a = Math.abs(x);
  const c = Math.min(a, delta);
  return f32(f32(0.5 * f32(c * c)) + f32(delta * f32(a - c)));
}

/** ℓ'(x). */
function slope(x: number, huber: boolean, delta: number): number {
  if (!huber) return f32(2 * x);
  return Math.abs(x) <= delta ? x : x > 0 ? delta : -delta;
}

interface LossAttrs {
  huber: boolean;
  delta: number;
}

/** td_i = q[i, a_i] − y_i into `out` (element index), checking every action. */
function tdErrors(h: Heaps, qi: number, ai: number, yi: number, out: number, B: number, A: number): void {
  for (let i = 0; i < B; i++) {
    const a = h.i32[ai + i];
    if (!(a >= 0 && a < A)) throw new Error(`fused TD loss: action ${a} at row ${i} is outside [0, ${A})`);
    h.f32[out + i] = f32(h.f32[qi + i * A + a] - h.f32[yi + i]);
  }
}

/** inputs q [B, A], actions int32 [B], targets [B]; output td [B]. */
function tdErrorKernel(args: { inputs: tf.NamedTensorInfoMap; backend: object }): tf.TensorInfo {
  const K = kernels(args.backend);
  const { q, actions, targets } = args.inputs as Record<string, tf.TensorInfo | undefined>;
  if (!q || !actions || !targets) throw new Error(`${TD_ERROR}: missing input`);
  const [B, A] = q.shape;
  const td = K.backend.makeOutput([B], 'float32');
  tdErrors(heaps(K), index(K, q, 'float32'), index(K, actions, 'int32'), index(K, targets, 'float32'), index(K, td, 'float32'), B, A);
  return td;
}

/** inputs q [B, A], actions int32 [B], targets [B], weights [B]?; outputs loss [], td [B]. */
function tdLossKernel(args: { inputs: tf.NamedTensorInfoMap; backend: object; attrs?: tf.NamedAttrMap }): tf.TensorInfo[] {
  const K = kernels(args.backend);
  const { huber, delta } = args.attrs as unknown as LossAttrs;
  const { q, actions, targets, weights } = args.inputs as Record<string, tf.TensorInfo | undefined>;
  if (!q || !actions || !targets) throw new Error(`${TD_LOSS}: missing input`);
  const [B, A] = q.shape;
  const loss = K.backend.makeOutput([], 'float32');
  const td = K.backend.makeOutput([B], 'float32');
  const h = heaps(K);
  const qi = index(K, q, 'float32');
  const ai = index(K, actions, 'int32');
  const yi = index(K, targets, 'float32');
  const wi = weights ? index(K, weights, 'float32') : -1;
  const ti = index(K, td, 'float32');
  tdErrors(h, qi, ai, yi, ti, B, A);
  let sum = 0;
  for (let i = 0; i < B; i++) {
    const l = perSample(h.f32[ti + i], huber, delta);
    sum = f32(sum + (wi >= 0 ? f32(l * h.f32[wi + i]) : l));
  }
  h.f32[index(K, loss, 'float32')] = f32(sum / B);
  return [loss, td];
}

/** inputs dy [], td [B], actions int32 [B], weights [B]?, attr A; output dq [B, A]. */
function tdLossGradKernel(args: { inputs: tf.NamedTensorInfoMap; backend: object; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const K = kernels(args.backend);
  const { huber, delta, numActions } = args.attrs as unknown as LossAttrs & { numActions: number };
  const { dy, td, actions, weights } = args.inputs as Record<string, tf.TensorInfo | undefined>;
  if (!dy || !td || !actions) throw new Error(`${TD_LOSS_GRAD}: missing input`);
  const B = td.shape[0];
  const dq = K.backend.makeOutput([B, numActions], 'float32');
  const h = heaps(K);
  const di = index(K, dq, 'float32');
  h.f32.fill(0, di, di + B * numActions);
  const scale = f32(h.f32[index(K, dy, 'float32')] / B);
  const ti = index(K, td, 'float32');
  const ai = index(K, actions, 'int32');
  const wi = weights ? index(K, weights, 'float32') : -1;
  for (let i = 0; i < B; i++) {
    const g = f32(slope(h.f32[ti + i], huber, delta) * scale);
    h.f32[di + i * numActions + h.i32[ai + i]] = wi >= 0 ? f32(g * h.f32[wi + i]) : g;
  }
  return dq;
}

/**
 * inputs qt [B, A] (target net at s'), qo [B, A]? (online net at s', Double DQN), rewards,
 * discounts, terminated [B], masks [B, A]? (1 allowed); output y [B].
 */
function tdTargetsKernel(args: { inputs: tf.NamedTensorInfoMap; backend: object }): tf.TensorInfo {
  const K = kernels(args.backend);
  const { qt, qo, rewards, discounts, terminated, masks } = args.inputs as Record<string, tf.TensorInfo | undefined>;
  if (!qt || !rewards || !discounts || !terminated) throw new Error(`${TD_TARGETS}: missing input`);
  const [B, A] = qt.shape;
  const y = K.backend.makeOutput([B], 'float32');
  const h = heaps(K);
  const t = index(K, qt, 'float32');
  const o = qo ? index(K, qo, 'float32') : -1;
  const m = masks ? index(K, masks, 'float32') : -1;
  const r = index(K, rewards, 'float32');
  const d = index(K, discounts, 'float32');
  const term = index(K, terminated, 'float32');
  const yi = index(K, y, 'float32');
  for (let i = 0; i < B; i++) {
    const row = i * A;
    const src = o >= 0 ? o : t;
    let best = -1;
    for (let a = 0; a < A; a++) {
      if (m >= 0 && !(h.f32[m + row + a] > 0)) continue;
      if (best < 0 || h.f32[src + row + a] > h.f32[src + row + best]) best = a;
    }
    const boot = best < 0 ? 0 : h.f32[t + row + best];
    h.f32[yi + i] = f32(h.f32[r + i] + f32(f32(h.f32[d + i] * f32(1 - h.f32[term + i])) * boot));
  }
  return y;
}

let registered = false;

/** Registers the fused TD kernels for the WASM backend (idempotent; done on import). */
export function registerTdKernels(): void {
  if (registered) return;
  registered = true;
  const reg = (kernelName: string, kernelFunc: unknown) => tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: kernelFunc as tf.KernelFunc });
  reg(TD_LOSS, tdLossKernel);
  reg(TD_LOSS_GRAD, tdLossGradKernel);
  reg(TD_ERROR, tdErrorKernel);
  reg(TD_TARGETS, tdTargetsKernel);
}
registerTdKernels();

/** The same loss as tfjs ops (CPU backend, fused kernels off). */
function referenceTdLoss(q: tf.Tensor2D, actions: tf.Tensor1D, targets: tf.Tensor1D, huber: boolean, delta: number, weights: tf.Tensor1D | null): { loss: tf.Scalar; td: tf.Tensor1D } {
  const td = tf.sub(tf.sum(tf.mul(q, tf.oneHot(actions, q.shape[1])), 1), targets) as tf.Tensor1D;
  const loss = tf.tidy(() => {
    let per: tf.Tensor;
    if (huber) {
      const a = tf.abs(td);
      const clipped = tf.minimum(a, delta);
      per = tf.add(tf.mul(0.5, tf.square(clipped)), tf.mul(delta, tf.sub(a, clipped)));
    } else {
      per = tf.square(td);
    }
    return tf.mean(weights ? tf.mul(per, weights) : per) as tf.Scalar;
  });
  return { loss, td };
}

/**
 * Mean TD loss on the chosen actions, `(1/B) Σ w_i ℓ(Q(s_i, a_i) − y_i)` (see the module
 * comment), differentiable with respect to `q` only (`targets` and `weights` are constants).
 * Returns the loss and the TD errors `td` (no gradient; e.g. new priorities). One kernel
 * forward and one backward on WASM.
 *
 * @example
 * const { loss } = trainStep(opt, () => fusedTdLoss(net.apply(obs), actions, y).loss, net.trainableVariables);
 */
export function fusedTdLoss(
  q: tf.Tensor2D,
  actions: tf.Tensor1D,
  targets: tf.Tensor1D,
  options: TdLossOptions = {},
): { loss: tf.Scalar; td: tf.Tensor1D } {
  const huber = (options.kind ?? 'huber') === 'huber';
  const delta = options.delta ?? 1;
  const weights = options.weights ?? null;
  const [B, A] = q.shape;
  if (q.rank !== 2 || actions.shape[0] !== B || targets.shape[0] !== B || (weights !== null && weights.shape[0] !== B)) {
    throw new Error(`fusedTdLoss: expected q [B, A] with actions, targets (and weights) of length B; received q [${q.shape.join(', ')}], actions [${actions.shape.join(', ')}], targets [${targets.shape.join(', ')}]`);
  }
  if (!(delta > 0)) throw new Error(`fusedTdLoss: delta must be positive, received ${delta}`);
  const K = activeWasmKernels();
  if (K === null || q.dtype !== 'float32' || actions.dtype !== 'int32' || targets.dtype !== 'float32') {
    return referenceTdLoss(q, actions, targets, huber, delta, weights);
  }
  const engine = tf.engine();
  const attrs = { huber, delta } as unknown as tf.NamedAttrMap;
  const inputs: tf.NamedTensorMap = { q, actions, targets };
  if (weights) inputs.weights = weights;
  const op = tf.customGrad((...args: unknown[]) => {
    const save = args[args.length - 1] as (tensors: tf.Tensor[]) => void;
    const [loss, tdOut] = engine.runKernel(TD_LOSS, inputs, attrs) as tf.Tensor[];
    saveWithoutCopies(save, weights ? [tdOut, actions, weights] : [tdOut, actions]);
    return {
      value: loss,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const gInputs: tf.NamedTensorMap = { dy, td: saved[0], actions: saved[1] };
        if (saved[2]) gInputs.weights = saved[2];
        return [engine.runKernel(TD_LOSS_GRAD, gInputs, { huber, delta, numActions: A } as unknown as tf.NamedAttrMap) as tf.Tensor];
      },
    };
  });
  const loss = op(q) as tf.Scalar;
  // td for the caller (tracked in the caller's scope); the op's own copy lives on the tape.
  const td = engine.runKernel(TD_ERROR, { q, actions, targets }) as tf.Tensor1D;
  return { loss, td };
}

/**
 * DQN targets `y = r + discount·(1 − terminated)·bootstrap` (see the module comment) in one
 * kernel: `qNextOnline` non-null selects Double DQN, `nextMasks` (`[B, A]`, 1 = allowed)
 * restricts the max/argmax. No gradient (targets are constants).
 *
 * @example
 * const y = tf.tidy(() => fusedTdTargets(target.apply(next), null, rewards, discounts, terminated, null));
 */
export function fusedTdTargets(
  qNextTarget: tf.Tensor2D,
  qNextOnline: tf.Tensor2D | null,
  rewards: tf.Tensor1D,
  discounts: tf.Tensor1D,
  terminated: tf.Tensor1D,
  nextMasks: tf.Tensor2D | null,
): tf.Tensor1D {
  const K = activeWasmKernels();
  const all: tf.Tensor[] = [qNextTarget, rewards, discounts, terminated];
  if (qNextOnline) all.push(qNextOnline);
  if (nextMasks) all.push(nextMasks);
  if (K === null || all.some((t) => t.dtype !== 'float32')) {
    return tf.tidy(() => {
      const A = qNextTarget.shape[1];
      const allowed = nextMasks ? tf.greater(nextMasks, 0) : null;
      const masked = (q: tf.Tensor2D) => (allowed ? tf.where(allowed, q, tf.fill(q.shape, -Infinity)) : q);
      let v = qNextOnline
        ? tf.sum(tf.mul(qNextTarget, tf.oneHot(tf.argMax(masked(qNextOnline), 1), A)), 1)
        : tf.max(masked(qNextTarget), 1);
      if (nextMasks) v = tf.where(tf.greater(tf.max(nextMasks, 1), 0), v, tf.zerosLike(v));
      return tf.add(rewards, tf.mul(tf.mul(discounts, tf.sub(1, terminated)), v)) as tf.Tensor1D;
    });
  }
  const inputs: tf.NamedTensorMap = { qt: qNextTarget, rewards, discounts, terminated };
  if (qNextOnline) inputs.qo = qNextOnline;
  if (nextMasks) inputs.masks = nextMasks;
  return tf.engine().runKernel(TD_TARGETS, inputs) as tf.Tensor1D;
}
