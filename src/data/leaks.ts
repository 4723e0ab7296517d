/**
 * Real reference sets for synthetic images, with the near-duplicate
 * machinery of src/data/near.ts:
 * - leaks: a synthetic image that is an exact (sha256) or near duplicate of a
 *   real validation/test image must not reach a training set or a GAN-train
 *   score;
 * - memorisation: a synthetic image closer to its nearest real training
 *   image than real cells usually are to theirs (calibrated on held-out real
 *   cells' nearest-training-image distances; cf. "authenticity", Alaa et al.,
 *   ICML 2022) is flagged as a probable copy.
 * Data knows no models: everything here is pixels and files.
 */
import { promises as fs } from 'node:fs';
import { hashBytes } from '../util/hash.js';
import { mapBounded } from '../util/pool.js';
import { imagePrint, NearIndex, MAX_NEAR_THRESHOLD, packPrints, type NearPrint } from './near.js';
import { printOf } from './prints.js';
import type { DatasetItem } from './types.js';

/** Real images indexed by content hash and near-duplicate fingerprint. */
export interface RealReference {
  items: DatasetItem[];
  /** sha256 → index into items. */
  sha: Map<string, number>;
  index: NearIndex;
}

export async function buildReference(items: readonly DatasetItem[], opts: { concurrency?: number } = {}): Promise<RealReference> {
  const sha = new Map<string, number>();
  const prints = await mapBounded(items, opts.concurrency ?? 4, async (item, i) => {
    const bytes = await fs.readFile(item.abs).catch(() => null);
    if (bytes) { const h = hashBytes(bytes); if (!sha.has(h)) sha.set(h, i); }
    return printOf(item.abs);
  });
  return { items: [...items], sha, index: new NearIndex(packPrints(prints)) };
}

export interface RealMatch {
  /** The real image (DatasetItem.file). */
  file: string;
  label: string;
  /** 0 for a byte-identical file, else the near-duplicate distance (1 − cosine). */
  distance: number;
  exact: boolean;
}

/** A synthetic image's bytes and fingerprint (null when it cannot be decoded). */
export async function readSynthetic(abs: string): Promise<{ sha256: string; print: NearPrint | null }> {
  const bytes = await fs.readFile(abs);
  return { sha256: hashBytes(bytes), print: await imagePrint(bytes).catch(() => null) };
}

/** The closest real image within `threshold` (exact copies first), or null. */
export function closestReal(ref: RealReference, img: { sha256: string; print: NearPrint | null }, threshold: number): RealMatch | null {
  const e = ref.sha.get(img.sha256);
  if (e !== undefined) return { file: ref.items[e].file, label: ref.items[e].label, distance: 0, exact: true };
  if (!img.print) return null;
  let best = -1, bestD = Infinity;
  ref.index.search(img.print, threshold, (j, d) => {
    if (d < bestD || (d === bestD && ref.items[j].file < ref.items[best].file)) { best = j; bestD = d; }
  });
  return best < 0 ? null : { file: ref.items[best].file, label: ref.items[best].label, distance: bestD, exact: false };
}

/** How the memorisation flag was calibrated. */
export interface MemorizationCalibration {
  /** Held-out real images (val/test) whose nearest training image was looked for. */
  held_out: number;
  /** Quantile of their nearest-training-image distances used as the flag threshold. */
  quantile: number;
  /** That quantile (null when too few held-out images had a training image within the search radius). */
  real_nearest_quantile: number | null;
  /** Median of those distances (null when fewer than half had one within the search radius). */
  real_nearest_median: number | null;
  /** Near-duplicate threshold (the measured same-cell distance): nothing farther is flagged, whatever the calibration says. */
  near_threshold: number;
  /**
   * The flag threshold: min(near_threshold, real_nearest_quantile). A synthetic image at or below it is
   * flagged: it is as close as a copy of the same cell AND closer than all but `quantile` of real held-out
   * cells are to their nearest training image. (The max of the two, used first, let the calibration raise
   * the threshold into distinct cells' range: on PBC the 1 % quantile is ≈ 0.084, and distinct cells were flagged.)
   */
  threshold: number;
  /** Largest distance searched (farther neighbours count as "none"). */
  search_radius: number;
}

/** Quantile of real held-out cells' nearest-training distances used to flag copies (1 %: closer than 99 % of real cells are). */
export const MEMORIZATION_QUANTILE = 0.01;

/**
 * Calibrates the copy flag on real cells: the distance from each held-out
 * real image (not in training, near-duplicates of training images already
 * kept out by the split) to its nearest training image.
 */
export async function calibrateMemorization(train: RealReference, heldOut: readonly DatasetItem[], nearThreshold: number, opts: { quantile?: number; max?: number; concurrency?: number } = {}): Promise<MemorizationCalibration> {
  const quantile = opts.quantile ?? MEMORIZATION_QUANTILE;
  // An even spread of at most `max` held-out images (sorted, so the same data gives the same figure).
  const max = opts.max ?? 2000;
  const step = Math.max(1, heldOut.length / max);
  const sample: DatasetItem[] = [];
  for (let k = 0; Math.floor(k) < heldOut.length && sample.length < max; k += step) sample.push(heldOut[Math.floor(k)]);
  const prints = await mapBounded(sample, opts.concurrency ?? 4, (i) => printOf(i.abs));
  const nearest: number[] = [];
  for (const p of prints) {
    if (!p) continue;
    let best = Infinity;
    train.index.search(p, MAX_NEAR_THRESHOLD, (_j, d) => { if (d < best) best = d; });
    nearest.push(best);
  }
  nearest.sort((a, b) => a - b);
  const at = (q: number) => {
    if (!nearest.length) return null;
    const v = nearest[Math.min(nearest.length - 1, Math.floor(q * nearest.length))];
    return Number.isFinite(v) ? v : null;
  };
  const real = at(quantile);
  return {
    held_out: nearest.length, quantile, real_nearest_quantile: real, real_nearest_median: at(0.5),
    near_threshold: nearThreshold, threshold: Math.min(nearThreshold, real ?? nearThreshold), search_radius: MAX_NEAR_THRESHOLD,
  };
}

export interface MemorizationFlag { file: string; class: string; nearest: string; distance: number }

export interface MemorizationAudit {
  /** Share of synthetic images flagged as copies, overall. */
  rate: number;
  images: number;
  flagged_count: number;
  per_class: Record<string, { rate: number; images: number; flagged: number }>;
  /** Every flagged image with its nearest real training image, closest first. */
  flagged: MemorizationFlag[];
  /**
   * The CLOSEST_PAIRS synthetic images closest to a real training image
   * (within the search radius), flagged or not, closest first: what
   * report.html shows side by side.
   */
  closest: (MemorizationFlag & { flagged: boolean })[];
  calibration: MemorizationCalibration;
}

/** Synthetic–training pairs kept in `closest` (and shown in report.html). */
export const CLOSEST_PAIRS = 12;

/** A synthetic image for the audit; `img` when the caller has already read it (null: undecodable). */
export interface SyntheticToAudit { file: string; abs: string; label: string; img?: SyntheticRead | null }
/** What readSynthetic returns. */
export type SyntheticRead = Awaited<ReturnType<typeof readSynthetic>>;

/** Flags the synthetic images (file = path for the report, abs = on disk) closer to a training image than calibrated. */
export async function auditMemorization(
  train: RealReference, synthetic: readonly SyntheticToAudit[], calibration: MemorizationCalibration, opts: { concurrency?: number } = {},
): Promise<MemorizationAudit> {
  // Searched out to the search radius, so the closest pairs are known even when none is flagged.
  const found = await mapBounded(synthetic, opts.concurrency ?? 4, async (s) => {
    const img = s.img !== undefined ? s.img : await readSynthetic(s.abs).catch(() => null);
    return img ? closestReal(train, img, Math.max(calibration.threshold, calibration.search_radius)) : null;
  });
  const per_class: MemorizationAudit['per_class'] = {};
  const flagged: MemorizationFlag[] = [];
  const near: MemorizationAudit['closest'] = [];
  const byDistance = (a: MemorizationFlag, b: MemorizationFlag) => a.distance - b.distance || (a.file < b.file ? -1 : a.file > b.file ? 1 : 0);
  synthetic.forEach((s, i) => {
    const c = (per_class[s.label] ??= { rate: 0, images: 0, flagged: 0 });
    c.images++;
    const m = found[i];
    if (!m) return;
    const pair = { file: s.file, class: s.label, nearest: m.file, distance: +m.distance.toFixed(6) };
    const isCopy = m.distance <= calibration.threshold;
    near.push({ ...pair, flagged: isCopy });
    if (isCopy) { c.flagged++; flagged.push(pair); }
  });
  for (const c of Object.values(per_class)) c.rate = c.images ? c.flagged / c.images : 0;
  flagged.sort(byDistance);
  near.sort(byDistance);
  return {
    rate: synthetic.length ? flagged.length / synthetic.length : 0, images: synthetic.length, flagged_count: flagged.length, per_class, flagged,
    closest: near.slice(0, CLOSEST_PAIRS), calibration,
  };
}


export interface Leak {
  /** The synthetic image (folder-relative path as given). */
  file: string;
  /** The real image it copies. */
  real: string;
  split: 'val' | 'test';
  distance: number;
  exact: boolean;
}

/** One line for a leak: what is copied, from which split, how. */
export function describeLeak(l: Leak): string {
  return `is ${l.exact ? 'a byte-identical copy' : `a near-duplicate (distance ${l.distance.toFixed(4)})`} of the real ${l.split === 'val' ? 'validation' : 'test'} image ${l.real}`;
}

/** Val and test references, so a synthetic image can be checked against both. */
export interface HeldOutReference { val: RealReference; test: RealReference }

export async function buildHeldOut(val: readonly DatasetItem[], test: readonly DatasetItem[], opts: { concurrency?: number } = {}): Promise<HeldOutReference> {
  return { val: await buildReference(val, opts), test: await buildReference(test, opts) };
}

/** The leak of one synthetic image into val/test, or null. */
export function findLeak(ref: HeldOutReference, file: string, img: { sha256: string; print: NearPrint | null }, nearThreshold: number): Leak | null {
  const t = closestReal(ref.test, img, nearThreshold);
  const v = closestReal(ref.val, img, nearThreshold);
  const m = t && (!v || t.distance <= v.distance) ? { ...t, split: 'test' as const } : v ? { ...v, split: 'val' as const } : null;
  return m ? { file, real: m.file, split: m.split, distance: +m.distance.toFixed(6), exact: m.exact } : null;
}
