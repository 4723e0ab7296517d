/**
 * Improved precision and recall (Kynkäänniemi et al., NeurIPS 2019): each
 * set's manifold is the union of balls around its points with radius the
 * distance to the point's k-th nearest neighbour in the same set.
 * precision = fraction of synthetic points inside the real manifold (realism);
 * recall = fraction of real points inside the synthetic manifold (coverage).
 */
import { DISTANCE_DEFAULTS } from './types.js';

function squaredDistances(a: Float64Array, nA: number, b: Float64Array, nB: number, d: number): Float64Array {
  const out = new Float64Array(nA * nB);
  for (let i = 0; i < nA; i++) for (let j = 0; j < nB; j++) {
    let s = 0;
    for (let k = 0; k < d; k++) { const t = a[i * d + k] - b[j * d + k]; s += t * t; }
    out[i * nB + j] = s;
  }
  return out;
}

/** Squared k-NN radius of each point within its own set (self excluded). */
function knnRadii(self: Float64Array, n: number, k: number): Float64Array {
  const radii = new Float64Array(n);
  const row = new Float64Array(n - 1);
  for (let i = 0; i < n; i++) {
    let o = 0;
    for (let j = 0; j < n; j++) if (j !== i) row[o++] = self[i * n + j];
    radii[i] = row.slice().sort()[k - 1];
  }
  return radii;
}

/** Fraction of points of `query` inside the manifold of `ref` (cross[q * nRef + r] = squared distance). */
function coverage(cross: Float64Array, nQuery: number, nRef: number, refRadii: Float64Array, transpose: boolean): number {
  let inside = 0;
  for (let q = 0; q < nQuery; q++) {
    for (let r = 0; r < nRef; r++) {
      const dist = transpose ? cross[r * nQuery + q] : cross[q * nRef + r];
      if (dist <= refRadii[r] * (1 + 1e-9)) { inside++; break; }
    }
  }
  return inside / nQuery;
}

export interface PrecisionRecall { precision: number; recall: number; k: number }

export function precisionRecall(real: Float64Array, nReal: number, fake: Float64Array, nFake: number, d: number, k: number = DISTANCE_DEFAULTS.k): PrecisionRecall {
  const kk = Math.min(k, nReal - 1, nFake - 1);
  if (kk < 1) return { precision: NaN, recall: NaN, k: kk };
  const rr = squaredDistances(real, nReal, real, nReal, d);
  const ff = squaredDistances(fake, nFake, fake, nFake, d);
  const rf = squaredDistances(real, nReal, fake, nFake, d); // [real][fake]
  const realRadii = knnRadii(rr, nReal, kk), fakeRadii = knnRadii(ff, nFake, kk);
  return {
    precision: coverage(rf, nFake, nReal, realRadii, true),
    recall: coverage(rf, nReal, nFake, fakeRadii, false),
    k: kk,
  };
}
