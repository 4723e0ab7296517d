import { ratio, type ConfusionMatrix } from './confusion.js';
import type { MetricDefinition } from './types.js';

/** Fraction of images whose predicted class is the true class. */
export const accuracy: MetricDefinition = {
  name: 'accuracy', kind: 'scalar', estimate: true,
  description: 'fraction of images classified correctly',
  fromConfusion(cm: ConfusionMatrix) {
    let hits = 0, total = 0;
    cm.forEach((row, i) => row.forEach((n, j) => { total += n; if (i === j) hits += n; }));
    return ratio(hits, total);
  },
};
