/**
 * Fine-tuning from a trained model (`train --init`): G, its EMA and D start
 * from a parent run's (or a shipped model's) latest checkpoint, as in
 * "Transferring GANs" (Wang et al. 2018); D's first blocks can be frozen
 * (FreezeD, Mo et al. 2020).
 *
 * The child may have other classes than the parent. Every weight is copied
 * by its stable name except the class-indexed rows of a conditional model
 * (the label rows of G's first dense layer, the per-class gains and biases
 * of conditional batch norm, D's projection embedding): a class the parent
 * knows gets its own row; a new class gets the row of the parent class
 * `initFrom` names for it (--init-class, or with --condition the class it lies
 * within), or the mean of the parent's rows when none is named. D's class heads (d_aux,
 * d_twin: one output per class) are remapped the same way along their
 * class axis; a parent without such a head leaves the child's freshly
 * initialised one.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { tf, powerIterateModel, type LayersModel, type Tensor } from '../engine/index.js';
import { CellganError } from '../util/errors.js';
import { hashBytes, hashFile } from '../util/hash.js';
import { roundSeconds } from '../util/progress.js';
import { loadDataset, readSplit, selectSplit } from '../data/index.js';
import { checkpointName, readRun } from './checkpoint.js';
import { weightNames, type ModelSpec } from './models.js';
import type { RunOptionsFile } from './types.js';
import type { Dataset, DatasetItem, SplitFile } from '../data/types.js';

/** The parent model of a fine-tuning run, as options.json records it. */
export interface ParentRecord {
  /** The folder given to --init (absolute). */
  path: string;
  checkpoint: number;
  /** sha256 of the parent checkpoint's generator_ema and discriminator weights (in that order). */
  sha256: string;
  classes: string[];
  recipe: string | null;
}

export interface Parent {
  record: ParentRecord;
  options: RunOptionsFile;
  checkpointDir: string;
}

/** The parts of a checkpoint a fine-tune reads (a shipped model has just these). */
const PARTS = ['generator_ema', 'discriminator'] as const;

export async function readParent(dir: string): Promise<Parent> {
  const info = await readRun(dir);
  if (info.latest === undefined) throw new CellganError('the --init model has no checkpoint', { file: dir, exitCode: 2 });
  const checkpointDir = path.join(info.runDir, 'checkpoints', checkpointName(info.latest));
  const bytes: Buffer[] = [];
  for (const part of PARTS) {
    const file = path.join(checkpointDir, part, 'weights.bin');
    try { bytes.push(await fs.readFile(file)); } catch { throw new CellganError(`the --init model lacks ${part} weights`, { file, exitCode: 2 }); }
  }
  return {
    options: info.options, checkpointDir,
    record: {
      path: info.runDir, checkpoint: info.latest, sha256: hashBytes(Buffer.concat(bytes)), classes: info.classes,
      recipe: info.options.options.recipe ?? 'dcgan',
    },
  };
}

/** Where a weight's class-indexed rows start (axis 0), or null when it has none. */
function classRowOffset(name: string, spec: ModelSpec): number | null {
  if (name === 'g_dense/kernel') return spec.nz;
  if (/^g_cbn\d+_(gain|bias)\/kernel$/.test(name) || name === 'd_embed/kernel' || name === 'd_aux_proxy/kernel') return 0;
  return null;
}

/** The class heads' weights (auxiliary and twin classifier) are class-indexed along their last axis (columns). */
const CLASS_HEAD = /^d_(aux|twin)\//;

/** Rows of `t` (from the parent) rearranged for the child's classes. */
function remapRows(t: Tensor, offset: number, parentClasses: string[], classes: string[], initFrom: Record<string, string>): Tensor {
  return tf.tidy(() => {
    const fixed = offset > 0 ? tf.slice(t, [0, 0], [offset, -1]) : null;
    const rows = tf.slice(t, [offset, 0], [parentClasses.length, -1]);
    const mean = tf.mean(rows, 0, true);
    const pick = classes.map((c) => {
      const k = parentClasses.indexOf(c) >= 0 ? parentClasses.indexOf(c) : initFrom[c] !== undefined ? parentClasses.indexOf(initFrom[c]) : -1;
      return k >= 0 ? tf.slice(rows, [k, 0], [1, -1]) : mean;
    });
    return tf.concat(fixed ? [fixed, ...pick] : pick, 0);
  });
}

/** The last axis of `t` (a kernel's columns, or a bias) rearranged for the child's classes. */
function remapColumns(t: Tensor, parentClasses: string[], classes: string[], initFrom: Record<string, string>): Tensor {
  return tf.tidy(() => {
    const asRows = t.rank === 1 ? tf.reshape(t, [t.shape[0], 1]) : tf.transpose(t);
    const rows = remapRows(asRows, 0, parentClasses, classes, initFrom);
    // A bias comes back as new data, not a reshape: the wasm backend keeps the shape a tensor's
    // data was made with (reshape and, in src/engine, Identity share it), so a reshaped [K, 1]
    // stays rank 2 to its kernels, and its fused matMul refuses a plain dense layer's bias of
    // rank 2 (the class branch's d_aux). K numbers, once per fine-tune.
    return t.rank === 1 ? tf.tensor1d(rows.dataSync() as Float32Array) : tf.transpose(rows);
  });
}

async function readWeights(dir: string): Promise<tf.NamedTensorMap> {
  const manifest = JSON.parse(await fs.readFile(path.join(dir, 'model.json'), 'utf8')) as { weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] };
  const bin = await fs.readFile(path.join(dir, manifest.weightsManifest[0].paths[0]));
  return tf.io.decodeWeights(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer, manifest.weightsManifest[0].weights);
}

/**
 * The parent class each of the child's new classes starts from: `initClass` when given, else with
 * --condition the class it lies within when the parent has it; a class left out starts from the mean.
 */
export function initSources(parentClasses: string[], classes: string[], initClass: string | null, classGroups: Record<string, string> | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of classes) {
    if (parentClasses.includes(c)) continue;
    const group = classGroups?.[c];
    const source = initClass ?? (group !== undefined && parentClasses.includes(group) ? group : null);
    if (source !== null) out[c] = source;
  }
  return out;
}

/** Loads the parent's weights into the child's G, EMA and D (see the file comment). */
export async function initFromParent(parent: Parent, models: { g: LayersModel; gEma: LayersModel; d: LayersModel }, spec: ModelSpec, classes: string[], initFrom: Record<string, string>): Promise<void> {
  const parentClasses = parent.options.classes;
  const conditional = spec.numClasses > 0;
  for (const [part, targets] of [['generator_ema', [models.g, models.gEma]], ['discriminator', [models.d]]] as const) {
    const tensors = await readWeights(path.join(parent.checkpointDir, part));
    try {
      for (const model of targets) {
        const names = weightNames(model);
        model.weights.forEach((w, i) => {
          const name = names[i];
          const t = tensors[name];
          const file = path.join(parent.checkpointDir, part, 'model.json');
          // A parent without this class head: the child's head starts from its own initialisation.
          const layer = name.split('/')[0];
          if (!t && CLASS_HEAD.test(name) && !Object.keys(tensors).some((k) => k.startsWith(`${layer}/`))) return;
          if (!t) throw new CellganError(`the --init model has no weight ${name}; its architecture differs`, { file, exitCode: 2 });
          if (/\/sn_[uv]$/.test(name) && t.shape[0] !== w.shape[0]) {
            // A singular vector with one entry per class (the embedding's v, the aux head's u): restart it, re-estimated below.
            w.write(tf.fill(w.shape as number[], 1 / Math.sqrt(w.shape[0] as number)));
            return;
          }
          const offset = conditional ? classRowOffset(name, spec) : null;
          const value = offset !== null ? remapRows(t, offset, parentClasses, classes, initFrom)
            : conditional && CLASS_HEAD.test(name) && !/\/sn_[uv]$/.test(name) ? remapColumns(t, parentClasses, classes, initFrom)
              : t;
          if (value.shape.join('x') !== w.shape.join('x')) {
            throw new CellganError(`weight ${name} of the --init model has shape ${t.shape} but this run needs ${w.shape}`, { file, exitCode: 2 });
          }
          w.write(value);
          if (value !== t) value.dispose();
        });
      }
    } finally {
      for (const t of Object.values(tensors)) t.dispose();
    }
  }
  powerIterateModel(models.d, 20);
}

/**
 * Names of D's weights that FreezeD keeps fixed: those of its first `blocks`
 * conv blocks (conv, its batch norm), counted from the image.
 */
export function frozenDiscriminatorWeights(d: LayersModel, blocks: number): string[] {
  const layerNames = new Set(Array.from({ length: blocks }, (_, i) => [`d_conv${i}`, `d_bn${i}`]).flat());
  return weightNames(d, true).filter((n) => layerNames.has(n.split('/')[0]));
}

/**
 * Fingerprints of the images a model trained on (sha256 of each file's bytes, first 20 hex
 * digits), so a fine-tune can make sure none of its validation or test images is a copy of
 * one of them: the parent's samples could otherwise carry a held-out cell into training.
 * A shipped model carries them in TRAINING_IMAGES (its training data may not be on the
 * user's machine); a run folder's are read from its data and split.
 */
export const TRAINING_IMAGES = 'training-images.sha256';
const FINGERPRINT_HEX = 20;

export async function imageFingerprints(files: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const f of files) out.push((await hashFile(f)).slice(0, FINGERPRINT_HEX));
  return out;
}

/** The parent's training-image fingerprints, or null when neither the list nor its data can be read. */
export async function parentTrainingFingerprints(dir: string): Promise<Set<string> | null> {
  const listed = await fs.readFile(path.join(dir, TRAINING_IMAGES), 'utf8').catch(() => null);
  if (listed !== null) return new Set(listed.split('\n').filter((l) => /^[0-9a-f]+$/.test(l)));
  const files = await trainingFiles(dir);
  if (!files) return null;
  const own = new Set(await imageFingerprints(files));
  // A fine-tuned model also carries what its own parent trained on.
  const parent = (await readRun(dir)).options.parent;
  if (!parent) return own;
  const inherited = await parentTrainingFingerprints(parent.path).catch(() => null);
  if (!inherited) return null;
  for (const h of inherited) own.add(h);
  return own;
}

/**
 * The first image of the split's `parts` (e.g. val and test) that the model in `dir` (a run or a
 * packed model, with its --init ancestors) trained on, compared by content; null when there is
 * none; undefined when the model's training images cannot be known (no fingerprint list, data not
 * readable here). A generator that saw a held-out image can reproduce it, and any score measured
 * on that image would be flattered: fine-tuning and benchmarking refuse such a split.
 */
export async function heldOutImageSeenBy(dir: string, dataset: Dataset, split: SplitFile, parts: ('val' | 'test')[]): Promise<{ item: DatasetItem; part: 'val' | 'test'; seen: number } | null | undefined> {
  const seen = await parentTrainingFingerprints(dir);
  if (!seen) return undefined;
  for (const part of parts) {
    const items = selectSplit(dataset, split, part);
    const prints = await imageFingerprints(items.map((i) => i.abs));
    const k = prints.findIndex((h) => seen.has(h));
    if (k >= 0) return { item: items[k], part, seen: seen.size };
  }
  return null;
}

/** Absolute paths of a run's training images (its data and split as options.json records them), or null. */
export async function trainingFiles(dir: string): Promise<string[] | null> {
  const info = await readRun(dir);
  const o = info.options.options;
  try {
    const dataset = await loadDataset(o.data, { labels: o.labels ?? undefined });
    let items = dataset.items;
    if (o.split) items = selectSplit(dataset, await readSplit(o.split), 'train');
    if (o.className) items = items.filter((i) => i.label === o.className);
    return items.map((i) => i.abs);
  } catch {
    return null;
  }
}

/** File of a packed model listing the training it continues (its --init ancestors and what each cost). */
export const LINEAGE = 'lineage.json';

/** One ancestor of a fine-tuned run: the checkpoint it started from and that checkpoint's own clock. */
export interface LineageStep { path: string; sha256: string; recipe: string | null; iterations: number; wall_s: number; cpu_s: number }

/**
 * The --init ancestors of a run, oldest first, with the iterations, wall and CPU seconds each
 * added (the clock of the checkpoint the child started from), so the cost of a fine-tuned model
 * can be stated in full. A packed parent answers from its LINEAGE file (the folders it names may
 * be gone or replaced); otherwise the chain is followed. Refuses a parent whose weights changed
 * since the child started from it: its cost would be another model's. Given `runDir`, a run that
 * is itself packed (a shipped model, or a copy of one) answers from its own LINEAGE file, since
 * the parent folder it names has usually been replaced by the model itself.
 */
export async function trainingLineage(options: RunOptionsFile, runDir?: string): Promise<LineageStep[]> {
  if (runDir !== undefined) {
    const own = await fs.readFile(path.join(runDir, LINEAGE), 'utf8').catch(() => null);
    if (own !== null) return JSON.parse(own) as LineageStep[];
  }
  const steps: LineageStep[] = [];
  for (let rec = options.parent; rec; ) {
    const parent = await readParent(rec.path);
    if (parent.record.sha256 !== rec.sha256 || parent.record.checkpoint !== rec.checkpoint) {
      throw new CellganError(`the --init parent changed since the run started from it (now checkpoint ${parent.record.checkpoint}, sha256 ${parent.record.sha256.slice(0, 12)}; the run recorded ${rec.checkpoint}, ${rec.sha256.slice(0, 12)})`, { file: rec.path });
    }
    const state = JSON.parse(await fs.readFile(path.join(parent.checkpointDir, 'state.json'), 'utf8')) as { iteration: number; wallTimeS: number; cpuTimeS?: number };
    steps.unshift({ path: rec.path, sha256: rec.sha256, recipe: rec.recipe, iterations: state.iteration, wall_s: roundSeconds(state.wallTimeS), cpu_s: roundSeconds(state.cpuTimeS ?? NaN) });
    const packed = await fs.readFile(path.join(rec.path, LINEAGE), 'utf8').catch(() => null);
    if (packed !== null) { steps.unshift(...(JSON.parse(packed) as LineageStep[])); break; }
    rec = parent.options.parent;
  }
  return steps;
}
