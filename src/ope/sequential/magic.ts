/**
 * MAGIC: Model And Guided Importance sampling Combining (Thomas & Brunskill 2016, "Data-
 * efficient off-policy policy evaluation for reinforcement learning", ICML, section 6 and
 * Algorithm 1).
 *
 * MAGIC blends off-policy j-step returns: follow the weighted-IS data for j + 1 steps, then
 * the model for the rest. With w̄_{i,t} = w_{i,t}/Σ_k w_{k,t} and w̄_{i,−1} = 1/n (as in WDR):
 *
 *   g^(j) = Σ_i [ Σ_{t=0}^{j} γ^t ( w̄_{i,t} (r_{i,t} − Q̂_{i,t}) + w̄_{i,t−1} V̂_{i,t} )
 *                 + γ^{j+1} w̄_{i,j} V̂(s_{i,j+1}) ]
 *
 * so g^(−1) is the model alone (mean V̂(s_0)) and g^(H−1) is WDR (the paper's g^(∞)). The
 * control-variate terms inside the sum are those of WDR, as in the paper's Algorithm 1 and the
 * reference implementations. Writing g^(j) = Σ_i x_i^(j), Algorithm 1:
 *
 *  1. Ω̂ = n/(n−1) Σ_i (x_i − x̄)(x_i − x̄)ᵀ, the covariance of the vector g_J = (g^(j))_{j∈J};
 *  2. a κ-confidence interval CI of WDR (percentile bootstrap over episodes; the paper uses
 *     κ = 0.5, the default here);
 *  3. b̂_j = distance from g^(j) to CI (0 inside), the estimated bias of each j-step return;
 *  4. x̂ = argmin_{x ∈ simplex} xᵀ (Ω̂ + b̂ b̂ᵀ) x   (estimated MSE of the blend);
 *  5. return x̂ᵀ g_J.
 *
 * Neither unbiased nor exactly consistent in finite samples (the blend weights are estimated),
 * but as n grows the bias bound shrinks and MAGIC tends to WDR where the model is wrong, and
 * can lean on the model where it is right. The reported stderr is √(x̂ᵀ Ω̂ x̂), which ignores the
 * randomness of x̂; the bootstrap re-runs the whole procedure on resampled episodes.
 *
 * @example
 * magic({ jSteps: [-1, 0, 1, 3, Infinity] }).estimate(episodes, fqeModel);
 */
import { z } from 'zod';
import { parseWith } from '../../core/errors.js';
import { safeRatio, type Estimate } from '../estimate.js';
import { bootstrapTerms } from '../bootstrap.js';
import type { EpisodicDataset } from '../types.js';
import { padEpisodes, requireQModel, sequentialDiagnostics, type QModel, type SequentialEstimator } from './estimator.js';
import { wdrTerms } from './weighted-doubly-robust.js';

export const MagicOptions = z.object({
  /** The set J of j-steps (−1 = model only; ≥ H−1 or Infinity = WDR). Default: all up to 30 values. */
  jSteps: z.array(z.number().min(-1).or(z.literal(Infinity))).min(1).optional(),
  /** Confidence level κ of WDR's interval used as the bias bound (Algorithm 1 uses 0.5). */
  confidence: z.number().gt(0).lt(1).default(0.5),
  /** Bootstrap resamples for that interval. */
  resamples: z.number().int().min(2).default(200),
  seed: z.number().int().min(0).default(0),
});
export type MagicOptions = z.input<typeof MagicOptions>;

/** The intermediate quantities of MAGIC, for inspection and tests. */
export interface MagicResult {
  value: number;
  /** J after clipping to [−1, H−1] and removing duplicates. */
  jSteps: number[];
  /** g^(j) for j in J. */
  returns: number[];
  /** Blend weights x̂ (on the simplex). */
  blend: number[];
  /** Bias bounds b̂_j. */
  bias: number[];
  /** The WDR confidence interval used for the bias. */
  ci: [number, number];
  /** Ω̂ (|J| × |J| row-major). */
  covariance: number[];
  stderr: number;
}

/** Default J: every j from −1 to H−1 when H ≤ 30, else −1, H−1 and 29 evenly spaced j's. */
export function defaultJSteps(horizon: number): number[] {
  if (horizon <= 30) return Array.from({ length: horizon + 1 }, (_, i) => i - 1);
  const js = new Set<number>([-1, horizon - 1]);
  for (let m = 0; m < 29; m++) js.add(Math.round((m * (horizon - 1)) / 29));
  return [...js].sort((a, b) => a - b);
}

/** Euclidean projection onto the probability simplex (Duchi et al. 2008, fig. 1). */
export function projectOntoSimplex(v: Float64Array): Float64Array {
  const m = v.length;
  const u = Float64Array.from(v).sort().reverse();
  let cum = 0;
  let theta = 0;
  for (let j = 0; j < m; j++) {
    cum += u[j];
    const t = (cum - 1) / (j + 1);
    if (u[j] - t > 0) theta = t;
  }
  const out = new Float64Array(m);
  for (let j = 0; j < m; j++) out[j] = Math.max(v[j] - theta, 0);
  return out;
}

/**
 * argmin over the simplex of xᵀAx for a symmetric PSD m × m matrix A, by accelerated
 * projected gradient (FISTA, Beck & Teboulle 2009) with step 1/L, L = 2·max row sum |A| (a
 * Gershgorin bound on the gradient's Lipschitz constant). m is small (|J| ≤ ~30).
 */
export function minimiseOnSimplex(a: Float64Array, m: number, maxIterations = 20000, tolerance = 1e-13): Float64Array {
  let lip = 0;
  for (let i = 0; i < m; i++) {
    let s = 0;
    for (let j = 0; j < m; j++) s += Math.abs(a[i * m + j]);
    lip = Math.max(lip, 2 * s);
  }
  let x: Float64Array = new Float64Array(m).fill(1 / m);
  if (!(lip > 0) || !Number.isFinite(lip)) return x;
  let y = x.slice();
  let t = 1;
  const step = new Float64Array(m);
  for (let it = 0; it < maxIterations; it++) {
    for (let i = 0; i < m; i++) {
      let g = 0;
      for (let j = 0; j < m; j++) g += a[i * m + j] * y[j];
      step[i] = y[i] - (2 * g) / lip;
    }
    const xNew = projectOntoSimplex(step);
    const tNew = (1 + Math.sqrt(1 + 4 * t * t)) / 2;
    let change = 0;
    for (let i = 0; i < m; i++) {
      y[i] = xNew[i] + ((t - 1) / tNew) * (xNew[i] - x[i]);
      change = Math.max(change, Math.abs(xNew[i] - x[i]));
    }
    x = xNew;
    t = tNew;
    if (change < tolerance) break;
  }
  return x;
}

/** Runs MAGIC (Algorithm 1) and returns its intermediate quantities. */
export function magicBlend(data: EpisodicDataset, qHat: Float64Array, options: MagicOptions = {}): MagicResult {
  const opts = parseWith(MagicOptions, options, 'magic');
  const p = padEpisodes(data, qHat);
  const { n, horizon: h, discounts: disc } = p;
  const js = [...new Set((opts.jSteps ?? defaultJSteps(h)).map((j) => Math.min(Math.floor(j), h - 1)))].sort((a, b) => a - b);
  const m = js.length;
  const col = new Int32Array(h + 1).fill(-1); // position in J of j = t − 1
  js.forEach((j, idx) => (col[j + 1] = idx));

  // Normalisers Σ_i w_{i,t}.
  const norm = new Float64Array(h);
  for (let e = 0; e < n; e++) for (let t = 0; t < h; t++) norm[t] += p.weights[e * h + t];

  // x[j][i]: episode i's part of g^(j), from one running prefix sum per episode.
  const x = new Float64Array(m * n);
  for (let e = 0; e < n; e++) {
    const o = e * h;
    if (col[0] >= 0) x[col[0] * n + e] = (h > 0 ? p.vHat[o] : 0) / n;
    let prefix = 0;
    let wPrev = 1 / n;
    for (let t = 0; t < h; t++) {
      const wBar = safeRatio(p.weights[o + t], norm[t]);
      prefix += disc[t] * (wBar * (p.rewards[o + t] - p.qLogged[o + t]) + wPrev * p.vHat[o + t]);
      wPrev = wBar;
      const idx = col[t + 1];
      if (idx >= 0) x[idx * n + e] = prefix + (t + 1 < h ? disc[t + 1] * wBar * p.vHat[o + t + 1] : 0);
    }
  }
  const g = new Float64Array(m);
  for (let j = 0; j < m; j++) for (let e = 0; e < n; e++) g[j] += x[j * n + e];

  // Ω̂ = n/(n−1) Σ_i (x_i − x̄)(x_i − x̄)ᵀ: the covariance of the sums g (Algorithm 1, step 1).
  const omega = new Float64Array(m * m);
  if (n > 1) {
    for (let a = 0; a < m; a++) {
      for (let b = a; b < m; b++) {
        const ma = g[a] / n;
        const mb = g[b] / n;
        let s = 0;
        for (let e = 0; e < n; e++) s += (x[a * n + e] - ma) * (x[b * n + e] - mb);
        omega[a * m + b] = omega[b * m + a] = (n / (n - 1)) * s;
      }
    }
  }
  // Bias bound from WDR's κ-confidence interval (steps 2-3).
  const ci = bootstrapTerms(wdrTerms(data, qHat), {
    resamples: opts.resamples,
    alpha: 1 - opts.confidence,
    seed: opts.seed,
  });
  const bias = Array.from(g, (gj) => Math.max(0, ci.lower - gj, gj - ci.upper));
  const errorMatrix = new Float64Array(m * m);
  for (let a = 0; a < m; a++) for (let b = 0; b < m; b++) errorMatrix[a * m + b] = omega[a * m + b] + bias[a] * bias[b];
  const blend = minimiseOnSimplex(errorMatrix, m);
  let value = 0;
  for (let j = 0; j < m; j++) value += blend[j] * g[j];
  let variance = 0;
  for (let a = 0; a < m; a++) for (let b = 0; b < m; b++) variance += blend[a] * omega[a * m + b] * blend[b];
  return {
    value,
    jSteps: js,
    returns: Array.from(g),
    blend: Array.from(blend),
    bias,
    ci: [ci.lower, ci.upper],
    covariance: Array.from(omega),
    stderr: Math.sqrt(Math.max(variance, 0)),
  };
}

/** Creates the MAGIC estimator (needs a Q model). */
export function magic(options: MagicOptions = {}): SequentialEstimator {
  const opts = parseWith(MagicOptions, options, 'magic');
  return {
    name: 'magic',
    requiresQModel: true,
    estimate(data: EpisodicDataset, model?: QModel): Estimate {
      const qHat = requireQModel('magic', data, model);
      const r = magicBlend(data, qHat, opts);
      return {
        estimator: 'magic',
        value: r.value,
        stderr: r.stderr,
        n: data.numEpisodes,
        diagnostics: sequentialDiagnostics(data),
        details: { jSteps: r.jSteps, returns: r.returns, blend: r.blend, bias: r.bias, ci: r.ci },
      };
    },
  };
}
