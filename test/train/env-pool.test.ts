import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import '../../src/envs/builtin.js';
import { make } from '../../src/envs/registry.js';
import { EnvPool, episodeSeed } from '../../src/train/env-pool.js';
import { decodeState, encodeState } from '../../src/train/state-file.js';

describe('episodeSeed', () => {
  it('is deterministic, in [0, 2^31) and distinct across envs and episodes', () => {
    const seen = new Set<number>();
    for (const seed of [0, 1, 12345]) {
      for (let i = 0; i < 8; i++) {
        for (let e = 0; e < 200; e++) {
          const s = episodeSeed(seed, i, e);
          expect(s).toBe(episodeSeed(seed, i, e));
          expect(s >= 0 && s < 2 ** 31).toBe(true);
          seen.add(s);
        }
      }
    }
    expect(seen.size).toBe(3 * 8 * 200);
  });
});

function runRandom(pool: EnvPool, rng: Rng, steps: number, record: number[]): void {
  const actions = new Int32Array(pool.n);
  for (let t = 0; t < steps; t++) {
    for (let i = 0; i < pool.n; i++) actions[i] = rng.int(pool.numActions);
    pool.step(actions);
    record.push(...pool.nextObs, ...pool.rewards);
    pool.advance();
  }
}

describe('EnvPool', () => {
  for (const id of ['CartPole-v1', 'LunarLander-v3']) {
    it(`${id}: a restored pool continues exactly like the original (action replay)`, () => {
      const a = new EnvPool(() => make(id), 3, 7);
      a.resetAll();
      const rngA = new Rng(1);
      runRandom(a, rngA, 60, []);
      const saved = a.getState();
      const rngState = rngA.getState();
      const tailA: number[] = [];
      runRandom(a, rngA, 80, tailA);

      const b = new EnvPool(() => make(id), 3, 7);
      b.setState(JSON.parse(JSON.stringify(saved)));
      const rngB = new Rng(0);
      rngB.setState(rngState);
      const tailB: number[] = [];
      runRandom(b, rngB, 80, tailB);
      expect(tailB).toEqual(tailA);
      a.close();
      b.close();
    });
  }

  it('ended episodes reset with the next derived seed; slots count episodes', () => {
    const pool = new EnvPool(() => make('CartPole-v1'), 2, 3);
    pool.resetAll();
    const first = pool.obs.slice(0, 4);
    const env = make('CartPole-v1');
    const ref = env.reset({ seed: episodeSeed(3, 0, 0) }).observation as Float32Array;
    expect(Array.from(first)).toEqual(Array.from(ref));
    let finished = 0;
    const actions = new Int32Array([0, 0]);
    while (finished === 0) {
      pool.step(actions);
      finished = pool.advance().length;
    }
    expect(pool.slots[0].episode).toBe(1);
    const ref1 = env.reset({ seed: episodeSeed(3, 0, 1) }).observation as Float32Array;
    expect(Array.from(pool.obs.slice(0, 4))).toEqual(Array.from(ref1));
  });

  it('rejects a checkpoint for a different number of envs', () => {
    const pool = new EnvPool(() => make('CartPole-v1'), 2, 0);
    expect(() => pool.setState([])).toThrow(/envs.*2 env states/);
  });
});

describe('state files', () => {
  it('round-trip JSON and every array type bit-exactly', () => {
    const arrays = {
      f32: Float32Array.from([1.5, -0, Number.NaN, 3e-40]),
      f64: Float64Array.from([Math.PI]),
      i32: Int32Array.from([-1, 2 ** 31 - 1]),
      u32: Uint32Array.from([7]),
      u8: Uint8Array.from([1, 2, 3]),
      empty: new Float32Array(0),
    };
    const bytes = encodeState({ step: 5, nested: { a: [1, 2] } }, arrays);
    const { json, arrays: back } = decodeState(bytes);
    expect(json).toEqual({ step: 5, nested: { a: [1, 2] } });
    for (const [k, v] of Object.entries(arrays)) {
      expect(back[k].constructor).toBe(v.constructor);
      expect(new Uint8Array(back[k].buffer)).toEqual(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    }
  });

  it('detects truncation and corruption', () => {
    const bytes = encodeState({}, { x: new Float32Array(100).fill(1) });
    expect(() => decodeState(bytes.subarray(0, bytes.length - 10), 'ckpt')).toThrow(/ckpt.*truncated/);
    const bad = bytes.slice();
    bad[bad.length - 1] ^= 0xff;
    expect(() => decodeState(bad, 'ckpt')).toThrow(/checksum/);
    expect(() => decodeState(new TextEncoder().encode('hello world!!'), 'ckpt')).toThrow(/magic/);
  });
});
