/**
 * The reference classifier: a compact CNN in the spirit of W-Net (Jung et
 * al., "W-Net: a CNN-based architecture for white blood cell image
 * classification", 2019/2022): a short stack of conv → batch-norm → ReLU →
 * max-pool blocks, then a small dense head with dropout.
 *
 *   input  size×size×3, RGB in [-1, 1]
 *   block k = 1..4:  conv 3×3 (width·2^(k-1) filters, 'same', no bias)
 *                    → batch norm → ReLU → max-pool 2×2
 *   global average pooling            (makes the head independent of `size`)
 *   dense 128 + ReLU                  ← layer "features": the penultimate
 *                                       features FID/KID/precision-recall use
 *   dropout 0.5
 *   dense K + softmax                 ← layer "output", one unit per class
 *
 * Batch-norm momentum 0.9 (see ClassifierArchitecture.bnMomentum).
 *
 * With width 16 at 64 px that is ≈ 120 k parameters, small enough to train on
 * the wasm backend. Global average pooling (W-Net flattens instead) keeps
 * every weight shape independent of the input size, so `--init` can fine-tune
 * a model at another size, and the feature vector is always `featureUnits`
 * long (≤ 256, which keeps FID's matrix square root cheap).
 *
 * Layer names are fixed, so transfer learning (`--init`) copies weights by
 * name and only the "output" layer is remapped or replaced.
 */
import { batchNormalizationLayer, conv2dLayer, tf, tfjsSeed, type LayersModel } from '../../engine/index.js';
import { Rng, deriveSeed } from '../../util/rng.js';

export interface ClassifierArchitecture {
  /** Number of conv blocks (each halves the resolution). */
  blocks: number;
  /** Filters of the first block; doubles per block. */
  width: number;
  /** Units of the penultimate dense layer (the feature dimension). */
  featureUnits: number;
  dropout: number;
  /**
   * Batch-norm moving-average momentum. 0.9 (PyTorch's default), not Keras'
   * 0.99: with short trainings (hundreds of steps) 0.99 leaves the inference
   * statistics far behind the weights and validation accuracy swings wildly
   * (seen on pbc-128: val accuracy 0.39 → 0.19 → 0.56 → 0.43 at train accuracy 0.82).
   */
  bnMomentum?: number;
}

export const DEFAULT_ARCHITECTURE: ClassifierArchitecture = { blocks: 4, width: 16, featureUnits: 128, dropout: 0.5, bnMomentum: 0.9 };

export const FEATURES_LAYER = 'features';
export const OUTPUT_LAYER = 'output';

/** Builds the network; `seed` fixes every initial weight. */
export function buildClassifier(size: number, numClasses: number, arch: ClassifierArchitecture, seed: number | string): LayersModel {
  const rng = new Rng(deriveSeed('classifier-init', seed));
  const nextSeed = (): number => tfjsSeed(rng.nextUint32() % 2147483647);
  const input = tf.input({ shape: [size, size, 3], name: 'image' });
  let x = input as unknown as tf.SymbolicTensor;
  for (let b = 0; b < arch.blocks; b++) {
    x = conv2dLayer({
      filters: arch.width * 2 ** b, kernelSize: 3, padding: 'same', useBias: false, name: `conv${b + 1}`,
      kernelInitializer: tf.initializers.heNormal({ seed: nextSeed() }),
    }).apply(x) as tf.SymbolicTensor;
    x = batchNormalizationLayer({ name: `bn${b + 1}`, momentum: arch.bnMomentum ?? 0.99 }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.activation({ activation: 'relu', name: `relu${b + 1}` }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.maxPooling2d({ poolSize: 2, name: `pool${b + 1}` }).apply(x) as tf.SymbolicTensor;
  }
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({
    units: arch.featureUnits, activation: 'relu', name: FEATURES_LAYER,
    kernelInitializer: tf.initializers.heNormal({ seed: nextSeed() }),
  }).apply(x) as tf.SymbolicTensor;
  // No seed here on purpose: a seeded tfjs Dropout draws the same mask every
  // step. Training applies its own Rng-driven mask instead (see train.ts);
  // at inference the layer is the identity.
  x = tf.layers.dropout({ rate: arch.dropout, name: 'dropout' }).apply(x) as tf.SymbolicTensor;
  const output = tf.layers.dense({
    units: numClasses, activation: 'softmax', name: OUTPUT_LAYER,
    kernelInitializer: tf.initializers.glorotUniform({ seed: nextSeed() }),
  }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: output, name: 'cellgan_classifier' });
}

/** A model that outputs the penultimate features of `model` (shares its weights). */
export function featureModel(model: LayersModel, layerName = FEATURES_LAYER): LayersModel {
  return tf.model({ inputs: model.inputs, outputs: model.getLayer(layerName).output as tf.SymbolicTensor });
}

export function countParams(model: LayersModel): number {
  return model.countParams();
}
