/**
 * The dataset layer's shared types. Data knows no models: images come out as
 * plain Float32Arrays (NHWC, RGB, values in [-1, 1]); src/engine turns them
 * into tensors.
 */

/** One labelled image. */
export interface DatasetItem {
  /** Path relative to the data root, POSIX separators (`<class>/<file>` for ImageFolder). */
  file: string;
  /** Absolute path on disk. */
  abs: string;
  /** Class label. */
  label: string;
  /** Extra CSV columns, kept as metadata. */
  meta?: Record<string, string>;
}

/** A problem with one input file, in one readable line. */
export interface FileProblem {
  file: string;
  reason: string;
}

export interface Dataset {
  /** Absolute path of the data root (the ImageFolder root, or the CSV's folder). */
  root: string;
  source: 'imagefolder' | 'csv';
  /** Sorted class names; the index of a class here is its label index. */
  classes: string[];
  /** Items sorted by `file`. */
  items: DatasetItem[];
  /** Entries skipped while scanning (hidden files, unsupported extensions, bad CSV rows, links out of the root…). */
  skipped: FileProblem[];
  /** The labels CSV (absolute path) when `source` is 'csv'. */
  labelsFile?: string;
  /** The CSV's header columns when `source` is 'csv' (what `--group-by` can name). */
  columns?: string[];
}

export type SplitName = 'train' | 'val' | 'test';
export const SPLIT_NAMES: readonly SplitName[] = ['train', 'val', 'test'];

/** The split file format (`cellgan split --out split.json`). Paths are `DatasetItem.file`. */
export interface SplitFile {
  seed: number;
  splits: Record<SplitName, string[]>;
  excluded: FileProblem[];
  /** Options that made it (fractions, group-by), for provenance. */
  options?: Record<string, unknown>;
}

/** A batch of decoded images. */
export interface ImageBatch {
  /** N × size × size × 3, RGB, values in [-1, 1]. */
  data: Float32Array;
  size: number;
  /** The items decoded, in the order of `data`. */
  items: DatasetItem[];
  /** Items that could not be decoded, with the reason. */
  failed: FileProblem[];
}
