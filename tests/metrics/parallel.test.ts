/**
 * Data-parallel classifier training (src/metrics/classifier/parallel.ts):
 * one worker reproduces the in-thread trainer; two workers are deterministic,
 * train, record the count, and leak no tensors on either side.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../src/engine/index.js';
import { loadDataset } from '../../src/data/index.js';
import { decodeLabeled, type LabeledImages } from '../../src/metrics/images.js';
import { buildClassifier, DEFAULT_ARCHITECTURE } from '../../src/metrics/classifier/model.js';
import { trainOnImages } from '../../src/metrics/classifier/train.js';
import { createParallelClassifierStep } from '../../src/metrics/classifier/parallel.js';
import { SAMPLES } from '../helpers/env.js';
import { Rng } from '../../src/util/rng.js';

const SIZE = 16;
const ARCH = { ...DEFAULT_ARCHITECTURE, width: 4, featureUnits: 16 };
const CLASSES = ['basophil', 'eosinophil', 'lymphocyte'];
let train: LabeledImages;

beforeAll(async () => {
  await initBackend('wasm');
  const ds = await loadDataset(SAMPLES);
  const items = ds.items.filter((i) => CLASSES.includes(i.label)).slice(0, 48);
  train = await decodeLabeled(items, CLASSES, SIZE);
});

const run = (workers: number) => trainOnImages({
  classes: CLASSES, train, size: SIZE, epochs: 2, batchSize: 12, architecture: ARCH, seed: 5, workers, dataDescription: 'test',
});

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  let d = 0, s = 0;
  for (let i = 0; i < a.length; i++) { d = Math.max(d, Math.abs(a[i] - b[i])); s = Math.max(s, Math.abs(b[i])); }
  return d / Math.max(s, 1e-12);
}

describe('data-parallel classifier training', () => {
  const models: tf.LayersModel[] = [];
  afterAll(() => { for (const m of models) m.dispose(); });

  it('with one worker equals training in this thread (losses and every weight, up to float rounding)', async () => {
    const local = await run(0), one = await run(1);
    models.push(local.model, one.model);
    expect(one.info.training.workers).toBe(1);
    expect(local.info.training.workers).toBeUndefined();
    for (const [a, b] of one.info.history.map((h, i) => [h.loss, local.info.history[i].loss])) expect(Math.abs(a - b)).toBeLessThan(1e-5 * Math.max(1, Math.abs(b)));
    const wa = local.model.getWeights(), wb = one.model.getWeights();
    expect(wb.length).toBe(wa.length);
    wa.forEach((w, i) => expect(maxRelDiff(wb[i].dataSync() as Float32Array, w.dataSync() as Float32Array)).toBeLessThan(1e-5));
  });

  it('with two workers is deterministic for a seed and records the count', async () => {
    const a = await run(2), b = await run(2);
    models.push(a.model, b.model);
    expect(a.info.training.workers).toBe(2);
    expect(a.info.history.map((h) => h.loss)).toEqual(b.info.history.map((h) => h.loss));
    const wa = a.model.getWeights(), wb = b.model.getWeights();
    wa.forEach((w, i) => expect(wb[i].dataSync()).toEqual(w.dataSync()));
    expect(a.info.history.every((h) => Number.isFinite(h.loss))).toBe(true);
  });

  it('steps keep the tensor count flat in the main thread and in every worker', async () => {
    const model = buildClassifier(SIZE, CLASSES.length, ARCH, 1);
    const optimizer = tf.train.adam(1e-3);
    const step = await createParallelClassifierStep({ size: SIZE, numClasses: CLASSES.length, architecture: ARCH }, { workers: 2 });
    const rng = new Rng('parallel-test');
    const batch = () => {
      const n = 10; // uneven shards: 5 + 5, then a 7-row batch: 4 + 3
      return {
        xs: Float32Array.from({ length: n * SIZE * SIZE * 3 }, () => rng.next() * 2 - 1),
        ys: Array.from({ length: n }, () => rng.int(CLASSES.length)),
        sampleWeights: Array.from({ length: n }, () => 1), mask: null,
      };
    };
    try {
      await step.step(model, optimizer, batch());
      const main0 = tf.memory().numTensors, workers0 = await step.workerTensorCounts();
      let losses: number[] = [];
      for (let i = 0; i < 4; i++) losses.push((await step.step(model, optimizer, batch())).loss);
      const odd = batch();
      const r = await step.step(model, optimizer, { ...odd, xs: odd.xs.slice(0, 7 * SIZE * SIZE * 3), ys: odd.ys.slice(0, 7), sampleWeights: odd.sampleWeights.slice(0, 7) });
      losses = [...losses, r.loss];
      expect(losses.every(Number.isFinite)).toBe(true);
      expect(r.hits).toBeGreaterThanOrEqual(0);
      expect(r.hits).toBeLessThanOrEqual(7);
      expect(tf.memory().numTensors).toBe(main0);
      expect(await step.workerTensorCounts()).toEqual(workers0);
    } finally {
      await step.close();
      optimizer.dispose();
      model.dispose();
    }
  });
});
