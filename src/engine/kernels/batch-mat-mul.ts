/**
 * BatchMatMul for wasm with transposed operands made explicit.
 *
 * The stock wasm kernel is fast only when neither operand is transposed:
 * measured here (tfjs 4.22, one core), 1024³ takes 50 ms plain, 600 ms with
 * transposeB and 2,500 ms with transposeA. Every dense layer's gradient asks
 * for one of those (dW = xᵀ·dy, dx = dy·Wᵀ): a DCGAN generator's first-layer
 * weight gradient took 52 ms at batch 32 instead of 3. Transposing the
 * operand first with the Transpose kernel and then multiplying plainly costs
 * one extra pass over that operand and is 10–40× faster.
 */
import { tf } from '../tf.js';
import type { KernelFunc, TensorInfo } from './types.js';

interface MatMulAttrs { transposeA?: boolean; transposeB?: boolean }

export function makeBatchMatMul(backendName: string): KernelFunc {
  const stock = tf.getKernel('BatchMatMul', backendName)!.kernelFunc;
  const transpose = tf.getKernel('Transpose', backendName)!.kernelFunc;
  return (args) => {
    const { inputs, backend: anyBackend, attrs } = args;
    const { transposeA = false, transposeB = false } = attrs as unknown as MatMulAttrs;
    if (!transposeA && !transposeB) return stock(args);
    const backend = anyBackend as tf.KernelBackend;
    const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
    // Swap the last two axes; leading (batch) axes stay.
    const swapInner = (t: TensorInfo): TensorInfo => {
      const perm = t.shape.map((_, i) => i);
      const r = perm.length;
      [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
      return transpose({ inputs: { x: t }, backend, attrs: { perm } }) as TensorInfo;
    };
    const a2 = transposeA ? swapInner(a) : a;
    const b2 = transposeB ? swapInner(b) : b;
    try {
      return stock({ inputs: { a: a2, b: b2 }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } });
    } finally {
      if (a2 !== a) backend.disposeData(a2.dataId);
      if (b2 !== b) backend.disposeData(b2.dataId);
    }
  };
}
