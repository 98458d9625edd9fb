/**
 * One self-describing binary file for a snapshot made of JSON plus named typed arrays
 * (agent state, replay buffer, loop counters). Layout:
 *
 *   "KAIROSST" (8 bytes) | u32 LE header length | header JSON (UTF-8) | pad to 8 | array data
 *
 * The header lists each array's name, dtype, length, byte offset and CRC-32, so a truncated
 * or corrupted file is detected on load instead of restoring garbage.
 *
 * @example
 * const bytes = encodeState({ step: 10 }, { q: new Float32Array([1, 2]) });
 * const { json, arrays } = decodeState(bytes);
 */
import { KairosError } from '../core/errors.js';
import { crc32 } from '../tensor/serialize.js';
import type { BufferArray } from '../agents/buffers/types.js';

const MAGIC = 'KAIROSST';
const DTYPES = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  uint32: Uint32Array,
  uint8: Uint8Array,
} as const;
type DtypeName = keyof typeof DTYPES;

interface ArrayEntry {
  name: string;
  dtype: DtypeName;
  length: number;
  offset: number;
  crc32: number;
}

function dtypeOf(a: BufferArray, name: string): DtypeName {
  for (const [dtype, ctor] of Object.entries(DTYPES)) if (a instanceof ctor) return dtype as DtypeName;
  throw new KairosError(`encodeState: array "${name}" has an unsupported type ${Object.prototype.toString.call(a)}`, 'invalid_argument');
}

/** Encodes `json` and `arrays` into one buffer (see the module comment for the layout). */
export function encodeState(json: unknown, arrays: Record<string, BufferArray>): Uint8Array {
  const entries: ArrayEntry[] = [];
  let offset = 0;
  for (const [name, a] of Object.entries(arrays)) {
    const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    entries.push({ name, dtype: dtypeOf(a, name), length: a.length, offset, crc32: crc32(bytes) });
    offset += Math.ceil(a.byteLength / 8) * 8;
  }
  const header = new TextEncoder().encode(JSON.stringify({ format: 1, json, arrays: entries }));
  const dataStart = Math.ceil((12 + header.length) / 8) * 8;
  const out = new Uint8Array(dataStart + offset);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(8, header.length, true);
  out.set(header, 12);
  entries.forEach((e, i) => {
    const a = Object.values(arrays)[i];
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), dataStart + e.offset);
  });
  return out;
}

/** Decodes {@link encodeState}'s output; `source` names the file in errors. Arrays are copies. */
export function decodeState(bytes: Uint8Array, source = 'state'): { json: unknown; arrays: Record<string, BufferArray> } {
  const fail = (why: string): never => {
    throw new KairosError(`${source}: not a valid Kairos state file (${why})`, 'invalid_state_file');
  };
  if (bytes.length < 12 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) fail('bad magic bytes');
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true);
  if (12 + headerLength > bytes.length) fail('truncated header');
  let header: { json: unknown; arrays: ArrayEntry[] };
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + headerLength)));
  } catch {
    return fail('header is not JSON');
  }
  if (!Array.isArray(header.arrays)) fail('header has no array list');
  const dataStart = Math.ceil((12 + headerLength) / 8) * 8;
  const arrays: Record<string, BufferArray> = {};
  for (const e of header.arrays) {
    const ctor = DTYPES[e.dtype];
    if (!ctor || !Number.isInteger(e.length) || e.length < 0) fail(`array "${e.name}" has a bad dtype or length`);
    const start = dataStart + e.offset;
    const byteLength = e.length * ctor.BYTES_PER_ELEMENT;
    if (start + byteLength > bytes.length) fail(`array "${e.name}" is truncated`);
    const copy = new Uint8Array(bytes.subarray(start, start + byteLength));
    if (crc32(copy) !== e.crc32) fail(`array "${e.name}" fails its checksum`);
    arrays[e.name] = new ctor(copy.buffer, 0, e.length);
  }
  return { json: header.json, arrays };
}
