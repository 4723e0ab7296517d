/** Fixtures for the export tests: a small uneven split, fake synthetic folders, tree hashes. */
import { createHash } from 'node:crypto';
import { promises as fs, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { Rng } from '../../src/util/rng.js';
import { SAMPLES } from '../helpers/env.js';

export const CLASSES = readdirSync(SAMPLES).filter((c) => statSync(path.join(SAMPLES, c)).isDirectory()).sort();

/**
 * A deterministic split of samples/pbc-mini with uneven training classes:
 * class i gets 4 + i training images, then 3 val and 3 test.
 */
export async function writeUnevenSplit(file: string, opts: { trainBase?: number } = {}): Promise<{ trainCounts: Record<string, number> }> {
  const base = opts.trainBase ?? 4;
  const splits = { train: [] as string[], val: [] as string[], test: [] as string[] };
  const trainCounts: Record<string, number> = {};
  CLASSES.forEach((c, i) => {
    const files = readdirSync(path.join(SAMPLES, c)).filter((f) => !f.startsWith('.')).sort().map((f) => `${c}/${f}`);
    splits.train.push(...files.slice(0, base + i));
    splits.val.push(...files.slice(20, 23));
    splits.test.push(...files.slice(25, 28));
    trainCounts[c] = base + i;
  });
  await fs.writeFile(file, JSON.stringify({ seed: 1, splits, excluded: [] }, null, 2));
  return { trainCounts };
}

/**
 * A synthetic folder in the format `cellgan generate` writes: seeded noise
 * PNGs in <dir>/<class>/<index>.png and manifest.jsonl rows
 * {file, class, run, checkpoint, seed, index}.
 */
export async function writeSyntheticFolder(dir: string, opts: { perClass: number; size?: number; classes?: string[]; manifest?: boolean; run?: string; checkpoint?: string | number; seed?: number }): Promise<void> {
  const size = opts.size ?? 16;
  const classes = opts.classes ?? CLASSES;
  const rng = new Rng(opts.seed ?? 7);
  // Up to 64 distinct noise PNGs, reused round-robin: encoding thousands
  // with sharp would dominate the test's time, and the export does not care
  // whether two synthetic files happen to be equal.
  const pngs: Buffer[] = [];
  for (let v = 0; v < Math.min(64, opts.perClass * classes.length); v++) {
    const px = Buffer.alloc(size * size * 3);
    for (let k = 0; k < px.length; k++) px[k] = rng.int(256);
    pngs.push(await sharp(px, { raw: { width: size, height: size, channels: 3 } }).png().toBuffer());
  }
  const rows: string[] = [];
  let n = 0;
  for (const c of classes) {
    await fs.mkdir(path.join(dir, c), { recursive: true });
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < opts.perClass; i++) {
      const file = `${c}/${String(i).padStart(6, '0')}.png`;
      writes.push(fs.writeFile(path.join(dir, file), pngs[n++ % pngs.length]));
      rows.push(JSON.stringify({ file, class: c, run: opts.run ?? 'runs/fake', checkpoint: opts.checkpoint ?? 'ckpt-000100', seed: opts.seed ?? 7, index: i }));
      if (writes.length >= 32) await Promise.all(writes.splice(0));
    }
    await Promise.all(writes);
  }
  if (opts.manifest ?? true) await fs.writeFile(path.join(dir, 'manifest.jsonl'), rows.join('\n') + '\n');
}

/** Every file under `dir` (relative POSIX path → sha256), hidden files included. */
export async function hashTree(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  async function walk(rel: string): Promise<void> {
    for (const e of await fs.readdir(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(r);
      else out.set(r, createHash('sha256').update(readFileSync(path.join(dir, r))).digest('hex'));
    }
  }
  await walk('');
  return new Map([...out.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
}

export function readJsonl<T = Record<string, unknown>>(file: string): T[] {
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as T);
}
