/**
 * The near-duplicate benchmark: N synthetic 64×64 grey "cells" (a dark
 * lobed nucleus on a light background with pale red-cell discs, each drawn
 * at random) plus altered copies of 1 % of them (a flip/rotation, a shift of
 * 1–2 px at 64 px ≈ 3 % of the side, brightness ±10 %), fingerprinted
 * (src/data/near.ts, from the grey pixels: the decode is timed separately on
 * real files in notes/data.md) and grouped through the index. Reports the
 * time of each phase, peak RSS, and how many planted copies were grouped with
 * their original.
 */
import { nearGroups, printGray, PRINT_INPUT_SIDE, type NearPrint } from '../data/near.js';
import { DEFAULT_NEAR_THRESHOLD } from '../data/near.js';
import { Rng } from '../util/rng.js';

const G = PRINT_INPUT_SIDE;

function drawCell(rng: Rng, out: Float64Array): void {
  const bg = 200 + rng.next() * 40;
  out.fill(bg);
  const disc = (cx: number, cy: number, r: number, v: number) => {
    for (let y = Math.max(0, Math.floor(cy - r)); y < Math.min(G, Math.ceil(cy + r)); y++) {
      for (let x = Math.max(0, Math.floor(cx - r)); x < Math.min(G, Math.ceil(cx + r)); x++) {
        if ((x - cx) ** 2 + (y - cy) ** 2 <= r * r) out[y * G + x] = v;
      }
    }
  };
  for (let k = 0, n = 3 + rng.int(6); k < n; k++) disc(rng.next() * G, rng.next() * G, 6 + rng.next() * 5, bg - 25 - rng.next() * 20);
  const cx = G / 2 + (rng.next() - 0.5) * 12, cy = G / 2 + (rng.next() - 0.5) * 12;
  disc(cx, cy, 12 + rng.next() * 8, 150 + rng.next() * 30); // cytoplasm
  for (let k = 0, lobes = 1 + rng.int(4); k < lobes; k++) {
    disc(cx + (rng.next() - 0.5) * 14, cy + (rng.next() - 0.5) * 14, 4 + rng.next() * 6, 60 + rng.next() * 40); // nucleus lobes
  }
  for (let i = 0; i < out.length; i++) out[i] = Math.min(255, Math.max(0, out[i] + (rng.next() - 0.5) * 12));
}

/** A flipped/rotated (variant t), shifted and brightened copy. */
function alter(src: Float64Array, t: number, dx: number, dy: number, gain: number): Float64Array {
  const out = new Float64Array(G * G);
  for (let y = 0; y < G; y++) {
    for (let x = 0; x < G; x++) {
      let sx = Math.min(G - 1, Math.max(0, x - dx)), sy = Math.min(G - 1, Math.max(0, y - dy));
      if (t & 4) [sx, sy] = [sy, sx];
      if (t & 1) sx = G - 1 - sx;
      if (t & 2) sy = G - 1 - sy;
      out[y * G + x] = Math.min(255, src[sy * G + sx] * gain);
    }
  }
  return out;
}

export interface NearBenchResult {
  images: number; planted: number; found: number; groups: number; imagesInGroups: number;
  synthMs: number; fingerprintMs: number; groupMs: number; threshold: number;
}

export function benchNear(count: number, threshold = DEFAULT_NEAR_THRESHOLD): NearBenchResult {
  const rng = new Rng('bench-near');
  const planted = Math.floor(count / 100);
  const prints: NearPrint[] = new Array(count + planted);
  const img = new Float64Array(G * G);
  let synthMs = 0, fingerprintMs = 0;
  const sources: number[] = [];
  for (let i = 0; i < count; i++) {
    let t0 = performance.now();
    drawCell(rng, img);
    synthMs += performance.now() - t0;
    t0 = performance.now();
    prints[i] = printGray(img);
    fingerprintMs += performance.now() - t0;
    if (i % 100 === 0 && sources.length < planted) {
      const copy = alter(img, rng.int(8), rng.int(5) - 2, rng.int(5) - 2, 0.9 + rng.next() * 0.2);
      t0 = performance.now();
      prints[count + sources.length] = printGray(copy);
      fingerprintMs += performance.now() - t0;
      sources.push(i);
    }
  }
  const t0 = performance.now();
  const groups = nearGroups(prints, threshold);
  const groupMs = performance.now() - t0;
  const groupOf = new Int32Array(prints.length).fill(-1);
  groups.forEach((g, k) => { for (const i of g) groupOf[i] = k; });
  let found = 0;
  sources.forEach((src, k) => { if (groupOf[count + k] >= 0 && groupOf[count + k] === groupOf[src]) found++; });
  return {
    images: prints.length, planted, found, groups: groups.length, imagesInGroups: groups.reduce((s, g) => s + g.length, 0),
    synthMs, fingerprintMs, groupMs, threshold,
  };
}
