/**
 * One DCGAN training iteration as pure functions, separate from applying the
 * gradients: `discriminatorGradients` and `generatorGradients` take tensors
 * (and plain augmentation parameters) and return gradients keyed by stable
 * weight names (the engine's gradsByStableName) plus the loss statistics. A
 * data-parallel trainer can compute these on shards in workers, average the
 * gradients, then apply them once with `Adam.apply`.
 *
 * Losses (`GanLoss`):
 * - 'bce', the non-saturating GAN loss with logits (Goodfellow et al. 2014):
 *     L_D = softplus(-D(x)) + softplus(D(G(z)))   (= BCE(1, D(x)) + BCE(0, D(G(z))))
 *     L_G = softplus(-D(G(z)))                   (= BCE(1, D(G(z))))
 * - 'hinge' (Lim & Ye 2017; SNGAN, BigGAN):
 *     L_D = relu(1 - D(x)) + relu(1 + D(G(z)))
 *     L_G = -D(G(z))
 *
 * Auxiliary classifier (`auxWeight` λ > 0, conditional models whose D has
 * the `d_aux` head; Odena et al. 2017): D's head learns the class of REAL
 * images only, L_D += λ·CE(y, aux(x)), and G is pushed to make images that
 * head recognises, L_G += λ·CE(y, aux(G(z, y))). Training the head on real
 * images only (not on fakes, as AC-GAN does) keeps D from rewarding G for
 * whatever makes fakes easiest to classify; the projection term still
 * carries the conditional real/fake objective.
 *
 * Twin auxiliary classifier (`twin`, D's `d_twin` head; TAC-GAN, Gong et al.
 * 2019): AC-GAN's G term alone pulls each class away from its neighbours,
 * dropping the modes near class boundaries (measured: GAN-train of the
 * heterogeneous ig class fell to 7 %). A second head learns the classes of
 * G's images, L_D += λ·CE(y, twin(G(z, y))), and G gets
 * λ·(CE(y, aux(G)) − CE(y, twin(G))), which in the limit matches G's class
 * posterior to the real one instead of sharpening it.
 *
 * Joint classifier (`auxJoint`, with the twin head; ADC-GAN, Hou et al.
 * 2022): the two heads' logits form ONE softmax over 2K classes, "real k"
 * (d_aux) and "generated k" (d_twin). D learns real images as real y and G's
 * images as generated y, L_D += λ·(CE(real y, x) + CE(generated y, G(z, y)));
 * G gets λ·(CE(real y, G) − CE(generated y, G)). Because the classifier sees
 * both kinds in one softmax it is aware of G, and G's term drives its joint
 * distribution of images and labels toward the real one rather than toward
 * the images easiest to classify (the loss of intra-class diversity that
 * AC-GAN's generator-agnostic classifier causes).
 *
 * Class-loss floor (`auxFloor`, without the twin head): G's term becomes
 * mean(relu(CE(y, aux(G(z, y))) − c)), c the aux head's mean cross-entropy on
 * the same step's real batch. An image counts only while D's head finds it
 * harder to classify than real cells of the batch are; G is not paid for
 * sharpening its classes beyond the real ones, which AC-GAN's term otherwise
 * does at the cost of the images near class boundaries.
 *
 * Data-to-data cross-entropy (`auxD2d`, D's ReACGAN head; Kang et al. 2021):
 * the head gives an embedding f of each image and a learned proxy v_y of its
 * label, both L2-normalised, and the class term of image i is
 *   −log( e^{−p_i} / (e^{−p_i} + Σ_{j: y_j ≠ y_i} e^{n_ij}) ),
 *   p_i = relu((m − f_i·v_{y_i}) / τ),  n_ij = relu((f_i·f_j − (1 − m)) / τ),
 * over the batch (a data-parallel shard), margin m = D2D_MARGIN and
 * temperature τ = D2D_TEMPERATURE. Unlike the softmax over K class logits,
 * an image already close to its proxy (cosine ≥ m), or already far from an
 * image of another class (cosine ≤ 1 − m), gets no gradient from that
 * proxy or that pair (the clipped terms are constants), so neither D's head
 * nor G (the same term on G's images, as with the plain aux head) is paid
 * for pushing easy images further; and the negatives are other images, so
 * each image is placed against the batch's cells of other classes, not only
 * against K fixed directions. D learns it on real images, G on its own.
 *
 * Mode seeking (`modeSeekingWeight` λ_ms > 0; MSGAN, Mao et al. 2019): for
 * pairs of G's images with the same label, the ratio r of their distance to
 * the distance of their noises; L_G += λ_ms / (mean r + ε). G is paid for
 * making different noises give different cells, against the conditional
 * mode collapse that GAN-train (a classifier trained on G's images) exposes.
 * Distances are root-mean-square per pixel and per noise dimension, over the
 * un-augmented images; with data-parallel workers, pairs are within a shard.
 *
 * Batch norm runs in training mode (batch statistics), which also updates
 * the moving statistics used when sampling.
 */
import { gradsByStableName, tf, type LayersModel, type NamedTensorMap, type Scalar, type Tensor, type Tensor2D, type Tensor4D, type Variable } from '../engine/index.js';
import { diffAugment, type AugmentParams } from './diffaugment.js';

export const GAN_LOSSES = ['bce', 'hinge'] as const;
export type GanLoss = (typeof GAN_LOSSES)[number];

export function discriminatorLoss(loss: GanLoss, realLogits: Tensor, fakeLogits: Tensor): Scalar {
  if (loss === 'hinge') return tf.add(tf.mean(tf.relu(tf.sub(1, realLogits))), tf.mean(tf.relu(tf.add(1, fakeLogits)))) as Scalar;
  return tf.add(tf.mean(tf.softplus(tf.neg(realLogits))), tf.mean(tf.softplus(fakeLogits))) as Scalar;
}

export function generatorLoss(loss: GanLoss, fakeLogits: Tensor): Scalar {
  if (loss === 'hinge') return tf.neg(tf.mean(fakeLogits)) as Scalar;
  return tf.mean(tf.softplus(tf.neg(fakeLogits))) as Scalar;
}

/** Cross-entropy of each row's class logits against its one-hot label. */
function classLosses(labels: Tensor, logits: Tensor): Tensor {
  return tf.neg(tf.sum(tf.mul(labels, tf.logSoftmax(logits)), 1));
}

/** Mean cross-entropy of class logits against one-hot labels. */
export function classLoss(labels: Tensor, logits: Tensor): Scalar {
  return tf.mean(classLosses(labels, logits)) as Scalar;
}

/** Margin m and temperature τ of the data-to-data cross-entropy (ReACGAN's values). */
export const D2D_MARGIN = 0.98;
export const D2D_TEMPERATURE = 0.5;

/** Rows of x scaled to unit length (ε keeps the gradient finite at 0). */
function unitRows(x: Tensor): Tensor {
  return tf.div(x, tf.sqrt(tf.add(tf.sum(tf.square(x), 1, true), 1e-12)));
}

/** Each image's data-to-data cross-entropy (see the file comment): N values. */
export function d2dClassLosses(labels: Tensor2D, embedding: Tensor, proxy: Tensor): Tensor {
  const f = unitRows(embedding);
  const toProxy = tf.sum(tf.mul(f, unitRows(proxy)), 1);
  const pull = tf.relu(tf.div(tf.sub(D2D_MARGIN, toProxy), D2D_TEMPERATURE));
  const push = tf.relu(tf.div(tf.sub(tf.matMul(f, f, false, true), 1 - D2D_MARGIN), D2D_TEMPERATURE));
  // 1 where two images' labels differ (so never on the diagonal).
  const otherClass = tf.sub(1, tf.matMul(labels, labels, false, true));
  // Bounded exponents (pull ≤ (1 + m)/τ, push ≤ m/τ): no max-shift needed.
  return tf.add(pull, tf.log(tf.add(tf.exp(tf.neg(pull)), tf.sum(tf.mul(otherClass, tf.exp(push)), 1))));
}

/** D's outputs: the real/fake logit, and the class heads' outputs when D has them (the ReACGAN head's with `d2d`). */
function discriminate(discriminator: LayersModel, x: Tensor, labels: Tensor2D | undefined, d2d: boolean): { logit: Tensor } & ClassHeads {
  const out = discriminator.apply(withLabels(x, labels), { training: true }) as Tensor | Tensor[];
  if (!Array.isArray(out)) return { logit: out };
  return d2d ? { logit: out[0], embedding: out[1], proxy: out[2] } : { logit: out[0], classLogits: out[1], twinLogits: out[2] };
}

/** The losses of one training step (train's options of the same names). */
export interface StepLosses {
  /** The GAN loss (default 'bce'). */
  loss: GanLoss;
  /** Weight λ of the auxiliary-classifier terms (default 0 = off). */
  auxWeight: number;
  /** With the twin head: one softmax over both heads' 2K classes (ADC-GAN; default false = TAC-GAN's two softmaxes). */
  auxJoint: boolean;
  /** G's class term is mean(relu(CE_i − GeneratorBatch.auxFloor)) instead of mean(CE_i) (default false; not with the twin head). */
  auxFloor: boolean;
  /** The class terms are the data-to-data cross-entropy of D's ReACGAN head (default false; not with the twin head or auxFloor). */
  auxD2d: boolean;
  /** Weight of the mode-seeking term (default 0 = off). */
  modeSeekingWeight: number;
}

export const DEFAULT_STEP_LOSSES: StepLosses = { loss: 'bce', auxWeight: 0, auxJoint: false, auxFloor: false, auxD2d: false, modeSeekingWeight: 0 };

/** D's class outputs: the auxiliary head's logits and, when D has it, the twin head's; or the ReACGAN head's embedding and label proxy. */
type ClassHeads = { classLogits?: Tensor; twinLogits?: Tensor; embedding?: Tensor; proxy?: Tensor };

/** Throws unless D has the class heads the aux terms need: the aux head (ReACGAN's with auxD2d), and the twin head for auxJoint. */
function assertClassHeads(losses: StepLosses, labels: Tensor2D | undefined, out: ClassHeads): void {
  if (losses.auxD2d) {
    if (losses.auxFloor || losses.auxJoint) throw new Error('auxD2d combines with neither auxFloor nor auxJoint');
    if (!labels || !out.proxy) throw new Error('auxD2d needs a conditional model whose discriminator has the ReACGAN class head (auxD2d)');
    return;
  }
  if (!labels || !out.classLogits) throw new Error('auxWeight > 0 needs a conditional model whose discriminator has the auxiliary classifier head');
  if (losses.auxJoint && !out.twinLogits) throw new Error('auxJoint needs a discriminator with the twin classifier head');
}

/** Cross-entropy of the joint 2K-class softmax (aux logits, then twin logits) against "real y" (asReal) or "generated y". */
function jointClassLoss(labels: Tensor2D, out: ClassHeads, asReal: boolean): Scalar {
  const none = tf.zerosLike(labels);
  return classLoss(tf.concat(asReal ? [labels, none] : [none, labels], 1), tf.concat([out.classLogits!, out.twinLogits!], 1));
}

/**
 * The class terms of one step: `real`, the aux head's cross-entropy against "real y" on
 * `onReal`, and `generated`, the twin head's against "generated y" on `onGenerated` (null
 * without a twin head). D adds the two; G, which passes its own images as both, subtracts
 * the second. With auxJoint both are taken in the joint 2K-class softmax.
 */
function classTerms(l: StepLosses, realLabels: Tensor2D, onReal: ClassHeads, generatedLabels: Tensor2D, onGenerated: ClassHeads): { real: Scalar; generated: Scalar | null } {
  if (l.auxD2d) return { real: tf.mean(d2dClassLosses(realLabels, onReal.embedding!, onReal.proxy!)) as Scalar, generated: null };
  if (l.auxJoint) return { real: jointClassLoss(realLabels, onReal, true), generated: jointClassLoss(generatedLabels, onGenerated, false) };
  return { real: classLoss(realLabels, onReal.classLogits!), generated: onGenerated.twinLogits ? classLoss(generatedLabels, onGenerated.twinLogits) : null };
}

export interface DiscriminatorBatch {
  /** Real images, N×S×S×3 in [-1, 1]. */
  real: Tensor4D;
  /** One-hot labels of the real images (conditional models only). */
  realLabels?: Tensor2D;
  /** Noise for the fake images, N×nz. */
  noise: Tensor2D;
  /** One-hot labels for the fake images (conditional models only). */
  fakeLabels?: Tensor2D;
  augmentReal?: AugmentParams;
  augmentFake?: AugmentParams;
}

export interface GeneratorBatch {
  noise: Tensor2D;
  fakeLabels?: Tensor2D;
  augmentFake?: AugmentParams;
  /** With StepLosses.auxFloor: the aux head's mean cross-entropy on the step's real batch (D's auxLoss). */
  auxFloor?: number;
}

export interface DiscriminatorGradients {
  /** ∂L_D/∂w for each trainable weight of D, by stable name. */
  grads: NamedTensorMap;
  /** L_D (scalar). */
  loss: Scalar;
  /** Mean D(x) as a probability. */
  realProb: Scalar;
  /** Mean D(G(z)) as a probability (before D's update). */
  fakeProb: Scalar;
  /** The auxiliary classifier's cross-entropy on the real images (unweighted; when auxWeight > 0). */
  auxLoss?: Scalar;
}

export interface GeneratorGradients {
  grads: NamedTensorMap;
  loss: Scalar;
  /** The auxiliary classifier's cross-entropy on G's images (unweighted; when auxWeight > 0). */
  auxLoss?: Scalar;
  /** Mean image-to-noise distance ratio over same-label pairs (when modeSeekingWeight > 0; NaN if the batch has no such pair). */
  modeSeekingRatio?: Scalar;
}

const MODE_SEEKING_EPS = 1e-5;

/** Root-mean-square distance between every two rows of X (N×P), N×N; ε inside the root keeps its gradient finite on the diagonal. */
function pairwiseRms(x: Tensor2D): Tensor2D {
  const sq = tf.sum(tf.square(x), 1, true);
  const d2 = tf.sub(tf.add(sq, tf.transpose(sq)), tf.mul(2, tf.matMul(x, x, false, true)));
  return tf.sqrt(tf.add(tf.div(tf.relu(d2), x.shape[1]), 1e-8)) as Tensor2D;
}

/**
 * Mean, over pairs i ≠ j with the same label (all pairs when unconditional), of
 * rms(G_i − G_j) / rms(z_i − z_j); null when the batch has no such pair.
 */
export function modeSeekingRatio(fake: Tensor4D, noise: Tensor2D, labels: Tensor2D | undefined): Scalar | null {
  const n = fake.shape[0];
  const label = labels ? Array.from(tf.tidy(() => tf.argMax(labels, 1)).dataSync()) : new Array<number>(n).fill(0);
  let pairs = 0;
  const mask = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j && label[i] === label[j]) { mask[i * n + j] = 1; pairs++; }
  if (!pairs) return null;
  return tf.tidy(() => {
    const ratio = tf.div(pairwiseRms(tf.reshape(fake, [n, -1]) as Tensor2D), pairwiseRms(noise));
    return tf.div(tf.sum(tf.mul(ratio, tf.tensor2d(mask, [n, n]))), pairs) as Scalar;
  });
}

function withLabels(x: Tensor, labels?: Tensor2D): Tensor | Tensor[] {
  return labels ? [x, labels] : x;
}

/** Rows of one-hot class labels, as G and D take them. */
export function oneHot(indices: number[], classes: number): Tensor2D {
  const data = new Float32Array(indices.length * classes);
  indices.forEach((c, i) => { data[i * classes + c] = 1; });
  return tf.tensor2d(data, [indices.length, classes]);
}

/** Runs G on noise (and one-hot labels for a conditional G); `training` selects batch norm's batch or moving statistics. */
export function runGenerator(generator: LayersModel, noise: Tensor2D, labels: Tensor2D | undefined, training: boolean): Tensor4D {
  return generator.apply(withLabels(noise, labels), { training }) as Tensor4D;
}

/** Gradients of L_D w.r.t. D's weights; G is only run forward (its output is a constant here). */
export function discriminatorGradients(generator: LayersModel, discriminator: LayersModel, batch: DiscriminatorBatch, losses: Partial<StepLosses> = {}): DiscriminatorGradients {
  const l: StepLosses = { ...DEFAULT_STEP_LOSSES, ...losses };
  const fake = tf.tidy(() => runGenerator(generator, batch.noise, batch.fakeLabels, true));
  try {
    let realProb: Scalar | undefined, fakeProb: Scalar | undefined, auxLoss: Scalar | undefined;
    const vars = discriminator.trainableWeights.map((w) => w.read() as Variable);
    const { value, grads } = tf.variableGrads(() => {
      const real = batch.augmentReal ? diffAugment(batch.real, batch.augmentReal) : batch.real;
      const fk = batch.augmentFake ? diffAugment(fake, batch.augmentFake) : fake;
      const onReal = discriminate(discriminator, real, batch.realLabels, l.auxD2d);
      const onFake = discriminate(discriminator, fk, batch.fakeLabels, l.auxD2d);
      realProb = tf.keep(tf.mean(tf.sigmoid(onReal.logit)) as Scalar);
      fakeProb = tf.keep(tf.mean(tf.sigmoid(onFake.logit)) as Scalar);
      const adversarial = discriminatorLoss(l.loss, onReal.logit, onFake.logit);
      if (!(l.auxWeight > 0)) return adversarial;
      assertClassHeads(l, batch.realLabels, onReal);
      const { real: aux, generated } = classTerms(l, batch.realLabels!, onReal, batch.fakeLabels!, onFake);
      auxLoss = tf.keep(aux);
      return tf.add(adversarial, tf.mul(generated ? tf.add(aux, generated) : aux, l.auxWeight)) as Scalar;
    }, vars);
    return { grads: gradsByStableName(discriminator, grads), loss: value, realProb: realProb!, fakeProb: fakeProb!, ...(auxLoss ? { auxLoss } : {}) };
  } finally {
    fake.dispose();
  }
}

/** Gradients of L_G w.r.t. G's weights (D is run forward in training mode, its weights are not differentiated). */
export function generatorGradients(generator: LayersModel, discriminator: LayersModel, batch: GeneratorBatch, losses: Partial<StepLosses> = {}): GeneratorGradients {
  const l: StepLosses = { ...DEFAULT_STEP_LOSSES, ...losses };
  const vars = generator.trainableWeights.map((w) => w.read() as Variable);
  let auxLoss: Scalar | undefined, msRatio: Scalar | undefined;
  const { value, grads } = tf.variableGrads(() => {
    const fake = runGenerator(generator, batch.noise, batch.fakeLabels, true);
    const fk = batch.augmentFake ? diffAugment(fake, batch.augmentFake) : fake;
    const onFake = discriminate(discriminator, fk, batch.fakeLabels, l.auxD2d);
    let total = generatorLoss(l.loss, onFake.logit);
    if (l.auxWeight > 0) {
      assertClassHeads(l, batch.fakeLabels, onFake);
      const { real: aux, generated } = classTerms(l, batch.fakeLabels!, onFake, batch.fakeLabels!, onFake);
      auxLoss = tf.keep(aux);
      total = tf.add(total, tf.mul(l.auxFloor ? flooredClassLoss(batch, onFake, generated) : generated ? tf.sub(aux, generated) : aux, l.auxWeight)) as Scalar;
    }
    if (l.modeSeekingWeight > 0) {
      const ms = modeSeekingRatio(fake, batch.noise, batch.fakeLabels);
      // Reported as NaN when the batch has no same-label pair, so every shard names the same statistics.
      msRatio = tf.keep(ms ?? tf.scalar(NaN));
      if (ms) total = tf.add(total, tf.div(l.modeSeekingWeight, tf.add(ms, MODE_SEEKING_EPS))) as Scalar;
    }
    return total;
  }, vars);
  return { grads: gradsByStableName(generator, grads), loss: value, ...(auxLoss ? { auxLoss } : {}), ...(msRatio ? { modeSeekingRatio: msRatio } : {}) };
}

/**
 * G's class term under auxFloor: each image's cross-entropy counts only above the floor (the
 * aux head's mean on the real batch), so G is pushed toward its class until its images are as
 * recognisable as real ones, not further: measured, G's images were classified 99 % right by
 * the head that got real validation cells 88–90 % right (notes/dcgan.md, session 22).
 */
function flooredClassLoss(batch: GeneratorBatch, onFake: ClassHeads, twinTerm: Scalar | null): Scalar {
  if (twinTerm) throw new Error('auxFloor does not combine with the twin head');
  if (batch.auxFloor === undefined || !Number.isFinite(batch.auxFloor)) throw new Error(`auxFloor needs the real batch's class cross-entropy (GeneratorBatch.auxFloor), received ${batch.auxFloor}`);
  return tf.mean(tf.relu(tf.sub(classLosses(batch.fakeLabels!, onFake.classLogits!), batch.auxFloor))) as Scalar;
}

/**
 * Exponential moving average of G's trainable weights into `ema`; G's
 * non-trainable weights (batch-norm moving statistics) are copied as is, as
 * in StyleGAN2-ADA.
 */
export function updateEma(ema: LayersModel, generator: LayersModel, decay: number): void {
  tf.tidy(() => {
    generator.weights.forEach((w, i) => {
      const e = ema.weights[i];
      e.write(w.trainable ? tf.add(tf.mul(e.read(), decay), tf.mul(w.read(), 1 - decay)) : w.read().clone());
    });
  });
}

export function disposeGrads(grads: NamedTensorMap): void {
  for (const t of Object.values(grads)) t?.dispose();
}
