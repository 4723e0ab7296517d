/**
 * The quality benchmark: sample quality against training cost, the yardstick
 * every change to the GAN is judged on.
 *
 *   npm run bench -- --cases quality [--recipe sngan] [--iters 5000] [--work .bench/quality]
 *
 * Phases (each cached, so a re-run only does what is missing):
 *   1. data    — the real dataset and a fixed split (made once with --seed);
 *   2. reference classifier — trained ONCE on the real training split and
 *               cached (or given with --reference); GAN-test and the feature
 *               space of FID/KID are both this one model, so every checkpoint
 *               of every recipe is measured with the same ruler;
 *   3. train   — one conditional model with the named recipe to --iters
 *               (resumes the run folder; --no-train scores what exists);
 *   4. curve   — at every checkpoint: iteration, wall and CPU seconds of
 *               training, GAN-test (accuracy, CI, per class), per-class FID
 *               and KID against the real test images, the diversity ratio;
 *   5. final   — at the last checkpoint: GAN-train (a classifier with the
 *               reference's recipe trained on synthetic images only, tested on
 *               the real test split) and the baseline (the reference on the
 *               real test split);
 *   6. write   — one JSON (the shape of docs/quality/latest.json) and a PNG
 *               of quality against CPU hours.
 * Scoring lives here, not in training: the trainer knows nothing of it.
 */
import os from 'node:os';
import path from 'node:path';
import { promises as fs } from 'node:fs';
import { ensureBackend, describeBackend } from '../engine/index.js';
import { loadDataset, readSplit, selectSplit, makeSplit, writeSplit } from '../data/index.js';
import type { Dataset, DatasetItem, SplitFile } from '../data/types.js';
import { train, generate, GENERATE_OPTIONS, readRun, meanPairwiseDistance, checkpointName, RECIPE_NAMES, DEFAULT_RECIPE, equivalentRecipe, recipeDifferences, type RecipeName } from '../dcgan/index.js';
import { heldOutImageSeenBy, trainingLineage, type LineageStep } from '../dcgan/transfer.js';
import type { TrainOptions } from '../dcgan/types.js';
import {
  trainClassifier, trainOnImages, carveValidation, SYNTHETIC_VAL_FRACTION, matchingSyntheticPerClass, loadClassifier, readClassifierInfo, checkTrainedOn, predictImages, computeMetrics, toPart,
  loadFeatureExtractor, computeFeatures, distancesBetween, readSyntheticFolder, confusionMatrix, getMetric, bootstrapStatistic,
  type LoadedClassifier, type FeatureSet, type ScorePart, type MetricDefinition,
} from '../metrics/index.js';
import { batchFloats, decodeLabeled, type LabeledImages } from '../metrics/images.js';
import { rowsOf } from '../metrics/distances/index.js';
import { DISTANCE_DEFAULTS } from '../metrics/distances/types.js';
import { chartToPng, type ChartSpec } from '../util/charts.js';
import { writeFileAtomic, writeJsonAtomic, exists } from '../util/atomic.js';
import { hashFile } from '../util/hash.js';
import { silentLogger, type Logger } from '../util/log.js';
import { roundSeconds } from '../util/progress.js';
import { Rng, deriveSeed, offsetSeed } from '../util/rng.js';
import { CellganError } from '../util/errors.js';
import * as v from '../util/validate.js';
import { cpuDescription } from './cpu.js';
import { BUDGETS } from '../pipeline/budgets.js';

/** Every default of the benchmark, read by its CLI and by the tests alike. */
export const QUALITY_DEFAULTS = {
  data: '../shared/datasets/pbc-128',
  work: '.bench/quality',
  recipe: DEFAULT_RECIPE as RecipeName,
  // The `standard` budget: the benchmark measures what users of that budget get.
  iters: BUDGETS.standard.iters,
  size: BUDGETS.standard.size,
  seed: 0,
  checkpointEvery: BUDGETS.standard.checkpointEvery,
  /** Score the checkpoints at multiples of this many (run) iterations, and the last one. */
  scoreEvery: 1,
  /** Synthetic images per class at every checkpoint (GAN-test, FID/KID, diversity). */
  perClass: 200,
  /**
   * Synthetic images per class for the final GAN-train classifier. 'match': of every class as
   * many as the real training split has of it (after the tenth carved off for early stopping),
   * so GAN-train and the baseline differ only in where their images came from, not in how many
   * there are of each class (Classification Accuracy Score, Ravuri & Vinyals 2019, samples the
   * training set's labels the same way). 'balanced': the same total, equal per class (what
   * 'match' meant until session 16). (More images of one generator: notes/dcgan.md session 10,
   * 500 per class 67.4 %, 1,638 per class 63.9 % on v3.)
   */
  ganTrainPerClass: 'match' as GanTrainSize,
  /**
   * GAN-train draws: each a fresh synthetic set (other noise) and a fresh classifier seed; the
   * result is their mean. One draw is a noisy figure: the same generator (v4 + 1,500, 300 per
   * class) scored 78.5, 80.9, 80.5 and 81.4 % with four noise seeds (notes/dcgan.md, session 16).
   */
  ganTrainDraws: 1,
  /** Standing batch-norm statistics for every sample the bench draws (generate --standing-stats; 0 = the stored statistics). */
  standingStats: GENERATE_OPTIONS.standingStats.default,
  referenceEpochs: 14,
  workers: Math.min(2, os.availableParallelism()),
  kidSubsets: 100,
} as const;

/** How many synthetic images GAN-train trains on: per class, or 'match' / 'balanced' (see QUALITY_DEFAULTS). */
export type GanTrainSize = number | 'match' | 'balanced';
const GAN_TRAIN_SIZES = ['match', 'balanced'] as const;
function ganTrainSize(x: unknown): GanTrainSize {
  return typeof x === 'string' && (GAN_TRAIN_SIZES as readonly string[]).includes(x) ? x as GanTrainSize : v.integer(`--gan-train-per-class (${GAN_TRAIN_SIZES.join(', ')} or a count)`, x, 2, 1_000_000);
}

/** Synthetic images of each class for GAN-train, given the real training split's images of the run's classes. */
export function ganTrainCounts(size: GanTrainSize, realTrain: DatasetItem[], classes: string[]): Record<string, number> {
  if (typeof size === 'number') return Object.fromEntries(classes.map((c) => [c, size]));
  if (size === 'balanced') {
    const n = matchingSyntheticPerClass(realTrain.filter((i) => classes.includes(i.label)).length, classes.length);
    return Object.fromEntries(classes.map((c) => [c, n]));
  }
  return Object.fromEntries(classes.map((c) => [c, matchingSyntheticPerClass(realTrain.filter((i) => i.label === c).length, 1)]));
}

export interface QualityBenchOptions {
  data?: string;
  /** Split file; default <work>/split.json, made once from --seed (val 10 %, test 20 %). */
  split?: string;
  /** Folder of the cached split, reference classifier and runs. */
  work?: string;
  /** Run folder (default <work>/runs/<recipe>); resumed when it exists. */
  run?: string;
  /** A saved reference classifier to use instead of the cached one (it must be trained on this data's train split). */
  reference?: string;
  recipe?: RecipeName;
  iters?: number;
  size?: number;
  seed?: number;
  checkpointEvery?: number;
  /** Score only checkpoints at multiples of this many run iterations (and the last scored one): a cheaper curve of a long run. */
  scoreEvery?: number;
  /** The last checkpoint to score (its run iteration; default the latest): GAN-train is computed there. */
  until?: number;
  perClass?: number;
  /** A count per class, 'match' (each class as the real training split has it) or 'balanced' (see QUALITY_DEFAULTS). */
  ganTrainPerClass?: GanTrainSize;
  /** GAN-train draws to average (see QUALITY_DEFAULTS). */
  ganTrainDraws?: number;
  /** Standing batch-norm statistics batches for every sample (see QUALITY_DEFAULTS). */
  standingStats?: number;
  referenceEpochs?: number;
  /** Cap of real training images per class for the reference classifier (tiny runs and tests only). */
  referenceMaxPerClass?: number;
  workers?: number;
  /** false: score the checkpoints that exist, train nothing. */
  train?: boolean;
  /** false: skip the final GAN-train classifier (a quick look at the curve of a run still training). */
  ganTrain?: boolean;
  /** Extra train options (e.g. widths for a tiny test); recorded in the result. */
  trainOverrides?: Partial<TrainOptions>;
  /** Bootstrap resamples of the CIs (default 1000). */
  resamples?: number;
  kidSubsets?: number;
  /** Result JSON (default <work>/<recipe>.json) and plot (beside it, .png). */
  out?: string;
  logger?: Logger;
}

export interface Estimate { value: number | null; ci95: [number | null, number | null] }

export interface CurvePoint {
  /** Iterations and seconds since the first ancestor's start: a fine-tuned run (--init) adds its parents' (see `lineage`). */
  iteration: number;
  wall_s: number;
  cpu_s: number;
  /** The checkpoint's own iteration in the benchmarked run (differs from `iteration` after --init). */
  run_iteration?: number;
  gan_test: { accuracy: Estimate; balanced_accuracy: Estimate; per_class: Record<string, number | null> };
  /** Mean over classes of the per-class FID / KID (reference-classifier features, real test images vs synthetic). */
  fid_mean: number | null;
  kid_mean: number | null;
  per_class: Record<string, { fid: number | null; kid: number | null; diversity_ratio: number }>;
  /** Mean over classes of (synthetic mean pairwise pixel distance / real test's). */
  diversity_ratio: number;
}

export interface GanTrainSummary {
  accuracy: Estimate; balanced_accuracy: Estimate; per_class: Record<string, number | null>; iteration: number; n_train: number;
  /** Real test images by true class (rows) and the synthetic-trained classifier's call (columns), in the run's class order, summed over draws; null for a cache without predictions. */
  confusion: { classes: string[]; counts: number[][] } | null;
}
export interface GanTrainDraw { noise_seed: number; classifier_seed: number; accuracy: number | null; balanced_accuracy: number | null }
/** One draw as cached: its summary and its predictions of the real test images (to pool draws). */
interface GanTrainDrawResult extends Omit<GanTrainSummary, 'confusion'> { seeds: GanTrainSeeds; y_true?: number[]; y_pred?: number[] }

/** The seeds of GAN-train draw `draw` (0 is the single-draw bench's): its synthetic set's noise and its classifier's. */
export interface GanTrainSeeds { noise: number; classifier: number }
export function ganTrainSeeds(seed: number, draw: number): GanTrainSeeds {
  // Noise offsets disjoint from the curve's (1_000_000 + seed) and from each other.
  return { noise: offsetSeed(seed, 2_000_000 + 100_000 * draw), classifier: offsetSeed(seed, draw) };
}

export interface QualityResult {
  format: 'cellgan-quality-bench';
  version: 1;
  date: string;
  data: string;
  size: number;
  recipe: RecipeName;
  budget: { iters: number; checkpoint_every: number; overrides: Record<string, unknown> };
  cpu: string;
  cores: number;
  backend: string;
  run: string;
  split: { file: string; sha256: string; train: number; test: number };
  reference: { dir: string; epochs: number; val_accuracy: number | null };
  /** Training cost to the last checkpoint (summed over the run's sessions and its --init ancestors). */
  wall_s: number;
  cpu_s: number;
  /** The --init ancestors the run started from, oldest first, with the cost each added (empty for a run from scratch). */
  lineage: LineageStep[];
  baseline: { accuracy: Estimate; balanced_accuracy: Estimate; per_class: Record<string, number | null> };
  /**
   * With several draws: their mean (per class too), its CI a bootstrap over the real test
   * images of the mean over draws, and each draw's seeds and figures in `draws`.
   */
  gan_train: (GanTrainSummary & { draws?: GanTrainDraw[] }) | null;
  gan_test: CurvePoint['gan_test'] & { iteration: number };
  curve: CurvePoint[];
  settings: Record<string, unknown>;
}

interface Resolved {
  data: string; work: string; split: string | undefined; run: string; reference: string | undefined; recipe: RecipeName;
  iters: number; size: number; seed: number; checkpointEvery: number; scoreEvery: number; until: number | undefined; perClass: number; ganTrainPerClass: GanTrainSize; ganTrainDraws: number; standingStats: number;
  referenceEpochs: number; referenceMaxPerClass: number | undefined; workers: number; train: boolean; ganTrain: boolean; resamples: number;
  kidSubsets: number; out: string; overrides: Partial<TrainOptions>;
}

/** Validates every option once (sharp-style: "expected X, received Y"). */
export function resolveQualityOptions(o: QualityBenchOptions): Resolved {
  const d = QUALITY_DEFAULTS;
  const work = path.resolve(o.work ?? d.work);
  const recipe = v.oneOf('--recipe', o.recipe ?? d.recipe, RECIPE_NAMES);
  return {
    data: path.resolve(v.nonEmptyString('--data', o.data ?? d.data)),
    work,
    split: o.split === undefined ? undefined : path.resolve(v.nonEmptyString('--split', o.split)),
    run: path.resolve(o.run ?? path.join(work, 'runs', recipe)),
    reference: o.reference === undefined ? undefined : path.resolve(v.nonEmptyString('--reference', o.reference)),
    recipe,
    iters: v.integer('--iters', o.iters ?? d.iters, 1, 10_000_000),
    size: v.oneOf('--size', o.size ?? d.size, [32, 64, 128] as const),
    seed: v.seed(o.seed ?? d.seed),
    checkpointEvery: v.integer('--checkpoint-every', o.checkpointEvery ?? d.checkpointEvery, 1),
    scoreEvery: v.integer('--score-every', o.scoreEvery ?? d.scoreEvery, 1),
    until: o.until === undefined ? undefined : v.integer('--until', o.until, 0),
    perClass: v.integer('--per-class', o.perClass ?? d.perClass, 2, 100_000),
    ganTrainPerClass: ganTrainSize(o.ganTrainPerClass ?? d.ganTrainPerClass),
    ganTrainDraws: v.integer('--gan-train-draws', o.ganTrainDraws ?? d.ganTrainDraws, 1, 10),
    standingStats: GENERATE_OPTIONS.standingStats.check(o.standingStats ?? d.standingStats, '--standing-stats'),
    referenceEpochs: v.integer('--reference-epochs', o.referenceEpochs ?? d.referenceEpochs, 1, 1000),
    referenceMaxPerClass: o.referenceMaxPerClass === undefined ? undefined : v.integer('--reference-max-per-class', o.referenceMaxPerClass, 1),
    workers: v.integer('--workers', o.workers ?? d.workers, 0, 64),
    train: o.train ?? true,
    ganTrain: o.ganTrain ?? true,
    resamples: v.integer('--resamples', o.resamples ?? 1000, 0, 1_000_000),
    kidSubsets: v.integer('--kid-subsets', o.kidSubsets ?? d.kidSubsets, 1, 10_000),
    out: path.resolve(o.out ?? path.join(work, `${recipe}.json`)),
    overrides: o.trainOverrides ?? {},
  };
}

export async function runQualityBench(options: QualityBenchOptions): Promise<QualityResult> {
  const o = resolveQualityOptions(options);
  const logger = options.logger ?? silentLogger;
  const backend = await ensureBackend();
  await fs.mkdir(o.work, { recursive: true });

  // ---- 1. data and split ---------------------------------------------------
  const dataset = await loadDataset(o.data);
  const splitFile = o.split ?? path.join(o.work, 'split.json');
  if (!o.split && !(await exists(splitFile))) {
    logger.info(`quality: writing the split ${splitFile} (seed ${o.seed})`);
    await writeSplit(splitFile, await makeSplit(dataset, { seed: o.seed }));
  }
  const split = await readSplit(splitFile);
  const trainItems = selectSplit(dataset, split, 'train');
  const testItems = selectSplit(dataset, split, 'test');
  if (!testItems.length) throw new CellganError('the split has no test images', { file: splitFile });

  // ---- 2. the reference classifier (once) ----------------------------------
  const reference = await referenceClassifier(o, dataset, split, splitFile, logger);
  try {
    const classes = reference.info.classes;
    if (reference.info.inputSize !== o.size) {
      throw new CellganError(`the reference classifier takes ${reference.info.inputSize} px images, the benchmark runs at ${o.size} px`, { file: reference.dir });
    }
    const realTest = await decodeLabeled(testItems.filter((i) => classes.includes(i.label)), classes, o.size, logger, 'real test images');
    const extractor = await loadFeatureExtractor(reference.dir);
    try {
      const cacheDir = path.join(o.work, 'features-cache');
      const realFeatures = await computeFeatures(extractor, testItems, { cacheDir, logger, what: 'real test images' });
      const realByClass = byClass(realFeatures, testItems);
      const realDiversity = Object.fromEntries(classes.map((c, k) => [c, classDiversity(realTest, k)]));

      // ---- 3. train --------------------------------------------------------
      if (o.train) {
        const resume = await exists(path.join(o.run, 'options.json'));
        logger.info(`quality: ${resume ? 'resuming' : 'training'} ${o.run} (${o.recipe}) to iteration ${o.iters}`);
        await train(resume
          ? { resume: o.run, iters: o.iters, workers: o.workers, logger, progress: false }
          : {
            data: o.data, split: splitFile, conditional: true, size: o.size, recipe: o.recipe, iters: o.iters, seed: o.seed,
            out: o.run, checkpointEvery: o.checkpointEvery, keepCheckpoints: 1000, workers: o.workers, logger, progress: false,
            ...o.overrides,
          });
      }
      const run = await readRun(o.run);
      const upTo = run.checkpoints.filter((ck) => o.until === undefined || ck <= o.until);
      const scored = upTo.filter((ck, i) => ck % o.scoreEvery === 0 || i === upTo.length - 1);
      if (!scored.length) throw new CellganError(`the run has no checkpoint to score${o.until === undefined ? '' : ` up to iteration ${o.until}`}`, { file: o.run });
      const runClasses = run.outputClasses.filter((c) => classes.includes(c));
      // A run that (or whose --init ancestors) trained on a test image would be scored on cells it saw.
      const seen = await heldOutImageSeenBy(run.runDir, dataset, split, ['test']);
      if (seen) {
        throw new CellganError(`this test image of the bench's split is one the run or its --init ancestors trained on (among ${seen.seen} training images); its GAN-train and FID would be flattered. Score it with a split whose test images its whole lineage never saw (--split)`, { file: seen.item.abs, exitCode: 2 });
      }
      if (seen === undefined) logger.warn('quality: cannot check that the run\'s --init ancestors never trained on the test images (no training-image list, data not readable)');

      // ---- 4. the curve: every checkpoint -----------------------------------
      const curve: CurvePoint[] = [];
      // Cached per split and reference: a point scored against other test images or another ruler is another point.
      // Samples drawn with standing statistics are other samples: their own cache files.
      const sampling = o.standingStats ? `-ss${o.standingStats}` : '';
      const cached = path.join(o.run, 'quality', (await hashFile(splitFile)).slice(0, 8) + '-' + (await hashFile(path.join(reference.dir, 'weights.bin'))).slice(0, 8));
      for (const ck of scored) {
        const file = path.join(cached, `${checkpointName(ck)}-${o.perClass}${sampling}.json`);
        if (await exists(file)) { curve.push(JSON.parse(await fs.readFile(file, 'utf8')) as CurvePoint); continue; }
        logger.info(`quality: scoring checkpoint ${ck}`);
        const point = await scoreCheckpoint(o, run.runDir, ck, reference, extractor, classes, runClasses, realByClass, realDiversity, logger);
        await writeJsonAtomic(file, point);
        curve.push(point);
      }
      // A fine-tuned run continues its parents: its curve is placed after their cost.
      const lineage = await trainingLineage(run.options, run.runDir);
      const before = lineage.reduce((a, x) => ({ it: a.it + x.iterations, wall: a.wall + x.wall_s, cpu: a.cpu + x.cpu_s }), { it: 0, wall: 0, cpu: 0 });
      if (lineage.length) {
        for (const [i, p] of curve.entries()) {
          curve[i] = { ...p, iteration: p.iteration + before.it, run_iteration: p.iteration, wall_s: roundSeconds(p.wall_s + before.wall), cpu_s: roundSeconds(p.cpu_s + before.cpu) };
        }
      }
      const last = curve[curve.length - 1];
      const lastCheckpoint = last.run_iteration ?? last.iteration;

      // ---- 5. final: GAN-train and the baseline -----------------------------
      const baseEval = predictImages(reference.model, realTest, classes.length);
      const baseline = summary(toPart(computeMetrics(baseEval.yTrue, baseEval.yPred, classes, { resamples: o.resamples, seed: o.seed }), 'real train split', 'real test split', trainItems.length));
      const ganTrainPerClass = ganTrainCounts(o.ganTrainPerClass, trainItems, runClasses);
      const counts = new Set(Object.values(ganTrainPerClass));
      // Cache key: the count when every class has the same (as before 'match' went per class), else 'match'.
      const sizeKey = counts.size === 1 ? String([...counts][0]) : o.ganTrainPerClass;
      let ganTrain: QualityResult['gan_train'] = null;
      if (o.ganTrain && runClasses.length >= 2) {
        const draws: GanTrainDrawResult[] = [];
        for (let d = 0; d < o.ganTrainDraws; d++) {
          const file = path.join(cached, `gan-train-${checkpointName(lastCheckpoint)}-${sizeKey}${sampling}${d ? `-draw${d}` : ''}.json`);
          const old = (await exists(file)) ? JSON.parse(await fs.readFile(file, 'utf8')) as GanTrainDrawResult : undefined;
          // Pooling needs each draw's predictions (a cache from before draws holds only the summary).
          if (old && (o.ganTrainDraws === 1 || old.y_pred)) { draws.push(old); continue; }
          const fresh = await ganTrainScore(o, ganTrainPerClass, run.runDir, lastCheckpoint, runClasses, testItems, reference, ganTrainSeeds(o.seed, d), logger);
          await writeJsonAtomic(file, fresh);
          draws.push(fresh);
        }
        ganTrain = { ...(draws.length === 1 ? summaryOfDraw(draws[0], runClasses) : poolDraws(draws, runClasses, o)), iteration: last.iteration };
      }

      // ---- 6. write -----------------------------------------------------------
      // The recipe the run's settings amount to, and what it changed of it (a run of an existing
      // folder records its own settings, not the bench's --recipe and --train-json).
      const runOptions = run.options.options;
      const recipe = equivalentRecipe(runOptions.recipe ?? 'dcgan', runOptions);
      const valAcc = reference.info.history.length
        ? reference.info.history[reference.info.training.earlyStopping.bestEpoch - 1]?.valAccuracy ?? null : null;
      const result: QualityResult = {
        format: 'cellgan-quality-bench', version: 1, date: new Date().toISOString(),
        data: path.relative(process.cwd(), o.data) || '.', size: o.size, recipe,
        budget: { iters: last.iteration, checkpoint_every: o.checkpointEvery, overrides: jsonable(recipeDifferences(recipe, runOptions)) },
        cpu: cpuDescription(), cores: os.cpus().length, backend: describeBackend(backend),
        run: o.run,
        split: { file: splitFile, sha256: await hashFile(splitFile), train: trainItems.length, test: testItems.length },
        reference: { dir: reference.dir, epochs: reference.info.history.length, val_accuracy: valAcc },
        wall_s: last.wall_s, cpu_s: last.cpu_s, lineage,
        baseline, gan_train: ganTrain, gan_test: { ...last.gan_test, iteration: last.iteration }, curve,
        settings: {
          per_class: o.perClass, gan_train_per_class: counts.size === 1 ? [...counts][0] : ganTrainPerClass, gan_train_draws: o.ganTrainDraws, standing_stats: o.standingStats,
          gan_train_size: { match: 'match: of every class as many as the real training split has', balanced: 'balanced: as many in all as the real training split, equal per class' }[String(o.ganTrainPerClass)] ?? 'given',
          seed: o.seed, workers: o.workers,
          fid_real: 'real test split', features: extractor.description, bootstrap_resamples: o.resamples,
          model: run.options.model, train_options: jsonable(run.options.options),
        },
      };
      await writeJsonAtomic(o.out, result);
      await writeFileAtomic(o.out.replace(/\.json$/, '') + '.png', await chartToPng(qualityChart(result)));
      logger.info(`quality: wrote ${o.out} and its plot (.png)`);
      return result;
    } finally {
      extractor.dispose();
    }
  } finally {
    reference.model.dispose();
  }
}

/** The cached reference classifier (trained here once per data, split, size and seed), or the one given. */
async function referenceClassifier(o: Resolved, dataset: Dataset, split: SplitFile, splitFile: string, logger: Logger): Promise<LoadedClassifier> {
  if (o.reference) {
    // Trained on exactly this split's training images, or GAN-test would be read against a classifier that saw test cells.
    checkTrainedOn(await readClassifierInfo(o.reference), o.reference, dataset, split);
    return loadClassifier(o.reference);
  }
  const dir = path.join(o.work, 'reference');
  const key = {
    data: dataset.root, split_sha256: await hashFile(splitFile), size: o.size, seed: o.seed, epochs: o.referenceEpochs,
    max_per_class: o.referenceMaxPerClass ?? null,
  };
  const keyFile = path.join(dir, 'quality-key.json');
  if (await exists(keyFile)) {
    const old = await fs.readFile(keyFile, 'utf8');
    if (old === JSON.stringify(key)) return loadClassifier(dir);
    logger.info('quality: the cached reference classifier was made for other settings; training a new one');
  }
  logger.info(`quality: training the reference classifier (${o.referenceEpochs} epochs) into ${dir}`);
  const r = await trainClassifier({
    data: dataset, split, out: dir, force: true, size: o.size, epochs: o.referenceEpochs, seed: o.seed,
    workers: o.workers, maxPerClass: o.referenceMaxPerClass, logger,
  });
  r.model.dispose();
  await writeFileAtomic(keyFile, JSON.stringify(key));
  return loadClassifier(dir);
}

/**
 * Samples checkpoint `ck` into a scratch folder as `cellgan generate` writes it: `perClass` images
 * of every class, or per class its own count (one generate call per class, into <scratch>/<k>).
 * Returns the images.
 */
async function sampleCheckpoint(runDir: string, ck: number, perClass: number | Record<string, number>, seed: number, standingStats: number, scratch: string): Promise<DatasetItem[]> {
  const counts = typeof perClass === 'number' ? [] : Object.entries(perClass);
  if (typeof perClass === 'number' || new Set(counts.map(([, n]) => n)).size === 1) {
    const count = typeof perClass === 'number' ? perClass : counts[0][1];
    await generate({ model: runDir, checkpoint: ck, count, out: scratch, seed, standingStats, force: true, progress: false });
    return (await readSyntheticFolder(scratch)).items;
  }
  await fs.rm(scratch, { recursive: true, force: true });
  const items: DatasetItem[] = [];
  for (const [k, [className, count]] of counts.entries()) {
    const dir = path.join(scratch, String(k));
    await generate({ model: runDir, checkpoint: ck, className, count, out: dir, seed, standingStats, force: true, progress: false });
    items.push(...(await readSyntheticFolder(dir)).items);
  }
  return items;
}

async function scoreCheckpoint(
  o: Resolved, runDir: string, ck: number, reference: LoadedClassifier, extractor: Awaited<ReturnType<typeof loadFeatureExtractor>>,
  classes: string[], runClasses: string[], realByClass: Map<string, FeatureSet>, realDiversity: Record<string, number>, logger: Logger,
): Promise<CurvePoint> {
  const scratch = path.join(o.work, 'scratch', `ck-${process.pid}`);
  try {
    // Seed 1_000_000 + seed: noise disjoint from training's grids and from GAN-train's set.
    const items = (await sampleCheckpoint(runDir, ck, o.perClass, offsetSeed(o.seed, 1_000_000), o.standingStats, scratch)).filter((i) => runClasses.includes(i.label));
    const set = await decodeLabeled(items, classes, o.size, logger, 'synthetic images');
    const e = predictImages(reference.model, set, classes.length);
    const ganTest = summary(toPart(computeMetrics(e.yTrue, e.yPred, classes, { resamples: o.resamples, seed: o.seed }), 'real train split', 'synthetic images', 0), runClasses);
    const fake = byClass(await computeFeatures(extractor, items, { logger, what: 'synthetic images' }), items);
    const perClass: CurvePoint['per_class'] = {};
    for (const c of runClasses) {
      const real = realByClass.get(c), f = fake.get(c);
      const dist = real && f ? distancesBetween(real, f, { k: DISTANCE_DEFAULTS.k, kidSubsetSize: DISTANCE_DEFAULTS.kidSubsetSize, kidSubsets: o.kidSubsets, seed: o.seed }, c, silentLogger) : null;
      const k = classes.indexOf(c);
      perClass[c] = { fid: dist?.fid ?? null, kid: dist?.kid.value ?? null, diversity_ratio: realDiversity[c] > 0 ? classDiversity(set, k) / realDiversity[c] : 0 };
    }
    const state = JSON.parse(await fs.readFile(path.join(runDir, 'checkpoints', checkpointName(ck), 'state.json'), 'utf8')) as { wallTimeS: number; cpuTimeS?: number };
    const vals = Object.values(perClass);
    return {
      iteration: ck, wall_s: roundSeconds(state.wallTimeS), cpu_s: roundSeconds(state.cpuTimeS ?? NaN), gan_test: ganTest,
      fid_mean: meanOrNull(vals.map((x) => x.fid)), kid_mean: meanOrNull(vals.map((x) => x.kid)), per_class: perClass,
      diversity_ratio: round(mean(vals.map((x) => x.diversity_ratio)), 4),
    };
  } finally {
    await fs.rm(scratch, { recursive: true, force: true });
  }
}

async function ganTrainScore(
  o: Resolved, perClass: Record<string, number>, runDir: string, ck: number, runClasses: string[], testItems: DatasetItem[], reference: LoadedClassifier, seeds: GanTrainSeeds, logger: Logger,
): Promise<GanTrainDrawResult> {
  const scratch = path.join(o.work, 'scratch', `gan-train-${process.pid}`);
  try {
    logger.info(`quality: GAN-train on synthetic images of checkpoint ${ck} (${Object.entries(perClass).map(([c, n]) => `${c} ${n}`).join(', ')}; noise seed ${seeds.noise}, classifier seed ${seeds.classifier})`);
    const items = (await sampleCheckpoint(runDir, ck, perClass, seeds.noise, o.standingStats, scratch)).filter((i) => runClasses.includes(i.label));
    const { train: tr, val } = carveValidation(items, SYNTHETIC_VAL_FRACTION, new Rng(deriveSeed('quality-gan-train', seeds.classifier)));
    const trainSet = await decodeLabeled(tr, runClasses, o.size, logger, 'synthetic images');
    const valSet = await decodeLabeled(val, runClasses, o.size, logger, 'synthetic images');
    // The reference's own recipe, so GAN-train and the baseline differ only in their training images.
    const t = reference.info.training;
    const gan = await trainOnImages({
      classes: runClasses, train: trainSet, val: valSet, dataDescription: `${runDir} checkpoint ${ck}`, size: o.size,
      epochs: o.referenceEpochs, batchSize: t.batchSize, learningRate: t.learningRate, seed: seeds.classifier, architecture: reference.info.architecture,
      workers: o.workers, logger,
    }, 'carved-from-train');
    try {
      const test = await decodeLabeled(testItems.filter((i) => runClasses.includes(i.label)), runClasses, o.size, logger, 'real test images');
      const e = predictImages(gan.model, test, runClasses.length);
      return {
        ...summary(toPart(computeMetrics(e.yTrue, e.yPred, runClasses, { resamples: o.resamples, seed: o.seed }), 'synthetic images', 'real test split', trainSet.labels.length)),
        iteration: ck, n_train: trainSet.labels.length, seeds, y_true: Array.from(e.yTrue), y_pred: Array.from(e.yPred),
      };
    } finally {
      gan.model.dispose();
    }
  } finally {
    await fs.rm(scratch, { recursive: true, force: true });
  }
}

/** A draw's figures without its seeds; its predictions as a confusion matrix. */
function summaryOfDraw(d: GanTrainDrawResult, classes: string[]): GanTrainSummary {
  return { accuracy: d.accuracy, balanced_accuracy: d.balanced_accuracy, per_class: d.per_class, iteration: d.iteration, n_train: d.n_train, confusion: drawsConfusion([d], classes) };
}

/** The draws' confusion matrices summed (every draw predicted the same test images); null if a draw's predictions are not cached. */
function drawsConfusion(draws: GanTrainDrawResult[], classes: string[]): GanTrainSummary['confusion'] {
  if (!draws.every((d) => d.y_true && d.y_pred)) return null;
  const counts = classes.map(() => classes.map(() => 0));
  for (const d of draws) {
    const cm = confusionMatrix(d.y_true!, d.y_pred!, classes.length);
    cm.forEach((row, t) => row.forEach((n, p) => { counts[t][p] += n; }));
  }
  return { classes, counts };
}

/**
 * Several draws as one figure: the mean accuracy (and per class), with a CI from resampling the
 * real test images (every draw predicted the same images) and taking the mean over draws, so the
 * interval covers the test set's sampling; the draws' own spread is in `draws`.
 */
function poolDraws(draws: GanTrainDrawResult[], classes: string[], o: Resolved): GanTrainSummary & { draws: GanTrainDraw[] } {
  const yTrue = draws[0].y_true!;
  const K = classes.length;
  const meanOver = (metric: MetricDefinition, idx: ArrayLike<number>): number => {
    const t = Int32Array.from(idx, (i) => yTrue[i]);
    return mean(draws.map((d) => metric.fromConfusion(confusionMatrix(t, Int32Array.from(idx, (i) => d.y_pred![i]), K), classes) as number));
  };
  const all = Int32Array.from(yTrue, (_, i) => i);
  const estimate = (name: string): Estimate => {
    const metric = getMetric(name);
    const ci = bootstrapStatistic(yTrue.length, (idx) => meanOver(metric, idx), { resamples: o.resamples, seed: o.seed });
    return { value: meanOver(metric, all), ci95: o.resamples ? ci : [null, null] };
  };
  const perClass = Object.fromEntries(classes.filter((c) => draws[0].per_class[c] !== undefined).map((c) => {
    const xs = draws.map((d) => d.per_class[c]);
    return [c, xs.every((x): x is number => x !== null && x !== undefined) ? mean(xs) : null];
  }));
  return {
    accuracy: estimate('accuracy'), balanced_accuracy: estimate('balanced_accuracy'), per_class: perClass,
    iteration: draws[0].iteration, n_train: draws[0].n_train, confusion: drawsConfusion(draws, classes),
    draws: draws.map((d) => ({ noise_seed: d.seeds.noise, classifier_seed: d.seeds.classifier, accuracy: d.accuracy.value, balanced_accuracy: d.balanced_accuracy.value })),
  };
}

function summary(p: ScorePart, onlyClasses?: string[]): CurvePoint['gan_test'] {
  const keep = onlyClasses ?? p.classes;
  return {
    accuracy: p.accuracy, balanced_accuracy: p.balanced_accuracy,
    per_class: Object.fromEntries(keep.filter((c) => p.per_class[c]?.n).map((c) => [c, p.per_class[c].sensitivity.value])),
  };
}

function byClass(set: FeatureSet, items: DatasetItem[]): Map<string, FeatureSet> {
  const labelOf = new Map(items.map((i) => [i.file, i.label]));
  return new Map([...new Set(labelOf.values())].map((c) => [c, rowsOf(set, (f) => labelOf.get(f) === c)]));
}

/** Mean pairwise pixel distance of (at most 200 seeded picks of) class k's images, in [-1, 1] units as the collapse alarm measures it. */
function classDiversity(set: LabeledImages, k: number): number {
  const idx = Array.from(set.labels, (l, i) => (l === k ? i : -1)).filter((i) => i >= 0);
  const pick = new Rng(deriveSeed('quality-diversity', k)).shuffle(idx).slice(0, 200);
  return pick.length >= 2 ? meanPairwiseDistance(batchFloats(set, pick), pick.length) : 0;
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const round = (x: number, digits: number): number => Number(x.toFixed(digits));
function meanOrNull(xs: (number | null)[]): number | null {
  const ok = xs.filter((x): x is number => x !== null && Number.isFinite(x));
  return ok.length === xs.length && ok.length ? mean(ok) : null;
}
function jsonable(x: unknown): Record<string, unknown> {
  return JSON.parse(JSON.stringify(x, (k, val) => (k === 'logger' || k === 'signal' ? undefined : val))) as Record<string, unknown>;
}

/** GAN-test and mean per-class FID against CPU hours: the curve a user picks a budget from. */
export function qualityChart(r: QualityResult): ChartSpec {
  const values = r.curve.flatMap((p) => [
    { cpu_h: p.cpu_s / 3600, iteration: p.iteration, measure: 'GAN-test accuracy (%)', value: (p.gan_test.accuracy.value ?? 0) * 100 },
    ...(p.fid_mean === null ? [] : [{ cpu_h: p.cpu_s / 3600, iteration: p.iteration, measure: 'mean per-class FID', value: p.fid_mean }]),
  ]);
  const x = { field: 'cpu_h', type: 'quantitative', title: `training CPU hours (${r.cores} cores; ${r.cpu.split(';')[0]})` };
  return {
    title: `quality vs cost: ${r.recipe}, ${r.data}, ${r.size} px`,
    data: { values },
    facet: { row: { field: 'measure', type: 'nominal', title: null } },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 520, height: 180,
      layer: [
        { mark: { type: 'line', point: true }, encoding: { x, y: { field: 'value', type: 'quantitative', title: null }, tooltip: [{ field: 'iteration' }, { field: 'value' }] } },
      ],
    },
  } as unknown as ChartSpec;
}
