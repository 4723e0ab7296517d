import { describe, expect, it } from 'vitest';
import { forEachBounded, mapBounded } from '../../src/util/pool.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('bounded concurrency (util/pool)', () => {
  it('keeps input order and never exceeds the bound', async () => {
    let inFlight = 0, peak = 0;
    const out = await mapBounded([5, 1, 4, 2, 3, 0, 6], 3, async (x, i) => {
      inFlight++; peak = Math.max(peak, inFlight);
      await sleep(x);
      inFlight--;
      return `${i}:${x}`;
    });
    expect(out).toEqual(['0:5', '1:1', '2:4', '3:2', '4:3', '5:0', '6:6']);
    expect(peak).toBe(3);
    const stats = await forEachBounded(Array.from({ length: 20 }), 4, async () => { await sleep(1); });
    expect(stats.peakInFlight).toBe(4);
    expect(await mapBounded([], 4, async () => 1)).toEqual([]);
  });

  it('after the first failure starts nothing new, waits for the calls in flight, and rethrows that error', async () => {
    const started: number[] = [], finished: number[] = [];
    const run = mapBounded(Array.from({ length: 10 }, (_, i) => i), 2, async (i) => {
      started.push(i);
      if (i === 1) { await sleep(1); throw new Error('boom 1'); }
      await sleep(10);
      finished.push(i);
      return i;
    });
    await expect(run).rejects.toThrow('boom 1');
    // 0 and 1 start; 1 fails; 0 was in flight and finished before the rejection; 2.. never start.
    expect(started).toEqual([0, 1]);
    expect(finished).toEqual([0]);
  });
});
