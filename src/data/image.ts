/**
 * Decoding and encoding with sharp. Every image becomes RGB (grayscale,
 * RGBA, CMYK and 16-bit inputs are converted), centre-cropped to a square and
 * resized, as floats in [-1, 1].
 */
import { rasterize } from './font.js';
import { promises as fs } from 'node:fs';
import sharp from 'sharp';
import { decode as decodeBmp } from 'bmp-ts';
import { describeFsError } from '../util/errors.js';
import { integer } from '../util/validate.js';
import { bmpHeader, formatProblem, sniffFormat, truncationProblem, SNIFF_BYTES } from './formats.js';
import type { DatasetItem, ImageBatch, FileProblem } from './types.js';
import { mapBounded } from '../util/pool.js';

/** Images larger than this many pixels are refused (decompression-bomb guard). */
export const MAX_INPUT_PIXELS = 100_000_000;

/** Decoded sizes cellgan works at. */
export const IMAGE_SIZES = [16, 32, 64, 128, 256] as const;

/**
 * Decodes one image file to size×size×3 floats in [-1, 1]. Throws an Error
 * whose message is one readable reason (e.g. "unsupported format (BMP)").
 * A tiny image (even 1×1) is upscaled to `size`: it decodes, and inspect
 * lists it so a person can decide whether it belongs in the data.
 */
export async function decodeImage(file: string, size: number): Promise<Float32Array> {
  let bytes: Buffer;
  try {
    const st = await fs.stat(file);
    if (st.size > WHOLE_FILE_BYTES) {
      // A large file is not held whole: sniff its head, let sharp stream the rest.
      const h = await fs.open(file, 'r');
      const head = Buffer.alloc(SNIFF_BYTES);
      try { await h.read(head, 0, SNIFF_BYTES, 0); } finally { await h.close(); }
      return decodeInput(file, head, size);
    }
    bytes = await fs.readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code) throw new Error(describeFsError(err));
    throw err;
  }
  return decodeImageBytes(bytes, size);
}

/** Files above this size are decoded from disk by sharp instead of being read into memory first. */
const WHOLE_FILE_BYTES = 64 * 1024 * 1024;

/** Like decodeImage, from the file's bytes. */
export async function decodeImageBytes(bytes: Uint8Array, size: number): Promise<Float32Array> {
  return decodeInput(bytes, bytes.subarray(0, SNIFF_BYTES), size);
}

/**
 * A sharp pipeline reading one image: by sharp itself, or for BMP (which
 * sharp's binaries do not read) through the pure-JS bmp-ts decoder into raw
 * RGB. Throws one readable line for a BMP it cannot read. Every decoder of
 * images in cellgan starts here.
 */
export async function openImage(input: Uint8Array | string, head?: Uint8Array): Promise<sharp.Sharp> {
  const sniffed = sniffFormat(head ?? (typeof input === 'string' ? await readHead(input) : input.subarray(0, SNIFF_BYTES)));
  if (sniffed.kind === 'supported' && sniffed.format === 'bmp') {
    const bytes = typeof input === 'string' ? await fs.readFile(input) : input;
    const h = bmpHeader(bytes);
    if (typeof h === 'string') throw new Error(h);
    if (h.width * h.height > MAX_INPUT_PIXELS) throw new Error(`image is larger than the ${MAX_INPUT_PIXELS.toLocaleString('en')}-pixel limit (possible decompression bomb)`);
    const cut = truncationProblem('bmp', bytes);
    if (cut) throw new Error(cut);
    let rgba: Buffer, width: number, height: number;
    try {
      const d = decodeBmp(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { toRGBA: true });
      rgba = d.data; width = d.width; height = d.height;
    } catch (err) {
      throw new Error(`corrupt BMP (${String((err as Error)?.message ?? err).split('\n')[0]})`);
    }
    if (rgba.length < width * height * 4) throw new Error('corrupt BMP (pixel data cut short)');
    // BMP alpha is rarely meaningful (bmp-ts gives 0 for 24-bit files): keep RGB only.
    const rgb = Buffer.alloc(width * height * 3);
    for (let i = 0, j = 0; j < rgb.length; i += 4, j += 3) { rgb[j] = rgba[i]; rgb[j + 1] = rgba[i + 1]; rgb[j + 2] = rgba[i + 2]; }
    return sharp(rgb, { raw: { width, height, channels: 3 } });
  }
  return sharp(input, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error', sequentialRead: true });
}

async function readHead(file: string): Promise<Uint8Array> {
  const h = await fs.open(file, 'r');
  try {
    const head = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await h.read(head, 0, SNIFF_BYTES, 0);
    return head.subarray(0, bytesRead);
  } finally { await h.close(); }
}

async function decodeInput(input: Uint8Array | string, head: Uint8Array, size: number): Promise<Float32Array> {
  const problem = formatProblem(sniffFormat(head));
  if (problem) throw new Error(problem);
  let raw: Buffer;
  const img = await openImage(input, head);
  try {
    raw = await img
      .rotate() // honour EXIF orientation
      .flatten({ background: { r: 255, g: 255, b: 255 } }) // transparent areas become white, like a slide background
      .toColourspace('srgb') // grayscale, CMYK and 16-bit inputs become 8-bit sRGB
      .resize(size, size, { fit: 'cover', position: 'centre', kernel: 'lanczos3' })
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer();
  } catch (err) {
    throw new Error(describeDecodeFailure(err, typeof input === 'string' ? undefined : input));
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
  if (/pixel limit|exceeds pixel/i.test(msg)) return `image is larger than the ${MAX_INPUT_PIXELS.toLocaleString('en')}-pixel limit (possible decompression bomb)`;
  if (/premature end|truncated|unexpected end|Invalid SOS|corrupt|not enough data|read error|out of order|bad .*checksum|CRC/i.test(msg)) return `corrupt or truncated image (${msg})`;
  if (/ENOENT|no such file/i.test(msg)) return 'no such file';
  if (/EACCES|permission/i.test(msg)) return 'permission denied';
  return msg;
}

/**
 * libvips keeps its error text in one process-wide buffer, so when several
 * decodes are in flight a failure can arrive as a bare "Unknown error" or as
 * the generic "Warning treated as error" line, the real reason cleared by
 * another decode (measured: about 1 failure in 4 with eight decodes at
 * once). The reason goes to the user, so a reason-less failure is explained
 * from the file's bytes where they show it (a truncated JPEG or PNG), and
 * otherwise said plainly to have no reason, never a misleading one.
 */
export function describeDecodeFailure(err: unknown, bytes?: Uint8Array): string {
  const msg = describeSharpError(err);
  if (!isReasonless(msg)) return msg;
  if (bytes) {
    const sniffed = sniffFormat(bytes.subarray(0, SNIFF_BYTES));
    const cut = sniffed.kind === 'supported' ? truncationProblem(sniffed.format, bytes) : null;
    if (cut) return cut;
  }
  return 'cannot be decoded (the image library gave no reason)';
}

/** True for the messages libvips gives when its reason was lost (see describeDecodeFailure). */
export function isReasonless(message: string): boolean {
  const m = message.trim();
  return m === '' || /^unknown error$/i.test(m) || /^warning treated as error due to failOn setting$/i.test(m);
}

/**
 * Decodes items in parallel with at most `concurrency` in flight, so memory
 * stays bounded by the output array plus a few decodes.
 */
export async function decodeImages(
  items: DatasetItem[],
  opts: { size: number; concurrency?: number; onProgress?: (done: number, total: number) => void },
): Promise<ImageBatch> {
  const size = integer('size', opts.size, 1, 4096);
  const concurrency = integer('concurrency', opts.concurrency ?? 4, 1, 256);
  const per = size * size * 3;
  const failed: FileProblem[] = [];
  let done = 0;
  const decoded = await mapBounded(items, concurrency, async (item): Promise<Float32Array | null> => {
    try {
      return await decodeImage(item.abs, size);
    } catch (err) {
      failed.push({ file: item.file, reason: (err as Error).message });
      return null;
    } finally {
      opts.onProgress?.(++done, items.length);
    }
  });
  const okItems: DatasetItem[] = [];
  const data = new Float32Array(per * decoded.filter(Boolean).length);
  decoded.forEach((d, i) => {
    if (!d) return;
    data.set(d, okItems.length * per);
    okItems.push(items[i]);
  });
  failed.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  return { data, size, items: okItems, failed };
}

/**
 * Decodes items batch by batch, so memory holds at most two batches (the one
 * handed out and the next, decoded while the caller works on the first).
 * Each batch lists its own undecodable items in `failed`; a batch can hold
 * fewer than `batchSize` images, or none.
 */
export async function* decodeBatches(
  items: DatasetItem[],
  opts: { size: number; batchSize: number; concurrency?: number },
): AsyncGenerator<ImageBatch> {
  const batchSize = integer('batchSize', opts.batchSize, 1);
  integer('size', opts.size, 1, 4096);
  const decodeAt = (start: number) => decodeImages(items.slice(start, start + batchSize), { size: opts.size, concurrency: opts.concurrency });
  let pending: Promise<ImageBatch> | null = items.length ? decodeAt(0) : null;
  for (let start = 0; pending; start += batchSize) {
    const batch: ImageBatch = await pending;
    pending = start + batchSize < items.length ? decodeAt(start + batchSize) : null;
    // A failure in the prefetched batch must not become an unhandled rejection if the caller stops early.
    pending?.catch(() => {});
    yield batch;
  }
}

/** Encodes one size×size×3 image in [-1, 1] (e.g. a generator output) as PNG bytes. */
export async function encodePng(pixels: Float32Array, size: number): Promise<Buffer> {
  return sharp(toBytes(pixels), { raw: { width: size, height: size, channels: 3 } }).png({ compressionLevel: 6 }).toBuffer();
}

/**
 * Tiles N images (each size×size×3 in [-1, 1]) into a rows×cols PNG grid with
 * a `gap`-px white gap. `rowLabels` (one per row, e.g. a conditional grid's
 * class names) are drawn left of their rows in a built-in bitmap font, so the
 * grid file says which row is which when opened on its own.
 */
export async function encodeGridPng(pixels: Float32Array, size: number, cols: number, opts: { gap?: number; rowLabels?: string[] } = {}): Promise<Buffer> {
  const gap = opts.gap ?? 2;
  const per = size * size * 3;
  const n = Math.floor(pixels.length / per);
  const rows = Math.max(1, Math.ceil(n / cols));
  const scale = Math.max(1, Math.floor(size / 32));
  const labels = (opts.rowLabels ?? []).slice(0, rows).map((t) => rasterize(t, scale));
  const textW = Math.max(0, ...labels.map((l) => l.width));
  const left = textW ? textW + 2 * (gap + scale) : 0;
  const W = left + cols * size + (cols + 1) * gap, H = rows * size + (rows + 1) * gap;
  const out = Buffer.alloc(W * H * 3, 255);
  const bytes = toBytes(pixels);
  for (let k = 0; k < n; k++) {
    const r = Math.floor(k / cols), c = k % cols;
    const x0 = left + gap + c * (size + gap), y0 = gap + r * (size + gap);
    for (let y = 0; y < size; y++) {
      bytes.copy(out, ((y0 + y) * W + x0) * 3, k * per + y * size * 3, k * per + (y + 1) * size * 3);
    }
  }
  labels.forEach((l, r) => {
    const x0 = gap + scale, y0 = gap + r * (size + gap) + Math.max(0, Math.floor((size - l.height) / 2));
    for (let y = 0; y < l.height && y0 + y < H; y++) for (let x = 0; x < l.width; x++) {
      if (l.mask[y * l.width + x]) out.fill(34, ((y0 + y) * W + x0 + x) * 3, ((y0 + y) * W + x0 + x) * 3 + 3);
    }
  });
  return sharp(out, { raw: { width: W, height: H, channels: 3 } }).png().toBuffer();
}

function toBytes(pixels: Float32Array): Buffer {
  const b = Buffer.alloc(pixels.length);
  for (let i = 0; i < pixels.length; i++) b[i] = Math.max(0, Math.min(255, Math.round((pixels[i] + 1) * 127.5)));
  return b;
}
