/**
 * `cellgan pipeline`: inspect → split → train → generate → score → export on
 * one dataset, each stage writing under `<out>/<stage>/`, with
 * `<out>/pipeline.json` recording what is complete (see state.ts) and
 * `<out>/report.html` summarising it (see report.ts).
 *
 * With `classes`, a `select` stage first copies those classes' images into
 * `<out>/select/data/` (the input is never modified, and every later stage
 * sees exactly the chosen classes whatever it derives its class list from).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { silentLogger, type Logger } from '../util/log.js';
import { CellganError, InterruptedError, OptionError } from '../util/errors.js';
import { exists, writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import * as v from '../util/validate.js';
import { offsetSeed } from '../util/rng.js';
import { VERSION } from '../version.js';
import { loadDataset } from '../data/dataset.js';
import { inspect, formatInspectReport } from '../data/inspect.js';
import { formatCsv, makeSplit, writeSplit } from '../data/index.js';
import type { Dataset } from '../data/types.js';
import { train, generate, readRun, RECIPE_NAMES } from '../dcgan/index.js';
import { score } from '../metrics/index.js';
import { exportDataset } from '../export/index.js';
import { BUDGETS, BUDGET_NAMES, type Budget, type BudgetName } from './budgets.js';
import { fingerprintData, fingerprintFiles, readState, writeState, type PipelineState, type StageName } from './state.js';
import { openSharedStage, runStages, type StageDefinition, type StageOutcome } from './runner.js';
import { parseShard, shardClasses, type Shard } from './shard.js';
import { acquireLock, describeHolder, LockHeldError, readLock, staleReason, type Lock } from '../util/lock.js';
import { renderReport } from './report.js';

export const PIPELINE_MODES = ['conditional', 'per-class'] as const;
export type PipelineMode = (typeof PIPELINE_MODES)[number];

export interface PipelineOptions {
  /** ImageFolder root (or the folder a labels CSV's paths are relative to). */
  data: string;
  /** Pipeline folder; a new or empty folder, or one a previous pipeline run wrote (then it resumes). */
  out: string;
  /** A labels CSV (`file,class`). */
  labels?: string;
  /** Only these classes (at least 2). */
  classes?: string[] | string;
  budget?: BudgetName;
  /** Image size (default: the budget's). */
  size?: number;
  /** One class-conditional GAN (default) or one GAN per class. */
  mode?: PipelineMode;
  seed?: number;
  /** Change single budget fields (e.g. iterations) without a new budget name. */
  overrides?: Partial<Omit<Budget, 'purpose'>>;
  /** Write report.html at the end (default true; also after a failed stage). */
  report?: boolean;
  logger?: Logger;
  /** Aborting stops training at the next step with a checkpoint, then the pipeline stops (resumable). */
  signal?: AbortSignal;
  /** Progress bars on a terminal. */
  progress?: boolean;
  /** Stop after this stage (the later ones are left as they are). */
  until?: StageName;
  /**
   * Train the GAN and score's classifiers data-parallel over this many
   * worker threads (0: in the main thread). Part of the train and score
   * options: batch norm sees each worker's shard, so a different count
   * trains different models.
   */
  workers?: number;
  /**
   * Fine-tune from this run folder or shipped model (e.g. models/pbc-64)
   * instead of training from scratch (conditional mode): its architecture and
   * recipe are used; the budget gives the iterations.
   */
  init?: string;
  /**
   * Run only this shard's share of the train stage (per-class mode), into
   * the same folder, then stop: `"I/N"` or a resolved shard (see shard.ts
   * for the assignment; `resolveShard` reads it from Slurm / Kubernetes
   * variables). A plain run on the folder afterwards merges.
   */
  shard?: Shard | string;
}

export interface PipelineResult {
  out: string;
  report?: string;
  state: PipelineState;
  outcomes: Partial<Record<StageName, StageOutcome>>;
  seconds: number;
  /** Set for a shard run: its classes and what it did with each. */
  shard?: Shard & { classes: string[]; runs: Record<string, ClassRunOutcome>; trainComplete: boolean };
}

/** What a per-class run needed: trained from scratch, resumed from a checkpoint, or nothing (already at its iterations). */
export type ClassRunOutcome = 'trained' | 'resumed' | 'complete';

interface Resolved {
  data: string;
  labels?: string;
  out: string;
  classes?: string[];
  budgetName: BudgetName;
  budget: Budget;
  size: number;
  mode: PipelineMode;
  seed: number;
  workers: number;
  init?: string;
  shard?: Shard;
}

const SIZES = [32, 64, 128] as const;

function inside(parent: string, child: string): boolean {
  const r = path.relative(parent, child);
  return r === '' || (!r.startsWith('..') && !path.isAbsolute(r));
}

async function resolveOptions(opts: PipelineOptions): Promise<Resolved> {
  v.nonEmptyString('--data', opts.data);
  v.nonEmptyString('--out', opts.out);
  if (opts.labels !== undefined) v.nonEmptyString('--labels', opts.labels);
  const budgetName = v.oneOf('--budget', opts.budget ?? 'quick', BUDGET_NAMES);
  const budget: Budget = { ...BUDGETS[budgetName], ...(opts.overrides ?? {}) };
  v.integer('iters', budget.iters, 1);
  v.integer('batch', budget.batch, 1, 4096);
  v.integer('gWidth', budget.gWidth, 1, 1024);
  v.integer('dWidth', budget.dWidth, 1, 1024);
  v.integer('count', budget.count, 1);
  v.integer('classifierEpochs', budget.classifierEpochs, 1);
  v.integer('checkpointEvery', budget.checkpointEvery, 1);
  v.number('emaDecay', budget.emaDecay, 0, 1);
  if (typeof budget.diffAugment !== 'string') throw v.invalid('diffAugment', 'a comma-separated DiffAugment policy or ""', budget.diffAugment);
  const size = v.oneOf('--size', opts.size ?? budget.size, SIZES);
  const mode = v.oneOf('--mode', opts.mode ?? 'conditional', PIPELINE_MODES);
  const seed = v.seed(opts.seed ?? 0);
  const workers = v.workers(opts.workers ?? 0);
  v.oneOf('recipe', budget.recipe, RECIPE_NAMES);
  let init: string | undefined;
  if (opts.init !== undefined) {
    init = path.resolve(v.nonEmptyString('--init', opts.init));
    if (mode !== 'conditional') throw v.invalid('--mode', '"conditional" with --init (the shipped models are conditional)', mode);
    if (!(await exists(path.join(init, 'options.json')))) throw new CellganError('not a cellgan run or model folder (no options.json)', { file: opts.init });
  }
  let classes: string[] | undefined;
  if (opts.classes !== undefined) {
    const list = (Array.isArray(opts.classes) ? opts.classes : String(opts.classes).split(',')).map((c) => c.trim()).filter(Boolean);
    if (list.length < 2 || new Set(list).size !== list.length) throw v.invalid('--classes', 'a comma-separated list of at least 2 different class names', opts.classes);
    classes = [...list].sort();
  }
  let shard: Shard | undefined;
  if (opts.shard !== undefined) {
    shard = typeof opts.shard === 'string' ? parseShard(opts.shard) : opts.shard;
    if (!(Number.isInteger(shard?.index) && Number.isInteger(shard?.count) && shard.index >= 0 && shard.index < shard.count)) {
      throw v.invalid('shard', 'I/N with 0 ≤ I < N', opts.shard);
    }
    if (mode !== 'per-class') throw new OptionError(`--shard splits the per-class GANs over processes: expected --mode per-class, received --mode ${mode} (a conditional GAN is one run)`);
    if (opts.until !== undefined) throw new OptionError('--until does not go with a shard: a shard always stops after its share of the train stage');
  }
  const data = path.resolve(opts.data);
  const out = path.resolve(opts.out);
  const st = await fs.stat(data).catch(() => null);
  if (!st) throw new CellganError('no such data folder', { file: opts.data });
  const labels = opts.labels !== undefined ? path.resolve(opts.labels) : undefined;
  if (labels && !(await exists(labels))) throw new CellganError('no such labels file', { file: opts.labels });
  // The data fingerprint would include our own outputs, and inputs are never written to.
  const dataRoot = st.isDirectory() ? data : path.dirname(data);
  if (inside(dataRoot, out)) throw new CellganError('the pipeline folder must not be inside the data folder (inputs are never modified)', { file: opts.out });
  return { data, labels, out, classes, budgetName, budget, size, mode, seed, workers, shard, ...(init ? { init } : {}) };
}

/** The pipeline folder's lock: held by a plain run throughout, by a shard while it prepares (see README "Running on a cluster"). */
const FOLDER_LOCK = '.pipeline.lock';
/** A per-class run's lock, beside its run folder: `train/.<class>.lock`. */
function classLockFile(trainDir: string, cls: string): string { return path.join(trainDir, `.${cls}.lock`); }

/**
 * A plain run refuses a folder another live process has locked; a shard
 * waits for it (other shards hold it only while they prepare).
 */
async function takeFolderLock(out: string, shard: Shard | undefined, logger: Logger, signal?: AbortSignal): Promise<Lock> {
  const owner = shard ? `cellgan pipeline shard ${shard.index}/${shard.count}` : 'cellgan pipeline';
  try {
    return await acquireLock(path.join(out, FOLDER_LOCK), {
      owner, wait: Boolean(shard), signal,
      onWait: (h) => logger.info(`pipeline: waiting for the pipeline folder's lock (${describeHolder(h)})`),
      onStale: (h, reason) => logger.warn(`pipeline: taking over a stale lock of ${h?.owner ?? 'an unknown process'}: ${reason}`),
    });
  } catch (err) {
    if (err instanceof LockHeldError) throw new CellganError(`another cellgan pipeline is running on this folder (${describeHolder(err.holder)})`, { file: out });
    throw err;
  }
}

/** Refuses to clear the train folder while a live process holds a class run's lock in it. */
async function assertNoLiveClassLocks(trainDir: string): Promise<void> {
  let names: string[];
  try { names = await fs.readdir(trainDir); } catch { return; }
  for (const name of names) {
    const m = /^\.(.+)\.lock$/.exec(name);
    if (!m) continue;
    const file = path.join(trainDir, name);
    const info = await readLock(file).catch(() => undefined);
    if (info === undefined) continue;
    const st = await fs.stat(file).catch(() => undefined);
    if (staleReason(info, { mtimeMs: st?.mtimeMs })) continue;
    throw new CellganError(`the ${m[1]} GAN is being trained with other options (${info === 'corrupt' ? 'lock unreadable' : describeHolder(info)}); let it finish or stop it before changing the options`, { file: trainDir });
  }
}

/** Copies the chosen classes' images (and a labels CSV when the input had one) into `dest`. */
async function copySelection(dataset: Dataset, classes: string[], dest: string): Promise<number> {
  const known = new Set(dataset.classes);
  const unknown = classes.filter((c) => !known.has(c));
  if (unknown.length) throw new CellganError(`--classes names ${unknown.join(', ')}, not in the dataset (its classes: ${dataset.classes.join(', ')})`, { file: dataset.root });
  const want = new Set(classes);
  const items = dataset.items.filter((i) => want.has(i.label));
  for (const item of items) {
    const target = path.join(dest, ...item.file.split('/'));
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.copyFile(item.abs, target);
  }
  if (dataset.source === 'csv') {
    const metaKeys = [...new Set(items.flatMap((i) => Object.keys(i.meta ?? {})))].filter((k) => k !== 'file' && k !== 'class');
    const rows = [['file', 'class', ...metaKeys], ...items.map((i) => [i.file, i.label, ...metaKeys.map((k) => i.meta?.[k] ?? '')])];
    await writeFileAtomic(path.join(dest, 'labels.csv'), formatCsv(rows));
  }
  return items.length;
}

/** Runs the pipeline (see the module comment). */
export async function runPipeline(opts: PipelineOptions): Promise<PipelineResult> {
  const t0 = Date.now();
  const logger = opts.logger ?? silentLogger;
  const r = await resolveOptions(opts);
  const { out, budget } = r;

  await fs.mkdir(out, { recursive: true });
  const folderLock = await takeFolderLock(out, r.shard, logger, opts.signal);

  try {
    // A non-empty folder that is not a pipeline folder is refused: it is someone else's. (Read under
    // the lock: a shard that started first may be writing the folder.)
    const entries = (await fs.readdir(out)).filter((n) => !n.startsWith('.'));
    const previous = await readState(out);
    if (!previous && entries.length) throw new CellganError('output folder exists, is not empty and holds no pipeline.json; choose a new --out', { file: out, exitCode: 1 });
    const baseDataset = await loadDataset(r.data, { labels: r.labels });
    const dataFingerprint = await fingerprintData(baseDataset.root, r.labels);

    // Where later stages read the data from: the input, or the copy of the chosen classes.
    let data = r.data;
    let labels = r.labels;
    let dataRoot = baseDataset.root;
    if (r.classes) {
      data = path.join(out, 'select', 'data');
      labels = baseDataset.source === 'csv' ? path.join(data, 'labels.csv') : undefined;
      dataRoot = data;
    }

    const state: PipelineState = previous ?? { format: 'cellgan-pipeline/1', tool: { name: 'cellgan', version: VERSION }, options: {}, stages: {}, updatedAt: '' };
    state.tool = { name: 'cellgan', version: VERSION };
    state.options = {
      data: r.data, labels: r.labels ?? null, classes: r.classes ?? null, budget: r.budgetName, budgetValues: budget,
      size: r.size, mode: r.mode, seed: r.seed, dataRoot,
    };
    // Without --classes there is no select stage; its old record would only mislead.
    if (!r.classes) delete state.stages.select;
    await writeState(out, state);

    const dataInput = r.classes ? undefined : { data: dataFingerprint };
    const dataReads: StageName[] = r.classes ? ['select'] : [];
    const trainDir = path.join(out, 'train');
    const generateDir = path.join(out, 'generate');
    const splitFile = path.join(out, 'split', 'split.json');
    const stages: StageDefinition[] = [];

    if (r.classes) {
      const classes = r.classes;
      stages.push({
        name: 'select', reads: [], extraInputs: { data: dataFingerprint }, options: { classes },
        async run(ctx) {
          const n = await copySelection(baseDataset, classes, path.join(ctx.stageDir, 'data'));
          logger.info(`pipeline: copied ${n} images of ${classes.length} classes`);
          return { outputs: { data: 'select/data' }, summary: { images: n, classes } };
        },
        fingerprint: (ctx) => fingerprintFiles(ctx.stageDir, ['data/**']),
      });
    }

    stages.push({
      name: 'inspect', reads: dataReads, extraInputs: dataInput, options: {},
      async run(ctx) {
        const report = await inspect(data, { labels });
        await writeJsonAtomic(path.join(ctx.stageDir, 'inspect.json'), report);
        await writeFileAtomic(path.join(ctx.stageDir, 'inspect.txt'), formatInspectReport(report) + '\n');
        return {
          outputs: { report: 'inspect/inspect.json' },
          summary: { images: report.images, classes: report.classes, duplicates: report.duplicates.length, conflicts: report.conflicts.length, unreadable: report.unreadable.length },
        };
      },
      fingerprint: (ctx) => fingerprintFiles(ctx.stageDir, ['inspect.json']),
    });

    const splitOptions = { val: 0.1, test: 0.2, seed: r.seed };
    stages.push({
      name: 'split', reads: dataReads, extraInputs: dataInput, options: splitOptions,
      async run(ctx) {
        const split = await makeSplit(data, { labels, ...splitOptions });
        await writeSplit(path.join(ctx.stageDir, 'split.json'), split, { force: true });
        // The report needs each file's class; with a labels CSV it is not the folder name.
        const dataset = await loadDataset(data, { labels });
        const inSplit = new Set([...split.splits.train, ...split.splits.val, ...split.splits.test]);
        await writeJsonAtomic(path.join(ctx.stageDir, 'classes.json'), Object.fromEntries(dataset.items.filter((i) => inSplit.has(i.file)).map((i) => [i.file, i.label])));
        return { outputs: { split: 'split/split.json' }, summary: { train: split.splits.train.length, val: split.splits.val.length, test: split.splits.test.length, excluded: split.excluded.length } };
      },
      fingerprint: (ctx) => fingerprintFiles(ctx.stageDir, ['split.json']),
    });

    // A fine-tune takes its architecture and recipe from the parent; the budget gives how long.
    const modelOptions = r.init
      ? { init: r.init }
      : { recipe: budget.recipe, batch: budget.batch, gWidth: budget.gWidth, dWidth: budget.dWidth, diffAugment: budget.diffAugment, emaDecay: budget.emaDecay };
    const trainOptions = {
      mode: r.mode, size: r.size, iters: budget.iters, checkpointEvery: budget.checkpointEvery, seed: r.seed, ...modelOptions,
      // Only when set, so pipeline folders from before this option keep their train stage.
      ...(r.workers ? { workers: r.workers } : {}),
    };
    const trainCall = (cls: string | null, signal: AbortSignal | undefined): TrainCall => ({
      data, labels, split: splitFile, size: r.size, iters: budget.iters, seed: r.seed, ...modelOptions,
      checkpointEvery: budget.checkpointEvery, gridEvery: budget.checkpointEvery, workers: r.workers,
      logEvery: Math.max(1, Math.min(10, Math.floor(budget.iters / 20))),
      ...(cls === null ? { conditional: true } : { className: cls }),
      logger, signal, progress: opts.progress,
    });
    const lockOwner = r.shard ? `cellgan pipeline shard ${r.shard.index}/${r.shard.count}` : 'cellgan pipeline';

    /**
     * One per-class run under its lock (`train/.<class>.lock`): nothing to do when it already has
     * its iterations, resumed when `resume` and it has a checkpoint, else trained from scratch.
     * Waits while another live process (a shard) holds the lock.
     */
    const classRun = async (cls: string, resume: boolean): Promise<{ outcome: ClassRunOutcome; summary: Record<string, unknown> }> => {
      const runDir = path.join(trainDir, cls);
      const lost = new AbortController();
      const lock = await acquireLock(classLockFile(trainDir, cls), {
        owner: lockOwner, wait: true, signal: opts.signal,
        onWait: (h) => logger.info(`pipeline: train: waiting for ${cls}, which another process trains (${describeHolder(h)})`),
        onStale: (h, reason) => logger.warn(`pipeline: train: ${cls}: taking over the stale lock of ${h?.owner ?? 'an unknown process'} (${reason}); resuming its run`),
        onLost: () => { logger.error(`pipeline: train: ${cls}: another process took this run's lock; stopping`); lost.abort(); },
      });
      try {
        if (resume) {
          const done = await completedRun(runDir, budget.iters);
          if (done) {
            logger.info(`pipeline: train: ${cls} already has its ${budget.iters} iterations, kept`);
            return { outcome: 'complete', summary: done };
          }
        }
        const signal = opts.signal ? AbortSignal.any([opts.signal, lost.signal]) : lost.signal;
        const { result, resumed } = await trainOrResume(resume, runDir, trainCall(cls, signal), logger, out);
        if (lost.signal.aborted) throw new CellganError(`lost the lock of the ${cls} run to another process (it was taken over as stale: see README "Running on a cluster")`, { file: runDir });
        if (result.interrupted) throw new InterruptedError(`training interrupted at iteration ${result.iteration}; run the same command again to resume`);
        return { outcome: resumed ? 'resumed' : 'trained', summary: runSummary(result.iteration, result.stats) };
      } finally {
        await lock.release();
      }
    };

    const trainStage: StageDefinition = {
      name: 'train', reads: ['split', ...dataReads], extraInputs: dataInput, options: trainOptions, resumable: true,
      beforeClear: (dir) => assertNoLiveClassLocks(dir),
      async run(ctx) {
        const summary: Record<string, unknown> = {};
        if (r.mode === 'conditional') {
          const { result } = await trainOrResume(ctx.resume, ctx.stageDir, trainCall(null, opts.signal), logger, out);
          summary.conditional = runSummary(result.iteration, result.stats);
          if (result.interrupted) throw new InterruptedError(`training interrupted at iteration ${result.iteration}; run the same command again to resume`);
        } else {
          for (const cls of await splitClasses(splitFile, data, labels)) summary[cls] = (await classRun(cls, ctx.resume)).summary;
        }
        return { outputs: { run: 'train' }, summary };
      },
      async fingerprint(ctx) {
        return fingerprintFiles(ctx.stageDir, ['options.json', '*/options.json', 'checkpoints/*/generator_ema/*', '*/checkpoints/*/generator_ema/*']);
      },
    };
    stages.push(trainStage);

    const generateOptions = { count: budget.count, seed: offsetSeed(r.seed, 1) };
    stages.push({
      name: 'generate', reads: ['train'], options: generateOptions,
      async run(ctx) {
        if (r.mode === 'conditional') {
          const g = await generate({ model: trainDir, count: budget.count, out: ctx.stageDir, seed: generateOptions.seed, logger, signal: opts.signal, progress: opts.progress, force: true });
          return { outputs: { synthetic: 'generate', manifest: 'generate/manifest.jsonl' }, summary: { counts: g.counts, checkpoint: g.checkpoint } };
        }
        // Per class: each run generates into its own folder, then the parts merge into one synthetic folder.
        const counts: Record<string, number> = {};
        const manifest: string[] = [];
        await fs.mkdir(ctx.stageDir, { recursive: true });
        for (const cls of await splitClasses(splitFile, data, labels)) {
          const part = path.join(ctx.stageDir, '.parts', cls);
          await fs.rm(part, { recursive: true, force: true });
          const g = await generate({ model: path.join(trainDir, cls), count: budget.count, out: part, seed: generateOptions.seed, logger, signal: opts.signal, progress: opts.progress, force: true });
          counts[cls] = g.counts[cls] ?? g.total;
          await fs.rm(path.join(ctx.stageDir, cls), { recursive: true, force: true });
          await fs.rename(path.join(part, cls), path.join(ctx.stageDir, cls));
          manifest.push(...(await fs.readFile(g.manifest, 'utf8')).split('\n').filter(Boolean));
        }
        await fs.rm(path.join(ctx.stageDir, '.parts'), { recursive: true, force: true });
        await writeFileAtomic(path.join(ctx.stageDir, 'manifest.jsonl'), manifest.join('\n') + '\n');
        return { outputs: { synthetic: 'generate', manifest: 'generate/manifest.jsonl' }, summary: { counts } };
      },
      fingerprint: (ctx) => fingerprintFiles(ctx.stageDir, ['manifest.jsonl', '*/*.png']),
    });

    const scoreOptions = { size: r.size, epochs: budget.classifierEpochs, seed: r.seed, ...(r.workers ? { workers: r.workers } : {}) };
    stages.push({
      name: 'score', reads: ['split', 'generate', ...dataReads], extraInputs: dataInput, options: scoreOptions,
      async run(ctx) {
        // score() trains the baseline and GAN-train classifiers, and writes distances.json (FID/KID/PR) too.
        const s = await score({ data, labels, split: splitFile, synthetic: generateDir, out: ctx.stageDir, size: r.size, epochs: budget.classifierEpochs, seed: r.seed, workers: r.workers, logger, force: true });
        return {
          outputs: { score: 'score/score.json', distances: 'score/distances.json' },
          summary: { baseline: s.baseline.accuracy.value, gan_train: s.gan_train?.accuracy.value ?? null, gan_test: s.gan_test?.accuracy.value ?? null },
        };
      },
      fingerprint: (ctx) => fingerprintFiles(ctx.stageDir, ['score.json', 'distances.json']),
    });

    // Every class is filled to the largest class's real training count plus the generated count, so
    // each class's synthetic images are used (with 'max' alone, an already balanced set like the
    // demo's would export no synthetic image at all).
    const exportOptions = { perClass: `max+${budget.count}`, augment: 'flip,rot90,color', mix: 'synthetic-first', seed: r.seed };
    stages.push({
      name: 'export', reads: ['split', 'generate', ...dataReads], extraInputs: dataInput, options: exportOptions,
      async run(ctx) {
        const trainCounts = Object.values(await splitClassCounts(splitFile, data, labels));
        const perClass = Math.max(0, ...trainCounts) + budget.count;
        const e = await exportDataset({ data, labels, split: splitFile, synthetic: [generateDir], perClass, augment: exportOptions.augment, mix: exportOptions.mix, out: ctx.stageDir, seed: r.seed, force: true, logger, command: `cellgan pipeline (export stage of ${out})` });
        return { outputs: { dataset: 'export/dataset.json' }, summary: { perClass: e.perClass, files: e.files, warnings: e.warnings } };
      },
      fingerprint: (ctx) => fingerprintFiles(ctx.stageDir, ['dataset.json', 'manifest.jsonl']),
    });

    if (r.shard) {
      const shard = r.shard;
      logger.info(`pipeline: shard ${shard.index}/${shard.count} (from ${shard.source}): the stages before train, then this shard's per-class GANs`);
      // Under the folder lock: the shared stages (the first shard runs them, the others find them
      // complete) and the train stage's record, so no two shards clear or record it at once.
      await runStages(out, state, stages.slice(0, stages.indexOf(trainStage)), logger, opts.signal);
      const opened = await openSharedStage(out, state, trainStage, logger);
      await folderLock.release();
      const all = await splitClasses(splitFile, data, labels);
      const mine = shardClasses(all, shard);
      const runs: Record<string, ClassRunOutcome> = {};
      if (opened === 'done') {
        logger.info('pipeline: the train stage is already complete; nothing for this shard to do');
      } else {
        logger.info(`pipeline: shard ${shard.index}/${shard.count} trains ${mine.length ? mine.join(', ') : 'no class'} (${mine.length} of ${all.length} classes: class k in name order goes to shard k mod ${shard.count})`);
        for (const cls of mine) runs[cls] = (await classRun(cls, true)).outcome;
        logger.info(`pipeline: shard ${shard.index}/${shard.count} done (${Object.entries(runs).map(([c, o]) => `${c}: ${o}`).join(', ') || 'nothing'}); once every shard has finished, run the same command without a shard on this folder to merge`);
      }
      return { out, state, outcomes: {}, seconds: Math.round((Date.now() - t0) / 100) / 10, shard: { ...shard, classes: mine, runs, trainComplete: opened === 'done' } };
    }

    if (opts.until !== undefined) {
      const stop = v.oneOf('--until', opts.until, stages.map((s) => s.name));
      stages.splice(stages.findIndex((s) => s.name === stop) + 1);
    }
    let outcomes: Partial<Record<StageName, StageOutcome>> = {};
    let failure: unknown;
    try {
      ({ outcomes } = await runStages(out, state, stages, logger, opts.signal));
    } catch (err) {
      failure = err;
    }
    let report: string | undefined;
    if (opts.report ?? true) {
      try {
        report = (await renderReport({ dir: out })).file;
      } catch (err) {
        logger.warn(`pipeline: could not write the report: ${(err as Error).message}`);
      }
    }
    if (failure) {
      if (report) logger.info(`pipeline: report of the completed stages: ${report}`);
      throw failure;
    }
    return { out, report, state, outcomes, seconds: Math.round((Date.now() - t0) / 100) / 10 };
  } finally {
    await folderLock.release();
  }
}

/** Training images per class in the split. */
async function splitClassCounts(splitFile: string, data: string, labels: string | undefined): Promise<Record<string, number>> {
  const split = JSON.parse(await fs.readFile(splitFile, 'utf8')) as { splits: { train: string[] } };
  const dataset = await loadDataset(data, { labels });
  const train = new Set(split.splits.train);
  const counts: Record<string, number> = {};
  for (const i of dataset.items) if (train.has(i.file)) counts[i.label] = (counts[i.label] ?? 0) + 1;
  return counts;
}

/** Classes of the split's training images (per-class mode trains one GAN for each). */
async function splitClasses(splitFile: string, data: string, labels: string | undefined): Promise<string[]> {
  return Object.keys(await splitClassCounts(splitFile, data, labels)).sort();
}

type TrainCall = Parameters<typeof train>[0];
type TrainResult = Awaited<ReturnType<typeof train>>;

function runSummary(iteration: number, stats: TrainResult['stats'] | undefined): Record<string, unknown> {
  return { iteration, collapse_warning: stats?.collapse_warning ?? false, diversity_ratio: stats?.diversity_ratio };
}

/**
 * The summary of a run folder whose latest checkpoint is at `iters` (a
 * finished run, e.g. by a shard), or undefined. Such a run is left as it is:
 * resuming it would only append a resume entry to its options.json.
 */
async function completedRun(runDir: string, iters: number): Promise<Record<string, unknown> | undefined> {
  if (!(await exists(path.join(runDir, 'options.json')))) return undefined;
  const info = await readRun(runDir).catch(() => undefined);
  if (info?.latest !== iters) return undefined;
  const lines = (await fs.readFile(path.join(runDir, 'stats.jsonl'), 'utf8').catch(() => '')).split('\n').filter(Boolean);
  let last: TrainResult['stats'] | undefined;
  try { last = lines.length ? JSON.parse(lines.at(-1)!) : undefined; } catch { last = undefined; }
  return runSummary(iters, last);
}

/**
 * Continues a run folder that has a checkpoint (an interrupted or killed
 * attempt), when `resume`; otherwise starts it afresh.
 */
async function trainOrResume(resume: boolean, runDir: string, options: TrainCall, logger: Logger, pipelineDir: string): Promise<{ result: TrainResult; resumed: boolean }> {
  if (resume && (await exists(path.join(runDir, 'options.json')))) {
    const info = await readRun(runDir).catch(() => undefined);
    if (info?.latest !== undefined) {
      logger.info(`pipeline: train: resuming ${path.relative(pipelineDir, runDir) || 'train'} from iteration ${info.latest}`);
      return { result: await train({ resume: runDir, iters: options.iters, logger: options.logger, signal: options.signal, progress: options.progress }), resumed: true };
    }
  }
  await fs.rm(runDir, { recursive: true, force: true });
  return { result: await train({ ...options, out: runDir }), resumed: false };
}
