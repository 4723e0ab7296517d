export { WorkerPool, moduleUrl, workerBackendFor } from './pool.js';
export type { PoolOptions } from './pool.js';
export type { TaskResult, TaskHandler, TaskHandlers, CreateTask, WorkerContext } from './protocol.js';
export { packTensors, unpackTensors, splitRows, weightedSum, type PackedTensors } from './tensors.js';
export { WeightBroadcast } from './broadcast.js';
