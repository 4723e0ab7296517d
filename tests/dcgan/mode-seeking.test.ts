/**
 * The mode-seeking lever (`modeSeekingWeight`, step.ts; MSGAN): the ratio it
 * measures, the term it adds to G's loss, its data-parallel form, and a
 * training run with it (recorded, logged, resumed bit for bit, tensor count flat).
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/env.js';
import { train, readRun, buildGenerator, buildDiscriminator } from '../../src/dcgan/index.js';
import { generatorGradients, modeSeekingRatio, disposeGrads } from '../../src/dcgan/step.js';
import { createParallelStep } from '../../src/dcgan/parallel.js';
import type { ModelSpec } from '../../src/dcgan/models.js';
import { tf, initBackend, powerIterateModel } from '../../src/engine/index.js';
import { tinyOptions, checkpointBytes, readJsonl } from './helpers.js';

const tmp = tempDir('cellgan-ms-');
beforeAll(async () => { await initBackend('wasm'); });
afterAll(() => tmp.cleanup());
const out = (name: string) => path.join(tmp.dir, name);

const SPEC: ModelSpec = { size: 32, nz: 8, gWidth: 4, dWidth: 4, numClasses: 3, seed: 5, dNorm: 'spectral', gConditioning: 'batchnorm' };
const oneHot = (labels: number[]) => tf.oneHot(tf.tensor1d(labels, 'int32'), 3).toFloat() as tf.Tensor2D;
const rms = (a: number[], b: number[]) => Math.sqrt(a.reduce((s, x, i) => s + (x - b[i]) ** 2, 0) / a.length);

describe('mode-seeking ratio', () => {
  it('is the mean over same-label pairs of rms(image distance) / rms(noise distance); null without such a pair', () => {
    // Three 1×1×2 "images": 0 and 2 share a label, 1 is alone.
    const img = [[0, 0], [5, 5], [3, 4]], z = [[0, 0, 0, 0], [1, 1, 1, 1], [2, 0, 0, 0]];
    const fake = tf.tensor4d(img.flat(), [3, 1, 1, 2]), noise = tf.tensor2d(z);
    const labels = oneHot([0, 1, 0]);
    const got = modeSeekingRatio(fake, noise, labels)!;
    expect(got.dataSync()[0]).toBeCloseTo(rms(img[0], img[2]) / rms(z[0], z[2]), 3);
    // Unconditional: every ordered pair i ≠ j.
    const pairs = [[0, 1], [0, 2], [1, 2]].map(([i, j]) => rms(img[i], img[j]) / rms(z[i], z[j]));
    const all = modeSeekingRatio(fake, noise, undefined)!;
    expect(all.dataSync()[0]).toBeCloseTo(pairs.reduce((s, x) => s + x, 0) / 3, 3);
    const distinct = oneHot([0, 1, 2]);
    expect(modeSeekingRatio(fake, noise, distinct)).toBeNull();
    tf.dispose([fake, noise, labels, got, all, distinct]);
  });

  it('adds λ / (ratio + ε) to G\'s loss and changes its gradients; λ = 0 is the plain loss; one worker equals this thread', async () => {
    const g = buildGenerator(SPEC), d = buildDiscriminator(SPEC);
    const noise = tf.randomNormal([6, 8], 0, 1, 'float32', 3) as tf.Tensor2D, fakeLabels = oneHot([0, 0, 1, 1, 2, 2]);
    const step = await createParallelStep(SPEC, { workers: 1, losses: { loss: 'hinge', modeSeekingWeight: 0.7 } });
    try {
      powerIterateModel(d, 3);
      const plain = generatorGradients(g, d, { noise, fakeLabels }, { loss: 'hinge' });
      const ms = generatorGradients(g, d, { noise, fakeLabels }, { loss: 'hinge', modeSeekingWeight: 0.7 });
      expect(plain.modeSeekingRatio).toBeUndefined();
      const ratio = ms.modeSeekingRatio!.dataSync()[0];
      expect(ratio).toBeGreaterThan(0);
      expect(ms.loss.dataSync()[0]).toBeCloseTo(plain.loss.dataSync()[0] + 0.7 / (ratio + 1e-5), 3);
      const differs = Object.keys(plain.grads).some((k) => {
        const a = plain.grads[k].dataSync(), b = ms.grads[k].dataSync();
        return a.some((x, i) => Math.abs(x - b[i]) > 1e-6);
      });
      expect(differs).toBe(true);
      for (const t of Object.values(ms.grads)) expect(Array.from(t.dataSync()).every(Number.isFinite)).toBe(true);
      const remote = await step.generatorGradients(g, d, { noise, fakeLabels });
      expect(remote.modeSeekingRatio!.dataSync()[0]).toBeCloseTo(ratio, 5);
      for (const [k, t] of Object.entries(ms.grads)) {
        const r = remote.grads[k].dataSync();
        t.dataSync().forEach((x, i) => expect(r[i], k).toBeCloseTo(x, 4));
      }
      for (const r of [plain, ms, remote]) { disposeGrads(r.grads); tf.dispose([r.loss, r.modeSeekingRatio!].filter(Boolean)); }
    } finally {
      await step.close();
      tf.dispose([noise, fakeLabels]);
      g.dispose(); d.dispose();
    }
  });
});

describe('train --mode-seeking-weight', () => {
  const extra = { recipe: 'sngan' as const, conditional: true, className: undefined, batch: 6, gWidth: 2, dWidth: 2, iters: 6, checkpointEvery: 4, modeSeekingWeight: 1 };

  it('records λ, logs the ratio, resumes bit for bit and keeps the tensor count flat', async () => {
    const counts: number[] = [];
    const full = await train({ ...tinyOptions(out('ms-full'), extra), onIteration: () => counts.push(tf.memory().numTensors) });
    expect(new Set(counts.slice(1)).size).toBe(1);
    expect((await readRun(out('ms-full'))).options.options.modeSeekingWeight).toBe(1);
    const stats = await readJsonl<{ g_ms_ratio?: number }>(path.join(out('ms-full'), 'stats.jsonl'));
    expect(stats.length).toBeGreaterThan(0);
    expect(stats.every((s) => s.g_ms_ratio! > 0)).toBe(true);
    const ctl = new AbortController();
    await train({ ...tinyOptions(out('ms-part'), extra), signal: ctl.signal, onIteration: (i) => { if (i === 3) ctl.abort(); } });
    const resumed = await train({ resume: out('ms-part'), iters: 6 });
    const a = await checkpointBytes(full.checkpoint), b = await checkpointBytes(resumed.checkpoint);
    for (const k of Object.keys(a)) expect(Buffer.compare(a[k], b[k]), k).toBe(0);
  });

  it('refuses a weight out of range', async () => {
    await expect(train(tinyOptions(out('ms-bad'), { ...extra, modeSeekingWeight: -1 }))).rejects.toThrow(/--mode-seeking-weight/);
  });
});
