import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import {
  actRequestSchema,
  decisionIdOf,
  drawAction,
  LatencyWindow,
  parseDecisionId,
  parseRequestBody,
  percentile,
  RequestError,
} from '../../src/serve/index.js';

describe('decision ids', () => {
  it('round-trip any mdpId (slashes included) and 32-bit sequence number', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40 }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), (mdpId, seq) => {
        expect(parseDecisionId(decisionIdOf(mdpId, seq))).toEqual({ mdpId, sequenceNumber: seq });
      }),
    );
  });

  it('refuse ids that are not <mdpId>/<integer>', () => {
    for (const bad of ['nope', '/3', 'a/', 'a/1.5', 'a/99999999999', 'a/x']) {
      expect(() => parseDecisionId(bad), bad).toThrow(RequestError);
    }
  });
});

describe('drawAction', () => {
  it('draws each action with its probability and never a masked one', () => {
    const probs = Float64Array.of(0.2, 0, 0.5, 0.3);
    const rng = new Rng(0);
    const counts = [0, 0, 0, 0];
    const n = 40_000;
    for (let i = 0; i < n; i++) counts[drawAction(probs, 0, 4, rng)]++;
    expect(counts[1]).toBe(0);
    // 4 binomial standard deviations at n = 40 000 is about 0.01.
    counts.forEach((c, a) => expect(Math.abs(c / n - probs[a])).toBeLessThan(0.01));
  });

  it('returns a one-hot row without drawing (greedy decisions leave the stream alone)', () => {
    const rng = new Rng(5);
    const state = JSON.stringify(rng.getState());
    expect(drawAction(Float64Array.of(0, 0, 1, 0, 0.5, 0.5), 0, 3, rng)).toBe(2);
    expect(JSON.stringify(rng.getState())).toBe(state);
  });
});

describe('percentile and LatencyWindow', () => {
  it('nearest rank, by hand', () => {
    const xs = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(xs, 0.5)).toBe(50);
    expect(percentile(xs, 0.9)).toBe(90);
    expect(percentile(xs, 0.99)).toBe(99);
    expect(percentile(Float64Array.of(7), 0.99)).toBe(7);
  });

  it('keeps the newest samples and the all-time max', () => {
    const w = new LatencyWindow(4);
    for (const x of [100, 1, 2, 3, 4]) w.record(x);
    expect(w.summary()).toEqual({ count: 5, windowCount: 4, mean: 2.5, p50: 2, p90: 4, p99: 4, max: 100 });
  });
});

describe('the /act schema', () => {
  it('accepts a valid body and refuses random invalid ones with a named field', () => {
    const schema = actRequestSchema(3, 4);
    expect(parseRequestBody(schema, { state: [1, 2, 3], possibleActions: [3, 0], mdpId: 'u', sequenceNumber: 2, deterministic: false }, '/act')).toMatchObject({ state: [1, 2, 3] });
    fc.assert(
      fc.property(fc.anything(), (state) => {
        fc.pre(!(Array.isArray(state) && state.length === 3 && state.every((x) => typeof x === 'number' && Number.isFinite(x) && Math.abs(x) <= 3.4e38)));
        try {
          parseRequestBody(schema, { state }, '/act');
          return false;
        } catch (err) {
          expect(err).toBeInstanceOf(RequestError);
          expect((err as RequestError).status).toBe(400);
          expect((err as RequestError).issues[0].path).toMatch(/^state/);
          return true;
        }
      }),
    );
  });
});
