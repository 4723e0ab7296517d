/**
 * Measures the near-duplicate method (src/data/near.ts) on a real dataset:
 * recall on altered copies of its cells (tests/data/near-corpus.ts), found
 * end to end through the index, and the share of distinct cells that another
 * distinct cell lies within each threshold of (they would be wrongly grouped),
 * with the time to fingerprint and search.
 *
 *   npx tsx scripts/near-duplicates.ts --data ../shared/datasets/pbc-128 [--originals 300] [--seed 0]
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import { loadDataset, checkImages, findDuplicates } from '../src/data/index.js';
import { imagePrint, NearIndex, packPrints, unpackPrint, type NearPrint } from '../src/data/near.js';
import { mapBounded } from '../src/util/pool.js';
import { Rng } from '../src/util/rng.js';
import { ALTERATIONS } from '../tests/data/near-corpus.js';

const arg = (name: string, def: string) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? process.argv[i + 1] : def; };
const data = arg('data', '../shared/datasets/pbc-128');
const originals = Number(arg('originals', '300'));
const seed = Number(arg('seed', '0'));
const THRESHOLDS = [0.01, 0.015, 0.02, 0.025, 0.03, 0.035, 0.04, 0.05];
const LOOSE = Math.max(...THRESHOLDS);

const ds = await loadDataset(data);
console.log(`${data}: ${ds.items.length} images; CPU ${os.cpus()[0].model}, ${os.cpus().length} cores`);
const t0 = performance.now();
const prints = await mapBounded(ds.items, 4, (i) => imagePrint(i.abs).catch(() => null));
const tHash = performance.now() - t0;
console.log(`fingerprinted in ${(tHash / 1000).toFixed(1)} s (${(tHash / ds.items.length).toFixed(2)} ms/image)`);

// Byte-identical copies are the same cell, not a wrong grouping.
const checks = await checkImages(ds.items);
const sameCell = new Map<number, number>();
const byFile = new Map(ds.items.map((it, i) => [it.file, i]));
for (const g of findDuplicates(checks).duplicates) for (const f of g) sameCell.set(byFile.get(f)!, byFile.get(g[0])!);
const cell = (i: number) => sameCell.get(i) ?? i;

const packed = packPrints(prints);
const index = new NearIndex(packed);
const nn = new Float64Array(prints.length).fill(1);
const closest: [number, number, number][] = [];
const t1 = performance.now();
for (let i = 0; i < prints.length; i++) {
  if (!prints[i]) continue;
  index.search(unpackPrint(packed, i), LOOSE, (j, d) => { if (cell(j) !== cell(i) && d < nn[i]) nn[i] = d; if (cell(j) !== cell(i) && i < j && d <= 0.02) closest.push([i, j, d]); });
}
console.log(`search of every image at ${LOOSE}: ${((performance.now() - t1) / 1000).toFixed(1)} s`);

const rng = new Rng(seed);
const pick = [...ds.items.keys()].filter((i) => prints[i]);
rng.shuffle(pick);
const found: Record<string, number[]> = {}; // per alteration: distance at which the original was found (Infinity = not found)
await mapBounded(pick.slice(0, originals), 4, async (i) => {
  const bytes = await fs.readFile(ds.items[i].abs);
  for (const a of ALTERATIONS) {
    const p: NearPrint = await imagePrint(await a.apply(bytes));
    let d = Infinity;
    index.search(p, LOOSE, (j, dj) => { if (cell(j) === cell(i)) d = Math.min(d, dj); });
    (found[a.name] ??= []).push(d);
  }
});
const all = Object.values(found).flat();
console.log(`\n${originals} originals × ${ALTERATIONS.length} alterations = ${all.length} altered copies, searched among all ${ds.items.length} images`);
console.log('| threshold | altered copies found | distinct cells with another distinct cell within the threshold |');
console.log('|---:|---:|---:|');
for (const t of THRESHOLDS) {
  const recall = all.filter((d) => d <= t).length / all.length;
  const fg = [...nn].filter((d) => d <= t).length / nn.length;
  console.log(`| ${t} | ${(100 * recall).toFixed(1)} % | ${(100 * fg).toFixed(2)} % (${[...nn].filter((d) => d <= t).length}) |`);
}
for (const t of [0.02, 0.03]) {
  console.log(`\nper alteration at ${t}:`);
  for (const [name, d] of Object.entries(found)) console.log(`  ${name}: ${(100 * d.filter((x) => x <= t).length / d.length).toFixed(1)} %`);
}
closest.sort((a, b) => a[2] - b[2]);
console.log('\nclosest distinct pairs:');
for (const [i, j, d] of closest.slice(0, 12)) console.log(`  ${d.toFixed(4)} ${ds.items[i].file} ${ds.items[j].file}`);
