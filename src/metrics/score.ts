/**
 * GAN-train / GAN-test (Shmelkov, Schmid & Alahari, "How good is my GAN?",
 * ECCV 2018), with the baseline they are read against:
 *   baseline  — classifier trained on the real training split, tested on the real test split;
 *   GAN-train — the same architecture and recipe trained only on synthetic images, tested on
 *               the real test split (high = synthetic images carry the classes' information);
 *   GAN-test  — the baseline classifier tested on the synthetic images (high = synthetic
 *               images look like their class to a model of the real data).
 * Every accuracy is a fraction with a 95 % percentile-bootstrap CI. Also
 * writes per-class feature distances (FID, KID, precision/recall).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ensureBackend, type LayersModel } from '../engine/index.js';
import { silentLogger, type Logger } from '../util/log.js';
import { buildDirAtomic, exists, writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import { CellganError, OptionError } from '../util/errors.js';
import { Rng, deriveSeed } from '../util/rng.js';
import * as v from '../util/validate.js';
import { resolveOptions, integer, boolean, text, FORCE_OPTION, type OptionTable } from '../util/options.js';
import { loadDataset, readSplit, selectSplit, DATA_OPTION, LABELS_OPTION } from '../data/dataset.js';
import { mapBounded } from '../util/pool.js';
import { auditMemorization, buildHeldOut, buildReference, calibrateMemorization, describeLeak, findLeak, readSynthetic, type Leak, type MemorizationAudit } from '../data/leaks.js';
import { NEAR_THRESHOLD_OPTION } from '../data/inspect.js';
import type { Dataset, DatasetItem, SplitFile } from '../data/types.js';
import { decodeLabeled, readSyntheticFolder, type LabeledImages, type SyntheticSet } from './images.js';
import { trainClassifier, trainOnImages, carveValidation, SYNTHETIC_VAL_FRACTION, matchingSyntheticPerClass, checkTrainedOn, CLASSIFIER_SETTINGS, CLASSIFIER_TRAIN_OPTIONS } from './classifier/train.js';
import { predictImages } from './classifier/evaluate.js';
import { loadClassifier, readClassifierInfo, type ClassifierInfo } from './classifier/io.js';
import { DEFAULT_ARCHITECTURE, type ClassifierArchitecture } from './classifier/model.js';
import { computeMetrics, type MetricsReport, type Num } from './report.js';
import { confusionChartPng } from './confusion-chart.js';
import { featureDistances, type FeatureDistancesResult } from './distances/index.js';

/** Defaults, ranges and help: SCORE_OPTIONS. */
export interface ScoreOptions {
  data: string | Dataset;
  labels?: string;
  split: string | SplitFile;
  /** Synthetic folder as `cellgan generate` writes it. */
  synthetic: string;
  out: string;
  force?: boolean;
  size?: number;
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  patience?: number;
  classWeights?: boolean;
  seed?: number;
  architecture?: Partial<ClassifierArchitecture>;
  /** Cap of real training images per class for the baseline (quick runs). */
  maxPerClass?: number;
  /**
   * A saved classifier (`cellgan classifier train`, or the quality bench's reference) to use as
   * the baseline instead of training one. It must have been trained on exactly this split's
   * training images; GAN-train then uses its recipe (size, epochs, batch, learning rate,
   * architecture, seed, class weights), and options that contradict it are refused.
   */
  baseline?: string;
  /** A tfjs layers model folder for the feature distances (default: the baseline classifier's penultimate layer). */
  features?: string;
  /** Compute FID/KID/precision-recall. */
  distances?: boolean;
  /** Bootstrap resamples for the CIs. */
  resamples?: number;
  /** Worker threads for data-parallel classifier training (see trainClassifier). */
  workers?: number;
  /** Near-duplicate threshold (1 − cosine, src/data/near.ts) for leaks and the memorisation flag. */
  nearThreshold?: number;
  /** Leave out (and list) synthetic images that copy a real validation/test image instead of refusing the folder. */
  dropLeaks?: boolean;
  logger?: Logger;
}

/** What score reads and writes; checked before a --baseline is read. */
const SCORE_INPUTS = {
  data: { ...DATA_OPTION, required: true, help: `real data: ${DATA_OPTION.help}` },
  labels: LABELS_OPTION,
  split: {
    type: 'string', required: true, help: 'split.json of the real data (train → classifier, test → accuracies)',
    // A path, or (from the API) a parsed split file; only a missing one is refused here.
    check: (value: unknown, name: string) => {
      if (!value) throw v.invalid(name, 'a split file', value);
      return value as string | SplitFile;
    },
  },
  synthetic: { ...text, required: true, help: 'folder of generated images (<dir>/<class>/*.png, as cellgan generate writes)' },
  out: { ...text, required: true, help: 'output folder (score.json, score.md, distances.json, classifiers, confusion PNGs)' },
  baseline: {
    ...text,
    help: 'a saved classifier (cellgan classifier train, or the quality bench\'s reference) to use as the baseline instead of training one; it must have been trained on exactly this split\'s training images, and GAN-train then uses its recipe',
  },
} satisfies OptionTable;

/**
 * How score trains its classifiers and measures. The classifier's own settings
 * are classifier train's entries (one range and default for both commands);
 * a reused --baseline's recipe takes their place.
 */
const SCORE_SETTINGS = {
  size: { ...CLASSIFIER_SETTINGS.size, defaultHelp: 'with --baseline its size' },
  epochs: { ...CLASSIFIER_SETTINGS.epochs, defaultHelp: 'with --baseline its epochs' },
  batchSize: { ...CLASSIFIER_SETTINGS.batchSize, defaultHelp: 'with --baseline its batch' },
  // Not on score's command line: the library may set them; a --baseline fixes them.
  learningRate: { ...CLASSIFIER_SETTINGS.learningRate, cli: false },
  patience: { ...CLASSIFIER_SETTINGS.patience, cli: false },
  classWeights: { ...CLASSIFIER_SETTINGS.classWeights, defaultHelp: 'with --baseline its class weights' },
  maxPerClass: { ...CLASSIFIER_TRAIN_OPTIONS.maxPerClass, help: 'cap real training images per class for the baseline (quick runs)' },
  width: { ...CLASSIFIER_TRAIN_OPTIONS.width, help: 'filters of the classifier\'s first conv block' },
  features: { ...text, help: 'tfjs layers model folder for FID/KID/PR features (default: the baseline classifier\'s penultimate layer)' },
  distances: { ...boolean, default: true, help: 'compute FID/KID/precision-recall (--no-distances to skip)' },
  resamples: { ...integer(0, 1_000_000), default: 1000, help: 'bootstrap resamples for the 95 % CIs' },
  // The seed means more here than in classifier train: it also draws the bootstrap resamples.
  seed: { ...CLASSIFIER_SETTINGS.seed, defaultHelp: 'with --baseline its seed', help: 'seed of the classifiers and the bootstrap' },
  workers: CLASSIFIER_SETTINGS.workers,
  nearThreshold: {
    ...NEAR_THRESHOLD_OPTION,
    help: 'distance (1 − cosine of flip/rotation-invariant fingerprints) at which a synthetic image counts as a copy of a real one (leaks, memorisation audit)',
  },
  dropLeaks: { ...boolean, default: false, help: 'leave out and list synthetic images that copy a real validation/test image (instead of refusing the folder)' },
} satisfies OptionTable;

/** `cellgan score`'s options (src/util/options.ts). */
export const SCORE_OPTIONS = {
  ...SCORE_INPUTS, ...SCORE_SETTINGS,
  force: { ...FORCE_OPTION, help: 'replace a non-empty --out (its feature cache is kept)' },
} satisfies OptionTable;

export interface Estimate { value: Num; ci95: [Num, Num] }

export interface ScorePart {
  /** What the classifier was trained on and what it was tested on. */
  trained_on: string;
  tested_on: string;
  n_train: number;
  n: number;
  classes: string[];
  accuracy: Estimate;
  balanced_accuracy: Estimate;
  macro_f1: Estimate;
  mcc: Estimate;
  per_class: Record<string, { n: number; sensitivity: Estimate; specificity: Estimate; precision: Estimate; f1: Estimate; jaccard: Estimate; mcc: Estimate }>;
  confusion: { classes: string[]; matrix: number[][] };
}

export interface ScoreResult {
  format: 'cellgan-score';
  version: 1;
  real_classes: string[];
  synthetic_classes: string[];
  /** Classes in both, on which GAN-train / GAN-test are computed. */
  scored_classes: string[];
  missing_in_synthetic: string[];
  missing_in_real: string[];
  baseline: ScorePart;
  /** Baseline restricted to the scored classes' test images (only when some class is missing from the synthetic set). */
  baseline_scored_classes?: ScorePart;
  gan_train: ScorePart | null;
  gan_test: ScorePart | null;
  distances: FeatureDistancesResult | null;
  /** Synthetic images that copied a real validation/test image and were left out (--drop-leaks). */
  leaks: Leak[];
  /** Synthetic images flagged as probable copies of real training images. */
  memorization: MemorizationAudit;
  settings: Record<string, unknown>;
  notes: string[];
  out: string;
}

const FEATURES_CACHE = 'features-cache';

/**
 * Phases, in order: settings (options checked, a reused baseline's recipe
 * taken) → inputs (data, split, synthetic folder) → leaks (no synthetic image
 * may copy a real validation/test image) → classes (which ones both sets
 * have) → memorisation audit → write (baseline, GAN-test, GAN-train, feature
 * distances, charts, score.json) into a staging folder renamed into place.
 */
export async function score(opts: ScoreOptions): Promise<ScoreResult> {
  const logger = opts.logger ?? silentLogger;
  const settings = await scoreSettings(opts);
  const backend = await ensureBackend();
  const inputs = await readInputs(opts, settings);
  const notes: string[] = [];
  const { heldOut, leaks, readOf } = await checkLeaks(opts, settings, inputs, logger, notes);
  const classes = compareClasses(opts, inputs, logger, notes);

  // Memorisation: nearest real training image of every synthetic image, flagged when closer than real cells usually are.
  logger.info('memorisation audit: nearest real training image of every synthetic image');
  const trainRef = await buildReference(inputs.trainItems);
  const calibration = await calibrateMemorization(trainRef, [...heldOut.val.items, ...heldOut.test.items], settings.nearThreshold);
  const memorization = await auditMemorization(trainRef, inputs.synthetic.items.map((i) => ({ file: i.file, abs: i.abs, label: i.label, img: readOf.get(i.abs) ?? null })), calibration);
  if (memorization.flagged_count) {
    const msg = `memorisation: ${memorization.flagged_count} of ${memorization.images} synthetic images (${(100 * memorization.rate).toFixed(1)} %) are closer to a real training image than ${100 * (1 - calibration.quantile)} % of real held-out cells are (distance ≤ ${calibration.threshold.toFixed(4)})`;
    logger.warn(msg); notes.push(msg);
  }

  const oldCache = path.join(opts.out, FEATURES_CACHE);
  const hadCache = await exists(oldCache);
  return buildDirAtomic(opts.out, async (dir) => {
    if (hadCache) await fs.cp(oldCache, path.join(dir, FEATURES_CACHE), { recursive: true }).catch(() => {});
    const run: ScoreRun = { opts, settings, inputs, classes, logger, dir };
    const base = await baselineClassifier(run);
    try {
      const { baseline, baselineScored, ganTest, ganTrain } = await scoreClassifiers(run, base, notes);
      const distances = settings.withDistances ? await writeDistances(run) : null;
      for (const [name, part] of [['baseline', baseline], ['gan_train', ganTrain], ['gan_test', ganTest]] as const) {
        if (part) await writeFileAtomic(path.join(dir, `confusion-${name}.png`), await confusionChartPng(part.confusion.matrix, part.confusion.classes, `${name.replace('_', '-')}: ${part.trained_on} → ${part.tested_on}`));
      }
      const { size, epochs, seed, resamples, nearThreshold, dropLeaks } = settings;
      const result: ScoreResult = {
        format: 'cellgan-score', version: 1,
        real_classes: classes.real, synthetic_classes: inputs.synthetic.classes, scored_classes: classes.scored,
        missing_in_synthetic: classes.missingInSynthetic, missing_in_real: classes.missingInReal,
        baseline, ...(baselineScored ? { baseline_scored_classes: baselineScored } : {}),
        gan_train: ganTrain, gan_test: ganTest, distances, leaks, memorization,
        settings: {
          size, epochs, seed, batch_size: base.info.training.batchSize, learning_rate: base.info.training.learningRate,
          architecture: base.info.architecture, augment: base.info.training.augment, class_weights: Boolean(settings.recipe.classWeights),
          bootstrap: { method: 'percentile', resamples, level: 0.95 }, backend: backend.name,
          ...(base.info.training.workers ? { workers: base.info.training.workers } : {}),
          data: inputs.dataset.root, synthetic: inputs.synthetic.root, features: distances?.feature_space ?? null,
          near_threshold: nearThreshold, drop_leaks: dropLeaks, per_class_intervals: 'Wilson score 95 %',
          baseline_from: opts.baseline ? path.resolve(opts.baseline) : null,
        },
        notes, out: opts.out,
      };
      const { out: _out, ...json } = result;
      void _out;
      await writeJsonAtomic(path.join(dir, 'score.json'), json);
      await writeFileAtomic(path.join(dir, 'score.md'), scoreMarkdown(result));
      return result;
    } finally {
      base.model.dispose();
    }
  }, { force: opts.force });
}

type ScoreSettings = Awaited<ReturnType<typeof scoreSettings>>;

/**
 * The options checked, with what a reused baseline fixes; `given` is the --baseline classifier's
 * record, `recipe` the classifier recipe of the baseline (when trained here) and of GAN-train.
 */
async function scoreSettings(opts: ScoreOptions) {
  resolveOptions(SCORE_INPUTS, opts);
  const given = opts.baseline === undefined ? null : await readClassifierInfo(opts.baseline);
  // The clash checks see the options as given, before the baseline's recipe fills them in.
  const fromBaseline: Partial<ReturnType<typeof baselineRecipe>> = given ? baselineRecipe(given, opts) : {};
  const r = resolveOptions(SCORE_SETTINGS, { ...opts, ...fromBaseline });
  const architecture = fromBaseline.architecture ?? opts.architecture;
  const blocks = architecture?.blocks ?? DEFAULT_ARCHITECTURE.blocks;
  if (r.size % 2 ** blocks !== 0) throw v.invalid('--size', `a multiple of ${2 ** blocks} (the classifier halves it ${blocks} times)`, r.size);
  const { size, epochs, seed, resamples, distances: withDistances, nearThreshold, dropLeaks } = r;
  const recipe = {
    size, epochs, seed, batchSize: r.batchSize, learningRate: r.learningRate, patience: r.patience,
    classWeights: r.classWeights, architecture, workers: r.workers, logger: opts.logger ?? silentLogger, ...fromBaseline, // a reused baseline's recipe wins
  };
  return { given, size, epochs, seed, resamples, withDistances, nearThreshold, dropLeaks, recipe };
}

interface ScoreInputs { dataset: Dataset; split: SplitFile; synthetic: SyntheticSet; trainItems: DatasetItem[]; testItems: DatasetItem[] }

async function readInputs(opts: ScoreOptions, settings: ScoreSettings): Promise<ScoreInputs> {
  const dataset = typeof opts.data === 'string' ? await loadDataset(opts.data, { labels: opts.labels }) : opts.data;
  const split = typeof opts.split === 'string' ? await readSplit(opts.split) : opts.split;
  const synthetic = await readSyntheticFolder(opts.synthetic);
  if (path.resolve(opts.out) === synthetic.root || path.resolve(opts.out) === dataset.root) {
    throw new CellganError('--out must not be an input folder', { file: opts.out });
  }
  // A reused baseline must have trained on exactly this split's training images (no test image, no other set).
  if (settings.given) checkTrainedOn(settings.given, opts.baseline!, dataset, split);
  const trainItems = selectSplit(dataset, split, 'train');
  const testItems = selectSplit(dataset, split, 'test');
  if (!testItems.length) throw new CellganError('the split has no test images; GAN-train and the baseline are measured on the real test split', { file: typeof opts.split === 'string' ? opts.split : dataset.root });
  return { dataset, split, synthetic, trainItems, testItems };
}

/**
 * No synthetic image may be a copy of a real validation/test image (GAN-train would be inflated):
 * refused, or with --drop-leaks left out of `inputs.synthetic` and listed. Each synthetic image is
 * read and fingerprinted once, for this check and the memorisation audit (`readOf`).
 */
async function checkLeaks(opts: ScoreOptions, settings: ScoreSettings, inputs: ScoreInputs, logger: Logger, notes: string[]) {
  const { dataset, split, synthetic } = inputs;
  logger.info('checking synthetic images against the real validation and test images (exact and near duplicates)');
  const heldOut = await buildHeldOut(selectSplit(dataset, split, 'val'), inputs.testItems);
  const leaks: Leak[] = [];
  const keptSynthetic: typeof synthetic.items = [];
  const reads = await mapBounded(synthetic.items, 4, (item) => readSynthetic(item.abs).catch(() => null));
  const readOf = new Map(synthetic.items.map((item, i) => [item.abs, reads[i]]));
  for (const [i, item] of synthetic.items.entries()) {
    const img = reads[i];
    const leak = img ? findLeak(heldOut, item.file, img, settings.nearThreshold) : null;
    if (!leak) { keptSynthetic.push(item); continue; }
    if (!settings.dropLeaks) {
      throw new CellganError(`${describeLeak(leak)}; synthetic images must not contain validation or test images (pass --drop-leaks to leave such images out and list them)`, { file: item.abs });
    }
    leaks.push(leak);
  }
  if (leaks.length) {
    const msg = `${leaks.length} synthetic image(s) copied real validation/test images and were left out (--drop-leaks), e.g. ${leaks[0].file} ${describeLeak(leaks[0])}; FID/KID still read the whole folder`;
    logger.warn(msg); notes.push(msg);
    synthetic.items = keptSynthetic;
    // A class whose every image was a copy has no synthetic images left.
    synthetic.classes = synthetic.classes.filter((c) => keptSynthetic.some((i) => i.label === c));
    if (!keptSynthetic.length) throw new CellganError('every synthetic image is a copy of a real validation or test image (all left out by --drop-leaks); nothing to score', { file: opts.synthetic });
  }
  return { heldOut, leaks, readOf };
}

/** The real training split's classes and the synthetic ones: GAN-train / GAN-test score the classes both have. */
interface ScoreClasses { real: string[]; scored: string[]; missingInSynthetic: string[]; missingInReal: string[] }

function compareClasses(opts: ScoreOptions, inputs: ScoreInputs, logger: Logger, notes: string[]): ScoreClasses {
  const synthetic = inputs.synthetic.classes;
  const real = [...new Set(inputs.trainItems.map((i) => i.label))].sort();
  const scored = real.filter((c) => synthetic.includes(c));
  const missingInSynthetic = real.filter((c) => !synthetic.includes(c));
  const missingInReal = synthetic.filter((c) => !real.includes(c));
  if (missingInSynthetic.length) {
    const msg = `no synthetic images for class(es) ${missingInSynthetic.join(', ')}: GAN-train is trained and tested on the ${scored.length} class(es) present in both, GAN-test uses only the synthetic classes`;
    logger.warn(msg); notes.push(msg);
  }
  if (missingInReal.length) {
    const msg = `synthetic class(es) ${missingInReal.join(', ')} do not exist in the real training split and are ignored`;
    logger.warn(msg); notes.push(msg);
  }
  if (!scored.length) throw new CellganError(`the synthetic folder shares no class with the real data (real: ${real.join(', ')})`, { file: opts.synthetic });
  return { real, scored, missingInSynthetic, missingInReal };
}

/** What the write phase works from; `dir` is the staging folder. */
interface ScoreRun { opts: ScoreOptions; settings: ScoreSettings; inputs: ScoreInputs; classes: ScoreClasses; logger: Logger; dir: string }

/** Baseline: real train → real test (trained here, or the given classifier copied in so the folder stands alone). */
async function baselineClassifier({ opts, settings, inputs, logger, dir }: ScoreRun): Promise<{ model: LayersModel; info: ClassifierInfo }> {
  if (opts.baseline) {
    logger.info(`baseline: the classifier in ${opts.baseline} (trained on this split's ${settings.given!.training.counts.train} training images)`);
    await fs.cp(opts.baseline, path.join(dir, 'baseline'), { recursive: true });
    return loadClassifier(path.join(dir, 'baseline'));
  }
  logger.info('baseline: training on the real training split');
  return trainClassifier({ ...settings.recipe, data: inputs.dataset, split: inputs.split, out: path.join(dir, 'baseline'), maxPerClass: opts.maxPerClass });
}

/** The baseline tested on the real test split (and on the scored classes alone), GAN-test, and GAN-train. */
async function scoreClassifiers(run: ScoreRun, base: { model: LayersModel; info: ClassifierInfo }, notes: string[]) {
  const { settings: { size, resamples, seed, recipe }, inputs: { synthetic, testItems }, classes: { scored, missingInSynthetic }, logger, dir } = run;
  const classes = base.info.classes;
  const nTrain = base.info.training.counts.train;
  const realTest = await decodeLabeled(testItems.filter((i) => classes.includes(i.label)), classes, size, logger, 'real test images');
  const baseEval = predictImages(base.model, realTest, classes.length);
  const baseline = toPart(computeMetrics(baseEval.yTrue, baseEval.yPred, classes, { resamples, seed }), 'real train split', 'real test split', nTrain);
  let baselineScored: ScorePart | undefined;
  if (missingInSynthetic.length) {
    const keep = Array.from(baseEval.yTrue, (t, i) => (scored.includes(classes[t]) ? i : -1)).filter((i) => i >= 0);
    baselineScored = toPart(computeMetrics(keep.map((i) => baseEval.yTrue[i]), keep.map((i) => baseEval.yPred[i]), classes, { resamples, seed }),
      'real train split', `real test split, scored classes only (${scored.join(', ')})`, nTrain);
  }

  // GAN-test: baseline classifier → synthetic images.
  const synthItems = synthetic.items.filter((i) => scored.includes(i.label));
  const synthSet = await decodeLabeled(synthItems, classes, size, logger, 'synthetic images');
  const ganTestEval = predictImages(base.model, synthSet, classes.length);
  const ganTest = toPart(computeMetrics(ganTestEval.yTrue, ganTestEval.yPred, classes, { resamples, seed }), 'real train split', 'synthetic images', nTrain);

  // GAN-train: same recipe on synthetic only (validation carved from the synthetic set) → real test.
  let ganTrain: ScorePart | null = null;
  if (scored.length >= 2) {
    logger.info(`GAN-train: training on ${synthItems.length} synthetic images`);
    const { train: synTrainItems, val: synValItems } = carveValidation(synthItems, SYNTHETIC_VAL_FRACTION, new Rng(deriveSeed('score-val', seed)));
    const synTrain = await decodeLabeled(synTrainItems, scored, size, logger, 'synthetic images');
    const synVal = synValItems.length ? await decodeLabeled(synValItems, scored, size, logger, 'synthetic images') : undefined;
    const gan = await trainOnImages({
      ...recipe, classes: scored, train: synTrain, val: synVal, dataDescription: synthetic.root, out: path.join(dir, 'gan_train'),
    }, synVal ? 'carved-from-train' : 'none');
    try {
      const testScored = await decodeLabeled(testItems.filter((i) => scored.includes(i.label)), scored, size, logger, 'real test images');
      const e = predictImages(gan.model, testScored, scored.length);
      ganTrain = toPart(computeMetrics(e.yTrue, e.yPred, scored, { resamples, seed }), 'synthetic images', 'real test split', synTrain.labels.length);
      const fewer = fewerSyntheticNote(synTrain.labels.length, nTrain, scored.length);
      if (fewer) { logger.warn(fewer); notes.push(fewer); }
    } finally {
      gan.model.dispose();
    }
  } else {
    const msg = `GAN-train needs at least 2 classes with synthetic images; found ${scored.length}`;
    logger.warn(msg); notes.push(msg);
  }
  return { baseline, baselineScored, ganTest, ganTrain };
}

/** FID, KID and precision/recall per class, in the baseline's feature space unless --features names another; distances.json. */
async function writeDistances({ opts, settings, inputs, logger, dir }: ScoreRun): Promise<FeatureDistancesResult> {
  logger.info('feature distances (FID, KID, precision/recall)');
  const distances = await featureDistances({
    data: inputs.dataset, split: inputs.split, synthetic: opts.synthetic, model: path.join(dir, 'baseline'), features: opts.features,
    cacheDir: path.join(dir, FEATURES_CACHE), seed: settings.seed, logger,
  });
  // The staging folder's name must not leak into the report.
  distances.feature_space = distances.feature_space.split(dir).join(opts.out);
  await writeJsonAtomic(path.join(dir, 'distances.json'), distances);
  return distances;
}

const est = (r: MetricsReport, name: string): Estimate => ({ value: r.metrics[name].value as Num, ci95: (r.metrics[name].ci95 as [Num, Num]) ?? [null, null] });
const estClass = (r: MetricsReport, name: string, c: string): Estimate => ({
  value: (r.metrics[name].value as Record<string, Num>)[c], ci95: (r.metrics[name].ci95 as Record<string, [Num, Num]>)[c],
});

export function toPart(r: MetricsReport, trainedOn: string, testedOn: string, nTrain: number): ScorePart {
  return {
    trained_on: trainedOn, tested_on: testedOn, n_train: nTrain, n: r.n, classes: r.classes,
    accuracy: est(r, 'accuracy'), balanced_accuracy: est(r, 'balanced_accuracy'), macro_f1: est(r, 'macro_f1'), mcc: est(r, 'mcc'),
    per_class: Object.fromEntries(r.classes.map((c) => [c, {
      n: r.support[c], sensitivity: estClass(r, 'sensitivity', c), specificity: estClass(r, 'specificity', c),
      precision: estClass(r, 'precision', c), f1: estClass(r, 'f1', c), jaccard: estClass(r, 'jaccard', c), mcc: estClass(r, 'mcc_per_class', c),
    }])),
    confusion: { classes: r.classes, matrix: r.metrics.confusion_matrix.value as number[][] },
  };
}

const pct = (x: Num): string => (x === null ? 'n/a' : `${(x * 100).toFixed(1)}`);
const withCi = (e: Estimate | undefined): string => (!e || e.value === null ? 'n/a' : `${pct(e.value)} [${pct(e.ci95[0])}, ${pct(e.ci95[1])}]`);
const fixed = (x: Num | undefined, digits: number): string => (x === null || x === undefined ? 'n/a' : x.toFixed(digits));

/** score.md: tables a paper can quote. */
export function scoreMarkdown(s: ScoreResult): string {
  const L: string[] = ['# GAN-train / GAN-test scores', ''];
  L.push('Accuracies in %, with 95 % percentile-bootstrap confidence intervals ' +
    `(${(s.settings.bootstrap as { resamples: number }).resamples} resamples of the test images). ` +
    'Protocol: Shmelkov, Schmid & Alahari, "How good is my GAN?", ECCV 2018.', '');
  L.push('Per-class sensitivity, specificity and precision carry 95 % **Wilson score** intervals ' +
    '(a proportion of counted images, so a class with a handful of test images never gets a zero-width interval); ' +
    'the other per-class figures and the overall ones use the bootstrap.', '');
  L.push('| measure | trained on | tested on | n train | n test | accuracy % [95 % CI] | balanced accuracy % [95 % CI] |', '|---|---|---|---:|---:|---|---|');
  const rows: [string, ScorePart | null | undefined][] = [['baseline', s.baseline], ['baseline (scored classes)', s.baseline_scored_classes], ['GAN-train', s.gan_train], ['GAN-test', s.gan_test]];
  for (const [name, p] of rows) {
    if (p === undefined) continue;
    if (p === null) { L.push(`| ${name} | – | – | – | – | n/a | n/a |`); continue; }
    L.push(`| ${name} | ${p.trained_on} | ${p.tested_on} | ${p.n_train} | ${p.n} | ${withCi(p.accuracy)} | ${withCi(p.balanced_accuracy)} |`);
  }
  L.push('', '## Per-class sensitivity (recall), % [95 % CI]', '', '| class | baseline | GAN-train | GAN-test |', '|---|---|---|---|');
  for (const c of s.real_classes) {
    L.push(`| ${c} | ${withCi(s.baseline.per_class[c]?.sensitivity)} | ${withCi(s.gan_train?.per_class[c]?.sensitivity)} | ${withCi(s.gan_test?.per_class[c]?.n ? s.gan_test.per_class[c].sensitivity : undefined)} |`);
  }
  if (s.distances) {
    const d = s.distances;
    const ref = d.reference_subset;
    L.push('', `## Feature-space distances (real ${d.real_subset} images vs synthetic)`, '', `Features: ${d.feature_space}, ${d.feature_dim} dimensions.`, '',
      ...(ref ? [`Reference: FID at n compares the real ${d.real_subset} images with n synthetic and with n real ${ref} images of the class (equal sample sizes), so the synthetic FID can be read against a real-vs-real one.`, ''] : []),
      `| class | n real | n synthetic | FID | ${ref ? `FID at n: synthetic / real vs real | n | ` : ''}KID ×10³ (± std) | precision | recall |`, `|---|---:|---:|---:|${ref ? '---:|---:|' : ''}---:|---:|---:|`);
    const row = (name: string, x: FeatureDistancesResult['overall']): string =>
      `| ${name} | ${x.n_real} | ${x.n_fake} | ${fixed(x.fid, 2)} | ${ref ? `${x.reference ? `${fixed(x.reference.fid_synthetic, 2)} / ${fixed(x.reference.fid_real, 2)} | ${x.reference.n}` : 'n/a | –'} | ` : ''}${x.kid.value === null ? 'n/a' : `${(x.kid.value * 1e3).toFixed(2)} ± ${((x.kid.std ?? 0) * 1e3).toFixed(2)}`} | ${fixed(x.precision, 3)} | ${fixed(x.recall, 3)} |`;
    for (const [c, x] of Object.entries(d.classes)) L.push(row(c, x));
    L.push(row('**all classes**', d.overall));
    const warned = Object.entries(d.classes).filter(([, x]) => x.warnings.length);
    if (warned.length) L.push('', ...warned.map(([c, x]) => `- ${c}: ${x.warnings.join('; ')}`));
  }
  if (s.memorization) {
    const m = s.memorization, cal = m.calibration;
    L.push('', '## Memorisation audit', '',
      `A synthetic image is flagged as a probable copy when its nearest real training image (flip/rotation-invariant DCT fingerprints, distance 1 − cosine) ` +
      `is at most ${cal.threshold.toFixed(4)}: the smaller of the near-duplicate threshold (${cal.near_threshold}) and the ${100 * cal.quantile} % quantile ` +
      `(${cal.real_nearest_quantile === null ? 'n/a' : cal.real_nearest_quantile.toFixed(4)}) of ${cal.held_out} held-out real cells' distances to their nearest training image ` +
      `(median ${cal.real_nearest_median === null ? 'n/a' : cal.real_nearest_median.toFixed(4)}).`, '',
      `**Flagged: ${m.flagged_count} of ${m.images} (${(100 * m.rate).toFixed(1)} %).**`, '', '| class | synthetic images | flagged | rate % |', '|---|---:|---:|---:|');
    for (const [c, x] of Object.entries(m.per_class)) L.push(`| ${c} | ${x.images} | ${x.flagged} | ${(100 * x.rate).toFixed(1)} |`);
    if (m.flagged.length) L.push('', 'Closest pairs:', '', ...m.flagged.slice(0, 20).map((f) => `- ${f.file} ≈ ${f.nearest} (distance ${f.distance.toFixed(4)})`));
  }
  if (s.leaks?.length) L.push('', `## Left out: copies of real validation/test images (--drop-leaks)`, '', ...s.leaks.map((l) => `- ${l.file}: ${l.exact ? 'byte-identical to' : `near-duplicate (distance ${l.distance.toFixed(4)}) of`} ${l.split} image ${l.real}`));
  if (s.missing_in_synthetic.length) L.push('', `Classes without synthetic images (not scored by GAN-train/GAN-test): ${s.missing_in_synthetic.join(', ')}.`);
  if (s.notes.length) L.push('', '## Notes', '', ...s.notes.map((n) => `- ${n}`));
  const st = s.settings;
  L.push('', '## Settings', '', `Classifier: cellgan reference CNN ${JSON.stringify(st.architecture)}, ${st.size} px, up to ${st.epochs} epochs (early stopping on validation loss), ` +
    `batch ${st.batch_size}, Adam lr ${st.learning_rate}, augmentation: ${st.augment}, class weights: ${st.class_weights ? 'inverse frequency' : 'none'}, seed ${st.seed}, backend ${st.backend}.`, '');
  return L.join('\n');
}

export type { LabeledImages };

/**
 * The classifier recipe a reused baseline fixes: GAN-train must be trained the way the baseline
 * was, or the two are not comparable. An option given that contradicts it is refused rather
 * than silently overridden.
 */
function baselineRecipe(info: ClassifierInfo, opts: ScoreOptions): {
  size: number; epochs: number; seed: number; batchSize: number; learningRate: number; patience: number;
  lrPatience: number; classWeights: boolean; architecture: ClassifierArchitecture;
} {
  const t = info.training;
  const r = {
    size: info.inputSize, epochs: t.epochs, seed: t.seed, batchSize: t.batchSize, learningRate: t.learningRate,
    patience: t.earlyStopping.patience, lrPatience: t.lrSchedule?.patience ?? 0, classWeights: t.classWeights !== null,
    architecture: info.architecture,
  };
  const clash = (flag: string, mine: unknown, theirs: unknown) => {
    if (mine !== undefined && mine !== theirs) {
      throw new OptionError(`${flag} ${String(mine)} contradicts the --baseline classifier, trained with ${String(theirs)} (GAN-train uses the baseline's recipe; leave ${flag} out)`);
    }
  };
  clash('--size', opts.size, r.size); clash('--epochs', opts.epochs, r.epochs); clash('--seed', opts.seed, r.seed);
  clash('--batch', opts.batchSize, r.batchSize); clash('--lr', opts.learningRate, r.learningRate);
  clash('--patience', opts.patience, r.patience);
  clash('--class-weights', opts.classWeights, r.classWeights);
  clash('--max-per-class', opts.maxPerClass, t.trainSet?.maxPerClass ?? undefined);
  for (const [k, x] of Object.entries(opts.architecture ?? {})) clash(`architecture.${k}${k === 'width' ? ' (--width)' : ''}`, x, (r.architecture as unknown as Record<string, unknown>)[k]);
  return r;
}

/**
 * GAN-train compares with the baseline only when both classifiers saw about as many images: with
 * far fewer synthetic ones the two differ in count as well as in origin (a small set can understate
 * a generator; on models/pbc-64 it did not: notes/dcgan.md, session 10). Says so, with the count
 * per class that would match (a tenth is carved off for early stopping).
 */
export function fewerSyntheticNote(syntheticTrain: number, realTrain: number, classes: number): string | null {
  if (syntheticTrain * 2 > realTrain) return null;
  const perClass = matchingSyntheticPerClass(realTrain, classes);
  return `GAN-train was trained on ${syntheticTrain} synthetic images, the baseline on ${realTrain} real ones, so the two differ in count as well as origin; generate ~${perClass} per class for a like-for-like comparison`;
}
