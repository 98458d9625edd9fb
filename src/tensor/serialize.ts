/**
 * Browser-safe weight (de)serialisation: named float32 arrays <-> a JSON manifest plus one
 * little-endian float32 buffer. No tfjs and no Node APIs here, so a browser can fetch
 * `policy.weights.json` + `policy.weights.bin` and load them, and the dashboard can read a
 * manifest without touching the data.
 *
 * The manifest records every weight's name, shape, dtype and byte offset, the buffer length
 * and its CRC-32, so a truncated or mismatched pair of files is caught on load instead of
 * silently producing garbage weights. Every error names the offending weight.
 *
 * @example
 * const { manifest, data } = encodeWeights(mlp.getWeights());
 * const weights = decodeWeights(manifest, data, weightShapes(mlp.getWeights()));
 * mlp.setWeights(weights);
 */
import { KairosError, ValidationError } from '../core/errors.js';
import type { OptimizerState } from './optim.js';

/** One weight as plain data: its shape and row-major float32 values. */
export interface WeightArray {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** Weights by name (e.g. `layers.0.kernel`), in a stable insertion order. */
export type NamedWeights = Record<string, WeightArray>;

/** Expected shape of each weight, by name. */
export type WeightShapes = Record<string, readonly number[]>;

/** Manifest format tag written by {@link encodeWeights}. */
export const WEIGHTS_FORMAT = 'kairos-weights';
/** Manifest format version; bump on any incompatible change to the layout. */
export const WEIGHTS_FORMAT_VERSION = 1;

/** One entry of a manifest. */
export interface WeightEntry {
  name: string;
  shape: number[];
  dtype: 'float32';
  /** Byte offset of the first value in the data buffer. */
  offset: number;
}

/** The JSON half of a saved set of weights. */
export interface WeightsManifest {
  format: typeof WEIGHTS_FORMAT;
  version: typeof WEIGHTS_FORMAT_VERSION;
  byteOrder: 'little';
  /** Length of the data buffer in bytes. */
  byteLength: number;
  /** CRC-32 (IEEE) of the data buffer, as 8 lowercase hex digits. */
  crc32: string;
  weights: WeightEntry[];
  /** Free-form JSON the caller attached (optimiser step count, config, ...). */
  metadata?: Record<string, unknown>;
}

const NAME_PATTERN = /^[A-Za-z0-9_.:/@[\]-]+$/;

function isShape(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((d) => Number.isInteger(d) && d >= 0);
}

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Shapes of a set of weights (what a loader should expect). */
export function weightShapes(weights: NamedWeights): WeightShapes {
  return Object.fromEntries(Object.entries(weights).map(([name, w]) => [name, [...w.shape]]));
}

/**
 * Checks that `weights` is well formed (each `data` a Float32Array whose length matches its
 * shape) and, if `expected` is given, has exactly the expected names and shapes.
 * Throws a {@link ValidationError} whose path is the weight's name.
 */
export function checkWeights(weights: unknown, expected?: WeightShapes, context = 'weights'): asserts weights is NamedWeights {
  if (weights === null || typeof weights !== 'object' || Array.isArray(weights)) {
    throw new ValidationError('', 'an object of named weights', weights, context);
  }
  const record = weights as Record<string, unknown>;
  for (const [name, w] of Object.entries(record)) {
    const entry = w as Partial<WeightArray> | null;
    if (entry === null || typeof entry !== 'object') throw new ValidationError(name, '{ shape, data }', w, context);
    if (!isShape(entry.shape)) throw new ValidationError(`${name}.shape`, 'an array of non-negative integers', entry.shape, context);
    if (!(entry.data instanceof Float32Array)) throw new ValidationError(`${name}.data`, 'a Float32Array', entry.data, context);
    if (entry.data.length !== sizeOf(entry.shape)) {
      throw new ValidationError(
        `${name}.data`,
        `${sizeOf(entry.shape)} values for shape ${formatShape(entry.shape)}`,
        entry.data.length,
        context,
      );
    }
  }
  if (expected === undefined) return;
  for (const [name, shape] of Object.entries(expected)) {
    const w = record[name] as WeightArray | undefined;
    if (w === undefined) {
      throw new ValidationError(name, `a weight of shape ${formatShape(shape)} (it is missing)`, undefined, context);
    }
    if (w.shape.length !== shape.length || w.shape.some((d, i) => d !== shape[i])) {
      throw new ValidationError(name, `shape ${formatShape(shape)}`, [...w.shape], context);
    }
  }
  const unexpected = Object.keys(record).filter((name) => !(name in expected));
  if (unexpected.length > 0) {
    throw new ValidationError(
      unexpected[0],
      `only known weights (${Object.keys(expected).join(', ')}); ${unexpected.length} unknown given`,
      [...(record[unexpected[0]] as WeightArray).shape],
      context,
    );
  }
}

let crcTable: Uint32Array | null = null;

/** CRC-32 (IEEE 802.3, the zlib/PNG polynomial 0xEDB88320) of `bytes`. */
export function crc32(bytes: Uint8Array): number {
  if (crcTable === null) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = crcTable[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Encodes named weights as a manifest and one little-endian float32 buffer, in the order of
 * `weights`' keys.
 *
 * @example
 * const { manifest, data } = encodeWeights(net.getWeights(), { step: 1000 });
 */
export function encodeWeights(weights: NamedWeights, metadata?: Record<string, unknown>): { manifest: WeightsManifest; data: ArrayBuffer } {
  checkWeights(weights, undefined, 'encodeWeights');
  const entries: WeightEntry[] = [];
  let offset = 0;
  for (const [name, w] of Object.entries(weights)) {
    if (!NAME_PATTERN.test(name)) {
      throw new ValidationError(name, `a weight name matching ${NAME_PATTERN}`, name, 'encodeWeights');
    }
    entries.push({ name, shape: [...w.shape], dtype: 'float32', offset });
    offset += w.data.length * 4;
  }
  const data = new ArrayBuffer(offset);
  const floats = new Float32Array(data);
  const view = new DataView(data);
  let pos = 0;
  for (const w of Object.values(weights)) {
    if (LITTLE_ENDIAN_HOST) {
      floats.set(w.data, pos / 4);
    } else {
      for (let i = 0; i < w.data.length; i++) view.setFloat32(pos + i * 4, w.data[i], true);
    }
    pos += w.data.length * 4;
  }
  const manifest: WeightsManifest = {
    format: WEIGHTS_FORMAT,
    version: WEIGHTS_FORMAT_VERSION,
    byteOrder: 'little',
    byteLength: offset,
    crc32: crc32(new Uint8Array(data)).toString(16).padStart(8, '0'),
    weights: entries,
  };
  if (metadata !== undefined) {
    // Round-trip through JSON now so a non-serialisable value fails at save time, not load time.
    manifest.metadata = JSON.parse(JSON.stringify(metadata)) as Record<string, unknown>;
  }
  return { manifest, data };
}

function fail(path: string, expected: string, received: unknown): never {
  throw new ValidationError(path, expected, received, 'weights manifest');
}

/** Validates an untrusted manifest (e.g. parsed from a file) and returns it typed. */
export function parseWeightsManifest(input: unknown): WeightsManifest {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) fail('', 'an object', input);
  const m = input as Record<string, unknown>;
  if (m.format !== WEIGHTS_FORMAT) fail('format', `"${WEIGHTS_FORMAT}"`, m.format);
  if (m.version !== WEIGHTS_FORMAT_VERSION) fail('version', String(WEIGHTS_FORMAT_VERSION), m.version);
  if (m.byteOrder !== 'little') fail('byteOrder', '"little"', m.byteOrder);
  if (!Number.isInteger(m.byteLength) || (m.byteLength as number) < 0) fail('byteLength', 'a non-negative integer', m.byteLength);
  if (typeof m.crc32 !== 'string' || !/^[0-9a-f]{8}$/.test(m.crc32)) fail('crc32', '8 lowercase hex digits', m.crc32);
  if (m.metadata !== undefined && (m.metadata === null || typeof m.metadata !== 'object' || Array.isArray(m.metadata))) {
    fail('metadata', 'an object', m.metadata);
  }
  if (!Array.isArray(m.weights)) fail('weights', 'an array', m.weights);
  const seen = new Set<string>();
  let expectedOffset = 0;
  const weights = m.weights as unknown[];
  weights.forEach((raw, i) => {
    const e = raw as Record<string, unknown> | null;
    if (e === null || typeof e !== 'object') fail(`weights.${i}`, 'an object', raw);
    if (typeof e.name !== 'string' || !NAME_PATTERN.test(e.name)) fail(`weights.${i}.name`, 'a weight name', e.name);
    // From here on errors name the weight, which is what a user can act on.
    const name = e.name;
    if (seen.has(name)) fail(name, 'a unique weight name (it appears twice)', name);
    seen.add(name);
    if (!isShape(e.shape)) fail(`${name}.shape`, 'an array of non-negative integers', e.shape);
    if (e.dtype !== 'float32') fail(`${name}.dtype`, '"float32"', e.dtype);
    // Weights are packed back to back in manifest order; anything else means a corrupt manifest.
    if (e.offset !== expectedOffset) fail(`${name}.offset`, `${expectedOffset} (weights packed in order)`, e.offset);
    expectedOffset += sizeOf(e.shape) * 4;
  });
  if (expectedOffset !== m.byteLength) {
    fail('byteLength', `${expectedOffset} (the sum of the weights' sizes)`, m.byteLength);
  }
  return input as WeightsManifest;
}

/**
 * Decodes a manifest and its data buffer into named weights (fresh Float32Arrays). With
 * `expected`, also checks that the names and shapes are exactly those.
 *
 * @example
 * const weights = decodeWeights(JSON.parse(json), bin, weightShapes(net.getWeights()));
 */
export function decodeWeights(
  manifest: unknown,
  data: ArrayBuffer | ArrayBufferView,
  expected?: WeightShapes,
): NamedWeights {
  const m = parseWeightsManifest(manifest);
  const bytes =
    data instanceof ArrayBuffer
      ? new Uint8Array(data)
      : ArrayBuffer.isView(data)
        ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
        : null;
  if (bytes === null) throw new ValidationError('data', 'an ArrayBuffer or typed array', data, 'decodeWeights');
  if (bytes.byteLength !== m.byteLength) {
    throw new KairosError(
      `decodeWeights: data is ${bytes.byteLength} bytes but the manifest says ${m.byteLength} (truncated or mismatched files?)`,
      'weights_mismatch',
    );
  }
  const crc = crc32(bytes).toString(16).padStart(8, '0');
  if (crc !== m.crc32) {
    throw new KairosError(
      `decodeWeights: data CRC-32 is ${crc} but the manifest says ${m.crc32} (corrupt or mismatched files?)`,
      'weights_mismatch',
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: NamedWeights = {};
  for (const e of m.weights) {
    const n = sizeOf(e.shape);
    let values: Float32Array;
    if (LITTLE_ENDIAN_HOST) {
      // Copy the bytes out first: the source may not be 4-byte aligned (Node pools small Buffers).
      values = new Float32Array(bytes.slice(e.offset, e.offset + n * 4).buffer);
    } else {
      values = new Float32Array(n);
      for (let i = 0; i < n; i++) values[i] = view.getFloat32(e.offset + i * 4, true);
    }
    out[e.name] = { shape: [...e.shape], data: values };
  }
  if (expected !== undefined) checkWeights(out, expected, 'decodeWeights');
  return out;
}

/** Metadata stored in a manifest, or `{}`. */
export function manifestMetadata(manifest: WeightsManifest): Record<string, unknown> {
  return manifest.metadata ?? {};
}

/** Short human description of a manifest, e.g. for CLI output. */
export function describeManifest(manifest: WeightsManifest): string {
  const params = manifest.weights.reduce((n, e) => n + sizeOf(e.shape), 0);
  return `${manifest.weights.length} weights, ${params} parameters, ${manifest.byteLength} bytes`;
}

/** Metadata key under which optimiser state is stored. */
const OPTIMIZER_KEY = 'kairosOptimizer';

/**
 * Encodes optimiser state (from `getOptimizerState`) in the weights format: the slots are
 * the weights, kind/iterations/scalars go in the manifest metadata.
 */
export function encodeOptimizerState(state: OptimizerState): { manifest: WeightsManifest; data: ArrayBuffer } {
  for (const [k, x] of Object.entries(state.scalars)) {
    if (!Number.isFinite(x)) throw new ValidationError(`scalars.${k}`, 'a finite number', x, 'encodeOptimizerState');
  }
  return encodeWeights(state.slots, {
    [OPTIMIZER_KEY]: { kind: state.kind, iterations: state.iterations, scalars: state.scalars },
  });
}

/** Decodes what {@link encodeOptimizerState} wrote; validates kind, step count and scalars. */
export function decodeOptimizerState(manifest: unknown, data: ArrayBuffer | ArrayBufferView): OptimizerState {
  const slots = decodeWeights(manifest, data);
  const meta = (manifest as WeightsManifest).metadata?.[OPTIMIZER_KEY] as Record<string, unknown> | undefined;
  const ctx = 'optimizer state manifest';
  if (meta === undefined || meta === null || typeof meta !== 'object') {
    throw new ValidationError(`metadata.${OPTIMIZER_KEY}`, 'optimizer state metadata', meta, ctx);
  }
  if (meta.kind !== 'adam' && meta.kind !== 'sgd' && meta.kind !== 'rmsprop') {
    throw new ValidationError(`metadata.${OPTIMIZER_KEY}.kind`, 'one of "adam", "sgd", "rmsprop"', meta.kind, ctx);
  }
  if (!Number.isInteger(meta.iterations) || (meta.iterations as number) < 0) {
    throw new ValidationError(`metadata.${OPTIMIZER_KEY}.iterations`, 'a non-negative integer', meta.iterations, ctx);
  }
  const scalars = meta.scalars as Record<string, unknown> | undefined;
  if (scalars === null || typeof scalars !== 'object' || Object.values(scalars).some((x) => typeof x !== 'number')) {
    throw new ValidationError(`metadata.${OPTIMIZER_KEY}.scalars`, 'an object of numbers', scalars, ctx);
  }
  return { kind: meta.kind, iterations: meta.iterations as number, scalars: scalars as Record<string, number>, slots };
}
