/**
 * Labelled image sets as the metrics code keeps them in memory: one byte
 * per channel (4× less memory than floats; cellgan's decoder starts from
 * 8-bit images, so nothing is lost), turned into [-1, 1] floats per batch.
 */
import path from 'node:path';
import { decodeImages } from '../data/image.js';
import { scanSyntheticFolder } from '../data/synthetic.js';
import type { DatasetItem, FileProblem } from '../data/types.js';
import { CellganError } from '../util/errors.js';
import type { Logger } from '../util/log.js';

export interface LabeledImages {
  size: number;
  /** N × size × size × 3 bytes (RGB). */
  pixels: Uint8Array;
  /** Class index per image, into `classes` of whoever built the set. */
  labels: Int32Array;
  /** Identifying path of each image (relative to its root). */
  files: string[];
}

export function countImages(set: LabeledImages): number { return set.labels.length; }

/**
 * Decodes `items` at `size`, labelling each by its position in `classes`
 * (items whose label is not in `classes` are an error). Undecodable images are
 * skipped with a warning, never silently.
 */
export async function decodeLabeled(items: DatasetItem[], classes: string[], size: number, logger?: Logger, what = 'images'): Promise<LabeledImages> {
  const index = new Map(classes.map((c, i) => [c, i]));
  const per = size * size * 3;
  const pixels = new Uint8Array(items.length * per);
  const labels: number[] = [];
  const files: string[] = [];
  const failed: FileProblem[] = [];
  const CHUNK = 512; // bounds the float copy decodeImages makes
  for (let start = 0; start < items.length; start += CHUNK) {
    const batch = await decodeImages(items.slice(start, start + CHUNK), { size, concurrency: 4 });
    failed.push(...batch.failed);
    const data = batch.data;
    const offset = files.length * per;
    for (let i = 0; i < data.length; i++) pixels[offset + i] = Math.round((data[i] + 1) * 127.5);
    for (const item of batch.items) {
      const k = index.get(item.label);
      if (k === undefined) throw new CellganError(`class ${JSON.stringify(item.label)} is not one of ${classes.join(', ')}`, { file: item.abs });
      labels.push(k);
      files.push(item.file);
    }
  }
  if (failed.length) logger?.warn(`${failed.length} ${what} could not be decoded and were skipped, e.g. ${failed[0].file}: ${failed[0].reason}`);
  return { size, pixels: pixels.slice(0, files.length * per), labels: Int32Array.from(labels), files };
}

/** Images `indices` of `set` as [-1, 1] floats, each optionally put through a dihedral transform (0..7). */
export function batchFloats(set: LabeledImages, indices: ArrayLike<number>, transforms?: ArrayLike<number>): Float32Array {
  const s = set.size, per = s * s * 3;
  const out = new Float32Array(indices.length * per);
  for (let b = 0; b < indices.length; b++) {
    const src = indices[b] * per, dst = b * per;
    const t = transforms ? transforms[b] : 0;
    if (t === 0) {
      for (let i = 0; i < per; i++) out[dst + i] = set.pixels[src + i] / 127.5 - 1;
      continue;
    }
    const flip = t >= 4, rot = t & 3;
    for (let y = 0; y < s; y++) {
      for (let x = 0; x < s; x++) {
        // Source pixel of output (y, x): optional horizontal flip, then `rot` quarter turns.
        let sy = y, sx = flip ? s - 1 - x : x;
        for (let r = 0; r < rot; r++) { const ny = sx; sx = s - 1 - sy; sy = ny; }
        const o = dst + (y * s + x) * 3, i = src + (sy * s + sx) * 3;
        out[o] = set.pixels[i] / 127.5 - 1;
        out[o + 1] = set.pixels[i + 1] / 127.5 - 1;
        out[o + 2] = set.pixels[i + 2] / 127.5 - 1;
      }
    }
  }
  return out;
}

/** A subset of a labelled set (copies). */
export function subsetImages(set: LabeledImages, indices: number[]): LabeledImages {
  const per = set.size * set.size * 3;
  const pixels = new Uint8Array(indices.length * per);
  indices.forEach((k, j) => pixels.set(set.pixels.subarray(k * per, (k + 1) * per), j * per));
  return { size: set.size, pixels, labels: Int32Array.from(indices.map((k) => set.labels[k])), files: indices.map((k) => set.files[k]) };
}

/** A synthetic folder as `cellgan generate` writes it: `<dir>/<class>/<image>` (+ manifest.jsonl). */
export interface SyntheticSet { root: string; classes: string[]; items: DatasetItem[] }

/**
 * The images of a synthetic folder as the metrics label them: by class
 * folder (src/data/synthetic.ts; manifest.jsonl is provenance only, not
 * read), classes in locale order and each class's files in name order, as
 * score has always taken them (the order feeds its seeded validation carve).
 */
export async function readSyntheticFolder(dir: string): Promise<SyntheticSet> {
  const folder = await scanSyntheticFolder(dir, 0, { manifest: false });
  const classes = [...new Set(folder.images.map((img) => img.class))].sort((a, b) => a.localeCompare(b));
  const byClass = new Map<string, DatasetItem[]>(classes.map((c) => [c, []]));
  for (const img of folder.images) byClass.get(img.class)!.push({ file: img.file, abs: img.abs, label: img.class });
  const items = classes.flatMap((c) => byClass.get(c)!);
  if (!items.length) throw new CellganError('no images found; expected <dir>/<class>/<image>.png as `cellgan generate` writes', { file: dir });
  return { root: path.resolve(dir), classes, items };
}
