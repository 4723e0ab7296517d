/**
 * Named training recipes: each is a complete set of the model and optimiser
 * settings that decide sample quality, so a user (or the quality benchmark)
 * picks one by name and a run's options.json records which one it was.
 * Options given explicitly override the recipe's values.
 *
 * `dcgan` is the DCGAN of Radford et al. with the settings W-Net
 * (BMC Med Imaging 2022) trains per class: the baseline users compare against.
 */
import type { Augmentation } from './diffaugment.js';
import type { DNorm, GConditioning } from './models.js';
import type { GanLoss } from './step.js';

export const RECIPE_NAMES = ['dcgan', 'sngan', 'sngan-aux', 'sngan-aux-branch'] as const;
export type RecipeName = (typeof RECIPE_NAMES)[number];

/** Every setting a recipe fixes (each may be overridden by an explicit option). */
export interface Recipe {
  batch: number;
  gWidth: number;
  dWidth: number;
  nz: number;
  lr: number;
  beta1: number;
  beta2: number;
  diffAugment: Augmentation[];
  emaDecay: number;
  emaRampup: number;
  loss: GanLoss;
  dNorm: DNorm;
  gConditioning: GConditioning;
  /** D's learning rate; null = the same as G's (lr). */
  dLr: number | null;
  balancedClasses: boolean;
  /** Weight λ of the auxiliary-classifier loss (step.ts; conditional models only; 0 = off). */
  auxWeight: number;
  /** With auxWeight > 0: the twin classifier of TAC-GAN (step.ts), which keeps the aux term from dropping modes near class boundaries. */
  auxTwin: boolean;
  /** With auxTwin: one softmax over both heads, real k against generated k (ADC-GAN, step.ts), instead of TAC-GAN's two. */
  auxJoint: boolean;
  /** With auxWeight > 0: the class heads read their own unnormalised copy of D's last N conv blocks (models.ts; 0 = D's shared features). */
  auxBranch: number;
  /** With auxWeight > 0: G's class term counts a generated image only where the aux head finds it harder than the real batch (step.ts). */
  auxFloor: boolean;
  /** With auxWeight > 0: the class head is ReACGAN's (an embedding and class proxies) and the class terms its data-to-data cross-entropy (step.ts). */
  auxD2d: boolean;
  /** Weight of the mode-seeking term (MSGAN, step.ts; 0 = off). */
  modeSeekingWeight: number;
  /** What the recipe is, for --help and options.json. */
  description: string;
}

const SNGAN: Recipe = {
  batch: 32, gWidth: 32, dWidth: 32, nz: 100, lr: 1e-4, beta1: 0, beta2: 0.9, diffAugment: ['translation'], emaDecay: 0.999,
  emaRampup: 0.05, loss: 'hinge', dNorm: 'spectral', gConditioning: 'batchnorm', dLr: 4e-4, balancedClasses: true, auxWeight: 0, auxTwin: false, auxJoint: false, auxBranch: 0, auxFloor: false, auxD2d: false, modeSeekingWeight: 0,
  description: 'spectral norm in D (no batch norm), hinge loss, conditional batch norm in G, two time-scale Adam (G 1e-4, D 4e-4; 0, 0.9), '
    + 'DiffAugment translation, class-balanced batches, EMA with ramp-up (SNGAN/SAGAN-style, sized for a CPU)',
};

export const RECIPES: Record<RecipeName, Recipe> = {
  dcgan: {
    batch: 64, gWidth: 64, dWidth: 64, nz: 100, lr: 2e-4, beta1: 0.5, beta2: 0.999, diffAugment: [], emaDecay: 0.999,
    emaRampup: 0, loss: 'bce', dNorm: 'batch', gConditioning: 'input', dLr: null, balancedClasses: false, auxWeight: 0, auxTwin: false, auxJoint: false, auxBranch: 0, auxFloor: false, auxD2d: false, modeSeekingWeight: 0,
    description: 'DCGAN (Radford et al. 2015): batch norm in G and D, non-saturating loss, Adam 2e-4 (0.5, 0.999); the W-Net baseline',
  },
  sngan: SNGAN,
  // The auxiliary classifier from the first iteration: on PBC (64 px, seed 0) GAN-test 86.6 % at
  // 6,000 iterations against sngan's 72.9 % at 8,819 (notes/dcgan.md, session 10). A one-class
  // run has no classes to learn, so train() drops the recipe's aux weight there.
  'sngan-aux': {
    ...SNGAN, auxWeight: 1,
    description: 'sngan plus an auxiliary classifier in D (AC-GAN loss, weight 1) for conditional models; for one-class models the same as sngan',
  },
  // The class heads on their own copy of D's last conv block, without spectral norm: D's
  // classifier was the limit (it called real validation cells right 82.9 % at 6,000 iterations
  // under spectral norm, 90.3 % with the branch); on PBC (64 px, seed 0) GAN-test 97.3 % at
  // 10,000 iterations against sngan-aux's 91.6 %, GAN-train 79.4 % against 75.6 %; at 12,000
  // (`standard`) 97.9 % (every class ≥ 94 %) against 94.2 % (≥ 84 %), GAN-train 82.7 % against
  // 81.8 % (notes/dcgan.md, L18).
  'sngan-aux-branch': {
    ...SNGAN, auxWeight: 1, auxBranch: 1,
    description: 'sngan-aux with the classifier head reading its own copy of D\'s last conv block, without spectral norm (--aux-branch 1); for one-class models the same as sngan',
  },
};

/**
 * The best measured recipe (notes/dcgan.md): sngan reached GAN-test 27.9 % at 1,000 iterations
 * against dcgan's 19.3 % at the same batch, widths and seed; sngan-aux 86.6 % at 6,000 against
 * sngan's 72.9 % at 8,819; sngan-aux-branch ahead of sngan-aux at 12,000 (figures at its entry).
 */
export const DEFAULT_RECIPE: RecipeName = 'sngan-aux-branch';

/** The settings of `options` that differ from recipe `name`'s (description aside). */
export function recipeDifferences(name: RecipeName, options: Partial<Record<keyof Recipe, unknown>>): Partial<Record<keyof Recipe, unknown>> {
  const recipe = RECIPES[name];
  const out: Partial<Record<keyof Recipe, unknown>> = {};
  for (const key of Object.keys(recipe) as (keyof Recipe)[]) {
    if (key === 'description' || options[key] === undefined) continue;
    if (JSON.stringify(options[key]) !== JSON.stringify(recipe[key])) out[key] = options[key];
  }
  return out;
}

/**
 * The recipe a run's settings amount to: the first named recipe they equal,
 * else `recorded` (the name the run was started with). A run started before
 * a recipe had a name (e.g. `--recipe sngan --aux-weight 1`, now sngan-aux) is
 * then reported by what it was, not by what it was called.
 */
export function equivalentRecipe(recorded: RecipeName, options: Partial<Record<keyof Recipe, unknown>>): RecipeName {
  if (!Object.keys(recipeDifferences(recorded, options)).length) return recorded;
  return RECIPE_NAMES.find((name) => !Object.keys(recipeDifferences(name, options)).length) ?? recorded;
}
