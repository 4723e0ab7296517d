/**
 * Float32 tensor data as typed arrays, for the custom kernels that compute in
 * JS: in place on the wasm heap, or in the cpu backend's data store.
 */
import type { DataType, TensorInfo, WasmBackendLike } from './types.js';

/** Reads inputs and makes outputs as Float32Arrays on the wasm heap or in cpu's data store. */
export interface Store {
  outputs(shapes: number[][]): { infos: TensorInfo[]; views(): Float32Array[] };
  read(t: TensorInfo): Float32Array;
}

export function storeOf(backendName: string, backend: unknown): Store {
  if (backendName === 'wasm') {
    const b = backend as WasmBackendLike;
    return {
      outputs(shapes) {
        const infos = shapes.map((s) => b.makeOutput(s, 'float32' as DataType));
        // Views after every allocation: makeOutput may grow (and so detach) the heap.
        return { infos, views: () => infos.map((t) => b.typedArrayFromHeap(t) as Float32Array) };
      },
      read: (t) => b.typedArrayFromHeap(t) as Float32Array,
    };
  }
  const b = backend as { data: { get(id: object): { values: unknown } }; makeTensorInfo(shape: number[], dtype: DataType, values: Float32Array): TensorInfo };
  return {
    outputs(shapes) {
      const arrays = shapes.map((s) => new Float32Array(s.reduce((p, d) => p * d, 1)));
      const infos = shapes.map((s, i) => b.makeTensorInfo(s, 'float32', arrays[i]));
      return { infos, views: () => arrays };
    },
    read: (t) => b.data.get(t.dataId).values as Float32Array,
  };
}

export function checkFloat(kernel: string, ts: Record<string, TensorInfo>): void {
  for (const [name, t] of Object.entries(ts)) {
    if (t.dtype !== 'float32') throw new Error(`${kernel}: ${name} must be float32, got ${t.dtype}`);
  }
}

