import type { tf } from '../tf.js';

export type KernelFunc = tf.KernelFunc;
export type TensorInfo = tf.TensorInfo;
export type DataType = tf.DataType;

/**
 * The part of tfjs-backend-wasm's BackendWasm the custom kernels use: tensor
 * data lives in the wasm heap, and `typedArrayFromHeap` is a view on it.
 * Views are invalidated when the heap grows, so re-take one after any call
 * that may allocate (makeOutput, another kernel).
 */
export interface WasmBackendLike {
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: object, force?: boolean): boolean;
}

export type Pad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
export type Pair = [number, number] | number;

/** A 4-D tensor view sharing `t`'s data with another shape (a free reshape). */
export function view(t: TensorInfo, shape: number[]): TensorInfo {
  return { dataId: t.dataId, dtype: t.dtype, shape };
}
