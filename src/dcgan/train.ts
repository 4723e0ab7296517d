/**
 * `train`: a DCGAN training loop with a stylegan2-ada-like run folder,
 * exact resume, watchdogs (non-finite losses, mode collapse) and a clean stop
 * on an abort signal.
 *
 * Exact resume: every random draw of an iteration (batch order, noise, fake
 * labels, augmentation) comes from one seeded Rng whose state, with the
 * epoch order, the weights (incl. batch-norm statistics), the EMA weights and
 * both optimizers' moments, is saved in each checkpoint. Nothing else feeds
 * the trained weights, so stop+resume equals an uninterrupted run bit for bit
 * (on the same backend).
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tf, ensureBackend, powerIterateModel, type BackendInfo, type LayersModel, type Tensor4D } from '../engine/index.js';
import { CellganError, OptionError } from '../util/errors.js';
import * as v from '../util/validate.js';
import { resolveOptions, checkOption } from '../util/options.js';
import { assertWritableOutput, buildDirAtomic, removeStaleStaging, tempNameBeside, writeFileAtomic, writeJsonAtomic, exists } from '../util/atomic.js';
import { Rng, type RngState } from '../util/rng.js';
import { silentLogger, withLogFile, type Logger } from '../util/log.js';
import { Progress } from '../util/progress.js';
import { chartToPng } from '../util/charts.js';
import { loadDataset, readSplit, selectSplit, refineLabels, decodeImages, encodeGridPng, readJsonl, type DatasetItem } from '../data/index.js';
import type { Dataset, SplitFile } from '../data/types.js';
import { VERSION } from '../version.js';
import { sampleAugmentParams } from './diffaugment.js';
import { Adam } from './adam.js';
import { frozenDiscriminatorWeights, heldOutImageSeenBy, initFromParent, initSources, readParent, type Parent } from './transfer.js';
import type { Recipe } from './recipes.js';
import { DEFAULT_RECIPE, RECIPES } from './recipes.js';
import { TRAIN_OPTIONS, TRAIN_SETTINGS } from './train-options.js';
import { buildDiscriminator, buildGenerator, stages, type ModelSpec, type GConditioning } from './models.js';
import { disposeGrads, oneHot, runGenerator, updateEma, type StepLosses } from './step.js';
import { createParallelStep, localStep, type GradientStep } from './parallel.js';
import { workerBackendFor } from '../engine/parallel/index.js';
import { CHECKPOINT_FORMAT, checkpointName, listCheckpoints, loadModelWeights, loadTensors, readRun, saveModel, saveTensors } from './checkpoint.js';
import type { RunOptionsFile, TrainOptions, TrainResult, TrainStats } from './types.js';

export const CONDITIONAL_METHOD = 'conditional DCGAN: one-hot label concatenated to G\'s noise; projection discriminator (Miyato & Koyama 2018)';
/** What options.json says about a conditional run: CONDITIONAL_METHOD, plus conditional batch norm when G uses it. */
function conditionalMethod(g: GConditioning): string {
  return g === 'batchnorm' ? `${CONDITIONAL_METHOD}; per-class batch-norm gain and bias in G (conditional batch norm)` : CONDITIONAL_METHOD;
}

type Resolved = RunOptionsFile['options'];

/** What a run made before recipes existed used for the options added with them (the 'dcgan' recipe). */
const BEFORE_RECIPES: Partial<Resolved> = (() => {
  const r = RECIPES.dcgan;
  return { recipe: 'dcgan', emaRampup: r.emaRampup, loss: r.loss, dNorm: r.dNorm, gConditioning: r.gConditioning, balancedClasses: r.balancedClasses, init: null, initClass: null, freezeD: 0, auxWeight: r.auxWeight, auxTwin: r.auxTwin, auxJoint: r.auxJoint, auxBranch: r.auxBranch, auxFloor: r.auxFloor, auxD2d: r.auxD2d, modeSeekingWeight: r.modeSeekingWeight };
})();

const RUNTIME_KEYS = new Set(['iters', 'resume', 'logger', 'signal', 'progress', 'faults', 'force', 'onIteration']);

/** The settings of a trained run, as a recipe: a fine-tune inherits them. */
function recipeOfRun(run: RunOptionsFile): Recipe & { size: number } {
  const o = { ...BEFORE_RECIPES, ...run.options } as Resolved;
  return {
    batch: o.batch, gWidth: o.gWidth, dWidth: o.dWidth, nz: o.nz, lr: o.lr, beta1: o.beta1, beta2: o.beta2, diffAugment: o.diffAugment,
    emaDecay: o.emaDecay, emaRampup: o.emaRampup, loss: o.loss, dNorm: o.dNorm, gConditioning: o.gConditioning, dLr: o.dLr ?? null,
    balancedClasses: o.balancedClasses, auxWeight: o.auxWeight, auxTwin: o.auxTwin, auxJoint: o.auxJoint, auxBranch: o.auxBranch, auxFloor: o.auxFloor, auxD2d: o.auxD2d, modeSeekingWeight: o.modeSeekingWeight, size: o.size, description: `the settings of ${run.options.recipe ?? 'dcgan'} run ${run.created}`,
  };
}

/** Options that fix the architecture: a fine-tune must keep its parent's. */
const ARCHITECTURE_KEYS = ['size', 'gWidth', 'dWidth', 'nz', 'dNorm', 'gConditioning', 'auxBranch', 'auxD2d'] as const;

/** A new run's settings (TRAIN_SETTINGS): given, else the recipe's or with --init the parent's, else the table's defaults. */
function resolveSettings(o: TrainOptions, parent?: Parent): Resolved {
  if (o.className !== undefined && o.conditional) throw new OptionError('Pass either --class or --conditional, not both');
  if (o.className === undefined && !o.conditional) throw new OptionError('Pass --class <name> (one model for one class) or --conditional (one model for all classes)');
  const recipe = checkOption(TRAIN_SETTINGS, 'recipe', o.recipe ?? parent?.record.recipe ?? DEFAULT_RECIPE);
  // A fine-tune's defaults are its parent's settings; otherwise the recipe's.
  const r = parent && o.recipe === undefined ? recipeOfRun(parent.options) : RECIPES[recipe];
  if (parent) {
    const conditionalParent = parent.options.model.numClasses > 0;
    if (conditionalParent !== Boolean(o.conditional)) {
      throw new OptionError(`--init ${parent.record.path} is a ${conditionalParent ? 'conditional' : 'one-class'} model; pass ${conditionalParent ? '--conditional' : '--class <name>'} to fine-tune it`);
    }
    if (o.initClass !== undefined && !parent.record.classes.includes(o.initClass)) {
      throw new OptionError(`--init-class: expected one of the --init model's classes (${parent.record.classes.join(', ')}), received ${JSON.stringify(o.initClass)}`);
    }
  } else if (o.initClass !== undefined || o.freezeD !== undefined) {
    throw new OptionError('--init-class and --freeze-d need --init');
  }
  // A one-class model has no classes for an auxiliary classifier to learn: a recipe's aux term
  // (sngan-aux) applies to conditional runs only; an explicit --aux-weight with --class is refused below.
  const classless = o.conditional ? {} : { auxWeight: 0, auxTwin: false, auxJoint: false, auxBranch: 0, auxFloor: false, auxD2d: false };
  const t = resolveOptions(TRAIN_SETTINGS, o, { ...r, ...classless, recipe, size: parent?.options.options.size, dLr: r.dLr ?? o.lr ?? r.lr });
  if (t.condition !== undefined && !o.conditional) throw new OptionError('--condition needs --conditional (it names what one conditional model is conditioned on)');
  if (t.auxWeight > 0 && !o.conditional) throw new OptionError('--aux-weight needs --conditional (the auxiliary classifier learns the classes of one conditional model)');
  if (t.auxTwin && !(t.auxWeight > 0)) throw new OptionError('--aux-twin needs --aux-weight > 0 (the twin classifier is part of the auxiliary-classifier loss)');
  if (t.auxJoint && !t.auxTwin) throw new OptionError('--aux-joint needs --aux-twin (the joint softmax spans the auxiliary and the twin heads)');
  if (t.auxBranch > 0 && !(t.auxWeight > 0)) throw new OptionError('--aux-branch needs --aux-weight > 0 (the branch feeds the auxiliary classifier)');
  if (t.auxFloor && !(t.auxWeight > 0)) throw new OptionError('--aux-floor needs --aux-weight > 0 (it bounds the auxiliary classifier\'s term in G\'s loss)');
  if (t.auxD2d && !(t.auxWeight > 0)) throw new OptionError('--aux-d2d needs --aux-weight > 0 (it is the auxiliary classifier\'s head and loss)');
  if (t.auxD2d && (t.auxTwin || t.auxFloor)) throw new OptionError(`--aux-d2d and --aux-${t.auxTwin ? 'twin' : 'floor'}: pick one (both change what the class term pays G for)`);
  if (t.auxFloor && t.auxTwin) throw new OptionError('--aux-floor and --aux-twin: pick one (the twin head already keeps G from sharpening its classes)');
  if (t.auxBranch > stages(t.size)) throw new OptionError(`--aux-branch: expected at most ${stages(t.size)} (D's conv blocks at ${t.size} px), received ${t.auxBranch}`);
  if (parent) {
    // The parent's weights are the starting point: same shapes, and D has only so many blocks to freeze.
    const p = recipeOfRun(parent.options);
    const differ = ARCHITECTURE_KEYS.filter((k) => t[k] !== p[k]);
    if (differ.length) throw new OptionError(`--init keeps the parent model's architecture; ${differ.map((k) => `${k} is ${p[k]} there, not ${t[k]}`).join('; ')}`);
    if (t.freezeD > stages(t.size)) throw new OptionError(`--freeze-d: expected at most ${stages(t.size)} (D's conv blocks at ${t.size} px), received ${t.freezeD}`);
  }
  return {
    ...t,
    data: path.resolve(t.data),
    labels: t.labels === undefined ? null : path.resolve(t.labels),
    split: t.split === undefined ? null : path.resolve(t.split),
    className: t.className ?? null,
    conditional: Boolean(t.conditional),
    init: parent ? parent.record.path : null,
    initClass: t.initClass ?? null,
    condition: t.condition ?? null,
  };
}

/** Training images kept as bytes (a quarter of float32) and turned into float batches on demand. */
interface TrainingSet { bytes: Uint8Array; labels: Int32Array; count: number; size: number }

async function loadTrainingSet(opts: Resolved, logger: Logger): Promise<{ set: TrainingSet; classes: string[]; classGroups: Record<string, string> | null; perClass: Record<string, number>; skipped: { file: string; reason: string }[]; dataset: Dataset; split: SplitFile | null }> {
  const dataset = await loadDataset(opts.data, opts.labels ? { labels: opts.labels } : {});
  const split = opts.split ? await readSplit(opts.split) : null;
  let items: DatasetItem[] = dataset.items;
  if (split) items = selectSplit(dataset, split, 'train');
  // --condition: the model's classes are a finer column's values; each keeps the class it lies within.
  let classGroups: Record<string, string> | null = null;
  if (opts.condition) ({ items, groups: classGroups } = refineLabels(dataset, items, opts.condition));
  let classes: string[];
  if (opts.className !== null) {
    if (!dataset.classes.includes(opts.className)) {
      throw new CellganError(`no class ${JSON.stringify(opts.className)}; classes are ${dataset.classes.join(', ')}`, { file: opts.data, exitCode: 2 });
    }
    classes = [opts.className];
    items = items.filter((i) => i.label === opts.className);
  } else {
    classes = [...new Set(items.map((i) => i.label))].sort();
  }
  if (!items.length) throw new CellganError(`no training images${opts.split ? ' in the split\'s train subset' : ''}${opts.className ? ` for class ${opts.className}` : ''}`, { file: opts.split ?? opts.data });
  const per = opts.size * opts.size * 3;
  const bytes = new Uint8Array(items.length * per);
  const labels = new Int32Array(items.length);
  const skipped: { file: string; reason: string }[] = [];
  let count = 0;
  // Decoded in chunks so the float32 copy never exceeds one chunk.
  for (let start = 0; start < items.length; start += 256) {
    const batch = await decodeImages(items.slice(start, start + 256), { size: opts.size });
    skipped.push(...batch.failed);
    for (let k = 0; k < batch.items.length; k++) {
      for (let j = 0; j < per; j++) bytes[count * per + j] = Math.round((batch.data[k * per + j] + 1) * 127.5);
      labels[count] = classes.indexOf(batch.items[k].label);
      count++;
    }
  }
  for (const s of skipped) logger.warn({ file: s.file, reason: s.reason }, 'skipped an image that cannot be decoded');
  if (!count) throw new CellganError('none of the training images could be decoded', { file: opts.data });
  const perClass: Record<string, number> = Object.fromEntries(classes.map((c) => [c, 0]));
  for (let i = 0; i < count; i++) perClass[classes[labels[i]]]++;
  return { set: { bytes: bytes.subarray(0, count * per), labels: labels.subarray(0, count), count, size: opts.size }, classes, classGroups, perClass, skipped, dataset, split };
}

function imagesToFloats(set: TrainingSet, indices: number[]): Float32Array {
  const per = set.size * set.size * 3;
  const out = new Float32Array(indices.length * per);
  indices.forEach((idx, k) => {
    for (let j = 0; j < per; j++) out[k * per + j] = set.bytes[idx * per + j] / 127.5 - 1;
  });
  return out;
}

/**
 * Epoch-shuffled batch order; its state is saved in checkpoints. With
 * `byClass` (class-balanced batches) each image's class is drawn uniformly
 * first, then the next image of that class's own shuffled order, so the
 * smallest class is seen as often as the largest.
 */
export interface SamplerState { order: number[]; cursor: number; epoch: number; byClass?: { order: number[]; cursor: number }[] }

export function nextBalancedBatch(state: SamplerState, rng: Rng, labels: Int32Array, classes: number, batch: number): number[] {
  if (!state.byClass) state.byClass = Array.from({ length: classes }, () => ({ order: [], cursor: 0 }));
  const out: number[] = [];
  while (out.length < batch) {
    const c = rng.int(classes);
    const s = state.byClass[c];
    if (s.cursor >= s.order.length) {
      const members: number[] = [];
      for (let i = 0; i < labels.length; i++) if (labels[i] === c) members.push(i);
      s.order = rng.shuffle(members);
      s.cursor = 0;
    }
    out.push(s.order[s.cursor++]);
  }
  return out;
}

function nextBatch(state: SamplerState, rng: Rng, count: number, batch: number): number[] {
  const out: number[] = [];
  while (out.length < batch) {
    if (state.cursor >= state.order.length) {
      state.order = rng.shuffle(Array.from({ length: count }, (_, i) => i));
      state.cursor = 0;
      state.epoch++;
    }
    out.push(state.order[state.cursor++]);
  }
  return out;
}

/** Normals in pairs, so the Rng never holds a spare normal (which its saved state drops). */
function evenNormals(rng: Rng, n: number): Float32Array {
  return n % 2 === 0 ? rng.normals(n) : rng.normals(n + 1).subarray(0, n);
}

/** Mean RMS pixel distance over all pairs of `n` images: the diversity probe of the collapse alarm (and of the quality benchmark). */
export function meanPairwiseDistance(pixels: Float32Array, n: number): number {
  const d = pixels.length / n;
  let sum = 0, pairs = 0;
  for (let a = 0; a < n; a++) {
    for (let b = a + 1; b < n; b++) {
      let s = 0;
      for (let j = 0; j < d; j++) { const x = pixels[a * d + j] - pixels[b * d + j]; s += x * x; }
      sum += Math.sqrt(s / d); pairs++;
    }
  }
  return pairs ? sum / pairs : 0;
}

function sample(generator: LayersModel, noise: Float32Array, labels: number[] | null, spec: ModelSpec): Float32Array {
  const n = noise.length / spec.nz;
  const images = tf.tidy(() => {
    const z = tf.tensor2d(noise, [n, spec.nz]);
    const y = labels ? oneHot(labels, spec.numClasses) : undefined;
    return runGenerator(generator, z, y, false);
  });
  // dataSync outside tidy: tidy would walk a returned Float32Array value by value.
  try { return images.dataSync() as Float32Array; } finally { images.dispose(); }
}

/**
 * Sums of the losses since the last stats row. Checkpointed with the loop state, so a run stopped
 * between two rows and resumed logs the same row as an uninterrupted run (not the mean of the
 * iterations since the resume).
 */
interface LogWindow { d: number; g: number; real: number; fake: number; dAux: number; gAux: number; n: number; ms: number; nMs: number }
const emptyLogWindow = (): LogWindow => ({ d: 0, g: 0, real: 0, fake: 0, dAux: 0, gAux: 0, n: 0, ms: 0, nMs: 0 });

/** wallTimeS / cpuTimeS: training time summed over the run's sessions (CPU: every thread of the process, workers included). */
interface LoopState { iteration: number; rng: Rng; sampler: SamplerState; wallTimeS: number; cpuTimeS: number; logWindow: LogWindow }

async function writeCheckpoint(runDir: string, st: LoopState, models: { g: LayersModel; gEma: LayersModel; d: LayersModel }, opts: { gOpt: Adam; dOpt: Adam }, keep: number, faults: TrainOptions['faults'], logger: Logger): Promise<string> {
  const dir = path.join(runDir, 'checkpoints', checkpointName(st.iteration));
  try {
    await buildDirAtomic(dir, async (staging) => {
      await saveModel(models.g, path.join(staging, 'generator'));
      await saveModel(models.gEma, path.join(staging, 'generator_ema'));
      await saveModel(models.d, path.join(staging, 'discriminator'));
      await saveTensors(path.join(staging, 'optimizer_g'), opts.gOpt.stateTensors(), { step: opts.gOpt.step, config: opts.gOpt.config });
      if (faults?.failCheckpointAt === st.iteration) {
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      }
      await saveTensors(path.join(staging, 'optimizer_d'), opts.dOpt.stateTensors(), { step: opts.dOpt.step, config: opts.dOpt.config });
      await fs.writeFile(path.join(staging, 'state.json'), JSON.stringify({
        format: CHECKPOINT_FORMAT, iteration: st.iteration, rng: st.rng.state(), sampler: st.sampler, wallTimeS: st.wallTimeS, cpuTimeS: st.cpuTimeS,
        logWindow: st.logWindow,
      }));
    }, { force: true });
  } catch (err) {
    const reason = err instanceof CellganError ? err.message : (err as NodeJS.ErrnoException).code === 'ENOSPC' ? 'no space left on device' : (err as Error).message;
    throw new CellganError(`could not write checkpoint ${st.iteration} (${reason}); earlier checkpoints are intact`, { file: dir, cause: err });
  }
  const all = await listCheckpoints(runDir);
  for (const old of all.slice(0, Math.max(0, all.length - keep))) {
    // Renamed away first, so a kill mid-delete never leaves a half-deleted folder under a checkpoint name.
    const target = path.join(runDir, 'checkpoints', checkpointName(old));
    const trash = tempNameBeside(target, 'old');
    await fs.rename(target, trash);
    await fs.rm(trash, { recursive: true, force: true });
  }
  logger.debug({ checkpoint: dir }, 'checkpoint written');
  return dir;
}

async function readStats(file: string): Promise<TrainStats[]> {
  return (await readJsonl<TrainStats>(file)) ?? [];
}

async function writeLossCurve(runDir: string, stats: TrainStats[]): Promise<void> {
  if (!stats.length) return;
  const values = stats.flatMap((s) => [
    { iteration: s.iteration, value: s.d_loss, series: 'D loss' },
    { iteration: s.iteration, value: s.g_loss, series: 'G loss' },
  ]);
  const png = await chartToPng({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: 'DCGAN losses', width: 520, height: 260, data: { values },
    mark: { type: 'line' },
    encoding: {
      x: { field: 'iteration', type: 'quantitative' },
      y: { field: 'value', type: 'quantitative', title: 'loss' },
      color: { field: 'series', type: 'nominal', title: null },
    },
  });
  await writeFileAtomic(path.join(runDir, 'loss-curve.png'), png);
}

/**
 * Trains (or resumes) a run, in the phases of stylegan2-ada's training_loop:
 * the run (options, folder, what a resume continues; resolveRun), the data
 * (loadTrainingSet), the run folder's files (openRunFolder), the networks
 * (buildNetworks), their starting point (restoreCheckpoint / startRun), the
 * sample grids and diversity probe (makeMonitor), the loop (trainingLoop)
 * and the end (finishRun). Nothing is written before the data has loaded.
 */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const run = await resolveRun(options);
  const backend = await ensureBackend();
  const parentLogger = options.logger ?? silentLogger;

  // Data first: a bad --data or --class fails before anything is written.
  const data = await loadTrainingSet(run.opts, silentLogger);
  if (run.parent && data.split) await assertParentNeverSawHeldOut(run.parent, data.dataset, data.split, parentLogger);

  const { logger, spec } = await openRunFolder(run, data, backend, parentLogger);
  const net = buildNetworks(spec, run.opts);
  const st: LoopState = { iteration: 0, rng: new Rng(run.opts.seed).fork('train'), sampler: { order: [], cursor: 0, epoch: 0 }, wallTimeS: 0, cpuTimeS: 0, logWindow: emptyLogWindow() };
  const session: Session = { lastCheckpoint: '', interrupted: false };
  let stepper: GradientStep = localStep(stepLosses(run.opts));
  try {
    stepper = await workerGradientStep(run.opts, spec, backend, logger) ?? stepper;
    const t: Training = {
      run, options, data, spec, net, stepper, st, session, logger, statsFile: path.join(run.runDir, 'stats.jsonl'),
      checkpoint: (faults) => writeCheckpoint(run.runDir, st, net, net, run.opts.keepCheckpoints, faults, logger),
    };
    session.lastCheckpoint = run.resume ? await restoreCheckpoint(t, run.resume.from) : await startRun(t, backend);
    const monitor = await makeMonitor(t);
    if (st.iteration === 0) await monitor.writeGrid();
    const startIter = st.iteration;
    await trainingLoop(t, monitor);
    await finishRun(t, monitor, startIter);
    return { runDir: run.runDir, iteration: st.iteration, checkpoint: session.lastCheckpoint, interrupted: session.interrupted, classes: data.classes, stats: session.lastStats };
  } catch (err) {
    if (err instanceof CellganError) logger.error({ iteration: st.iteration }, err.message);
    throw err;
  } finally {
    await stepper.close();
    net.g.dispose(); net.d.dispose(); net.gEma.dispose(); net.gOpt.dispose(); net.dOpt.dispose();
  }
}

// --- The run: options, folder, what a resume continues ----------------------------------------

/** What one call of train runs: its checked settings, where, and (resuming) from what. */
interface RunPlan {
  runDir: string;
  /** --iters: the run's total, also when resuming. */
  iters: number;
  /** The run's settings (options.json's `options`), with this call's iters. */
  opts: Resolved;
  /** Set when resuming: the run's options.json and the checkpoint to continue from. */
  resume?: { runFile: RunOptionsFile; from: number };
  /** The --init model a new run fine-tunes. */
  parent?: Parent;
}

/** Checks the options and the run folder (new or resumed); writes nothing. */
async function resolveRun(options: TrainOptions): Promise<RunPlan> {
  const iters = checkOption(TRAIN_OPTIONS, 'iters', options.iters);
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw v.invalid('signal', 'an AbortSignal', options.signal);

  if (options.resume !== undefined) {
    const runDir = path.resolve(checkOption(TRAIN_OPTIONS, 'resume', options.resume));
    const given = Object.entries(options).filter(([k, val]) => val !== undefined && !RUNTIME_KEYS.has(k)).map(([k]) => k);
    if (given.length) throw new OptionError(`--resume continues a run with its saved options; do not pass ${given.join(', ')} (only --iters)`);
    const info = await readRun(runDir);
    if (info.latest === undefined) throw new CellganError('the run has no complete checkpoint to resume from', { file: runDir });
    return { runDir, iters, opts: { ...BEFORE_RECIPES, ...info.options.options, iters }, resume: { runFile: info.options, from: info.latest } };
  }

  if (options.out === undefined) throw new OptionError('pass --out <run folder> to start a run, or --resume <run folder> to continue one');
  const out = checkOption(TRAIN_OPTIONS, 'out', options.out);
  const runDir = path.resolve(out);
  const parent = options.init !== undefined ? await readParent(path.resolve(checkOption(TRAIN_OPTIONS, 'init', options.init))) : undefined;
  const opts = resolveSettings({ ...options, iters }, parent);
  // --force replaces the run folder: never let that be (or contain) the inputs.
  for (const input of [opts.data, opts.labels, opts.split]) {
    if (input && (input === runDir || input.startsWith(runDir + path.sep))) {
      throw new CellganError('the run folder would contain or replace the training data; choose another --out', { file: out, exitCode: 2 });
    }
  }
  await assertWritableOutput(runDir, options.force ?? false, 'run folder');
  return { runDir, iters, opts, parent };
}

type TrainingData = Awaited<ReturnType<typeof loadTrainingSet>>;

/**
 * The run folder: a new run's created (replacing a --force'd one) with its
 * log file and options.json; a resumed run's options.json gets this call's
 * --iters and a `resumes` entry.
 */
async function openRunFolder(run: RunPlan, data: TrainingData, backend: BackendInfo, parentLogger: Logger): Promise<{ logger: Logger; spec: ModelSpec }> {
  const { runDir, opts, iters, parent } = run;
  if (!run.resume) {
    if (await exists(runDir)) await fs.rm(runDir, { recursive: true, force: true }); // only reached with force
    await fs.mkdir(path.join(runDir, 'grids'), { recursive: true });
  }
  const logger = withLogFile(parentLogger, path.join(runDir, 'log.jsonl'));
  for (const s of data.skipped) logger.warn({ file: s.file, reason: s.reason }, 'skipped an image that cannot be decoded');

  const spec: ModelSpec = { size: opts.size, nz: opts.nz, gWidth: opts.gWidth, dWidth: opts.dWidth, numClasses: opts.conditional ? data.classes.length : 0, seed: opts.seed, dNorm: opts.dNorm, gConditioning: opts.gConditioning,
    ...(opts.conditional && opts.auxWeight > 0 ? { auxClassifier: true, ...(opts.auxTwin ? { twinClassifier: true } : {}), ...(opts.auxBranch > 0 ? { auxBranch: opts.auxBranch } : {}), ...(opts.auxD2d ? { auxD2d: true } : {}) } : {}) };
  let runFile: RunOptionsFile;
  if (run.resume) {
    runFile = run.resume.runFile;
    if (opts.conditional && data.classes.join('\n') !== runFile.classes.join('\n')) {
      throw new CellganError(`the data's classes (${data.classes.join(', ')}) differ from the run's (${runFile.classes.join(', ')})`, { file: opts.data });
    }
    if (JSON.stringify(data.classGroups ?? null) !== JSON.stringify(runFile.classGroups ?? null)) {
      throw new CellganError(`the data puts the run's --condition values under other classes than the run recorded (${JSON.stringify(data.classGroups)} against ${JSON.stringify(runFile.classGroups ?? null)})`, { file: opts.data });
    }
    runFile.options.iters = iters;
    runFile.resumes.push({ fromIteration: run.resume.from, iters, backend: backend.name, time: new Date().toISOString() });
  } else {
    runFile = {
      format: 'cellgan-dcgan-run/1', options: opts, model: spec, classes: data.classes,
      ...(data.classGroups ? { classGroups: data.classGroups } : {}),
      conditionalMethod: opts.conditional ? conditionalMethod(opts.gConditioning) : null,
      trainImages: data.set.count, imagesPerClass: data.perClass, skippedImages: data.skipped,
      backend: { name: backend.name, package: backend.package, tfjsVersion: backend.tfjsVersion },
      versions: { cellgan: VERSION, tfjs: tf.version.tfjs, node: process.version },
      machine: { cpu: os.cpus()[0]?.model?.trim() ?? 'unknown', cores: os.cpus().length, platform: `${process.platform}-${process.arch}` },
      created: new Date().toISOString(), resumes: [],
      ...(parent ? { parent: parent.record } : {}),
    };
  }
  await writeJsonAtomic(path.join(runDir, 'options.json'), runFile);
  return { logger, spec };
}

// --- The networks and their starting point ----------------------------------------------------

/** G, D, G's moving average and the two optimizers. */
interface Networks { g: LayersModel; d: LayersModel; gEma: LayersModel; gOpt: Adam; dOpt: Adam; frozen: ReturnType<typeof frozenDiscriminatorWeights> }

function buildNetworks(spec: ModelSpec, opts: Resolved): Networks {
  const g = buildGenerator(spec), d = buildDiscriminator(spec), gEma = buildGenerator(spec);
  const adam = { beta1: opts.beta1, beta2: opts.beta2, epsilon: 1e-8 };
  // FreezeD: D's first blocks keep the parent's weights.
  const frozen = opts.freezeD ? frozenDiscriminatorWeights(d, opts.freezeD) : [];
  const gOpt = new Adam({ ...adam, learningRate: opts.lr }, g), dOpt = new Adam({ ...adam, learningRate: opts.dLr ?? opts.lr }, d, frozen);
  return { g, d, gEma, gOpt, dOpt, frozen };
}

/**
 * Data-parallel gradients over worker threads (see parallel.ts), or
 * undefined for the main thread's. Results depend on the worker count
 * (per-shard batch norm), so it is a saved option that a resume keeps.
 */
async function workerGradientStep(opts: Resolved, spec: ModelSpec, backend: BackendInfo, logger: Logger): Promise<GradientStep | undefined> {
  const workers = opts.workers ?? 0;
  if (!(workers > 0)) return undefined;
  const w = workerBackendFor(backend, workers);
  if (w.warning) logger.warn(w.warning);
  return createParallelStep(spec, { workers, backend: w.backend, losses: stepLosses(opts) });
}

/** The run's settings that step.ts' losses read. */
function stepLosses(opts: Resolved): StepLosses {
  return { loss: opts.loss, auxWeight: opts.auxWeight, auxJoint: opts.auxJoint, auxFloor: opts.auxFloor, auxD2d: opts.auxD2d, modeSeekingWeight: opts.modeSeekingWeight };
}

/** What a run has done so far in this call. */
interface Session { lastCheckpoint: string; interrupted: boolean; lastStats?: TrainStats }

/** One call of train, once its networks are built: what the phases below work on. */
interface Training {
  run: RunPlan;
  options: TrainOptions;
  data: TrainingData;
  spec: ModelSpec;
  net: Networks;
  stepper: GradientStep;
  /** What a checkpoint saves besides the weights and optimizers. */
  st: LoopState;
  session: Session;
  logger: Logger;
  statsFile: string;
  /** Writes a checkpoint of the current state (a fault to inject, for tests). */
  checkpoint: (faults: TrainOptions['faults']) => Promise<string>;
}

/** A resume: weights, optimizer moments, Rng and sampler state from checkpoint `from`; returns its folder. */
async function restoreCheckpoint({ run, net, st, statsFile, logger }: Training, from: number): Promise<string> {
  const { runDir, iters } = run;
  const ck = path.join(runDir, 'checkpoints', checkpointName(from));
  // Staging or half-deleted folders of a killed process are hidden; remove them.
  for (const name of await fs.readdir(path.join(runDir, 'checkpoints'))) {
    const m = /^\.(\d+)\.(tmp|old)-\d+-[0-9a-f]+$/.exec(name);
    if (m) await removeStaleStaging(path.join(runDir, 'checkpoints', m[1]));
  }
  await loadModelWeights(net.g, path.join(ck, 'generator'));
  await loadModelWeights(net.gEma, path.join(ck, 'generator_ema'));
  await loadModelWeights(net.d, path.join(ck, 'discriminator'));
  for (const [name, opt] of [['optimizer_g', net.gOpt], ['optimizer_d', net.dOpt]] as const) {
    const { tensors, extra } = await loadTensors(path.join(ck, name));
    try { opt.setState(extra.step as number, tensors); } finally { for (const t of Object.values(tensors)) t.dispose(); }
  }
  const state = JSON.parse(await fs.readFile(path.join(ck, 'state.json'), 'utf8')) as { iteration: number; rng: RngState; sampler: SamplerState; wallTimeS: number; cpuTimeS?: number; logWindow?: LogWindow };
  // Checkpoints written before the window was saved resume with an empty one.
  Object.assign(st, { iteration: state.iteration, rng: new Rng(state.rng), sampler: state.sampler, wallTimeS: state.wallTimeS, cpuTimeS: state.cpuTimeS ?? 0, logWindow: state.logWindow ?? emptyLogWindow() });
  // Stats logged after the checkpoint are redone by this run.
  const kept = (await readStats(statsFile)).filter((s) => s.iteration <= st.iteration);
  await writeFileAtomic(statsFile, kept.map((s) => JSON.stringify(s) + '\n').join(''));
  logger.info({ run: runDir, from: st.iteration, iters }, 'resuming');
  return ck;
}

/** A new run: the --init model's weights if any, G's average set to G, and checkpoint 0; returns its folder. */
async function startRun({ run, data, spec, net, logger, checkpoint }: Training, backend: BackendInfo): Promise<string> {
  const { parent, opts } = run;
  if (parent) {
    await initFromParent(parent, net, spec, data.classes, initSources(parent.options.classes, data.classes, opts.initClass, data.classGroups));
    logger.info({ init: parent.record.path, checkpoint: parent.record.checkpoint, sha256: parent.record.sha256, frozen_d_weights: net.frozen.length }, 'fine-tuning from a trained model');
  }
  updateEma(net.gEma, net.g, 0);
  // A converged spectral estimate before the first step (the vectors start from a fixed guess).
  powerIterateModel(net.d, 20);
  const ck = await checkpoint(undefined);
  logger.info({ run: run.runDir, images: data.set.count, classes: data.classes.join(','), backend: backend.name }, 'training');
  return ck;
}

// --- Sample grids and the diversity probe -------------------------------------------------------

interface Monitor {
  /** G's diversity over the fixed probe noise (the collapse alarm's numerator). */
  sampleDiversity(): number;
  realDiversity: number;
  /** The current iteration's grid of G's moving average. */
  writeGrid(): Promise<void>;
}

/** Fixed noise for grids and the diversity probe (not part of the training stream), and the real images' diversity. */
async function makeMonitor({ run: { runDir, opts }, data, spec, net, st }: Training): Promise<Monitor> {
  const C = data.classes.length;
  const gridCols = 8, gridRows = opts.conditional ? C : 8;
  const fixedNoise = evenNormals(new Rng(opts.seed).fork('grid'), gridCols * gridRows * opts.nz);
  const gridLabels = opts.conditional ? Array.from({ length: gridRows * gridCols }, (_, k) => Math.floor(k / gridCols)) : null;
  // A conditional grid names its rows' classes in the PNG itself (the file is looked at on its own).
  const gridRowLabels = opts.conditional ? data.classes : undefined;
  const probeN = 16;
  const probeNoise = fixedNoise.subarray(0, probeN * opts.nz);
  const probeLabels = opts.conditional ? Array.from({ length: probeN }, (_, k) => k % C) : null;
  const probeRng = new Rng(opts.seed).fork('real-diversity');
  const realIdx = probeRng.shuffle(Array.from({ length: data.set.count }, (_, i) => i)).slice(0, 64);
  const realDiversity = meanPairwiseDistance(imagesToFloats(data.set, realIdx), realIdx.length);
  const gridsDir = path.join(runDir, 'grids');
  if (!(await exists(path.join(gridsDir, 'reals.png')))) {
    await writeFileAtomic(path.join(gridsDir, 'reals.png'), await encodeGridPng(imagesToFloats(data.set, realIdx), opts.size, 8));
  }
  return {
    realDiversity,
    sampleDiversity: () => meanPairwiseDistance(sample(net.g, probeNoise, probeLabels, spec), probeN),
    writeGrid: async () => {
      const pixels = sample(net.gEma, fixedNoise, gridLabels, spec);
      await writeFileAtomic(path.join(gridsDir, `${checkpointName(st.iteration)}.png`), await encodeGridPng(pixels, opts.size, gridCols, { rowLabels: gridRowLabels }));
    },
  };
}

// --- The loop -------------------------------------------------------------------------------

/** Iterations up to --iters, or until the signal aborts (session.interrupted); stats, grids and checkpoints on their cadences. */
async function trainingLoop(t: Training, monitor: Monitor): Promise<void> {
  const { run: { runDir, iters, opts }, options, data, spec, net: { g, d, gEma, gOpt, dOpt }, stepper, st, session, logger, statsFile } = t;
  const C = data.classes.length;
  const progress = new Progress({ label: 'train', total: iters, start: st.iteration, unit: 'it', imagesPerUnit: opts.batch, enabled: options.progress, logger });
  let windowStart = performance.now();
  let windowIters = 0;
  let lastCurve = 0;
  const B = opts.batch;
  const balanced = opts.conditional && opts.balancedClasses;

  while (st.iteration < iters) {
    if (options.signal?.aborted) { session.interrupted = true; break; }
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const it = st.iteration + 1;
    // All random draws of one iteration, in a fixed order.
    const idx = balanced ? nextBalancedBatch(st.sampler, st.rng, data.set.labels, C, B) : nextBatch(st.sampler, st.rng, data.set.count, B);
    const noise = evenNormals(st.rng, B * opts.nz);
    const fakeLabels = opts.conditional ? Array.from({ length: B }, () => st.rng.int(C)) : null;
    const aug = opts.diffAugment.length ? {
      real: sampleAugmentParams(st.rng, opts.diffAugment, B, opts.size),
      fakeD: sampleAugmentParams(st.rng, opts.diffAugment, B, opts.size),
      fakeG: sampleAugmentParams(st.rng, opts.diffAugment, B, opts.size),
    } : null;

    const real = tf.tensor4d(imagesToFloats(data.set, idx), [B, opts.size, opts.size, 3]) as Tensor4D;
    const z = tf.tensor2d(noise, [B, opts.nz]);
    const realLabels = opts.conditional ? oneHot(idx.map((i) => data.set.labels[i]), C) : undefined;
    const fakeY = fakeLabels ? oneHot(fakeLabels, C) : undefined;
    let dLoss: number, gLoss: number, dReal: number, dFake: number, dAux = 0, gAux = 0;
    try {
      // One power-iteration step per D update, as in SNGAN (no-op without spectral norm).
      powerIterateModel(d, 1);
      const dg = await stepper.discriminatorGradients(g, d, { real, realLabels, noise: z, fakeLabels: fakeY, augmentReal: aug?.real, augmentFake: aug?.fakeD });
      [dLoss, dReal, dFake] = [dg.loss.dataSync()[0], dg.realProb.dataSync()[0], dg.fakeProb.dataSync()[0]];
      if (dg.auxLoss) { dAux = dg.auxLoss.dataSync()[0]; dg.auxLoss.dispose(); }
      dg.loss.dispose(); dg.realProb.dispose(); dg.fakeProb.dispose();
      if (options.faults?.nanAtIteration === it) dLoss = NaN;
      // Checked before applying, so non-finite gradients never reach the weights.
      if (!Number.isFinite(dLoss)) { disposeGrads(dg.grads); throw nonFinite('D', dLoss, it, session.lastCheckpoint); }
      dOpt.apply(dg.grads);
      disposeGrads(dg.grads);
      // --aux-floor: G's class term stops at the level D's head reached on this iteration's real batch.
      const gg = await stepper.generatorGradients(g, d, { noise: z, fakeLabels: fakeY, augmentFake: aug?.fakeG, ...(opts.auxFloor ? { auxFloor: dAux } : {}) });
      gLoss = gg.loss.dataSync()[0];
      if (gg.auxLoss) { gAux = gg.auxLoss.dataSync()[0]; gg.auxLoss.dispose(); }
      if (gg.modeSeekingRatio) {
        // NaN when a batch (or a worker's shard) had no same-label pair: not logged.
        const ms = gg.modeSeekingRatio.dataSync()[0];
        if (Number.isFinite(ms)) { st.logWindow.ms += ms; st.logWindow.nMs++; }
        gg.modeSeekingRatio.dispose();
      }
      gg.loss.dispose();
      if (!Number.isFinite(gLoss)) { disposeGrads(gg.grads); throw nonFinite('G', gLoss, it, session.lastCheckpoint); }
      gOpt.apply(gg.grads);
      disposeGrads(gg.grads);
      // Warm-up as in tf.train.ExponentialMovingAverage: the EMA follows G closely early on.
      updateEma(gEma, g, emaDecay(opts, it));
    } finally {
      real.dispose(); z.dispose(); realLabels?.dispose(); fakeY?.dispose();
    }
    st.iteration = it;
    st.wallTimeS += (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    st.cpuTimeS += (c.user + c.system) / 1e6;
    const acc = st.logWindow;
    acc.d += dLoss; acc.g += gLoss; acc.real += dReal; acc.fake += dFake; acc.dAux += dAux; acc.gAux += gAux; acc.n++;
    windowIters++;

    if (it % opts.logEvery === 0 || it === iters) {
      const diversity = monitor.sampleDiversity();
      const secs = (performance.now() - windowStart) / 1000;
      const { realDiversity } = monitor;
      const ratio = realDiversity > 0 ? diversity / realDiversity : 0;
      const stats: TrainStats = {
        iteration: it, d_loss: acc.d / acc.n, g_loss: acc.g / acc.n, d_real: acc.real / acc.n, d_fake: acc.fake / acc.n,
        images_per_sec: secs > 0 ? (windowIters * B) / secs : 0, wall_time_s: st.wallTimeS, cpu_time_s: st.cpuTimeS,
        diversity, real_diversity: realDiversity, diversity_ratio: ratio,
        ...(spec.auxClassifier ? { d_aux_loss: acc.dAux / acc.n, g_aux_loss: acc.gAux / acc.n } : {}),
        ...(acc.nMs ? { g_ms_ratio: acc.ms / acc.nMs } : {}),
      };
      if (it >= opts.collapseAfter && ratio < opts.collapseThreshold) {
        stats.collapse_warning = true;
        logger.warn({ iteration: it, diversity_ratio: Number(ratio.toFixed(3)) }, 'possible mode collapse: samples are much less diverse than the real images');
      }
      await fs.appendFile(statsFile, JSON.stringify(stats) + '\n');
      logger.debug(stats, 'stats');
      session.lastStats = stats;
      st.logWindow = emptyLogWindow();
      windowStart = performance.now(); windowIters = 0;
      progress.setValues({ D: stats.d_loss, G: stats.g_loss });
    }
    progress.update(it);
    if (it % opts.gridEvery === 0 || it === iters) await monitor.writeGrid();
    if (it % opts.checkpointEvery === 0 || it === iters) {
      session.lastCheckpoint = await t.checkpoint(options.faults);
      progress.mark('checkpoint');
      if (it === iters || performance.now() - lastCurve > 30_000) {
        await writeLossCurve(runDir, await readStats(statsFile));
        lastCurve = performance.now();
      }
    }
    options.onIteration?.(it);
    // Lets signal handlers and I/O run between iterations (tfjs ops are synchronous).
    await new Promise((r) => setImmediate(r));
  }
  progress.finish();
}

// --- The end --------------------------------------------------------------------------------

/** An interrupted run saves its grid, a checkpoint and the loss curve of where it stopped; every end is logged. */
async function finishRun({ run: { runDir, iters, opts }, st, session, logger, statsFile, checkpoint }: Training, monitor: Monitor, startIter: number): Promise<void> {
  if (session.interrupted) {
    if (st.iteration % opts.gridEvery !== 0) await monitor.writeGrid();
    if (!session.lastCheckpoint.endsWith(checkpointName(st.iteration))) {
      session.lastCheckpoint = await checkpoint(undefined);
    }
    await writeLossCurve(runDir, await readStats(statsFile));
    logger.warn({ iteration: st.iteration, checkpoint: session.lastCheckpoint }, `interrupted; saved a checkpoint. Continue with: cellgan train --resume ${runDir} --iters ${iters}`);
  } else if (startIter >= iters) {
    logger.info({ iteration: st.iteration }, 'nothing to do: the run already has --iters iterations');
  } else {
    logger.info({ iteration: st.iteration, checkpoint: session.lastCheckpoint, wall_time_s: Number(st.wallTimeS.toFixed(1)) }, 'training finished');
  }
}

/**
 * A fine-tune with a split (directly or from the pipeline's train stage) must not start from a model that trained on one of that split's
 * validation or test images (its samples could carry the cell into training, and every score on
 * the split would be flattered). A model whose training images cannot be known is only warned of.
 */
async function assertParentNeverSawHeldOut(parent: Parent, dataset: Dataset, split: SplitFile, logger: Logger): Promise<void> {
  const hit = await heldOutImageSeenBy(parent.record.path, dataset, split, ['val', 'test']);
  if (hit === undefined) {
    logger.warn(`--init: cannot check that ${parent.record.path} never trained on this split's validation and test images (no training-image list and its data is not readable here)`);
  } else if (hit) {
    throw new CellganError(`this ${hit.part === 'val' ? 'validation' : 'test'} image is a copy of one the --init model trained on (among its ${hit.seen} training images); fine-tuning on this --split would let held-out cells into the model and flatter its scores. Use the split the model was trained with, or one whose validation and test images it never saw`, { file: hit.item.abs, exitCode: 2 });
  }
}

/**
 * The EMA's decay at iteration `it`: `emaDecay`, limited early in the run so
 * a short run does not sample from near-random weights. With `emaRampup` r
 * > 0 the half-life is at most r·it iterations (stylegan2-ada's ema_rampup,
 * counted in iterations); otherwise tf.train.ExponentialMovingAverage's
 * (1 + t)/(10 + t).
 */
export function emaDecay(opts: { emaDecay: number; emaRampup: number }, it: number): number {
  const warm = opts.emaRampup > 0 ? 0.5 ** (1 / Math.max(opts.emaRampup * it, 1e-8)) : (1 + it) / (10 + it);
  return Math.min(opts.emaDecay, warm);
}

function nonFinite(which: string, value: number, iteration: number, checkpoint: string): CellganError {
  return new CellganError(`${which} loss became ${value} at iteration ${iteration}; training stopped. The last good checkpoint is ${checkpoint}. Try a lower --lr or a larger --batch, then resume or start again`, { exitCode: 3 });
}
