/**
 * Saving and loading models in the tfjs layers format (model.json +
 * weights.bin), which `tf.loadLayersModel` and the Python converter read.
 * Written by hand through tf.io.withSaveHandler because the `file://`
 * handler exists only in tfjs-node, and because we want atomic writes.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { tf, type LayersModel } from '../../engine/index.js';
import { CellganError, describeFsError } from '../../util/errors.js';
import { writeFileAtomic, writeJsonAtomic } from '../../util/atomic.js';
import { hashBytes } from '../../util/hash.js';
import type { ClassifierArchitecture } from './model.js';

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';
export const CLASSIFIER_JSON = 'classifier.json';

/** How images must be prepared before they enter the model. */
export interface Preprocessing {
  /** Side of the square input. */
  size: number;
  /** Pixel value range the model expects (cellgan decodes to [-1, 1]). */
  range: [number, number];
  colorSpace: 'srgb';
  resize: string;
}

export interface EpochRecord {
  epoch: number;
  loss: number;
  trainAccuracy: number;
  valLoss: number | null;
  valAccuracy: number | null;
  seconds: number;
  /** Learning rate used during this epoch (changes under reduce-on-plateau). */
  learningRate?: number;
}

/** classifier.json: everything needed to use a saved classifier besides its weights. */
export interface ClassifierInfo {
  format: 'cellgan-classifier';
  version: 1;
  classes: string[];
  inputSize: number;
  preprocessing: Preprocessing;
  architecture: ClassifierArchitecture;
  training: {
    seed: number;
    epochs: number;
    batchSize: number;
    learningRate: number;
    augment: string;
    classWeights: Record<string, number> | null;
    /** Absent in classifiers saved before the schedule existed (constant rate). */
    lrSchedule?: { kind: 'reduce-on-plateau'; factor: number; patience: number };
    earlyStopping: { patience: number; monitor: string; bestEpoch: number; stoppedEpoch: number };
    init: { from: string; outputLayer: 'mapped' | 'replaced' | 'partial' } | null;
    data: string;
    counts: { train: number; val: number };
    valSource: 'split' | 'carved-from-train' | 'none';
    /** The real training images (sha256 of their sorted class/path lines, see trainSetDigest); absent for synthetic training sets and older classifiers. */
    trainSet?: { images: number; sha256: string; maxPerClass: number | null };
    /** Fraction carved for validation when the split had none (recorded with trainSet). */
    valFraction?: number;
    seconds: number;
    backend: string;
    /** Worker threads of data-parallel training; absent when trained in one thread. */
    workers?: number;
  };
  history: EpochRecord[];
}

/** Writes model.json + weights.bin into `dir` (each file atomically). Returns the sha256 of both. */
export async function saveLayersModel(model: LayersModel, dir: string): Promise<string> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (a) => {
    artifacts = a;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  if (!artifacts?.weightData || !artifacts.weightSpecs) throw new Error('tfjs returned no weights when saving the model');
  const weights = new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData));
  const modelJson = {
    format: 'layers-model',
    generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
    convertedBy: null,
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: [`./${WEIGHTS_BIN}`], weights: artifacts.weightSpecs }],
  };
  const jsonText = JSON.stringify(modelJson);
  await fs.mkdir(dir, { recursive: true });
  await writeFileAtomic(path.join(dir, WEIGHTS_BIN), weights);
  await writeFileAtomic(path.join(dir, MODEL_JSON), jsonText);
  return hashBytes(Buffer.concat([Buffer.from(jsonText), weights]));
}

interface ModelJson {
  modelTopology: object;
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
}

/**
 * Loads any tfjs layers model folder (model.json + its weight shards).
 * Returns the model and a sha256 of its files (a cache key for features).
 */
export async function loadLayersModel(dir: string): Promise<{ model: LayersModel; hash: string }> {
  const jsonFile = path.join(dir, MODEL_JSON);
  let text: string;
  try { text = await fs.readFile(jsonFile, 'utf8'); } catch (err) {
    throw new CellganError(`cannot read a tfjs layers model: ${describeFsError(err)}`, { file: jsonFile });
  }
  let parsed: ModelJson;
  try { parsed = JSON.parse(text) as ModelJson; } catch {
    throw new CellganError('not valid JSON', { file: jsonFile });
  }
  if (!parsed?.modelTopology || !Array.isArray(parsed.weightsManifest)) {
    throw new CellganError('not a tfjs layers model (expected "modelTopology" and "weightsManifest"; graph models are not supported)', { file: jsonFile });
  }
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Buffer[] = [];
  for (const group of parsed.weightsManifest) {
    for (const p of group.paths) {
      const shard = path.join(dir, p);
      try { buffers.push(await fs.readFile(shard)); } catch (err) {
        throw new CellganError(`cannot read a weights file of the model: ${describeFsError(err)}`, { file: shard });
      }
    }
    specs.push(...group.weights);
  }
  const all = Buffer.concat(buffers);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
  let model: LayersModel;
  try {
    model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: parsed.modelTopology, weightSpecs: specs, weightData }));
  } catch (err) {
    throw new CellganError(`tfjs could not load the model: ${(err as Error).message.split('\n')[0]}`, { file: jsonFile, cause: err });
  }
  return { model, hash: hashBytes(Buffer.concat([Buffer.from(text), all])) };
}

export async function writeClassifierInfo(dir: string, info: ClassifierInfo): Promise<void> {
  await writeJsonAtomic(path.join(dir, CLASSIFIER_JSON), info);
}

export async function readClassifierInfo(dir: string): Promise<ClassifierInfo> {
  const file = path.join(dir, CLASSIFIER_JSON);
  let info: ClassifierInfo;
  try { info = JSON.parse(await fs.readFile(file, 'utf8')) as ClassifierInfo; } catch (err) {
    throw new CellganError(`not a cellgan classifier folder: ${err instanceof SyntaxError ? 'invalid JSON' : describeFsError(err)}`, { file });
  }
  if (info?.format !== 'cellgan-classifier' || !Array.isArray(info.classes) || !Number.isInteger(info.inputSize)) {
    throw new CellganError('not a cellgan classifier.json (expected format "cellgan-classifier" with classes and inputSize)', { file });
  }
  return info;
}

/** A saved classifier: model + its description. */
export interface LoadedClassifier { model: LayersModel; info: ClassifierInfo; hash: string; dir: string }

export async function loadClassifier(dir: string): Promise<LoadedClassifier> {
  const info = await readClassifierInfo(dir);
  const { model, hash } = await loadLayersModel(dir);
  const out = model.outputs[0].shape;
  if (out[out.length - 1] !== info.classes.length) {
    model.dispose();
    throw new CellganError(`model has ${out[out.length - 1]} outputs but classifier.json lists ${info.classes.length} classes`, { file: dir });
  }
  return { model, info, hash, dir };
}
