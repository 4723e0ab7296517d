/**
 * Percentile bootstrap confidence intervals (Efron & Tibshirani 1993, §13):
 * resample the evaluated images with replacement, recompute the metric,
 * take the 2.5th and 97.5th percentiles. Seeded, so a report is reproducible.
 */
import { Rng, deriveSeed } from '../util/rng.js';
import { confusionMatrix } from './classification/confusion.js';
import type { MetricDefinition, MetricValue } from './classification/types.js';

export interface BootstrapOptions {
  resamples?: number;
  seed?: number;
  /** Two-sided level, default 0.95. */
  level?: number;
}

export type Interval = [number, number];

/** Linear-interpolated quantile of sorted values (NumPy's default method). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  if (!sorted.length) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Percentile interval of the finite values (resamples where the metric is undefined are left out). */
export function percentileInterval(values: number[], level = 0.95): Interval {
  const finite = Float64Array.from(values.filter(Number.isFinite)).sort();
  const a = (1 - level) / 2;
  return [quantileSorted(finite, a), quantileSorted(finite, 1 - a)];
}

/**
 * CIs of every `estimate` metric in `metrics` for predictions `yPred` of
 * `yTrue`. Scalars get [lo, hi]; per-class metrics get { class: [lo, hi] }.
 */
export function bootstrapIntervals(
  yTrue: ArrayLike<number>, yPred: ArrayLike<number>, classes: string[], metrics: MetricDefinition[], opts: BootstrapOptions = {},
): Record<string, Interval | Record<string, Interval>> {
  const resamples = opts.resamples ?? 1000, level = opts.level ?? 0.95;
  const rng = new Rng(deriveSeed('bootstrap', opts.seed ?? 0));
  const n = yTrue.length, K = classes.length;
  const wanted = metrics.filter((m) => m.estimate && m.kind !== 'matrix');
  const samples = new Map<string, number[] | Record<string, number[]>>();
  for (const m of wanted) samples.set(m.name, m.kind === 'scalar' ? [] : Object.fromEntries(classes.map((c) => [c, [] as number[]])));
  const t = new Int32Array(n), p = new Int32Array(n);
  for (let b = 0; b < resamples && n > 0; b++) {
    for (let i = 0; i < n; i++) { const k = rng.int(n); t[i] = yTrue[k]; p[i] = yPred[k]; }
    const cm = confusionMatrix(t, p, K);
    for (const m of wanted) {
      const v: MetricValue = m.fromConfusion(cm, classes);
      const store = samples.get(m.name)!;
      if (typeof v === 'number') (store as number[]).push(v);
      else for (const c of classes) (store as Record<string, number[]>)[c].push((v as Record<string, number>)[c]);
    }
  }
  const out: Record<string, Interval | Record<string, Interval>> = {};
  for (const m of wanted) {
    const store = samples.get(m.name)!;
    out[m.name] = Array.isArray(store) ? percentileInterval(store, level)
      : Object.fromEntries(classes.map((c) => [c, percentileInterval(store[c], level)]));
  }
  return out;
}

/** Percentile bootstrap CI of any statistic of a sample of `n` items (indices are resampled). */
export function bootstrapStatistic(n: number, statistic: (indices: Int32Array) => number, opts: BootstrapOptions = {}): Interval {
  const resamples = opts.resamples ?? 1000;
  const rng = new Rng(deriveSeed('bootstrap', opts.seed ?? 0));
  const values: number[] = [];
  const idx = new Int32Array(n);
  for (let b = 0; b < resamples && n > 0; b++) {
    for (let i = 0; i < n; i++) idx[i] = rng.int(n);
    values.push(statistic(idx));
  }
  return percentileInterval(values, opts.level ?? 0.95);
}
