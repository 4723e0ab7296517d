/**
 * The one tfjs instance of the project. Everything else imports `tf` from
 * here (src/engine is the only folder that imports @tensorflow/*), so the
 * backend chosen in backend.ts is the one every model runs on.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

export { tf };
export type Tensor = tf.Tensor;
export type Tensor1D = tf.Tensor1D;
export type Tensor2D = tf.Tensor2D;
export type Tensor4D = tf.Tensor4D;
export type Scalar = tf.Scalar;
export type Variable = tf.Variable;
export type LayersModel = tf.LayersModel;
export type Sequential = tf.Sequential;
export type NamedTensorMap = tf.NamedTensorMap;
export type Optimizer = tf.Optimizer;
export type SymbolicTensor = tf.SymbolicTensor;
