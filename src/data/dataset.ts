/**
 * Finding the labelled images of a dataset: an ImageFolder tree
 * (`<root>/<class>/<image>`) or a labels CSV (`file,class`, paths relative to
 * the CSV). Nothing outside the data root is ever read: `..` and absolute
 * paths in a CSV are refused, and so are symbolic links that lead out of the
 * root. Everything left out is listed in `Dataset.skipped` with its reason.
 */
import { promises as fs, type Dirent } from 'node:fs';
import path from 'node:path';
import { CellganError, describeFsError } from '../util/errors.js';
import { nonEmptyString } from '../util/validate.js';
import { text, type OptionSpec } from '../util/options.js';
import { parseCsv, CsvSyntaxError } from './csv.js';
import { IMAGE_EXTENSIONS, SUPPORTED_FORMAT_NAMES, UNSUPPORTED_IMAGE_EXTENSIONS } from './formats.js';
import { mapBounded } from '../util/pool.js';
import type { Dataset, DatasetItem, FileProblem, SplitFile, SplitName } from './types.js';

/** The dataset a command reads: a path (or, from the API, a loaded Dataset, so unchecked here). */
export const DATA_OPTION = { type: 'string', help: 'ImageFolder root (<class>/<image>) or a labels .csv' } as const satisfies OptionSpec;

/** The labels CSV of a dataset, for every command that reads one. */
export const LABELS_OPTION = {
  ...text, help: 'labels CSV with columns file,class (paths relative to the CSV; extra columns are kept) instead of class folders',
} as const satisfies OptionSpec<string>;

export interface LoadDatasetOptions {
  /** A labels CSV (`file,class`, paths relative to the CSV); else `data` is an ImageFolder root. */
  labels?: string;
}

/** Folders nested deeper than this inside a class folder are not searched. */
const MAX_DEPTH = 8;

/**
 * Scans an ImageFolder root or, with `labels` (or when `data` is itself a
 * `.csv` file), a labels CSV. Throws CellganError only when it cannot go on
 * (folder missing, CSV unreadable or without a required column).
 */
export async function loadDataset(data: string, opts: LoadDatasetOptions = {}): Promise<Dataset> {
  nonEmptyString('data', data);
  if (opts.labels !== undefined) nonEmptyString('--labels', opts.labels);
  let labels = opts.labels;
  if (labels === undefined && /\.csv$/i.test(data)) {
    const st = await fs.stat(data).catch(() => null);
    if (st?.isFile()) labels = data;
  }
  if (labels !== undefined) return loadCsv(data, await resolveLabels(data, labels));
  return loadImageFolder(data);
}

/** A path relative to the data root, POSIX separators. */
function rel(root: string, abs: string): string {
  return path.relative(root, abs).split(path.sep).join('/');
}

function inside(realRoot: string, realTarget: string): boolean {
  const r = path.relative(realRoot, realTarget);
  return r === '' || (!r.startsWith('..' + path.sep) && r !== '..' && !path.isAbsolute(r));
}

/** Why a string cannot be a class name (class names become folder names on export), or null. */
export function classNameProblem(name: string): string | null {
  if (name.trim() === '') return 'empty class name';
  if (name === '.' || name === '..') return `class name "${name}" is not allowed`;
  if (/[/\\]/.test(name)) return `class name "${name}" contains a path separator`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f]/.test(name)) return 'class name contains control characters';
  return null;
}

function extensionProblem(file: string): string | null {
  const ext = path.extname(file).toLowerCase();
  if (IMAGE_EXTENSIONS[ext]) return null;
  const unsupported = UNSUPPORTED_IMAGE_EXTENSIONS[ext];
  if (unsupported) return `unsupported format (${unsupported}); convert it to ${SUPPORTED_FORMAT_NAMES}`;
  return ext ? `not an image file (extension ${ext})` : 'not an image file (no extension)';
}

function byFile(a: { file: string; reason?: string }, b: { file: string; reason?: string }): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  const ra = a.reason ?? '', rb = b.reason ?? '';
  return ra < rb ? -1 : ra > rb ? 1 : 0;
}

async function loadImageFolder(data: string): Promise<Dataset> {
  const root = path.resolve(data);
  let stat;
  try { stat = await fs.stat(root); } catch (err) { throw new CellganError(`cannot read the data folder: ${describeFsError(err)}`, { file: data }); }
  if (!stat.isDirectory()) throw new CellganError('expected a folder of class folders (<class>/<image>) or a labels .csv', { file: data });
  const realRoot = await fs.realpath(root);
  const skipped: FileProblem[] = [];
  const items: DatasetItem[] = [];

  /** Follows a symbolic link only when it stays inside the root; returns what it points to, or null (and records why). */
  async function followLink(abs: string): Promise<'file' | 'dir' | null> {
    let target: string;
    try { target = await fs.realpath(abs); } catch { skipped.push({ file: rel(root, abs), reason: 'broken symbolic link' }); return null; }
    if (!inside(realRoot, target)) { skipped.push({ file: rel(root, abs), reason: 'symbolic link points outside the data root; refused' }); return null; }
    const st = await fs.stat(target).catch(() => null);
    if (!st) { skipped.push({ file: rel(root, abs), reason: "cannot read the symbolic link's target" }); return null; }
    if (st.isDirectory()) return 'dir';
    if (st.isFile()) return 'file';
    skipped.push({ file: rel(root, abs), reason: 'symbolic link to something that is neither a file nor a folder' });
    return null;
  }

  async function readDir(abs: string): Promise<Dirent[]> {
    try {
      return (await fs.readdir(abs, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    } catch (err) {
      skipped.push({ file: rel(root, abs) + '/', reason: `cannot read folder: ${describeFsError(err)}` });
      return [];
    }
  }

  async function walk(dirAbs: string, label: string, depth: number, seenDirs: Set<string>): Promise<void> {
    for (const entry of await readDir(dirAbs)) {
      const abs = path.join(dirAbs, entry.name);
      const file = rel(root, abs);
      if (entry.name.startsWith('.')) { skipped.push({ file, reason: entry.name === '.DS_Store' ? 'macOS folder metadata (.DS_Store), ignored' : entry.isDirectory() ? 'hidden folder, ignored' : 'hidden file, ignored' }); continue; }
      let kind: 'file' | 'dir' | null = entry.isDirectory() ? 'dir' : entry.isFile() ? 'file' : null;
      if (entry.isSymbolicLink()) {
        kind = await followLink(abs);
        if (kind === null) continue;
        if (kind === 'dir') { skipped.push({ file, reason: 'symbolic link to a folder, not followed' }); continue; }
      }
      if (kind === 'dir') {
        const real = await fs.realpath(abs).catch(() => abs);
        if (seenDirs.has(real)) { skipped.push({ file: file + '/', reason: 'folder loop (a folder inside itself), not searched' }); continue; }
        if (depth >= MAX_DEPTH) { skipped.push({ file: file + '/', reason: `folder nested too deep (more than ${MAX_DEPTH} levels), not searched` }); continue; }
        await walk(abs, label, depth + 1, new Set([...seenDirs, real]));
        continue;
      }
      if (kind !== 'file') { skipped.push({ file, reason: 'not a regular file' }); continue; }
      const problem = extensionProblem(entry.name);
      if (problem) { skipped.push({ file, reason: problem }); continue; }
      items.push({ file, abs, label });
    }
  }

  for (const entry of await readDir(root)) {
    const abs = path.join(root, entry.name);
    if (entry.name.startsWith('.')) { skipped.push({ file: entry.name, reason: entry.name === '.DS_Store' ? 'macOS folder metadata (.DS_Store), ignored' : 'hidden, ignored' }); continue; }
    let isDir = entry.isDirectory();
    if (entry.isSymbolicLink()) {
      const kind = await followLink(abs);
      if (kind === null) continue;
      // Like nested ones, a linked class folder inside the root would only show its images twice.
      if (kind === 'dir') { skipped.push({ file: entry.name + '/', reason: 'symbolic link to a folder, not followed' }); continue; }
      isDir = false;
    }
    if (!isDir) {
      // labels.csv, README.md and the like belong at the root; only stray images are worth a mention.
      if (!extensionProblem(entry.name)) skipped.push({ file: entry.name, reason: 'image not inside a class folder (expected <class>/<image>), ignored' });
      continue;
    }
    if (entry.name === '__MACOSX') { skipped.push({ file: entry.name + '/', reason: 'macOS archive metadata folder, ignored' }); continue; }
    const badName = classNameProblem(entry.name);
    if (badName) { skipped.push({ file: entry.name + '/', reason: badName }); continue; }
    const before = items.length;
    await walk(abs, entry.name, 1, new Set([await fs.realpath(abs).catch(() => abs)]));
    if (items.length === before) skipped.push({ file: entry.name + '/', reason: 'empty class folder (no images); class left out' });
  }
  if (items.length === 0) {
    throw new CellganError(`found no images (expected <class>/<image> with ${Object.keys(IMAGE_EXTENSIONS).join(', ')} files)`, { file: data });
  }
  items.sort(byFile);
  skipped.sort(byFile);
  const classes = [...new Set(items.map((i) => i.label))].sort();
  return { root, source: 'imagefolder', classes, items, skipped };
}

async function resolveLabels(data: string, labels: string): Promise<string> {
  if (path.isAbsolute(labels)) return labels;
  // A relative --labels is taken from the working folder, else from inside the data folder.
  const fromCwd = path.resolve(labels);
  if (await fs.stat(fromCwd).then(() => true, () => false)) return fromCwd;
  const fromData = path.resolve(data, labels);
  if (await fs.stat(fromData).then(() => true, () => false)) return fromData;
  return fromCwd;
}

interface CsvCandidate { file: string; label: string; line: number; meta: Record<string, string> }

async function loadCsv(data: string, csvFile: string): Promise<Dataset> {
  let text: string;
  try { text = await fs.readFile(csvFile, 'utf8'); } catch (err) { throw new CellganError(`cannot read the labels file: ${describeFsError(err)}`, { file: csvFile }); }
  let rows;
  try { rows = parseCsv(text); } catch (err) {
    if (err instanceof CsvSyntaxError) throw new CellganError(`not valid CSV at line ${err.line}: ${err.message}`, { file: csvFile });
    throw err;
  }
  if (rows.length === 0) throw new CellganError('the labels file is empty (expected a header row with columns file,class)', { file: csvFile });
  const header = rows[0].fields.map((h) => h.trim());
  const lower = header.map((h) => h.toLowerCase());
  const fileCol = lower.indexOf('file');
  const classCol = lower.indexOf('class');
  for (const [name, col] of [['file', fileCol], ['class', classCol]] as const) {
    if (col < 0) throw new CellganError(`missing required column "${name}" (the header has: ${header.join(', ') || 'nothing'}; expected at least file,class)`, { file: csvFile });
  }
  const root = path.dirname(path.resolve(csvFile));
  const realRoot = await fs.realpath(root);
  const csvName = path.basename(csvFile);
  const skipped: FileProblem[] = [];
  const seen = new Map<string, CsvCandidate>();
  const candidates: CsvCandidate[] = [];
  for (const row of rows.slice(1)) {
    const where = `${csvName} line ${row.line}`;
    if (row.fields.length !== header.length) {
      skipped.push({ file: where, reason: `expected ${header.length} fields, found ${row.fields.length}; row ignored` });
      continue;
    }
    const rawFile = row.fields[fileCol].trim();
    const label = row.fields[classCol].trim();
    if (!rawFile) { skipped.push({ file: where, reason: 'empty file name; row ignored' }); continue; }
    if (path.posix.isAbsolute(rawFile) || path.win32.isAbsolute(rawFile)) {
      skipped.push({ file: rawFile, reason: `${where}: absolute path refused (paths must be relative to the labels file)` });
      continue;
    }
    const segments = rawFile.replace(/\\/g, '/').split('/');
    if (segments.includes('..')) {
      skipped.push({ file: rawFile, reason: `${where}: path leaves the data root (..); refused` });
      continue;
    }
    const file = path.posix.normalize(segments.join('/'));
    const classProblem = classNameProblem(label);
    if (classProblem) { skipped.push({ file, reason: `${where}: ${classProblem}; row ignored` }); continue; }
    const first = seen.get(file);
    if (first) {
      skipped.push({
        file,
        reason: first.label === label
          ? `${where}: duplicate row (same file as line ${first.line}); ignored`
          : `${where}: listed again with class "${label}" (line ${first.line} says "${first.label}"); later row ignored`,
      });
      continue;
    }
    const meta: Record<string, string> = {};
    header.forEach((h, i) => { if (i !== fileCol && i !== classCol) meta[h] = row.fields[i]; });
    const c = { file, label, line: row.line, meta };
    seen.set(file, c);
    candidates.push(c);
  }

  // Each folder is resolved once (a linked folder could lead out of the root); each file is lstat'ed,
  // and resolved only when it is itself a link.
  const realDirs = new Map<string, Promise<string>>();
  const realDir = (dir: string) => {
    let p = realDirs.get(dir);
    if (!p) { p = fs.realpath(dir); realDirs.set(dir, p); }
    return p;
  };
  const checked = await mapBounded(candidates, 16, async (c): Promise<DatasetItem | null> => {
    let abs = path.join(root, ...c.file.split('/'));
    const where = `${csvName} line ${c.line}`;
    let real: string;
    let st;
    try {
      st = await fs.lstat(abs).catch(async (err) => {
        // A CSV written on macOS may spell accented names decomposed (NFD) where the disk has them composed, or back.
        for (const form of ['NFC', 'NFD'] as const) {
          const other = c.file.normalize(form);
          if (other === c.file) continue;
          const found = await fs.lstat(path.join(root, ...other.split('/'))).catch(() => null);
          if (found) { c.file = other; abs = path.join(root, ...other.split('/')); return found; }
        }
        throw err;
      });
      const dir = await realDir(path.dirname(abs));
      real = st.isSymbolicLink() ? await fs.realpath(abs) : path.join(dir, path.basename(abs));
      if (st.isSymbolicLink()) st = await fs.stat(real);
    } catch (err) {
      skipped.push({ file: c.file, reason: `${where}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : describeFsError(err)}` });
      return null;
    }
    if (!inside(realRoot, real)) { skipped.push({ file: c.file, reason: `${where}: symbolic link points outside the data root; refused` }); return null; }
    if (!st.isFile()) { skipped.push({ file: c.file, reason: `${where}: not a regular file` }); return null; }
    const problem = extensionProblem(c.file);
    if (problem) { skipped.push({ file: c.file, reason: `${where}: ${problem}` }); return null; }
    return { file: c.file, abs, label: c.label, meta: c.meta };
  });
  const items: DatasetItem[] = [];
  for (const item of checked.filter((i): i is DatasetItem => i !== null).sort(byFile)) {
    // Two spellings (NFC/NFD) of one name found the same file.
    if (items.length && items[items.length - 1].file === item.file) { skipped.push({ file: item.file, reason: `${csvName}: the same file is listed twice (under two Unicode spellings); later row ignored` }); continue; }
    items.push(item);
  }
  skipped.sort(byFile);
  if (items.length === 0) throw new CellganError('the labels file lists no usable images', { file: csvFile });
  const classes = [...new Set(items.map((i) => i.label))].sort();
  return { root, source: 'csv', classes, items, skipped, labelsFile: path.resolve(csvFile), columns: header };
}

/** Reads and checks a split file. */
export async function readSplit(file: string): Promise<SplitFile> {
  let parsed: SplitFile;
  try {
    parsed = JSON.parse(await fs.readFile(file, 'utf8')) as SplitFile;
  } catch (err) {
    throw new CellganError(`cannot read the split file: ${err instanceof SyntaxError ? 'not valid JSON' : describeFsError(err)}`, { file });
  }
  if (!parsed || typeof parsed !== 'object' || !parsed.splits || !Array.isArray(parsed.splits.train)) {
    throw new CellganError('not a cellgan split file (expected {"seed", "splits": {"train", "val", "test"}, "excluded"})', { file });
  }
  for (const s of ['val', 'test'] as const) parsed.splits[s] ??= [];
  for (const s of ['train', 'val', 'test'] as const) {
    if (!Array.isArray(parsed.splits[s]) || parsed.splits[s].some((f) => typeof f !== 'string')) {
      throw new CellganError(`not a cellgan split file ("splits.${s}" must be a list of paths)`, { file });
    }
  }
  parsed.excluded ??= [];
  return parsed;
}

/** The dataset's items that a split puts in `subset`, in the dataset's order. */
export function selectSplit(dataset: Dataset, split: SplitFile, subset: SplitName): DatasetItem[] {
  const wanted = new Set(split.splits[subset]);
  const byFileSet = new Set(dataset.items.map((i) => i.file));
  const missing = [...wanted].filter((f) => !byFileSet.has(f));
  if (missing.length) {
    throw new CellganError(`the split names ${missing.length} file(s) not in the dataset, e.g. ${missing[0]}; was it made for other data?`, { file: dataset.root });
  }
  return dataset.items.filter((i) => wanted.has(i.file));
}

/**
 * Items relabelled by a finer labels-CSV column (e.g. PBC's fine_class, which splits ig into its
 * stages): each item's label becomes its value there, and `groups` maps every such label to the
 * class it lies within. A missing column, an empty value or a value under two classes is refused,
 * naming the file.
 */
export function refineLabels(dataset: Dataset, items: DatasetItem[], column: string): { items: DatasetItem[]; groups: Record<string, string> } {
  const file = dataset.labelsFile ?? dataset.root;
  if (dataset.source !== 'csv') throw new CellganError('--condition names a labels-CSV column, but the data is class folders (pass --labels)', { file, exitCode: 2 });
  const columns = dataset.columns ?? [];
  if (!columns.includes(column) || ['file', 'class'].includes(column.toLowerCase())) {
    throw new CellganError(`--condition: expected a column of the labels file other than file and class (it has: ${columns.join(', ')}), received ${JSON.stringify(column)}`, { file, exitCode: 2 });
  }
  const groups: Record<string, string> = {};
  const example: Record<string, string> = {};
  const refined = items.map((item) => {
    const value = (item.meta?.[column] ?? '').trim();
    const problem = classNameProblem(value);
    if (problem) throw new CellganError(`${item.file}: ${column} is not usable as a class (${problem})`, { file });
    if (groups[value] !== undefined && groups[value] !== item.label) {
      throw new CellganError(`${column} "${value}" lies within two classes, ${groups[value]} (e.g. ${example[value]}) and ${item.label} (${item.file}); each must lie within one`, { file });
    }
    groups[value] = item.label;
    example[value] ??= item.file;
    return { ...item, label: value };
  });
  return { items: refined, groups };
}
