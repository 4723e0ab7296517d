/**
 * Fréchet distance between Gaussians fitted to two feature sets (Heusel et
 * al. 2017): ‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2 (Σ₁Σ₂)^½). On the classifier's
 * features it is not comparable to FID numbers computed on InceptionV3.
 */
import { meanAndCovariance, traceSqrtProduct } from './linalg.js';

export function frechetDistance(a: Float64Array, nA: number, b: Float64Array, nB: number, d: number): number {
  if (nA < 2 || nB < 2) return NaN;
  const A = meanAndCovariance(a, nA, d), B = meanAndCovariance(b, nB, d);
  let meanTerm = 0, trace = 0;
  for (let j = 0; j < d; j++) {
    meanTerm += (A.mean[j] - B.mean[j]) ** 2;
    trace += A.cov[j * d + j] + B.cov[j * d + j];
  }
  const fid = meanTerm + trace - 2 * traceSqrtProduct(A.cov, B.cov, d);
  // Rounding can leave a tiny negative number for identical sets.
  return Math.max(fid, 0);
}
