/** Batch decoding (decodeBatches = decodeImages batch by batch) and the other formats sharp reads. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeBatches, decodeImage, decodeImages, describeDecodeFailure, formatInspectReport, inspect, loadDataset } from '../../src/data/index.js';
import { SAMPLES, tempDir } from '../helpers/env.js';

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

describe('formats sharp reads', () => {
  it('WebP, TIFF and GIF inputs decode and are reported by format; a line break in a name stays on one line', async () => {
    const tmp = tempDir('cellgan-data-formats-');
    try {
      await fs.mkdir(path.join(tmp.dir, 'c'));
      const base = () => sharp({ create: { width: 12, height: 10, channels: 3, background: { r: 200, g: 100, b: 50 } } });
      await fs.writeFile(path.join(tmp.dir, 'c', 'a.webp'), await base().webp({ lossless: true }).toBuffer());
      await fs.writeFile(path.join(tmp.dir, 'c', 'b.tif'), await base().tiff().toBuffer());
      await fs.writeFile(path.join(tmp.dir, 'c', 'c.gif'), await base().gif().toBuffer());
      await fs.writeFile(path.join(tmp.dir, 'c', 'bad\nname.png'), 'not a png');
      const r = await inspect(tmp.dir);
      expect(r.formats).toEqual({ gif: 1, tiff: 1, webp: 1 });
      expect(r.unreadable).toEqual([{ file: 'c/bad\nname.png', reason: expect.stringMatching(/^not an image/) }]);
      expect(formatInspectReport(r)).toContain('"c/bad\\nname.png: not an image');
      for (const f of ['a.webp', 'b.tif']) {
        const px = await decodeImage(path.join(tmp.dir, 'c', f), 2);
        expect(Math.round((px[0] + 1) * 127.5)).toBe(200);
      }
      expect((await decodeImage(path.join(tmp.dir, 'c', 'c.gif'), 2)).length).toBe(12);
    } finally {
      tmp.cleanup();
    }
  });
});

describe('decode failure reasons', () => {
  const tmp = tempDir('cellgan-decode-reasons-');
  afterAll(() => tmp.cleanup());

  // libvips's error text is process-wide: with decodes in flight together a
  // failure can lose its reason (CI once reported a truncated JPEG that way).
  it('a truncated JPEG decoded among good images is always reported as truncated, whatever libvips loses', async () => {
    const ds = await loadDataset(SAMPLES);
    const good = ds.items.slice(0, 7);
    const bytes = await fs.readFile(good[0].abs);
    const cut = path.join(tmp.dir, 'cut.jpg');
    await fs.writeFile(cut, bytes.subarray(0, Math.floor(bytes.length / 3)));
    const items = [{ ...good[0], file: 'cut.jpg', abs: cut }, ...good.slice(1)];
    const reasons = new Set<string>();
    for (let round = 0; round < 40; round++) {
      const res = await decodeImages(items, { size: 16, concurrency: 8 });
      expect(res.items.length).toBe(6);
      for (const f of res.failed) reasons.add(f.reason);
    }
    for (const r of reasons) expect(r).toMatch(/truncated/i);
  });

  it('explains a reason-less libvips failure from the bytes, and never passes on a misleading one', () => {
    const jpegHead = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1]);
    const complete = Buffer.concat([jpegHead, Buffer.alloc(64), Buffer.from([0xff, 0xd9])]);
    for (const lost of ['Unknown error', 'Warning treated as error due to failOn setting', '']) {
      expect(describeDecodeFailure(new Error(lost), jpegHead)).toBe('truncated JPEG (no end-of-image marker)');
      expect(describeDecodeFailure(new Error(lost), complete)).toBe('cannot be decoded (the image library gave no reason)');
      expect(describeDecodeFailure(new Error(lost))).toBe('cannot be decoded (the image library gave no reason)');
    }
    expect(describeDecodeFailure(new Error('VipsJpeg: premature end of JPEG image'), complete)).toMatch(/^corrupt or truncated image \(VipsJpeg: premature end/);
  });
});
