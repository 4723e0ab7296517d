import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { renderReport, pickProgression, PROGRESSION_STEPS } from '../../src/pipeline/report.js';
import { tempDir } from '../helpers/env.js';
import { writeFixturePipeline, FIXTURE_CLASSES } from './fixture.js';
import { checkReportInChromium, assertChromium } from './browser.js';

const tmp = tempDir('cellgan-report-');
afterAll(() => tmp.cleanup());

const ALL_CHARTS = ['class-counts', 'loss', 'discriminator', 'collapse', 'scores', 'confusion-baseline', 'confusion-gan_train', 'confusion-gan_test', 'fid', 'kid', 'precision-recall', 'export'];

/** The chart's SVG, decoded from its data: URI. */
function svgOf(html: string, name: string): string {
  const m = new RegExp(`data-chart="${name}"><img alt="[^"]*" src="data:image/svg\\+xml;base64,([^"]+)"`).exec(html);
  expect(m, name).not.toBeNull();
  return Buffer.from(m![1], 'base64').toString('utf8');
}

describe('report.html', () => {
  it('is one self-contained file: no src/href pointing anywhere but data: URIs and in-page anchors', async () => {
    const dir = path.join(tmp.dir, 'full');
    await writeFixturePipeline(dir);
    const r = await renderReport({ dir });
    expect(r.file).toBe(path.join(dir, 'report.html'));
    const html = await fs.readFile(r.file, 'utf8');
    const refs = [...html.matchAll(/\b(?:src|href)\s*=\s*"([^"]*)"/g)].map((m) => m[1]);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) expect(ref.startsWith('data:') || ref.startsWith('#'), ref.slice(0, 60)).toBe(true);
    expect(html).not.toMatch(/<script|<link|@import|url\(http/i);
    expect(r.sections.every((s) => s.available), JSON.stringify(r.sections)).toBe(true);
    expect(r.charts).toBe(ALL_CHARTS.length);
    // the fixture's content shows up, not just the headings
    expect(html).toContain('eosinophil/c.jpg = basophil/d.jpg');
    expect(html).toMatch(/75\.0%/);
    expect(html).toMatch(/The alarm fired \d+ time/);
    // Memorisation: the rate and the closest pairs side by side (synthetic beside its nearest real image), the flagged one marked.
    expect(html).toContain('<h2 id="memorization">');
    expect(html).toContain('Flagged: 1 of 12 (8.3%)');
    const pairs = [...html.matchAll(/<figure class="closest-pair( flagged)?"><img [^>]*src="data:image\/png;base64,([^"]+)"[^>]*><figcaption>([^<]*)/g)];
    expect(pairs.map((p) => [Boolean(p[1]), p[3]])).toEqual([
      [true, expect.stringMatching(/^basophil\/000000\.png ≈ basophil\/\S+$/)],
      [false, expect.stringMatching(/^eosinophil\/000003\.png ≈ eosinophil\/\S+$/)],
    ]);
    // Each pair is one PNG two cells wide (32 px cells, 2 px gaps): the real image is there, not only the synthetic one.
    for (const p of pairs) expect(Buffer.from(p[2], 'base64').readUInt32BE(16)).toBe(2 * 32 + 3 * 2);
  });

  it('reads like figures: a score chart with CI bars and chance, D and G on their own axes, one distance warning, KID ×10³, the environment, no nulls', async () => {
    const html = await fs.readFile(path.join(tmp.dir, 'full', 'report.html'), 'utf8');
    const svg = (name: string) => svgOf(html, name);
    // Two classes: chance is 50%; GAN-train's CI [40%, 60%] reaches it, the others' do not.
    const scores = svg('scores');
    expect(scores).toContain('chance 50.0%');
    for (const m of ['baseline', 'gan-train', 'gan-test']) expect(scores).toContain(`>${m}<`);
    expect(scores).toContain('>75.0%<');
    expect([...html.matchAll(/class="at-chance"><strong>([^<]+)</g)].map((m) => m[1])).toEqual(['gan-train is at chance level:']);
    // One panel per network, each with its own y axis (two y-axis titles "loss").
    const loss = svg('loss');
    expect(loss).toContain('>discriminator<');
    expect(loss).toContain('>generator<');
    expect(loss.match(/>loss</g)?.length).toBe(2);
    // The same small-sample warning for both classes is said once.
    expect(html.match(/fewer samples than feature dimensions/g)).toHaveLength(1);
    expect(html).toContain('Note for every class: fewer samples than feature dimensions: the covariance is singular');
    expect(html).toContain('KID ×10³');
    expect(html).toContain('50.00 ± 10.00'); // kid 0.05 ± 0.01
    expect(html).toContain('wasm (@tensorflow/tfjs-backend-wasm, tfjs 4.22.0)');
    expect(html).toContain('Fixture CPU 3000 × 2 (linux-x64)');
    expect(html).not.toMatch(/<code>null<\/code>/);
    expect(html).not.toMatch(/<th>labels<\/th>/);
  });

  it('shows the training grids as a progression (first to last, evenly spread) beside the reals', async () => {
    expect(pickProgression([0, 20, 40, 60, 80, 100], 5)).toEqual([0, 20, 60, 80, 100]);
    expect(pickProgression([500, 0, 250], 5)).toEqual([0, 250, 500]);
    expect(pickProgression(Array.from({ length: 41 }, (_, i) => i * 250), 5)).toEqual([0, 2500, 5000, 7500, 10000]);
    expect(pickProgression([3, 7], 1)).toEqual([7]);
    const html = await fs.readFile(path.join(tmp.dir, 'full', 'report.html'), 'utf8');
    const figs = [...html.matchAll(/<figure data-iteration="([^"]+)"><figcaption>([^<]+)<\/figcaption><img class="grid" alt="([^"]+)"/g)];
    expect(figs.map((m) => m[1])).toEqual(['0', '20', '60', '80', '100', 'real']);
    expect(figs.map((m) => m[2])).toEqual(['iteration 0', 'iteration 20', 'iteration 60', 'iteration 80', 'iteration 100', 'real training images']);
    expect(PROGRESSION_STEPS).toBe(5);
    // The grids are the run's own PNG files, class names and all (as a user opening grids/ sees them).
    const m = /<figure data-iteration="100"><figcaption>[^<]*<\/figcaption><img class="grid" alt="[^"]*" src="data:image\/png;base64,([^"]+)"/.exec(html)!;
    const shown = Buffer.from(m[1], 'base64');
    expect(Buffer.compare(shown, await fs.readFile(path.join(tmp.dir, 'full', 'train', 'grids', '00000100.png')))).toBe(0);
    expect((await sharp(shown).metadata()).width).toBeGreaterThan(4 * 32 + 5 * 2); // the class-name strip
  });

  it('puts a real-vs-real FID beside each synthetic FID, at the same n, and charts only what has a value', async () => {
    const html = await fs.readFile(path.join(tmp.dir, 'full', 'report.html'), 'utf8');
    expect(html).toContain('<th>FID at n: synthetic</th><th>FID at n: real vs real</th><th>n</th>');
    // basophil: 120 (n = all 6 synthetic) vs 80; eosinophil: 125.5 at n = 6 (of 7 synthetic) vs 85.
    expect(html).toContain('<tr><td>basophil</td><td>120</td><td>120</td><td>80</td><td>6</td>');
    expect(html).toContain('<tr><td>eosinophil</td><td>130</td><td>125.50</td><td>85</td><td>6</td>');
    expect(html).toContain('same real train images against <em>n</em> real test images');
    const fid = svgOf(html, 'fid');
    expect(fid).toContain('>real vs real<');
    expect(fid).toContain('>synthetic<');
    for (const v of ['120', '125.5', '80', '85']) expect(fid, v).toContain(`>${v}<`);
    expect(svgOf(html, 'precision-recall')).toContain('>recall<');

    // Without a reference (older distances.json) and with precision/recall all 0: no empty charts, a sentence instead.
    const dir = path.join(tmp.dir, 'no-reference');
    await writeFixturePipeline(dir);
    const file = path.join(dir, 'score', 'distances.json');
    const d = JSON.parse(await fs.readFile(file, 'utf8'));
    delete d.reference_subset;
    for (const c of FIXTURE_CLASSES) { delete d.classes[c].reference; d.classes[c].precision = 0; d.classes[c].recall = 0; }
    await fs.writeFile(file, JSON.stringify(d));
    const r = await renderReport({ dir });
    const plain = await fs.readFile(r.file, 'utf8');
    expect(plain).toContain('No real-vs-real reference FID');
    expect(plain).not.toContain('FID at n');
    expect(plain).toContain('data-no-chart="precision-recall">precision and recall: 0 for every class, so no chart.');
    expect(plain).not.toContain('data-chart="precision-recall"');
    expect(svgOf(plain, 'fid')).not.toContain('real vs real');
    expect(r.charts).toBe(ALL_CHARTS.length - 1);
    const check = await checkReportInChromium(r.file);
    expect(check.consoleErrors).toEqual([]);
    expect(check.broken).toEqual([]);
    expect(check.charts.sort()).toEqual(ALL_CHARTS.filter((c) => c !== 'precision-recall').sort());
  });

  it('renders in headless Chromium: every image loads, every chart is present, no console errors, no requests', async () => {
    assertChromium(); // fails (not skips) when Chromium is missing
    const dir = path.join(tmp.dir, 'full');
    const check = await checkReportInChromium(path.join(dir, 'report.html'));
    expect(check.requests).toEqual([]);
    expect(check.consoleErrors).toEqual([]);
    expect(check.broken).toEqual([]);
    // real and synthetic grid per class (2 × 2), the training progression (5 grids and the reals),
    // one image per closest memorisation pair (synthetic beside real; the fixture has 2), and every chart
    expect(check.images).toBe(4 + 6 + 2 + ALL_CHARTS.length);
    expect(check.charts.sort()).toEqual([...ALL_CHARTS].sort());
    expect(check.progression).toEqual({ conditional: ['0', '20', '60', '80', '100', 'real'] });
    expect(check.distanceColumns).toEqual(['class', 'FID', 'FID at n: synthetic', 'FID at n: real vs real', 'n', 'KID ×10³ (± std)', 'precision', 'recall', 'real', 'synthetic']);
    expect(check.sectionIds).toEqual(expect.arrayContaining(['overview', 'dataset', 'samples', 'training', 'scores', 'memorization', 'distances', 'export']));
    expect(check.missingNotes).toEqual([]);
  });

  it('renders from whatever stages completed and says what is missing', async () => {
    const dir = path.join(tmp.dir, 'partial');
    await writeFixturePipeline(dir, { omit: ['train', 'generate', 'score', 'export'] });
    const r = await renderReport({ dir });
    const available = Object.fromEntries(r.sections.map((s) => [s.id, s.available]));
    expect(available).toMatchObject({ dataset: true, samples: false, training: false, scores: false, memorization: false, distances: false, export: false });
    const check = await checkReportInChromium(r.file);
    expect(check.consoleErrors).toEqual([]);
    expect(check.broken).toEqual([]);
    expect(check.charts).toEqual(['class-counts']);
    expect(check.progression).toEqual({});
    expect(check.missingNotes.join('\n')).toMatch(/Not available: training statistics \(the train stage has not run\)/);
    expect(check.missingNotes.join('\n')).toMatch(/Not available: scores/);
    // real images still shown for each class even without synthetic ones
    expect(check.images).toBeGreaterThanOrEqual(1 + 2);
  });
});
