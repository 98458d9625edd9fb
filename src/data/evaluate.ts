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
  type BanditEstimator,
  type OpeReport,
  type SequentialEstimator,
} from '../ope/index.js';
import { fitNeuralFqe, type NeuralFqeOptions } from '../ope/sequential/neural-fqe.js';
import { readBanditData, readEpisodicData } from './ope-data.js';
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
    const rewardModel = needsModel ? fitRewardModel(data, { kind: modelKind, folds: Math.min(folds, data.n), seed }) : undefined;
    const report = await buildOpeReport(data, estimators, { ...(rewardModel ? { rewardModel } : {}), bootstrap });
    return { report, meta: meta(needsModel ? `${modelKind} reward model, ${folds}-fold cross-fitted` : null, names) };
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
  const qModel = !needsModel
    ? undefined
    : modelKind === 'neural'
      ? fitNeuralFqe(data, { ...options.neuralFqe, folds: modelFolds, seed, ...(options.onModelProgress ? { onIteration: options.onModelProgress } : {}) })
      : fitFqe(data, { kind: modelKind, folds: modelFolds, seed });
  const report = await buildOpeReport(data, estimators, { ...(qModel ? { qModel } : {}), bootstrap });
  return { report, meta: meta(needsModel ? `${modelKind} FQE, ${folds}-fold cross-fitted` : null, names) };
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The report as Markdown: the estimate table of `renderMarkdown` plus where it came from. */
export function renderReportMarkdown(run: LogEvaluation): string {
  const m = run.meta;
  return (
    renderMarkdown(run.report) +
    `\n## Inputs\n\n- log: \`${m.data}\` (${m.decisions} decisions, ${m.episodes} episodes)\n- target policy: ${m.policy}\n` +
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
  const rows = report.estimates
    .map((e) => {
      const ci = e.interval ? `[${f(e.interval.lower)}, ${f(e.interval.upper)}]` : '';
      const nci = e.normalised.lower !== undefined ? `[${f(e.normalised.lower)}, ${f(e.normalised.upper)}]` : '';
      return `<tr><td>${escapeHtml(e.estimator)}</td><td>${f(e.value)}</td><td>${f(e.stderr)}</td><td>${ci}</td><td>${f(e.normalised.value)}</td><td>${nci}</td><td>${f(e.diagnostics.ess)}</td><td>${f(e.diagnostics.maxWeight)}</td></tr>`;
    })
    .join('\n');
  // Chart: one horizontal bar per estimator on a shared axis of normalised value.
  const pts = report.estimates.filter((e) => Number.isFinite(e.normalised.value));
  let chart = '';
  if (pts.length) {
    const lo = Math.min(1, ...pts.map((e) => e.normalised.lower ?? e.normalised.value));
    const hi = Math.max(1, ...pts.map((e) => e.normalised.upper ?? e.normalised.value));
    const pad = (hi - lo) * 0.1 || 0.1;
    const a = lo - pad;
    const b = hi + pad;
    const width = 640;
    const left = 140;
    const rowH = 26;
    const x = (v: number) => left + ((v - a) / (b - a)) * (width - left - 20);
    const h = pts.length * rowH + 40;
    const items = pts
      .map((e, i) => {
        const y = 20 + i * rowH;
        const whisker =
          e.normalised.lower !== undefined && e.normalised.upper !== undefined
            ? `<line x1="${x(e.normalised.lower).toFixed(1)}" x2="${x(e.normalised.upper).toFixed(1)}" y1="${y}" y2="${y}" class="ci"/>`
            : '';
        return `<text x="${left - 8}" y="${y + 4}" text-anchor="end">${escapeHtml(e.estimator)}</text>${whisker}<circle cx="${x(e.normalised.value).toFixed(1)}" cy="${y}" r="4"/>`;
      })
      .join('');
    const axisY = h - 14;
    chart = `<svg viewBox="0 0 ${width} ${h}" width="${width}" height="${h}" role="img" aria-label="normalised values">
<line x1="${x(1).toFixed(1)}" x2="${x(1).toFixed(1)}" y1="8" y2="${axisY - 8}" class="ref"/>
${items}
<text x="${x(a).toFixed(1)}" y="${axisY}">${f(a)}</text><text x="${x(1).toFixed(1)}" y="${axisY}" text-anchor="middle">1 = logging policy</text><text x="${x(b).toFixed(1)}" y="${axisY}" text-anchor="end">${f(b)}</text>
</svg>`;
  }
  const lp = report.loggingPolicyValue;
  const boot = report.bootstrap
    ? `${report.bootstrap.method} bootstrap, ${report.bootstrap.resamples} resamples, ${Math.round((1 - report.bootstrap.alpha) * 1000) / 10}% level, seed ${report.bootstrap.seed}`
    : 'none';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Off-policy evaluation: ${escapeHtml(meta.policy)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:60rem;color:#1d2330;padding:0 1rem}
h1{font-size:1.4rem}table{border-collapse:collapse;margin:1rem 0}th,td{padding:.3rem .6rem;border-bottom:1px solid #dde1e8;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f3f5f8}dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}
dt{color:#5b6475}svg text{font:12px system-ui,sans-serif;fill:#1d2330}svg circle{fill:#2b6cb0}svg .ci{stroke:#2b6cb0;stroke-width:2}svg .ref{stroke:#c53030;stroke-dasharray:4 3}
</style></head><body>
<h1>Off-policy evaluation (${report.kind})</h1>
<dl>
<dt>log</dt><dd>${escapeHtml(meta.data)}: ${meta.decisions} decisions, ${meta.episodes} episodes</dd>
<dt>target policy</dt><dd>${escapeHtml(meta.policy)}</dd>
<dt>data</dt><dd>${report.n} ${report.kind === 'bandit' ? 'rows' : 'episodes'}, ${report.numActions} actions${report.gamma !== undefined ? `, γ = ${report.gamma}` : ''}</dd>
<dt>logging policy value</dt><dd>${f(lp.value)} ± ${f(lp.stderr)} (${escapeHtml(lp.description)})</dd>
<dt>model</dt><dd>${escapeHtml(meta.model ?? 'none needed')}</dd>
<dt>intervals</dt><dd>${escapeHtml(boot)}</dd>
<dt>created</dt><dd>${escapeHtml(meta.createdAt)}, seed ${meta.seed}</dd>
</dl>
<table><thead><tr><th>estimator</th><th>value</th><th>stderr</th><th>interval</th><th>normalised</th><th>normalised interval</th><th>ESS</th><th>max weight</th></tr></thead>
<tbody>
${rows}
</tbody></table>
<p>Normalised = value ÷ the logging policy's observed value: above 1 reads "better than the logged traffic".</p>
${chart}
</body></html>
`;
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

/** Writes report.json, report.md and report.html into `dir` (created if needed); returns their paths. */
export function writeOpeReport(dir: string, run: LogEvaluation): { json: string; markdown: string; html: string } {
  mkdirSync(dir, { recursive: true });
  const paths = { json: join(dir, 'report.json'), markdown: join(dir, 'report.md'), html: join(dir, 'report.html') };
  // JSON.stringify turns NaN into null, which is what a JSON reader should see for "undefined".
  writeFileAtomic(paths.json, JSON.stringify({ ...run.meta, report: run.report }, null, 2) + '\n');
  writeFileAtomic(paths.markdown, renderReportMarkdown(run));
  writeFileAtomic(paths.html, renderReportHtml(run));
  return paths;
}
