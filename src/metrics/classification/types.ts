import type { ConfusionMatrix } from './confusion.js';

/** A number (NaN = undefined, e.g. 0/0), a value per class, or a matrix. */
export type MetricValue = number | Record<string, number> | number[][];

export interface MetricDefinition {
  /** Key in reports (snake_case). */
  name: string;
  kind: 'scalar' | 'per-class' | 'matrix';
  /** True when the value estimates a population quantity from a sample, so it gets a bootstrap CI. */
  estimate: boolean;
  description: string;
  /** The metric from a confusion matrix (rows true, columns predicted). */
  fromConfusion(cm: ConfusionMatrix, classes: string[]): MetricValue;
}
