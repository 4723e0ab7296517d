import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { SAMPLES, runCli, tempDir } from '../helpers/env.js';
import { initBackend, tf } from '../../src/engine/index.js';
import { loadDataset } from '../../src/data/index.js';
import {
  trainClassifier, loadClassifier, predictProbabilities, transferFrom, buildClassifier, evaluateClassifier,
  saveLayersModel, featureDistances, computeFeatures, loadFeatureExtractor, type TrainClassifierResult,
} from '../../src/metrics/index.js';
import { decodeLabeled } from '../../src/metrics/images.js';
import { ReduceOnPlateau } from '../../src/metrics/classifier/train.js';

const ARCH = { width: 4 }; // tiny: the tests check behaviour, not accuracy
const SIZE = 16;
const tmp = tempDir('cellgan-metrics-clf-');
let trained: TrainClassifierResult;
const clfDir = path.join(tmp.dir, 'clf');

/** Copies `perClass` images of each of `classes` from pbc-mini into an ImageFolder, optionally renaming classes. */
async function copySubset(dest: string, classes: Record<string, string>, perClass: number): Promise<void> {
  for (const [from, to] of Object.entries(classes)) {
    await fs.mkdir(path.join(dest, to), { recursive: true });
    const files = (await fs.readdir(path.join(SAMPLES, from))).sort().slice(0, perClass);
    for (const f of files) await fs.copyFile(path.join(SAMPLES, from, f), path.join(dest, to, f));
  }
}

beforeAll(async () => {
  await initBackend('wasm');
  trained = await trainClassifier({ data: SAMPLES, size: SIZE, epochs: 2, architecture: ARCH, out: clfDir, seed: 1, checkpointDir: path.join(tmp.dir, 'ckpt') });
});
afterAll(() => { trained?.model.dispose(); tmp.cleanup(); });

describe('reference classifier', () => {
  it('saves model.json + weights.bin + classifier.json and loads back to identical predictions', async () => {
    const modelJson = JSON.parse(await fs.readFile(path.join(clfDir, 'model.json'), 'utf8'));
    expect(modelJson.format).toBe('layers-model');
    expect(modelJson.weightsManifest[0].paths).toEqual(['./weights.bin']);
    const loaded = await loadClassifier(clfDir);
    try {
      expect(loaded.info.classes).toEqual(['basophil', 'eosinophil', 'erythroblast', 'ig', 'lymphocyte', 'monocyte', 'neutrophil']);
      expect(loaded.info.inputSize).toBe(SIZE);
      expect(loaded.info.preprocessing.range).toEqual([-1, 1]);
      expect(loaded.info.history).toHaveLength(2);
      expect(loaded.info.training.valSource).toBe('carved-from-train');
      const ds = await loadDataset(SAMPLES);
      const set = await decodeLabeled(ds.items.slice(0, 40), loaded.info.classes, SIZE);
      expect(predictProbabilities(loaded.model, set)).toEqual(predictProbabilities(trained.model, set));
    } finally {
      loaded.model.dispose();
    }
    // The best-so-far checkpoint is a complete classifier folder too.
    const ckpt = await loadClassifier(path.join(tmp.dir, 'ckpt'));
    expect(ckpt.info.history.length).toBeGreaterThanOrEqual(1);
    ckpt.model.dispose();
    // Refuses to overwrite without force.
    await expect(trainClassifier({ data: SAMPLES, size: SIZE, epochs: 1, architecture: ARCH, out: clfDir })).rejects.toThrow(/not empty.*--force/);
  });

  it('is deterministic for a seed', async () => {
    const a = await trainClassifier({ data: SAMPLES, size: SIZE, epochs: 1, architecture: ARCH, seed: 5, maxPerClass: 10 });
    const b = await trainClassifier({ data: SAMPLES, size: SIZE, epochs: 1, architecture: ARCH, seed: 5, maxPerClass: 10 });
    a.model.dispose(); b.model.dispose();
    expect(a.info.history[0].loss).toBe(b.info.history[0].loss);
    expect(a.info.history[0].valLoss).toBe(b.info.history[0].valLoss);
  });

  it('transfer: maps the output layer by class name, replaces it for unknown classes, copies the rest', async () => {
    const classes = trained.info.classes;
    const arch = trained.info.architecture;
    const reversed = [...classes].reverse();
    const mapped = buildClassifier(SIZE, 7, arch, 99);
    const replaced = buildClassifier(SIZE, 2, arch, 99);
    try {
      expect(await transferFrom(clfDir, mapped, reversed, arch)).toBe('mapped');
      const ds = await loadDataset(SAMPLES);
      const set = await decodeLabeled(ds.items.slice(0, 20), classes, SIZE);
      const p0 = predictProbabilities(trained.model, set), p1 = predictProbabilities(mapped, set);
      for (let i = 0; i < 20; i++) for (let j = 0; j < 7; j++) expect(p1[i * 7 + j]).toBeCloseTo(p0[i * 7 + (6 - j)], 5);
      expect(await transferFrom(clfDir, replaced, ['blast', 'other'], arch)).toBe('replaced');
      const w0 = trained.model.getLayer('conv1').getWeights()[0].dataSync();
      expect(Array.from(replaced.getLayer('conv1').getWeights()[0].dataSync())).toEqual(Array.from(w0));
      const partial = buildClassifier(SIZE, 2, arch, 99);
      expect(await transferFrom(clfDir, partial, ['basophil', 'blast'], arch)).toBe('partial');
      partial.dispose();
    } finally {
      mapped.dispose(); replaced.dispose();
    }
  });

  it('CLI: --init fine-tunes on a dataset with different classes; eval prints metrics and writes its files', async () => {
    const other = path.join(tmp.dir, 'other-data');
    await copySubset(other, { basophil: 'blast', lymphocyte: 'small_cell' }, 12);
    const ft = path.join(tmp.dir, 'ft');
    const r = await runCli(['classifier', 'train', '--data', other, '--size', String(SIZE), '--epochs', '1', '--width', '4', '--init', clfDir, '--out', ft]);
    expect(r.stderr).toMatch(/output layer replaced/);
    expect(r.code).toBe(0);
    const info = JSON.parse(await fs.readFile(path.join(ft, 'classifier.json'), 'utf8'));
    expect(info.classes).toEqual(['blast', 'small_cell']);
    expect(info.training.init).toMatchObject({ outputLayer: 'replaced' });
    const e = await runCli(['classifier', 'eval', '--model', ft, '--data', other, '--json', '--resamples', '200', '--out', path.join(tmp.dir, 'eval')]);
    expect(e.code).toBe(0);
    const report = JSON.parse(e.stdout);
    expect(report.n).toBe(24);
    expect(report.metrics.accuracy.value).toBeGreaterThanOrEqual(0);
    expect(report.metrics.accuracy.value).toBeLessThanOrEqual(1);
    expect(report.metrics.accuracy.ci95).toHaveLength(2);
    expect((await fs.readdir(path.join(tmp.dir, 'eval'))).sort()).toEqual(['confusion.png', 'metrics.json', 'predictions.csv']);
    const bad = await runCli(['classifier', 'eval', '--model', path.join(tmp.dir, 'nope'), '--data', other]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/cellgan: error: .*nope.*classifier/);
  });

  it('GAN-test on real images equals the real evaluation (the same images in a synthetic-format folder)', async () => {
    const syn = path.join(tmp.dir, 'syn-copy');
    await copySubset(syn, Object.fromEntries(trained.info.classes.map((c) => [c, c])), 6);
    await fs.writeFile(path.join(syn, 'manifest.jsonl'), '');
    const real = await evaluateClassifier({ model: clfDir, data: SAMPLES, resamples: 100 });
    const viaSynthetic = await evaluateClassifier({ model: clfDir, data: syn, resamples: 100 });
    const realSubset = real.predictions.filter((p) => viaSynthetic.predictions.some((q) => q.file === p.file));
    expect(realSubset.map((p) => p.predictedClass)).toEqual(viaSynthetic.predictions.map((p) => p.predictedClass));
  });
});

describe('feature distances with --features (any tfjs layers model)', () => {
  it('uses a tiny saved model, caches features, FID ≈ 0 and precision = recall = 1 for identical sets, warns on small classes', async () => {
    const tiny = tf.sequential({ layers: [
      tf.layers.conv2d({ inputShape: [SIZE, SIZE, 3], filters: 40, kernelSize: 3, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }),
      tf.layers.globalAveragePooling2d({}),
    ] });
    const tinyDir = path.join(tmp.dir, 'tiny-features');
    await saveLayersModel(tiny, tinyDir);
    tiny.dispose();
    const syn = path.join(tmp.dir, 'syn-basophil');
    await copySubset(syn, { basophil: 'basophil', ig: 'ig' }, 30);
    const cacheDir = path.join(tmp.dir, 'cache');
    const r = await featureDistances({ data: SAMPLES, synthetic: syn, features: tinyDir, cacheDir, kidSubsets: 10 });
    expect(r.feature_dim).toBe(40);
    expect(Object.keys(r.classes)).toEqual(['basophil', 'ig']);
    expect(r.missing_in_synthetic).toEqual(['eosinophil', 'erythroblast', 'lymphocyte', 'monocyte', 'neutrophil']);
    for (const c of ['basophil', 'ig']) {
      expect(r.classes[c].fid).toBeLessThan(1e-6);
      expect(r.classes[c].precision).toBe(1);
      expect(r.classes[c].recall).toBe(1);
      expect(r.classes[c].warnings.join()).toMatch(/fewer samples than feature dimensions/); // 30 < 40
    }
    expect((await fs.readdir(cacheDir)).filter((f) => f.endsWith('.f32'))).toHaveLength(2);
    const extractor = await loadFeatureExtractor(tinyDir);
    try {
      const items = (await loadDataset(syn)).items;
      expect((await computeFeatures(extractor, items, { cacheDir })).cached).toBe(true);
    } finally {
      extractor.dispose();
    }
  });
});

describe('learning-rate schedule (reduce on plateau)', () => {
  it('halves the rate after `patience` epochs without a lower validation loss, counting from the last reduction', () => {
    const s = new ReduceOnPlateau(1e-3, 2);
    const lrs: number[] = [];
    // val loss: improves, improves, flat, flat (→ halve), flat, flat (→ halve), improves, flat
    [1.0, 0.8, 0.9, 0.85, 0.81, 0.82, 0.5, 0.6].forEach((loss, i) => { s.update(i + 1, loss); lrs.push(s.lr); });
    expect(lrs).toEqual([1e-3, 1e-3, 1e-3, 5e-4, 5e-4, 2.5e-4, 2.5e-4, 2.5e-4]);
  });
  it('never changes the rate with patience 0 and stops at the floor', () => {
    const off = new ReduceOnPlateau(1e-3, 0);
    for (let e = 1; e <= 10; e++) expect(off.update(e, 1)).toBe(false);
    expect(off.lr).toBe(1e-3);
    const floor = new ReduceOnPlateau(4e-6, 1, 0.5, 1e-6);
    for (let e = 1; e <= 10; e++) floor.update(e, 1);
    expect(floor.lr).toBe(1e-6);
  });
  it('the trained classifier records the rate of each epoch and the schedule in classifier.json', () => {
    expect(trained.info.history.every((h) => h.learningRate === 1e-3)).toBe(true);
    expect(trained.info.training.lrSchedule).toEqual({ kind: 'reduce-on-plateau', factor: 0.5, patience: 2 });
  });
});
