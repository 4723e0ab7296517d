/**
 * `<dir>/pipeline.json`: what each stage did, so a second run can skip what is
 * complete, resume what was interrupted and redo what changed.
 *
 * A stage is complete when its record says `done` AND its options hash and
 * inputs hash equal the ones the current run computes AND its outputs still
 * exist. The inputs hash is built from the fingerprints of the stages (and
 * the data) it reads, and a fingerprint is a hash of the stage's actual
 * output files, so redoing an upstream stage that produces identical output
 * does not force the downstream ones to run again.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import fg from 'fast-glob';
import { CellganError } from '../util/errors.js';
import { writeJsonAtomic } from '../util/atomic.js';

export const STAGE_NAMES = ['select', 'inspect', 'split', 'train', 'generate', 'score', 'export'] as const;
export type StageName = (typeof STAGE_NAMES)[number];

export type StageStatus = 'running' | 'done' | 'failed' | 'interrupted';

export interface StageRecord {
  status: StageStatus;
  /** sha256 of the stage's options (stable JSON). */
  optionsHash: string;
  /** sha256 of the fingerprints of what it reads. */
  inputsHash: string;
  /** sha256 of its output (set when done). */
  fingerprint?: string;
  /** The stage's options, for people reading the file. */
  options: unknown;
  /** Output paths, relative to the pipeline folder. */
  outputs: Record<string, string>;
  /** A few numbers worth seeing without opening the outputs. */
  summary?: Record<string, unknown>;
  startedAt: string;
  finishedAt?: string;
  /** Wall-clock seconds of the last run of this stage (not summed over resumes). */
  seconds?: number;
  /** How many times it was started on these options (resumes count). */
  attempts: number;
  error?: string;
}

export interface PipelineState {
  format: 'cellgan-pipeline/1';
  tool: { name: 'cellgan'; version: string };
  /** The pipeline options (resolved), last run. */
  options: Record<string, unknown>;
  stages: Partial<Record<StageName, StageRecord>>;
  updatedAt: string;
}

export const STATE_FILE = 'pipeline.json';

/** JSON with sorted keys, so equal values hash equally whatever the key order. */
export function stableStringify(value: unknown): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
}

export function hashValue(value: unknown): string {
  return createHash('sha256').update(stableStringify(value)).digest('hex');
}

export async function readState(dir: string): Promise<PipelineState | undefined> {
  const file = path.join(dir, STATE_FILE);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CellganError(`cannot read the pipeline state: ${(err as Error).message}`, { file });
  }
  let parsed: PipelineState;
  try { parsed = JSON.parse(text) as PipelineState; } catch { throw new CellganError('not valid JSON; delete it (or the whole folder) to start over', { file }); }
  if (parsed?.format !== 'cellgan-pipeline/1' || typeof parsed.stages !== 'object') {
    throw new CellganError('not a cellgan pipeline state file (format cellgan-pipeline/1)', { file });
  }
  return parsed;
}

export async function writeState(dir: string, state: PipelineState): Promise<void> {
  state.updatedAt = new Date().toISOString();
  await writeJsonAtomic(path.join(dir, STATE_FILE), state);
}

/**
 * A fingerprint of files: hash of each file's relative path and content.
 * `patterns` are fast-glob patterns relative to `root`; `ignore` skips logs
 * and other files whose content does not matter downstream.
 */
export async function fingerprintFiles(root: string, patterns: string[], ignore: string[] = []): Promise<string> {
  const files = (await fg(patterns, { cwd: root, onlyFiles: true, dot: false, ignore })).sort();
  const h = createHash('sha256');
  for (const f of files) {
    h.update(f).update('\0');
    h.update(await fs.readFile(path.join(root, f))).update('\0');
  }
  return h.digest('hex');
}

/**
 * A cheap fingerprint of an input data folder: every file's path, size and
 * modification time (hashing the content of 15,000 images on every run
 * would cost more than it saves). Hidden files are left out.
 */
export async function fingerprintData(root: string, labels?: string): Promise<string> {
  const entries = await fg('**/*', { cwd: root, onlyFiles: true, dot: false, stats: true });
  entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const h = createHash('sha256');
  for (const e of entries) h.update(`${e.path}\0${e.stats?.size}\0${Math.round(e.stats?.mtimeMs ?? 0)}\n`);
  if (labels) h.update('labels\0').update(await fs.readFile(labels));
  return h.digest('hex');
}
