/**
 * Near-duplicate fingerprints of dataset images (src/data/near.ts), decoded
 * with bounded concurrency and remembered per absolute path while size and
 * mtime are unchanged (like the checks), so inspect then split in one
 * process decodes each image once.
 */
import { promises as fs } from 'node:fs';
import { mapBounded } from '../util/pool.js';
import { imagePrint, nearGroups, packPrints, type NearPrint, type PackedPrints } from './near.js';
import type { ImageCheck } from './check.js';
import type { DatasetItem } from './types.js';
import type { DuplicateConflict } from './inspect.js';

const cache = new Map<string, { size: number; mtimeMs: number; print: NearPrint }>();
const CACHE_LIMIT = 250_000;

/** The fingerprint of one image file, or null when it cannot be decoded. */
export async function printOf(abs: string): Promise<NearPrint | null> {
  let st;
  try { st = await fs.stat(abs); } catch { return null; }
  const hit = cache.get(abs);
  if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs) return hit.print;
  try {
    const print = await imagePrint(abs);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(abs, { size: st.size, mtimeMs: st.mtimeMs, print });
    return print;
  } catch {
    return null;
  }
}

/** Fingerprints of `items` (null where undecodable), in order. */
export async function printItems(items: readonly { abs: string }[], opts: { concurrency?: number; onProgress?: (done: number, total: number) => void } = {}): Promise<PackedPrints> {
  let done = 0;
  const prints = await mapBounded(items, opts.concurrency ?? 4, async (item) => {
    const p = await printOf(item.abs);
    opts.onProgress?.(++done, items.length);
    return p;
  });
  return packPrints(prints);
}

export interface NearDuplicates {
  /** Groups of images within the threshold of one another (connected), paths sorted, groups sorted by first path; byte-identical copies included. */
  groups: string[][];
  /** Groups whose labels disagree. */
  conflicts: DuplicateConflict[];
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Near-duplicate groups among the usable images of a dataset (checks without a problem). */
export async function findNearDuplicates(
  items: readonly DatasetItem[], checks: readonly ImageCheck[], threshold: number,
  opts: { concurrency?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<NearDuplicates> {
  const usable = items.filter((_, i) => !checks[i].problem);
  const packed = await printItems(usable, opts);
  const groups = nearGroups(packed, threshold)
    .map((g) => g.map((i) => usable[i]).sort((a, b) => cmp(a.file, b.file)))
    .sort((a, b) => cmp(a[0].file, b[0].file));
  return {
    groups: groups.map((g) => g.map((i) => i.file)),
    conflicts: groups
      .map((g) => ({ files: g.map((i) => i.file), classes: [...new Set(g.map((i) => i.label))].sort() }))
      .filter((c) => c.classes.length > 1),
  };
}
