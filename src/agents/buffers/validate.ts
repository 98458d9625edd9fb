/**
 * Checks shared by every buffer (internal to `agents/buffers`): option schemas for the row
 * layout, the per-transition check `add` runs before it writes anything, and the helpers
 * `setState` uses to name the bad field of a snapshot.
 *
 * Every check throws a {@link ValidationError} (path, expected, received) and runs before a
 * buffer touches its storage, so a rejected call never leaves a half-written row.
 *
 * @example
 * checkTransition(t, layout, 'ReplayBuffer.add', true); // throws "ReplayBuffer.add: reward: expected a finite number, received NaN"
 */
import { z } from 'zod';
import { KairosError, ValidationError } from '../../core/errors.js';
import type { ActionLayout, BufferArray, BufferLayout, BufferState, TransitionInput } from './types.js';

/** Largest row count: sampled indices live in an Int32Array. */
export const MAX_ROWS = 2 ** 31 - 1;

/** Schema of {@link ActionLayout}. */
export const ActionLayoutSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('discrete'), n: z.number().int().min(1).max(MAX_ROWS) }),
  z.strictObject({ kind: z.literal('continuous'), dim: z.number().int().min(1).max(1 << 20) }),
]);

/** Fields every buffer's options share (spread into a `z.strictObject`). */
export const layoutFields = {
  /** Length of a flat observation. */
  obsDim: z.number().int().min(1).max(1 << 26),
  action: ActionLayoutSchema,
  /** Keep next-state action masks (needs a discrete layout: one entry per action). */
  storeMasks: z.boolean().default(false),
};

/** Refinement: masks need a discrete action count. */
export function masksNeedDiscrete(o: { storeMasks: boolean; action: ActionLayout }, ctx: z.RefinementCtx): void {
  if (o.storeMasks && o.action.kind !== 'discrete') {
    ctx.addIssue({ code: 'custom', path: ['storeMasks'], message: 'false unless action.kind is "discrete" (a mask has one entry per action)' });
  }
}

/** Numbers one stored action takes. */
export function actionWidth(action: ActionLayout): number {
  return action.kind === 'discrete' ? 1 : action.dim;
}

/** Numbers one stored mask takes (0 when masks are not stored). */
export function maskWidth(layout: BufferLayout): number {
  return layout.storeMasks && layout.action.kind === 'discrete' ? layout.action.n : 0;
}

/** True for a finite JS number (fast path: `v - v` is NaN for NaN and ±Infinity). */
function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && v - v === 0;
}

function checkVector(v: unknown, length: number, path: string, context: string): void {
  const a = v as ArrayLike<unknown> | null | undefined;
  if (a === null || typeof a !== 'object' || a.length !== length) {
    throw new ValidationError(path, `${length} numbers`, a === null || typeof a !== 'object' ? a : `length ${String(a.length)}`, context);
  }
  for (let i = 0; i < length; i++) {
    if (!isFiniteNumber(a[i])) throw new ValidationError(`${path}[${i}]`, 'a finite number', a[i], context);
  }
}

/**
 * Validates one transition against `layout`; throws a ValidationError naming the field.
 * Costs O(obsDim) reads, about what copying the row costs. `checkDiscount` is false for
 * the n-step writer, which sets discounts itself.
 */
export function checkTransition(t: TransitionInput, layout: BufferLayout, context: string, checkDiscount: boolean): void {
  if (t === null || typeof t !== 'object') throw new ValidationError('', 'a transition object', t, context);
  checkVector(t.obs, layout.obsDim, 'obs', context);
  const action = layout.action;
  if (action.kind === 'discrete') {
    const a = t.action;
    if (typeof a !== 'number' || !Number.isInteger(a) || a < 0 || a >= action.n) {
      throw new ValidationError('action', `an integer in [0, ${action.n})`, a, context);
    }
  } else {
    checkVector(t.action, action.dim, 'action', context);
  }
  if (!isFiniteNumber(t.reward)) throw new ValidationError('reward', 'a finite number', t.reward, context);
  checkVector(t.nextObs, layout.obsDim, 'nextObs', context);
  if (typeof t.terminated !== 'boolean') throw new ValidationError('terminated', 'a boolean', t.terminated, context);
  if (t.truncated !== undefined && typeof t.truncated !== 'boolean') throw new ValidationError('truncated', 'a boolean or undefined', t.truncated, context);
  if (checkDiscount) {
    const g = t.discount;
    if (typeof g !== 'number' || !(g >= 0 && g <= 1)) throw new ValidationError('discount', 'a number in [0, 1]', g, context);
  }
  if (layout.storeMasks && action.kind === 'discrete' && t.nextMask != null) {
    const m = t.nextMask;
    if (typeof m !== 'object' || m.length !== action.n) {
      throw new ValidationError('nextMask', `${action.n} entries of 0 or 1, or null`, typeof m === 'object' ? `length ${String(m.length)}` : m, context);
    }
    for (let i = 0; i < action.n; i++) {
      if (m[i] !== 0 && m[i] !== 1) throw new ValidationError(`nextMask[${i}]`, '0 or 1', m[i], context);
    }
  }
  const p = t.prob;
  // NaN is how "unknown" is stored, so it is accepted as input too.
  if (p !== undefined && (typeof p !== 'number' || p < 0 || p === Infinity)) {
    throw new ValidationError('prob', 'a number >= 0, NaN or undefined (unknown)', p, context);
  }
}

/** Validates a batch size or sequence length argument. */
export function checkCount(value: unknown, path: string, context: string, max = MAX_ROWS): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw new ValidationError(path, `an integer in [1, ${max}]`, value, context);
  }
}

/** Allocates a typed array, turning V8's bare RangeError into a message with the size. */
export function allocate<T extends BufferArray>(ctor: new (n: number) => T, length: number, what: string): T {
  try {
    return new ctor(length);
  } catch (e) {
    if (e instanceof RangeError) {
      const bytes = length * (ctor as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
      throw new KairosError(`${what}: cannot allocate ${length} elements (${(bytes / 2 ** 20).toFixed(0)} MiB): ${e.message}`, 'allocation_failed');
    }
    throw e;
  }
}

// ---- snapshots --------------------------------------------------------------------------

/** Checks the snapshot is an object of the expected `kind`. */
export function checkStateKind(state: BufferState, kind: string, context: string): void {
  if (state === null || typeof state !== 'object') throw new ValidationError('', 'a buffer state object', state, context);
  if (state.kind !== kind) throw new ValidationError('kind', JSON.stringify(kind), state.kind, context);
  if (state.meta === null || typeof state.meta !== 'object') throw new ValidationError('meta', 'an object', state.meta, context);
  if (state.arrays === null || typeof state.arrays !== 'object') throw new ValidationError('arrays', 'an object', state.arrays, context);
}

/** Checks `meta[key]` deep-equals `expected` (layout fields that must match the buffer). */
export function expectMeta(state: BufferState, key: string, expected: unknown, context: string): void {
  const got = state.meta[key];
  if (canonicalJson(got) !== canonicalJson(expected)) throw new ValidationError(`meta.${key}`, JSON.stringify(expected), got, context);
}

/** JSON with sorted keys, so `{ n, kind }` equals `{ kind, n }`. */
function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x !== null && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : x,
  ) ?? 'undefined';
}

/** Reads an integer `meta[key]` in [min, max]. */
export function metaInt(state: BufferState, key: string, min: number, max: number, context: string): number {
  const v = state.meta[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ValidationError(`meta.${key}`, `an integer in [${min}, ${max}]`, v, context);
  }
  return v;
}

/** Reads a finite number `meta[key]` in [min, max]. */
export function metaNumber(state: BufferState, key: string, min: number, max: number, context: string): number {
  const v = state.meta[key];
  if (typeof v !== 'number' || !(v >= min && v <= max)) throw new ValidationError(`meta.${key}`, `a number in [${min}, ${max}]`, v, context);
  return v;
}

/** Reads `arrays[name]`, checking its dtype and length. */
export function takeArray<T extends BufferArray>(
  state: BufferState,
  name: string,
  ctor: abstract new (...args: never[]) => T,
  length: number,
  context: string,
): T {
  const a = state.arrays[name];
  if (!(a instanceof ctor)) {
    throw new ValidationError(`arrays.${name}`, `a ${ctor.name}`, a === undefined ? undefined : `a ${(a as object)?.constructor?.name ?? typeof a}`, context);
  }
  if (a.length !== length) throw new ValidationError(`arrays.${name}`, `length ${length}`, `length ${a.length}`, context);
  return a;
}
