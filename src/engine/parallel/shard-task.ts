/**
 * Worker side of a data-parallel step (see data-parallel.ts). An adapter's
 * task module exports `createTask = shardTask(build)`; `build` gets the
 * adapter's plain options, builds the same models as the main thread, and
 * names its gradient functions. For each call the task takes the weights the
 * main thread sent (only those that changed since the last call), runs the
 * named gradient function on the shard, and returns the gradients and the
 * models' updated batch-norm moving statistics, packed for transfer.
 */
import { isSpectralNormVector } from '../layers.js';
import { tf, type LayersModel, type NamedTensorMap } from '../tf.js';
import { namedWeights } from '../weight-names.js';
import type { CreateTask, TaskHandlers, TaskResult, WorkerContext } from './protocol.js';
import { packTensors, unpackTensors } from './tensors.js';
import type { ShardCall, ShardReply } from './data-parallel.js';

/** A shard's result as an adapter computes it. */
export interface ShardGradients {
  /** Gradients by stable weight name; the task disposes them. */
  grads: NamedTensorMap;
  /** Plain numbers (losses, counts), combined across shards like the gradients. */
  numbers: Record<string, number>;
}

export interface ShardModels {
  /** The models the main thread trains, in the order it passes them to DataParallelStep.run. */
  models: LayersModel[];
  /**
   * Gradient functions by method name, each taking the shard description the main thread's
   * `shardOf` made for that method; each disposes every tensor but the gradients it returns.
   */
  gradients: Record<string, (shard: never) => ShardGradients>;
}

const pack = (items: { name: string; value: tf.Tensor }[]) =>
  packTensors(items.map((t) => ({ name: t.name, shape: t.value.shape, values: t.value.dataSync() as Float32Array })));

export function shardTask<O>(build: (options: O, context: WorkerContext) => ShardModels): CreateTask {
  return (options: O, context: WorkerContext): TaskHandlers => {
    const { models, gradients } = build(options, context);
    const weights = namedWeights(models);
    const byName = new Map(weights.map((w) => [w.name, w.variable]));
    // Batch-norm moving statistics are the non-trainable weights a step changes; spectral-norm
    // vectors are advanced by the main thread only (power iteration), so they are not sent back.
    const stats = weights.filter((w) => !w.variable.trainable && !isSpectralNormVector(w.name));

    const handlers: TaskHandlers = {
      numTensors: (): TaskResult<number> => ({ value: tf.memory().numTensors }),
    };
    for (const [method, gradientsOf] of Object.entries(gradients)) {
      handlers[method] = (call: ShardCall): TaskResult<ShardReply> => {
        if (call.weights) {
          tf.tidy(() => {
            for (const [name, t] of unpackTensors(call.weights!)) {
              const variable = byName.get(name);
              if (!variable) throw new Error(`unknown weight ${name}`);
              variable.write(tf.tensor(t.values, t.shape));
            }
          });
        }
        const r = gradientsOf(call.shard as never);
        try {
          const grads = pack(Object.entries(r.grads).map(([name, value]) => ({ name, value })));
          const packedStats = pack(stats.map((w) => ({ name: w.name, value: w.variable.read() })));
          return { value: { grads, stats: packedStats, numbers: r.numbers }, transfer: [grads.buffer as ArrayBuffer, packedStats.buffer as ArrayBuffer] };
        } finally {
          tf.dispose(Object.values(r.grads));
        }
      };
    }
    return handlers;
  };
}
