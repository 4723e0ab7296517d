/**
 * Data-parallel DCGAN gradients over worker_threads (tfjs-backend-wasm is
 * single-threaded under Node, so this is how training uses every core).
 *
 * `createParallelStep(spec, { workers })` returns the same two gradient
 * functions as step.ts (async): the batch is split into contiguous shards,
 * each worker computes step.ts' gradients on its shard with the current
 * weights, and the main thread averages them (weighted by shard size, so the
 * result is the gradient of the full-batch mean loss) and returns them as
 * tensors; the trainer then applies its optimizer once, as with local step.ts.
 *
 * Batch norm: statistics are per shard, as in PyTorch DistributedDataParallel
 * without SyncBatchNorm: each worker normalises its shard by the shard's own
 * mean and variance, and the moving statistics are the shard-size-weighted
 * average of the workers' updated ones. The averaged moving mean equals the
 * full-batch update exactly; the averaged moving variance omits the spread of
 * shard means (small for random shards). With one worker, results equal
 * step.ts up to float rounding (tested).
 */
import { tf, type LayersModel, type NamedTensorMap, type Scalar, type Tensor } from '../engine/index.js';
import { moduleUrl, splitRows, weightedSum, WeightBroadcast, WorkerPool, type PackedTensors } from '../engine/parallel/index.js';
import type { ModelSpec } from './models.js';
import { discriminatorGradients, generatorGradients, type GanLoss, type DiscriminatorBatch, type DiscriminatorGradients, type GeneratorBatch, type GeneratorGradients } from './step.js';
import { namedWeights, type ShardPayload, type ShardResult, type ShardTensor } from './parallel-task.js';
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
export function localStep(loss: GanLoss = 'bce', auxWeight = 0, modeSeekingWeight = 0): GradientStep {
  return {
    workers: 0,
    discriminatorGradients: async (g, d, b) => discriminatorGradients(g, d, b, loss, auxWeight),
    generatorGradients: async (g, d, b) => generatorGradients(g, d, b, loss, auxWeight, modeSeekingWeight),
    close: async () => {},
    workerTensorCounts: async () => [],
  };
}

export interface ParallelStepOptions {
  /** Worker threads (≥ 1). */
  workers: number;
  /** tfjs backend in the workers (default wasm). */
  backend?: string;
  /** The GAN loss (default 'bce'). */
  loss?: GanLoss;
  /** Weight of the auxiliary-classifier loss (default 0 = off). */
  auxWeight?: number;
  /** Weight of the mode-seeking term (default 0 = off; pairs within a shard). */
  modeSeekingWeight?: number;
}

function sliceRows(t: Tensor | undefined, values: Float32Array | undefined, [start, end]: [number, number]): ShardTensor | undefined {
  if (!t || !values) return undefined;
  const row = t.size / t.shape[0];
  return { values: values.slice(start * row, end * row), shape: [end - start, ...t.shape.slice(1)] };
}

function sliceAugment(p: AugmentParams | undefined, [start, end]: [number, number]): AugmentParams | undefined {
  if (!p) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p)) out[k] = k !== 'policy' && Array.isArray(v) ? v.slice(start, end) : v;
  return out as unknown as AugmentParams;
}

/** Starts `workers` threads that rebuild the models of `spec`. Close it when done. */
export async function createParallelStep(spec: ModelSpec, opts: ParallelStepOptions): Promise<GradientStep> {
  if (!Number.isInteger(opts.workers) || opts.workers < 1) throw new Error(`createParallelStep: workers must be an integer ≥ 1, got ${opts.workers}`);
  const pool = await WorkerPool.create({ taskModule: moduleUrl(import.meta.url, 'parallel-task'), options: { spec, loss: opts.loss ?? 'bce', auxWeight: opts.auxWeight ?? 0, modeSeekingWeight: opts.modeSeekingWeight ?? 0 }, size: opts.workers, backend: opts.backend });
  const broadcast = new WeightBroadcast(pool.size);

  async function run(method: 'dStep' | 'gStep', g: LayersModel, d: LayersModel, rows: number, shard: (range: [number, number]) => Omit<ShardPayload, 'weights'>) {
    const weights = namedWeights([g, d]);
    const ranges = splitRows(rows, Math.min(pool.size, rows));
    // Per worker, the weights whose data changed since it last received them.
    const sends = broadcast.payloads(weights.map((w) => ({ name: w.name, value: w.model.weights[w.index].read() })), ranges.length);
    const results = await Promise.all(ranges.map((range, i) => {
      const payload: ShardPayload = { ...shard(range), weights: sends[i] };
      return pool.call<ShardResult>(i, method, payload);
    }));
    // Shard-size-weighted means: the full-batch mean loss's gradient.
    const share = ranges.map(([s, e]) => (e - s) / rows);
    const average = (pick: (r: ShardResult) => PackedTensors) => weightedSum(results.map(pick), share);
    const grads: NamedTensorMap = {};
    for (const [name, t] of average((r) => r.grads)) grads[name] = tf.tensor(t.values, t.shape);
    // Moving statistics back into the main models; the new tensors are resent next call.
    tf.tidy(() => {
      for (const [name, t] of average((r) => r.stats)) {
        const w = byName.get(name);
        if (w) w.model.weights[w.index].write(tf.tensor(t.values, t.shape));
      }
    });
    const mean = (f: (r: ShardResult) => number | undefined) => results.reduce((s, r, i) => s + share[i] * (f(r) ?? NaN), 0);
    return { grads, loss: mean((r) => r.loss), realProb: mean((r) => r.realProb), fakeProb: mean((r) => r.fakeProb), auxLoss: mean((r) => r.auxLoss), modeSeekingRatio: mean((r) => r.modeSeekingRatio) };
  }

  // Filled per call (the models passed in); used to map names back to variables.
  let byName = new Map<string, { model: LayersModel; index: number }>();
  const index = (g: LayersModel, d: LayersModel) => { byName = new Map(namedWeights([g, d]).map((w) => [w.name, w])); };

  return {
    workers: pool.size,
    async discriminatorGradients(g, d, batch) {
      index(g, d);
      const real = batch.real.dataSync() as Float32Array, noise = batch.noise.dataSync() as Float32Array;
      const realLabels = batch.realLabels?.dataSync() as Float32Array | undefined, fakeLabels = batch.fakeLabels?.dataSync() as Float32Array | undefined;
      const r = await run('dStep', g, d, batch.real.shape[0], (range) => ({
        real: sliceRows(batch.real, real, range), noise: sliceRows(batch.noise, noise, range)!,
        realLabels: sliceRows(batch.realLabels, realLabels, range), fakeLabels: sliceRows(batch.fakeLabels, fakeLabels, range),
        augmentReal: sliceAugment(batch.augmentReal, range), augmentFake: sliceAugment(batch.augmentFake, range),
      }));
      return {
        grads: r.grads, loss: tf.scalar(r.loss) as Scalar, realProb: tf.scalar(r.realProb) as Scalar, fakeProb: tf.scalar(r.fakeProb) as Scalar,
        ...(Number.isNaN(r.auxLoss) ? {} : { auxLoss: tf.scalar(r.auxLoss) as Scalar }),
      };
    },
    async generatorGradients(g, d, batch) {
      index(g, d);
      const noise = batch.noise.dataSync() as Float32Array, fakeLabels = batch.fakeLabels?.dataSync() as Float32Array | undefined;
      const r = await run('gStep', g, d, batch.noise.shape[0], (range) => ({
        noise: sliceRows(batch.noise, noise, range)!, fakeLabels: sliceRows(batch.fakeLabels, fakeLabels, range),
        augmentFake: sliceAugment(batch.augmentFake, range),
      }));
      return {
        grads: r.grads, loss: tf.scalar(r.loss) as Scalar, ...(Number.isNaN(r.auxLoss) ? {} : { auxLoss: tf.scalar(r.auxLoss) as Scalar }),
        ...(Number.isNaN(r.modeSeekingRatio) ? {} : { modeSeekingRatio: tf.scalar(r.modeSeekingRatio) as Scalar }),
      };
    },
    close: () => pool.close(),
    workerTensorCounts: () => pool.map<number>('numTensors', Array.from({ length: pool.size }, () => null)),
  };
}
