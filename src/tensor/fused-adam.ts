/**
 * Adam with one fused WASM kernel per parameter instead of tfjs's 13 element-wise kernels,
 * bit-identical to tfjs's `AdamOptimizer` (same float32 operations in the same order: see
 * `adam` in `wasm-kernels.ts`). It *is* a `tf.AdamOptimizer` (a subclass), with the same
 * fields, so `getOptimizerState` / `setOptimizerState` and tfjs's own `getWeights` work
 * unchanged and a state saved from either restores into the other.
 *
 * Per step and parameter it reads the gradient, the moments and the parameter once, updates
 * the moments in place and writes the new parameter to a fresh buffer that the variable is
 * then assigned (a new tensor id, so tfjs's matMul weight cache is never stale). β₁ᵗ and β₂ᵗ
 * are updated in place as float32 products, exactly as tfjs's `mul` would. On the CPU backend,
 * with fused kernels off, or for a non-float32 variable it runs tfjs's own update.
 *
 * @example
 * const opt = createOptimizer({ type: 'adam', learningRate: 1e-3 }); // a FusedAdamOptimizer
 * trainStep(opt, () => loss(net), net.trainableVariables);
 */
import * as tf from '@tensorflow/tfjs-core';
import { type BoundWasmKernels, activeWasmKernels } from './fused.js';

interface Slot {
  originalName: string;
  variable: tf.Variable;
}

/** tfjs-core 4.x AdamOptimizer fields (private in its typings). */
interface AdamInternals {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: Array<Slot | undefined>;
  accumulatedSecondMoment: Array<Slot | undefined>;
  incrementIterations(): void;
}

const f32 = Math.fround;

/** Adam whose update runs as one WASM kernel per parameter; see the module comment. */
export class FusedAdamOptimizer extends tf.AdamOptimizer {
  constructor(learningRate: number, beta1: number, beta2: number, epsilon: number | null = null) {
    super(learningRate, beta1, beta2, epsilon as number);
  }

  override applyGradients(variableGradients: Parameters<tf.AdamOptimizer['applyGradients']>[0]): void {
    const K = activeWasmKernels();
    const list = Array.isArray(variableGradients)
      ? variableGradients
      : Object.keys(variableGradients).map((name) => ({ name, tensor: (variableGradients as Record<string, tf.Tensor>)[name] }));
    if (K === null || !this.fusable(K, list)) {
      super.applyGradients(variableGradients);
      return;
    }
    const o = this as unknown as AdamInternals;
    const engine = tf.engine();
    list.forEach(({ name }, i) => {
      const value = engine.registeredVariables[name];
      // Slots created exactly as tfjs does, so state save/restore sees the same thing.
      if (o.accumulatedFirstMoment[i] == null) {
        o.accumulatedFirstMoment[i] = { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
      }
      if (o.accumulatedSecondMoment[i] == null) {
        o.accumulatedSecondMoment[i] = { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
      }
    });
    // Scalars as tfjs computes them: JS numbers become float32 tensors; 1 − βᵗ is a float32
    // subtraction of the float32 βᵗ (exact in double, then rounded once).
    const heap = K.heapF32;
    const acc1 = K.addr(o.accBeta1) >>> 2;
    const acc2 = K.addr(o.accBeta2) >>> 2;
    const b1 = f32(o.beta1);
    const b2 = f32(o.beta2);
    const c1 = f32(1 - heap[acc1]);
    const c2 = f32(1 - heap[acc2]);
    const omb1 = f32(1 - o.beta1);
    const omb2 = f32(1 - o.beta2);
    const eps = f32(o.epsilon);
    const negLr = f32(-o.learningRate);
    list.forEach(({ name, tensor }, i) => {
      if (tensor == null) return; // tfjs skips variables without a gradient
      const value = engine.registeredVariables[name];
      const m = (o.accumulatedFirstMoment[i] as Slot).variable;
      const v = (o.accumulatedSecondMoment[i] as Slot).variable;
      const next = engine.makeTensorFromTensorInfo(K.backend.makeOutput([...value.shape], 'float32'));
      K.k.adam(K.addr(value), K.addr(next), K.addr(tensor), K.addr(m), K.addr(v), value.size, b1, omb1, b2, omb2, c1, c2, eps, negLr);
      value.assign(next);
      next.dispose();
    });
    // βᵗ ← βᵗ·β as a float32 product (exact in double, then rounded once), in place.
    const h = K.heapF32;
    h[acc1] = f32(h[acc1] * b1);
    h[acc2] = f32(h[acc2] * b2);
    o.incrementIterations();
  }

  /** Every variable and gradient float32 on the WASM heap, shapes matching. */
  private fusable(K: BoundWasmKernels, list: Array<{ name: string; tensor: tf.Tensor | null | undefined }>): boolean {
    const engine = tf.engine();
    for (const { name, tensor } of list) {
      const value = engine.registeredVariables[name];
      if (value === undefined || value.dtype !== 'float32') return false;
      if (tensor != null && (tensor.dtype !== 'float32' || tensor.size !== value.size)) return false;
    }
    const o = this as unknown as AdamInternals;
    try {
      K.addr(o.accBeta1);
      K.addr(o.accBeta2);
    } catch {
      return false;
    }
    return true;
  }
}
