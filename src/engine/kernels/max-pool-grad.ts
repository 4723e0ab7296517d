/**
 * MaxPoolGrad for wasm (the classifier's max-pool gradient). The stock
 * kernel was ~15% of a classifier training step. Routes each dy value to
 * the first maximum of its window in row-major window order, exactly as
 * the cpu backend does (which matters after a ReLU, where all-zero windows
 * tie). Channels are the inner loop, so every read is contiguous.
 */
import { tf } from '../tf.js';
import type { KernelFunc, Pad, Pair, TensorInfo, WasmBackendLike } from './types.js';

export function makeMaxPoolGrad(backendName: string): KernelFunc {
  const original = tf.getKernel('MaxPoolGrad', backendName)!.kernelFunc;
  return (args) => {
    const { inputs, backend: anyBackend, attrs } = args;
    const { dy, input } = inputs as { dy: TensorInfo; input: TensorInfo };
    const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as { filterSize: Pair; strides: Pair; pad: Pad; dimRoundingMode?: 'floor' | 'round' | 'ceil' };
    if (input.dtype !== 'float32' || input.shape.length !== 4) return original(args);
    const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad as never, dimRoundingMode);
    const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
    const { top, left } = info.padInfo;
    const backend = anyBackend as unknown as WasmBackendLike;
    const out = backend.makeOutput([N, H, W, C], 'float32');
    const dx = backend.typedArrayFromHeap(out) as Float32Array;
    const x = backend.typedArrayFromHeap(input) as Float32Array;
    const g = backend.typedArrayFromHeap(dy) as Float32Array;
    dx.fill(0);
    const best = new Float32Array(C), where = new Int32Array(C);
    for (let b = 0; b < N; b++) {
      for (let oy = 0; oy < OH; oy++) {
        const y0 = oy * sh - top, yMin = Math.max(0, y0), yMax = Math.min(H, y0 + fh);
        for (let ox = 0; ox < OW; ox++) {
          const x0 = ox * sw - left, xMin = Math.max(0, x0), xMax = Math.min(W, x0 + fw);
          best.fill(-Infinity); where.fill(-1);
          for (let iy = yMin; iy < yMax; iy++) {
            for (let ix = xMin; ix < xMax; ix++) {
              const base = ((b * H + iy) * W + ix) * C;
              for (let c = 0; c < C; c++) {
                const v = x[base + c];
                if (v > best[c]) { best[c] = v; where[c] = base + c; }
              }
            }
          }
          const gBase = ((b * OH + oy) * OW + ox) * C;
          for (let c = 0; c < C; c++) if (where[c] >= 0) dx[where[c]] += g[gBase + c];
        }
      }
    }
    return out;
  };
}
