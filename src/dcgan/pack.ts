/**
 * `cellgan model pack`: a trained run → a shippable model folder. It is a
 * run folder cut down to one checkpoint holding what sampling and
 * fine-tuning read (generator_ema, discriminator, state.json), so `generate
 * --model` and `train --init` take it as they take a run; the raw generator
 * and the optimiser states (two thirds of a checkpoint) stay behind.
 * options.json, stats.jsonl up to the checkpoint and its grids come along
 * for the model card, and the fingerprints of every image it trained on
 * (TRAINING_IMAGES), so a fine-tune elsewhere can refuse validation or test
 * images the model has seen. A fine-tuned run also writes LINEAGE: its
 * ancestors and their cost, resolved now, while the folders it names exist.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { buildDirAtomic } from '../util/atomic.js';
import { CellganError } from '../util/errors.js';
import { resolveOptions, text, FORCE_OPTION, type OptionTable } from '../util/options.js';
import { checkpointName, readRun, CHECKPOINT_OPTION } from './checkpoint.js';
import { parentTrainingFingerprints, trainingLineage, LINEAGE, TRAINING_IMAGES } from './transfer.js';

/** What a packed model's checkpoint keeps. */
export const PACKED_PARTS = ['generator_ema', 'discriminator', 'state.json'] as const;

export interface PackOptions { run: string; out: string; checkpoint?: number; force?: boolean }

/** packModel's options (src/util/options.ts). */
export const PACK_OPTIONS = {
  run: { ...text, positional: true, required: true, help: 'run folder made by cellgan train' },
  out: { ...text, required: true, help: 'model folder to create (e.g. models/my-lab-64)' },
  checkpoint: CHECKPOINT_OPTION,
  force: FORCE_OPTION,
} satisfies OptionTable;
/** `trainingImages`: how many training-image fingerprints the model carries (null: its data was not readable, so none). */
export interface PackResult { out: string; checkpoint: number; bytes: number; trainingImages: number | null }

export async function packModel(options: PackOptions): Promise<PackResult> {
  const o = resolveOptions(PACK_OPTIONS, options);
  const out = path.resolve(o.out);
  const run = await readRun(o.run);
  if (!run.checkpoints.length) throw new CellganError('the run has no checkpoint yet', { file: o.run });
  const ck = o.checkpoint ?? run.latest!;
  if (!run.checkpoints.includes(ck)) throw new CellganError(`no checkpoint ${ck}; available: ${run.checkpoints.join(', ')}`, { file: path.join(run.runDir, 'checkpoints'), exitCode: 2 });
  if (out === run.runDir || out.startsWith(run.runDir + path.sep) || run.runDir.startsWith(out + path.sep)) {
    throw new CellganError('the model folder must be outside the run folder', { file: out, exitCode: 2 });
  }
  const src = path.join(run.runDir, 'checkpoints', checkpointName(ck));
  for (const part of PACKED_PARTS) {
    try { await fs.access(path.join(src, part)); } catch { throw new CellganError(`the checkpoint lacks ${part}`, { file: src }); }
  }
  const prints = await parentTrainingFingerprints(run.runDir);
  const lineage = run.options.parent ? await trainingLineage(run.options) : [];
  await buildDirAtomic(out, async (dir) => {
    if (prints) await fs.writeFile(path.join(dir, TRAINING_IMAGES), [...prints].sort().map((h) => h + '\n').join(''));
    if (lineage.length) await fs.writeFile(path.join(dir, LINEAGE), JSON.stringify(lineage, null, 2) + '\n');
    const dst = path.join(dir, 'checkpoints', checkpointName(ck));
    await fs.mkdir(dst, { recursive: true });
    for (const part of PACKED_PARTS) await fs.cp(path.join(src, part), path.join(dst, part), { recursive: true });
    await fs.copyFile(path.join(run.runDir, 'options.json'), path.join(dir, 'options.json'));
    const stats = await fs.readFile(path.join(run.runDir, 'stats.jsonl'), 'utf8').catch(() => '');
    const kept = stats.split('\n').filter((l) => l.trim() && (JSON.parse(l) as { iteration: number }).iteration <= ck);
    await fs.writeFile(path.join(dir, 'stats.jsonl'), kept.map((l) => l + '\n').join(''));
    const grids = await fs.readdir(path.join(run.runDir, 'grids')).catch(() => [] as string[]);
    const keepGrid = (g: string) => g === 'reals.png' || (/^\d+\.png$/.test(g) && Number(g.slice(0, -4)) <= ck);
    if (grids.some(keepGrid)) await fs.mkdir(path.join(dir, 'grids'));
    for (const g of grids.filter(keepGrid)) await fs.copyFile(path.join(run.runDir, 'grids', g), path.join(dir, 'grids', g));
  }, { force: o.force });
  return { out, checkpoint: ck, bytes: await folderBytes(out), trainingImages: prints ? prints.size : null };
}

async function folderBytes(dir: string): Promise<number> {
  let n = 0;
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    n += e.isDirectory() ? await folderBytes(p) : (await fs.stat(p)).size;
  }
  return n;
}
