/**
 * The rare-class experiment: does adding cellgan's synthetic images help a
 * classifier recognise a class it has few real examples of?
 *
 *   npx tsx scripts/rare-class.ts --data ../shared/datasets/pbc-128 --out runs/rare-class \
 *     [--class basophil] [--k 50] [--seed 0] [--size 64] [--per-class N] [--test-per-class N] \
 *     [--gan-iters 2000] [--gan-batch 32] [--gan-width 32] [--ema-decay D] [--epochs 15]
 *     [--split-seed 0] [--init models/pbc-64-no-basophil --init-iters 500 --freeze-d 1]
 *
 * 1. One stratified split of the data (70/10/20, `--seed`). The chosen class keeps only
 *    K real training images (seeded pick; its validation images are cut in the same
 *    proportion); `--per-class` optionally caps the other classes' training images to
 *    make the run cheaper. The test split is the real test split (optionally capped per
 *    class by `--test-per-class`), the same for every arm.
 * 2. Three arms, each the reference classifier (same recipe and seed):
 *    (a) real: the reduced training split as is;
 *    (b) real + classic: an export balanced to the largest class with flips, 90° rotations
 *        and mild colour changes of real images (`cellgan export --augment flip,rot90,color`);
 *    (c) real + cellgan: a DCGAN (DiffAugment, EMA) trained on the K real images of the class,
 *        its synthetic images first, then classic augmentation, to the same balance;
 *    (d) with `--init <model>`: real + synthetic from a pretrained conditional model that never
 *        saw the class, fine-tuned (`--init-iters`, FreezeD `--freeze-d`) on the reduced training
 *        split. Refused when the model knows the class or trained on any image this split holds
 *        out for validation or test (so keep `--split-seed` equal to the model's split seed).
 * 3. Each arm is evaluated on the real test split: the class's sensitivity and the balanced
 *    accuracy over all classes, with 95 % percentile-bootstrap intervals.
 *
 * Writes `<out>/rare-class.md` (the table) and `<out>/rare-class.json`. Every step's result is
 * kept, so running the same command again continues where it stopped (GAN training resumes).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { initBackend, describeBackend } from '../src/engine/index.js';
import { createLogger, type Logger } from '../src/util/log.js';
import { Rng, deriveSeed, offsetSeed } from '../src/util/rng.js';
import { writeFileAtomic, writeJsonAtomic, exists } from '../src/util/atomic.js';
import { CellganError } from '../src/util/errors.js';
import * as v from '../src/util/validate.js';
import { loadDataset, makeSplit, readSplit, writeSplit, type Dataset, type SplitFile, type DatasetItem } from '../src/data/index.js';
import { train, generate, readRun } from '../src/dcgan/index.js';
import { trainClassifier, evaluateClassifier } from '../src/metrics/index.js';
import { exportDataset } from '../src/export/index.js';
import { VERSION } from '../src/version.js';

interface Args {
  data: string; out: string; class: string; k: number; seed: number; size: number;
  perClass?: number; testPerClass?: number; valFraction: number; testFraction: number;
  ganIters: number; ganBatch: number; ganWidth: number; diffAugment: string; emaDecay?: number;
  epochs: number; batch: number; patience: number; resamples: number; backend?: string; workers: number;
  splitSeed: number; init?: string; initIters: number; freezeD: number;
}

type Num = number | null;
interface ArmResult {
  arm: string;
  description: string;
  trainImages: { class: string; real: number; augmented: number; synthetic: number }[];
  sensitivity: { value: Num; ci95: [Num, Num] };
  balancedAccuracy: { value: Num; ci95: [Num, Num] };
  accuracy: { value: Num; ci95: [Num, Num] };
  testImages: number;
  testImagesOfClass: number;
  seconds: number;
  /** The code that trained it (git HEAD, '+dirty' with uncommitted changes): cached arms from other code are not comparable. */
  code: string;
}

function codeVersion(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() !== '';
    return head + (dirty ? '+dirty' : '');
  } catch {
    return `cellgan ${VERSION}`;
  }
}

/** The last commit that changed src/ at `code` (so commits of notes in between do not count as other code). */
function srcIdentity(code: string): string {
  const dirty = code.endsWith('+dirty');
  const rev = code.replace(/\+dirty$/, '');
  try {
    const src = execFileSync('git', ['log', '-1', '--format=%h', rev, '--', 'src'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return (src || rev) + (dirty ? '+dirty' : '');
  } catch {
    return code;
  }
}

function byClass(items: DatasetItem[]): Map<string, DatasetItem[]> {
  const m = new Map<string, DatasetItem[]>();
  for (const it of items) (m.get(it.label) ?? m.set(it.label, []).get(it.label)!).push(it);
  return m;
}

/** Keeps at most `cap(cls)` files of each class (seeded pick, then sorted). */
function capFiles(dataset: Dataset, files: string[], cap: (cls: string) => number | undefined, rng: Rng): string[] {
  const wanted = new Set(files);
  const items = dataset.items.filter((i) => wanted.has(i.file));
  const keep: string[] = [];
  for (const [cls, list] of [...byClass(items)].sort(([a], [b]) => a.localeCompare(b))) {
    const n = cap(cls);
    const chosen = n === undefined ? list : rng.fork(cls).shuffle([...list]).slice(0, n);
    keep.push(...chosen.map((i) => i.file));
  }
  return keep.sort();
}

/** Reads an export's manifest into an in-memory dataset + split (its layout is <split>/<class>/<file>). */
async function exportAsDataset(dir: string): Promise<{ dataset: Dataset; split: SplitFile; counts: Record<string, Record<string, number>> }> {
  const rows = (await fs.readFile(path.join(dir, 'manifest.jsonl'), 'utf8')).split('\n').filter(Boolean)
    .map((l) => JSON.parse(l) as { file: string; split: 'train' | 'val' | 'test'; class: string; origin: string });
  const items: DatasetItem[] = rows.map((r) => ({ file: r.file, abs: path.join(dir, r.file), label: r.class })).sort((a, b) => (a.file < b.file ? -1 : 1));
  const split: SplitFile = { seed: 0, splits: { train: [], val: [], test: [] }, excluded: [] };
  const counts: Record<string, Record<string, number>> = {};
  for (const r of rows) {
    split.splits[r.split].push(r.file);
    if (r.split === 'train') {
      counts[r.class] ??= { real: 0, augmented: 0, synthetic: 0 };
      counts[r.class][r.origin] = (counts[r.class][r.origin] ?? 0) + 1;
    }
  }
  const classes = [...new Set(items.map((i) => i.label))].sort();
  return { dataset: { root: path.resolve(dir), source: 'csv', classes, items, skipped: [] }, split, counts };
}

function estimate(entry: { value: unknown; ci95?: unknown } | undefined, cls?: string): { value: Num; ci95: [Num, Num] } {
  if (!entry) return { value: null, ci95: [null, null] };
  const value = cls ? (entry.value as Record<string, Num>)[cls] : (entry.value as Num);
  const ci = cls ? (entry.ci95 as Record<string, [Num, Num]> | undefined)?.[cls] : (entry.ci95 as [Num, Num] | undefined);
  return { value: value ?? null, ci95: ci ?? [null, null] };
}

async function cached<T>(file: string, logger: Logger, what: string, make: () => Promise<T>): Promise<T> {
  if (await exists(file)) {
    logger.info(`${what}: done before, reusing ${file}`);
    return JSON.parse(await fs.readFile(file, 'utf8')) as T;
  }
  const value = await make();
  await writeJsonAtomic(file, value);
  return value;
}

async function main(): Promise<void> {
  const argv = await yargs(hideBin(process.argv))
    .scriptName('rare-class')
    .usage('npx tsx scripts/rare-class.ts --data <pbc-128> --out <dir> [options]\n\nReal vs classic augmentation vs cellgan synthetic images for one rare class.')
    .option('data', { type: 'string', demandOption: true, describe: 'ImageFolder dataset (e.g. ../shared/datasets/pbc-128)' })
    .option('out', { type: 'string', demandOption: true, describe: 'output folder (re-run the same command to continue)' })
    .option('class', { type: 'string', default: 'basophil', describe: 'the class made rare' })
    .option('k', { type: 'number', default: 50, describe: 'real training images kept for that class' })
    .option('seed', { type: 'number', default: 0, describe: 'seed of the GANs, the classifiers and the rare-class pick' })
    .option('split-seed', { type: 'number', default: 0, describe: 'seed of the train/val/test split (fixed across --seed runs, so a pretrained --init model trained on this split\'s training images sees no test image)' })
    .option('init', { type: 'string', describe: 'arm d: a pretrained conditional model (e.g. trained on pbc-128 WITHOUT the rare class) to fine-tune on the reduced training split' })
    .option('init-iters', { type: 'number', default: 500, describe: 'arm d: fine-tuning iterations' })
    .option('freeze-d', { type: 'number', default: 1, describe: 'arm d: D blocks kept fixed while fine-tuning (FreezeD)' })
    .option('size', { type: 'number', default: 64, describe: 'image size for the GAN and the classifier' })
    .option('per-class', { type: 'number', describe: 'cap on the other classes\' training images (cheaper runs)' })
    .option('test-per-class', { type: 'number', describe: 'cap on test images per class (cheaper runs; default: the whole test split)' })
    .option('val-fraction', { type: 'number', default: 0.1 })
    .option('test-fraction', { type: 'number', default: 0.2 })
    .option('gan-iters', { type: 'number', default: 2000, describe: 'DCGAN iterations on the rare class' })
    .option('gan-batch', { type: 'number', default: 32 })
    .option('gan-width', { type: 'number', default: 32, describe: 'DCGAN generator/discriminator base width' })
    .option('diff-augment', { type: 'string', default: 'color,translation,cutout', describe: 'DiffAugment policy for the GAN' })
    .option('ema-decay', { type: 'number', describe: 'decay of the generator\'s moving average used for sampling (default: 1 - 10/gan-iters, at most 0.999, so a short run is not sampled from near-initial weights)' })
    .option('epochs', { type: 'number', default: 15, describe: 'classifier epochs (early stopping on validation)' })
    .option('batch', { type: 'number', default: 32, describe: 'classifier batch size' })
    .option('patience', { type: 'number', default: 4 })
    .option('resamples', { type: 'number', default: 1000, describe: 'bootstrap resamples for the CIs' })
    .option('backend', { type: 'string' })
    .option('workers', { type: 'number', default: 0, describe: 'worker threads for data-parallel GAN and classifier training (2 uses both cores of a 2-core machine on wasm); the count changes the results' })
    .strict()
    .parseAsync() as unknown as Args;

  const k = v.integer('--k', argv.k, 1);
  v.integer('--seed', argv.seed, 0);
  v.integer('--epochs', argv.epochs, 1);
  v.integer('--gan-iters', argv.ganIters, 1);
  v.integer('--workers', argv.workers, 0, 64);
  argv.emaDecay = v.number('--ema-decay', argv.emaDecay ?? Math.min(0.999, Math.max(0, 1 - 10 / argv.ganIters)), 0, 1);
  if (argv.perClass !== undefined) v.integer('--per-class', argv.perClass, 1);
  if (argv.testPerClass !== undefined) v.integer('--test-per-class', argv.testPerClass, 1);
  const out = path.resolve(argv.out);
  await fs.mkdir(out, { recursive: true });
  const logger = createLogger({ level: 'info' });
  const backend = await initBackend(argv.backend as never);
  logger.info(`backend: ${describeBackend(backend)}`);
  const t0 = Date.now();
  const settings = { ...argv, k, version: VERSION, backend: backend.name, command: `npx tsx scripts/rare-class.ts ${process.argv.slice(2).join(' ')}` };
  delete (settings as Record<string, unknown>)._; delete (settings as Record<string, unknown>).$0;
  // A different command must not silently reuse another's results.
  const settingsFile = path.join(out, 'settings.json');
  if (await exists(settingsFile)) {
    const before = JSON.parse(await fs.readFile(settingsFile, 'utf8')) as Record<string, unknown>;
    const keys = ['data', 'class', 'k', 'seed', 'splitSeed', 'init', 'initIters', 'freezeD', 'size', 'perClass', 'testPerClass', 'valFraction', 'testFraction', 'ganIters', 'ganBatch', 'ganWidth', 'diffAugment', 'emaDecay', 'epochs', 'batch', 'patience', 'resamples', 'workers'];
    // (a key the earlier run did not record yet is not a change)
    const changed = keys.filter((key) => key in before && JSON.stringify(before[key]) !== JSON.stringify((settings as Record<string, unknown>)[key]));
    if (changed.length) throw new CellganError(`this folder holds a run with other settings (${changed.join(', ')}); choose a new --out`, { file: out });
  }
  await writeJsonAtomic(settingsFile, settings);

  // 1. Splits.
  const dataset = await loadDataset(argv.data);
  const rare = argv.class;
  if (!dataset.classes.includes(rare)) throw new CellganError(`no class ${rare}; classes: ${dataset.classes.join(', ')}`, { file: argv.data });
  const splitFile = path.join(out, 'split.json');
  if (!(await exists(splitFile))) {
    const full = await makeSplit(dataset, { val: argv.valFraction, test: argv.testFraction, seed: argv.splitSeed });
    const rng = new Rng(deriveSeed('rare-class', argv.seed));
    const trainFraction = 1 - argv.valFraction - argv.testFraction;
    const valCap = (n: number) => Math.max(1, Math.round((n * argv.valFraction) / trainFraction));
    const reduced: SplitFile = {
      seed: full.seed,
      splits: {
        train: capFiles(dataset, full.splits.train, (c) => (c === rare ? k : argv.perClass), rng.fork('train')),
        val: capFiles(dataset, full.splits.val, (c) => (c === rare ? valCap(k) : argv.perClass !== undefined ? valCap(argv.perClass) : undefined), rng.fork('val')),
        test: capFiles(dataset, full.splits.test, () => argv.testPerClass, rng.fork('test')),
      },
      excluded: full.excluded,
      options: { ...(full.options ?? {}), rareClass: rare, k, perClass: argv.perClass ?? null, testPerClass: argv.testPerClass ?? null },
    };
    const trainOfRare = reduced.splits.train.filter((f) => dataset.items.find((i) => i.file === f)?.label === rare).length;
    if (trainOfRare < k) logger.warn(`${rare} has only ${trainOfRare} training images (asked for ${k})`);
    await writeSplit(splitFile, reduced, { force: true });
  }
  const split = JSON.parse(await fs.readFile(splitFile, 'utf8')) as SplitFile;
  const labelOf = new Map(dataset.items.map((i) => [i.file, i.label]));
  const trainCounts: Record<string, number> = {};
  for (const f of split.splits.train) trainCounts[labelOf.get(f)!] = (trainCounts[labelOf.get(f)!] ?? 0) + 1;
  const target = Math.max(...Object.values(trainCounts));
  logger.info(`training images per class: ${JSON.stringify(trainCounts)}; balanced arms fill each class to ${target}`);

  const recipe = { size: argv.size, epochs: argv.epochs, batchSize: argv.batch, patience: argv.patience, seed: argv.seed, workers: argv.workers, logger };
  const testSplitRef = split;

  async function arm(name: string, description: string, data: Dataset, armSplit: SplitFile, counts: ArmResult['trainImages']): Promise<ArmResult> {
    return cached(path.join(out, `arm-${name}.json`), logger, `arm ${name}`, async () => {
      const ta = Date.now();
      logger.info(`arm ${name}: training the classifier (${description})`);
      const modelDir = path.join(out, `classifier-${name}`);
      await fs.rm(modelDir, { recursive: true, force: true });
      const trained = await trainClassifier({ ...recipe, data, split: armSplit, out: modelDir });
      trained.model.dispose();
      const ev = await evaluateClassifier({ model: modelDir, data: dataset, split: testSplitRef, subset: 'test', resamples: argv.resamples, seed: argv.seed, logger });
      const m = ev.report.metrics;
      return {
        arm: name, description, trainImages: counts,
        sensitivity: estimate(m.sensitivity, rare),
        balancedAccuracy: estimate(m.balanced_accuracy),
        accuracy: estimate(m.accuracy),
        testImages: ev.report.n,
        testImagesOfClass: ev.report.support[rare] ?? 0,
        seconds: Math.round((Date.now() - ta) / 1000),
        code: codeVersion(),
      };
    });
  }

  const realCounts = Object.entries(trainCounts).sort().map(([c, n]) => ({ class: c, real: n, augmented: 0, synthetic: 0 }));
  const countsOf = (c: Record<string, Record<string, number>>) => Object.entries(c).sort().map(([cls, o]) => ({ class: cls, real: o.real ?? 0, augmented: o.augmented ?? 0, synthetic: o.synthetic ?? 0 }));
  const classicAugment = 'flip,rot90,color';
  const need = Math.max(1, target - (trainCounts[rare] ?? 0));

  /** Brings the GAN run in `dir` to `iters` iterations: `start` makes it, a shorter run is resumed. */
  const trainOrResume = async (label: string, dir: string, iters: number, start: () => Promise<unknown>): Promise<void> => {
    const run = await readRun(dir).catch(() => undefined);
    if (run?.latest === undefined) await start();
    else if (run.latest < iters) {
      logger.info(`${label}: resuming the GAN from iteration ${run.latest}`);
      await train({ resume: dir, iters, logger });
    }
  };
  /** The balanced training set of a synthetic arm: `need` rare-class images of `model`, exported synthetic first. */
  const syntheticExport = async (label: string, model: string, syntheticDir: string, exportDir: string) => {
    if (!(await exists(path.join(syntheticDir, 'manifest.jsonl')))) {
      // Offset from the GAN's own seed so the samples' noise is not the training noise.
      await generate({ model, count: need, className: rare, out: syntheticDir, seed: offsetSeed(argv.seed, 1), force: true, logger });
    }
    if (!(await exists(path.join(exportDir, 'manifest.jsonl')))) {
      logger.info(`${label}: exporting a balanced dataset, synthetic images first`);
      await exportDataset({ data: argv.data, split: splitFile, synthetic: [syntheticDir], perClass: target, augment: classicAugment, mix: 'synthetic-first', out: exportDir, seed: argv.seed, force: true, logger });
    }
    return exportAsDataset(exportDir);
  };

  // (a) real only.
  const a = await arm('a-real', 'real images only', dataset, split, realCounts);

  // (b) real + classic augmentation.
  const classicDir = path.join(out, 'export-classic');
  if (!(await exists(path.join(classicDir, 'manifest.jsonl')))) {
    logger.info('arm b: exporting a balanced dataset with classic augmentation');
    await exportDataset({ data: argv.data, split: splitFile, perClass: target, augment: classicAugment, out: classicDir, seed: argv.seed, force: true, logger });
  }
  const classic = await exportAsDataset(classicDir);
  const b = await arm('b-classic', 'real + classic augmentation (flip, rot90, colour)', classic.dataset, classic.split, countsOf(classic.counts));

  // (c) real + cellgan synthetic (+ classic where synthetic images run out).
  const ganDir = path.join(out, 'gan');
  await trainOrResume('arm c', ganDir, argv.ganIters, () => {
    logger.info(`arm c: training a DCGAN on the ${k} real ${rare} images (${argv.ganIters} iterations)`);
    return train({
      data: argv.data, split: splitFile, className: rare, size: argv.size, iters: argv.ganIters, batch: argv.ganBatch,
      gWidth: argv.ganWidth, dWidth: argv.ganWidth, diffAugment: argv.diffAugment, emaDecay: argv.emaDecay, seed: argv.seed, workers: argv.workers, out: ganDir, force: true,
      checkpointEvery: Math.max(50, Math.round(argv.ganIters / 10)), gridEvery: Math.max(50, Math.round(argv.ganIters / 10)), logger,
    });
  });
  const synth = await syntheticExport('arm c', ganDir, path.join(out, 'synthetic'), path.join(out, 'export-synthetic'));
  const c = await arm('c-cellgan', 'real + cellgan synthetic (+ classic augmentation)', synth.dataset, synth.split, countsOf(synth.counts));

  // (d) real + synthetic from a pretrained model that never saw the rare class, fine-tuned on
  // the reduced training split (the rare class is new to it and starts from the mean class).
  let d: ArmResult | undefined;
  if (argv.init) {
    const parent = await readRun(argv.init);
    if (parent.classes.includes(rare)) {
      throw new CellganError(`the --init model was trained on ${rare} images; arm d needs one that never saw them (a held-out ${rare} image could reach training through it)`, { file: argv.init });
    }
    await assertNoTestLeak(parent.options.options.data, parent.options.options.split, split, argv.init);
    const ftDir = path.join(out, 'gan-finetune');
    await trainOrResume('arm d', ftDir, argv.initIters, () => {
      logger.info(`arm d: fine-tuning ${argv.init} on the reduced training split (${argv.initIters} iterations, FreezeD ${argv.freezeD})`);
      return train({
        data: argv.data, split: splitFile, conditional: true, init: argv.init, iters: argv.initIters, freezeD: argv.freezeD, seed: argv.seed,
        workers: argv.workers, out: ftDir, force: true, checkpointEvery: Math.max(50, Math.round(argv.initIters / 5)), gridEvery: Math.max(50, Math.round(argv.initIters / 5)), logger,
      });
    });
    const fine = await syntheticExport('arm d', ftDir, path.join(out, 'synthetic-finetune'), path.join(out, 'export-finetune'));
    d = await arm('d-pretrained', `real + synthetic from ${path.basename(argv.init)} fine-tuned (+ classic augmentation)`, fine.dataset, fine.split, countsOf(fine.counts));
  }

  // Report.
  const arms = d ? [a, b, c, d] : [a, b, c];
  const codes = [...new Set(arms.map((x) => srcIdentity(x.code ?? 'unknown')))];
  if (codes.length > 1) logger.warn(`the arms were trained by different code (${codes.join(', ')}); delete <out>/arm-*.json to retrain them with one version`);
  const p = (x: Num) => (x === null ? '–' : `${(x * 100).toFixed(1)}%`);
  const ci = (e: { value: Num; ci95: [Num, Num] }) => `${p(e.value)} [${p(e.ci95[0])}, ${p(e.ci95[1])}]`;
  const rareRow = (r: ArmResult) => r.trainImages.find((t) => t.class === rare) ?? { real: 0, augmented: 0, synthetic: 0 };
  const md = [
    `# Rare-class experiment: ${rare} with ${k} real training images`,
    '',
    `Command: \`${settings.command}\``,
    '',
    `Data: ${argv.data}; split seed ${argv.splitSeed} (${Math.round((1 - argv.valFraction - argv.testFraction) * 100)}/${Math.round(argv.valFraction * 100)}/${Math.round(argv.testFraction * 100)}); ` +
      `other classes' training images ${argv.perClass ? `capped at ${argv.perClass}` : 'all'}; test images ${argv.testPerClass ? `capped at ${argv.testPerClass} per class` : 'the whole test split'} ` +
      `(${a.testImages} images, ${a.testImagesOfClass} ${rare}). Image size ${argv.size}; classifier: reference CNN, ≤${argv.epochs} epochs, early stopping (patience ${argv.patience}), seed ${argv.seed}. ` +
      `DCGAN on the ${k} ${rare} images: ${argv.ganIters} iterations, batch ${argv.ganBatch}, width ${argv.ganWidth}, DiffAugment ${argv.diffAugment || 'off'}, EMA decay ${argv.emaDecay}. ` +
      `Balanced arms fill every class to ${target} training images. 95% percentile-bootstrap CIs (${argv.resamples} resamples) over the test images. Backend ${backend.name}, cellgan ${VERSION}.`,
    '',
    `| arm | ${rare} training images (real + augmented + synthetic) | ${rare} sensitivity [95% CI] | balanced accuracy [95% CI] | accuracy |`,
    '|---|---|---|---|---|',
    ...arms.map((r) => { const t = rareRow(r); return `| ${r.arm}: ${r.description} | ${t.real} + ${t.augmented} + ${t.synthetic} | ${ci(r.sensitivity)} | ${ci(r.balancedAccuracy)} | ${p(r.accuracy.value)} |`; }),
    '',
    `Code (last commit touching src/): ${codes.join(', ')}${codes.length > 1 || codes.some((c) => c.endsWith('+dirty')) ? ' (MIXED or uncommitted: not comparable)' : ''}. Total time: ${Math.round((Date.now() - t0) / 60000)} min (this invocation; steps done earlier were reused).`,
    '',
  ].join('\n');
  await writeFileAtomic(path.join(out, 'rare-class.md'), md);
  await writeJsonAtomic(path.join(out, 'rare-class.json'), { settings, trainCounts, target, arms });
  process.stdout.write(md);
}

/**
 * A pretrained model must not have trained on any image this experiment validates or tests on,
 * or its samples could carry them into every arm that uses it.
 */
async function assertNoTestLeak(parentData: string, parentSplit: string | null, split: SplitFile, model: string): Promise<void> {
  if (!parentSplit) throw new CellganError('the --init model was trained without a split file, so its training images cannot be checked against this test split', { file: model });
  const ps = await readSplit(parentSplit);
  const held = new Set([...split.splits.val, ...split.splits.test]);
  const leak = ps.splits.train.find((f) => held.has(f));
  if (leak) throw new CellganError(`the --init model trained on ${path.join(parentData, leak)}, which this experiment holds out for validation or test; use the same --split-seed as its split`, { file: model });
}

main().catch((err) => {
  process.stderr.write(`rare-class: error: ${(err as Error).message}\n`);
  if (process.env.CELLGAN_DEBUG) process.stderr.write(String((err as Error).stack) + '\n');
  process.exit(err instanceof CellganError ? err.exitCode : 70);
});
