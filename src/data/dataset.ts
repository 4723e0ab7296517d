/**
 * Finding the labelled images of a dataset. (First version: ImageFolder
 * only; the dataset-layer work extends it with labels CSVs and the checks
 * of issue #2/#8.)
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import fg from 'fast-glob';
import { CellganError, describeFsError } from '../util/errors.js';
import type { Dataset, DatasetItem, FileProblem, SplitFile, SplitName } from './types.js';

export interface LoadDatasetOptions {
  /** A labels CSV (`file,class`, paths relative to the CSV); else `data` is an ImageFolder root. */
  labels?: string;
}

/** Scans an ImageFolder root (`<root>/<class>/<image>`). */
export async function loadDataset(data: string, opts: LoadDatasetOptions = {}): Promise<Dataset> {
  void opts;
  const root = path.resolve(data);
  let stat;
  try { stat = await fs.stat(root); } catch (err) { throw new CellganError(`cannot read the data folder: ${describeFsError(err)}`, { file: data }); }
  if (!stat.isDirectory()) throw new CellganError('expected a folder of class folders (<class>/<image>)', { file: data });
  const files = await fg('*/*', { cwd: root, onlyFiles: true, dot: false });
  const skipped: FileProblem[] = [];
  const items: DatasetItem[] = files.sort().map((file) => ({ file, abs: path.join(root, file), label: file.split('/')[0] }));
  const classes = [...new Set(items.map((i) => i.label))].sort();
  return { root, source: 'imagefolder', classes, items, skipped };
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
  parsed.excluded ??= [];
  return parsed;
}

/** The dataset's items that a split puts in `subset`, in the dataset's order. */
export function selectSplit(dataset: Dataset, split: SplitFile, subset: SplitName): DatasetItem[] {
  const wanted = new Set(split.splits[subset]);
  const byFile = new Set(dataset.items.map((i) => i.file));
  const missing = [...wanted].filter((f) => !byFile.has(f));
  if (missing.length) {
    throw new CellganError(`the split names ${missing.length} file(s) not in the dataset, e.g. ${missing[0]}; was it made for other data?`, { file: dataset.root });
  }
  return dataset.items.filter((i) => wanted.has(i.file));
}
