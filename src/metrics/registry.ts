/**
 * The metric registry, after stylegan2-ada's metric_main: one table maps a
 * name to its definition, and everything else (eval reports, score, CIs)
 * iterates over it. Adding a metric = one file in ./classification plus one
 * line in METRICS below.
 */
import { accuracy } from './classification/accuracy.js';
import { balancedAccuracy } from './classification/balanced-accuracy.js';
import { sensitivity } from './classification/sensitivity.js';
import { specificity } from './classification/specificity.js';
import { precision } from './classification/precision.js';
import { f1, macroF1 } from './classification/f1.js';
import { mcc, mccPerClass } from './classification/mcc.js';
import { jaccard } from './classification/jaccard.js';
import { confusion } from './classification/confusion-metric.js';
import { confusionMatrix } from './classification/confusion.js';
import type { MetricDefinition, MetricValue } from './classification/types.js';
import { OptionError } from '../util/errors.js';

const METRICS: MetricDefinition[] = [
  accuracy, balancedAccuracy, macroF1, mcc, sensitivity, specificity, precision, f1, mccPerClass, jaccard, confusion,
];

export const metricRegistry: ReadonlyMap<string, MetricDefinition> = new Map(METRICS.map((m) => [m.name, m]));

export function listMetrics(): string[] { return METRICS.map((m) => m.name); }

export function getMetric(name: string): MetricDefinition {
  const m = metricRegistry.get(name);
  if (!m) throw new OptionError(`Expected one of ${listMetrics().join(', ')} for metric but received ${JSON.stringify(name)}`);
  return m;
}

/** compute(yTrue, yPred, classes) of one registered metric; labels are indices into `classes`. */
export function computeMetric(name: string, yTrue: ArrayLike<number>, yPred: ArrayLike<number>, classes: string[]): MetricValue {
  return getMetric(name).fromConfusion(confusionMatrix(yTrue, yPred, classes.length), classes);
}
