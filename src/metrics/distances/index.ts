/**
 * featureDistances: per class, FID, KID and precision/recall between the real
 * images (the split's training images by default: what the GAN learned from)
 * and the synthetic ones, in a feature space (see features.ts).
 */
import { ensureBackend } from '../../engine/index.js';
import { silentLogger, type Logger } from '../../util/log.js';
import { CellganError, OptionError } from '../../util/errors.js';
import * as v from '../../util/validate.js';
import { loadDataset, readSplit, selectSplit } from '../../data/dataset.js';
import type { Dataset, DatasetItem, SplitFile, SplitName } from '../../data/types.js';
import { readSyntheticFolder } from '../images.js';
import { computeFeatures, loadFeatureExtractor, type FeatureExtractor, type FeatureSet } from './features.js';
import { frechetDistance } from './fid.js';
import { distanceRegistry } from './registry.js';
import { DISTANCE_DEFAULTS, type ClassDistances, type DistanceOptions } from './types.js';
import { num } from '../report.js';
import { Rng, deriveSeed } from '../../util/rng.js';

export interface FeatureDistancesOptions {
  data: string | Dataset;
  labels?: string;
  split?: string | SplitFile;
  /** Which real images to compare with: a split subset or 'all' (default 'train' with a split, else all). */
  realSubset?: SplitName | 'all';
  /**
   * Other real images of each class for the real-vs-real reference FID
   * (default: 'test' when comparing with 'train', else 'train'; none without a split).
   */
  referenceSubset?: SplitName | 'none';
  /** Synthetic folder (<dir>/<class>/<image>). */
  synthetic: string;
  /** A saved cellgan classifier: its penultimate features are used. */
  model?: string;
  /** Any tfjs layers model folder (overrides `model`): its flattened output is the feature vector. */
  features?: string;
  /** Folder for cached features (e.g. <score out>/features-cache). */
  cacheDir?: string;
  /** Neighbourhood size of precision/recall (default 3, as in the paper: DISTANCE_DEFAULTS). */
  k?: number;
  kidSubsetSize?: number;
  kidSubsets?: number;
  seed?: number;
  logger?: Logger;
}

export interface FeatureDistancesResult {
  feature_space: string;
  feature_dim: number;
  real_subset: string;
  /** The split subset of the real-vs-real reference FIDs, or null. */
  reference_subset: string | null;
  /** Per class present in both the real and the synthetic set. */
  classes: Record<string, ClassDistances>;
  /** All classes pooled. */
  overall: ClassDistances;
  /** Real classes with no synthetic images (and the reverse): reported, not scored. */
  missing_in_synthetic: string[];
  missing_in_real: string[];
  notes: string[];
}

export async function featureDistances(opts: FeatureDistancesOptions): Promise<FeatureDistancesResult> {
  const logger = opts.logger ?? silentLogger;
  const modelDir = opts.features ?? opts.model;
  if (!modelDir) throw new OptionError('Expected a classifier folder (model) or a tfjs layers model folder (--features) for feature distances but received neither');
  const k = v.integer('--k', opts.k ?? DISTANCE_DEFAULTS.k, 1, 100);
  const kidSubsetSize = v.integer('--kid-subset-size', opts.kidSubsetSize ?? DISTANCE_DEFAULTS.kidSubsetSize, 2);
  const kidSubsets = v.integer('--kid-subsets', opts.kidSubsets ?? DISTANCE_DEFAULTS.kidSubsets, 1, 10_000);
  const seed = v.integer('--seed', opts.seed ?? DISTANCE_DEFAULTS.seed, 0);
  await ensureBackend();
  const dataset = typeof opts.data === 'string' ? await loadDataset(opts.data, { labels: opts.labels }) : opts.data;
  const split = typeof opts.split === 'string' ? await readSplit(opts.split) : opts.split;
  const realSubset = opts.realSubset ?? (split ? 'train' : 'all');
  if (realSubset !== 'all') v.oneOf('--real-subset', realSubset, ['train', 'val', 'test', 'all'] as const);
  if (realSubset !== 'all' && !split) throw new OptionError(`Expected a split file for --real-subset ${realSubset} but received none`);
  const realItems = realSubset === 'all' ? dataset.items : selectSplit(dataset, split!, realSubset);
  const referenceSubset = opts.referenceSubset ?? (!split || realSubset === 'all' ? 'none' : realSubset === 'train' ? 'test' : 'train');
  if (referenceSubset !== 'none') {
    v.oneOf('--reference-subset', referenceSubset, ['train', 'val', 'test', 'none'] as const);
    if (!split) throw new OptionError(`Expected a split file for --reference-subset ${referenceSubset} but received none`);
    if (referenceSubset === realSubset) throw new OptionError(`Expected a --reference-subset other than the real subset (${realSubset}) but received ${referenceSubset}`);
  }
  const referenceItems = referenceSubset === 'none' ? [] : selectSplit(dataset, split!, referenceSubset);
  const synthetic = await readSyntheticFolder(opts.synthetic);
  const realClasses = [...new Set(realItems.map((i) => i.label))].sort();
  const classes = realClasses.filter((c) => synthetic.classes.includes(c));
  const missingInSynthetic = realClasses.filter((c) => !synthetic.classes.includes(c));
  const missingInReal = synthetic.classes.filter((c) => !realClasses.includes(c));
  if (missingInSynthetic.length) logger.warn(`no synthetic images for class(es) ${missingInSynthetic.join(', ')}: not scored`);
  if (missingInReal.length) logger.warn(`synthetic class(es) ${missingInReal.join(', ')} have no real images: not scored`);
  if (!classes.length) throw new CellganError('the synthetic folder shares no class with the real data', { file: opts.synthetic });

  const extractor: FeatureExtractor = await loadFeatureExtractor(modelDir);
  try {
    const use = (items: DatasetItem[]) => items.filter((i) => classes.includes(i.label));
    logger.info(`features: ${extractor.description} (${extractor.dim} dimensions)`);
    const real = await computeFeatures(extractor, use(realItems), { cacheDir: opts.cacheDir, logger, what: 'real images' });
    const fake = await computeFeatures(extractor, use(synthetic.items), { cacheDir: opts.cacheDir, logger, what: 'synthetic images' });
    // Computed once (and cached like the others); each class's reference rows are cut from it.
    const ref = referenceItems.length ? await computeFeatures(extractor, use(referenceItems), { cacheDir: opts.cacheDir, logger, what: `real ${referenceSubset} images (reference)` }) : undefined;
    const labelOf = new Map<string, string>();
    for (const i of realItems) labelOf.set(`r:${i.file}`, i.label);
    for (const i of synthetic.items) labelOf.set(`f:${i.file}`, i.label);
    for (const i of referenceItems) labelOf.set(`x:${i.file}`, i.label);
    const o = { k, kidSubsetSize, kidSubsets, seed };
    const perClass: Record<string, ClassDistances> = {};
    for (const c of classes) {
      const r = rowsOf(real, (f) => labelOf.get(`r:${f}`) === c);
      const f = rowsOf(fake, (x) => labelOf.get(`f:${x}`) === c);
      const x = ref && rowsOf(ref, (file) => labelOf.get(`x:${file}`) === c);
      perClass[c] = withReference(distancesBetween(r, f, o, c, logger), r, f, x, seed, referenceSubset, c, logger);
    }
    const overall = withReference(distancesBetween(real, fake, o, 'all classes', logger), real, fake, ref, seed, referenceSubset, 'all classes', logger);
    return {
      feature_space: extractor.description, feature_dim: extractor.dim, real_subset: realSubset, reference_subset: ref ? referenceSubset : null,
      classes: perClass, overall, missing_in_synthetic: missingInSynthetic, missing_in_real: missingInReal,
      notes: [
        'FID/KID here are computed on the feature space named above, so they are comparable only with numbers on the same features (not with InceptionV3 FIDs).',
        `KID: unbiased MMD² with the cubic polynomial kernel, mean ± std over ${kidSubsets} subsets of min(${kidSubsetSize}, n_real, n_fake) images.`,
        `precision/recall: Kynkäänniemi et al. 2019, k = ${k} nearest neighbours.`,
        ...(ref ? [`reference FID: the real ${realSubset} images against n real ${referenceSubset} images of the same class, beside the synthetic FID at the same n (n = min(synthetic, ${referenceSubset}) images of the class; a seeded subset where one side has more).`] : []),
      ],
    };
  } finally {
    extractor.dispose();
  }
}

/**
 * `d` with its real-vs-real reference: FID(real, n reference rows) and
 * FID(real, n synthetic rows), n = min of the two counts, each cut to n by a
 * seeded shuffle (the synthetic FID reused when nothing is cut).
 */
export function withReference(d: ClassDistances, real: FeatureSet, fake: FeatureSet, ref: FeatureSet | undefined, seed: number, subset: string, label: string, logger: Logger): ClassDistances {
  if (!ref) return d;
  const n = Math.min(fake.n, ref.n);
  if (n < 2) {
    const w = `no reference FID: fewer than 2 real ${subset} images`;
    logger.warn(`${label}: ${w}`);
    return { ...d, warnings: [...d.warnings, w] };
  }
  const rng = new Rng(deriveSeed('reference-fid', seed, label));
  const cut = (set: FeatureSet): FeatureSet => {
    if (set.n === n) return set;
    const keep = new Set(rng.shuffle(set.files.map((_, i) => i)).slice(0, n).map((i) => set.files[i]));
    return rowsOf(set, (f) => keep.has(f));
  };
  const x = cut(ref), f = cut(fake);
  return {
    ...d,
    reference: {
      n,
      fid_real: num(frechetDistance(real.rows, real.n, x.rows, x.n, real.d)),
      fid_synthetic: f === fake ? d.fid : num(frechetDistance(real.rows, real.n, f.rows, f.n, real.d)),
    },
  };
}

/** The rows of `set` whose file passes `keep` (e.g. one class's). */
export function rowsOf(set: FeatureSet, keep: (file: string) => boolean): FeatureSet {
  const idx = set.files.map((f, i) => (keep(f) ? i : -1)).filter((i) => i >= 0);
  const rows = new Float64Array(idx.length * set.d);
  idx.forEach((i, j) => rows.set(set.rows.subarray(i * set.d, (i + 1) * set.d), j * set.d));
  return { rows, n: idx.length, d: set.d, files: idx.map((i) => set.files[i]), cached: set.cached };
}

/**
 * Every registered distance (registry.ts: FID, KID, precision/recall) between
 * two feature sets, in the registry's order, with warnings for small samples.
 */
export function distancesBetween(real: FeatureSet, fake: FeatureSet, o: DistanceOptions, label: string, logger: Logger): ClassDistances {
  const d = real.d;
  const warnings: string[] = [];
  const small = ([['real', real.n], ['synthetic', fake.n]] as const).filter(([, n]) => n < d);
  if (small.length) {
    warnings.push(`fewer samples than feature dimensions (${small.map(([name, n]) => `${n} ${name}`).join(', ')} < ${d}): the covariance is singular and FID is biased upwards; compare FIDs only at equal sample sizes`);
  }
  if (real.n < 2 || fake.n < 2) warnings.push('FID, KID and precision/recall need at least 2 real and 2 synthetic images');
  for (const w of warnings) logger.warn(`${label}: ${w}`);
  const fields: Partial<ClassDistances> = {};
  for (const m of distanceRegistry.values()) Object.assign(fields, m.fields(m.compute(real, fake, o)));
  return { n_real: real.n, n_fake: fake.n, ...fields, warnings } as ClassDistances;
}

export { frechetDistance } from './fid.js';
export { kernelInceptionDistance, mmdUnbiased } from './kid.js';
export { precisionRecall } from './precision-recall.js';
export { symmetricEigen, sqrtPsd, traceSqrtProduct, meanAndCovariance } from './linalg.js';
export { loadFeatureExtractor, computeFeatures } from './features.js';
export type { ClassDistances, ReferenceFid, DistanceOptions } from './types.js';
export type { FeatureExtractor, FeatureSet } from './features.js';
