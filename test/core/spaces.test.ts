import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import {
  Box,
  Dict,
  Discrete,
  MultiBinary,
  MultiDiscrete,
  Tuple,
  flatdim,
  flatten,
  flattenSpace,
  spaceFromJSON,
  unflatten,
  type Space,
} from '../../src/core/spaces.js';

// Arbitrary spaces, nested up to depth 2.
const leafSpace: fc.Arbitrary<Space> = fc.oneof(
  fc.record({ n: fc.integer({ min: 1, max: 20 }), start: fc.integer({ min: -5, max: 5 }) }).map(({ n, start }) => new Discrete(n, start)),
  fc
    .tuple(fc.integer({ min: 1, max: 6 }), fc.double({ min: -100, max: 100, noNaN: true }), fc.double({ min: 0, max: 50, noNaN: true }))
    .map(([n, lo, width]) => new Box(lo, lo + width, [n])),
  fc.integer({ min: 1, max: 4 }).map((n) => new Box(-Infinity, Infinity, [n])),
  fc.integer({ min: 1, max: 4 }).map((n) => new Box(0, Infinity, [n], 'float64')),
  fc.integer({ min: 1, max: 4 }).map((n) => new Box(-3, 7, [n], 'int32')),
  fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 }).map((nvec) => new MultiDiscrete(nvec)),
  fc.integer({ min: 1, max: 8 }).map((n) => new MultiBinary(n)),
);
const anySpace: fc.Arbitrary<Space> = fc.oneof(
  leafSpace,
  fc.array(leafSpace, { minLength: 1, maxLength: 3 }).map((s) => new Tuple(s)),
  fc.dictionary(fc.constantFrom('a', 'b', 'obs', 'mask'), leafSpace, { minKeys: 1 }).map((d) => new Dict(d)),
);

describe('spaces', () => {
  it('samples are contained, for any space and seed', () => {
    fc.assert(
      fc.property(anySpace, fc.nat(), (space, seed) => {
        const rng = new Rng(seed);
        for (let i = 0; i < 5; i++) {
          const x = space.sample(rng);
          expect(space.explain(x)).toBeNull();
        }
      }),
    );
  });

  it('round-trips through JSON', () => {
    fc.assert(
      fc.property(anySpace, (space) => {
        const back = spaceFromJSON(JSON.parse(JSON.stringify(space.toJSON())));
        expect(back.toJSON()).toEqual(space.toJSON());
        expect(String(back)).toBe(String(space));
      }),
    );
  });

  it('flatten and unflatten invert each other, and flat samples lie in flattenSpace', () => {
    fc.assert(
      fc.property(anySpace, fc.nat(), (space, seed) => {
        const x = space.sample(new Rng(seed));
        const flat = flatten(space, x);
        expect(flat.length).toBe(flatdim(space));
        expect(flattenSpace(space).contains(flat)).toBe(true);
        const back = unflatten(space, flat);
        // float32 flattening rounds float64 Box values.
        expect(flatten(space, back)).toEqual(flat);
      }),
    );
  });

  it('same seed gives the same samples', () => {
    fc.assert(
      fc.property(anySpace, fc.nat(), (space, seed) => {
        expect(space.sample(new Rng(seed))).toEqual(space.sample(new Rng(seed)));
      }),
    );
  });

  it('contains never throws and rejects junk with a reason', () => {
    fc.assert(
      fc.property(anySpace, fc.anything(), (space, junk) => {
        const ok = space.contains(junk);
        expect(typeof ok).toBe('boolean');
        if (!ok) expect(space.explain(junk)).toMatch(/expected|missing|unexpected/);
      }),
    );
  });

  it('Discrete: range, start and masked sampling', () => {
    const d = new Discrete(3, 1);
    expect(d.contains(1)).toBe(true);
    expect(d.contains(3)).toBe(true);
    expect(d.contains(4)).toBe(false);
    expect(d.contains(1.5)).toBe(false);
    expect(String(d)).toBe('Discrete(3, start=1)');
    const rng = new Rng(0);
    for (let i = 0; i < 50; i++) expect(d.sample(rng, [0, 1, 0])).toBe(2);
    expect(d.sample(rng, [0, 0, 0])).toBe(1);
    expect(() => d.sample(rng, [1, 1])).toThrow(/mask: expected length 3/);
  });

  it('Box: bounds, dtype, toString like Gymnasium', () => {
    const b = new Box([-4.8, -Infinity], [4.8, Infinity]);
    expect(b.shape).toEqual([2]);
    expect(b.isBounded()).toBe(false);
    expect(String(b)).toBe('Box([-4.8 -inf], [4.8 inf], (2,), float32)');
    expect(String(new Box(-1, 1, [2, 3]))).toBe('Box(-1.0, 1.0, (2, 3), float32)');
    expect(b.contains([4.8, 1e30])).toBe(true);
    expect(b.explain([5, 0])).toMatch(/index 0 in \[-4.8, 4.8\], received 5/);
    expect(b.explain([0])).toMatch(/expected 2 values/);
    expect(b.sample(new Rng(0))).toBeInstanceOf(Float32Array);
    expect(new Box(0, 255, [4], 'uint8').sample(new Rng(0))).toBeInstanceOf(Uint8Array);
    expect(new Box(0, 3, [1], 'int32').contains([1.5])).toBe(false);
  });

  it('Box: half-bounded and unbounded sampling follow Gymnasium', () => {
    const rng = new Rng(3);
    const half = new Box([0], [Infinity], undefined, 'float64');
    let s = 0;
    for (let i = 0; i < 20_000; i++) s += half.sample(rng)[0];
    expect(s / 20_000).toBeCloseTo(1, 1); // lo + Exp(1)
  });

  it('Dict sorts keys and reports the bad key', () => {
    const d = new Dict({ z: new Discrete(2), a: new Box(0, 1, [1]) });
    expect(d.keys).toEqual(['a', 'z']);
    expect(String(d)).toBe("Dict('a': Box(0.0, 1.0, (1,), float32), 'z': Discrete(2))");
    expect(d.explain({ a: [0.5], z: 5 })).toMatch(/^z: expected an integer in \[0, 1\]/);
    expect(d.explain({ a: [0.5] })).toMatch(/missing key "z"/);
    expect(d.explain({ a: [0.5], z: 0, q: 1 })).toMatch(/unexpected key "q"/);
  });

  it('constructors reject bad arguments with the field name', () => {
    expect(() => new Discrete(0)).toThrow(ValidationError);
    expect(() => new Discrete(0)).toThrow(/Discrete.n: expected a positive integer, received 0/);
    expect(() => new Box(1, 0, [2])).toThrow(/Box.low\[0\]: expected low <= high/);
    expect(() => new Box(0, 1)).toThrow(/Box.shape/);
    expect(() => new Box([0, 0], [1, 1, 1])).toThrow(/Box.high: expected a number or 2 numbers/);
    expect(() => new MultiDiscrete([2, 0])).toThrow(/MultiDiscrete.nvec/);
    expect(() => spaceFromJSON({ type: 'Sphere' })).toThrow(/space.type: expected Discrete \| Box/);
  });

  it('flattens Discrete and MultiDiscrete to one-hots', () => {
    expect(Array.from(flatten(new Discrete(3, 1), 2))).toEqual([0, 1, 0]);
    expect(Array.from(flatten(new MultiDiscrete([2, 3]), [1, 2]))).toEqual([0, 1, 0, 0, 1]);
  });
});
