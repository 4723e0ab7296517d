/**
 * DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for
 * Data-Efficient GAN Training"): the same random colour / translation /
 * cutout transforms are applied to real AND fake images before D, built from
 * differentiable ops so G's gradients flow through them. This keeps D from
 * memorising a tiny class (tens of images) without leaking augmentations
 * into G's outputs.
 *
 * The random parameters are drawn on the CPU from the run's seeded Rng (not
 * tf.random*), so a resumed run draws exactly the same ones; they are plain
 * arrays, so a worker process can receive them.
 */
import { tf, type Tensor4D } from '../engine/index.js';
import type { Rng } from '../util/rng.js';

export const AUGMENTATIONS = ['color', 'translation', 'cutout'] as const;
export type Augmentation = (typeof AUGMENTATIONS)[number];

/** Per-sample parameters of one augmentation pass over a batch. */
export interface AugmentParams {
  policy: Augmentation[];
  /** Added brightness in [-0.5, 0.5] (images in [-1, 1]). */
  brightness?: number[];
  /** Saturation factor in [0, 2]. */
  saturation?: number[];
  /** Contrast factor in [0.5, 1.5]. */
  contrast?: number[];
  /** Integer shifts in [-size/8, size/8]. */
  shiftX?: number[];
  shiftY?: number[];
  /** Top-left corner of the size/2 cutout square (may be partly outside). */
  cutoutX?: number[];
  cutoutY?: number[];
}

/** Draws the parameters for `batch` images (consumes the Rng in a fixed order). */
export function sampleAugmentParams(rng: Rng, policy: Augmentation[], batch: number, size: number): AugmentParams {
  const p: AugmentParams = { policy };
  const draw = (f: () => number) => Array.from({ length: batch }, f);
  if (policy.includes('color')) {
    p.brightness = draw(() => rng.next() - 0.5);
    p.saturation = draw(() => rng.next() * 2);
    p.contrast = draw(() => rng.next() + 0.5);
  }
  if (policy.includes('translation')) {
    const s = Math.round(size * 0.125);
    p.shiftX = draw(() => rng.int(2 * s + 1) - s);
    p.shiftY = draw(() => rng.int(2 * s + 1) - s);
  }
  if (policy.includes('cutout')) {
    const c = Math.round(size * 0.5);
    // Centre anywhere in the image, as in the reference implementation.
    p.cutoutX = draw(() => rng.int(size + (1 - (c % 2))) - Math.floor(c / 2));
    p.cutoutY = draw(() => rng.int(size + (1 - (c % 2))) - Math.floor(c / 2));
  }
  return p;
}

/** Applies the augmentation to x (N×S×S×3 in [-1, 1]); differentiable w.r.t. x. Call inside a tidy. */
export function diffAugment(x: Tensor4D, p: AugmentParams): Tensor4D {
  if (!p.policy.length) return x;
  const [n, size] = x.shape;
  let y: Tensor4D = x;
  if (p.brightness && p.saturation && p.contrast) {
    const col = (v: number[]) => tf.tensor4d(v, [n, 1, 1, 1]);
    y = tf.add(y, col(p.brightness));
    const meanC = tf.mean(y, 3, true);
    y = tf.add(tf.mul(tf.sub(y, meanC), col(p.saturation)), meanC);
    const meanAll = tf.mean(y, [1, 2, 3], true);
    y = tf.add(tf.mul(tf.sub(y, meanAll), col(p.contrast)), meanAll);
  }
  if (p.shiftX && p.shiftY) {
    const s = Math.round(size * 0.125);
    const padded = tf.pad(y, [[0, 0], [s, s], [s, s], [0, 0]]);
    const parts: Tensor4D[] = [];
    for (let i = 0; i < n; i++) {
      parts.push(tf.slice(padded, [i, s - p.shiftY[i], s - p.shiftX[i], 0], [1, size, size, 3]));
    }
    y = tf.concat(parts, 0);
  }
  if (p.cutoutX && p.cutoutY) {
    const c = Math.round(size * 0.5);
    const mask = new Float32Array(n * size * size).fill(1);
    for (let i = 0; i < n; i++) {
      for (let r = Math.max(0, p.cutoutY[i]); r < Math.min(size, p.cutoutY[i] + c); r++) {
        for (let q = Math.max(0, p.cutoutX[i]); q < Math.min(size, p.cutoutX[i] + c); q++) mask[(i * size + r) * size + q] = 0;
      }
    }
    y = tf.mul(y, tf.tensor4d(mask, [n, size, size, 1]));
  }
  return y;
}
