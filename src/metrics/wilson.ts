/**
 * Wilson score intervals for proportions (Wilson 1927; Brown, Cai &
 * DasGupta 2001): unlike a percentile bootstrap, an estimate from a handful
 * of images never gets a zero-width interval (6 of 6 correct gives
 * [61.0 %, 100 %], not [100, 100]).
 */

/** Two-sided Wilson score interval for k successes in n trials; [NaN, NaN] when n = 0. */
export function wilsonInterval(k: number, n: number, level = 0.95): [number, number] {
  if (!(n > 0)) return [NaN, NaN];
  const z = normalQuantile(1 - (1 - level) / 2);
  const p = k / n, z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  // At k = 0 (k = n) the lower (upper) bound is exactly 0 (1); in floating point centre ∓ half
  // misses it by an ulp (6/6 gave 0.9999999999999999), which would print as 100.0 yet fail `=== 1`.
  return [k <= 0 ? 0 : Math.max(0, centre - half), k >= n ? 1 : Math.min(1, centre + half)];
}

/** Standard normal quantile (Acklam's rational approximation, |error| < 1.2e-9). */
export function normalQuantile(p: number): number {
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) { const q = Math.sqrt(-2 * Math.log(p)); return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1); }
  if (p > 1 - lo) return -normalQuantile(1 - p);
  const q = p - 0.5, r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/** Per class: [successes, trials] of sensitivity, specificity and precision from a confusion matrix (rows = true). */
export function perClassCounts(cm: number[][], k: number): Record<'sensitivity' | 'specificity' | 'precision', [number, number]> {
  const K = cm.length;
  let row = 0, col = 0, total = 0;
  for (let j = 0; j < K; j++) { row += cm[k][j]; col += cm[j][k]; for (let i = 0; i < K; i++) total += cm[i][j]; }
  const tp = cm[k][k], fp = col - tp, fn = row - tp, tn = total - tp - fp - fn;
  return { sensitivity: [tp, tp + fn], specificity: [tn, tn + fp], precision: [tp, tp + fp] };
}
