/**
 * What a conditional run's discriminator knows at one checkpoint: its real/fake logit and its
 * auxiliary head's class accuracy on real training images, on real validation images, and on
 * the EMA generator's images of each class (labels in the training proportions of the sample).
 *
 * Train against validation tells whether D over-fits the training images (the case DiffAugment
 * and LeCam are for); the aux head's accuracy on real images bounds how class-faithful the aux
 * term can make G; its accuracy on G's images, above that on real ones, shows the aux term
 * sharpening G's classes (AC-GAN's known bias).
 *
 *   npx tsx scripts/discriminator-check.ts --run runs/v4 --checkpoint 12000 \
 *     --data ../shared/datasets/pbc-128 --split split.json --per-split 350
 */
import { parseArgs } from 'node:util';
import path from 'node:path';
import { initBackend, tf } from '../src/engine/index.js';
import { decodeImages, loadDataset, readSplit, selectSplit } from '../src/data/index.js';
import { buildDiscriminator, buildGenerator } from '../src/dcgan/models.js';
import { checkpointName, loadModelWeights, readRun } from '../src/dcgan/checkpoint.js';
import { oneHot, runGenerator } from '../src/dcgan/step.js';
import { Rng } from '../src/util/rng.js';
import * as v from '../src/util/validate.js';
import type { DatasetItem } from '../src/data/types.js';

const { values } = parseArgs({ options: { run: { type: 'string' }, checkpoint: { type: 'string' }, data: { type: 'string' }, split: { type: 'string' }, 'per-split': { type: 'string', default: '350' }, seed: { type: 'string', default: '0' } } });
const runDir = v.nonEmptyString('--run', values.run), data = v.nonEmptyString('--data', values.data);
const splitFile = v.nonEmptyString('--split', values.split);
const perSplit = v.integer('--per-split', Number(values['per-split']), 1), seed = v.seed(Number(values.seed));
await initBackend('auto');
const run = await readRun(runDir);
const spec = run.options.model;
if (!(spec.numClasses > 0) || !spec.auxClassifier) throw new Error(`${runDir}: expected a conditional run whose discriminator has the auxiliary head`);
// The ReACGAN head gives an embedding, not class logits; its accuracy would need every class's proxy.
if (spec.auxD2d) throw new Error(`${runDir}: the discriminator has the ReACGAN head (--aux-d2d); this check reads the softmax head's class logits`);
const iteration = values.checkpoint === undefined ? run.latest : v.integer('--checkpoint', Number(values.checkpoint), 0);
if (iteration === undefined || !run.checkpoints.includes(iteration)) throw new Error(`${runDir}: no checkpoint ${iteration ?? '(none)'}`);
const checkpoint = path.join(runDir, 'checkpoints', checkpointName(iteration));
const d = buildDiscriminator(spec), g = buildGenerator(spec);
await loadModelWeights(d, path.join(checkpoint, 'discriminator'));
await loadModelWeights(g, path.join(checkpoint, 'generator_ema'));
const dataset = await loadDataset(data), split = await readSplit(splitFile);
const rng = new Rng(seed);
const BATCH = 50;

/** Mean and SD of D's logit and the aux head's accuracy over images given in batches. */
async function measure(batches: AsyncIterable<{ x: tf.Tensor4D; labels: number[] }>) {
  let n = 0, sum = 0, sumSq = 0, correct = 0;
  for await (const { x, labels } of batches) {
    const [logit, predictedClass] = tf.tidy(() => {
      const [l, classLogits] = d.predict([x, oneHot(labels, spec.numClasses)]) as tf.Tensor[];
      return [l, classLogits.argMax(1)];
    });
    const l = await logit.data(), predicted = await predictedClass.data();
    for (let i = 0; i < labels.length; i++) { sum += l[i]; sumSq += l[i] * l[i]; if (predicted[i] === labels[i]) correct++; }
    n += labels.length;
    tf.dispose([x, logit, predictedClass]);
  }
  const mean = sum / n;
  return { images: n, d_logit_mean: mean, d_logit_sd: Math.sqrt(Math.max(0, sumSq / n - mean * mean)), aux_accuracy: correct / n };
}

async function* real(items: DatasetItem[]) {
  for (let b = 0; b < items.length; b += BATCH) {
    const chunk = items.slice(b, b + BATCH);
    const batch = await decodeImages(chunk, { size: spec.size });
    if (batch.items.length !== chunk.length) throw new Error(`${runDir}: ${chunk.length - batch.items.length} real images could not be decoded`);
    yield { x: tf.tensor4d(batch.data, [chunk.length, spec.size, spec.size, 3]), labels: batch.items.map((it) => run.classes.indexOf(it.label)) };
  }
}

/** G's images for `labels`, their noise drawn from the script's one seeded stream after the real samples. */
async function* generated(labels: number[]) {
  for (let b = 0; b < labels.length; b += BATCH) {
    const chunk = labels.slice(b, b + BATCH);
    const noise = new Float32Array(chunk.length * spec.nz);
    chunk.forEach((_, i) => noise.set(rng.normals(spec.nz), i * spec.nz));
    const x = tf.tidy(() => runGenerator(g, tf.tensor2d(noise, [chunk.length, spec.nz]), oneHot(chunk, spec.numClasses), false));
    yield { x, labels: chunk };
  }
}

const report: Record<string, unknown> = { run: run.runDir, checkpoint: iteration, seed };
let trainLabels: number[] = [];
for (const part of ['train', 'val'] as const) {
  const items = rng.shuffle([...selectSplit(dataset, split, part)]).slice(0, perSplit);
  if (part === 'train') trainLabels = items.map((it) => run.classes.indexOf(it.label));
  report[`real_${part}`] = await measure(real(items));
}
report.generated = await measure(generated(trainLabels));
console.log(JSON.stringify(report, null, 1));
