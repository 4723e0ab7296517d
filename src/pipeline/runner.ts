/**
 * Runs a list of stages in order against `<dir>/pipeline.json`: skips a stage
 * that is complete with the same options and inputs, resumes one that was
 * interrupted (when it can resume), and otherwise clears its folder and runs
 * it again. Knows nothing about what the stages do.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../util/log.js';
import { exists } from '../util/atomic.js';
import { InterruptedError } from '../util/errors.js';
import { hashValue, writeState, type PipelineState, type StageName, type StageRecord } from './state.js';

export interface StageRunContext {
  /** The pipeline folder. */
  dir: string;
  /** `<dir>/<stage>`; cleared before a fresh run, kept for a resume. */
  stageDir: string;
  /** True when a previous attempt with the same options and inputs was interrupted and the stage may continue it. */
  resume: boolean;
  logger: Logger;
}

export interface StageResult {
  /** Output paths relative to the pipeline folder (checked for existence before a skip). */
  outputs: Record<string, string>;
  summary?: Record<string, unknown>;
}

export interface StageDefinition {
  name: StageName;
  /** Stages whose output this one reads (their fingerprints go into its inputs hash). */
  reads: StageName[];
  /** Other things it reads, e.g. the input data's fingerprint. */
  extraInputs?: unknown;
  /** The options that decide its output (hashed). */
  options: unknown;
  /** Can continue an interrupted attempt (train). */
  resumable?: boolean;
  /** Called before the stage folder is cleared for a fresh run; throws to refuse (e.g. a live shard still writes in it). */
  beforeClear?(stageDir: string): Promise<void>;
  run(ctx: StageRunContext): Promise<StageResult>;
  /** A hash of what it wrote, read by the stages after it. */
  fingerprint(ctx: StageRunContext, result: StageResult): Promise<string>;
}

export type StageOutcome = 'skipped' | 'ran' | 'resumed';

export interface RunStagesResult {
  outcomes: Partial<Record<StageName, StageOutcome>>;
}

async function outputsExist(dir: string, outputs: Record<string, string>): Promise<boolean> {
  for (const rel of Object.values(outputs)) if (!(await exists(path.join(dir, rel)))) return false;
  return true;
}

function now(): string { return new Date().toISOString(); }

/** The hashes that decide whether `stage`'s previous record still holds. */
function stageKey(state: PipelineState, stage: StageDefinition): { optionsHash: string; inputsHash: string; prev?: StageRecord } {
  const optionsHash = hashValue(stage.options);
  const upstream = stage.reads.map((r) => {
    const rec = state.stages[r];
    if (rec?.status !== 'done' || !rec.fingerprint) throw new Error(`stage ${stage.name} needs ${r}, which has not completed`);
    return [r, rec.fingerprint];
  });
  const inputsHash = hashValue({ upstream, extra: stage.extraInputs ?? null });
  const prev = state.stages[stage.name];
  return { optionsHash, inputsHash, prev };
}

/**
 * For a shard (one of several processes sharing a resumable stage, each
 * doing part of it): `'done'` when the stage is already complete; otherwise
 * makes sure the stage folder holds an attempt with the current options and
 * inputs, recorded as `running` (so the plain run afterwards resumes it and
 * keeps what the shards finished): `'joined'` when one was there, `'started'`
 * when this call cleared the folder and recorded a new attempt. The caller
 * must hold the pipeline folder's lock while calling it.
 */
export async function openSharedStage(dir: string, state: PipelineState, stage: StageDefinition, logger: Logger): Promise<'done' | 'joined' | 'started'> {
  const stageDir = path.join(dir, stage.name);
  const { optionsHash, inputsHash, prev } = stageKey(state, stage);
  const same = prev && prev.optionsHash === optionsHash && prev.inputsHash === inputsHash;
  if (same && prev.status === 'done' && prev.fingerprint && (await outputsExist(dir, prev.outputs))) return 'done';
  if (same && (prev.status === 'running' || prev.status === 'interrupted') && (await exists(stageDir))) return 'joined';
  if (prev) logger.info(`pipeline: ${stage.name}: ${!same ? 'options or inputs changed' : prev.status === 'done' ? 'outputs missing' : `previous attempt ${prev.status}`}, starting it again from scratch`);
  await stage.beforeClear?.(stageDir);
  await fs.rm(stageDir, { recursive: true, force: true });
  await fs.mkdir(stageDir, { recursive: true });
  state.stages[stage.name] = { status: 'running', optionsHash, inputsHash, options: stage.options, outputs: {}, startedAt: now(), attempts: 1, summary: { sharded: true } };
  await writeState(dir, state);
  return 'started';
}

/** Runs `stages` in order, recording each in `state` (written to `<dir>/pipeline.json` after every change). */
export async function runStages(dir: string, state: PipelineState, stages: StageDefinition[], logger: Logger, signal?: AbortSignal): Promise<RunStagesResult> {
  const outcomes: RunStagesResult['outcomes'] = {};
  for (const stage of stages) {
    // Stopped (Ctrl-C) during a stage that cannot be interrupted: do not start the next one.
    if (signal?.aborted) throw new InterruptedError(`stopped before the ${stage.name} stage; run the same command again to continue`);
    const stageDir = path.join(dir, stage.name);
    const { optionsHash, inputsHash, prev } = stageKey(state, stage);
    const same = prev && prev.optionsHash === optionsHash && prev.inputsHash === inputsHash;

    if (same && prev.status === 'done' && prev.fingerprint && (await outputsExist(dir, prev.outputs))) {
      logger.info(`pipeline: ${stage.name}: already complete, skipped`);
      outcomes[stage.name] = 'skipped';
      continue;
    }

    // A killed (still 'running') or interrupted attempt continues; a failed one starts clean, since
    // continuing would likely fail the same way (e.g. a NaN loss resumes into the same NaN).
    const resume = Boolean(same && stage.resumable && (prev.status === 'running' || prev.status === 'interrupted') && (await exists(stageDir)));
    if (!resume) {
      if (prev) logger.info(`pipeline: ${stage.name}: ${!same ? 'options or inputs changed' : prev.status === 'done' ? 'outputs missing' : `previous attempt ${prev.status}`}, running again from scratch`);
      await stage.beforeClear?.(stageDir);
      await fs.rm(stageDir, { recursive: true, force: true });
    } else {
      logger.info(`pipeline: ${stage.name}: resuming the interrupted attempt`);
    }
    // Downstream records stay: their inputs hash decides later whether they are still valid.

    const record: StageRecord = {
      status: 'running', optionsHash, inputsHash, options: stage.options, outputs: {},
      startedAt: now(), attempts: (resume && prev ? prev.attempts : 0) + 1,
    };
    state.stages[stage.name] = record;
    await writeState(dir, state);

    const ctx: StageRunContext = { dir, stageDir, resume, logger };
    const t0 = Date.now();
    logger.info(`pipeline: ${stage.name}: running`);
    try {
      const result = await stage.run(ctx);
      record.outputs = result.outputs;
      record.summary = result.summary;
      record.fingerprint = await stage.fingerprint(ctx, result);
      record.status = 'done';
    } catch (err) {
      record.status = err instanceof InterruptedError ? 'interrupted' : 'failed';
      record.error = (err as Error)?.message ?? String(err);
      throw err;
    } finally {
      record.finishedAt = now();
      record.seconds = Math.round((Date.now() - t0) / 100) / 10;
      await writeState(dir, state);
    }
    logger.info(`pipeline: ${stage.name}: done in ${record.seconds}s`);
    outcomes[stage.name] = resume ? 'resumed' : 'ran';
  }
  return { outcomes };
}
