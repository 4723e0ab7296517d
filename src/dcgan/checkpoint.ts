/**
 * Checkpoint and run-folder I/O. Models are stored in the tfjs layers format
 * (model.json + weights.bin), loadable with tf.loadLayersModel; weights are
 * read back by their stable names into models rebuilt from the run's
 * ModelSpec. A checkpoint folder is built in a hidden staging folder and
 * renamed into place, so `checkpoints/<n>/` is either complete or absent.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { tf, type LayersModel, type Tensor, type NamedTensorMap } from '../engine/index.js';
import { CellganError, describeFsError } from '../util/errors.js';
import { integer, type OptionSpec } from '../util/options.js';
import { weightNames } from './models.js';
import type { RunInfo, RunOptionsFile } from './types.js';

export const CHECKPOINT_FORMAT = 'cellgan-dcgan-checkpoint/1';

/** The option naming a checkpoint of a run (generate, model pack); absent, the latest. */
export const CHECKPOINT_OPTION = { ...integer(0), help: 'checkpoint iteration', defaultHelp: 'the latest' } satisfies OptionSpec<number>;

export function checkpointName(iteration: number): string {
  return String(iteration).padStart(8, '0');
}

function joinWeightData(data: ArrayBuffer | ArrayBuffer[]): Uint8Array {
  if (!Array.isArray(data)) return new Uint8Array(data);
  const total = data.reduce((s, b) => s + b.byteLength, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const b of data) { out.set(new Uint8Array(b), o); o += b.byteLength; }
  return out;
}

/** Writes `model` as <dir>/model.json + <dir>/weights.bin (tfjs layers format). */
export async function saveModel(model: LayersModel, dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (a) => {
    artifacts = a;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  if (!artifacts?.weightData || !artifacts.weightSpecs) throw new Error('tfjs returned no weights');
  const modelJson = {
    modelTopology: artifacts.modelTopology,
    format: 'layers-model',
    generatedBy: artifacts.generatedBy,
    convertedBy: null,
    weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
  };
  await fs.writeFile(path.join(dir, 'weights.bin'), joinWeightData(artifacts.weightData as ArrayBuffer | ArrayBuffer[]));
  await fs.writeFile(path.join(dir, 'model.json'), JSON.stringify(modelJson));
}

/** Loads weights saved by saveModel into `model` (matched by stable weight name). */
export async function loadModelWeights(model: LayersModel, dir: string): Promise<void> {
  const jsonFile = path.join(dir, 'model.json');
  let manifest: { weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] };
  let bin: Buffer;
  try {
    manifest = JSON.parse(await fs.readFile(jsonFile, 'utf8'));
    bin = await fs.readFile(path.join(dir, manifest.weightsManifest[0].paths[0]));
  } catch (err) {
    throw new CellganError(`cannot read model weights: ${err instanceof SyntaxError ? 'not valid JSON' : describeFsError(err)}`, { file: jsonFile, cause: err });
  }
  const specs = manifest.weightsManifest[0].weights;
  const buf = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer;
  const tensors = tf.io.decodeWeights(buf, specs);
  try {
    const names = weightNames(model);
    model.weights.forEach((w, i) => {
      const t = tensors[names[i]];
      if (!t) throw new CellganError(`weights lack ${names[i]}; was this checkpoint made with other model options?`, { file: jsonFile });
      if (t.shape.join('x') !== w.shape.join('x')) throw new CellganError(`weight ${names[i]} has shape ${t.shape} but the model expects ${w.shape}`, { file: jsonFile });
      w.write(t);
    });
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
}

/** Writes named tensors as <base>.bin + specs in <base>.json (with `extra` fields). */
export async function saveTensors(base: string, tensors: { name: string; tensor: Tensor }[], extra: Record<string, unknown>): Promise<void> {
  const { data, specs } = await tf.io.encodeWeights(tensors);
  await fs.writeFile(`${base}.bin`, joinWeightData(data as ArrayBuffer | ArrayBuffer[]));
  await fs.writeFile(`${base}.json`, JSON.stringify({ ...extra, weights: specs }));
}

export async function loadTensors(base: string): Promise<{ tensors: NamedTensorMap; extra: Record<string, unknown> }> {
  try {
    const json = JSON.parse(await fs.readFile(`${base}.json`, 'utf8')) as { weights: tf.io.WeightsManifestEntry[] } & Record<string, unknown>;
    const bin = await fs.readFile(`${base}.bin`);
    const tensors = tf.io.decodeWeights(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer, json.weights);
    return { tensors, extra: json };
  } catch (err) {
    throw new CellganError(`cannot read optimizer state: ${err instanceof SyntaxError ? 'not valid JSON' : describeFsError(err)}`, { file: `${base}.json`, cause: err });
  }
}

/** Completed checkpoints of a run (iterations, ascending). Staging folders are hidden and skipped. */
export async function listCheckpoints(runDir: string): Promise<number[]> {
  let names: string[];
  try { names = await fs.readdir(path.join(runDir, 'checkpoints')); } catch { return []; }
  const out: number[] = [];
  for (const n of names) {
    if (!/^\d+$/.test(n)) continue;
    try { await fs.access(path.join(runDir, 'checkpoints', n, 'state.json')); out.push(Number(n)); } catch { /* not a checkpoint */ }
  }
  return out.sort((a, b) => a - b);
}

/** Reads a run folder: its options, classes and checkpoints. */
export async function readRun(runDir: string): Promise<RunInfo> {
  const file = path.join(runDir, 'options.json');
  let options: RunOptionsFile;
  try {
    options = JSON.parse(await fs.readFile(file, 'utf8')) as RunOptionsFile;
  } catch (err) {
    throw new CellganError(`not a cellgan run folder (cannot read options.json: ${err instanceof SyntaxError ? 'not valid JSON' : describeFsError(err)})`, { file: runDir, cause: err });
  }
  if (options?.format !== 'cellgan-dcgan-run/1' || !options.model || !Array.isArray(options.classes)) {
    throw new CellganError('not a cellgan DCGAN run (options.json has no model/classes)', { file });
  }
  const checkpoints = await listCheckpoints(runDir);
  return { runDir: path.resolve(runDir), options, classes: options.classes, outputClasses: outputClasses(options), checkpoints, latest: checkpoints.at(-1) };
}

/** The classes a run's images are written under (its conditions' classes with --condition). */
export function outputClasses(options: Pick<RunOptionsFile, 'classes' | 'classGroups'>): string[] {
  return options.classGroups ? [...new Set(Object.values(options.classGroups))].sort() : options.classes;
}
