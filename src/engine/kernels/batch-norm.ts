/**
 * Batch normalisation in training mode as two kernels, forward and backward,
 * each one or two passes over the activation (wasm and cpu).
 *
 * Why: tfjs-layers normalises a training batch with `tf.moments` and
 * `tf.batchNorm`, and differentiates through both: about 30 element-wise
 * kernels per layer and pass (Multiply, Sub, Mean, Sum, Tile, RealDiv, …),
 * each a full sweep over the activation with its own allocation. On a
 * DCGAN-64 iteration on wasm that was ≈ 1 s of ≈ 7.5 s (notes/engine.md).
 * The closed-form gradient below needs one reduction pass and one
 * element-wise pass.
 *
 * Layout: x is [rows, C] with C the last (channel) axis; statistics per
 * channel over all rows, accumulated in float64. Variance is the biased
 * batch variance, as tf.moments (and so tfjs-layers) computes it.
 *
 *   forward:  μ = Σx/M, σ² = Σx²/M − μ², s = 1/√(σ²+ε), y = γ·s·(x−μ) + β
 *   backward: dβ = Σdy, dγ = s·Σdy·(x−μ),
 *             dx = γ·s·(dy − dβ/M − s·(x−μ)·dγ/M)
 */
import type { KernelFunc, TensorInfo } from './types.js';
import { checkFloat, storeOf } from './store.js';

export const BATCH_NORM_TRAIN = 'CellganBatchNormTrain';
export const BATCH_NORM_TRAIN_GRAD = 'CellganBatchNormTrainGrad';

// Every pass takes four rows at a time: a quarter of the per-channel
// accumulator and coefficient loads/stores. V8 runs a one-row pass at about
// 4–6 ns per element here, the four-row passes 3–4× faster (notes/engine.md).

/** y, mean and variance of x ([M, C] row-major) per channel. */
export function batchNormForward(x: Float32Array, C: number, scale: Float32Array, offset: Float32Array, epsilon: number,
  y: Float32Array, mean: Float32Array, variance: Float32Array): void {
  const n = x.length, M = n / C, last4 = n - 4 * C;
  const s1 = new Float64Array(C), s2 = new Float64Array(C);
  let o = 0;
  for (; o <= last4; o += 4 * C) {
    const o1 = o + C, o2 = o1 + C, o3 = o2 + C;
    for (let c = 0; c < C; c++) {
      const a = x[o + c], b = x[o1 + c], d = x[o2 + c], e = x[o3 + c];
      s1[c] += (a + b) + (d + e);
      s2[c] += (a * a + b * b) + (d * d + e * e);
    }
  }
  for (; o < n; o += C) for (let c = 0; c < C; c++) { const a = x[o + c]; s1[c] += a; s2[c] += a * a; }
  // σ² = E[x²] − μ² in float64: ≥ 7 significant digits of σ² (what float32 holds) unless |μ| > 10⁴·σ.
  const A = new Float64Array(C), B = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    const mu = s1[c] / M, v = Math.max(0, s2[c] / M - mu * mu);
    mean[c] = mu; variance[c] = v;
    A[c] = scale[c] / Math.sqrt(v + epsilon);
    B[c] = offset[c] - mu * A[c];
  }
  for (o = 0; o <= last4; o += 4 * C) {
    const o1 = o + C, o2 = o1 + C, o3 = o2 + C;
    for (let c = 0; c < C; c++) {
      const a = A[c], b = B[c];
      y[o + c] = x[o + c] * a + b; y[o1 + c] = x[o1 + c] * a + b;
      y[o2 + c] = x[o2 + c] * a + b; y[o3 + c] = x[o3 + c] * a + b;
    }
  }
  for (; o < n; o += C) for (let c = 0; c < C; c++) y[o + c] = x[o + c] * A[c] + B[c];
}

/** dx, dscale, doffset from dy and the forward's inputs and statistics. */
export function batchNormBackward(dy: Float32Array, x: Float32Array, C: number, scale: Float32Array, mean: Float32Array,
  variance: Float32Array, epsilon: number, dx: Float32Array, dscale: Float32Array, doffset: Float32Array): void {
  const n = x.length, M = n / C, last4 = n - 4 * C;
  const sdy = new Float64Array(C), sdyx = new Float64Array(C);
  let o = 0;
  for (; o <= last4; o += 4 * C) {
    const o1 = o + C, o2 = o1 + C, o3 = o2 + C;
    for (let c = 0; c < C; c++) {
      const g0 = dy[o + c], g1 = dy[o1 + c], g2 = dy[o2 + c], g3 = dy[o3 + c];
      sdy[c] += (g0 + g1) + (g2 + g3);
      sdyx[c] += (g0 * x[o + c] + g1 * x[o1 + c]) + (g2 * x[o2 + c] + g3 * x[o3 + c]);
    }
  }
  for (; o < n; o += C) for (let c = 0; c < C; c++) { const g = dy[o + c]; sdy[c] += g; sdyx[c] += g * x[o + c]; }
  // dx = A·dy + B·x + K per channel.
  const A = new Float64Array(C), B = new Float64Array(C), K = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    const s = 1 / Math.sqrt(variance[c] + epsilon);
    const dgamma = (sdyx[c] - mean[c] * sdy[c]) * s; // Σ dy·(x − μ)·s
    doffset[c] = sdy[c]; dscale[c] = dgamma;
    A[c] = scale[c] * s;
    B[c] = -A[c] * s * dgamma / M;
    K[c] = -B[c] * mean[c] - A[c] * sdy[c] / M;
  }
  for (o = 0; o <= last4; o += 4 * C) {
    const o1 = o + C, o2 = o1 + C, o3 = o2 + C;
    for (let c = 0; c < C; c++) {
      const a = A[c], b = B[c], k = K[c];
      dx[o + c] = a * dy[o + c] + b * x[o + c] + k; dx[o1 + c] = a * dy[o1 + c] + b * x[o1 + c] + k;
      dx[o2 + c] = a * dy[o2 + c] + b * x[o2 + c] + k; dx[o3 + c] = a * dy[o3 + c] + b * x[o3 + c] + k;
    }
  }
  for (; o < n; o += C) for (let c = 0; c < C; c++) dx[o + c] = A[c] * dy[o + c] + B[c] * x[o + c] + K[c];
}

/** Inputs x, scale, offset (scale/offset [C]); attr epsilon; outputs [y, mean, variance]. */
export function makeBatchNormTrain(backendName: string): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x, scale, offset } = inputs as { x: TensorInfo; scale: TensorInfo; offset: TensorInfo };
    checkFloat(BATCH_NORM_TRAIN, { x, scale, offset });
    const C = x.shape[x.shape.length - 1];
    const store = storeOf(backendName, backend);
    const out = store.outputs([x.shape, [C], [C]]);
    const [y, mean, variance] = out.views();
    batchNormForward(store.read(x), C, store.read(scale), store.read(offset), (attrs as { epsilon: number }).epsilon, y, mean, variance);
    return out.infos;
  };
}

/** Inputs dy, x, scale, mean, variance; attr epsilon; outputs [dx, dscale, doffset]. */
export function makeBatchNormTrainGrad(backendName: string): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { dy, x, scale, mean, variance } = inputs as Record<'dy' | 'x' | 'scale' | 'mean' | 'variance', TensorInfo>;
    checkFloat(BATCH_NORM_TRAIN_GRAD, { dy, x, scale, mean, variance });
    const C = x.shape[x.shape.length - 1];
    const store = storeOf(backendName, backend);
    const out = store.outputs([x.shape, [C], [C]]);
    const [dx, dscale, doffset] = out.views();
    batchNormBackward(store.read(dy), store.read(x), C, store.read(scale), store.read(mean), store.read(variance),
      (attrs as { epsilon: number }).epsilon, dx, dscale, doffset);
    return out.infos;
  };
}
