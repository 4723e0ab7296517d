/**
 * Worker side of data-parallel classifier training (see parallel.ts):
 * rebuilds the classifier from its plain description and computes the
 * gradients of its shard's share of the batch loss; the engine's shardTask
 * does the rest (weights in, gradients and batch-norm statistics out).
 */
import { gradsByStableName, shardTask, tf } from '../../engine/index.js';
import { buildClassifier, type ClassifierArchitecture } from './model.js';
import { countHits, weightedLoss, type StepBatch } from './step.js';

export interface ClassifierSpec { size: number; numClasses: number; architecture: ClassifierArchitecture }

export interface ClassifierShard extends StepBatch {
  /** Σ sample weights over the whole batch (not the shard): the loss's denominator. */
  denominator: number;
}

export const createTask = shardTask((spec: ClassifierSpec) => {
  // Initial values do not matter: the first call sends every weight.
  const model = buildClassifier(spec.size, spec.numClasses, spec.architecture, 0);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  return {
    models: [model],
    gradients: {
      step(shard: ClassifierShard) {
        let predicted: tf.Tensor | undefined;
        const { value, grads } = tf.variableGrads(() => {
          const r = weightedLoss(model, shard, spec.size, spec.architecture.featureUnits, shard.denominator);
          predicted = tf.keep(r.predicted);
          return r.loss;
        }, vars);
        try {
          // This shard's part of the batch loss (the parts add up to it), and its correct predictions.
          return { grads: gradsByStableName(model, grads), numbers: { loss: value.dataSync()[0], hits: countHits(predicted!.dataSync(), shard.ys) } };
        } finally {
          value.dispose();
          predicted?.dispose();
        }
      },
    },
  };
});
