import { describe, expect, it } from 'vitest';
import {
  computeMetric, computeMetrics, confusionMatrix, listMetrics, bootstrapIntervals, metricRegistry,
  frechetDistance, kernelInceptionDistance, precisionRecall, traceSqrtProduct, sqrtPsd, symmetricEigen,
} from '../../src/metrics/index.js';
import { Rng } from '../../src/util/rng.js';

// A 3-class case worked by hand. Rows = true class, columns = predicted:
//        a  b  c
//   a  [ 5, 1, 0 ]   6 true a
//   b  [ 2, 3, 1 ]   6 true b
//   c  [ 0, 1, 4 ]   5 true c      (17 images, 12 correct; predicted counts 7, 5, 5)
const CLASSES = ['a', 'b', 'c'];
const CM = [[5, 1, 0], [2, 3, 1], [0, 1, 4]];
const yTrue: number[] = [], yPred: number[] = [];
CM.forEach((row, t) => row.forEach((n, p) => { for (let i = 0; i < n; i++) { yTrue.push(t); yPred.push(p); } }));

describe('classification metrics against a hand-worked 3-class confusion matrix', () => {
  it('builds the confusion matrix', () => {
    expect(confusionMatrix(yTrue, yPred, 3)).toEqual(CM);
    expect(computeMetric('confusion_matrix', yTrue, yPred, CLASSES)).toEqual(CM);
  });

  it('accuracy = 12/17, balanced accuracy = (5/6 + 3/6 + 4/5)/3', () => {
    expect(computeMetric('accuracy', yTrue, yPred, CLASSES)).toBeCloseTo(12 / 17, 12);
    expect(computeMetric('balanced_accuracy', yTrue, yPred, CLASSES)).toBeCloseTo((5 / 6 + 3 / 6 + 4 / 5) / 3, 12);
  });

  it('per-class sensitivity, specificity, precision, F1, Jaccard', () => {
    const close = (got: unknown, want: Record<string, number>) => { for (const [c, v] of Object.entries(want)) expect((got as Record<string, number>)[c]).toBeCloseTo(v, 12); };
    close(computeMetric('sensitivity', yTrue, yPred, CLASSES), { a: 5 / 6, b: 3 / 6, c: 4 / 5 });
    // TN(a) = 17 − 6 − 7 + 5 = 9, FP(a) = 2; TN(b) = 9, FP(b) = 2; TN(c) = 11, FP(c) = 1.
    close(computeMetric('specificity', yTrue, yPred, CLASSES), { a: 9 / 11, b: 9 / 11, c: 11 / 12 });
    close(computeMetric('precision', yTrue, yPred, CLASSES), { a: 5 / 7, b: 3 / 5, c: 4 / 5 });
    close(computeMetric('f1', yTrue, yPred, CLASSES), { a: 10 / 13, b: 6 / 11, c: 8 / 10 });
    close(computeMetric('jaccard', yTrue, yPred, CLASSES), { a: 5 / 8, b: 3 / 8, c: 4 / 6 });
    expect(computeMetric('macro_f1', yTrue, yPred, CLASSES)).toBeCloseTo((10 / 13 + 6 / 11 + 8 / 10) / 3, 12);
  });

  it('multiclass MCC (Gorodkin) = (12·17 − 97) / sqrt((289 − 99)(289 − 97)); per-class MCC one-vs-rest', () => {
    expect(computeMetric('mcc', yTrue, yPred, CLASSES)).toBeCloseTo(107 / Math.sqrt(190 * 192), 12);
    const per = computeMetric('mcc_per_class', yTrue, yPred, CLASSES) as Record<string, number>;
    // class a: TP 5, FP 2, FN 1, TN 9
    expect(per.a).toBeCloseTo((5 * 9 - 2 * 1) / Math.sqrt(7 * 6 * 11 * 10), 12);
  });

  it('binary MCC matches the textbook formula and perfect predictions give 1', () => {
    const t = [0, 0, 0, 1, 1, 1, 1, 0], p = [0, 1, 0, 1, 1, 0, 1, 0]; // TP 3, TN 3, FP 1, FN 1 (class 1 positive)
    expect(computeMetric('mcc', t, p, ['n', 'p'])).toBeCloseTo((3 * 3 - 1 * 1) / Math.sqrt(4 * 4 * 4 * 4), 12);
    expect(computeMetric('mcc', [0, 1, 2], [0, 1, 2], CLASSES)).toBe(1);
  });

  it('undefined values (a class never predicted) are NaN internally and null in reports', () => {
    const r = computeMetrics([0, 1, 2], [0, 0, 0], CLASSES, { resamples: 0 });
    expect((r.metrics.precision.value as Record<string, number | null>).b).toBeNull();
    expect(JSON.parse(JSON.stringify(r)).metrics.precision.value.b).toBeNull();
  });

  it('registry: every metric has a name, kind and description; adding one is one table entry', () => {
    expect(listMetrics()).toEqual(expect.arrayContaining(['accuracy', 'balanced_accuracy', 'sensitivity', 'specificity', 'precision', 'f1', 'mcc', 'mcc_per_class', 'jaccard', 'confusion_matrix']));
    for (const [name, m] of metricRegistry) { expect(m.name).toBe(name); expect(m.description.length).toBeGreaterThan(5); }
    expect(() => computeMetric('nope', yTrue, yPred, CLASSES)).toThrow(/Expected one of/);
  });
});

describe('bootstrap confidence intervals', () => {
  it('contain the point estimate, are deterministic per seed and change with the seed', () => {
    const a = computeMetrics(yTrue, yPred, CLASSES, { resamples: 500, seed: 3 });
    const b = computeMetrics(yTrue, yPred, CLASSES, { resamples: 500, seed: 3 });
    const c = computeMetrics(yTrue, yPred, CLASSES, { resamples: 500, seed: 4 });
    expect(a).toEqual(b);
    expect(a.metrics).not.toEqual(c.metrics); // some interval moves (accuracy on 17 images is coarse: k/17)
    for (const name of ['accuracy', 'balanced_accuracy', 'macro_f1', 'mcc']) {
      const [lo, hi] = a.metrics[name].ci95 as [number, number];
      const v = a.metrics[name].value as number;
      expect(lo).toBeLessThanOrEqual(v);
      expect(hi).toBeGreaterThanOrEqual(v);
      expect(hi).toBeGreaterThan(lo);
    }
    const sens = a.metrics.sensitivity.ci95 as Record<string, [number, number]>;
    expect(sens.a[0]).toBeLessThanOrEqual(5 / 6);
    expect(sens.a[1]).toBeGreaterThanOrEqual(5 / 6);
    expect(a.metrics.confusion_matrix.ci95).toBeUndefined(); // counts are not an estimate
  });

  it('narrows with more data (CI width shrinks roughly with 1/sqrt(n))', () => {
    const rep = (k: number) => ({ t: Array.from({ length: k }, () => yTrue).flat(), p: Array.from({ length: k }, () => yPred).flat() });
    const small = rep(1), big = rep(16);
    const [a] = Object.values(bootstrapIntervals(small.t, small.p, CLASSES, [metricRegistry.get('accuracy')!], { resamples: 400 })) as [number, number][];
    const [b] = Object.values(bootstrapIntervals(big.t, big.p, CLASSES, [metricRegistry.get('accuracy')!], { resamples: 400 })) as [number, number][];
    expect(b[1] - b[0]).toBeLessThan((a[1] - a[0]) / 2);
  });
});

function gaussian(n: number, d: number, seed: string, scale = 1, shift = 0): Float64Array {
  const rng = new Rng(seed);
  const out = new Float64Array(n * d);
  // Correlated features: x_j = z_j + 0.5 z_{j-1}, so covariances are not diagonal.
  for (let i = 0; i < n; i++) {
    let prev = 0;
    for (let j = 0; j < d; j++) { const z = rng.normal(); out[i * d + j] = scale * (z + 0.5 * prev) + shift; prev = z; }
  }
  return out;
}

function addNoise(x: Float64Array, sigma: number, seed: string): Float64Array {
  const rng = new Rng(seed);
  return x.map((v) => v + sigma * rng.normal());
}

describe('linear algebra for FID', () => {
  it('Jacobi eigen-decomposition reconstructs the matrix; sqrtPsd squares back', () => {
    const d = 12, x = gaussian(40, d, 'eig');
    const S = new Float64Array(d * d);
    for (let i = 0; i < 40; i++) for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) S[a * d + b] += x[i * d + a] * x[i * d + b] / 40;
    const { values, vectors } = symmetricEigen(S, d);
    for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += vectors[a * d + k] * values[k] * vectors[b * d + k];
      expect(s).toBeCloseTo(S[a * d + b], 9);
    }
    const R = sqrtPsd(S, d);
    for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += R[a * d + k] * R[k * d + b];
      expect(s).toBeCloseTo(S[a * d + b], 9);
    }
  });

  it('tr sqrt(S1 S2) of diagonal matrices is Σ sqrt(a_i b_i)', () => {
    const a = [1, 4, 9, 0.25], b = [4, 1, 1, 16];
    const A = new Float64Array(16), B = new Float64Array(16);
    a.forEach((v, i) => { A[i * 4 + i] = v; B[i * 4 + i] = b[i]; });
    expect(traceSqrtProduct(A, B, 4)).toBeCloseTo(2 + 2 + 3 + 2, 10);
  });
});

describe('feature distances', () => {
  const d = 16, n = 300;
  const x = gaussian(n, d, 'x');

  it('FID of a set against itself is ~0 and grows with added noise', () => {
    expect(frechetDistance(x, n, x, n, d)).toBeLessThan(1e-8);
    const f1 = frechetDistance(x, n, addNoise(x, 0.3, 'n1'), n, d);
    const f2 = frechetDistance(x, n, addNoise(x, 1.0, 'n2'), n, d);
    const f3 = frechetDistance(x, n, addNoise(x, 2.0, 'n3'), n, d);
    expect(f1).toBeGreaterThan(0.01);
    expect(f2).toBeGreaterThan(f1);
    expect(f3).toBeGreaterThan(f2);
  });

  it('FID matches the closed form for a pure mean shift (same covariance)', () => {
    const shifted = x.map((v) => v + 2); // ‖μ1 − μ2‖² = 4d, trace terms cancel
    expect(frechetDistance(x, n, shifted, n, d)).toBeCloseTo(4 * d, 6);
  });

  it('KID ≈ 0 for two samples of the same distribution, clearly > 0 for different ones; works for tiny classes', () => {
    const y = gaussian(n, d, 'y');
    const same = kernelInceptionDistance(x, n, y, n, d, { subsetSize: 100, subsets: 50, seed: 1 });
    const diff = kernelInceptionDistance(x, n, gaussian(n, d, 'z', 1.5, 0.5), n, d, { subsetSize: 100, subsets: 50, seed: 1 });
    expect(Math.abs(same.value)).toBeLessThan(3 * same.std + 0.02);
    expect(diff.value).toBeGreaterThan(10 * Math.abs(same.value));
    const tiny = kernelInceptionDistance(x, 5, y, 3, d, { seed: 1 });
    expect(tiny.subsetSize).toBe(3);
    expect(Number.isFinite(tiny.value)).toBe(true);
    expect(kernelInceptionDistance(x, 1, y, 1, d).value).toBeNaN();
    expect(kernelInceptionDistance(x, n, y, n, d, { subsetSize: 50, subsets: 10, seed: 7 })).toEqual(kernelInceptionDistance(x, n, y, n, d, { subsetSize: 50, subsets: 10, seed: 7 }));
  });

  it('precision and recall are 1 for identical sets and drop for a shifted set', () => {
    const pr = precisionRecall(x, n, x, n, d, 3);
    expect(pr).toEqual({ precision: 1, recall: 1, k: 3 });
    const far = precisionRecall(x, n, x.map((v) => v + 10), n, d, 3);
    expect(far.precision).toBe(0);
    expect(far.recall).toBe(0);
    const partial = precisionRecall(x, n, gaussian(n, d, 'w', 1, 1.5), n, d, 3);
    expect(partial.precision).toBeGreaterThan(0);
    expect(partial.precision).toBeLessThan(1);
  });
});
