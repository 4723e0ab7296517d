/**
 * Conv2DBackpropInput for wasm: the input gradient of a convolution and the
 * forward pass of every transposed convolution (the DCGAN generator). The
 * stock wasm kernel is a naive loop; this one runs on the XNNPACK Conv2D.
 *
 * Phase (sub-pixel) decomposition: with forward stride s, output row
 * h = s·m + a (phase a ∈ [0,s)) only receives the filter taps p with
 * (a + top − p) ≡ 0 (mod s), each reading dy[m + (a + top − p)/s]. So every
 * (row phase, column phase) pair is one stride-1 correlation of dy with a
 * small filter holding just those taps, and the s² results interleave into
 * the output. Unlike zero-insertion (dilate dy by s, then one conv), no
 * multiply ever hits an inserted zero: at stride 2 that is 4× less work.
 *
 * Odd sizes are handled: phases may differ in length, a phase with no taps
 * is zero, and an offset window replaces negative padding.
 */
import { tf } from '../tf.js';
import { view, type KernelFunc, type Pad, type Pair, type TensorInfo, type WasmBackendLike } from './types.js';

interface BpiAttrs {
  strides: Pair; pad: Pad; dataFormat?: 'NHWC' | 'NCHW'; dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape: [number, number, number, number];
}

/** One axis of one phase: which taps, and how the correlation window sits on dy. */
export interface PhaseAxis {
  /** Filter taps used, ordered so the dy offset increases by one per tap. */
  taps: number[];
  /** Output positions in this phase: a, a+s, a+2s, … < outLen. */
  count: number;
  padLo: number;
  padHi: number;
  /** Row of the correlation result that output position `a` comes from. */
  offset: number;
}

export function phaseAxis(a: number, stride: number, k: number, padBefore: number, outLen: number, dyLen: number): PhaseAxis {
  const taps: number[] = [];
  for (let p = k - 1; p >= 0; p--) if ((((a + padBefore - p) % stride) + stride) % stride === 0) taps.push(p);
  const count = a < outLen ? Math.ceil((outLen - a) / stride) : 0;
  if (taps.length === 0 || count === 0) return { taps: [], count, padLo: 0, padHi: 0, offset: 0 };
  const dMin = (a + padBefore - taps[0]) / stride; // dy offset of the first tap
  const padLo = Math.max(0, -dMin);
  const offset = dMin + padLo;
  const padHi = Math.max(0, offset + count + taps.length - 1 - dyLen - padLo);
  return { taps, count, padLo, padHi, offset };
}

/**
 * dst[dOff + o·rows + r] = src[sOff + r·cols + o] (a rows×cols transpose), in
 * 16×16 tiles so neither side is walked with a large stride: 2.7× faster than
 * the plain double loop on a 256×512 tap (38 → 14 ms for one 4×4 filter).
 */
export function transposeBlock(src: Float32Array, sOff: number, rows: number, cols: number, dst: Float32Array, dOff: number): void {
  const B = 16;
  for (let r0 = 0; r0 < rows; r0 += B) {
    const r1 = Math.min(rows, r0 + B);
    for (let o0 = 0; o0 < cols; o0 += B) {
      const o1 = Math.min(cols, o0 + B);
      for (let r = r0; r < r1; r++) {
        const from = sOff + r * cols;
        for (let o = o0; o < o1; o++) dst[dOff + o * rows + r] = src[from + o];
      }
    }
  }
}

export type BpiMethod = 'conv' | 'gemm';

/**
 * How each phase's stride-1 correlation runs: XNNPACK's Conv2D, or columns
 * gathered in JS and one BatchMatMul. XNNPACK's convolution is slow on
 * small images: on a 4×4 dy it ran at 60 % of the same-sized matrix
 * product (21 vs 12.5 ms per phase at batch 32, 512 → 256 channels), on 8×8
 * at 80 %, on 16×16 at 90 % (where gathering the columns eats the gain).
 * `CELLGAN_BPI=conv|gemm` forces one (for benchmarking).
 */
export function chooseBpiMethod(dyPixels: number, columnFloats: number): BpiMethod {
  const forced = process.env.CELLGAN_BPI;
  if (forced === 'conv' || forced === 'gemm') return forced;
  return dyPixels <= 64 && columnFloats <= MAX_COLUMN_FLOATS ? 'gemm' : 'conv';
}

/**
 * Largest column matrix (one phase) the gemm path allocates: 32 MB. A DCGAN
 * worker's shard needs at most 2 M floats (8×8×256 dy, batch 32); a large
 * batch falls back to the convolution rather than grow memory.
 */
const MAX_COLUMN_FLOATS = 8 * 1024 * 1024;

/**
 * cols[(n,m,m2), (t,u,c)] = dy[n, m + R.offset − R.padLo + t, m2 + C.offset − C.padLo + u, c]
 * (zero outside dy): the rows the phase's correlation reads for output
 * (m, m2), in the order of the sub-filter's [T,U,co] axes.
 */
export function gatherPhaseColumns(dyV: Float32Array, [N, oh, ow, co]: number[], R: PhaseAxis, C: PhaseAxis, cols: Float32Array): void {
  const T = R.taps.length, U = C.taps.length, K = T * U * co;
  let o = 0;
  for (let n = 0; n < N; n++) for (let m = 0; m < R.count; m++) for (let m2 = 0; m2 < C.count; m2++, o += K) {
    for (let t = 0; t < T; t++) {
      const y = m + R.offset - R.padLo + t;
      const rowOut = o + t * U * co;
      if (y < 0 || y >= oh) { cols.fill(0, rowOut, rowOut + U * co); continue; }
      const x0 = m2 + C.offset - C.padLo;
      // Taps u whose column falls inside dy are one contiguous run of (u1 − u0)·co floats.
      const u0 = Math.min(U, Math.max(0, -x0)), u1 = Math.min(U, ow - x0);
      if (u0 > 0) cols.fill(0, rowOut, rowOut + u0 * co);
      if (u1 > u0) {
        const from = ((n * oh + y) * ow + x0 + u0) * co;
        cols.set(dyV.subarray(from, from + (u1 - u0) * co), rowOut + u0 * co);
      }
      if (u1 < U) cols.fill(0, rowOut + Math.max(u0, u1) * co, rowOut + U * co);
    }
  }
}

export function makeConv2DBackpropInput(backendName: string): KernelFunc {
  const conv2d = tf.getKernel('Conv2D', backendName)!.kernelFunc;
  const original = tf.getKernel('Conv2DBackpropInput', backendName)!.kernelFunc;
  const batchMatMul = tf.getKernel('BatchMatMul', backendName)!.kernelFunc;

  const kernel: KernelFunc = (args) => {
    const { inputs, backend: anyBackend, attrs } = args;
    const backend = anyBackend as unknown as WasmBackendLike;
    const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
    const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as BpiAttrs;
    if ((dataFormat && dataFormat !== 'NHWC') || dy.dtype !== 'float32') return original(args);
    const info = tf.backend_util.computeConv2DInfo(inputShape, filter.shape as [number, number, number, number], strides, 1, pad, dimRoundingMode, false, 'channelsLast');
    const [N, oh, ow, co] = dy.shape;
    const [kh, kw, ci] = filter.shape;
    const [, H, W] = inputShape;
    const { strideHeight: sh, strideWidth: sw } = info;
    const { top, left } = info.padInfo;

    const rows = Array.from({ length: sh }, (_, a) => phaseAxis(a, sh, kh, top, H, oh));
    const cols = Array.from({ length: sw }, (_, b) => phaseAxis(b, sw, kw, left, W, ow));
    const filterV = (backend.typedArrayFromHeap(filter) as Float32Array).slice(); // [kh,kw,ci,co]

    // Largest phase's columns: count_r·count_c output positions × taps_r·taps_c·co.
    const largestColumns = N * Math.max(...rows.map((R) => R.count * R.taps.length)) * Math.max(...cols.map((C) => C.count * C.taps.length)) * co;
    const useGemm = chooseBpiMethod(oh * ow, largestColumns) === 'gemm';
    const parts: { a: number; b: number; r: TensorInfo; rowOffset: number; colOffset: number }[] = [];
    for (let a = 0; a < sh; a++) for (let b = 0; b < sw; b++) {
      const R = rows[a], C = cols[b];
      if (R.taps.length === 0 || C.taps.length === 0 || R.count === 0 || C.count === 0) continue;
      const T = R.taps.length, U = C.taps.length;
      // sub[t,u,o,c] = f[p_t, q_u, c, o]: a forward filter mapping dy's co channels to ci.
      const sub = backend.makeOutput([T, U, co, ci], 'float32');
      const subV = backend.typedArrayFromHeap(sub) as Float32Array;
      for (let t = 0; t < T; t++) for (let u = 0; u < U; u++) {
        const fBase = (R.taps[t] * kw + C.taps[u]) * ci * co, sBase = (t * U + u) * co * ci;
        transposeBlock(filterV, fBase, ci, co, subV, sBase);
      }
      if (useGemm) {
        // The phase's columns, [N·count_r·count_c, T·U·co], times sub as [T·U·co, ci].
        const M = N * R.count * C.count, K = T * U * co;
        const cols = backend.makeOutput([1, M, K], 'float32');
        gatherPhaseColumns(backend.typedArrayFromHeap(dy) as Float32Array, [N, oh, ow, co], R, C, backend.typedArrayFromHeap(cols) as Float32Array);
        const r = batchMatMul({ inputs: { a: cols, b: view(sub, [1, K, ci]) }, backend: anyBackend, attrs: { transposeA: false, transposeB: false } }) as TensorInfo;
        backend.disposeData(cols.dataId);
        backend.disposeData(sub.dataId);
        parts.push({ a, b, r: view(r, [N, R.count, C.count, ci]), rowOffset: 0, colOffset: 0 });
        continue;
      }
      const r = conv2d({
        inputs: { x: dy, filter: sub }, backend: anyBackend,
        attrs: { strides: [1, 1], pad: [[0, 0], [R.padLo, R.padHi], [C.padLo, C.padHi], [0, 0]], dataFormat: 'NHWC', dilations: [1, 1] },
      }) as TensorInfo;
      backend.disposeData(sub.dataId);
      parts.push({ a, b, r, rowOffset: R.offset, colOffset: C.offset });
    }

    const out = backend.makeOutput([N, H, W, ci], 'float32');
    const outV = backend.typedArrayFromHeap(out) as Float32Array;
    if (parts.length < sh * sw) outV.fill(0); // some phase has no taps: its outputs stay zero
    for (const { a, b, r, rowOffset, colOffset } of parts) {
      const R = rows[a], C = cols[b];
      const rV = backend.typedArrayFromHeap(r) as Float32Array;
      const [, rh, rw] = r.shape;
      const step = sw * ci;
      for (let n = 0; n < N; n++) for (let m = 0; m < R.count; m++) {
        let o = ((n * H + sh * m + a) * W + b) * ci;
        let i = ((n * rh + m + rowOffset) * rw + colOffset) * ci;
        if (ci >= 16) {
          for (let m2 = 0; m2 < C.count; m2++, o += step, i += ci) outV.set(rV.subarray(i, i + ci), o);
        } else {
          for (let m2 = 0; m2 < C.count; m2++, o += step, i += ci) for (let c = 0; c < ci; c++) outV[o + c] = rV[i + c];
        }
      }
      backend.disposeData(r.dataId);
    }
    return out;
  };
  return kernel;
}

export { view };
