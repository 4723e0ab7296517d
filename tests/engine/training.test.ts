/**
 * Kernel coverage of the project's models on wasm (every forward and
 * gradient kernel exists and agrees with cpu), and a short DCGAN training
 * run on wasm whose losses track the same run on cpu.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf, type LayersModel } from '../../src/engine/index.js';
import { buildDiscriminator, buildGenerator, discriminatorGradients, generatorGradients, disposeGrads, Adam } from '../../src/dcgan/index.js';
import type { ModelSpec } from '../../src/dcgan/index.js';
import { buildBenchClassifier } from '../../src/bench/cases.js';
import { Rng } from '../../src/util/rng.js';

const SPEC: ModelSpec = { size: 16, nz: 8, gWidth: 4, dWidth: 4, numClasses: 0, seed: 11 };

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0, scale = 0;
  for (let i = 0; i < b.length; i++) { diff = Math.max(diff, Math.abs(a[i] - b[i])); scale = Math.max(scale, Math.abs(b[i])); }
  return diff / Math.max(scale, 1e-12);
}

/** Weights of `m` as plain arrays, to load the same model on another backend. */
const snapshot = (m: LayersModel) => m.getWeights().map((w) => ({ shape: w.shape, values: w.dataSync().slice() as Float32Array }));
const load = (m: LayersModel, ws: { shape: number[]; values: Float32Array }[]) => { const ts = ws.map((w) => tf.tensor(w.values, w.shape)); m.setWeights(ts); tf.dispose(ts); };

async function onBackend<T>(name: 'wasm' | 'cpu', fn: () => T | Promise<T>): Promise<T> {
  await initBackend(name);
  return fn();
}

beforeAll(async () => { await initBackend('wasm'); });

describe('models on wasm', () => {
  it('classifier (conv, batch norm, max-pool, dense, softmax CE): loss and every gradient match cpu; with dropout it trains', async () => {
    const rng = new Rng(3), B = 4, S = 16;
    const x = rng.normals(B * S * S * 3), labels = [0, 3, 6, 2];
    let weights: { shape: number[]; values: Float32Array }[] = [];
    // Dropout rate 0 for the comparison: dropout masks are random, so the two backends would differ.
    // Seeded kernels (the model's own initialisers are not seeded): with fresh random weights each
    // run, a ReLU input or max-pool pair within float rounding of a tie now and then routed a
    // gradient differently on the two backends (CI saw 1 % on the first conv's gradient once).
    const seeded = (m: LayersModel) => snapshot(m).map((w) => (w.shape.length >= 2 ? { shape: w.shape, values: Float32Array.from(rng.normals(w.values.length), (v) => v * 0.2) } : w));
    const run = () => {
      const m = buildBenchClassifier(S, 7, 0);
      if (!weights.length) weights = seeded(m);
      load(m, weights);
      const xs = tf.tensor4d(x, [B, S, S, 3]), ys = tf.oneHot(tf.tensor1d(labels, 'int32'), 7);
      const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(ys, m.apply(xs, { training: true }) as tf.Tensor) as tf.Scalar);
      const out = { loss: value.dataSync()[0], grads: Object.values(grads).map((g) => g.dataSync().slice() as Float32Array) };
      disposeGrads(grads); value.dispose(); tf.dispose([xs, ys]); m.dispose();
      return out;
    };
    const w = await onBackend('wasm', run);
    const c = await onBackend('cpu', run);
    expect(Math.abs(w.loss - c.loss) / Math.abs(c.loss)).toBeLessThan(1e-4);
    expect(w.grads).toHaveLength(c.grads.length);
    w.grads.forEach((g, i) => expect(relErr(g, c.grads[i]), `gradient ${i}`).toBeLessThan(1e-3));
    // And with real dropout it trains on wasm (its kernels exist).
    await initBackend('wasm');
    const m = buildBenchClassifier(S, 7);
    const g = tf.variableGrads(() => tf.tidy(() => tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(labels, 'int32'), 7), m.apply(tf.tensor4d(x, [B, S, S, 3]), { training: true }) as tf.Tensor) as tf.Scalar));
    expect(Number.isFinite(g.value.dataSync()[0])).toBe(true);
    disposeGrads(g.grads); g.value.dispose(); m.dispose();
  });

  it('a short DCGAN run (conv, conv-transpose, batch norm, leaky ReLU, dense, tanh, sigmoid CE) tracks cpu; tensor count flat', async () => {
    const rng = new Rng(17), B = 4, steps = 4;
    const real = rng.normals(B * 16 * 16 * 3).map((v) => Math.tanh(v));
    const noises = Array.from({ length: steps }, () => rng.normals(B * SPEC.nz));
    let init: { g: ReturnType<typeof snapshot>; d: ReturnType<typeof snapshot> } | undefined;
    const run = () => {
      const g = buildGenerator(SPEC), d = buildDiscriminator(SPEC);
      if (init) { load(g, init.g); load(d, init.d); } else init = { g: snapshot(g), d: snapshot(d) };
      const adam = { learningRate: 2e-3, beta1: 0.5, beta2: 0.999, epsilon: 1e-8 };
      const gOpt = new Adam(adam, g), dOpt = new Adam(adam, d);
      const realT = tf.tensor4d(real, [B, 16, 16, 3]);
      const losses: number[] = [], counts: number[] = [];
      for (let i = 0; i < steps; i++) {
        const z = tf.tensor2d(noises[i], [B, SPEC.nz]);
        const dg = discriminatorGradients(g, d, { real: realT, noise: z });
        dOpt.apply(dg.grads);
        const gg = generatorGradients(g, d, { noise: z });
        gOpt.apply(gg.grads);
        losses.push(dg.loss.dataSync()[0], gg.loss.dataSync()[0]);
        disposeGrads(dg.grads); disposeGrads(gg.grads);
        tf.dispose([dg.loss, dg.realProb, dg.fakeProb, gg.loss, z]);
        counts.push(tf.memory().numTensors);
      }
      realT.dispose(); gOpt.dispose(); dOpt.dispose(); g.dispose(); d.dispose();
      return { losses, counts };
    };
    const w = await onBackend('wasm', run);
    const c = await onBackend('cpu', run);
    expect(new Set(w.counts).size).toBe(1);
    expect(new Set(c.counts).size).toBe(1);
    w.losses.forEach((l, i) => expect(Math.abs(l - c.losses[i]) / Math.abs(c.losses[i]), `loss ${i}`).toBeLessThan(1e-3));
    // The run actually trains: the losses move.
    expect(relErr(w.losses.slice(-2), w.losses.slice(0, 2))).toBeGreaterThan(1e-3);
  });
});
