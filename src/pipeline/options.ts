/**
 * The pipeline's options as a caller gives them, and as every stage reads
 * them once checked: budget values filled in, paths absolute, classes sorted.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../util/log.js';
import { CellganError, OptionError } from '../util/errors.js';
import { exists } from '../util/atomic.js';
import * as v from '../util/validate.js';
import { RECIPE_NAMES } from '../dcgan/index.js';
import { BUDGETS, BUDGET_NAMES, type Budget, type BudgetName } from './budgets.js';
import type { StageName } from './state.js';
import { parseShard, type Shard } from './shard.js';

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

export interface ResolvedPipelineOptions {
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

/** Checks every option and the input paths (nothing is written). */
export async function resolvePipelineOptions(opts: PipelineOptions): Promise<ResolvedPipelineOptions> {
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
