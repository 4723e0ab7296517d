/**
 * The exporter's shared types (and the constants they are made from): the
 * options and result of `exportDataset`, the manifest row, counts by
 * split/class/origin. export.ts and card.ts both take them from here, so
 * neither imports the other for a type.
 */
import type { Leak, MemorizationCalibration, MemorizationFlag } from '../data/leaks.js';
import type { FileProblem, SplitName } from '../data/types.js';
import type { Logger } from '../util/log.js';
import type { AugmentKind } from './classic.js';
import type { Mix } from './plan.js';

export const EXPORT_FORMATS = ['imagefolder', 'hf'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
export type Origin = 'real' | 'synthetic' | 'augmented';
export const ORIGINS: readonly Origin[] = ['real', 'synthetic', 'augmented'];

export type ExportPhase = 'check-real' | 'check-synthetic' | 'write';

export interface ExportOptions {
  /** The real images: an ImageFolder root; with `labels`, a folder a relative `labels` path is also looked for in (the CSV's paths are relative to the CSV). */
  data: string;
  /** A labels CSV, as for `loadDataset`. */
  labels?: string;
  /** A split file (`cellgan split`); train gets balanced, val/test are copied real-only. */
  split: string;
  /** Synthetic folders as `cellgan generate` writes them (array, or a comma-separated string). */
  synthetic?: string[] | string;
  /** Training images per class, or `max` (the largest real training class). */
  perClass: number | 'max' | string;
  /** Classic augmentations allowed; default all (`flip,rot90,color`). Empty / `none` turns augmentation off. */
  augment?: AugmentKind[] | string;
  /** `synthetic-first` (default), `augment-first` or `ratio:<share of synthetic, 0..1>`. */
  mix?: Mix | string;
  /** The output folder (created atomically). */
  out: string;
  /** `imagefolder` (default), or `hf` to also write Hugging Face `metadata.jsonl` files. */
  format?: ExportFormat;
  /** Seed of every random choice (default 0). */
  seed?: number | string;
  /** Subsample classes with more than N real training images down to N. */
  cap?: boolean;
  /** Replace a non-empty `out`. */
  force?: boolean;
  /** Citation of the real images, for the dataset card (else read from README/CITATION beside the data). */
  citation?: string;
  /** Licence of the real images, for the dataset card (else read from README/LICENSE beside the data). */
  license?: string;
  /** The command line that made the export, recorded in the card and dataset.json. */
  command?: string;
  /** Images processed at once (default 4). */
  concurrency?: number | string;
  /** Near-duplicate threshold (1 − cosine, src/data/near.ts) for leaks and the memorisation flag (default 0.03). */
  nearThreshold?: number;
  /** Leave out (and list) synthetic images that copy a real validation/test image instead of refusing them. */
  dropLeaks?: boolean;
  /** Leave out (and list) synthetic images flagged as probable copies of real training images. */
  excludeMemorized?: boolean;
  logger?: Logger;
  onProgress?: (phase: ExportPhase, done: number, total: number) => void;
}

/** Counts by split → class → origin. */
export type ExportCounts = Record<SplitName, Record<string, Record<Origin, number>>>;

export interface GeneratorUse {
  /** The synthetic folder as given. */
  dir: string;
  run?: string;
  checkpoint?: string;
  /** Images of this run/checkpoint in the export. */
  images: number;
}

export interface ExportResult {
  /** Absolute path of the finished export. */
  out: string;
  /** N actually used (resolved from `max`). */
  perClass: number;
  classes: string[];
  counts: ExportCounts;
  /** Image files written. */
  files: number;
  generators: GeneratorUse[];
  /** Inputs left out, with the reason (also in dataset.json). */
  skipped: FileProblem[];
  warnings: string[];
  /** Most images ever processed at once (≤ concurrency: the export streams). */
  peakInFlight: number;
  /** Synthetic images that copied a real validation/test image and were dropped (--drop-leaks). */
  leaks: Leak[];
  /** The memorisation audit of the synthetic images checked (null without synthetic folders). */
  memorization: ExportMemorization | null;
}

/** Memorisation of the synthetic images an export checked (src/data/leaks.ts). */
export interface ExportMemorization {
  /** Synthetic images checked (those used, plus those left out as copies). */
  checked: number;
  flagged: MemorizationFlag[];
  rate: number;
  /** Whether flagged images were left out (--exclude-memorized). */
  excluded: boolean;
  calibration: MemorizationCalibration;
}

export interface ExportManifestRow {
  /** Relative to the export folder, POSIX. */
  file: string;
  split: SplitName;
  class: string;
  origin: Origin;
  source: string;
  transform: string;
  sha256: string;
}
