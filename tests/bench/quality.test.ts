/**
 * The quality benchmark at a tiny size (32 px, widths 8, four iterations):
 * every phase runs, the JSON has the fields docs/quality/latest.json must
 * have, the caches are used on a re-run, and GAN-test agrees with an
 * independent scoring of the same images (generate + the reference
 * classifier through the public API).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, SAMPLES } from '../helpers/env.js';
import { initBackend } from '../../src/engine/index.js';
import { runQualityBench, resolveQualityOptions, ganTrainCounts, type QualityResult } from '../../src/bench/quality.js';
import { generate, readRun } from '../../src/dcgan/index.js';
import { featureDistances, loadClassifier, predictImages, readSyntheticFolder, trainClassifier } from '../../src/metrics/index.js';
import { makeSplit, loadDataset, readSplit, selectSplit } from '../../src/data/index.js';
import { decodeLabeled } from '../../src/metrics/images.js';

const tmp = tempDir('cellgan-quality-');
beforeAll(async () => { await initBackend('wasm'); });
afterAll(() => tmp.cleanup());

const tiny = (work: string) => ({
  data: SAMPLES, work, recipe: 'sngan' as const, iters: 4, size: 32, checkpointEvery: 2, perClass: 6, ganTrainPerClass: 6,
  referenceEpochs: 1, referenceMaxPerClass: 12, workers: 0, resamples: 50, kidSubsets: 5,
  trainOverrides: { gWidth: 8, dWidth: 8, batch: 4, gridEvery: 2, logEvery: 2 },
});

describe('quality benchmark', () => {
  let r: QualityResult;
  const work = path.join(tmp.dir, 'work');

  it('trains, scores every checkpoint and writes the result and its plot', async () => {
    r = await runQualityBench(tiny(work));
    expect(r).toMatchObject({ format: 'cellgan-quality-bench', size: 32, recipe: 'sngan', budget: { iters: 4 } });
    expect(r.cpu).toMatch(/\(/);
    expect(r.curve.map((p) => p.iteration)).toEqual([0, 2, 4]); // the untrained start is the curve's first point
    expect(r.curve[2].cpu_s).toBeGreaterThan(r.curve[1].cpu_s);
    expect(r.curve[2].wall_s).toBeGreaterThan(r.curve[1].wall_s);
    expect(r.cpu_s).toBe(r.curve[2].cpu_s);
    const classes = (await fs.readdir(SAMPLES, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
    for (const p of r.curve) {
      expect(Object.keys(p.per_class).sort()).toEqual(classes);
      expect(Object.keys(p.gan_test.per_class).sort()).toEqual(classes);
      expect(p.gan_test.accuracy.value).toBeGreaterThanOrEqual(0);
      expect(p.gan_test.accuracy.value).toBeLessThanOrEqual(1);
      expect(p.diversity_ratio).toBeGreaterThan(0);
      expect(Number.isFinite(p.fid_mean)).toBe(true);
    }
    for (const k of ['baseline', 'gan_train', 'gan_test'] as const) expect(r[k]!.accuracy.value).not.toBeNull();
    expect(r.gan_train!.n_train).toBeGreaterThan(0);
    // GAN-train's confusion matrix: one row per real test image's class, its diagonal the accuracy.
    const cm = r.gan_train!.confusion!;
    const total = cm.counts.flat().reduce((a, n) => a + n, 0);
    expect(cm.classes).toHaveLength(cm.counts.length);
    expect(total).toBe(r.split.test);
    expect(cm.counts.reduce((a, row, k) => a + row[k], 0) / total).toBeCloseTo(r.gan_train!.accuracy.value!, 12);
    const o = resolveQualityOptions(tiny(work));
    const json = JSON.parse(await fs.readFile(o.out, 'utf8')) as QualityResult;
    expect(json.curve).toEqual(r.curve);
    const png = await fs.readFile(o.out.replace(/\.json$/, '.png'));
    expect(png.subarray(1, 4).toString()).toBe('PNG');
  });

  it('GAN-test and FID equal an independent scoring of the same images by the reference classifier', async () => {
    const o = resolveQualityOptions(tiny(work));
    const ref = await loadClassifier(path.join(work, 'reference'));
    const out = path.join(tmp.dir, 'independent');
    try {
      // The benchmark samples its checkpoints with seed 1_000_000 + seed.
      await generate({ model: o.run, checkpoint: 4, count: 6, out, seed: 1_000_000, progress: false });
      const synthetic = await readSyntheticFolder(out);
      const set = await decodeLabeled(synthetic.items, ref.info.classes, 32);
      const e = predictImages(ref.model, set, ref.info.classes.length);
      const hits = Array.from(e.yTrue).filter((t, i) => t === e.yPred[i]).length;
      expect(r.curve[2].gan_test.accuracy.value).toBeCloseTo(hits / e.yTrue.length, 10);
      // FID depends on every pixel of the samples, so this also pins which images were scored.
      const d = await featureDistances({ data: SAMPLES, split: path.join(work, 'split.json'), realSubset: 'test', synthetic: out, model: path.join(work, 'reference'), kidSubsets: 5 });
      for (const [c, x] of Object.entries(d.classes)) expect(r.curve[2].per_class[c].fid, c).toBeCloseTo(x.fid!, 6);
    } finally {
      ref.model.dispose();
    }
  });

  it('a re-run uses its caches: the reference is not retrained and checkpoints are not rescored', async () => {
    const refJson = path.join(work, 'reference', 'classifier.json');
    const before = (await fs.stat(refJson)).mtimeMs;
    const again = await runQualityBench({ ...tiny(work), train: false });
    expect((await fs.stat(refJson)).mtimeMs).toBe(before);
    expect(again.curve).toEqual(r.curve);
    expect(again.gan_train).toEqual(r.gan_train);
    const quick = await runQualityBench({ ...tiny(work), train: false, ganTrain: false, out: path.join(work, 'quick.json') });
    expect(quick.gan_train).toBeNull();
    expect(quick.curve).toEqual(r.curve);
    // A thinner curve (--score-every) and an earlier end (--until) pick from the same cached points.
    const every4 = await runQualityBench({ ...tiny(work), train: false, ganTrain: false, scoreEvery: 4, out: path.join(work, 'every4.json') });
    expect(every4.curve.map((p) => p.iteration)).toEqual([0, 4]);
    expect(every4.curve).toEqual([r.curve[0], r.curve[2]]);
    const until2 = await runQualityBench({ ...tiny(work), train: false, ganTrain: false, scoreEvery: 4, until: 2, out: path.join(work, 'until2.json') });
    expect(until2.curve).toEqual([r.curve[0], r.curve[1]]);
    expect(until2.gan_test.iteration).toBe(2);
  });

  it("GAN-train 'match' trains on as many synthetic images of every class as the real training split has, 'balanced' on as many in all", async () => {
    // pbc-mini has 30 images of every class: an uneven copy (half its basophils), so 'match' differs from 'balanced'.
    const uneven = path.join(tmp.dir, 'uneven');
    await fs.cp(SAMPLES, uneven, { recursive: true, filter: (src) => !src.endsWith('.csv') });
    for (const f of (await fs.readdir(path.join(uneven, 'basophil'))).sort().slice(15)) await fs.rm(path.join(uneven, 'basophil', f));
    const unevenWork = path.join(tmp.dir, 'uneven-work');
    const options = { ...tiny(unevenWork), data: uneven };
    const base = await runQualityBench({ ...options, ganTrain: false, out: path.join(unevenWork, 'curve.json') });
    const dataset = await loadDataset(uneven);
    const split = await readSplit(path.join(unevenWork, 'split.json'));
    const real = selectSplit(dataset, split, 'train');
    const classes = [...new Set(real.map((i) => i.label))].sort();
    const counts = ganTrainCounts('match', real, classes);
    expect(new Set(Object.values(counts)).size).toBeGreaterThan(1);
    for (const c of classes) expect(counts[c]).toBe(Math.ceil(real.filter((i) => i.label === c).length / 0.9));
    const balanced = ganTrainCounts('balanced', real, classes);
    expect(Object.values(balanced)).toEqual(classes.map(() => Math.ceil(real.length / classes.length / 0.9)));
    expect(ganTrainCounts(5, real, classes)).toEqual(Object.fromEntries(classes.map((c) => [c, 5])));

    const matched = await runQualityBench({ ...options, train: false, ganTrainPerClass: 'match', out: path.join(unevenWork, 'matched.json') });
    expect(matched.settings.gan_train_per_class).toEqual(counts);
    // Per class, a tenth (rounded) of the samples goes to early stopping: the rest is the real count, give or take one per class.
    expect(Math.abs(matched.gan_train!.n_train - matched.split.train)).toBeLessThanOrEqual(classes.length);
    expect(matched.curve).toEqual(base.curve);
    const even = await runQualityBench({ ...options, train: false, ganTrainPerClass: 'balanced', out: path.join(unevenWork, 'balanced.json') });
    expect(even.settings.gan_train_per_class).toBe(balanced[classes[0]]);
    expect(Math.abs(even.gan_train!.n_train - even.split.train)).toBeLessThanOrEqual(classes.length);
    expect(even.gan_train!.accuracy).not.toEqual(matched.gan_train!.accuracy);
  });

  it('GAN-train over several draws is their mean; draw 0 is the single-draw figure, the others use other noise and classifier seeds', async () => {
    const drawn = await runQualityBench({ ...tiny(work), train: false, ganTrainDraws: 3, out: path.join(work, 'drawn.json') });
    const draws = drawn.gan_train!.draws!;
    expect(draws).toHaveLength(3);
    expect(draws[0].accuracy).toBe(r.gan_train!.accuracy.value);
    expect(new Set(draws.map((d) => d.noise_seed)).size).toBe(3);
    expect(new Set(draws.map((d) => d.classifier_seed)).size).toBe(3);
    const mean = draws.reduce((a, d) => a + d.accuracy!, 0) / 3;
    expect(drawn.gan_train!.accuracy.value).toBeCloseTo(mean, 12);
    const summed = drawn.gan_train!.confusion!.counts;
    expect(summed.flat().reduce((a, n) => a + n, 0)).toBe(3 * drawn.split.test);
    expect(summed.reduce((a, row, k) => a + row[k], 0) / (3 * drawn.split.test)).toBeCloseTo(mean, 12);
    const [lo, hi] = drawn.gan_train!.accuracy.ci95 as [number, number];
    expect(lo).toBeLessThanOrEqual(mean);
    expect(hi).toBeGreaterThanOrEqual(mean);
    // Each draw's cached predictions: the draws differ, and the per-class figures are their means.
    const cache = path.join(drawn.run, 'quality', (await fs.readdir(path.join(drawn.run, 'quality')))[0]);
    const cached = await Promise.all(['', '-draw1', '-draw2'].map(async (x) =>
      JSON.parse(await fs.readFile(path.join(cache, `gan-train-00000004-6${x}.json`), 'utf8')) as { y_true: number[]; y_pred: number[] }));
    expect(cached[1].y_pred).not.toEqual(cached[0].y_pred);
    expect(cached[2].y_pred).not.toEqual(cached[1].y_pred);
    const classes = Object.keys(drawn.gan_train!.per_class);
    classes.forEach((c, k) => {
      const recall = cached.map(({ y_true, y_pred }) => y_true.filter((t, i) => t === k && y_pred[i] === k).length / y_true.filter((t) => t === k).length);
      expect(drawn.gan_train!.per_class[c]).toBeCloseTo(recall.reduce((a, b) => a + b, 0) / 3, 12);
    });
    expect(drawn.settings.gan_train_draws).toBe(3);
    expect(r.gan_train!.draws).toBeUndefined();
    expect(drawn.curve).toEqual(r.curve);
  });

  it('a run conditioned on a finer column (--condition) is scored under the classes its conditions lie within', async () => {
    const staged = await runQualityBench({
      ...tiny(work), iters: 2, run: path.join(work, 'runs', 'staged'), out: path.join(work, 'staged.json'), ganTrain: false,
      trainOverrides: { ...tiny(work).trainOverrides, labels: path.join(SAMPLES, 'labels.csv'), condition: 'fine_class' },
    });
    expect(Object.keys((await readRun(path.join(work, 'runs', 'staged'))).options.classGroups ?? {})).toContain('metamyelocyte');
    expect(Object.keys(staged.curve[1].gan_test.per_class).sort()).toEqual(Object.keys(r.curve[1].gan_test.per_class).sort());
  });

  it('a fine-tuned run (--init) is placed after its parent: iterations and CPU time continue the parent\'s', async () => {
    const parent = resolveQualityOptions(tiny(work)).run;
    const ft = await runQualityBench({
      ...tiny(work), iters: 2, run: path.join(work, 'runs', 'fine-tune'), out: path.join(work, 'fine-tune.json'), ganTrain: false,
      trainOverrides: { ...tiny(work).trainOverrides, init: parent },
    });
    expect(ft.lineage).toEqual([expect.objectContaining({ path: parent, iterations: 4, cpu_s: r.cpu_s, wall_s: r.wall_s })]);
    expect(ft.curve.map((p) => [p.iteration, p.run_iteration])).toEqual([[4, 0], [6, 2]]);
    expect(ft.curve[0].cpu_s).toBeGreaterThanOrEqual(r.cpu_s);
    // The curve rounds to the millisecond and two tiny iterations can cost less: compare the checkpoints' own clocks.
    expect(ft.curve[1].cpu_s).toBeGreaterThanOrEqual(ft.curve[0].cpu_s);
    const cpuAt = async (ck: string) => (JSON.parse(await fs.readFile(path.join(work, 'runs', 'fine-tune', 'checkpoints', ck, 'state.json'), 'utf8')) as { cpuTimeS: number }).cpuTimeS;
    expect(await cpuAt('00000002')).toBeGreaterThan(await cpuAt('00000000'));
    expect(ft.cpu_s).toBe(ft.curve[1].cpu_s);
    expect(ft.gan_test.iteration).toBe(6);
    // The checkpoint at run iteration 0 holds the parent's generator: it scores as the parent's last point does.
    expect(ft.curve[0].gan_test.accuracy.value).toBe(r.curve[2].gan_test.accuracy.value);
  });

  it('refuses to score a run on test images it trained on, naming one', async () => {
    const split = JSON.parse(await fs.readFile(path.join(work, 'split.json'), 'utf8'));
    // Same training images (so the cached reference still fits), but the test split is the training split.
    const leaky = path.join(tmp.dir, 'leaky-split.json');
    await fs.writeFile(leaky, JSON.stringify({ ...split, splits: { ...split.splits, test: split.splits.train.slice(0, 20) } }));
    await expect(runQualityBench({ ...tiny(work), train: false, ganTrain: false, split: leaky, reference: path.join(work, 'reference'), out: path.join(work, 'leaky.json') }))
      .rejects.toThrow(/test image of the bench's split is one the run or its --init ancestors trained on/);
  });

  it('--reference takes a classifier trained on the bench\'s split and refuses one trained on another split', async () => {
    const given = await runQualityBench({ ...tiny(work), train: false, ganTrain: false, reference: path.join(work, 'reference'), out: path.join(work, 'given.json') });
    expect(given.curve).toEqual(r.curve);
    const other = path.join(tmp.dir, 'other-reference');
    const split = await makeSplit(SAMPLES, { seed: 9 });
    (await trainClassifier({ data: SAMPLES, split, out: other, size: 32, epochs: 1, maxPerClass: 6 })).model.dispose();
    await expect(runQualityBench({ ...tiny(work), train: false, ganTrain: false, reference: other, out: path.join(work, 'other.json') }))
      .rejects.toThrow(/the classifier was trained on \d+ images that are not this split's \d+ training images/);
  });

  it('--standing-stats scores other samples: cached apart, recorded in the settings, the default run\'s cache untouched', async () => {
    const standing = await runQualityBench({ ...tiny(work), train: false, standingStats: 2, out: path.join(work, 'standing.json') });
    expect(standing.settings.standing_stats).toBe(2);
    expect(r.settings.standing_stats).toBe(0);
    expect(standing.curve.map((p) => p.iteration)).toEqual(r.curve.map((p) => p.iteration));
    // Other batch-norm statistics make other pixels, hence other features and distances.
    expect(standing.curve.at(-1)!.fid_mean).not.toBe(r.curve.at(-1)!.fid_mean);
    const files = (await fs.readdir(path.join(r.run, 'quality'), { recursive: true })).map(String);
    expect(files.filter((f) => f.endsWith('-ss2.json')).length).toBe(r.curve.length + 1); // every point and the GAN-train draw
    const again = await runQualityBench({ ...tiny(work), train: false });
    expect(again.curve).toEqual(r.curve);
    expect(again.gan_train).toEqual(r.gan_train);
  });

  it('rejects bad options up front', () => {
    expect(() => resolveQualityOptions({ recipe: 'stylegan' as never })).toThrow(/one of.*for --recipe/);
    expect(() => resolveQualityOptions({ iters: 0 })).toThrow(/--iters/);
    expect(() => resolveQualityOptions({ size: 48 })).toThrow(/for --size/);
    expect(() => resolveQualityOptions({ scoreEvery: 0 })).toThrow(/--score-every/);
    expect(() => resolveQualityOptions({ until: -1 })).toThrow(/--until/);
    expect(() => resolveQualityOptions({ ganTrainPerClass: 'many' as never })).toThrow(/--gan-train-per-class \(match, balanced or a count\)/);
    expect(resolveQualityOptions({ ganTrainPerClass: 'balanced' }).ganTrainPerClass).toBe('balanced');
    expect(resolveQualityOptions({}).ganTrainPerClass).toBe('match');
    expect(() => resolveQualityOptions({ ganTrainDraws: 0 })).toThrow(/--gan-train-draws/);
    expect(() => resolveQualityOptions({ standingStats: -1 })).toThrow(/--standing-stats/);
  });
});
