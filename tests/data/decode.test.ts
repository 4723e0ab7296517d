/** Batch decoding: decodeBatches yields what decodeImages gives for the whole list, batch by batch. */
import { describe, expect, it } from 'vitest';
import { decodeBatches, decodeImages, loadDataset } from '../../src/data/index.js';
import { SAMPLES } from '../helpers/env.js';

describe('decodeBatches', () => {
  it('streams the same pixels as decodeImages, in order, in batches of at most batchSize', async () => {
    const ds = await loadDataset(SAMPLES);
    const items = ds.items.filter((_, i) => i % 20 === 0); // 11 images across the classes
    const whole = await decodeImages(items, { size: 16 });
    const sizes: number[] = [];
    const files: string[] = [];
    const chunks: Float32Array[] = [];
    for await (const batch of decodeBatches(items, { size: 16, batchSize: 4, concurrency: 2 })) {
      sizes.push(batch.items.length);
      files.push(...batch.items.map((i) => i.file));
      chunks.push(batch.data);
      expect(batch.failed).toEqual([]);
    }
    expect(sizes).toEqual([4, 4, 3]);
    expect(files).toEqual(whole.items.map((i) => i.file));
    const joined = new Float32Array(whole.data.length);
    let at = 0;
    for (const c of chunks) { joined.set(c, at); at += c.length; }
    expect(joined).toEqual(whole.data);
    for (let i = 0; i < whole.data.length; i += 97) expect(Math.abs(whole.data[i])).toBeLessThanOrEqual(1);
  });

  it('stops cleanly when the caller breaks early, and validates its options', async () => {
    const ds = await loadDataset(SAMPLES);
    let seen = 0;
    for await (const batch of decodeBatches(ds.items.slice(0, 9), { size: 8, batchSize: 3 })) { seen += batch.items.length; break; }
    expect(seen).toBe(3);
    await expect(decodeBatches(ds.items, { size: 8, batchSize: 0 }).next()).rejects.toThrow(/Expected an integer of at least 1 for batchSize but received 0/);
    await expect(decodeImages(ds.items, { size: 0 })).rejects.toThrow(/for size/);
  });
});
