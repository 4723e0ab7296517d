import { macroOverPresent, perClass, ratio } from './confusion.js';
import type { MetricDefinition } from './types.js';

const f1Of = (c: { tp: number; fp: number; fn: number }): number => ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn);

/** Per class: 2TP / (2TP + FP + FN), the harmonic mean of precision and sensitivity. */
export const f1: MetricDefinition = {
  name: 'f1', kind: 'per-class', estimate: true,
  description: 'per class, 2TP / (2TP + FP + FN)',
  fromConfusion: (cm, classes) => perClass(cm, classes, f1Of),
};

/** Unweighted mean of per-class F1 over classes present in the sample. */
export const macroF1: MetricDefinition = {
  name: 'macro_f1', kind: 'scalar', estimate: true,
  description: 'mean per-class F1 over classes with at least one true image',
  fromConfusion: (cm) => macroOverPresent(cm, f1Of),
};
