import { describe, expect, it } from 'vitest';
import { computeDistance, getDistance, listDistances } from '../../src/metrics/distances/registry.js';
import { distancesBetween, frechetDistance, kernelInceptionDistance, precisionRecall, type FeatureSet } from '../../src/metrics/distances/index.js';
import { silentLogger } from '../../src/util/log.js';
import { Rng } from '../../src/util/rng.js';

function gaussian(name: string, n: number, d: number, shift: number, seed: number): FeatureSet {
  const rng = new Rng(seed);
  const rows = new Float64Array(n * d);
  for (let i = 0; i < rows.length; i++) rows[i] = shift + rng.normal();
  return { rows, n, d, files: Array.from({ length: n }, (_, i) => `${name}/${i}.png`), cached: false };
}

const d = 4;
const real = gaussian('real', 40, d, 0, 1);
const fake = gaussian('fake', 25, d, 0.8, 2);
const O = { k: 3, kidSubsetSize: 20, kidSubsets: 6, seed: 5 };

describe('distance-metric registry', () => {
  it('lists FID, KID and precision/recall, in the order distancesBetween writes them', () => {
    expect(listDistances()).toEqual(['fid', 'kid', 'precision_recall']);
  });

  it('refuses an unknown name, naming the known ones', () => {
    expect(() => getDistance('is')).toThrow('Expected one of fid, kid, precision_recall for distance metric but received "is"');
  });

  it('computes each entry exactly as the direct function does', () => {
    expect(computeDistance('fid', real, fake, O)).toBe(frechetDistance(real.rows, real.n, fake.rows, fake.n, d));
    expect(computeDistance('kid', real, fake, O))
      .toEqual(kernelInceptionDistance(real.rows, real.n, fake.rows, fake.n, d, { subsetSize: O.kidSubsetSize, subsets: O.kidSubsets, seed: O.seed }));
    expect(computeDistance('precision_recall', real, fake, O)).toEqual(precisionRecall(real.rows, real.n, fake.rows, fake.n, d, O.k));
  });

  it('distancesBetween is the registry entries\' fields between the sample counts and the warnings', () => {
    const r = distancesBetween(real, fake, O, 'c', silentLogger);
    const fields = Object.assign({}, ...listDistances().map((name) => { const m = getDistance(name); return m.fields(m.compute(real, fake, O)); }));
    expect(r).toEqual({ n_real: 40, n_fake: 25, ...fields, warnings: [] });
    expect(Object.keys(r)).toEqual(['n_real', 'n_fake', 'fid', 'kid', 'precision', 'recall', 'k', 'warnings']);
  });
});
