import { perClass, ratio } from './confusion.js';
import type { MetricDefinition } from './types.js';

/** Per class: TN / (TN + FP), one class against the rest. */
export const specificity: MetricDefinition = {
  name: 'specificity', kind: 'per-class', estimate: true,
  description: 'per class, TN / (TN + FP)',
  fromConfusion: (cm, classes) => perClass(cm, classes, (c) => ratio(c.tn, c.tn + c.fp)),
};
