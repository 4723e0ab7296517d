export { WorkerPool, moduleUrl, workerBackendFor } from './pool.js';
export type { PoolOptions } from './pool.js';
export type { TaskResult, TaskHandler, TaskHandlers, CreateTask, WorkerContext } from './protocol.js';
export { packTensors, unpackTensors, splitRows, sliceRows, weightedSum, type PackedTensors } from './tensors.js';
export { WeightBroadcast } from './broadcast.js';
export { DataParallelStep } from './data-parallel.js';
export type { DataParallelOptions, DataParallelResult, ShardCombination, ShardCall, ShardReply } from './data-parallel.js';
export { shardTask } from './shard-task.js';
export type { ShardGradients, ShardModels } from './shard-task.js';
