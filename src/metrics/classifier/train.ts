/**
 * Training the reference classifier: Adam, cross-entropy (optionally
 * class-weighted), random flips and 90° rotations (the 8 symmetries of the
 * square: a cell on a slide has no up or left), early stopping on the
 * validation split with the best weights restored. Everything random (weight
 * init, shuffling, augmentation, dropout masks, validation carve-out) comes
 * from one seed.
 */
import path from 'node:path';
import { tf, ensureBackend, type LayersModel, type Tensor } from '../../engine/index.js';
import { Rng, deriveSeed } from '../../util/rng.js';
import { silentLogger, type Logger } from '../../util/log.js';
import { buildDirAtomic } from '../../util/atomic.js';
import { CellganError } from '../../util/errors.js';
import { hashBytes } from '../../util/hash.js';
import * as v from '../../util/validate.js';
import { resolveOptions, defaultsOf, integer, number, boolean, seed, workers, text, FORCE_OPTION, type OptionTable } from '../../util/options.js';
import { loadDataset, readSplit, selectSplit, DATA_OPTION, LABELS_OPTION } from '../../data/dataset.js';
import type { Dataset, DatasetItem, SplitFile } from '../../data/types.js';
import { batchFloats, decodeLabeled, type LabeledImages } from '../images.js';
import { buildClassifier, DEFAULT_ARCHITECTURE, OUTPUT_LAYER, type ClassifierArchitecture } from './model.js';
import { CLASSIFIER_JSON, loadClassifier, readClassifierInfo, saveLayersModel, writeClassifierInfo, type ClassifierInfo, type EpochRecord } from './io.js';
import { trainStep, type StepBatch } from './step.js';
import { createParallelClassifierStep, type ParallelClassifierStep } from './parallel.js';
import { workerBackendFor } from '../../engine/parallel/index.js';

/** Defaults, ranges and help: CLASSIFIER_TRAIN_OPTIONS. */
export interface TrainClassifierOptions {
  /** Data root (ImageFolder) or an already loaded Dataset. */
  data: string | Dataset;
  /** labels CSV for `data` (passed to loadDataset). */
  labels?: string;
  /** Split file (path or parsed); without it all items train and `valFraction` of them are carved out for validation. */
  split?: string | SplitFile;
  /** Output folder (model.json, weights.bin, classifier.json). Optional for in-memory use. */
  out?: string;
  force?: boolean;
  size?: number;
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  /** Weight the loss by N / (K · n_class) so rare classes count as much as common ones. */
  classWeights?: boolean;
  /** Epochs without validation-loss improvement before stopping. */
  patience?: number;
  /**
   * Epochs without validation-loss improvement before the learning rate is halved
   * (reduce-on-plateau; 0 keeps it constant). Should be smaller than `patience`.
   */
  lrPatience?: number;
  augment?: boolean;
  /** A saved classifier folder to fine-tune from (transfer learning). */
  init?: string;
  seed?: number;
  architecture?: Partial<ClassifierArchitecture>;
  /** Use at most this many training images per class (seeded pick), for quick runs. */
  maxPerClass?: number;
  /** Fraction of train carved out for validation when the split has no val images. */
  valFraction?: number;
  logger?: Logger;
  onEpoch?: (record: EpochRecord) => void;
  /** Save the best-so-far classifier here after every epoch that improves validation loss (replaced each time). */
  checkpointDir?: string;
  /**
   * Worker threads computing data-parallel gradients (0 = this
   * thread; 2 uses both cores of a 2-core machine on wasm). Batch norm sees
   * each worker's shard, so results depend on the count (recorded).
   */
  workers?: number;
}

export interface TrainClassifierResult {
  model: LayersModel;
  info: ClassifierInfo;
  /** Where it was saved, if `out` was given. */
  out?: string;
}

/** Already decoded training input (used by score() for synthetic sets). */
export interface TrainOnImagesOptions extends Omit<TrainClassifierOptions, 'data' | 'labels' | 'split' | 'maxPerClass'> {
  classes: string[];
  train: LabeledImages;
  val?: LabeledImages;
  /** Recorded in classifier.json. */
  dataDescription: string;
  /** The real training images (trainSetDigest) and their cap, recorded so the classifier can be reused as a baseline. */
  trainSet?: { images: number; sha256: string; maxPerClass: number | null };
}

/** Adam's learning rate when fine-tuning (--init), below a fresh model's so the parent's features survive the first steps. */
const LEARNING_RATE_FINE_TUNE = 3e-4;

/** The training settings (classifier.json records them; score trains its classifiers with them, so its CLI can take these entries). */
export const CLASSIFIER_SETTINGS = {
  size: {
    ...integer(8, 512), default: 64, defaultHelp: "with --init the parent's",
    help: `input size in pixels (multiple of ${2 ** DEFAULT_ARCHITECTURE.blocks})`,
  },
  epochs: { ...integer(1, 10_000), default: 30, help: 'maximum epochs (early stopping on val loss)' },
  batchSize: { ...integer(1, 4096), flag: 'batch', default: 32, help: 'images per training step' },
  learningRate: { ...number(0, 1, { exclusiveMin: true }), flag: 'lr', default: 1e-3, defaultHelp: `${LEARNING_RATE_FINE_TUNE} with --init`, help: 'Adam learning rate' },
  patience: { ...integer(1, 10_000), default: 5, help: 'epochs without val-loss improvement before stopping' },
  lrPatience: { ...integer(0, 10_000), default: 2, help: 'epochs without val-loss improvement before the learning rate is halved (0: constant rate)' },
  augment: { ...boolean, default: true, help: 'random flips and 90° rotations (--no-augment to disable)' },
  classWeights: { ...boolean, default: false, help: 'weight the loss by inverse class frequency' },
  seed: { ...seed, default: 0, help: 'seed of the weights, batches, augmentation, dropout and validation carve-out' },
  valFraction: { ...number(0, 0.9), default: 0.1, cli: false, help: 'fraction of train carved out for validation when the split has no val images' },
  workers: {
    ...workers, default: 0,
    help: 'worker threads for data-parallel classifier training (2 uses both cores of a 2-core machine on wasm; 0: this thread). Batch norm sees each worker\'s shard, so the count changes the result',
  },
} satisfies OptionTable;

/** What trainClassifier reads and writes. */
const CLASSIFIER_INPUTS = {
  data: { ...DATA_OPTION, required: true },
  labels: LABELS_OPTION,
  split: { type: 'string', help: `split.json (cellgan split); without it ${100 * CLASSIFIER_SETTINGS.valFraction.default} % of the data is held out for validation` },
  out: { ...text, demand: true, help: 'output folder (model.json, weights.bin, classifier.json)' },
  init: { ...text, help: 'saved classifier folder to fine-tune from (transfer learning)' },
  maxPerClass: { ...integer(1), help: 'use at most this many training images per class (quick runs)' },
  width: { type: 'number', into: 'architecture', default: DEFAULT_ARCHITECTURE.width, help: 'filters of the first conv block' },
  checkpointDir: { ...text, flag: 'checkpoint', help: 'also save the best-so-far classifier here after each improving epoch' },
  force: FORCE_OPTION,
} satisfies OptionTable;

/** `cellgan classifier train`'s options (src/util/options.ts). */
export const CLASSIFIER_TRAIN_OPTIONS = { ...CLASSIFIER_INPUTS, ...CLASSIFIER_SETTINGS } satisfies OptionTable;

/** Every default of classifier training (stated in CLASSIFIER_SETTINGS; score reads them). */
export const CLASSIFIER_DEFAULTS = { ...defaultsOf(CLASSIFIER_SETTINGS), learningRateFineTune: LEARNING_RATE_FINE_TUNE };

/** The settings of a training run, checked, with their defaults (a fine-tune's: the parent's size, the lower rate). */
function resolveSettings(o: Omit<TrainClassifierOptions, 'data'>, initSize?: number) {
  const arch = { ...DEFAULT_ARCHITECTURE, ...(o.architecture ?? {}) };
  v.integer('architecture.blocks', arch.blocks, 1, 6);
  v.integer('architecture.width', arch.width, 1, 256);
  v.integer('architecture.featureUnits', arch.featureUnits, 2, 1024);
  v.number('architecture.dropout', arch.dropout, 0, 0.95);
  const r = resolveOptions(CLASSIFIER_SETTINGS, o, { size: initSize, learningRate: o.init ? LEARNING_RATE_FINE_TUNE : undefined });
  if (r.size % 2 ** arch.blocks !== 0) throw v.invalid('--size', `a multiple of ${2 ** arch.blocks} (the model halves it ${arch.blocks} times)`, r.size);
  return { ...r, architecture: arch };
}

/** Stratified seeded carve-out of `fraction` of each class. */
/** Share of a synthetic training set carved off for early stopping (GAN-train in score and the quality bench). */
export const SYNTHETIC_VAL_FRACTION = 0.1;

/** Synthetic images per class whose training part (after the carve) matches `realTrain` real images over `classes` classes. */
export function matchingSyntheticPerClass(realTrain: number, classes: number): number {
  return Math.ceil(realTrain / classes / (1 - SYNTHETIC_VAL_FRACTION));
}

export function carveValidation(items: DatasetItem[], fraction: number, rng: Rng): { train: DatasetItem[]; val: DatasetItem[] } {
  const byClass = new Map<string, DatasetItem[]>();
  for (const it of items) (byClass.get(it.label) ?? byClass.set(it.label, []).get(it.label)!).push(it);
  const train: DatasetItem[] = [], val: DatasetItem[] = [];
  for (const [, list] of [...byClass].sort(([a], [b]) => a.localeCompare(b))) {
    const shuffled = rng.shuffle([...list]);
    const nVal = list.length >= 5 ? Math.max(1, Math.round(list.length * fraction)) : 0;
    val.push(...shuffled.slice(0, nVal));
    train.push(...shuffled.slice(nVal));
  }
  return { train, val };
}

/** Trains the reference classifier on a dataset's train split (see the module comment). */
export async function trainClassifier(opts: TrainClassifierOptions): Promise<TrainClassifierResult> {
  const logger = opts.logger ?? silentLogger;
  resolveOptions(CLASSIFIER_INPUTS, opts);
  const initInfo = opts.init ? await readClassifierInfo(opts.init) : undefined;
  const r = resolveSettings(opts, initInfo?.inputSize);
  const dataset = typeof opts.data === 'string' ? await loadDataset(opts.data, { labels: opts.labels }) : opts.data;
  const split = typeof opts.split === 'string' ? await readSplit(opts.split) : opts.split;
  const { trainItems, valSource, ...selected } = selectClassifierData(dataset, split, { seed: r.seed, valFraction: r.valFraction, maxPerClass: opts.maxPerClass });
  let valItems = selected.valItems;
  if (!trainItems.length) throw new CellganError('the training split is empty', { file: typeof opts.split === 'string' ? opts.split : dataset.root });
  const classes = [...new Set(trainItems.map((i) => i.label))].sort();
  if (classes.length < 2) throw new CellganError(`need at least 2 classes to train a classifier, found ${classes.length}`, { file: dataset.root });
  valItems = valItems.filter((i) => classes.includes(i.label));
  logger.info(`decoding ${trainItems.length} training and ${valItems.length} validation images at ${r.size} px`);
  const train = await decodeLabeled(trainItems, classes, r.size, logger, 'training images');
  const val = valItems.length ? await decodeLabeled(valItems, classes, r.size, logger, 'validation images') : undefined;
  const trainSet = { ...trainSetDigest(trainItems), maxPerClass: opts.maxPerClass ?? null };
  const result = await trainOnImages({ ...opts, ...r, classes, train, val, dataDescription: dataset.root, trainSet }, valSource);
  return result;
}

/**
 * The real images a classifier trained on a dataset's split uses: the split's train images
 * (less a seeded stratified validation carve-out when the split has no val images), capped
 * per class by `maxPerClass`. One function, so a saved classifier's training set can be
 * re-derived and checked (checkTrainedOn).
 */
export function selectClassifierData(
  dataset: Dataset, split: SplitFile | undefined, o: { seed: number; valFraction: number; maxPerClass?: number | null },
): { trainItems: DatasetItem[]; valItems: DatasetItem[]; valSource: ClassifierInfo['training']['valSource'] } {
  const rng = new Rng(deriveSeed('classifier-data', o.seed));
  let trainItems = split ? selectSplit(dataset, split, 'train') : dataset.items;
  let valItems = split ? selectSplit(dataset, split, 'val') : [];
  let valSource: ClassifierInfo['training']['valSource'] = 'split';
  if (!valItems.length) {
    ({ train: trainItems, val: valItems } = carveValidation(trainItems, o.valFraction, rng.fork('val')));
    valSource = valItems.length ? 'carved-from-train' : 'none';
  }
  if (o.maxPerClass) trainItems = capPerClass(trainItems, o.maxPerClass, rng.fork('cap'));
  return { trainItems, valItems, valSource };
}

/** Digest of a training set: sha256 over its sorted `class<TAB>path-under-the-data-root` lines (independent of where the data lives). */
export function trainSetDigest(items: DatasetItem[]): { images: number; sha256: string } {
  const lines = items.map((i) => `${i.label}\t${i.file}`).sort();
  return { images: items.length, sha256: hashBytes(lines.join('\n')) };
}

/**
 * Refuses a saved classifier unless it was trained on exactly the training images this dataset
 * and split give (same classes too): a classifier that saw a test or validation image would
 * inflate every accuracy read against it, and one trained on other images is another baseline.
 */
export function checkTrainedOn(info: ClassifierInfo, dir: string, dataset: Dataset, split: SplitFile | undefined): void {
  const recorded = info.training.trainSet;
  if (!recorded) {
    throw new CellganError('classifier.json does not record its training images (trained before cellgan recorded them, or on decoded images); retrain it with `cellgan classifier train --split` on this split', { file: path.join(dir, CLASSIFIER_JSON) });
  }
  const { trainItems } = selectClassifierData(dataset, split, { seed: info.training.seed, valFraction: info.training.valFraction ?? CLASSIFIER_DEFAULTS.valFraction, maxPerClass: recorded.maxPerClass });
  const here = trainSetDigest(trainItems);
  if (here.sha256 !== recorded.sha256) {
    throw new CellganError(`the classifier was trained on ${recorded.images} images that are not this split's ${here.images} training images${recorded.maxPerClass ? ` (capped at ${recorded.maxPerClass} per class)` : ''} (sha256 ${recorded.sha256.slice(0, 12)} ≠ ${here.sha256.slice(0, 12)}); use a classifier trained on this data and split`, { file: path.join(dir, CLASSIFIER_JSON) });
  }
}

function capPerClass(items: DatasetItem[], max: number, rng: Rng): DatasetItem[] {
  const byClass = new Map<string, DatasetItem[]>();
  for (const it of items) (byClass.get(it.label) ?? byClass.set(it.label, []).get(it.label)!).push(it);
  const keep = new Set<DatasetItem>();
  for (const [, list] of [...byClass].sort(([a], [b]) => a.localeCompare(b))) for (const it of rng.shuffle([...list]).slice(0, max)) keep.add(it);
  return items.filter((i) => keep.has(i));
}

/** Trains on decoded images; saves to `out` when given. */
export async function trainOnImages(opts: TrainOnImagesOptions, valSource: ClassifierInfo['training']['valSource'] = opts.val?.labels.length ? 'split' : 'none'): Promise<TrainClassifierResult> {
  const logger = opts.logger ?? silentLogger;
  const backend = await ensureBackend();
  const r = resolveSettings(opts, opts.train.size);
  if (r.size !== opts.train.size) throw new Error(`images are ${opts.train.size} px but size ${r.size} was asked for`);
  const { classes, train, val } = opts;
  const K = classes.length;
  const started = Date.now();

  let model = buildClassifier(r.size, K, r.architecture, r.seed);
  let init: ClassifierInfo['training']['init'] = null;
  if (opts.init) {
    const transferred = await transferFrom(opts.init, model, classes, r.architecture);
    init = { from: path.resolve(opts.init), outputLayer: transferred };
    logger.info(`initialised from ${opts.init} (output layer ${transferred})`);
  }

  const counts = new Array(K).fill(0);
  for (const l of train.labels) counts[l]++;
  const missing = classes.filter((_, k) => counts[k] === 0);
  if (missing.length) logger.warn(`no training images for class(es) ${missing.join(', ')}; the classifier can never predict them correctly`);
  const weights = r.classWeights
    ? counts.map((n) => (n ? train.labels.length / (K * n) : 0))
    : counts.map(() => 1);

  const schedule = new ReduceOnPlateau(r.learningRate, r.lrPatience);
  const makeInfo = (): ClassifierInfo => ({
    format: 'cellgan-classifier', version: 1, classes, inputSize: r.size,
    preprocessing: { size: r.size, range: [-1, 1], colorSpace: 'srgb', resize: 'EXIF-rotate, flatten on white, centre-crop to square (cover), lanczos3' },
    architecture: r.architecture,
    training: {
      seed: r.seed, epochs: r.epochs, batchSize: r.batchSize, learningRate: r.learningRate,
      augment: r.augment ? 'random flips and 90° rotations (8 dihedral transforms)' : 'none',
      classWeights: r.classWeights ? Object.fromEntries(classes.map((c, k) => [c, round6(weights[k])])) : null,
      lrSchedule: { kind: 'reduce-on-plateau', factor: schedule.factor, patience: schedule.patience },
      earlyStopping: { patience: r.patience, monitor: 'val_loss', bestEpoch: best.epoch || history.length, stoppedEpoch: Math.min(stoppedEpoch, history.length) },
      init, data: opts.dataDescription, counts: { train: n, val: val?.labels.length ?? 0 }, valSource,
      ...(opts.trainSet ? { trainSet: opts.trainSet, valFraction: r.valFraction } : {}),
      seconds: (Date.now() - started) / 1000, backend: backend.name,
      ...(r.workers ? { workers: r.workers } : {}),
    },
    history,
  });
  const optimizer = tf.train.adam(r.learningRate);
  let parallel: ParallelClassifierStep | undefined;
  const rng = new Rng(deriveSeed('classifier-train', r.seed));
  const history: EpochRecord[] = [];
  let best = { loss: Infinity, epoch: 0, weights: null as Tensor[] | null };
  let stoppedEpoch = r.epochs;
  const n = train.labels.length;
  try {
    if (r.workers > 0) {
      const w = workerBackendFor(backend, r.workers);
      if (w.warning) logger.warn(w.warning);
      parallel = await createParallelClassifierStep({ size: r.size, numClasses: K, architecture: r.architecture }, { workers: r.workers, backend: w.backend });
    }
    for (let epoch = 1; epoch <= r.epochs; epoch++) {
      const t0 = Date.now();
      const order = rng.shuffle(Array.from({ length: n }, (_, i) => i));
      let lossSum = 0, correct = 0;
      for (let start = 0; start < n; start += r.batchSize) {
        const idx = order.slice(start, start + r.batchSize);
        const transforms = r.augment ? idx.map(() => rng.int(8)) : undefined;
        const xs = batchFloats(train, idx, transforms);
        const ys = idx.map((i) => train.labels[i]);
        const masks = r.architecture.dropout > 0 ? dropoutMask(rng, idx.length * r.architecture.featureUnits, r.architecture.dropout) : null;
        const batch: StepBatch = { xs, ys, sampleWeights: idx.map((i) => weights[train.labels[i]]), mask: masks };
        const { loss, hits } = parallel ? await parallel.step(model, optimizer, batch) : trainStep(model, optimizer, batch, r.size, r.architecture.featureUnits);
        lossSum += loss * idx.length;
        correct += hits;
      }
      const record: EpochRecord = { epoch, loss: lossSum / n, trainAccuracy: correct / n, valLoss: null, valAccuracy: null, seconds: 0, learningRate: schedule.lr };
      if (val && val.labels.length) {
        const probs = predictProbabilities(model, val, r.batchSize * 2);
        const e = lossAndAccuracy(probs, val.labels, K, weights);
        record.valLoss = e.loss; record.valAccuracy = e.accuracy;
      }
      record.seconds = (Date.now() - t0) / 1000;
      history.push(record);
      opts.onEpoch?.(record);
      logger.info(`epoch ${epoch}/${r.epochs} loss ${record.loss.toFixed(4)} acc ${record.trainAccuracy.toFixed(4)}` +
        (record.valLoss !== null ? ` val_loss ${record.valLoss.toFixed(4)} val_acc ${record.valAccuracy!.toFixed(4)}` : '') + ` (${record.seconds.toFixed(1)} s)`);
      if (record.valLoss !== null) {
        const lrBefore = schedule.lr;
        if (schedule.update(epoch, record.valLoss)) {
          setLearningRate(optimizer, schedule.lr);
          logger.info(`no validation improvement for ${r.lrPatience} epochs: learning rate ${lrBefore.toExponential(2)} → ${schedule.lr.toExponential(2)}`);
        }
        if (record.valLoss < best.loss) {
          best.weights?.forEach((w) => w.dispose());
          best = { loss: record.valLoss, epoch, weights: model.getWeights().map((w) => w.clone()) };
          if (opts.checkpointDir) {
            // Best-so-far model, usable if a long run has to be stopped early.
            await buildDirAtomic(opts.checkpointDir, async (dir) => { await saveLayersModel(model, dir); await writeClassifierInfo(dir, makeInfo()); }, { force: true });
          }
        } else if (epoch - best.epoch >= r.patience) {
          stoppedEpoch = epoch;
          logger.info(`early stop: no validation improvement for ${r.patience} epochs; restoring epoch ${best.epoch}`);
          break;
        }
      }
    }
    if (best.weights) model.setWeights(best.weights);
  } catch (err) {
    model.dispose();
    throw err;
  } finally {
    best.weights?.forEach((w) => w.dispose());
    optimizer.dispose();
    await parallel?.close();
  }

  const info = makeInfo();
  if (opts.out) {
    const out = opts.out;
    try {
      await buildDirAtomic(out, async (dir) => {
        await saveLayersModel(model, dir);
        await writeClassifierInfo(dir, info);
      }, { force: opts.force });
    } catch (err) {
      model.dispose();
      throw err;
    }
    logger.info(`classifier saved to ${out}`);
  }
  return { model, info, out: opts.out };
}

function round6(x: number): number { return Math.round(x * 1e6) / 1e6; }

/** Inverted-dropout mask (kept units scaled by 1/(1-rate)) from the seeded stream. */
function dropoutMask(rng: Rng, length: number, rate: number): Float32Array {
  const m = new Float32Array(length);
  const scale = 1 / (1 - rate);
  for (let i = 0; i < length; i++) m[i] = rng.next() < rate ? 0 : scale;
  return m;
}

/**
 * Reduce-on-plateau learning-rate schedule: multiply the rate by `factor`
 * once `patience` epochs have passed without a lower validation loss (counted
 * from the best epoch or the last reduction, whichever is later). Adam's
 * validation loss on pbc-128 kept bouncing at a constant 1e-3; the full run
 * with this schedule reached 97.5 % test accuracy (notes/metrics.md).
 */
export class ReduceOnPlateau {
  private best = Infinity;
  private since = 0;
  constructor(public lr: number, readonly patience: number, readonly factor = 0.5, readonly minLr = 1e-6) {}

  /** Records one epoch's validation loss; true when the rate was just reduced (takes effect next epoch). */
  update(epoch: number, valLoss: number): boolean {
    if (valLoss < this.best) { this.best = valLoss; this.since = epoch; return false; }
    if (this.patience <= 0 || epoch - this.since < this.patience || this.lr <= this.minLr) return false;
    this.lr = Math.max(this.minLr, this.lr * this.factor);
    this.since = epoch;
    return true;
  }
}

/** tfjs' Adam reads its (protected) learningRate on every step, so changing it between steps takes effect. */
function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  const o = optimizer as unknown as { learningRate: number };
  if (typeof o.learningRate !== 'number') throw new Error('internal: optimizer has no numeric learningRate');
  o.learningRate = lr;
}

/** Softmax outputs (N × K, row-major) of `model` on `set`, in inference mode. */
export function predictProbabilities(model: LayersModel, set: LabeledImages, batchSize = 64): Float32Array {
  return runModel(model, set, batchSize);
}

/** Output rows of any single-input image model on `set` (flattened per image). */
export function runModel(model: LayersModel, set: LabeledImages, batchSize = 64): Float32Array {
  const n = set.labels.length, s = set.size;
  const chunks: Float32Array[] = [];
  let width = 0;
  for (let start = 0; start < n; start += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, n - start) }, (_, i) => start + i);
    const xs = batchFloats(set, idx);
    const out = tf.tidy(() => {
      const y = model.predict(tf.tensor4d(xs, [idx.length, s, s, 3])) as Tensor;
      return y.reshape([idx.length, -1]);
    });
    width = out.shape[1] as number;
    chunks.push(out.dataSync() as Float32Array);
    out.dispose();
  }
  const all = new Float32Array(n * width);
  let o = 0;
  for (const c of chunks) { all.set(c, o); o += c.length; }
  return all;
}

function lossAndAccuracy(probs: Float32Array, labels: Int32Array, K: number, weights: number[]): { loss: number; accuracy: number } {
  let loss = 0, wsum = 0, hits = 0;
  for (let i = 0; i < labels.length; i++) {
    const row = probs.subarray(i * K, (i + 1) * K);
    const w = weights[labels[i]] || 1;
    loss += -Math.log(Math.max(row[labels[i]], 1e-7)) * w;
    wsum += w;
    if (argmax(row) === labels[i]) hits++;
  }
  return { loss: loss / wsum, accuracy: hits / labels.length };
}

export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let k = 1; k < row.length; k++) if (row[k] > row[best]) best = k;
  return best;
}

/**
 * Copies every layer's weights from the saved classifier at `dir` into
 * `model` by layer name. The output layer's columns are mapped by class name;
 * classes the saved model did not know keep their fresh initialisation.
 */
export async function transferFrom(dir: string, model: LayersModel, classes: string[], arch: ClassifierArchitecture): Promise<'mapped' | 'replaced' | 'partial'> {
  const src = await loadClassifier(dir);
  try {
    const a = src.info.architecture;
    if (a.blocks !== arch.blocks || a.width !== arch.width || a.featureUnits !== arch.featureUnits) {
      throw new CellganError(`--init model has architecture ${JSON.stringify(a)}, which differs from ${JSON.stringify(arch)}`, { file: dir });
    }
    for (const layer of model.layers) {
      if (layer.name === OUTPUT_LAYER || !layer.weights.length) continue;
      layer.setWeights(src.model.getLayer(layer.name).getWeights());
    }
    const oldIndex = new Map(src.info.classes.map((c, i) => [c, i]));
    const mapped = classes.filter((c) => oldIndex.has(c)).length;
    if (mapped === 0) return 'replaced';
    const out = model.getLayer(OUTPUT_LAYER);
    const [newKernel, newBias] = out.getWeights();
    const [oldKernel, oldBias] = src.model.getLayer(OUTPUT_LAYER).getWeights();
    const nk = newKernel.arraySync() as number[][], nb = newBias.arraySync() as number[];
    const ok = oldKernel.arraySync() as number[][], ob = oldBias.arraySync() as number[];
    classes.forEach((c, j) => {
      const i = oldIndex.get(c);
      if (i === undefined) return;
      for (let u = 0; u < nk.length; u++) nk[u][j] = ok[u][i];
      nb[j] = ob[i];
    });
    const k = tf.tensor2d(nk), b = tf.tensor1d(nb);
    out.setWeights([k, b]);
    k.dispose(); b.dispose();
    return mapped === classes.length && classes.length === src.info.classes.length ? 'mapped' : 'partial';
  } finally {
    src.model.dispose();
  }
}
