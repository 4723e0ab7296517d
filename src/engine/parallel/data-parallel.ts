/**
 * One data-parallel training step over worker_threads (tfjs-backend-wasm
 * runs one thread under Node; this is how training uses every core). The
 * GAN and classifier trainers are adapters over it: they say which models
 * the step trains, which task module the workers run (see shard-task.ts)
 * and what each shard of a batch is.
 *
 * A step splits the batch into contiguous shards, one per worker; sends
 * each worker the weights whose data changed since it last got them; lets
 * every worker compute the gradients of its shard with those weights; and
 * combines the shards' gradients into the batch's, in worker order (so the
 * result does not depend on which worker answered first). The caller then
 * applies its optimizer once, as with an in-thread step.
 *
 * Batch norm is per shard, as in PyTorch DistributedDataParallel without
 * SyncBatchNorm: each worker normalises its shard by the shard's own mean
 * and variance, and the moving statistics written back into the models are
 * the shard-size-weighted mean of the workers' updated ones. The averaged
 * moving mean equals the full-batch update exactly; the averaged moving
 * variance omits the spread of shard means (small for random shards). With
 * one worker a step equals the in-thread one up to float rounding.
 *
 * Weights are matched between threads by stable name (weight-names.ts).
 */
import { tf, type LayersModel, type NamedTensorMap } from '../tf.js';
import { namedWeights } from '../weight-names.js';
import { WeightBroadcast } from './broadcast.js';
import { WorkerPool } from './pool.js';
import { splitRows, weightedSum, type PackedTensors } from './tensors.js';

/** What the main thread posts to a worker for one shard. */
export interface ShardCall<S = unknown> {
  /** The weights this worker lacks (see WeightBroadcast), or none. */
  weights?: PackedTensors;
  /** The adapter's description of the shard (its rows of the batch). */
  shard: S;
}

/** What a worker returns for one shard. */
export interface ShardReply {
  /** Gradients of the shard's loss, by stable weight name. */
  grads: PackedTensors;
  /** Batch-norm moving statistics of the models after the step, by stable weight name. */
  stats: PackedTensors;
  /** The adapter's per-shard numbers (losses, counts), combined like the gradients. */
  numbers: Record<string, number>;
}

/**
 * How the shards' gradients (and numbers) make the batch's:
 * - 'mean': each shard's loss is a mean over its own rows, so the batch's
 *   mean loss is their shard-size-weighted mean;
 * - 'sum': each shard's loss is already its part of the batch's (divided by
 *   a denominator over the whole batch), so the parts add up.
 */
export type ShardCombination = 'mean' | 'sum';

export interface DataParallelOptions {
  /** URL (href) of the task module, whose createTask is made by shardTask (see moduleUrl). */
  taskModule: string;
  /** Plain options, handed as they are to the task module's builder in every worker. */
  options: unknown;
  /** Worker threads (≥ 1). */
  workers: number;
  /** tfjs backend in the workers (default wasm). */
  backend?: string;
  combine: ShardCombination;
}

export interface DataParallelResult {
  /** The batch's gradient of each trainable weight, by stable name. */
  grads: NamedTensorMap;
  /** The shards' numbers combined like the gradients. */
  numbers: Record<string, number>;
}

export class DataParallelStep {
  private readonly broadcast: WeightBroadcast;

  private constructor(private readonly pool: WorkerPool, private readonly combine: ShardCombination) {
    this.broadcast = new WeightBroadcast(pool.size);
  }

  /** Starts the workers, each building the task's models. Close it when done. */
  static async create(opts: DataParallelOptions): Promise<DataParallelStep> {
    if (!Number.isInteger(opts.workers) || opts.workers < 1) throw new Error(`data-parallel step: workers must be an integer ≥ 1, got ${opts.workers}`);
    const pool = await WorkerPool.create({ taskModule: opts.taskModule, options: opts.options, size: opts.workers, backend: opts.backend });
    return new DataParallelStep(pool, opts.combine);
  }

  /** Number of worker threads. */
  get workers(): number { return this.pool.size; }

  /**
   * Runs the task's gradient function `method` on `rows` rows split into
   * shards (`shardOf` makes a shard's description from its [start, end)
   * rows), with the current weights of `models` (the same models, in the same
   * order, as the task builds). Writes the combined batch-norm moving
   * statistics back into `models`; returns the combined gradients (the
   * caller disposes them) and numbers.
   */
  async run<S>(method: string, models: LayersModel[], rows: number, shardOf: (range: [number, number]) => S): Promise<DataParallelResult> {
    const weights = namedWeights(models);
    const ranges = splitRows(rows, Math.min(this.pool.size, rows));
    const sends = this.broadcast.payloads(weights.map((w) => ({ name: w.name, value: w.variable.read() })), ranges.length);
    const replies = await Promise.all(ranges.map((range, k) => {
      const call: ShardCall<S> = { weights: sends[k], shard: shardOf(range) };
      return this.pool.call<ShardReply>(k, method, call);
    }));

    const share = ranges.map(([start, end]) => (end - start) / rows);
    const coefficients = this.combine === 'mean' ? share : share.map(() => 1);
    const grads: NamedTensorMap = {};
    for (const [name, t] of weightedSum(replies.map((r) => r.grads), coefficients)) grads[name] = tf.tensor(t.values, t.shape);
    // The new statistics tensors get new data, so the next call resends them.
    const byName = new Map(weights.map((w) => [w.name, w.variable]));
    tf.tidy(() => {
      for (const [name, t] of weightedSum(replies.map((r) => r.stats), share)) {
        const variable = byName.get(name);
        if (!variable) throw new Error(`data-parallel step: a worker returned statistics of ${name}, which the models given have not`);
        variable.write(tf.tensor(t.values, t.shape));
      }
    });
    const numbers: Record<string, number> = {};
    for (const key of Object.keys(replies[0].numbers)) {
      numbers[key] = replies.reduce((sum, r, k) => sum + coefficients[k] * r.numbers[key], 0);
    }
    return { grads, numbers };
  }

  /** Live tensors per worker (for leak checks). */
  workerTensorCounts(): Promise<number[]> {
    return this.pool.map<number>('numTensors', Array.from({ length: this.pool.size }, () => null));
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
