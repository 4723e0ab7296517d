/// <reference lib="dom" />
/**
 * Opens a report in Debian's headless Chromium (through playwright-core, no
 * browser download) and collects what a person opening it would hit: images
 * that did not load, missing charts, console errors and any network request.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export interface ReportCheck {
  images: number;
  /** <img> elements whose naturalWidth is 0 (did not decode), with their alt text. */
  broken: string[];
  /** data-chart names of the chart figures that hold a loaded image. */
  charts: string[];
  sectionIds: string[];
  /** Per training run (data-run), the data-iteration of each progression figure whose grid loaded. */
  progression: Record<string, string[]>;
  /** Text of the labels of the distances table's header. */
  distanceColumns: string[];
  missingNotes: string[];
  consoleErrors: string[];
  /** Requests for anything but the report file itself and data: URIs. */
  requests: string[];
  title: string;
}

export function assertChromium(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`the report test needs Debian's Chromium at ${CHROMIUM}; install it with: apt-get install -y chromium (.ci/run must do this too)`);
  }
}

export async function checkReportInChromium(file: string): Promise<ReportCheck> {
  assertChromium();
  const profile = mkdtempSync(path.join(os.tmpdir(), 'cellgan-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'], // the fresh profile folder is passed as userDataDir
    offline: true,
  });
  const url = pathToFileURL(file).href;
  const consoleErrors: string[] = [];
  const requests: string[] = [];
  try {
    const page = await context.newPage();
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
    page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
    // Any request other than the page itself is a failure; abort it so nothing leaves the machine.
    await context.route('**/*', (route) => {
      const u = route.request().url();
      if (u === url || u.startsWith('data:')) return route.continue();
      requests.push(u);
      return route.abort();
    });
    page.on('request', (r) => { const u = r.url(); if (u !== url && !u.startsWith('data:') && !requests.includes(u)) requests.push(u); });
    await page.goto(url, { waitUntil: 'load' });
    // Every image decodes asynchronously; wait until all have finished (loaded or failed).
    await page.waitForFunction(() => Array.from(document.images).every((i) => i.complete), undefined, { timeout: 30_000 });
    const info = await page.evaluate(() => ({
      images: document.images.length,
      broken: Array.from(document.images).filter((i) => !(i.naturalWidth > 0)).map((i) => i.alt || i.src.slice(0, 40)),
      charts: Array.from(document.querySelectorAll('figure.chart')).filter((f) => {
        const img = f.querySelector('img');
        return img && img.naturalWidth > 0 && img.naturalHeight > 0;
      }).map((f) => f.getAttribute('data-chart') ?? ''),
      sectionIds: Array.from(document.querySelectorAll('h2[id]')).map((h) => h.id),
      progression: Object.fromEntries(Array.from(document.querySelectorAll('.progression')).map((div) => [div.getAttribute('data-run') ?? '',
        Array.from(div.querySelectorAll('figure')).filter((f) => { const img = f.querySelector('img'); return img && img.naturalWidth > 0; }).map((f) => f.getAttribute('data-iteration') ?? '')])),
      distanceColumns: Array.from(document.querySelectorAll('table.distances thead th')).map((th) => th.textContent ?? ''),
      missingNotes: Array.from(document.querySelectorAll('.missing')).map((p) => p.textContent ?? ''),
      title: document.title,
    }));
    return { ...info, consoleErrors, requests };
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}
