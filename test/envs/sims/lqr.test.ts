/**
 * LQR-v0 and lqr-riccati.ts: the DARE against the scalar closed form, the Riccati
 * controller's simulated cost against the exact expected cost, and the optimum against
 * perturbed gains.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../../src/core/rng.js';
import { make, register } from '../../../src/envs/registry.js';
import { simRegistrations } from '../../../src/envs/sims/index.js';
import { Lqr, lqrLinearPolicy, lqrProblem, lqrRiccati } from '../../../src/envs/sims/lqr.js';
import {
  finiteHorizonLqr,
  lqrAverageCost,
  lqrOptimalCost,
  lqrPolicyCost,
  matAdd,
  matMul,
  solveDiscreteRiccati,
  trace,
  transpose,
  type Matrix,
} from '../../../src/envs/sims/lqr-riccati.js';

// Only the simulators: importing every built-in env (Box2D included) would slow the test down.
for (const reg of simRegistrations) register(reg);

const T = 200;

/** Mean and standard error of the episode cost (−return) of `policy`, episode i seeded seed + i. */
function episodeCosts(policy: (obs: Float32Array) => Float32Array, episodes: number, seed: number): number[] {
  const env = make<Float32Array, Float32Array>('LQR-v0');
  const costs: number[] = [];
  for (let ep = 0; ep < episodes; ep++) {
    let { observation } = env.reset({ seed: seed + ep });
    let cost = 0;
    for (;;) {
      const r = env.step(policy(observation));
      cost -= r.reward;
      observation = r.observation;
      if (r.terminated || r.truncated) break;
    }
    costs.push(cost);
  }
  return costs;
}

function meanSe(xs: number[]): { mean: number; se: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1);
  return { mean, se: Math.sqrt(variance / xs.length) };
}

const scale = (K: Matrix, f: number): Matrix => K.map((row) => row.map((x) => x * f));

describe('discrete Riccati equation', () => {
  it('matches the scalar closed form on an unstable system', () => {
    // b²P² + (r(1 − a²) − qb²) P − qr = 0, the positive root; K = abP / (r + b²P).
    const [a, b, q, r] = [1.1, 0.5, 2, 0.3];
    const lin = r * (1 - a * a) - q * b * b;
    const P = (-lin + Math.sqrt(lin * lin + 4 * b * b * q * r)) / (2 * b * b);
    const K = (a * b * P) / (r + b * b * P);
    const sol = solveDiscreteRiccati([[a]], [[b]], [[q]], [[r]]);
    expect(sol.P[0][0]).toBeCloseTo(P, 10);
    expect(sol.K[0][0]).toBeCloseTo(K, 10);
  });

  it('solves the default double integrator: the DARE residual vanishes and tr(PW) is the average cost', () => {
    const p = lqrProblem();
    const { P, K } = lqrRiccati();
    const { A, B, Q, R } = p;
    // P − (Q + A'PA − A'PB (R + B'PB)^{-1} B'PA), written with K = (R + B'PB)^{-1} B'PA.
    const residual = matAdd(P, matAdd(matAdd(Q, matMul(matMul(transpose(A), P), A)), matMul(matMul(matMul(transpose(A), P), B), K), 1, -1), 1, -1);
    for (const row of residual) for (const x of row) expect(Math.abs(x)).toBeLessThan(1e-9);
    expect(P[0][1]).toBe(P[1][0]);
    expect(lqrAverageCost(p, K)).toBeCloseTo(trace(matMul(P, p.W)), 10);
    // The documented figures (docs/sims.md).
    expect(K[0][0]).toBeCloseTo(2.5857, 4);
    expect(K[0][1]).toBeCloseTo(3.4434, 4);
    expect(trace(matMul(P, p.W))).toBeCloseTo(0.17921, 5);
  });

  it('the finite-horizon optimum is a lower bound the stationary gain nearly reaches', () => {
    const p = lqrProblem();
    const { K } = lqrRiccati();
    const optimal = lqrOptimalCost(p, T);
    const stationary = lqrPolicyCost(p, K, T);
    expect(optimal).toBeLessThan(stationary);
    expect(stationary - optimal).toBeLessThan(0.01 * optimal);
    // Far from the end the time-varying gain is the stationary one.
    const fh = finiteHorizonLqr(p.A, p.B, p.Q, p.R, T);
    expect(fh.K[0][0][0]).toBeCloseTo(K[0][0], 8);
    expect(fh.K[0][0][1]).toBeCloseTo(K[0][1], 8);
  });
});

describe('LQR-v0', () => {
  const p = lqrProblem();
  const { K, P } = lqrRiccati();
  const riccati = lqrLinearPolicy(K);

  it('the Riccati controller’s simulated cost matches the exact expected cost', () => {
    const exact = lqrPolicyCost(p, K, T);
    expect(exact).toBeCloseTo(52.678, 2);
    const { mean, se } = meanSe(episodeCosts(riccati, 1000, 0));
    expect(Math.abs(mean - exact)).toBeLessThan(4 * se);
    expect(se).toBeLessThan(0.03 * exact);
  });

  it('beats perturbed gains, exactly and in paired simulation', () => {
    const best = lqrPolicyCost(p, K, T);
    const rng = new Rng(11);
    const perturbed: Matrix[] = [scale(K, 0.8), scale(K, 1.2), [[K[0][0] + 0.5, K[0][1]]], [[K[0][0], K[0][1] - 0.5]]];
    for (let i = 0; i < 6; i++) perturbed.push([[K[0][0] * (1 + 0.3 * rng.normal()), K[0][1] * (1 + 0.3 * rng.normal())]]);
    for (const Kp of perturbed) {
      expect(lqrPolicyCost(p, Kp, T), JSON.stringify(Kp)).toBeGreaterThan(best);
      expect(lqrAverageCost(p, Kp)).toBeGreaterThan(lqrAverageCost(p, K));
    }
    // Paired episodes (same seeds, so the same x0 and noise): the difference is significant
    // and matches the exact difference.
    const Kp = scale(K, 0.5);
    const a = episodeCosts(riccati, 400, 5000);
    const b = episodeCosts(lqrLinearPolicy(Kp), 400, 5000);
    const diff = meanSe(b.map((x, i) => x - a[i]));
    const exactDiff = lqrPolicyCost(p, Kp, T) - best;
    expect(diff.mean).toBeGreaterThan(5 * diff.se);
    expect(Math.abs(diff.mean - exactDiff)).toBeLessThan(4 * diff.se);
  });

  it('without noise, the cost from x0 is x0ᵀ P x0 (up to the tail beyond 200 steps)', () => {
    const env = new Lqr({ noiseStd: 0 });
    env.reset({ seed: 0 });
    env.setState([1, -0.5]);
    let x: Float32Array = Float32Array.from(env.getState());
    let cost = 0;
    for (let t = 0; t < T; t++) {
      const r = env.step(riccati(x));
      cost -= r.reward;
      x = r.observation;
      expect(r.reward).toBeCloseTo(r.info.rewardVector!.state + r.info.rewardVector!.control, 12);
    }
    const x0Px0 = P[0][0] - P[0][1] + 0.25 * P[1][1];
    // Float32 observations make the controller slightly suboptimal; the tail is negligible.
    expect(Math.abs(cost - x0Px0) / x0Px0).toBeLessThan(1e-6);
  });

  it('clips actions when actionLimit is set and rejects malformed actions', () => {
    const env = new Lqr({ actionLimit: 1, noiseStd: 0 });
    expect(String(env.actionSpace)).toBe('Box(-1.0, 1.0, (1,), float32)');
    env.reset({ seed: 0 });
    env.setState([0, 0]);
    const r = env.step(Float32Array.of(5));
    expect(r.info.rewardVector!.control).toBeCloseTo(-0.1, 12); // R · 1²
    expect(r.observation[1]).toBeCloseTo(0.1, 7); // velocity += dt · 1
    expect(() => env.step(Float32Array.of(Number.NaN))).toThrow(/invalid action/);
    expect(() => env.step(Float32Array.of(1, 2))).toThrow(/expected 1 number/);
  });
});
