/**
 * A real browser for layout tests: Debian's Chromium driven by playwright-core (which never
 * downloads a browser of its own). One launch per test file: call {@link useBrowser} at the top
 * level of the file; it launches in beforeAll and closes the browser (and every page it opened)
 * in afterAll.
 *
 * A test that needs the browser fails loudly when Chromium cannot be launched (every open()
 * throws the launch error); it is never skipped. Install it with `apt-get install chromium` (.ci/run does this on a fresh machine), or
 * point KAIROS_CHROMIUM at another Chromium/Chrome binary.
 *
 * @example
 * const browser = useBrowser();
 * it('lays out', async () => {
 *   const page = await browser.open('<!doctype html><p>hi</p>');
 *   expect(await page.textContent('p')).toBe('hi');
 * });
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';

/** The Chromium binary the layout tests drive. */
export const CHROMIUM_PATH = process.env.KAIROS_CHROMIUM ?? '/usr/bin/chromium';

export interface BrowserHandle {
  /**
   * The file's page showing `html` (a complete document or a fragment), after its load event.
   * One tab serves the whole file (a new tab costs about half a second): each call replaces what
   * the previous one showed, so finish with a page before opening the next.
   */
  open(html: string, viewport?: { width: number; height: number }): Promise<Page>;
  /** The file's page showing the HTML file at `path`; see {@link BrowserHandle.open}. */
  openFile(path: string, viewport?: { width: number; height: number }): Promise<Page>;
}

const DEFAULT_VIEWPORT = { width: 1024, height: 800 };

/** Launches Chromium once for the calling test file; see the module comment. */
export function useBrowser(): BrowserHandle {
  let browser: Browser | undefined;
  let page: Page | undefined;
  // A launch failure is kept and thrown by every open(), so each test that needs the browser
  // fails with it (a throwing beforeAll would only mark the tests skipped).
  let launchError: Error | undefined;
  beforeAll(async () => {
    if (!existsSync(CHROMIUM_PATH)) {
      launchError = new Error(
        `browser tests need Chromium at ${CHROMIUM_PATH}, which does not exist: install it (apt-get install chromium) or set KAIROS_CHROMIUM to a Chromium binary`,
      );
      return;
    }
    try {
      browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ['--no-sandbox'], timeout: 30_000 });
    } catch (err) {
      launchError = new Error(`browser tests cannot launch Chromium at ${CHROMIUM_PATH}: ${(err as Error).message}`);
    }
  });
  afterAll(async () => {
    await browser?.close();
  });
  const tab = async (viewport = DEFAULT_VIEWPORT): Promise<Page> => {
    if (launchError) throw launchError;
    if (!browser) throw new Error('useBrowser: Chromium is not running: call useBrowser() at the top level of the test file');
    if (!page || page.isClosed()) page = await browser.newPage({ viewport, deviceScaleFactor: 1 });
    else await page.setViewportSize(viewport);
    return page;
  };
  return {
    async open(html, viewport) {
      const p = await tab(viewport);
      await p.setContent(html, { waitUntil: 'load' });
      return p;
    },
    async openFile(path, viewport) {
      const p = await tab(viewport);
      await p.goto(pathToFileURL(resolve(path)).href, { waitUntil: 'load' });
      return p;
    },
  };
}
