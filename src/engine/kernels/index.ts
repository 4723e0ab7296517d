/**
 * Custom kernels registered on backends that lack them or whose own are slow.
 * Only `wasm` (and where useful `cpu`) get them: the tfjs-node backends keep
 * libtensorflow's kernels untouched.
 */
import { tf } from '../tf.js';
import { makeBatchMatMul } from './batch-mat-mul.js';
import { makeConv2DBackpropFilter } from './conv2d-backprop-filter.js';
import { makeConv2DBackpropInput } from './conv2d-backprop-input.js';
import { makeTile } from './tile.js';
import { makeMean, makeSum } from './reduce.js';
import { makeMaxPoolGrad } from './max-pool-grad.js';
import { makeIdentity } from './identity.js';
import { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD, makeBatchNormTrain, makeBatchNormTrainGrad } from './batch-norm.js';
import { LEAKY_RELU_GRAD, makeLeakyRelu, makeLeakyReluGrad } from './leaky-relu.js';
import type { KernelFunc } from './types.js';

interface KernelSpec { kernelName: string; backends: string[]; make: (backendName: string) => KernelFunc }

const KERNELS: KernelSpec[] = [
  // wasm's own is 12× slower with transposeB and 40× with transposeA (every dense gradient).
  // First: kernels below that multiply use it.
  { kernelName: 'BatchMatMul', backends: ['wasm'], make: makeBatchMatMul },
  // Missing on wasm; on cpu the stock one is unusable (one DCGAN layer at batch 64: 740 s).
  { kernelName: 'Conv2DBackpropFilter', backends: ['wasm', 'cpu'], make: makeConv2DBackpropFilter },
  // wasm's own is a naive loop; this is every transposed conv's forward pass.
  { kernelName: 'Conv2DBackpropInput', backends: ['wasm'], make: makeConv2DBackpropInput },
  // wasm's own indexes per element; the batch-norm gradient tiles full activations.
  { kernelName: 'Tile', backends: ['wasm'], make: makeTile },
  // wasm's own transpose the whole tensor before reducing leading (batch/spatial) axes.
  { kernelName: 'Sum', backends: ['wasm'], make: makeSum },
  { kernelName: 'Mean', backends: ['wasm'], make: makeMean },
  // wasm's own was ~15% of a classifier training step.
  { kernelName: 'MaxPoolGrad', backends: ['wasm'], make: makeMaxPoolGrad },
  // wasm's own copies the buffer; tfjs clones every tensor it saves for backprop.
  { kernelName: 'Identity', backends: ['wasm'], make: makeIdentity },
  // New kernels (no stock equivalent): training-mode batch norm and its closed-form gradient,
  // used by engine/layers.ts instead of ≈ 30 element-wise kernels per layer.
  { kernelName: BATCH_NORM_TRAIN, backends: ['wasm', 'cpu'], make: makeBatchNormTrain },
  { kernelName: BATCH_NORM_TRAIN_GRAD, backends: ['wasm', 'cpu'], make: makeBatchNormTrainGrad },
  // wasm's own ran at ≈ 9 ns per element (branchy); the gradient is its own kernel (see below).
  { kernelName: 'LeakyRelu', backends: ['wasm'], make: makeLeakyRelu },
  { kernelName: LEAKY_RELU_GRAD, backends: ['wasm'], make: makeLeakyReluGrad },
];

let leakyReluGradientOverridden = false;

/**
 * LeakyRelu's gradient as one kernel where the backend has it (wasm),
 * instead of tfjs-core's Greater + Select + Multiply. Gradients are global
 * in tfjs, not per backend, so other backends keep calling tfjs-core's own.
 */
function overrideLeakyReluGradient(): void {
  if (leakyReluGradientOverridden) return;
  leakyReluGradientOverridden = true;
  const stockGradient = tf.getGradient('LeakyRelu')!;
  tf.registerGradient({
    ...stockGradient,
    gradFunc: (dy, saved, attrs) => {
      if (!tf.getKernel(LEAKY_RELU_GRAD, tf.getBackend())) return stockGradient.gradFunc(dy, saved, attrs);
      const [x] = saved;
      return { x: () => tf.engine().runKernel(LEAKY_RELU_GRAD, { dy: dy as tf.Tensor, x }, attrs) as tf.Tensor };
    },
  });
}

const registered = new Set<string>();
const stock = new Map<string, KernelFunc>();

/** Registers the custom kernels for `backendName`; returns their names. Idempotent. */
export function registerCustomKernels(backendName: string): string[] {
  const names: string[] = [];
  for (const spec of KERNELS) {
    if (!spec.backends.includes(backendName)) continue;
    if (spec.kernelName === LEAKY_RELU_GRAD) overrideLeakyReluGradient();
    const key = `${backendName}/${spec.kernelName}`;
    if (!registered.has(key)) {
      // make() first: some kernels keep the stock one as a fallback for cases they do not cover.
      const kernelFunc = spec.make(backendName);
      const previous = tf.getKernel(spec.kernelName, backendName);
      if (previous) {
        stock.set(key, previous.kernelFunc);
        tf.unregisterKernel(spec.kernelName, backendName);
      }
      tf.registerKernel({ kernelName: spec.kernelName, backendName, kernelFunc });
      registered.add(key);
    }
    names.push(spec.kernelName);
  }
  return names;
}

/**
 * The backend's own kernel for `kernelName` as it was before
 * registerCustomKernels replaced it (undefined if the backend had none),
 * e.g. as a reference in tests.
 */
export function stockKernel(kernelName: string, backendName: string): KernelFunc | undefined {
  const key = `${backendName}/${kernelName}`;
  return registered.has(key) ? stock.get(key) : tf.getKernel(kernelName, backendName)?.kernelFunc;
}

export { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD } from './batch-norm.js';
export { LEAKY_RELU_GRAD } from './leaky-relu.js';

/** Names of the kernels cellgan registers for `backendName` (without registering them). */
export function customKernelNames(backendName: string): string[] {
  return KERNELS.filter((k) => k.backends.includes(backendName)).map((k) => k.kernelName);
}
