/**
 * Stable weight names: the one way weights are named across threads and
 * files. tfjs makes *variable* names unique per process ("conv1/kernel_1"
 * when a second model with a layer "conv1" exists), but keeps each
 * LayerVariable's `originalName` ("conv1/kernel"); models whose layers have
 * fixed names therefore name each weight the same in every thread.
 */
import type { tf, LayersModel, NamedTensorMap, Variable } from './tf.js';

/** The stable name of each weight, in `model.weights` (or `model.trainableWeights`) order. */
export function weightNames(model: LayersModel, trainableOnly = false): string[] {
  const ws = trainableOnly ? model.trainableWeights : model.weights;
  return ws.map((w) => (w as unknown as { originalName: string }).originalName);
}

/** Every weight of `models`, in order, with its stable name. */
export function namedWeights(models: LayersModel[]): { name: string; variable: tf.LayerVariable }[] {
  return models.flatMap((model) => weightNames(model).map((name, i) => ({ name, variable: model.weights[i] })));
}

/** Gradients keyed by variable name (as tf.variableGrads returns them) re-keyed by stable name. */
export function gradsByStableName(model: LayersModel, grads: NamedTensorMap): NamedTensorMap {
  const names = weightNames(model, true);
  const out: NamedTensorMap = {};
  model.trainableWeights.forEach((w, i) => { out[names[i]] = grads[(w.read() as Variable).name]; });
  return out;
}
