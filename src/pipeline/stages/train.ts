/**
 * train: `train()`: one conditional run in `<out>/train/`, or one run per
 * class in `<out>/train/<class>/`, each under its own lock so shards can
 * share the stage (see README "Running on a cluster"). The only stage that
 * resumes an interrupted attempt.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../util/log.js';
import { CellganError, InterruptedError } from '../../util/errors.js';
import { exists } from '../../util/atomic.js';
import { acquireLock, describeHolder, readLock, staleReason } from '../../util/lock.js';
import { train, readRun } from '../../dcgan/index.js';
import { fingerprintFiles } from '../state.js';
import { lockOwner } from '../shard.js';
import type { StageDefinition } from '../runner.js';
import { readsData, splitClasses, type PipelineContext } from './context.js';

/** What a per-class run needed: trained from scratch, resumed from a checkpoint, or nothing (already at its iterations). */
export type ClassRunOutcome = 'trained' | 'resumed' | 'complete';

type TrainCall = Parameters<typeof train>[0];
type TrainResult = Awaited<ReturnType<typeof train>>;

/**
 * The train stage's key and `train()`'s arguments (but `mode`, which picks
 * conditional or per-class runs).
 */
function trainOptions(ctx: PipelineContext) {
  const { mode, size, seed, workers, init, condition, budget } = ctx.options;
  return {
    mode, size, iters: budget.iters, checkpointEvery: budget.checkpointEvery, seed,
    // A fine-tune takes its architecture and recipe from the parent; the budget gives how long.
    ...(init ? { init } : { recipe: budget.recipe, batch: budget.batch, gWidth: budget.gWidth, dWidth: budget.dWidth, diffAugment: budget.diffAugment, emaDecay: budget.emaDecay }),
    // Only when set, so pipeline folders from before this option keep their train stage (train()'s default is 0).
    ...(workers ? { workers } : {}),
    ...(condition ? { condition } : {}),
  };
}

/** `train()`'s arguments for the conditional run (`cls` null) or one class's run. */
function trainCall(ctx: PipelineContext, cls: string | null, signal: AbortSignal | undefined): TrainCall {
  const { mode: _mode, ...options } = trainOptions(ctx);
  return {
    ...options, data: ctx.data, labels: ctx.labels, split: ctx.splitFile,
    gridEvery: options.checkpointEvery, logEvery: Math.max(1, Math.min(10, Math.floor(options.iters / 20))),
    ...(cls === null ? { conditional: true } : { className: cls }),
    logger: ctx.logger, signal, progress: ctx.progress,
  };
}

export function trainStage(ctx: PipelineContext): StageDefinition {
  const { logger, options: r } = ctx;
  return {
    name: 'train', ...readsData(ctx, 'split'), options: trainOptions(ctx), resumable: true,
    beforeClear: (dir) => assertNoLiveClassLocks(dir),
    async run(run) {
      const summary: Record<string, unknown> = {};
      if (r.mode === 'conditional') {
        const { result } = await trainOrResume(ctx, run.resume, run.stageDir, trainCall(ctx, null, ctx.signal));
        summary.conditional = runSummary(result.iteration, result.stats);
        if (result.interrupted) throw new InterruptedError(`training interrupted at iteration ${result.iteration}; run the same command again to resume`);
      } else {
        for (const cls of await splitClasses(ctx)) summary[cls] = (await trainClass(ctx, cls, run.resume)).summary;
      }
      return { outputs: { run: 'train' }, summary };
    },
    async fingerprint(run) {
      return fingerprintFiles(run.stageDir, ['options.json', '*/options.json', 'checkpoints/*/generator_ema/*', '*/checkpoints/*/generator_ema/*']);
    },
  };
}

/** A per-class run's lock, beside its run folder: `train/.<class>.lock`. */
function classLockFile(trainDir: string, cls: string): string { return path.join(trainDir, `.${cls}.lock`); }

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

/**
 * One per-class run under its lock (`train/.<class>.lock`): nothing to do when it already has
 * its iterations, resumed when `resume` and it has a checkpoint, else trained from scratch.
 * Waits while another live process (a shard) holds the lock.
 */
export async function trainClass(ctx: PipelineContext, cls: string, resume: boolean): Promise<{ outcome: ClassRunOutcome; summary: Record<string, unknown> }> {
  const { logger, options: r } = ctx;
  const iters = r.budget.iters;
  const runDir = path.join(ctx.trainDir, cls);
  const lost = new AbortController();
  const lock = await acquireLock(classLockFile(ctx.trainDir, cls), {
    owner: lockOwner(r.shard), wait: true, signal: ctx.signal,
    onWait: (h) => logger.info(`pipeline: train: waiting for ${cls}, which another process trains (${describeHolder(h)})`),
    onStale: (h, reason) => logger.warn(`pipeline: train: ${cls}: taking over the stale lock of ${h?.owner ?? 'an unknown process'} (${reason}); resuming its run`),
    onLost: () => { logger.error(`pipeline: train: ${cls}: another process took this run's lock; stopping`); lost.abort(); },
  });
  try {
    if (resume) {
      const done = await completedRun(runDir, iters);
      if (done) {
        logger.info(`pipeline: train: ${cls} already has its ${iters} iterations, kept`);
        return { outcome: 'complete', summary: done };
      }
    }
    const signal = ctx.signal ? AbortSignal.any([ctx.signal, lost.signal]) : lost.signal;
    const { result, resumed } = await trainOrResume(ctx, resume, runDir, trainCall(ctx, cls, signal));
    if (lost.signal.aborted) throw new CellganError(`lost the lock of the ${cls} run to another process (it was taken over as stale: see README "Running on a cluster")`, { file: runDir });
    if (result.interrupted) throw new InterruptedError(`training interrupted at iteration ${result.iteration}; run the same command again to resume`);
    return { outcome: resumed ? 'resumed' : 'trained', summary: runSummary(result.iteration, result.stats) };
  } finally {
    await lock.release();
  }
}

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
async function trainOrResume(ctx: PipelineContext, resume: boolean, runDir: string, options: TrainCall): Promise<{ result: TrainResult; resumed: boolean }> {
  if (resume && (await exists(path.join(runDir, 'options.json')))) {
    const info = await readRun(runDir).catch(() => undefined);
    if (info?.latest !== undefined) {
      ctx.logger.info(`pipeline: train: resuming ${path.relative(ctx.options.out, runDir) || 'train'} from iteration ${info.latest}`);
      return { result: await train({ resume: runDir, iters: options.iters, logger: options.logger, signal: options.signal, progress: options.progress }), resumed: true };
    }
  }
  await fs.rm(runDir, { recursive: true, force: true });
  return { result: await train({ ...options, out: runDir }), resumed: false };
}
