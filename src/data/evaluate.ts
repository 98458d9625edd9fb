/**
 * Off-policy evaluation of a stored log, end to end: read the log with the target policy's
 * probabilities, fit the model the chosen estimators need (cross-fitted), run them with
 * bootstrap intervals, and write the report (JSON, Markdown, and a self-contained HTML page).
 * `kairos ope` is this module plus option parsing.
 *
 * @example
 * const store = await LogStore.open('log.duckdb', { readOnly: true });
 * const run = await evaluateLog(store, loadPolicyTable('target.json'), { estimators: ['ips', 'dr'], bootstrap: 200 });
 * await writeOpeReport('out/', run); // out/report.json, report.md, report.html
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KairosError } from '../core/errors.js';
import {
  buildOpeReport,
  clippedIps,
  directMethod,
  doublyRobust,
  drShrinkage,
  fitFqe,
  fitRewardModel,
  formatNumber,
  fqe,
  ips,
  magic,
  perDecisionIs,
  renderMarkdown,
  selfNormalizedDr,
  sequentialDirectMethod,
  sequentialDr,
  snips,
  switchDr,
  trajectoryIs,
  weightedDr,
  weightedIs,
  weightedPerDecisionIs,
  clipQTable,
  valueRange,
  formatInterval,
  formatWeightSupport,
  type ModelSummary,
  type RewardModel,
  type BanditEstimator,
  type OpeReport,
  type SequentialEstimator,
} from '../ope/index.js';
import { fitNeuralFqe, type NeuralFqeOptions } from '../ope/sequential/neural-fqe.js';
import { clippedIpsSlope, drShrinkageSlope, subGaussianDr, subGaussianIps, subGaussianIpsSlope, switchDrSlope } from '../ope/bandit/index.js';
import { readBanditData, readEpisodicData } from './ope-data.js';
import { renderForestPlot } from './report-chart.js';
import { escapeHtml, renderReportIndex, type ReportIndexEntry } from './report-index.js';
import { DECISIONS_TABLE } from './schema.js';
import type { TargetPolicy } from './target-policy.js';
import type { LogSource } from './timeline.js';

/** Bandit estimators by CLI name. */
export const BANDIT_ESTIMATORS: Record<string, () => BanditEstimator> = {
  dm: directMethod,
  ips,
  'clipped-ips': () => clippedIps(),
  snips,
  dr: doublyRobust,
  sndr: selfNormalizedDr,
  'switch-dr': () => switchDr(),
  'dr-os': () => drShrinkage(),
  'sg-ips': () => subGaussianIps(),
  'sg-dr': () => subGaussianDr(),
  'clipped-ips-slope': () => clippedIpsSlope(),
  'switch-dr-slope': () => switchDrSlope(),
  'dr-os-slope': () => drShrinkageSlope(),
  'sg-ips-slope': () => subGaussianIpsSlope(),
};

/** Sequential estimators by CLI name (`fqe` takes the model kind). */
export const SEQUENTIAL_ESTIMATORS: Record<string, (model: 'tabular' | 'linear', seed: number) => SequentialEstimator> = {
  is: () => trajectoryIs(),
  pdis: () => perDecisionIs(),
  wis: () => weightedIs(),
  wpdis: () => weightedPerDecisionIs(),
  dm: () => sequentialDirectMethod(),
  dr: () => sequentialDr(),
  wdr: () => weightedDr(),
  magic: (_m, seed) => magic({ seed }),
  fqe: (kind, seed) => fqe({ kind, seed }),
};

export const DEFAULT_BANDIT_ESTIMATORS = ['dm', 'ips', 'snips', 'dr', 'sndr'];
export const DEFAULT_SEQUENTIAL_ESTIMATORS = ['is', 'pdis', 'wpdis', 'dm', 'dr', 'wdr'];

/** Options of {@link evaluateLog}. */
export interface EvaluateOptions {
  /** `bandit` (every decision a row), `sequential` (episodes), or `auto` (sequential when some episode has > 1 step). */
  kind?: 'auto' | 'bandit' | 'sequential';
  /** Estimator names (see {@link BANDIT_ESTIMATORS}, {@link SEQUENTIAL_ESTIMATORS}); default a standard set. */
  estimators?: string[];
  /** Bootstrap resamples for intervals (0 = none; default 200). */
  bootstrap?: number;
  /** 1 − confidence level (default 0.05). */
  alpha?: number;
  seed?: number;
  /** Discount for sequential evaluation (default 1). */
  gamma?: number;
  /** Reward model (bandit: ridge | tabular, default ridge) or FQE kind (sequential: linear | tabular | neural, default linear). */
  model?: 'ridge' | 'tabular' | 'linear' | 'neural';
  /** Cross-fitting folds for the model (default 2). */
  folds?: number;
  /** Settings of neural FQE (`model: 'neural'`): network sizes, iterations, steps per iteration, batch, learning rate. */
  neuralFqe?: Omit<NeuralFqeOptions, 'folds' | 'seed' | 'onIteration'>;
  /** Progress of a neural FQE fit: fold, iteration, iterations per fold. */
  onModelProgress?: (fold: number, iteration: number, iterations: number) => void;
  /**
   * Horizon of the achievable value range that models are clipped to and estimates checked
   * against (default: the longest logged episode; see `valueRange` in kairos/ope).
   */
  horizon?: number;
}

/** Everything a report page shows besides the estimates. */
export interface EvaluationMeta {
  data: string;
  policy: string;
  kind: 'bandit' | 'sequential';
  decisions: number;
  episodes: number;
  model: string | null;
  estimators: string[];
  seed: number;
  createdAt: string;
  /**
   * The target's true value when it is known (a simulator's mean return over fresh episodes):
   * reports show it beside the estimates. Set by whoever knows it, e.g. the quickstart.
   */
  truth?: { value: number; stderr: number; description: string };
}

/** The result of {@link evaluateLog}. */
export interface LogEvaluation {
  report: OpeReport;
  meta: EvaluationMeta;
}

function pickEstimators<T>(names: string[], table: Record<string, T>, kind: string): T[] {
  return names.map((name) => {
    const f = table[name];
    if (!f) throw new KairosError(`unknown ${kind} estimator ${JSON.stringify(name)}: expected one of ${Object.keys(table).join(', ')}`, 'invalid_option');
    return f;
  });
}

/** Runs OPE on a stored log for a target policy. See the module comment. */
export async function evaluateLog(source: LogSource, policy: TargetPolicy, options: EvaluateOptions = {}): Promise<LogEvaluation> {
  const seed = options.seed ?? 0;
  const resamples = options.bootstrap ?? 200;
  if (!Number.isInteger(resamples) || resamples < 0 || resamples === 1) {
    throw new KairosError(`bootstrap: expected 0 (no intervals) or an integer >= 2, received ${resamples}`, 'invalid_option');
  }
  const bootstrap = resamples === 0 ? (false as const) : { resamples, alpha: options.alpha ?? 0.05, seed };
  const folds = options.folds ?? 2;
  const [counts] = await source.engine.query(`SELECT COUNT(*) AS n, COUNT(DISTINCT mdp_id) AS episodes FROM ${DECISIONS_TABLE}`);
  const decisions = Number(counts.n);
  const episodes = Number(counts.episodes);
  const kind = options.kind === undefined || options.kind === 'auto' ? (decisions > episodes ? 'sequential' : 'bandit') : options.kind;
  const meta = (model: string | null, estimators: string[]): EvaluationMeta => ({
    data: source.path,
    policy: policy.name,
    kind,
    decisions,
    episodes,
    model,
    estimators,
    seed,
    createdAt: new Date().toISOString(),
  });
  if (kind === 'bandit') {
    const names = options.estimators ?? DEFAULT_BANDIT_ESTIMATORS;
    const estimators = pickEstimators(names, BANDIT_ESTIMATORS, 'bandit').map((f) => f());
    const modelKind = options.model ?? 'ridge';
    if (modelKind !== 'ridge' && modelKind !== 'tabular') throw new KairosError(`model: a bandit reward model is ridge or tabular, received ${modelKind}`, 'invalid_option');
    const data = await readBanditData(source, policy);
    const needsModel = estimators.some((e) => e.requiresRewardModel);
    const description = `${modelKind} reward model, ${folds}-fold cross-fitted`;
    let modelSummary: ModelSummary | undefined;
    let rewardModel: RewardModel | undefined;
    if (needsModel) {
      rewardModel = fitRewardModel(data, { kind: modelKind, folds: Math.min(folds, data.n), seed });
      // q̂ is a mean reward: a ridge fit can extrapolate past what any reward can be.
      modelSummary = summariseModel(description, data, rewardModel.qHat, clipQTable(data, rewardModel.qHat, valueRange(data)));
    }
    const report = await buildOpeReport(data, estimators, { ...(rewardModel ? { rewardModel } : {}), ...(modelSummary ? { modelSummary } : {}), bootstrap });
    return { report, meta: meta(needsModel ? description : null, names) };
  }
  const names = options.estimators ?? DEFAULT_SEQUENTIAL_ESTIMATORS;
  const modelKind = options.model ?? 'linear';
  if (modelKind !== 'linear' && modelKind !== 'tabular' && modelKind !== 'neural') throw new KairosError(`model: a sequential Q model (FQE) is linear, tabular or neural, received ${modelKind}`, 'invalid_option');
  if (modelKind === 'neural' && names.includes('fqe')) {
    throw new KairosError('estimators: fqe re-fits its model on every bootstrap resample, too slow for a network; with model neural use dm (the fitted neural FQE\'s value)', 'invalid_option');
  }
  const estimators = pickEstimators(names, SEQUENTIAL_ESTIMATORS, 'sequential').map((f) => f(modelKind === 'neural' ? 'tabular' : modelKind, seed));
  const data = await readEpisodicData(source, policy, { gamma: options.gamma ?? 1 });
  const needsModel = estimators.some((e) => e.requiresQModel);
  const modelFolds = Math.min(folds, data.numEpisodes);
  const horizon = options.horizon !== undefined ? { horizon: options.horizon } : {};
  const qModel = !needsModel
    ? undefined
    : modelKind === 'neural'
      ? fitNeuralFqe(data, { ...options.neuralFqe, folds: modelFolds, seed, ...(options.onModelProgress ? { onIteration: options.onModelProgress } : {}) })
      : fitFqe(data, { kind: modelKind, folds: modelFolds, seed, ...horizon });
  const description = `${modelKind} FQE, ${modelFolds}-fold cross-fitted`;
  const modelSummary: ModelSummary | undefined = qModel && {
    description,
    status: qModel.status,
    problems: qModel.problems,
    clippedFraction: qModel.clippedFraction,
    ...(qModel.kind === 'neural' ? {} : { lambda: qModel.lambda }),
    iterations: qModel.iterations,
  };
  const report = await buildOpeReport(data, estimators, { ...(qModel ? { qModel } : {}), ...(modelSummary ? { modelSummary } : {}), ...horizon, bootstrap });
  return { report, meta: meta(needsModel ? description : null, names) };
}

/** The report's account of a reward model: usable unless its table holds non-finite values. */
function summariseModel(description: string, data: { numActions: number }, table: Float64Array, clippedFraction: number): ModelSummary {
  let bad = 0;
  for (let i = 0; i < table.length; i++) if (!Number.isFinite(table[i])) bad++;
  const problems = bad ? [`${bad} of ${table.length} predictions (${data.numActions} actions per row) are not finite`] : [];
  return { description, status: problems.length ? 'unusable' : 'ok', problems, clippedFraction };
}


/** The report as Markdown: the estimate table of `renderMarkdown` plus where it came from. */
export function renderReportMarkdown(run: LogEvaluation): string {
  const m = run.meta;
  return (
    renderMarkdown(run.report) +
    `\n## Inputs\n\n- log: \`${m.data}\` (${m.decisions} decisions, ${m.episodes} episodes)\n- target policy: ${m.policy}\n` +
    (m.truth ? `- ground truth: ${formatNumber(m.truth.value)} ± ${formatNumber(m.truth.stderr)} (${m.truth.description})\n` : '') +
    `- model: ${m.model ?? 'none needed'}\n- estimators: ${m.estimators.join(', ')}\n- seed: ${m.seed}\n- created: ${m.createdAt}\n`
  );
}

/**
 * A self-contained HTML page (inline CSS and SVG, no external assets): the inputs, the table,
 * and each estimate's normalised value with its interval against the logging policy (1.0).
 */
export function renderReportHtml(run: LogEvaluation): string {
  const { report, meta } = run;
  const f = formatNumber;
  const fin = (x: number) => (Number.isFinite(x) ? f(x) : '–');
  const rows = report.estimates
    .map((e) => {
      const failed = e.status === 'failed';
      const nci = !failed && e.normalised.lower !== undefined ? `[${f(e.normalised.lower)}, ${f(e.normalised.upper)}]` : '';
      const value = failed ? '<td class="failed" colspan="2">FAILED</td>' : `<td>${f(e.value)}</td><td>${fin(e.stderr)}</td>`;
      const norm = failed ? '<td></td>' : `<td>${fin(e.normalised.value)}</td>`;
      return `<tr${failed ? ' class="failed-row"' : ''}><td>${escapeHtml(e.estimator)}</td>${value}<td>${escapeHtml(formatInterval(e))}</td>${norm}<td>${nci}</td><td>${fin(e.diagnostics.ess)}</td><td>${fin(e.diagnostics.maxWeight)}</td></tr>`;
    })
    .join('\n');
  const failures = report.estimates.filter((e) => e.status === 'failed');
  const failureList = failures.length
    ? `<h2>Failures</h2>\n<ul class="failures">${failures.map((e) => `<li><b>${escapeHtml(e.estimator)}</b>: ${escapeHtml(e.failure ?? 'failed')}</li>`).join('')}</ul>`
    : '';
  // Chart: a forest plot of each estimate's normalised value and interval against the logging
  // policy (1); a failed estimate, or one that cannot be normalised, shows why (report-chart.ts).
  const lp = report.loggingPolicyValue;
  const truth = meta.truth;
  const chart = renderForestPlot(
    report.estimates.map((e) => ({
      label: e.estimator,
      value: e.normalised.value,
      lower: e.normalised.lower,
      upper: e.normalised.upper,
      ...(e.status === 'failed'
        ? { failed: e.failure || 'estimate failed' }
        : !Number.isFinite(e.normalised.value)
          ? { failed: `cannot normalise by the logging policy value ${f(lp.value)}` }
          : {}),
    })),
    {
      reference: { value: 1, label: `1 = logging policy (value ${f(lp.value)})` },
      ...(truth && lp.value !== 0 ? { truth: { value: truth.value / lp.value, label: `ground truth ${f(truth.value)} (${truth.description})` } } : {}),
      xLabel: 'normalised value (estimate ÷ logging policy value)',
    },
  );
  const boot = report.bootstrap
    ? `${report.bootstrap.method} bootstrap, ${report.bootstrap.resamples} resamples, ${Math.round((1 - report.bootstrap.alpha) * 1000) / 10}% level, seed ${report.bootstrap.seed}; non-finite resamples are dropped and counted in the interval cell`
    : 'none';
  const s = report.support;
  const verdictClass = s.verdict === 'supported' ? 'ok' : 'warn';
  const m = report.model;
  const model = m
    ? `${escapeHtml(m.description)}: <span class="${m.status === 'ok' ? 'ok' : 'bad'}">${m.status}</span>${m.problems.length ? ` (${escapeHtml(m.problems.join('; '))})` : ''}; ${(m.clippedFraction * 100).toFixed(1)}% of predictions clipped to the range${m.lambda !== undefined ? `; λ = ${f(m.lambda)}` : ''}`
    : escapeHtml(meta.model ?? 'none needed');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Off-policy evaluation: ${escapeHtml(meta.policy)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:60rem;color:#1d2330;padding:0 1rem}
h1{font-size:1.4rem}h2{font-size:1.1rem}table{border-collapse:collapse;margin:1rem 0}th,td{padding:.3rem .6rem;border-bottom:1px solid #dde1e8;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f3f5f8}dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}
dt{color:#5b6475}.ok{color:#22663a;font-weight:600}.warn,.bad,.failed{color:#b42318;font-weight:600}.failed-row td{background:#fdf1f0}
.verdict{padding:.5rem .8rem;border-left:4px solid currentColor;background:#f7f8fa}dl.cols{font-size:13px}
svg text{font:12px system-ui,sans-serif;fill:#1d2330}svg circle{fill:#2b6cb0}svg .ci{stroke:#2b6cb0;stroke-width:2}svg .ref{stroke:#c53030;stroke-dasharray:4 3}
</style></head><body>
<h1>Off-policy evaluation (${report.kind})</h1>
<p class="verdict ${verdictClass}">${escapeHtml(s.message)}${s.smallData ? ` — only ${s.n} ${s.unit}s: intervals from so little data are themselves unreliable` : ''}</p>
<dl>
<dt>target policy</dt><dd>${escapeHtml(meta.policy)}</dd>
${truth ? `<dt>ground truth</dt><dd>${f(truth.value)} ± ${f(truth.stderr)} (${escapeHtml(truth.description)})</dd>\n` : ''}<dt>log</dt><dd>${escapeHtml(meta.data)}: ${meta.decisions} decisions, ${meta.episodes} episodes</dd>
<dt>data</dt><dd>${report.n} ${report.kind === 'bandit' ? 'rows' : 'episodes'}, ${report.numActions} actions${report.gamma !== undefined ? `, γ = ${report.gamma}` : ''}</dd>
<dt>logging policy value</dt><dd>${f(lp.value)} ± ${f(lp.stderr)} (${escapeHtml(lp.description)})</dd>
<dt>achievable range</dt><dd>[${f(report.range.lower)}, ${f(report.range.upper)}] (${escapeHtml(report.range.description)}); an estimate outside it is a failure</dd>
${supportRowsHtml(report)}
<dt>model</dt><dd>${model}</dd>
<dt>intervals</dt><dd>${escapeHtml(boot)}</dd>
<dt>created</dt><dd>${escapeHtml(meta.createdAt)}, seed ${meta.seed}</dd>
</dl>
<table><thead><tr><th>estimator</th><th>value</th><th>stderr</th><th>interval</th><th>normalised</th><th>normalised interval</th><th>ESS</th><th>max weight</th></tr></thead>
<tbody>
${rows}
</tbody></table>
${failureList}
${chart}
<h2>Reading the columns</h2>
<dl class="cols">
<dt>value, interval</dt><dd>the estimated value of the target policy (mean ${report.kind === 'bandit' ? 'reward per decision' : 'discounted return per episode'}) and its bootstrap interval</dd>
<dt>normalised</dt><dd>value ÷ the logging policy's observed value: above 1 reads "better than the logged traffic"</dd>
<dt>ESS</dt><dd>Kish effective sample size (Σw)²/Σw² of the importance weights the estimator uses: how many logged ${report.kind === 'bandit' ? 'rows' : 'episodes'} the estimate effectively rests on</dd>
<dt>max weight</dt><dd>the largest importance weight π/μ: one sample with a huge weight can dominate an estimate</dd>
<dt>FAILED</dt><dd>the value is not finite, lies outside the achievable range, or rests on an unusable model; the reason is listed above and the number is not an estimate</dd>
<dt>support</dt><dd>"supported" needs a trajectory ESS of at least ${s.thresholds.minEss} and at least ${s.thresholds.minEssFraction * 100}% of the ${s.unit}s; below that the estimates rest on the model (DM, DR) or on a handful of ${s.unit}s (IS)</dd>
</dl>
</body></html>
`;
}

/** The support rows of the report page's summary list. */
function supportRowsHtml(report: OpeReport): string {
  const s = report.support;
  return [
    `<dt>${s.unit === 'episode' ? 'trajectory weights' : 'weights'}</dt><dd>${formatWeightSupport(s.trajectory, `${s.unit}s`)}</dd>`,
    ...(s.perDecision ? [`<dt>per-decision weights</dt><dd>${formatWeightSupport(s.perDecision, 'steps')}</dd>`] : []),
  ].join('\n');
}

/** Writes `text` to `path` atomically: a temporary file in the same directory, then rename. */
export function writeFileAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new KairosError(`cannot write ${path}: ${(err as Error).message}`, 'write_failed');
  }
}

/**
 * Writes report.json, report.md, report.html and an index.html linking them into `dir`
 * (created if needed); returns their paths.
 */
export function writeOpeReport(dir: string, run: LogEvaluation): { json: string; markdown: string; html: string; index: string } {
  mkdirSync(dir, { recursive: true });
  const paths = { json: join(dir, 'report.json'), markdown: join(dir, 'report.md'), html: join(dir, 'report.html'), index: join(dir, 'index.html') };
  // JSON.stringify turns NaN into null, which is what a JSON reader should see for "undefined".
  writeFileAtomic(paths.json, JSON.stringify({ ...run.meta, report: run.report }, null, 2) + '\n');
  writeFileAtomic(paths.markdown, renderReportMarkdown(run));
  writeFileAtomic(paths.html, renderReportHtml(run));
  writeFileAtomic(paths.index, renderReportIndex(`Off-policy evaluation: ${run.meta.policy}`, [{ heading: 'Reports', entries: reportIndexEntries(run, '') }]));
  return paths;
}

/**
 * The index lines of one evaluation (page, Markdown, JSON), `prefix` being the report folder
 * relative to the index: the page's line says the support verdict and any failures.
 */
export function reportIndexEntries(run: LogEvaluation, prefix: string): ReportIndexEntry[] {
  const r = run.report;
  const failed = r.failures > 0 || r.model?.status === 'unusable';
  const ok = r.estimates.filter((e) => e.status === 'ok').map((e) => `${e.estimator} ${formatNumber(e.value)}`);
  const detail = [r.support.message, ...(ok.length ? [ok.join(', ')] : []), ...(failed ? [`${r.failures} failed`] : [])].join('; ');
  return [
    { href: `${prefix}report.html`, title: `${run.meta.policy}: report`, detail, status: failed ? 'failed' : r.support.verdict === 'supported' ? 'ok' : 'warn' },
    { href: `${prefix}report.md`, title: 'the same as Markdown' },
    { href: `${prefix}report.json`, title: 'the same as JSON (every number, for scripts)' },
  ];
}
