export { tf } from './tf.js';
export type * from './tf.js';
export { initBackend, ensureBackend, currentBackend, describeBackend, isBackendName, BACKENDS } from './backend.js';
export type { BackendName, BackendInfo } from './backend.js';
export { batchNormalizationLayer, conv2dLayer } from './layers.js';
export { registerCustomKernels, stockKernel, customKernelNames } from './kernels/index.js';
export { WorkerPool, moduleUrl, packTensors, unpackTensors, splitRows, weightedSum } from './parallel/index.js';
export type { PoolOptions, TaskResult, TaskHandler, TaskHandlers, CreateTask, WorkerContext, PackedTensors } from './parallel/index.js';
export { tfjsSeed } from './seed.js';
