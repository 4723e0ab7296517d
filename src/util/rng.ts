/**
 * Seeded random numbers whose whole state is four 32-bit words, so a training
 * run can save it in a checkpoint and resume with exactly the same stream.
 * Generator: sfc32 (passes PractRand to 2^42 bytes; fast in JS integer math).
 */
export type RngState = [number, number, number, number];

export class Rng {
  private a: number; private b: number; private c: number; private d: number;
  private spareNormal: number | null = null;

  constructor(seed: number | string | RngState) {
    if (Array.isArray(seed)) {
      [this.a, this.b, this.c, this.d] = seed.map((x) => x >>> 0) as RngState;
    } else {
      const [a, b, c, d] = seedWords(seed);
      this.a = a; this.b = b; this.c = c; this.d = d;
      for (let i = 0; i < 15; i++) this.nextUint32(); // decorrelate nearby seeds
    }
  }

  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number { return this.nextUint32() / 4294967296; }

  /** Uniform integer in [0, n). */
  int(n: number): number { return Math.floor(this.next() * n); }

  /** Standard normal (Box–Muller; the second value is kept for the next call). */
  normal(): number {
    if (this.spareNormal !== null) { const s = this.spareNormal; this.spareNormal = null; return s; }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  normals(n: number): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.normal();
    return out;
  }

  /** Fisher–Yates shuffle in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }

  /**
   * A child stream for a named purpose, independent of how much the parent is
   * used: the stream of `deriveSeed(<this state>, ...labels)`.
   */
  fork(...labels: SeedPart[]): Rng {
    return new Rng(deriveSeed(this.state().join(','), ...labels));
  }

  state(): RngState {
    // The spare normal is dropped on save; states are taken between batches where it is null.
    return [this.a >>> 0, this.b >>> 0, this.c >>> 0, this.d >>> 0];
  }
}

/** The largest seed any option takes: seeds are unsigned 32-bit integers, the width of the generator's words. */
export const SEED_MAX = 0xffffffff;

export type SeedPart = string | number;

/**
 * The one way a seed is derived from others: the key of a child stream is its
 * parts joined by "/", handed to `new Rng(key)` (which hashes it). The order of
 * the parts is part of the key; each caller keeps the order it has always
 * used (`deriveSeed('kid', seed)`, `deriveSeed(seed, className, index)`), so
 * every stream, checkpoint and split is the same as before this function.
 */
export function deriveSeed(...parts: SeedPart[]): string {
  if (parts.length === 0) throw new Error('deriveSeed: expected at least one part');
  return parts.join('/');
}

/**
 * The seed `k` steps after `seed` (e.g. generation's seed after training's),
 * wrapped into [0, SEED_MAX] so that a valid seed never derives an invalid
 * one: below the top of the range this is plain `seed + k`.
 */
export function offsetSeed(seed: number, k: number): number {
  return (seed + k) % (SEED_MAX + 1);
}

/** Four words from a number or string seed via FNV-1a + splitmix-style mixing. */
function seedWords(seed: number | string): RngState {
  const s = String(seed);
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 0x01000193); }
  const out: number[] = [];
  for (let i = 0; i < 4; i++) {
    h = (h + 0x9e3779b9) | 0;
    let z = h;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    out.push((z ^ (z >>> 16)) >>> 0);
  }
  return out as RngState;
}

/** A stable 32-bit hash of a string (for seed-dependent but order-free choices). */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 0x01000193); }
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  return (h ^ (h >>> 13)) >>> 0;
}
