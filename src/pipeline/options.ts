/**
 * The pipeline's options as a caller gives them, and as every stage reads
 * them once checked: budget values filled in, paths absolute, classes sorted.
 * PIPELINE_OPTIONS states each option once (src/util/options.ts): the
 * library resolves from it and `cellgan pipeline` builds its command line
 * from it; `cellgan jobs` (jobs.ts) passes the same options on.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../util/log.js';
import { CellganError, OptionError } from '../util/errors.js';
import { exists } from '../util/atomic.js';
import * as v from '../util/validate.js';
import { checkOption, integer, nestedIn, oneOf, resolveOptions, text, type OptionSpec, type OptionTable } from '../util/options.js';
import { RECIPE_NAMES, TRAIN_SETTINGS } from '../dcgan/index.js';
import { MODEL_SIZES } from '../dcgan/models.js';
import { BUDGETS, BUDGET_NAMES, type Budget, type BudgetName } from './budgets.js';
import { STAGE_NAMES, type StageName } from './state.js';
import { SHARD_OPTION, type Shard } from './shard.js';

export const PIPELINE_MODES = ['conditional', 'per-class'] as const;
export type PipelineMode = (typeof PIPELINE_MODES)[number];

export interface PipelineOptions {
  /** ImageFolder root; with `labels`, a folder a relative `labels` path is also looked for in (a labels CSV's paths are relative to the CSV). */
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
  /** Condition the conditional GAN on this labels-CSV column (train --condition); needs `labels`. */
  condition?: string;
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
  condition?: string;
  shard?: Shard;
}

/** --classes: a comma-separated list (or an array) of at least 2 different class names, in the order given. */
const CLASSES_OPTION = {
  type: 'string',
  help: 'only these classes, comma-separated (at least 2)',
  check: (value: unknown, name: string): string[] => {
    const list = (Array.isArray(value) ? value : String(value).split(',')).map((c) => String(c).trim()).filter(Boolean);
    if (list.length < 2 || new Set(list).size !== list.length) throw v.invalid(name, 'a comma-separated list of at least 2 different class names', value);
    return list;
  },
} as const satisfies OptionSpec<string[]>;

/** What the pipeline computes from and with: the options a cluster job passes on to each task unchanged (jobs.ts). */
export const PIPELINE_INPUT_OPTIONS = {
  data: { ...text, required: true, help: 'ImageFolder root (<class>/<image>); with --labels, a folder a relative --labels path is also looked for in (the CSV\'s paths are relative to the CSV)' },
  out: { ...text, required: true, help: 'pipeline folder: each stage writes <out>/<stage>/, plus pipeline.json and report.html; run again to skip completed stages and resume training' },
  labels: { ...text, help: 'labels CSV with columns file,class' },
  classes: CLASSES_OPTION,
  budget: {
    ...oneOf(BUDGET_NAMES), default: 'quick',
    help: `compute budget: ${BUDGET_NAMES.map((b) => `${b} (${BUDGETS[b].recipe} recipe, ${BUDGETS[b].iters} GAN iterations, widths ${BUDGETS[b].gWidth}, ${BUDGETS[b].count} images/class; ${BUDGETS[b].cost})`).join('; ')}`,
  },
  // train's sizes; no constant default: the budget's applies (resolvePipelineOptions).
  size: {
    ...oneOf(MODEL_SIZES), help: `image size, ${MODEL_SIZES.join(', ')}`,
    defaultHelp: `the budget's (${BUDGET_NAMES.map((b) => `${b} ${BUDGETS[b].size}`).join(', ')})`,
  },
  seed: { ...TRAIN_SETTINGS.seed, help: 'seed of the split, training, generation and export' },
} satisfies OptionTable;

/**
 * Single budget fields the command line can change (--iters and --recipe as
 * train checks them). The library takes them as `overrides` (any budget
 * field), whose merged values resolvePipelineOptions checks; `cellgan jobs`
 * takes them flat and checks them here.
 */
export const BUDGET_OVERRIDE_OPTIONS = {
  iters: { type: TRAIN_SETTINGS.iters.type, check: TRAIN_SETTINGS.iters.check, defaultHelp: 'the budget\'s', help: 'override the budget\'s GAN iterations' },
  count: { ...integer(1), defaultHelp: 'the budget\'s', help: 'override the budget\'s synthetic images per class' },
  recipe: { ...TRAIN_SETTINGS.recipe, defaultHelp: 'the budget\'s', help: 'override the budget\'s training recipe' },
} satisfies OptionTable;

/** --init (conditional mode only; `cellgan jobs` lists it and refuses it). */
export const INIT_OPTION = {
  ...text, help: 'fine-tune this run or shipped model (e.g. models/pbc-64) instead of training from scratch; its architecture and recipe are used',
} as const satisfies OptionSpec<string>;

/** train's --workers, for the pipeline's GAN and score's classifiers. */
export const PIPELINE_WORKERS_OPTION = {
  ...TRAIN_SETTINGS.workers,
  help: 'train the GAN and the score classifiers data-parallel over this many worker threads (2 uses both cores of a 2-core machine on wasm; 0: in the main thread). A different count trains different models (batch norm sees each worker\'s shard)',
} as const satisfies OptionSpec<number>;

/** `cellgan pipeline`'s options (the library's but logger, signal, progress, report and overrides beyond these). */
export const PIPELINE_OPTIONS = {
  ...PIPELINE_INPUT_OPTIONS,
  ...nestedIn(BUDGET_OVERRIDE_OPTIONS, 'overrides'),
  init: INIT_OPTION,
  condition: { ...TRAIN_SETTINGS.condition, help: 'the labels-CSV column the GAN is conditioned on, e.g. fine_class (train --condition; needs --labels, conditional mode, no --classes); its images are still generated, scored and exported under their classes' },
  workers: PIPELINE_WORKERS_OPTION,
  mode: { ...oneOf(PIPELINE_MODES), default: 'conditional', help: 'one class-conditional GAN, or one GAN per class' },
  shard: SHARD_OPTION,
  // Without --classes there is no select stage: runAll refuses --until select then.
  until: { ...oneOf(STAGE_NAMES), help: 'stop after this stage' },
} satisfies OptionTable;

function inside(parent: string, child: string): boolean {
  const r = path.relative(parent, child);
  return r === '' || (!r.startsWith('..') && !path.isAbsolute(r));
}

/** Checks every option and the input paths (nothing is written). */
export async function resolvePipelineOptions(opts: PipelineOptions): Promise<ResolvedPipelineOptions> {
  const o = resolveOptions(PIPELINE_OPTIONS, opts);
  const budgetName = o.budget;
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
  // A budget's values apply where an option isn't given.
  const size = o.size ?? checkOption(PIPELINE_OPTIONS, 'size', budget.size);
  const { mode, seed, workers } = o;
  v.oneOf('recipe', budget.recipe, RECIPE_NAMES);
  let init: string | undefined;
  if (o.init !== undefined) {
    init = path.resolve(o.init);
    if (mode !== 'conditional') throw v.invalid('--mode', '"conditional" with --init (the shipped models are conditional)', mode);
    if (!(await exists(path.join(init, 'options.json')))) throw new CellganError('not a cellgan run or model folder (no options.json)', { file: opts.init });
  }
  const classes = o.classes && [...o.classes].sort();
  const condition = o.condition;
  if (condition !== undefined) {
    if (mode !== 'conditional') throw v.invalid('--mode', '"conditional" with --condition (it conditions one conditional model)', mode);
    if (o.labels === undefined) throw new OptionError('--condition names a column of the labels CSV: pass --labels');
    // The select stage copies class folders, which have no such column.
    if (classes) throw new OptionError('--condition does not go with --classes (the selected copy has class folders, not the CSV\'s columns)');
  }
  const shard = o.shard;
  if (shard !== undefined) {
    if (mode !== 'per-class') throw new OptionError(`--shard splits the per-class GANs over processes: expected --mode per-class, received --mode ${mode} (a conditional GAN is one run)`);
    if (opts.until !== undefined) throw new OptionError('--until does not go with a shard: a shard always stops after its share of the train stage');
  }
  const data = path.resolve(o.data);
  const out = path.resolve(o.out);
  const st = await fs.stat(data).catch(() => null);
  if (!st) throw new CellganError('no such data folder', { file: opts.data });
  const labels = o.labels !== undefined ? path.resolve(o.labels) : undefined;
  if (labels && !(await exists(labels))) throw new CellganError('no such labels file', { file: opts.labels });
  // The data fingerprint would include our own outputs, and inputs are never written to.
  const dataRoot = st.isDirectory() ? data : path.dirname(data);
  if (inside(dataRoot, out)) throw new CellganError('the pipeline folder must not be inside the data folder (inputs are never modified)', { file: opts.out });
  return { data, labels, out, classes, budgetName, budget, size, mode, seed, workers, shard, ...(init ? { init } : {}), ...(condition ? { condition } : {}) };
}
