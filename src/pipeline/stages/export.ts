/**
 * export: `exportDataset()`: the class-balanced training set of real,
 * synthetic and classically augmented images.
 */
import { exportDataset } from '../../export/index.js';
import { fingerprintFiles } from '../state.js';
import type { StageDefinition } from '../runner.js';
import { readsData, splitClassCounts, type PipelineContext } from './context.js';

export function exportStage(ctx: PipelineContext): StageDefinition {
  const { count } = ctx.options.budget;
  // Every class is filled to the largest class's real training count plus the generated count, so
  // each class's synthetic images are used (with 'max' alone, an already balanced set like the
  // demo's would export no synthetic image at all). The key holds that rule; the call gets its
  // number, known once the split is.
  const options = { perClass: `max+${count}`, augment: 'flip,rot90,color', mix: 'synthetic-first', seed: ctx.options.seed };
  return {
    name: 'export', ...readsData(ctx, 'split', 'generate'), options,
    async run(run) {
      const perClass = Math.max(0, ...Object.values(await splitClassCounts(ctx))) + count;
      const e = await exportDataset({
        ...options, perClass, data: ctx.data, labels: ctx.labels, split: ctx.splitFile, synthetic: [ctx.generateDir], out: run.stageDir,
        force: true, logger: ctx.logger, command: `cellgan pipeline (export stage of ${ctx.options.out})`,
      });
      return { outputs: { dataset: 'export/dataset.json' }, summary: { perClass: e.perClass, files: e.files, warnings: e.warnings } };
    },
    fingerprint: (run) => fingerprintFiles(run.stageDir, ['dataset.json', 'manifest.jsonl']),
  };
}
