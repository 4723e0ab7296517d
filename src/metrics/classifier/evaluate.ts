/**
 * Evaluating a saved classifier on a dataset (or its split's subset):
 * per-image predictions and the registry's metrics with bootstrap CIs.
 */
import path from 'node:path';
import { ensureBackend, type LayersModel } from '../../engine/index.js';
import { silentLogger, type Logger } from '../../util/log.js';
import { buildDirAtomic, writeFileAtomic, writeJsonAtomic } from '../../util/atomic.js';
import { CellganError } from '../../util/errors.js';
import { resolveOptions, oneOf, integer, seed, text, FORCE_OPTION, type OptionTable } from '../../util/options.js';
import { loadDataset, readSplit, selectSplit, DATA_OPTION, LABELS_OPTION } from '../../data/dataset.js';
import { SPLIT_NAMES, type Dataset, type DatasetItem, type SplitFile, type SplitName } from '../../data/types.js';
import { formatCsv } from '../../data/csv.js';
import { decodeLabeled, type LabeledImages } from '../images.js';
import { computeMetrics, formatReport, type MetricsReport } from '../report.js';
import { confusionChartPng } from '../confusion-chart.js';
import { loadClassifier, type LoadedClassifier } from './io.js';
import { argmax, predictProbabilities } from './train.js';

/** Defaults, ranges and help: CLASSIFIER_EVAL_OPTIONS. */
export interface EvaluateClassifierOptions {
  /** Saved classifier folder, or one already loaded. */
  model: string | LoadedClassifier;
  data: string | Dataset;
  labels?: string;
  split?: string | SplitFile;
  subset?: SplitName;
  /** Folder for metrics.json, predictions.csv and confusion.png. */
  out?: string;
  force?: boolean;
  resamples?: number;
  seed?: number;
  batchSize?: number;
  logger?: Logger;
}

export interface Prediction {
  file: string;
  trueClass: string;
  predictedClass: string;
  /** Softmax probability per class, in the classifier's class order. */
  probabilities: number[];
}

export interface EvaluateClassifierResult {
  predictions: Prediction[];
  report: MetricsReport;
  /** Human-readable table. */
  summary: string;
  /** Images skipped because their class is unknown to the classifier. */
  unknownClassImages: number;
}

export interface ImageEvaluation {
  yTrue: Int32Array;
  yPred: Int32Array;
  probabilities: Float32Array;
}

/** Predictions of `model` on images labelled with indices into the model's classes. */
export function predictImages(model: LayersModel, set: LabeledImages, numClasses: number, batchSize = 64): ImageEvaluation {
  const probabilities = predictProbabilities(model, set, batchSize);
  const yPred = new Int32Array(set.labels.length);
  for (let i = 0; i < yPred.length; i++) yPred[i] = argmax(probabilities.subarray(i * numClasses, (i + 1) * numClasses));
  return { yTrue: set.labels, yPred, probabilities };
}

/** `cellgan classifier eval`'s options (src/util/options.ts). */
export const CLASSIFIER_EVAL_OPTIONS = {
  model: { type: 'string', required: true, help: 'classifier folder (from classifier train)' },
  data: { ...DATA_OPTION, required: true },
  labels: LABELS_OPTION,
  split: { type: 'string', help: 'split.json; with it only --subset is evaluated' },
  subset: { ...oneOf(SPLIT_NAMES), default: 'test', help: 'the split subset evaluated' },
  out: { ...text, help: 'folder for metrics.json, predictions.csv and confusion.png' },
  force: FORCE_OPTION,
  resamples: { ...integer(0, 1_000_000), default: 1000, help: 'bootstrap resamples for the 95 % CIs' },
  seed: { ...seed, default: 0, help: 'bootstrap seed' },
  batchSize: { ...integer(1, 4096), default: 64, cli: false, help: 'images per prediction call (memory bound)' },
} satisfies OptionTable;

export async function evaluateClassifier(opts: EvaluateClassifierOptions): Promise<EvaluateClassifierResult> {
  const logger = opts.logger ?? silentLogger;
  const { subset, resamples, seed, batchSize } = resolveOptions(CLASSIFIER_EVAL_OPTIONS, opts);
  await ensureBackend();
  const clf = typeof opts.model === 'string' ? await loadClassifier(opts.model) : opts.model;
  try {
    const dataset = typeof opts.data === 'string' ? await loadDataset(opts.data, { labels: opts.labels }) : opts.data;
    const split = typeof opts.split === 'string' ? await readSplit(opts.split) : opts.split;
    let items: DatasetItem[] = split ? selectSplit(dataset, split, subset) : dataset.items;
    const known = new Set(clf.info.classes);
    const unknown = items.filter((i) => !known.has(i.label));
    if (unknown.length) {
      const names = [...new Set(unknown.map((i) => i.label))];
      logger.warn(`${unknown.length} images of class(es) ${names.join(', ')} unknown to the classifier were skipped`);
      items = items.filter((i) => known.has(i.label));
    }
    if (!items.length) throw new CellganError('no images of the classifier\'s classes to evaluate', { file: dataset.root });
    const set = await decodeLabeled(items, clf.info.classes, clf.info.inputSize, logger, 'evaluation images');
    const K = clf.info.classes.length;
    const ev = predictImages(clf.model, set, K, batchSize);
    const report = computeMetrics(ev.yTrue, ev.yPred, clf.info.classes, { resamples, seed });
    const predictions: Prediction[] = set.files.map((file, i) => ({
      file, trueClass: clf.info.classes[ev.yTrue[i]], predictedClass: clf.info.classes[ev.yPred[i]],
      probabilities: Array.from(ev.probabilities.subarray(i * K, (i + 1) * K), (p) => Math.round(p * 1e6) / 1e6),
    }));
    const result: EvaluateClassifierResult = { predictions, report, summary: formatReport(report), unknownClassImages: unknown.length };
    if (opts.out) await writeEvaluation(opts.out, result, clf.info.classes, Boolean(opts.force), { model: clf.dir, subset: split ? subset : 'all' });
    return result;
  } finally {
    if (typeof opts.model === 'string') clf.model.dispose();
  }
}

export function predictionsCsv(predictions: Prediction[], classes: string[]): string {
  return formatCsv([
    ['file', 'true', 'predicted', ...classes.map((c) => `p_${c}`)],
    ...predictions.map((p) => [p.file, p.trueClass, p.predictedClass, ...p.probabilities.map(String)]),
  ]);
}

async function writeEvaluation(out: string, r: EvaluateClassifierResult, classes: string[], force: boolean, meta: Record<string, string>): Promise<void> {
  await buildDirAtomic(out, async (dir) => {
    await writeJsonAtomic(path.join(dir, 'metrics.json'), { ...meta, ...r.report, unknownClassImages: r.unknownClassImages });
    await writeFileAtomic(path.join(dir, 'predictions.csv'), predictionsCsv(r.predictions, classes));
    const cm = r.report.metrics.confusion_matrix.value as number[][];
    await writeFileAtomic(path.join(dir, 'confusion.png'), await confusionChartPng(cm, classes));
  }, { force });
}
