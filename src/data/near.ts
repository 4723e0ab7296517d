/**
 * Near-duplicates: the same cell after everyday alterations (flips and 90°
 * rotations, a crop of a few percent, a shift of a few pixels, resizing,
 * JPEG re-encoding, small brightness/colour changes).
 *
 * Method (chosen by measurement on PBC, see notes/data.md):
 * 1. Decode to 64×64 grey (sharp, `fit: fill`; colour is dropped).
 * 2. Translation: resample a 32×32 window of 0.8× the image's side centred
 *    on the centroid of the stain (pixels darker than the mean, weighted by
 *    the square of how much), so a shifted or off-centre-cropped copy lines up.
 *    Without this step a 4-px shift of a 128-px cell was as far from its
 *    original as a different cell.
 * 3. The 2-D DCT-II of that window; the 8×8 lowest frequencies without the DC
 *    term (63 coefficients), scaled to unit length: the descriptor. Brightness
 *    and contrast move the DC term and scale the rest, so they barely matter.
 * 4. Flips and 90° rotations: a mirror flips the sign of the odd frequencies
 *    along its axis and a transpose swaps the axes, so the descriptor of each
 *    of the 8 flips/rotations is a signed permutation of the upright one.
 *    The distance of two images is 1 − the largest cosine between one's
 *    upright descriptor and the other's 8 (0 = same; invariant to flips and
 *    rotations of either).
 * 5. Search: each of the 8 descriptors also gives a 63-bit hash (coefficient
 *    above the indexed set's mean or not), indexed as a multi-index hash (Norouzi et al.,
 *    CVPR 2012): 4 chunks of 16 bits, and the buckets within 2 bits of each of
 *    the query's chunks are visited, which finds every hash within Hamming
 *    distance 11 (pigeonhole) — no all-pairs comparison. Candidates are then
 *    kept when their cosine distance is within the threshold. The measured
 *    recall includes what this candidate step misses.
 */
import { openImage } from './image.js';

/** Coefficients per descriptor (8×8 low frequencies minus DC), also the bits per hash. */
export const HASH_BITS = 63;
/** 32-bit words per hash. */
export const HASH_WORDS = 2;
/** Hashes per image: the 8 flips/rotations, upright first. */
export const VARIANTS = 8;
/** Hash words per image (8 variants × 2 words). */
export const IMAGE_HASH_WORDS = VARIANTS * HASH_WORDS;
/** Side of the grey window the DCT is taken of. */
export const HASH_SIDE = 32;
/** Side of the grey image decoded first. */
const GREY_SIDE = 64;
/** The window's side as a fraction of the image's. */
const WINDOW = 0.8;
/**
 * Default largest distance (1 − cosine) at which two images count as the
 * same cell; measured on PBC altered copies (notes/data.md).
 */
export const DEFAULT_NEAR_THRESHOLD = 0.03;
/** Hamming radius of the candidate search (4 chunks × 2 bits + 3). */
export const CANDIDATE_RADIUS = 11;

const N = 8; // low frequencies kept per axis
/** DCT-II basis cos(π(2x+1)u / 2S) for u < 8, x < S. */
const BASIS = (() => {
  const b = new Float64Array(N * HASH_SIDE);
  for (let u = 0; u < N; u++) for (let x = 0; x < HASH_SIDE; x++) b[u * HASH_SIDE + x] = Math.cos((Math.PI * (2 * x + 1) * u) / (2 * HASH_SIDE));
  return b;
})();

/** The 8×8 low-frequency DCT coefficients (row-major: [u = vertical freq][v = horizontal freq]) of a S×S grey image. */
export function lowDct(gray: ArrayLike<number>): Float64Array {
  const S = HASH_SIDE;
  if (gray.length !== S * S) throw new Error(`expected ${S}×${S} grey pixels, got ${gray.length}`);
  const rows = new Float64Array(S * N);
  for (let y = 0; y < S; y++) {
    for (let v = 0; v < N; v++) {
      let s = 0;
      for (let x = 0; x < S; x++) s += gray[y * S + x] * BASIS[v * S + x];
      rows[y * N + v] = s;
    }
  }
  const out = new Float64Array(N * N);
  for (let u = 0; u < N; u++) {
    for (let v = 0; v < N; v++) {
      let s = 0;
      for (let y = 0; y < S; y++) s += rows[y * N + v] * BASIS[u * S + y];
      out[u * N + v] = s;
    }
  }
  return out;
}

/**
 * Variant t of a descriptor is `sign[t][k] · upright[perm[t][k]]`. Bit 2 of t
 * = transpose, bit 1 = mirror top-bottom, bit 0 = mirror left-right (the
 * mirrors applied to the image before the transpose); t = 0 is the image as it is.
 */
const PERM: Int8Array[] = [];
const SIGN: Float32Array[] = [];
(() => {
  const pos = (u: number, v: number) => u * N + v - 1; // index of (u, v) in the DC-less list
  for (let t = 0; t < VARIANTS; t++) {
    const perm = new Int8Array(HASH_BITS), sign = new Float32Array(HASH_BITS);
    let k = 0;
    for (let u = 0; u < N; u++) {
      for (let v = 0; v < N; v++) {
        if (u === 0 && v === 0) continue;
        const [su, sv] = t & 4 ? [v, u] : [u, v];
        perm[k] = pos(su, sv);
        sign[k] = ((t & 1) && (sv & 1) ? -1 : 1) * ((t & 2) && (su & 1) ? -1 : 1);
        k++;
      }
    }
    PERM.push(perm);
    SIGN.push(sign);
  }
})();

/** An image's near-duplicate fingerprint. */
export interface NearPrint {
  /** 63 DCT coefficients, unit length (all zero for a blank image). */
  descriptor: Float32Array;
}

/** The fingerprint from the 8×8 coefficients. */
export function printFromDct(c: Float64Array): NearPrint {
  const descriptor = new Float32Array(HASH_BITS);
  let norm = 0;
  for (let k = 0; k < HASH_BITS; k++) norm += c[k + 1] ** 2;
  norm = Math.sqrt(norm);
  if (norm > 1e-9) for (let k = 0; k < HASH_BITS; k++) descriptor[k] = c[k + 1] / norm;
  return { descriptor };
}

/**
 * The 32×32 window of a 64×64 grey image centred on its stain's centroid
 * (bilinear, edges repeated).
 */
export function alignedWindow(g: ArrayLike<number>): Float64Array {
  const G = GREY_SIDE, S = HASH_SIDE;
  if (g.length !== G * G) throw new Error(`expected ${G}×${G} grey pixels, got ${g.length}`);
  let mean = 0;
  for (let i = 0; i < g.length; i++) mean += g[i];
  mean /= g.length;
  let sw = 0, sx = 0, sy = 0;
  for (let y = 0; y < G; y++) {
    for (let x = 0; x < G; x++) {
      const d = mean - g[y * G + x];
      if (d <= 0) continue;
      const w = d * d;
      sw += w; sx += w * x; sy += w * y;
    }
  }
  const cx = sw > 0 ? sx / sw : (G - 1) / 2, cy = sw > 0 ? sy / sw : (G - 1) / 2;
  const half = (G / 2) * WINDOW;
  const out = new Float64Array(S * S);
  const clamp = (v: number) => Math.min(G - 1, Math.max(0, v));
  for (let j = 0; j < S; j++) {
    const py = clamp(cy + (((j + 0.5) / S) * 2 - 1) * half);
    const y0 = Math.floor(py), y1 = Math.min(G - 1, y0 + 1), fy = py - y0;
    for (let i = 0; i < S; i++) {
      const px = clamp(cx + (((i + 0.5) / S) * 2 - 1) * half);
      const x0 = Math.floor(px), x1 = Math.min(G - 1, x0 + 1), fx = px - x0;
      out[j * S + i] = (g[y0 * G + x0] * (1 - fx) + g[y0 * G + x1] * fx) * (1 - fy) + (g[y1 * G + x0] * (1 - fx) + g[y1 * G + x1] * fx) * fy;
    }
  }
  return out;
}

/** The fingerprint of a 64×64 grey image (values 0–255). */
export function printGray(gray64: ArrayLike<number>): NearPrint {
  return printFromDct(lowDct(alignedWindow(gray64)));
}

/** Side of the grey image `printGray` takes. */
export const PRINT_INPUT_SIDE = GREY_SIDE;

/** Decodes an image (file path or bytes, any format cellgan reads) and returns its fingerprint. Throws one readable line. */
export async function imagePrint(input: Uint8Array | string): Promise<NearPrint> {
  const img = await openImage(input);
  const raw = await img.rotate().flatten({ background: { r: 255, g: 255, b: 255 } }).greyscale()
    .resize(GREY_SIDE, GREY_SIDE, { fit: 'fill', kernel: 'cubic' }).raw({ depth: 'uchar' }).toBuffer();
  if (raw.length !== GREY_SIDE * GREY_SIDE) throw new Error(`decoded to ${raw.length} grey values, expected ${GREY_SIDE * GREY_SIDE}`);
  return printGray(raw);
}

/**
 * Distance between two images: 1 − the largest cosine between a's upright
 * descriptor and any of b's 8 flips/rotations, with the variant that gave it.
 * Blank images (no descriptor) are at distance 1 from everything.
 */
export function nearDistance(a: Float32Array, b: Float32Array, aOffset = 0, bOffset = 0): { distance: number; variant: number } {
  let best = -Infinity, variant = 0;
  for (let t = 0; t < VARIANTS; t++) {
    const perm = PERM[t], sign = SIGN[t];
    let s = 0;
    for (let k = 0; k < HASH_BITS; k++) s += a[aOffset + k] * sign[k] * b[bOffset + perm[k]];
    if (s > best) { best = s; variant = t; }
  }
  return { distance: Math.max(0, 1 - best), variant };
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}

/** Hamming distance between hash `ai` of `a` and hash `bi` of `b` (indices in hashes, not words). */
export function hamming(a: Uint32Array, ai: number, b: Uint32Array, bi: number): number {
  return popcount(a[ai * 2] ^ b[bi * 2]) + popcount(a[ai * 2 + 1] ^ b[bi * 2 + 1]);
}

/** The four 16-bit chunks of a hash (two words). */
function chunk(words: Uint32Array, hashIndex: number, c: number): number {
  const w = words[hashIndex * 2 + (c >> 1)];
  return c & 1 ? w >>> 16 : w & 0xffff;
}

/** All 16-bit values within Hamming distance `r` of `value`. */
function neighbours16(value: number, r: number, out: number[]): number[] {
  out.length = 0;
  out.push(value);
  if (r >= 1) for (let i = 0; i < 16; i++) out.push(value ^ (1 << i));
  if (r >= 2) for (let i = 0; i < 16; i++) for (let j = i + 1; j < 16; j++) out.push(value ^ (1 << i) ^ (1 << j));
  if (r >= 3) for (let i = 0; i < 16; i++) for (let j = i + 1; j < 16; j++) for (let k = j + 1; k < 16; k++) out.push(value ^ (1 << i) ^ (1 << j) ^ (1 << k));
  if (r >= 4) throw new Error('neighbours16: radius above 3 is not supported');
  return out;
}

/** Largest --near-threshold accepted (a cosine distance; distinct PBC cells are mostly above 0.05). */
export const MAX_NEAR_THRESHOLD = 0.2;

/** Fingerprints of many images packed in flat arrays (what NearIndex searches). */
export interface PackedPrints {
  count: number;
  /** count × 63 floats. */
  descriptors: Float32Array;
  /** 1 where the image has a fingerprint. */
  present: Uint8Array;
}

export function packPrints(list: readonly (NearPrint | null | undefined)[]): PackedPrints {
  const count = list.length;
  const descriptors = new Float32Array(count * HASH_BITS);
  const present = new Uint8Array(count);
  list.forEach((p, i) => {
    if (!p) return;
    descriptors.set(p.descriptor, i * HASH_BITS);
    present[i] = 1;
  });
  return { count, descriptors, present };
}

/** A fingerprint out of a packed set. */
export function unpackPrint(p: PackedPrints, i: number): NearPrint {
  return { descriptor: p.descriptors.slice(i * HASH_BITS, (i + 1) * HASH_BITS) };
}

export function validateNearThreshold(t: number, name = '--near-threshold'): number {
  if (typeof t !== 'number' || !Number.isFinite(t) || t < 0 || t > MAX_NEAR_THRESHOLD) {
    throw new Error(`Expected a number from 0 to ${MAX_NEAR_THRESHOLD} for ${name} (a distance, 1 − cosine) but received ${t}`);
  }
  return t;
}

/**
 * A multi-index over the 8 hashes of each fingerprint. Hash bit k of a
 * variant is whether its coefficient k lies above the mean of the indexed
 * set (over all images and all 8 variants, so the mean is itself unchanged
 * by flips and rotations): centring on the set rather than on each image's
 * median spreads cells that all look alike over many buckets. Buckets are
 * counting-sorted arrays (no per-entry objects): 8 × 8 bytes of hashes and
 * 4 × 8 × 4 bytes of bucket entries per image, beside the 252 bytes of its
 * descriptor.
 */
export class NearIndex {
  /** The mean coefficient vector the hash bits are taken against. */
  readonly mean = new Float64Array(HASH_BITS);
  /** count × 8 hashes × 2 words. */
  readonly hashes: Uint32Array;
  private readonly starts: Uint32Array[] = [];
  private readonly entries: Uint32Array[] = [];
  private readonly stamp: Int32Array;
  private round = 0;
  private readonly probe: number[] = [];

  constructor(readonly prints: PackedPrints) {
    const { descriptors, count, present } = prints;
    let n = 0;
    for (let i = 0; i < count; i++) {
      if (!present[i]) continue;
      n++;
      for (let t = 0; t < VARIANTS; t++) for (let k = 0; k < HASH_BITS; k++) this.mean[k] += SIGN[t][k] * descriptors[i * HASH_BITS + PERM[t][k]];
    }
    if (n) for (let k = 0; k < HASH_BITS; k++) this.mean[k] /= n * VARIANTS;
    this.hashes = new Uint32Array(count * IMAGE_HASH_WORDS);
    for (let i = 0; i < count; i++) if (present[i]) this.hashes.set(this.hashOf(descriptors, i * HASH_BITS), i * IMAGE_HASH_WORDS);
    const hashes = this.hashes;
    this.stamp = new Int32Array(count).fill(-1);
    for (let c = 0; c < 4; c++) {
      const start = new Uint32Array(65537);
      for (let i = 0; i < count; i++) if (present[i]) for (let t = 0; t < VARIANTS; t++) start[chunk(hashes, i * VARIANTS + t, c) + 1]++;
      for (let b = 0; b < 65536; b++) start[b + 1] += start[b];
      const fill = start.slice(0, 65536);
      const entries = new Uint32Array(start[65536]);
      for (let i = 0; i < count; i++) if (present[i]) for (let t = 0; t < VARIANTS; t++) entries[fill[chunk(hashes, i * VARIANTS + t, c)]++] = i * VARIANTS + t;
      this.starts.push(start);
      this.entries.push(entries);
    }
  }

  /** The 8 hashes (16 words, upright first) of the descriptor at `offset` of `d`. */
  hashOf(d: Float32Array, offset = 0): Uint32Array {
    const out = new Uint32Array(IMAGE_HASH_WORDS);
    for (let t = 0; t < VARIANTS; t++) {
      const perm = PERM[t], sign = SIGN[t];
      for (let k = 0; k < HASH_BITS; k++) if (sign[k] * d[offset + perm[k]] > this.mean[k]) out[t * HASH_WORDS + (k >> 5)] |= 1 << (k & 31);
    }
    return out;
  }

  /**
   * Calls `found(image, distance)` once for every indexed image within
   * `threshold` (cosine distance) of the query fingerprint, among the
   * candidates of the hash search (hashes within CANDIDATE_RADIUS bits), in
   * no particular order.
   */
  search(query: NearPrint, threshold: number, found: (image: number, distance: number) => void): void {
    const round = ++this.round;
    const qd = query.descriptor;
    const qh = this.hashOf(qd);
    const { hashes } = this;
    const { descriptors } = this.prints;
    for (let c = 0; c < 4; c++) {
      const start = this.starts[c], entries = this.entries[c];
      for (const value of neighbours16(chunk(qh, 0, c), 2, this.probe)) {
        for (let e = start[value], end = start[value + 1]; e < end; e++) {
          const entry = entries[e];
          const image = (entry / VARIANTS) | 0;
          if (this.stamp[image] === round) continue;
          if (hamming(qh, 0, hashes, entry) > CANDIDATE_RADIUS) continue;
          this.stamp[image] = round;
          const d = nearDistance(qd, descriptors, 0, image * HASH_BITS).distance;
          if (d <= threshold) found(image, d);
        }
      }
    }
  }
}

/** Union–find over indices. */
export class UnionFind {
  private readonly parent: Int32Array;
  constructor(n: number) { this.parent = Int32Array.from({ length: n }, (_, i) => i); }
  find(i: number): number {
    while (this.parent[i] !== i) { this.parent[i] = this.parent[this.parent[i]]; i = this.parent[i]; }
    return i;
  }
  union(a: number, b: number): void {
    const ra = this.find(a), rb = this.find(b);
    if (ra !== rb) this.parent[Math.max(ra, rb)] = Math.min(ra, rb);
  }
}

/**
 * Groups of near-duplicate images (connected components of "within
 * `threshold`"), as lists of indices, each sorted, groups sorted by first
 * index; only groups of two or more.
 */
export function nearGroups(list: readonly (NearPrint | null | undefined)[] | PackedPrints, threshold: number): number[][] {
  const packed = Array.isArray(list) ? packPrints(list) : (list as PackedPrints);
  const index = new NearIndex(packed);
  const uf = new UnionFind(packed.count);
  for (let i = 0; i < packed.count; i++) {
    if (!packed.present[i]) continue;
    index.search(unpackPrint(packed, i), threshold, (j) => { if (j !== i) uf.union(i, j); });
  }
  const byRoot = new Map<number, number[]>();
  for (let i = 0; i < packed.count; i++) {
    if (!packed.present[i]) continue;
    const r = uf.find(i);
    const g = byRoot.get(r);
    if (g) g.push(i); else byRoot.set(r, [i]);
  }
  return [...byRoot.values()].filter((g) => g.length > 1).sort((a, b) => a[0] - b[0]);
}
