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
import type { Estimate, SampleTerms } from './estimate.js';
import {
  bootstrapEstimator,
  resolveBootstrapOptions,
  toInterval,
  type BootstrapOptions,
} from './bootstrap.js';
import type { BanditEstimator, RewardModel } from './bandit/estimator.js';
import { discountedReturns, type QModel, type SequentialEstimator } from './sequential/estimator.js';
import { isEpisodic, type BanditDataset, type EpisodicDataset } from './types.js';

/** Options of {@link buildOpeReport}. */
export interface OpeReportOptions {
  /** q̂ for DM and the DR family (bandit data). */
  rewardModel?: RewardModel;
  /** Q̂ for DM, DR, WDR and MAGIC (episodic data). */
  qModel?: QModel;
  /** Bootstrap settings, or false for no intervals. `workers` > 1 spreads the Poisson kernel over threads. */
  bootstrap?: (BootstrapOptions & { workers?: number }) | false;
}

/** One estimator's line in a report. */
export interface ReportEntry extends Estimate {
  /** Value (and interval) divided by the logging policy's value. */
  normalised: { value: number; lower?: number; upper?: number };
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
}

function meanAndStderr(xs: Float64Array | number[]): { value: number; stderr: number } {
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
  const estimates: ReportEntry[] = [];
  for (const estimator of estimators) {
    const run = estimator.estimate as (d: typeof data, m?: typeof model) => Estimate;
    const est = run(data, model);
    if (bootOpts) {
      const terms = estimator.terms as ((d: typeof data, m?: typeof model) => SampleTerms) | undefined;
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
      est.interval = toInterval(result);
    }
    estimates.push({ ...est, normalised: normalise(est, logging.value) });
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
  };
}

/** Formats a number for a table: 4 decimals, or scientific when very large or small. */
export function formatNumber(x: number | undefined): string {
  if (x === undefined) return '';
  if (!Number.isFinite(x)) return String(x);
  const ax = Math.abs(x);
  if (ax !== 0 && (ax >= 1e5 || ax < 1e-3)) return x.toExponential(3);
  return x.toFixed(4);
}

/**
 * Renders a report as Markdown: a header with the logging policy's value and one table row
 * per estimator (value, stderr, interval, normalised value and interval, ESS, max weight).
 */
export function renderMarkdown(report: OpeReport): string {
  const f = formatNumber;
  const unit = report.kind === 'bandit' ? 'rows' : 'episodes';
  const lines: string[] = [];
  lines.push(`# Off-policy evaluation (${report.kind})`, '');
  lines.push(
    `- data: ${report.n} ${unit}, ${report.numActions} actions${report.gamma !== undefined ? `, γ = ${report.gamma}` : ''}`,
    `- logging policy value: ${f(report.loggingPolicyValue.value)} ± ${f(report.loggingPolicyValue.stderr)} (${report.loggingPolicyValue.description})`,
  );
  if (report.bootstrap) {
    const b = report.bootstrap;
    lines.push(`- intervals: ${b.method} bootstrap, ${b.resamples} resamples, ${Math.round((1 - b.alpha) * 1000) / 10}% level, seed ${b.seed}`);
  } else {
    lines.push('- intervals: none');
  }
  lines.push('');
  lines.push('| estimator | value | stderr | interval | normalised | normalised interval | ESS | max weight |');
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const e of report.estimates) {
    const ci = e.interval ? `[${f(e.interval.lower)}, ${f(e.interval.upper)}]` : '';
    const nci = e.normalised.lower !== undefined ? `[${f(e.normalised.lower)}, ${f(e.normalised.upper)}]` : '';
    lines.push(
      `| ${e.estimator} | ${f(e.value)} | ${f(e.stderr)} | ${ci} | ${f(e.normalised.value)} | ${nci} | ${f(e.diagnostics.ess)} | ${f(e.diagnostics.maxWeight)} |`,
    );
  }
  return lines.join('\n') + '\n';
}
