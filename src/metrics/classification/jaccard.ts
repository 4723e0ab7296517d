import { perClass, ratio } from './confusion.js';
import type { MetricDefinition } from './types.js';

/** Per class: TP / (TP + FP + FN), the intersection over union of true and predicted members. */
export const jaccard: MetricDefinition = {
  name: 'jaccard', kind: 'per-class', estimate: true,
  description: 'per class, TP / (TP + FP + FN) (intersection over union)',
  fromConfusion: (cm, classes) => perClass(cm, classes, (c) => ratio(c.tp, c.tp + c.fp + c.fn)),
};
