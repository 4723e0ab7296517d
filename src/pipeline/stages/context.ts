/**
 * What every stage of one pipeline run is built from: the checked options,
 * where the images are read from, where the stages write, and how a stage
 * that reads the images depends on them.
 */
import { promises as fs } from 'node:fs';
import type { Logger } from '../../util/log.js';
import { loadDataset } from '../../data/dataset.js';
import type { ResolvedPipelineOptions } from '../options.js';
import type { StageDefinition } from '../runner.js';
import type { StageName } from '../state.js';

export interface PipelineContext {
  options: ResolvedPipelineOptions;
  /** Where the stages after select read the images: the input, or select's copy of the chosen classes. */
  data: string;
  labels?: string;
  /** `<out>/split/split.json`. */
  splitFile: string;
  /** The train stage's folder: the conditional run, or one run folder per class. */
  trainDir: string;
  /** The generate stage's folder: the synthetic images, one folder per class. */
  generateDir: string;
  /** The data fingerprint, when the stages read the input itself (no select stage). */
  dataInput?: { data: string };
  logger: Logger;
  /** Aborting stops training at the next step with a checkpoint. */
  signal?: AbortSignal;
  progress?: boolean;
}

/**
 * A stage's dependencies: the stages it reads, then the images (through the
 * select stage, or the input's fingerprint). The order of `reads` is part of
 * the stage's inputs hash.
 */
export function readsData(ctx: PipelineContext, ...stages: StageName[]): Pick<StageDefinition, 'reads' | 'extraInputs'> {
  return { reads: [...stages, ...(ctx.options.classes ? ['select' as const] : [])], extraInputs: ctx.dataInput };
}

/** Training images per class in the split. */
export async function splitClassCounts(ctx: PipelineContext): Promise<Record<string, number>> {
  const split = JSON.parse(await fs.readFile(ctx.splitFile, 'utf8')) as { splits: { train: string[] } };
  const dataset = await loadDataset(ctx.data, { labels: ctx.labels });
  const train = new Set(split.splits.train);
  const counts: Record<string, number> = {};
  for (const i of dataset.items) if (train.has(i.file)) counts[i.label] = (counts[i.label] ?? 0) + 1;
  return counts;
}

/** Classes of the split's training images (per-class mode trains one GAN for each). */
export async function splitClasses(ctx: PipelineContext): Promise<string[]> {
  return Object.keys(await splitClassCounts(ctx)).sort();
}

