/**
 * Leaks and memorisation on real PBC cells: synthetic folders seeded with
 * planted copies (exact, mirrored, re-encoded, slightly cropped) of real
 * training / test images must be caught; distinct real cells must not be.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDataset, type DatasetItem } from '../../src/data/index.js';
import { auditMemorization, buildHeldOut, buildReference, calibrateMemorization, findLeak, readSynthetic } from '../../src/data/leaks.js';
import { Rng } from '../../src/util/rng.js';
import { PBC_128, tempDir } from '../helpers/env.js';

const tmp = tempDir('cellgan-leaks-');
let train: DatasetItem[], test: DatasetItem[], val: DatasetItem[], others: DatasetItem[];
const planted: { file: string; abs: string; label: string; of: string; how: string }[] = [];
const distinct: { file: string; abs: string; label: string }[] = [];

const PLANTS: [string, (b: Buffer) => Promise<Buffer>][] = [
  ['exact', async (b) => b],
  ['mirrored', (b) => sharp(b).flop().png().toBuffer()],
  ['re-encoded', (b) => sharp(b).jpeg({ quality: 60 }).toBuffer()],
  ['cropped 3%', async (b) => { const m = await sharp(b).metadata(); const d = Math.round(m.width! * 0.03); return sharp(b).extract({ left: d, top: d, width: m.width! - 2 * d, height: m.height! - 2 * d }).resize(64, 64).png().toBuffer(); }],
];

beforeAll(async () => {
  const ds = await loadDataset(PBC_128);
  const order = [...ds.items.keys()];
  new Rng('leaks-test').shuffle(order);
  const pick = order.map((i) => ds.items[i]);
  train = pick.slice(0, 1500); val = pick.slice(1500, 1800); test = pick.slice(1800, 2100); others = pick.slice(2100, 2200);
  const dir = path.join(tmp.dir, 'synthetic');
  for (const [k, item] of train.slice(0, 12).entries()) {
    const [how, make] = PLANTS[k % PLANTS.length];
    const file = `${item.label}/plant-${k}.png`;
    await fs.mkdir(path.join(dir, item.label), { recursive: true });
    await fs.writeFile(path.join(dir, file), await make(await fs.readFile(item.abs)));
    planted.push({ file, abs: path.join(dir, file), label: item.label, of: item.file, how });
  }
  for (const [k, item] of others.entries()) {
    const file = `${item.label}/distinct-${k}.png`;
    await fs.mkdir(path.join(dir, item.label), { recursive: true });
    await fs.writeFile(path.join(dir, file), await sharp(item.abs).resize(64, 64).png().toBuffer());
    distinct.push({ file, abs: path.join(dir, file), label: item.label });
  }
}, 300_000);
afterAll(() => tmp.cleanup());

describe('memorisation audit', () => {
  it('flags planted copies of training images (exact, mirrored, re-encoded, cropped) and no distinct real cell', async () => {
    const ref = await buildReference(train);
    const cal = await calibrateMemorization(ref, [...val, ...test], 0.03);
    expect(cal.held_out).toBe(600);
    // Real held-out cells are mostly farther from training than the flag threshold (null: not found within the search).
    if (cal.real_nearest_median !== null) expect(cal.real_nearest_median).toBeGreaterThan(cal.threshold);
    // The flag threshold is the smaller of the near-duplicate threshold and the real cells' 1 % quantile.
    expect(cal.threshold).toBe(Math.min(0.03, cal.real_nearest_quantile ?? 0.03));
    const audit = await auditMemorization(ref, [...planted, ...distinct], cal);
    const flagged = new Map(audit.flagged.map((f) => [f.file, f]));
    for (const p of planted) {
      expect(flagged.has(p.file), `${p.how} copy of ${p.of}`).toBe(true);
      expect(flagged.get(p.file)!.nearest).toBe(p.of);
    }
    expect(distinct.filter((d) => flagged.has(d.file)).map((d) => d.file)).toEqual([]);
    expect(audit.flagged_count).toBe(planted.length);
    expect(audit.rate).toBeCloseTo(planted.length / (planted.length + distinct.length), 10);
    const perClassTotal = Object.values(audit.per_class).reduce((n, c) => n + c.images, 0);
    expect(perClassTotal).toBe(planted.length + distinct.length);
    expect(audit.flagged[0].distance).toBe(0); // the exact copy comes first
  }, 300_000);
});

describe('leaks into validation/test', () => {
  it('finds exact and near copies of test and validation images, and nothing for training or distinct cells', async () => {
    const held = await buildHeldOut(val, test);
    const t = test[3], v = val[5];
    const cases: [Buffer, string | null, string][] = [
      [await fs.readFile(t.abs), t.file, 'test'],
      [await sharp(t.abs).rotate(90).jpeg({ quality: 70 }).toBuffer(), t.file, 'test'],
      [await sharp(v.abs).flip().png().toBuffer(), v.file, 'val'],
      [await fs.readFile(train[0].abs), null, ''],
      [await fs.readFile(others[0].abs), null, ''],
    ];
    for (const [bytes, real, split] of cases) {
      const f = path.join(tmp.dir, 'probe.png');
      await fs.writeFile(f, bytes);
      const leak = findLeak(held, 'probe.png', await readSynthetic(f), 0.03);
      if (real === null) expect(leak).toBeNull();
      else expect(leak).toMatchObject({ real, split });
    }
  }, 300_000);
});
