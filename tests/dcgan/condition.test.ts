// train --condition: a conditional model conditioned on a finer labels-CSV column (e.g. ig's
// stages), whose images generate writes under the class each condition lies within.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, SAMPLES } from '../helpers/env.js';
import { train, readRun, generate, generationPlan, checkpointName } from '../../src/dcgan/index.js';
import { initSources } from '../../src/dcgan/transfer.js';
import { loadDataset, refineLabels } from '../../src/data/index.js';
import { tf, initBackend } from '../../src/engine/index.js';
import { tinyOptions, readJsonl } from './helpers.js';

const tmp = tempDir('cellgan-condition-');
const out = (name: string) => path.join(tmp.dir, name);
beforeAll(async () => { await initBackend('wasm'); });
afterAll(() => tmp.cleanup());

/** Stage of the k-th image (sorted) of each class; ig and neutrophil are split, lymphocyte is not. */
const STAGES: Record<string, string[]> = { ig: ['myelocyte', 'metamyelocyte', 'myelocyte'], lymphocyte: ['lymphocyte', 'lymphocyte', 'lymphocyte'], neutrophil: ['band', 'segmented', 'segmented'] };

/** Three images of three classes, with labels.csv (file,class,stage) beside them. */
async function stagedData(name: string, stageOf: (cls: string, k: number) => string = (c, k) => STAGES[c][k]): Promise<string> {
  const root = out(name);
  const lines = ['file,class,stage'];
  for (const c of Object.keys(STAGES)) {
    await fs.mkdir(path.join(root, c), { recursive: true });
    const files = (await fs.readdir(path.join(SAMPLES, c))).sort().slice(0, 3);
    for (const [k, f] of files.entries()) {
      await fs.copyFile(path.join(SAMPLES, c, f), path.join(root, c, f));
      lines.push(`${c}/${f},${c},${stageOf(c, k)}`);
    }
  }
  await fs.writeFile(path.join(root, 'labels.csv'), lines.join('\n') + '\n');
  return root;
}

async function weights(ckpt: string, part: string): Promise<tf.NamedTensorMap> {
  const manifest = JSON.parse(await fs.readFile(path.join(ckpt, part, 'model.json'), 'utf8'));
  const bin = await fs.readFile(path.join(ckpt, part, 'weights.bin'));
  return tf.io.decodeWeights(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer, manifest.weightsManifest[0].weights);
}

const SN = { recipe: 'sngan' as const, conditional: true, className: undefined, batch: 4, gWidth: 2, dWidth: 2, nz: 8 };
let data = '';
let labels = '';
const child = out('child');
const parent = out('parent');

describe('train --condition', () => {
  beforeAll(async () => {
    data = await stagedData('data');
    labels = path.join(data, 'labels.csv');
  });

  it('refineLabels relabels by the column and maps each value to its class; refuses a bad column, a value under two classes, class folders', async () => {
    const ds = await loadDataset(data, { labels });
    const { items, groups } = refineLabels(ds, ds.items, 'stage');
    expect(groups).toEqual({ myelocyte: 'ig', metamyelocyte: 'ig', lymphocyte: 'lymphocyte', band: 'neutrophil', segmented: 'neutrophil' });
    expect(items.map((i) => i.label).sort()).toEqual([...STAGES.ig, ...STAGES.lymphocyte, ...STAGES.neutrophil].sort());
    expect(() => refineLabels(ds, ds.items, 'nope')).toThrow(/--condition: expected a column of the labels file other than file and class \(it has: file, class, stage\), received "nope"/);
    expect(() => refineLabels(ds, ds.items, 'class')).toThrow(/other than file and class/);
    const mixed = await stagedData('data-mixed', (c, k) => (c === 'neutrophil' && k === 0 ? 'myelocyte' : STAGES[c][k]));
    const dm = await loadDataset(mixed, { labels: path.join(mixed, 'labels.csv') });
    expect(() => refineLabels(dm, dm.items, 'stage')).toThrow(/stage "myelocyte" lies within two classes, ig \(e\.g\. ig\/.+\) and neutrophil \(neutrophil\/.+\)/);
    const empty = await stagedData('data-empty', (c, k) => (c === 'lymphocyte' && k === 1 ? '' : STAGES[c][k]));
    const de = await loadDataset(empty, { labels: path.join(empty, 'labels.csv') });
    expect(() => refineLabels(de, de.items, 'stage')).toThrow(/labels\.csv: lymphocyte\/.+: stage is not usable as a class \(empty class name\)/);
    const folders = await loadDataset(data);
    expect(() => refineLabels(folders, folders.items, 'stage')).toThrow(/class folders/);
  });

  it('trains on the conditions, records their classes; a new condition of a fine-tune starts from its class; resumes', async () => {
    await train(tinyOptions(parent, { ...SN, data, iters: 2 })); // classes ig, lymphocyte, neutrophil
    await expect(train({ ...tinyOptions(out('x'), { data, labels, condition: 'stage' }) })).rejects.toThrow(/--condition needs --conditional/);
    await train({ data, labels, condition: 'stage', conditional: true, init: parent, iters: 1, out: child, checkpointEvery: 1, logEvery: 1 });
    const c = await readRun(child);
    expect(c.classes).toEqual(['band', 'lymphocyte', 'metamyelocyte', 'myelocyte', 'segmented']);
    expect(c.outputClasses).toEqual(['ig', 'lymphocyte', 'neutrophil']);
    expect(c.options.classGroups).toEqual({ band: 'neutrophil', lymphocyte: 'lymphocyte', metamyelocyte: 'ig', myelocyte: 'ig', segmented: 'neutrophil' });
    expect(c.options.imagesPerClass).toEqual({ band: 1, lymphocyte: 3, metamyelocyte: 1, myelocyte: 2, segmented: 2 });
    expect(c.options.options.condition).toBe('stage');
    // G's label rows: band ← neutrophil (parent row 2), lymphocyte ← lymphocyte (1), the stages of ig ← ig (0).
    const p = await readRun(parent);
    const pw = await weights(path.join(parent, 'checkpoints', checkpointName(p.latest!)), 'generator_ema');
    const cw = await weights(path.join(child, 'checkpoints', checkpointName(0)), 'generator_ema');
    const pr = pw['g_dense/kernel'].arraySync() as number[][], cr = cw['g_dense/kernel'].arraySync() as number[][];
    expect(cr.slice(8, 13)).toEqual([pr[10], pr[9], pr[8], pr[8], pr[10]]);
    expect(initSources(['ig', 'lymphocyte'], ['myelocyte', 'lymphocyte', 'band'], null, { myelocyte: 'ig', lymphocyte: 'lymphocyte', band: 'neutrophil' })).toEqual({ myelocyte: 'ig' });
    expect(initSources(['ig', 'lymphocyte'], ['myelocyte', 'band'], 'lymphocyte', { myelocyte: 'ig', band: 'neutrophil' })).toEqual({ myelocyte: 'lymphocyte', band: 'lymphocyte' });
    const resumed = await train({ resume: child, iters: 2 });
    expect(resumed.iteration).toBe(2);
    expect((await readRun(child)).options.classGroups).toEqual(c.options.classGroups);
  });

  it('generate writes each class from its conditions in their training proportions; --by-condition one folder per condition', async () => {
    const g = await generate({ model: child, count: 6, out: out('gen') });
    expect(g.classes).toEqual(['ig', 'lymphocyte', 'neutrophil']);
    expect(g.counts).toEqual({ ig: 6, lymphocyte: 6, neutrophil: 6 });
    expect((await fs.readdir(out('gen/ig'))).sort()).toEqual(['metamyelocyte-000000.png', 'metamyelocyte-000001.png', 'myelocyte-000000.png', 'myelocyte-000001.png', 'myelocyte-000002.png', 'myelocyte-000003.png']);
    const rows = await readJsonl<{ file: string; class: string; condition: string; index: number }>(g.manifest);
    expect(rows.find((r) => r.file === 'neutrophil/band-000001.png')).toMatchObject({ class: 'neutrophil', condition: 'band', index: 1 });
    expect(rows.filter((r) => r.class === 'neutrophil').map((r) => r.condition)).toEqual(['band', 'band', 'segmented', 'segmented', 'segmented', 'segmented']);
    // The same noise makes the same image whichever way the folder is cut.
    const byCondition = await generate({ model: child, count: 6, out: out('gen-by'), byCondition: true });
    expect(byCondition.classes).toEqual(['band', 'lymphocyte', 'metamyelocyte', 'myelocyte', 'segmented']);
    expect(await fs.readFile(out('gen-by/myelocyte/000003.png'))).toEqual(await fs.readFile(out('gen/ig/myelocyte-000003.png')));
    const ig = await generate({ model: child, count: 3, out: out('gen-ig'), className: 'ig' });
    expect(ig.counts).toEqual({ ig: 3 });
    await expect(generate({ model: child, count: 3, out: out('gen-x'), className: 'myelocyte' })).rejects.toThrow(/does not make class "myelocyte"; it makes ig, lymphocyte, neutrophil/);
  });

  it('generationPlan splits a class\'s count by the largest remainder (what the ig experiment used)', () => {
    const run = { classes: ['ig', 'metamyelocyte', 'myelocyte', 'promyelocyte'], outputClasses: ['ig'], options: { classGroups: { ig: 'ig', metamyelocyte: 'ig', myelocyte: 'ig', promyelocyte: 'ig' }, imagesPerClass: { ig: 101, metamyelocyte: 715, myelocyte: 801, promyelocyte: 409 } } } as unknown as Parameters<typeof generationPlan>[0];
    expect(generationPlan(run, 300, false).map((s) => [s.condition, s.count])).toEqual([['ig', 15], ['metamyelocyte', 106], ['myelocyte', 119], ['promyelocyte', 60]]);
    expect(generationPlan(run, 1, false).map((s) => [s.condition, s.count])).toEqual([['myelocyte', 1]]);
  });
});
