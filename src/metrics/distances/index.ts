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
import { kernelInceptionDistance } from './kid.js';
import { precisionRecall } from './precision-recall.js';
import { num, type Num } from '../report.js';

export interface FeatureDistancesOptions {
  data: string | Dataset;
  labels?: string;
  split?: string | SplitFile;
  /** Which real images to compare with: a split subset or 'all' (default 'train' with a split, else all). */
  realSubset?: SplitName | 'all';
  /** Synthetic folder (<dir>/<class>/<image>). */
  synthetic: string;
  /** A saved cellgan classifier: its penultimate features are used. */
  model?: string;
  /** Any tfjs layers model folder (overrides `model`): its flattened output is the feature vector. */
  features?: string;
  /** Folder for cached features (e.g. <score out>/features-cache). */
  cacheDir?: string;
  /** Neighbourhood size of precision/recall (default 3, as in the paper). */
  k?: number;
  kidSubsetSize?: number;
  kidSubsets?: number;
  seed?: number;
  logger?: Logger;
}

export interface ClassDistances {
  n_real: number;
  n_fake: number;
  fid: Num;
  kid: { value: Num; std: Num; subset_size: number; subsets: number };
  precision: Num;
  recall: Num;
  k: number;
  warnings: string[];
}

export interface FeatureDistancesResult {
  feature_space: string;
  feature_dim: number;
  real_subset: string;
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
  const k = v.integer('--k', opts.k ?? 3, 1, 100);
  const kidSubsetSize = v.integer('--kid-subset-size', opts.kidSubsetSize ?? 1000, 2);
  const kidSubsets = v.integer('--kid-subsets', opts.kidSubsets ?? 100, 1, 10_000);
  const seed = v.integer('--seed', opts.seed ?? 0, 0);
  await ensureBackend();
  const dataset = typeof opts.data === 'string' ? await loadDataset(opts.data, { labels: opts.labels }) : opts.data;
  const split = typeof opts.split === 'string' ? await readSplit(opts.split) : opts.split;
  const realSubset = opts.realSubset ?? (split ? 'train' : 'all');
  if (realSubset !== 'all') v.oneOf('--real-subset', realSubset, ['train', 'val', 'test', 'all'] as const);
  if (realSubset !== 'all' && !split) throw new OptionError(`Expected a split file for --real-subset ${realSubset} but received none`);
  const realItems = realSubset === 'all' ? dataset.items : selectSplit(dataset, split!, realSubset);
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
    const labelOf = new Map<string, string>();
    for (const i of realItems) labelOf.set(`r:${i.file}`, i.label);
    for (const i of synthetic.items) labelOf.set(`f:${i.file}`, i.label);
    const perClass: Record<string, ClassDistances> = {};
    for (const c of classes) {
      const r = rowsOf(real, (f) => labelOf.get(`r:${f}`) === c);
      const f = rowsOf(fake, (x) => labelOf.get(`f:${x}`) === c);
      perClass[c] = distancesBetween(r, f, { k, kidSubsetSize, kidSubsets, seed }, c, logger);
    }
    const overall = distancesBetween(real, fake, { k, kidSubsetSize, kidSubsets, seed }, 'all classes', logger);
    return {
      feature_space: extractor.description, feature_dim: extractor.dim, real_subset: realSubset,
      classes: perClass, overall, missing_in_synthetic: missingInSynthetic, missing_in_real: missingInReal,
      notes: [
        'FID/KID here are computed on the feature space named above, so they are comparable only with numbers on the same features (not with InceptionV3 FIDs).',
        `KID: unbiased MMD² with the cubic polynomial kernel, mean ± std over ${kidSubsets} subsets of min(${kidSubsetSize}, n_real, n_fake) images.`,
        `precision/recall: Kynkäänniemi et al. 2019, k = ${k} nearest neighbours.`,
      ],
    };
  } finally {
    extractor.dispose();
  }
}

/** The rows of `set` whose file passes `keep` (e.g. one class's). */
export function rowsOf(set: FeatureSet, keep: (file: string) => boolean): FeatureSet {
  const idx = set.files.map((f, i) => (keep(f) ? i : -1)).filter((i) => i >= 0);
  const rows = new Float64Array(idx.length * set.d);
  idx.forEach((i, j) => rows.set(set.rows.subarray(i * set.d, (i + 1) * set.d), j * set.d));
  return { rows, n: idx.length, d: set.d, files: idx.map((i) => set.files[i]), cached: set.cached };
}

/** FID, KID and precision/recall between two feature sets, with warnings for small samples. */
export function distancesBetween(real: FeatureSet, fake: FeatureSet, o: { k: number; kidSubsetSize: number; kidSubsets: number; seed: number }, label: string, logger: Logger): ClassDistances {
  const d = real.d;
  const warnings: string[] = [];
  const small = ([['real', real.n], ['synthetic', fake.n]] as const).filter(([, n]) => n < d);
  if (small.length) {
    warnings.push(`fewer samples than feature dimensions (${small.map(([name, n]) => `${n} ${name}`).join(', ')} < ${d}): the covariance is singular and FID is biased upwards; compare FIDs only at equal sample sizes`);
  }
  if (real.n < 2 || fake.n < 2) warnings.push('FID, KID and precision/recall need at least 2 real and 2 synthetic images');
  for (const w of warnings) logger.warn(`${label}: ${w}`);
  const kid = kernelInceptionDistance(real.rows, real.n, fake.rows, fake.n, d, { subsetSize: o.kidSubsetSize, subsets: o.kidSubsets, seed: o.seed });
  const pr = precisionRecall(real.rows, real.n, fake.rows, fake.n, d, o.k);
  return {
    n_real: real.n, n_fake: fake.n,
    fid: num(frechetDistance(real.rows, real.n, fake.rows, fake.n, d)),
    kid: { value: num(kid.value), std: num(kid.std), subset_size: kid.subsetSize, subsets: kid.subsets },
    precision: num(pr.precision), recall: num(pr.recall), k: pr.k, warnings,
  };
}

export { frechetDistance } from './fid.js';
export { kernelInceptionDistance, mmdUnbiased } from './kid.js';
export { precisionRecall } from './precision-recall.js';
export { symmetricEigen, sqrtPsd, traceSqrtProduct, meanAndCovariance } from './linalg.js';
export { loadFeatureExtractor, computeFeatures } from './features.js';
export type { FeatureExtractor, FeatureSet } from './features.js';
