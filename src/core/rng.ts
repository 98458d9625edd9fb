/**
 * Seeded pseudo-random numbers that give the same stream on every platform.
 *
 * Generator: xoshiro128** (Blackman & Vigna, "Scrambled linear pseudorandom number
 * generators", ACM TOMS 2021). It uses only 32-bit integer arithmetic (`Math.imul`,
 * shifts), so results do not depend on the JS engine or CPU. The 128-bit state is
 * filled from the seed with a SplitMix32-style mixer so nearby seeds give unrelated
 * streams.
 *
 * @example
 * const rng = new Rng(42);
 * rng.uniform(-0.05, 0.05); // same value on every machine for seed 42
 * const child = rng.spawn(); // independent stream for a sub-environment
 */
import { KairosError } from './errors.js';

/** Serialisable generator state, for checkpoints. */
export interface RngState {
  readonly s: readonly [number, number, number, number];
  /** Cached second normal deviate from Box-Muller, or null. */
  readonly spareNormal: number | null;
}

const TWO_POW_32 = 4294967296;
const TWO_POW_53 = 9007199254740992;

/** Mixes a 32-bit counter into a well-distributed 32-bit value (murmur3 finaliser). */
function splitmix32(x: number): number {
  let z = x >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/** Validates a user seed: a finite integer in [0, 2^53). */
export function assertSeed(seed: unknown, field = 'seed'): asserts seed is number {
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed >= TWO_POW_53) {
    throw new KairosError(
      `${field}: expected an integer in [0, 2^53), received ${JSON.stringify(seed)}`,
      'invalid_seed',
    );
  }
}

export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private spare: number | null = null;

  /** @param seed integer in [0, 2^53); seeds above 2^32 use their high bits too. */
  constructor(seed: number) {
    this.seed(seed);
  }

  /** Restarts the stream from `seed`. */
  seed(seed: number): void {
    assertSeed(seed);
    const lo = seed >>> 0;
    const hi = Math.floor(seed / TWO_POW_32) >>> 0;
        let c = (lo + 0x9e3779b9) >>> 0;
    this.s0 = splitmix32(c);
    c = (c + 0x9e3779b9) >>> 0;
    this.s1 = splitmix32(c);
    c = (c + 0x9e3779b9) >>> 0;
    this.s2 = splitmix32(c);
    c = (c + 0x9e3779b9) >>> 0;
    this.s3 = splitmix32(c);
    if (hi !== 0) {
      // Seeds above 2^32: fold the high word into every state word (the first output
      // depends on s1 alone, so folding into one word would not change it).
      this.s0 ^= splitmix32(hi ^ 0x7f4a7c15);
      this.s1 ^= splitmix32(hi ^ 0x2545f491);
      this.s2 ^= splitmix32(hi ^ 0x6a09e667);
      this.s3 ^= splitmix32(hi ^ 0x3c6ef372);
    }
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s3 = 1; // all-zero state is a fixed point
    this.spare = null;
  }

  /** Next 32-bit unsigned integer. */
  nextUint32(): number {
    const s1 = this.s1;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform float in [0, 1) with 53 random bits. */
  random(): number {
    const a = this.nextUint32() >>> 5; // 27 bits
    const b = this.nextUint32() >>> 6; // 26 bits
    return (a * 67108864 + b) / TWO_POW_53;
  }

  /** Uniform float in [low, high). */
  uniform(low = 0, high = 1): number {
    return low + (high - low) * this.random();
  }

  /** Uniform integer in [0, n), without modulo bias. */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > TWO_POW_32) {
      throw new KairosError(`Rng.int: expected an integer n in [1, 2^32], received ${n}`, 'invalid_argument');
    }
    // Rejection sampling on the top of the 32-bit range keeps every value equally likely.
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    let x = this.nextUint32();
    while (x >= limit) x = this.nextUint32();
    return x % n;
  }

  /** Uniform integer in [low, high) (high exclusive, like numpy's `integers`). */
  integers(low: number, high: number): number {
    return low + this.int(high - low);
  }

  /** Standard normal deviate (Box-Muller; the second deviate is cached). */
  normal(mean = 0, std = 1): number {
    if (this.spare !== null) {
      const z = this.spare;
      this.spare = null;
      return mean + std * z;
    }
    let u = 0;
    while (u === 0) u = this.random();
    const v = this.random();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return mean + std * r * Math.cos(2 * Math.PI * v);
  }

  /** Exponential deviate with the given rate. */
  exponential(rate = 1): number {
    let u = 0;
    while (u === 0) u = this.random();
    return -Math.log(u) / rate;
  }

  /** True with probability p. */
  bernoulli(p: number): boolean {
    return this.random() < p;
  }

  /** Samples an index from unnormalised non-negative weights. */
  categorical(weights: ArrayLike<number>): number {
    let total = 0;
    for (let i = 0; i < weights.length; i++) total += weights[i];
    if (!(total > 0) || !Number.isFinite(total)) {
      throw new KairosError(
        `Rng.categorical: expected non-negative weights with a positive finite sum, received sum ${total}`,
        'invalid_argument',
      );
    }
    let u = this.random() * total;
    for (let i = 0; i < weights.length; i++) {
      u -= weights[i];
      if (u < 0) return i;
    }
    // Rounding can leave u at ~0: return the last index with positive weight.
    for (let i = weights.length - 1; i >= 0; i--) if (weights[i] > 0) return i;
    return weights.length - 1;
  }

  /** In-place Fisher-Yates shuffle. */
  shuffle<T extends { length: number; [i: number]: any }>(array: T): T {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = array[i];
      array[i] = array[j];
      array[j] = tmp;
    }
    return array;
  }

  /** A new seed drawn from this stream (for seeding children deterministically). */
  nextSeed(): number {
    // 53-bit seed from two draws.
    return (this.nextUint32() >>> 11) * TWO_POW_32 + this.nextUint32();
  }

  /** An independent child generator seeded from this stream. */
  spawn(): Rng {
    return new Rng(this.nextSeed());
  }

  /** Snapshot of the state, for checkpoints. */
  getState(): RngState {
    return { s: [this.s0, this.s1, this.s2, this.s3], spareNormal: this.spare };
  }

  /** Restores a snapshot taken with {@link getState}. */
  setState(state: RngState): void {
    const s = state?.s;
    if (!Array.isArray(s) || s.length !== 4 || s.some((x) => !Number.isInteger(x))) {
      throw new KairosError(
        `Rng.setState: expected state.s to be 4 integers, received ${JSON.stringify(s)}`,
        'invalid_argument',
      );
    }
    this.s0 = s[0] | 0;
    this.s1 = s[1] | 0;
    this.s2 = s[2] | 0;
    this.s3 = s[3] | 0;
    this.spare = state.spareNormal ?? null;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
