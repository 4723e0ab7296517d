/**
 * One training step's loss of the reference classifier, shared by the
 * in-thread trainer (train.ts) and the data-parallel workers
 * (parallel-task.ts), so both compute exactly the same thing.
 */
import { tf, type LayersModel, type Tensor } from '../../engine/index.js';

/** Runs the model layer by layer in training mode, applying our own dropout mask. */
export function forwardTraining(model: LayersModel, x: Tensor, mask: Tensor | null): Tensor {
  let h = x;
  for (const layer of model.layers) {
    if (layer.getClassName() === 'InputLayer') continue;
    if (layer.getClassName() === 'Dropout') { if (mask) h = tf.mul(h, mask); continue; }
    h = layer.apply(h, { training: true }) as Tensor;
  }
  return h;
}

/** A batch (or a worker's shard of one) as plain arrays. */
export interface StepBatch {
  /** Images, b × size × size × 3, in [-1, 1]. */
  xs: Float32Array;
  ys: number[];
  sampleWeights: number[];
  /** Inverted-dropout mask, b × featureUnits, or null without dropout. */
  mask: Float32Array | null;
}

/**
 * Σ_i w_i · NLL_i / `denominator` over the batch, and the predicted classes.
 * With denominator = Σ w over the *whole* batch, the losses (and gradients)
 * of disjoint shards add up to the whole batch's weighted mean.
 */
export function weightedLoss(model: LayersModel, b: StepBatch, size: number, featureUnits: number, denominator: number): { loss: tf.Scalar; predicted: Tensor } {
  const n = b.ys.length, K = model.outputs[0].shape[1] as number;
  return tf.tidy(() => {
    const x = tf.tensor4d(b.xs, [n, size, size, 3]);
    const y = tf.oneHot(tf.tensor1d(b.ys, 'int32'), K);
    const w = tf.tensor1d(b.sampleWeights);
    const m = b.mask ? tf.tensor2d(b.mask, [n, featureUnits]) : null;
    const probs = forwardTraining(model, x, m);
    const nll = tf.neg(tf.sum(tf.mul(y, tf.log(tf.clipByValue(probs, 1e-7, 1))), -1));
    return { loss: tf.div(tf.sum(tf.mul(nll, w)), Math.max(denominator, 1e-7)) as tf.Scalar, predicted: tf.argMax(probs, -1) };
  });
}

export function countHits(predicted: ArrayLike<number>, ys: number[]): number {
  let hits = 0;
  for (let i = 0; i < ys.length; i++) if (predicted[i] === ys[i]) hits++;
  return hits;
}

/** One optimizer step on `batch` in this thread; returns the batch loss and the number of correct predictions. */
export function trainStep(model: LayersModel, optimizer: tf.Optimizer, batch: StepBatch, size: number, featureUnits: number): { loss: number; hits: number } {
  let predicted: Tensor | undefined;
  const denominator = batch.sampleWeights.reduce((s, w) => s + w, 0);
  const lossT = optimizer.minimize(() => {
    const out = weightedLoss(model, batch, size, featureUnits, denominator);
    predicted = tf.keep(out.predicted);
    return out.loss;
  }, true)!;
  const loss = lossT.dataSync()[0];
  lossT.dispose();
  const hits = countHits(predicted!.dataSync(), batch.ys);
  predicted!.dispose();
  return { loss, hits };
}

