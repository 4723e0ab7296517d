/**
 * The worker pool, and data-parallel DCGAN gradients (src/dcgan/parallel.ts)
 * against step.ts computed in this thread: exact plumbing with one worker,
 * DDP semantics (per-shard batch norm) with two, and a short training run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf, type LayersModel, type NamedTensorMap } from '../../src/engine/index.js';
import { moduleUrl, sliceRows, splitRows, unpackTensors, WeightBroadcast, weightedSum, packTensors, workerBackendFor, WorkerPool } from '../../src/engine/parallel/index.js';
import { buildDiscriminator, buildGenerator, discriminatorGradients, generatorGradients, disposeGrads, Adam, sampleAugmentParams, AUGMENTATIONS, weightNames } from '../../src/dcgan/index.js';
import type { ModelSpec } from '../../src/dcgan/index.js';
import { createParallelStep, localStep, type GradientStep } from '../../src/dcgan/parallel.js';
import { Rng } from '../../src/util/rng.js';

const SPEC: ModelSpec = { size: 16, nz: 8, gWidth: 4, dWidth: 4, numClasses: 0, seed: 3 };

function maxRelErr(a: Float32Array | number[], b: Float32Array | number[]): number {
  let diff = 0, scale = 0;
  for (let i = 0; i < b.length; i++) { diff = Math.max(diff, Math.abs(a[i] - b[i])); scale = Math.max(scale, Math.abs(b[i])); }
  return diff / Math.max(scale, 1e-12);
}
const values = (m: NamedTensorMap) => Object.fromEntries(Object.entries(m).map(([k, t]) => [k, t.dataSync() as Float32Array]));
function copyWeights(from: LayersModel, to: LayersModel): void { to.setWeights(from.getWeights()); }
/** Non-trainable (batch-norm moving) weights by stable name. */
function stats(m: LayersModel): Record<string, Float32Array> {
  const names = weightNames(m);
  return Object.fromEntries(m.weights.map((w, i) => [names[i], w]).filter(([, w]) => !(w as { trainable: boolean }).trainable)
    .map(([n, w]) => [n as string, (w as { read(): tf.Tensor }).read().dataSync() as Float32Array]));
}

beforeAll(async () => { await initBackend('wasm'); });

describe('WorkerPool', () => {
  it('runs a task module in each worker on its own wasm backend, propagates errors, closes', async () => {
    const pool = await WorkerPool.create({ taskModule: moduleUrl(import.meta.url, 'fixtures/sum-task'), options: { scale: 2 }, size: 2 });
    try {
      const infos = await pool.map<{ backend: string; index: number; count: number }>('info', [null, null]);
      expect(infos).toEqual([{ backend: 'wasm', index: 0, count: 2 }, { backend: 'wasm', index: 1, count: 2 }]);
      const sums = await pool.map<number>('sum', [{ values: Float32Array.from([1, 2, 3]) }, { values: Float32Array.from([10, -4]) }]);
      expect(sums).toEqual([12, 12]);
      await expect(pool.call(1, 'fail', null)).rejects.toThrow(/boom/);
      await expect(pool.call(0, 'nope', null)).rejects.toThrow(/unknown method nope/);
    } finally {
      await pool.close();
    }
    await expect(pool.call(0, 'info', null)).rejects.toThrow(/closed/);
  });

  it('splits rows into near-equal contiguous shards', () => {
    expect(splitRows(7, 2)).toEqual([[0, 4], [4, 7]]);
    expect(splitRows(64, 2)).toEqual([[0, 32], [32, 64]]);
    expect(splitRows(3, 3)).toEqual([[0, 1], [1, 2], [2, 3]]);
  });

  it('slices a shard\'s rows out of a batch array of equal rows', () => {
    expect([...sliceRows(Float32Array.from([1, 2, 3, 4, 5, 6]), 3, [1, 3])]).toEqual([3, 4, 5, 6]);
    expect(sliceRows([7, 8, 9], 3, [0, 2])).toEqual([7, 8]);
  });
});

describe('sending and combining weights', () => {
  it('WeightBroadcast sends each worker only the weights whose data changed since it last got them', () => {
    const a = tf.variable(tf.tensor1d([1, 2])), b = tf.variable(tf.tensor1d([3]));
    try {
      const weights = () => [{ name: 'a', value: a as tf.Tensor }, { name: 'b', value: b as tf.Tensor }];
      const bc = new WeightBroadcast(2);
      const names = (p: ReturnType<WeightBroadcast['payloads']>[number]) => (p ? [...unpackTensors(p).keys()] : []);
      const first = bc.payloads(weights());
      expect(first.map(names)).toEqual([['a', 'b'], ['a', 'b']]);
      expect(first[0]!.buffer).toBe(first[1]!.buffer); // packed once, shared
      expect([...unpackTensors(first[1]!).get('a')!.values]).toEqual([1, 2]);
      expect(bc.payloads(weights())).toEqual([undefined, undefined]);
      a.assign(tf.tensor1d([5, 6]));
      expect(bc.payloads(weights(), 1).map(names)).toEqual([['a']]); // only worker 0 takes part this round
      expect(bc.payloads(weights()).map(names)).toEqual([[], ['a']]);
    } finally {
      a.dispose(); b.dispose();
    }
  });

  it('weightedSum adds packed tensors by name with one coefficient per pack', () => {
    const p1 = packTensors([{ name: 'x', shape: [2], values: [1, 2] }, { name: 'y', shape: [1], values: [10] }]);
    const p2 = packTensors([{ name: 'x', shape: [2], values: [3, 4] }, { name: 'y', shape: [1], values: [20] }]);
    const sum = weightedSum([p1, p2], [0.25, 0.75]);
    expect([...sum.get('x')!.values]).toEqual([2.5, 3.5]);
    expect([...sum.get('y')!.values]).toEqual([17.5]);
    expect(sum.get('x')!.shape).toEqual([2]);
  });
});

describe('data-parallel DCGAN gradients', () => {
  const steps: GradientStep[] = [];
  let twoWorkers: GradientStep;
  beforeAll(async () => { twoWorkers = await createParallelStep(SPEC, { workers: 2 }); steps.push(twoWorkers); });
  afterAll(async () => { await Promise.all(steps.map((s) => s.close())); });

  it('with one worker equals step.ts in this thread (conditional, DiffAugment, labels sliced along)', async () => {
    const spec = { ...SPEC, numClasses: 3 };
    const g = buildGenerator(spec), d = buildDiscriminator(spec), gRef = buildGenerator(spec), dRef = buildDiscriminator(spec);
    copyWeights(g, gRef); copyWeights(d, dRef);
    const step = await createParallelStep(spec, { workers: 1 });
    steps.push(step);
    const rng = new Rng(5), B = 6;
    const real = tf.tensor4d(rng.normals(B * 16 * 16 * 3).map((v) => Math.tanh(v)), [B, 16, 16, 3]);
    const noise = tf.tensor2d(rng.normals(B * 8), [B, 8]);
    const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 2, 1, 0], 'int32'), 3).toFloat() as tf.Tensor2D;
    const augmentReal = sampleAugmentParams(rng, [...AUGMENTATIONS], B, 16), augmentFake = sampleAugmentParams(rng, [...AUGMENTATIONS], B, 16);
    const batch = { real, realLabels: labels, noise, fakeLabels: labels, augmentReal, augmentFake };
    const par = await step.discriminatorGradients(g, d, batch);
    const ref = discriminatorGradients(gRef, dRef, batch);
    expect(Object.keys(par.grads).sort()).toEqual(Object.keys(ref.grads).sort());
    const pv = values(par.grads), rv = values(ref.grads);
    for (const k of Object.keys(rv)) expect(maxRelErr(pv[k], rv[k]), k).toBeLessThan(1e-4);
    expect(par.loss.dataSync()[0]).toBeCloseTo(ref.loss.dataSync()[0], 5);
    expect(par.fakeProb.dataSync()[0]).toBeCloseTo(ref.fakeProb.dataSync()[0], 5);
    // Moving statistics written back equal those of the local run.
    const ps = stats(d), rs = stats(dRef);
    for (const k of Object.keys(rs)) expect(maxRelErr(ps[k], rs[k]), k).toBeLessThan(1e-4);
    const gp = await step.generatorGradients(g, d, { noise, fakeLabels: labels, augmentFake });
    const gr = generatorGradients(gRef, dRef, { noise, fakeLabels: labels, augmentFake });
    const gpv = values(gp.grads), grv = values(gr.grads);
    for (const k of Object.keys(grv)) expect(maxRelErr(gpv[k], grv[k]), k).toBeLessThan(1e-4);
    for (const r of [par, ref]) { disposeGrads(r.grads); r.loss.dispose(); r.realProb.dispose(); r.fakeProb.dispose(); }
    for (const r of [gp, gr]) { disposeGrads(r.grads); r.loss.dispose(); }
    tf.dispose([real, noise, labels]);
    for (const m of [g, d, gRef, dRef]) m.dispose();
  });

  it('with two workers averages per-shard gradients and moving statistics (DDP without SyncBN)', async () => {
    const g = buildGenerator(SPEC), d = buildDiscriminator(SPEC);
    const step = twoWorkers;
    const rng = new Rng(9), B = 8;
    const real = tf.tensor4d(rng.normals(B * 16 * 16 * 3).map((v) => Math.tanh(v)), [B, 16, 16, 3]);
    const noise = tf.tensor2d(rng.normals(B * 8), [B, 8]);
    const par = await step.discriminatorGradients(g, d, { real, noise });
    // Reference: step.ts on each half separately, from the same starting weights.
    const halves = [0, 1].map((h) => {
      const gh = buildGenerator(SPEC), dh = buildDiscriminator(SPEC);
      copyWeights(buildGenerator(SPEC), gh); // fresh (pre-step) weights: the spec's seeded init
      const r = tf.tidy(() => ({ real: real.slice([4 * h], [4]) as tf.Tensor4D, noise: noise.slice([4 * h], [4]) as tf.Tensor2D }));
      const out = discriminatorGradients(gh, dh, r);
      const v = { grads: values(out.grads), loss: out.loss.dataSync()[0], stats: stats(dh) };
      disposeGrads(out.grads); out.loss.dispose(); out.realProb.dispose(); out.fakeProb.dispose();
      tf.dispose([r.real, r.noise]); gh.dispose(); dh.dispose();
      return v;
    });
    const pv = values(par.grads);
    for (const k of Object.keys(pv)) {
      const want = halves[0].grads[k].map((x, i) => (x + halves[1].grads[k][i]) / 2);
      expect(maxRelErr(pv[k], want), k).toBeLessThan(1e-4);
    }
    expect(par.loss.dataSync()[0]).toBeCloseTo((halves[0].loss + halves[1].loss) / 2, 5);
    const ps = stats(d);
    for (const k of Object.keys(ps)) {
      const want = halves[0].stats[k].map((x, i) => (x + halves[1].stats[k][i]) / 2);
      expect(maxRelErr(ps[k], want), k).toBeLessThan(1e-4);
    }
    disposeGrads(par.grads); par.loss.dispose(); par.realProb.dispose(); par.fakeProb.dispose();
    tf.dispose([real, noise]); g.dispose(); d.dispose();
  });

  it('trains like one process: a short run with two workers tracks the local run, worker tensors stay flat', async () => {
    const runOnce = async (step: GradientStep) => {
      const g = buildGenerator(SPEC), d = buildDiscriminator(SPEC);
      const adam = { learningRate: 2e-3, beta1: 0.5, beta2: 0.999, epsilon: 1e-8 };
      const gOpt = new Adam(adam, g), dOpt = new Adam(adam, d);
      const rng = new Rng(21), B = 16, losses: number[][] = [];
      const real = tf.tensor4d(rng.normals(B * 16 * 16 * 3).map((v) => Math.tanh(v / 2)), [B, 16, 16, 3]);
      for (let it = 0; it < 6; it++) {
        const noise = tf.tensor2d(rng.normals(B * 8), [B, 8]);
        const dg = await step.discriminatorGradients(g, d, { real, noise });
        dOpt.apply(dg.grads);
        const gg = await step.generatorGradients(g, d, { noise });
        gOpt.apply(gg.grads);
        losses.push([dg.loss.dataSync()[0], gg.loss.dataSync()[0]]);
        disposeGrads(dg.grads); disposeGrads(gg.grads);
        tf.dispose([dg.loss, dg.realProb, dg.fakeProb, gg.loss, noise]);
      }
      real.dispose(); gOpt.dispose(); dOpt.dispose(); g.dispose(); d.dispose();
      return losses;
    };
    const before = tf.memory().numTensors;
    const local = await runOnce(localStep());
    const step = twoWorkers;
    const counts0 = await step.workerTensorCounts();
    const par = await runOnce(step);
    expect(tf.memory().numTensors).toBe(before);
    for (const l of [...local, ...par]) for (const v of l) expect(Number.isFinite(v)).toBe(true);
    // Per-shard batch-norm statistics make the runs differ slightly, not systematically.
    const mean = (ls: number[][], j: number) => ls.reduce((s, l) => s + l[j], 0) / ls.length;
    for (const j of [0, 1]) expect(Math.abs(mean(par, j) - mean(local, j)) / mean(local, j)).toBeLessThan(0.15);
    // And the workers hold no more tensors after six iterations than before them.
    expect(await step.workerTensorCounts()).toEqual(counts0);
    expect(counts0).toHaveLength(2);
  });
});

describe('workerBackendFor', () => {
  it('runs workers on wasm (cpu with a cpu main thread) and warns when libtensorflow is in the main thread', () => {
    expect(workerBackendFor({ name: 'wasm', tfBackend: 'wasm' }, 2)).toEqual({ backend: 'wasm', warning: undefined });
    expect(workerBackendFor({ name: 'cpu', tfBackend: 'cpu' }, 2)).toEqual({ backend: 'cpu', warning: undefined });
    expect(workerBackendFor({ name: 'tensorflow-gpu', tfBackend: 'tensorflow' }, 2).warning).toMatch(/--workers 2: the workers compute on wasm, not on tensorflow-gpu.*--workers 0 is faster/);
  });
});
