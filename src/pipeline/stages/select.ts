/**
 * select (only with `classes`): copies the chosen classes' images into
 * `<out>/select/data/`, so every later stage sees exactly those classes
 * whatever it derives its class list from, and the input is never modified.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { CellganError } from '../../util/errors.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { formatCsv } from '../../data/index.js';
import type { Dataset } from '../../data/types.js';
import { fingerprintFiles } from '../state.js';
import type { StageDefinition } from '../runner.js';
import type { PipelineContext } from './context.js';

/** `input`: the input dataset; `inputFingerprint`: its fingerprint (fingerprintData). */
export function selectStage(ctx: PipelineContext, input: Dataset, inputFingerprint: string): StageDefinition {
  const options = { classes: ctx.options.classes! };
  return {
    name: 'select', reads: [], extraInputs: { data: inputFingerprint }, options,
    async run(run) {
      const n = await copySelection(input, options.classes, path.join(run.stageDir, 'data'));
      ctx.logger.info(`pipeline: copied ${n} images of ${options.classes.length} classes`);
      return { outputs: { data: 'select/data' }, summary: { images: n, classes: options.classes } };
    },
    fingerprint: (run) => fingerprintFiles(run.stageDir, ['data/**']),
  };
}

/** Copies the chosen classes' images (and a labels CSV when the input had one) into `dest`. */
async function copySelection(dataset: Dataset, classes: string[], dest: string): Promise<number> {
  const known = new Set(dataset.classes);
  const unknown = classes.filter((c) => !known.has(c));
  if (unknown.length) throw new CellganError(`--classes names ${unknown.join(', ')}, not in the dataset (its classes: ${dataset.classes.join(', ')})`, { file: dataset.root });
  const want = new Set(classes);
  const items = dataset.items.filter((i) => want.has(i.label));
  for (const item of items) {
    const target = path.join(dest, ...item.file.split('/'));
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.copyFile(item.abs, target);
  }
  if (dataset.source === 'csv') {
    const metaKeys = [...new Set(items.flatMap((i) => Object.keys(i.meta ?? {})))].filter((k) => k !== 'file' && k !== 'class');
    const rows = [['file', 'class', ...metaKeys], ...items.map((i) => [i.file, i.label, ...metaKeys.map((k) => i.meta?.[k] ?? '')])];
    await writeFileAtomic(path.join(dest, 'labels.csv'), formatCsv(rows));
  }
  return items.length;
}
