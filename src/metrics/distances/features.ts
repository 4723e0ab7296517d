/**
 * Feature vectors for FID/KID/precision-recall: the reference classifier's
 * penultimate layer ("features"), or the last layer of any tfjs layers model
 * (e.g. a converted InceptionV3), flattened. Cached on disk keyed by the
 * model's bytes and the image list (paths, sizes, mtimes), so a second run
 * over the same images and model decodes nothing.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { tf, type LayersModel } from '../../engine/index.js';
import type { DatasetItem } from '../../data/types.js';
import { hashBytes } from '../../util/hash.js';
import { writeFileAtomic, writeJsonAtomic } from '../../util/atomic.js';
import { CellganError } from '../../util/errors.js';
import type { Logger } from '../../util/log.js';
import { decodeLabeled } from '../images.js';
import { runModel } from '../classifier/train.js';
import { loadLayersModel, readClassifierInfo, CLASSIFIER_JSON } from '../classifier/io.js';
import { featureModel, FEATURES_LAYER } from '../classifier/model.js';
import { exists } from '../../util/atomic.js';

export interface FeatureExtractor {
  /** What it is, for reports. */
  description: string;
  model: LayersModel;
  /** sha256 of the model files (the cache key's first half). */
  hash: string;
  inputSize: number;
  dim: number;
  dispose(): void;
}

/**
 * A saved cellgan classifier folder → its penultimate features; any other
 * tfjs layers model folder → its output, flattened. Inputs are RGB in
 * [-1, 1] at the model's input size.
 */
export async function loadFeatureExtractor(dir: string): Promise<FeatureExtractor> {
  const { model, hash } = await loadLayersModel(dir);
  const shape = model.inputs[0].shape;
  if (shape.length !== 4 || shape[3] !== 3 || !shape[1] || shape[1] !== shape[2]) {
    model.dispose();
    throw new CellganError(`the features model must take square RGB images [batch, size, size, 3], its input is ${JSON.stringify(shape)}`, { file: dir });
  }
  const isClassifier = await exists(path.join(dir, CLASSIFIER_JSON));
  let featureNet = model;
  let description = `output of the tfjs model at ${dir}`;
  if (isClassifier) {
    await readClassifierInfo(dir); // validates
    featureNet = featureModel(model, FEATURES_LAYER);
    description = `penultimate layer ("${FEATURES_LAYER}") of the cellgan classifier at ${dir}`;
  }
  const outShape = featureNet.outputs[0].shape.slice(1) as number[];
  const dim = outShape.reduce((a, b) => a * b, 1);
  return { description, model: featureNet, hash, inputSize: shape[1], dim, dispose: () => model.dispose() };
}

/** sha256 of the image list: path, size and mtime of each file (cheap, changes when a file does). */
export async function listHash(items: DatasetItem[], size: number): Promise<string> {
  const parts: string[] = [`size=${size}`];
  for (const it of items) {
    const st = await fs.stat(it.abs);
    parts.push(`${it.abs}\t${st.size}\t${st.mtimeMs}`);
  }
  return hashBytes(parts.join('\n'));
}

export interface FeatureSet { rows: Float64Array; n: number; d: number; files: string[]; cached: boolean }

/**
 * Features of `items` (decoded at the extractor's input size); read from /
 * written to `cacheDir` when given.
 */
export async function computeFeatures(extractor: FeatureExtractor, items: DatasetItem[], opts: { cacheDir?: string; logger?: Logger; what?: string } = {}): Promise<FeatureSet> {
  const key = `${extractor.hash.slice(0, 16)}-${(await listHash(items, extractor.inputSize)).slice(0, 16)}`;
  const bin = opts.cacheDir ? path.join(opts.cacheDir, `${key}.f32`) : undefined;
  const meta = opts.cacheDir ? path.join(opts.cacheDir, `${key}.json`) : undefined;
  if (bin && meta && (await exists(bin)) && (await exists(meta))) {
    try {
      const m = JSON.parse(await fs.readFile(meta, 'utf8')) as { n: number; d: number; files: string[] };
      const buf = await fs.readFile(bin);
      if (buf.byteLength === m.n * m.d * 4) {
        const f32 = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
        return { rows: Float64Array.from(f32), n: m.n, d: m.d, files: m.files, cached: true };
      }
    } catch { /* unreadable cache: recompute */ }
  }
  const labelNames = [...new Set(items.map((i) => i.label))];
  const set = await decodeLabeled(items, labelNames, extractor.inputSize, opts.logger, opts.what ?? 'images');
  const out = runModel(extractor.model, set, 64);
  const n = set.files.length;
  const d = n ? out.length / n : extractor.dim;
  if (bin && meta) {
    await writeFileAtomic(bin, new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
    await writeJsonAtomic(meta, { key, model: extractor.description, modelHash: extractor.hash, n, d, files: set.files });
  }
  return { rows: Float64Array.from(out), n, d, files: set.files, cached: false };
}

/** Keeps tf referenced for type-only consumers. */
export type { tf };
