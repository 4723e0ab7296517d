import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { SAMPLES, runCli, tempDir } from '../helpers/env.js';
import { makeSplit, writeSplit } from '../../src/data/index.js';
import { fewerSyntheticNote } from '../../src/metrics/score.js';

const tmp = tempDir('cellgan-metrics-score-');
const splitFile = path.join(tmp.dir, 'split.json');
const synthetic = path.join(tmp.dir, 'synthetic');
const out = path.join(tmp.dir, 'score');
let testFiles: string[] = [];
let trainCopies: string[] = [];
let leakFile = '', leakOf = '';

/**
 * Stand-in synthetic set in the layout `cellgan generate` writes
 * (<dir>/<class>/<name> + manifest.jsonl): the real TRAINING images copied
 * (so the memorisation audit must flag every one), one class (monocyte) left
 * out to check that a missing class is reported, not fatal, and one copy of a
 * real TEST image, which score must refuse (or drop with --drop-leaks).
 * (Before issue 15 this set was the real test split, and GAN-test had to
 * equal the baseline; score now refuses exactly such a set.)
 */
beforeAll(async () => {
  const split = await makeSplit(SAMPLES, { seed: 3, val: 0.15, test: 0.25 });
  await writeSplit(splitFile, split, { force: true });
  testFiles = split.splits.test;
  const manifest: string[] = [];
  for (const [i, f] of split.splits.train.entries()) {
    const c = f.split('/')[0];
    if (c === 'monocyte') continue;
    await fs.mkdir(path.join(synthetic, c), { recursive: true });
    await fs.copyFile(path.join(SAMPLES, f), path.join(synthetic, f));
    trainCopies.push(f);
    manifest.push(JSON.stringify({ file: f, class: c, run: 'real-copy', checkpoint: 0, seed: 0, index: i }));
  }
  leakOf = testFiles.find((f) => f.startsWith('basophil/'))!;
  leakFile = `basophil/copy-of-test${path.extname(leakOf)}`;
  await fs.copyFile(path.join(SAMPLES, leakOf), path.join(synthetic, leakFile));
  manifest.push(JSON.stringify({ file: leakFile, class: 'basophil', run: 'real-copy', checkpoint: 0, seed: 0, index: 9999 }));
  await fs.writeFile(path.join(synthetic, 'manifest.jsonl'), manifest.join('\n') + '\n');
});
afterAll(() => tmp.cleanup());

describe('GAN-train size note', () => {
  it('speaks when GAN-train had at most half the baseline\'s images, naming the matching count per class', () => {
    expect(fewerSyntheticNote(3150, 10314, 7)).toMatch(/trained on 3150 synthetic images, the baseline on 10314 real ones.*generate ~1638 per class/);
    expect(fewerSyntheticNote(5157, 10314, 7)).toMatch(/5157 synthetic/);
    expect(fewerSyntheticNote(5158, 10314, 7)).toBeNull();
  });
});

describe('cellgan score', () => {
  it('refuses a copy of a test image; with --drop-leaks lists it, scores the rest, and flags every copied training image', async () => {
    const args = ['score', '--data', SAMPLES, '--split', splitFile, '--synthetic', synthetic, '--out', out,
      '--size', '16', '--epochs', '2', '--width', '4', '--resamples', '200', '--seed', '2'];
    const refused = await runCli(args);
    expect(refused.code).toBe(1);
    const last = refused.stderr.trim().split('\n').at(-1)!;
    expect(last).toContain(`cellgan: error: ${path.join(synthetic, leakFile)}: is a byte-identical copy of the real test image ${leakOf}`);
    expect(last).toMatch(/--drop-leaks/);
    await expect(fs.access(path.join(out, 'score.json'))).rejects.toThrow();

    const r = await runCli([...args, '--drop-leaks']);
    expect(r.stderr).toMatch(/no synthetic images for class\(es\) monocyte/);
    expect(r.code, r.stderr).toBe(0);
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
    // The test copy is left out and listed; every other image is scored.
    expect(s.leaks).toEqual([{ file: leakFile, real: leakOf, split: 'test', distance: 0, exact: true }]);
    expect(s.gan_test.n).toBe(trainCopies.length);
    // Memorisation: every synthetic image is a training image, so every one is flagged, at distance 0, with itself as the nearest.
    expect(s.memorization.images).toBe(trainCopies.length);
    expect(s.memorization.rate).toBe(1);
    expect(s.memorization.flagged.map((f: { file: string }) => f.file).sort()).toEqual([...trainCopies].sort());
    for (const f of s.memorization.flagged) expect(f).toMatchObject({ nearest: f.file, distance: 0 });
    for (const c of ['basophil', 'eosinophil']) expect(s.memorization.per_class[c]).toMatchObject({ rate: 1, flagged: trainCopies.filter((f) => f.startsWith(`${c}/`)).length });
    expect(s.baseline.n).toBe(nTest);
    expect(s.missing_in_synthetic).toEqual(['monocyte']);
    // Six of seven classes' training images, less a tenth: not "far fewer" than the baseline's, so no size note.
    expect(s.notes.join('\n')).not.toMatch(/GAN-train was trained on/);
    expect(s.gan_train.classes).not.toContain('monocyte');
    expect(s.gan_train.n).toBe(nTest - nMono); // real test split of the scored classes, never train
    const md = await fs.readFile(path.join(out, 'score.md'), 'utf8');
    expect(md).toContain(`**Flagged: ${trainCopies.length} of ${trainCopies.length} (100.0 %).**`);
    expect(md).toMatch(/Wilson score/);
    expect(md).toMatch(/\| GAN-train \| synthetic images \| real test split \|/);
    expect(md).toMatch(/\| GAN-test \| real train split \| synthetic images \|/);
    expect(md).toMatch(/monocyte/);
    const d = JSON.parse(await fs.readFile(path.join(out, 'distances.json'), 'utf8'));
    expect(Object.keys(d.classes)).toEqual(s.scored_classes);
    expect(d.classes.basophil.n_fake).toBeGreaterThan(0);
    expect(d.feature_space).not.toMatch(/tmp-/);
    // The real-vs-real reference: real train against the real test images of each class, both at the same n.
    // Here the synthetic images are the training images themselves, so they sit closer to the training
    // set than held-out real cells do: the synthetic FID is ~0 and below the real-vs-real one.
    expect(d.reference_subset).toBe('test');
    for (const c of s.scored_classes as string[]) {
      const x = d.classes[c];
      const nTestClass = testFiles.filter((f) => f.startsWith(`${c}/`)).length;
      expect(x.reference.n, c).toBe(Math.min(x.n_fake, nTestClass));
      expect(x.reference.fid_real, c).toBeGreaterThan(0);
      expect(x.reference.fid_synthetic, c).toBeLessThan(x.reference.fid_real);
      expect(x.fid, c).toBeLessThan(0.1 * x.reference.fid_real);
    }
    expect(md).toMatch(/\| FID at n: synthetic \/ real vs real \| n \|/);
    // Features computed once per image set and cached: real train, synthetic, real test (reference).
    expect((await fs.readdir(path.join(out, 'features-cache'))).filter((f) => f.endsWith('.f32'))).toHaveLength(3);
    const files = await fs.readdir(out);
    expect(files).toEqual(expect.arrayContaining(['baseline', 'gan_train', 'score.json', 'score.md', 'distances.json', 'confusion-baseline.png', 'confusion-gan_train.png', 'confusion-gan_test.png', 'features-cache']));
    // Refuses to overwrite without --force, input untouched.
    const again = await runCli(['score', '--data', SAMPLES, '--split', splitFile, '--synthetic', synthetic, '--out', out, '--size', '16', '--epochs', '1', '--drop-leaks']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/not empty; pass --force/);
  });

  it('--baseline reuses a saved classifier trained on this split (same numbers as training it here) and refuses any other', async () => {
    // Same recipe as the first test's score run, trained on its own by `classifier train`.
    const clf = path.join(tmp.dir, 'clf');
    const trained = await runCli(['classifier', 'train', '--data', SAMPLES, '--split', splitFile, '--out', clf, '--size', '16', '--epochs', '2', '--width', '4', '--seed', '2']);
    expect(trained.code, trained.stderr).toBe(0);
    const info = JSON.parse(await fs.readFile(path.join(clf, 'classifier.json'), 'utf8'));
    expect(info.training.trainSet).toMatchObject({ images: info.training.counts.train, maxPerClass: null });
    const reused = path.join(tmp.dir, 'score-reused');
    const base = ['score', '--data', SAMPLES, '--split', splitFile, '--synthetic', synthetic, '--resamples', '200', '--drop-leaks'];
    const r = await runCli([...base, '--out', reused, '--baseline', clf]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/baseline: training/);
    const got = JSON.parse(await fs.readFile(path.join(reused, 'score.json'), 'utf8'));
    const trainedHere = JSON.parse(await fs.readFile(path.join(out, 'score.json'), 'utf8'));
    for (const k of ['baseline', 'gan_test', 'gan_train']) expect(got[k], k).toEqual(trainedHere[k]);
    expect(got.settings).toMatchObject({ size: 16, seed: 2, epochs: 2, baseline_from: clf });
    expect(await fs.readFile(path.join(reused, 'baseline', 'weights.bin'))).toEqual(await fs.readFile(path.join(clf, 'weights.bin')));
    expect(got.settings.class_weights).toBe(false);

    // A class-weighted baseline: GAN-train follows its recipe, and score.json says so.
    const weighted = path.join(tmp.dir, 'clf-weighted');
    expect((await runCli(['classifier', 'train', '--data', SAMPLES, '--split', splitFile, '--out', weighted, '--size', '16', '--epochs', '1', '--width', '4', '--class-weights'])).code).toBe(0);
    const reusedWeighted = path.join(tmp.dir, 'score-weighted');
    const rw = await runCli([...base, '--out', reusedWeighted, '--baseline', weighted, '--no-distances']);
    expect(rw.code, rw.stderr).toBe(0);
    const gotWeighted = JSON.parse(await fs.readFile(path.join(reusedWeighted, 'score.json'), 'utf8'));
    expect(gotWeighted.settings.class_weights).toBe(true);
    expect(await fs.readFile(path.join(reusedWeighted, 'score.md'), 'utf8')).toMatch(/class weights: inverse frequency/);

    // An option that contradicts the baseline's recipe is refused before anything runs.
    const clash = await runCli([...base, '--out', path.join(tmp.dir, 'clash'), '--baseline', clf, '--epochs', '3']);
    expect(clash.code).toBe(2);
    expect(clash.stderr).toMatch(/--epochs 3 contradicts the --baseline classifier, trained with 2/);
    // A classifier trained on another split may have seen this split's test images.
    const otherSplit = path.join(tmp.dir, 'other-split.json');
    await writeSplit(otherSplit, await makeSplit(SAMPLES, { seed: 4, val: 0.15, test: 0.25 }), { force: true });
    const other = path.join(tmp.dir, 'clf-other');
    expect((await runCli(['classifier', 'train', '--data', SAMPLES, '--split', otherSplit, '--out', other, '--size', '16', '--epochs', '1', '--width', '4'])).code).toBe(0);
    const wrong = await runCli([...base, '--out', path.join(tmp.dir, 'wrong'), '--baseline', other]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr.trim().split('\n').at(-1)).toMatch(new RegExp(`cellgan: error: ${path.join(other, 'classifier.json')}: the classifier was trained on \\d+ images that are not this split's \\d+ training images`));
    // One that does not say what it trained on is refused too.
    delete info.training.trainSet;
    await fs.writeFile(path.join(other, 'classifier.json'), JSON.stringify(info));
    const unknown = await runCli([...base, '--out', path.join(tmp.dir, 'unknown'), '--baseline', other]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/does not record its training images/);
    for (const d of ['clash', 'wrong', 'unknown']) await expect(fs.access(path.join(tmp.dir, d))).rejects.toThrow();
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
