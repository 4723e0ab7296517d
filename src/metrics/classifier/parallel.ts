/**
 * Data-parallel training steps for the reference classifier over
 * worker_threads (tfjs-backend-wasm runs one thread under Node; this is how
 * classifier training uses every core), the classifier counterpart of
 * src/dcgan/parallel.ts.
 *
 * Each worker computes, on its contiguous shard of the batch, the gradient
 * of Σ_shard w·NLL / Σ_batch w; the shards' gradients add up to the whole
 * batch's, and the main thread applies its optimizer once. Batch norm is
 * per shard (PyTorch DistributedDataParallel without SyncBatchNorm): the
 * moving statistics become the shard-size-weighted mean of the workers'
 * updated ones. With one worker the step equals the in-thread step up to
 * float rounding (tested); with more, results depend on the worker count,
 * which classifier.json records.
 */
import { tf, type LayersModel } from '../../engine/index.js';
import { moduleUrl, splitRows, weightedSum, WeightBroadcast, WorkerPool } from '../../engine/parallel/index.js';
import { weightIndex, weightName, type ClassifierShard, type ClassifierShardResult, type ClassifierSpec } from './parallel-task.js';
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
  if (!Number.isInteger(opts.workers) || opts.workers < 1) throw new Error(`createParallelClassifierStep: workers must be an integer ≥ 1, got ${opts.workers}`);
  const pool = await WorkerPool.create({ taskModule: moduleUrl(import.meta.url, 'parallel-task'), options: spec, size: opts.workers, backend: opts.backend });
  const broadcast = new WeightBroadcast(pool.size);
  const rowFloats = spec.size * spec.size * 3;

  return {
    workers: pool.size,
    async step(model, optimizer, batch) {
      const rows = batch.ys.length;
      const ranges = splitRows(rows, Math.min(pool.size, rows));
      // Per worker, the weights whose data changed since it last received them.
      const sends = broadcast.payloads(model.weights.map((w, i) => ({ name: weightName(i), value: w.read() })), ranges.length);
      const denominator = batch.sampleWeights.reduce((s, w) => s + w, 0);
      const units = batch.mask ? batch.mask.length / rows : 0;
      const results = await Promise.all(ranges.map(([start, end], k) => {
        const shard: ClassifierShard = {
          weights: sends[k],
          xs: batch.xs.slice(start * rowFloats, end * rowFloats), ys: batch.ys.slice(start, end),
          sampleWeights: batch.sampleWeights.slice(start, end), mask: batch.mask ? batch.mask.slice(start * units, end * units) : null,
          denominator,
        };
        return pool.call<ClassifierShardResult>(k, 'step', shard);
      }));

      // Gradients add up (each is already divided by the whole batch's Σw).
      const grads: tf.NamedTensorMap = {};
      for (const [name, t] of weightedSum(results.map((r) => r.grads), results.map(() => 1))) {
        grads[(model.weights[weightIndex(name)].read() as tf.Variable).name] = tf.tensor(t.values, t.shape);
      }
      optimizer.applyGradients(grads);
      tf.dispose(Object.values(grads));
      // Moving statistics: shard-size-weighted mean of the workers' updated ones.
      const share = ranges.map(([s, e]) => (e - s) / rows);
      tf.tidy(() => {
        for (const [name, t] of weightedSum(results.map((r) => r.stats), share)) model.weights[weightIndex(name)].write(tf.tensor(t.values, t.shape));
      });
      return { loss: results.reduce((s, r) => s + r.loss, 0), hits: results.reduce((s, r) => s + r.hits, 0) };
    },
    workerTensorCounts: () => pool.map<number>('numTensors', Array.from({ length: pool.size }, () => null)),
    close: () => pool.close(),
  };
}
