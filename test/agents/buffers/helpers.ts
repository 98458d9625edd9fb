/** Shared helpers of the buffer tests: deterministic transitions and bitwise state comparison. */
import { expect } from 'vitest';
import { ValidationError } from '../../../src/core/errors.js';
import type { ActionLayout, BufferState, TransitionInput } from '../../../src/agents/buffers/types.js';

/** A transition whose every field is a function of `i` (so a row says which add it came from). */
export function makeTransition(
  i: number,
  opts: { obsDim: number; action: ActionLayout; masks?: boolean; terminated?: boolean; truncated?: boolean; discount?: number },
): TransitionInput {
  const { obsDim, action } = opts;
  const obs = Float32Array.from({ length: obsDim }, (_, k) => i + k / 8);
  const nextObs = Float32Array.from({ length: obsDim }, (_, k) => i + 1 + k / 8);
  const a = action.kind === 'discrete' ? i % action.n : Float32Array.from({ length: action.dim }, (_, k) => (i % 7) - 3 + k * 0.25);
  const nextMask = opts.masks && action.kind === 'discrete' ? Uint8Array.from({ length: action.n }, (_, k) => ((i + k) % 3 === 0 ? 0 : 1)) : undefined;
  return {
    obs,
    action: a,
    reward: i * 0.5 - 1,
    nextObs,
    terminated: opts.terminated ?? i % 5 === 4,
    truncated: opts.truncated,
    discount: opts.discount ?? 0.99,
    nextMask,
    prob: i % 4 === 0 ? undefined : 1 / (1 + (i % 4)),
  };
}

/** The state's arrays as bytes, so NaN payloads and -0 compare exactly. */
export function stateBytes(state: BufferState): Record<string, Uint8Array> {
  const out: Record<string, Uint8Array> = {};
  for (const [k, a] of Object.entries(state.arrays)) out[`${k}:${a.constructor.name}`] = new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
  return out;
}

/** Asserts two snapshots are identical: same kind, JSON meta and array bytes. */
export function expectSameState(a: BufferState, b: BufferState): void {
  expect(b.kind).toBe(a.kind);
  expect(JSON.parse(JSON.stringify(b.meta))).toEqual(JSON.parse(JSON.stringify(a.meta)));
  expect(stateBytes(b)).toEqual(stateBytes(a));
}

/** Runs `fn`, expects a ValidationError, and returns its path. */
export function errorPath(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return (e as ValidationError).path;
  }
  throw new Error('expected a ValidationError, nothing was thrown');
}

/** A state with one field replaced (arrays or meta), for setState error tests. */
export function withField(state: BufferState, where: 'meta' | 'arrays', key: string, value: unknown): BufferState {
  return where === 'meta'
    ? { ...state, meta: { ...state.meta, [key]: value } }
    : { ...state, arrays: { ...state.arrays, [key]: value as Float32Array } };
}
