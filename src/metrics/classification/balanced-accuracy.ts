import { macroOverPresent, ratio } from './confusion.js';
import type { MetricDefinition } from './types.js';

/** Mean per-class sensitivity (recall) over classes present in the sample; robust to class imbalance. */
export const balancedAccuracy: MetricDefinition = {
  name: 'balanced_accuracy', kind: 'scalar', estimate: true,
  description: 'mean of per-class sensitivity over classes with at least one true image',
  fromConfusion: (cm) => macroOverPresent(cm, (c) => ratio(c.tp, c.tp + c.fn)),
};
