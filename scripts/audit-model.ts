/**
 * Memorisation audit of a trained model against the real training split it learnt from,
 * without the classifiers of `cellgan score`: samples `--per-class` images per class, then
 * for each its nearest real training image (src/data/leaks.ts, the audit score runs),
 * flagged when closer than real held-out cells are to theirs. For a model card.
 *
 *   npx tsx scripts/audit-model.ts --model models/pbc-64 --data ../shared/datasets/pbc-128 \
 *     --split split.json --per-class 200 --out runs/audit
 */
import { parseArgs } from 'node:util';
import path from 'node:path';
import { initBackend } from '../src/engine/index.js';
import { loadDataset, readSplit, selectSplit, DEFAULT_NEAR_THRESHOLD } from '../src/data/index.js';
import { auditMemorization, buildReference, calibrateMemorization } from '../src/data/leaks.js';
import { generate } from '../src/dcgan/index.js';
import { readSyntheticFolder } from '../src/metrics/index.js';
import { writeJsonAtomic } from '../src/util/atomic.js';
import * as v from '../src/util/validate.js';

const { values } = parseArgs({ options: { model: { type: 'string' }, data: { type: 'string' }, split: { type: 'string' }, 'per-class': { type: 'string', default: '200' }, seed: { type: 'string', default: '0' }, out: { type: 'string' } } });
const model = v.nonEmptyString('--model', values.model), data = v.nonEmptyString('--data', values.data);
const splitFile = v.nonEmptyString('--split', values.split), out = v.nonEmptyString('--out', values.out);
const perClass = v.integer('--per-class', Number(values['per-class']), 1), seed = v.seed(Number(values.seed));
await initBackend('auto');
const dataset = await loadDataset(data);
const split = await readSplit(splitFile);
const samples = path.join(out, 'samples');
await generate({ model, count: perClass, out: samples, seed, force: true, progress: false });
const synthetic = await readSyntheticFolder(samples);
const train = await buildReference(selectSplit(dataset, split, 'train'));
const calibration = await calibrateMemorization(train, [...selectSplit(dataset, split, 'val'), ...selectSplit(dataset, split, 'test')], DEFAULT_NEAR_THRESHOLD);
const audit = await auditMemorization(train, synthetic.items.map((i) => ({ file: i.file, abs: i.abs, label: i.label })), calibration);
await writeJsonAtomic(path.join(out, 'memorization.json'), { model: path.resolve(model), data: dataset.root, split: path.resolve(splitFile), samples_per_class: perClass, seed, ...audit });
console.log(`memorisation: ${audit.flagged_count} of ${audit.images} flagged (${(100 * audit.rate).toFixed(2)} %), threshold ${calibration.threshold.toFixed(4)}; closest ${audit.closest?.[0]?.distance?.toFixed(4) ?? 'n/a'}`);
console.log(Object.entries(audit.per_class).map(([c, x]) => `${c} ${x.flagged}/${x.images}`).join(', '));
