/**
 * Reading a synthetic folder as `cellgan generate` writes it:
 * `<dir>/<class>/<name>.png` plus `<dir>/manifest.jsonl`, one JSON object per
 * image `{file, class, run, checkpoint, seed, index}` with `file` relative to
 * `<dir>`. The manifest gives provenance; without one (or when the caller
 * asks for the class folders alone) the class folders are scanned and
 * provenance is the file path alone. The one reader of such folders: export
 * takes the manifest's provenance, score (src/metrics/images.ts) the class
 * folders.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import fg from 'fast-glob';
import { CellganError, describeFsError } from '../util/errors.js';
import type { FileProblem } from './types.js';
import { hasImageExtension } from './formats.js';

export interface SyntheticImage {
  /** The synthetic folder as given (for messages and the card). */
  dir: string;
  /** Position of that folder in the `synthetic` list (names stay unique across folders). */
  dirIndex: number;
  /** Path relative to `dir`, POSIX separators. */
  file: string;
  abs: string;
  class: string;
  run?: string;
  checkpoint?: string;
  seed?: number;
  index?: number;
  /** generator_ema or generator (generate --raw), from the manifest. */
  generator?: string;
  /** The factor on the noise (generate --noise-scale), from the manifest when not 1. */
  noiseScale?: number;
  /** Batches of standing batch-norm statistics (generate --standing-stats), from the manifest when not 0. */
  standingStats?: number;
}

export interface SyntheticFolder {
  dir: string;
  images: SyntheticImage[];
  /** True when `manifest.jsonl` was read. */
  fromManifest: boolean;
  /** Manifest rows or files that were left out, with the reason. */
  skipped: FileProblem[];
}

/** True when `rel` (POSIX, relative) stays inside its root. */
function isInside(rel: string): boolean {
  return rel !== '' && !path.posix.isAbsolute(rel) && !rel.split('/').includes('..') && !/^[a-zA-Z]:/.test(rel);
}

export interface ScanSyntheticOptions {
  /**
   * Read `manifest.jsonl` when there is one (default true). False scans the
   * class folders whatever the manifest says (score labels images by their
   * folder and has never read the manifest).
   */
  manifest?: boolean;
}

/**
 * The images of one synthetic folder, sorted by path: the manifest's rows
 * (rows that are malformed, duplicated or point outside the folder are
 * skipped and listed), else every image file one level down. Images whose
 * real path leaves the folder (links) are skipped and listed too. `dirIndex`
 * is the folder's position when several are read together.
 */
export async function scanSyntheticFolder(dir: string, dirIndex = 0, opts: ScanSyntheticOptions = {}): Promise<SyntheticFolder> {
  const root = path.resolve(dir);
  let stat;
  try { stat = await fs.stat(root); } catch (err) { throw new CellganError(`cannot read the synthetic folder: ${describeFsError(err)}`, { file: dir }); }
  if (!stat.isDirectory()) throw new CellganError('expected a synthetic folder (<class>/<image>.png plus manifest.jsonl)', { file: dir });

  const skipped: FileProblem[] = [];
  const manifestPath = path.join(root, 'manifest.jsonl');
  let text: string | undefined;
  if (opts.manifest ?? true) {
    try { text = await fs.readFile(manifestPath, 'utf8'); } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new CellganError(`cannot read the manifest: ${describeFsError(err)}`, { file: manifestPath });
    }
  }

  const images: SyntheticImage[] = [];
  if (text !== undefined) {
    const seen = new Set<string>();
    const lines = text.split('\n');
    for (let n = 0; n < lines.length; n++) {
      const line = lines[n].trim();
      if (!line) continue;
      const where = `${path.join(dir, 'manifest.jsonl')}:${n + 1}`;
      let row: Record<string, unknown>;
      try { row = JSON.parse(line) as Record<string, unknown>; } catch { skipped.push({ file: where, reason: 'not valid JSON' }); continue; }
      const file = typeof row.file === 'string' ? row.file.replace(/\\/g, '/') : '';
      const cls = typeof row.class === 'string' ? row.class : '';
      if (!file || !cls) { skipped.push({ file: where, reason: 'row lacks "file" or "class"' }); continue; }
      if (!isInside(file)) { skipped.push({ file: where, reason: `"file" points outside the folder: ${file}` }); continue; }
      if (seen.has(file)) { skipped.push({ file: where, reason: `duplicate row for ${file}` }); continue; }
      seen.add(file);
      images.push({
        dir, dirIndex, file, abs: path.join(root, file), class: cls,
        run: row.run === undefined ? undefined : String(row.run),
        checkpoint: row.checkpoint === undefined ? undefined : String(row.checkpoint),
        seed: typeof row.seed === 'number' ? row.seed : undefined,
        index: typeof row.index === 'number' ? row.index : undefined,
        generator: typeof row.generator === 'string' ? row.generator : undefined,
        noiseScale: typeof row.noise_scale === 'number' ? row.noise_scale : undefined,
        standingStats: typeof row.standing_stats === 'number' ? row.standing_stats : undefined,
      });
    }
  } else {
    const files = await fg('*/*', { cwd: root, onlyFiles: true, dot: false, followSymbolicLinks: false });
    for (const file of files) {
      if (!hasImageExtension(file)) { skipped.push({ file: path.join(dir, file), reason: 'not an image file name' }); continue; }
      images.push({ dir, dirIndex, file, abs: path.join(root, file), class: file.split('/')[0] });
    }
  }
  // A symlink inside the folder may point anywhere: read only what really lives inside it.
  const realRoot = await fs.realpath(root);
  const inside: SyntheticImage[] = [];
  for (const img of images) {
    let target: string;
    try { target = await fs.realpath(img.abs); } catch { inside.push(img); continue; } // missing: reported when checked
    const rel = path.relative(realRoot, target);
    if (rel.startsWith('..') || path.isAbsolute(rel)) skipped.push({ file: path.join(dir, img.file), reason: 'a link pointing outside the synthetic folder (not read)' });
    else inside.push(img);
  }
  inside.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  return { dir, images: inside, fromManifest: text !== undefined, skipped };
}

/** The manifest `source` string of a synthetic image. */
export function syntheticSource(img: SyntheticImage): string {
  if (img.run === undefined && img.checkpoint === undefined) return `synthetic:${path.posix.join(img.dir.replace(/\\/g, '/'), img.file)}`;
  const parts = [`run=${img.run ?? '?'}`, `checkpoint=${img.checkpoint ?? '?'}`];
  if (img.seed !== undefined) parts.push(`seed=${img.seed}`);
  if (img.index !== undefined) parts.push(`index=${img.index}`);
  // The EMA generator is the default; only the raw one is named (older sources stay as they were).
  if (img.generator !== undefined && img.generator !== 'generator_ema') parts.push(`generator=${img.generator}`);
  if (img.noiseScale !== undefined && img.noiseScale !== 1) parts.push(`noise_scale=${img.noiseScale}`);
  if (img.standingStats) parts.push(`standing_stats=${img.standingStats}`);
  return parts.join(' ');
}
