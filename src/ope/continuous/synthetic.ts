/**
 * A synthetic continuous-action problem whose target value is known in closed form, for
 * testing kernelized estimators.
 *
 *   x ~ Uniform(−1, 1)                              (one context feature)
 *   g_j(x) = sin(πx + j)                            (best action, dimension j = 0..d−1)
 *   logging:  a_j ~ Normal(g_j(x) + b, σ²) independently      (density μ(a|x) = Π_j φ_σ(a_j − g_j(x) − b))
 *   reward:   r = −Σ_j (a_j − g_j(x))² + ε,   ε ~ Normal(0, noise²)
 *   target:   π_j(x) = g_j(x) + s·x                 (deterministic)
 *
 * so q(x, a) = −Σ_j (a_j − g_j(x))² and V(π) = E_x[q(x, π(x))] = −d s² E[x²] = −d s² / 3.
 * Because q is quadratic in a, kernelized IPS with a symmetric kernel has expectation exactly
 * V(π) − κ₂ Σ_j h_j² (κ₂ = ∫u²K, see kernels.ts): the smoothing bias, visible and shrinking
 * with h.
 *
 * @example
 * const p = makeSyntheticContinuous({ seed: 0, n: 10_000, actionDim: 2, targetSlope: 0.5 });
 * kernelizedIps({ bandwidth: 0.2 }).estimate(p.data).value; // ≈ p.value − 2·0.04
 */
import { z } from 'zod';
import { parseWith } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import type { ContinuousDataset, ContinuousRewardModel } from './types.js';

export const SyntheticContinuousConfig = z.object({
  seed: z.number().int().min(0).default(0),
  /** Rows to sample. */
  n: z.number().int().min(1).default(10_000),
  actionDim: z.number().int().min(1).default(1),
  /** Logging standard deviation σ. */
  loggingStd: z.number().positive().default(0.5),
  /** Logging offset b from the best action. */
  loggingShift: z.number().default(0.3),
  /** Target slope s: π(x) = g(x) + s·x. */
  targetSlope: z.number().default(0.5),
  /** Reward noise standard deviation. */
  noiseStd: z.number().min(0).default(0.1),
});
export type SyntheticContinuousConfig = z.input<typeof SyntheticContinuousConfig>;

/** A sampled problem: the data, the exact target value and the exact reward model. */
export interface SyntheticContinuous {
  data: ContinuousDataset;
  /** V(π) = −d s² / 3. */
  value: number;
  /** q(x_i, a_i) and q(x_i, π(x_i)) from the true reward function (an exact model for DR). */
  trueModel: ContinuousRewardModel;
  /** The context per row. */
  contexts: Float64Array;
}

/** Samples the problem described in the module comment. */
export function makeSyntheticContinuous(config: SyntheticContinuousConfig = {}): SyntheticContinuous {
  const c = parseWith(SyntheticContinuousConfig, config, 'makeSyntheticContinuous');
  const { n, actionDim: d, loggingStd: sd, loggingShift: b, targetSlope: s, noiseStd } = c;
  const rng = new Rng(c.seed);
  const actions = new Float64Array(n * d);
  const targetActions = new Float64Array(n * d);
  const rewards = new Float64Array(n);
  const densities = new Float64Array(n);
  const contexts = new Float64Array(n);
  const qLogged = new Float64Array(n);
  const qTarget = new Float64Array(n);
  const norm = 1 / (sd * Math.sqrt(2 * Math.PI));
  for (let i = 0; i < n; i++) {
    const x = rng.uniform(-1, 1);
    contexts[i] = x;
    let density = 1;
    let q = 0;
    let qt = 0;
    for (let j = 0; j < d; j++) {
      const g = Math.sin(Math.PI * x + j);
      const z = rng.normal();
      const a = g + b + sd * z;
      actions[i * d + j] = a;
      targetActions[i * d + j] = g + s * x;
      density *= norm * Math.exp(-0.5 * z * z);
      q -= (a - g) ** 2;
      qt -= (s * x) ** 2;
    }
    densities[i] = density;
    qLogged[i] = q;
    qTarget[i] = qt;
    rewards[i] = q + (noiseStd > 0 ? rng.normal(0, noiseStd) : 0);
  }
  return {
    data: { n, actionDim: d, actions, rewards, densities, targetActions, features: Float32Array.from(contexts), featureDim: 1 },
    value: (-d * s * s) / 3,
    trueModel: { qLogged, qTarget },
    contexts,
  };
}
