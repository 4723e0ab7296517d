/**
 * Data-parallel DCGAN gradients: the GAN's adapter over the engine's
 * data-parallel step (src/engine/parallel/data-parallel.ts, which says how
 * shards, weights and batch-norm statistics travel).
 *
 * `createParallelStep(spec, { workers })` returns the same two gradient
 * functions as step.ts (async). Each shard's loss is step.ts' mean over the
 * shard, so gradients and loss statistics are shard-size-weighted means: the
 * gradient of the full-batch mean loss. The trainer then applies its
 * optimizer once, as with local step.ts. With one worker, results equal
 * step.ts up to float rounding (tested).
 */
import { DataParallelStep, moduleUrl, sliceRows, tf, type LayersModel, type Scalar, type Tensor } from '../engine/index.js';
import type { ModelSpec } from './models.js';
import { DEFAULT_STEP_LOSSES, discriminatorGradients, generatorGradients, type StepLosses, type DiscriminatorBatch, type DiscriminatorGradients, type GeneratorBatch, type GeneratorGradients } from './step.js';
import type { DiscriminatorShard, GanTaskOptions, GeneratorShard, ShardTensor } from './parallel-task.js';
import type { AugmentParams } from './diffaugment.js';

/** The two gradient functions of step.ts behind one async interface, local or data-parallel. */
export interface GradientStep {
  /** Number of worker threads (0 = computed in this thread). */
  readonly workers: number;
  discriminatorGradients(generator: LayersModel, discriminator: LayersModel, batch: DiscriminatorBatch): Promise<DiscriminatorGradients>;
  generatorGradients(generator: LayersModel, discriminator: LayersModel, batch: GeneratorBatch): Promise<GeneratorGradients>;
  close(): Promise<void>;
  /** Live tensors per worker (for leak checks); [] when local. */
  workerTensorCounts(): Promise<number[]>;
}

/** step.ts in this thread. */
export function localStep(losses: Partial<StepLosses> = {}): GradientStep {
  return {
    workers: 0,
    discriminatorGradients: async (g, d, b) => discriminatorGradients(g, d, b, losses),
    generatorGradients: async (g, d, b) => generatorGradients(g, d, b, losses),
    close: async () => {},
    workerTensorCounts: async () => [],
  };
}

export interface ParallelStepOptions {
  /** Worker threads (≥ 1). */
  workers: number;
  /** tfjs backend in the workers (default wasm). */
  backend?: string;
  /** step.ts' losses (DEFAULT_STEP_LOSSES where absent; mode-seeking pairs are within a shard). */
  losses?: Partial<StepLosses>;
}

/** A batch tensor's values, read once per call, and a shard's rows of them. */
function rowsOf(t: Tensor): (range: [number, number]) => ShardTensor;
function rowsOf(t: Tensor | undefined): (range: [number, number]) => ShardTensor | undefined;
function rowsOf(t: Tensor | undefined): (range: [number, number]) => ShardTensor | undefined {
  if (!t) return () => undefined;
  const values = t.dataSync() as Float32Array, rows = t.shape[0];
  return (range) => ({ values: sliceRows(values, rows, range), shape: [range[1] - range[0], ...t.shape.slice(1)] });
}

/** A shard's rows of the augmentation parameters (one value per image; the policy is the batch's). */
function augmentRows(p: AugmentParams | undefined, [start, end]: [number, number]): AugmentParams | undefined {
  if (!p) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p)) out[k] = k !== 'policy' && Array.isArray(v) ? v.slice(start, end) : v;
  return out as unknown as AugmentParams;
}

/** The combined loss statistics as the scalars step.ts returns. */
function scalars(numbers: Record<string, number>): Record<string, Scalar> {
  return Object.fromEntries(Object.entries(numbers).map(([k, v]) => [k, tf.scalar(v) as Scalar]));
}

/** Starts `workers` threads that rebuild the models of `spec`. Close it when done. */
export async function createParallelStep(spec: ModelSpec, opts: ParallelStepOptions): Promise<GradientStep> {
  // The workers' step.ts gets the losses complete, so every thread fills the same defaults.
  const { workers, backend, losses } = opts;
  const options: GanTaskOptions = { spec, losses: { ...DEFAULT_STEP_LOSSES, ...losses } };
  const step = await DataParallelStep.create({ taskModule: moduleUrl(import.meta.url, 'parallel-task'), options, workers, backend, combine: 'mean' });
  return {
    workers: step.workers,
    async discriminatorGradients(g, d, batch) {
      const rows = batch.real.shape[0];
      const real = rowsOf(batch.real), noise = rowsOf(batch.noise), realLabels = rowsOf(batch.realLabels), fakeLabels = rowsOf(batch.fakeLabels);
      const r = await step.run('discriminator', [g, d], rows, (range): DiscriminatorShard => ({
        real: real(range), noise: noise(range), realLabels: realLabels(range), fakeLabels: fakeLabels(range),
        augmentReal: augmentRows(batch.augmentReal, range), augmentFake: augmentRows(batch.augmentFake, range),
      }));
      return { grads: r.grads, ...scalars(r.numbers) } as DiscriminatorGradients;
    },
    async generatorGradients(g, d, batch) {
      const rows = batch.noise.shape[0];
      const noise = rowsOf(batch.noise), fakeLabels = rowsOf(batch.fakeLabels);
      const r = await step.run('generator', [g, d], rows, (range): GeneratorShard => ({
        noise: noise(range), fakeLabels: fakeLabels(range), augmentFake: augmentRows(batch.augmentFake, range), auxFloor: batch.auxFloor,
      }));
      return { grads: r.grads, ...scalars(r.numbers) } as GeneratorGradients;
    },
    close: () => step.close(),
    workerTensorCounts: () => step.workerTensorCounts(),
  };
}
