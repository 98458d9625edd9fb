/**
 * `index.html` for a folder of reports (a `kairos ope` output folder, a quickstart run): one
 * self-contained page (inline CSS, relative links, no scripts) that links every report with a
 * line on what it found, so a person opens one file and finds the rest.
 *
 * @example
 * writeReportIndex('runs/quickstart', 'Quickstart', [
 *   { heading: 'AdsSupply-v0', entries: [{ href: 'AdsSupply-v0/round1/ope/report.html', title: 'offline cql', detail: 'DR 1.97', status: 'ok' }] },
 * ]);
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './evaluate.js';

/** One linked report. */
export interface ReportIndexEntry {
  /** Link relative to the index's folder. */
  href: string;
  title: string;
  /** One line: what the report found. */
  detail?: string;
  /** Colours the line: `warn` for weak support, `failed` for failed estimates. */
  status?: 'ok' | 'warn' | 'failed';
}

/** A group of links under a heading. */
export interface ReportIndexSection {
  heading: string;
  entries: ReportIndexEntry[];
}

/** Escapes text for HTML element content and attribute values. */
export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The index page; `intro` is plain text (escaped). */
export function renderReportIndex(title: string, sections: ReportIndexSection[], intro = ''): string {
  const body = sections
    .map((sec) => {
      const items = sec.entries
        .map((e) => {
          const cls = e.status ? ` class="${e.status}"` : '';
          const detail = e.detail ? ` <span${cls}>${escapeHtml(e.detail)}</span>` : '';
          return `<li><a href="${escapeHtml(encodeURI(e.href))}">${escapeHtml(e.title)}</a>${detail}</li>`;
        })
        .join('\n');
      return `<h2>${escapeHtml(sec.heading)}</h2>\n<ul>\n${items}\n</ul>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
body{font:14px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:60rem;color:#1d2330;padding:0 1rem}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.5rem}li{margin:.2rem 0}a{color:#2b6cb0}
.ok{color:#22663a}.warn{color:#9a5b00}.failed{color:#b42318;font-weight:600}
</style></head><body>
<h1>${escapeHtml(title)}</h1>
${intro ? `<p>${escapeHtml(intro)}</p>\n` : ''}${body}
</body></html>
`;
}

/** Writes `index.html` into `dir` (created if needed) atomically; returns its path. */
export function writeReportIndex(dir: string, title: string, sections: ReportIndexSection[], intro = ''): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'index.html');
  writeFileAtomic(path, renderReportIndex(title, sections, intro));
  return path;
}
