import { perClass, type ConfusionMatrix } from './confusion.js';
import type { MetricDefinition } from './types.js';

/**
 * Matthews correlation coefficient for K classes (Gorodkin 2004, the R_K
 * statistic; equals the binary MCC when K = 2):
 *   (c·s − Σ p_k t_k) / sqrt((s² − Σ p_k²)(s² − Σ t_k²))
 * with c = correct, s = total, t_k = true count of k, p_k = predicted count of k.
 */
export const mcc: MetricDefinition = {
  name: 'mcc', kind: 'scalar', estimate: true,
  description: 'multiclass Matthews correlation coefficient (Gorodkin R_K), in [-1, 1]',
  fromConfusion(cm: ConfusionMatrix) {
    const K = cm.length;
    const t = new Array<number>(K).fill(0), p = new Array<number>(K).fill(0);
    let c = 0, s = 0;
    for (let i = 0; i < K; i++) for (let j = 0; j < K; j++) { t[i] += cm[i][j]; p[j] += cm[i][j]; s += cm[i][j]; if (i === j) c += cm[i][j]; }
    let pt = 0, pp = 0, tt = 0;
    for (let k = 0; k < K; k++) { pt += p[k] * t[k]; pp += p[k] * p[k]; tt += t[k] * t[k]; }
    const den = Math.sqrt((s * s - pp) * (s * s - tt));
    return den === 0 ? NaN : (c * s - pt) / den;
  },
};

/** Binary MCC of each class against the rest. */
export const mccPerClass: MetricDefinition = {
  name: 'mcc_per_class', kind: 'per-class', estimate: true,
  description: 'per class, binary MCC of the class against the rest',
  fromConfusion: (cm, classes) => perClass(cm, classes, ({ tp, fp, fn, tn }) => {
    const den = Math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn));
    return den === 0 ? NaN : (tp * tn - fp * fn) / den;
  }),
};
