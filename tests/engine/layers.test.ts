/**
 * engine/layers.ts against the stock tfjs-layers layers they replace:
 * - conv2dLayer: same results as tfjs' Conv2D, but its gradient only computes
 *   what the tape needs (no filter gradient when only the input is
 *   differentiated, no input gradient for a constant input), and it saves as
 *   a stock "Conv2D".
 * - batchNormalizationLayer: in training mode the two fused kernels give the
 *   same output, gradients and moving statistics as tf.moments + tf.batchNorm,
 *   on cpu and on wasm.
 * - standingBatchNormStatistics: the moving statistics become the plain mean
 *   of the batch statistics, whatever they were, and momentum is restored.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { batchNormalizationLayer, conv2dLayer, initBackend, standingBatchNormStatistics, tf } from '../../src/engine/index.js';
import { Rng } from '../../src/util/rng.js';

type Conv2DArgs = Parameters<typeof tf.layers.conv2d>[0];

beforeAll(async () => { await initBackend('cpu'); });

/** Two convs (the second with bias and relu, to cover those paths), built with `make`. */
function twoConvs(make: (args: Conv2DArgs) => tf.layers.Layer): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 3] });
  let x = make({ filters: 4, kernelSize: 4, strides: 2, padding: 'same', useBias: false, name: 'c1', kernelInitializer: tf.initializers.randomNormal({ seed: 1 }) }).apply(input) as tf.SymbolicTensor;
  x = make({ filters: 5, kernelSize: 3, padding: 'valid', activation: 'relu', name: 'c2', kernelInitializer: tf.initializers.randomNormal({ seed: 2 }), biasInitializer: tf.initializers.randomNormal({ seed: 3 }) }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: x });
}

const kernelCalls = async (f: () => tf.TensorContainer): Promise<Map<string, number>> => {
  const info = await tf.profile(() => { f(); });
  const calls = new Map<string, number>();
  for (const k of info.kernels) calls.set(k.name, (calls.get(k.name) ?? 0) + 1);
  return calls;
};

describe('conv2dLayer', () => {
  let x: tf.Tensor4D, stock: tf.LayersModel, ours: tf.LayersModel;
  beforeAll(() => {
    x = tf.tensor4d(new Rng(5).normals(2 * 8 * 8 * 3), [2, 8, 8, 3]);
    stock = twoConvs((a) => tf.layers.conv2d(a));
    ours = twoConvs(conv2dLayer);
  });

  it('gives the same output and weight gradients as tfjs Conv2D', () => {
    const run = (m: tf.LayersModel) => {
      const vars = m.trainableWeights.map((w) => w.read() as tf.Variable);
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(m.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar, vars);
      return { loss: value.dataSync()[0], grads: vars.map((v) => grads[v.name].dataSync()) };
    };
    const a = run(stock), b = run(ours);
    expect(b.loss).toBeCloseTo(a.loss, 4);
    expect(b.grads.length).toBe(3);
    b.grads.forEach((g, i) => g.forEach((v, j) => expect(v).toBeCloseTo(a.grads[i][j], 4)));
    // Inference (no tape) takes the stock path and agrees too.
    const ya = (stock.predict(x) as tf.Tensor).dataSync(), yb = (ours.predict(x) as tf.Tensor).dataSync();
    yb.forEach((v, j) => expect(v).toBeCloseTo(ya[j], 5));
  });

  it('computes no filter gradient when only the input is differentiated (a DCGAN generator step through D)', async () => {
    const inputGrad = (m: tf.LayersModel) => () => tf.grad((img: tf.Tensor) => tf.sum(m.apply(img, { training: true }) as tf.Tensor))(x);
    // Stock: c1 (linear, fused) computes its filter gradient anyway; c2 (relu) already runs unfused under a tape.
    expect((await kernelCalls(inputGrad(stock))).get('Conv2DBackpropFilter')).toBe(1);
    const calls = await kernelCalls(inputGrad(ours));
    expect(calls.get('Conv2DBackpropFilter')).toBeUndefined();
    expect(calls.get('Conv2DBackpropInput')).toBe(2);
  });

  it('computes no input gradient for a constant input (a discriminator step on images)', async () => {
    const weightGrad = (m: tf.LayersModel) => () => tf.variableGrads(() => tf.sum(m.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, m.trainableWeights.map((w) => w.read() as tf.Variable)).grads;
    expect((await kernelCalls(weightGrad(stock))).get('Conv2DBackpropInput')).toBe(2);
    const calls = await kernelCalls(weightGrad(ours));
    expect(calls.get('Conv2DBackpropInput')).toBe(1); // the second layer's, needed for the first layer's filter gradient
    expect(calls.get('Conv2DBackpropFilter')).toBe(2);
  });

  it('saves as a stock Conv2D that tf.loadLayersModel reads back', async () => {
    const json = ours.toJSON(null, false) as { config: { layers: { class_name: string }[] } };
    expect(json.config.layers.map((l) => l.class_name)).toEqual(['InputLayer', 'Conv2D', 'Conv2D']);
    let artifacts: tf.io.ModelArtifacts | undefined;
    await ours.save(tf.io.withSaveHandler(async (a) => { artifacts = a; return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }; }));
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts!));
    const ya = (ours.predict(x) as tf.Tensor).dataSync(), yb = (loaded.predict(x) as tf.Tensor).dataSync();
    yb.forEach((v, j) => expect(v).toBeCloseTo(ya[j], 6));
  });
});

describe('batchNormalizationLayer', () => {
  type BatchNormArgs = NonNullable<Parameters<typeof tf.layers.batchNormalization>[0]>;
  const relErr = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
    let diff = 0, scale = 0;
    for (let i = 0; i < b.length; i++) { diff = Math.max(diff, Math.abs(a[i] - b[i])); scale = Math.max(scale, Math.abs(b[i])); }
    return diff / Math.max(scale, 1e-12);
  };

  /** One BN layer with non-trivial gamma, beta and moving statistics; a loss that weights every output differently. */
  function run(make: (a: BatchNormArgs) => tf.layers.Layer, shape: number[], seed: number) {
    const C = shape[shape.length - 1], rng = new Rng(seed);
    const input = tf.input({ shape: shape.slice(1) });
    const model = tf.model({ inputs: input, outputs: make({ momentum: 0.9, epsilon: 1e-5 }).apply(input) as tf.SymbolicTensor });
    const init = [rng.normals(C).map((v) => 1 + 0.3 * v), rng.normals(C), rng.normals(C), rng.normals(C).map((v) => 1 + Math.abs(v))];
    model.setWeights(init.map((v) => tf.tensor1d(v)));
    const size = shape.reduce((a, b) => a * b, 1);
    // Offset 3 and spread 2: the statistics are not the trivial 0 and 1.
    const x = tf.tensor(rng.normals(size).map((v) => 3 + 2 * v), shape);
    const w = tf.tensor(rng.normals(size), shape);
    const gamma = model.trainableWeights[0].read() as tf.Variable, beta = model.trainableWeights[1].read() as tf.Variable;
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(tf.square(model.apply(x, { training: true }) as tf.Tensor), w)) as tf.Scalar, [gamma, beta]);
    const dx = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(tf.square(model.apply(xi, { training: true }) as tf.Tensor), w)))(x);
    const out = {
      loss: value.dataSync()[0], dgamma: grads[gamma.name].dataSync(), dbeta: grads[beta.name].dataSync(), dx: dx.dataSync(),
      // Two training calls above (variableGrads, grad): the moving statistics moved twice.
      moving: model.getWeights().slice(2).map((t) => t.dataSync()),
      inference: (model.predict(x) as tf.Tensor).dataSync(),
    };
    tf.dispose([x, w, dx, value, ...Object.values(grads)]);
    return out;
  }

  for (const backend of ['cpu', 'wasm'] as const) {
    for (const shape of [[4, 5, 5, 8], [2, 3, 3, 32], [16, 6]]) {
      it(`${backend} ${JSON.stringify(shape)}: output, gradients (x, gamma, beta) and moving statistics match the stock layer`, async () => {
        await initBackend(backend);
        const want = run((a) => tf.layers.batchNormalization(a), shape, 7);
        const got = run(batchNormalizationLayer, shape, 7);
        expect(Math.abs(got.loss - want.loss) / Math.abs(want.loss)).toBeLessThan(1e-5);
        expect(relErr(got.dx, want.dx)).toBeLessThan(1e-4);
        expect(relErr(got.dgamma, want.dgamma)).toBeLessThan(1e-4);
        expect(relErr(got.dbeta, want.dbeta)).toBeLessThan(1e-4);
        got.moving.forEach((m, i) => expect(relErr(m, want.moving[i])).toBeLessThan(1e-5));
        expect(relErr(got.inference, want.inference)).toBeLessThan(1e-6);
      });
    }
  }

  it('runs the fused kernels in training (no FusedBatchNorm, no per-op moments) and the stock kernel in inference', async () => {
    await initBackend('wasm');
    const input = tf.input({ shape: [4, 4, 8] });
    const model = tf.model({ inputs: input, outputs: batchNormalizationLayer().apply(input) as tf.SymbolicTensor });
    const x = tf.randomNormal([2, 4, 4, 8]);
    const train = await kernelCalls(() => tf.grad((xi: tf.Tensor) => tf.sum(model.apply(xi, { training: true }) as tf.Tensor))(x));
    expect(train.get('CellganBatchNormTrain')).toBe(1);
    expect(train.get('CellganBatchNormTrainGrad')).toBe(1);
    expect(train.get('FusedBatchNorm')).toBeUndefined();
    expect(train.get('Mean')).toBeUndefined();
    const infer = await kernelCalls(() => model.predict(x) as tf.Tensor);
    expect(infer.get('FusedBatchNorm')).toBe(1);
    expect(infer.get('CellganBatchNormTrain')).toBeUndefined();
    x.dispose();
  });

  it('keeps the tensor count flat across training calls', async () => {
    await initBackend('wasm');
    const input = tf.input({ shape: [4, 4, 8] });
    const model = tf.model({ inputs: input, outputs: batchNormalizationLayer().apply(input) as tf.SymbolicTensor });
    const x = tf.randomNormal([2, 4, 4, 8]);
    const step = () => { const g = tf.grad((xi: tf.Tensor) => tf.sum(model.apply(xi, { training: true }) as tf.Tensor))(x); g.dispose(); };
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});

describe('standingBatchNormStatistics', () => {
  it('sets the moving mean and variance to the mean of the batch statistics, restores momentum, keeps tensors flat', async () => {
    for (const backend of ['cpu', 'wasm'] as const) {
      await initBackend(backend);
      const input = tf.input({ shape: [2, 2, 3] });
      const bn = batchNormalizationLayer({ momentum: 0.9, name: 'bn' });
      const model = tf.model({ inputs: input, outputs: bn.apply(input) as tf.SymbolicTensor });
      const rng = new Rng(11);
      const batches = [0, 1, 2, 3].map((k) => { const b = rng.normals(5 * 2 * 2 * 3); for (let i = 0; i < b.length; i++) b[i] = b[i] * (1 + k) + k; return b; });
      // Stale statistics first, as a generator's EMA copy has them.
      tf.tidy(() => { model.apply(tf.tensor4d(new Rng(12).normals(5 * 12).map((v) => v * 9 + 40), [5, 2, 2, 3]), { training: true }); });
      const before = tf.memory().numTensors;
      const updated = standingBatchNormStatistics(model, batches.length, (step) => {
        tf.tidy(() => { model.apply(tf.tensor4d(batches[step], [5, 2, 2, 3]), { training: true }); });
      });
      expect(updated).toBe(1);
      expect(tf.memory().numTensors).toBe(before);
      // Expected: per channel, the mean over batches of each batch's mean and biased variance.
      const mean = [0, 0, 0], variance = [0, 0, 0];
      for (const b of batches) {
        for (let c = 0; c < 3; c++) {
          const v = Array.from({ length: 20 }, (_, i) => b[i * 3 + c]);
          const m = v.reduce((a, x) => a + x, 0) / 20;
          mean[c] += m / batches.length;
          variance[c] += v.reduce((a, x) => a + (x - m) ** 2, 0) / 20 / batches.length;
        }
      }
      const [movingMean, movingVariance] = bn.getWeights().slice(2).map((w) => Array.from(w.dataSync()));
      movingMean.forEach((v, c) => expect(v).toBeCloseTo(mean[c], 4));
      movingVariance.forEach((v, c) => expect(v).toBeCloseTo(variance[c], 4));
      expect((bn as unknown as { momentum: number }).momentum).toBe(0.9);
      expect(() => standingBatchNormStatistics(model, 0, () => {})).toThrow(/steps/);
      model.dispose();
    }
    await initBackend('cpu');
  });
});
