import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { tempDir } from '../helpers/env.js';
import { train, generate, type ManifestRow } from '../../src/dcgan/index.js';
import { tf, initBackend } from '../../src/engine/index.js';
import { tinyOptions, readJsonl } from './helpers.js';
import { encodeGridPng } from '../../src/data/image.js';
import { scanSyntheticFolder, syntheticSource } from '../../src/data/index.js';

const tmp = tempDir('cellgan-generate-');
const run = path.join(tmp.dir, 'run');
const out = (name: string) => path.join(tmp.dir, name);
let classes: string[] = [];

beforeAll(async () => {
  await initBackend('wasm');
  // Width 8 so that samples differ by more than PNG quantisation (width 2 gives near-uniform grey).
  const r = await train(tinyOptions(run, { conditional: true, className: undefined, iters: 2, gWidth: 8, emaRampup: 0 }));  // without ramp-up the EMA of a 2-iteration run differs from G (the --raw test needs that)
  classes = r.classes;
}, 120_000);
afterAll(() => tmp.cleanup());

describe('generate', () => {
  it('(the training run) names each class beside its row of the conditional grids', async () => {
    const grid = await sharp(path.join(run, 'grids', '00000002.png')).raw().toBuffer({ resolveWithObject: true });
    // The same labels drawn over blank tiles: the strip left of the tiles must match pixel for pixel.
    const blank = await sharp(await encodeGridPng(new Float32Array(classes.length * 8 * 32 * 32 * 3).fill(1), 32, 8, { rowLabels: classes })).raw().toBuffer({ resolveWithObject: true });
    expect([grid.info.width, grid.info.height]).toEqual([blank.info.width, blank.info.height]);
    const strip = grid.info.width - (8 * 32 + 9 * 2);
    expect(strip).toBeGreaterThan(0);
    let dark = 0, differ = 0;
    for (let y = 0; y < grid.info.height; y++) {
      for (let x = 0; x < strip * 3; x++) {
        const i = y * grid.info.width * 3 + x;
        if (grid.data[i] !== blank.data[i]) differ++;
        if (grid.data[i] < 128) dark++;
      }
    }
    expect(differ).toBe(0);
    expect(dark).toBeGreaterThan(0);
  });

  it('a conditional model makes exactly --count images of every class, with a manifest', async () => {
    const r = await generate({ model: run, count: 5, out: out('all'), seed: 3, batch: 2 });
    expect(classes).toEqual(['basophil', 'eosinophil', 'erythroblast', 'ig', 'lymphocyte', 'monocyte', 'neutrophil']);
    expect(r.classes).toEqual(classes);
    expect(r.total).toBe(5 * classes.length);
    const rows = await readJsonl<ManifestRow>(path.join(out('all'), 'manifest.jsonl'));
    expect(rows).toHaveLength(5 * classes.length);
    for (const c of classes) {
      const files = (await fs.readdir(path.join(out('all'), c))).sort();
      expect(files).toEqual(['000000.png', '000001.png', '000002.png', '000003.png', '000004.png']);
      expect(rows.filter((x) => x.class === c).map((x) => x.index)).toEqual([0, 1, 2, 3, 4]);
    }
    expect(rows[0]).toEqual({ file: 'basophil/000000.png', class: 'basophil', run: path.resolve(run), checkpoint: 2, seed: 3, index: 0, generator: 'generator_ema' });
    const meta = await sharp(path.join(out('all'), rows[7].file)).metadata();
    expect([meta.width, meta.height, meta.channels]).toEqual([32, 32, 3]);
    expect((await fs.readdir(tmp.dir)).filter((n) => n.startsWith('.'))).toEqual([]); // no staging left
  });

  it('any image can be regenerated alone: the same (seed, class, index) gives the same PNG whatever the batch', async () => {
    await generate({ model: run, count: 3, className: 'monocyte', out: out('b1'), seed: 9, batch: 1 });
    await generate({ model: run, count: 3, className: 'monocyte', out: out('b3'), seed: 9, batch: 3 });
    await generate({ model: run, count: 3, className: 'monocyte', out: out('s10'), seed: 10, batch: 3 });
    expect(await fs.readdir(out('b1'))).toEqual(expect.arrayContaining(['monocyte', 'manifest.jsonl']));
    expect((await fs.readdir(out('b1'))).length).toBe(2);
    for (const f of ['000000.png', '000002.png']) {
      const a = await fs.readFile(path.join(out('b1'), 'monocyte', f));
      expect(Buffer.compare(a, await fs.readFile(path.join(out('b3'), 'monocyte', f)))).toBe(0);
      expect(Buffer.compare(a, await fs.readFile(path.join(out('s10'), 'monocyte', f)))).not.toBe(0);
    }
    // Different classes from the same noise differ (the label is used).
    await generate({ model: run, count: 1, className: 'basophil', out: out('baso'), seed: 9 });
    const aM = await sharp(path.join(out('b1'), 'monocyte', '000000.png')).raw().toBuffer();
    const aB = await sharp(path.join(out('baso'), 'basophil', '000000.png')).raw().toBuffer();
    expect(Buffer.compare(aM, aB)).not.toBe(0);
  });

  it('--raw is recorded in the manifest, so a raw image can be regenerated from its row', async () => {
    await generate({ model: run, count: 2, className: 'ig', out: out('raw'), seed: 4, raw: true });
    const rows = await readJsonl<ManifestRow>(path.join(out('raw'), 'manifest.jsonl'));
    expect(rows.map((r) => r.generator)).toEqual(['generator', 'generator']);
    // Regenerate image 1 from its row alone.
    const row = rows[1];
    await generate({ model: row.run, checkpoint: row.checkpoint, count: row.index + 1, className: row.class, out: out('raw-again'), seed: row.seed, raw: row.generator === 'generator' });
    const again = await fs.readFile(path.join(out('raw-again'), row.file));
    expect(Buffer.compare(again, await fs.readFile(path.join(out('raw'), row.file)))).toBe(0);
    await generate({ model: run, count: 2, className: 'ig', out: out('ema'), seed: 4 });
    expect(Buffer.compare(again, await fs.readFile(path.join(out('ema'), row.file)))).not.toBe(0);
  });

  it('--noise-scale changes the images, is recorded in the manifest and in the source an export records, and regenerates from its row', async () => {
    await generate({ model: run, count: 2, className: 'ig', out: out('wide'), seed: 4, noiseScale: 1.5 });
    const rows = await readJsonl<ManifestRow>(path.join(out('wide'), 'manifest.jsonl'));
    expect(rows.map((r) => r.noise_scale)).toEqual([1.5, 1.5]);
    const row = rows[1];
    await generate({ model: row.run, checkpoint: row.checkpoint, count: row.index + 1, className: row.class, out: out('wide-again'), seed: row.seed, noiseScale: row.noise_scale });
    const again = await fs.readFile(path.join(out('wide-again'), row.file));
    expect(Buffer.compare(again, await fs.readFile(path.join(out('wide'), row.file)))).toBe(0);
    expect(Buffer.compare(again, await fs.readFile(path.join(out('ema'), row.file)))).not.toBe(0);
    const [scanned] = (await scanSyntheticFolder(out('wide'))).images;
    expect(syntheticSource(scanned)).toMatch(/ noise_scale=1\.5$/);
    expect((await readJsonl<ManifestRow>(path.join(out('ema'), 'manifest.jsonl')))[0].noise_scale).toBeUndefined();
    await expect(generate({ model: run, count: 1, out: out('zero'), noiseScale: 0 })).rejects.toThrow(/--noise-scale/);
  });

  it('--standing-stats recomputes batch norm from the seed alone: changes the images, is recorded, regenerates from its row, keeps tensors flat', async () => {
    const before = tf.memory().numTensors;
    await generate({ model: run, count: 3, out: out('standing'), seed: 4, standingStats: 3 });
    expect(tf.memory().numTensors).toBe(before);
    const rows = await readJsonl<ManifestRow>(path.join(out('standing'), 'manifest.jsonl'));
    expect(new Set(rows.map((r) => r.standing_stats))).toEqual(new Set([3]));
    const row = rows.find((r) => r.class === 'ig' && r.index === 1)!;
    // Alone, as a smaller set of one class: the statistics do not depend on what else is made.
    await generate({ model: row.run, checkpoint: row.checkpoint, count: row.index + 1, className: row.class, out: out('standing-again'), seed: row.seed, standingStats: row.standing_stats });
    const again = await fs.readFile(path.join(out('standing-again'), row.file));
    expect(Buffer.compare(again, await fs.readFile(path.join(out('standing'), row.file)))).toBe(0);
    // The stored statistics (out('ema') holds ig 0 and 1 at seed 4) give other pixels.
    expect(Buffer.compare(again, await fs.readFile(path.join(out('ema'), row.file)))).not.toBe(0);
    const scanned = (await scanSyntheticFolder(out('standing'))).images.find((x) => x.file === row.file)!;
    expect(syntheticSource(scanned)).toMatch(/ standing_stats=3$/);
    await expect(generate({ model: run, count: 1, out: out('standing-bad'), standingStats: 1.5 })).rejects.toThrow(/--standing-stats/);
  });

  it('refuses a non-empty --out without force, unknown classes and checkpoints; keeps tensors flat', async () => {
    await fs.mkdir(out('busy')); await fs.writeFile(path.join(out('busy'), 'x'), '');
    await expect(generate({ model: run, count: 1, out: out('busy') })).rejects.toThrow(/not empty.*--force/);
    await expect(generate({ model: run, count: 1, out: out('busy'), className: 'platelet' })).rejects.toThrow(/does not make class "platelet"/);
    await expect(generate({ model: run, count: 1, out: out('c'), checkpoint: 1 })).rejects.toThrow(/no checkpoint 1; available: 0, 2/);
    await expect(generate({ model: run, count: 0, out: out('c') })).rejects.toThrow(/--count/);
    await expect(generate({ model: tmp.dir, count: 1, out: out('c') })).rejects.toThrow(/not a cellgan run folder/);
    const before = tf.memory().numTensors;
    const r = await generate({ model: run, count: 2, out: out('busy'), force: true, className: 'ig' });
    expect(r.total).toBe(2);
    expect(await fs.readdir(out('busy'))).not.toContain('x');
    expect(tf.memory().numTensors).toBe(before);
  });
});
