/**
 * Identity for wasm without a copy. tfjs-core runs Identity every time it
 * clones a tensor, and it clones every input and output it saves for the
 * backward pass, so during training the stock wasm kernel (allocate, then
 * copy the whole buffer) copied every activation once more; it was ~1.5 % of
 * a DCGAN iteration's CPU profile. wasm tensors are reference-counted and
 * immutable (no kernel writes into its inputs; Reshape already shares data
 * this way), so sharing the buffer and counting one more reference is the
 * same thing the cpu backend's Identity does.
 */
import type { KernelFunc, TensorInfo } from './types.js';

interface RefCountingBackend { incRef(dataId: object): void }

export function makeIdentity(_backendName: string): KernelFunc {
  return ({ inputs, backend }) => {
    const { x } = inputs as { x: TensorInfo };
    (backend as unknown as RefCountingBackend).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype } as TensorInfo;
  };
}
