import { perClass, ratio } from './confusion.js';
import type { MetricDefinition } from './types.js';

/** Per class: TP / (TP + FP) (positive predictive value); undefined (null) when a class is never predicted. */
export const precision: MetricDefinition = {
  name: 'precision', kind: 'per-class', estimate: true,
  description: 'per class, TP / (TP + FP)',
  fromConfusion: (cm, classes) => perClass(cm, classes, (c) => ratio(c.tp, c.tp + c.fp)),
};
