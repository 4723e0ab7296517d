/**
 * Issue #8's bad-input corpus through the dataset layer and `cellgan inspect`:
 * every case is either handled or reported as file + reason in one line, no
 * stack traces, and the input folder is left exactly as it was.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CellganError } from '../../src/util/errors.js';
import { decodeImage, decodeImages, inspect, loadDataset, type InspectReport } from '../../src/data/index.js';
import { runCli, tempDir, type CliResult } from '../helpers/env.js';
import { buildCorpus, CASES, hashTree, READABLE, UNREADABLE } from './corpus.js';

const tmp = tempDir('cellgan-data-bad-');
let root: string;
let treeBefore: string;
let outsideBefore: string;

beforeAll(async () => {
  root = await buildCorpus(tmp.dir);
  treeBefore = await hashTree(root);
  outsideBefore = await hashTree(path.join(tmp.dir, 'outside'));
});

afterAll(async () => {
  // Nothing was written into the data or beside it, whatever ran above.
  expect(await hashTree(root)).toBe(treeBefore);
  expect(await hashTree(path.join(tmp.dir, 'outside'))).toBe(outsideBefore);
  expect((await fs.readdir(tmp.dir)).sort()).toEqual(['data', 'outside']);
  tmp.cleanup();
});

const reasonOf = (list: { file: string; reason: string }[], file: string) => list.find((p) => p.file === file)?.reason;

describe('scanning an ImageFolder full of bad input', () => {
  it('lists what it skipped, each with a one-line reason, and never follows a link out of the root', async () => {
    const ds = await loadDataset(root);
    const files = ds.items.map((i) => i.file);
    expect(files).toEqual(expect.arrayContaining([...READABLE, ...UNREADABLE]));
    expect(files).not.toContain(CASES.linkOut);
    expect(files).not.toContain(CASES.hidden);
    expect(files).not.toContain(CASES.psd);
    expect(ds.classes).toEqual(['Zellen mit Ümlaut é', 'good']); // the empty class is left out
    expect(reasonOf(ds.skipped, CASES.linkOut)).toMatch(/outside the data root; refused/);
    expect(reasonOf(ds.skipped, 'linked folder')).toMatch(/outside the data root; refused/);
    expect(reasonOf(ds.skipped, CASES.hidden)).toMatch(/hidden/);
    expect(reasonOf(ds.skipped, CASES.dsStore)).toMatch(/\.DS_Store/);
    expect(reasonOf(ds.skipped, '.DS_Store')).toMatch(/\.DS_Store/);
    expect(reasonOf(ds.skipped, CASES.emptyClass)).toMatch(/empty class folder/);
    expect(reasonOf(ds.skipped, CASES.psd)).toBe('unsupported format (PSD); convert it to PNG, JPEG, WebP, TIFF, GIF or BMP');
    expect(reasonOf(ds.skipped, 'good/notes.txt')).toMatch(/not an image file \(extension \.txt\)/);
    for (const p of ds.skipped) expect(p.reason).not.toMatch(/\n/);
    const unicode = ds.items.find((i) => i.file === CASES.unicode)!;
    expect(unicode.label).toBe('Zellen mit Ümlaut é');
    expect(unicode.abs).toBe(path.join(root, CASES.unicode));
  });

  it('inspect reports each unreadable file with its reason, converts the odd-but-valid ones, finds duplicates and the conflict', async () => {
    const r = await inspect(root, { minCount: 5 });
    const unreadable = Object.fromEntries(r.unreadable.map((p) => [p.file, p.reason]));
    expect(Object.keys(unreadable).sort()).toEqual([...UNREADABLE].sort());
    expect(unreadable[CASES.zeroByte]).toMatch(/empty file \(0 bytes\)/);
    expect(unreadable[CASES.truncatedJpeg]).toMatch(/truncated JPEG/);
    expect(unreadable[CASES.textAsPng]).toMatch(/not an image/);
    expect(unreadable[CASES.psdNamedJpg]).toMatch(/^unsupported format \(PSD\)/);
    expect(unreadable[CASES.bomb]).toMatch(/50000×50000 pixels, over the 100,000,000-pixel limit/);
    expect(r.colour).toMatchObject({ 'cmyk 8-bit': 1, 'rgb16 16-bit': 1, 'b-w 8-bit': 1, 'srgb 8-bit+alpha': 1 });
    expect(r.tiny.map((t) => t.file)).toEqual([CASES.onePixel]);
    expect(r.duplicates).toEqual([[CASES.conflictB, CASES.conflictA], [CASES.sameClassDupA, CASES.sameClassDupB]]);
    expect(r.conflicts).toEqual([{ files: [CASES.conflictB, CASES.conflictA], classes: ['Zellen mit Ümlaut é', 'good'] }]);
    expect(r.classes).toEqual({ 'Zellen mit Ümlaut é': 2, good: r.images - 2 });
    expect(r.underMinCount).toEqual([{ class: 'Zellen mit Ümlaut é', count: 2 }]);
  });

  it('decodes grayscale, RGBA, CMYK, 16-bit and 1×1 images to RGB in [-1, 1]', async () => {
    const px = async (rel: string) => decodeImage(path.join(root, rel), 4);
    const rgb = (a: Float32Array, i = 0) => [a[i * 3], a[i * 3 + 1], a[i * 3 + 2]].map((v) => Math.round((v + 1) * 127.5));
    const cmyk = await px(CASES.cmyk); // made from RGB (220, 20, 20)
    expect(rgb(cmyk)[0]).toBeGreaterThan(180); expect(rgb(cmyk)[1]).toBeLessThan(60);
    expect(rgb(await px(CASES.png16))).toEqual([10, 200, 10].map(() => expect.any(Number)));
    const g16 = rgb(await px(CASES.png16)); expect(Math.abs(g16[1] - 200)).toBeLessThanOrEqual(2); expect(g16[0]).toBeLessThan(20);
    expect(rgb(await px(CASES.gray))).toEqual([128, 128, 128]);
    const rgba = await px(CASES.rgba); // left half opaque blue, right half transparent → white
    expect(rgb(rgba, 0)).toEqual([0, 0, 255]);
    expect(rgb(rgba, 3)).toEqual([255, 255, 255]);
    const one = await px(CASES.onePixel);
    expect(one.length).toBe(4 * 4 * 3);
    expect([...one].every((v) => v === -1)).toBe(true);
  });

  it('decoding fails exactly on the files a deep inspect calls unreadable, each with a one-line reason', async () => {
    const ds = await loadDataset(root);
    const batch = await decodeImages(ds.items, { size: 8, concurrency: 3 });
    const deep = await inspect(ds, { deep: true });
    expect(batch.failed.map((f) => f.file).sort()).toEqual(deep.unreadable.map((u) => u.file).sort());
    expect(batch.items.length + batch.failed.length).toBe(ds.items.length);
    expect(batch.data.length).toBe(batch.items.length * 8 * 8 * 3);
    expect(reasonOf(batch.failed, CASES.bomb)).toMatch(/pixel limit/);
    expect(reasonOf(batch.failed, CASES.psdNamedJpg)).toMatch(/^unsupported format \(PSD\)/);
    for (const f of batch.failed) expect(f.reason).not.toMatch(/\n/);
  });

  it('validates options up front', async () => {
    await expect(inspect(root, { minCount: -3 })).rejects.toThrow(/Expected an integer of at least 0 for --min-count but received -3/);
    await expect(loadDataset('')).rejects.toThrow(/Expected a non-empty string for data/);
  });

  it('refuses a missing or non-folder data path with a CellganError naming it', async () => {
    await expect(loadDataset(path.join(tmp.dir, 'nope'))).rejects.toThrow(CellganError);
    await expect(loadDataset(path.join(root, 'good/ok-0.jpg'))).rejects.toThrow(/ok-0\.jpg: expected a folder/);
    await expect(loadDataset(path.join(root, 'empty class'))).rejects.toThrow(/found no images/);
  });
});

describe('a labels CSV full of bad rows', () => {
  it('refuses ../ and absolute paths, links out of the root; reports duplicate, conflicting, empty, short and missing rows', async () => {
    const ds = await loadDataset(root, { labels: 'labels.csv' });
    expect(ds.source).toBe('csv');
    expect(ds.root).toBe(root);
    const files = ds.items.map((i) => i.file);
    expect(files).toEqual(['Zellen mit Ümlaut é/ñame with spaces 日本.png', 'good/ok-0.jpg', 'good/ok-1.jpg', 'good/ok-2.jpg', 'good/ok-3.jpg', 'good/text.png', 'good/truncated.jpg', 'good/with, comma.png']);
    expect(ds.items.find((i) => i.file === 'good/ok-3.jpg')!.label).toBe('other'); // the first row wins
    expect(ds.items.find((i) => i.file === 'good/ok-1.jpg')!.meta).toEqual({ patient: 'p1' });
    const s = ds.skipped;
    expect(reasonOf(s, '../outside/secret.jpg')).toMatch(/line 10: path leaves the data root/);
    expect(reasonOf(s, path.join(tmp.dir, 'outside/secret.jpg'))).toMatch(/line 11: absolute path refused/);
    expect(reasonOf(s, 'good/missing.jpg')).toMatch(/line 12: no such file/);
    expect(reasonOf(s, 'good/ok-2.jpg')).toMatch(/line 7: duplicate row \(same file as line 4\)/);
    expect(reasonOf(s, 'good/ok-3.jpg')).toMatch(/listed again with class "good" \(line 8 says "other"\)/);
    expect(reasonOf(s, 'good/ok-4.jpg')).toMatch(/empty class name/);
    expect(reasonOf(s, 'good/ok-5.jpg')).toMatch(/path separator/);
    expect(reasonOf(s, CASES.linkOut)).toMatch(/outside the data root; refused/);
    expect(reasonOf(s, 'labels.csv line 18')).toMatch(/expected 3 fields, found 2/);
    expect(reasonOf(s, 'linked folder/secret.jpg')).toMatch(/line 19: symbolic link points outside the data root; refused/);
  });

  it('finds a file whose name the CSV spells decomposed (NFD) and the disk composed (NFC), once', async () => {
    expect(CASES.unicode.normalize('NFD')).not.toBe(CASES.unicode);
    const ds = await loadDataset(root, { labels: 'labels-nfd.csv' });
    expect(ds.items.map((i) => i.file)).toEqual([CASES.unicode]);
    expect(ds.skipped).toEqual([{ file: CASES.unicode, reason: expect.stringMatching(/listed twice \(under two Unicode spellings\)/) }]);
  });

  it('inspect flags a CSV class that disagrees with the folder when the CSV otherwise follows <class>/<file>', async () => {
    const r = await inspect(root, { labels: 'labels.csv' });
    // 8 usable rows: 7 match their folder ("good/…" → good, the Ümlaut file → its class), good/ok-3.jpg says "other".
    expect(r.labelMismatches).toEqual([{ file: 'good/ok-3.jpg', reason: 'labelled "other" but lies in folder "good" (7 of 8 rows match their folder)' }]);
    const folder = await inspect(root);
    expect(folder.labelMismatches).toEqual([]);
  });

  it('a CSV missing a required column is an error naming the file and the column', async () => {
    const err = await loadDataset(root, { labels: 'labels-missing-column.csv' }).catch((e) => e);
    expect(err).toBeInstanceOf(CellganError);
    expect(err.message).toContain('labels-missing-column.csv');
    expect(err.message).toMatch(/missing required column "class"/);
  });
});

describe('cellgan inspect on the corpus (CLI)', () => {
  const noStack = (s: string) => expect(s).not.toMatch(/\n\s+at /);
  // CLI start-up dominates these tests, so the four runs start together.
  let json: CliResult, summary: CliResult, missing: CliResult, noClassColumn: CliResult;
  beforeAll(async () => {
    [json, summary, missing, noClassColumn] = await Promise.all([
      runCli(['inspect', root, '--json']),
      runCli(['inspect', root, '--labels', path.join(root, 'labels.csv')]),
      runCli(['inspect', path.join(tmp.dir, 'no-such-folder')]),
      runCli(['inspect', root, '--labels', path.join(root, 'labels-missing-column.csv'), '--json']),
    ]);
  });

  it('--json prints one JSON object with classes, unreadable, duplicates and conflicts; exit 0', () => {
    expect(json.code, json.stderr).toBe(0);
    noStack(json.stderr);
    const report = JSON.parse(json.stdout) as InspectReport;
    expect(report.classes.good).toBeGreaterThan(0);
    expect(report.unreadable.map((u) => u.file).sort()).toEqual([...UNREADABLE].sort());
    expect(report.duplicates).toContainEqual([CASES.sameClassDupA, CASES.sameClassDupB]);
    expect(report.conflicts).toEqual([{ files: [CASES.conflictB, CASES.conflictA], classes: ['Zellen mit Ümlaut é', 'good'] }]);
  });

  it('the summary names every problem file with its reason on one line', () => {
    expect(summary.code, summary.stderr).toBe(0);
    noStack(summary.stderr);
    for (const [file, reason] of [
      ['good/truncated.jpg', 'truncated JPEG'], ['good/text.png', 'not an image'], ['../outside/secret.jpg', 'leaves the data root'],
      ['good/missing.jpg', 'no such file'], [CASES.linkOut, 'outside the data root'],
    ]) {
      expect(summary.stdout.split('\n').some((line) => line.includes(file) && line.includes(reason)), `${file}: ${reason}`).toBe(true);
    }
  });

  it('cannot go on → one error line and a non-zero exit: missing folder, CSV without a class column', () => {
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toMatch(/^cellgan: error: .*no-such-folder: cannot read the data folder: no such file or folder$/);
    expect(noClassColumn.code).toBe(1);
    expect(noClassColumn.stdout).toBe('');
    expect(noClassColumn.stderr.trim().split('\n')).toHaveLength(1);
    expect(noClassColumn.stderr).toMatch(/labels-missing-column\.csv: missing required column "class"/);
  });
});
