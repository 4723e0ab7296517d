import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { tempDir, SAMPLES } from '../helpers/env.js';
import { train, readRun, checkpointName, buildGenerator, buildDiscriminator } from '../../src/dcgan/index.js';
import { tf, initBackend, tfjsSeed } from '../../src/engine/index.js';
import { CellganError } from '../../src/util/errors.js';
import { tinyOptions, checkpointBytes, assertCompleteCheckpoint, readJsonl, MODEL_PARTS } from './helpers.js';

const tmp = tempDir('cellgan-dcgan-');
beforeAll(async () => { await initBackend('wasm'); });
afterAll(() => tmp.cleanup());
const out = (name: string) => path.join(tmp.dir, name);

describe('models: initialisation', () => {
  // tfjs takes a seed of 0 as "no seed"; with seed 0 the first layer's derived seed was 0 and
  // its weights differed on every run.
  it('the same seed builds the same weights, seed 0 included (conditional and not)', () => {
    for (const seed of [0, 7]) for (const numClasses of [0, 7]) {
      const spec = { size: 32, nz: 100, gWidth: 8, dWidth: 8, numClasses, seed };
      for (const build of [buildGenerator, buildDiscriminator]) {
        const a = build(spec), b = build(spec);
        try {
          a.getWeights().forEach((w, i) => expect(b.getWeights()[i].dataSync(), `${build.name} seed ${seed} weight ${i}`).toEqual(w.dataSync()));
        } finally {
          a.dispose(); b.dispose();
        }
      }
    }
    expect(tfjsSeed(0)).not.toBe(0);
    expect(tfjsSeed(5)).toBe(5);
  });
});

describe('train: run folder', () => {
  it('writes options, stats, checkpoints (all three models + optimizers + RNG), grids, loss curve and log', async () => {
    const run = out('folder');
    const r = await train(tinyOptions(run, { recipe: 'dcgan', iters: 4, diffAugment: 'color,translation,cutout', keepCheckpoints: 2 }));
    expect(r).toMatchObject({ iteration: 4, interrupted: false, classes: ['basophil'] });

    const info = await readRun(run);
    expect(info.checkpoints).toEqual([2, 4]); // keep the last 2 of 0, 2, 4
    const o = info.options;
    expect(o.options).toMatchObject({ className: 'basophil', size: 32, batch: 2, seed: 7, lr: 2e-4, beta1: 0.5, diffAugment: ['color', 'translation', 'cutout'] });
    expect(o.backend.name).toBe('wasm');
    expect(o.versions.tfjs).toBe(tf.version.tfjs);
    expect(o.versions.cellgan).toMatch(/^\d+\.\d+\.\d+/);
    expect(o.trainImages).toBe(30);

    const stats = await readJsonl(path.join(run, 'stats.jsonl'));
    expect(stats.map((s) => s.iteration)).toEqual([2, 4]);
    for (const s of stats) {
      for (const k of ['d_loss', 'g_loss', 'd_real', 'd_fake', 'images_per_sec', 'wall_time_s', 'diversity', 'real_diversity']) {
        expect(Number.isFinite(s[k]), k).toBe(true);
      }
      expect(s.d_real).toBeGreaterThan(0); expect(s.d_real).toBeLessThan(1);
    }

    const ck = path.join(run, 'checkpoints', checkpointName(4));
    await assertCompleteCheckpoint(ck);
    const state = JSON.parse(await fs.readFile(path.join(ck, 'state.json'), 'utf8'));
    expect(state.iteration).toBe(4);
    const gOpt = JSON.parse(await fs.readFile(path.join(ck, 'optimizer_g.json'), 'utf8'));
    expect(gOpt.step).toBe(4);
    // The saved generator loads with stock tfjs and produces images of the right shape.
    const json = JSON.parse(await fs.readFile(path.join(ck, 'generator_ema', 'model.json'), 'utf8'));
    const bin = await fs.readFile(path.join(ck, 'generator_ema', 'weights.bin'));
    const loaded = await tf.loadLayersModel(tf.io.fromMemory({
      modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights,
      weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
    }));
    const y = loaded.predict(tf.zeros([1, 8])) as tf.Tensor;
    expect(y.shape).toEqual([1, 32, 32, 3]);
    y.dispose(); loaded.dispose();

    const grids = (await fs.readdir(path.join(run, 'grids'))).sort();
    expect(grids).toEqual(['00000000.png', '00000002.png', '00000004.png', 'reals.png']);
    const meta = await sharp(path.join(run, 'grids', '00000004.png')).metadata();
    expect(meta.width).toBe(8 * 32 + 9 * 2);
    expect((await sharp(path.join(run, 'loss-curve.png')).metadata()).format).toBe('png');
    const log = await readJsonl(path.join(run, 'log.jsonl'));
    expect(log.some((l) => l.msg === 'training finished')).toBe(true);
    // Without a terminal (tests run with CI=1): a status line at each checkpoint, numbers as `progress`.
    const status = log.filter((l) => l.progress).map((l) => l.progress as Record<string, unknown>);
    expect(status.map((p) => [p.done, p.total, p.event])).toEqual([[2, 4, 'checkpoint'], [4, 4, 'checkpoint']]);
    for (const p of status) {
      expect(p.unit).toBe('it');
      expect(Object.keys(p.values as object)).toEqual(['D', 'G']);
      for (const k of ['rate', 'images_per_sec', 'elapsed_s']) expect(Number.isFinite(p[k]), k).toBe(true);
    }
    expect(log.find((l) => l.progress)!.msg).toMatch(/^train 2\/4 50\.0% \| [\d.]+ it\/s \| [\d.]+ img\/s \| elapsed \d+:\d\d \| ETA \S+ \| D [-\d.e]+ G [-\d.e]+ \| checkpoint$/);
  });

  it('refuses a non-empty --out without --force, and validates options up front', async () => {
    const run = out('occupied');
    await fs.mkdir(run); await fs.writeFile(path.join(run, 'keep.txt'), 'x');
    await expect(train(tinyOptions(run))).rejects.toThrow(/not empty.*--force/);
    expect(await fs.readFile(path.join(run, 'keep.txt'), 'utf8')).toBe('x');
    await expect(train(tinyOptions(out('bad1'), { size: 48 }))).rejects.toThrow(/Expected one of 32, 64, 128 for --size but received 48/);
    await expect(train(tinyOptions(out('bad2'), { conditional: true }))).rejects.toThrow(/either --class or --conditional/);
    await expect(train(tinyOptions(out('bad3'), { diffAugment: 'color,flip' }))).rejects.toThrow(/--diffaugment/);
    const err = await train(tinyOptions(out('bad4'), { className: 'platelet' })).catch((e) => e);
    expect(err).toBeInstanceOf(CellganError);
    expect(err.message).toMatch(/pbc-mini: no class "platelet"; classes are basophil, eosinophil/);
    await expect(fs.access(out('bad4'))).rejects.toThrow(); // nothing written for a bad option
    // --force never deletes the inputs (checked on a copy of two images, never on the samples).
    const parent = out('holder');
    const copy = path.join(parent, 'data', 'basophil');
    await fs.mkdir(copy, { recursive: true });
    for (const f of (await fs.readdir(path.join(SAMPLES, 'basophil'))).slice(0, 2)) await fs.copyFile(path.join(SAMPLES, 'basophil', f), path.join(copy, f));
    await expect(train({ ...tinyOptions(parent, { force: true }), data: path.join(parent, 'data') })).rejects.toThrow(/would contain or replace the training data/);
    expect(await fs.readdir(copy)).toHaveLength(2);
  });
});

describe('train: exact resume', () => {
  it('stopped (abort signal) at 3 and resumed to 6 ends bitwise equal to an uninterrupted run (conditional + DiffAugment)', async () => {
    const extra = { conditional: true, className: undefined, iters: 6, diffAugment: 'color,translation,cutout', checkpointEvery: 4, emaDecay: 0.9 };
    const full = await train(tinyOptions(out('full'), extra));
    const ctl = new AbortController();
    const part = await train({ ...tinyOptions(out('part'), extra), signal: ctl.signal, onIteration: (i) => { if (i === 3) ctl.abort(); } });
    expect(part).toMatchObject({ interrupted: true, iteration: 3 });
    expect((await readRun(out('part'))).checkpoints).toContain(3);
    const resumed = await train({ resume: out('part'), iters: 6 });
    expect(resumed).toMatchObject({ interrupted: false, iteration: 6 });

    const a = await checkpointBytes(full.checkpoint), b = await checkpointBytes(resumed.checkpoint);
    for (const k of Object.keys(a)) expect(Buffer.compare(a[k], b[k]), k).toBe(0);
    // The comparison can fail: a run with one more iteration differs.
    const other = await train(tinyOptions(out('seven'), { ...extra, iters: 7 }));
    expect(Buffer.compare(a['generator/weights.bin'], (await checkpointBytes(other.checkpoint))['generator/weights.bin'])).not.toBe(0);

    // Stats of the resumed run continue without duplicates.
    const partStats = await readJsonl(path.join(out('part'), 'stats.jsonl'));
    expect(partStats.map((s) => s.iteration)).toEqual([2, 4, 6]);
    // ... and log the same rows as the uninterrupted run, the one spanning the stop (3) included:
    // its means cover iterations 3 and 4, not only the resumed 4. Times differ and are left out.
    const withoutTimes = ({ images_per_sec: _i, wall_time_s: _w, cpu_time_s: _c, ...rest }: Record<string, unknown>) => rest;
    const fullStats = await readJsonl(path.join(out('full'), 'stats.jsonl'));
    expect(partStats.map(withoutTimes)).toEqual(fullStats.map(withoutTimes));
    const info = await readRun(out('part'));
    expect(info.options.resumes).toHaveLength(1);
    expect(info.options.options.iters).toBe(6);
    await expect(train({ resume: out('part'), iters: 8, batch: 4 })).rejects.toThrow(/do not pass batch/);
  });
});

describe('train: data-parallel workers', () => {
  // Worker start-up is slow on the shared cores, so one short run; exactness of data-parallel
  // gradients is tested by the engine's parallel tests, and resume uses the same code path as above.
  it('trains with 2 worker threads (the worker count is a saved option)', async () => {
    const r = await train(tinyOptions(out('workers'), { iters: 2, workers: 2, logEvery: 1 }));
    expect(r.iteration).toBe(2);
    expect((await readRun(out('workers'))).options.options.workers).toBe(2);
    const stats = await readJsonl(path.join(out('workers'), 'stats.jsonl'));
    expect(stats.map((s) => Number.isFinite(s.d_loss) && Number.isFinite(s.g_loss))).toEqual([true, true]);
  }, 180_000);
});

describe('train: watchdogs and failures', () => {
  it('stops on a non-finite loss with a clear message; the last good checkpoint stays and resumes', async () => {
    const run = out('nan');
    const err = await train({ ...tinyOptions(run, { iters: 8 }), faults: { nanAtIteration: 5 } }).catch((e) => e);
    expect(err).toBeInstanceOf(CellganError);
    expect(err.message).toMatch(/D loss became NaN at iteration 5; training stopped\. The last good checkpoint is .*00000004/);
    const info = await readRun(run);
    expect(info.latest).toBe(4);
    await assertCompleteCheckpoint(path.join(run, 'checkpoints', checkpointName(4)));
    const r = await train({ resume: run, iters: 6 });
    expect(r.iteration).toBe(6);
  });

  it('a failing checkpoint write is reported and leaves the earlier checkpoints intact', async () => {
    const run = out('enospc');
    const err = await train({ ...tinyOptions(run, { iters: 6 }), faults: { failCheckpointAt: 4 } }).catch((e) => e);
    expect(err).toBeInstanceOf(CellganError);
    expect(err.message).toMatch(/could not write checkpoint 4 \(no space left on device\); earlier checkpoints are intact/);
    expect(err.message).toContain(path.join(run, 'checkpoints', '00000004'));
    const info = await readRun(run);
    expect(info.checkpoints).toEqual([0, 2]);
    await assertCompleteCheckpoint(path.join(run, 'checkpoints', checkpointName(2)));
    const entries = await fs.readdir(path.join(run, 'checkpoints'));
    expect(entries.filter((e) => e.startsWith('.'))).toEqual([]); // no staging left behind
  });

  it('raises the mode-collapse alarm when samples are far less diverse than the data', async () => {
    // At initialisation G's outputs are almost constant, so with the alarm active from
    // iteration 0 and a high threshold it must fire; with threshold 0 it must not.
    const run = out('collapse');
    await train(tinyOptions(run, { iters: 2, collapseAfter: 0, collapseThreshold: 0.5 }));
    const stats = await readJsonl(path.join(run, 'stats.jsonl'));
    expect(stats[0].collapse_warning).toBe(true);
    expect(stats[0].diversity_ratio).toBeLessThan(0.5);
    const log = await readJsonl(path.join(run, 'log.jsonl'));
    expect(log.some((l) => l.level === 40 && /mode collapse/.test(String(l.msg)))).toBe(true);
    const run2 = out('nocollapse');
    await train(tinyOptions(run2, { iters: 2, collapseAfter: 0, collapseThreshold: 0 }));
    expect((await readJsonl(path.join(run2, 'stats.jsonl')))[0].collapse_warning).toBeUndefined();
  });
});

describe('train: memory', () => {
  // Issue 8: 1,000 iterations of a tiny model, with grids, checkpoints and the diversity probe
  // spaced out so the iterations themselves dominate the time (and each still runs several times).
  const N = 1000;
  it(`keeps tf.memory().numTensors flat over ${N} iterations`, async () => {
    const counts: number[] = [];
    await train(tinyOptions(out('memory'), { iters: N, logEvery: 50, gridEvery: 250, checkpointEvery: 300, diffAugment: 'color,translation,cutout', onIteration: () => counts.push(tf.memory().numTensors) }));
    expect(counts).toHaveLength(N);
    expect(new Set(counts.slice(1)).size).toBe(1);
    expect(counts.at(-1)).toBe(counts[1]);
  }, 600_000);

  it('disposes its models and optimizers when it returns', async () => {
    const before = tf.memory().numTensors;
    await train(tinyOptions(out('dispose'), { iters: 2 }));
    expect(tf.memory().numTensors).toBe(before);
  });
});
void MODEL_PARTS;
