/**
 * The importance-sampling family for episodes: trajectory-wise IS, per-decision IS, and their
 * self-normalised (weighted) versions.
 *
 *   IS    = (1/n) Σ_i w_{i,T_i−1} Σ_t γ^t r_{i,t}
 *   PDIS  = (1/n) Σ_i Σ_t γ^t w_{i,t} r_{i,t}
 *   WIS   = Σ_i w_{i,T_i−1} G_i / Σ_i w_{i,T_i−1}          (G_i the discounted return)
 *   WPDIS = Σ_t γ^t Σ_i w_{i,t} r_{i,t} / Σ_i w_{i,t}
 *
 * Definitions: Precup, Sutton & Singh 2000, "Eligibility traces for off-policy policy
 * evaluation" (ICML): the trajectory-wise and per-decision estimators and their weighted
 * versions (section 3); notation of Thomas & Brunskill 2016, section 2.
 *
 * IS and PDIS are unbiased when the propensities are the behaviour probabilities and μ > 0
 * wherever π > 0; PDIS has lower variance because a reward at t is weighted only by the
 * ratios up to t (later actions cannot affect it). WIS and WPDIS are biased, consistent and
 * bounded by the observed rewards. In WPDIS the normaliser at step t includes episodes that
 * already ended, with their final weight (the absorbing-state convention).
 *
 * With horizon 1 PDIS = IS and WPDIS = WIS.
 *
 * @example
 * perDecisionIs().estimate(episodes).value;
 */
import { allocColumn, meanTerms, safeRatio } from '../estimate.js';
import { cumulativeWeights, defineSequentialEstimator, discountedReturns, padEpisodes, type SequentialEstimator } from './estimator.js';

/** Trajectory-wise importance sampling (unbiased). */
export function trajectoryIs(): SequentialEstimator {
  return defineSequentialEstimator({
    name: 'is',
    requiresQModel: false,
    terms(data) {
      const cw = cumulativeWeights(data);
      const g = discountedReturns(data);
      const col = allocColumn(data.numEpisodes);
      for (let e = 0; e < data.numEpisodes; e++) col[e] = cw[data.episodeStarts[e + 1] - 1] * g[e];
      return meanTerms('episode', col);
    },
  });
}

/** Per-decision importance sampling (unbiased). */
export function perDecisionIs(): SequentialEstimator {
  return defineSequentialEstimator({
    name: 'pdis',
    requiresQModel: false,
    terms(data) {
      const cw = cumulativeWeights(data);
      const col = allocColumn(data.numEpisodes);
      for (let e = 0; e < data.numEpisodes; e++) {
        let disc = 1;
        let s = 0;
        for (let t = data.episodeStarts[e]; t < data.episodeStarts[e + 1]; t++) {
          s += disc * cw[t] * data.rewards[t];
          disc *= data.gamma;
        }
        col[e] = s;
      }
      return meanTerms('episode', col);
    },
  });
}

/** Weighted (self-normalised) trajectory-wise importance sampling (consistent). */
export function weightedIs(): SequentialEstimator {
  return defineSequentialEstimator({
    name: 'wis',
    requiresQModel: false,
    terms(data) {
      const cw = cumulativeWeights(data);
      const g = discountedReturns(data);
      const wg = allocColumn(data.numEpisodes);
      const w = allocColumn(data.numEpisodes);
      for (let e = 0; e < data.numEpisodes; e++) {
        w[e] = cw[data.episodeStarts[e + 1] - 1];
        wg[e] = w[e] * g[e];
      }
      return { unit: 'episode', n: data.numEpisodes, columns: [wg, w], combine: (s) => safeRatio(s[0], s[1]) };
    },
  });
}

/** Weighted (self-normalised) per-decision importance sampling (consistent). */
export function weightedPerDecisionIs(): SequentialEstimator {
  return defineSequentialEstimator({
    name: 'wpdis',
    requiresQModel: false,
    terms(data) {
      const p = padEpisodes(data);
      const { n, horizon: h } = p;
      // Two columns per step t: w_{i,t} r_{i,t} and w_{i,t}.
      const columns: Float64Array[] = [];
      for (let t = 0; t < h; t++) {
        const wr = allocColumn(n);
        const w = allocColumn(n);
        for (let e = 0; e < n; e++) {
          w[e] = p.weights[e * h + t];
          wr[e] = w[e] * p.rewards[e * h + t];
        }
        columns.push(wr, w);
      }
      const disc = p.discounts;
      return {
        unit: 'episode',
        n,
        columns,
        combine(s) {
          let v = 0;
          for (let t = 0; t < h; t++) v += disc[t] * safeRatio(s[2 * t], s[2 * t + 1]);
          return v;
        },
      };
    },
  });
}
