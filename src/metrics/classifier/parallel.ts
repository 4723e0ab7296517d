/**
 * Data-parallel training steps for the reference classifier: its adapter
 * over the engine's data-parallel step (src/engine/parallel/data-parallel.ts,
 * which says how shards, weights and batch-norm statistics travel).
 *
 * Each worker computes, on its contiguous shard of the batch, the gradient
 * of Σ_shard w·NLL / Σ_batch w; the shards' gradients (and losses) add up to
 * the whole batch's, and the main thread applies its optimizer once. With
 * one worker the step equals the in-thread step up to float rounding
 * (tested); with more, results depend on the worker count (per-shard batch
 * norm), which classifier.json records.
 */
import { DataParallelStep, moduleUrl, sliceRows, tf, weightNames, type LayersModel } from '../../engine/index.js';
import type { ClassifierShard, ClassifierSpec } from './parallel-task.js';
import type { StepBatch } from './step.js';

export interface ParallelClassifierStep {
  readonly workers: number;
  /** One optimizer step on `batch`; returns the batch loss and the number of correct predictions. */
  step(model: LayersModel, optimizer: tf.Optimizer, batch: StepBatch): Promise<{ loss: number; hits: number }>;
  /** Live tensors per worker (for leak checks). */
  workerTensorCounts(): Promise<number[]>;
  close(): Promise<void>;
}

export async function createParallelClassifierStep(spec: ClassifierSpec, opts: { workers: number; backend?: string }): Promise<ParallelClassifierStep> {
  const step = await DataParallelStep.create({ taskModule: moduleUrl(import.meta.url, 'parallel-task'), options: spec, workers: opts.workers, backend: opts.backend, combine: 'sum' });
  return {
    workers: step.workers,
    async step(model, optimizer, batch) {
      const rows = batch.ys.length;
      const denominator = batch.sampleWeights.reduce((s, w) => s + w, 0);
      const r = await step.run('step', [model], rows, (range): ClassifierShard => ({
        xs: sliceRows(batch.xs, rows, range), ys: sliceRows(batch.ys, rows, range),
        sampleWeights: sliceRows(batch.sampleWeights, rows, range), mask: batch.mask && sliceRows(batch.mask, rows, range),
        denominator,
      }));
      // The optimizer knows the weights by their variable names.
      const variableNames = new Map(weightNames(model).map((name, i) => [name, (model.weights[i].read() as tf.Variable).name]));
      const grads: tf.NamedTensorMap = {};
      for (const [name, t] of Object.entries(r.grads)) grads[variableNames.get(name)!] = t;
      optimizer.applyGradients(grads);
      tf.dispose(Object.values(grads));
      return { loss: r.numbers.loss, hits: r.numbers.hits };
    },
    workerTensorCounts: () => step.workerTensorCounts(),
    close: () => step.close(),
  };
}
