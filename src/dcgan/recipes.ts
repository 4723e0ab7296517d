/**
 * Named training recipes: each is a complete set of the model and optimiser
 * settings that decide sample quality, so a user (or the quality benchmark)
 * picks one by name and a run's options.json records which one it was.
 * Options given explicitly override the recipe's values.
 *
 * `dcgan` is the DCGAN of Radford et al. with the settings W-Net
 * (BMC Med Imaging 2022) trains per class: the baseline users compare against.
 */
import type { Augmentation } from './augment.js';

export const RECIPE_NAMES = ['dcgan'] as const;
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
  /** What the recipe is, for --help and options.json. */
  description: string;
}

export const RECIPES: Record<RecipeName, Recipe> = {
  dcgan: {
    batch: 64, gWidth: 64, dWidth: 64, nz: 100, lr: 2e-4, beta1: 0.5, beta2: 0.999, diffAugment: [], emaDecay: 0.999,
    description: 'DCGAN (Radford et al. 2015): batch norm in G and D, non-saturating loss, Adam 2e-4 (0.5, 0.999); the W-Net baseline',
  },
};

export const DEFAULT_RECIPE: RecipeName = 'dcgan';
