/**
 * `cellgan split`: a train/val/test split that does not leak. Stratified per
 * class; byte-identical copies stay together (grouped by sha256), so do
 * near-duplicates (the same cell flipped, cropped, re-encoded…), and so do
 * the members of a `--group-by` group (e.g. a patient); duplicates whose
 * labels disagree are left out and listed. Deterministic: the same files,
 * options and seed give the same file byte for byte (everything is sorted
 * before the seeded shuffle, and nothing machine-specific is written).
 */
import { promises as fs } from 'node:fs';
import { CellganError, OptionError, describeFsError } from '../util/errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import { Rng } from '../util/rng.js';
import { resolveOptions, boolean, number, seed, text, type OptionTable } from '../util/options.js';
import { checkImages } from './check.js';
import { loadDataset, LABELS_OPTION } from './dataset.js';
import { findDuplicates, NEAR_THRESHOLD_OPTION, CONCURRENCY_OPTION } from './inspect.js';
import { findNearDuplicates } from './prints.js';
import { UnionFind } from './near.js';
import type { Dataset, DatasetItem, FileProblem, SplitFile, SplitName } from './types.js';

/** Defaults, ranges and help: SPLIT_OPTIONS. */
export interface SplitOptions {
  /** A labels CSV (`file,class`); else `data` is an ImageFolder root. */
  labels?: string;
  /** Fraction of each class for validation. */
  val?: number;
  /** Fraction of each class for test. */
  test?: number;
  /** Seed of the shuffle. */
  seed?: number;
  /** A labels-CSV column whose values (e.g. patient ids) must not cross splits. */
  groupBy?: string;
  /** Decode every image to find corrupt ones (slower); default: header and file-end checks. */
  deep?: boolean;
  /** Largest distance (1 − cosine) at which two images are the same cell, kept in one split. */
  nearThreshold?: number;
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
  onNearProgress?: (done: number, total: number) => void;
}

/** makeSplit's options (src/util/options.ts). */
export const SPLIT_OPTIONS = {
  val: { ...number(0, 1, { exclusiveMax: true }), default: 0.1, help: 'fraction of each class for validation, in [0, 1)' },
  test: { ...number(0, 1, { exclusiveMax: true }), default: 0.2, help: 'fraction of each class for test, in [0, 1)' },
  seed: { ...seed, default: 0, help: 'seed of the shuffle; same data and seed give the same file' },
  groupBy: { ...text, help: 'labels-CSV column (e.g. patient) whose groups must not cross splits' },
  labels: LABELS_OPTION,
  nearThreshold: NEAR_THRESHOLD_OPTION,
  deep: { ...boolean, default: false, help: 'decode every image to leave out corrupt ones (slower)' },
  concurrency: CONCURRENCY_OPTION,
} satisfies OptionTable;

/** The split file writeSplit writes (the CLI's --out and --force). */
export const SPLIT_FILE_OPTIONS = {
  out: { ...text, required: true, help: 'split file to write (e.g. split.json)' },
  force: { ...boolean, default: false, help: 'replace an existing split file' },
} satisfies OptionTable;

export function validateSplitOptions(opts: SplitOptions) {
  const o = resolveOptions(SPLIT_OPTIONS, opts);
  if (o.val + o.test >= 1) throw new OptionError(`Expected --val + --test < 1 (something must be left for training) but received ${o.val} + ${o.test} = ${+(o.val + o.test).toFixed(6)}`);
  return o;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export async function makeSplit(data: string | Dataset, opts: SplitOptions = {}): Promise<SplitFile> {
  const o = validateSplitOptions(opts);
  const dataset = typeof data === 'string' ? await loadDataset(data, { labels: opts.labels }) : data;
  let groupColumn: string | undefined;
  if (o.groupBy !== undefined) {
    if (dataset.source !== 'csv' || !dataset.columns) {
      throw new OptionError(`--group-by "${o.groupBy}" needs a labels CSV (--labels) with that column; an ImageFolder has no columns`);
    }
    groupColumn = dataset.columns.find((c) => c === o.groupBy) ?? dataset.columns.find((c) => c.toLowerCase() === o.groupBy!.toLowerCase());
    if (!groupColumn || ['file', 'class'].includes(groupColumn.toLowerCase())) {
      throw new OptionError(`--group-by "${o.groupBy}" is not an extra column of ${dataset.labelsFile ?? 'the labels file'} (columns: ${dataset.columns.join(', ')})`);
    }
  }

  const checks = await checkImages(dataset.items, { deep: o.deep, concurrency: o.concurrency, onProgress: opts.onProgress });
  const excluded: FileProblem[] = [];
  const out = new Set<string>();
  for (const c of checks) if (c.problem) { excluded.push({ file: c.file, reason: `unreadable: ${c.problem}` }); out.add(c.file); }
  for (const conflict of findDuplicates(checks).conflicts) {
    for (const file of conflict.files) {
      const others = conflict.files.filter((f) => f !== file);
      excluded.push({ file, reason: `label conflict: byte-identical to ${others.join(', ')} but the copies are labelled ${conflict.classes.join(' vs ')}` });
      out.add(file);
    }
  }

  // Near-duplicates (the same cell altered) whose labels disagree are left out like byte-identical ones.
  const near = await findNearDuplicates(dataset.items, checks, o.nearThreshold, { concurrency: Math.min(o.concurrency, 4), onProgress: opts.onNearProgress });
  for (const conflict of near.conflicts) {
    for (const file of conflict.files) {
      if (out.has(file)) continue;
      const others = conflict.files.filter((f) => f !== file);
      excluded.push({ file, reason: `label conflict: near-duplicate of ${others.join(', ')} (the same cell altered) but the copies are labelled ${conflict.classes.join(' vs ')}` });
      out.add(file);
    }
  }

  const usable: { item: DatasetItem; sha256: string }[] = [];
  checks.forEach((c, i) => { if (!out.has(c.file)) usable.push({ item: dataset.items[i], sha256: c.sha256! }); });
  const groups = new UnionFind(usable.length);
  const firstByKey = new Map<string, number>();
  const join = (key: string, i: number) => {
    const first = firstByKey.get(key);
    if (first === undefined) firstByKey.set(key, i); else groups.union(first, i);
  };
  const nearGroupOf = new Map<string, number>();
  near.groups.forEach((g, k) => { for (const f of g) nearGroupOf.set(f, k); });
  usable.forEach((u, i) => {
    join(`sha256:${u.sha256}`, i);
    const k = nearGroupOf.get(u.item.file);
    if (k !== undefined) join(`near:${k}`, i);
    const value = groupColumn ? u.item.meta?.[groupColumn]?.trim() : undefined;
    // Rows without a group value are their own group.
    if (value) join(`group:${value}`, i);
  });
  const units = new Map<number, DatasetItem[]>();
  usable.forEach((u, i) => {
    const root = groups.find(i);
    const unit = units.get(root);
    if (unit) unit.push(u.item); else units.set(root, [u.item]);
  });

  // Stratify by class; a unit whose members carry several classes (possible with --group-by) goes with its most common one.
  const strata = new Map<string, { files: string[]; size: number }[]>();
  for (const members of units.values()) {
    const counts = new Map<string, number>();
    for (const m of members) counts.set(m.label, (counts.get(m.label) ?? 0) + 1);
    const label = [...counts.entries()].sort((a, b) => b[1] - a[1] || cmp(a[0], b[0]))[0][0];
    const unit = { files: members.map((m) => m.file).sort(cmp), size: members.length };
    const list = strata.get(label);
    if (list) list.push(unit); else strata.set(label, [unit]);
  }

  const rng = new Rng(o.seed);
  const splits: Record<SplitName, string[]> = { train: [], val: [], test: [] };
  for (const label of [...strata.keys()].sort(cmp)) {
    const list = strata.get(label)!.sort((a, b) => cmp(a.files[0], b.files[0]));
    rng.fork(label).shuffle(list);
    const total = list.reduce((s, u) => s + u.size, 0);
    let before = 0;
    for (const unit of list) {
      // Where the unit's middle falls in [0, 1): test first, then val, then train. With single files this
      // puts round(n·test) in test and round(n·(test+val)) − round(n·test) in val.
      const at = (before + unit.size / 2) / total;
      const name: SplitName = at < o.test ? 'test' : at < o.test + o.val ? 'val' : 'train';
      splits[name].push(...unit.files);
      before += unit.size;
    }
  }
  for (const name of ['train', 'val', 'test'] as const) splits[name].sort(cmp);
  excluded.sort((a, b) => cmp(a.file, b.file));
  const options: Record<string, unknown> = { val: o.val, test: o.test, nearThreshold: o.nearThreshold };
  if (groupColumn) options.groupBy = groupColumn;
  return { seed: o.seed, splits, excluded, options };
}

/** The split file's text: fixed key order, two-space indent, final newline (so equal splits are equal bytes). */
export function serializeSplit(split: SplitFile): string {
  const ordered: Record<string, unknown> = {
    seed: split.seed,
    splits: { train: split.splits.train, val: split.splits.val, test: split.splits.test },
    excluded: split.excluded.map((e) => ({ file: e.file, reason: e.reason })),
  };
  if (split.options) ordered.options = split.options;
  return JSON.stringify(ordered, null, 2) + '\n';
}

/** Writes a split file atomically; refuses to replace an existing file unless `force`. */
export async function writeSplit(file: string, split: SplitFile, opts: { force?: boolean } = {}): Promise<void> {
  await checkSplitTarget(file, opts);
  await writeFileAtomic(file, serializeSplit(split));
}

/**
 * Throws the error writeSplit would throw for `file` (a folder; exists
 * without force; cannot be read), so the CLI can refuse before scanning
 * and fingerprinting a whole dataset.
 */
export async function checkSplitTarget(file: string, opts: { force?: boolean } = {}): Promise<void> {
  const { force } = resolveOptions(SPLIT_FILE_OPTIONS, { out: file, force: opts.force });
  let st;
  try { st = await fs.stat(file); } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new CellganError(`cannot write the split file: ${describeFsError(err)}`, { file });
  }
  if (st?.isDirectory()) throw new CellganError('is a folder; give a file name for the split, e.g. split.json', { file });
  if (st && !force) throw new CellganError('exists already; pass --force to replace it', { file });
}
