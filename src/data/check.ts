/**
 * Checking image files without decoding them fully: content hash (for exact
 * duplicates), format from the magic bytes, size and colour from the header
 * (sharp metadata), and a cheap truncation check. `deep` also decodes each
 * image (at 1/8 scale), which finds corrupt data inside the file at ~10× the
 * cost.
 */
import { promises as fs } from 'node:fs';
import sharp from 'sharp';
import { describeFsError } from '../util/errors.js';
import { hashBytes, hashFile } from '../util/hash.js';
import { bmpHeader, formatProblem, sniffFormat, truncationProblem, SNIFF_BYTES, type SupportedFormat } from './formats.js';
import { describeDecodeFailure, MAX_INPUT_PIXELS, openImage } from './image.js';
import { mapBounded } from '../util/pool.js';
import type { DatasetItem } from './types.js';

export interface ImageCheck {
  file: string;
  label: string;
  /** sha256 of the file's bytes (absent when the file could not be read). */
  sha256?: string;
  bytes: number;
  format?: SupportedFormat;
  width?: number;
  height?: number;
  /** Colour, e.g. "srgb 8-bit", "cmyk 8-bit", "b-w 16-bit", with "+alpha" when there is an alpha channel. */
  colour?: string;
  /** Why the image cannot be used, in one line; absent when it can. */
  problem?: string;
}

export interface CheckOptions {
  /** Also decode every image (finds corruption inside files; slower). */
  deep?: boolean;
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
}

const DEPTH_BITS: Record<string, string> = { uchar: '8-bit', char: '8-bit', ushort: '16-bit', short: '16-bit', uint: '32-bit', int: '32-bit', float: 'float', double: 'double' };

/** Files larger than this are hashed as a stream and checked from their head and tail, never held whole. */
export const WHOLE_FILE_LIMIT = 64 * 1024 * 1024;

/** The file's bytes, or for a large file its first and last 64 KiB (enough for sniffing, headers and end markers). */
async function readForCheck(abs: string): Promise<{ bytes: Buffer; size: number; sha256: string; partial: boolean }> {
  const st = await fs.stat(abs);
  if (st.size <= WHOLE_FILE_LIMIT) {
    const bytes = await fs.readFile(abs);
    return { bytes, size: bytes.length, sha256: hashBytes(bytes), partial: false };
  }
  const h = await fs.open(abs, 'r');
  try {
    const head = Buffer.alloc(65536), tail = Buffer.alloc(65536);
    await h.read(head, 0, head.length, 0);
    await h.read(tail, 0, tail.length, st.size - tail.length);
    return { bytes: Buffer.concat([head, tail]), size: st.size, sha256: await hashFile(abs), partial: true };
  } finally {
    await h.close();
  }
}

/**
 * Results by absolute path, valid while size and mtime are unchanged, so a
 * process that inspects and then splits the same data (the pipeline) reads
 * each file once.
 */
const cache = new Map<string, { size: number; mtimeMs: number; deep: boolean; check: Omit<ImageCheck, 'file' | 'label'> }>();
const CACHE_LIMIT = 250_000;

export async function checkImage(item: DatasetItem, opts: { deep?: boolean } = {}): Promise<ImageCheck> {
  const deep = opts.deep ?? false;
  let st;
  try { st = await fs.stat(item.abs); } catch (err) { return { file: item.file, label: item.label, bytes: 0, problem: `cannot read: ${describeFsError(err)}` }; }
  const hit = cache.get(item.abs);
  if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs && (hit.deep || !deep)) return { file: item.file, label: item.label, ...hit.check };
  const result = await checkUncached(item, deep);
  if (result.sha256) {
    if (cache.size >= CACHE_LIMIT) cache.clear();
    const { file: _file, label: _label, ...check } = result;
    cache.set(item.abs, { size: st.size, mtimeMs: st.mtimeMs, deep, check });
  }
  return result;
}

async function checkUncached(item: DatasetItem, deep: boolean): Promise<ImageCheck> {
  const out: ImageCheck = { file: item.file, label: item.label, bytes: 0 };
  let read;
  try { read = await readForCheck(item.abs); } catch (err) { out.problem = `cannot read: ${describeFsError(err)}`; return out; }
  const { bytes, partial } = read;
  // Large files go to sharp by path (it streams); small ones from memory.
  const input = partial ? item.abs : bytes;
  out.bytes = read.size;
  out.sha256 = read.sha256;
  const sniffed = sniffFormat(bytes.subarray(0, SNIFF_BYTES));
  const formatIssue = formatProblem(sniffed);
  if (formatIssue || sniffed.kind !== 'supported') { out.problem = formatIssue ?? 'not an image'; return out; }
  out.format = sniffed.format;
  if (sniffed.format === 'bmp') return checkBmp(out, bytes, read.size, partial ? item.abs : bytes, deep);
  let meta: sharp.Metadata;
  try {
    // The header only: the pixel limit is checked below so the reason can give the claimed size.
    meta = await sharp(input, { limitInputPixels: false }).metadata();
  } catch (err) {
    out.problem = describeDecodeFailure(err, partial ? undefined : bytes);
    return out;
  }
  out.width = meta.width;
  out.height = meta.height;
  out.colour = `${meta.space ?? 'unknown'} ${DEPTH_BITS[meta.depth ?? ''] ?? meta.depth ?? '?'}${meta.hasAlpha ? '+alpha' : ''}`;
  if (!meta.width || !meta.height) { out.problem = 'image header has no size'; return out; }
  if (meta.width * meta.height > MAX_INPUT_PIXELS) {
    out.problem = `image header claims ${meta.width}×${meta.height} pixels, over the ${MAX_INPUT_PIXELS.toLocaleString('en')}-pixel limit (possible decompression bomb); refused`;
    return out;
  }
  const cut = truncationProblem(sniffed.format, bytes);
  if (cut) { out.problem = cut; return out; }
  if (deep) {
    try {
      await sharp(input, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error' }).resize(8, 8, { fit: 'fill' }).raw().toBuffer();
    } catch (err) {
      out.problem = describeDecodeFailure(err, partial ? undefined : bytes);
    }
  }
  return out;
}

/** BMP (read by bmp-ts, not sharp): size and depth from its header, then the same limit, truncation and deep checks. */
async function checkBmp(out: ImageCheck, bytes: Buffer, fileSize: number, input: Buffer | string, deep: boolean): Promise<ImageCheck> {
  const h = bmpHeader(bytes);
  if (typeof h === 'string') { out.problem = h; return out; }
  out.width = h.width;
  out.height = h.height;
  out.colour = `srgb ${h.bitsPerPixel}-bit BMP`;
  if (h.width * h.height > MAX_INPUT_PIXELS) {
    out.problem = `image header claims ${h.width}×${h.height} pixels, over the ${MAX_INPUT_PIXELS.toLocaleString('en')}-pixel limit (possible decompression bomb); refused`;
    return out;
  }
  if (fileSize < h.dataOffset + h.dataBytes) { out.problem = `truncated BMP (${fileSize} bytes, the header needs ${h.dataOffset + h.dataBytes})`; return out; }
  if (deep) {
    try { await (await openImage(input)).resize(8, 8, { fit: 'fill' }).raw().toBuffer(); } catch (err) { out.problem = (err as Error).message; }
  }
  return out;
}

/** Checks every item with bounded concurrency; results keep the items' order. */
export async function checkImages(items: readonly DatasetItem[], opts: CheckOptions = {}): Promise<ImageCheck[]> {
  let done = 0;
  return mapBounded(items, opts.concurrency ?? 8, async (item) => {
    const c = await checkImage(item, { deep: opts.deep });
    opts.onProgress?.(++done, items.length);
    return c;
  });
}
