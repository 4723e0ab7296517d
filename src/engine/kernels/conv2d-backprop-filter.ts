/**
 * Conv2DBackpropFilter (the weight gradient of a convolution), which
 * tfjs-backend-wasm 4.22 does not register at all and whose `cpu` version is
 * unusably slow. Two formulations, both handing the arithmetic to the
 * backend's fast kernels (XNNPACK on wasm):
 *
 * - `dilated`: dW[kh,kw,ci,co] = conv2d(xᵀ, dyᵀ) with stride 1 and
 *   dilation = the forward stride, where xᵀ = x as [ci,H,W,N] and
 *   dyᵀ = dy as [oh,ow,N,co]: the batch becomes the reduction axis.
 * - `im2col` (wasm only, needs heap access): dW as [ci·kh·kw, co] =
 *   colsᵀ[ci·kh·kw, N·oh·ow] × dy[N·oh·ow, co] through BatchMatMul, the
 *   columns gathered in JS from x transposed to [ci,N,H,W] so every gather
 *   is a strided read along one image row.
 *
 * Which is faster depends on the layer (see chooseBpfMethod):
 * `CELLGAN_BPF=dilated|im2col` forces one (for benchmarking).
 */
import { tf } from '../tf.js';
import { view, type KernelFunc, type Pad, type Pair, type TensorInfo, type WasmBackendLike } from './types.js';

export type BpfMethod = 'dilated' | 'im2col';

interface BpfAttrs {
  strides: Pair; pad: Pad; dataFormat?: 'NHWC' | 'NCHW'; dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

/**
 * The method used when not forced. Measured on the DCGAN layers (batch 32,
 * CPU time, notes/engine.md): im2col 2.6× faster at ci=3, ~10% faster on the
 * 8×8 and 4×4 outputs, dilated 20% faster at 16×16 outputs with ci=64.
 */
export function chooseBpfMethod(backendName: string, inChannels: number, outPixels: number): BpfMethod {
  const forced = process.env.CELLGAN_BPF;
  if (backendName !== 'wasm') return 'dilated';
  if (forced === 'dilated' || forced === 'im2col') return forced;
  return inChannels <= 32 || outPixels <= 64 ? 'im2col' : 'dilated';
}

export function makeConv2DBackpropFilter(backendName: string): KernelFunc {
  const transpose = tf.getKernel('Transpose', backendName)!.kernelFunc;
  const conv2d = tf.getKernel('Conv2D', backendName)!.kernelFunc;
  const slice = tf.getKernel('Slice', backendName)!.kernelFunc;
  const batchMatMul = tf.getKernel('BatchMatMul', backendName)!.kernelFunc;

  return ({ inputs, backend: anyBackend, attrs }) => {
    const backend = anyBackend as tf.KernelBackend;
    const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
    const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as BpfAttrs;
    if (dataFormat && dataFormat !== 'NHWC') throw new Error(`Conv2DBackpropFilter: only NHWC is supported, got ${dataFormat}`);
    const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
    const [kh, kw, ci, co] = filterShape;
    const { strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow } = info;
    const { top, left } = info.padInfo;
    const [N, H, W] = x.shape;
    const dispose = (...ts: TensorInfo[]) => { for (const t of ts) backend.disposeData(t.dataId); };

    if (chooseBpfMethod(backendName, ci, oh * ow) === 'im2col') {
      const wasm = backend as unknown as WasmBackendLike;
      const P = N * oh * ow, depth = ci * kh * kw;
      const xT = transpose({ inputs: { x }, backend, attrs: { perm: [3, 0, 1, 2] } }) as TensorInfo; // [ci,N,H,W]
      const cols = wasm.makeOutput([depth, P], 'float32');
      const colsV = wasm.typedArrayFromHeap(cols) as Float32Array;
      const xV = wasm.typedArrayFromHeap(xT) as Float32Array;
      let o = 0;
      for (let c = 0; c < ci; c++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
        // Output columns whose tap (i, j) falls inside the image; the rest read padding.
        let ox0 = 0; while (ox0 < ow && ox0 * sw + j - left < 0) ox0++;
        let ox1 = ow; while (ox1 > ox0 && (ox1 - 1) * sw + j - left >= W) ox1--;
        for (let n = 0; n < N; n++) {
          const plane = (c * N + n) * H;
          for (let oy = 0; oy < oh; oy++) {
            const iy = oy * sh + i - top;
            if (iy < 0 || iy >= H) { colsV.fill(0, o, o + ow); o += ow; continue; }
            const row = (plane + iy) * W + j - left;
            for (let ox = 0; ox < ox0; ox++) colsV[o + ox] = 0;
            for (let ox = ox0; ox < ox1; ox++) colsV[o + ox] = xV[row + ox * sw];
            for (let ox = ox1; ox < ow; ox++) colsV[o + ox] = 0;
            o += ow;
          }
        }
      }
      dispose(xT);
      const prod = batchMatMul({
        inputs: { a: view(cols, [1, depth, P]), b: view(dy, [1, P, co]) }, backend,
        attrs: { transposeA: false, transposeB: false },
      }) as TensorInfo;
      dispose(cols);
      const out = transpose({ inputs: { x: view(prod, [ci, kh, kw, co]) }, backend, attrs: { perm: [1, 2, 0, 3] } }) as TensorInfo;
      dispose(prod);
      return out;
    }

    // dilated: pad after the input so the dilated "filter" (dy) covers exactly kh×kw taps;
    // a negative amount means the forward conv never read the trailing rows/cols: crop them.
    const bottom = kh + (oh - 1) * sh - H - top;
    const right = kw + (ow - 1) * sw - W - left;
    let xc = x;
    if (bottom < 0 || right < 0) {
      xc = slice({ inputs: { x }, backend, attrs: { begin: [0, 0, 0, 0], size: [N, H + Math.min(bottom, 0), W + Math.min(right, 0), ci] } }) as TensorInfo;
    }
    const xT = transpose({ inputs: { x: xc }, backend, attrs: { perm: [3, 1, 2, 0] } }) as TensorInfo;
    if (xc !== x) dispose(xc);
    const dyT = transpose({ inputs: { x: dy }, backend, attrs: { perm: [1, 2, 0, 3] } }) as TensorInfo;
    const r = conv2d({
      inputs: { x: xT, filter: dyT }, backend,
      attrs: { strides: [1, 1], pad: [[0, 0], [top, Math.max(bottom, 0)], [left, Math.max(right, 0)], [0, 0]], dataFormat: 'NHWC', dilations: [sh, sw] },
    }) as TensorInfo; // [ci, kh, kw, co]
    dispose(xT, dyT);
    const out = transpose({ inputs: { x: r }, backend, attrs: { perm: [1, 2, 0, 3] } }) as TensorInfo;
    dispose(r);
    return out;
  };
}
