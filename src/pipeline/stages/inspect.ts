/** inspect: `inspect()` of the data layer, as JSON (for the report) and as text. */
import path from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../../util/atomic.js';
import { inspect, formatInspectReport } from '../../data/inspect.js';
import { fingerprintFiles } from '../state.js';
import type { StageDefinition } from '../runner.js';
import { readsData, type PipelineContext } from './context.js';

export function inspectStage(ctx: PipelineContext): StageDefinition {
  // inspect() runs with its defaults; an option given to it would belong in this key.
  const options = {};
  return {
    name: 'inspect', ...readsData(ctx), options,
    async run(run) {
      const report = await inspect(ctx.data, { labels: ctx.labels, ...options });
      await writeJsonAtomic(path.join(run.stageDir, 'inspect.json'), report);
      await writeFileAtomic(path.join(run.stageDir, 'inspect.txt'), formatInspectReport(report) + '\n');
      return {
        outputs: { report: 'inspect/inspect.json' },
        summary: { images: report.images, classes: report.classes, duplicates: report.duplicates.length, conflicts: report.conflicts.length, unreadable: report.unreadable.length },
      };
    },
    fingerprint: (run) => fingerprintFiles(run.stageDir, ['inspect.json']),
  };
}
