/**
 * The OPE report's chart: a forest plot, one row per estimate (a point and its interval) on a
 * shared x axis, as a self-contained SVG string (inline styles, no external assets, no DOM).
 *
 * Layout is computed here, without a browser, from an upper bound on text widths
 * ({@link textWidth}: DejaVu Sans advance widths plus 5%; common sans-serif UI fonts are no
 * wider), so that no two texts overlap and every text stays inside the SVG:
 * - the label gutter is as wide as the longest label, capped at 40% of the width; a longer
 *   label is truncated with "…" and carries the full name as a <title> tooltip;
 * - ticks fall on 1-2-5 steps ({@link niceStep}); when neighbouring tick labels would come closer
 *   than {@link TICK_LABEL_GAP}, the next coarser step is used ({@link chooseAxis});
 * - the reference line (the logging policy, 1 on the normalised scale) and an optional ground
 *   truth line are named in a legend row above the plot, never on the axis;
 * - a row whose estimate failed (or is not finite) reads "failed: reason" where its point would be.
 *
 * Tests: test/data/report-chart.test.ts (ticks, labels), test/data/report-layout.test.ts
 * (text boxes measured in Chromium).
 *
 * @example
 * const svg = renderForestPlot(
 *   [{ label: 'dr', value: 1.08, lower: 0.97, upper: 1.2 }, { label: 'ips', value: NaN, failed: 'no overlap' }],
 *   { reference: { value: 1, label: '1 = logging policy' }, xLabel: 'value ÷ logging policy value' },
 * );
 */

/** One row of a forest plot. */
export interface ForestRow {
  label: string;
  /** The point; a row whose value is not finite (or beyond ±1e300) is drawn as failed. */
  value: number;
  /** Interval ends; the interval is drawn (and counts for the axis) when both are finite. */
  lower?: number;
  upper?: number;
  /** Why the estimate failed: the row shows "failed: reason" instead of a point. */
  failed?: string;
}

/** A vertical line across the plot, named in the legend. */
export interface ForestLine {
  value: number;
  label: string;
}

/** Options of {@link renderForestPlot}. */
export interface ForestPlotOptions {
  /** Reference line (dashed), e.g. the logging policy at 1. */
  reference?: ForestLine;
  /** Ground-truth line (solid), e.g. the simulator's value of the target policy. */
  truth?: ForestLine;
  /** Title of the x axis. */
  xLabel: string;
  /** Width in pixels (default 640). */
  width?: number;
}

/** Largest magnitude drawn: beyond it (or not finite) a value counts as failed, an interval as absent. */
export const MAX_PLOTTABLE = 1e300;
const plottable = (v: number) => Math.abs(v) <= MAX_PLOTTABLE;

/** Font size of every text in the chart, in pixels. */
export const FONT_SIZE = 12;
/** Least horizontal gap between two tick labels, in pixels. */
export const TICK_LABEL_GAP = 10;

// Advance widths of DejaVu Sans (the widest common sans-serif UI font), in hundredths of an em,
// for the printable ASCII characters 32..126 (measured in Chromium).
const ASCII_WIDTHS = [
  32, 40, 46, 84, 64, 95, 78, 27, 39, 39, 50, 84, 32, 36, 32, 34, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 34, 34, 84, 84, 84, 53, 100, 68, 69, 70, 77,
  63, 58, 77, 75, 29, 29, 66, 56, 86, 75, 79, 60, 79, 69, 63, 61, 73, 68, 99, 69, 61, 69, 39, 34, 39, 84, 50, 50, 61, 63, 55, 63, 62, 35, 63, 63, 28,
  28, 58, 28, 97, 63, 61, 63, 63, 41, 52, 39, 63, 59, 82, 59, 59, 52, 64, 34, 64, 84,
];
const OTHER_WIDTHS: Record<string, number> = { '×': 84, '÷': 84, '·': 32, '…': 100, '−': 84, '≤': 84, '≥': 84, '±': 84 };
const SUPERSCRIPTS = '⁰¹²³⁴⁵⁶⁷⁸⁹';

/**
 * An upper bound on the width in pixels of `text` set in a sans-serif font of `size` pixels.
 * Characters outside the table count as 1 em (wide CJK glyphs are 1 em).
 */
export function textWidth(text: string, size = FONT_SIZE): number {
  let hundredths = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (c >= 32 && c <= 126) hundredths += ASCII_WIDTHS[c - 32];
    else if (SUPERSCRIPTS.includes(ch) || ch === '⁻') hundredths += 60;
    else hundredths += OTHER_WIDTHS[ch] ?? (c >= 0x300 && c <= 0x36f ? 0 : 100);
  }
  return (hundredths / 100) * size * 1.05;
}

/** `text`, or its longest prefix that fits `maxWidth` with "…" appended. */
export function truncateText(text: string, maxWidth: number, size = FONT_SIZE): string {
  if (textWidth(text, size) <= maxWidth) return text;
  const chars = Array.from(text);
  let lo = 0;
  let hi = chars.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (textWidth(chars.slice(0, mid).join('').trimEnd() + '…', size) <= maxWidth) lo = mid;
    else hi = mid - 1;
  }
  return lo === 0 ? '…' : chars.slice(0, lo).join('').trimEnd() + '…';
}

/** A tick step m·10^k with m in {1, 2, 5}. */
export interface TickStep {
  m: 1 | 2 | 5;
  k: number;
}

/** The step's value. */
export const stepValue = (s: TickStep): number => (s.k < 0 ? s.m / 10 ** -s.k : s.m * 10 ** s.k);

/** The smallest 1-2-5 step that covers `span` with at most `maxTicks` intervals. */
export function niceStep(span: number, maxTicks: number): TickStep {
  if (!(span > 0) || !Number.isFinite(span)) throw new RangeError(`niceStep: span must be finite and > 0, received ${span}`);
  const raw = span / Math.max(1, maxTicks);
  let k = Math.floor(Math.log10(raw));
  // Guard log10 rounding at exact powers of ten.
  if (stepValue({ m: 1, k }) > raw) k -= 1;
  for (const m of [1, 2, 5] as const) if (stepValue({ m, k }) >= raw * (1 - 1e-12)) return { m, k };
  return { m: 1, k: k + 1 };
}

/** The next coarser 1-2-5 step: 1 → 2 → 5 → 10. */
export function coarserStep(s: TickStep): TickStep {
  return s.m === 1 ? { m: 2, k: s.k } : s.m === 2 ? { m: 5, k: s.k } : { m: 1, k: s.k + 1 };
}

/** Multiples of the step from the last one ≤ lo to the first one ≥ hi (both included). */
export function ticksFor(lo: number, hi: number, s: TickStep): number[] {
  const v = stepValue(s);
  const first = Math.floor(lo / v + 1e-9);
  const last = Math.ceil(hi / v - 1e-9);
  const ticks: number[] = [];
  // i·m is an exact integer and 10^|k| an exact power of ten, so each tick is the nearest double.
  for (let i = first; i <= last; i++) ticks.push(s.k < 0 ? (i * s.m) / 10 ** -s.k : i * s.m * 10 ** s.k);
  return ticks;
}

const superscript = (n: number) =>
  String(n)
    .split('')
    .map((c) => (c === '-' ? '⁻' : SUPERSCRIPTS[Number(c)]))
    .join('');

/**
 * Tick labels: fixed decimals (as many as the step needs), or m×10ⁿ when the ticks are huge
 * (|tick| ≥ 10⁶) or all tiny (< 10⁻³), without trailing zeros. Negative labels use the minus
 * sign −.
 */
export function formatTicks(ticks: number[], s: TickStep): string[] {
  const maxAbs = Math.max(0, ...ticks.map(Math.abs));
  const scientific = maxAbs >= 1e6 || (maxAbs > 0 && maxAbs < 1e-3);
  return ticks.map((t) => {
    if (t === 0) return '0';
    if (!scientific) return t.toFixed(Math.max(0, -s.k)).replace(/^-/, '−');
    const e = Math.floor(Math.log10(Math.abs(t)) + 1e-12);
    const mantissa = e < 0 ? t * 10 ** -e : t / 10 ** e;
    const digits = mantissa.toFixed(Math.max(0, e - s.k)).replace(/\.?0+$/, '');
    return `${digits.replace(/^-/, '−')}×10${superscript(e)}`;
  });
}

/** A laid-out x axis; see {@link chooseAxis}. */
export interface Axis {
  domain: [number, number];
  step: TickStep;
  ticks: number[];
  /** Tick labels; '' where a label was dropped to avoid a collision. */
  labels: string[];
  /** Pixel position of each tick. */
  positions: number[];
  /** Where each label's centre goes (its tick, moved inside the bounds when needed). */
  labelCentres: number[];
}

/**
 * The x axis for data in [lo, hi] drawn from pixel x0 to x1: the finest 1-2-5 step (at most one
 * tick per 60 px) whose labels, centred under their ticks and kept inside `bounds`, leave at least
 * `minGap` pixels between neighbours; the domain is widened to the outer ticks. If even the
 * coarsest step with two intervals collides, labels are dropped from the right until none does.
 */
export function chooseAxis(
  lo: number,
  hi: number,
  x0: number,
  x1: number,
  options: { minGap?: number; bounds?: [number, number]; fontSize?: number } = {},
): Axis {
  const minGap = options.minGap ?? TICK_LABEL_GAP;
  const [minX, maxX] = options.bounds ?? [-Infinity, Infinity];
  const size = options.fontSize ?? FONT_SIZE;
  if (!(Math.abs(lo) <= MAX_PLOTTABLE && Math.abs(hi) <= MAX_PLOTTABLE)) {
    throw new RangeError(`chooseAxis: bounds must be finite and within ±${MAX_PLOTTABLE}, received [${lo}, ${hi}]`);
  }
  if (hi < lo) [lo, hi] = [hi, lo];
  // A range below floating-point resolution at its magnitude has no distinct ticks: widen it.
  if (hi - lo <= Math.max(Math.abs(lo), Math.abs(hi)) * 1e-12) {
    const pad = Math.abs(lo) * 0.1 || 1;
    lo -= pad;
    hi += pad;
  }
  const layout = (step: TickStep): Axis & { widths: number[] } => {
    const ticks = ticksFor(lo, hi, step);
    const domain: [number, number] = [ticks[0], ticks[ticks.length - 1]];
    const x = (v: number) => x0 + ((v - domain[0]) / (domain[1] - domain[0])) * (x1 - x0);
    const labels = formatTicks(ticks, step);
    const widths = labels.map((l) => textWidth(l, size));
    const positions = ticks.map(x);
    const labelCentres = positions.map((p, i) => Math.min(Math.max(p, minX + widths[i] / 2), maxX - widths[i] / 2));
    return { domain, step, ticks, labels, positions, labelCentres, widths };
  };
  const collides = (a: Axis & { widths: number[] }, i: number, j: number) =>
    a.labelCentres[j] - a.widths[j] / 2 - (a.labelCentres[i] + a.widths[i] / 2) < minGap;
  let step = niceStep(hi - lo, Math.max(1, Math.floor((x1 - x0) / 60)));
  let axis = layout(step);
  for (let tries = 0; tries < 64; tries++) {
    if (axis.ticks.every((_, i) => i === 0 || !collides(axis, i - 1, i))) return strip(axis);
    if (axis.ticks.length <= 2) break;
    step = coarserStep(step);
    axis = layout(step);
  }
  // Last resort (a very narrow chart): keep the first label and every later one that fits.
  let kept = 0;
  for (let i = 1; i < axis.ticks.length; i++) {
    if (collides(axis, kept, i)) axis.labels[i] = '';
    else kept = i;
  }
  return strip(axis);
}

function strip(a: Axis & { widths: number[] }): Axis {
  const { widths: _, ...axis } = a;
  return axis;
}

const escapeXml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const px = (v: number) => (Math.round(v * 10) / 10).toString();

/** A <text>; truncated to `maxWidth` with the full text as a <title> tooltip when it does not fit. */
function text(x: number, y: number, content: string, maxWidth: number, attrs = ''): string {
  const shown = truncateText(content, maxWidth);
  const title = shown === content ? '' : `<title>${escapeXml(content)}</title>`;
  return `<text x="${px(x)}" y="${px(y)}"${attrs ? ' ' + attrs : ''}>${title}${escapeXml(shown)}</text>`;
}

const STYLE =
  '.kairos-forest text{font:12px system-ui,sans-serif;fill:#1d2330;font-style:normal}' +
  '.kairos-forest .kf-tick{fill:#5b6475}' +
  '.kairos-forest .kf-failed{fill:#9b2c2c;font-style:italic;paint-order:stroke;stroke:#fff;stroke-width:4px;stroke-linejoin:round}' +
  '.kairos-forest .kf-grid{stroke:#e6e9ef;stroke-width:1}' +
  '.kairos-forest .kf-axis{stroke:#5b6475;stroke-width:1}' +
  '.kairos-forest .kf-ci{stroke:#2b6cb0;stroke-width:2}' +
  '.kairos-forest .kf-pt{fill:#2b6cb0;stroke:#fff;stroke-width:1}' +
  '.kairos-forest .kf-ref{stroke:#c53030;stroke-width:1.5;stroke-dasharray:5 3}' +
  '.kairos-forest .kf-truth{stroke:#2f855a;stroke-width:2}';

const ROW_H = 24;
const LEGEND_H = 18;
const RIGHT_PAD = 16;

/**
 * A forest plot as an SVG string (see the module comment); '' when there are no rows. It is
 * written to sit inside an HTML page and names no URL (not even the SVG namespace, which HTML
 * parsing supplies): a standalone .svg file needs xmlns="http://www.w3.org/2000/svg" added.
 * An interval with a non-finite end is left out, as is a line with a non-finite value.
 */
export function renderForestPlot(rows: readonly ForestRow[], options: ForestPlotOptions): string {
  if (rows.length === 0) return '';
  const width = Math.max(160, options.width ?? 640);
  const failure = (r: ForestRow): string | undefined =>
    r.failed !== undefined
      ? r.failed || 'no value'
      : plottable(r.value)
        ? undefined
        : Number.isFinite(r.value)
          ? `value ${r.value} is too large to plot`
          : `value is ${r.value}`;
  const hasInterval = (r: ForestRow) => r.lower !== undefined && r.upper !== undefined && plottable(r.lower) && plottable(r.upper);
  const lines = [
    ...(options.reference && plottable(options.reference.value) ? [{ ...options.reference, cls: 'kf-ref' }] : []),
    ...(options.truth && plottable(options.truth.value) ? [{ ...options.truth, cls: 'kf-truth' }] : []),
  ];

  // Horizontal: label gutter | plot | right pad.
  const gutter = Math.ceil(Math.min(Math.max(48, Math.max(...rows.map((r) => textWidth(r.label))) + 16), width * 0.4));
  const x0 = gutter;
  const x1 = width - RIGHT_PAD;

  // Vertical: legend rows, estimate rows, axis, tick labels, axis title.
  const legend: { x: number; line: number; label: string; cls: string }[] = [];
  let lx = 8;
  let line = 0;
  for (const l of lines) {
    const label = truncateText(l.label, width - 16 - 28);
    const w = 28 + textWidth(label);
    if (lx > 8 && lx + w > width - 8) {
      line += 1;
      lx = 8;
    }
    legend.push({ x: lx, line, label: l.label, cls: l.cls });
    lx += w + 20;
  }
  const top = 8;
  const rowsTop = top + (legend.length ? (line + 1) * LEGEND_H + 6 : 0);
  const axisY = rowsTop + rows.length * ROW_H + 6;
  const height = axisY + 48;

  // Domain: every finite point, interval end and line.
  const values: number[] = lines.map((l) => l.value);
  for (const r of rows) {
    if (failure(r) !== undefined) continue;
    values.push(r.value);
    if (hasInterval(r)) values.push(r.lower!, r.upper!);
  }
  const axis = values.length
    ? chooseAxis(Math.min(...values), Math.max(...values), x0, x1, { bounds: [2, width - 2] })
    : chooseAxis(0, 1, x0, x1, { bounds: [2, width - 2] });
  const [a, b] = axis.domain;
  const x = (v: number) => x0 + ((v - a) / (b - a)) * (x1 - x0);

  const out: string[] = [];
  out.push(
    `<svg class="kairos-forest" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeXml(options.xLabel)}">`,
    `<style>${STYLE}</style>`,
  );
  // Grid and axis under everything else.
  for (const p of axis.positions) out.push(`<line class="kf-grid" x1="${px(p)}" x2="${px(p)}" y1="${rowsTop}" y2="${axisY}"/>`);
  out.push(`<line class="kf-axis" x1="${x0}" x2="${x1}" y1="${axisY}" y2="${axisY}"/>`);
  axis.positions.forEach((p, i) => {
    out.push(`<line class="kf-axis" x1="${px(p)}" x2="${px(p)}" y1="${axisY}" y2="${axisY + 5}"/>`);
    if (axis.labels[i]) out.push(text(axis.labelCentres[i], axisY + 19, axis.labels[i], Infinity, 'class="kf-tick" text-anchor="middle"'));
  });
  if (options.xLabel) {
    const shown = truncateText(options.xLabel, width - 8);
    const w = textWidth(shown);
    const centre = Math.min(Math.max((x0 + x1) / 2, 4 + w / 2), width - 4 - w / 2);
    out.push(text(centre, axisY + 39, options.xLabel, width - 8, 'text-anchor="middle"'));
  }
  // Reference and truth lines, then the legend naming them.
  for (const l of lines) out.push(`<line class="${l.cls}" x1="${px(x(l.value))}" x2="${px(x(l.value))}" y1="${rowsTop - 2}" y2="${axisY}"/>`);
  for (const item of legend) {
    const y = top + item.line * LEGEND_H;
    out.push(`<line class="${item.cls}" x1="${item.x}" x2="${item.x + 22}" y1="${y + 9}" y2="${y + 9}"/>`);
    out.push(text(item.x + 28, y + 13, item.label, width - 16 - 28));
  }
  // Rows: label, then the interval and point, or why there is none.
  rows.forEach((r, i) => {
    const cy = rowsTop + i * ROW_H + ROW_H / 2;
    out.push(text(gutter - 10, cy + 4, r.label, gutter - 16, 'text-anchor="end"'));
    const why = failure(r);
    if (why !== undefined) {
      out.push(text(x0 + 4, cy + 4, `failed: ${why}`, width - 4 - (x0 + 4), 'class="kf-failed"'));
      return;
    }
    if (hasInterval(r)) {
      const l = px(x(Math.min(r.lower!, r.upper!)));
      const u = px(x(Math.max(r.lower!, r.upper!)));
      out.push(
        `<line class="kf-ci" x1="${l}" x2="${u}" y1="${cy}" y2="${cy}"/>`,
        `<line class="kf-ci" x1="${l}" x2="${l}" y1="${cy - 4}" y2="${cy + 4}"/><line class="kf-ci" x1="${u}" x2="${u}" y1="${cy - 4}" y2="${cy + 4}"/>`,
      );
    }
    out.push(`<circle class="kf-pt" cx="${px(x(r.value))}" cy="${cy}" r="4.5"/>`);
  });
  out.push('</svg>');
  return out.join('\n');
}
