/**
 * `generate`: sample a trained run into a synthetic ImageFolder
 * (<out>/<class>/<index>.png, or <out>/<class>/<condition>-<index>.png for a
 * model trained with --condition) plus manifest.jsonl. The noise of image i of
 * class c comes from Rng(`${seed}/${c}/${i}`), so it does not depend on the
 * batch size or on the other images: any row of the manifest can be
 * regenerated alone. Batch norm runs in inference mode (moving statistics)
 * for the same reason; `standingStats` first recomputes those statistics from
 * noise that depends only on the seed, so that stays true. Memory is bounded
 * by one batch; the folder is built in a staging folder and renamed into place.
 */
import { createWriteStream } from 'node:fs';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { tf, ensureBackend, standingBatchNormStatistics, type LayersModel } from '../engine/index.js';
import { CellganError, InterruptedError } from '../util/errors.js';
import { resolveOptions, text, integer, number, seed, boolean, FORCE_OPTION, type OptionTable } from '../util/options.js';
import { buildDirAtomic, assertWritableOutput } from '../util/atomic.js';
import { Rng, deriveSeed } from '../util/rng.js';
import { silentLogger } from '../util/log.js';
import { Progress } from '../util/progress.js';
import { encodePng } from '../data/index.js';
import { buildGenerator, type ModelSpec } from './models.js';
import { oneHot, runGenerator } from './step.js';
import { checkpointName, loadModelWeights, readRun, CHECKPOINT_OPTION } from './checkpoint.js';
import type { GenerateOptions, GenerateResult, ManifestRow, RunInfo } from './types.js';

/** The noise vector of sample `index` of `className` (independent of batching). */
export function sampleNoise(seed: number, className: string, index: number, nz: number): Float32Array {
  const rng = new Rng(deriveSeed(seed, className, index));
  return rng.normals(nz);
}

/** Folder-safe name of a class (class names come from folder names, but CSV labels may hold anything). */
function classDir(name: string): string {
  return name.replace(/[/\\\0]/g, '_').replace(/^\.+/, '_') || '_';
}

/** What generate writes: `count` images of the model class `condition`, into the folder of class `folder`. */
export interface GenerationShare { folder: string; condition: string; count: number }

/**
 * Per class, `count` images. A model trained with --condition writes each class's images from its
 * conditions in their training proportions (largest remainder), or with `byCondition` one folder
 * per condition.
 */
export function generationPlan(run: Pick<RunInfo, 'classes' | 'outputClasses' | 'options'>, count: number, byCondition: boolean): GenerationShare[] {
  const groups = run.options.classGroups;
  if (!groups || byCondition) return run.classes.map((c) => ({ folder: c, condition: c, count }));
  return run.outputClasses.flatMap((folder) => {
    const members = run.classes.filter((c) => groups[c] === folder);
    const weights = members.map((c) => run.options.imagesPerClass[c] ?? 0);
    const total = weights.reduce((a, b) => a + b, 0);
    // Every condition has training images (it came from them), so total > 0.
    const exact = weights.map((w) => (count * w) / total);
    const quota = exact.map(Math.floor);
    const order = exact.map((x, i) => i).sort((a, b) => (exact[b] - quota[b]) - (exact[a] - quota[a]) || a - b);
    const missing = count - quota.reduce((a, b) => a + b, 0);
    for (let k = 0; k < missing; k++) quota[order[k]]++;
    return members.map((condition, i) => ({ folder, condition, count: quota[i] })).filter((x) => x.count > 0);
  });
}

/** generate's options (src/util/options.ts): the library resolves them, the CLI parses them. */
export const GENERATE_OPTIONS = {
  model: { ...text, required: true, help: 'run folder made by cellgan train, or a packed model (e.g. models/pbc-64)' },
  checkpoint: CHECKPOINT_OPTION,
  count: { ...integer(1, 10_000_000), required: true, help: 'images per class' },
  className: { ...text, flag: 'class', help: 'only this class (a conditional model makes every class otherwise)' },
  out: { ...text, required: true, help: 'output folder (synthetic ImageFolder)' },
  seed: { ...seed, default: 0, help: 'seed; image i of class c uses noise from (seed, c, i)' },
  batch: { ...integer(1, 4096), default: 64, help: 'images per generator call (memory bound; does not change the images)' },
  force: FORCE_OPTION,
  raw: { ...boolean, help: 'sample the raw generator instead of generator_ema (recorded in manifest.jsonl)' },
  noiseScale: {
    ...number(0, 4, { exclusiveMin: true }), default: 1,
    help: 'multiply every noise vector by this (1: the distribution G was trained on; below 1 more typical cells, above 1 more varied ones; recorded in manifest.jsonl)',
  },
  standingStats: {
    ...integer(0, 10_000), default: 0,
    help: 'before sampling, replace the generator\'s batch-norm statistics by their average over this many training-mode batches of random classes (BigGAN\'s standing statistics; 0 keeps the stored ones; recorded in manifest.jsonl)',
  },
  byCondition: { ...boolean, help: 'a model trained with --condition: one folder per condition (e.g. ig\'s stages) instead of per class' },
} satisfies OptionTable;

/**
 * Sets the generator's batch-norm moving statistics to their average over
 * `steps` training-mode batches of `batch` images (the training batch), each
 * image of a uniformly drawn class (as train draws G's labels), the noise and
 * classes from `deriveSeed(seed, 'standing-stats')` alone: any subset of the
 * images can be regenerated with the same statistics.
 */
function standingStatistics(generator: LayersModel, spec: ModelSpec, batch: number, seed: number, steps: number): void {
  const rng = new Rng(deriveSeed(seed, 'standing-stats'));
  standingBatchNormStatistics(generator, steps, () => {
    const noise = rng.normals(batch * spec.nz);
    const labels = spec.numClasses > 0 ? Array.from({ length: batch }, () => rng.int(spec.numClasses)) : undefined;
    tf.tidy(() => {
      runGenerator(generator, tf.tensor2d(noise, [batch, spec.nz]), labels && oneHot(labels, spec.numClasses), true);
    });
  });
}

export async function generate(options: GenerateOptions): Promise<GenerateResult> {
  const o = resolveOptions(GENERATE_OPTIONS, options);
  const { model: modelDir, count, seed, batch } = o;
  const out = path.resolve(o.out);
  const logger = options.logger ?? silentLogger;

  const run = await readRun(modelDir);
  if (!run.checkpoints.length) throw new CellganError('the run has no checkpoint yet', { file: modelDir });
  const ck = o.checkpoint ?? run.latest!;
  if (!run.checkpoints.includes(ck)) {
    throw new CellganError(`no checkpoint ${ck}; available: ${run.checkpoints.join(', ')}`, { file: path.join(modelDir, 'checkpoints'), exitCode: 2 });
  }
  let shares = generationPlan(run, count, o.byCondition ?? false);
  if (o.className !== undefined) {
    const folders = [...new Set(shares.map((x) => x.folder))];
    if (!folders.includes(o.className)) {
      throw new CellganError(`the model does not make class ${JSON.stringify(o.className)}; it makes ${folders.join(', ')}`, { file: modelDir, exitCode: 2 });
    }
    shares = shares.filter((x) => x.folder === o.className);
  }
  const classes = [...new Set(shares.map((x) => x.folder))];
  const grouped = run.options.classGroups !== undefined;
  await assertWritableOutput(out, o.force ?? false);
  if (path.resolve(out) === run.runDir || run.runDir.startsWith(out + path.sep)) {
    throw new CellganError('the output folder would replace the model run', { file: out, exitCode: 2 });
  }
  await ensureBackend();
  const spec: ModelSpec = run.options.model;
  const generator = buildGenerator(spec);
  const ckDir = path.join(run.runDir, 'checkpoints', checkpointName(ck));
  const counts: Record<string, number> = {};
  try {
    await loadModelWeights(generator, path.join(ckDir, o.raw ? 'generator' : 'generator_ema'));
    if (o.standingStats > 0) standingStatistics(generator, spec, run.options.options.batch, seed, o.standingStats);
    const progress = new Progress({ label: 'generate', total: shares.reduce((a, x) => a + x.count, 0), unit: 'img', imagesPerUnit: 1, enabled: options.progress, logger });
    await buildDirAtomic(out, async (staging) => {
      const manifest = createWriteStream(path.join(staging, 'manifest.jsonl'));
      const manifestDone = new Promise<void>((resolve, reject) => { manifest.on('error', reject); manifest.on('finish', resolve); });
      manifestDone.catch(() => {});
      try {
        for (const { folder: cls, condition, count: quota } of shares) {
          const dir = classDir(cls);
          await fs.mkdir(path.join(staging, dir), { recursive: true });
          const label = run.classes.indexOf(condition);
          // A class's images from several conditions are told apart by their names.
          const prefix = grouped && !o.byCondition ? `${classDir(condition)}-` : '';
          for (let start = 0; start < quota; start += batch) {
            if (options.signal?.aborted) throw new InterruptedError('generation interrupted; nothing was written');
            const n = Math.min(batch, quota - start);
            const noise = new Float32Array(n * spec.nz);
            for (let k = 0; k < n; k++) noise.set(sampleNoise(seed, condition, start + k, spec.nz), k * spec.nz);
            if (o.noiseScale !== 1) for (let i = 0; i < noise.length; i++) noise[i] *= o.noiseScale;
            const images = tf.tidy(() => {
              const y = spec.numClasses > 0 ? oneHot(new Array<number>(n).fill(label), spec.numClasses) : undefined;
              return runGenerator(generator, tf.tensor2d(noise, [n, spec.nz]), y, false);
            });
            // Read the pixels outside tidy: tidy walks whatever it returns looking
            // for tensors, and a Float32Array is walked element by element (a
            // string key and a Set entry per value: ~130 KB of garbage per
            // 32-px image, most of the process's allocations).
            let pixels: Float32Array;
            try { pixels = images.dataSync() as Float32Array; } finally { images.dispose(); }
            const per = spec.size * spec.size * 3;
            for (let k = 0; k < n; k++) {
              const index = start + k;
              const file = `${dir}/${prefix}${String(index).padStart(6, '0')}.png`;
              await fs.writeFile(path.join(staging, file), await encodePng(pixels.subarray(k * per, (k + 1) * per), spec.size));
              const row: ManifestRow = { file, class: cls, run: run.runDir, checkpoint: ck, seed, index, generator: o.raw ? 'generator' : 'generator_ema', ...(o.noiseScale !== 1 ? { noise_scale: o.noiseScale } : {}), ...(o.standingStats > 0 ? { standing_stats: o.standingStats } : {}), ...(run.options.parent ? { parent_sha256: run.options.parent.sha256 } : {}), ...(grouped ? { condition } : {}) };
              if (!manifest.write(JSON.stringify(row) + '\n')) await once(manifest, 'drain');
            }
            counts[cls] = (counts[cls] ?? 0) + n;
            progress.tick(n);
            // Signals and I/O get a turn between batches.
            await new Promise((r) => setImmediate(r));
          }
        }
      } finally {
        manifest.end();
        await manifestDone;
      }
      progress.finish();
    }, { force: o.force });
  } finally {
    generator.dispose();
  }
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  // The command prints the summary; logged at debug so it is said once.
  logger.debug({ out, images: total, checkpoint: ck }, 'generated');
  return { out, checkpoint: ck, classes, counts, total, manifest: path.join(out, 'manifest.jsonl') };
}
