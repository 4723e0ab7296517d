/**
 * Deciding, before any pixel is written, which images the training split of
 * each class gets: all its real images (or a seeded subsample with `cap`),
 * then synthetic and augmented ones in the chosen mix until it holds exactly
 * N. Pure and seeded: the same inputs give the same plan, and each choice
 * uses its own forked Rng so one class's numbers never shift another's.
 */
import { CellganError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import type { DatasetItem } from '../data/types.js';
import { drawTransform, geometriesFor, variantsPerImage, type AugmentKind, type Transform } from './classic.js';
import type { SyntheticImage } from '../data/synthetic.js';

export type Mix =
  | { kind: 'synthetic-first' }
  | { kind: 'augment-first' }
  /** `share` of the images added to a class are synthetic (as far as there are enough), the rest augmented. */
  | { kind: 'ratio'; share: number };

export interface AugmentedPlanItem {
  source: DatasetItem;
  /** 0 for the first augmentation of `source`, 1 for the second… */
  use: number;
  transform: Transform;
}

export interface ClassPlan {
  class: string;
  /** Readable real training images of the class. */
  realAvailable: number;
  /** Real training images exported (all of them, unless `cap` subsampled). */
  real: DatasetItem[];
  synthetic: SyntheticImage[];
  augmented: AugmentedPlanItem[];
  /** Why the class got this mix, for dataset.json and the card. */
  notes: string[];
}

export interface PlanInput {
  classes: string[];
  /** Readable real training images by class, sorted by file. */
  realTrain: Map<string, DatasetItem[]>;
  /** Readable synthetic images by class, sorted. */
  synthetic: Map<string, SyntheticImage[]>;
  perClass: number | 'max';
  mix: Mix;
  augment: AugmentKind[];
  cap: boolean;
  seed: number;
}

export interface Plan {
  perClass: number;
  classes: ClassPlan[];
}

export function mixToString(mix: Mix): string {
  return mix.kind === 'ratio' ? `ratio:${mix.share}` : mix.kind;
}

/** `max`: the largest real training class. */
export function resolvePerClass(perClass: number | 'max', realTrain: Map<string, DatasetItem[]>): number {
  if (perClass !== 'max') return perClass;
  return Math.max(0, ...[...realTrain.values()].map((v) => v.length));
}

/** How many images a class still needs, split into synthetic and augmented. Throws nothing; `short` > 0 means it cannot be done. */
export function allocate(need: number, synthAvailable: number, augCapacity: number, mix: Mix): { synthetic: number; augmented: number; short: number; notes: string[] } {
  const notes: string[] = [];
  if (need <= 0) return { synthetic: 0, augmented: 0, short: 0, notes };
  let synthetic: number, augmented: number;
  if (mix.kind === 'synthetic-first') {
    synthetic = Math.min(need, synthAvailable);
    augmented = need - synthetic;
    if (augmented > 0 && synthAvailable < need) notes.push(`only ${synthAvailable} synthetic image(s) available: ${augmented} augmented image(s) fill the rest`);
  } else if (mix.kind === 'augment-first') {
    augmented = Math.min(need, augCapacity);
    synthetic = need - augmented;
    if (synthetic > 0) notes.push(`augmentation can make only ${augCapacity} distinct image(s): ${synthetic} synthetic image(s) fill the rest`);
  } else {
    const wanted = Math.round(need * mix.share);
    synthetic = Math.min(wanted, synthAvailable);
    augmented = need - synthetic;
    if (synthetic < wanted) notes.push(`ratio ${mix.share} asked for ${wanted} synthetic image(s), only ${synthAvailable} available: the rest is augmented`);
    if (augmented > augCapacity) {
      const moved = Math.min(augmented - augCapacity, synthAvailable - synthetic);
      if (moved > 0) notes.push(`augmentation can make only ${augCapacity} distinct image(s): ${moved} more synthetic image(s) used instead`);
      synthetic += moved;
      augmented -= moved;
    }
  }
  let short = 0;
  if (augmented > augCapacity) { short = augmented - augCapacity; augmented = augCapacity; }
  if (synthetic > synthAvailable) { short += synthetic - synthAvailable; synthetic = synthAvailable; }
  return { synthetic, augmented, short, notes };
}

export function planExport(input: PlanInput): Plan {
  const N = resolvePerClass(input.perClass, input.realTrain);
  if (N < 1) throw new CellganError('--per-class max found no readable real training image in any class; give a number with --per-class');
  const root = new Rng(input.seed);
  const variants = variantsPerImage(input.augment);
  const geometries = geometriesFor(input.augment);
  const plans: ClassPlan[] = [];
  const shortfalls: string[] = [];

  for (const cls of input.classes) {
    const realAll = input.realTrain.get(cls) ?? [];
    const synthAll = input.synthetic.get(cls) ?? [];
    const notes: string[] = [];
    let real = realAll;
    if (realAll.length > N) {
      if (input.cap) {
        real = root.fork('cap', cls).shuffle([...realAll]).slice(0, N).sort(byFile);
        notes.push(`${realAll.length} real images, more than ${N}: a seeded subsample of ${N} kept (--cap)`);
      } else {
        notes.push(`${realAll.length} real images, more than ${N}: all kept (pass --cap to subsample)`);
      }
    }
    const need = Math.max(0, N - real.length);
    const augCapacity = real.length * variants; // Infinity × 0 cannot happen: variants is finite or real > 0 checked below
    const alloc = allocate(need, synthAll.length, real.length === 0 ? 0 : augCapacity, input.mix);
    notes.push(...alloc.notes);
    if (alloc.short > 0) {
      const why = [
        `${real.length} real`,
        `${synthAll.length} synthetic`,
        input.augment.length === 0 ? 'augmentation off' : real.length === 0 ? 'no real image to augment' : `augmentation up to ${augCapacity}`,
      ];
      shortfalls.push(`${cls} needs ${need} more image(s) but only ${need - alloc.short} can be made (${why.join(', ')})`);
      continue;
    }

    const synthetic = root.fork('synthetic', cls).shuffle([...synthAll]).slice(0, alloc.synthetic).sort(bySynthetic);

    const augmented: AugmentedPlanItem[] = [];
    if (alloc.augmented > 0) {
      // Round-robin over a seeded order of the real images, so every real
      // image is augmented about equally often.
      const sources = root.fork('augment', cls).shuffle([...real]);
      for (let j = 0; j < alloc.augmented; j++) {
        const source = sources[j % sources.length];
        const use = Math.floor(j / sources.length);
        const order = root.fork('geometry', source.file).shuffle([...geometries]);
        const transform = drawTransform(input.augment, order, use, root.fork('color', source.file, use));
        augmented.push({ source, use, transform });
      }
      augmented.sort((a, b) => byFile(a.source, b.source) || a.use - b.use);
    }
    plans.push({ class: cls, realAvailable: realAll.length, real, synthetic, augmented, notes });
  }
  if (shortfalls.length) {
    throw new CellganError(`cannot reach ${N} training images per class: ${shortfalls.join('; ')}. Add synthetic images (--synthetic), turn on more augmentation (--augment flip,rot90,color), or lower --per-class`);
  }
  return { perClass: N, classes: plans };
}

function byFile(a: { file: string }, b: { file: string }): number {
  return a.file < b.file ? -1 : a.file > b.file ? 1 : 0;
}

function bySynthetic(a: SyntheticImage, b: SyntheticImage): number {
  return a.dirIndex - b.dirIndex || byFile(a, b);
}
