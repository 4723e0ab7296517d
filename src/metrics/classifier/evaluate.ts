/**
 * Evaluating a saved classifier on a dataset (or its split's subset):
 * per-image predictions and the registry's metrics with bootstrap CIs.
 */
import path from 'node:path';
import { ensureBackend, type LayersModel } from '../../engine/index.js';
import { silentLogger, type Logger } from '../../util/log.js';
import { buildDirAtomic, writeFileAtomic, writeJsonAtomic } from '../../util/atomic.js';
import { CellganError } from '../../util/errors.js';
import * as v from '../../util/validate.js';
import { loadDataset, readSplit, selectSplit } from '../../data/dataset.js';
import type { Dataset, DatasetItem, SplitFile, SplitName } from '../../data/types.js';
import { formatCsv } from '../../data/csv.js';
import { decodeLabeled, type LabeledImages } from '../images.js';
import { computeMetrics, formatReport, type MetricsReport } from '../report.js';
import { confusionChartPng } from '../confusion-chart.js';
import { loadClassifier, type LoadedClassifier } from './io.js';
import { argmax, predictProbabilities } from './train.js';

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

export async function evaluateClassifier(opts: EvaluateClassifierOptions): Promise<EvaluateClassifierResult> {
  const logger = opts.logger ?? silentLogger;
  const subset = opts.subset ? v.oneOf('--subset', opts.subset, ['train', 'val', 'test'] as const) : 'test';
  const resamples = v.integer('--resamples', opts.resamples ?? 1000, 0, 1_000_000);
  const seed = v.seed(opts.seed ?? 0);
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
    const ev = predictImages(clf.model, set, K, opts.batchSize ?? 64);
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
