import type { MetricDefinition } from './types.js';

/** The confusion matrix itself (counts; rows = true class, columns = predicted). Not an estimate, so no CI. */
export const confusion: MetricDefinition = {
  name: 'confusion_matrix', kind: 'matrix', estimate: false,
  description: 'counts, rows = true class, columns = predicted class',
  fromConfusion: (cm) => cm.map((row) => [...row]),
};
