/**
 * DCGAN generator and discriminator (Radford et al. 2015), built from a plain
 * `ModelSpec` so that any process (e.g. a data-parallel worker) can rebuild
 * the exact same architecture and then load weights into it.
 *
 * Layer names are fixed ("g_…", "d_…") so weights can be matched by name
 * across processes: tfjs makes *variable* names unique per process
 * ("g_dense/kernel_1"), but keeps each LayerVariable's `originalName`.
 *
 * Conditional mode (numClasses > 0) is a conditional DCGAN:
 * - G gets the one-hot class concatenated to the noise vector (Mirza & Osindero 2014).
 * - D is a projection discriminator (Miyato & Koyama 2018): logit =
 *   dense(h) + <h, embed(y)>, with h the flattened last conv features.
 * Why projection rather than AC-GAN: AC-GAN's auxiliary classifier is known
 * to push samples toward easily classified (less diverse) images, which
 * would bias the GAN-train/GAN-test scores this toolkit computes; projection
 * conditioning keeps a single real/fake objective and is stable at small
 * batch sizes. An auxiliary head can be added on top (`auxClassifier`, the
 * `auxWeight` option): its effect is measured, GAN-train included, not assumed.
 */
import { batchNormalizationLayer, conv2dLayer, spectralNormConv2dLayer, spectralNormDenseLayer, tf, tfjsSeed, type LayersModel, type SymbolicTensor } from '../engine/index.js';

/**
 * How D is normalised: 'batch' (DCGAN: batch norm after every conv but the
 * first) or 'spectral' (every conv and dense layer spectrally normalised,
 * no batch norm; Miyato et al. 2018).
 */
export const D_NORMS = ['batch', 'spectral'] as const;
export type DNorm = (typeof D_NORMS)[number];
/**
 * How a conditional G sees the class: 'input' (one-hot concatenated to the
 * noise; Mirza & Osindero) or 'batchnorm' (also a per-class gain and bias
 * after every batch norm, i.e. conditional batch norm as in SNGAN/BigGAN,
 * which carries the class to every resolution).
 */
export const G_CONDITIONINGS = ['input', 'batchnorm'] as const;
export type GConditioning = (typeof G_CONDITIONINGS)[number];

export interface ModelSpec {
  /** Image size in pixels (power of two: 32, 64 or 128). */
  size: number;
  /** Noise dimension. */
  nz: number;
  /** Base width of G (channels of the last hidden block; DCGAN: 64). */
  gWidth: number;
  /** Base width of D (channels of the first conv; DCGAN: 64). */
  dWidth: number;
  /** 0 = unconditional; else number of classes for the conditional model. */
  numClasses: number;
  /** Seed of the weight initialisers. */
  seed: number;
  /** Absent in runs made before the option existed (= 'batch'). */
  dNorm?: DNorm;
  /** Absent in runs made before the option existed (= 'input'). */
  gConditioning?: GConditioning;
  /**
   * Conditional D also outputs class logits from its features (layer d_aux),
   * for the auxiliary-classifier loss (step.ts). Absent = false.
   */
  auxClassifier?: boolean;
  /**
   * With auxClassifier: a second class head (d_twin) that learns the classes
   * of G's images, for the twin auxiliary-classifier loss (TAC-GAN). Absent = false.
   */
  twinClassifier?: boolean;
  /**
   * With auxClassifier: the class heads read their own copy of D's last
   * `auxBranch` conv blocks (layers d_aux_conv…), without spectral or batch
   * norm, and are plain dense layers; the real/fake logit keeps D's shared,
   * normalised features. Absent or 0 = the heads read D's shared features.
   */
  auxBranch?: number;
  /**
   * With auxClassifier (not with twinClassifier): the class head is ReACGAN's
   * (Kang et al. 2021) instead of K logits: an embedding of D's class features
   * (layer d_aux_embed, D2D_EMBED_DIM wide) and one learned proxy per class
   * (layer d_aux_proxy, a dense layer on the one-hot label), for the
   * data-to-data cross-entropy (step.ts). D then outputs [logit, embedding,
   * the label's proxy]. Absent = false.
   */
  auxD2d?: boolean;
}

/** Width of the class embedding and proxies of the ReACGAN head (auxD2d). */
export const D2D_EMBED_DIM = 256;

export const MODEL_SIZES = [32, 64, 128] as const;

/** Number of stride-2 stages between 4×4 and size×size. */
export function stages(size: number): number {
  return Math.round(Math.log2(size / 4));
}

const BN = { momentum: 0.9, epsilon: 1e-5 };

/**
 * DCGAN's N(0, 0.02) initialiser, seeded per layer so runs are reproducible.
 * tfjs takes a number, not a stream, so this layer seed is arithmetic rather
 * than util/rng's deriveSeed; it stays as it is because every checkpoint a
 * seed has produced depends on it (exact for any seed up to SEED_MAX).
 */
function init(seed: number, k: number) {
  return tf.initializers.randomNormal({ mean: 0, stddev: 0.02, seed: tfjsSeed((seed * 1009 + k * 7919) % 2147483647) });
}

export function buildGenerator(spec: ModelSpec): LayersModel {
  const n = stages(spec.size);
  let k = 0;
  const z = tf.input({ shape: [spec.nz], name: 'g_noise' });
  const inputs: SymbolicTensor[] = [z];
  let x: SymbolicTensor = z;
  if (spec.numClasses > 0) {
    const y = tf.input({ shape: [spec.numClasses], name: 'g_label' });
    inputs.push(y);
    x = tf.layers.concatenate({ name: 'g_concat' }).apply([z, y]) as SymbolicTensor;
  }
  const label = inputs[1];
  const classBn = spec.numClasses > 0 && spec.gConditioning === 'batchnorm';
  // Batch norm, then (conditional batch norm) a per-class gain and bias: rows of a dense layer
  // applied to the one-hot label, starting at gain 1 and bias 0 so the block starts as plain BN.
  const norm = (h: SymbolicTensor, i: number, channels: number): SymbolicTensor => {
    h = batchNormalizationLayer({ ...BN, name: `g_bn${i}` }).apply(h) as SymbolicTensor;
    if (!classBn) return h;
    const perClass = (what: 'gain' | 'bias') => tf.layers.reshape({ targetShape: [1, 1, channels], name: `g_cbn${i}_${what}_shape` }).apply(
      tf.layers.dense({ units: channels, useBias: false, kernelInitializer: what === 'gain' ? 'ones' : 'zeros', name: `g_cbn${i}_${what}` }).apply(label),
    ) as SymbolicTensor;
    h = tf.layers.multiply({ name: `g_cbn${i}_scale` }).apply([h, perClass('gain')]) as SymbolicTensor;
    return tf.layers.add({ name: `g_cbn${i}_shift` }).apply([h, perClass('bias')]) as SymbolicTensor;
  };
  const c0 = spec.gWidth * 2 ** (n - 1);
  x = tf.layers.dense({ units: 4 * 4 * c0, useBias: false, kernelInitializer: init(spec.seed, k++), name: 'g_dense' }).apply(x) as SymbolicTensor;
  x = tf.layers.reshape({ targetShape: [4, 4, c0], name: 'g_reshape' }).apply(x) as SymbolicTensor;
  x = norm(x, 0, c0);
  x = tf.layers.reLU({ name: 'g_relu0' }).apply(x) as SymbolicTensor;
  for (let i = 1; i < n; i++) {
    const c = spec.gWidth * 2 ** (n - 1 - i);
    x = tf.layers.conv2dTranspose({ filters: c, kernelSize: 4, strides: 2, padding: 'same', useBias: false, kernelInitializer: init(spec.seed, k++), name: `g_convt${i}` }).apply(x) as SymbolicTensor;
    x = norm(x, i, c);
    x = tf.layers.reLU({ name: `g_relu${i}` }).apply(x) as SymbolicTensor;
  }
  x = tf.layers.conv2dTranspose({ filters: 3, kernelSize: 4, strides: 2, padding: 'same', useBias: false, kernelInitializer: init(spec.seed, k++), name: 'g_out' }).apply(x) as SymbolicTensor;
  x = tf.layers.activation({ activation: 'tanh', name: 'g_tanh' }).apply(x) as SymbolicTensor;
  return tf.model({ inputs, outputs: x, name: 'generator' });
}

export function buildDiscriminator(spec: ModelSpec): LayersModel {
  const n = stages(spec.size);
  let k = 100;
  const img = tf.input({ shape: [spec.size, spec.size, 3], name: 'd_image' });
  const inputs: SymbolicTensor[] = [img];
  let x: SymbolicTensor = img;
  const spectral = spec.dNorm === 'spectral';
  const conv = spectral ? spectralNormConv2dLayer : conv2dLayer;
  const dense = spectral ? spectralNormDenseLayer : tf.layers.dense;
  // Block i's convolution (4×4, stride 2, dWidth·2^i channels), shared by D's blocks and the class branch's copies.
  const downConv = (layer: typeof conv, i: number, name: string, seedIndex: number, useBias: boolean) =>
    layer({ filters: spec.dWidth * 2 ** i, kernelSize: 4, strides: 2, padding: 'same', useBias, kernelInitializer: init(spec.seed, seedIndex), name });
  // Each block's output, from the image (0) to the last block's (n): where a class branch forks.
  const blockOutputs: SymbolicTensor[] = [img];
  for (let i = 0; i < n; i++) {
    // Spectral norm takes the place of batch norm; a conv bias then has nothing to cancel it.
    x = downConv(conv, i, `d_conv${i}`, k++, spectral).apply(x) as SymbolicTensor;
    // No batch norm on D's first layer (Radford et al.).
    if (i > 0 && !spectral) x = batchNormalizationLayer({ ...BN, name: `d_bn${i}` }).apply(x) as SymbolicTensor;
    x = tf.layers.leakyReLU({ alpha: 0.2, name: `d_lrelu${i}` }).apply(x) as SymbolicTensor;
    blockOutputs.push(x);
  }
  const h = tf.layers.flatten({ name: 'd_flatten' }).apply(x) as SymbolicTensor;
  let logit = dense({ units: 1, kernelInitializer: init(spec.seed, k++), name: 'd_logit' }).apply(h) as SymbolicTensor;
  if (spec.numClasses > 0) {
    const y = tf.input({ shape: [spec.numClasses], name: 'd_label' });
    inputs.push(y);
    const features = h.shape[1] as number;
    const embed = dense({ units: features, useBias: false, kernelInitializer: init(spec.seed, k++), name: 'd_embed' }).apply(y) as SymbolicTensor;
    const proj = tf.layers.dot({ axes: 1, name: 'd_project' }).apply([h, embed]) as SymbolicTensor;
    logit = tf.layers.add({ name: 'd_logit_cond' }).apply([logit, proj]) as SymbolicTensor;
    if (spec.auxClassifier) {
      const branch = spec.auxBranch ?? 0;
      if (!Number.isInteger(branch) || branch < 0 || branch > n) throw new RangeError(`auxBranch: expected an integer from 0 to ${n} (D's conv blocks), received ${branch}`);
      // The class branch: D's last `branch` blocks again, unnormalised. Why: with spectral norm the
      // aux head fits real cells' classes markedly worse than without (scripts/discriminator-capacity.ts,
      // notes/dcgan.md session 23), while the real/fake game needs the norm. Its own seeds (200 + block)
      // keep every other layer's initial weights the same with or without it.
      let classFeatures = h;
      if (branch > 0) {
        let b = blockOutputs[n - branch];
        for (let i = n - branch; i < n; i++) {
          b = downConv(conv2dLayer, i, `d_aux_conv${i}`, 200 + i, true).apply(b) as SymbolicTensor;
          b = tf.layers.leakyReLU({ alpha: 0.2, name: `d_aux_lrelu${i}` }).apply(b) as SymbolicTensor;
        }
        classFeatures = tf.layers.flatten({ name: 'd_aux_flatten' }).apply(b) as SymbolicTensor;
      }
      const head = branch > 0 ? tf.layers.dense : dense;
      if (spec.auxD2d) {
        if (spec.twinClassifier) throw new RangeError('auxD2d: the ReACGAN head does not combine with the twin classifier');
        // Seeded after every other layer (k keeps counting), as the softmax head below is.
        const embedding = head({ units: D2D_EMBED_DIM, kernelInitializer: init(spec.seed, k++), name: 'd_aux_embed' }).apply(classFeatures) as SymbolicTensor;
        const proxy = tf.layers.dense({ units: D2D_EMBED_DIM, useBias: false, kernelInitializer: init(spec.seed, k++), name: 'd_aux_proxy' }).apply(y) as SymbolicTensor;
        return tf.model({ inputs, outputs: [logit, embedding, proxy], name: 'discriminator' });
      }
      // Initialised after every other layer (k keeps counting) so the rest of D is the same with or without it.
      const classLogits = head({ units: spec.numClasses, kernelInitializer: init(spec.seed, k++), name: 'd_aux' }).apply(classFeatures) as SymbolicTensor;
      if (!spec.twinClassifier) return tf.model({ inputs, outputs: [logit, classLogits], name: 'discriminator' });
      const twinLogits = head({ units: spec.numClasses, kernelInitializer: init(spec.seed, k++), name: 'd_twin' }).apply(classFeatures) as SymbolicTensor;
      return tf.model({ inputs, outputs: [logit, classLogits, twinLogits], name: 'discriminator' });
    }
  }
  return tf.model({ inputs, outputs: logit, name: 'discriminator' });
}

/** The stable (process-independent) name of each weight; the engine's one naming scheme, which the fixed layer names make work. */
export { weightNames } from '../engine/index.js';
