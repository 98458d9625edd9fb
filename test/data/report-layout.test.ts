/**
 * Layout of the OPE report's chart in a real browser (Chromium via playwright-core): with
 * awkward data (the reference line at an end of the axis, very long estimator names, failed and
 * NaN estimates, huge and tiny values, a ground-truth line) no two SVG <text> boxes overlap,
 * every text lies inside the SVG viewport and off the data points, and a failed row says so in
 * visible text. Screenshots go to a temp dir (KAIROS_SCREENSHOT_DIR keeps them).
 */
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { renderReportHtml, type LogEvaluation } from '../../src/data/evaluate.js';
import { renderForestPlot, type ForestRow, type ForestPlotOptions } from '../../src/data/report-chart.js';
import type { ReportEntry } from '../../src/ope/report.js';
import { SUPPORT_THRESHOLDS } from '../../src/ope/support.js';
import { useBrowser } from '../helpers/browser.js';

const browser = useBrowser();

const keep = process.env.KAIROS_SCREENSHOT_DIR;
const shots = keep ?? mkdtempSync(join(tmpdir(), 'kairos-report-layout-'));
mkdirSync(shots, { recursive: true });
afterAll(() => {
  if (!keep) rmSync(shots, { recursive: true, force: true });
});

interface Box {
  left: number;
  top: number;
  right: number;
  bottom: number;
}
interface TextInfo extends Box {
  /** The text as drawn (without its <title> tooltip). */
  text: string;
  title: string | null;
  /** Rendered: displayed, visible, opaque, filled, at least 9px, and on top at its centre. */
  visible: boolean;
}
interface SvgLayout {
  svg: Box;
  texts: TextInfo[];
  /** Data points (circles). */
  marks: Box[];
}

// Runs in the page, so it is a string: the test transform must not touch it.
const COLLECT = `(() => {
  const svgs = Array.from(document.querySelectorAll('svg'));
  return svgs.map((svg) => {
    svg.scrollIntoView({ block: 'start', inline: 'start' });
    const box = (el) => { const b = el.getBoundingClientRect(); return { left: b.left, top: b.top, right: b.right, bottom: b.bottom }; };
    const texts = Array.from(svg.querySelectorAll('text')).map((t) => {
      const b = box(t);
      const cs = getComputedStyle(t);
      const hit = document.elementFromPoint((b.left + b.right) / 2, (b.top + b.bottom) / 2);
      const fill = cs.fill || '';
      const transparent = fill === 'none' || /rgba\\([^)]*,\\s*0\\)$/.test(fill);
      const visible = cs.display !== 'none' && cs.visibility === 'visible' && Number(cs.opacity) > 0 && !transparent &&
        parseFloat(cs.fontSize) >= 9 && b.right - b.left > 0 && hit !== null && (hit === t || t.contains(hit));
      const title = t.querySelector('title');
      const text = Array.from(t.childNodes).filter((n) => n.nodeName !== 'title').map((n) => n.textContent).join('');
      return { ...b, text, title: title ? title.textContent : null, visible };
    });
    const marks = Array.from(svg.querySelectorAll('circle')).map(box);
    return { svg: box(svg), texts, marks };
  });
})()`;

async function layout(page: Page): Promise<SvgLayout[]> {
  return (await page.evaluate(COLLECT)) as SvgLayout[];
}

/** Overlap of two boxes in pixels along each axis (negative: a gap). */
function overlap(a: Box, b: Box): { x: number; y: number } {
  return { x: Math.min(a.right, b.right) - Math.max(a.left, b.left), y: Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) };
}
// Half a pixel of tolerance for sub-pixel rounding of glyph boxes.
const TOL = 0.5;
const overlaps = (a: Box, b: Box) => {
  const o = overlap(a, b);
  return o.x > TOL && o.y > TOL;
};
const inside = (a: Box, outer: Box) =>
  a.left >= outer.left - TOL && a.right <= outer.right + TOL && a.top >= outer.top - TOL && a.bottom <= outer.bottom + TOL;
const fmt = (t: TextInfo) => `"${t.text}" [${t.left.toFixed(1)}, ${t.right.toFixed(1)}] x [${t.top.toFixed(1)}, ${t.bottom.toFixed(1)}]`;

/** Every layout rule at once, so a failure lists all the problems. */
function layoutProblems(l: SvgLayout): string[] {
  const problems: string[] = [];
  l.texts.forEach((t, i) => {
    if (!inside(t, l.svg)) problems.push(`outside the SVG viewport: ${fmt(t)}`);
    for (const other of l.texts.slice(i + 1)) if (overlaps(t, other)) problems.push(`overlap: ${fmt(t)} and ${fmt(other)}`);
    for (const m of l.marks) if (overlaps(t, m)) problems.push(`over a data point: ${fmt(t)}`);
  });
  return problems;
}

async function shoot(page: Page, name: string): Promise<void> {
  const path = join(shots, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  expect(statSync(path).size).toBeGreaterThan(1000);
}

/** The row of a failed estimate: its label and a visible "failed: ..." text on the same line. */
function expectFailedRow(l: SvgLayout, label: string, reason: RegExp): void {
  const name = l.texts.find((t) => t.text === label || t.title === label);
  expect(name, `label ${label}`).toBeDefined();
  const failed = l.texts.find((t) => /^failed: /.test(t.text) && Math.abs((t.top + t.bottom) / 2 - (name!.top + name!.bottom) / 2) < 3);
  expect(failed, `a "failed: ..." text on the row of ${label}`).toBeDefined();
  expect(failed!.text + (failed!.title ?? '')).toMatch(reason);
  expect(failed!.visible, `${fmt(failed!)} is visible`).toBe(true);
}

const REF = { value: 1, label: '1 = logging policy' };
const X = 'value ÷ logging policy value';
const LONG = 'clipped-ips(λ=10) with a deliberately long descriptive name that cannot fit any sensible gutter';

interface Case {
  name: string;
  rows: ForestRow[];
  opts: ForestPlotOptions;
  /** Checks beyond the layout rules. */
  check?: (l: SvgLayout) => void;
}

const CASES: Case[] = [
  {
    name: 'reference line at the left end of the axis',
    rows: [
      { label: 'dm', value: 1.4, lower: 1.2, upper: 1.7 },
      { label: 'ips', value: 2.6, lower: 1.01, upper: 3.9 },
      { label: 'dr', value: 1.9, lower: 1.5, upper: 2.4 },
    ],
    opts: { reference: REF, xLabel: X },
    check: (l) => expect(l.texts.some((t) => t.text === REF.label), 'the reference is named in the legend').toBe(true),
  },
  {
    name: 'reference line at the right end of the axis, negative values',
    rows: [
      { label: 'snips', value: -0.8, lower: -2.1, upper: 0.2 },
      { label: 'sndr', value: 0.97, lower: 0.91, upper: 0.999 },
    ],
    opts: { reference: REF, xLabel: X },
  },
  {
    name: 'very long estimator names are truncated with the full name as a tooltip',
    rows: [
      { label: LONG, value: 1.1, lower: 0.9, upper: 1.3 },
      { label: 'switch-dr(τ=20)·'.repeat(8), value: 0.8 },
      { label: 'dm', value: 1.02, lower: 1.0, upper: 1.04 },
    ],
    opts: { reference: REF, xLabel: X },
    check: (l) => {
      const long = l.texts.find((t) => t.title === LONG);
      expect(long, 'the long label carries a <title> with the full name').toBeDefined();
      expect(long!.text.endsWith('…')).toBe(true);
      // The gutter is capped: the plot keeps most of the width.
      expect(long!.right - l.svg.left).toBeLessThan((l.svg.right - l.svg.left) / 2);
      expect(l.texts.find((t) => t.text === 'dm')?.title, 'a short label is not truncated').toBeNull();
    },
  },
  {
    name: 'failed and NaN estimates are drawn as visible "failed: reason" text',
    rows: [
      { label: 'dm', value: 1.3, lower: 1.1, upper: 1.5 },
      { label: 'magic', value: NaN, failed: 'bootstrap diverged: 37 of 200 resamples gave non-finite values' },
      { label: 'wdr', value: NaN },
      { label: 'fqe', value: Infinity, lower: 0, upper: Infinity },
      { label: 'dr', value: 0.9, lower: NaN, upper: 1.2 },
    ],
    opts: { reference: REF, xLabel: X },
    check: (l) => {
      expectFailedRow(l, 'magic', /bootstrap diverged/);
      expectFailedRow(l, 'wdr', /NaN/);
      expectFailedRow(l, 'fqe', /Infinity/);
      expect(l.marks.length, 'points for dm and dr only').toBe(2);
    },
  },
  {
    name: 'every estimate failed',
    rows: [{ label: 'ips', value: NaN, failed: 'no overlap between the policies' }],
    opts: { reference: REF, xLabel: X },
    check: (l) => expectFailedRow(l, 'ips', /no overlap/),
  },
  {
    name: 'huge values',
    rows: [
      { label: 'ips', value: 3.2e7, lower: 1.1e6, upper: 8.9e7 },
      { label: 'dm', value: 1.05, lower: 0.99, upper: 1.1 },
    ],
    opts: { reference: REF, xLabel: X },
  },
  {
    name: 'tiny values and a truth line in the legend',
    rows: [
      { label: 'ips', value: 3.1e-6, lower: 1.2e-6, upper: 5.7e-6 },
      { label: 'dr', value: 2.2e-6, lower: 2.0e-6, upper: 2.5e-6 },
    ],
    opts: { truth: { value: 2.4e-6, label: 'ground truth (simulator, 3000 episodes)' }, xLabel: 'value' },
    check: (l) => expect(l.texts.some((t) => t.text.startsWith('ground truth')), 'the truth is named in the legend').toBe(true),
  },
  {
    name: 'reference and truth close together on a narrow chart',
    rows: [
      { label: LONG, value: 1.001, lower: 0.998, upper: 1.004 },
      { label: 'dr', value: 0.9995 },
    ],
    opts: { reference: REF, truth: { value: 1.0002, label: 'truth = 1.0002' }, xLabel: X, width: 320 },
  },
  {
    name: 'legend wider than the chart wraps onto a second line',
    rows: [{ label: 'dr', value: 1.2, lower: 0.4, upper: 2.0 }],
    opts: {
      reference: { value: 1, label: '1 = logging policy (mean logged reward 0.4132 over 12000 rows)' },
      truth: { value: 1.3, label: 'ground truth: 3000 fresh simulator episodes of the greedy policy' },
      xLabel: 'normalised value: estimate ÷ logging policy value, where above 1 reads better than the logged traffic',
      width: 420,
    },
  },
];

describe('forest plot layout in Chromium', () => {
  // Every case on one page: one load, one measurement, one screenshot. Awaited by each test (not
  // a beforeAll), so a browser that cannot start fails every test rather than skipping it.
  let gallery: Promise<SvgLayout[]> | undefined;
  const layouts = () =>
    (gallery ??= (async () => {
      const sections = CASES.map((c) => `<section><h2 style="font:13px sans-serif;margin:12px 0 4px">${c.name}</h2>${renderForestPlot(c.rows, c.opts)}</section>`);
      const page = await browser.open(`<!doctype html><html><head><meta charset="utf-8"></head><body style="margin:8px">${sections.join('')}</body></html>`, {
        width: 800,
        height: 900,
      });
      const found = await layout(page);
      await shoot(page, 'forest-plots');
      return found;
    })());

  CASES.forEach((c, i) =>
    it(c.name, async () => {
      const all = await layouts();
      expect(all.length, 'one SVG per case').toBe(CASES.length);
      expect(layoutProblems(all[i])).toEqual([]);
      c.check?.(all[i]);
    }),
  );
});

// A hand-built evaluation: what `evaluateLog` returns, with the awkward values written in.
const LOGGING = 2;
function entry(estimator: string, value: number, interval?: [number, number], failure?: string): ReportEntry {
  return {
    estimator,
    value,
    stderr: 0.1,
    n: 500,
    diagnostics: { meanWeight: 1, maxWeight: 12.5, minWeight: 0, ess: 180, essFraction: 0.36 },
    ...(interval
      ? { interval: { lower: interval[0], upper: interval[1], alpha: 0.05, method: 'percentile' as const, resamples: 200, seed: 0, stderr: 0.1, dropped: 0 } }
      : {}),
    normalised: interval ? { value: value / LOGGING, lower: interval[0] / LOGGING, upper: interval[1] / LOGGING } : { value: value / LOGGING },
    ...(failure !== undefined || !Number.isFinite(value) ? { status: 'failed' as const, failure: failure ?? `value is ${value}` } : { status: 'ok' as const }),
  };
}
function evaluation(estimates: ReportEntry[]): LogEvaluation {
  const weights = { ess: 180, essFraction: 0.36, maxWeight: 12.5, meanWeight: 1, nonZeroFraction: 0.9, samples: 500 };
  return {
    report: {
      kind: 'bandit',
      n: 500,
      numActions: 3,
      loggingPolicyValue: { value: LOGGING, stderr: 0.05, description: 'mean logged reward' },
      estimates,
      bootstrap: { resamples: 200, alpha: 0.05, seed: 0, method: 'percentile' },
      range: { lower: 0, upper: 1e9, description: 'rewards in [0, 1e9]', rewardMin: 0, rewardMax: 1e9 },
      support: {
        unit: 'row',
        n: 500,
        trajectory: weights,
        verdict: 'supported',
        message: 'log supports this policy (ESS 180 of 500 rows)',
        smallData: false,
        thresholds: SUPPORT_THRESHOLDS,
      },
      model: { description: 'ridge reward model, 2-fold cross-fitted', status: 'ok', problems: [], clippedFraction: 0 },
      failures: estimates.filter((e) => e.status === 'failed').length,
    },
    meta: {
      data: '/tmp/log.duckdb',
      policy: 'target.json',
      kind: 'bandit',
      decisions: 500,
      episodes: 500,
      model: 'ridge reward model, 2-fold cross-fitted',
      estimators: estimates.map((e) => e.estimator),
      seed: 0,
      createdAt: '2025-01-01T00:00:00.000Z',
    },
  };
}

describe('renderReportHtml chart layout in Chromium', () => {
  it('reference near the axis end, a long name and a NaN estimate', async () => {
    const run = evaluation([
      entry('dm', 2.1, [2.02, 2.3]),
      entry('ips', 4.0, [2.01, 6.2]),
      entry(LONG, 3.0, [2.5, 3.6]),
      entry('sndr', NaN),
      entry('switch-dr', 2.4, [2.2, 2.6], 'rests on an unusable reward model (ridge fit diverged)'),
    ]);
    const page = await browser.open(renderReportHtml(run), { width: 1024, height: 1400 });
    const svgs = await layout(page);
    expect(svgs.length, 'the report has one chart').toBe(1);
    await shoot(page, 'report');
    // Soft, so a failure also reports the failed-row check below.
    expect.soft(layoutProblems(svgs[0])).toEqual([]);
    expectFailedRow(svgs[0], 'sndr', /NaN/);
    // A failed estimate with a finite value is not drawn as a point either.
    expectFailedRow(svgs[0], 'switch-dr', /unusable reward model/);
    expect(svgs[0].marks.length, 'points for dm, ips and the long name').toBe(3);
  });

  it('huge normalised values', async () => {
    const run = evaluation([entry('ips', 7.3e6, [1e5, 2.2e7]), entry('dm', 2.05, [1.9, 2.2])]);
    const page = await browser.open(renderReportHtml(run), { width: 1024, height: 1400 });
    const svgs = await layout(page);
    expect(svgs.length).toBe(1);
    expect(layoutProblems(svgs[0])).toEqual([]);
  });
});
