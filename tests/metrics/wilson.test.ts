import { describe, expect, it } from 'vitest';
import { normalQuantile, wilsonInterval } from '../../src/metrics/wilson.js';
import { computeMetrics } from '../../src/metrics/report.js';

describe('Wilson score intervals', () => {
  it('match published values and never have zero width', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 5);
    const [lo, hi] = wilsonInterval(6, 6);
    expect(lo).toBeCloseTo(0.6097, 3); // Wilson 95 % for 6/6
    expect(hi).toBe(1);
    const [lo0, hi0] = wilsonInterval(0, 10);
    expect(lo0).toBe(0);
    expect(hi0).toBeCloseTo(0.2775, 3);
    const [a, b] = wilsonInterval(81, 263); // Newcombe 1998, example: 0.2553–0.3662
    expect(a).toBeCloseTo(0.2553, 3);
    expect(b).toBeCloseTo(0.3662, 3);
    // The bounds at 0 and n are exactly 0 and 1 (not an ulp off), and no interval from n ≥ 1 images has zero width.
    for (let n = 1; n <= 60; n++) {
      expect(wilsonInterval(n, n)[1]).toBe(1);
      expect(wilsonInterval(0, n)[0]).toBe(0);
      for (let k = 0; k <= n; k++) { const [l, h] = wilsonInterval(k, n); expect(h - l).toBeGreaterThan(0); expect(l).toBeLessThanOrEqual(k / n); expect(h).toBeGreaterThanOrEqual(k / n); }
    }
  });

  it('per-class sensitivity/specificity/precision from 6 perfect test images get Wilson, not [100, 100]', () => {
    const yTrue = [0, 0, 0, 1, 1, 1], yPred = [0, 0, 0, 1, 1, 1];
    const r = computeMetrics(yTrue, yPred, ['a', 'b'], { resamples: 200, seed: 1 });
    for (const m of ['sensitivity', 'specificity', 'precision']) {
      expect(r.metrics[m].interval).toBe('wilson');
      const ci = (r.metrics[m].ci95 as Record<string, [number, number]>).a;
      expect(ci[1]).toBe(1);
      expect(ci[0]).toBeCloseTo(wilsonInterval(3, 3)[0], 10);
      expect(ci[0]).toBeLessThan(0.5);
    }
    expect(r.metrics.accuracy.interval).toBe('bootstrap');
  });
});
