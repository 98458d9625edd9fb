/**
 * How well a log supports a target policy: the importance weights' effective sample size and
 * a verdict, reported with every OPE result so that nobody reads an estimate the data cannot
 * vouch for.
 *
 * - trajectory weights w_i = Π_t π(a_t|s_t)/μ(a_t|s_t) per episode (per row for bandits): what
 *   trajectory IS rests on, and the share of episodes "like the target's";
 * - per-decision weights w_t = Π_{k≤t} ρ_k at every logged step (episodes only): what per-decision
 *   IS and the DR family rest on;
 * - Kish's effective sample size (Σw)²/Σw² (Kish 1965) of each, its fraction of the samples, the
 *   largest weight, and the share of samples with a non-zero weight.
 *
 * Verdict, thresholds in {@link SUPPORT_THRESHOLDS}: `supported` when the trajectory ESS is at
 * least 30 and at least 1% of the samples; otherwise `too-low` (estimates rest on the model,
 * or on a few samples). Fewer than 100 samples also warns (`smallData`): intervals from so
 * few episodes are themselves unreliable.
 *
 * @example
 * const s = supportDiagnostics(data);
 * if (s.verdict !== 'supported') console.warn(s.message);
 */
import { weightStats } from './estimate.js';
import { cumulativeWeights, trajectoryWeights } from './sequential/estimator.js';
import { importanceRatios, isEpisodic, type BanditDataset, type EpisodicDataset } from './types.js';

/** The documented thresholds of the support verdict. */
export const SUPPORT_THRESHOLDS = Object.freeze({
  /** Smallest trajectory ESS that counts as support (absolute). */
  minEss: 30,
  /** Smallest trajectory ESS as a fraction of the samples. */
  minEssFraction: 0.01,
  /** Fewer samples than this get a small-data warning. */
  smallData: 100,
});

/** Weight statistics of one kind of importance weight. */
export interface WeightSupport {
  /** Kish effective sample size (Σw)²/Σw². */
  ess: number;
  /** ess / number of samples. */
  essFraction: number;
  maxWeight: number;
  meanWeight: number;
  /** Share of samples whose weight is non-zero. */
  nonZeroFraction: number;
  /** Samples the statistics are over (episodes, rows or steps). */
  samples: number;
}

/** Support of a target policy by a log. JSON-safe. */
export interface SupportDiagnostics {
  unit: 'row' | 'episode';
  /** Rows (bandit) or episodes. */
  n: number;
  /** Whole-episode (or per-row) weights. */
  trajectory: WeightSupport;
  /** Cumulative per-decision weights at every logged step (episodes only). */
  perDecision?: WeightSupport;
  verdict: 'supported' | 'too-low';
  /** One line a person reads, e.g. "log supports this policy (ESS 41 of 3000 episodes)". */
  message: string;
  smallData: boolean;
  thresholds: typeof SUPPORT_THRESHOLDS;
}

function weightSupport(w: Float64Array): WeightSupport {
  const s = weightStats(w);
  let nz = 0;
  for (let i = 0; i < w.length; i++) if (w[i] !== 0) nz++;
  return {
    ess: s.ess,
    essFraction: s.essFraction,
    maxWeight: s.maxWeight,
    meanWeight: s.meanWeight,
    nonZeroFraction: w.length ? nz / w.length : 0,
    samples: w.length,
  };
}

/** Support diagnostics and verdict of a dataset (see the module comment). */
export function supportDiagnostics(data: BanditDataset | EpisodicDataset): SupportDiagnostics {
  const episodic = isEpisodic(data);
  let trajectory: WeightSupport;
  let perDecision: WeightSupport | undefined;
  if (episodic) {
    const cw = cumulativeWeights(data as EpisodicDataset);
    trajectory = weightSupport(trajectoryWeights(data as EpisodicDataset, cw));
    perDecision = weightSupport(cw);
  } else {
    trajectory = weightSupport(importanceRatios(data));
  }
  const n = trajectory.samples;
  const unit = episodic ? 'episode' : 'row';
  const units = episodic ? 'episodes' : 'rows';
  const t = SUPPORT_THRESHOLDS;
  const supported = trajectory.ess >= t.minEss && trajectory.essFraction >= t.minEssFraction;
  const ess = `ESS ${trajectory.ess.toFixed(1)} of ${n} ${units}`;
  const message = supported
    ? `log supports this policy (${ess})`
    : `support too low: estimates rest on the model (${ess}; needs >= ${t.minEss} and >= ${t.minEssFraction * 100}%)`;
  return {
    unit,
    n,
    trajectory,
    ...(perDecision ? { perDecision } : {}),
    verdict: supported ? 'supported' : 'too-low',
    message,
    smallData: n < t.smallData,
    thresholds: SUPPORT_THRESHOLDS,
  };
}
