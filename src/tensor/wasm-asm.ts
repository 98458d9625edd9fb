/**
 * A tiny WebAssembly assembler: just enough of the binary format (one imported memory,
 * functions, exports; i32, f32 and 128-bit SIMD instructions; structured control flow) to
 * write Kairos's hand-tuned kernels (`wasm-kernels.ts`) in TypeScript. Kernels are generated
 * by TypeScript loops (unrolled micro-tiles), so there is no build step, no toolchain and no
 * binary blob in the repository: the bytes are produced at start-up and compiled once.
 *
 * Encoding reference: the WebAssembly Core Specification 2.0, section 5 (binary format), and
 * the fixed-width SIMD proposal's opcode table (prefix 0xfd).
 *
 * @example
 * const m = new WasmModuleBuilder();
 * m.importMemory('env', 'memory');
 * const f = m.func('add', [I32, I32], [I32]);
 * f.get(0).get(1).op(Op.i32_add);
 * const bytes = m.build(); // Uint8Array, ready for WebAssembly.compile
 */

/** Value types. */
export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;
export type ValType = typeof I32 | typeof F32 | typeof V128;

/** Core opcodes (single byte). */
export const Op = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  br_if: 0x0d,
  return: 0x0f,
  call: 0x10,
  drop: 0x1a,
  select: 0x1b,
  local_get: 0x20,
  local_set: 0x21,
  local_tee: 0x22,
  i32_load: 0x28,
  f32_load: 0x2a,
  i32_store: 0x36,
  f32_store: 0x38,
  i32_const: 0x41,
  f32_const: 0x43,
  i32_eqz: 0x45,
  i32_eq: 0x46,
  i32_ne: 0x47,
  i32_lt_s: 0x48,
  i32_lt_u: 0x49,
  i32_gt_s: 0x4a,
  i32_gt_u: 0x4b,
  i32_le_s: 0x4c,
  i32_le_u: 0x4d,
  i32_ge_s: 0x4e,
  i32_ge_u: 0x4f,
  f32_lt: 0x5d,
  f32_gt: 0x5e,
  i32_add: 0x6a,
  i32_sub: 0x6b,
  i32_mul: 0x6c,
  i32_and: 0x71,
  i32_or: 0x72,
  i32_shl: 0x74,
  i32_shr_u: 0x76,
  f32_abs: 0x8b,
  f32_neg: 0x8c,
  f32_sqrt: 0x91,
  f32_add: 0x92,
  f32_sub: 0x93,
  f32_mul: 0x94,
  f32_div: 0x95,
  f32_min: 0x96,
  f32_max: 0x97,
} as const;

/** SIMD opcodes (after the 0xfd prefix, LEB128-encoded). */
export const Simd = {
  v128_load: 0x00,
  v128_load32_splat: 0x09,
  v128_store: 0x0b,
  v128_const: 0x0c,
  i8x16_shuffle: 0x0d,
  f32x4_splat: 0x13,
  f32x4_extract_lane: 0x1f,
  f32x4_eq: 0x41,
  f32x4_lt: 0x43,
  f32x4_gt: 0x44,
  f32x4_le: 0x45,
  f32x4_ge: 0x46,
  v128_not: 0x4d,
  v128_and: 0x4e,
  v128_andnot: 0x4f,
  v128_or: 0x50,
  v128_bitselect: 0x52,
  f32x4_abs: 0xe0,
  f32x4_neg: 0xe1,
  f32x4_sqrt: 0xe3,
  f32x4_add: 0xe4,
  f32x4_sub: 0xe5,
  f32x4_mul: 0xe6,
  f32x4_div: 0xe7,
  f32x4_min: 0xe8,
  f32x4_max: 0xe9,
  /** Pseudo-min `b < a ? b : a`: one `minps` on x64 (see `f32x4_pmax`). */
  f32x4_pmin: 0xea,
  /** Pseudo-max `a < b ? b : a`: one `maxps` on x64, where `f32x4.max` (NaN- and ±0-exact) is eight instructions. */
  f32x4_pmax: 0xeb,
  /** Relaxed SIMD (V8 ≥ 11.4 by default): a·b + c, fused where the CPU has FMA. */
  f32x4_relaxed_madd: 0x105,
} as const;

function uleb(out: number[], value: number): void {
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
}

function sleb(out: number[], value: number): void {
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return;
    }
    out.push(byte | 0x80);
  }
}

function name(out: number[], s: string): void {
  const bytes = new TextEncoder().encode(s);
  uleb(out, bytes.length);
  out.push(...bytes);
}

/** Appends without spreading (spreading a long array overflows the argument limit). */
function append(out: number[], items: readonly number[]): void {
  for (const x of items) out.push(x);
}

function section(out: number[], id: number, body: number[]): void {
  out.push(id);
  uleb(out, body.length);
  append(out, body);
}

/** One function body under construction; every emitter returns `this` for chaining. */
export class FuncBuilder {
  readonly code: number[] = [];
  private readonly localTypes: ValType[] = [];

  constructor(
    readonly index: number,
    readonly params: readonly ValType[],
    readonly results: readonly ValType[],
  ) {}

  /** Declares a local and returns its index. */
  local(type: ValType): number {
    this.localTypes.push(type);
    return this.params.length + this.localTypes.length - 1;
  }

  op(...bytes: number[]): this {
    this.code.push(...bytes);
    return this;
  }

  simd(opcode: number, ...immediates: number[]): this {
    this.code.push(0xfd);
    uleb(this.code, opcode);
    this.code.push(...immediates);
    return this;
  }

  get(i: number): this {
    this.code.push(Op.local_get);
    uleb(this.code, i);
    return this;
  }

  set(i: number): this {
    this.code.push(Op.local_set);
    uleb(this.code, i);
    return this;
  }

  tee(i: number): this {
    this.code.push(Op.local_tee);
    uleb(this.code, i);
    return this;
  }

  i32(value: number): this {
    this.code.push(Op.i32_const);
    sleb(this.code, value);
    return this;
  }

  f32(value: number): this {
    this.code.push(Op.f32_const);
    const b = new Uint8Array(new Float32Array([value]).buffer);
    this.code.push(...b);
    return this;
  }

  /** `local[i] += delta` for an i32 local. */
  inc(i: number, delta: number | { local: number }): this {
    this.get(i);
    if (typeof delta === 'number') this.i32(delta);
    else this.get(delta.local);
    return this.op(Op.i32_add).set(i);
  }

  private memarg(align: number, offset: number): void {
    uleb(this.code, align);
    uleb(this.code, offset);
  }

  /** Loads/stores take the address from the stack and a constant byte offset. */
  loadF32(offset = 0): this {
    this.code.push(Op.f32_load);
    this.memarg(2, offset);
    return this;
  }

  storeF32(offset = 0): this {
    this.code.push(Op.f32_store);
    this.memarg(2, offset);
    return this;
  }

  loadI32(offset = 0): this {
    this.code.push(Op.i32_load);
    this.memarg(2, offset);
    return this;
  }

  loadV(offset = 0): this {
    this.code.push(0xfd);
    uleb(this.code, Simd.v128_load);
    this.memarg(2, offset);
    return this;
  }

  /** Loads one f32 and splats it to all four lanes. */
  splatLoad(offset = 0): this {
    this.code.push(0xfd);
    uleb(this.code, Simd.v128_load32_splat);
    this.memarg(2, offset);
    return this;
  }

  storeV(offset = 0): this {
    this.code.push(0xfd);
    uleb(this.code, Simd.v128_store);
    this.memarg(2, offset);
    return this;
  }

  /** `i8x16.shuffle` of the two v128 on the stack, by f32 lane (0-3 first, 4-7 second). */
  shuffleF32(lanes: readonly [number, number, number, number]): this {
    this.code.push(0xfd);
    uleb(this.code, Simd.i8x16_shuffle);
    for (const l of lanes) this.code.push(4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3);
    return this;
  }

  /** A v128 constant with four equal f32 lanes. */
  vf32(value: number): this {
    this.code.push(0xfd);
    uleb(this.code, Simd.v128_const);
    const b = new Uint8Array(new Float32Array([value, value, value, value]).buffer);
    this.code.push(...b);
    return this;
  }

  /** `block ... end`; `br 0` inside jumps past the end. */
  block(body: () => void): this {
    this.code.push(Op.block, 0x40);
    body();
    this.code.push(Op.end);
    return this;
  }

  /** `loop ... end`; `br 0` inside jumps back to the start. */
  loop(body: () => void): this {
    this.code.push(Op.loop, 0x40);
    body();
    this.code.push(Op.end);
    return this;
  }

  /** `if ... (else ...) end` on the i32 on the stack. */
  if(then: () => void, otherwise?: () => void): this {
    this.code.push(Op.if, 0x40);
    then();
    if (otherwise) {
      this.code.push(Op.else);
      otherwise();
    }
    this.code.push(Op.end);
    return this;
  }

  br(depth: number): this {
    this.code.push(Op.br);
    uleb(this.code, depth);
    return this;
  }

  brIf(depth: number): this {
    this.code.push(Op.br_if);
    uleb(this.code, depth);
    return this;
  }

  call(fn: FuncBuilder): this {
    this.code.push(Op.call);
    uleb(this.code, fn.index);
    return this;
  }

  /**
   * `for (i = start; i < end; i += step) body()` over i32 locals, written as
   * `if (start < end) do { body } while ((i += step) < end)`. `end` is a local or a constant.
   */
  for(i: number, start: number | { local: number }, end: number | { local: number }, step: number, body: () => void): this {
    const push = (v: number | { local: number }) => (typeof v === 'number' ? this.i32(v) : this.get(v.local));
    push(start).set(i);
    return this.block(() => {
      this.get(i);
      push(end);
      this.op(Op.i32_ge_s).brIf(0);
      this.loop(() => {
        body();
        this.inc(i, step).get(i);
        push(end);
        this.op(Op.i32_lt_s).brIf(0);
      });
    });
  }

  /** Body bytes: locals vector, code, `end`. */
  encode(): number[] {
    const out: number[] = [];
    // Run-length encode the local types.
    const groups: Array<[number, ValType]> = [];
    for (const t of this.localTypes) {
      const last = groups[groups.length - 1];
      if (last && last[1] === t) last[0]++;
      else groups.push([1, t]);
    }
    uleb(out, groups.length);
    for (const [n, t] of groups) {
      uleb(out, n);
      out.push(t);
    }
    append(out, this.code);
    out.push(Op.end);
    const sized: number[] = [];
    uleb(sized, out.length);
    append(sized, out);
    return sized;
  }
}

/** A module: one imported memory, functions, exports. */
export class WasmModuleBuilder {
  private memory: { module: string; field: string; minPages: number } | null = null;
  private readonly funcs: FuncBuilder[] = [];
  private readonly exports: Array<[string, number]> = [];

  importMemory(module: string, field: string, minPages = 1): void {
    this.memory = { module, field, minPages };
  }

  /** Adds a function; exported under `exportName` unless it is null. */
  func(exportName: string | null, params: readonly ValType[], results: readonly ValType[] = []): FuncBuilder {
    const f = new FuncBuilder(this.funcs.length, params, results);
    this.funcs.push(f);
    if (exportName !== null) this.exports.push([exportName, f.index]);
    return f;
  }

  build(): Uint8Array {
    const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    // One type per function (duplicates are legal and keep the builder simple).
    const types: number[] = [];
    uleb(types, this.funcs.length);
    for (const f of this.funcs) {
      types.push(0x60);
      uleb(types, f.params.length);
      types.push(...f.params);
      uleb(types, f.results.length);
      types.push(...f.results);
    }
    section(out, 1, types);
    if (this.memory) {
      const imports: number[] = [];
      uleb(imports, 1);
      name(imports, this.memory.module);
      name(imports, this.memory.field);
      imports.push(0x02, 0x00);
      uleb(imports, this.memory.minPages);
      section(out, 2, imports);
    }
    const fnSec: number[] = [];
    uleb(fnSec, this.funcs.length);
    for (const f of this.funcs) uleb(fnSec, f.index);
    section(out, 3, fnSec);
    const exp: number[] = [];
    uleb(exp, this.exports.length);
    for (const [n, idx] of this.exports) {
      name(exp, n);
      exp.push(0x00);
      uleb(exp, idx);
    }
    section(out, 7, exp);
    const codeSec: number[] = [];
    uleb(codeSec, this.funcs.length);
    for (const f of this.funcs) append(codeSec, f.encode());
    section(out, 10, codeSec);
    return new Uint8Array(out);
  }
}
