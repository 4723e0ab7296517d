/**
 * The DCGAN iteration of cases.ts, data-parallel over worker threads
 * (src/dcgan/parallel.ts): the main thread holds the models and Adam, the
 * workers compute the gradients on their shards.
 */
import { tf } from '../engine/index.js';
import { buildDiscriminator, buildGenerator, disposeGrads, Adam } from '../dcgan/index.js';
import { createParallelStep } from '../dcgan/parallel.js';
import { dcganSpec, NZ, timeLoop, type Timed } from './cases.js';

const ADAM = { learningRate: 2e-4, beta1: 0.5, beta2: 0.999, epsilon: 1e-8 };

export async function benchDcganParallel(size: number, batch: number, workers: number, iters: number, warmup: number): Promise<Timed> {
  const spec = dcganSpec(size);
  const g = buildGenerator(spec), d = buildDiscriminator(spec);
  const gOpt = new Adam(ADAM, g), dOpt = new Adam(ADAM, d);
  const real = tf.randomUniform([batch, size, size, 3], -1, 1) as tf.Tensor4D;
  const step = await createParallelStep(spec, { workers });
  const iteration = async () => {
    const z1 = tf.randomNormal([batch, NZ]) as tf.Tensor2D;
    const dg = await step.discriminatorGradients(g, d, { real, noise: z1 });
    dOpt.apply(dg.grads);
    disposeGrads(dg.grads); tf.dispose([dg.loss, dg.realProb, dg.fakeProb, z1]);
    const z2 = tf.randomNormal([batch, NZ]) as tf.Tensor2D;
    const gg = await step.generatorGradients(g, d, { noise: z2 });
    gOpt.apply(gg.grads);
    disposeGrads(gg.grads); tf.dispose([gg.loss, z2]);
  };
  try {
    return await timeLoop(iteration, iters, warmup, false);
  } finally {
    await step.close();
    real.dispose(); gOpt.dispose(); dOpt.dispose(); g.dispose(); d.dispose();
  }
}
