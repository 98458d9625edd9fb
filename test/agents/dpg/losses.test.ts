/**
 * DDPG/TD3/SAC loss pieces against things outside the code: finite differences of
 * Q(s, μ(s)) for the deterministic policy gradient, a numerical change of variables for the
 * tanh-squashed log-density, hand-computed targets, smoothing and temperature gradients.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DeterministicActor,
  QCritics,
  bellmanTargets,
  criticLoss,
  deterministicActorLoss,
  logOneMinusTanhSq,
  minQ,
  normalCdf,
  normalLogDensity,
  sacActorLoss,
  sacTemperatureLoss,
  smoothTargetActions,
  softNextValues,
  squashedGaussianSample,
  tanhLogDetJacobian,
} from '../../../src/agents/dpg/index.js';
import { Rng } from '../../../src/core/rng.js';
import { initTensorBackend, tf } from '../../../src/tensor/index.js';

beforeAll(async () => {
  await initTensorBackend({ backend: 'wasm' });
});

const spec = { hiddenSizes: [6], criticHiddenSizes: [7], activation: 'relu' as const, init: 'torch' as const };

describe('deterministic policy gradient', () => {
  it('∇θ of −mean Q(s, μθ(s)) through the critic equals finite differences', () => {
    const rng = new Rng(11);
    const actor = new DeterministicActor(3, 2, spec, rng);
    const critics = new QCritics(3, 2, 1, spec, rng);
    const obsData = Float32Array.from({ length: 4 * 3 }, () => rng.normal());
    const obs = tf.tensor2d(obsData, [4, 3]);
    // The agents freeze the critic in the actor's loss: the same gradient, without the critic's.
    const lossOf = (frozen = true) => tf.tidy(() => deterministicActorLoss(critics.applyOne(0, obs, actor.apply(obs), { frozen })));
    const vars = actor.trainableVariables;
    const { value, grads } = tf.variableGrads(() => lossOf(), vars);
    value.dispose();
    const unfrozen = tf.variableGrads(() => lossOf(false), vars);
    for (const v of vars) expect(Array.from(grads[v.name].dataSync()), v.name).toEqual(Array.from(unfrozen.grads[v.name].dataSync()));
    tf.dispose([unfrozen.value, ...Object.values(unfrozen.grads)]);
    // Central differences in float64 arithmetic on float32 weights: perturb each weight, recompute J.
    const h = 1e-2;
    let checked = 0;
    for (const v of vars) {
      const g = grads[v.name].dataSync();
      const base = Float32Array.from(v.dataSync());
      for (let k = 0; k < base.length; k++) {
        const probe = Float32Array.from(base);
        probe[k] = base[k] + h;
        v.assign(tf.tensor(probe, v.shape));
        const jp = lossOf();
        const fp = jp.dataSync()[0];
        probe[k] = base[k] - h;
        v.assign(tf.tensor(probe, v.shape));
        const jm = lossOf();
        const fm = jm.dataSync()[0];
        tf.dispose([jp, jm]);
        v.assign(tf.tensor(base, v.shape));
        const fd = (fp - fm) / (Math.fround(base[k] + h) - Math.fround(base[k] - h));
        // ReLU kinks make a few coordinates non-smooth within ±h; allow a loose bound there.
        expect(Math.abs(fd - g[k])).toBeLessThanOrEqual(2e-3 + 2e-2 * Math.abs(fd));
        checked++;
      }
    }
    expect(checked).toBe(actor.parameterCount);
    // The chain rule by hand: ∇θ J = −(1/B) Σ_b ∇a Q(s_b, a)|a=μ(s_b) · ∇θ μ(s_b).
    const mu = actor.apply(obs);
    const dQda = tf.grad((a: tf.Tensor) => tf.sum(critics.applyOne(0, obs, a as tf.Tensor2D)))(mu);
    const outVar = vars[vars.length - 1]; // output bias: ∂μ_d/∂b_d = 1 − μ_d²
    const expected = tf.tidy(() => tf.neg(tf.div(tf.sum(tf.mul(dQda, tf.sub(1, tf.square(mu))), 0), 4)));
    const got = grads[outVar.name].dataSync();
    const want = expected.dataSync();
    for (let d = 0; d < 2; d++) expect(got[d]).toBeCloseTo(want[d], 5);
    tf.dispose([mu, dQda, expected, obs, ...Object.values(grads)]);
    actor.dispose();
    critics.dispose();
  });
});

describe('squashed Gaussian', () => {
  it('log π(a) equals log N(u) − log|da/du| by a numerical change of variables, and integrates to 1', () => {
    const mean = [0.3, -1.2];
    const logStd = [-0.5, 0.4];
    const eps = [0.7, -1.9, 2.5, 0.1, -0.3, 3.2];
    const B = 3;
    const m = tf.tensor2d(Array.from({ length: B }, () => mean).flat(), [B, 2]);
    const ls = tf.tensor2d(Array.from({ length: B }, () => logStd).flat(), [B, 2]);
    const e = tf.tensor2d(eps, [B, 2]);
    const { actions, logProb } = squashedGaussianSample(m, ls, e);
    const a = actions.dataSync();
    const lp = logProb.dataSync();
    for (let b = 0; b < B; b++) {
      let want = 0;
      for (let d = 0; d < 2; d++) {
        const std = Math.exp(logStd[d]);
        const u = mean[d] + std * eps[b * 2 + d];
        expect(a[b * 2 + d]).toBeCloseTo(Math.tanh(u), 6);
        // |da/du| by central differences of tanh, not the closed form.
        const h = 1e-5;
        const jac = (Math.tanh(u + h) - Math.tanh(u - h)) / (2 * h);
        want += normalLogDensity(u, mean[d], std) - Math.log(jac);
        // The plain-number form used when acting agrees with the closed form.
        expect(logOneMinusTanhSq(u)).toBeCloseTo(Math.log(1 - Math.tanh(u) ** 2), 6);
      }
      expect(lp[b]).toBeCloseTo(want, 3);
    }
    // ∫ π(a) da over (−1, 1) = 1 for one dimension: midpoint rule in u-space of density(a)·da/du.
    const grid = 20_000;
    let mass = 0;
    const mu = 0.8;
    const sd = Math.exp(-0.2);
    for (let k = 0; k < grid; k++) {
      const aMid = -1 + (2 * (k + 0.5)) / grid;
      const u = Math.atanh(aMid);
      const density = Math.exp(normalLogDensity(u, mu, sd) - logOneMinusTanhSq(u));
      mass += density * (2 / grid);
    }
    expect(mass).toBeCloseTo(1, 3);
    tf.dispose([m, ls, e, actions, logProb]);
  });

  it('the Jacobian term is stable for large |u| (no −Infinity where 1 − tanh² underflows)', () => {
    const u = tf.tensor2d([0, 10, -30, 60], [1, 4]);
    const j = tanhLogDetJacobian(u).dataSync()[0];
    // log(1 − tanh² u) ≈ 2 log 2 − 2|u| for large |u|.
    const want = Math.log(1) + (2 * Math.LN2 - 20) + (2 * Math.LN2 - 60) + (2 * Math.LN2 - 120);
    expect(j).toBeCloseTo(want, 2);
    u.dispose();
  });
});

describe('targets and critic losses', () => {
  it('Bellman targets bootstrap except at terminal states, with per-row discounts', () => {
    const y = tf.tidy(() => bellmanTargets(tf.tensor1d([1, 2, -1]), tf.tensor1d([0.99, 0.5, 0.9]), tf.tensor1d([0, 1, 0]), tf.tensor2d([10, 10, -4], [3, 1])));
    expect(Array.from(y.dataSync())).toEqual([1 + 0.99 * 10, 2, -1 + 0.9 * -4].map(Math.fround));
    y.dispose();
  });

  it('clipped double Q takes the element-wise minimum; critic loss sums MSEs', () => {
    const q1 = tf.tensor2d([1, 5, -2], [3, 1]);
    const q2 = tf.tensor2d([3, 4, -1], [3, 1]);
    const m = minQ([q1, q2]);
    expect(Array.from(m.dataSync())).toEqual([1, 4, -2]);
    const y = tf.tensor2d([0, 4, 0], [3, 1]);
    const l = criticLoss([q1, q2], y, 0.5);
    // MSE(q1) = (1 + 1 + 4)/3 = 2, MSE(q2) = (9 + 0 + 1)/3 = 10/3.
    expect(l.dataSync()[0]).toBeCloseTo(0.5 * (2 + 10 / 3), 5);
    tf.dispose([q1, q2, m, y, l]);
  });

  it('target policy smoothing clips the noise to ±c and the action to [−1, 1]', () => {
    const a = tf.tensor2d([0.9, -0.2, 0, -0.95], [2, 2]);
    const noise = tf.tensor2d([0.3, 0.7, -0.1, -0.8], [2, 2]);
    const s = smoothTargetActions(a, noise, 0.5).dataSync();
    const want = [Math.min(1, 0.9 + 0.3), -0.2 + 0.5, 0 - 0.1, Math.max(-1, -0.95 - 0.5)];
    want.forEach((w, k) => expect(s[k]).toBeCloseTo(w, 6));
    tf.dispose([a, noise]);
  });

  it('SAC soft values and actor loss match hand computation', () => {
    const alpha = tf.scalar(0.2);
    const minNext = tf.tensor2d([1, -3], [2, 1]);
    const lp = tf.tensor1d([-1.5, 0.5]);
    const v = softNextValues(minNext, alpha, lp).dataSync();
    expect(v[0]).toBeCloseTo(1 + 0.2 * 1.5, 6);
    expect(v[1]).toBeCloseTo(-3 - 0.2 * 0.5, 6);
    const l = sacActorLoss(alpha, lp, minNext).dataSync()[0];
    expect(l).toBeCloseTo((0.2 * -1.5 - 1 + (0.2 * 0.5 + 3)) / 2, 6);
    tf.dispose([alpha, minNext, lp]);
  });
});

describe('SAC temperature loss', () => {
  it('value −log α · mean(log π + H̄) and gradient −mean(log π + H̄) in log α', () => {
    const logAlpha = tf.variable(tf.tensor1d([Math.log(0.5)]));
    const logProb = tf.tensor1d([-0.2, 0.6, -1.0, 0.4]);
    const H = -1; // −dim(A) for one action dimension
    const meanTerm = (-0.2 + 0.6 - 1.0 + 0.4) / 4 + H; // −0.95
    const { value, grads } = tf.variableGrads(() => sacTemperatureLoss(logAlpha, logProb, H), [logAlpha]);
    expect(value.dataSync()[0]).toBeCloseTo(-Math.log(0.5) * meanTerm, 5);
    expect(grads[logAlpha.name].dataSync()[0]).toBeCloseTo(-meanTerm, 5);
    // Entropy −log π = 0.05 above the target: the gradient is positive, so descent lowers α.
    expect(grads[logAlpha.name].dataSync()[0]).toBeGreaterThan(0);
    tf.dispose([value, logAlpha, logProb, ...Object.values(grads)]);
  });
});

describe('plain-number helpers', () => {
  it('Φ matches tabulated values', () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 7);
    expect(normalCdf(1.96)).toBeCloseTo(0.9750021, 6);
    expect(normalCdf(-1)).toBeCloseTo(0.1586553, 6);
    expect(normalCdf(-5)).toBeCloseTo(2.8665e-7, 9);
  });
});
