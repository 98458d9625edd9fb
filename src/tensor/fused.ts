/**
 * Fused kernels for small dense networks on the WASM backend: a whole-MLP forward pass and
 * its backward pass as one tfjs kernel each, plus the binding of Kairos's WebAssembly kernels
 * (`wasm-kernels.ts`) to the tfjs WASM backend's heap.
 *
 * A training step of an 8-256-256-4 MLP through plain tfjs ops runs about 150 kernels; with
 * these it runs the fused forward, the loss's few ops, the fused backward and one Adam kernel
 * per parameter. For ReLU and linear layers the arithmetic is the same, in the same order, as
 * the tfjs ops it replaces (tested bit for bit against them), so switching it on or off does not
 * change results; tanh layers use a rational approximation within 4.1e-7 of tanh (see
 * `wasm-kernels.ts`), so tanh networks agree with the tfjs ops to float tolerance.
 *
 * Used by `Mlp.apply` (config `fused`, default on) and `Mlp.predict`, and by the fused Adam
 * in `fused-adam.ts`. On the CPU backend, or when WebAssembly kernels cannot be compiled
 * (e.g. a browser CSP without `wasm-unsafe-eval`), everything falls back to plain tfjs ops.
 *
 * @example
 * const q = new Mlp({ inputSize: 8, hiddenSizes: [256, 256], outputSize: 4, seed: 0 });
 * q.apply(obs);              // one fused kernel forward; fused backward under tf.grad
 * setFusedKernels(false);    // plain tfjs ops everywhere (A/B timing, debugging)
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  GEMM_MASK,
  GEMM_RELU,
  type WasmKernelExports,
  type WasmMemory,
  type WasmModule,
  compileKernelModule,
  instantiateKernels,
  kernelModuleSync,
  relaxedSimdSupported,
  wasmApi,
} from './wasm-kernels.js';

/** What a kernel needs from tfjs's WASM backend (tfjs-backend-wasm 4.x `BackendWasm`). */
interface WasmBackendLike {
  wasm: {
    asm?: { memory?: WasmMemory };
    _malloc(bytes: number): number;
    _free(ptr: number): void;
    HEAPF32: Float32Array;
  };
  dataIdMap: { get(dataId: object): { memoryOffset: number | null; dtype: string } | undefined };
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
}

/** Kairos's kernels bound to one tfjs WASM backend instance, with a reusable scratch area. */
export class BoundWasmKernels {
  private scratchPtr = 0;
  private scratchBytes = 0;

  constructor(
    readonly backend: WasmBackendLike,
    readonly k: WasmKernelExports,
    /** Whether the matMul tiles use fused multiply-adds (see {@link setFusedFma}). */
    readonly fma: boolean,
  ) {}

  /** Frees the scratch area (when these kernels are replaced). */
  release(): void {
    if (this.scratchPtr !== 0) this.backend.wasm._free(this.scratchPtr);
    this.scratchPtr = 0;
    this.scratchBytes = 0;
  }

  /** Byte address of a tensor's data in the heap, any numeric dtype. */
  addrOf(t: tf.TensorInfo): number {
    const d = this.backend.dataIdMap.get(t.dataId);
    if (d === undefined || d.memoryOffset === null) {
      throw new Error(`fused kernel: tensor ${t.dtype} [${t.shape.join(', ')}] has no data on the WASM heap`);
    }
    return d.memoryOffset;
  }

  /** Byte address of a float32 tensor's data in the heap (moving it to WASM first if needed). */
  addr(t: tf.TensorInfo): number {
    const d = this.backend.dataIdMap.get(t.dataId);
    if (d === undefined || d.memoryOffset === null || d.dtype !== 'float32') {
      throw new Error(`fused kernel: tensor ${t.dtype} [${t.shape.join(', ')}] has no float32 data on the WASM heap`);
    }
    return d.memoryOffset;
  }

  /**
   * Scratch buffers of the given byte sizes, 16-byte aligned, carved from one reusable area:
   * valid until the next call.
   */
  scratchBuffers(sizes: readonly number[]): number[] {
    const aligned = sizes.map((b) => (b + 15) & ~15);
    let at = this.scratch(aligned.reduce((a, b) => a + b, 0));
    return aligned.map((b) => {
      const p = at;
      at += b;
      return p;
    });
  }

  /** A scratch area of at least `bytes`, valid until the next call (16-byte aligned). */
  scratch(bytes: number): number {
    if (bytes > this.scratchBytes) {
      if (this.scratchPtr !== 0) this.backend.wasm._free(this.scratchPtr);
      // Grow geometrically so a slowly growing batch does not re-allocate every call.
      const size = Math.max(bytes, 2 * this.scratchBytes, 1 << 16);
      this.scratchPtr = this.backend.wasm._malloc(size + 16) >>> 0;
      this.scratchBytes = size;
    }
    return (this.scratchPtr + 15) & ~15;
  }

  /** The heap as float32 (re-read on each call: the view is replaced when the heap grows). */
  get heapF32(): Float32Array {
    return this.backend.wasm.HEAPF32;
  }
}

function envFlag(name: string): boolean | null {
  const proc = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  const v = proc?.env?.[name]?.trim().toLowerCase();
  if (v === '0' || v === 'false') return false;
  if (v === '1' || v === 'true') return true;
  return null;
}

let enabled = envFlag('KAIROS_FUSED') ?? true;
let fmaWanted = envFlag('KAIROS_FMA') ?? false;
let fmaSupported: boolean | null = null;
let bound: BoundWasmKernels | null = null;
let failure: string | null = null;

/**
 * Turns Kairos's fused WASM kernels on (default) or off globally. Off, `Mlp.apply`,
 * `Mlp.predict` and the Adam from `createOptimizer` run plain tfjs ops. Environment:
 * `KAIROS_FUSED=0` starts with them off.
 *
 * @example
 * setFusedKernels(false); // reference path, e.g. to time the difference
 */
export function setFusedKernels(on: boolean): void {
  enabled = on;
}

/** Whether fused kernels are switched on (they also need the WASM backend to be active). */
export function isFusedKernelsEnabled(): boolean {
  return enabled;
}

/**
 * Opt in to fused multiply-adds in the fused matMuls (`f32x4.relaxed_madd`): about 25%
 * faster on x64 CPUs with FMA, but each product-sum is rounded once instead of twice, so
 * results are no longer bit-identical to the tfjs ops (they stay deterministic on one
 * machine; they may differ between machines with and without FMA). Needs relaxed SIMD:
 * Node 22+, or Node 20 started with `--experimental-wasm-relaxed-simd`. Returns whether FMA
 * is now in use (false where relaxed SIMD is missing). Environment: `KAIROS_FMA=1`.
 *
 * @example
 * if (!setFusedFma(true)) console.warn('no relaxed SIMD here: plain multiply-add');
 */
export function setFusedFma(on: boolean): boolean {
  fmaWanted = on;
  return isFusedFma();
}

/**
 * What the `kairos` CLI calls first: fused multiply-adds on unless `KAIROS_FMA=0`, with
 * relaxed SIMD switched on in V8 where Node 20 still hides it behind a flag (Node 22+ has it
 * by default). A training run is then deterministic on one machine but not bit-identical to
 * the plain tfjs ops. Must run before the kernels are first compiled. Returns whether FMA is
 * in use.
 *
 * @example
 * preferFusedFma(); await initTensorBackend();
 */
export function preferFusedFma(): boolean {
  if (envFlag('KAIROS_FMA') === false) return false;
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const v8 = proc?.getBuiltinModule?.('node:v8') as { setFlagsFromString(flags: string): void } | undefined;
  // Undocumented-but-stable for wasm feature flags: they are read when a module is compiled.
  if (v8 && !relaxedSimdSupported()) v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  fmaSupported = null;
  return setFusedFma(true);
}

/** Whether the fused matMuls use fused multiply-adds (asked for and supported). */
export function isFusedFma(): boolean {
  if (!fmaWanted) return false;
  fmaSupported ??= relaxedSimdSupported();
  return fmaSupported;
}

/** Why the kernels could not be bound, or null. */
export function fusedKernelFailure(): string | null {
  return failure;
}

function bind(backend: WasmBackendLike, mod: WasmModule, fma: boolean): BoundWasmKernels {
  const memory = backend.wasm.asm?.memory;
  if (!(memory instanceof wasmApi().Memory)) throw new Error('the tfjs WASM backend does not expose its memory (unsupported tfjs-backend-wasm version)');
  if (bound?.backend === backend) bound.release();
  return new BoundWasmKernels(backend, instantiateKernels(mod, memory), fma);
}

/**
 * Compiles the kernels and binds them to the active WASM backend. Called by
 * `initTensorBackend`; returns false (and remembers why) if that is impossible.
 */
export async function prepareFusedKernels(): Promise<boolean> {
  if (tf.getBackend() !== 'wasm') return false;
  try {
    const fma = isFusedFma();
    const mod = await compileKernelModule({ fma });
    const backend = tf.backend() as unknown as WasmBackendLike;
    if (bound?.backend !== backend || bound.fma !== fma) bound = bind(backend, mod, fma);
    failure = null;
    return true;
  } catch (err) {
    failure = err instanceof Error ? err.message : String(err);
    return false;
  }
}

/** The kernels for the backend a kernel function was handed (for Kairos's own kernels). */
export function kernelsForBackend(backend: object): BoundWasmKernels | null {
  return kernelsFor(backend as WasmBackendLike);
}

/** The kernels for a given WASM backend instance, binding them (synchronously) on first use. */
function kernelsFor(backend: WasmBackendLike): BoundWasmKernels | null {
  const fma = fmaWanted && isFusedFma();
  if (bound?.backend === backend && bound.fma === fma) return bound;
  if (failure !== null) return null;
  try {
    bound = bind(backend, kernelModuleSync({ fma }), fma);
    return bound;
  } catch (err) {
    failure = err instanceof Error ? err.message : String(err);
    return null;
  }
}

/** Bound kernels when fused kernels are on and the active backend is WASM, else null. */
export function activeWasmKernels(): BoundWasmKernels | null {
  if (!enabled || tf.getBackend() !== 'wasm') return null;
  return kernelsFor(tf.backend() as unknown as WasmBackendLike);
}

// ---------------------------------------------------------------------------------------------
// Whole-MLP forward and backward
// ---------------------------------------------------------------------------------------------

/** Kernel names (registered for the WASM backend only). */
export const MLP_FORWARD_KERNEL = 'KairosMlpForward';
export const MLP_BACKWARD_KERNEL = 'KairosMlpBackward';

/** Activations the fused MLP kernels apply. */
export type FusedActivation = 'linear' | 'relu' | 'tanh';

/** One layer of a fusable MLP: y = act(x·W + b). */
export interface FusableLayer {
  kernel: tf.Tensor;
  bias: tf.Tensor;
  activation: FusedActivation;
}

interface MlpAttrs {
  /** Per layer. */
  activations: FusedActivation[];
  /** Forward only: also output every hidden activation (for the backward pass). */
  keepHidden?: boolean;
  /** Backward only: output dx alone, skipping every weight and bias gradient. */
  inputOnly?: boolean;
}

/** A kernel input that must be present. */
function input(inputs: tf.NamedTensorInfoMap, name: string): tf.TensorInfo {
  const t = inputs[name];
  if (t === undefined) throw new Error(`fused MLP kernel: missing input "${name}"`);
  return t;
}

function layerSizes(inputs: tf.NamedTensorInfoMap, layers: number): Array<[number, number]> {
  const sizes: Array<[number, number]> = [];
  for (let l = 0; l < layers; l++) {
    const w = input(inputs, `w${l}`);
    sizes.push([w.shape[0], w.shape[1]]);
  }
  return sizes;
}

/**
 * inputs x [m, k0], w{l} [k_l, n_l], b{l} [n_l]; outputs y, then (keepHidden) h1..h_{L-1}.
 * Without keepHidden the hidden activations live in scratch memory and are never tensors.
 */
function mlpForwardKernel(args: { inputs: tf.NamedTensorInfoMap; backend: object; attrs?: tf.NamedAttrMap }): tf.TensorInfo[] {
  const backend = args.backend as WasmBackendLike;
  const K = kernelsFor(backend);
  if (K === null) throw new Error(`${MLP_FORWARD_KERNEL}: WASM kernels unavailable (${failure ?? 'unknown'})`);
  const attrs = args.attrs as unknown as MlpAttrs;
  const L = attrs.activations.length;
  const x = input(args.inputs, 'x');
  const m = x.shape[0];
  const sizes = layerSizes(args.inputs, L);
  const hiddenBytes = 4 * m * Math.max(0, ...sizes.slice(0, -1).map(([, n]) => n));
  const [pack, h0, h1] = K.scratchBuffers([packBytes(Math.max(...sizes.map(([k]) => k))), attrs.keepHidden ? 0 : hiddenBytes, attrs.keepHidden ? 0 : hiddenBytes]);
  const outputs: tf.TensorInfo[] = [];
  const hidden: tf.TensorInfo[] = [];
  let src = K.addr(x);
  for (let l = 0; l < L; l++) {
    const [k, n] = sizes[l];
    let out: number;
    if (l === L - 1) {
      const y = backend.makeOutput([m, n], 'float32');
      outputs.push(y);
      out = K.addr(y);
    } else if (attrs.keepHidden) {
      const h = backend.makeOutput([m, n], 'float32');
      hidden.push(h);
      out = K.addr(h);
    } else {
      out = l % 2 === 0 ? h0 : h1;
    }
    const act = attrs.activations[l];
    K.k.gemm(src, k, 1, K.addr(input(args.inputs, `w${l}`)), n, out, n, m, n, k, K.addr(input(args.inputs, `b${l}`)), act === 'relu' ? GEMM_RELU : 0, 0, pack);
    if (act === 'tanh') K.k.tanh(out, m * n, out);
    src = out;
  }
  return outputs.concat(hidden);
}

/** Bytes of the panel-packing buffer `gemm` needs for inner dimension k (32-column panels). */
function packBytes(k: number): number {
  return 4 * 32 * k;
}

/**
 * inputs dy [m, n_{L-1}], x, h1..h_{L-1} (post-activation hidden outputs), w0..w_{L-1}, and
 * y (the output) when the output layer has a ReLU or tanh; outputs dx, then dw_l, db_l per
 * layer. Both derivatives are taken from the activation's output: ReLU y > 0, tanh 1 - y².
 *
 * Per layer, from the last: dW = Xᵀ·dZ, db = Σ_rows dZ, dX = dZ·Wᵀ (Wᵀ materialised in
 * scratch, then a plain gemm) times the previous layer's derivative: for ReLU a mask in the
 * gemm's epilogue, for tanh a pass over dX afterwards. With `inputOnly` the output is dx
 * alone: the dW and db steps are skipped (about half the work) and dx is the same, bit for bit.
 */
function mlpBackwardKernel(args: { inputs: tf.NamedTensorInfoMap; backend: object; attrs?: tf.NamedAttrMap }): tf.TensorInfo[] {
  const backend = args.backend as WasmBackendLike;
  const K = kernelsFor(backend);
  if (K === null) throw new Error(`${MLP_BACKWARD_KERNEL}: WASM kernels unavailable (${failure ?? 'unknown'})`);
  const attrs = args.attrs as unknown as MlpAttrs;
  const L = attrs.activations.length;
  const x = input(args.inputs, 'x');
  const m = x.shape[0];
  const sizes = layerSizes(args.inputs, L);
  // Scratch: two dZ buffers (hidden widths), Wᵀ, dWᵀ for narrow layers, Xᵀ, the packing panel.
  const dzBytes = 4 * m * Math.max(0, ...sizes.slice(0, -1).map(([, n]) => n));
  const wtBytes = 4 * Math.max(...sizes.map(([k, n]) => k * n));
  const xtBytes = 4 * m * Math.max(...sizes.map(([k]) => k));
  const innerMax = Math.max(m, ...sizes.map(([k, n]) => Math.max(k, n)));
  const outAct = attrs.activations[L - 1];
  const dyBytes = outAct === 'linear' ? 0 : 4 * m * sizes[L - 1][1];
  const [dz0, dz1, wt, tmp, xt, dyMasked, pack] = K.scratchBuffers([dzBytes, dzBytes, wtBytes, wtBytes, xtBytes, dyBytes, packBytes(innerMax)]);
  const dzBuf = [dz0, dz1];

  const dx = backend.makeOutput([m, sizes[0][0]], 'float32');
  const grads: tf.TensorInfo[] = [];
  if (!attrs.inputOnly) for (const [k, n] of sizes) grads.push(backend.makeOutput([k, n], 'float32'), backend.makeOutput([n], 'float32'));

  let dz = K.addr(input(args.inputs, 'dy'));
  if (outAct !== 'linear') {
    const mask = outAct === 'relu' ? K.k.reluMask : K.k.tanhMask;
    mask(dz, K.addr(input(args.inputs, 'y')), m * sizes[L - 1][1], dyMasked);
    dz = dyMasked;
  }
  for (let l = L - 1; l >= 0; l--) {
    const [k, n] = sizes[l];
    if (!attrs.inputOnly) {
      const xl = l === 0 ? K.addr(x) : K.addr(input(args.inputs, `h${l}`));
      const dW = K.addr(grads[2 * l]);
      if (n >= 4) {
        // dW[k, n] = Xᵀ·dZ on an explicit Xᵀ: reading X down its columns instead measured 12%
        // slower (each p touches a new cache line, 1 KB apart, so all in a few L1 sets).
        K.k.transpose(xl, m, k, xt);
        K.k.gemm(xt, m, 1, dz, n, dW, n, k, n, m, 0, 0, 0, pack);
      } else {
        // Narrow layer: dWᵀ[n, k] = dZᵀ·X runs on vector tiles; same sums, same order.
        K.k.gemm(dz, 1, n, xl, k, tmp, k, n, k, m, 0, 0, 0, pack);
        K.k.transpose(tmp, n, k, dW);
      }
      K.k.colsum(dz, m, n, K.addr(grads[2 * l + 1]));
    }
    // dX[m, k] = dZ·Wᵀ, times the previous layer's activation derivative.
    K.k.transpose(K.addr(input(args.inputs, `w${l}`)), k, n, wt);
    const target = l === 0 ? K.addr(dx) : dzBuf[l % 2];
    const prev = l > 0 ? attrs.activations[l - 1] : 'linear';
    const h = prev === 'linear' ? 0 : K.addr(input(args.inputs, `h${l}`));
    K.k.gemm(dz, n, 1, wt, k, target, k, m, k, n, 0, prev === 'relu' ? GEMM_MASK : 0, prev === 'relu' ? h : 0, pack);
    if (prev === 'tanh') K.k.tanhMask(target, h, m * k, target);
    dz = target;
  }
  return [dx, ...grads];
}

let registered = false;

/** Registers the fused MLP kernels for the WASM backend (idempotent; done on import). */
export function registerFusedKernels(): void {
  if (registered) return;
  registered = true;
  tf.registerKernel({ kernelName: MLP_FORWARD_KERNEL, backendName: 'wasm', kernelFunc: mlpForwardKernel as unknown as tf.KernelFunc });
  tf.registerKernel({ kernelName: MLP_BACKWARD_KERNEL, backendName: 'wasm', kernelFunc: mlpBackwardKernel as unknown as tf.KernelFunc });
}
registerFusedKernels();

/** tfjs-backend-cpu's Identity: the output shares the input's buffer (one more reference). */
const sharingIdentity: tf.KernelConfig = {
  kernelName: tf.Identity,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend }) => {
    const x = inputs.x as tf.TensorInfo;
    (backend as unknown as { incRef(dataId: object): void }).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  },
};

/**
 * `save(tensors)` of a customGrad op without copying them. tfjs keeps saved tensors as
 * clones, and the WASM backend's Identity kernel copies the data (the CPU backend's shares
 * it), which for an MLP's hidden activations and weights is ~0.5 MB per step. tfjs tensors
 * are immutable, so sharing is safe; the swap lasts only for this call.
 */
export function saveWithoutCopies(save: (tensors: tf.Tensor[]) => void, tensors: tf.Tensor[]): void {
  const identityKernel = tf.getKernel(tf.Identity, 'wasm');
  if (identityKernel === undefined || identityKernel === sharingIdentity || tf.getBackend() !== 'wasm') {
    save(tensors);
    return;
  }
  tf.unregisterKernel(tf.Identity, 'wasm');
  tf.registerKernel(sharingIdentity);
  try {
    save(tensors);
  } finally {
    tf.unregisterKernel(tf.Identity, 'wasm');
    tf.registerKernel(identityKernel);
  }
}

/** True when the engine is recording a gradient tape (inside tf.grad / variableGrads). */
function tapeIsOn(): boolean {
  const state = (tf.engine() as unknown as { state: { gradientDepth: number; kernelDepth: number } }).state;
  return state.gradientDepth > 0 && state.kernelDepth === 0;
}

/**
 * Whether {@link fusedMlpApply} can run these layers on `x` now: fused kernels on, WASM
 * active, rank-2 float32 input.
 */
export function canFuseMlp(x: tf.Tensor, layers: readonly FusableLayer[]): boolean {
  return x.rank === 2 && x.dtype === 'float32' && x.shape[0] > 0 && layers.length > 0 && activeWasmKernels() !== null;
}

/**
 * y = MLP(x) in one kernel; under a gradient tape, a `customGrad` op whose backward pass is
 * one kernel (gradients for x and every kernel and bias). With `frozen` the weights are
 * constants of the op: only x gets a gradient, and the backward kernel computes dx alone
 * (see {@link Mlp.apply}). Call only when {@link canFuseMlp} is true. The caller owns y.
 */
export function fusedMlpApply(x: tf.Tensor2D, layers: readonly FusableLayer[], options: { frozen?: boolean } = {}): tf.Tensor2D {
  const activations = layers.map((l) => l.activation);
  const inputs: tf.NamedTensorMap = { x };
  layers.forEach((l, i) => {
    inputs[`w${i}`] = l.kernel;
    inputs[`b${i}`] = l.bias;
  });
  const engine = tf.engine();
  if (!tapeIsOn()) {
    // A kernel that returns an array gets an array back, even of one.
    return (engine.runKernel(MLP_FORWARD_KERNEL, inputs, { activations, keepHidden: false } as unknown as tf.NamedAttrMap) as tf.Tensor[])[0] as tf.Tensor2D;
  }
  const L = layers.length;
  const frozen = options.frozen === true;
  const op = tf.customGrad((...args: unknown[]) => {
    const save = args[args.length - 1] as (tensors: tf.Tensor[]) => void;
    const outs = engine.runKernel(MLP_FORWARD_KERNEL, inputs, { activations, keepHidden: true } as unknown as tf.NamedAttrMap) as tf.Tensor[];
    // Saved: x, hidden h1..h_{L-1}, kernels, then y (for a ReLU or tanh output layer); shared, not
    // copied (see saveWithoutCopies).
    saveWithoutCopies(save, [x, ...outs.slice(1), ...layers.map((l) => l.kernel), outs[0]]);
    return {
      value: outs[0],
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const bInputs: tf.NamedTensorMap = { dy, x: saved[0], y: saved[2 * L] };
        for (let l = 1; l < L; l++) bInputs[`h${l}`] = saved[l];
        for (let l = 0; l < L; l++) bInputs[`w${l}`] = saved[L + l];
        return engine.runKernel(MLP_BACKWARD_KERNEL, bInputs, { activations, inputOnly: frozen } as unknown as tf.NamedAttrMap) as tf.Tensor[];
      },
    };
  });
  // Frozen: the op's only input is x, so the tape never asks for the weights' gradients.
  const flat: tf.Tensor[] = [x];
  if (!frozen) for (const l of layers) flat.push(l.kernel, l.bias);
  return op(...flat) as tf.Tensor2D;
}

/**
 * Forward pass on plain arrays, without creating tensors: `obs` holds `batch` rows of the
 * input size; returns the outputs (batch x output size) as a new Float32Array. For acting,
 * where a tfjs round trip (tensor upload, kernels, `dataSync`) costs more than the arithmetic.
 * Call only when {@link activeWasmKernels} is non-null.
 */
export function fusedMlpPredict(K: BoundWasmKernels, obs: ArrayLike<number>, batch: number, layers: readonly FusableLayer[]): Float32Array {
  const shapes = layers.map((l) => l.kernel.shape as [number, number]);
  const k0 = shapes[0][0];
  const widths = shapes.map(([, n]) => (n + 3) & ~3);
  const actBytes = 4 * batch * Math.max(...widths);
  const [inBuf, a0, a1, pack] = K.scratchBuffers([4 * batch * k0, actBytes, actBytes, packBytes(Math.max(...shapes.map(([k]) => k)))]);
  const heap = K.heapF32;
  heap.set(obs as ArrayLike<number>, inBuf >>> 2);
  let src = inBuf;
  let k = k0;
  for (let l = 0; l < layers.length; l++) {
    const n = shapes[l][1];
    const out = l % 2 === 0 ? a0 : a1;
    const act = layers[l].activation;
    K.k.gemm(src, k, 1, K.addr(layers[l].kernel), n, out, n, batch, n, k, K.addr(layers[l].bias), act === 'relu' ? GEMM_RELU : 0, 0, pack);
    if (act === 'tanh') K.k.tanh(out, batch * n, out);
    src = out;
    k = n;
  }
  const start = src >>> 2;
  return K.heapF32.slice(start, start + batch * k);
}
