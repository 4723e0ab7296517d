/**
 * A classification report: every registered metric with its bootstrap CI,
 * JSON-safe (undefined values, NaN internally, become null).
 */
import { metricRegistry, listMetrics } from './registry.js';
import { bootstrapIntervals, type BootstrapOptions, type Interval } from './bootstrap.js';
import { confusionMatrix } from './classification/confusion.js';
import type { MetricDefinition } from './classification/types.js';
import { perClassCounts, wilsonInterval } from './wilson.js';

/** Per-class rates whose CIs are Wilson score intervals (a proportion of counted images), not bootstrap. */
export const WILSON_METRICS = ['sensitivity', 'specificity', 'precision'] as const;

export type Num = number | null;

export interface MetricEntry {
  description: string;
  value: Num | Record<string, Num> | number[][];
  /** 95 % interval (per class for per-class metrics): percentile bootstrap, or Wilson score for WILSON_METRICS; absent for non-estimates. */
  ci95?: [Num, Num] | Record<string, [Num, Num]>;
  /** How ci95 was computed. */
  interval?: 'bootstrap' | 'wilson';
}

export interface MetricsReport {
  n: number;
  classes: string[];
  /** Images per true class in the evaluated sample. */
  support: Record<string, number>;
  metrics: Record<string, MetricEntry>;
  bootstrap: { method: 'percentile'; resamples: number; seed: number; level: number };
}

export function num(x: number): Num { return Number.isFinite(x) ? x : null; }
const pair = (i: Interval): [Num, Num] => [num(i[0]), num(i[1])];

export interface ComputeMetricsOptions extends BootstrapOptions {
  /** Names from the registry (default: all). */
  metrics?: string[];
}

/** All (or the named) registered metrics of predictions `yPred` for `yTrue`, with CIs. */
export function computeMetrics(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, classes: string[], opts: ComputeMetricsOptions = {}): MetricsReport {
  const defs: MetricDefinition[] = (opts.metrics ?? listMetrics()).map((name) => {
    const m = metricRegistry.get(name);
    if (!m) throw new Error(`unknown metric ${name}`);
    return m;
  });
  const cm = confusionMatrix(yTrue, yPred, classes.length);
  const resamples = opts.resamples ?? 1000, seed = opts.seed ?? 0, level = opts.level ?? 0.95;
  const cis = resamples > 0 ? bootstrapIntervals(yTrue, yPred, classes, defs, { resamples, seed, level }) : {};
  const metrics: Record<string, MetricEntry> = {};
  for (const m of defs) {
    const v = m.fromConfusion(cm, classes);
    const entry: MetricEntry = {
      description: m.description,
      value: typeof v === 'number' ? num(v) : Array.isArray(v) ? v : Object.fromEntries(Object.entries(v).map(([c, x]) => [c, num(x)])),
    };
    const ci = cis[m.name];
    if ((WILSON_METRICS as readonly string[]).includes(m.name) && !Array.isArray(v) && typeof v !== 'number') {
      // A per-class rate is a proportion of counted images: Wilson, so 6 of 6 does not read as [100, 100].
      entry.ci95 = Object.fromEntries(classes.map((c, k) => {
        const [hits, trials] = perClassCounts(cm, k)[m.name as (typeof WILSON_METRICS)[number]];
        return [c, pair(wilsonInterval(hits, trials, level))];
      }));
      entry.interval = 'wilson';
    } else if (ci) {
      entry.ci95 = Array.isArray(ci) ? pair(ci) : Object.fromEntries(Object.entries(ci).map(([c, i]) => [c, pair(i)]));
      entry.interval = 'bootstrap';
    }
    metrics[m.name] = entry;
  }
  return {
    n: yTrue.length, classes,
    support: Object.fromEntries(classes.map((c, k) => [c, cm[k].reduce((a, b) => a + b, 0)])),
    metrics, bootstrap: { method: 'percentile', resamples, seed, level },
  };
}

/** A short text table of a report (for the terminal). */
export function formatReport(r: MetricsReport): string {
  const pct = (x: Num): string => (x === null ? '   n/a' : (x * 100).toFixed(2).padStart(6));
  const lines: string[] = [`n = ${r.n} images, ${r.classes.length} classes (95 % CI: ${r.bootstrap.resamples} bootstrap resamples)`];
  for (const name of ['accuracy', 'balanced_accuracy', 'macro_f1', 'mcc']) {
    const e = r.metrics[name];
    if (!e) continue;
    const ci = e.ci95 as [Num, Num] | undefined;
    // MCC is a correlation in [-1, 1], not a percentage.
    const f = name === 'mcc' ? (x: Num): string => (x === null ? '   n/a' : x.toFixed(4).padStart(6)) : pct;
    const unit = name === 'mcc' ? '  ' : ' %';
    lines.push(`${name.padEnd(18)} ${f(e.value as Num)}${unit}${ci ? `  [${f(ci[0])}, ${f(ci[1])}]` : ''}`);
  }
  const cols = ['sensitivity', 'specificity', 'precision', 'f1', 'jaccard'].filter((c) => r.metrics[c]);
  lines.push('', `${'class'.padEnd(14)} ${'n'.padStart(5)} ${cols.map((c) => c.padStart(11)).join(' ')}`);
  for (const c of r.classes) {
    lines.push(`${c.padEnd(14)} ${String(r.support[c]).padStart(5)} ${cols.map((m) => pct((r.metrics[m].value as Record<string, Num>)[c]).padStart(9) + ' %').join(' ')}`);
  }
  return lines.join('\n');
}
