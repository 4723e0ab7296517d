/**
 * Worker side of data-parallel DCGAN training (see parallel.ts): rebuilds G
 * and D from the plain ModelSpec and computes step.ts' gradients on a shard;
 * the engine's shardTask does the rest (weights in, gradients and batch-norm
 * statistics out).
 */
import { shardTask, tf, type Scalar, type Tensor2D, type Tensor4D } from '../engine/index.js';
import { buildDiscriminator, buildGenerator, type ModelSpec } from './models.js';
import { discriminatorGradients, generatorGradients, type StepLosses } from './step.js';
import type { AugmentParams } from './diffaugment.js';

export interface ShardTensor { values: Float32Array; shape: number[] }

export interface GeneratorShard {
  noise: ShardTensor;
  fakeLabels?: ShardTensor;
  augmentFake?: AugmentParams;
  /** The whole batch's floor (GeneratorBatch.auxFloor), the same in every shard. */
  auxFloor?: number;
}

export interface DiscriminatorShard extends GeneratorShard {
  real: ShardTensor;
  realLabels?: ShardTensor;
  augmentReal?: AugmentParams;
}

/** What every worker rebuilds its models and step.ts' losses from. */
export interface GanTaskOptions {
  spec: ModelSpec;
  /** step.ts' losses (mode-seeking pairs are within the shard). */
  losses: StepLosses;
}

function tensor<T extends tf.Tensor>(t: ShardTensor): T;
function tensor<T extends tf.Tensor>(t: ShardTensor | undefined): T | undefined;
function tensor<T extends tf.Tensor>(t: ShardTensor | undefined): T | undefined {
  return t ? (tf.tensor(t.values, t.shape) as T) : undefined;
}

/** step.ts' loss statistics (those it returned) as numbers, disposing the scalars. */
function numbers(stats: Record<string, Scalar | undefined>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, s] of Object.entries(stats)) {
    if (!s) continue;
    out[name] = s.dataSync()[0];
    s.dispose();
  }
  return out;
}

export const createTask = shardTask((options: GanTaskOptions) => {
  const g = buildGenerator(options.spec), d = buildDiscriminator(options.spec);
  return {
    models: [g, d],
    gradients: {
      discriminator(s: DiscriminatorShard) {
        const batch = {
          real: tensor<Tensor4D>(s.real), realLabels: tensor<Tensor2D>(s.realLabels), noise: tensor<Tensor2D>(s.noise), fakeLabels: tensor<Tensor2D>(s.fakeLabels),
          augmentReal: s.augmentReal, augmentFake: s.augmentFake,
        };
        try {
          const { grads, ...stats } = discriminatorGradients(g, d, batch, options.losses);
          return { grads, numbers: numbers(stats) };
        } finally {
          tf.dispose([batch.real, batch.realLabels, batch.noise, batch.fakeLabels]);
        }
      },
      generator(s: GeneratorShard) {
        const batch = { noise: tensor<Tensor2D>(s.noise), fakeLabels: tensor<Tensor2D>(s.fakeLabels), augmentFake: s.augmentFake, auxFloor: s.auxFloor };
        try {
          const { grads, ...stats } = generatorGradients(g, d, batch, options.losses);
          return { grads, numbers: numbers(stats) };
        } finally {
          tf.dispose([batch.noise, batch.fakeLabels]);
        }
      },
    },
  };
});
