/**
 * `cellgan pipeline`: inspect → split → train → generate → score → export on
 * one dataset, each stage writing under `<out>/<stage>/` (one file each in
 * stages/), with `<out>/pipeline.json` recording what is complete (see
 * state.ts) and `<out>/report.html` summarising it (see report.ts).
 *
 * With `classes`, a `select` stage first copies those classes' images into
 * `<out>/select/data/` (the input is never modified, and every later stage
 * sees exactly the chosen classes whatever it derives its class list from).
 *
 * runPipeline: options → pipeline folder (lock, state) → stages → run them
 * (all of them, or a shard's share of train) → report.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { silentLogger, type Logger } from '../util/log.js';
import { CellganError } from '../util/errors.js';
import * as v from '../util/validate.js';
import { VERSION } from '../version.js';
import { loadDataset } from '../data/dataset.js';
import type { Dataset } from '../data/types.js';
import { resolvePipelineOptions, type PipelineOptions, type ResolvedPipelineOptions } from './options.js';
import { fingerprintData, readState, writeState, type PipelineState, type StageName } from './state.js';
import { openSharedStage, runStages, type StageDefinition, type StageOutcome } from './runner.js';
import { lockOwner, shardClasses, type Shard } from './shard.js';
import { acquireLock, describeHolder, LockHeldError, type Lock } from '../util/lock.js';
import { renderReport } from './report.js';
import { splitClasses, type PipelineContext } from './stages/context.js';
import { selectStage } from './stages/select.js';
import { inspectStage } from './stages/inspect.js';
import { splitStage } from './stages/split.js';
import { trainClass, trainStage, type ClassRunOutcome } from './stages/train.js';
import { generateStage } from './stages/generate.js';
import { scoreStage } from './stages/score.js';
import { exportStage } from './stages/export.js';

export { PIPELINE_MODES } from './options.js';
export type { PipelineOptions, PipelineMode } from './options.js';
export type { ClassRunOutcome } from './stages/train.js';

export interface PipelineResult {
  out: string;
  report?: string;
  state: PipelineState;
  outcomes: Partial<Record<StageName, StageOutcome>>;
  seconds: number;
  /** Set for a shard run: its classes and what it did with each. */
  shard?: Shard & { classes: string[]; runs: Record<string, ClassRunOutcome>; trainComplete: boolean };
}

/** Runs the pipeline (see the module comment). */
export async function runPipeline(opts: PipelineOptions): Promise<PipelineResult> {
  const t0 = Date.now();
  const logger = opts.logger ?? silentLogger;
  const r = await resolvePipelineOptions(opts);
  await fs.mkdir(r.out, { recursive: true });
  const folderLock = await takeFolderLock(r.out, r.shard, logger, opts.signal);
  try {
    const { ctx, state, input, inputFingerprint } = await openPipelineFolder(r, opts, logger);
    const stages: StageDefinition[] = [
      ...(r.classes ? [selectStage(ctx, input, inputFingerprint)] : []),
      inspectStage(ctx), splitStage(ctx), trainStage(ctx), generateStage(ctx), scoreStage(ctx), exportStage(ctx),
    ];
    if (r.shard) return { ...(await runShard(ctx, r.shard, state, stages, folderLock)), seconds: secondsSince(t0) };
    return { ...(await runAll(ctx, opts, state, stages)), seconds: secondsSince(t0) };
  } finally {
    await folderLock.release();
  }
}

function secondsSince(t0: number): number { return Math.round((Date.now() - t0) / 100) / 10; }

/** The pipeline folder's lock: held by a plain run throughout, by a shard while it prepares (see README "Running on a cluster"). */
const FOLDER_LOCK = '.pipeline.lock';

/**
 * A plain run refuses a folder another live process has locked; a shard
 * waits for it (other shards hold it only while they prepare).
 */
async function takeFolderLock(out: string, shard: Shard | undefined, logger: Logger, signal?: AbortSignal): Promise<Lock> {
  try {
    return await acquireLock(path.join(out, FOLDER_LOCK), {
      owner: lockOwner(shard), wait: Boolean(shard), signal,
      onWait: (h) => logger.info(`pipeline: waiting for the pipeline folder's lock (${describeHolder(h)})`),
      onStale: (h, reason) => logger.warn(`pipeline: taking over a stale lock of ${h?.owner ?? 'an unknown process'}: ${reason}`),
    });
  } catch (err) {
    if (err instanceof LockHeldError) throw new CellganError(`another cellgan pipeline is running on this folder (${describeHolder(err.holder)})`, { file: out });
    throw err;
  }
}

/**
 * Under the folder lock: refuses a folder that is not a pipeline folder,
 * reads the input, and records this run's options in pipeline.json (a new
 * state, or the previous run's, whose stage records decide what resumes).
 */
async function openPipelineFolder(r: ResolvedPipelineOptions, opts: PipelineOptions, logger: Logger): Promise<{ ctx: PipelineContext; state: PipelineState; input: Dataset; inputFingerprint: string }> {
  const { out } = r;
  // A non-empty folder that is not a pipeline folder is refused: it is someone else's. (Read under
  // the lock: a shard that started first may be writing the folder.)
  const entries = (await fs.readdir(out)).filter((n) => !n.startsWith('.'));
  const previous = await readState(out);
  if (!previous && entries.length) throw new CellganError('output folder exists, is not empty and holds no pipeline.json; choose a new --out', { file: out, exitCode: 1 });
  const input = await loadDataset(r.data, { labels: r.labels });
  const inputFingerprint = await fingerprintData(input.root, r.labels);

  // Where later stages read the data from: the input, or the copy of the chosen classes.
  const selected = r.classes ? path.join(out, 'select', 'data') : undefined;
  const ctx: PipelineContext = {
    options: r,
    data: selected ?? r.data,
    labels: selected ? (input.source === 'csv' ? path.join(selected, 'labels.csv') : undefined) : r.labels,
    splitFile: path.join(out, 'split', 'split.json'),
    trainDir: path.join(out, 'train'),
    generateDir: path.join(out, 'generate'),
    ...(selected ? {} : { dataInput: { data: inputFingerprint } }),
    logger, signal: opts.signal, progress: opts.progress,
  };

  const state: PipelineState = previous ?? { format: 'cellgan-pipeline/1', tool: { name: 'cellgan', version: VERSION }, options: {}, stages: {}, updatedAt: '' };
  state.tool = { name: 'cellgan', version: VERSION };
  state.options = {
    data: r.data, labels: r.labels ?? null, classes: r.classes ?? null, budget: r.budgetName, budgetValues: r.budget,
    size: r.size, mode: r.mode, seed: r.seed, dataRoot: selected ?? input.root,
  };
  // Without --classes there is no select stage; its old record would only mislead.
  if (!r.classes) delete state.stages.select;
  await writeState(out, state);
  return { ctx, state, input, inputFingerprint };
}

/**
 * A shard: under the folder lock, the shared stages before train (the first
 * shard runs them, the others find them complete) and the train stage's
 * record, so no two shards clear or record it at once; then, without the
 * lock, this shard's per-class runs.
 */
async function runShard(ctx: PipelineContext, shard: Shard, state: PipelineState, stages: StageDefinition[], folderLock: Lock): Promise<Omit<PipelineResult, 'seconds'>> {
  const { logger, options: { out } } = ctx;
  const train = stages.findIndex((s) => s.name === 'train');
  logger.info(`pipeline: shard ${shard.index}/${shard.count} (from ${shard.source}): the stages before train, then this shard's per-class GANs`);
  await runStages(out, state, stages.slice(0, train), logger, ctx.signal);
  const opened = await openSharedStage(out, state, stages[train], logger);
  await folderLock.release();
  const all = await splitClasses(ctx);
  const mine = shardClasses(all, shard);
  const runs: Record<string, ClassRunOutcome> = {};
  if (opened === 'done') {
    logger.info('pipeline: the train stage is already complete; nothing for this shard to do');
  } else {
    logger.info(`pipeline: shard ${shard.index}/${shard.count} trains ${mine.length ? mine.join(', ') : 'no class'} (${mine.length} of ${all.length} classes: class k in name order goes to shard k mod ${shard.count})`);
    for (const cls of mine) runs[cls] = (await trainClass(ctx, cls, true)).outcome;
    logger.info(`pipeline: shard ${shard.index}/${shard.count} done (${Object.entries(runs).map(([c, o]) => `${c}: ${o}`).join(', ') || 'nothing'}); once every shard has finished, run the same command without a shard on this folder to merge`);
  }
  return { out, state, outcomes: {}, shard: { ...shard, classes: mine, runs, trainComplete: opened === 'done' } };
}

/** Every stage up to `until`, then the report (written after a failed stage too, from what completed). */
async function runAll(ctx: PipelineContext, opts: PipelineOptions, state: PipelineState, stages: StageDefinition[]): Promise<Omit<PipelineResult, 'seconds'>> {
  const { logger, options: { out } } = ctx;
  if (opts.until !== undefined) {
    const stop = v.oneOf('--until', opts.until, stages.map((s) => s.name));
    stages = stages.slice(0, stages.findIndex((s) => s.name === stop) + 1);
  }
  let outcomes: Partial<Record<StageName, StageOutcome>> = {};
  let failure: unknown;
  try {
    ({ outcomes } = await runStages(out, state, stages, logger, ctx.signal));
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
  return { out, report, state, outcomes };
}
