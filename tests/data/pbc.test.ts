/**
 * inspect and split on the real PBC data: the known duplicate pairs and the
 * cross-class conflict are found, no duplicate crosses splits, splits are
 * stratified and deterministic.
 */
import { describe, expect, it } from 'vitest';
import { hashFile } from '../../src/util/hash.js';
import { inspect, loadDataset, makeSplit, serializeSplit, type Dataset, type SplitFile } from '../../src/data/index.js';
import { PBC_128, PBC_RAW } from '../helpers/env.js';

const CONFLICT = { files: ['eosinophil/EO_225902.jpg', 'neutrophil/BNE_191112.jpg'], classes: ['eosinophil', 'neutrophil'] };

async function hashes(ds: Dataset): Promise<Map<string, string>> {
  return new Map(await Promise.all(ds.items.map(async (i) => [i.file, await hashFile(i.abs)] as const)));
}

function whereIs(split: SplitFile): Map<string, string> {
  const m = new Map<string, string>();
  for (const [name, files] of Object.entries(split.splits)) for (const f of files) {
    expect(m.has(f), `${f} is in two splits`).toBe(false);
    m.set(f, name);
  }
  return m;
}

describe('pbc-raw-sample', () => {
  it('inspect finds both duplicate pairs and reports the cross-class pair as a conflict', async () => {
    const r = await inspect(PBC_RAW);
    expect(r.files).toBe(144);
    expect(r.unreadable).toEqual([]);
    expect(r.duplicates).toEqual([['basophil/BA_546746.jpg', 'basophil/BA_685720.jpg'], CONFLICT.files]);
    expect(r.conflicts).toEqual([CONFLICT]);
    expect(Object.keys(r.classes)).toEqual(['basophil', 'eosinophil', 'erythroblast', 'ig', 'lymphocyte', 'monocyte', 'neutrophil']);
    expect(r.formats).toEqual({ jpeg: 144 });
    expect(r.perClass.basophil.formats).toEqual({ jpeg: 22 });
    expect(Object.values(r.perClass.basophil.sizes).reduce((a, b) => a + b, 0)).toBe(22);
  });

  it('reads the labels CSV the same way, keeping its extra columns as metadata', async () => {
    const ds = await loadDataset(PBC_RAW, { labels: `${PBC_RAW}/labels.csv` });
    expect(ds.items).toHaveLength(144);
    expect(ds.skipped).toEqual([]);
    expect(Object.keys(ds.items[0].meta!)).toEqual(['fine_class', 'bytes', 'md5']);
    // md5 is the md5 of each file: proof that every row points at the right file.
    const item = ds.items.find((i) => i.file === 'basophil/BA_546746.jpg')!;
    expect(item.meta!.md5).toBe(await hashFile(item.abs, 'md5'));
    const r = await inspect(ds);
    expect(r.conflicts).toEqual([CONFLICT]);
  });

  it('split: stratified, every usable file once, no duplicate across splits, the conflict excluded', async () => {
    const ds = await loadDataset(PBC_RAW);
    const split = await makeSplit(ds, { val: 0.1, test: 0.2, seed: 7 });
    const at = whereIs(split);
    expect(split.excluded.map((e) => e.file)).toEqual(CONFLICT.files);
    for (const e of split.excluded) expect(e.reason).toMatch(/label conflict/);
    expect(at.size + split.excluded.length).toBe(ds.items.length);
    const byHash = new Map<string, string[]>();
    for (const [file, h] of await hashes(ds)) byHash.set(h, [...(byHash.get(h) ?? []), file]);
    for (const group of byHash.values()) {
      const places = new Set(group.map((f) => at.get(f) ?? 'excluded'));
      expect(places.size, `duplicates ${group.join(', ')} in ${[...places].join(', ')}`).toBe(1);
    }
    for (const cls of ds.classes) {
      const n = ds.items.filter((i) => i.label === cls && at.has(i.file)).length;
      const count = (name: string) => split.splits[name as 'train'].filter((f) => f.startsWith(cls + '/')).length;
      // The basophil duplicate pair moves as one unit, hence the ±1.
      expect(Math.abs(count('test') - n * 0.2)).toBeLessThanOrEqual(1);
      expect(Math.abs(count('val') - n * 0.1)).toBeLessThanOrEqual(1);
      expect(count('train') + count('val') + count('test')).toBe(n);
    }
  });

  it('split is deterministic: same seed → same bytes, other seed → other split', async () => {
    const a = serializeSplit(await makeSplit(PBC_RAW, { seed: 42 }));
    const b = serializeSplit(await makeSplit(PBC_RAW, { seed: 42 }));
    const c = serializeSplit(await makeSplit(PBC_RAW, { seed: 43 }));
    expect(a).toBe(b);
    expect(c).not.toBe(a);
    expect(JSON.parse(c).splits.test).not.toEqual(JSON.parse(a).splits.test);
    expect(Object.keys(JSON.parse(a))).toEqual(['seed', 'splits', 'excluded', 'options']);
  });
});

describe('pbc-128 (14,744 files)', () => {
  it('inspect finds the 17 duplicate pairs and the one conflict', async () => {
    const r = await inspect(PBC_128);
    expect(r.files).toBe(14_744);
    expect(r.unreadable).toEqual([]);
    expect(r.duplicates).toHaveLength(17);
    for (const g of r.duplicates) expect(g).toHaveLength(2);
    expect(r.conflicts).toEqual([CONFLICT]);
    expect(r.classes).toEqual({ basophil: 1218, eosinophil: 3117, erythroblast: 1551, ig: 2895, lymphocyte: 1214, monocyte: 1420, neutrophil: 3329 });
    expect(r.sizes).toEqual({ '128×128': 14_744 });
  });
});
