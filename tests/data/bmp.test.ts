/**
 * BMP input (LISC and the Tecom set ship 24-bit BMPs): real PBC cells written
 * as 24-bit BMP by a hand-written encoder (bottom-up and top-down rows, a
 * width that needs row padding), read through the one reader in src/data.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkImage, decodeImage, inspect, loadDataset } from '../../src/data/index.js';
import { readRgb } from '../../src/export/classic.js';
import { PBC_RAW, tempDir } from '../helpers/env.js';

/** A 24-bit BI_RGB BMP of raw RGB pixels, rows padded to 4 bytes; bottom-up unless topDown. */
function bmp24(rgb: Buffer, width: number, height: number, topDown = false): Buffer {
  const row = Math.ceil((width * 3) / 4) * 4;
  const b = Buffer.alloc(54 + row * height);
  b.write('BM', 0, 'ascii');
  b.writeUInt32LE(b.length, 2);
  b.writeUInt32LE(54, 10);
  b.writeUInt32LE(40, 14);
  b.writeInt32LE(width, 18); b.writeInt32LE(topDown ? -height : height, 22);
  b.writeUInt16LE(1, 26); b.writeUInt16LE(24, 28);
  b.writeUInt32LE(row * height, 34);
  for (let y = 0; y < height; y++) {
    const dst = 54 + (topDown ? y : height - 1 - y) * row;
    for (let x = 0; x < width; x++) {
      const s = (y * width + x) * 3;
      b[dst + x * 3] = rgb[s + 2]; b[dst + x * 3 + 1] = rgb[s + 1]; b[dst + x * 3 + 2] = rgb[s]; // BGR
    }
  }
  return b;
}

const tmp = tempDir('cellgan-bmp-');
let root: string;
const cells: { name: string; rgb: Buffer; width: number; height: number }[] = [];

beforeAll(async () => {
  root = path.join(tmp.dir, 'data');
  const ds = await loadDataset(PBC_RAW);
  for (const [k, item] of ds.items.filter((_, i) => i % 40 === 0).entries()) {
    // 125×123: odd sizes, so every row carries padding.
    const { data, info } = await sharp(item.abs).resize(125, 123, { fit: 'fill' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    cells.push({ name: `${item.label}/cell-${k}.bmp`, rgb: data, width: info.width, height: info.height });
    await fs.mkdir(path.join(root, item.label), { recursive: true });
    await fs.writeFile(path.join(root, item.label, `cell-${k}.bmp`), bmp24(data, info.width, info.height, k % 2 === 1));
  }
});
afterAll(() => tmp.cleanup());

describe('24-bit BMP input', () => {
  it('decodes to exactly the pixels that were written (bottom-up and top-down rows)', async () => {
    expect(cells.length).toBeGreaterThanOrEqual(3);
    for (const c of cells) {
      const { data, width, height } = await readRgb(await fs.readFile(path.join(root, c.name)));
      expect([width, height]).toEqual([c.width, c.height]);
      expect(Buffer.compare(data, c.rgb), c.name).toBe(0);
      // The model-facing decoder gives what it gives for the same pixels as PNG.
      const png = path.join(tmp.dir, 'same.png');
      await sharp(c.rgb, { raw: { width: c.width, height: c.height, channels: 3 } }).png().toFile(png);
      const [a, b] = await Promise.all([decodeImage(path.join(root, c.name), 32), decodeImage(png, 32)]);
      expect(Math.max(...a.map((v, i) => Math.abs(v - b[i])))).toBe(0);
    }
  });

  it('inspect counts BMPs as readable images and names a truncated one', async () => {
    const cut = path.join(root, cells[0].name.split('/')[0], 'cut.bmp');
    const whole = await fs.readFile(path.join(root, cells[0].name));
    await fs.writeFile(cut, whole.subarray(0, whole.length - 500));
    try {
      const r = await inspect(root, { deep: true });
      expect(r.formats).toEqual({ bmp: cells.length });
      expect(r.sizes).toEqual({ '125×123': cells.length });
      expect(r.unreadable).toEqual([{ file: path.relative(root, cut), reason: expect.stringMatching(/^truncated BMP/) }]);
      const check = await checkImage({ file: 'x', abs: path.join(root, cells[0].name), label: 'x' });
      expect(check).toMatchObject({ format: 'bmp', width: 125, height: 123, colour: 'srgb 24-bit BMP' });
      expect(check.problem).toBeUndefined();
      await expect(decodeImage(cut, 16)).rejects.toThrow(/^truncated BMP/);
    } finally { await fs.rm(cut); }
  });
});
