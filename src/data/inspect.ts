/**
 * `cellgan inspect`: what is in a dataset and what is wrong with it —
 * per-class counts, sizes, formats and colour modes, unreadable files with
 * their reasons, exact duplicates (same sha256), duplicates whose labels
 * disagree (conflicts), and classes with too few images. Reads only; never
 * writes anything.
 */
import { resolveOptions, integer, boolean, type OptionSpec, type OptionTable } from '../util/options.js';
import { checkImages, type ImageCheck } from './check.js';
import { loadDataset, LABELS_OPTION } from './dataset.js';
import { DEFAULT_NEAR_THRESHOLD, MAX_NEAR_THRESHOLD, validateNearThreshold } from './near.js';
import { findNearDuplicates } from './prints.js';
import { OptionError } from '../util/errors.js';
import type { Dataset, FileProblem } from './types.js';

/** Defaults, ranges and help: INSPECT_OPTIONS. */
export interface InspectOptions {
  /** A labels CSV (`file,class`); else `data` is an ImageFolder root. */
  labels?: string;
  /** Classes with fewer readable images than this are listed in `underMinCount`. */
  minCount?: number;
  /** Decode every image too (finds corruption inside files; ~10× slower). */
  deep?: boolean;
  /** Largest distance (1 − cosine, src/data/near.ts) at which two images are the same cell. */
  nearThreshold?: number;
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
  /** Progress of the near-duplicate search (one decode per readable image). */
  onNearProgress?: (done: number, total: number) => void;
}

/** The near-duplicate distance option of every command that looks for copies (an OptionError when out of range). */
export const NEAR_THRESHOLD_OPTION = {
  type: 'number', default: DEFAULT_NEAR_THRESHOLD,
  help: `largest distance (1 − cosine of flip/rotation-invariant DCT fingerprints, 0–${MAX_NEAR_THRESHOLD}) at which two images count as the same cell; ${DEFAULT_NEAR_THRESHOLD} found 98.5 % of altered PBC copies`,
  check: (value: unknown, name: string) => {
    try { return validateNearThreshold(value as number, name); } catch (err) { throw new OptionError((err as Error).message); }
  },
} as const satisfies OptionSpec<number>;

/** `--near-threshold` checked, its default applied. */
export function nearThresholdOption(value: number | undefined): number {
  return resolveOptions({ nearThreshold: NEAR_THRESHOLD_OPTION }, { nearThreshold: value }).nearThreshold;
}

/** How many files inspect and split read at once. */
export const CONCURRENCY_OPTION = { ...integer(1, 256), default: 8, cli: false, help: 'files read at once' } as const satisfies OptionSpec<number>;

/** inspect's options (src/util/options.ts). */
export const INSPECT_OPTIONS = {
  labels: LABELS_OPTION,
  minCount: { ...integer(0), default: 10, help: 'list classes with fewer readable images than this' },
  nearThreshold: NEAR_THRESHOLD_OPTION,
  deep: { ...boolean, default: false, help: 'also decode every image (finds corruption inside files; slower)' },
  concurrency: CONCURRENCY_OPTION,
} satisfies OptionTable;

export interface DuplicateConflict {
  /** The byte-identical files, sorted. */
  files: string[];
  /** The different labels they carry, sorted. */
  classes: string[];
}

export interface InspectReport {
  root: string;
  source: Dataset['source'];
  /** Image files found (readable or not). */
  files: number;
  /** Readable images. */
  images: number;
  /** Class → number of readable images (every class of the dataset, sorted by name). */
  classes: Record<string, number>;
  /** Per class: formats and sizes ("W×H") of its readable images, most common first. */
  perClass: Record<string, { formats: Record<string, number>; sizes: Record<string, number> }>;
  /** Format → count of readable images. */
  formats: Record<string, number>;
  /** "W×H" → count of readable images, most common first. */
  sizes: Record<string, number>;
  /** Colour mode → count of readable images (e.g. "srgb 8-bit", "cmyk 8-bit", "srgb 8-bit+alpha"); all become RGB on decode. */
  colour: Record<string, number>;
  /** Files that look like images but cannot be used, each with its reason. */
  unreadable: FileProblem[];
  /** Entries left out while scanning (hidden files, non-images, bad CSV rows, links out of the root, empty class folders). */
  skipped: FileProblem[];
  /** Readable images smaller than TINY_SIDE on a side: they decode (upscaled) but are probably not cell crops. */
  tiny: FileProblem[];
  /**
   * Labels CSV only: rows whose class differs from their folder when most rows match their folder
   * (`<class>/<file>` layout) — usually a typo or an unknown class.
   */
  labelMismatches: FileProblem[];
  /** Groups of byte-identical readable images (each sorted; groups sorted by first file). */
  duplicates: string[][];
  /** Duplicate groups whose labels disagree. */
  conflicts: DuplicateConflict[];
  /**
   * Groups of the same cell after flips, rotations, crops, shifts, resizing,
   * re-encoding or brightness/colour changes (src/data/near.ts): each group a
   * sorted list of paths, byte-identical copies included.
   */
  near_duplicates: string[][];
  /** Near-duplicate groups whose labels disagree. */
  near_conflicts: DuplicateConflict[];
  /** The distance (1 − cosine) used for near_duplicates. */
  near_threshold: number;
  minCount: number;
  /** Classes with fewer than `minCount` readable images. */
  underMinCount: { class: string; count: number }[];
  /** Whether every image was also decoded (`deep`). */
  deep: boolean;
}

/** Images smaller than this on either side are listed as tiny. */
export const TINY_SIDE = 16;

function sortedRecord(counts: Map<string, number>, byCount = false): Record<string, number> {
  const entries = [...counts.entries()];
  entries.sort((a, b) => (byCount && b[1] !== a[1] ? b[1] - a[1] : a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return Object.fromEntries(entries);
}

const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);

/** Exact-duplicate groups among usable checks (sorted, deterministic) and the ones whose labels disagree. */
export function findDuplicates(checks: readonly ImageCheck[]): { duplicates: string[][]; conflicts: DuplicateConflict[] } {
  const byHash = new Map<string, ImageCheck[]>();
  for (const c of checks) {
    if (c.problem || !c.sha256) continue;
    const group = byHash.get(c.sha256);
    if (group) group.push(c); else byHash.set(c.sha256, [c]);
  }
  const groups = [...byHash.values()].filter((g) => g.length > 1)
    .map((g) => [...g].sort((a, b) => (a.file < b.file ? -1 : 1)))
    .sort((a, b) => (a[0].file < b[0].file ? -1 : 1));
  const duplicates = groups.map((g) => g.map((c) => c.file));
  const conflicts = groups
    .map((g) => ({ files: g.map((c) => c.file), classes: [...new Set(g.map((c) => c.label))].sort() }))
    .filter((g) => g.classes.length > 1);
  return { duplicates, conflicts };
}

export async function inspect(data: string | Dataset, opts: InspectOptions = {}): Promise<InspectReport> {
  const { minCount, deep, concurrency, nearThreshold, labels } = resolveOptions(INSPECT_OPTIONS, opts);
  const dataset = typeof data === 'string' ? await loadDataset(data, { labels }) : data;
  const checks = await checkImages(dataset.items, { deep, concurrency, onProgress: opts.onProgress });
  const near = await findNearDuplicates(dataset.items, checks, nearThreshold, { concurrency: Math.min(concurrency, 4), onProgress: opts.onNearProgress });
  return { ...reportFromChecks(dataset, checks, { minCount, deep }), near_duplicates: near.groups, near_conflicts: near.conflicts, near_threshold: nearThreshold };
}

export function reportFromChecks(dataset: Dataset, checks: readonly ImageCheck[], opts: { minCount: number; deep: boolean }): Omit<InspectReport, 'near_duplicates' | 'near_conflicts' | 'near_threshold'> {
  const perClass = new Map<string, number>(dataset.classes.map((c) => [c, 0]));
  const formats = new Map<string, number>();
  const sizes = new Map<string, number>();
  const colour = new Map<string, number>();
  const unreadable: FileProblem[] = [];
  const tiny: FileProblem[] = [];
  const classFormats = new Map<string, Map<string, number>>(dataset.classes.map((c) => [c, new Map()]));
  const classSizes = new Map<string, Map<string, number>>(dataset.classes.map((c) => [c, new Map()]));
  for (const c of checks) {
    if (c.problem) { unreadable.push({ file: c.file, reason: c.problem }); continue; }
    bump(perClass, c.label);
    if (c.format) { bump(formats, c.format); bump(classFormats.get(c.label)!, c.format); }
    if (c.width && c.height) {
      bump(sizes, `${c.width}×${c.height}`);
      bump(classSizes.get(c.label)!, `${c.width}×${c.height}`);
      if (c.width < TINY_SIDE || c.height < TINY_SIDE) tiny.push({ file: c.file, reason: `only ${c.width}×${c.height} pixels; it will be upscaled` });
    }
    if (c.colour) bump(colour, c.colour);
  }
  const { duplicates, conflicts } = findDuplicates(checks);
  const classes = sortedRecord(perClass);
  const labelMismatches: FileProblem[] = [];
  if (dataset.source === 'csv') {
    const folderOf = (file: string) => (file.includes('/') ? file.slice(0, file.indexOf('/')) : null);
    const matching = dataset.items.filter((i) => folderOf(i.file) === i.label).length;
    if (matching >= 0.8 * dataset.items.length) {
      for (const i of dataset.items) {
        if (folderOf(i.file) !== i.label) labelMismatches.push({ file: i.file, reason: `labelled "${i.label}" but lies in folder "${folderOf(i.file) ?? '.'}" (${matching} of ${dataset.items.length} rows match their folder)` });
      }
    }
  }
  const underMinCount = Object.entries(classes).filter(([, n]) => n < opts.minCount).map(([name, count]) => ({ class: name, count }));
  return {
    root: dataset.root,
    source: dataset.source,
    files: checks.length,
    images: checks.length - unreadable.length,
    classes,
    perClass: Object.fromEntries(Object.keys(classes).map((name) => [name, { formats: sortedRecord(classFormats.get(name)!, true), sizes: sortedRecord(classSizes.get(name)!, true) }])),
    formats: sortedRecord(formats, true),
    sizes: sortedRecord(sizes, true),
    colour: sortedRecord(colour, true),
    unreadable,
    skipped: dataset.skipped,
    tiny,
    labelMismatches,
    duplicates,
    conflicts,
    minCount: opts.minCount,
    underMinCount,
    deep: opts.deep,
  };
}

/** A name as printed in the summary: quoted and escaped when it holds line breaks or other control characters. */
function showName(name: string): string {
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u001f\u007f]/.test(name) ? JSON.stringify(name) : name;
}

/** A readable multi-line summary of a report (what `cellgan inspect` prints without --json). */
export function formatInspectReport(r: InspectReport, opts: { maxList?: number } = {}): string {
  const max = opts.maxList ?? 20;
  const lines: string[] = [];
  const list = (title: string, entries: string[]) => {
    if (!entries.length) return;
    lines.push('', `${title} (${entries.length}):`);
    for (const e of entries.slice(0, max)) lines.push(`  ${showName(e)}`);
    if (entries.length > max) lines.push(`  … and ${entries.length - max} more (see --json)`);
  };
  const top = (rec: Record<string, number>, n = 5) => {
    const e = Object.entries(rec);
    return e.slice(0, n).map(([k, v]) => `${k} ${v}`).join(', ') + (e.length > n ? `, … (${e.length} in all)` : '') || 'none';
  };
  lines.push(`${r.root} (${r.source === 'csv' ? 'labels CSV' : 'ImageFolder'}): ${r.images} readable images of ${r.files} in ${Object.keys(r.classes).length} classes`);
  const width = Math.max(...Object.keys(r.classes).map((k) => k.length), 5);
  for (const [name, n] of Object.entries(r.classes)) lines.push(`  ${name.padEnd(width)} ${String(n).padStart(6)}${n < r.minCount ? `  (under --min-count ${r.minCount})` : ''}`);
  lines.push(`formats: ${top(r.formats)}`, `sizes: ${top(r.sizes)}`, `colour: ${top(r.colour)}`);
  list('unreadable', r.unreadable.map((p) => `${p.file}: ${p.reason}`));
  list('duplicates (byte-identical)', r.duplicates.map((g) => g.join(' = ')));
  list('label conflicts (same image, different classes)', r.conflicts.map((c) => `${c.files.join(' = ')} (${c.classes.join(' vs ')})`));
  const exact = new Set(r.duplicates.map((g) => g.join('\n')));
  list(`near-duplicates (the same cell flipped, rotated, cropped, shifted, resized, re-encoded or recoloured; distance ≤ ${r.near_threshold}; byte-identical groups above not repeated)`,
    r.near_duplicates.filter((g) => !exact.has(g.join('\n'))).map((g) => g.join(' ~ ')));
  list('near-duplicate label conflicts (same cell, different classes)', r.near_conflicts.filter((c) => !r.conflicts.some((e) => e.files.join('\n') === c.files.join('\n'))).map((c) => `${c.files.join(' ~ ')} (${c.classes.join(' vs ')})`));
  list('labels that differ from their folder', r.labelMismatches.map((p) => `${p.file}: ${p.reason}`));
  list('tiny images', r.tiny.map((p) => `${p.file}: ${p.reason}`));
  list('skipped while scanning', r.skipped.map((p) => `${p.file}: ${p.reason}`));
  if (r.underMinCount.length) lines.push('', `classes under --min-count ${r.minCount}: ${r.underMinCount.map((u) => `${u.class} (${u.count})`).join(', ')}`);
  if (!r.deep) lines.push('', 'Checked headers and file ends only; --deep decodes every image to find corruption inside files.');
  return lines.join('\n') + '\n';
}
