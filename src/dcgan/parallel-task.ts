/**
 * Worker side of data-parallel DCGAN training (see parallel.ts): rebuilds G
 * and D from the plain ModelSpec, takes the weights the main thread sends
 * (only those that changed since the last call), computes the step.ts
 * gradients on its shard, and returns them with its loss statistics and its
 * updated batch-norm moving statistics.
 */
import { tf, type LayersModel, type Tensor2D, type Tensor4D } from '../engine/index.js';
import { packTensors, unpackTensors, type CreateTask, type PackedTensors, type TaskResult } from '../engine/parallel/index.js';
import { buildDiscriminator, buildGenerator, weightNames, type ModelSpec } from './models.js';
import { discriminatorGradients, disposeGrads, generatorGradients, type GanLoss } from './step.js';
import type { AugmentParams } from './diffaugment.js';

export interface ShardTensor { values: Float32Array; shape: number[] }

export interface ShardPayload {
  weights?: PackedTensors;
  real?: ShardTensor;
  realLabels?: ShardTensor;
  noise: ShardTensor;
  fakeLabels?: ShardTensor;
  augmentReal?: AugmentParams;
  augmentFake?: AugmentParams;
}

export interface ShardResult {
  grads: PackedTensors;
  /** Batch-norm moving statistics of G and D after the step. */
  stats: PackedTensors;
  loss: number;
  realProb?: number;
  fakeProb?: number;
  /** The auxiliary classifier's cross-entropy (when the loss has it). */
  auxLoss?: number;
  /** The mode-seeking ratio of the shard (when the loss has it and the shard has a same-label pair). */
  modeSeekingRatio?: number;
}

interface NamedWeight { name: string; model: LayersModel; index: number; trainable: boolean }

export function namedWeights(models: LayersModel[]): NamedWeight[] {
  return models.flatMap((model) => weightNames(model).map((name, index) => ({ name, model, index, trainable: model.weights[index].trainable })));
}

export const createTask: CreateTask = (options: { spec: ModelSpec; loss: GanLoss; auxWeight?: number; modeSeekingWeight?: number }) => {
  const g = buildGenerator(options.spec), d = buildDiscriminator(options.spec);
  const weights = namedWeights([g, d]);
  const byName = new Map(weights.map((w) => [w.name, w]));
  // Batch-norm moving statistics change in a step; spectral-norm vectors (sn_u, sn_v) are advanced
  // by the main thread only, so they are not sent back.
  const stats = weights.filter((w) => !w.trainable && !/\/sn_[uv]$/.test(w.name));

  const setWeights = (p?: PackedTensors) => {
    if (!p) return;
    tf.tidy(() => {
      for (const [name, t] of unpackTensors(p)) {
        const w = byName.get(name);
        if (!w) throw new Error(`unknown weight ${name}`);
        w.model.weights[w.index].write(tf.tensor(t.values, t.shape));
      }
    });
  };
  const tensor = (t?: ShardTensor) => (t ? tf.tensor(t.values, t.shape) : undefined);
  const packStats = () => packTensors(stats.map((w) => {
    const v = w.model.weights[w.index].read();
    return { name: w.name, shape: v.shape, values: v.dataSync() as Float32Array };
  }));
  const packGrads = (grads: tf.NamedTensorMap) => packTensors(Object.entries(grads).map(([name, t]) => ({ name, shape: t.shape, values: t.dataSync() as Float32Array })));

  return {
    dStep(p: ShardPayload): TaskResult<ShardResult> {
      setWeights(p.weights);
      const real = tensor(p.real) as Tensor4D, noise = tensor(p.noise) as Tensor2D;
      const realLabels = tensor(p.realLabels) as Tensor2D | undefined, fakeLabels = tensor(p.fakeLabels) as Tensor2D | undefined;
      try {
        const r = discriminatorGradients(g, d, { real, realLabels, noise, fakeLabels, augmentReal: p.augmentReal, augmentFake: p.augmentFake }, options.loss, options.auxWeight ?? 0);
        const grads = packGrads(r.grads), st = packStats();
        const value: ShardResult = { grads, stats: st, loss: r.loss.dataSync()[0], realProb: r.realProb.dataSync()[0], fakeProb: r.fakeProb.dataSync()[0], auxLoss: r.auxLoss?.dataSync()[0] };
        disposeGrads(r.grads); r.loss.dispose(); r.realProb.dispose(); r.fakeProb.dispose(); r.auxLoss?.dispose();
        return { value, transfer: [grads.buffer as ArrayBuffer, st.buffer as ArrayBuffer] };
      } finally {
        for (const t of [real, noise, realLabels, fakeLabels]) t?.dispose();
      }
    },
    gStep(p: ShardPayload): TaskResult<ShardResult> {
      setWeights(p.weights);
      const noise = tensor(p.noise) as Tensor2D, fakeLabels = tensor(p.fakeLabels) as Tensor2D | undefined;
      try {
        const r = generatorGradients(g, d, { noise, fakeLabels, augmentFake: p.augmentFake }, options.loss, options.auxWeight ?? 0, options.modeSeekingWeight ?? 0);
        const grads = packGrads(r.grads), st = packStats();
        const value: ShardResult = { grads, stats: st, loss: r.loss.dataSync()[0], auxLoss: r.auxLoss?.dataSync()[0], modeSeekingRatio: r.modeSeekingRatio?.dataSync()[0] };
        disposeGrads(r.grads); r.loss.dispose(); r.auxLoss?.dispose(); r.modeSeekingRatio?.dispose();
        return { value, transfer: [grads.buffer as ArrayBuffer, st.buffer as ArrayBuffer] };
      } finally {
        noise.dispose(); fakeLabels?.dispose();
      }
    },
    numTensors(): TaskResult<number> {
      return { value: tf.memory().numTensors };
    },
  };
};
