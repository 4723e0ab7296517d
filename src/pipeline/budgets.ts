/**
 * Compute budgets for `cellgan pipeline --budget …`. One row per budget: how
 * long the GAN trains, how wide it is, how many images it makes per class and
 * how long the reference classifier trains. `quick` is sized so the bundled
 * demo (7 classes × 30 images, 64 px, conditional) finishes within 15 minutes
 * on a 2-core CPU with the wasm backend (measured: notes/pipeline.md);
 * `test` is a smoke-test size for the test suite only.
 *
 * A budget names a training recipe (how the GAN learns: losses, norms,
 * optimiser; src/dcgan/recipes.ts) and sizes it (how long, how wide, how
 * many images); its width, batch, DiffAugment and EMA fields override the
 * recipe's. With `--init` (fine-tuning) the parent model's settings are used
 * instead and only the iterations, counts and epochs apply.
 */
import { DEFAULT_RECIPE, type RecipeName } from '../dcgan/recipes.js';

export const BUDGET_NAMES = ['test', 'quick', 'standard', 'paper'] as const;
export type BudgetName = (typeof BUDGET_NAMES)[number];

export interface Budget {
  /** Training recipe whose remaining settings (loss, normalisation, optimiser, …) the GAN uses. */
  recipe: RecipeName;
  /** GAN training iterations (total, per run). */
  iters: number;
  /** GAN batch size. */
  batch: number;
  /** Generator / discriminator base widths (DCGAN's 64 at full size). */
  gWidth: number;
  dWidth: number;
  /** Synthetic images generated per class. */
  count: number;
  /** Reference classifier epochs (early stopping may end sooner). */
  classifierEpochs: number;
  /** DiffAugment policy for the GAN ('' = off; it costs ~40% more per iteration on CPU). */
  diffAugment: string;
  /**
   * Decay of the generator's moving average (used for sampling). Its horizon is
   * ~1/(1-decay) iterations, so a short run needs a short one: at 0.999 a
   * 250-iteration run would still be ~78% its random initial weights.
   */
  emaDecay: number;
  /** Checkpoint / grid cadence (iterations). */
  checkpointEvery: number;
  /** Default image size when --size is not given. */
  size: number;
  /** What the row is for, shown in notes and the README's budget table. */
  purpose: string;
  /** What it costs, measured (machine named), shown by `pipeline --help`. */
  cost: string;
}

export const BUDGETS: Record<BudgetName, Budget> = {
  test: {
    recipe: DEFAULT_RECIPE, iters: 4, batch: 8, gWidth: 8, dWidth: 8, count: 6, classifierEpochs: 1, diffAugment: '', emaDecay: 0, checkpointEvery: 2, size: 32,
    purpose: 'smoke test for the test suite (seconds; images are noise)',
    cost: 'seconds',
  },
  quick: {
    recipe: DEFAULT_RECIPE, iters: 300, batch: 32, gWidth: 16, dWidth: 16, count: 30, classifierEpochs: 20, diffAugment: '', emaDecay: 0.99, checkpointEvery: 50, size: 64,
    purpose: 'the bundled demo (npm start: fine-tunes models/pbc-64 on samples/); whole pipeline within 15 min on 2 CPU cores (wasm)',
    cost: 'the demo (npm start) took 4.5 min on a 2-core Intel Xeon VM (6 min on Zen 5 with other jobs beside it)',
  },
  standard: {
    recipe: DEFAULT_RECIPE, iters: 12000, batch: 32, gWidth: 32, dWidth: 32, count: 200, classifierEpochs: 20, diffAugment: 'translation', emaDecay: 0.999, checkpointEvery: 500, size: 64,
    purpose: 'a first model on a real dataset: ~2.5 h of training on 2 Zen 5 cores (0.76 s per iteration, wasm, 2 workers; a slower VM continues with --resume). On PBC (64 px, conditional) 12,000 iterations gave GAN-test 97.9 %, every class ≥ 94 %, GAN-train 82.7 % (docs/quality/latest.json)',
    cost: '~2.5 h of GAN training on 2 Zen 5 cores with --workers 2, more on slower CPUs',
  },
  paper: {
    recipe: DEFAULT_RECIPE, iters: 30000, batch: 64, gWidth: 64, dWidth: 64, count: 1000, classifierEpochs: 40, diffAugment: 'translation', emaDecay: 0.999, checkpointEvery: 2000, size: 64,
    purpose: 'DCGAN-paper widths and long training; for a GPU (tensorflow-gpu backend)',
    cost: '~61 CPU h per class estimated; for a GPU',
  },
};

/** The budget table as markdown (for notes and --help). */
export function budgetTable(): string {
  const rows = BUDGET_NAMES.map((n) => {
    const b = BUDGETS[n];
    return `| ${n} | ${b.recipe} | ${b.iters} | ${b.batch} | ${b.gWidth}/${b.dWidth} | ${b.diffAugment || 'off'} | ${b.emaDecay} | ${b.count} | ${b.classifierEpochs} | ${b.size} | ${b.purpose} |`;
  });
  return ['| budget | recipe | GAN iterations | batch | G/D width | DiffAugment | EMA decay | images per class | classifier epochs | default size | for |', '|---|---|---:|---:|---:|---|---:|---:|---:|---:|---|', ...rows].join('\n');
}

/**
 * What `cellgan jobs` requests per shard for each budget, at the budget's
 * default size on one CPU core (wasm, no workers): minutes to train one
 * class's GAN, and memory. Time scales with the pixel count at other sizes.
 * The sources of these numbers are in README "Running on a cluster".
 */
export interface ClusterEstimate {
  /** Training minutes per class on one CPU core at the budget's default size. */
  minutesPerClass: number;
  /** Peak memory of a shard process, GiB (each --workers thread adds its own copy of the model). */
  memoryGiB: number;
  /** Minutes of the merge's own work (generate, score's classifiers, export). */
  mergeMinutes: number;
}

export const CLUSTER_ESTIMATES: Record<BudgetName, ClusterEstimate> = {
  test: { minutesPerClass: 1, memoryGiB: 1, mergeMinutes: 5 },
  // measured: 0.54 CPU s per iteration (one class of samples/, wasm, AMD EPYC Zen 4) → 2.7 min for 300
  quick: { minutesPerClass: 3, memoryGiB: 1, mergeMinutes: 15 },
  // measured: 1.07 CPU s per sngan-aux iteration on one thread at batch 32, widths 32, 64 px (6,000
  // iterations in 1.78 CPU h, AMD EPYC Zen 5, notes/dcgan.md session 10) → 214 min for 12,000
  standard: { minutesPerClass: 220, memoryGiB: 2, mergeMinutes: 180 },
  // the same bench: 5.2 CPU s × 1.4 (DiffAugment) × 30000 iterations ≈ 61 CPU hours; a GPU is the sensible request
  paper: { minutesPerClass: 3600, memoryGiB: 3, mergeMinutes: 400 },
};
