import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { promises as fs, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { exportDataset, type ExportManifestRow } from '../../src/export/index.js';
import { CellganError } from '../../src/util/errors.js';
import { SAMPLES, tempDir } from '../helpers/env.js';
import { parse as parseYaml } from 'yaml';
import { CLASSES, hashTree, readJsonl, writeSyntheticFolder, writeUnevenSplit } from './helpers.js';
import { hfLicense } from '../../src/export/card.js';

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const META = new Set(['manifest.csv', 'manifest.jsonl', 'dataset.json', 'README.md']);

/** Splits one CSV line with RFC 4180 quoting. */
function csvLine(line: string): string[] {
  const out: string[] = []; let cur = ''; let q = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (q) { if (ch === '"' && line[i + 1] === '"') { cur += '"'; i++; } else if (ch === '"') q = false; else cur += ch; }
    else if (ch === '"') q = true; else if (ch === ',') { out.push(cur); cur = ''; } else cur += ch;
  }
  out.push(cur);
  return out;
}

describe('exportDataset on samples/pbc-mini', () => {
  const tmp = tempDir('cellgan-export-');
  const split = path.join(tmp.dir, 'split.json');
  const synA = path.join(tmp.dir, 'synA');
  const synB = path.join(tmp.dir, 'synB');
  const out = path.join(tmp.dir, 'out');
  const N = 12;
  let trainCounts: Record<string, number>;
  let inputsBefore: Map<string, string>;
  const inputHashes = async () => new Map([
    ...[...(await hashTree(SAMPLES))].map(([k, v]) => [`samples/${k}`, v] as const),
    ...[...(await hashTree(synA))].map(([k, v]) => [`synA/${k}`, v] as const),
    ...[...(await hashTree(synB))].map(([k, v]) => [`synB/${k}`, v] as const),
    ['split.json', sha(split)] as const,
  ]);
  const opts = () => ({
    data: SAMPLES, split, synthetic: [synA, synB], perClass: N, out, format: 'hf' as const, seed: 5,
    command: 'cellgan export --data samples/pbc-mini --per-class 12 (test)',
  });

  beforeAll(async () => {
    ({ trainCounts } = await writeUnevenSplit(split));
    // synA: 3 per class with a manifest (numeric checkpoint, as `cellgan generate` writes it);
    // synB: 2 per class for two classes, no manifest (folder fallback).
    await writeSyntheticFolder(synA, { perClass: 3, run: 'runs/fake-a', checkpoint: 300, seed: 11 });
    await writeSyntheticFolder(synB, { perClass: 2, classes: [CLASSES[0], CLASSES[1]], manifest: false, seed: 12 });
    inputsBefore = await inputHashes();
    await exportDataset(opts());
  });
  afterAll(() => tmp.cleanup());

  const rows = () => readJsonl<ExportManifestRow>(path.join(out, 'manifest.jsonl'));

  it('fills every training class to exactly N: all real first, then synthetic, then augmented', async () => {
    for (const c of CLASSES) {
      const files = (await fs.readdir(path.join(out, 'train', c))).filter((f) => !f.startsWith('.'));
      expect(files, c).toHaveLength(N);
      const mine = rows().filter((r) => r.split === 'train' && r.class === c);
      const real = mine.filter((r) => r.origin === 'real').length;
      const synthetic = mine.filter((r) => r.origin === 'synthetic').length;
      expect(real, c).toBe(trainCounts[c]); // every real training image, none dropped
      const available = 3 + (c === CLASSES[0] || c === CLASSES[1] ? 2 : 0);
      expect(synthetic, c).toBe(Math.min(N - real, available)); // synthetic-first
      expect(mine.filter((r) => r.origin === 'augmented').length, c).toBe(N - real - synthetic);
    }
  });

  it('keeps synthetic and augmented images out of val and test, which hold the split\'s real images byte for byte', async () => {
    const splitFile = JSON.parse(readFileSync(split, 'utf8')) as { splits: Record<string, string[]> };
    for (const s of ['val', 'test'] as const) {
      const mine = rows().filter((r) => r.split === s);
      expect(mine.every((r) => r.origin === 'real')).toBe(true);
      expect(mine.map((r) => r.source).sort()).toEqual([...splitFile.splits[s]].sort());
      for (const r of mine) expect(sha(path.join(SAMPLES, r.source))).toBe(r.sha256);
    }
    const onDisk = [...(await hashTree(out)).keys()].filter((f) => /^(val|test)\//.test(f) && !f.endsWith('metadata.jsonl'));
    expect(onDisk.some((f) => /\/(syn\d+|aug)_/.test(f))).toBe(false);
  });

  it('manifest.jsonl and manifest.csv account for every file, with matching sha256 and provenance', async () => {
    const tree = await hashTree(out);
    const images = [...tree.keys()].filter((f) => !META.has(f) && !f.endsWith('/metadata.jsonl'));
    const r = rows();
    expect(r.map((x) => x.file)).toEqual(images); // same set, sorted the same way
    for (const x of r) expect(tree.get(x.file), x.file).toBe(x.sha256);

    const csv = readFileSync(path.join(out, 'manifest.csv'), 'utf8').trimEnd().split('\n');
    expect(csv[0]).toBe('file,split,class,origin,source,transform,sha256');
    expect(csv.slice(1).map(csvLine)).toEqual(r.map((x) => [x.file, x.split, x.class, x.origin, x.source, x.transform, x.sha256]));

    const synth = r.filter((x) => x.origin === 'synthetic');
    expect(synth.some((x) => /^run=runs\/fake-a checkpoint=300 seed=11 index=\d+$/.test(x.source))).toBe(true);
    expect(synth.some((x) => x.source.startsWith('synthetic:') && x.source.includes('synB'))).toBe(true);
    for (const x of r.filter((y) => y.origin === 'augmented')) {
      expect(x.transform).toMatch(/^(flipH|flipV|rot|color)/);
      expect(x.source.startsWith(`${x.class}/`)).toBe(true);
      expect(r.some((y) => y.split === 'train' && y.origin === 'real' && y.source === x.source)).toBe(true);
    }
    // Every synthetic file is a byte copy of its input.
    const synFile = synth.find((x) => x.source.startsWith('run='))!;
    const idx = Number(/index=(\d+)/.exec(synFile.source)![1]);
    expect(sha(path.join(synA, synFile.class, `${String(idx).padStart(6, '0')}.png`))).toBe(synFile.sha256);
  });

  it('writes dataset.json counts, Hugging Face metadata and a dataset card with licence, citation, runs and command', async () => {
    const info = JSON.parse(readFileSync(path.join(out, 'dataset.json'), 'utf8'));
    const r = rows();
    for (const s of ['train', 'val', 'test']) for (const c of CLASSES) for (const o of ['real', 'synthetic', 'augmented']) {
      expect(info.counts[s][c][o], `${s}/${c}/${o}`).toBe(r.filter((x) => x.split === s && x.class === c && x.origin === o).length);
    }
    expect(info.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(info.options).toMatchObject({ perClass: 12, mix: 'synthetic-first', seed: 5, format: 'hf' });
    const fromA = r.filter((x) => x.source.startsWith('run=runs/fake-a ')).length;
    expect(fromA).toBeGreaterThan(0);
    expect(info.generators).toEqual(expect.arrayContaining([expect.objectContaining({ run: 'runs/fake-a', checkpoint: '300', images: fromA })]));

    for (const s of ['train', 'val', 'test']) {
      const meta = readJsonl<{ file_name: string; label: string; origin: string }>(path.join(out, s, 'metadata.jsonl'));
      expect(meta.length).toBe(r.filter((x) => x.split === s).length);
      for (const m of meta) {
        expect(existsSync(path.join(out, s, m.file_name))).toBe(true);
        expect(m.file_name.split('/')[0]).toBe(m.label);
      }
    }
    const card = readFileSync(path.join(out, 'README.md'), 'utf8');
    expect(card).toMatch(/CC BY 4\.0/);
    expect(card).toMatch(/Acevedo/);
    expect(card).toContain('runs/fake-a');
    expect(card).toContain(`| runs/fake-a | 300 | ${fromA} |`);
    expect(card).toContain(opts().command);
    expect(card).toMatch(/\| train \| basophil \| 4 \| 5 \| 3 \| 12 \|/);
  });

  it('the hf card has Hugging Face front matter: licence, task, the classes as a ClassLabel, the splits', async () => {
    const card = readFileSync(path.join(out, 'README.md'), 'utf8');
    const m = /^---\n([\s\S]*?)\n---\n/.exec(card);
    expect(m, 'front matter at the very top').not.toBeNull();
    const fm = parseYaml(m![1]) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(fm.license).toBe('cc-by-4.0'); // from the samples' README ("CC BY 4.0")
    expect(fm.task_categories).toEqual(['image-classification']);
    const features = fm.dataset_info.features as { name: string; dtype: unknown }[];
    expect(features.map((f) => f.name)).toEqual(['image', 'label', 'origin', 'source', 'transform']);
    expect(features[0].dtype).toBe('image');
    const names = (features[1].dtype as { class_label: { names: Record<string, string> } }).class_label.names;
    expect(names).toEqual(Object.fromEntries(CLASSES.map((c, i) => [String(i), c])));
    const r = rows();
    expect(fm.dataset_info.splits).toEqual([
      { name: 'train', num_examples: r.filter((x) => x.split === 'train').length },
      { name: 'validation', num_examples: r.filter((x) => x.split === 'val').length },
      { name: 'test', num_examples: r.filter((x) => x.split === 'test').length },
    ]);
    expect(fm.configs).toEqual([{ config_name: 'default', data_files: [
      { split: 'train', path: 'train/**' }, { split: 'validation', path: 'val/**' }, { split: 'test', path: 'test/**' }] }]);
  });

  it('maps licence text to Hub identifiers', () => {
    expect(hfLicense('CC BY 4.0', [])).toEqual({ id: 'cc-by-4.0' });
    expect(hfLicense('CC-BY-NC-SA 3.0', [])).toEqual({ id: 'cc-by-nc-sa-3.0' });
    expect(hfLicense('MIT', [])).toEqual({ id: 'mit' });
    expect(hfLicense('Hospital terms of use', [])).toEqual({ id: 'other', name: 'hospital-terms-of-use' });
    expect(hfLicense(undefined, [])).toEqual({ id: 'unknown' });
  });

  it('never modifies its inputs', async () => {
    expect(await inputHashes()).toEqual(inputsBefore);
  });

  it('refuses an existing non-empty output without force; with force, the same seed rebuilds it byte for byte', async () => {
    const before = await hashTree(out);
    await expect(exportDataset(opts())).rejects.toThrow(/not empty; pass --force/);
    expect(await hashTree(out)).toEqual(before);
    await exportDataset({ ...opts(), force: true });
    expect(await hashTree(out)).toEqual(before);
    // …and the seed matters: another seed picks other images/transforms.
    const other = path.join(tmp.dir, 'other-seed');
    await exportDataset({ ...opts(), out: other, seed: 6 });
    const manifestOf = (d: string) => readFileSync(path.join(d, 'manifest.jsonl'), 'utf8');
    expect(manifestOf(other)).not.toBe(manifestOf(out));
    expect(await inputHashes()).toEqual(inputsBefore);
    // No staging folder is left beside the outputs.
    expect((await fs.readdir(tmp.dir)).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('max resolves to the largest real class; cap subsamples bigger classes to exactly N, seeded', async () => {
    const maxOut = path.join(tmp.dir, 'max');
    const res = await exportDataset({ data: SAMPLES, split, perClass: 'max', out: maxOut, augment: 'flip,rot90', seed: 1 });
    expect(res.perClass).toBe(Math.max(...Object.values(trainCounts)));
    for (const c of CLASSES) expect(Object.values(res.counts.train[c]).reduce((a, b) => a + b, 0)).toBe(res.perClass);

    // The smallest class has 4 training images: N = 4 needs no filling, so augmentation can be off.
    const whole = await exportDataset({ data: SAMPLES, split, perClass: 4, out: path.join(tmp.dir, 'whole'), augment: 'none' });
    for (const c of CLASSES) expect(whole.counts.train[c]).toEqual({ real: trainCounts[c], synthetic: 0, augmented: 0 });
    const capped = await exportDataset({ data: SAMPLES, split, perClass: 4, out: path.join(tmp.dir, 'capped'), augment: 'none', cap: true });
    for (const c of CLASSES) expect(capped.counts.train[c]).toEqual({ real: 4, synthetic: 0, augmented: 0 });
    const info = JSON.parse(readFileSync(path.join(tmp.dir, 'capped', 'dataset.json'), 'utf8'));
    expect(info.classNotes[CLASSES[6]].join()).toMatch(/10 real images, more than 4: a seeded subsample of 4 kept/);
    // The subsample depends on the seed, not on file order alone.
    const cappedFiles = (seed: number) => exportDataset({ data: SAMPLES, split, perClass: 4, out: path.join(tmp.dir, `capped-${seed}`), augment: 'none', cap: true, seed })
      .then(() => readJsonl<ExportManifestRow>(path.join(tmp.dir, `capped-${seed}`, 'manifest.jsonl')).filter((r) => r.split === 'train').map((r) => r.file).join());
    expect(await cappedFiles(1)).not.toBe(await cappedFiles(2));
  });

  it('validates every option up front with sharp-style messages, and refuses an output inside an input', async () => {
    const base = { data: SAMPLES, split, perClass: 4, out: path.join(tmp.dir, 'never') };
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ perClass: 0 }, /Expected an integer of at least 1 or "max" for --per-class but received 0/],
      [{ perClass: 'lots' }, /--per-class but received "lots"/],
      [{ augment: 'flip,blur' }, /Expected a comma-separated list of flip, rot90, color for --augment but received "flip,blur"/],
      [{ mix: 'ratio:2' }, /for --mix but received "ratio:2"/],
      [{ format: 'tfrecord' }, /Expected one of "imagefolder", "hf" for --format but received "tfrecord"/],
      [{ seed: -1 }, /--seed/],
      [{ synthetic: [synA, synA] }, /--synthetic/],
    ];
    for (const [over, msg] of bad) await expect(exportDataset({ ...base, ...over } as never)).rejects.toThrow(msg);
    const inside = exportDataset({ ...base, out: path.join(SAMPLES, 'exported'), force: true });
    await expect(inside).rejects.toThrow(CellganError);
    await expect(inside).rejects.toThrow(/overlaps the --data input/);
    await expect(exportDataset({ ...base, out: path.dirname(SAMPLES), force: true })).rejects.toThrow(/overlaps/);
    expect(existsSync(path.join(SAMPLES, 'exported'))).toBe(false);
    expect(existsSync(base.out)).toBe(false);
  });
});

describe('exportDataset with unreadable and odd inputs', () => {
  const tmp = tempDir('cellgan-export-bad-');
  afterAll(() => tmp.cleanup());

  it('skips unreadable images with a warning naming the file, re-encodes a CMYK JPEG, and still reaches N', async () => {
    const data = path.join(tmp.dir, 'data');
    const classes = CLASSES.slice(0, 2);
    const splits = { train: [] as string[], val: [] as string[], test: [] as string[] };
    for (const c of classes) {
      await fs.mkdir(path.join(data, c), { recursive: true });
      const files = (await fs.readdir(path.join(SAMPLES, c))).sort().slice(0, 6);
      for (const f of files) await fs.copyFile(path.join(SAMPLES, c, f), path.join(data, c, f));
      splits.train.push(...files.slice(0, 4).map((f) => `${c}/${f}`));
      splits.val.push(`${c}/${files[4]}`);
      splits.test.push(`${c}/${files[5]}`);
    }
    const c0 = classes[0];
    const good = readFileSync(path.join(SAMPLES, c0, (await fs.readdir(path.join(SAMPLES, c0))).sort()[0]));
    await fs.writeFile(path.join(data, c0, 'truncated.jpg'), good.subarray(0, Math.floor(good.length / 3)));
    await sharp(good).toColourspace('cmyk').jpeg().toFile(path.join(data, c0, 'cmyk scan é.jpg'));
    splits.train.push(`${c0}/truncated.jpg`, `${c0}/cmyk scan é.jpg`);
    const split = path.join(tmp.dir, 'split.json');
    await fs.writeFile(split, JSON.stringify({ seed: 0, splits, excluded: [] }));
    const before = await hashTree(data);

    const out = path.join(tmp.dir, 'out');
    const res = await exportDataset({ data, split, perClass: 8, out, license: 'CC BY 4.0 (test)', citation: 'Test et al. 2020' });
    expect(await hashTree(data)).toEqual(before);
    // Either libvips's own reason or, when libvips lost it (its error text is process-wide), the one read off the bytes.
    expect(res.skipped).toContainEqual({ file: path.join(data, c0, 'truncated.jpg'), reason: expect.stringMatching(/^(corrupt or truncated image \(.+\)|truncated JPEG \(no end-of-image marker\)) \(skipped\)$/) });
    const info = JSON.parse(readFileSync(path.join(out, 'dataset.json'), 'utf8'));
    expect(info.skipped.map((s: { file: string }) => path.basename(s.file))).toContain('truncated.jpg');
    for (const c of classes) expect(Object.values(res.counts.train[c]).reduce((a, b) => a + b, 0)).toBe(8);
    expect(res.counts.train[c0].real).toBe(5); // 4 good + the CMYK one; the truncated one skipped
    const cmyk = readJsonl<ExportManifestRow>(path.join(out, 'manifest.jsonl')).find((r) => r.origin === 'real' && r.source === `${c0}/cmyk scan é.jpg`)!;
    expect(cmyk).toMatchObject({ transform: 'convert:png', file: `train/${c0}/cmyk scan é.png` });
    expect((await sharp(path.join(out, cmyk.file)).metadata()).space).toBe('srgb');
    const card = readFileSync(path.join(out, 'README.md'), 'utf8');
    expect(card).toContain('CC BY 4.0 (test)');
    expect(card).toContain('Test et al. 2020');
    expect(card).toMatch(/truncated\.jpg/);
  });

  it('reads a synthetic folder safely: manifest rows outside it, links out of it and missing files are skipped and listed', async () => {
    const split = path.join(tmp.dir, 'split-syn.json');
    await writeUnevenSplit(split);
    const syn = path.join(tmp.dir, 'syn-odd');
    await writeSyntheticFolder(syn, { perClass: 10, classes: [CLASSES[0]], run: 'runs/odd' });
    const secret = path.join(tmp.dir, 'secret.png');
    await fs.copyFile(path.join(syn, CLASSES[0], '000000.png'), secret);
    await fs.symlink(secret, path.join(syn, CLASSES[0], 'link.png'));
    const extra = [
      { file: '../secret.png', class: CLASSES[0], run: 'x', checkpoint: 'y', seed: 1, index: 98 },
      { file: `${CLASSES[0]}/link.png`, class: CLASSES[0], run: 'x', checkpoint: 'y', seed: 1, index: 99 },
      { file: `${CLASSES[0]}/missing.png`, class: CLASSES[0], run: 'x', checkpoint: 'y', seed: 1, index: 100 },
      { file: 'martian/000001.png', class: 'martian', run: 'x', checkpoint: 'y', seed: 1, index: 101 },
    ];
    await fs.appendFile(path.join(syn, 'manifest.jsonl'), extra.map((r) => JSON.stringify(r)).join('\n') + '\nnot json\n');
    const out = path.join(tmp.dir, 'out-syn');
    // Only class 0 has synthetic images and it needs 16 - 4 = 12: all 10 good ones, plus every odd row tried.
    const res = await exportDataset({ data: SAMPLES, split, synthetic: syn, perClass: 16, out, augment: 'flip,rot90,color' });
    const reasons = res.skipped.map((s) => `${s.file}: ${s.reason}`).join('\n');
    expect(reasons).toMatch(/manifest\.jsonl:\d+: "file" points outside the folder: \.\.\/secret\.png/);
    expect(reasons).toMatch(/link\.png: a link pointing outside the synthetic folder/);
    expect(reasons).toMatch(/missing\.png: cannot read: no such file or folder \(skipped\)/);
    expect(reasons).toMatch(/manifest\.jsonl:\d+: not valid JSON/);
    expect(res.warnings.join()).toMatch(/class "martian" is not in the data/);
    expect(res.counts.train[CLASSES[0]]).toEqual({ real: 4, synthetic: 10, augmented: 2 });
    const rows = readJsonl<ExportManifestRow>(path.join(out, 'manifest.jsonl'));
    expect(rows.some((r) => /index=(98|99|100|101)$/.test(r.source))).toBe(false);
  });

  it('quotes the licence and citation from a README beside the data folder when the folder has none, and warns when there is none at all', async () => {
    const collection = path.join(tmp.dir, 'collection');
    const data = path.join(collection, 'cells-64');
    const splits = { train: [] as string[], val: [] as string[], test: [] as string[] };
    for (const c of CLASSES.slice(0, 2)) {
      await fs.mkdir(path.join(data, c), { recursive: true });
      for (const f of (await fs.readdir(path.join(SAMPLES, c))).sort().slice(0, 3)) {
        await fs.copyFile(path.join(SAMPLES, c, f), path.join(data, c, f));
        splits.train.push(`${c}/${f}`);
      }
    }
    const split = path.join(tmp.dir, 'split-collection.json');
    await fs.writeFile(split, JSON.stringify({ seed: 0, splits, excluded: [] }));
    const noDocs = await exportDataset({ data, split, perClass: 3, out: path.join(tmp.dir, 'no-docs') });
    expect(noDocs.warnings.join('\n')).toMatch(/no licence found.*--license/);
    expect(readFileSync(path.join(tmp.dir, 'no-docs', 'README.md'), 'utf8')).toMatch(/No licence or citation was found/);
    // val and test hold no image, yet every split has a folder for every class (same class_to_idx everywhere).
    for (const s of ['train', 'val', 'test']) {
      expect((await fs.readdir(path.join(tmp.dir, 'no-docs', s))).sort(), s).toEqual(CLASSES.slice(0, 2));
    }
    expect(await fs.readdir(path.join(tmp.dir, 'no-docs', 'test', CLASSES[0]))).toEqual([]);
    // hf without any licence: "unknown", and only the split with images is a config.
    await exportDataset({ data, split, perClass: 3, out: path.join(tmp.dir, 'no-docs-hf'), format: 'hf' });
    const fm = parseYaml(/^---\n([\s\S]*?)\n---\n/.exec(readFileSync(path.join(tmp.dir, 'no-docs-hf', 'README.md'), 'utf8'))![1]);
    expect(fm.license).toBe('unknown');
    expect(fm.configs[0].data_files).toEqual([{ split: 'train', path: 'train/**' }]);
    expect(existsSync(path.join(tmp.dir, 'no-docs-hf', 'val', CLASSES[1]))).toBe(true);

    await fs.writeFile(path.join(collection, 'README.md'), '# Cell collection\n\nCite: Doe J. Cells (2021). Licence: CC0.\n\n## cells-64/\n\nInternal notes, not for the card.\n');
    const res = await exportDataset({ data, split, perClass: 3, out: path.join(tmp.dir, 'with-docs') });
    expect(res.warnings).toEqual([]);
    const card = readFileSync(path.join(tmp.dir, 'with-docs', 'README.md'), 'utf8');
    expect(card).toContain('From `../README.md` beside the data');
    expect(card).toContain('> Cite: Doe J. Cells (2021). Licence: CC0.');
    expect(card).not.toContain('Internal notes');
  });

  it('stops with a clear error naming the class when N cannot be reached, and writes nothing', async () => {
    const split = path.join(tmp.dir, 'split2.json');
    await writeUnevenSplit(split);
    const out = path.join(tmp.dir, 'short');
    await expect(exportDataset({ data: SAMPLES, split, perClass: 50, augment: 'flip', out })).rejects.toThrow(/basophil needs 46 more image\(s\) but only 12/);
    expect(existsSync(out)).toBe(false);
    expect((await fs.readdir(tmp.dir)).filter((n) => n.startsWith('.'))).toEqual([]);
  });
});
