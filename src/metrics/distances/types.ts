/**
 * The feature distances' shared types: the per-class record written to
 * distances.json / score.json and the options every distance metric gets.
 * index.ts (featureDistances) and registry.ts both take them from here.
 */
import type { Num } from '../report.js';

/** Options of the distance metrics (validated by featureDistances). */
export interface DistanceOptions {
  /** Neighbourhood size of precision/recall. */
  k: number;
  kidSubsetSize: number;
  kidSubsets: number;
  seed: number;
}

/** The distance options' defaults, for featureDistances, the formulas' own optional arguments and the quality bench. */
export const DISTANCE_DEFAULTS = { k: 3, kidSubsetSize: 1000, kidSubsets: 100, seed: 0 } as const satisfies DistanceOptions;

export interface ClassDistances {
  n_real: number;
  n_fake: number;
  fid: Num;
  kid: { value: Num; std: Num; subset_size: number; subsets: number };
  precision: Num;
  recall: Num;
  k: number;
  /**
   * What FID reads like between two sets of real images of this class: the
   * same real images against `n` other real ones (the reference subset), and
   * the synthetic images cut to the same `n`, so the two FIDs have equal
   * sample sizes on both sides. Absent without a reference subset.
   */
  reference?: ReferenceFid;
  warnings: string[];
}

export interface ReferenceFid {
  /** Images on the second side of both FIDs: min(n_fake, reference images of the class). */
  n: number;
  /** FID(real, n reference images). */
  fid_real: Num;
  /** FID(real, n synthetic images): `fid` itself when n = n_fake. */
  fid_synthetic: Num;
}
