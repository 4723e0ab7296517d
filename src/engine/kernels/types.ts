import type { tf } from '../tf.js';

export type KernelFunc = tf.KernelFunc;
export type TensorInfo = tf.TensorInfo;
