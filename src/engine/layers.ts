/**
 * Layers whose training passes do less work than tfjs-layers' own: drop-in
 * subclasses (same weights, config and class name in model.json, so Keras
 * and tf.loadLayersModel read them as the stock layers).
 *
 * conv2dLayer: a Conv2D whose gradient computes only what backprop asks for.
 *
 * Why: tfjs-layers' Conv2D always runs `tf.fused.conv2d`. With a linear
 * activation (every conv here that is followed by batch norm) the op stays
 * fused under a gradient tape, and the fused op's customGrad computes the
 * input *and* the filter gradient whatever the tape needs. So a DCGAN's
 * generator step also computes every discriminator filter gradient (then
 * drops it), and every discriminator step computes the input gradient of
 * the first layer (the images). The plain `tf.conv2d` op registers one
 * gradient per input, and tfjs' tape only calls those on the path from the
 * differentiated variables. Measured on wasm, DCGAN-64: 16 → 12 filter
 * gradients and 20 → 18 input gradients per iteration (notes/engine.md).
 *
 * The layer is a subclass of tfjs' own Conv2D: same weights, same config,
 * same "Conv2D" class name in model.json (Keras and tf.loadLayersModel read
 * it as a stock Conv2D). Outside a gradient tape, and for anything but 2-D
 * channels-last convolutions, it runs the stock code path.
 */
import { tf } from './tf.js';
import { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD } from './kernels/index.js';

type Conv2DArgs = Parameters<typeof tf.layers.conv2d>[0];
type Kwargs = Record<string, unknown>;

/** The protected fields of tfjs-layers' Conv that the override reads. */
interface ConvFields {
  rank: number;
  dataFormat: string;
  kernel: tf.LayerVariable;
  bias: tf.LayerVariable | null;
  strides: [number, number];
  padding: string;
  dilationRate: number | [number, number];
  activation: { apply(x: tf.Tensor): tf.Tensor } | null;
}

// tfjs does not export the layer classes; the constructor of an instance is the class.
const StockConv2D = Object.getPrototypeOf(tf.layers.conv2d({ filters: 1, kernelSize: 1 })).constructor as {
  new (args: Conv2DArgs): tf.layers.Layer;
};

class TapeAwareConv2D extends StockConv2D {
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    const c = this as unknown as ConvFields;
    if (tf.engine().state.gradientDepth === 0 || c.rank !== 2 || c.dataFormat !== 'channelsLast') {
      return super.call(inputs, kwargs);
    }
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      const dilations = typeof c.dilationRate === 'number' ? [c.dilationRate, c.dilationRate] as [number, number] : c.dilationRate;
      let y: tf.Tensor = tf.conv2d(x, c.kernel.read() as tf.Tensor4D, c.strides, c.padding as 'same' | 'valid', 'NHWC', dilations);
      if (c.bias) y = tf.add(y, c.bias.read());
      if (c.activation) y = c.activation.apply(y);
      return y;
    });
  }
}

/** `tf.layers.conv2d` with the same arguments, whose gradient skips what the tape does not need (see above). */
export function conv2dLayer(args: Conv2DArgs): tf.layers.Layer {
  return new TapeAwareConv2D(args);
}

/**
 * Training-mode batch norm over every axis but the last, as one kernel
 * forward and one backward (kernels/batch-norm.ts) instead of tf.moments +
 * tf.batchNorm and their ≈ 30 element-wise gradient kernels. Returns the
 * normalised tensor (differentiable w.r.t. x, scale and offset) and the batch
 * mean and biased variance, which the caller must dispose.
 */
function batchNormTraining(x: tf.Tensor, scale: tf.Tensor, offset: tf.Tensor, epsilon: number): { y: tf.Tensor; mean: tf.Tensor; variance: tf.Tensor } {
  let mean: tf.Tensor | undefined, variance: tf.Tensor | undefined;
  const op = tf.customGrad(((xi: tf.Tensor, s: tf.Tensor, o: tf.Tensor, save: tf.GradSaveFunc) => {
    const [y, m, v] = tf.engine().runKernel(BATCH_NORM_TRAIN, { x: xi, scale: s, offset: o }, { epsilon }) as tf.Tensor[];
    save([xi, s, m, v]);
    // customGrad runs this in a tidy; the statistics leave it for the moving averages.
    mean = tf.keep(m); variance = tf.keep(v);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, ss, sm, sv] = saved;
        return tf.engine().runKernel(BATCH_NORM_TRAIN_GRAD, { dy, x: sx, scale: ss, mean: sm, variance: sv }, { epsilon }) as tf.Tensor[];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  const y = op(x, scale, offset);
  return { y, mean: mean!, variance: variance! };
}

type BatchNormArgs = NonNullable<Parameters<typeof tf.layers.batchNormalization>[0]>;

/** The fields of tfjs-layers' BatchNormalization that the override reads. */
interface BatchNormFields {
  axis: number;
  momentum: number;
  epsilon: number;
  gamma: tf.LayerVariable | null;
  beta: tf.LayerVariable | null;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
}

const StockBatchNormalization = Object.getPrototypeOf(tf.layers.batchNormalization({})).constructor as {
  new (args?: BatchNormArgs): tf.layers.Layer;
};

class FusedTrainingBatchNormalization extends StockBatchNormalization {
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    const b = this as unknown as BatchNormFields;
    const x = (Array.isArray(inputs) ? inputs[0] : inputs);
    const lastAxis = b.axis === -1 || b.axis === x.rank - 1;
    if (!kwargs.training || !lastAxis || !b.gamma || !b.beta || x.dtype !== 'float32'
      || !tf.getKernel(BATCH_NORM_TRAIN, tf.getBackend())) {
      return super.call(inputs, kwargs);
    }
    return tf.tidy(() => {
      const { y, mean, variance } = batchNormTraining(x, b.gamma!.read(), b.beta!.read(), b.epsilon);
      // The moving averages exactly as tfjs-layers updates them: v ← v − (v − batch)·(1 − momentum).
      tf.tidy(() => {
        for (const [w, batch] of [[b.movingMean, mean], [b.movingVariance, variance]] as const) {
          const old = w.read();
          w.write(tf.sub(old, tf.mul(tf.sub(old, batch), 1 - b.momentum)));
        }
      });
      mean.dispose(); variance.dispose();
      return y;
    });
  }
}

/**
 * `tf.layers.batchNormalization` with the same arguments; in training mode
 * (on backends that have the kernels: wasm, cpu) it normalises and
 * differentiates with the two fused kernels of kernels/batch-norm.ts.
 */
export function batchNormalizationLayer(args: BatchNormArgs = {}): tf.layers.Layer {
  return new FusedTrainingBatchNormalization(args);
}

/**
 * Replaces the moving statistics of every batch-norm layer of `model` by the
 * plain average of its batch statistics over `steps` calls of `forward` (each
 * must run the model once in training mode and dispose what it makes): the
 * "standing statistics" of BigGAN (Brock et al. 2019, appendix C.1). Why: a
 * generator's EMA weights are averaged, but the moving statistics beside them
 * come from the raw generator's last ~10 batches, so they describe a different
 * network. The layer's own update v ← v − (v − batch)·(1 − momentum) becomes a
 * running mean with momentum 1 − 1/t at step t; momentum is restored after.
 * Returns the number of batch-norm layers updated.
 */
export function standingBatchNormStatistics(model: tf.LayersModel, steps: number, forward: (step: number) => void): number {
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`standing statistics: expected a whole number of steps ≥ 1, received ${steps}`);
  const layers = model.layers.filter((l) => l instanceof StockBatchNormalization) as unknown as BatchNormFields[];
  const momenta = layers.map((l) => l.momentum);
  try {
    for (let t = 1; t <= steps; t++) {
      for (const l of layers) l.momentum = 1 - 1 / t;
      forward(t - 1);
    }
  } finally {
    layers.forEach((l, i) => { l.momentum = momenta[i]; });
  }
  return layers.length;
}

/**
 * Spectral normalisation (Miyato et al. 2018, "Spectral Normalization for
 * Generative Adversarial Networks"): the layer uses W / σ(W), σ the largest
 * singular value of the kernel as a (K × out) matrix M, estimated by power
 * iteration with the non-trainable vectors u (out) and v (K): σ = vᵀ M u.
 *
 * Why the iteration is a separate call (`powerIterate`, run by the trainer
 * once per discriminator step) instead of part of the forward pass as in
 * PyTorch: u and v must not be differentiated (tfjs has no stop-gradient),
 * must be identical in every data-parallel worker, and must be saved with
 * the weights for a bit-exact resume. As non-trainable weights updated
 * outside the tape they are all three: the tape sees them as constants,
 * the weight broadcast sends them to workers, checkpoints store them.
 *
 * Saved under their own class names (CellganSNConv2D, CellganSNDense,
 * registered below) so a loader never mistakes them for plain layers.
 */
interface SpectralFields { snU: tf.LayerVariable; snV: tf.LayerVariable }

/** The kernel as a K × out matrix (conv: kh·kw·in × out). */
function kernelMatrix(kernel: tf.Tensor): tf.Tensor2D {
  const out = kernel.shape[kernel.rank - 1];
  return tf.reshape(kernel, [-1, out]) as tf.Tensor2D;
}

/** Weight names of the power-iteration vectors u and v within a spectrally normalised layer. */
const SPECTRAL_VECTORS = ['sn_u', 'sn_v'] as const;

/** Whether a stable weight name ("layer/sn_u") is a spectral-norm power-iteration vector. */
export function isSpectralNormVector(weightName: string): boolean {
  return SPECTRAL_VECTORS.some((v) => weightName.endsWith(`/${v}`));
}

function addSpectralWeights(layer: tf.layers.Layer, kernel: tf.LayerVariable): SpectralFields {
  const shape = kernel.shape as number[];
  const out = shape[shape.length - 1];
  const k = shape.reduce((a, b) => a * b, 1) / out;
  // A fixed start (no seed to derive); power iteration converges from any vector not orthogonal to the top one.
  const add = (name: string, n: number) => (layer as unknown as {
    addWeight(name: string, shape: number[], dtype: string, init: ReturnType<typeof tf.initializers.constant>, reg: undefined, trainable: boolean): tf.LayerVariable;
  }).addWeight(name, [n], 'float32', tf.initializers.constant({ value: 1 / Math.sqrt(n) }), undefined, false);
  return { snU: add(SPECTRAL_VECTORS[0], out), snV: add(SPECTRAL_VECTORS[1], k) };
}

/** One power-iteration step on the layer's kernel: v ← M u/‖M u‖, u ← Mᵀ v/‖Mᵀ v‖. */
function powerIterateKernel(kernel: tf.LayerVariable, f: SpectralFields, steps: number): void {
  tf.tidy(() => {
    const m = kernelMatrix(kernel.read());
    let u = f.snU.read() as tf.Tensor1D, v = f.snV.read() as tf.Tensor1D;
    for (let i = 0; i < steps; i++) {
      v = tf.matMul(m, tf.reshape(u, [-1, 1])).flatten() as tf.Tensor1D;
      v = tf.div(v, tf.add(tf.norm(v), 1e-12)) as tf.Tensor1D;
      u = tf.matMul(tf.reshape(v, [1, -1]), m).flatten() as tf.Tensor1D;
      u = tf.div(u, tf.add(tf.norm(u), 1e-12)) as tf.Tensor1D;
    }
    f.snV.write(v);
    f.snU.write(u);
  });
}

/** The estimate σ = vᵀ M u (a scalar tensor). */
function sigmaOf(kernel: tf.Tensor, f: SpectralFields): tf.Scalar {
  return tf.sum(tf.mul(tf.matMul(kernelMatrix(kernel), tf.reshape(f.snU.read(), [-1, 1])).flatten(), f.snV.read()));
}

/** W / σ: differentiable w.r.t. W only (u and v are constants to the tape). */
function normalisedKernel(kernel: tf.Tensor, f: SpectralFields): tf.Tensor {
  return tf.div(kernel, sigmaOf(kernel, f));
}

/** A layer whose spectral estimate the trainer advances. */
export interface SpectralNormLayer {
  powerIterate(steps?: number): void;
  /** The current estimate of the kernel's largest singular value. */
  sigma(): number;
}

export function isSpectralNormLayer(layer: unknown): layer is SpectralNormLayer {
  return typeof (layer as SpectralNormLayer).powerIterate === 'function';
}

class SpectralNormConv2D extends TapeAwareConv2D implements SpectralNormLayer {
  static className = 'CellganSNConv2D';
  private sn?: SpectralFields;
  override build(inputShape: tf.Shape | tf.Shape[]): void {
    super.build(inputShape);
    this.sn = addSpectralWeights(this, (this as unknown as ConvFields).kernel);
  }
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    void kwargs;
    const c = this as unknown as ConvFields;
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      const dilations = typeof c.dilationRate === 'number' ? [c.dilationRate, c.dilationRate] as [number, number] : c.dilationRate;
      const w = normalisedKernel(c.kernel.read(), this.sn!) as tf.Tensor4D;
      let y: tf.Tensor = tf.conv2d(x, w, c.strides, c.padding as 'same' | 'valid', 'NHWC', dilations);
      if (c.bias) y = tf.add(y, c.bias.read());
      if (c.activation) y = c.activation.apply(y);
      return y;
    });
  }
  powerIterate(steps = 1): void { powerIterateKernel((this as unknown as ConvFields).kernel, this.sn!, steps); }
  sigma(): number { return tf.tidy(() => sigmaOf((this as unknown as ConvFields).kernel.read(), this.sn!).dataSync()[0]); }
}

type DenseArgs = Parameters<typeof tf.layers.dense>[0];
const StockDense = Object.getPrototypeOf(tf.layers.dense({ units: 1 })).constructor as { new (args: DenseArgs): tf.layers.Layer };
interface DenseFields { kernel: tf.LayerVariable; bias: tf.LayerVariable | null; activation: { apply(x: tf.Tensor): tf.Tensor } | null }

class SpectralNormDense extends StockDense implements SpectralNormLayer {
  static className = 'CellganSNDense';
  private sn?: SpectralFields;
  override build(inputShape: tf.Shape | tf.Shape[]): void {
    super.build(inputShape);
    this.sn = addSpectralWeights(this, (this as unknown as DenseFields).kernel);
  }
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    void kwargs;
    const d = this as unknown as DenseFields;
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor2D;
      let y: tf.Tensor = tf.matMul(x, normalisedKernel(d.kernel.read(), this.sn!) as tf.Tensor2D);
      if (d.bias) y = tf.add(y, d.bias.read());
      if (d.activation) y = d.activation.apply(y);
      return y;
    });
  }
  powerIterate(steps = 1): void { powerIterateKernel((this as unknown as DenseFields).kernel, this.sn!, steps); }
  sigma(): number { return tf.tidy(() => sigmaOf((this as unknown as DenseFields).kernel.read(), this.sn!).dataSync()[0]); }
}

tf.serialization.registerClass(SpectralNormConv2D as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>);
tf.serialization.registerClass(SpectralNormDense as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>);

/** A spectrally normalised `tf.layers.conv2d` (see above). */
export function spectralNormConv2dLayer(args: Conv2DArgs): tf.layers.Layer {
  return new SpectralNormConv2D(args);
}

/** A spectrally normalised `tf.layers.dense` (see above). */
export function spectralNormDenseLayer(args: DenseArgs): tf.layers.Layer {
  return new SpectralNormDense(args);
}

/** Advances the spectral estimate of every spectrally normalised layer of `model` (outside any gradient tape). */
export function powerIterateModel(model: tf.LayersModel, steps = 1): void {
  for (const layer of model.layers) if (isSpectralNormLayer(layer)) layer.powerIterate(steps);
}
