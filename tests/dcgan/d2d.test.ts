/**
 * ReACGAN's class head and data-to-data cross-entropy (`auxD2d`, step.ts,
 * models.ts): the loss against a plain re-computation, its margins, D's new
 * outputs, the data-parallel step, and training end to end (resume with 2
 * workers, tensor count, fine-tuning onto new classes, refusals).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, SAMPLES } from '../helpers/env.js';
import { train, readRun, buildGenerator, buildDiscriminator, weightNames, checkpointName } from '../../src/dcgan/index.js';
import { d2dClassLosses, D2D_MARGIN, D2D_TEMPERATURE, discriminatorGradients, generatorGradients, disposeGrads } from '../../src/dcgan/step.js';
import { createParallelStep } from '../../src/dcgan/parallel.js';
import { D2D_EMBED_DIM, type ModelSpec } from '../../src/dcgan/models.js';
import { tf, initBackend, powerIterateModel } from '../../src/engine/index.js';
import { tinyOptions, checkpointBytes } from './helpers.js';

const tmp = tempDir('cellgan-d2d-');
beforeAll(async () => { await initBackend('wasm'); });
afterAll(() => tmp.cleanup());
const out = (name: string) => path.join(tmp.dir, name);

const AUX: ModelSpec = { size: 32, nz: 8, gWidth: 4, dWidth: 4, numClasses: 3, seed: 5, dNorm: 'spectral', gConditioning: 'batchnorm', auxClassifier: true };
const D2D: ModelSpec = { ...AUX, auxD2d: true };
const LOSSES = { loss: 'hinge' as const, auxWeight: 1, auxD2d: true };

function batch() {
  return {
    real: tf.randomUniform([6, 32, 32, 3], -1, 1, 'float32', 1) as tf.Tensor4D, noise: tf.randomNormal([6, 8], 0, 1, 'float32', 2) as tf.Tensor2D,
    realLabels: tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32'), 3).toFloat() as tf.Tensor2D, fakeLabels: tf.oneHot(tf.tensor1d([2, 1, 0, 1, 0, 2], 'int32'), 3).toFloat() as tf.Tensor2D,
  };
}
const values = (m: tf.NamedTensorMap) => Object.fromEntries(Object.entries(m).map(([k, t]) => [k, Array.from(t.dataSync())]));

/** The loss of the file comment in plain numbers, row by row. */
function d2dByHand(labels: number[], f: number[][], v: number[][]): number[] {
  const unit = (x: number[]) => { const n = Math.hypot(...x); return x.map((a) => a / n); };
  const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i], 0);
  const fu = f.map(unit), vu = v.map(unit);
  return fu.map((fi, i) => {
    const pull = Math.max(0, (D2D_MARGIN - dot(fi, vu[i])) / D2D_TEMPERATURE);
    let negatives = 0;
    fu.forEach((fj, j) => { if (labels[j] !== labels[i]) negatives += Math.exp(Math.max(0, (dot(fi, fj) - (1 - D2D_MARGIN)) / D2D_TEMPERATURE)); });
    return -Math.log(Math.exp(-pull) / (Math.exp(-pull) + negatives));
  });
}

describe('data-to-data cross-entropy (ReACGAN)', () => {
  it('equals the formula computed by hand; images near their proxy and far from other classes get no gradient', () => {
    const labels = [0, 1, 0, 2];
    const f = [[1, 2, 0.5], [-1, 0.3, 2], [0.2, -1, 1], [3, 1, -1]], v = [[0.5, 1, 1], [-1, 0, 1], [1, 1, 0], [2, 2, -2]];
    const lt = tf.oneHot(tf.tensor1d(labels, 'int32'), 3).toFloat() as tf.Tensor2D, ft = tf.tensor2d(f), vt = tf.tensor2d(v);
    const got = d2dClassLosses(lt, ft, vt);
    const want = d2dByHand(labels, f, v);
    Array.from(got.dataSync()).forEach((x, i) => expect(x, `row ${i}`).toBeCloseTo(want[i], 5));
    expect(Math.min(...want)).toBeGreaterThan(0);
    // Each image on its proxy (cosine 1 ≥ m) and orthogonal to the other class's (cosine 0 ≤ 1 − m): the
    // loss is its floor, log(1 + number of other-class images), and the gradient zero.
    const easy = tf.tensor2d([[1, 0, 0], [0, 1, 0], [2, 0, 0]]), easyLabels = tf.oneHot(tf.tensor1d([0, 1, 0], 'int32'), 2).toFloat() as tf.Tensor2D;
    const value = tf.sum(d2dClassLosses(easyLabels, easy, easy));
    const grad = tf.grad((x: tf.Tensor) => tf.sum(d2dClassLosses(easyLabels, x, easy)))(easy);
    expect(value.dataSync()[0]).toBeCloseTo(Math.log(2) + Math.log(3) + Math.log(2), 5);
    expect(Math.max(...Array.from(grad.dataSync()).map(Math.abs))).toBeLessThan(1e-6);
    tf.dispose([lt, ft, vt, got, easy, easyLabels, value, grad]);
  });

  it('D\'s ReACGAN head outputs an embedding and the label\'s proxy; the rest of D is initialised as with the softmax head', () => {
    const soft = buildDiscriminator(AUX), d2d = buildDiscriminator(D2D);
    try {
      expect(d2d.outputs.map((o) => o.shape)).toEqual([[null, 1], [null, D2D_EMBED_DIM], [null, D2D_EMBED_DIM]]);
      const head = (n: string) => /^d_aux(_embed|_proxy)?\//.test(n);
      expect(weightNames(d2d).filter(head).sort()).toEqual(['d_aux_embed/bias', 'd_aux_embed/kernel', 'd_aux_embed/sn_u', 'd_aux_embed/sn_v', 'd_aux_proxy/kernel']);
      const byName = new Map(weightNames(d2d).map((n, i) => [n, d2d.weights[i]]));
      weightNames(soft).forEach((n, i) => {
        if (!head(n)) expect(Array.from(byName.get(n)!.read().dataSync()), n).toEqual(Array.from(soft.weights[i].read().dataSync()));
      });
      expect(() => buildDiscriminator({ ...D2D, twinClassifier: true })).toThrow(/does not combine with the twin/);
    } finally {
      soft.dispose(); d2d.dispose();
    }
  });

  it('D learns the term on real images and G on its own; the step refuses a D without the head; one worker equals in-thread', async () => {
    const g = buildGenerator(D2D), d = buildDiscriminator(D2D), plainD = buildDiscriminator(AUX);
    const step = await createParallelStep(D2D, { workers: 1, losses: LOSSES });
    const b = batch();
    try {
      powerIterateModel(d, 5);
      const local = discriminatorGradients(g, d, b, LOSSES), remote = await step.discriminatorGradients(g, d, b);
      // D's aux loss is the term on the real batch, through D's own outputs.
      const [, embedding, proxy] = d.apply([b.real, b.realLabels], { training: true }) as tf.Tensor[];
      const onReal = tf.mean(d2dClassLosses(b.realLabels, embedding, proxy));
      expect(local.auxLoss!.dataSync()[0]).toBeCloseTo(onReal.dataSync()[0], 5);
      expect(remote.auxLoss!.dataSync()[0]).toBeCloseTo(local.auxLoss!.dataSync()[0], 5);
      const lv = values(local.grads), rv = values(remote.grads);
      expect(Object.keys(lv)).toEqual(expect.arrayContaining(['d_aux_embed/kernel', 'd_aux_proxy/kernel']));
      expect(Object.keys(rv).sort()).toEqual(Object.keys(lv).sort());
      for (const [name, x] of Object.entries(lv)) x.forEach((a, i) => expect(rv[name][i], name).toBeCloseTo(a, 4));
      const lg = generatorGradients(g, d, b, LOSSES), rg = await step.generatorGradients(g, d, b);
      expect(rg.loss.dataSync()[0]).toBeCloseTo(lg.loss.dataSync()[0], 5);
      const lgv = values(lg.grads), rgv = values(rg.grads);
      for (const [name, x] of Object.entries(lgv)) x.forEach((a, i) => expect(rgv[name][i], name).toBeCloseTo(a, 4));
      // G's term moves G: at λ = 0 G's gradients differ.
      const none = generatorGradients(g, d, b, { ...LOSSES, auxWeight: 0 });
      expect(values(none.grads)['g_dense/kernel']).not.toEqual(lgv['g_dense/kernel']);
      expect(() => discriminatorGradients(g, plainD, b, LOSSES)).toThrow(/ReACGAN class head/);
      for (const r of [local, remote, lg, rg, none]) { disposeGrads(r.grads); tf.dispose([r.loss, r.auxLoss]); }
      tf.dispose([local.realProb, local.fakeProb, remote.realProb, remote.fakeProb, embedding, proxy, onReal]);
    } finally {
      await step.close();
      tf.dispose(Object.values(b));
      g.dispose(); d.dispose(); plainD.dispose();
    }
  });
});

describe('train --aux-d2d', () => {
  const extra = { recipe: 'sngan' as const, conditional: true, className: undefined, batch: 4, gWidth: 2, dWidth: 2, iters: 6, checkpointEvery: 4, auxWeight: 0.5, auxD2d: true, workers: 2 };

  it('records the head, resumes bit for bit with 2 workers, keeps the tensor count flat, and a fine-tune keeps the head and starts a new class\'s proxy from the named class', async () => {
    const counts: number[] = [];
    const full = await train({ ...tinyOptions(out('full'), extra), onIteration: () => counts.push(tf.memory().numTensors) });
    expect(new Set(counts.slice(1)).size).toBe(1);
    const info = await readRun(out('full'));
    expect(info.options.options).toMatchObject({ auxWeight: 0.5, auxD2d: true });
    expect(info.options.model).toMatchObject({ auxClassifier: true, auxD2d: true });
    const ctl = new AbortController();
    await train({ ...tinyOptions(out('part'), extra), signal: ctl.signal, onIteration: (i) => { if (i === 3) ctl.abort(); } });
    const resumed = await train({ resume: out('part'), iters: 6 });
    const a = await checkpointBytes(full.checkpoint), b = await checkpointBytes(resumed.checkpoint);
    for (const k of Object.keys(a)) expect(Buffer.compare(a[k], b[k]), k).toBe(0);

    // A new class (a copy of basophil's images named 'gbi') starts from basophil's proxy row.
    const data = out('data-new-class');
    await fs.cp(SAMPLES, data, { recursive: true });
    await fs.rename(path.join(data, 'monocyte'), path.join(data, 'gbi'));
    const child = out('child');
    await train({ data, conditional: true, init: out('full'), initClass: 'basophil', iters: 1, out: child, checkpointEvery: 1 });
    expect((await readRun(child)).options.model.auxD2d).toBe(true);
    const proxyRows = async (run: string, ck: number) => {
      const dir = path.join(run, 'checkpoints', checkpointName(ck), 'discriminator');
      const manifest = JSON.parse(await fs.readFile(path.join(dir, 'model.json'), 'utf8'));
      const bin = await fs.readFile(path.join(dir, 'weights.bin'));
      const w = tf.io.decodeWeights(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer, manifest.weightsManifest[0].weights);
      const rows = w['d_aux_proxy/kernel'].arraySync() as number[][];
      tf.dispose(Object.values(w));
      return rows;
    };
    const parentClasses = info.classes, childClasses = (await readRun(child)).classes;
    const p = await proxyRows(out('full'), info.latest!), c = await proxyRows(child, 0);
    expect(c[childClasses.indexOf('gbi')]).toEqual(p[parentClasses.indexOf('basophil')]);
    expect(c[childClasses.indexOf('eosinophil')]).toEqual(p[parentClasses.indexOf('eosinophil')]);
    await expect(train({ data: SAMPLES, conditional: true, init: out('full'), auxD2d: false, iters: 1, out: out('child-bad') })).rejects.toThrow(/auxD2d is true there, not false/);
  });

  it('refuses --aux-d2d without --aux-weight, or with --aux-twin or --aux-floor', async () => {
    await expect(train(tinyOptions(out('bad1'), { ...extra, auxWeight: 0 }))).rejects.toThrow(/--aux-d2d needs --aux-weight/);
    await expect(train(tinyOptions(out('bad2'), { ...extra, auxTwin: true }))).rejects.toThrow(/--aux-d2d and --aux-twin: pick one/);
    await expect(train(tinyOptions(out('bad3'), { ...extra, auxFloor: true }))).rejects.toThrow(/--aux-d2d and --aux-floor: pick one/);
  });
});
