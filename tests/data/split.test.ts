/** makeSplit's options, --group-by, writeSplit's refusal, and the split CLI. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OptionError } from '../../src/util/errors.js';
import { loadDataset, makeSplit, readSplit, selectSplit, serializeSplit, writeSplit } from '../../src/data/index.js';
import { runCli, tempDir } from '../helpers/env.js';
import { buildCorpus, hashTree, noiseImage, UNREADABLE, CASES } from './corpus.js';

const tmp = tempDir('cellgan-data-split-');
let grouped: string; // 3 classes × 12 images, 9 patients, with a labels CSV
let corpus: string;

beforeAll(async () => {
  grouped = path.join(tmp.dir, 'grouped');
  const rows = ['file,class,patient'];
  for (const [c, cls] of ['alpha', 'beta', 'gamma'].entries()) {
    await fs.mkdir(path.join(grouped, cls), { recursive: true });
    for (let i = 0; i < 12; i++) {
      await fs.writeFile(path.join(grouped, cls, `${i}.png`), await noiseImage(1000 + c * 100 + i, 8));
      rows.push(`${cls}/${i}.png,${cls},patient-${(c * 3 + (i % 3))}`);
    }
  }
  await fs.writeFile(path.join(grouped, 'labels.csv'), rows.join('\n') + '\n');
  corpus = await buildCorpus(path.join(tmp.dir, 'corpus'));
});
afterAll(() => tmp.cleanup());

describe('makeSplit options', () => {
  it('validates fractions and the seed before reading anything', async () => {
    const missing = path.join(tmp.dir, 'does-not-exist');
    await expect(makeSplit(missing, { val: 0.6, test: 0.5 })).rejects.toThrow(/--val \+ --test < 1/);
    await expect(makeSplit(missing, { test: 1 })).rejects.toThrow(OptionError);
    await expect(makeSplit(missing, { val: -0.1 })).rejects.toThrow(/for --val but received -0.1/);
    await expect(makeSplit(missing, { seed: 1.5 })).rejects.toThrow(/--seed/);
    await expect(makeSplit(missing, { val: Number.NaN })).rejects.toThrow(/--val/);
  });

  it('--group-by keeps every patient in one split; needs a CSV column', async () => {
    const ds = await loadDataset(grouped, { labels: 'labels.csv' });
    const split = await makeSplit(ds, { groupBy: 'patient', val: 0.2, test: 0.3, seed: 3 });
    const patientSplits = new Map<string, Set<string>>();
    for (const name of ['train', 'val', 'test'] as const) {
      for (const item of selectSplit(ds, split, name)) {
        const p = item.meta!.patient;
        patientSplits.set(p, (patientSplits.get(p) ?? new Set()).add(name));
      }
    }
    expect(patientSplits.size).toBe(9);
    for (const [p, names] of patientSplits) expect(names.size, `${p} in ${[...names]}`).toBe(1);
    expect(split.options).toEqual({ val: 0.2, test: 0.3, nearThreshold: 0.03, groupBy: 'patient' });
    expect(split.splits.test.length).toBeGreaterThan(0);
    expect(split.splits.train.length).toBeGreaterThan(0);
    // Without grouping, the same data puts patients in several splits (so the test above can fail).
    const loose = await makeSplit(ds, { val: 0.2, test: 0.3, seed: 3 });
    const looseTest = new Set(selectSplit(ds, loose, 'test').map((i) => i.meta!.patient));
    const looseTrain = new Set(selectSplit(ds, loose, 'train').map((i) => i.meta!.patient));
    expect([...looseTest].some((p) => looseTrain.has(p))).toBe(true);
    await expect(makeSplit(ds, { groupBy: 'donor' })).rejects.toThrow(/--group-by "donor" is not an extra column .*columns: file, class, patient/);
    await expect(makeSplit(grouped, { groupBy: 'patient' })).rejects.toThrow(/needs a labels CSV/);
  });

  it('leaves unreadable files and conflicting duplicates out, with reasons; keeps same-class twins together', async () => {
    const split = await makeSplit(corpus, { seed: 1, val: 0.2, test: 0.2 });
    const excluded = Object.fromEntries(split.excluded.map((e) => [e.file, e.reason]));
    expect(Object.keys(excluded).sort()).toEqual([...UNREADABLE, CASES.conflictA, CASES.conflictB].sort());
    expect(excluded[CASES.bomb]).toMatch(/^unreadable: .*pixel limit/);
    expect(excluded[CASES.conflictA]).toMatch(/label conflict/);
    const where = (f: string) => (['train', 'val', 'test'] as const).find((n) => split.splits[n].includes(f));
    expect(where(CASES.sameClassDupA)).toBe(where(CASES.sameClassDupB));
    expect(where(CASES.unicode)).toBeDefined();
  });

  it('writeSplit is atomic, refuses to overwrite unless force, and round-trips through readSplit', async () => {
    const file = path.join(tmp.dir, 'out', 'split.json');
    const split = await makeSplit(grouped, { labels: 'labels.csv', seed: 9 });
    await writeSplit(file, split);
    expect(await fs.readFile(file, 'utf8')).toBe(serializeSplit(split));
    expect(await readSplit(file)).toEqual(JSON.parse(serializeSplit(split)));
    const other = await makeSplit(grouped, { labels: 'labels.csv', seed: 10 });
    await expect(writeSplit(file, other)).rejects.toThrow(/exists already; pass --force/);
    expect(await fs.readFile(file, 'utf8')).toBe(serializeSplit(split));
    await writeSplit(file, other, { force: true });
    expect(await fs.readFile(file, 'utf8')).toBe(serializeSplit(other));
    expect((await fs.readdir(path.dirname(file))).filter((n) => n !== 'split.json')).toEqual([]); // no temp files left
    await expect(writeSplit(tmp.dir, other, { force: true })).rejects.toThrow(/is a folder/);
  });
});

describe('cellgan split (CLI)', () => {
  it('writes the split, refuses to overwrite without --force, replaces it with --force', async () => {
    const before = await hashTree(corpus);
    const out = path.join(tmp.dir, 'cli', 'split.json');
    const args = (seed: number) => ['split', corpus, '--out', out, '--val', '0.2', '--test', '0.2', '--seed', String(seed)];
    const first = await runCli(args(5));
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/wrote .*split\.json: train \d+, val \d+, test \d+, excluded 7 \(seed 5\)/);
    const written = await fs.readFile(out, 'utf8');
    // Same bytes as the library makes in this process: determinism across processes.
    expect(written).toBe(serializeSplit(await makeSplit(corpus, { val: 0.2, test: 0.2, seed: 5 })));

    const again = await runCli(args(5));
    expect(again.code).toBe(1);
    // Without a terminal a status line may come first (issue 17); the error is one line, the last.
    expect(again.stderr.trim().split('\n').at(-1)).toMatch(/^cellgan: error: .*split\.json: exists already; pass --force to replace it$/);
    expect(await fs.readFile(out, 'utf8')).toBe(written);

    // A bad option fails (exit 2) before anything is read or written.
    const [forced, bad] = await Promise.all([
      runCli([...args(6), '--force']),
      runCli(['split', corpus, '--out', path.join(tmp.dir, 'cli', 'bad.json'), '--val', '0.6', '--test', '0.5']),
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toMatch(/^cellgan: error: Expected --val \+ --test < 1/);
    await expect(fs.access(path.join(tmp.dir, 'cli', 'bad.json'))).rejects.toThrow();
    expect(forced.code, forced.stderr).toBe(0);
    expect(await fs.readFile(out, 'utf8')).not.toBe(written);

    expect(await hashTree(corpus)).toBe(before);
  });
});
