/**
 * Conv2DBackpropFilter (the weight gradient of a convolution), which
 * tfjs-backend-wasm 4.22 does not register at all and whose `cpu` version is
 * unusably slow.
 *
 * Identity used: dW[kh,kw,ci,co] = conv2d(xᵀ, dyᵀ) with stride 1 and
 * dilation = the forward stride, where xᵀ = x as [ci,H,W,N] and
 * dyᵀ = dy as [oh,ow,N,co]: the batch becomes the reduction (channel) axis,
 * so the backend's fast Conv2D (XNNPACK on wasm) does all the arithmetic.
 */
import { tf } from '../tf.js';
import type { KernelFunc, TensorInfo } from './types.js';

export function makeConv2DBackpropFilter(backendName: string): KernelFunc {
  const transpose = tf.getKernel('Transpose', backendName)!.kernelFunc;
  const conv2d = tf.getKernel('Conv2D', backendName)!.kernelFunc;
  return ({ inputs, backend: anyBackend, attrs }) => {
    const backend = anyBackend as tf.KernelBackend;
    const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
    const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as {
      strides: [number, number] | number; pad: 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
      dataFormat: 'NHWC' | 'NCHW'; dimRoundingMode?: 'floor' | 'round' | 'ceil'; filterShape: [number, number, number, number];
    };
    if (dataFormat && dataFormat !== 'NHWC') throw new Error(`Conv2DBackpropFilter: only NHWC is supported, got ${dataFormat}`);
    const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
    const [kh, kw] = filterShape;
    const { strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow } = info;
    const { top, left } = info.padInfo;
    const H = x.shape[1], W = x.shape[2];
    // Padding after the input so the dilated "filter" (dy) covers exactly kh×kw output taps.
    const bottom = kh + (oh - 1) * sh - H - top;
    const right = kw + (ow - 1) * sw - W - left;
    if (bottom < 0 || right < 0) {
      // The forward conv ignored trailing input rows/cols; crop them instead of padding negatively.
      throw new Error(`Conv2DBackpropFilter: negative trailing padding (${bottom}, ${right}) is not supported`);
    }
    const xT = transpose({ inputs: { x }, backend, attrs: { perm: [3, 1, 2, 0] } }) as TensorInfo;
    const dyT = transpose({ inputs: { x: dy }, backend, attrs: { perm: [1, 2, 0, 3] } }) as TensorInfo;
    const r = conv2d({
      inputs: { x: xT, filter: dyT }, backend,
      attrs: { strides: [1, 1], pad: [[0, 0], [top, bottom], [left, right], [0, 0]], dataFormat: 'NHWC', dilations: [sh, sw] },
    }) as TensorInfo; // [ci, kh, kw, co]
    const out = transpose({ inputs: { x: r }, backend, attrs: { perm: [1, 2, 0, 3] } }) as TensorInfo;
    backend.disposeData(xT.dataId);
    backend.disposeData(dyT.dataId);
    backend.disposeData(r.dataId);
    return out;
  };
}
