/**
 * Spaces describe the set of valid observations or actions, with Gymnasium's semantics
 * (gymnasium.spaces): `sample`, `contains`, `shape`, a readable `toString`, plus JSON
 * round-tripping for run folders and flattening to a vector for networks.
 *
 * Value representations:
 * - `Discrete`        → number (integer in [start, start + n))
 * - `Box`             → typed array of its dtype (Float32Array for float32, ...), row-major
 * - `MultiDiscrete`   → Int32Array
 * - `MultiBinary`     → Int8Array of 0/1
 * - `Dict`            → plain object keyed like the space (keys sorted, as Gymnasium does)
 * - `Tuple`           → array
 *
 * `contains` accepts any array-like of the right length for the array-valued spaces, so
 * `box.contains([0.1, 0.2])` works.
 *
 * @example
 * const s = new Box(-1, 1, [2]);
 * s.sample(new Rng(0));      // Float32Array(2) in [-1, 1]
 * s.contains([0.5, -0.5]);   // true
 * String(s);                 // "Box(-1.0, 1.0, (2,), float32)"
 */
import { Rng } from './rng.js';
import { KairosError, ValidationError, describeValue } from './errors.js';

export type BoxDtype = 'float32' | 'float64' | 'int8' | 'uint8' | 'int16' | 'int32';
export type TypedArrayOf<D extends BoxDtype> = D extends 'float32'
  ? Float32Array
  : D extends 'float64'
    ? Float64Array
    : D extends 'int8'
      ? Int8Array
      : D extends 'uint8'
        ? Uint8Array
        : D extends 'int16'
          ? Int16Array
          : Int32Array;
export type NumericArray = Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Int32Array;

/** JSON form of a space, as stored in run folders and sent to worker threads. */
export type SpaceJSON =
  | { type: 'Discrete'; n: number; start: number }
  | { type: 'Box'; low: Array<number | 'inf' | '-inf'>; high: Array<number | 'inf' | '-inf'>; shape: number[]; dtype: BoxDtype }
  | { type: 'MultiDiscrete'; nvec: number[]; start: number[] }
  | { type: 'MultiBinary'; shape: number[] }
  | { type: 'Dict'; spaces: Record<string, SpaceJSON> }
  | { type: 'Tuple'; spaces: SpaceJSON[] };

/** The common interface of every space. `T` is the type of its elements. */
export interface Space<T = unknown> {
  /** Shape of one element; `[]` for Discrete, Dict and Tuple. */
  readonly shape: readonly number[];
  /** Draws a uniformly random element (Gymnasium's distributions for unbounded Boxes). */
  sample(rng: Rng): T;
  /** True when `x` is a valid element. Never throws. */
  contains(x: unknown): x is T;
  /** Describes why `x` is not an element, or returns null when it is. */
  explain(x: unknown): string | null;
  toJSON(): SpaceJSON;
  toString(): string;
}

const TYPED_CTOR: Record<BoxDtype, { new (n: number): NumericArray; BYTES_PER_ELEMENT: number }> = {
  float32: Float32Array,
  float64: Float64Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  int32: Int32Array,
};
const INT_RANGE: Partial<Record<BoxDtype, [number, number]>> = {
  int8: [-128, 127],
  uint8: [0, 255],
  int16: [-32768, 32767],
  int32: [-2147483648, 2147483647],
};

function isArrayLikeOfNumbers(x: unknown): x is ArrayLike<number> {
  if (ArrayBuffer.isView(x) && !(x instanceof DataView)) return true;
  return Array.isArray(x) && x.every((v) => typeof v === 'number');
}

function formatNum(v: number, float32 = false): string {
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  if (Number.isInteger(v)) return v.toFixed(1);
  if (!float32) return String(v);
  // Shortest decimal that rounds to the same float32, as numpy prints float32 values.
  for (let digits = 1; digits < 10; digits++) {
    const text = String(+v.toPrecision(digits));
    if (Math.fround(+text) === v) return text;
  }
  return String(v);
}

/** JSON has no Infinity: bounds are written as numbers or the strings "inf" / "-inf". */
type JsonBound = number | 'inf' | '-inf';

function boundToJSON(v: number): JsonBound {
  return v === Infinity ? 'inf' : v === -Infinity ? '-inf' : v;
}

function boundFromJSON(v: unknown): number {
  return v === 'inf' ? Infinity : v === '-inf' ? -Infinity : (v as number);
}

function shapeString(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

function product(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function assertShape(shape: readonly number[], field: string): void {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ValidationError(field, 'an array of non-negative integers', shape);
  }
}

/** A finite set {start, ..., start + n - 1}. */
export class Discrete implements Space<number> {
  readonly shape: readonly number[] = [];
  constructor(
    readonly n: number,
    readonly start = 0,
  ) {
    if (!Number.isInteger(n) || n <= 0) throw new ValidationError('Discrete.n', 'a positive integer', n);
    if (!Number.isInteger(start)) throw new ValidationError('Discrete.start', 'an integer', start);
  }

  /** Uniform sample; with `mask` (length n, 1 = allowed) only allowed actions are drawn. */
  sample(rng: Rng, mask?: ArrayLike<number>): number {
    if (!mask) return this.start + rng.int(this.n);
    if (mask.length !== this.n) throw new ValidationError('mask', `length ${this.n}`, mask.length, 'Discrete.sample');
    let count = 0;
    for (let i = 0; i < this.n; i++) if (mask[i]) count++;
    // Gymnasium returns `start` when every action is masked out.
    if (count === 0) return this.start;
    let k = rng.int(count);
    for (let i = 0; i < this.n; i++) if (mask[i] && k-- === 0) return this.start + i;
    return this.start;
  }

  contains(x: unknown): x is number {
    return typeof x === 'number' && Number.isInteger(x) && x >= this.start && x < this.start + this.n;
  }

  explain(x: unknown): string | null {
    return this.contains(x) ? null : `expected an integer in [${this.start}, ${this.start + this.n - 1}], received ${describeValue(x)}`;
  }

  toJSON(): SpaceJSON {
    return { type: 'Discrete', n: this.n, start: this.start };
  }

  toString(): string {
    return this.start === 0 ? `Discrete(${this.n})` : `Discrete(${this.n}, start=${this.start})`;
  }
}

/** A (possibly unbounded) box in R^shape, elements stored as a typed array of `dtype`. */
export class Box<D extends BoxDtype = 'float32'> implements Space<TypedArrayOf<D>> {
  readonly shape: readonly number[];
  readonly low: Float64Array;
  readonly high: Float64Array;
  readonly size: number;

  /**
   * @param low scalar (broadcast) or array of lower bounds, may be -Infinity
   * @param high scalar or array of upper bounds, may be Infinity
   * @param shape required when both bounds are scalars
   */
  constructor(
    low: number | ArrayLike<number>,
    high: number | ArrayLike<number>,
    shape?: readonly number[],
    readonly dtype: D = 'float32' as D,
  ) {
    if (!(dtype in TYPED_CTOR)) throw new ValidationError('Box.dtype', Object.keys(TYPED_CTOR).join(' | '), dtype);
    const inferred = shape ?? (typeof low !== 'number' ? [low.length] : typeof high !== 'number' ? [high.length] : undefined);
    if (!inferred) throw new ValidationError('Box.shape', 'a shape when low and high are scalars', shape);
    assertShape(inferred, 'Box.shape');
    this.shape = [...inferred];
    this.size = product(this.shape);
    this.low = broadcastBound(low, this.size, 'Box.low');
    this.high = broadcastBound(high, this.size, 'Box.high');
    const isFloat = dtype === 'float32' || dtype === 'float64';
    for (let i = 0; i < this.size; i++) {
      if (Number.isNaN(this.low[i]) || Number.isNaN(this.high[i]) || this.low[i] > this.high[i]) {
        throw new ValidationError(`Box.low[${i}]`, `low <= high (high[${i}] = ${this.high[i]})`, this.low[i]);
      }
      if (dtype === 'float32') {
        // Bounds are stored as float32 values, as numpy does for a float32 Box.
        this.low[i] = Math.fround(this.low[i]);
        this.high[i] = Math.fround(this.high[i]);
      }
      // -0 (also from float32 underflow) would not survive JSON; it bounds the same set as +0.
      this.low[i] += 0;
      this.high[i] += 0;
      if (!isFloat) {
        const [lo, hi] = INT_RANGE[dtype]!;
        if (!Number.isFinite(this.low[i])) this.low[i] = lo;
        if (!Number.isFinite(this.high[i])) this.high[i] = hi;
      }
    }
  }

  /** True when every dimension has finite bounds on both sides. */
  isBounded(): boolean {
    for (let i = 0; i < this.size; i++) if (!Number.isFinite(this.low[i]) || !Number.isFinite(this.high[i])) return false;
    return true;
  }

  /** A zero-filled element buffer of this space's dtype and size. */
  zeros(): TypedArrayOf<D> {
    return new TYPED_CTOR[this.dtype](this.size) as TypedArrayOf<D>;
  }

  sample(rng: Rng): TypedArrayOf<D> {
    const out = this.zeros();
    const isFloat = this.dtype === 'float32' || this.dtype === 'float64';
    for (let i = 0; i < this.size; i++) {
      const lo = this.low[i];
      const hi = this.high[i];
      if (!isFloat) {
        out[i] = Math.floor(rng.uniform(lo, hi + 1));
        if (out[i] > hi) out[i] = hi;
        continue;
      }
      // Gymnasium: normal if unbounded, shifted exponential if half-bounded, else uniform.
      const loFinite = Number.isFinite(lo);
      const hiFinite = Number.isFinite(hi);
      if (!loFinite && !hiFinite) out[i] = rng.normal();
      else if (loFinite && !hiFinite) out[i] = lo + rng.exponential();
      else if (!loFinite && hiFinite) out[i] = hi - rng.exponential();
      else out[i] = rng.uniform(lo, hi);
      // float32 rounding can push a uniform draw onto the upper bound's far side.
      if (out[i] > hi) out[i] = hi;
      if (out[i] < lo) out[i] = lo;
    }
    return out;
  }

  contains(x: unknown): x is TypedArrayOf<D> {
    return this.explain(x) === null;
  }

  explain(x: unknown): string | null {
    if (typeof x === 'number' && this.size === 1) x = [x];
    if (!isArrayLikeOfNumbers(x)) return `expected an array of ${this.size} numbers, received ${describeValue(x)}`;
    if (x.length !== this.size) return `expected ${this.size} values (shape ${shapeString(this.shape)}), received ${x.length}`;
    const isFloat = this.dtype === 'float32' || this.dtype === 'float64';
    for (let i = 0; i < this.size; i++) {
      const v = x[i];
      if (Number.isNaN(v)) return `expected a number at index ${i}, received NaN`;
      if (!isFloat && !Number.isInteger(v)) return `expected an integer at index ${i}, received ${v}`;
      const vv = this.dtype === 'float32' ? Math.fround(v) : v;
      if (vv < this.low[i] || vv > this.high[i]) {
        const f32 = this.dtype === 'float32';
        return `expected index ${i} in [${formatNum(this.low[i], f32)}, ${formatNum(this.high[i], f32)}], received ${v}`;
      }
    }
    return null;
  }

  toJSON(): SpaceJSON {
    return { type: 'Box', low: Array.from(this.low, boundToJSON), high: Array.from(this.high, boundToJSON), shape: [...this.shape], dtype: this.dtype };
  }

  toString(): string {
    const allSame = (a: Float64Array) => a.every((v) => v === a[0]);
    const f32 = this.dtype === 'float32';
    const fmt = (a: Float64Array) =>
      allSame(a) && a.length > 0 ? formatNum(a[0], f32) : `[${Array.from(a, (v) => formatNum(v, f32)).join(' ')}]`;
    return `Box(${fmt(this.low)}, ${fmt(this.high)}, ${shapeString(this.shape)}, ${this.dtype})`;
  }
}

function broadcastBound(v: number | ArrayLike<number>, size: number, field: string): Float64Array {
  const out = new Float64Array(size);
  if (typeof v === 'number') {
    out.fill(v);
    return out;
  }
  if (!isArrayLikeOfNumbers(v) || v.length !== size) {
    throw new ValidationError(field, `a number or ${size} numbers`, v);
  }
  out.set(v);
  return out;
}

/** A vector of independent discrete variables, element i in [start_i, start_i + nvec_i). */
export class MultiDiscrete implements Space<Int32Array> {
  readonly shape: readonly number[];
  readonly nvec: Int32Array;
  readonly start: Int32Array;

  constructor(nvec: ArrayLike<number>, start?: ArrayLike<number>) {
    if (!isArrayLikeOfNumbers(nvec) || nvec.length === 0 || Array.from(nvec).some((n) => !Number.isInteger(n) || n <= 0)) {
      throw new ValidationError('MultiDiscrete.nvec', 'a non-empty array of positive integers', nvec);
    }
    this.nvec = Int32Array.from(nvec);
    this.start = start ? Int32Array.from(start) : new Int32Array(nvec.length);
    if (this.start.length !== this.nvec.length) {
      throw new ValidationError('MultiDiscrete.start', `${this.nvec.length} integers`, start);
    }
    this.shape = [this.nvec.length];
  }

  sample(rng: Rng): Int32Array {
    const out = new Int32Array(this.nvec.length);
    for (let i = 0; i < out.length; i++) out[i] = this.start[i] + rng.int(this.nvec[i]);
    return out;
  }

  contains(x: unknown): x is Int32Array {
    return this.explain(x) === null;
  }

  explain(x: unknown): string | null {
    if (!isArrayLikeOfNumbers(x)) return `expected an array of ${this.nvec.length} integers, received ${describeValue(x)}`;
    if (x.length !== this.nvec.length) return `expected ${this.nvec.length} values, received ${x.length}`;
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      if (!Number.isInteger(v) || v < this.start[i] || v >= this.start[i] + this.nvec[i]) {
        return `expected index ${i} to be an integer in [${this.start[i]}, ${this.start[i] + this.nvec[i] - 1}], received ${v}`;
      }
    }
    return null;
  }

  toJSON(): SpaceJSON {
    return { type: 'MultiDiscrete', nvec: Array.from(this.nvec), start: Array.from(this.start) };
  }

  toString(): string {
    const s = this.start.some((v) => v !== 0) ? `, start=[${this.start.join(' ')}]` : '';
    return `MultiDiscrete([${this.nvec.join(' ')}]${s})`;
  }
}

/** Binary vectors (or arrays) of the given shape. */
export class MultiBinary implements Space<Int8Array> {
  readonly shape: readonly number[];
  readonly size: number;

  constructor(n: number | readonly number[]) {
    const shape = typeof n === 'number' ? [n] : [...n];
    assertShape(shape, 'MultiBinary.n');
    if (shape.some((d) => d === 0)) throw new ValidationError('MultiBinary.n', 'positive sizes', n);
    this.shape = shape;
    this.size = product(shape);
  }

  sample(rng: Rng): Int8Array {
    const out = new Int8Array(this.size);
    for (let i = 0; i < this.size; i++) out[i] = rng.nextUint32() & 1;
    return out;
  }

  contains(x: unknown): x is Int8Array {
    return this.explain(x) === null;
  }

  explain(x: unknown): string | null {
    if (!isArrayLikeOfNumbers(x)) return `expected an array of ${this.size} zeros and ones, received ${describeValue(x)}`;
    if (x.length !== this.size) return `expected ${this.size} values, received ${x.length}`;
    for (let i = 0; i < x.length; i++) if (x[i] !== 0 && x[i] !== 1) return `expected 0 or 1 at index ${i}, received ${x[i]}`;
    return null;
  }

  toJSON(): SpaceJSON {
    return { type: 'MultiBinary', shape: [...this.shape] };
  }

  toString(): string {
    return this.shape.length === 1 ? `MultiBinary(${this.shape[0]})` : `MultiBinary(${shapeString(this.shape)})`;
  }
}

type DictValue<S extends Record<string, Space>> = { [K in keyof S]: S[K] extends Space<infer T> ? T : never };

/** A dictionary of named sub-spaces. Keys are sorted, as in Gymnasium. */
export class Dict<S extends Record<string, Space> = Record<string, Space>> implements Space<DictValue<S>> {
  readonly shape: readonly number[] = [];
  readonly spaces: S;
  readonly keys: readonly string[];

  constructor(spaces: S) {
    if (spaces === null || typeof spaces !== 'object') throw new ValidationError('Dict.spaces', 'an object of spaces', spaces);
    this.keys = Object.keys(spaces).sort();
    const sorted = {} as Record<string, Space>;
    for (const k of this.keys) {
      if (!isSpace(spaces[k])) throw new ValidationError(`Dict.spaces.${k}`, 'a Space', spaces[k]);
      sorted[k] = spaces[k];
    }
    this.spaces = sorted as S;
  }

  sample(rng: Rng): DictValue<S> {
    const out = {} as Record<string, unknown>;
    for (const k of this.keys) out[k] = this.spaces[k].sample(rng);
    return out as DictValue<S>;
  }

  contains(x: unknown): x is DictValue<S> {
    return this.explain(x) === null;
  }

  explain(x: unknown): string | null {
    if (x === null || typeof x !== 'object' || Array.isArray(x)) return `expected an object with keys ${this.keys.join(', ')}, received ${describeValue(x)}`;
    const obj = x as Record<string, unknown>;
    const extra = Object.keys(obj).filter((k) => !(k in this.spaces));
    if (extra.length > 0) return `unexpected key ${JSON.stringify(extra[0])}; expected keys ${this.keys.join(', ')}`;
    for (const k of this.keys) {
      if (!(k in obj)) return `missing key ${JSON.stringify(k)}`;
      const why = this.spaces[k].explain(obj[k]);
      if (why) return `${k}: ${why}`;
    }
    return null;
  }

  toJSON(): SpaceJSON {
    const spaces: Record<string, SpaceJSON> = {};
    for (const k of this.keys) spaces[k] = this.spaces[k].toJSON();
    return { type: 'Dict', spaces };
  }

  toString(): string {
    return `Dict(${this.keys.map((k) => `'${k}': ${this.spaces[k]}`).join(', ')})`;
  }
}

/** A fixed-length tuple of sub-spaces. */
export class Tuple implements Space<unknown[]> {
  readonly shape: readonly number[] = [];
  constructor(readonly spaces: readonly Space[]) {
    if (!Array.isArray(spaces) || spaces.some((s) => !isSpace(s))) throw new ValidationError('Tuple.spaces', 'an array of spaces', spaces);
  }

  sample(rng: Rng): unknown[] {
    return this.spaces.map((s) => s.sample(rng));
  }

  contains(x: unknown): x is unknown[] {
    return this.explain(x) === null;
  }

  explain(x: unknown): string | null {
    if (!Array.isArray(x)) return `expected an array of ${this.spaces.length} elements, received ${describeValue(x)}`;
    if (x.length !== this.spaces.length) return `expected ${this.spaces.length} elements, received ${x.length}`;
    for (let i = 0; i < x.length; i++) {
      const why = this.spaces[i].explain(x[i]);
      if (why) return `[${i}]: ${why}`;
    }
    return null;
  }

  toJSON(): SpaceJSON {
    return { type: 'Tuple', spaces: this.spaces.map((s) => s.toJSON()) };
  }

  toString(): string {
    return `Tuple(${this.spaces.map(String).join(', ')})`;
  }
}

/** True for objects implementing the Space interface. */
export function isSpace(x: unknown): x is Space {
  return (
    x !== null &&
    typeof x === 'object' &&
    typeof (x as Space).sample === 'function' &&
    typeof (x as Space).contains === 'function' &&
    typeof (x as Space).toJSON === 'function'
  );
}

/** Rebuilds a space from {@link Space.toJSON}, validating every field. */
export function spaceFromJSON(json: unknown, path = 'space'): Space {
  const j = json as Record<string, unknown>;
  if (j === null || typeof j !== 'object') throw new ValidationError(path, 'a space object', json);
  switch (j.type) {
    case 'Discrete':
      return new Discrete(j.n as number, (j.start as number) ?? 0);
    case 'Box':
      if (!Array.isArray(j.low) || !Array.isArray(j.high)) throw new ValidationError(`${path}.low`, 'arrays low and high', j.low);
      return new Box(j.low.map(boundFromJSON), j.high.map(boundFromJSON), j.shape as number[], j.dtype as BoxDtype);
    case 'MultiDiscrete':
      return new MultiDiscrete(j.nvec as number[], j.start as number[]);
    case 'MultiBinary':
      return new MultiBinary(j.shape as number[]);
    case 'Dict': {
      const spaces: Record<string, Space> = {};
      for (const [k, v] of Object.entries((j.spaces as Record<string, unknown>) ?? {})) spaces[k] = spaceFromJSON(v, `${path}.spaces.${k}`);
      return new Dict(spaces);
    }
    case 'Tuple':
      if (!Array.isArray(j.spaces)) throw new ValidationError(`${path}.spaces`, 'an array', j.spaces);
      return new Tuple(j.spaces.map((s, i) => spaceFromJSON(s, `${path}.spaces.${i}`)));
    default:
      throw new ValidationError(`${path}.type`, 'Discrete | Box | MultiDiscrete | MultiBinary | Dict | Tuple', j.type);
  }
}

/**
 * Length of the flat vector a network sees for an element of `space` (Discrete one-hot,
 * Box flattened, MultiDiscrete concatenated one-hots, as in gymnasium.spaces.flatdim).
 */
export function flatdim(space: Space): number {
  if (space instanceof Discrete) return space.n;
  if (space instanceof Box) return space.size;
  if (space instanceof MultiDiscrete) return space.nvec.reduce((a, b) => a + b, 0);
  if (space instanceof MultiBinary) return space.size;
  if (space instanceof Dict) return space.keys.reduce((a, k) => a + flatdim(space.spaces[k]), 0);
  if (space instanceof Tuple) return space.spaces.reduce((a, s) => a + flatdim(s), 0);
  throw new KairosError(`flatdim: unsupported space ${String(space)}`, 'unsupported_space');
}

/**
 * Writes the flat form of `x` into `out` starting at `offset` and returns the next offset.
 * Allocation-free, for hot paths.
 */
export function flattenInto(space: Space, x: unknown, out: Float32Array | Float64Array, offset = 0): number {
  if (space instanceof Discrete) {
    out.fill(0, offset, offset + space.n);
    out[offset + (x as number) - space.start] = 1;
    return offset + space.n;
  }
  if (space instanceof Box || space instanceof MultiBinary) {
    const a = x as ArrayLike<number>;
    for (let i = 0; i < a.length; i++) out[offset + i] = a[i];
    return offset + a.length;
  }
  if (space instanceof MultiDiscrete) {
    const a = x as ArrayLike<number>;
    for (let i = 0; i < space.nvec.length; i++) {
      out.fill(0, offset, offset + space.nvec[i]);
      out[offset + a[i] - space.start[i]] = 1;
      offset += space.nvec[i];
    }
    return offset;
  }
  if (space instanceof Dict) {
    for (const k of space.keys) offset = flattenInto(space.spaces[k], (x as Record<string, unknown>)[k], out, offset);
    return offset;
  }
  if (space instanceof Tuple) {
    for (let i = 0; i < space.spaces.length; i++) offset = flattenInto(space.spaces[i], (x as unknown[])[i], out, offset);
    return offset;
  }
  throw new KairosError(`flatten: unsupported space ${String(space)}`, 'unsupported_space');
}

/** Flat Float32Array form of `x` (see {@link flatdim}). */
export function flatten(space: Space, x: unknown): Float32Array {
  const out = new Float32Array(flatdim(space));
  flattenInto(space, x, out, 0);
  return out;
}

/** The Box that {@link flatten} maps `space` into. */
export function flattenSpace(space: Space): Box<'float32'> {
  if (space instanceof Box) return new Box(space.low, space.high, [space.size], 'float32');
  const n = flatdim(space);
  if (space instanceof Discrete || space instanceof MultiDiscrete || space instanceof MultiBinary) return new Box(0, 1, [n], 'float32');
  const lows: number[] = [];
  const highs: number[] = [];
  const parts = space instanceof Dict ? space.keys.map((k) => space.spaces[k]) : (space as Tuple).spaces;
  for (const p of parts) {
    const f = flattenSpace(p);
    lows.push(...f.low);
    highs.push(...f.high);
  }
  return new Box(lows, highs, [n], 'float32');
}

/** Inverse of {@link flatten} (one-hots decoded by argmax). */
export function unflatten(space: Space, flat: ArrayLike<number>, offset = 0): unknown {
  return unflattenAt(space, flat, { i: offset });
}

function unflattenAt(space: Space, flat: ArrayLike<number>, pos: { i: number }): unknown {
  const argmax = (n: number) => {
    let best = 0;
    for (let j = 1; j < n; j++) if (flat[pos.i + j] > flat[pos.i + best]) best = j;
    pos.i += n;
    return best;
  };
  if (space instanceof Discrete) return space.start + argmax(space.n);
  if (space instanceof Box) {
    const out = space.zeros();
    for (let j = 0; j < space.size; j++) out[j] = flat[pos.i + j];
    pos.i += space.size;
    return out;
  }
  if (space instanceof MultiBinary) {
    const out = new Int8Array(space.size);
    for (let j = 0; j < space.size; j++) out[j] = flat[pos.i + j] > 0.5 ? 1 : 0;
    pos.i += space.size;
    return out;
  }
  if (space instanceof MultiDiscrete) {
    const out = new Int32Array(space.nvec.length);
    for (let j = 0; j < out.length; j++) out[j] = space.start[j] + argmax(space.nvec[j]);
    return out;
  }
  if (space instanceof Dict) {
    const out: Record<string, unknown> = {};
    for (const k of space.keys) out[k] = unflattenAt(space.spaces[k], flat, pos);
    return out;
  }
  if (space instanceof Tuple) return space.spaces.map((s) => unflattenAt(s, flat, pos));
  throw new KairosError(`unflatten: unsupported space ${String(space)}`, 'unsupported_space');
}

/** Typed-array constructor for a Box dtype. */
export function typedArrayFor(dtype: BoxDtype): { new (n: number): NumericArray; BYTES_PER_ELEMENT: number } {
  return TYPED_CTOR[dtype];
}
