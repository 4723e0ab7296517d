import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { SAMPLES, runCli, tempDir } from '../helpers/env.js';
import { makeSplit, writeSplit } from '../../src/data/index.js';

const tmp = tempDir('cellgan-metrics-score-');
const splitFile = path.join(tmp.dir, 'split.json');
const synthetic = path.join(tmp.dir, 'synthetic');
const out = path.join(tmp.dir, 'score');
let testFiles: string[] = [];

/**
 * Stand-in synthetic set: the real TEST images copied into the layout
 * `cellgan generate` writes (<dir>/<class>/<name> + manifest.jsonl), with one
 * class (monocyte) left out to check that a missing class is reported, not fatal.
 */
beforeAll(async () => {
  const split = await makeSplit(SAMPLES, { seed: 3, val: 0.15, test: 0.25 });
  await writeSplit(splitFile, split, { force: true });
  testFiles = split.splits.test;
  const manifest: string[] = [];
  for (const [i, f] of testFiles.entries()) {
    const c = f.split('/')[0];
    if (c === 'monocyte') continue;
    await fs.mkdir(path.join(synthetic, c), { recursive: true });
    await fs.copyFile(path.join(SAMPLES, f), path.join(synthetic, f));
    manifest.push(JSON.stringify({ file: f, class: c, run: 'real-copy', checkpoint: 0, seed: 0, index: i }));
  }
  await fs.writeFile(path.join(synthetic, 'manifest.jsonl'), manifest.join('\n') + '\n');
});
afterAll(() => tmp.cleanup());

describe('cellgan score', () => {
  it('writes score.json (fractions with CIs, per class) and score.md; GAN-test on real test images equals the baseline', async () => {
    const r = await runCli(['score', '--data', SAMPLES, '--split', splitFile, '--synthetic', synthetic, '--out', out,
      '--size', '16', '--epochs', '2', '--width', '4', '--resamples', '200', '--seed', '2']);
    expect(r.stderr).toMatch(/no synthetic images for class\(es\) monocyte/);
    expect(r.code).toBe(0);
    const s = JSON.parse(await fs.readFile(path.join(out, 'score.json'), 'utf8'));
    for (const k of ['baseline', 'gan_train', 'gan_test']) {
      const acc = s[k].accuracy;
      expect(acc.value).toBeGreaterThanOrEqual(0);
      expect(acc.value).toBeLessThanOrEqual(1);
      expect(acc.ci95[0]).toBeLessThanOrEqual(acc.value);
      expect(acc.ci95[1]).toBeGreaterThanOrEqual(acc.value);
      expect(s[k].per_class.basophil.sensitivity).toHaveProperty('ci95');
      expect(s[k].confusion.matrix.length).toBe(s[k].confusion.classes.length);
    }
    const nTest = testFiles.length, nMono = testFiles.filter((f) => f.startsWith('monocyte/')).length;
    expect(s.baseline.n).toBe(nTest);
    expect(s.missing_in_synthetic).toEqual(['monocyte']);
    expect(s.gan_train.classes).not.toContain('monocyte');
    expect(s.gan_train.n).toBe(nTest - nMono); // real test split of the scored classes, never train
    expect(s.gan_test.n).toBe(nTest - nMono);
    // The synthetic set IS the real test split (minus monocyte), so GAN-test must equal the baseline on those classes.
    expect(s.gan_test.accuracy).toEqual(s.baseline_scored_classes.accuracy);
    expect(s.gan_test.confusion.matrix).toEqual(s.baseline_scored_classes.confusion.matrix);
    const md = await fs.readFile(path.join(out, 'score.md'), 'utf8');
    expect(md).toMatch(/\| GAN-train \| synthetic images \| real test split \|/);
    expect(md).toMatch(/\| GAN-test \| real train split \| synthetic images \|/);
    expect(md).toMatch(/monocyte/);
    const d = JSON.parse(await fs.readFile(path.join(out, 'distances.json'), 'utf8'));
    expect(Object.keys(d.classes)).toEqual(s.scored_classes);
    expect(d.classes.basophil).toMatchObject({ n_fake: testFiles.filter((f) => f.startsWith('basophil/')).length });
    expect(d.feature_space).not.toMatch(/tmp-/);
    // The real-vs-real reference: train against the real test images of each class, at the synthetic set's size.
    // Here the synthetic images ARE the test images, so the reference FID must equal the synthetic one.
    expect(d.reference_subset).toBe('test');
    for (const c of s.scored_classes as string[]) {
      const x = d.classes[c];
      expect(x.reference.n, c).toBe(x.n_fake);
      expect(x.reference.fid_synthetic, c).toBe(x.fid);
      expect(x.reference.fid_real, c).toBeCloseTo(x.fid, 6);
    }
    expect(d.classes.basophil.fid).toBeGreaterThan(0);
    expect(md).toMatch(/\| FID at n: synthetic \/ real vs real \| n \|/);
    // Features computed once per image set and cached: real train, synthetic, real test (reference).
    expect((await fs.readdir(path.join(out, 'features-cache'))).filter((f) => f.endsWith('.f32'))).toHaveLength(3);
    const files = await fs.readdir(out);
    expect(files).toEqual(expect.arrayContaining(['baseline', 'gan_train', 'score.json', 'score.md', 'distances.json', 'confusion-baseline.png', 'confusion-gan_train.png', 'confusion-gan_test.png', 'features-cache']));
    // Refuses to overwrite without --force, input untouched.
    const again = await runCli(['score', '--data', SAMPLES, '--split', splitFile, '--synthetic', synthetic, '--out', out, '--size', '16', '--epochs', '1']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/not empty; pass --force/);
  });

  it('rejects bad options up front with the option named', async () => {
    const r = await runCli(['score', '--data', SAMPLES, '--split', splitFile, '--synthetic', synthetic, '--out', path.join(tmp.dir, 'x'), '--size', '20']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--size/);
    const s = await runCli(['score', '--data', SAMPLES, '--split', splitFile, '--synthetic', path.join(tmp.dir, 'missing'), '--out', path.join(tmp.dir, 'y')]);
    expect(s.code).toBe(1);
    expect(s.stderr).toMatch(/cellgan: error: .*missing.*synthetic folder/);
  });
});
