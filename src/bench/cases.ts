/**
 * The benchmark cases: one DCGAN training iteration (D step on real + fake,
 * then G step, each followed by Adam), reference-classifier training, and
 * generation. Models come from src/dcgan (Radford widths 64), the step from
 * src/dcgan/step.ts, exactly what the trainer runs.
 */
import { batchNormalizationLayer, conv2dLayer, tf } from '../engine/index.js';
import { buildDiscriminator, buildGenerator, discriminatorGradients, disposeGrads, generatorGradients, Adam } from '../dcgan/index.js';
import type { ModelSpec } from '../dcgan/index.js';
import { buildClassifier, DEFAULT_ARCHITECTURE } from '../metrics/classifier/model.js';
import { trainStep, type StepBatch } from '../metrics/classifier/step.js';
import { createParallelClassifierStep } from '../metrics/classifier/parallel.js';
import { Rng } from '../util/rng.js';

export const NZ = 100;

export function dcganSpec(size: number): ModelSpec {
  return { size, nz: NZ, gWidth: 64, dWidth: 64, numClasses: 0, seed: 1 };
}

/**
 * Wall ms per iteration, and CPU ms (user + system, all threads of the
 * process) per iteration: on a machine shared with other jobs the wall time
 * depends on the load, the CPU time much less so.
 */
export interface Timed { ms: number[]; cpuMs: number[]; kernels?: KernelProfile[]; leakedTensors: number }
export interface KernelProfile { name: string; calls: number; ms: number }

const ADAM = { learningRate: 2e-4, beta1: 0.5, beta2: 0.999, epsilon: 1e-8 };

/** Times `iteration` after `warmup` untimed runs; checks the tensor count stays flat. */
export async function timeLoop(iteration: () => Promise<void>, iters: number, warmup: number, profile: boolean): Promise<Timed> {
  for (let i = 0; i < warmup; i++) await iteration();
  const before = tf.memory().numTensors;
  const ms: number[] = [], cpuMs: number[] = [];
  for (let i = 0; i < iters; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await iteration();
    ms.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpuMs.push((c.user + c.system) / 1000);
  }
  const leakedTensors = tf.memory().numTensors - before;
  let kernels: KernelProfile[] | undefined;
  if (profile) {
    const info = await tf.profile(iteration);
    const by = new Map<string, KernelProfile>();
    for (const k of info.kernels) {
      const e = by.get(k.name) ?? { name: k.name, calls: 0, ms: 0 };
      e.calls++; e.ms += Number(k.kernelTimeMs) || 0;
      by.set(k.name, e);
    }
    kernels = [...by.values()].sort((a, b) => b.ms - a.ms);
  }
  return { ms, cpuMs, kernels, leakedTensors };
}

export async function benchDcganSequential(size: number, batch: number, iters: number, warmup: number, profile: boolean) {
  const spec = dcganSpec(size);
  const g = buildGenerator(spec), d = buildDiscriminator(spec);
  const gOpt = new Adam(ADAM, g), dOpt = new Adam(ADAM, d);
  const real = tf.randomUniform([batch, size, size, 3], -1, 1) as tf.Tensor4D;
  const iteration = async () => {
    const z1 = tf.randomNormal([batch, NZ]) as tf.Tensor2D;
    const dg = discriminatorGradients(g, d, { real, noise: z1 });
    dOpt.apply(dg.grads);
    disposeGrads(dg.grads); dg.realProb.dispose(); dg.fakeProb.dispose(); z1.dispose();
    const z2 = tf.randomNormal([batch, NZ]) as tf.Tensor2D;
    const gg = generatorGradients(g, d, { noise: z2 });
    gOpt.apply(gg.grads);
    disposeGrads(gg.grads); z2.dispose();
    await Promise.all([dg.loss.data(), gg.loss.data()]);
    dg.loss.dispose(); gg.loss.dispose();
  };
  try {
    return await timeLoop(iteration, iters, warmup, profile);
  } finally {
    real.dispose(); gOpt.dispose(); dOpt.dispose(); g.dispose(); d.dispose();
  }
}

/** A small CNN classifier like the one used for GAN-train/GAN-test (conv-bn-relu-pool ×3, dropout, dense). */
export function buildBenchClassifier(size: number, classes: number, dropoutRate = 0.3): tf.LayersModel {
  const m = tf.sequential();
  [32, 64, 128].forEach((c, i) => {
    m.add(conv2dLayer({ filters: c, kernelSize: 3, padding: 'same', useBias: false, ...(i === 0 ? { inputShape: [size, size, 3] } : {}) }));
    m.add(batchNormalizationLayer());
    m.add(tf.layers.reLU());
    m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  });
  m.add(tf.layers.flatten());
  m.add(tf.layers.dropout({ rate: dropoutRate }));
  m.add(tf.layers.dense({ units: classes }));
  return m;
}

/**
 * One training step of the reference classifier (src/metrics: conv blocks,
 * global pooling, features, dropout, softmax), with the step the trainer
 * runs: in this thread, or data-parallel over `workers` threads.
 */
export async function benchClassifier(size: number, batch: number, iters: number, warmup: number, workers = 0) {
  const K = 7, arch = DEFAULT_ARCHITECTURE;
  const model = buildClassifier(size, K, arch, 0);
  const opt = tf.train.adam(1e-3);
  const rng = new Rng('bench-classifier');
  const step: StepBatch = {
    xs: Float32Array.from({ length: batch * size * size * 3 }, () => rng.next() * 2 - 1),
    ys: Array.from({ length: batch }, (_, i) => i % K),
    sampleWeights: new Array<number>(batch).fill(1),
    mask: Float32Array.from({ length: batch * arch.featureUnits }, () => (rng.next() < arch.dropout ? 0 : 1 / (1 - arch.dropout))),
  };
  const parallel = workers > 1 ? await createParallelClassifierStep({ size, numClasses: K, architecture: arch }, { workers }) : undefined;
  const iteration = async () => {
    if (parallel) await parallel.step(model, opt, step);
    else trainStep(model, opt, step, size, arch.featureUnits);
  };
  try {
    return await timeLoop(iteration, iters, warmup, false);
  } finally {
    await parallel?.close();
    opt.dispose(); model.dispose();
  }
}

export async function benchGenerate(size: number, batch: number, iters: number, warmup: number) {
  const g = buildGenerator(dcganSpec(size));
  const iteration = async () => {
    const img = tf.tidy(() => g.apply(tf.randomNormal([batch, NZ]), { training: false }) as tf.Tensor);
    await img.data();
    img.dispose();
  };
  try {
    return await timeLoop(iteration, iters, warmup, false);
  } finally {
    g.dispose();
  }
}
