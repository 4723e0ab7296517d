import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { encodeGridPng } from '../../src/data/image.js';
import { rasterize, hasGlyph, GLYPH_H } from '../../src/data/font.js';

async function raw(png: Buffer): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** Dark pixels (the label ink) in columns [0, x1) of rows [y0, y1). */
function ink(img: { data: Buffer; width: number }, x1: number, y0: number, y1: number): number {
  let n = 0;
  for (let y = y0; y < y1; y++) for (let x = 0; x < x1; x++) if (img.data[(y * img.width + x) * 3] < 128) n++;
  return n;
}

describe('encodeGridPng: class names on the rows', () => {
  const size = 32, cols = 4;
  const grey = new Float32Array(2 * cols * size * size * 3).fill(0.5); // 2 rows of light grey images (no dark pixels)

  it('without labels the grid is just the tiles', async () => {
    const img = await raw(await encodeGridPng(grey, size, cols));
    expect([img.width, img.height]).toEqual([cols * size + (cols + 1) * 2, 2 * size + 3 * 2]);
    expect(ink(img, img.width, 0, img.height)).toBe(0);
  });

  it('draws each row\'s label left of it, in that row\'s band, pixel for pixel the font\'s', async () => {
    const labels = ['basophil', 'ig'];
    const img = await raw(await encodeGridPng(grey, size, cols, { rowLabels: labels }));
    const strip = img.width - (cols * size + (cols + 1) * 2);
    const text = labels.map((l) => rasterize(l, 1));
    expect(strip).toBe(Math.max(...text.map((t) => t.width)) + 2 * (2 + 1));
    expect(img.height).toBe(2 * size + 3 * 2);
    // Row r's band is [2 + r·34, 2 + r·34 + 32): its ink is exactly its label's.
    for (let r = 0; r < 2; r++) {
      const expected = text[r].mask.reduce((a, b) => a + b, 0);
      expect(expected).toBeGreaterThan(0);
      expect(ink(img, strip, 2 + r * (size + 2), 2 + r * (size + 2) + size), labels[r]).toBe(expected);
    }
    // …and nothing is drawn over the tiles.
    let tileInk = 0;
    for (let y = 0; y < img.height; y++) for (let x = strip; x < img.width; x++) if (img.data[(y * img.width + x) * 3] < 128) tileInk++;
    expect(tileInk).toBe(0);
    // Different names give different pixels (so the check above can fail).
    const other = await raw(await encodeGridPng(grey, size, cols, { rowLabels: ['basophiL', 'ig'] }));
    expect(Buffer.compare(other.data, img.data)).not.toBe(0);
  });

  it('scales the font with the image size and knows the characters of class names', async () => {
    expect(rasterize('ab', 2)).toMatchObject({ width: (2 * 6 - 1) * 2, height: GLYPH_H * 2 });
    for (const ch of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_.') expect(hasGlyph(ch), ch).toBe(true);
    // Unknown characters are drawn as '?', not dropped.
    expect(rasterize('é').mask).toEqual(rasterize('?').mask);
    const big = await raw(await encodeGridPng(new Float32Array(64 * 64 * 3).fill(0.5), 64, 1, { rowLabels: ['x'] }));
    expect(ink(big, big.width - 68, 0, big.height)).toBe(rasterize('x', 2).mask.reduce((a, b) => a + b, 0));
  });
});
