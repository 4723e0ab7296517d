/**
 * A bad-input corpus generated on the fly (no checked-in binaries): every
 * case of issue #8 that concerns reading data, beside a few good images.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';

/** A noise image (distinct per seed) as PNG or JPEG bytes. */
export async function noiseImage(seed: number, size = 24, format: 'png' | 'jpeg' = 'png'): Promise<Buffer> {
  const raw = Buffer.alloc(size * size * 3);
  let s = seed * 2654435761 >>> 0;
  for (let i = 0; i < raw.length; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; raw[i] = s >>> 24; }
  const img = sharp(raw, { raw: { width: size, height: size, channels: 3 } });
  return format === 'png' ? img.png().toBuffer() : img.jpeg({ quality: 90 }).toBuffer();
}

/** The start of a Photoshop file: a format cellgan recognises and does not read. */
export function psdStub(): Buffer {
  const b = Buffer.alloc(64);
  b.write('8BPS', 0, 'ascii');
  b.writeUInt16BE(1, 4);
  return b;
}

/** A 2×2 24-bit BMP written byte by byte (sharp cannot write BMP). */
export function tinyBmp(): Buffer {
  const rowBytes = 8; // 2 px × 3 bytes, padded to a multiple of 4
  const pixelBytes = rowBytes * 2;
  const b = Buffer.alloc(14 + 40 + pixelBytes);
  b.write('BM', 0, 'ascii');
  b.writeUInt32LE(b.length, 2);
  b.writeUInt32LE(54, 10); // pixel data offset
  b.writeUInt32LE(40, 14); // BITMAPINFOHEADER
  b.writeInt32LE(2, 18); b.writeInt32LE(2, 22);
  b.writeUInt16LE(1, 26); b.writeUInt16LE(24, 28);
  b.writeUInt32LE(pixelBytes, 34);
  for (let y = 0; y < 2; y++) for (let x = 0; x < 2; x++) b.writeUIntLE(0x0000ff, 54 + y * rowBytes + x * 3, 3);
  return b;
}

function crc32(data: Buffer): number {
  let c = ~0;
  for (const byte of data) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A well-formed PNG header claiming width×height pixels with almost no data: a decompression-bomb stand-in. */
export function pngClaiming(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0); ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; ihdr[9] = 2; // 8-bit RGB
  const idat = Buffer.from([0x78, 0x9c, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01]);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), pngChunk('IHDR', ihdr), pngChunk('IDAT', idat), pngChunk('IEND', Buffer.alloc(0))]);
}

export const GOOD = 'good';
export const UNICODE_CLASS = 'Zellen mit Ümlaut é';
export const UNICODE_FILE = `${UNICODE_CLASS}/ñame with spaces 日本.png`;

/** What the corpus holds, by case, as paths relative to the data root. */
export const CASES = {
  zeroByte: 'good/zero.jpg',
  truncatedJpeg: 'good/truncated.jpg',
  textAsPng: 'good/text.png',
  psd: 'good/old.psd',
  psdNamedJpg: 'good/psd-inside.jpg',
  cmyk: 'good/cmyk.jpg',
  png16: 'good/deep16.png',
  gray: 'good/gray.png',
  rgba: 'good/rgba.png',
  bomb: 'good/bomb.png',
  onePixel: 'good/one.png',
  emptyClass: 'empty class/',
  hidden: 'good/.hidden.jpg',
  dsStore: 'good/.DS_Store',
  unicode: UNICODE_FILE,
  linkOut: 'good/escape.jpg',
  conflictA: 'good/dup.png',
  conflictB: `${UNICODE_CLASS}/dup copy.png`,
  sameClassDupA: 'good/twin-a.png',
  sameClassDupB: 'good/twin-b.png',
  commaName: 'good/with, comma.png',
} as const;

/** Files the scan accepts and that decode to RGB. */
export const READABLE = [CASES.cmyk, CASES.png16, CASES.gray, CASES.rgba, CASES.onePixel, CASES.unicode, CASES.conflictA, CASES.conflictB, CASES.sameClassDupA, CASES.sameClassDupB, CASES.commaName];
/** Files the scan accepts (image extension) but that cannot be decoded. */
export const UNREADABLE = [CASES.zeroByte, CASES.truncatedJpeg, CASES.textAsPng, CASES.psdNamedJpg, CASES.bomb];

/**
 * Builds `<dir>/data` (the corpus) and `<dir>/outside` (what a symlink points
 * to; the scan must never read it). Returns the data root.
 */
export async function buildCorpus(dir: string): Promise<string> {
  const root = path.join(dir, 'data');
  const outside = path.join(dir, 'outside');
  await fs.mkdir(path.join(root, GOOD), { recursive: true });
  await fs.mkdir(path.join(root, UNICODE_CLASS), { recursive: true });
  await fs.mkdir(path.join(root, 'empty class'), { recursive: true });
  await fs.mkdir(outside, { recursive: true });
  const put = (rel: string, data: Buffer | string) => fs.writeFile(path.join(root, rel), data);

  for (let i = 0; i < 6; i++) await put(`good/ok-${i}.jpg`, await noiseImage(i, 24, 'jpeg'));
  const jpeg = await noiseImage(100, 64, 'jpeg');
  await put(CASES.zeroByte, Buffer.alloc(0));
  await put(CASES.truncatedJpeg, jpeg.subarray(0, Math.floor(jpeg.length / 2)));
  await put(CASES.textAsPng, 'this is a text file, not a PNG\n');
  await put(CASES.psd, psdStub());
  await put(CASES.psdNamedJpg, psdStub());
  await put(CASES.cmyk, await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 220, g: 20, b: 20 } } }).toColourspace('cmyk').jpeg().toBuffer());
  await put(CASES.png16, await sharp({ create: { width: 20, height: 20, channels: 3, background: { r: 10, g: 200, b: 10 } } }).toColourspace('rgb16').png().toBuffer());
  await put(CASES.gray, await sharp(Buffer.alloc(20 * 20, 128), { raw: { width: 20, height: 20, channels: 1 } }).toColourspace('b-w').png().toBuffer());
  const rgba = Buffer.alloc(20 * 20 * 4);
  for (let p = 0; p < 400; p++) rgba.set([0, 0, 255, p % 20 < 10 ? 255 : 0], p * 4); // left half opaque blue, right half transparent
  await put(CASES.rgba, await sharp(rgba, { raw: { width: 20, height: 20, channels: 4 } }).png().toBuffer());
  await put(CASES.bomb, pngClaiming(50_000, 50_000));
  await put(CASES.onePixel, await sharp({ create: { width: 1, height: 1, channels: 3, background: { r: 0, g: 0, b: 0 } } }).png().toBuffer());
  await put(CASES.hidden, await noiseImage(7, 24, 'jpeg'));
  await put(CASES.dsStore, Buffer.from('Bud1\0\0\0\0'));
  await put('.DS_Store', Buffer.from('Bud1\0\0\0\0'));
  await put('README.txt', 'notes about the data\n');
  await put('good/notes.txt', 'not an image\n');
  await put(CASES.unicode, await noiseImage(8));
  const dup = await noiseImage(9);
  await put(CASES.conflictA, dup);
  await put(CASES.conflictB, dup);
  const twin = await noiseImage(10);
  await put(CASES.sameClassDupA, twin);
  await put(CASES.sameClassDupB, twin);
  await put(CASES.commaName, await noiseImage(11));
  // The target outside is byte-identical to a file inside: if the link were followed, a duplicate would show.
  await fs.writeFile(path.join(outside, 'secret.jpg'), await fs.readFile(path.join(root, 'good/ok-0.jpg')));
  await fs.symlink(path.join(outside, 'secret.jpg'), path.join(root, CASES.linkOut));
  await fs.symlink(outside, path.join(root, 'linked folder'));

  await put('labels.csv', [
    'file,class,patient',
    'good/ok-0.jpg,good,p1',
    'good/ok-1.jpg,good,p1',
    'good/ok-2.jpg,good,p2',
    `"${CASES.commaName}",good,p2`,
    `"${CASES.unicode}",${UNICODE_CLASS},p3`,
    'good/ok-2.jpg,good,p2', // duplicate row
    'good/ok-3.jpg,other,p3', // fine
    'good/ok-3.jpg,good,p3', // same file again, other class
    '../outside/secret.jpg,good,p4',
    `${path.join(outside, 'secret.jpg')},good,p4`,
    'good/missing.jpg,good,p5',
    'good/ok-4.jpg,,p5', // no class
    'good/ok-5.jpg,a/b,p5', // class with a path separator
    `${CASES.linkOut},good,p6`,
    `${CASES.truncatedJpeg},good,p6`,
    '"good/text.png",good,p6',
    'good/ok-4.jpg,good', // a field short
    'linked folder/secret.jpg,good,p7', // through a linked folder that leads outside
  ].join('\r\n') + '\r\n');
  await put('labels-nfd.csv', `file,class\n"${CASES.unicode.normalize('NFD')}",x\n"${CASES.unicode}",x\n`);
  await put('labels-missing-column.csv', 'file,label\ngood/ok-0.jpg,good\n');
  return root;
}

/** sha256 over every path, type, link target and file content under `dir` (links not followed). */
export async function hashTree(dir: string): Promise<string> {
  const h = createHash('sha256');
  async function walk(d: string): Promise<void> {
    const entries = (await fs.readdir(d, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const e of entries) {
      const p = path.join(d, e.name);
      const st = await fs.lstat(p);
      h.update(`${path.relative(dir, p)}\0${st.mode}\0${st.mtimeMs}\0`);
      if (e.isSymbolicLink()) h.update(await fs.readlink(p));
      else if (e.isDirectory()) await walk(p);
      else h.update(await fs.readFile(p));
    }
  }
  await walk(dir);
  return h.digest('hex');
}
