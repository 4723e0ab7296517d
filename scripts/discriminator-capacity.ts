/**
 * How well the discriminator's architecture can classify real cells on its own: trains only
 * D's auxiliary head (and the convolutions under it) as a plain classifier on the real training
 * split (spectral norm as in the recipes, or `--d-norm batch`), with the GAN's D optimiser (Adam 4e-4, betas 0 and 0.9) and batch, one power iteration
 * of the spectral norms per step, and reports validation accuracy after each epoch. Compared with
 * the aux head's accuracy inside a GAN run (scripts/discriminator-check.ts) it separates what the
 * architecture can learn from what the adversarial game leaves it.
 *
 *   npx tsx scripts/discriminator-capacity.ts --data ../shared/datasets/pbc-128 --split split.json \
 *     --d-width 32 --epochs 5
 */
import { parseArgs } from 'node:util';
import { initBackend, powerIterateModel, tf } from '../src/engine/index.js';
import { decodeImages, loadDataset, readSplit, selectSplit } from '../src/data/index.js';
import { buildDiscriminator, D_NORMS } from '../src/dcgan/models.js';
import { oneHot } from '../src/dcgan/step.js';
import { Rng } from '../src/util/rng.js';
import * as v from '../src/util/validate.js';
import type { DatasetItem } from '../src/data/types.js';

const { values } = parseArgs({ options: { data: { type: 'string' }, split: { type: 'string' }, 'd-width': { type: 'string', default: '32' }, 'd-norm': { type: 'string', default: 'spectral' }, 'aux-head': { type: 'string', default: 'd' }, 'aux-branch': { type: 'string', default: '0' }, epochs: { type: 'string', default: '5' }, batch: { type: 'string', default: '32' }, seed: { type: 'string', default: '0' } } });
const data = v.nonEmptyString('--data', values.data), splitFile = v.nonEmptyString('--split', values.split);
const dWidth = v.integer('--d-width', Number(values['d-width']), 1), epochs = v.integer('--epochs', Number(values.epochs), 1);
const dNorm = v.oneOf('--d-norm', values['d-norm'], D_NORMS);
const auxHead = v.oneOf('--aux-head', values['aux-head'], ['d', 'plain'] as const);
const auxBranch = v.integer('--aux-branch', Number(values['aux-branch']), 0);
const batch = v.integer('--batch', Number(values.batch), 1), seed = v.seed(Number(values.seed));
const SIZE = 64;
const backend = await initBackend('auto');
const dataset = await loadDataset(data), split = await readSplit(splitFile);
const classes = dataset.classes;
// --aux-branch N: D as `train --aux-branch N` builds it (the class head on its own unnormalised copy of the last N blocks).
const built = buildDiscriminator({ size: SIZE, nz: 100, gWidth: 32, dWidth, numClasses: classes.length, seed, dNorm, gConditioning: 'batchnorm', auxClassifier: true, auxBranch });
// --aux-head plain: the class head as a plain dense layer on D's features (no spectral norm on
// the head itself, so its logits have a free scale), to screen that variant before building it.
const d = auxHead === 'd' ? built : tf.model({
  inputs: built.inputs,
  outputs: [built.getLayer('d_logit_cond').output as tf.SymbolicTensor, tf.layers.dense({ units: classes.length, name: 'aux_plain' }).apply(built.getLayer('d_flatten').output) as tf.SymbolicTensor],
});
// As train() does: converge the spectral estimates before the first step, or its logits start huge.
powerIterateModel(d, 20);
const optimizer = tf.train.adam(4e-4, 0, 0.9);
const rng = new Rng(seed);

async function decode(items: DatasetItem[]) {
  const decoded = await decodeImages(items, { size: SIZE });
  if (decoded.items.length !== items.length) throw new Error(`${data}: ${items.length - decoded.items.length} images could not be decoded`);
  return { pixels: decoded.data, labels: Int32Array.from(decoded.items.map((it) => classes.indexOf(it.label))) };
}
const per = SIZE * SIZE * 3;
const train = await decode(selectSplit(dataset, split, 'train')), val = await decode(selectSplit(dataset, split, 'val'));

function rows(set: { pixels: Float32Array; labels: Int32Array }, index: number[]) {
  const x = new Float32Array(index.length * per);
  index.forEach((r, i) => x.set(set.pixels.subarray(r * per, (r + 1) * per), i * per));
  return { x: tf.tensor4d(x, [index.length, SIZE, SIZE, 3]), y: oneHot(index.map((r) => set.labels[r]), classes.length) };
}

async function accuracy(set: { pixels: Float32Array; labels: Int32Array }): Promise<number> {
  let correct = 0;
  for (let b = 0; b < set.labels.length; b += 100) {
    const index = Array.from({ length: Math.min(100, set.labels.length - b) }, (_, i) => b + i);
    const t = rows(set, index);
    const predictedClass = tf.tidy(() => (d.predict([t.x, t.y]) as tf.Tensor[])[1].argMax(1));
    const predicted = await predictedClass.data();
    index.forEach((r, i) => { if (predicted[i] === set.labels[r]) correct++; });
    tf.dispose([t.x, t.y, predictedClass]);
  }
  return correct / set.labels.length;
}

const started = Date.now(), cpuStarted = process.cpuUsage();
const report: Record<string, unknown>[] = [];
for (let epoch = 1; epoch <= epochs; epoch++) {
  const order = rng.shuffle(Array.from(train.labels, (_, i) => i));
  let lossSum = 0, steps = 0;
  for (let b = 0; b + batch <= order.length; b += batch) {
    const t = rows(train, order.slice(b, b + batch));
    const loss = optimizer.minimize(() => {
      const [, classLogits] = d.apply([t.x, t.y], { training: true }) as tf.Tensor[];
      return tf.losses.softmaxCrossEntropy(t.y, classLogits) as tf.Scalar;
    }, true)!;
    lossSum += (await loss.data())[0]; steps++;
    tf.dispose([t.x, t.y, loss]);
    powerIterateModel(d, 1);
  }
  const cpu = process.cpuUsage(cpuStarted);
  const row = { epoch, train_loss: lossSum / steps, val_accuracy: await accuracy(val), wall_s: (Date.now() - started) / 1000, cpu_s: (cpu.user + cpu.system) / 1e6 };
  report.push(row);
  console.error(JSON.stringify(row));
}
console.log(JSON.stringify({ data, d_width: dWidth, d_norm: dNorm, aux_head: auxHead, aux_branch: auxBranch, batch, seed, backend: backend.name, train: train.labels.length, val: val.labels.length, epochs: report }, null, 1));
