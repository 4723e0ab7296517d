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
  if (p.shiftX && p.shiftY) y = translate(y, p.shiftX, p.shiftY);
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

/** The shift of `translate` on plain arrays: out[i, r, q] = x[i, r − dy_i, q − dx_i], 0 outside. */
function shiftPixels(x: Float32Array, [n, h, w, c]: number[], dx: number[], dy: number[]): Float32Array {
  const out = new Float32Array(x.length);
  const row = w * c;
  for (let i = 0; i < n; i++) {
    const base = i * h * row;
    // The columns that stay inside the image, copied as one run per row.
    const q0 = Math.max(0, dx[i]), q1 = Math.min(w, w + dx[i]);
    if (q1 <= q0) continue;
    for (let r = Math.max(0, dy[i]); r < Math.min(h, h + dy[i]); r++) {
      const src = base + (r - dy[i]) * row + (q0 - dx[i]) * c;
      out.set(x.subarray(src, src + (q1 - q0) * c), base + r * row + q0 * c);
    }
  }
  return out;
}

/**
 * Per-sample integer shift with zero fill (the reference implementation pads
 * and crops), differentiable: a shift with zero fill is a 0/1 linear map
 * whose adjoint is the opposite shift, so the gradient is the opposite shift
 * of dy. Both run as one copy of the batch in plain JS. Why: one slice per
 * sample (the obvious way) has a gradient per sample the size of the whole
 * padded batch, work that grows with the square of the batch size
 * (1.5 s per DiffAugment pass at batch 32, 64 px), and the wasm backend's
 * batched matrix product, the other obvious way, is nearly as slow.
 */
export function translate(x: Tensor4D, shiftX: number[], shiftY: number[]): Tensor4D {
  const op = tf.customGrad(((input: Tensor4D, save: (t: Tensor4D[]) => void) => {
    void save;
    const value = tf.tensor4d(shiftPixels(input.dataSync() as Float32Array, input.shape, shiftX, shiftY), input.shape);
    const neg = (d: number[]) => d.map((v) => -v);
    return { value, gradFunc: (dy: Tensor4D) => tf.tensor4d(shiftPixels(dy.dataSync() as Float32Array, dy.shape, neg(shiftX), neg(shiftY)), dy.shape) };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x) as Tensor4D;
}
