import type { Logger } from '../util/log.js';
import type { Augmentation } from './diffaugment.js';
import type { DNorm, GConditioning, ModelSpec } from './models.js';
import type { GanLoss } from './step.js';
import type { ParentRecord } from './transfer.js';
import type { RecipeName } from './recipes.js';

/** Defaults (a recipe's, or constants), ranges and help: TRAIN_OPTIONS (train-options.ts). */
export interface TrainOptions {
  /** ImageFolder root (or the folder of `labels`). Required for a new run. */
  data?: string;
  /** A labels CSV (passed to loadDataset). */
  labels?: string;
  /** A split file: train only on its `train` subset. */
  split?: string;
  /** Train a model for this one class… */
  className?: string;
  /** …or one class-conditional model for all classes (exactly one of the two). */
  conditional?: boolean;
  /** Conditional, with a labels CSV: the column whose values are the model's classes (each within one class). */
  condition?: string;
  /** Named recipe (recipes.ts) whose settings fill every option not given. */
  recipe?: RecipeName;
  /** Image size: one of MODEL_SIZES. */
  size?: number;
  /** Total iterations of the run (also when resuming). */
  iters: number;
  /** Batch size. */
  batch?: number;
  /** New run folder (refused when non-empty unless force). */
  out?: string;
  /** Continue this run folder instead (only `iters` and runtime options may be given). */
  resume?: string;
  force?: boolean;
  /** Seed of everything random (weights, batches, noise, augmentation). */
  seed?: number;
  /** Generator / discriminator base widths. */
  gWidth?: number;
  dWidth?: number;
  /** Noise dimension. */
  nz?: number;
  /** Adam's learning rate and betas. */
  lr?: number;
  beta1?: number;
  beta2?: number;
  /** DiffAugment policy (subset of AUGMENTATIONS; '' or 'none': none). */
  diffAugment?: Augmentation[] | string;
  /** EMA decay of the generator weights kept as generator_ema (0 = copy of G). */
  emaDecay?: number;
  /** EMA warm-up: the half-life is at most this fraction of the iterations so far (0 = TF's (1+t)/(10+t)). */
  emaRampup?: number;
  /** GAN loss: 'bce' (non-saturating) or 'hinge'. */
  loss?: GanLoss;
  /** D normalisation: 'batch' or 'spectral'. */
  dNorm?: DNorm;
  /** How a conditional G sees the class: 'input' or 'batchnorm' (conditional batch norm). */
  gConditioning?: GConditioning;
  /** D's learning rate (the recipe's, else `lr`; two time-scale update rule when they differ). */
  dLr?: number;
  /** Conditional models: draw each real image's class uniformly (class-balanced batches). */
  balancedClasses?: boolean;
  /** Conditional models: weight of the auxiliary-classifier loss (D learns the class of real images, G is pushed toward images D classifies as their label; 0 = off). */
  auxWeight?: number;
  /** With auxWeight > 0: add the twin classifier (TAC-GAN) so the aux term matches, not sharpens, G's classes. */
  auxTwin?: boolean;
  /** With auxTwin: one softmax over the aux and twin heads, real k against generated k (ADC-GAN), instead of two (TAC-GAN). */
  auxJoint?: boolean;
  /** With auxWeight > 0: the class heads read their own unnormalised copy of D's last N conv blocks (0 = D's shared features). */
  auxBranch?: number;
  /** With auxWeight > 0: G's class term counts a generated image only where its cross-entropy exceeds the aux head's mean on the real batch (false = every image). */
  auxFloor?: boolean;
  /** With auxWeight > 0: ReACGAN's class head and data-to-data cross-entropy instead of the softmax head (false = softmax). */
  auxD2d?: boolean;
  /** Weight of the mode-seeking term (MSGAN; step.ts): G is paid for different noises giving different images of a class (0 = off). */
  modeSeekingWeight?: number;
  /** Fine-tune: start G, its EMA and D from this run folder or shipped model (its settings become the defaults). */
  init?: string;
  /** Fine-tune: a class the parent lacks starts from this parent class (else from the mean of the parent's classes). */
  initClass?: string;
  /** Fine-tune (FreezeD): keep D's first N conv blocks fixed. */
  freezeD?: number;
  /** Iterations between stats lines, grids and checkpoints. */
  logEvery?: number;
  gridEvery?: number;
  checkpointEvery?: number;
  /** Checkpoints kept (the newest ones). */
  keepCheckpoints?: number;
  /** Mode-collapse alarm: sample diversity / real diversity below this warns… */
  collapseThreshold?: number;
  /** …once this many iterations have run (early G outputs are near-constant). */
  collapseAfter?: number;
  /** Worker threads computing data-parallel gradients (0 = this thread). Saved: results depend on it. */
  workers?: number;
  /** Runtime (not saved): logger, abort signal (→ checkpoint, result.interrupted), progress bar. */
  logger?: Logger;
  signal?: AbortSignal;
  progress?: boolean;
  /** Called after each completed iteration (e.g. to watch tf.memory() or drive a UI). */
  onIteration?: (iteration: number) => void;
  /** Test-only fault injection. */
  faults?: { nanAtIteration?: number; failCheckpointAt?: number };
}

export interface TrainStats {
  iteration: number;
  d_loss: number;
  g_loss: number;
  d_real: number;
  d_fake: number;
  images_per_sec: number;
  wall_time_s: number;
  /** CPU seconds of training so far (all threads of the process, workers included; absent in older runs). */
  cpu_time_s?: number;
  /** Mean pairwise RMS pixel distance of a fixed batch of samples (current G). */
  diversity: number;
  /** The same over real training images. */
  real_diversity: number;
  diversity_ratio: number;
  collapse_warning?: boolean;
  /** With the auxiliary classifier: its cross-entropy on real images (D step) and on G's images (G step). */
  d_aux_loss?: number;
  g_aux_loss?: number;
  /** With the mode-seeking term: mean image/noise distance ratio of same-label pairs in G's batches. */
  g_ms_ratio?: number;
}

export interface TrainResult {
  runDir: string;
  /** Iterations completed. */
  iteration: number;
  /** The last checkpoint folder. */
  checkpoint: string;
  /** True when stopped by the abort signal (a checkpoint was saved). */
  interrupted: boolean;
  classes: string[];
  /** The last stats line, if any. */
  stats?: TrainStats;
}

/** The saved options.json of a run. */
export interface RunOptionsFile {
  format: 'cellgan-dcgan-run/1';
  options: {
    /** Absent in runs made before recipes existed (= 'dcgan'). */
    recipe?: RecipeName;
    data: string; labels: string | null; split: string | null; className: string | null; conditional: boolean;
    size: number; iters: number; batch: number; seed: number; gWidth: number; dWidth: number; nz: number;
    lr: number; beta1: number; beta2: number; diffAugment: Augmentation[]; emaDecay: number;
    /** The next six are absent in runs made before they existed (= the 'dcgan' recipe's values). */
    emaRampup: number; loss: GanLoss; dNorm: DNorm; gConditioning: GConditioning; dLr: number; balancedClasses: boolean;
    /** Absent in runs made before fine-tuning existed (= null, null, 0). */
    init: string | null; initClass: string | null; freezeD: number;
    /** Absent in runs made before the options existed (= 0, false). */
    auxWeight: number; auxTwin: boolean;
    /** Absent in runs made before the option existed (= false). */
    auxJoint: boolean;
    /** Absent in runs made before the option existed (= 0). */
    auxBranch: number;
    /** Absent in runs made before the option existed (= false). */
    auxFloor: boolean;
    /** Absent in runs made before the option existed (= false). */
    auxD2d: boolean;
    /** Absent in runs made before the option existed (= 0). */
    modeSeekingWeight: number;
    logEvery: number; gridEvery: number; checkpointEvery: number; keepCheckpoints: number;
    collapseThreshold: number; collapseAfter: number;
    /** Absent in runs made before the option existed (= 0). */
    workers?: number;
    /** The labels-CSV column whose values are the model's classes (absent in older runs = null). */
    condition?: string | null;
  };
  model: ModelSpec;
  /** The model's classes: the values of options.condition when given, else the data's classes. */
  classes: string[];
  /**
   * With options.condition: each of the model's classes → the data class its images belong to
   * (generate writes, and score and export count, under these). Absent otherwise.
   */
  classGroups?: Record<string, string>;
  conditionalMethod: string | null;
  trainImages: number;
  imagesPerClass: Record<string, number>;
  skippedImages: { file: string; reason: string }[];
  backend: { name: string; package: string; tfjsVersion: string };
  versions: { cellgan: string; tfjs: string; node: string };
  /** The machine the run started on (absent in older runs). */
  machine?: { cpu: string; cores: number; platform: string };
  created: string;
  resumes: { fromIteration: number; iters: number; backend: string; time: string }[];
  /** The model a fine-tune started from (absent otherwise). */
  parent?: ParentRecord;
}

export interface RunInfo {
  runDir: string;
  options: RunOptionsFile;
  /** The model's classes (its conditions). */
  classes: string[];
  /** The classes its images are written under: classGroups' values when it has them, else `classes`. */
  outputClasses: string[];
  /** Completed checkpoint iterations, ascending. */
  checkpoints: number[];
  latest?: number;
}

/** Defaults, ranges and help: GENERATE_OPTIONS (generate.ts). */
export interface GenerateOptions {
  /** Run folder (from train). */
  model: string;
  /** Checkpoint iteration (absent: the latest). */
  checkpoint?: number;
  /** Images per class. */
  count: number;
  /** Only this class (conditional models make every class otherwise). */
  className?: string;
  /** A model trained with --condition: one folder per condition instead of per class. */
  byCondition?: boolean;
  out: string;
  seed?: number;
  batch?: number;
  force?: boolean;
  /** Use generator (raw) instead of generator_ema. */
  raw?: boolean;
  /** Factor on every noise vector (default 1). */
  noiseScale?: number;
  /** Batches of standing batch-norm statistics computed before sampling (0 = the stored statistics). */
  standingStats?: number;
  logger?: Logger;
  signal?: AbortSignal;
  progress?: boolean;
}

export interface ManifestRow {
  file: string; class: string; run: string; checkpoint: number; seed: number; index: number;
  /** Which saved generator of the checkpoint made it: generator_ema (default) or generator (generate --raw). */
  generator: 'generator_ema' | 'generator';
  /** The factor on the noise (generate --noise-scale), when not 1. */
  noise_scale?: number;
  /** Batches of standing batch-norm statistics (generate --standing-stats), when not 0. */
  standing_stats?: number;
  /** sha256 of the model the run was fine-tuned from (train --init), when it was. */
  parent_sha256?: string;
  /** The model class (condition) that made it, when the model was trained with --condition. */
  condition?: string;
}

export interface GenerateResult {
  out: string;
  checkpoint: number;
  classes: string[];
  /** Images written per class. */
  counts: Record<string, number>;
  total: number;
  manifest: string;
}
