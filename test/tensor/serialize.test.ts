/**
 * Weight serialisation: property tests (random valid weights round-trip bit for bit; random
 * corruptions give a clear error), manifest validation naming the weight, and the Node file
 * layer (atomic writes, torn pairs detected).
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KairosError, ValidationError } from '../../src/core/errors.js';
import {
  type NamedWeights,
  crc32,
  decodeOptimizerState,
  decodeWeights,
  encodeOptimizerState,
  encodeWeights,
  loadWeights,
  loadWeightsWithMetadata,
  parseWeightsManifest,
  saveWeights,
  weightShapes,
  weightsPaths,
  writeFileAtomic,
} from '../../src/tensor/index.js';

const nameArb = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_.]{0,12}$/);
const shapeArb = fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 0, maxLength: 3 });
const weightsArb: fc.Arbitrary<NamedWeights> = fc
  .uniqueArray(fc.tuple(nameArb, shapeArb), { selector: ([n]) => n, maxLength: 5 })
  .chain((entries) =>
    fc.tuple(
      ...entries.map(([name, shape]) =>
        fc
          .array(fc.float({ noDefaultInfinity: false, noNaN: false }), {
            minLength: shape.reduce((a, b) => a * b, 1),
            maxLength: shape.reduce((a, b) => a * b, 1),
          })
          .map((vals) => [name, { shape, data: Float32Array.from(vals) }] as const),
      ),
    ),
  )
  .map((pairs) => Object.fromEntries(pairs) as NamedWeights);

/** Bit patterns, so NaN payloads and −0 count. */
function bits(a: Float32Array): number[] {
  return Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
}

const sample: NamedWeights = {
  'layers.0.kernel': { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
  'layers.0.bias': { shape: [3], data: Float32Array.from([0.5, -0.5, 0]) },
};

describe('encode/decode', () => {
  it('round-trips random weights bit for bit, with metadata', () => {
    fc.assert(
      fc.property(weightsArb, fc.dictionary(fc.string(), fc.integer()), (weights, meta) => {
        const { manifest, data } = encodeWeights(weights, { meta });
        // Through JSON, as it would be on disk.
        const back = decodeWeights(JSON.parse(JSON.stringify(manifest)), data, weightShapes(weights));
        expect(Object.keys(back)).toEqual(Object.keys(weights));
        for (const [n, w] of Object.entries(weights)) {
          expect(back[n].shape).toEqual(w.shape);
          expect(bits(back[n].data)).toEqual(bits(w.data));
        }
        expect(manifest.metadata).toEqual({ meta });
      }),
      { numRuns: 200 },
    );
  });

  it('writes little-endian float32 in manifest order', () => {
    const { manifest, data } = encodeWeights(sample);
    expect(manifest.byteLength).toBe(36);
    expect(manifest.weights.map((w) => [w.name, w.offset])).toEqual([
      ['layers.0.kernel', 0],
      ['layers.0.bias', 24],
    ]);
    const view = new DataView(data);
    expect(view.getFloat32(4, true)).toBe(2);
    expect(view.getFloat32(28, true)).toBe(-0.5);
  });

  it('CRC-32 matches the standard check value', () => {
    // "123456789" → 0xCBF43926 (the CRC-32/IEEE check value).
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });

  it('any single flipped byte in the data is detected', () => {
    const { manifest, data } = encodeWeights(sample);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: data.byteLength - 1 }), fc.integer({ min: 1, max: 255 }), (i, x) => {
        const copy = new Uint8Array(data.slice(0));
        copy[i] ^= x;
        expect(() => decodeWeights(manifest, copy)).toThrow(/CRC-32/);
      }),
    );
  });

  it('random manifest corruptions give a KairosError, never wrong weights', () => {
    const { manifest, data } = encodeWeights(sample);
    const paths: Array<(m: Record<string, unknown>) => void> = [
      (m) => (m.format = 'npz'),
      (m) => (m.version = 2),
      (m) => (m.byteOrder = 'big'),
      (m) => (m.byteLength = 12),
      (m) => (m.crc32 = 'zz'),
      (m) => ((m.weights as Array<Record<string, unknown>>)[1].offset = 20),
      (m) => ((m.weights as Array<Record<string, unknown>>)[1].shape = [4]),
      (m) => ((m.weights as Array<Record<string, unknown>>)[0].dtype = 'float16'),
      (m) => ((m.weights as Array<Record<string, unknown>>)[1].name = 'layers.0.kernel'),
      (m) => ((m.weights as Array<Record<string, unknown>>)[0].name = '../etc/passwd x'),
      (m) => (m.weights = 'none'),
    ];
    fc.assert(
      fc.property(fc.integer({ min: 0, max: paths.length - 1 }), (k) => {
        const m = JSON.parse(JSON.stringify(manifest)) as Record<string, unknown>;
        paths[k](m);
        expect(() => decodeWeights(m, data)).toThrow(KairosError);
      }),
    );
  });
});

describe('manifest errors name the weight', () => {
  const { manifest, data } = encodeWeights(sample);
  const edit = (f: (w: Array<Record<string, unknown>>) => void) => {
    const m = JSON.parse(JSON.stringify(manifest));
    f(m.weights);
    return m;
  };

  it('bad shape', () => {
    expect(() => parseWeightsManifest(edit((w) => (w[1].shape = [-3])))).toThrow(/layers\.0\.bias\.shape/);
  });
  it('bad dtype', () => {
    expect(() => parseWeightsManifest(edit((w) => (w[0].dtype = 'int8')))).toThrow(/layers\.0\.kernel\.dtype.*"float32".*"int8"/);
  });
  it('duplicate name', () => {
    expect(() => parseWeightsManifest(edit((w) => (w[1].name = 'layers.0.kernel')))).toThrow(/layers\.0\.kernel.*unique/);
  });
  it('offset not packed', () => {
    expect(() => parseWeightsManifest(edit((w) => (w[1].offset = 28)))).toThrow(/layers\.0\.bias\.offset.*24/);
  });
  it('shape differs from what the network expects', () => {
    expect(() => decodeWeights(manifest, data, { 'layers.0.kernel': [3, 2], 'layers.0.bias': [3] })).toThrow(
      /layers\.0\.kernel: expected shape \[3, 2\], received \[2,3\]/,
    );
  });
  it('weight missing from the file', () => {
    expect(() => decodeWeights(manifest, data, { ...weightShapes(sample), 'layers.1.kernel': [3, 1] })).toThrow(
      /layers\.1\.kernel.*missing/,
    );
  });
  it('errors are ValidationErrors carrying the path', () => {
    try {
      parseWeightsManifest(edit((w) => (w[0].dtype = 'int8')));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ValidationError);
      expect((e as ValidationError).path).toBe('layers.0.kernel.dtype');
    }
  });
});

describe('optimizer state encoding', () => {
  it('round-trips and validates its metadata', () => {
    const state = {
      kind: 'adam' as const,
      iterations: 12,
      scalars: { accBeta1: Math.fround(0.28), accBeta2: Math.fround(0.988) },
      slots: { 'w/m': { shape: [2], data: Float32Array.from([1, 2]) }, 'w/v': { shape: [2], data: Float32Array.from([3, 4]) } },
    };
    const { manifest, data } = encodeOptimizerState(state);
    const back = decodeOptimizerState(JSON.parse(JSON.stringify(manifest)), data);
    expect(back.kind).toBe('adam');
    expect(back.iterations).toBe(12);
    expect(back.scalars).toEqual(state.scalars);
    expect(Array.from(back.slots['w/v'].data)).toEqual([3, 4]);
    const bad = JSON.parse(JSON.stringify(manifest));
    bad.metadata.kairosOptimizer.kind = 'lion';
    expect(() => decodeOptimizerState(bad, data)).toThrow(/kind.*"adam"/);
    const plain = encodeWeights(sample);
    expect(() => decodeOptimizerState(plain.manifest, plain.data)).toThrow(/kairosOptimizer/);
  });
});

describe('weights-io (Node files)', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kairos-weights-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('saves and loads, leaving no temp files', async () => {
    await saveWeights(dir, 'policy', sample, { step: 7 });
    const { weights, metadata } = await loadWeightsWithMetadata(dir, 'policy', weightShapes(sample));
    expect(Array.from(weights['layers.0.kernel'].data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(metadata).toEqual({ step: 7 });
    expect((await readdir(dir)).sort()).toEqual(['policy.weights.bin', 'policy.weights.json']);
  });

  it('overwrites atomically (a second save replaces both files)', async () => {
    const changed = { ...sample, 'layers.0.bias': { shape: [3], data: Float32Array.from([9, 9, 9]) } };
    await saveWeights(dir, 'policy', changed);
    expect(Array.from((await loadWeights(dir, 'policy'))['layers.0.bias'].data)).toEqual([9, 9, 9]);
  });

  it('detects a torn pair (new data, old manifest)', async () => {
    await saveWeights(dir, 'torn', sample);
    const paths = await weightsPaths(dir, 'torn');
    const other = encodeWeights({ ...sample, 'layers.0.bias': { shape: [3], data: Float32Array.from([7, 7, 7]) } });
    await writeFile(paths.data, new Uint8Array(other.data));
    await expect(loadWeights(dir, 'torn')).rejects.toThrow(/CRC-32/);
  });

  it('clear errors for a missing file, bad JSON and unsafe names', async () => {
    await expect(loadWeights(dir, 'nothing')).rejects.toThrow(/no saved weights "nothing"/);
    await writeFile(join(dir, 'broken.weights.json'), '{not json');
    await writeFile(join(dir, 'broken.weights.bin'), new Uint8Array(0));
    await expect(loadWeights(dir, 'broken')).rejects.toThrow(/not valid JSON/);
    await expect(saveWeights(dir, '../escape', sample)).rejects.toThrow(/name/);
  });

  it('writeFileAtomic replaces content and creates nothing else', async () => {
    const f = join(dir, 'atomic.txt');
    await writeFileAtomic(f, 'one');
    await writeFileAtomic(f, 'two');
    expect(await readFile(f, 'utf8')).toBe('two');
    expect((await readdir(dir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});
