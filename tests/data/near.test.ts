/**
 * Near-duplicates on a corpus built from real PBC cells: altered copies
 * (tests/data/near-corpus.ts: flips, rotations, crops, a shift, resizing, JPEG
 * re-encoding, brightness/colour) beside many distinct cells. inspect must
 * group ≥ 95 % of the copies with their original and wrongly group ≤ 1 % of
 * the distinct cells; split must keep each group in one split; a copy filed
 * under another class is a label conflict.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspect, loadDataset, makeSplit, type InspectReport } from '../../src/data/index.js';
import { CANDIDATE_RADIUS, hamming, imagePrint, nearDistance, NearIndex, packPrints, unpackPrint, VARIANTS, type NearPrint } from '../../src/data/near.js';
import { Rng } from '../../src/util/rng.js';
import { PBC_128, runCli, tempDir } from '../helpers/env.js';
import { ALTERATIONS } from './near-corpus.js';

const DISTINCT = 1200; // distinct real cells
const ORIGINALS = 40; // of which this many get every alteration
const tmp = tempDir('cellgan-near-');
let root: string;
/** copy file → its original's file */
const copies = new Map<string, string>();
let distinct: string[] = [];
let conflictCopy = '', conflictOriginal = '';
let report: InspectReport;

beforeAll(async () => {
  root = path.join(tmp.dir, 'data');
  const ds = await loadDataset(PBC_128);
  const order = [...ds.items.keys()];
  new Rng(15).shuffle(order);
  const chosen = order.slice(0, DISTINCT).map((i) => ds.items[i]);
  for (const item of chosen) {
    await fs.mkdir(path.join(root, item.label), { recursive: true });
    await fs.copyFile(item.abs, path.join(root, item.file));
  }
  distinct = chosen.map((i) => i.file);
  for (const [k, item] of chosen.slice(0, ORIGINALS).entries()) {
    const bytes = await fs.readFile(item.abs);
    for (const [a, alt] of ALTERATIONS.entries()) {
      const out = await alt.apply(bytes);
      const ext = out[0] === 0xff ? 'jpg' : 'png';
      // One copy lands in another class folder: a label conflict.
      const cls = k === 0 && a === 2 ? chosen.find((c) => c.label !== item.label)!.label : item.label;
      const file = `${cls}/copy-${k}-${a}.${ext}`;
      await fs.writeFile(path.join(root, file), out);
      copies.set(file, item.file);
      if (cls !== item.label) { conflictCopy = file; conflictOriginal = item.file; }
    }
  }
  report = await inspect(root);
}, 600_000);
afterAll(() => tmp.cleanup());

describe('near-duplicate fingerprints', () => {
  it('the 8 flip/rotation variants match sharp flipping and rotating the image', async () => {
    const ds = await loadDataset(PBC_128);
    for (const item of ds.items.filter((_, i) => i % 2000 === 0)) {
      const bytes = await fs.readFile(item.abs);
      const p = await imagePrint(bytes);
      const variants = [
        sharp(bytes).flop(), sharp(bytes).flip(), sharp(bytes).rotate(90), sharp(bytes).rotate(180), sharp(bytes).rotate(270),
        sharp(bytes).rotate(90).flop(), sharp(bytes).rotate(90).flip(),
      ];
      for (const v of variants) {
        const q = await imagePrint(await v.png().toBuffer());
        expect(nearDistance(q.descriptor, p.descriptor).distance, item.file).toBeLessThan(2e-3);
      }
      // A different cell is far.
      const other = await imagePrint(ds.items[(ds.items.indexOf(item) + 7000) % ds.items.length].abs);
      expect(nearDistance(other.descriptor, p.descriptor).distance).toBeGreaterThan(0.03);
    }
  });

  it('the index finds exactly what a scan of all pairs finds within the candidate radius', async () => {
    const files = distinct.slice(0, 400).map((f) => path.join(root, f)).concat([...copies.keys()].slice(0, 200).map((f) => path.join(root, f)));
    const prints: NearPrint[] = await Promise.all(files.map((f) => imagePrint(f)));
    const packed = packPrints(prints);
    const index = new NearIndex(packed);
    const t = 0.08;
    for (let i = 0; i < prints.length; i += 3) {
      const viaIndex = new Map<number, number>();
      index.search(prints[i], t, (j, d) => { expect(viaIndex.has(j)).toBe(false); viaIndex.set(j, d); });
      const scan = new Map<number, number>();
      const qh = index.hashOf(prints[i].descriptor);
      for (let j = 0; j < prints.length; j++) {
        let h = 99;
        for (let v = 0; v < VARIANTS; v++) h = Math.min(h, hamming(qh, 0, index.hashes, j * VARIANTS + v));
        const d = nearDistance(prints[i].descriptor, unpackPrint(packed, j).descriptor).distance;
        if (h <= CANDIDATE_RADIUS && d <= t) scan.set(j, d);
      }
      expect([...viaIndex.keys()].sort((a, b) => a - b)).toEqual([...scan.keys()].sort((a, b) => a - b));
      expect(viaIndex.get(i)).toBeLessThan(1e-6);
    }
  });
});

describe('inspect and split on altered copies of PBC cells', () => {
  it(`groups ≥ 95 % of the altered copies with their original and wrongly groups ≤ 1 % of distinct cells`, () => {
    const groupOf = new Map<string, number>();
    report.near_duplicates.forEach((g, k) => g.forEach((f) => groupOf.set(f, k)));
    let found = 0;
    const missed: string[] = [];
    for (const [copy, original] of copies) {
      if (groupOf.has(copy) && groupOf.get(copy) === groupOf.get(original)) found++; else missed.push(copy);
    }
    const recall = found / copies.size;
    expect(recall, `missed ${missed.slice(0, 10).join(', ')}`).toBeGreaterThanOrEqual(0.95);
    // Distinct cells sharing a group with another distinct cell (PBC itself holds a few re-encoded copies; they count against us here).
    const originalsOfCopies = new Set(copies.values());
    const wrong = distinct.filter((f) => {
      const k = groupOf.get(f);
      if (k === undefined) return false;
      return report.near_duplicates[k].some((g) => g !== f && !copies.has(g) && !(originalsOfCopies.has(g) && originalsOfCopies.has(f) && false));
    });
    expect(wrong.length / distinct.length, wrong.slice(0, 10).join(', ')).toBeLessThanOrEqual(0.01);
    // And the copies of different originals are never merged into one group.
    for (const g of report.near_duplicates) expect(new Set(g.map((f) => copies.get(f) ?? f).filter((f) => originalsOfCopies.has(f))).size).toBeLessThanOrEqual(1 + wrong.length);
    console.log(`near-duplicates: ${(100 * recall).toFixed(1)} % of ${copies.size} altered copies found; ${wrong.length} of ${distinct.length} distinct cells wrongly grouped`);
  });

  it('reports the copy filed under another class as a near-duplicate label conflict', () => {
    const c = report.near_conflicts.find((x) => x.files.includes(conflictCopy));
    expect(c, JSON.stringify(report.near_conflicts)).toBeDefined();
    expect(c!.files).toContain(conflictOriginal);
    expect(c!.classes).toHaveLength(2);
    expect(report.conflicts).toEqual([]); // not byte-identical
  });

  it('split keeps every near-duplicate group inside one split and leaves the conflicting group out', async () => {
    const split = await makeSplit(root, { seed: 3, val: 0.15, test: 0.25 });
    const at = new Map<string, string>();
    for (const [name, files] of Object.entries(split.splits)) for (const f of files) at.set(f, name);
    const excluded = new Set(split.excluded.map((e) => e.file));
    expect(excluded.has(conflictCopy) && excluded.has(conflictOriginal)).toBe(true);
    expect(split.excluded.find((e) => e.file === conflictCopy)!.reason).toMatch(/^label conflict: near-duplicate of /);
    let checked = 0;
    for (const g of report.near_duplicates) {
      const places = new Set(g.filter((f) => !excluded.has(f)).map((f) => at.get(f)));
      expect(places.size, g.join(', ')).toBeLessThanOrEqual(1);
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(ORIGINALS - 1);
    expect(split.options).toMatchObject({ nearThreshold: 0.03 });
  }, 300_000);

  it('inspect --json lists near_duplicates; --near-threshold is validated and used', async () => {
    const small = path.join(tmp.dir, 'small');
    for (const f of [...copies.keys()].slice(0, ALTERATIONS.length)) {
      await fs.mkdir(path.join(small, path.dirname(f)), { recursive: true });
      await fs.copyFile(path.join(root, f), path.join(small, f));
    }
    const [json, strict, bad] = await Promise.all([
      runCli(['inspect', small, '--json']),
      runCli(['inspect', small, '--json', '--near-threshold', '0']),
      runCli(['inspect', small, '--near-threshold', '2']),
    ]);
    expect(json.code, json.stderr).toBe(0);
    const r = JSON.parse(json.stdout) as InspectReport;
    expect(r.near_threshold).toBe(0.03);
    expect(r.near_duplicates.flat().length).toBeGreaterThanOrEqual(ALTERATIONS.length - 1);
    expect(JSON.parse(strict.stdout).near_duplicates.flat().length).toBeLessThan(r.near_duplicates.flat().length);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--near-threshold/);
  }, 120_000);
});
