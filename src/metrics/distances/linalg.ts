/**
 * The little dense linear algebra FID needs, in Float64 plain JS (feature
 * dimensions are ≤ a few hundred, so O(d³) is a fraction of a second).
 * Matrices are row-major Float64Arrays of n×n.
 */

/** Mean vector and unbiased covariance (divisor n − 1, like numpy.cov) of n rows of d features. */
export function meanAndCovariance(rows: Float64Array, n: number, d: number): { mean: Float64Array; cov: Float64Array } {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += rows[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  const cov = new Float64Array(d * d);
  const centred = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) centred[j] = rows[i * d + j] - mean[j];
    for (let a = 0; a < d; a++) {
      const ca = centred[a];
      if (ca === 0) continue;
      const off = a * d;
      for (let b = a; b < d; b++) cov[off + b] += ca * centred[b];
    }
  }
  const div = n > 1 ? n - 1 : NaN;
  for (let a = 0; a < d; a++) for (let b = a; b < d; b++) { const v = cov[a * d + b] / div; cov[a * d + b] = v; cov[b * d + a] = v; }
  return { mean, cov };
}

/**
 * Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations
 * (Golub & Van Loan §8.5). Returns eigenvalues and eigenvectors as columns of
 * `vectors`. Robust for the positive semi-definite, often rank-deficient
 * covariances FID meets.
 */
export function symmetricEigen(matrix: Float64Array, n: number, maxSweeps = 100): { values: Float64Array; vectors: Float64Array } {
  const A = Float64Array.from(matrix);
  const V = new Float64Array(n * n);
  for (let i = 0; i < n; i++) V[i * n + i] = 1;
  let norm = 0;
  for (let i = 0; i < n * n; i++) norm += A[i] * A[i];
  const tol = 1e-22 * Math.max(norm, 1e-300);
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += A[p * n + q] * A[p * n + q];
    if (off <= tol) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = A[p * n + q];
        if (Math.abs(apq) < 1e-300) continue;
        const app = A[p * n + p], aqq = A[q * n + q];
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < n; k++) { // columns p and q
          const akp = A[k * n + p], akq = A[k * n + q];
          A[k * n + p] = c * akp - s * akq;
          A[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) { // rows p and q
          const apk = A[p * n + k], aqk = A[q * n + k];
          A[p * n + k] = c * apk - s * aqk;
          A[q * n + k] = s * apk + c * aqk;
        }
        A[p * n + q] = 0; A[q * n + p] = 0;
        for (let k = 0; k < n; k++) {
          const vkp = V[k * n + p], vkq = V[k * n + q];
          V[k * n + p] = c * vkp - s * vkq;
          V[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = A[i * n + i];
  return { values, vectors: V };
}

/** Square root of a symmetric PSD matrix (negative rounding-noise eigenvalues clamp to 0). */
export function sqrtPsd(matrix: Float64Array, n: number): Float64Array {
  const { values, vectors } = symmetricEigen(matrix, n);
  const out = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const s = Math.sqrt(Math.max(values[k], 0));
    if (s === 0) continue;
    for (let i = 0; i < n; i++) {
      const vik = vectors[i * n + k] * s;
      if (vik === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j] += vik * vectors[j * n + k];
    }
  }
  return out;
}

export function matmul(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) {
    const aik = a[i * n + k];
    if (aik === 0) continue;
    for (let j = 0; j < n; j++) out[i * n + j] += aik * b[k * n + j];
  }
  return out;
}

/**
 * tr sqrt(S1 S2) for PSD S1, S2, via the symmetric form
 * tr sqrt(sqrt(S1) S2 sqrt(S1)) (same eigenvalues as S1 S2, but symmetric,
 * so Jacobi applies and no complex parts appear).
 */
export function traceSqrtProduct(s1: Float64Array, s2: Float64Array, n: number): number {
  const r = sqrtPsd(s1, n);
  const m = matmul(matmul(r, s2, n), r, n);
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) { const v = (m[i * n + j] + m[j * n + i]) / 2; m[i * n + j] = v; m[j * n + i] = v; }
  const { values } = symmetricEigen(m, n);
  let t = 0;
  for (const v of values) t += Math.sqrt(Math.max(v, 0));
  return t;
}
