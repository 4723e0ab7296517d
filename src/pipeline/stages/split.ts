/** split: `makeSplit()` 70/10/20, plus `classes.json` (file → class) for the report. */
import path from 'node:path';
import { writeJsonAtomic } from '../../util/atomic.js';
import { loadDataset } from '../../data/dataset.js';
import { makeSplit, writeSplit } from '../../data/index.js';
import { fingerprintFiles } from '../state.js';
import type { StageDefinition } from '../runner.js';
import { readsData, type PipelineContext } from './context.js';

export function splitStage(ctx: PipelineContext): StageDefinition {
  const options = { val: 0.1, test: 0.2, seed: ctx.options.seed };
  return {
    name: 'split', ...readsData(ctx), options,
    async run(run) {
      const split = await makeSplit(ctx.data, { labels: ctx.labels, ...options });
      await writeSplit(path.join(run.stageDir, 'split.json'), split, { force: true });
      // The report needs each file's class; with a labels CSV it is not the folder name.
      const dataset = await loadDataset(ctx.data, { labels: ctx.labels });
      const inSplit = new Set([...split.splits.train, ...split.splits.val, ...split.splits.test]);
      await writeJsonAtomic(path.join(run.stageDir, 'classes.json'), Object.fromEntries(dataset.items.filter((i) => inSplit.has(i.file)).map((i) => [i.file, i.label])));
      return { outputs: { split: 'split/split.json' }, summary: { train: split.splits.train.length, val: split.splits.val.length, test: split.splits.test.length, excluded: split.excluded.length } };
    },
    fingerprint: (run) => fingerprintFiles(run.stageDir, ['split.json']),
  };
}
