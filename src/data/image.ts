/**
 * Decoding and encoding with sharp. Every image becomes RGB (grayscale,
 * RGBA, CMYK and 16-bit inputs are converted), centre-cropped to a square and
 * resized, as floats in [-1, 1].
 */
import sharp from 'sharp';
import type { DatasetItem, ImageBatch, FileProblem } from './types.js';

/** Images larger than this many pixels are refused (decompression-bomb guard). */
export const MAX_INPUT_PIXELS = 100_000_000;

/** Decoded sizes cellgan works at. */
export const IMAGE_SIZES = [16, 32, 64, 128, 256] as const;

/** Decodes one image file to size×size×3 floats in [-1, 1]. Throws with a readable reason. */
export async function decodeImage(file: string, size: number): Promise<Float32Array> {
  let raw: Buffer;
  try {
    raw = await sharp(file, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error', sequentialRead: true })
      .rotate() // honour EXIF orientation
      .flatten({ background: { r: 255, g: 255, b: 255 } }) // transparent areas become white, like a slide background
      .toColourspace('srgb')
      .resize(size, size, { fit: 'cover', position: 'centre', kernel: 'lanczos3' })
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer();
  } catch (err) {
    throw new Error(describeSharpError(err));
  }
  if (raw.length !== size * size * 3) throw new Error(`decoded to ${raw.length} bytes, expected ${size * size * 3}`);
  const out = new Float32Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw[i] / 127.5 - 1;
  return out;
}

/** Turns sharp/libvips messages into one short line. */
export function describeSharpError(err: unknown): string {
  const msg = String((err as Error)?.message ?? err).split('\n')[0];
  if (/unsupported image format/i.test(msg)) return 'unsupported or unrecognised image format';
  if (/pixel limit/i.test(msg)) return `image is larger than the ${MAX_INPUT_PIXELS.toLocaleString('en')}-pixel limit (possible decompression bomb)`;
  if (/premature end|truncated|unexpected end|Invalid SOS|corrupt/i.test(msg)) return `corrupt or truncated image (${msg})`;
  if (/ENOENT|no such file/i.test(msg)) return 'no such file';
  if (/EACCES|permission/i.test(msg)) return 'permission denied';
  return msg;
}

/**
 * Decodes items in parallel with at most `concurrency` in flight, so memory
 * stays bounded by the output array plus a few decodes.
 */
export async function decodeImages(
  items: DatasetItem[],
  opts: { size: number; concurrency?: number; onProgress?: (done: number, total: number) => void },
): Promise<ImageBatch> {
  const { size } = opts;
  const concurrency = Math.max(1, opts.concurrency ?? 4);
  const per = size * size * 3;
  const decoded: (Float32Array | null)[] = new Array(items.length).fill(null);
  const failed: FileProblem[] = [];
  let next = 0;
  let done = 0;
  async function worker(): Promise<void> {
    while (next < items.length) {
      const i = next++;
      try {
        decoded[i] = await decodeImage(items[i].abs, size);
      } catch (err) {
        failed.push({ file: items[i].file, reason: (err as Error).message });
      }
      opts.onProgress?.(++done, items.length);
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  const okItems: DatasetItem[] = [];
  const data = new Float32Array(per * decoded.filter(Boolean).length);
  decoded.forEach((d, i) => {
    if (!d) return;
    data.set(d, okItems.length * per);
    okItems.push(items[i]);
  });
  failed.sort((a, b) => a.file.localeCompare(b.file));
  return { data, size, items: okItems, failed };
}

/** Encodes one size×size×3 image in [-1, 1] (e.g. a generator output) as PNG bytes. */
export async function encodePng(pixels: Float32Array, size: number): Promise<Buffer> {
  return sharp(toBytes(pixels), { raw: { width: size, height: size, channels: 3 } }).png({ compressionLevel: 6 }).toBuffer();
}

/** Tiles N images (each size×size×3 in [-1, 1]) into a rows×cols PNG grid with a 2-px gap. */
export async function encodeGridPng(pixels: Float32Array, size: number, cols: number, gap = 2): Promise<Buffer> {
  const per = size * size * 3;
  const n = Math.floor(pixels.length / per);
  const rows = Math.max(1, Math.ceil(n / cols));
  const W = cols * size + (cols + 1) * gap, H = rows * size + (rows + 1) * gap;
  const out = Buffer.alloc(W * H * 3, 255);
  const bytes = toBytes(pixels);
  for (let k = 0; k < n; k++) {
    const r = Math.floor(k / cols), c = k % cols;
    const x0 = gap + c * (size + gap), y0 = gap + r * (size + gap);
    for (let y = 0; y < size; y++) {
      bytes.copy(out, ((y0 + y) * W + x0) * 3, k * per + y * size * 3, k * per + (y + 1) * size * 3);
    }
  }
  return sharp(out, { raw: { width: W, height: H, channels: 3 } }).png().toBuffer();
}

function toBytes(pixels: Float32Array): Buffer {
  const b = Buffer.alloc(pixels.length);
  for (let i = 0; i < pixels.length; i++) b[i] = Math.max(0, Math.min(255, Math.round((pixels[i] + 1) * 127.5)));
  return b;
}
