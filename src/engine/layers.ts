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
