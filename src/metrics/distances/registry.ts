/**
 * The distance-metric registry, after stylegan2-ada's metric_main (as
 * ../registry.ts is for the classification metrics): one table maps a name
 * to its definition. A definition computes its value from the real and the
 * synthetic feature sets and says which fields of a ClassDistances record
 * (distances.json, score.json) it fills; distancesBetween goes through the
 * table in order. Adding a distance = one file here plus one entry in
 * DISTANCES below.
 */
import { OptionError } from '../../util/errors.js';
import { num } from '../report.js';
import type { FeatureSet } from './features.js';
import { frechetDistance } from './fid.js';
import { kernelInceptionDistance, type KidResult } from './kid.js';
import { precisionRecall, type PrecisionRecall } from './precision-recall.js';
import type { ClassDistances, DistanceOptions } from './types.js';

export interface DistanceMetric<V = unknown> {
  name: string;
  description: string;
  compute(real: FeatureSet, fake: FeatureSet, opts: DistanceOptions): V;
  /** The value as the fields of a ClassDistances record, in their written order. */
  fields(value: V): Partial<ClassDistances>;
}

const fid: DistanceMetric<number> = {
  name: 'fid',
  description: 'Fréchet distance between Gaussians fitted to the two feature sets (Heusel et al. 2017)',
  compute: (real, fake) => frechetDistance(real.rows, real.n, fake.rows, fake.n, real.d),
  fields: (value) => ({ fid: num(value) }),
};

const kid: DistanceMetric<KidResult> = {
  name: 'kid',
  description: 'unbiased MMD² with the cubic polynomial kernel, mean ± std over seeded random subsets (Bińkowski et al. 2018)',
  compute: (real, fake, o) => kernelInceptionDistance(real.rows, real.n, fake.rows, fake.n, real.d, { subsetSize: o.kidSubsetSize, subsets: o.kidSubsets, seed: o.seed }),
  fields: (value) => ({ kid: { value: num(value.value), std: num(value.std), subset_size: value.subsetSize, subsets: value.subsets } }),
};

const precisionAndRecall: DistanceMetric<PrecisionRecall> = {
  name: 'precision_recall',
  description: 'improved precision and recall with k-nearest-neighbour manifolds (Kynkäänniemi et al. 2019)',
  compute: (real, fake, o) => precisionRecall(real.rows, real.n, fake.rows, fake.n, real.d, o.k),
  fields: (value) => ({ precision: num(value.precision), recall: num(value.recall), k: value.k }),
};

const DISTANCES: DistanceMetric[] = [fid, kid, precisionAndRecall];

export const distanceRegistry: ReadonlyMap<string, DistanceMetric> = new Map(DISTANCES.map((m) => [m.name, m]));

export function listDistances(): string[] { return DISTANCES.map((m) => m.name); }

export function getDistance(name: string): DistanceMetric {
  const m = distanceRegistry.get(name);
  if (!m) throw new OptionError(`Expected one of ${listDistances().join(', ')} for distance metric but received ${JSON.stringify(name)}`);
  return m;
}

/** compute(real, fake, opts) of one registered distance. */
export function computeDistance(name: string, real: FeatureSet, fake: FeatureSet, opts: DistanceOptions): unknown {
  return getDistance(name).compute(real, fake, opts);
}
