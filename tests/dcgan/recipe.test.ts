/**
 * The pieces the training recipes are made of: spectral norm, hinge loss,
 * conditional batch norm, class-balanced batches, the EMA ramp-up, and the
 * 'sngan' recipe end to end (exact resume, flat tensor count, old runs).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/env.js';
import { train, readRun, buildGenerator, buildDiscriminator, RECIPES, recipeDifferences, equivalentRecipe } from '../../src/dcgan/index.js';
import { discriminatorLoss, generatorLoss, discriminatorGradients, disposeGrads } from '../../src/dcgan/step.js';
import { createParallelStep, localStep } from '../../src/dcgan/parallel.js';
import { emaDecay, nextBalancedBatch, type SamplerState } from '../../src/dcgan/train.js';
import { tf, initBackend, spectralNormConv2dLayer, spectralNormDenseLayer, powerIterateModel, isSpectralNormLayer } from '../../src/engine/index.js';
import { Rng } from '../../src/util/rng.js';
import { tinyOptions, checkpointBytes, readJsonl } from './helpers.js';

const tmp = tempDir('cellgan-recipe-');
beforeAll(async () => { await initBackend('wasm'); });
afterAll(() => tmp.cleanup());
const out = (name: string) => path.join(tmp.dir, name);

/** Largest singular value of a K × N matrix (float64 power iteration on MᵀM). */
function topSingularValue(m: number[][]): number {
  const K = m.length, N = m[0].length;
  let u = new Float64Array(N).fill(1);
  let sigma = 0;
  for (let it = 0; it < 3000; it++) {
    const v = new Float64Array(K);
    for (let i = 0; i < K; i++) for (let j = 0; j < N; j++) v[i] += m[i][j] * u[j];
    const w = new Float64Array(N);
    for (let i = 0; i < K; i++) for (let j = 0; j < N; j++) w[j] += m[i][j] * v[i];
    const n = Math.hypot(...w);
    sigma = Math.sqrt(n);
    u = w.map((a) => a / n);
  }
  return sigma;
}

describe('spectral norm layers', () => {
  it('estimate the kernel\'s largest singular value and normalise by it; u, v are not trainable', () => {
    for (const make of [
      () => ({ layer: spectralNormConv2dLayer({ filters: 6, kernelSize: 3, padding: 'same', kernelInitializer: tf.initializers.randomNormal({ stddev: 0.3, seed: 3 }) }), x: tf.randomNormal([2, 5, 5, 4], 0, 1, 'float32', 1) }),
      () => ({ layer: spectralNormDenseLayer({ units: 5, kernelInitializer: tf.initializers.randomNormal({ stddev: 0.3, seed: 4 }) }), x: tf.randomNormal([3, 7], 0, 1, 'float32', 2) }),
    ]) {
      const { layer, x } = make();
      const y0 = layer.apply(x) as tf.Tensor;
      expect(layer.trainableWeights.map((w) => w.originalName.split('/').pop())).toEqual(['kernel', 'bias']);
      expect(layer.nonTrainableWeights.map((w) => w.originalName.split('/').pop())).toEqual(['sn_u', 'sn_v']);
      if (!isSpectralNormLayer(layer)) throw new Error('not a spectral-norm layer');
      const kernel = layer.getWeights()[0];
      const m = kernel.reshape([-1, kernel.shape[kernel.rank - 1]]).arraySync() as number[][];
      const truth = topSingularValue(m);
      layer.powerIterate(200);
      expect(Math.abs(layer.sigma() - truth) / truth).toBeLessThan(1e-4);
      // The layer's output is that of the kernel divided by σ (bias 0 at init).
      const y = layer.apply(x) as tf.Tensor;
      const plain = (kernel.rank === 4 ? tf.conv2d(x as tf.Tensor4D, kernel as tf.Tensor4D, 1, 'same') : tf.matMul(x as tf.Tensor2D, kernel as tf.Tensor2D));
      const err = tf.max(tf.abs(tf.sub(tf.mul(y, truth), plain))).dataSync()[0];
      expect(err).toBeLessThan(1e-4 * tf.max(tf.abs(plain)).dataSync()[0]);
      // The forward pass alone does not move the estimate (only powerIterate does).
      const u0 = layer.getWeights()[2].dataSync().slice();
      layer.apply(x);
      expect(layer.getWeights()[2].dataSync()).toEqual(u0);
      tf.dispose([x, y0, y, plain]);
    }
  });

  it('a spectrally normalised D is 1-Lipschitz-ish: scaling its kernels does not change its outputs', () => {
    const spec = { size: 32, nz: 8, gWidth: 4, dWidth: 4, numClasses: 3, seed: 5, dNorm: 'spectral' as const };
    const d = buildDiscriminator(spec);
    try {
      expect(d.layers.filter(isSpectralNormLayer).length).toBe(3 + 2); // 3 convs, logit, embedding
      expect(d.layers.some((l) => l.getClassName() === 'BatchNormalization')).toBe(false);
      const x = tf.randomUniform([2, 32, 32, 3], -1, 1, 'float32', 9);
      const y = tf.oneHot(tf.tensor1d([0, 2], 'int32'), 3).toFloat();
      powerIterateModel(d, 100);
      const a = (d.predict([x, y]) as tf.Tensor).dataSync().slice();
      // W/σ(W) is invariant to W → cW (once the estimate has followed).
      for (const w of d.trainableWeights) if (w.originalName.endsWith('kernel')) w.write(tf.mul(w.read(), 3));
      powerIterateModel(d, 100);
      const b = (d.predict([x, y]) as tf.Tensor).dataSync();
      for (let i = 0; i < a.length; i++) expect(b[i]).toBeCloseTo(a[i], 4);
      tf.dispose([x, y]);
    } finally {
      d.dispose();
    }
  });

  it('data-parallel gradients of a spectral-norm D with one worker equal the in-thread ones', async () => {
    const spec = { size: 32, nz: 8, gWidth: 4, dWidth: 4, numClasses: 3, seed: 5, dNorm: 'spectral' as const, gConditioning: 'batchnorm' as const };
    const g = buildGenerator(spec), d = buildDiscriminator(spec);
    const step = await createParallelStep(spec, { workers: 1, losses: { loss: 'hinge' } });
    try {
      powerIterateModel(d, 5);
      const batch = () => ({
        real: tf.randomUniform([4, 32, 32, 3], -1, 1, 'float32', 1) as tf.Tensor4D, noise: tf.randomNormal([4, 8], 0, 1, 'float32', 2) as tf.Tensor2D,
        realLabels: tf.oneHot(tf.tensor1d([0, 1, 2, 0], 'int32'), 3).toFloat() as tf.Tensor2D, fakeLabels: tf.oneHot(tf.tensor1d([2, 1, 0, 1], 'int32'), 3).toFloat() as tf.Tensor2D,
      });
      const b = batch();
      const u = d.nonTrainableWeights.find((w) => w.originalName.endsWith('sn_u'))!;
      const uBefore = u.read().dataSync().slice();
      const local = await localStep({ loss: 'hinge' }).discriminatorGradients(g, d, b);
      const par = await step.discriminatorGradients(g, d, b);
      expect(Math.abs(local.loss.dataSync()[0] - par.loss.dataSync()[0])).toBeLessThan(1e-5);
      for (const [name, t] of Object.entries(local.grads)) {
        const diff = tf.max(tf.abs(tf.sub(t, par.grads[name]))).dataSync()[0];
        const scale = tf.max(tf.abs(t)).dataSync()[0] + 1e-8;
        expect(diff / scale, name).toBeLessThan(1e-4);
      }
      // The worker's copy of the spectral vectors is not written back.
      expect(u.read().dataSync()).toEqual(uBefore);
      disposeGrads(local.grads); disposeGrads(par.grads);
      tf.dispose([local.loss, local.realProb, local.fakeProb, par.loss, par.realProb, par.fakeProb, ...Object.values(b)]);
    } finally {
      await step.close();
      g.dispose(); d.dispose();
    }
  }, 120_000);
});

describe('losses', () => {
  it('hinge and non-saturating losses on known logits', () => {
    const real = tf.tensor1d([2, 0.5, -1]), fake = tf.tensor1d([-2, 0, 1.5]);
    // hinge D: mean(relu(1 - r)) + mean(relu(1 + f)) = (0 + .5 + 2)/3 + (0 + 1 + 2.5)/3
    expect(discriminatorLoss('hinge', real, fake).dataSync()[0]).toBeCloseTo(2.5 / 3 + 3.5 / 3, 6);
    expect(generatorLoss('hinge', fake).dataSync()[0]).toBeCloseTo(-(-2 + 0 + 1.5) / 3, 6);
    const sp = (x: number) => Math.log1p(Math.exp(x));
    expect(discriminatorLoss('bce', real, fake).dataSync()[0]).toBeCloseTo((sp(-2) + sp(-0.5) + sp(1)) / 3 + (sp(-2) + sp(0) + sp(1.5)) / 3, 5);
    expect(generatorLoss('bce', fake).dataSync()[0]).toBeCloseTo((sp(2) + sp(0) + sp(-1.5)) / 3, 5);
    tf.dispose([real, fake]);
  });
});

describe('conditional batch norm in G', () => {
  it('has a per-class gain and bias after every batch norm, starting as plain batch norm', () => {
    const spec = { size: 32, nz: 8, gWidth: 4, dWidth: 4, numClasses: 3, seed: 5, gConditioning: 'batchnorm' as const };
    const g = buildGenerator(spec), plain = buildGenerator({ ...spec, gConditioning: 'input' as const });
    try {
      const gains = g.layers.filter((l) => /^g_cbn\d+_gain$/.test(l.name));
      expect(gains.length).toBe(3); // 4×4, 8×8, 16×16 blocks of a 32-px G
      const z = tf.randomNormal([3, 8], 0, 1, 'float32', 4), y = tf.oneHot(tf.tensor1d([0, 1, 2], 'int32'), 3).toFloat();
      // Same seed, gain 1 and bias 0: the same images as the plain conditional G.
      const a = (g.predict([z, y]) as tf.Tensor).dataSync().slice();
      const p = (plain.predict([z, y]) as tf.Tensor).dataSync();
      for (let i = 0; i < a.length; i += 97) expect(a[i]).toBeCloseTo(p[i], 5);
      // Changing class 1's gain changes only class 1's image.
      const w = gains[0].getWeights()[0];
      gains[0].setWeights([tf.tensor2d((w.arraySync() as number[][]).map((row, c) => row.map((v) => (c === 1 ? v * 2 : v))) as number[][])]);
      const b = (g.predict([z, y]) as tf.Tensor).dataSync();
      const per = a.length / 3;
      const changed = (k: number) => a.slice(k * per, (k + 1) * per).some((v, i) => Math.abs(v - b[k * per + i]) > 1e-6);
      expect([changed(0), changed(1), changed(2)]).toEqual([false, true, false]);
      tf.dispose([z, y]); // w is the variable itself (getWeights returns the live values)
    } finally {
      g.dispose(); plain.dispose();
    }
  });
});

describe('class-balanced batches', () => {
  it('draw every class about equally often whatever the class sizes, and each class\'s images in turn', () => {
    const counts = [2, 20, 200, 2000];
    const labels = new Int32Array(counts.flatMap((n, c) => Array.from({ length: n }, () => c)));
    const state: SamplerState = { order: [], cursor: 0, epoch: 0 };
    const rng = new Rng(3);
    const seen = [0, 0, 0, 0];
    const smallest = new Map<number, number>();
    for (let b = 0; b < 250; b++) {
      for (const i of nextBalancedBatch(state, rng, labels, 4, 32)) {
        seen[labels[i]]++;
        if (labels[i] === 0) smallest.set(i, (smallest.get(i) ?? 0) + 1);
      }
    }
    for (const n of seen) expect(Math.abs(n / 8000 - 0.25)).toBeLessThan(0.02);
    // Both images of the 2-image class are used, equally (each class's order is exhausted before a reshuffle).
    expect([...smallest.values()].every((n) => Math.abs(n - seen[0] / 2) <= 1)).toBe(true);
  });
});

describe('EMA ramp-up', () => {
  it('limits the half-life to rampup × iterations, and never exceeds emaDecay', () => {
    expect(emaDecay({ emaDecay: 0.999, emaRampup: 0.05 }, 1000)).toBeCloseTo(0.5 ** (1 / 50), 12);
    expect(emaDecay({ emaDecay: 0.999, emaRampup: 0.05 }, 1e6)).toBe(0.999);
    expect(emaDecay({ emaDecay: 0.999, emaRampup: 0 }, 10)).toBeCloseTo(11 / 20, 12);
    expect(emaDecay({ emaDecay: 0.9, emaRampup: 0 }, 1e4)).toBe(0.9);
  });
});

describe("train with the 'sngan' recipe", () => {
  const extra = { recipe: 'sngan' as const, conditional: true, className: undefined, batch: 4, gWidth: 2, dWidth: 2, iters: 6, checkpointEvery: 4 };

  it('records the recipe and its settings, stopped at 3 and resumed to 6 equals an uninterrupted run bit for bit', async () => {
    const full = await train(tinyOptions(out('sn-full'), extra));
    const info = await readRun(out('sn-full'));
    const r = RECIPES.sngan;
    expect(info.options.options).toMatchObject({ recipe: 'sngan', loss: r.loss, dNorm: r.dNorm, gConditioning: r.gConditioning, dLr: r.dLr, lr: r.lr, balancedClasses: true, diffAugment: r.diffAugment });
    expect(info.options.model).toMatchObject({ dNorm: 'spectral', gConditioning: 'batchnorm' });
    const ctl = new AbortController();
    await train({ ...tinyOptions(out('sn-part'), extra), signal: ctl.signal, onIteration: (i) => { if (i === 3) ctl.abort(); } });
    const resumed = await train({ resume: out('sn-part'), iters: 6 });
    const a = await checkpointBytes(full.checkpoint), b = await checkpointBytes(resumed.checkpoint);
    for (const k of Object.keys(a)) expect(Buffer.compare(a[k], b[k]), k).toBe(0);
    const other = await train(tinyOptions(out('sn-other'), { ...extra, seed: 8 }));
    expect(Buffer.compare(a['discriminator/weights.bin'], (await checkpointBytes(other.checkpoint))['discriminator/weights.bin'])).not.toBe(0);
    const stats = await readJsonl<{ d_loss: number; g_loss: number }>(path.join(out('sn-full'), 'stats.jsonl'));
    expect(stats.every((s) => Number.isFinite(s.d_loss) && Number.isFinite(s.g_loss))).toBe(true);
  });

  it('keeps tf.memory().numTensors flat', async () => {
    const counts: number[] = [];
    await train(tinyOptions(out('sn-memory'), { ...extra, iters: 20, logEvery: 5, gridEvery: 10, checkpointEvery: 10, onIteration: () => counts.push(tf.memory().numTensors) }));
    expect(new Set(counts.slice(1)).size).toBe(1);
  });

  it('a run made before recipes existed (no recipe fields in options.json) resumes as dcgan', async () => {
    const run = out('legacy');
    await train(tinyOptions(run, { recipe: 'dcgan', iters: 2 }));
    const file = path.join(run, 'options.json');
    const json = JSON.parse(await fs.readFile(file, 'utf8'));
    for (const k of ['recipe', 'emaRampup', 'loss', 'dNorm', 'gConditioning', 'dLr', 'balancedClasses']) delete json.options[k];
    for (const k of ['dNorm', 'gConditioning']) delete json.model[k];
    await fs.writeFile(file, JSON.stringify(json));
    const r = await train({ resume: run, iters: 4 });
    expect(r.iteration).toBe(4);
  });
});

describe('DiffAugment translation', () => {
  it('equals pad-and-crop per sample, forward and gradient, for shifts up to and beyond the image', async () => {
    const { translate } = await import('../../src/dcgan/diffaugment.js');
    const n = 5, h = 6, w = 7, pad = 8;
    const sx = [0, 3, -2, 7, -8], sy = [1, -3, 0, -6, 8];
    const reference = (y: tf.Tensor4D) => {
      const padded = tf.pad(y, [[0, 0], [pad, pad], [pad, pad], [0, 0]]);
      return tf.concat(Array.from({ length: n }, (_, i) => tf.slice(padded, [i, pad - sy[i], pad - sx[i], 0], [1, h, w, 3])), 0) as tf.Tensor4D;
    };
    const x = tf.randomNormal([n, h, w, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
    const weights = tf.randomNormal([n, h, w, 3], 0, 1, 'float32', 6);
    expect(Array.from(translate(x, sx, sy).dataSync())).toEqual(Array.from(reference(x).dataSync()));
    const grad = (f: (y: tf.Tensor4D) => tf.Tensor4D) => tf.grad((y: tf.Tensor) => tf.sum(tf.mul(f(y as tf.Tensor4D), weights)))(x).dataSync();
    expect(Array.from(grad((y) => translate(y, sx, sy)))).toEqual(Array.from(grad(reference)));
    tf.dispose([x, weights]);
  });
});

describe('the recipe a run amounts to', () => {
  it('lists the settings that differ from a recipe and names the recipe they equal', () => {
    const snganAux1 = { ...RECIPES.sngan, recipe: 'sngan', auxWeight: 1, iters: 10_000, description: undefined };
    expect(recipeDifferences('sngan', snganAux1)).toEqual({ auxWeight: 1 });
    expect(recipeDifferences('sngan-aux', snganAux1)).toEqual({});
    // Started as `--recipe sngan --aux-weight 1` before sngan-aux had a name: reported as sngan-aux.
    expect(equivalentRecipe('sngan', snganAux1)).toBe('sngan-aux');
    expect(equivalentRecipe('sngan', { ...RECIPES.sngan })).toBe('sngan');
    // Settings no recipe has keep the recorded name; the difference is listed against it.
    const wider = { ...RECIPES.sngan, gWidth: 48 };
    expect(equivalentRecipe('sngan', wider)).toBe('sngan');
    expect(recipeDifferences('sngan', wider)).toEqual({ gWidth: 48 });
    expect(recipeDifferences('dcgan', { ...RECIPES.dcgan, diffAugment: ['translation'] })).toEqual({ diffAugment: ['translation'] });
  });
});
