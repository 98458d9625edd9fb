import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.js';
import {
  banditDataset,
  episodicDataset,
  importanceRatios,
  softmaxPolicyFromQ,
  takeEpisodes,
  takeRows,
  validateBanditDataset,
  validateEpisodicDataset,
  type BanditDataset,
  type EpisodicDataset,
} from '../../src/ope/types.js';

/** A valid 3-row, 2-action dataset. */
function tiny(): BanditDataset {
  return {
    n: 3,
    numActions: 2,
    actions: Int32Array.of(0, 1, 1),
    rewards: Float64Array.of(1, 0, 0.5),
    propensities: Float64Array.of(0.5, 0.25, 1),
    targetProbs: Float64Array.of(0.8, 0.2, 0.5, 0.5, 0, 1),
  };
}

function tinyEpisodes(): EpisodicDataset {
  return {
    numEpisodes: 2,
    numSteps: 3,
    numActions: 2,
    episodeStarts: Int32Array.of(0, 2, 3),
    actions: Int32Array.of(0, 1, 1),
    rewards: Float64Array.of(1, 2, 3),
    propensities: Float64Array.of(0.5, 0.4, 0.5),
    targetProbs: Float64Array.of(0.6, 0.4, 0.2, 0.8, 0.5, 0.5),
    gamma: 0.9,
  };
}

function expectValidation(f: () => unknown, path: string, messagePart?: string): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    expect((e as ValidationError).path).toBe(path);
    if (messagePart) expect((e as Error).message).toContain(messagePart);
    return;
  }
  throw new Error(`expected a ValidationError at ${path}`);
}

describe('bandit dataset validation', () => {
  it('accepts a valid dataset', () => {
    expect(validateBanditDataset(tiny())).toBeDefined();
  });

  it('names the field, row, value and expectation', () => {
    expectValidation(
      () => validateBanditDataset({ ...tiny(), propensities: Float64Array.of(0.5, 0, 1) }),
      'propensities[1]',
      'bandit dataset: propensities[1]: expected a probability in (0, 1], received 0',
    );
    expectValidation(() => validateBanditDataset({ ...tiny(), propensities: Float64Array.of(0.5, 1.5, 1) }), 'propensities[1]');
    expectValidation(() => validateBanditDataset({ ...tiny(), propensities: Float64Array.of(NaN, 0.5, 1) }), 'propensities[0]', 'NaN');
    expectValidation(() => validateBanditDataset({ ...tiny(), rewards: Float64Array.of(1, NaN, 0) }), 'rewards[1]');
    expectValidation(() => validateBanditDataset({ ...tiny(), actions: Int32Array.of(0, 2, 1) }), 'actions[1]', 'an action in [0, 2)');
    expectValidation(() => validateBanditDataset({ ...tiny(), actions: Int32Array.of(0, -1, 1) }), 'actions[1]');
    expectValidation(
      () => validateBanditDataset({ ...tiny(), targetProbs: Float64Array.of(0.8, 0.2, 0.5, 0.4, 0, 1) }),
      'targetProbs[1]',
      'summing to 1',
    );
    expectValidation(
      () => validateBanditDataset({ ...tiny(), targetProbs: Float64Array.of(0.8, 0.2, 1.5, -0.5, 0, 1) }),
      'targetProbs[1][0]',
    );
  });

  it('checks lengths and types', () => {
    expectValidation(() => validateBanditDataset({ ...tiny(), rewards: Float64Array.of(1, 0) }), 'rewards.length', 'expected 3');
    expectValidation(() => validateBanditDataset({ ...tiny(), targetProbs: new Float64Array(5) }), 'targetProbs.length');
    expectValidation(() => validateBanditDataset({ ...tiny(), actions: [0, 1, 1] as unknown as Int32Array }), 'actions', 'Int32Array');
    expectValidation(
      () => validateBanditDataset({ ...tiny(), features: new Float32Array(5), featureDim: 2 }),
      'features.length',
    );
    expectValidation(() => validateBanditDataset({ ...tiny(), features: new Float32Array(3) }), 'featureDim');
    expectValidation(
      () => validateBanditDataset({ ...tiny(), features: Float32Array.of(0, 1, NaN, 0, 0, 0), featureDim: 2 }),
      'features[1][0]',
    );
  });

  it('rejects actions and target probability on masked-out actions', () => {
    const mask = Uint8Array.of(1, 1, 1, 0, 1, 1);
    expectValidation(() => validateBanditDataset({ ...tiny(), actionMask: mask }), 'actions[1]', 'allowed action');
    const ok = { ...tiny(), actions: Int32Array.of(0, 0, 1), propensities: Float64Array.of(0.5, 0.5, 1) };
    expectValidation(() => validateBanditDataset({ ...ok, actionMask: mask }), 'targetProbs[1][1]', 'masked-out');
    const fixed = { ...ok, targetProbs: Float64Array.of(0.8, 0.2, 1, 0, 0, 1), actionMask: mask };
    expect(validateBanditDataset(fixed)).toBe(fixed);
  });

  it('honours the tolerance on row sums', () => {
    const almost = { ...tiny(), targetProbs: Float64Array.of(0.8, 0.2001, 0.5, 0.5, 0, 1) };
    expect(() => validateBanditDataset(almost)).toThrow(ValidationError);
    expect(validateBanditDataset(almost, { tolerance: 1e-3 })).toBe(almost);
  });

  it('property: corrupting one propensity or action names that row', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 2, max: 5 }),
        fc.nat(),
        fc.constantFrom('propensity-zero', 'propensity-big', 'action', 'reward'),
        (n, k, pick, kind) => {
          const row = pick % n;
          const data: BanditDataset = {
            n,
            numActions: k,
            actions: new Int32Array(n),
            rewards: new Float64Array(n),
            propensities: new Float64Array(n).fill(1 / k),
            targetProbs: new Float64Array(n * k).fill(1 / k),
          };
          validateBanditDataset(data);
          if (kind === 'propensity-zero') data.propensities[row] = 0;
          if (kind === 'propensity-big') data.propensities[row] = 1 + 1e-9;
          if (kind === 'action') data.actions[row] = k;
          if (kind === 'reward') data.rewards[row] = Infinity;
          const field = kind === 'action' ? 'actions' : kind === 'reward' ? 'rewards' : 'propensities';
          expectValidation(() => validateBanditDataset(data), `${field}[${row}]`);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('episodic dataset validation', () => {
  it('accepts a valid dataset and checks offsets and γ', () => {
    expect(validateEpisodicDataset(tinyEpisodes())).toBeDefined();
    expectValidation(() => validateEpisodicDataset({ ...tinyEpisodes(), episodeStarts: Int32Array.of(0, 2, 2) }), 'episodeStarts[2]', 'at least one step');
    expectValidation(() => validateEpisodicDataset({ ...tinyEpisodes(), episodeStarts: Int32Array.of(1, 2, 3) }), 'episodeStarts[0]');
    expectValidation(() => validateEpisodicDataset({ ...tinyEpisodes(), episodeStarts: Int32Array.of(0, 1) }), 'episodeStarts.length');
    expectValidation(() => validateEpisodicDataset({ ...tinyEpisodes(), gamma: 1.5 }), 'gamma');
    expectValidation(() => validateEpisodicDataset({ ...tinyEpisodes(), propensities: Float64Array.of(0.5, 0.4, -1) }), 'propensities[2]');
    expectValidation(
      () => validateEpisodicDataset({ ...tinyEpisodes(), targetProbs: Float64Array.of(0.6, 0.4, 0.2, 0.7, 0.5, 0.5) }),
      'targetProbs[1]',
    );
  });
});

describe('target policies', () => {
  it('softmax of Q with temperature, masks and the greedy limit', () => {
    // Q = [1, 2, 3], τ = 1: e^{-2}, e^{-1}, 1 over their sum 1.5032147 = [0.0900306, 0.2447285, 0.6652410].
    const p = softmaxPolicyFromQ({ values: Float64Array.of(1, 2, 3), numActions: 3 }, 1);
    expect(p[0]).toBeCloseTo(0.0900306, 6);
    expect(p[1]).toBeCloseTo(0.2447285, 6);
    expect(p[2]).toBeCloseTo(0.665241, 6);
    // Mask out action 1: e^{-2}/(1 + e^{-2}) = 0.1192029, 1/(1 + e^{-2}) = 0.8807971.
    const pm = softmaxPolicyFromQ({ values: Float64Array.of(1, 2, 3), numActions: 3 }, 1, Uint8Array.of(1, 0, 1));
    expect(Array.from(pm).map((v) => +v.toFixed(7))).toEqual([0.1192029, 0, 0.8807971]);
    // τ = 0: greedy, ties split evenly.
    expect(Array.from(softmaxPolicyFromQ({ values: Float64Array.of(2, 2, 1), numActions: 3 }, 0))).toEqual([0.5, 0.5, 0]);
    // Large Q-values do not overflow.
    const big = softmaxPolicyFromQ({ values: Float64Array.of(1000, 1001), numActions: 2 }, 1);
    expect(big[0] + big[1]).toBeCloseTo(1, 12);
    expect(() => softmaxPolicyFromQ({ values: Float64Array.of(1, 2), numActions: 2 }, -1)).toThrow(ValidationError);
    // A table of several rows, each its own softmax. τ = 1/ln 3 makes e^{(q − max)/τ} = 3^{q − max}:
    // [0, 1] → [1/3, 1]/(4/3) = [0.25, 0.75]; [5, 5] → [0.5, 0.5]; [2, 1] with action 0 masked → [0, 1].
    const rows = softmaxPolicyFromQ({ values: Float64Array.of(0, 1, 5, 5, 2, 1), numActions: 2 }, 1 / Math.log(3), Uint8Array.of(1, 1, 1, 1, 0, 1));
    [0.25, 0.75, 0.5, 0.5, 0, 1].forEach((v, i) => expect(rows[i]).toBeCloseTo(v, 12));
  });

  it('a policy function is evaluated per row with its features and mask', () => {
    const log = {
      n: 2,
      numActions: 2,
      actions: Int32Array.of(0, 0),
      rewards: Float64Array.of(1, 2),
      propensities: Float64Array.of(0.5, 0.5),
      features: Float32Array.of(0, 3),
      featureDim: 1,
      actionMask: Uint8Array.of(1, 1, 1, 0),
    };
    // Q(x, a) = x·a: row 0 ties (uniform), row 1 prefers action 1 but it is masked.
    const policy = softmaxPolicyFromQ((x) => [0, x[0]], 0);
    const data = banditDataset(log, policy);
    expect(Array.from(data.targetProbs)).toEqual([0.5, 0.5, 1, 0]);
    expect(Array.from(importanceRatios(data))).toEqual([1, 2]);
  });

  it('attaches a table to episodes and selects rows and episodes', () => {
    const e = tinyEpisodes();
    const ep = episodicDataset({ ...e }, e.targetProbs);
    const sub = takeEpisodes(ep, [1, 1, 0]);
    expect(Array.from(sub.episodeStarts)).toEqual([0, 1, 2, 4]);
    expect(Array.from(sub.rewards)).toEqual([3, 3, 1, 2]);
    expect(validateEpisodicDataset(sub)).toBe(sub);
    const rows = takeRows(tiny(), [2, 0]);
    expect(Array.from(rows.targetProbs)).toEqual([0, 1, 0.8, 0.2]);
  });
});
