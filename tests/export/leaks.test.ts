/**
 * export and the real held-out images (issue 15): a synthetic image that
 * copies a real validation image is refused (one error naming the file) or,
 * with dropLeaks, left out and listed; a mirrored copy of a real training
 * image is flagged by the memorisation audit, its rate is on the dataset
 * card, and excludeMemorized leaves it out.
 */
import { promises as fs, readdirSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportDataset } from '../../src/export/index.js';
import { SAMPLES, tempDir } from '../helpers/env.js';
import { CLASSES, hashTree, readJsonl, writeSyntheticFolder, writeUnevenSplit } from './helpers.js';

const tmp = tempDir('cellgan-export-leaks-');
const split = path.join(tmp.dir, 'split.json');
const syn = path.join(tmp.dir, 'syn');
const C = CLASSES[0];
let valImage = '', trainImage = '';
const opts = (out: string, more: Record<string, unknown> = {}) => ({
  data: SAMPLES, split, synthetic: [syn], perClass: 'max' as const, augment: 'flip,rot90', out: path.join(tmp.dir, out), seed: 3, ...more,
});

beforeAll(async () => {
  await writeUnevenSplit(split); // class i: 4 + i training images, so 'max' is 10 and class 0 needs 6 more
  const s = JSON.parse(await fs.readFile(split, 'utf8')) as { splits: Record<string, string[]> };
  valImage = s.splits.val.find((f) => f.startsWith(`${C}/`))!;
  trainImage = s.splits.train.find((f) => f.startsWith(`${C}/`))!;
  // Class 0 gets exactly the 6 synthetic images it needs, so every one is checked: 4 noise images, a
  // byte-identical copy of a validation image and a mirrored copy of a training image.
  await writeSyntheticFolder(syn, { perClass: 4, classes: [C], manifest: false, seed: 21 });
  await fs.copyFile(path.join(SAMPLES, valImage), path.join(syn, C, `leak${path.extname(valImage)}`));
  await fs.writeFile(path.join(syn, C, 'mirrored.png'), await sharp(path.join(SAMPLES, trainImage)).flop().png().toBuffer());
});
afterAll(() => tmp.cleanup());

describe('export: synthetic copies of real images', () => {
  it('refuses a copy of a validation image, naming the file, and writes nothing', async () => {
    const before = await hashTree(syn);
    const err = await exportDataset(opts('refused')).then(() => null, (e: Error) => e);
    expect(err?.message).toContain(`${path.join(syn, C, `leak${path.extname(valImage)}`)}: is a byte-identical copy of the real validation image ${valImage}`);
    expect(err?.message).toMatch(/--drop-leaks/);
    expect(readdirSync(tmp.dir)).not.toContain('refused');
    expect(await hashTree(syn)).toEqual(before);
  });

  it('with dropLeaks leaves the copy out and lists it; flags the mirrored training image and states the rate on the card', async () => {
    const r = await exportDataset(opts('dropped', { dropLeaks: true }));
    expect(r.leaks).toEqual([expect.objectContaining({ real: valImage, split: 'val', exact: true, distance: 0 })]);
    expect(r.skipped.find((p) => p.file.endsWith(`leak${path.extname(valImage)}`))?.reason).toMatch(/validation image .*left out \(--drop-leaks\)/);
    expect(r.memorization?.checked).toBe(5);
    expect(r.memorization?.flagged.map((f) => [path.basename(f.file), f.nearest])).toEqual([['mirrored.png', trainImage]]);
    expect(r.memorization?.rate).toBeCloseTo(1 / 5, 10);
    expect(r.counts.train[C]).toEqual({ real: 4, synthetic: 5, augmented: 1 });
    const card = await fs.readFile(path.join(r.out, 'README.md'), 'utf8');
    expect(card).toContain('**Memorisation rate: 20.0 %** (1 of 5 synthetic images checked');
    expect(card).toMatch(/1 exact or near copies were left out \(--drop-leaks\)/);
    const rows = readJsonl<{ source: string }>(path.join(r.out, 'manifest.jsonl'));
    // (the temporary folder's name holds 'leaks', so match the file itself)
    expect(rows.some((x) => x.source.includes(`${C}/leak.`))).toBe(false);
    expect(rows.some((x) => x.source.includes(`${C}/mirrored.png`))).toBe(true);
    const info = JSON.parse(await fs.readFile(path.join(r.out, 'dataset.json'), 'utf8'));
    expect(info.memorization.flagged).toHaveLength(1);
  });

  it('with excludeMemorized also leaves the flagged image out and lists it', async () => {
    const r = await exportDataset(opts('excluded', { dropLeaks: true, excludeMemorized: true }));
    expect(r.memorization?.excluded).toBe(true);
    expect(r.skipped.find((p) => p.file.endsWith('mirrored.png'))?.reason).toMatch(new RegExp(`probable copy of the real training image ${trainImage.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} .*--exclude-memorized`));
    expect(r.counts.train[C]).toEqual({ real: 4, synthetic: 4, augmented: 2 });
    const rows = readJsonl<{ source: string }>(path.join(r.out, 'manifest.jsonl'));
    expect(rows.some((x) => x.source.includes(`${C}/mirrored.png`))).toBe(false);
    const card = await fs.readFile(path.join(r.out, 'README.md'), 'utf8');
    expect(card).toMatch(/They were left out \(--exclude-memorized\)/);
  });
});
