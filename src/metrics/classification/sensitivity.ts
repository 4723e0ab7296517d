import { perClass, ratio } from './confusion.js';
import type { MetricDefinition } from './types.js';

/** Per class: TP / (TP + FN), also called recall or true-positive rate. */
export const sensitivity: MetricDefinition = {
  name: 'sensitivity', kind: 'per-class', estimate: true,
  description: 'per class, TP / (TP + FN) (recall)',
  fromConfusion: (cm, classes) => perClass(cm, classes, (c) => ratio(c.tp, c.tp + c.fn)),
};
