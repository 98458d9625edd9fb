/**
 * OPE reports: run a list of estimators on one dataset, attach bootstrap intervals, and
 * normalise every value by the logging policy's observed value (mean reward for bandits,
 * mean discounted return for episodes), so 1.05 reads "5% better than production".
 *
 * The report is plain JSON (no typed arrays), for the run folder and the dashboard;
 * {@link renderMarkdown} prints it as a table.
 *
 * @example
 * const report = await buildOpeReport(data, [ips(), snips(), doublyRobust()], {
 *   rewardModel: fitRewardModel(data, { folds: 2 }),
 *   bootstrap: { resamples: 200, alpha: 0.05, seed: 0 },
 * });
 * console.log(renderMarkdown(report));
 */
import { ValidationError } from '../core/errors.js';
import { influences, type Estimate, type Interval, type SampleTerms } from './estimate.js';
import { inRange, valueRange, type ValueRange } from './range.js';
import { supportDiagnostics, type SupportDiagnostics } from './support.js';
import {
  bootstrapEstimator,
  resolveBootstrapOptions,
  toInterval,
  type BootstrapOptions,
} from './bootstrap.js';
import type { BanditEstimator, RewardModel } from './bandit/estimator.js';
import { discountedReturns, trajectoryWeights, type QModel, type SequentialEstimator } from './sequential/estimator.js';
import { importanceRatios, isEpisodic, type BanditDataset, type EpisodicDataset } from './types.js';

/** Options of {@link buildOpeReport}. */
export interface OpeReportOptions {
  /** q̂ for DM and the DR family (bandit data). */
  rewardModel?: RewardModel;
  /** Q̂ for DM, DR, WDR and MAGIC (episodic data). */
  qModel?: QModel;
  /** Bootstrap settings, or false for no intervals. `workers` > 1 spreads the Poisson kernel over threads. */
  bootstrap?: (BootstrapOptions & { workers?: number }) | false;
  /**
   * Horizon of the achievable range every estimate is checked against (default the longest
   * logged episode; see range.ts).
   */
  horizon?: number;
  /**
   * How the model (q̂ or Q̂) was fitted, if it is known to be unusable: estimators that need
   * it are then reported as failures with these reasons instead of running on it.
   */
  modelSummary?: ModelSummary;
}

/** What a report says of the fitted model. JSON-safe. */
export interface ModelSummary {
  /** e.g. `linear FQE, 2-fold cross-fitted`. */
  description: string;
  status: 'ok' | 'unusable';
  /** Why it is unusable (empty when ok). */
  problems: string[];
  /** Share of the model's predictions clipped to the achievable range. */
  clippedFraction: number;
  /** Ridge penalty or pseudo-counts, when the model has one. */
  lambda?: number;
  iterations?: number;
}

/** One estimator's line in a report. */
export interface ReportEntry extends Estimate {
  /** Value (and interval) divided by the logging policy's value. */
  normalised: { value: number; lower?: number; upper?: number };
  /**
   * `failed` when the value is not finite, lies outside the achievable range, or rests on an
   * unusable model: the value must not be read as an estimate; `failure` says why.
   */
  status: 'ok' | 'failed';
  failure?: string;
}

/** The result of {@link buildOpeReport}. JSON-safe. */
export interface OpeReport {
  kind: 'bandit' | 'sequential';
  /** Rows (bandit) or episodes (sequential). */
  n: number;
  numActions: number;
  gamma?: number;
  /** The logging policy's observed value and its standard error. */
  loggingPolicyValue: { value: number; stderr: number; description: string };
  estimates: ReportEntry[];
  bootstrap: { resamples: number; alpha: number; seed: number; method: 'percentile' | 'basic' } | null;
  /** The range any true value lies in, which every estimate is checked against. */
  range: ValueRange;
  /** How well the log supports the target policy (effective sample sizes and a verdict). */
  support: SupportDiagnostics;
  /** The fitted model's state, when one was used. */
  model: ModelSummary | null;
  /** Number of estimates with status `failed`. */
  failures: number;
}

/** Mean and standard error (sample standard deviation / √n; NaN below two values). */
export function meanAndStderr(xs: ArrayLike<number>): { value: number; stderr: number } {
  const n = xs.length;
  let s = 0;
  for (let i = 0; i < n; i++) s += xs[i];
  const mean = n ? s / n : NaN;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (xs[i] - mean) ** 2;
  return { value: mean, stderr: n > 1 ? Math.sqrt(ss / (n - 1) / n) : NaN };
}

/** The logging policy's observed value: mean reward (bandit) or mean discounted return. */
export function loggingPolicyValue(data: BanditDataset | EpisodicDataset): OpeReport['loggingPolicyValue'] {
  if (isEpisodic(data)) {
    return { ...meanAndStderr(discountedReturns(data as EpisodicDataset)), description: 'mean discounted return of the logged episodes' };
  }
  return { ...meanAndStderr((data as BanditDataset).rewards), description: 'mean logged reward' };
}

function normalise(est: Estimate, logging: number): ReportEntry['normalised'] {
  const value = logging !== 0 ? est.value / logging : NaN;
  if (!est.interval || logging === 0) return { value };
  const a = est.interval.lower / logging;
  const b = est.interval.upper / logging;
  return { value, lower: Math.min(a, b), upper: Math.max(a, b) };
}

/**
 * Runs estimators on bandit data (with an optional reward model) and builds the report.
 */
export async function buildOpeReport(
  data: BanditDataset,
  estimators: readonly BanditEstimator[],
  options?: OpeReportOptions,
): Promise<OpeReport>;
/** Runs estimators on episodic data (with an optional Q model) and builds the report. */
export async function buildOpeReport(
  data: EpisodicDataset,
  estimators: readonly SequentialEstimator[],
  options?: OpeReportOptions,
): Promise<OpeReport>;
export async function buildOpeReport(
  data: BanditDataset | EpisodicDataset,
  estimators: readonly (BanditEstimator | SequentialEstimator)[],
  options: OpeReportOptions = {},
): Promise<OpeReport> {
  if (estimators.length === 0) throw new ValidationError('estimators', 'at least one estimator', estimators, 'ope report');
  const episodic = isEpisodic(data);
  const model = episodic ? options.qModel : options.rewardModel;
  const logging = loggingPolicyValue(data);
  const boot = options.bootstrap === false ? null : (options.bootstrap ?? {});
  const { workers, ...bootRest } = boot ?? {};
  const bootOpts = boot ? resolveBootstrapOptions(bootRest) : null;
  const range = valueRange(data, options.horizon !== undefined ? { horizon: options.horizon } : {});
  const modelSummary = options.modelSummary ?? null;
  const estimates: ReportEntry[] = [];
  for (const estimator of estimators) {
    const needsModel = 'requiresQModel' in estimator ? estimator.requiresQModel : (estimator as BanditEstimator).requiresRewardModel;
    if (needsModel && modelSummary?.status === 'unusable') {
      estimates.push(failedEntry(estimator.name, data, `rests on the ${modelSummary.description}, which is unusable: ${modelSummary.problems.join('; ')}`));
      continue;
    }
    const run = estimator.estimate as (d: typeof data, m?: typeof model) => Estimate;
    const terms = estimator.terms as ((d: typeof data, m?: typeof model) => SampleTerms) | undefined;
    const est = run(data, model);
    const failure = checkEstimate(est, range, data, terms ? () => terms(data, model) : undefined);
    if (bootOpts && !failure) {
      // The worker-thread bootstrap is Node-only: load it only when asked for, so the report
      // itself stays usable in a browser bundle.
      const result =
        terms && (workers ?? 1) > 1
          ? await (await import('./bootstrap-parallel.js')).bootstrapTermsParallel(terms(data, model), { ...bootOpts, workers })
          : (bootstrapEstimator as (e: typeof estimator, d: typeof data, m?: typeof model, o?: BootstrapOptions) => ReturnType<typeof bootstrapEstimator>)(
              estimator,
              data,
              model,
              bootOpts,
            );
      // An interval needs at least two finite replicates; otherwise none is shown, and why.
      if (result.replicates.length - result.dropped >= 2) est.interval = clipInterval(toInterval(result), range);
      else est.details = { ...est.details, intervalDropped: result.dropped };
    }
    estimates.push({
      ...est,
      normalised: failure ? { value: NaN } : normalise(est, logging.value),
      status: failure ? 'failed' : 'ok',
      ...(failure ? { failure } : {}),
    });
  }
  return {
    kind: episodic ? 'sequential' : 'bandit',
    n: episodic ? (data as EpisodicDataset).numEpisodes : (data as BanditDataset).n,
    numActions: data.numActions,
    ...(episodic ? { gamma: (data as EpisodicDataset).gamma } : {}),
    loggingPolicyValue: logging,
    estimates,
    bootstrap: bootOpts
      ? { resamples: bootOpts.resamples, alpha: bootOpts.alpha, seed: bootOpts.seed, method: bootOpts.method }
      : null,
    range,
    support: supportDiagnostics(data),
    model: modelSummary,
    failures: estimates.filter((e) => e.status === 'failed').length,
  };
}

/** A report line for an estimator that could not run or whose value cannot be true. */
function failedEntry(name: string, data: BanditDataset | EpisodicDataset, failure: string): ReportEntry {
  const n = isEpisodic(data) ? (data as EpisodicDataset).numEpisodes : (data as BanditDataset).n;
  return {
    estimator: name,
    value: NaN,
    stderr: NaN,
    n,
    diagnostics: { meanWeight: NaN, maxWeight: NaN, minWeight: NaN, ess: NaN, essFraction: NaN },
    normalised: { value: NaN },
    status: 'failed',
    failure,
  };
}

/**
 * Why an estimate cannot be presented (null when it can): a non-finite value, or one outside
 * the achievable range, with the samples and weights that caused it.
 */
export function checkEstimate(
  est: Estimate,
  range: ValueRange,
  data: BanditDataset | EpisodicDataset,
  terms?: () => SampleTerms,
): string | null {
  const problems = est.details?.problems;
  if (Array.isArray(problems) && problems.length) return `its model is unusable: ${problems.join('; ')}`;
  const finite = Number.isFinite(est.value);
  if (finite && inRange(est.value, range)) return null;
  const unit = isEpisodic(data) ? 'episode' : 'row';
  const what = finite
    ? `value ${formatNumber(est.value)} lies outside the achievable range [${formatNumber(range.lower)}, ${formatNumber(range.upper)}] (${range.description})`
    : `value is ${est.value}`;
  return `${what}; ${blame(data, unit, finite, terms?.())}`;
}

/** Which samples and weights drive a bad value. */
function blame(data: BanditDataset | EpisodicDataset, unit: string, finite: boolean, terms: SampleTerms | undefined): string {
  const weights = isEpisodic(data) ? trajectoryWeights(data as EpisodicDataset) : importanceRatios(data);
  let wMax = 0;
  let iMax = -1;
  let nonZero = 0;
  for (let i = 0; i < weights.length; i++) {
    if (weights[i] !== 0) nonZero++;
    if (weights[i] > wMax) [wMax, iMax] = [weights[i], i];
  }
  const parts: string[] = [];
  if (terms) {
    let bad = 0;
    let first = -1;
    for (let i = 0; i < terms.n; i++) {
      if (terms.columns.some((c) => !Number.isFinite(c[i]))) {
        bad++;
        if (first < 0) first = i;
      }
    }
    if (bad > 0) parts.push(`${bad} ${unit}s have non-finite terms (first: ${unit} ${first})`);
    else if (finite) {
      const psi = influences(terms);
      let top = 0;
      let total = 0;
      for (let i = 0; i < psi.length; i++) {
        total += Math.abs(psi[i]);
        if (Math.abs(psi[i]) > Math.abs(psi[top])) top = i;
      }
      if (total > 0) parts.push(`${unit} ${top} carries ${((Math.abs(psi[top]) / total) * 100).toFixed(1)}% of the estimate's influence`);
    } else {
      parts.push(nonZero === 0 ? `no ${unit} has a non-zero importance weight (0/0)` : 'the terms are finite but their combination is not');
    }
  }
  parts.push(`${nonZero} of ${weights.length} ${unit}s have non-zero weight, largest weight ${formatNumber(wMax)}${iMax >= 0 ? ` (${unit} ${iMax})` : ''}`);
  return parts.join('; ');
}

/** Intersects an interval with the achievable range: the truth lies in both. */
function clipInterval(interval: Interval, range: ValueRange): Interval {
  const lower = Math.max(interval.lower, range.lower);
  const upper = Math.min(interval.upper, range.upper);
  if (lower === interval.lower && upper === interval.upper) return interval;
  return { ...interval, lower, upper, clippedToRange: true };
}


/** Formats a number for a table: 4 decimals, or scientific when very large or small. */
export function formatNumber(x: number | undefined): string {
  if (x === undefined) return '';
  if (!Number.isFinite(x)) return String(x);
  const ax = Math.abs(x);
  if (ax !== 0 && (ax >= 1e5 || ax < 1e-3)) return x.toExponential(3);
  return x.toFixed(4);
}

/** The interval cell: `[lo, hi]`, with the dropped resamples and range clipping noted. */
export function formatInterval(e: ReportEntry): string {
  if (e.status === 'failed') return '';
  const dropped = e.details?.intervalDropped;
  if (!e.interval) return typeof dropped === 'number' ? `none (${dropped} resamples not finite)` : '';
  const notes = [
    ...(e.interval.dropped ? [`${e.interval.dropped} of ${e.interval.resamples} resamples dropped`] : []),
    ...(e.interval.clippedToRange ? ['clipped to range'] : []),
  ];
  return `[${formatNumber(e.interval.lower)}, ${formatNumber(e.interval.upper)}]${notes.length ? ` (${notes.join(', ')})` : ''}`;
}

/** One kind of weights in a line: `ESS 41.0 (1.37%), max weight 12.0000, non-zero 2.1% of 3000 episodes`. */
export function formatWeightSupport(x: SupportDiagnostics['trajectory'], unit: string): string {
  return `ESS ${x.ess.toFixed(1)} (${(x.essFraction * 100).toFixed(2)}%), max weight ${formatNumber(x.maxWeight)}, non-zero ${(x.nonZeroFraction * 100).toFixed(1)}% of ${x.samples} ${unit}`;
}

/** The support lines of a report (Markdown list items, also fine as plain text). */
export function supportLines(report: OpeReport): string[] {
  const s = report.support;
  const units = s.unit === 'episode' ? 'episodes' : 'rows';
  return [
    `support: ${s.message}`,
    `${s.unit === 'episode' ? 'trajectory' : 'per-row'} weights: ${formatWeightSupport(s.trajectory, units)}`,
    ...(s.perDecision ? [`per-decision weights: ${formatWeightSupport(s.perDecision, 'steps')}`] : []),
    ...(s.smallData ? [`warning: only ${s.n} ${units} (fewer than ${s.thresholds.smallData}): intervals from so little data are themselves unreliable`] : []),
  ];
}

/**
 * Renders a report as Markdown: a header with the logging policy's value, the achievable
 * range, the log's support and the model, then one table row per estimator (value, stderr,
 * interval, normalised value and interval, ESS, max weight) and the failures with their reasons.
 */
export function renderMarkdown(report: OpeReport): string {
  const f = formatNumber;
  const unit = report.kind === 'bandit' ? 'rows' : 'episodes';
  const lines: string[] = [];
  lines.push(`# Off-policy evaluation (${report.kind})`, '');
  lines.push(
    `- data: ${report.n} ${unit}, ${report.numActions} actions${report.gamma !== undefined ? `, γ = ${report.gamma}` : ''}`,
    `- logging policy value: ${f(report.loggingPolicyValue.value)} ± ${f(report.loggingPolicyValue.stderr)} (${report.loggingPolicyValue.description})`,
    `- achievable range: [${f(report.range.lower)}, ${f(report.range.upper)}] (${report.range.description})`,
    ...supportLines(report).map((l) => `- ${l}`),
  );
  if (report.model) {
    const m = report.model;
    lines.push(
      `- model: ${m.description}: ${m.status}${m.problems.length ? ` (${m.problems.join('; ')})` : ''}, ${(m.clippedFraction * 100).toFixed(1)}% of predictions clipped to the range${m.lambda !== undefined ? `, λ = ${f(m.lambda)}` : ''}`,
    );
  }
  if (report.bootstrap) {
    const b = report.bootstrap;
    lines.push(`- intervals: ${b.method} bootstrap, ${b.resamples} resamples, ${Math.round((1 - b.alpha) * 1000) / 10}% level, seed ${b.seed}; non-finite resamples are dropped and counted`);
  } else {
    lines.push('- intervals: none');
  }
  lines.push('');
  lines.push('| estimator | status | value | stderr | interval | normalised | normalised interval | ESS | max weight |');
  lines.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const e of report.estimates) {
    const failed = e.status === 'failed';
    const nci = !failed && e.normalised.lower !== undefined ? `[${f(e.normalised.lower)}, ${f(e.normalised.upper)}]` : '';
    const cell = (x: number) => (failed || !Number.isFinite(x) ? '-' : f(x));
    lines.push(
      `| ${e.estimator} | ${failed ? '**FAILED**' : 'ok'} | ${cell(e.value)} | ${cell(e.stderr)} | ${formatInterval(e)} | ${cell(e.normalised.value)} | ${nci} | ${Number.isFinite(e.diagnostics.ess) ? f(e.diagnostics.ess) : '-'} | ${Number.isFinite(e.diagnostics.maxWeight) ? f(e.diagnostics.maxWeight) : '-'} |`,
    );
  }
  const failed = report.estimates.filter((e) => e.status === 'failed');
  if (failed.length) {
    lines.push('', '## Failures', '', ...failed.map((e) => `- **${e.estimator}**: ${e.failure}`));
  }
  lines.push(
    '',
    'Columns: *normalised* = value ÷ the logging policy\'s value (above 1 reads "better than the logged traffic"); ' +
      '*ESS* = Kish effective sample size (Σw)²/Σw² of the importance weights the estimator uses; *max weight* = the largest of them.',
  );
  return lines.join('\n') + '\n';
}
