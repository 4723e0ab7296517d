/**
 * The auxiliary-classifier lever (`auxWeight`, step.ts): D's class head, the
 * loss it adds to D and G, its data-parallel form, fine-tuning onto it from a
 * model without the head, and training end to end (resume, tensor count).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, SAMPLES } from '../helpers/env.js';
import { train, readRun, buildGenerator, buildDiscriminator, weightNames, checkpointName } from '../../src/dcgan/index.js';
import { classLoss, discriminatorGradients, generatorGradients, disposeGrads, runGenerator } from '../../src/dcgan/step.js';
import { createParallelStep } from '../../src/dcgan/parallel.js';
import type { ModelSpec } from '../../src/dcgan/models.js';
import { tf, initBackend, powerIterateModel, isSpectralNormLayer } from '../../src/engine/index.js';
import { tinyOptions, checkpointBytes, readJsonl } from './helpers.js';

const tmp = tempDir('cellgan-aux-');
beforeAll(async () => { await initBackend('wasm'); });
afterAll(() => tmp.cleanup());
const out = (name: string) => path.join(tmp.dir, name);

const SPEC: ModelSpec = { size: 32, nz: 8, gWidth: 4, dWidth: 4, numClasses: 3, seed: 5, dNorm: 'spectral', gConditioning: 'batchnorm' };
const AUX: ModelSpec = { ...SPEC, auxClassifier: true };

function batch() {
  return {
    real: tf.randomUniform([4, 32, 32, 3], -1, 1, 'float32', 1) as tf.Tensor4D, noise: tf.randomNormal([4, 8], 0, 1, 'float32', 2) as tf.Tensor2D,
    realLabels: tf.oneHot(tf.tensor1d([0, 1, 2, 0], 'int32'), 3).toFloat() as tf.Tensor2D, fakeLabels: tf.oneHot(tf.tensor1d([2, 1, 0, 1], 'int32'), 3).toFloat() as tf.Tensor2D,
  };
}
const values = (m: tf.NamedTensorMap) => Object.fromEntries(Object.entries(m).map(([k, t]) => [k, Array.from(t.dataSync())]));

describe('auxiliary classifier', () => {
  it('classLoss is the mean cross-entropy of the softmax', () => {
    const logits = tf.tensor2d([[2, 0, -1], [0.5, 0.5, 3]]);
    const labels = tf.tensor2d([[1, 0, 0], [0, 1, 0]]);
    const ce = (row: number[], k: number) => -(row[k] - Math.log(row.reduce((s, x) => s + Math.exp(x), 0)));
    const want = (ce([2, 0, -1], 0) + ce([0.5, 0.5, 3], 1)) / 2;
    const got = classLoss(labels, logits);
    expect(got.dataSync()[0]).toBeCloseTo(want, 5);
    tf.dispose([logits, labels, got]);
  });

  it('D gains one class-logit output (d_aux) and is otherwise initialised as without it', () => {
    const plain = buildDiscriminator(SPEC), aux = buildDiscriminator(AUX);
    try {
      expect(plain.outputs.length).toBe(1);
      expect(aux.outputs.map((o) => o.shape)).toEqual([[null, 1], [null, 3]]);
      const names = weightNames(plain);
      expect(weightNames(aux).filter((n) => !n.startsWith('d_aux/'))).toEqual(names);
      expect(weightNames(aux).filter((n) => n.startsWith('d_aux/')).sort()).toEqual(['d_aux/bias', 'd_aux/kernel', 'd_aux/sn_u', 'd_aux/sn_v']);
      const auxByName = new Map(weightNames(aux).map((n, i) => [n, aux.weights[i]]));
      names.forEach((n, i) => expect(Array.from(auxByName.get(n)!.read().dataSync()), n).toEqual(Array.from(plain.weights[i].read().dataSync())));
    } finally {
      plain.dispose(); aux.dispose();
    }
  });

  it('with auxBranch the class head reads its own unnormalised copy of D\'s last blocks; the real/fake path is unchanged', () => {
    const shared = buildDiscriminator(AUX), branched = buildDiscriminator({ ...AUX, auxBranch: 1 }), deep = buildDiscriminator({ ...AUX, auxBranch: 3 });
    const image = tf.randomUniform([2, 32, 32, 3], -1, 1, 'float32', 3), label = tf.oneHot(tf.tensor1d([0, 2], 'int32'), 3).toFloat();
    try {
      // 32 px: three blocks (d_conv0..2); auxBranch 1 copies the last, 3 forks at the image.
      const branchNames = (m: tf.LayersModel) => weightNames(m).filter((n) => n.startsWith('d_aux_conv')).sort();
      expect(branchNames(branched)).toEqual(['d_aux_conv2/bias', 'd_aux_conv2/kernel']);
      expect(branchNames(deep)).toEqual(['d_aux_conv0/bias', 'd_aux_conv0/kernel', 'd_aux_conv1/bias', 'd_aux_conv1/kernel', 'd_aux_conv2/bias', 'd_aux_conv2/kernel']);
      for (const m of [branched, deep]) {
        for (const l of m.layers.filter((l) => l.name.startsWith('d_aux'))) expect(isSpectralNormLayer(l), l.name).toBe(false);
        expect(m.getLayer('d_aux_conv2').outputShape).toEqual(shared.getLayer('d_conv2').outputShape);
      }
      expect(weightNames(branched).filter((n) => n.startsWith('d_aux/')).sort()).toEqual(['d_aux/bias', 'd_aux/kernel']);
      // Every layer outside the branch and its head starts as without the branch, so D's real/fake logit is the same.
      const byName = (m: tf.LayersModel) => new Map(weightNames(m).map((n, i) => [n, m.weights[i]]));
      const b = byName(branched);
      weightNames(shared).filter((n) => !n.startsWith('d_aux/')).forEach((n) => expect(Array.from(b.get(n)!.read().dataSync()), n).toEqual(Array.from(byName(shared).get(n)!.read().dataSync())));
      const [sharedLogit, sharedClasses] = shared.predict([image, label]) as tf.Tensor[], [branchLogit, branchClasses] = branched.predict([image, label]) as tf.Tensor[];
      expect(Array.from(branchLogit.dataSync())).toEqual(Array.from(sharedLogit.dataSync()));
      expect(Array.from(branchClasses.dataSync())).not.toEqual(Array.from(sharedClasses.dataSync()));
      tf.dispose([sharedLogit, sharedClasses, branchLogit, branchClasses]);
      expect(() => buildDiscriminator({ ...AUX, auxBranch: 4 })).toThrow(/auxBranch: expected an integer from 0 to 3/);
    } finally {
      shared.dispose(); branched.dispose(); deep.dispose(); tf.dispose([image, label]);
    }
  });

  it('adds λ·CE to both losses: gradients are linear in λ, and λ → 0 gives the plain GAN gradients of the shared weights', () => {
    const g = buildGenerator(SPEC), d = buildDiscriminator(SPEC), dAux = buildDiscriminator(AUX);
    const b = batch();
    try {
      powerIterateModel(d, 5); powerIterateModel(dAux, 5);
      const dAt = (lambda: number) => discriminatorGradients(g, lambda === 0 ? d : dAux, b, { loss: 'hinge', auxWeight: lambda });
      const gAt = (lambda: number) => generatorGradients(g, lambda === 0 ? d : dAux, b, { loss: 'hinge', auxWeight: lambda });
      for (const at of [dAt, gAt]) {
        const [r0, r1, r2] = [at(0), at(1), at(2)];
        const [v0, v1, v2] = [values(r0.grads), values(r1.grads), values(r2.grads)];
        expect(r1.auxLoss).toBeDefined();
        expect(r0.auxLoss).toBeUndefined();
        // loss(λ) = adversarial + λ·CE, the CE reported unweighted and the same at both λ.
        const ce = r1.auxLoss!.dataSync()[0];
        expect(r2.auxLoss!.dataSync()[0]).toBeCloseTo(ce, 6);
        expect(r1.loss.dataSync()[0]).toBeCloseTo(r0.loss.dataSync()[0] + ce, 4);
        expect(r2.loss.dataSync()[0]).toBeCloseTo(r0.loss.dataSync()[0] + 2 * ce, 4);
        expect(ce).toBeGreaterThan(0);
        let auxMoves = 0;
        for (const [name, g0] of Object.entries(v0)) {
          // 2·g(1) − g(2) = g(0): the part of the gradient that is not the aux term.
          const scale = Math.max(1e-6, ...g0.map(Math.abs));
          g0.forEach((x, i) => expect(Math.abs(2 * v1[name][i] - v2[name][i] - x) / scale, `${name}[${i}]`).toBeLessThan(2e-3));
          auxMoves += v1[name].reduce((s, x, i) => s + Math.abs(x - g0[i]), 0);
        }
        expect(auxMoves).toBeGreaterThan(0);
        // Only D's step trains the head (on real images).
        if (at === dAt) expect(v1['d_aux/kernel'].some((x) => x !== 0)).toBe(true);
        for (const r of [r0, r1, r2]) { disposeGrads(r.grads); tf.dispose([r.loss, r.auxLoss ?? []].flat()); const probs = r as { realProb?: tf.Tensor; fakeProb?: tf.Tensor }; if (probs.realProb) tf.dispose([probs.realProb, probs.fakeProb!]); }
      }
      expect(() => discriminatorGradients(g, d, b, { loss: 'hinge', auxWeight: 1 })).toThrow(/auxiliary classifier head/);
    } finally {
      tf.dispose(Object.values(b));
      g.dispose(); d.dispose(); dAux.dispose();
    }
  });

  it('the twin head (TAC-GAN) learns the classes of G\'s images in D\'s step and is subtracted in G\'s', () => {
    const tac: ModelSpec = { ...AUX, twinClassifier: true };
    const g = buildGenerator(SPEC), d = buildDiscriminator(SPEC), dTac = buildDiscriminator(tac);
    const b = batch();
    try {
      expect(dTac.outputs.map((o) => o.shape)).toEqual([[null, 1], [null, 3], [null, 3]]);
      powerIterateModel(d, 5); powerIterateModel(dTac, 5);
      const ce = (labels: tf.Tensor, logits: tf.Tensor) => { const t = classLoss(labels, logits); try { return t.dataSync()[0]; } finally { t.dispose(); } };
      const fake = runGenerator(g, b.noise, b.fakeLabels, true);
      const onReal = dTac.apply([b.real, b.realLabels], { training: true }) as tf.Tensor[];
      const onFake = dTac.apply([fake, b.fakeLabels], { training: true }) as tf.Tensor[];
      const [auxReal, auxFake, twinFake] = [ce(b.realLabels, onReal[1]), ce(b.fakeLabels, onFake[1]), ce(b.fakeLabels, onFake[2])];
      const dPlain = discriminatorGradients(g, d, b, { loss: 'hinge', auxWeight: 0 }), dWith = discriminatorGradients(g, dTac, b, { loss: 'hinge', auxWeight: 1 });
      expect(dWith.loss.dataSync()[0] - dPlain.loss.dataSync()[0]).toBeCloseTo(auxReal + twinFake, 4);
      expect(dWith.grads['d_twin/kernel'].dataSync().some((x) => x !== 0)).toBe(true);
      const gPlain = generatorGradients(g, d, b, { loss: 'hinge', auxWeight: 0 }), gWith = generatorGradients(g, dTac, b, { loss: 'hinge', auxWeight: 1 });
      expect(gWith.loss.dataSync()[0] - gPlain.loss.dataSync()[0]).toBeCloseTo(auxFake - twinFake, 4);
      for (const r of [dPlain, dWith, gPlain, gWith]) { disposeGrads(r.grads); tf.dispose([r.loss, r.auxLoss ?? []].flat()); }
      tf.dispose([dPlain.realProb, dPlain.fakeProb, dWith.realProb, dWith.fakeProb, fake, ...onReal, ...onFake]);
    } finally {
      tf.dispose(Object.values(b));
      g.dispose(); d.dispose(); dTac.dispose();
    }
  });

  it('the joint classifier (ADC-GAN): one softmax over real k and generated k; D learns real as real y and fakes as generated y, G gets CE(real y) − CE(generated y)', () => {
    const tac: ModelSpec = { ...AUX, twinClassifier: true };
    const g = buildGenerator(SPEC), d = buildDiscriminator(SPEC), dTac = buildDiscriminator(tac), dAux = buildDiscriminator(AUX);
    const b = batch();
    try {
      powerIterateModel(d, 5); powerIterateModel(dTac, 5);
      // By hand: rows of the 2K logits [aux | twin], cross-entropy at column y (real) or K + y (generated).
      const K = 3;
      const jointCe = (labels: tf.Tensor, out: tf.Tensor[], generated: boolean) => {
        const ys = Array.from(tf.argMax(labels, 1).dataSync()), a = out[1].arraySync() as number[][], t = out[2].arraySync() as number[][];
        return ys.reduce((sum, y, i) => {
          const row = [...a[i], ...t[i]];
          return sum - (row[generated ? K + y : y] - Math.log(row.reduce((z, x) => z + Math.exp(x), 0)));
        }, 0) / ys.length;
      };
      const fake = runGenerator(g, b.noise, b.fakeLabels, true);
      const onReal = dTac.apply([b.real, b.realLabels], { training: true }) as tf.Tensor[];
      const onFake = dTac.apply([fake, b.fakeLabels], { training: true }) as tf.Tensor[];
      const losses = { loss: 'hinge' as const, auxWeight: 1, auxJoint: true };
      const dPlain = discriminatorGradients(g, d, b, { loss: 'hinge' }), dJoint = discriminatorGradients(g, dTac, b, losses);
      expect(dJoint.loss.dataSync()[0] - dPlain.loss.dataSync()[0]).toBeCloseTo(jointCe(b.realLabels, onReal, false) + jointCe(b.fakeLabels, onFake, true), 4);
      expect(dJoint.auxLoss!.dataSync()[0]).toBeCloseTo(jointCe(b.realLabels, onReal, false), 4);
      for (const head of ['d_aux/kernel', 'd_twin/kernel']) expect(dJoint.grads[head].dataSync().some((x) => x !== 0), head).toBe(true);
      const gPlain = generatorGradients(g, d, b, { loss: 'hinge' }), gJoint = generatorGradients(g, dTac, b, losses);
      expect(gJoint.loss.dataSync()[0] - gPlain.loss.dataSync()[0]).toBeCloseTo(jointCe(b.fakeLabels, onFake, false) - jointCe(b.fakeLabels, onFake, true), 4);
      // Not TAC-GAN's two softmaxes: the same heads give another D loss without auxJoint.
      const dTwo = discriminatorGradients(g, dTac, b, { loss: 'hinge', auxWeight: 1 });
      expect(Math.abs(dTwo.loss.dataSync()[0] - dJoint.loss.dataSync()[0])).toBeGreaterThan(1e-3);
      expect(() => discriminatorGradients(g, dAux, b, losses)).toThrow(/twin classifier head/);
      for (const r of [dPlain, dJoint, gPlain, gJoint, dTwo]) { disposeGrads(r.grads); tf.dispose([r.loss, r.auxLoss ?? []].flat()); }
      tf.dispose([dPlain.realProb, dPlain.fakeProb, dJoint.realProb, dJoint.fakeProb, dTwo.realProb, dTwo.fakeProb, fake, ...onReal, ...onFake]);
    } finally {
      tf.dispose(Object.values(b));
      g.dispose(); d.dispose(); dTac.dispose(); dAux.dispose();
    }
  });

  it('auxFloor: G\'s class term is mean(relu(CE_i − floor)): floor 0 gives the plain term, a floor above every CE none, one between counts the images above it', () => {
    const g = buildGenerator(AUX), d = buildDiscriminator(AUX);
    const b = batch();
    try {
      powerIterateModel(d, 5);
      const at = (losses: object, floor?: number) => generatorGradients(g, d, { ...b, ...(floor === undefined ? {} : { auxFloor: floor }) }, { loss: 'hinge', auxWeight: 1, ...losses });
      const plain = at({}), none = at({ auxWeight: 0 }), floor0 = at({ auxFloor: true }, 0), above = at({ auxFloor: true }, 1e6);
      // Each image's cross-entropy, computed here from D's head on G's (training-mode) images.
      const ce = tf.tidy(() => {
        const [, logits] = d.apply([runGenerator(g, b.noise, b.fakeLabels, true), b.fakeLabels], { training: true }) as tf.Tensor[];
        return Array.from(tf.neg(tf.sum(tf.mul(b.fakeLabels, tf.logSoftmax(logits)), 1)).dataSync());
      });
      const mid = [...ce].sort((x, y) => x - y)[1] + 1e-3;
      const between = at({ auxFloor: true }, mid);
      const adversarial = none.loss.dataSync()[0];
      expect(floor0.loss.dataSync()[0]).toBeCloseTo(plain.loss.dataSync()[0], 5);
      expect(above.loss.dataSync()[0]).toBeCloseTo(adversarial, 5);
      expect(between.loss.dataSync()[0]).toBeCloseTo(adversarial + ce.reduce((sum, c) => sum + Math.max(0, c - mid), 0) / ce.length, 4);
      // The logged aux loss stays the plain mean cross-entropy.
      for (const r of [floor0, above, between]) expect(r.auxLoss!.dataSync()[0]).toBeCloseTo(plain.auxLoss!.dataSync()[0], 5);
      const [vp, vn, v0, va, vb] = [plain, none, floor0, above, between].map((r) => values(r.grads));
      for (const [name, x] of Object.entries(vp)) {
        const scale = Math.max(1e-6, ...x.map(Math.abs));
        x.forEach((a, i) => expect(Math.abs(v0[name][i] - a) / scale, name).toBeLessThan(1e-3));
        vn[name].forEach((a, i) => expect(Math.abs(va[name][i] - a) / scale, name).toBeLessThan(1e-3));
      }
      expect(Object.keys(vb).some((name) => vb[name].some((x, i) => Math.abs(x - vn[name][i]) > 1e-6 && Math.abs(x - vp[name][i]) > 1e-6))).toBe(true);
      for (const r of [plain, none, floor0, above, between]) { disposeGrads(r.grads); tf.dispose([r.loss, r.auxLoss ?? []].flat()); }
      expect(() => at({ auxFloor: true })).toThrow(/auxFloor needs the real batch's class cross-entropy/);
    } finally {
      tf.dispose(Object.values(b));
      g.dispose(); d.dispose();
    }
  });

  it('data-parallel gradients and aux losses with one worker equal the in-thread ones', async () => {
    const g = buildGenerator(AUX), d = buildDiscriminator(AUX);
    const step = await createParallelStep(AUX, { workers: 1, losses: { loss: 'hinge', auxWeight: 0.5 } });
    const b = batch();
    try {
      powerIterateModel(d, 5);
      const local = discriminatorGradients(g, d, b, { loss: 'hinge', auxWeight: 0.5 }), remote = await step.discriminatorGradients(g, d, b);
      expect(remote.auxLoss!.dataSync()[0]).toBeCloseTo(local.auxLoss!.dataSync()[0], 5);
      const lv = values(local.grads), rv = values(remote.grads);
      expect(Object.keys(rv).sort()).toEqual(Object.keys(lv).sort());
      for (const [name, x] of Object.entries(lv)) x.forEach((a, i) => expect(rv[name][i], name).toBeCloseTo(a, 4));
      const lg = generatorGradients(g, d, b, { loss: 'hinge', auxWeight: 0.5 }), rg = await step.generatorGradients(g, d, b);
      expect(rg.auxLoss!.dataSync()[0]).toBeCloseTo(lg.auxLoss!.dataSync()[0], 5);
      for (const r of [local, remote, lg, rg]) { disposeGrads(r.grads); tf.dispose([r.loss, r.auxLoss!]); }
      tf.dispose([local.realProb, local.fakeProb, remote.realProb, remote.fakeProb]);
    } finally {
      await step.close();
      tf.dispose(Object.values(b));
      g.dispose(); d.dispose();
    }
  });

  it('data-parallel with auxFloor: the worker gets the batch\'s floor, and G\'s loss and gradients equal the in-thread ones', async () => {
    // One worker: with more, G's batch norm would see each shard's statistics, not the batch's.
    const g = buildGenerator(AUX), d = buildDiscriminator(AUX);
    const losses = { loss: 'hinge' as const, auxWeight: 1, auxFloor: true };
    const step = await createParallelStep(AUX, { workers: 1, losses });
    const b = batch();
    try {
      powerIterateModel(d, 5);
      const remoteLoss: number[] = [];
      for (const floor of [0, 1.1]) {
        const lg = generatorGradients(g, d, { ...b, auxFloor: floor }, losses), rg = await step.generatorGradients(g, d, { ...b, auxFloor: floor });
        remoteLoss.push(rg.loss.dataSync()[0]);
        expect(rg.loss.dataSync()[0]).toBeCloseTo(lg.loss.dataSync()[0], 5);
        const lv = values(lg.grads), rv = values(rg.grads);
        for (const [name, x] of Object.entries(lv)) x.forEach((a, i) => expect(rv[name][i], name).toBeCloseTo(a, 4));
        for (const r of [lg, rg]) { disposeGrads(r.grads); tf.dispose([r.loss, r.auxLoss!]); }
      }
      expect(remoteLoss[1]).toBeLessThan(remoteLoss[0]);
    } finally {
      await step.close();
      tf.dispose(Object.values(b));
      g.dispose(); d.dispose();
    }
  });

  it.each([['TAC-GAN', false, 0], ['ADC-GAN', true, 0], ['TAC-GAN, heads on the class branch', false, 1]])('data-parallel with the twin head (%s): the engine step forwards the losses, and losses and gradients equal the in-thread ones', async (_name, auxJoint, auxBranch) => {
    const TAC: ModelSpec = { ...AUX, twinClassifier: true, auxBranch };
    const g = buildGenerator(TAC), d = buildDiscriminator(TAC);
    const losses = { loss: 'hinge' as const, auxWeight: 0.5, auxJoint };
    const step = await createParallelStep(TAC, { workers: 1, losses });
    const b = batch();
    try {
      powerIterateModel(d, 5);
      const local = discriminatorGradients(g, d, b, losses), remote = await step.discriminatorGradients(g, d, b);
      expect(remote.loss.dataSync()[0]).toBeCloseTo(local.loss.dataSync()[0], 5);
      expect(remote.auxLoss!.dataSync()[0]).toBeCloseTo(local.auxLoss!.dataSync()[0], 5);
      const lv = values(local.grads), rv = values(remote.grads);
      expect(Object.keys(rv).sort()).toEqual(Object.keys(lv).sort());
      expect(Object.keys(rv)).toContain('d_twin/kernel');
      if (auxBranch) expect(Object.keys(rv)).toContain('d_aux_conv2/kernel');
      for (const [name, x] of Object.entries(lv)) x.forEach((a, i) => expect(rv[name][i], name).toBeCloseTo(a, 4));
      const lg = generatorGradients(g, d, b, losses), rg = await step.generatorGradients(g, d, b);
      expect(rg.loss.dataSync()[0]).toBeCloseTo(lg.loss.dataSync()[0], 5);
      expect(rg.auxLoss!.dataSync()[0]).toBeCloseTo(lg.auxLoss!.dataSync()[0], 5);
      const lgv = values(lg.grads), rgv = values(rg.grads);
      for (const [name, x] of Object.entries(lgv)) x.forEach((a, i) => expect(rgv[name][i], name).toBeCloseTo(a, 4));
      for (const r of [local, remote, lg, rg]) { disposeGrads(r.grads); tf.dispose([r.loss, r.auxLoss!]); }
      tf.dispose([local.realProb, local.fakeProb, remote.realProb, remote.fakeProb]);
    } finally {
      await step.close();
      tf.dispose(Object.values(b));
      g.dispose(); d.dispose();
    }
  });
});

describe('train --aux-weight', () => {
  const extra = { recipe: 'sngan' as const, conditional: true, className: undefined, batch: 4, gWidth: 2, dWidth: 2, iters: 6, checkpointEvery: 4, auxWeight: 0.5 };

  it('records λ and the head, logs both aux losses, resumes bit for bit and keeps the tensor count flat', async () => {
    const counts: number[] = [];
    const full = await train({ ...tinyOptions(out('aux-full'), extra), onIteration: () => counts.push(tf.memory().numTensors) });
    expect(new Set(counts.slice(1)).size).toBe(1);
    const info = await readRun(out('aux-full'));
    expect(info.options.options.auxWeight).toBe(0.5);
    expect(info.options.model.auxClassifier).toBe(true);
    const stats = await readJsonl<{ d_aux_loss?: number; g_aux_loss?: number }>(path.join(out('aux-full'), 'stats.jsonl'));
    expect(stats.length).toBeGreaterThan(0);
    expect(stats.every((s) => s.d_aux_loss! > 0 && s.g_aux_loss! > 0)).toBe(true);
    const ctl = new AbortController();
    await train({ ...tinyOptions(out('aux-part'), extra), signal: ctl.signal, onIteration: (i) => { if (i === 3) ctl.abort(); } });
    const resumed = await train({ resume: out('aux-part'), iters: 6 });
    const a = await checkpointBytes(full.checkpoint), b = await checkpointBytes(resumed.checkpoint);
    for (const k of Object.keys(a)) expect(Buffer.compare(a[k], b[k]), k).toBe(0);
  });

  it('fine-tunes onto a new head from a parent without one (the rest copied), and remaps a parent head\'s classes', async () => {
    const plainParent = out('plain-parent');
    await train(tinyOptions(plainParent, { ...extra, auxWeight: 0, iters: 2 }));
    // Without the option nothing changes: no head, no aux stats.
    expect((await readRun(plainParent)).options.model.auxClassifier).toBeUndefined();
    expect((await readJsonl<Record<string, unknown>>(path.join(plainParent, 'stats.jsonl'))).some((s) => 'd_aux_loss' in s)).toBe(false);
    const child = out('aux-child');
    await train({ data: SAMPLES, conditional: true, init: plainParent, auxWeight: 1, iters: 1, out: child, checkpointEvery: 1 });
    const weightsOf = async (run: string, ck: number) => {
      const dir = path.join(run, 'checkpoints', checkpointName(ck), 'discriminator');
      const manifest = JSON.parse(await fs.readFile(path.join(dir, 'model.json'), 'utf8'));
      const bin = await fs.readFile(path.join(dir, 'weights.bin'));
      return tf.io.decodeWeights(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer, manifest.weightsManifest[0].weights);
    };
    const p = await weightsOf(plainParent, (await readRun(plainParent)).latest!), c = await weightsOf(child, 0);
    expect(Object.keys(c).filter((k) => k.startsWith('d_aux/')).length).toBe(4);
    for (const [name, t] of Object.entries(p)) if (!/sn_[uv]$/.test(name)) expect(Array.from(c[name].dataSync()), name).toEqual(Array.from(t.dataSync()));

    // A child with fewer classes takes the parent head's columns of its classes.
    const subset = out('data-subset');
    for (const cls of ['eosinophil', 'basophil']) {
      await fs.mkdir(path.join(subset, cls), { recursive: true });
      for (const f of (await fs.readdir(path.join(SAMPLES, cls))).sort().slice(0, 3)) await fs.copyFile(path.join(SAMPLES, cls, f), path.join(subset, cls, f));
    }
    const grandchild = out('aux-grandchild');
    await train({ data: subset, conditional: true, init: child, iters: 1, out: grandchild, checkpointEvery: 1 });
    const parentClasses = (await readRun(child)).classes;
    const cw = await weightsOf(child, 1), gw = await weightsOf(grandchild, 0);
    const cols = ['basophil', 'eosinophil'].map((k) => parentClasses.indexOf(k));
    const pk = cw['d_aux/kernel'].arraySync() as number[][], gk = gw['d_aux/kernel'].arraySync() as number[][];
    expect(gk.map((row) => row)).toEqual(pk.map((row) => cols.map((j) => row[j])));
    expect(Array.from(gw['d_aux/bias'].dataSync())).toEqual(cols.map((j) => cw['d_aux/bias'].dataSync()[j]));
    expect((await readRun(grandchild)).options.options.auxWeight).toBe(1); // inherited from the parent's settings
  });

  it('the sngan-aux recipe is sngan with λ = 1 for a conditional run and plain sngan for a one-class run', async () => {
    const { RECIPES } = await import('../../src/dcgan/recipes.js');
    expect({ ...RECIPES['sngan-aux'], auxWeight: 0, description: '' }).toEqual({ ...RECIPES.sngan, description: '' });
    const tiny = { recipe: 'sngan-aux' as const, batch: 4, gWidth: 2, dWidth: 2, iters: 2, checkpointEvery: 2 };
    await train(tinyOptions(out('recipe-aux-cond'), { ...tiny, conditional: true, className: undefined }));
    const cond = await readRun(out('recipe-aux-cond'));
    expect(cond.options.options).toMatchObject({ recipe: 'sngan-aux', auxWeight: 1, loss: 'hinge', dNorm: 'spectral' });
    expect(cond.options.model.auxClassifier).toBe(true);
    await train(tinyOptions(out('recipe-aux-one'), tiny));
    const one = await readRun(out('recipe-aux-one'));
    expect(one.options.options).toMatchObject({ recipe: 'sngan-aux', auxWeight: 0, auxTwin: false, className: 'basophil' });
    expect(one.options.model.auxClassifier).toBeUndefined();
    // An explicit weight on a one-class run is still refused, whatever the recipe.
    await expect(train(tinyOptions(out('recipe-aux-bad'), { ...tiny, auxWeight: 1 }))).rejects.toThrow(/--aux-weight needs --conditional/);
  });

  it('the sngan-aux-branch recipe is sngan-aux with the class branch for a conditional run and plain sngan for a one-class run', async () => {
    const { RECIPES, equivalentRecipe } = await import('../../src/dcgan/recipes.js');
    expect({ ...RECIPES['sngan-aux-branch'], auxBranch: 0, description: '' }).toEqual({ ...RECIPES['sngan-aux'], description: '' });
    const tiny = { recipe: 'sngan-aux-branch' as const, batch: 4, gWidth: 2, dWidth: 2, iters: 2, checkpointEvery: 2 };
    await train(tinyOptions(out('recipe-branch-cond'), { ...tiny, conditional: true, className: undefined }));
    const cond = await readRun(out('recipe-branch-cond'));
    expect(cond.options.options).toMatchObject({ recipe: 'sngan-aux-branch', auxWeight: 1, auxBranch: 1 });
    expect(cond.options.model).toMatchObject({ auxClassifier: true, auxBranch: 1 });
    await train(tinyOptions(out('recipe-branch-one'), tiny));
    const one = await readRun(out('recipe-branch-one'));
    expect(one.options.options).toMatchObject({ recipe: 'sngan-aux-branch', auxWeight: 0, auxBranch: 0 });
    expect(one.options.model.auxBranch).toBeUndefined();
    // A run started as `--recipe sngan-aux --aux-branch 1` (L18, before the name) is reported as this recipe.
    expect(equivalentRecipe('sngan-aux', { ...RECIPES['sngan-aux'], auxBranch: 1 })).toBe('sngan-aux-branch');
  });

  it('--aux-twin --aux-joint (ADC-GAN) trains with the twin head, records the option and keeps the tensor count flat', async () => {
    const counts: number[] = [];
    await train({ ...tinyOptions(out('adc'), { ...extra, iters: 4, auxTwin: true, auxJoint: true }), onIteration: () => counts.push(tf.memory().numTensors) });
    expect(new Set(counts.slice(1)).size).toBe(1);
    const info = await readRun(out('adc'));
    expect(info.options.options).toMatchObject({ auxWeight: 0.5, auxTwin: true, auxJoint: true });
    expect(info.options.model).toMatchObject({ auxClassifier: true, twinClassifier: true });
    const stats = await readJsonl<{ d_aux_loss?: number }>(path.join(out('adc'), 'stats.jsonl'));
    // The joint softmax has 2K = 6 classes: an untrained head starts near ln 6, not ln 3.
    expect(stats[0].d_aux_loss!).toBeGreaterThan(Math.log(3) + 0.3);
  });

  it('--aux-branch trains the class branch, records it, resumes bit for bit, keeps the tensor count flat, and is part of the architecture --init keeps', async () => {
    const counts: number[] = [];
    const branch = { ...extra, auxBranch: 1 };
    const full = await train({ ...tinyOptions(out('branch-full'), branch), onIteration: () => counts.push(tf.memory().numTensors) });
    expect(new Set(counts.slice(1)).size).toBe(1);
    const info = await readRun(out('branch-full'));
    expect(info.options.options.auxBranch).toBe(1);
    expect(info.options.model).toMatchObject({ auxClassifier: true, auxBranch: 1 });
    const ctl = new AbortController();
    await train({ ...tinyOptions(out('branch-part'), branch), signal: ctl.signal, onIteration: (i) => { if (i === 3) ctl.abort(); } });
    const resumed = await train({ resume: out('branch-part'), iters: 6 });
    const a = await checkpointBytes(full.checkpoint), b = await checkpointBytes(resumed.checkpoint);
    for (const k of Object.keys(a)) expect(Buffer.compare(a[k], b[k]), k).toBe(0);
    // A fine-tune inherits the branch, and cannot drop or add one.
    await train({ data: SAMPLES, conditional: true, init: out('branch-full'), iters: 1, out: out('branch-child'), checkpointEvery: 1 });
    expect((await readRun(out('branch-child'))).options.model.auxBranch).toBe(1);
    await expect(train({ data: SAMPLES, conditional: true, init: out('branch-full'), auxBranch: 0, iters: 1, out: out('branch-child-bad') })).rejects.toThrow(/auxBranch is 1 there, not 0/);
  });

  it('--aux-floor trains with the floored class term, records it, resumes bit for bit with 2 workers and keeps the tensor count flat; refused without --aux-weight or with --aux-twin', async () => {
    const counts: number[] = [];
    const floored = { ...extra, auxFloor: true, workers: 2 };
    const full = await train({ ...tinyOptions(out('floor-full'), floored), onIteration: () => counts.push(tf.memory().numTensors) });
    expect(new Set(counts.slice(1)).size).toBe(1);
    expect((await readRun(out('floor-full'))).options.options).toMatchObject({ auxWeight: 0.5, auxFloor: true });
    // The floor changes training: the same run without it ends elsewhere.
    const plain = await train(tinyOptions(out('floor-off'), { ...floored, auxFloor: false }));
    const a = await checkpointBytes(full.checkpoint), off = await checkpointBytes(plain.checkpoint);
    expect(Object.keys(a).some((k) => k.includes('generator') && Buffer.compare(a[k], off[k]) !== 0)).toBe(true);
    const ctl = new AbortController();
    await train({ ...tinyOptions(out('floor-part'), floored), signal: ctl.signal, onIteration: (i) => { if (i === 3) ctl.abort(); } });
    const resumed = await train({ resume: out('floor-part'), iters: 6 });
    const b = await checkpointBytes(resumed.checkpoint);
    for (const k of Object.keys(a)) expect(Buffer.compare(a[k], b[k]), k).toBe(0);
    await expect(train(tinyOptions(out('floor-bad1'), { ...extra, auxWeight: 0, auxFloor: true }))).rejects.toThrow(/--aux-floor needs --aux-weight/);
    await expect(train(tinyOptions(out('floor-bad2'), { ...extra, auxTwin: true, auxFloor: true }))).rejects.toThrow(/--aux-floor and --aux-twin/);
  });

  it('refuses --aux-branch without --aux-weight or deeper than D', async () => {
    await expect(train(tinyOptions(out('branch-bad1'), { ...extra, auxWeight: 0, auxBranch: 1 }))).rejects.toThrow(/--aux-branch needs --aux-weight/);
    await expect(train(tinyOptions(out('branch-bad2'), { ...extra, auxBranch: 4 }))).rejects.toThrow(/--aux-branch: expected at most 3/);
  });

  it('refuses --aux-weight without --conditional, or out of range, --aux-twin without --aux-weight, and --aux-joint without --aux-twin', async () => {
    await expect(train(tinyOptions(out('aux-bad1'), { auxWeight: 1 }))).rejects.toThrow(/--aux-weight needs --conditional/);
    await expect(train(tinyOptions(out('aux-bad3'), { ...extra, auxWeight: 0, auxTwin: true }))).rejects.toThrow(/--aux-twin needs --aux-weight/);
    await expect(train(tinyOptions(out('aux-bad4'), { ...extra, auxJoint: true }))).rejects.toThrow(/--aux-joint needs --aux-twin/);
    await expect(train(tinyOptions(out('aux-bad2'), { ...extra, auxWeight: -1 }))).rejects.toThrow(/--aux-weight/);
  });
});
