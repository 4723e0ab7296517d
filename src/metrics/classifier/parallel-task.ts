/**
 * Worker side of data-parallel classifier training (see parallel.ts):
 * rebuilds the classifier from its plain description, takes the weights the
 * main thread sends (only those that changed since its last call), and
 * returns the gradients of its shard's share of the batch loss, with its
 * updated batch-norm moving statistics.
 */
import { tf, type LayersModel } from '../../engine/index.js';
import { packTensors, unpackTensors, type CreateTask, type PackedTensors, type TaskResult } from '../../engine/parallel/index.js';
import { buildClassifier, type ClassifierArchitecture } from './model.js';
import { countHits, weightedLoss, type StepBatch } from './step.js';

export interface ClassifierSpec { size: number; numClasses: number; architecture: ClassifierArchitecture }

export interface ClassifierShard extends StepBatch {
  weights?: PackedTensors;
  /** Σ sample weights over the whole batch (not the shard): the loss's denominator. */
  denominator: number;
}

export interface ClassifierShardResult {
  grads: PackedTensors;
  stats: PackedTensors;
  /** This shard's part of the batch loss (the parts add up to it). */
  loss: number;
  hits: number;
}

/** Weights by position: main and worker build the same architecture, so model.weights line up. */
export const weightName = (index: number): string => `w${index}`;
/** The model.weights index a weightName stands for. */
export const weightIndex = (name: string): number => Number(name.slice(1));

export function trainableIndices(model: LayersModel): number[] {
  return model.weights.flatMap((w, i) => (w.trainable ? [i] : []));
}

export const createTask: CreateTask = (spec: ClassifierSpec) => {
  // Initial values do not matter: the first call sends every weight.
  const model = buildClassifier(spec.size, spec.numClasses, spec.architecture, 0);
  const trainable = trainableIndices(model);
  const stats = model.weights.flatMap((w, i) => (w.trainable ? [] : [i]));
  const vars = trainable.map((i) => model.weights[i].read() as tf.Variable);

  return {
    step(p: ClassifierShard): TaskResult<ClassifierShardResult> {
      if (p.weights) {
        tf.tidy(() => {
          for (const [name, t] of unpackTensors(p.weights!)) model.weights[weightIndex(name)].write(tf.tensor(t.values, t.shape));
        });
      }
      let predicted: tf.Tensor | undefined;
      const { value, grads } = tf.variableGrads(() => {
        const r = weightedLoss(model, p, spec.size, spec.architecture.featureUnits, p.denominator);
        predicted = tf.keep(r.predicted);
        return r.loss;
      }, vars);
      try {
        const packedGrads = packTensors(trainable.map((i, k) => {
          const g = grads[vars[k].name];
          return { name: weightName(i), shape: g.shape, values: g.dataSync() as Float32Array };
        }));
        const packedStats = packTensors(stats.map((i) => {
          const t = model.weights[i].read();
          return { name: weightName(i), shape: t.shape, values: t.dataSync() as Float32Array };
        }));
        const result = { grads: packedGrads, stats: packedStats, loss: value.dataSync()[0], hits: countHits(predicted!.dataSync(), p.ys) };
        return { value: result, transfer: [packedGrads.buffer as ArrayBuffer, packedStats.buffer as ArrayBuffer] };
      } finally {
        value.dispose();
        predicted?.dispose();
        for (const g of Object.values(grads)) g.dispose();
      }
    },
    numTensors(): TaskResult<number> {
      return { value: tf.memory().numTensors };
    },
  };
};
