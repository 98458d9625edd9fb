import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.js';
import { assignFolds, fitRewardModel } from '../../src/ope/bandit/reward-model.js';
import { choleskyInPlace, choleskySolve } from '../../src/ope/linalg.js';
import { makeSyntheticBandit } from '../../src/ope/synthetic.js';
import { takeRows, type BanditLog } from '../../src/ope/types.js';

function log(rows: { a: number; x: number[]; r: number }[], k: number): BanditLog {
  const d = rows[0].x.length;
  return {
    n: rows.length,
    numActions: k,
    actions: Int32Array.from(rows.map((r) => r.a)),
    rewards: Float64Array.from(rows.map((r) => r.r)),
    propensities: new Float64Array(rows.length).fill(1 / k),
    features: Float32Array.from(rows.flatMap((r) => r.x)),
    featureDim: d,
  };
}

describe('linear algebra', () => {
  it('Cholesky solves a hand-checked SPD system', () => {
    // A = [[4, 2], [2, 3]], b = [2, 1]: x = A⁻¹b = [1/2, 0] (4·½ + 0 = 2, 2·½ + 0 = 1).
    const a = Float64Array.of(4, 2, 2, 3);
    expect(choleskyInPlace(a, 2)).toBe(true);
    expect(Array.from(a)).toEqual([2, 0, 1, Math.sqrt(2)]);
    const x = choleskySolve(a, 2, [2, 1], new Float64Array(2));
    expect(x[0]).toBeCloseTo(0.5, 14);
    expect(x[1]).toBeCloseTo(0, 14);
    expect(choleskyInPlace(Float64Array.of(1, 2, 2, 1), 2)).toBe(false);
  });
});

describe('ridge reward model', () => {
  it('matches the hand-solved normal equations (λ = 1, intercept unpenalised, no cross-fit)', () => {
    // Action 0: x = [1, 2, 3], y = [1, 2, 2]. [Σx²+λ, Σx; Σx, n] [θ; b] = [Σxy; Σy]:
    //   15θ + 6b = 11, 6θ + 3b = 5  →  θ = 1/3, b = 1; predictions 4/3, 5/3, 2.
    // Action 1: x = [0, 1], y = [3, 3]: 2θ + b = 3, θ + 2b = 6 → θ = 0, b = 3.
    const l = log(
      [
        { a: 0, x: [1], r: 1 },
        { a: 0, x: [2], r: 2 },
        { a: 0, x: [3], r: 2 },
        { a: 1, x: [0], r: 3 },
        { a: 1, x: [1], r: 3 },
      ],
      2,
    );
    const m = fitRewardModel(l, { kind: 'ridge', lambda: 1, folds: 1 });
    const q = Array.from(m.qHat);
    const expected = [4 / 3, 3, 5 / 3, 3, 2, 3, 1, 3, 4 / 3, 3]; // rows × [q̂(x, 0), q̂(x, 1)]
    q.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 12));
    [1 / 3, 1, 0, 3].forEach((v, i) => expect(m.coefficients![i]).toBeCloseTo(v, 12)); // [θ₀, b₀, θ₁, b₁]
  });

  it('recovers an exactly linear reward per action', () => {
    const rows = [];
    let s = 7;
    const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296) * 2 - 1;
    for (let i = 0; i < 200; i++) {
      const x = [rand(), rand(), rand()];
      const a = i % 3;
      rows.push({ a, x, r: 0.5 * a - 1 + x[0] * (a + 1) - 2 * x[1] + 0.25 * a * x[2] });
    }
    const l = log(rows, 3);
    const m = fitRewardModel(l, { kind: 'ridge', lambda: 1e-10, folds: 3, seed: 1 });
    for (let i = 0; i < l.n; i++) {
      const x = rows[i].x;
      for (let a = 0; a < 3; a++) {
        // features are stored in float32, so compare at float32 precision
        const truth = 0.5 * a - 1 + Math.fround(x[0]) * (a + 1) - 2 * Math.fround(x[1]) + 0.25 * a * Math.fround(x[2]);
        expect(m.qHat[i * 3 + a]).toBeCloseTo(truth, 6);
      }
    }
  });

  it('falls back to the training mean for an action never taken, and without features fits per-action means', () => {
    const l = log([{ a: 0, x: [1], r: 2 }, { a: 0, x: [2], r: 4 }], 2);
    const m = fitRewardModel(l, { folds: 1, lambda: 0 });
    expect(m.qHat[1]).toBeCloseTo(3, 12); // action 1 unseen: mean of 2 and 4
    const noFeatures = { ...l, features: undefined, featureDim: undefined };
    const m2 = fitRewardModel(noFeatures, { folds: 1 });
    expect(m2.qHat[0]).toBeCloseTo(3, 12);
  });
});

describe('tabular reward model', () => {
  // Context ids (d = 1), K = 2:
  //   (0,0): r = 1, 3 → 2;  (0,1): r = 4 → 4;  (1,1): r = 2 → 2;  (1,0): r = 5 → 5;  (2,0): r = 6 → 6
  //   (2,1) unseen → mean reward of action 1 = (4 + 2)/2 = 3.
  const l = log(
    [
      { a: 0, x: [0], r: 1 },
      { a: 0, x: [0], r: 3 },
      { a: 1, x: [1], r: 2 },
      { a: 0, x: [1], r: 5 },
      { a: 1, x: [0], r: 4 },
      { a: 0, x: [2], r: 6 },
    ],
    2,
  );

  it('per-(context, action) means, unseen cells take the action mean', () => {
    const q = fitRewardModel(l, { kind: 'tabular', lambda: 0, folds: 1 }).qHat;
    expect(Array.from(q.subarray(0, 2))).toEqual([2, 4]);
    expect(Array.from(q.subarray(2, 4))).toEqual([2, 4]); // row 1 is context 0 too
    expect(Array.from(q.subarray(4, 6))).toEqual([5, 2]);
    expect(Array.from(q.subarray(10, 12))).toEqual([6, 3]);
  });

  it('λ pseudo-counts shrink towards the action mean', () => {
    // Action-0 mean = (1 + 3 + 5 + 6)/4 = 3.75; cell (0,0): (1 + 3 + 1·3.75)/(2 + 1) = 2.583333.
    const q = fitRewardModel(l, { kind: 'tabular', lambda: 1, folds: 1 }).qHat;
    expect(q[0]).toBeCloseTo(7.75 / 3, 12);
  });
});

describe('cross-fitting', () => {
  const problem = makeSyntheticBandit({ seed: 2, numContexts: 20, featureKind: 'discrete' });
  const gauss = makeSyntheticBandit({ seed: 2, numContexts: 20 });

  it.each([
    ['ridge', gauss],
    ['tabular', problem],
  ] as const)('%s: each row is predicted by the model fitted on the other folds', (kind, p) => {
    const l = p.sample(300, 3);
    const m = fitRewardModel(l, { kind, folds: 3, seed: 5, lambda: 0.5 });
    for (let f = 0; f < 3; f++) {
      const train: number[] = [];
      const held: number[] = [];
      for (let i = 0; i < l.n; i++) (m.foldOf[i] === f ? held : train).push(i);
      // The same model fitted without cross-fitting on the training rows alone.
      const trainOnly = fitRewardModel(takeRows({ ...l, targetProbs: new Float64Array(l.n * l.numActions) }, train), {
        kind,
        folds: 1,
        lambda: 0.5,
      });
      if (kind === 'ridge') {
        // Predict held rows from the train-only coefficients.
        const k = l.numActions;
        const d = l.featureDim!;
        const c = trainOnly.coefficients!;
        for (const i of held) {
          for (let a = 0; a < k; a++) {
            let v = c[a * (d + 1) + d];
            for (let j = 0; j < d; j++) v += c[a * (d + 1) + j] * l.features![i * d + j];
            expect(m.qHat[i * k + a]).toBeCloseTo(v, 9);
          }
        }
      } else {
        // Tabular: the held row's prediction equals the train-only cell mean of its context.
        const k = l.numActions;
        for (const i of held) {
          const trainRow = train.findIndex((t) => l.features![t] === l.features![i]);
          if (trainRow < 0) continue;
          for (let a = 0; a < k; a++) expect(m.qHat[i * k + a]).toBeCloseTo(trainOnly.qHat[trainRow * k + a], 9);
        }
      }
    }
  });

  it('property: changing a row’s reward never changes its own prediction', () => {
    const l = gauss.sample(60, 9);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 59 }), fc.double({ min: -10, max: 10, noNaN: true }), (i, r) => {
        for (const kind of ['ridge', 'tabular'] as const) {
          const base = fitRewardModel(l, { kind, folds: 2, seed: 1 });
          const rewards = l.rewards.slice();
          rewards[i] = r;
          const changed = fitRewardModel({ ...l, rewards }, { kind, folds: 2, seed: 1 });
          for (let a = 0; a < l.numActions; a++) expect(changed.qHat[i * l.numActions + a]).toBeCloseTo(base.qHat[i * l.numActions + a], 9);
        }
      }),
      { numRuns: 30 },
    );
  });

  it('folds are balanced and seeded', () => {
    const f = assignFolds(10, 3, 4);
    const counts = [0, 0, 0];
    f.forEach((x) => counts[x]++);
    expect(counts.sort()).toEqual([3, 3, 4]);
    expect(Array.from(assignFolds(10, 3, 4))).toEqual(Array.from(f));
    expect(() => fitRewardModel(gauss.sample(2, 1), { folds: 3 })).toThrow(ValidationError);
  });
});
