/**
 * The forest plot's layout logic without a browser: 1-2-5 steps, exact tick values, tick labels,
 * the tick-label collision rule, text widths and truncation, and the SVG it writes. The layout
 * as Chromium draws it: report-layout.test.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  TICK_LABEL_GAP,
  chooseAxis,
  coarserStep,
  formatTicks,
  niceStep,
  renderForestPlot,
  stepValue,
  textWidth,
  ticksFor,
  truncateText,
  type Axis,
} from '../../src/data/report-chart.js';

/** Gaps between neighbouring labelled ticks (label boxes centred at labelCentres). */
function labelGaps(axis: Axis): number[] {
  const boxes = axis.labels
    .map((l, i) => ({ l, c: axis.labelCentres[i], w: textWidth(l) }))
    .filter((b) => b.l !== '')
    .map((b) => [b.c - b.w / 2, b.c + b.w / 2]);
  return boxes.slice(1).map((b, i) => b[0] - boxes[i][1]);
}

describe('niceStep and coarserStep', () => {
  it('picks the smallest 1-2-5 step with at most maxTicks intervals', () => {
    expect(niceStep(1, 10)).toEqual({ m: 1, k: -1 });
    expect(niceStep(3.9, 8)).toEqual({ m: 5, k: -1 }); // 0.4875 → 0.5
    expect(niceStep(1.5, 8)).toEqual({ m: 2, k: -1 }); // 0.1875 → 0.2
    expect(niceStep(10, 10)).toEqual({ m: 1, k: 0 }); // an exact power of ten stays
    expect(niceStep(0.3, 3)).toEqual({ m: 1, k: -1 }); // 0.3 / 3 = 0.0999… in floating point
    expect(niceStep(8.9e7, 8)).toEqual({ m: 2, k: 7 });
    expect(niceStep(4.5e-6, 8)).toEqual({ m: 1, k: -6 });
  });

  it('rejects an empty or non-finite span', () => {
    expect(() => niceStep(0, 5)).toThrow(/span/);
    expect(() => niceStep(NaN, 5)).toThrow(/span/);
    expect(() => niceStep(Infinity, 5)).toThrow(/span/);
  });

  it('coarsens 1 → 2 → 5 → 10', () => {
    const seq = [{ m: 1 as const, k: -1 }];
    for (let i = 0; i < 4; i++) seq.push(coarserStep(seq[seq.length - 1]) as (typeof seq)[number]);
    expect(seq.map(stepValue)).toEqual([0.1, 0.2, 0.5, 1, 2]);
  });

  it('property: the step covers the span in at most maxTicks intervals and the next finer one does not', () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-9, max: 1e12, noNaN: true }), fc.integer({ min: 1, max: 20 }), (span, maxTicks) => {
        const s = niceStep(span, maxTicks);
        expect([1, 2, 5]).toContain(s.m);
        expect(span / stepValue(s)).toBeLessThanOrEqual(maxTicks * (1 + 1e-9));
        const finer = s.m === 1 ? { m: 5 as const, k: s.k - 1 } : s.m === 2 ? { m: 1 as const, k: s.k } : { m: 2 as const, k: s.k };
        expect(span / stepValue(finer)).toBeGreaterThan(maxTicks * (1 - 1e-9));
      }),
    );
  });
});

describe('ticksFor', () => {
  it('covers [lo, hi] with exact decimal multiples of the step', () => {
    expect(ticksFor(0.1, 0.3, { m: 1, k: -1 })).toEqual([0.1, 0.2, 0.3]);
    expect(ticksFor(0.95, 3.1, { m: 5, k: -1 })).toEqual([0.5, 1, 1.5, 2, 2.5, 3, 3.5]);
    expect(ticksFor(-2.1, 0.999, { m: 5, k: -1 })).toEqual([-2.5, -2, -1.5, -1, -0.5, 0, 0.5, 1]);
    expect(ticksFor(1.1e6, 8.9e7, { m: 2, k: 7 })).toEqual([0, 2e7, 4e7, 6e7, 8e7, 1e8]);
    expect(ticksFor(1.2e-6, 5.7e-6, { m: 1, k: -6 })).toEqual([1e-6, 2e-6, 3e-6, 4e-6, 5e-6, 6e-6]);
  });
});

describe('formatTicks', () => {
  it('uses as many decimals as the step needs', () => {
    expect(formatTicks([0.5, 1, 1.5], { m: 5, k: -1 })).toEqual(['0.5', '1.0', '1.5']);
    expect(formatTicks([0.995, 1, 1.005], { m: 5, k: -3 })).toEqual(['0.995', '1.000', '1.005']);
    expect(formatTicks([0, 200, 400], { m: 2, k: 2 })).toEqual(['0', '200', '400']);
  });

  it('writes negatives with a minus sign and zero as 0', () => {
    expect(formatTicks([-1, -0.5, 0, 0.5], { m: 5, k: -1 })).toEqual(['−1.0', '−0.5', '0', '0.5']);
  });

  it('writes huge and tiny ticks as m×10ⁿ', () => {
    expect(formatTicks([0, 2e7, 1e8, 1.2e8], { m: 2, k: 7 })).toEqual(['0', '2×10⁷', '1×10⁸', '1.2×10⁸']);
    expect(formatTicks([1e7, 1.5e7], { m: 5, k: 6 })).toEqual(['1×10⁷', '1.5×10⁷']);
    expect(formatTicks([1e-6, 2e-6], { m: 1, k: -6 })).toEqual(['1×10⁻⁶', '2×10⁻⁶']);
    expect(formatTicks([-2e7, 0], { m: 2, k: 7 })).toEqual(['−2×10⁷', '0']);
  });

  it('gives distinct labels to distinct ticks', () => {
    fc.assert(
      fc.property(fc.double({ min: -1e9, max: 1e9, noNaN: true }), fc.double({ min: 1e-7, max: 1e9, noNaN: true }), fc.integer({ min: 2, max: 12 }), (lo, span, n) => {
        // Spans far below floating-point resolution at lo's magnitude have no distinct ticks.
        fc.pre(span > Math.abs(lo) * 1e-9);
        const step = niceStep(span, n);
        const ticks = ticksFor(lo, lo + span, step);
        const labels = formatTicks(ticks, step);
        expect(new Set(labels).size).toBe(ticks.length);
      }),
    );
  });
});

describe('chooseAxis: the tick-label collision rule', () => {
  it('keeps the fine step when its labels fit', () => {
    const axis = chooseAxis(1, 3.9, 100, 624);
    expect(axis.step).toEqual({ m: 5, k: -1 });
    expect(axis.domain).toEqual([1, 4]);
    expect(axis.labels).toEqual(['1.0', '1.5', '2.0', '2.5', '3.0', '3.5', '4.0']);
    expect(axis.positions[0]).toBe(100);
    expect(axis.positions[axis.positions.length - 1]).toBe(624);
  });

  it('moves to a coarser step when neighbouring labels would collide', () => {
    // 9 ticks of "N×10⁷" do not fit 220 px; every second one does.
    const wide = chooseAxis(1.1e6, 8.9e7, 50, 624);
    const narrow = chooseAxis(1.1e6, 8.9e7, 50, 270);
    expect(stepValue(narrow.step)).toBeGreaterThan(stepValue(wide.step));
    for (const axis of [wide, narrow]) {
      expect(axis.labels.every((l) => l !== '')).toBe(true);
      expect(Math.min(...labelGaps(axis))).toBeGreaterThanOrEqual(TICK_LABEL_GAP);
    }
  });

  it('keeps labels inside the bounds by moving the end ones inward', () => {
    const axis = chooseAxis(0, 9e7, 40, 624, { bounds: [2, 638] });
    const last = axis.labels.length - 1;
    expect(axis.labelCentres[last] + textWidth(axis.labels[last]) / 2).toBeLessThanOrEqual(638);
    expect(axis.labelCentres[last]).toBeLessThan(axis.positions[last]);
    expect(axis.labelCentres[0]).toBe(axis.positions[0]);
  });

  it('widens an empty range around its value', () => {
    const axis = chooseAxis(1, 1, 0, 500);
    expect(axis.domain[0]).toBeLessThan(1);
    expect(axis.domain[1]).toBeGreaterThan(1);
    expect(chooseAxis(0, 0, 0, 500).domain[0]).toBeLessThanOrEqual(-1);
  });

  it('on an absurdly narrow axis drops labels rather than overlap them', () => {
    const axis = chooseAxis(0.123456, 0.123457, 0, 30);
    expect(axis.labels[0]).not.toBe('');
    expect(labelGaps(axis).every((g) => g >= TICK_LABEL_GAP)).toBe(true);
  });

  it('property: ticks cover the data, on one 1-2-5 step, and labels never come closer than the gap', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -1e8, max: 1e8, noNaN: true }),
        fc.double({ min: 1e-6, max: 1e8, noNaN: true }),
        fc.integer({ min: 80, max: 1200 }),
        (lo, span, px) => {
          fc.pre(span > Math.abs(lo) * 1e-9);
          const hi = lo + span;
          const axis = chooseAxis(lo, hi, 40, 40 + px, { bounds: [2, 56 + px] });
          // Within 1e-9 of a step (and rounding at lo's magnitude): ticksFor's tolerance for
          // floating-point noise in lo / step.
          const eps = stepValue(axis.step) * 1e-9 + Math.max(Math.abs(lo), Math.abs(hi)) * 1e-14;
          expect(axis.domain[0]).toBeLessThanOrEqual(lo + eps);
          expect(axis.domain[1]).toBeGreaterThanOrEqual(hi - eps);
          expect(axis.ticks.length).toBeGreaterThanOrEqual(2);
          expect(labelGaps(axis).every((g) => g >= TICK_LABEL_GAP)).toBe(true);
          axis.labels.forEach((l, i) => {
            if (!l) return;
            expect(axis.labelCentres[i] - textWidth(l) / 2).toBeGreaterThanOrEqual(2 - 1e-9);
            expect(axis.labelCentres[i] + textWidth(l) / 2).toBeLessThanOrEqual(56 + px + 1e-9);
          });
        },
      ),
    );
  });
});

describe('textWidth and truncateText', () => {
  it('measures with per-character widths, wide characters at 1 em', () => {
    expect(textWidth('')).toBe(0);
    expect(textWidth('iii')).toBeLessThan(textWidth('mmm'));
    expect(textWidth('漢', 10)).toBeCloseTo(10.5);
    expect(textWidth('ab', 24)).toBeCloseTo(2 * textWidth('ab', 12));
  });

  it('truncates with an ellipsis to fit, keeping short text whole', () => {
    expect(truncateText('dr', 100)).toBe('dr');
    const long = 'clipped-ips(λ=10) with a very long name';
    const t = truncateText(long, 80);
    expect(t.endsWith('…')).toBe(true);
    expect(textWidth(t)).toBeLessThanOrEqual(80);
    expect(textWidth(truncateText(long, 81) + 'x')).toBeGreaterThan(0);
    expect(long.startsWith(t.slice(0, -1))).toBe(true);
    expect(truncateText(long, 1)).toBe('…');
  });
});

describe('renderForestPlot', () => {
  const ref = { value: 1, label: '1 = logging policy' };

  it('is empty without rows', () => {
    expect(renderForestPlot([], { xLabel: 'x' })).toBe('');
  });

  it('names the reference and truth lines in the legend, not among the tick labels', () => {
    const svg = renderForestPlot([{ label: 'dr', value: 1.02, lower: 0.9, upper: 1.1 }], {
      reference: ref,
      truth: { value: 1.05, label: 'truth' },
      xLabel: 'normalised value',
    });
    expect(svg.startsWith('<svg')).toBe(true);
    // Self-contained: no script, link or URL (report.html is checked for the same).
    expect(svg).not.toMatch(/<script|<link|src=|href=|https?:/);
    expect(svg).toContain('class="kf-ref"');
    expect(svg).toContain('class="kf-truth"');
    const ticks = [...svg.matchAll(/<text[^>]*class="kf-tick"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    expect(ticks.length).toBeGreaterThanOrEqual(2);
    expect(ticks.some((t) => t.includes('logging') || t.includes('truth'))).toBe(false);
    expect(svg).toContain('>1 = logging policy</text>');
    expect(svg).toContain('>truth</text>');
    expect(svg).toContain('>normalised value</text>');
  });

  it('draws a failed or non-finite row as "failed: reason" text, with no point', () => {
    const svg = renderForestPlot(
      [
        { label: 'dm', value: 1.1 },
        { label: 'magic', value: 1.2, failed: 'bootstrap diverged' },
        { label: 'wdr', value: NaN },
        { label: 'is', value: 1e308 },
        { label: 'dr', value: 0.9, lower: -Infinity, upper: 1e6 },
      ],
      { reference: ref, xLabel: 'x' },
    );
    expect(svg).toContain('>failed: bootstrap diverged</text>');
    expect(svg).toContain('>failed: value is NaN</text>');
    expect(svg).toContain('>failed: value 1e+308 is too large to plot</text>');
    expect(svg.match(/<circle/g)?.length).toBe(2);
    // dr's interval has an infinite end: no whisker, and 1e6 does not stretch the axis.
    expect(svg).not.toContain('class="kf-ci"');
    expect(svg).not.toContain('10⁶');
  });

  it('escapes labels and truncates long ones with the full text as a <title>', () => {
    const long = '<script>alert(1)</script> & a name far too long for any gutter of a 640 pixel chart';
    const svg = renderForestPlot([{ label: long, value: 1 }], { xLabel: 'x' });
    expect(svg).not.toContain('<script>');
    expect(svg).toContain('<title>&#60;script&#62;alert(1)&#60;/script&#62; &#38; a name far too long');
    expect(svg).toMatch(/…<\/text>/);
  });

  it('sizes the label gutter to the longest label', () => {
    const gutter = (label: string) => {
      const svg = renderForestPlot([{ label, value: 1 }], { xLabel: 'x' });
      return Number(/<line class="kf-axis" x1="([\d.]+)"/.exec(svg)![1]);
    };
    expect(gutter('dr')).toBe(48);
    expect(gutter('weighted-per-decision-is')).toBeGreaterThan(gutter('dr'));
    expect(gutter('x'.repeat(200))).toBeLessThanOrEqual(640 * 0.4 + 1);
  });
});
