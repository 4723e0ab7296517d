/** `train --init`: fine-tuning from a trained run or a shipped model, new classes, FreezeD, provenance. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, SAMPLES } from '../helpers/env.js';
import { train, readRun, generate, checkpointName, packModel, trainingLineage, LINEAGE } from '../../src/dcgan/index.js';
import { tf, initBackend } from '../../src/engine/index.js';
import { makeSplit, writeSplit } from '../../src/data/index.js';
import { hashBytes } from '../../src/util/hash.js';
import { roundSeconds } from '../../src/util/progress.js';
import { tinyOptions, checkpointBytes, readJsonl } from './helpers.js';

const tmp = tempDir('cellgan-transfer-');
const out = (name: string) => path.join(tmp.dir, name);
beforeAll(async () => { await initBackend('wasm'); });
afterAll(() => tmp.cleanup());

async function dataOf(name: string, classes: string[]): Promise<string> {
  const root = out(name);
  for (const c of classes) {
    await fs.mkdir(path.join(root, c), { recursive: true });
    for (const f of (await fs.readdir(path.join(SAMPLES, c))).sort().slice(0, 3)) await fs.copyFile(path.join(SAMPLES, c, f), path.join(root, c, f));
  }
  return root;
}

async function weights(ckpt: string, part: string): Promise<tf.NamedTensorMap> {
  const manifest = JSON.parse(await fs.readFile(path.join(ckpt, part, 'model.json'), 'utf8'));
  const bin = await fs.readFile(path.join(ckpt, part, 'weights.bin'));
  return tf.io.decodeWeights(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer, manifest.weightsManifest[0].weights);
}
const rows = (t: tf.Tensor) => t.arraySync() as number[][];

const SN = { recipe: 'sngan' as const, conditional: true, className: undefined, batch: 4, gWidth: 2, dWidth: 2, nz: 8 };
let parentRun = '';
let childData = '';

describe('train --init', () => {
  beforeAll(async () => {
    const parentData = await dataOf('data-parent', ['basophil', 'eosinophil', 'lymphocyte']);
    childData = await dataOf('data-child', ['eosinophil', 'lymphocyte', 'monocyte']);
    parentRun = out('parent');
    await train(tinyOptions(parentRun, { ...SN, data: parentData, iters: 4 }));
  });

  it('copies the parent\'s weights; known classes keep their rows, a new class starts from --init-class', async () => {
    const child = out('child');
    await train({ data: childData, conditional: true, init: parentRun, initClass: 'basophil', iters: 1, out: child, checkpointEvery: 1, logEvery: 1 });
    const p = (await readRun(parentRun)), c = await readRun(child);
    const pck = path.join(parentRun, 'checkpoints', checkpointName(p.latest!)), cck = path.join(child, 'checkpoints', checkpointName(0));
    for (const part of ['generator_ema', 'discriminator']) {
      const pw = await weights(pck, part), cw = await weights(cck, part);
      for (const [name, t] of Object.entries(cw)) {
        if (name === 'g_dense/kernel') {
          const pr = rows(pw[name]), cr = rows(t);
          expect(cr.slice(0, 8)).toEqual(pr.slice(0, 8)); // noise rows
          // child classes eosinophil, lymphocyte, monocyte ← parent rows 1, 2, and basophil's 0
          expect([cr[8], cr[9], cr[10]]).toEqual([pr[9], pr[10], pr[8]]);
        } else if (/^g_cbn\d+_(gain|bias)\/kernel$|^d_embed\/kernel$/.test(name)) {
          const pr = rows(pw[name]);
          expect(rows(t)).toEqual([pr[1], pr[2], pr[0]]);
        } else if (!/sn_[uv]$/.test(name)) {
          expect(Array.from(t.dataSync()), `${part} ${name}`).toEqual(Array.from(pw[name].dataSync()));
        }
      }
    }
    // Settings come from the parent; provenance is recorded with the hash of the parent's weights.
    expect(c.options.options).toMatchObject({ recipe: 'sngan', gWidth: 2, nz: 8, batch: 4, loss: 'hinge', init: path.resolve(parentRun), initClass: 'basophil' });
    const sha = hashBytes(Buffer.concat([await fs.readFile(path.join(pck, 'generator_ema/weights.bin')), await fs.readFile(path.join(pck, 'discriminator/weights.bin'))]));
    expect(c.options.parent).toEqual({ path: path.resolve(parentRun), checkpoint: p.latest, sha256: sha, classes: ['basophil', 'eosinophil', 'lymphocyte'], recipe: 'sngan' });
    const g = await generate({ model: child, count: 1, out: out('child-gen') });
    const manifest = await readJsonl<{ parent_sha256?: string }>(g.manifest);
    expect(manifest.every((r) => r.parent_sha256 === sha)).toBe(true);
  });

  it('without --init-class a new class starts from the mean of the parent\'s rows', async () => {
    const child = out('child-mean');
    await train({ data: childData, conditional: true, init: parentRun, iters: 1, out: child, checkpointEvery: 1 });
    const pw = await weights(path.join(parentRun, 'checkpoints', checkpointName((await readRun(parentRun)).latest!)), 'discriminator');
    const cw = await weights(path.join(child, 'checkpoints', checkpointName(0)), 'discriminator');
    const pr = rows(pw['d_embed/kernel']), cr = rows(cw['d_embed/kernel']);
    cr[2].forEach((v, j) => expect(v).toBeCloseTo((pr[0][j] + pr[1][j] + pr[2][j]) / 3, 6));
  });

  it('FreezeD keeps D\'s first blocks fixed while the rest trains; a fine-tune resumes bit for bit', async () => {
    const opts = { data: childData, conditional: true, init: parentRun, freezeD: 1, iters: 4, checkpointEvery: 2 };
    const full = await train({ ...opts, out: out('freeze-full') });
    const start = await weights(path.join(out('freeze-full'), 'checkpoints', checkpointName(0)), 'discriminator');
    const end = await weights(full.checkpoint, 'discriminator');
    expect(Array.from(end['d_conv0/kernel'].dataSync())).toEqual(Array.from(start['d_conv0/kernel'].dataSync()));
    expect(Array.from(end['d_conv1/kernel'].dataSync())).not.toEqual(Array.from(start['d_conv1/kernel'].dataSync()));
    const ctl = new AbortController();
    await train({ ...opts, out: out('freeze-part'), signal: ctl.signal, onIteration: (i) => { if (i === 2) ctl.abort(); } });
    const resumed = await train({ resume: out('freeze-part'), iters: 4 });
    const a = await checkpointBytes(full.checkpoint), b = await checkpointBytes(resumed.checkpoint);
    for (const k of Object.keys(a)) expect(Buffer.compare(a[k], b[k]), k).toBe(0);
  });

  it('model pack makes a shipped model (one checkpoint: generator_ema, discriminator, state) that generates the same images and fine-tunes', async () => {
    const model = out('shipped');
    const info = await readRun(parentRun);
    const packed = await packModel({ run: parentRun, out: model });
    expect(packed.checkpoint).toBe(info.latest);
    const ck = path.join(model, 'checkpoints', checkpointName(info.latest!));
    expect((await fs.readdir(ck)).sort()).toEqual(['discriminator', 'generator_ema', 'state.json']);
    expect((await fs.readdir(path.join(model, 'checkpoints')))).toHaveLength(1);
    const g = await generate({ model, count: 2, out: out('shipped-gen') });
    expect(g.total).toBe(6);
    const fromRun = await generate({ model: parentRun, count: 2, out: out('run-gen') });
    for (const f of ['basophil/000000.png', 'lymphocyte/000001.png']) {
      expect(await fs.readFile(path.join(g.out, f))).toEqual(await fs.readFile(path.join(fromRun.out, f)));
    }
    const r = await train({ data: childData, conditional: true, init: model, iters: 2, out: out('from-shipped') });
    expect(r.iteration).toBe(2);
    const child = await readRun(out('from-shipped'));
    expect(child.options.options.init).toBe(path.resolve(model));
    await expect(packModel({ run: parentRun, out: path.join(parentRun, 'inside') })).rejects.toThrow(/outside the run folder/);
    await expect(packModel({ run: parentRun, out: model })).rejects.toThrow(/not empty|exists|--force/);
    await expect(packModel({ run: parentRun, out: out('x'), checkpoint: 3 })).rejects.toThrow(/no checkpoint 3; available/);
  });

  it('a fine-tuned model carries its lineage (ancestors and their cost), which survives replacing the parent\'s folder', async () => {
    const model = out('shipped'); // packed from the 4-iteration parent by the test above
    const child = out('from-shipped'); // 2 iterations from it
    const parentState = JSON.parse(await fs.readFile(path.join(parentRun, 'checkpoints', checkpointName(4), 'state.json'), 'utf8'));
    const first = { path: path.resolve(model), iterations: 4, cpu_s: roundSeconds(parentState.cpuTimeS), recipe: 'sngan' };
    expect(await trainingLineage((await readRun(child)).options)).toEqual([expect.objectContaining(first)]);
    const model2 = out('shipped-2');
    await packModel({ run: child, out: model2 });
    expect(JSON.parse(await fs.readFile(path.join(model2, LINEAGE), 'utf8'))).toEqual([expect.objectContaining(first)]);
    await train({ data: childData, conditional: true, init: model2, iters: 1, out: out('grandchild') });
    const grand = (await readRun(out('grandchild'))).options;
    const both = [expect.objectContaining(first), expect.objectContaining({ path: path.resolve(model2), iterations: 2 })];
    expect(await trainingLineage(grand)).toEqual(both);
    // A new model shipped under the old one's name: the lineage is read from model2's file, not from the replaced folder.
    await packModel({ run: child, out: model, force: true });
    expect(await trainingLineage(grand)).toEqual(both);
    // A run that started from the old weights of the replaced folder cannot claim its cost.
    await expect(trainingLineage((await readRun(child)).options)).rejects.toThrow(/changed since the run started/);
    // …but the model packed from that run answers from its own file (as the shipped model scored after replacing its parent does).
    expect(await trainingLineage((await readRun(model2)).options, model2)).toEqual([expect.objectContaining(first)]);
  });

  it('refuses what cannot be fine-tuned, naming the reason', async () => {
    const base = { data: childData, init: parentRun, iters: 1 };
    await expect(train({ ...base, conditional: true, gWidth: 4, out: out('e1') })).rejects.toThrow(/keeps the parent model's architecture; gWidth is 2 there, not 4/);
    await expect(train({ ...base, conditional: true, initClass: 'neutrophil', out: out('e2') })).rejects.toThrow(/--init-class: expected one of .*basophil, eosinophil, lymphocyte.*received "neutrophil"/);
    await expect(train({ ...base, className: 'monocyte', out: out('e3') })).rejects.toThrow(/is a conditional model; pass --conditional/);
    await expect(train({ ...base, conditional: true, freezeD: 9, out: out('e4') })).rejects.toThrow(/--freeze-d: expected at most 3/);
    await expect(train({ data: childData, conditional: true, iters: 1, freezeD: 1, out: out('e5') })).rejects.toThrow(/need --init/);
    await expect(train({ ...base, init: out('nowhere'), conditional: true, out: out('e6') })).rejects.toThrow(/not a cellgan run folder/);
  });

  it('refuses a --split whose validation or test images the --init model trained on, naming the image; accepts one it never saw', async () => {
    // The child's eosinophil and lymphocyte files are byte copies of the parent's training images.
    const split = await makeSplit(childData, { seed: 1, val: 0.34, test: 0.34 });
    const splitFile = out('child-split.json');
    await writeSplit(splitFile, split);
    const err = await train({ data: childData, split: splitFile, conditional: true, init: parentRun, iters: 1, out: out('leak') }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/(validation|test) image is a copy of one the --init model trained on/);
    expect((err as { file?: string }).file).toMatch(/(eosinophil|lymphocyte)/);
    await expect(fs.access(out('leak'))).rejects.toThrow(); // refused before writing anything
    // Held-out images only of a class the parent never saw: accepted.
    const clean = { ...split, splits: { train: split.splits.train, val: split.splits.val.filter((f) => f.startsWith('monocyte/')), test: split.splits.test.filter((f) => f.startsWith('monocyte/')) } };
    const cleanFile = out('child-split-clean.json');
    await writeSplit(cleanFile, clean);
    const ok = await train({ data: childData, split: cleanFile, conditional: true, init: parentRun, iters: 1, out: out('no-leak') });
    expect(ok.iteration).toBe(1);
  });
});
