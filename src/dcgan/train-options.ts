/**
 * train's options (src/util/options.ts). The recipe-filled ones have no
 * default here: an option not given takes the recipe's value (RECIPES), or
 * with --init the parent run's; train.ts passes those as the fallback.
 */
import { defaultsOf, integer, number, oneOf, listOf, seed, text, boolean, workers, FORCE_OPTION, type OptionTable } from '../util/options.js';
import { DATA_OPTION, LABELS_OPTION } from '../data/dataset.js';
import { AUGMENTATIONS } from './diffaugment.js';
import { D_NORMS, G_CONDITIONINGS, MODEL_SIZES } from './models.js';
import { GAN_LOSSES } from './step.js';
import { DEFAULT_RECIPE, RECIPES, RECIPE_NAMES, type Recipe } from './recipes.js';

/** What --help says a recipe-filled option defaults to: each recipe's value ("recipe: dcgan 64, sngan 32"). */
function byRecipe<K extends keyof Recipe>(key: K, show: (value: Recipe[K]) => string = String): string {
  return `recipe: ${RECIPE_NAMES.map((n) => `${n} ${show(RECIPES[n][key])}`).join(', ')}`;
}

/** Where a run goes: not recorded in it (train --resume takes only --iters beside them). */
const RUN_FOLDER_OPTIONS = {
  out: { ...text, help: 'run folder to create' },
  resume: { ...text, help: 'continue this run folder from its last checkpoint' },
  force: FORCE_OPTION,
} satisfies OptionTable;

/** What a run records in options.json (and a fine-tune inherits). */
export const TRAIN_SETTINGS = {
  // Required of a new run; --resume reads it from the run, so the command line does not demand it.
  data: { ...text, help: DATA_OPTION.help, required: true, demand: false },
  labels: LABELS_OPTION,
  split: { ...text, help: 'split file: train only on its train subset' },
  className: { ...text, flag: 'class', help: 'train one model for this class' },
  conditional: { ...boolean, help: 'one class-conditional model for all classes' },
  condition: {
    ...text, defaultHelp: 'the class column',
    help: 'conditional, with a labels CSV: the column whose values the model is conditioned on, e.g. PBC\'s fine_class (ig\'s stages); '
      + 'each value must lie within one class, under which generate writes its images (in their training proportions)',
  },
  size: { ...oneOf(MODEL_SIZES), default: 64, help: `image size: ${MODEL_SIZES.join(', ')}` },
  iters: { ...integer(1), required: true, help: 'total iterations of the run (also with --resume)' },
  recipe: {
    ...oneOf(RECIPE_NAMES), defaultHelp: `${DEFAULT_RECIPE}; with --init: the parent's`,
    help: `named settings for every option below not given (${RECIPE_NAMES.map((n) => `${n}: ${RECIPES[n].description}`).join('; ')})`,
  },
  batch: { ...integer(1, 4096), defaultHelp: byRecipe('batch'), help: 'batch size' },
  seed: { ...seed, default: 0, help: 'seed of weights, batches, noise and augmentation' },
  gWidth: { ...integer(1, 1024), defaultHelp: byRecipe('gWidth'), help: 'generator base width' },
  dWidth: { ...integer(1, 1024), defaultHelp: byRecipe('dWidth'), help: 'discriminator base width' },
  nz: { ...integer(2, 4096), defaultHelp: byRecipe('nz'), help: 'noise dimension' },
  lr: { ...number(0, 1e6, { exclusiveMin: true }), defaultHelp: byRecipe('lr'), help: 'Adam learning rate of G (and of D unless --d-lr)' },
  beta1: { ...number(0, 0.999999), defaultHelp: byRecipe('beta1'), help: 'Adam beta1' },
  beta2: { ...number(0, 0.999999), defaultHelp: byRecipe('beta2'), help: 'Adam beta2' },
  diffAugment: {
    ...listOf(AUGMENTATIONS), flag: 'diffaugment', defaultHelp: byRecipe('diffAugment', (a) => a.join(',') || 'none'),
    help: `DiffAugment policy (${AUGMENTATIONS.join(', ')}; none)`,
  },
  emaDecay: { ...number(0, 0.999999), defaultHelp: byRecipe('emaDecay'), help: 'EMA decay of generator_ema (used for grids and generate); 0 = no averaging' },
  emaRampup: { ...number(0, 1), defaultHelp: byRecipe('emaRampup'), help: 'EMA warm-up: half-life at most this fraction of the iterations so far (0: (1+t)/(10+t))' },
  loss: { ...oneOf(GAN_LOSSES), defaultHelp: byRecipe('loss'), help: 'GAN loss' },
  dNorm: { ...oneOf(D_NORMS), defaultHelp: byRecipe('dNorm'), help: 'D normalisation' },
  gConditioning: {
    ...oneOf(G_CONDITIONINGS), defaultHelp: byRecipe('gConditioning'),
    help: 'how a conditional G sees the class: input (one-hot beside the noise) or batchnorm (also per-class batch-norm gain and bias)',
  },
  dLr: { ...number(0, 1e6, { exclusiveMin: true }), defaultHelp: byRecipe('dLr', (x) => String(x ?? 'same as --lr')), help: 'Adam learning rate of D' },
  balancedClasses: { ...boolean, defaultHelp: byRecipe('balancedClasses'), help: 'conditional: class-balanced batches (each class equally often)' },
  auxWeight: {
    ...number(0, 100), defaultHelp: byRecipe('auxWeight'),
    help: 'conditional: weight of the auxiliary-classifier loss (D learns real images\' classes, G is pushed toward images D classifies as their label; 0 = off)',
  },
  auxTwin: {
    ...boolean, defaultHelp: byRecipe('auxTwin'),
    help: 'with --aux-weight: a twin classifier on G\'s images (TAC-GAN) so the aux term matches G\'s classes to the real ones instead of sharpening them',
  },
  auxJoint: {
    ...boolean, defaultHelp: byRecipe('auxJoint'),
    help: 'with --aux-twin: one softmax over both heads, real against generated images of each class (ADC-GAN), so G matches the real classes without sharpening them',
  },
  auxBranch: {
    ...integer(0, 16), defaultHelp: byRecipe('auxBranch'),
    help: 'with --aux-weight: the class heads get their own copy of D\'s last N conv blocks, without spectral norm (the real/fake logit keeps the normalised ones; 0 = shared features)',
  },
  auxFloor: {
    ...boolean, defaultHelp: byRecipe('auxFloor'),
    help: 'with --aux-weight: G\'s class term counts a generated image only while D\'s classifier finds it harder than the real images of the same step (cross-entropy above their mean), so G is not pushed to make cells more classifiable than real ones',
  },
  auxD2d: {
    ...boolean, defaultHelp: byRecipe('auxD2d'),
    help: 'with --aux-weight: ReACGAN\'s class head and loss (Kang et al. 2021): D\'s classifier becomes an embedding and one proxy per class, and the class term the data-to-data cross-entropy, in which an image already near its class\'s proxy, or already far from another class\'s image, is not pushed further',
  },
  modeSeekingWeight: {
    ...number(0, 100), defaultHelp: byRecipe('modeSeekingWeight'),
    help: 'weight of the mode-seeking term (MSGAN): G is paid for different noises giving different images of a class; 0 = off',
  },
  init: { ...text, help: 'fine-tune: start G and D from this run folder or model (e.g. models/pbc-64); its settings become the defaults' },
  initClass: { ...text, defaultHelp: 'with --condition the class it lies within, if the --init model has it; else the mean of its classes', help: 'fine-tune: a class the --init model lacks starts from this class of it' },
  freezeD: { ...integer(0, 16), default: 0, help: 'fine-tune (FreezeD): keep the first N conv blocks of D fixed' },
  logEvery: { ...integer(1), default: 10, help: 'iterations per stats.jsonl line' },
  gridEvery: { ...integer(1), default: 250, help: 'iterations per sample grid' },
  checkpointEvery: { ...integer(1), default: 500, help: 'iterations per checkpoint' },
  keepCheckpoints: { ...integer(1), default: 3, help: 'checkpoints kept' },
  collapseThreshold: { ...number(0, 10), default: 0.2, help: 'warn when sample diversity / real diversity falls below this' },
  collapseAfter: { ...integer(0), default: 200, help: 'iterations before the mode-collapse alarm is active' },
  workers: { ...workers, default: 0, help: 'worker threads for data-parallel gradients (0 = main thread)' },
} satisfies OptionTable;

/** `cellgan train`'s options. */
export const TRAIN_OPTIONS = { ...RUN_FOLDER_OPTIONS, ...TRAIN_SETTINGS } satisfies OptionTable;

/** train's defaults that no recipe sets (the recipe-filled ones are in RECIPES). */
export const TRAIN_DEFAULTS = defaultsOf(TRAIN_SETTINGS);
