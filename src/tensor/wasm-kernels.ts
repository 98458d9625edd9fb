/**
 * Kairos's own WebAssembly kernels for small dense networks, generated with `wasm-asm.ts` and
 * run directly on the tfjs WASM backend's heap: the module imports the backend's memory, so
 * tensors are read and written in place by address and nothing is copied.
 *
 * Why: for the small MLPs of RL (hidden 64-256, batch 1-256) the tfjs WASM backend spends
 * much of a training step outside arithmetic. XNNPACK's matMul packs its right operand into a
 * cache keyed by tensor id; in training every right operand is new each step (the weights
 * after an update, `dy`, transposes), so every matMul re-packs it (0.45 ms for a 256x256
 * operand, more than the 128x256x256 multiply itself). These kernels read row-major operands
 * as they are (no cache: only the current 8-column panel of B is copied to a small contiguous
 * buffer), fuse bias, ReLU and the ReLU derivative into the matMul, and run Adam over a
 * parameter in one pass instead of 13 kernels.
 *
 * Kernels (float32, row-major, addresses and strides in elements unless noted):
 * - `gemm(a, sai, sap, b, sbp, c, ldc, m, n, k, bias, flags, mask, pack)`:
 *   C[i,j] = epi(Σ_p A(i,p)·B(p,j) + bias[j]) with A(i,p) = a[i·sai + p·sap] (A or Aᵀ of a
 *   row-major matrix), B(p,j) = b[p·sbp + j], C[i,j] = c[i·ldc + j]; `a`, `b`, `c`, `bias`
 *   and `mask` are byte addresses, `bias` 0 means none. `flags`: {@link GEMM_RELU},
 *   {@link GEMM_MASK} (keep C[i,j] only where mask[i·ldc + j] > 0: the ReLU derivative),
 *   {@link GEMM_ACCUMULATE} (C += ...). `pack`: a scratch buffer of 128·k bytes for the
 *   B panel, or 0 (slower on large matrices; see `genPack`). Every output is a sum over p in
 *   increasing order with a separate multiply and add, as XNNPACK's WASM SIMD build computes
 *   it, so results match tfjs's matMul bit for bit (unless built with `fma`).
 * - `transpose(src, rows, cols, dst)`: dst[j·rows + i] = src[i·cols + j].
 * - `colsum(src, rows, cols, dst)`: dst[j] = Σ_i src[i·cols + j], i increasing (as tfjs's Sum).
 * - `reluMask(src, y, n, dst)`: dst[i] = y[i] > 0 ? src[i] : 0.
 * - `tanh(src, n, dst)`: dst[i] = tanh(src[i]) within 4.1e-7 (a rational approximation; dst
 *   may be src).
 * - `tanhMask(src, y, n, dst)`: dst[i] = (1 - y[i]·y[i])·src[i] (the tanh derivative).
 * - `adam(p, out, g, m, v, n, beta1, 1-beta1, beta2, 1-beta2, 1-beta1^t, 1-beta2^t, eps, -lr)`:
 *   tfjs's Adam update operation for operation in float32, m and v in place, the new
 *   parameter to `out` (see `fused-adam.ts`).
 *
 * Micro-tiles are 4 rows x 8 columns (8 v128 accumulators), the fastest of 2x8, 4x4, 4x8,
 * 4x12, 5x8, 6x8 and 8x8 measured in Node 20 on x64 (larger tiles spill SIMD registers;
 * unrolling the p loop did not help). Batches under 4 rows use 32-column tiles instead so
 * batch-1 inference still has 8 independent accumulators. Measured throughput on a Zen 3
 * core: 28-30 GFLOP/s at 128x256x256 (XNNPACK: 20-25 with its operand cached).
 */
import { F32, FuncBuilder, I32, Op, Simd, V128, WasmModuleBuilder } from './wasm-asm.js';

/** Rows per micro-tile. */
const TILE_ROWS = 4;
/** Column vectors (of 4 floats) per micro-tile. */
const TILE_VECS = 2;
/**
 * p steps per iteration of the packed tile's loop. 1: unrolling by 2 or 4 (with immediate
 * offsets) measured 10-25% slower in V8 (Node 20), apparently from worse register allocation.
 */
const UNROLL = 1;
/** Column vectors per tile when the whole matrix has fewer than TILE_ROWS rows. */
const WIDE_VECS = 8;

/** `gemm` flag: ReLU on the output. */
export const GEMM_RELU = 1;
/** `gemm` flag: zero outputs where the mask (laid out like C) is not > 0. */
export const GEMM_MASK = 2;
/** `gemm` flag: add to C instead of overwriting it. */
export const GEMM_ACCUMULATE = 4;

/** Parameters shared by every tile function (byte addresses and byte strides). */
const P = { a: 0, sai4: 1, sap4: 2, b: 3, sbp4: 4, c: 5, ldc4: 6, k: 7, bias: 8, flags: 9, mask: 10 } as const;
const TILE_SIGNATURE = [I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32] as const;

/**
 * acc += s·b: `f32x4.mul` then `f32x4.add` (two roundings, as XNNPACK's WASM SIMD build, so
 * results match tfjs bit for bit), or with `fma` one `f32x4.relaxed_madd` (a fused
 * multiply-add where the CPU has one: one rounding, ~25% faster matMuls).
 */
function mulAdd(f: FuncBuilder, acc: number, s: number, b: number, fma: boolean): void {
  if (fma) f.get(s).get(b).get(acc).simd(Simd.f32x4_relaxed_madd).set(acc);
  else f.get(acc).get(s).get(b).simd(Simd.f32x4_mul).simd(Simd.f32x4_add).set(acc);
}

/** One pointer per row of A: ap[r] = a + r·sai4. */
function rowPointers(f: FuncBuilder, rows: number): number[] {
  const ap = Array.from({ length: rows }, () => f.local(I32));
  f.get(P.a).set(ap[0]);
  for (let r = 1; r < rows; r++) f.get(ap[r - 1]).get(P.sai4).op(Op.i32_add).set(ap[r]);
  return ap;
}

/**
 * A `rows` x (4·vecs) tile: accumulators in v128 locals, the B row loaded once per p and
 * reused by every row, one A element per row splatted per p.
 */
function genVectorTile(m: WasmModuleBuilder, rows: number, vecs: number, fma: boolean): FuncBuilder {
  const f = m.func(null, TILE_SIGNATURE);
  const acc: number[][] = [];
  for (let r = 0; r < rows; r++) acc.push(Array.from({ length: vecs }, () => f.local(V128)));
  const bv = Array.from({ length: vecs }, () => f.local(V128));
  const s = f.local(V128);
  const ap = rowPointers(f, rows);
  const bp = f.local(I32);
  const p = f.local(I32);
  f.get(P.b).set(bp);
  for (const row of acc) for (const a of row) f.vf32(0).set(a);
  f.for(p, 0, { local: P.k }, 1, () => {
    for (let v = 0; v < vecs; v++) f.get(bp).loadV(16 * v).set(bv[v]);
    for (let r = 0; r < rows; r++) {
      f.get(ap[r]).splatLoad(0).set(s);
      for (let v = 0; v < vecs; v++) {
        mulAdd(f, acc[r][v], s, bv[v], fma);
      }
      f.inc(ap[r], { local: P.sap4 });
    }
    f.inc(bp, { local: P.sbp4 });
  });
  genVectorEpilogue(f, acc, rows, vecs);
  return f;
}

/** Bias, ReLU, mask, then store or accumulate the accumulators of a vector tile. */
function genVectorEpilogue(f: FuncBuilder, acc: number[][], rows: number, vecs: number): void {
  const bv = Array.from({ length: vecs }, () => f.local(V128));
  const cp = f.local(I32);
  const mp = f.local(I32);
  f.get(P.bias).if(() => {
    for (let v = 0; v < vecs; v++) {
      f.get(P.bias).loadV(16 * v).set(bv[v]);
      for (let r = 0; r < rows; r++) f.get(acc[r][v]).get(bv[v]).simd(Simd.f32x4_add).set(acc[r][v]);
    }
  });
  f.get(P.flags).i32(GEMM_RELU).op(Op.i32_and).if(() => {
    // pmax(x, 0) = x < 0 ? 0 : x: NaN stays NaN, as with tfjs's ReLU.
    for (const row of acc) for (const a of row) f.get(a).vf32(0).simd(Simd.f32x4_pmax).set(a);
  });
  f.get(P.flags).i32(GEMM_MASK).op(Op.i32_and).if(() => {
    f.get(P.mask).set(mp);
    for (let r = 0; r < rows; r++) {
      for (let v = 0; v < vecs; v++) {
        f.get(acc[r][v]).get(mp).loadV(16 * v).vf32(0).simd(Simd.f32x4_gt).simd(Simd.v128_and).set(acc[r][v]);
      }
      f.inc(mp, { local: P.ldc4 });
    }
  });
  f.get(P.c).set(cp);
  f.get(P.flags).i32(GEMM_ACCUMULATE).op(Op.i32_and).if(
    () => {
      for (let r = 0; r < rows; r++) {
        for (let v = 0; v < vecs; v++) f.get(cp).get(cp).loadV(16 * v).get(acc[r][v]).simd(Simd.f32x4_add).storeV(16 * v);
        f.inc(cp, { local: P.ldc4 });
      }
    },
    () => {
      for (let r = 0; r < rows; r++) {
        for (let v = 0; v < vecs; v++) f.get(cp).get(acc[r][v]).storeV(16 * v);
        f.inc(cp, { local: P.ldc4 });
      }
    },
  );
}

/**
 * The same tile for the common case: A row-major (sap = 1) and B a packed panel (row stride
 * 16·vecs bytes). Both strides are then constants, so p is unrolled by `unroll` with every
 * address an immediate offset: per p only the loads and the arithmetic remain.
 */
function genPackedTile(m: WasmModuleBuilder, rows: number, vecs: number, unroll: number, fma: boolean): FuncBuilder {
  const f = m.func(null, TILE_SIGNATURE);
  const acc: number[][] = [];
  for (let r = 0; r < rows; r++) acc.push(Array.from({ length: vecs }, () => f.local(V128)));
  const bv = Array.from({ length: vecs }, () => f.local(V128));
  const s = f.local(V128);
  const ap = rowPointers(f, rows);
  const bp = f.local(I32);
  const p = f.local(I32);
  const kMain = f.local(I32);
  const rowBytes = 16 * vecs;
  f.get(P.b).set(bp);
  for (const row of acc) for (const a of row) f.vf32(0).set(a);
  const step = (u: number) => {
    for (let v = 0; v < vecs; v++) f.get(bp).loadV(u * rowBytes + 16 * v).set(bv[v]);
    for (let r = 0; r < rows; r++) {
      f.get(ap[r]).splatLoad(4 * u).set(s);
      for (let v = 0; v < vecs; v++) {
        mulAdd(f, acc[r][v], s, bv[v], fma);
      }
    }
  };
  f.get(P.k).i32(-unroll).op(Op.i32_and).set(kMain);
  f.for(p, 0, { local: kMain }, unroll, () => {
    for (let u = 0; u < unroll; u++) step(u);
    for (const q of ap) f.inc(q, 4 * unroll);
    f.inc(bp, unroll * rowBytes);
  });
  f.for(p, { local: kMain }, { local: P.k }, 1, () => {
    step(0);
    for (const q of ap) f.inc(q, 4);
    f.inc(bp, rowBytes);
  });
  genVectorEpilogue(f, acc, rows, vecs);
  return f;
}

/** A `rows` x 1 tile in scalar arithmetic, for the last (n mod 4) columns. */
function genScalarTile(m: WasmModuleBuilder, rows: number): FuncBuilder {
  const f = m.func(null, TILE_SIGNATURE);
  const acc = Array.from({ length: rows }, () => f.local(F32));
  const bs = f.local(F32);
  const ap = rowPointers(f, rows);
  const bp = f.local(I32);
  const p = f.local(I32);
  const cp = f.local(I32);
  const mp = f.local(I32);
  f.get(P.b).set(bp);
  for (const a of acc) f.f32(0).set(a);
  f.for(p, 0, { local: P.k }, 1, () => {
    f.get(bp).loadF32().set(bs);
    for (let r = 0; r < rows; r++) {
      f.get(acc[r]).get(ap[r]).loadF32().get(bs).op(Op.f32_mul).op(Op.f32_add).set(acc[r]);
      f.inc(ap[r], { local: P.sap4 });
    }
    f.inc(bp, { local: P.sbp4 });
  });
  f.get(P.bias).if(() => {
    f.get(P.bias).loadF32().set(bs);
    for (const a of acc) f.get(a).get(bs).op(Op.f32_add).set(a);
  });
  f.get(P.flags).i32(GEMM_RELU).op(Op.i32_and).if(() => {
    for (const a of acc) f.get(a).f32(0).op(Op.f32_max).set(a);
  });
  f.get(P.flags).i32(GEMM_MASK).op(Op.i32_and).if(() => {
    f.get(P.mask).set(mp);
    for (const a of acc) {
      // select(acc, 0, mask > 0)
      f.get(a).f32(0).get(mp).loadF32().f32(0).op(Op.f32_gt).op(Op.select).set(a);
      f.inc(mp, { local: P.ldc4 });
    }
  });
  f.get(P.c).set(cp);
  f.get(P.flags).i32(GEMM_ACCUMULATE).op(Op.i32_and).if(
    () => {
      for (const a of acc) {
        f.get(cp).get(cp).loadF32().get(a).op(Op.f32_add).storeF32();
        f.inc(cp, { local: P.ldc4 });
      }
    },
    () => {
      for (const a of acc) {
        f.get(cp).get(a).storeF32();
        f.inc(cp, { local: P.ldc4 });
      }
    },
  );
  return f;
}

/**
 * Copies a panel of B (k rows x 4·vecs columns, row stride sbp4 bytes) into `dst`
 * contiguously. Rows of a 256-wide float32 matrix are 1 KB apart, so the panel's cache lines
 * all fall into 4 of L1's 64 sets and evict each other; packed, the panel stays in L1 while
 * every row tile of A reuses it.
 */
function genPack(m: WasmModuleBuilder, vecs: number): FuncBuilder {
  const f = m.func(null, [I32, I32, I32, I32]);
  const [b, sbp4, k, dst] = [0, 1, 2, 3];
  const p = f.local(I32);
  const sp = f.local(I32);
  const dp = f.local(I32);
  f.get(b).set(sp);
  f.get(dst).set(dp);
  f.for(p, 0, { local: k }, 1, () => {
    for (let v = 0; v < vecs; v++) f.get(dp).get(sp).loadV(16 * v).storeV(16 * v);
    f.inc(sp, { local: sbp4 });
    f.inc(dp, 16 * vecs);
  });
  return f;
}

/** The exported `gemm`: column panels (32 for tiny batches, then 8, 4, 1), row tiles inside. */
function genGemm(m: WasmModuleBuilder, fma: boolean): void {
  const tiles = new Map<number, FuncBuilder[]>(); // panel width -> tile per row count
  const make = (width: number, maxRows: number, gen: (rows: number) => FuncBuilder) => {
    const list: FuncBuilder[] = [];
    for (let rows = 1; rows <= maxRows; rows++) list[rows] = gen(rows);
    tiles.set(width, list);
  };
  make(4 * WIDE_VECS, TILE_ROWS - 1, (rows) => genVectorTile(m, rows, WIDE_VECS, fma));
  make(4 * TILE_VECS, TILE_ROWS, (rows) => genVectorTile(m, rows, TILE_VECS, fma));
  make(4, TILE_ROWS, (rows) => genVectorTile(m, rows, 1, fma));
  make(1, TILE_ROWS, (rows) => genScalarTile(m, rows));
  const packedFull = new Map<number, FuncBuilder>([
    [4 * TILE_VECS, genPackedTile(m, TILE_ROWS, TILE_VECS, UNROLL, fma)],
    [4, genPackedTile(m, TILE_ROWS, 1, UNROLL, fma)],
  ]);

  const packers = new Map<number, FuncBuilder>([4 * WIDE_VECS, 4 * TILE_VECS, 4].map((w) => [w, genPack(m, w / 4)]));
  const f = m.func('gemm', [I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32]);
  const [a, sai, sap, b, sbp, c, ldc, M, N, K, bias, flags, mask, packBuf] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
  const bT = f.local(I32); // B as the tiles see it: packed panel or the original
  const sbpT = f.local(I32);
  const fast = f.local(I32); // this panel is packed and A is row-major: use the unrolled tile
  const sai4 = f.local(I32);
  const sap4 = f.local(I32);
  const sbp4 = f.local(I32);
  const ldc4 = f.local(I32);
  const j = f.local(I32);
  const i = f.local(I32);
  const rowsLeft = f.local(I32);
  for (const [src, dst] of [
    [sai, sai4],
    [sap, sap4],
    [sbp, sbp4],
    [ldc, ldc4],
  ]) {
    f.get(src).i32(2).op(Op.i32_shl).set(dst);
  }
  /** Pushes the tile arguments for the tile at row i, column j. */
  const args = () => {
    f.get(a).get(i).get(sai4).op(Op.i32_mul).op(Op.i32_add);
    f.get(sai4).get(sap4);
    f.get(bT);
    f.get(sbpT);
    f.get(c).get(i).get(ldc4).op(Op.i32_mul).op(Op.i32_add).get(j).i32(2).op(Op.i32_shl).op(Op.i32_add);
    f.get(ldc4).get(K);
    // bias + 4j, or 0 when there is no bias.
    f.get(bias).get(j).i32(2).op(Op.i32_shl).op(Op.i32_add).i32(0).get(bias).op(Op.select);
    f.get(flags);
    f.get(mask).get(i).get(ldc4).op(Op.i32_mul).op(Op.i32_add).get(j).i32(2).op(Op.i32_shl).op(Op.i32_add);
  };
  /** All row tiles of one column panel. */
  const rowLoop = (list: FuncBuilder[], packed: FuncBuilder | undefined) => {
    f.i32(0).set(i);
    f.block(() => {
      f.loop(() => {
        f.get(M).get(i).op(Op.i32_sub).tee(rowsLeft).i32(0).op(Op.i32_le_s).brIf(1);
        const full = list[TILE_ROWS];
        f.get(rowsLeft).i32(TILE_ROWS).op(Op.i32_ge_s).if(
          () => {
            if (full === undefined) {
              f.op(0x00); // unreachable: wide panels are only used when M < TILE_ROWS
            } else if (packed === undefined) {
              args();
              f.call(full);
              f.inc(i, TILE_ROWS);
            } else {
              f.get(fast).if(
                () => void (args(), f.call(packed)),
                () => void (args(), f.call(full)),
              );
              f.inc(i, TILE_ROWS);
            }
          },
          () => {
            for (let r = TILE_ROWS - 1; r >= 1; r--) {
              f.get(rowsLeft).i32(r).op(Op.i32_eq).if(() => {
                args();
                f.call(list[r]);
              });
            }
            f.get(M).set(i);
          },
        );
        f.br(0);
      });
    });
  };
  /** `while (N - j >= width [&& M < TILE_ROWS]) { rowLoop; j += width }`. */
  const panels = (width: number, onlySmallM: boolean) => {
    f.block(() => {
      f.loop(() => {
        f.get(N).get(j).op(Op.i32_sub).i32(width).op(Op.i32_lt_s).brIf(1);
        if (onlySmallM) f.get(M).i32(TILE_ROWS).op(Op.i32_ge_s).brIf(1);
        const packer = packers.get(width);
        // bT = packed panel (when a buffer is given and there are several row tiles), else B itself.
        f.get(b).get(j).i32(2).op(Op.i32_shl).op(Op.i32_add).set(bT);
        f.get(sbp4).set(sbpT);
        f.i32(0).set(fast);
        if (packer !== undefined) {
          f.get(packBuf).i32(0).op(Op.i32_ne).get(M).i32(TILE_ROWS).op(Op.i32_gt_s).op(Op.i32_and).if(() => {
            f.get(bT).get(sbp4).get(K).get(packBuf).call(packer);
            f.get(packBuf).set(bT);
            f.i32(width * 4).set(sbpT);
            f.get(sap).i32(1).op(Op.i32_eq).set(fast);
          });
        }
        rowLoop(tiles.get(width) as FuncBuilder[], packedFull.get(width));
        f.inc(j, width);
        f.br(0);
      });
    });
  };
  f.i32(0).set(j);
  panels(4 * WIDE_VECS, true);
  panels(4 * TILE_VECS, false);
  panels(4, false);
  panels(1, false);
}

/**
 * `transpose(src, rows, cols, dst)`: 4x4 blocks through SIMD shuffles, scalar edges. Blocks
 * are visited 16 columns (one source cache line) at a time, all rows down, so each source
 * line is read once and the 16 destination rows fill sequentially; a plain row-by-row order
 * re-reads lines that power-of-two row strides have already evicted (3x slower at 256x256).
 */
function genTranspose(m: WasmModuleBuilder): void {
  const f = m.func('transpose', [I32, I32, I32, I32]);
  const [src, rows, cols, dst] = [0, 1, 2, 3];
  const i = f.local(I32);
  const j = f.local(I32);
  const j0 = f.local(I32);
  const rows4 = f.local(I32);
  const cols4 = f.local(I32);
  const cols16 = f.local(I32);
  const sp = f.local(I32);
  const dp = f.local(I32);
  const r = [f.local(V128), f.local(V128), f.local(V128), f.local(V128)];
  const t = [f.local(V128), f.local(V128), f.local(V128), f.local(V128)];
  const rowBytes = f.local(I32);
  const colBytes = f.local(I32);
  f.get(rows).i32(-4).op(Op.i32_and).set(rows4);
  f.get(cols).i32(-4).op(Op.i32_and).set(cols4);
  f.get(cols).i32(-16).op(Op.i32_and).set(cols16);
  f.get(cols).i32(2).op(Op.i32_shl).set(rowBytes); // bytes per source row
  f.get(rows).i32(2).op(Op.i32_shl).set(colBytes); // bytes per destination row
  const addr = (base: number, row: number, rowStride: number, col: number) => {
    f.get(base).get(row).get(rowStride).op(Op.i32_mul).op(Op.i32_add).get(col).i32(2).op(Op.i32_shl).op(Op.i32_add);
  };
  /** The 4x4 block with top-left source element (i, j). */
  const block = () => {
    addr(src, i, rowBytes, j);
    f.set(sp);
    for (let q = 0; q < 4; q++) {
      f.get(sp).loadV().set(r[q]);
      f.inc(sp, { local: rowBytes });
    }
    f.get(r[0]).get(r[1]).shuffleF32([0, 4, 1, 5]).set(t[0]);
    f.get(r[0]).get(r[1]).shuffleF32([2, 6, 3, 7]).set(t[1]);
    f.get(r[2]).get(r[3]).shuffleF32([0, 4, 1, 5]).set(t[2]);
    f.get(r[2]).get(r[3]).shuffleF32([2, 6, 3, 7]).set(t[3]);
    addr(dst, j, colBytes, i);
    f.set(dp);
    f.get(dp).get(t[0]).get(t[2]).shuffleF32([0, 1, 4, 5]).storeV();
    f.inc(dp, { local: colBytes });
    f.get(dp).get(t[0]).get(t[2]).shuffleF32([2, 3, 6, 7]).storeV();
    f.inc(dp, { local: colBytes });
    f.get(dp).get(t[1]).get(t[3]).shuffleF32([0, 1, 4, 5]).storeV();
    f.inc(dp, { local: colBytes });
    f.get(dp).get(t[1]).get(t[3]).shuffleF32([2, 3, 6, 7]).storeV();
  };
  // Column bands of 16, every band of 4 rows inside.
  f.for(j0, 0, { local: cols16 }, 16, () => {
    f.for(i, 0, { local: rows4 }, 4, () => {
      for (let q = 0; q < 4; q++) {
        f.get(j0).i32(4 * q).op(Op.i32_add).set(j);
        block();
      }
    });
  });
  // Remaining full 4-column bands.
  f.for(j, { local: cols16 }, { local: cols4 }, 4, () => {
    f.for(i, 0, { local: rows4 }, 4, () => block());
  });
  // Right edge (cols4..cols) of the first rows4 rows.
  f.for(i, 0, { local: rows4 }, 1, () => {
    f.for(j, { local: cols4 }, { local: cols }, 1, () => {
      addr(dst, j, colBytes, i);
      addr(src, i, rowBytes, j);
      f.loadF32().storeF32();
    });
  });
  // Bottom rows.
  f.for(i, { local: rows4 }, { local: rows }, 1, () => {
    f.for(j, 0, { local: cols }, 1, () => {
      addr(dst, j, colBytes, i);
      addr(src, i, rowBytes, j);
      f.loadF32().storeF32();
    });
  });
}

/** `reluMask(src, y, n, dst)`: dst[i] = y[i] > 0 ? src[i] : 0 (the ReLU derivative applied to a gradient). */
function genReluMask(m: WasmModuleBuilder): void {
  const f = m.func('reluMask', [I32, I32, I32, I32]);
  const [src, y, n, dst] = [0, 1, 2, 3];
  const i = f.local(I32);
  const n4 = f.local(I32);
  const off = f.local(I32);
  f.get(n).i32(-4).op(Op.i32_and).set(n4);
  f.for(i, 0, { local: n4 }, 4, () => {
    f.get(i).i32(2).op(Op.i32_shl).set(off);
    f.get(dst).get(off).op(Op.i32_add);
    f.get(src).get(off).op(Op.i32_add).loadV();
    f.get(y).get(off).op(Op.i32_add).loadV().vf32(0).simd(Simd.f32x4_gt);
    f.simd(Simd.v128_and).storeV();
  });
  f.for(i, { local: n4 }, { local: n }, 1, () => {
    f.get(i).i32(2).op(Op.i32_shl).set(off);
    f.get(dst).get(off).op(Op.i32_add);
    f.get(src).get(off).op(Op.i32_add).loadF32();
    f.f32(0);
    f.get(y).get(off).op(Op.i32_add).loadF32().f32(0).op(Op.f32_gt);
    f.op(Op.select).storeF32();
  });
}

/**
 * tanh(x) ≈ x·P(x²)/Q(x²): the 13/6-degree rational minimax approximation of Eigen's
 * `generic_fast_tanh_float` (Eigen 3.4, Core/MathFunctionsImpl.h). Inputs are clamped to
 * ±TANH_CLAMP, where the quotient reaches ±1 in float32, and |x| < TANH_TINY returns x
 * (tanh x rounds to x there). With a separate multiply and add per Horner step, as here, the
 * largest error over every float32 input is 4.1e-7 (at x ≈ 5.83; exhaustive check against
 * Math.tanh).
 */
const TANH_ALPHA = [4.89352455891786e-3, 6.37261928875436e-4, 1.48572235717979e-5, 5.12229709037114e-8, -8.60467152213735e-11, 2.00018790482477e-13, -2.76076847742355e-16];
const TANH_BETA = [4.89352518554385e-3, 2.2684346324390e-3, 1.18534705686654e-4, 1.19825839466702e-6];
const TANH_CLAMP = 7.90531110763549805;
const TANH_TINY = 0.0004;

/**
 * Pushes tanh(local `a`), in f32x4 (`vec`) or f32 arithmetic: the same operations in the same
 * order, so the scalar tail of a kernel gives what a SIMD lane would.
 */
function emitTanh(f: FuncBuilder, a: number, vec: boolean): void {
  const type = vec ? V128 : F32;
  const c = (v: number) => (vec ? f.vf32(v) : f.f32(v));
  const op = (scalar: number, simd: number) => (vec ? f.simd(simd) : f.op(scalar));
  const mul = () => op(Op.f32_mul, Simd.f32x4_mul);
  const add = () => op(Op.f32_add, Simd.f32x4_add);
  const x = f.local(type);
  const x2 = f.local(type);
  const p = f.local(type);
  // Pseudo-min/max keep a NaN input (the first operand), so NaN gives NaN.
  f.get(a);
  c(TANH_CLAMP);
  op(Op.f32_min, Simd.f32x4_pmin);
  c(-TANH_CLAMP);
  op(Op.f32_max, Simd.f32x4_pmax).tee(x);
  f.get(x);
  mul();
  f.set(x2);
  const horner = (coeffs: readonly number[]) => {
    c(coeffs[coeffs.length - 1]);
    for (let i = coeffs.length - 2; i >= 0; i--) {
      f.get(x2);
      mul();
      c(coeffs[i]);
      add();
    }
  };
  horner(TANH_ALPHA);
  f.get(x);
  mul();
  f.set(p);
  // Stack: a, P/Q, |a| < tiny -> select (f32 `select` and `v128.bitselect` take the same order).
  f.get(a).get(p);
  horner(TANH_BETA);
  op(Op.f32_div, Simd.f32x4_div);
  f.get(a);
  op(Op.f32_abs, Simd.f32x4_abs);
  c(TANH_TINY);
  if (vec) f.simd(Simd.f32x4_lt).simd(Simd.v128_bitselect);
  else f.op(Op.f32_lt).op(Op.select);
}

/** `tanh(src, n, dst)`: dst[i] = tanh(src[i]) (see {@link emitTanh}); dst may be src. */
function genTanh(m: WasmModuleBuilder): void {
  const f = m.func('tanh', [I32, I32, I32]);
  const [src, n, dst] = [0, 1, 2];
  const i = f.local(I32);
  const n4 = f.local(I32);
  const off = f.local(I32);
  const v = f.local(V128);
  const s = f.local(F32);
  f.get(n).i32(-4).op(Op.i32_and).set(n4);
  f.for(i, 0, { local: n4 }, 4, () => {
    f.get(i).i32(2).op(Op.i32_shl).set(off);
    f.get(src).get(off).op(Op.i32_add).loadV().set(v);
    f.get(dst).get(off).op(Op.i32_add);
    emitTanh(f, v, true);
    f.storeV();
  });
  f.for(i, { local: n4 }, { local: n }, 1, () => {
    f.get(i).i32(2).op(Op.i32_shl).set(off);
    f.get(src).get(off).op(Op.i32_add).loadF32().set(s);
    f.get(dst).get(off).op(Op.i32_add);
    emitTanh(f, s, false);
    f.storeF32();
  });
}

/**
 * `tanhMask(src, y, n, dst)`: dst[i] = (1 - y[i]·y[i])·src[i], the tanh derivative from its
 * output applied to a gradient, in tfjs's order (Tanh_grad: mul(sub(1, square(y)), dy)).
 */
function genTanhMask(m: WasmModuleBuilder): void {
  const f = m.func('tanhMask', [I32, I32, I32, I32]);
  const [src, y, n, dst] = [0, 1, 2, 3];
  const i = f.local(I32);
  const n4 = f.local(I32);
  const off = f.local(I32);
  const yv = f.local(V128);
  const ys = f.local(F32);
  f.get(n).i32(-4).op(Op.i32_and).set(n4);
  f.for(i, 0, { local: n4 }, 4, () => {
    f.get(i).i32(2).op(Op.i32_shl).set(off);
    f.get(dst).get(off).op(Op.i32_add);
    f.vf32(1).get(y).get(off).op(Op.i32_add).loadV().tee(yv).get(yv).simd(Simd.f32x4_mul).simd(Simd.f32x4_sub);
    f.get(src).get(off).op(Op.i32_add).loadV().simd(Simd.f32x4_mul).storeV();
  });
  f.for(i, { local: n4 }, { local: n }, 1, () => {
    f.get(i).i32(2).op(Op.i32_shl).set(off);
    f.get(dst).get(off).op(Op.i32_add);
    f.f32(1).get(y).get(off).op(Op.i32_add).loadF32().tee(ys).get(ys).op(Op.f32_mul).op(Op.f32_sub);
    f.get(src).get(off).op(Op.i32_add).loadF32().op(Op.f32_mul).storeF32();
  });
}

/** `colsum(src, rows, cols, dst)`: column sums, rows added in increasing order. */
function genColsum(m: WasmModuleBuilder): void {
  const f = m.func('colsum', [I32, I32, I32, I32]);
  const [src, rows, cols, dst] = [0, 1, 2, 3];
  const i = f.local(I32);
  const j = f.local(I32);
  const cols4 = f.local(I32);
  const sp = f.local(I32);
  const rowBytes = f.local(I32);
  const acc = f.local(V128);
  const sacc = f.local(F32);
  f.get(cols).i32(-4).op(Op.i32_and).set(cols4);
  f.get(cols).i32(2).op(Op.i32_shl).set(rowBytes);
  f.for(j, 0, { local: cols4 }, 4, () => {
    f.get(src).get(j).i32(2).op(Op.i32_shl).op(Op.i32_add).set(sp);
    f.vf32(0).set(acc);
    f.for(i, 0, { local: rows }, 1, () => {
      f.get(acc).get(sp).loadV().simd(Simd.f32x4_add).set(acc);
      f.inc(sp, { local: rowBytes });
    });
    f.get(dst).get(j).i32(2).op(Op.i32_shl).op(Op.i32_add).get(acc).storeV();
  });
  f.for(j, { local: cols4 }, { local: cols }, 1, () => {
    f.get(src).get(j).i32(2).op(Op.i32_shl).op(Op.i32_add).set(sp);
    f.f32(0).set(sacc);
    f.for(i, 0, { local: rows }, 1, () => {
      f.get(sacc).get(sp).loadF32().op(Op.f32_add).set(sacc);
      f.inc(sp, { local: rowBytes });
    });
    f.get(dst).get(j).i32(2).op(Op.i32_shl).op(Op.i32_add).get(sacc).storeF32();
  });
}

/**
 * `adam(p, out, g, m, v, n, b1, omb1, b2, omb2, c1, c2, eps, nlr)`, each step exactly as
 * tfjs-core 4.22's AdamOptimizer.applyGradients, one float32 rounding per operation:
 * m ← m·b1 + g·omb1; v ← v·b2 + (g·g)·omb2; out ← ((m/c1) / (√(v/c2) + eps))·nlr + p.
 */
function genAdam(m: WasmModuleBuilder): void {
  const f = m.func('adam', [I32, I32, I32, I32, I32, I32, F32, F32, F32, F32, F32, F32, F32, F32]);
  const [pp, out, gp, mp, vp, n, b1, omb1, b2, omb2, c1, c2, eps, nlr] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
  const i = f.local(I32);
  const n4 = f.local(I32);
  const off = f.local(I32);
  const V = { b1: f.local(V128), omb1: f.local(V128), b2: f.local(V128), omb2: f.local(V128), c1: f.local(V128), c2: f.local(V128), eps: f.local(V128), nlr: f.local(V128) };
  const g = f.local(V128);
  const mv = f.local(V128);
  const vv = f.local(V128);
  const gs = f.local(F32);
  const ms = f.local(F32);
  const vs = f.local(F32);
  for (const [scalar, vec] of [
    [b1, V.b1],
    [omb1, V.omb1],
    [b2, V.b2],
    [omb2, V.omb2],
    [c1, V.c1],
    [c2, V.c2],
    [eps, V.eps],
    [nlr, V.nlr],
  ]) {
    f.get(scalar).simd(Simd.f32x4_splat).set(vec);
  }
  f.get(n).i32(-4).op(Op.i32_and).set(n4);
  const at = (base: number) => f.get(base).get(off).op(Op.i32_add);
  f.for(i, 0, { local: n4 }, 4, () => {
    f.get(i).i32(2).op(Op.i32_shl).set(off);
    at(gp).loadV().set(g);
    // m' = m·b1 + g·omb1
    at(mp).loadV().get(V.b1).simd(Simd.f32x4_mul).get(g).get(V.omb1).simd(Simd.f32x4_mul).simd(Simd.f32x4_add).set(mv);
    // v' = v·b2 + (g·g)·omb2
    at(vp).loadV().get(V.b2).simd(Simd.f32x4_mul).get(g).get(g).simd(Simd.f32x4_mul).get(V.omb2).simd(Simd.f32x4_mul).simd(Simd.f32x4_add).set(vv);
    at(mp).get(mv).storeV();
    at(vp).get(vv).storeV();
    // out = ((m'/c1) / (sqrt(v'/c2) + eps))·nlr + p
    at(out);
    f.get(mv).get(V.c1).simd(Simd.f32x4_div);
    f.get(vv).get(V.c2).simd(Simd.f32x4_div).simd(Simd.f32x4_sqrt).get(V.eps).simd(Simd.f32x4_add);
    f.simd(Simd.f32x4_div).get(V.nlr).simd(Simd.f32x4_mul);
    at(pp).loadV().simd(Simd.f32x4_add);
    f.storeV();
  });
  f.for(i, { local: n4 }, { local: n }, 1, () => {
    f.get(i).i32(2).op(Op.i32_shl).set(off);
    at(gp).loadF32().set(gs);
    at(mp).loadF32().get(b1).op(Op.f32_mul).get(gs).get(omb1).op(Op.f32_mul).op(Op.f32_add).set(ms);
    at(vp).loadF32().get(b2).op(Op.f32_mul).get(gs).get(gs).op(Op.f32_mul).get(omb2).op(Op.f32_mul).op(Op.f32_add).set(vs);
    at(mp).get(ms).storeF32();
    at(vp).get(vs).storeF32();
    at(out);
    f.get(ms).get(c1).op(Op.f32_div);
    f.get(vs).get(c2).op(Op.f32_div).op(Op.f32_sqrt).get(eps).op(Op.f32_add);
    f.op(Op.f32_div).get(nlr).op(Op.f32_mul);
    at(pp).loadF32().op(Op.f32_add);
    f.storeF32();
  });
}

/** Options of {@link buildKernelModule}. */
export interface KernelModuleOptions {
  /** Use `f32x4.relaxed_madd` in the matMul tiles (needs relaxed SIMD; see `mulAdd`). */
  fma?: boolean;
}

/** The kernel module's bytes (about 20 KB; generated in about a millisecond). */
export function buildKernelModule(options: KernelModuleOptions = {}): Uint8Array {
  const m = new WasmModuleBuilder();
  m.importMemory('env', 'memory');
  genGemm(m, options.fma ?? false);
  genTranspose(m);
  genColsum(m);
  genReluMask(m);
  genTanh(m);
  genTanhMask(m);
  genAdam(m);
  return m.build();
}

/** The kernels, bound to one memory. Addresses are byte offsets into that memory. */
export interface WasmKernelExports {
  gemm(a: number, sai: number, sap: number, b: number, sbp: number, c: number, ldc: number, m: number, n: number, k: number, bias: number, flags: number, mask: number, pack: number): void;
  transpose(src: number, rows: number, cols: number, dst: number): void;
  colsum(src: number, rows: number, cols: number, dst: number): void;
  reluMask(src: number, y: number, n: number, dst: number): void;
  tanh(src: number, n: number, dst: number): void;
  tanhMask(src: number, y: number, n: number, dst: number): void;
  adam(p: number, out: number, g: number, m: number, v: number, n: number, beta1: number, oneMinusBeta1: number, beta2: number, oneMinusBeta2: number, c1: number, c2: number, eps: number, negLr: number): void;
}

/** A compiled WebAssembly module (opaque). */
export type WasmModule = { readonly __wasmModule: unique symbol };
/** A WebAssembly memory (what the tfjs WASM backend exposes as `wasm.asm.memory`). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}

/** The parts of the `WebAssembly` global used here (Kairos's TypeScript lib has no DOM types). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (mod: WasmModule, imports: object) => { exports: object };
  Memory: abstract new (...args: never[]) => WasmMemory;
  compile(bytes: Uint8Array): Promise<WasmModule>;
  validate(bytes: Uint8Array): boolean;
}

/** The `WebAssembly` global, or throws where there is none. */
export function wasmApi(): WasmApi {
  const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (api === undefined) throw new Error('this JavaScript runtime has no WebAssembly');
  return api;
}

/** Whether this runtime validates relaxed-SIMD code (Node ≥ 22; Node 20 with `--experimental-wasm-relaxed-simd`). */
export function relaxedSimdSupported(): boolean {
  const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (api === undefined) return false;
  const m = new WasmModuleBuilder();
  const f = m.func('probe', []);
  f.vf32(1).vf32(2).vf32(3).simd(Simd.f32x4_relaxed_madd).simd(Simd.f32x4_extract_lane, 0).op(Op.drop);
  try {
    return api.validate(m.build());
  } catch {
    return false;
  }
}

const compiled = new Map<boolean, Promise<WasmModule>>();
const compiledSync = new Map<boolean, WasmModule>();

/** Compiles a module variant once (async, so browsers allow it on the main thread). */
export function compileKernelModule(options: KernelModuleOptions = {}): Promise<WasmModule> {
  const fma = options.fma ?? false;
  const done = compiledSync.get(fma);
  if (done) return Promise.resolve(done);
  let pending = compiled.get(fma);
  if (!pending) {
    pending = wasmApi()
      .compile(buildKernelModule({ fma }))
      .then((mod) => {
        compiledSync.set(fma, mod);
        return mod;
      });
    compiled.set(fma, pending);
  }
  return pending;
}

/** The compiled variant if {@link compileKernelModule} has finished, else compiles synchronously (Node). */
export function kernelModuleSync(options: KernelModuleOptions = {}): WasmModule {
  const fma = options.fma ?? false;
  let mod = compiledSync.get(fma);
  if (!mod) {
    mod = new (wasmApi().Module)(buildKernelModule({ fma }));
    compiledSync.set(fma, mod);
  }
  return mod;
}

/** Instantiates the kernels on `memory` (the tfjs WASM backend's heap). */
export function instantiateKernels(mod: WasmModule, memory: WasmMemory): WasmKernelExports {
  const instance = new (wasmApi().Instance)(mod, { env: { memory } });
  return instance.exports as unknown as WasmKernelExports;
}
