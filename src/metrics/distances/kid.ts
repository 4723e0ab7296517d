/**
 * Kernel Inception Distance (Bińkowski et al. 2018): the unbiased estimate of
 * the squared MMD with the cubic polynomial kernel k(x, y) = (xᵀy / d + 1)³,
 * averaged over random subsets of equal size m from each set. m is capped at
 * the smaller set, so small classes still get a value (with a larger spread).
 */
import { Rng, deriveSeed } from '../../util/rng.js';
import { DISTANCE_DEFAULTS } from './types.js';

export interface KidResult { value: number; std: number; subsetSize: number; subsets: number }

function kernel(x: Float64Array, xi: number, y: Float64Array, yi: number, d: number): number {
  let dot = 0;
  const xo = xi * d, yo = yi * d;
  for (let j = 0; j < d; j++) dot += x[xo + j] * y[yo + j];
  return (dot / d + 1) ** 3;
}

/** Unbiased MMD² between rows `ia` of `a` and rows `ib` of `b` (equal counts m ≥ 2). */
export function mmdUnbiased(a: Float64Array, ia: number[], b: Float64Array, ib: number[], d: number): number {
  const m = ia.length;
  let kxx = 0, kyy = 0, kxy = 0;
  for (let i = 0; i < m; i++) {
    for (let j = i + 1; j < m; j++) { kxx += kernel(a, ia[i], a, ia[j], d); kyy += kernel(b, ib[i], b, ib[j], d); }
    for (let j = 0; j < m; j++) kxy += kernel(a, ia[i], b, ib[j], d);
  }
  return (2 * kxx + 2 * kyy) / (m * (m - 1)) - (2 * kxy) / (m * m);
}

export function kernelInceptionDistance(a: Float64Array, nA: number, b: Float64Array, nB: number, d: number,
  opts: { subsetSize?: number; subsets?: number; seed?: number } = {}): KidResult {
  const m = Math.min(opts.subsetSize ?? DISTANCE_DEFAULTS.kidSubsetSize, nA, nB);
  const subsets = opts.subsets ?? DISTANCE_DEFAULTS.kidSubsets;
  if (m < 2) return { value: NaN, std: NaN, subsetSize: m, subsets: 0 };
  const rng = new Rng(deriveSeed('kid', opts.seed ?? DISTANCE_DEFAULTS.seed));
  const pick = (n: number): number[] => rng.shuffle(Array.from({ length: n }, (_, i) => i)).slice(0, m);
  const values: number[] = [];
  for (let s = 0; s < subsets; s++) values.push(mmdUnbiased(a, pick(nA), b, pick(nB), d));
  const mean = values.reduce((x, y) => x + y, 0) / values.length;
  const std = Math.sqrt(values.reduce((x, y) => x + (y - mean) ** 2, 0) / values.length);
  return { value: mean, std, subsetSize: m, subsets };
}
