import { describe, expect, it } from 'vitest';
import { withReference, distancesBetween, frechetDistance, rowsOf, type FeatureSet } from '../../src/metrics/distances/index.js';
import { silentLogger } from '../../src/util/log.js';
import { Rng } from '../../src/util/rng.js';

/** n Gaussian rows of dimension d around `shift`. */
function gaussian(name: string, n: number, d: number, shift: number, seed: number): FeatureSet {
  const rng = new Rng(seed);
  const rows = new Float64Array(n * d);
  for (let i = 0; i < rows.length; i++) rows[i] = shift + rng.normal();
  return { rows, n, d, files: Array.from({ length: n }, (_, i) => `${name}/${i}.png`), cached: false };
}

const O = { k: 3, kidSubsetSize: 50, kidSubsets: 5, seed: 0 };

describe('real-vs-real reference FID', () => {
  const d = 4;
  const real = gaussian('train', 60, d, 0, 1);
  const test = gaussian('test', 20, d, 0, 2); // the same distribution as the real images
  const fake = gaussian('fake', 30, d, 1.5, 3); // shifted: a worse "generator"

  it('compares the real images with n other real and with n synthetic images, n = the smaller count', () => {
    const base = distancesBetween(real, fake, O, 'c', silentLogger);
    const r = withReference(base, real, fake, test, 0, 'test', 'c', silentLogger);
    expect(r.fid).toBe(base.fid);
    expect(r.reference!.n).toBe(20);
    // The reference side is all 20 test rows: FID(real, test) exactly.
    expect(r.reference!.fid_real).toBeCloseTo(frechetDistance(real.rows, real.n, test.rows, test.n, d), 10);
    // The synthetic side is cut to 20 rows, so it is not the FID of all 30…
    expect(r.reference!.fid_synthetic).not.toBeCloseTo(base.fid!, 6);
    // …but the FID of 20 of them.
    const again = withReference(base, real, fake, test, 0, 'test', 'c', silentLogger);
    expect(again.reference).toEqual(r.reference);
    // Real-vs-real is far below the shifted synthetic set (mean shift 1.5 in each of 4 dimensions ≈ 9).
    expect(r.reference!.fid_real!).toBeLessThan(2);
    expect(r.reference!.fid_synthetic!).toBeGreaterThan(5);
  });

  it('reuses the synthetic FID when the synthetic side has no more images than the reference', () => {
    const few = rowsOf(fake, (f) => Number(f.split('/')[1].slice(0, -4)) < 10);
    const base = distancesBetween(real, few, O, 'c', silentLogger);
    const r = withReference(base, real, few, test, 0, 'test', 'c', silentLogger);
    expect(r.reference).toMatchObject({ n: 10, fid_synthetic: base.fid });
    // The 20 test rows are cut to 10 for the reference.
    expect(r.reference!.fid_real).not.toBeCloseTo(frechetDistance(real.rows, real.n, test.rows, test.n, d), 6);
  });

  it('says so instead of a number when a class has fewer than 2 reference images; nothing without a reference set', () => {
    const one = rowsOf(test, (f) => f === 'test/0.png');
    const base = distancesBetween(real, fake, O, 'c', silentLogger);
    const r = withReference(base, real, fake, one, 0, 'test', 'c', silentLogger);
    expect(r.reference).toBeUndefined();
    expect(r.warnings).toContain('no reference FID: fewer than 2 real test images');
    expect(withReference(base, real, fake, undefined, 0, 'test', 'c', silentLogger)).toBe(base);
  });
});
